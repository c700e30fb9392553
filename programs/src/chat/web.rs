//! The chat's browser side (`--web ADDR:PORT`): an HTTP/1.1 listener that
//! serves the page (`progs::web::PAGE_GZ`) and upgrades `GET /ws` to a
//! WebSocket, whose connection then becomes an ordinary chat member.
//!
//! - HTTP connections wait in a small table ([`Http`]) until their request
//!   head has come (at most [`HEAD_MAX`] bytes, within [`HEAD_MS`]): one
//!   periodic sweep, armed only while the table is not empty, closes those
//!   out of time, so an idle server makes no wake-ups. Every answer but
//!   the upgrade is followed by `Connection: close`.
//! - A WebSocket member is a `Client` with `web` set and a [`WebSlot`] (its
//!   reader and sending state, about 200 bytes, in a table indexed like
//!   the clients' and touched only by web clients). Its reader writes the
//!   text of its messages straight into its `LineReader`, each message
//!   ended with a newline, so commands, limits and pausing are the line
//!   clients'. Its output is the log's runs, each run one text frame: a
//!   frame starts only at a run boundary (a message boundary, so its
//!   payload is UTF-8) and is always finished before a control frame (pong,
//!   close) or the next frame.

use crate::room::{self, Chat, Client, IN_CAP, Loop, MAX_LINE, NICK_CAP, leave};
use core::time::Duration;
use picosel::{Errno, Events, TimerId, Token};
use progs::listen::Stream;
use progs::web::http::{self, Head};
use progs::web::ws::{self, Event, Opcode, Reader, code};

/// The longest request head taken (431 past it).
pub const HEAD_MAX: usize = 2048;
/// How long a connection has to send its request head.
pub const HEAD_MS: u64 = 5000;
/// How long an answered connection may take to close its side.
const DRAIN_MS: u64 = 2000;
/// How often the HTTP table is checked for connections out of time.
const SWEEP: Duration = Duration::from_millis(250);
/// HTTP connections waiting for their head or their answer at once; more
/// are closed at once.
pub const HTTP_MAX: usize = 32;
/// The longest WebSocket message taken (the longest `--max-line`): longer
/// ones close the connection with 1009, and messages over a smaller
/// `--max-line` get `error: line too long`, as long lines from a line
/// client do.
pub const WS_MAX: usize = MAX_LINE;
/// A frame's header and the start of its payload go out in one `send`,
/// copied into a buffer of this size (`Chat::frame_out`, shared: it is
/// written before it is read, so nothing is zero-filled per frame).
pub const FRAME_OUT: usize = 2048;
/// How many `--web-host` and `--web-origin` values are taken (each).
pub const NAMES: usize = 4;
/// The longest such value, in bytes.
pub const NAME_CAP: usize = 96;

/// The extra names `--web-host` or `--web-origin` gave.
pub struct Names {
    items: [[u8; NAME_CAP]; NAMES],
    lens: [usize; NAMES],
}

impl Names {
    /// None yet (all zero bytes: it lives in `Chat`, in `.bss`).
    pub const fn new() -> Names {
        Names { items: [[0; NAME_CAP]; NAMES], lens: [0; NAMES] }
    }

    /// Adds `v`; false when full or too long.
    pub fn add(&mut self, v: &[u8]) -> bool {
        let Some(i) = self.lens.iter().position(|&l| l == 0) else { return false };
        let (Some(dst), Some(len)) = (self.items.get_mut(i), self.lens.get_mut(i)) else {
            return false;
        };
        match dst.get_mut(..v.len()) {
            Some(d) if !v.is_empty() => {
                d.copy_from_slice(v);
                *len = v.len();
                true
            }
            _ => false,
        }
    }

    /// The names, as the checks of `progs::web::http` take them.
    pub fn list(&self) -> ([&[u8]; NAMES], usize) {
        let mut out: [&[u8]; NAMES] = [&[]; NAMES];
        let mut n = 0;
        for (item, &len) in self.items.iter().zip(&self.lens).filter(|(_, l)| **l > 0) {
            if let Some(o) = out.get_mut(n) {
                *o = item.get(..len).unwrap_or(&[]);
                n += 1;
            }
        }
        (out, n)
    }
}

/// Where an HTTP connection is.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    /// Receiving the request head.
    Reading = 1,
    /// Sending the answer.
    Writing = 2,
    /// Answered and write side shut: input is discarded until the peer
    /// closes or the deadline.
    Draining = 3,
}

/// An HTTP connection before its upgrade or its answer is done.
pub struct Http {
    stream: Stream,
    phase: Phase,
    /// The request head so far; then the answer's head (`..out`).
    buf: [u8; HEAD_MAX],
    len: usize,
    out: usize,
    /// Whether the page follows the answer's head.
    page: bool,
    /// Bytes of the answer (head, then page) sent.
    sent: usize,
    deadline: u64,
    /// Its default nick (`ADDR:PORT`), should it join.
    nick: [u8; NICK_CAP],
    nick_len: usize,
}

/// The control frame going out.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Ctl {
    Idle = 0,
    /// The pong of the reader's last ping (its payload stays in the
    /// reader: input is held until it has gone, `Client::held`).
    Pong = 1,
    Close = 2,
}

/// A web client's WebSocket state, by client slot: its reader (whose
/// text goes straight into the client's line buffer) and what it is being
/// sent. About 200 bytes; the rest of a web client is a line client's.
pub struct WebSlot {
    rd: Reader,
    /// Payload bytes of the text frame being sent that are still to go.
    frame_left: usize,
    /// That frame's header, sent up to `hdr_off`.
    hdr: [u8; ws::MAX_HEADER],
    hdr_len: usize,
    hdr_off: usize,
    /// The control frame in progress, sent up to `ctl_off`.
    ctl: Ctl,
    ctl_off: usize,
    /// The close code to send, 0 until closing: no more data frames then.
    close_code: u16,
    close_sent: bool,
}

impl WebSlot {
    /// An unused slot (all zero bytes, in `.bss` until a web client
    /// takes the slot).
    pub const fn new() -> WebSlot {
        WebSlot {
            rd: Reader::new(),
            frame_left: 0,
            hdr: [0; ws::MAX_HEADER],
            hdr_len: 0,
            hdr_off: 0,
            ctl: Ctl::Idle,
            ctl_off: 0,
            close_code: 0,
            close_sent: false,
        }
    }

    /// Whether no more data frames go out (a close frame is due and no
    /// frame is in progress).
    pub fn done(&self) -> bool {
        self.close_code != 0 && self.frame_left == 0
    }

    /// A close frame with `code` is due (the first code given stays).
    fn queue_close(&mut self, code: u16) {
        if self.close_code == 0 {
            self.close_code = code;
        }
    }

    /// Sends the control frames due (the pong of the last ping, then the
    /// close frame), unless a data frame is in progress; true when none
    /// is left.
    fn send_ctl(&mut self, s: &Stream) -> Result<bool, Errno> {
        if self.frame_left > 0 {
            return Ok(false);
        }
        loop {
            if self.ctl == Ctl::Idle {
                self.ctl = match self.rd.ping() {
                    _ if self.close_sent => return Ok(true),
                    Some(_) => Ctl::Pong,
                    None if self.close_code != 0 => Ctl::Close,
                    None => return Ok(true),
                };
                self.ctl_off = 0;
            }
            let mut f = [0u8; 2 + 125];
            let n = match self.ctl {
                Ctl::Pong => ws::encode_pong(self.rd.ping().unwrap_or(&[]), &mut f),
                _ => ws::encode_close(self.close_code, b"", &mut f),
            };
            while self.ctl_off < n {
                match s.send(f.get(self.ctl_off..n).unwrap_or(&[]))? {
                    Some(k) if k > 0 => self.ctl_off += k,
                    _ => return Ok(false),
                }
            }
            match self.ctl {
                Ctl::Pong => self.rd.answered(),
                _ => self.close_sent = true,
            }
            self.ctl = Ctl::Idle;
        }
    }

    /// Sends `run` (the log's next bytes for the client) in a text frame:
    /// a new frame is exactly the run; a frame in progress goes on. The
    /// payload bytes of `run` sent (`Ok(Some(0))` with only header bytes).
    fn send_run(&mut self, s: &Stream, out: &mut [u8], run: &[u8]) -> Result<Option<usize>, Errno> {
        if self.frame_left == 0 {
            if !self.send_ctl(s)? {
                return Ok(None);
            }
            self.hdr_len = ws::encode_header(Opcode::Text, true, run.len(), &mut self.hdr);
            (self.hdr_off, self.frame_left) = (0, run.len());
        }
        let body = run.get(..self.frame_left.min(run.len())).unwrap_or(&[]);
        let n = match self.hdr.get(self.hdr_off..self.hdr_len) {
            // The header and the payload's start in one send.
            Some(h) if !h.is_empty() => {
                let take = body.len().min(out.len().saturating_sub(h.len()));
                let Some((oh, ob)) = out.split_at_mut_checked(h.len()) else { return Ok(None) };
                let (Some(dst), Some(src)) = (ob.get_mut(..take), body.get(..take)) else {
                    return Ok(None);
                };
                oh.copy_from_slice(h);
                dst.copy_from_slice(src);
                let Some(n) = s.send(out.get(..h.len() + take).unwrap_or(&[]))? else {
                    return Ok(None);
                };
                let from_hdr = n.min(h.len());
                self.hdr_off += from_hdr;
                n - from_hdr
            }
            _ => match s.send(body)? {
                Some(n) => n,
                None => return Ok(None),
            },
        };
        self.frame_left -= n.min(self.frame_left);
        Ok(Some(n))
    }
}

/// Client `c`'s WebSocket state (at `slot`), if it is a web client.
fn web_slot<'a>(c: &Client, webs: &'a mut [WebSlot], slot: usize) -> Option<&'a mut WebSlot> {
    if c.web { webs.get_mut(slot) } else { None }
}

/// Sends `run` to client `slot`: a line client's as it is, a web client's
/// in frames ([`WebSlot::send_run`], through `out`: [`FRAME_OUT`] bytes).
pub fn send(
    c: &Client,
    webs: &mut [WebSlot],
    out: &mut [u8],
    slot: usize,
    run: &[u8],
) -> SendResult {
    match web_slot(c, webs, slot) {
        Some(w) => w.send_run(&c.stream, out, run),
        None => c.stream.send(run),
    }
}

/// What a send gives: bytes taken, `None` when the socket is full.
pub type SendResult = Result<Option<usize>, Errno>;

/// For a web client owed no data: its control frames go out. True when
/// nothing is left to send (always, for a line client).
pub fn send_idle(c: &Client, webs: &mut [WebSlot], slot: usize) -> Result<bool, Errno> {
    match web_slot(c, webs, slot) {
        Some(w) => w.send_ctl(&c.stream),
        None => Ok(true),
    }
}

/// Whether web client `slot` takes no more data frames.
pub fn done(c: &Client, webs: &[WebSlot], slot: usize) -> bool {
    c.web && webs.get(slot).is_some_and(WebSlot::done)
}

/// A web client that has been sent everything is closing: its close frame
/// (`code`) goes out. True once it has.
pub fn send_close(c: &Client, webs: &mut [WebSlot], slot: usize, code: u16) -> Result<bool, Errno> {
    match web_slot(c, webs, slot) {
        Some(w) => {
            w.queue_close(code);
            w.send_ctl(&c.stream)
        }
        None => Ok(true),
    }
}

/// Whether web client `c` (at `slot`) is to be held: a pong is going out,
/// and the ping it answers must stay where it is until it has.
pub fn holds_input(c: &Client, webs: &[WebSlot], slot: usize) -> bool {
    c.web && webs.get(slot).is_some_and(|w| w.ctl == Ctl::Pong)
}

/// Readable web client: one `recv`, of no more than its line buffer has
/// room for (framing only shrinks what is received), then
/// [`take_frames`].
pub fn read_ws(lp: &mut Loop, chat: &mut Chat, slot: usize) {
    let mut raw = [0u8; IN_CAP];
    let Some(c) = chat.open(slot).filter(|c| !c.paused && !c.held) else { return };
    // Not paused, so its buffer holds at most a partial line (a message
    // is at most `WS_MAX` bytes): never full.
    let room = c.input.space().len().saturating_sub(1);
    let n = match c.stream.recv(raw.get_mut(..room).unwrap_or(&mut [])) {
        Ok(None) => return,
        Ok(Some(n)) if n > 0 && room > 0 => n,
        // End of stream without a close frame is as a reset: it left.
        Ok(Some(_)) | Err(_) => return leave(lp, chat, slot, "left"),
    };
    take_frames(lp, chat, slot, raw.get(..n).unwrap_or(&[]));
}

/// Runs `bytes` (at most the free space of the client's line buffer less
/// one) through its reader: the text of its messages into the line
/// buffer, each message ended with a newline, so a message is a line (or
/// several, if it holds newlines) as a line client's; then the lines are
/// handled. A ping makes a pong owed; a close frame or a failure closes
/// the connection with a close frame (after the lines before it).
fn take_frames(lp: &mut Loop, chat: &mut Chat, slot: usize, mut bytes: &[u8]) {
    let (mut ping, mut end) = (false, None);
    let Chat { clients, webs, .. } = chat;
    let (Some(Some(c)), Some(w)) = (clients.get_mut(slot), webs.get_mut(slot)) else { return };
    let out = c.input.space();
    let mut wrote = 0;
    while end.is_none() && !bytes.is_empty() {
        let p = match w.rd.read(bytes, out.get_mut(wrote..).unwrap_or(&mut []), WS_MAX) {
            Ok(p) => p,
            Err(code) => {
                end = Some(code);
                break;
            }
        };
        (bytes, wrote) = (bytes.get(p.used..).unwrap_or(&[]), wrote + p.wrote);
        match p.event {
            // The line buffer full: cannot happen (see above), but should it,
            // the rest of the message could not be kept.
            Event::More if !bytes.is_empty() => end = Some(code::TOO_BIG),
            Event::End => match out.get_mut(wrote) {
                Some(b) => (*b, wrote) = (b'\n', wrote + 1),
                None => end = Some(code::TOO_BIG),
            },
            Event::Ping => ping = true,
            Event::Close(code) => end = Some(code),
            Event::More | Event::Pong => {}
        }
    }
    c.input.filled(wrote);
    crate::input::process_input(lp, chat, slot);
    if ping {
        room::owed(chat, slot as u16);
    }
    if let Some(code) = end {
        if chat.open(slot).is_some() {
            if let Some(w) = chat.webs.get_mut(slot) {
                w.queue_close(code);
            }
            leave(lp, chat, slot, "left");
        }
    }
}

/// A new HTTP connection (from the web listener, whose connections
/// chat-server's `on_accept` takes) into a free entry of the table (none
/// free: it is closed).
pub fn take(lp: &mut Loop, chat: &mut Chat, stream: Stream, peer: progs::listen::Peer) {
    let Some(i) = chat.http.iter().position(Option::is_none) else { return };
    if lp.register(stream.as_raw_fd(), Events::READ, on_http, Token(i)).is_err() {
        return;
    }
    let mut nick = [0u8; NICK_CAP];
    let nick_len = crate::default_nick(chat, &stream, peer, &mut nick);
    let deadline = chat.now.saturating_add(HEAD_MS);
    // Checked free again here, so no code drops what was there.
    let Some(e) = chat.http.get_mut(i).filter(|e| e.is_none()) else { return };
    *e = Some(Http {
        stream,
        phase: Phase::Reading,
        buf: [0; HEAD_MAX],
        len: 0,
        out: 0,
        page: false,
        sent: 0,
        deadline,
        nick,
        nick_len,
    });
    if chat.http_timer.is_none() {
        chat.http_timer = lp.add_timer(SWEEP, Some(SWEEP), on_sweep, Token(0)).ok();
    }
}

/// Closes the HTTP connections out of time; stops with the last one.
fn on_sweep(lp: &mut Loop, chat: &mut Chat, id: TimerId, _t: Token) {
    let now = lp.now_ms();
    for i in 0..HTTP_MAX {
        if chat.http.get(i).and_then(Option::as_ref).is_some_and(|h| now >= h.deadline) {
            close_http(lp, chat, i);
        }
    }
    if chat.http.iter().all(Option::is_none) {
        lp.cancel_timer(id);
        chat.http_timer = None;
    }
}

fn close_http(lp: &mut Loop, chat: &mut Chat, i: usize) {
    if let Some(h) = chat.http.get_mut(i).and_then(Option::take) {
        let _ = lp.unregister(h.stream.as_raw_fd()); // then drop closes it
    }
}

fn on_http(lp: &mut Loop, chat: &mut Chat, _fd: i32, _ev: Events, t: Token) {
    chat.now = lp.now_ms();
    let Some(h) = chat.http.get_mut(t.0).and_then(Option::as_mut) else { return };
    match h.phase {
        Phase::Reading => read_head(lp, chat, t.0),
        Phase::Writing => write_answer(lp, chat, t.0),
        Phase::Draining => {
            if room::discard_input(&h.stream) {
                close_http(lp, chat, t.0);
            }
        }
    }
}

/// One `recv` of the request head; once it is whole (or too large or
/// malformed), the answer.
fn read_head(lp: &mut Loop, chat: &mut Chat, i: usize) {
    let Some(h) = chat.http.get_mut(i).and_then(Option::as_mut) else { return };
    match h.stream.recv(h.buf.get_mut(h.len..).unwrap_or(&mut [])) {
        Ok(None) => return,
        Ok(Some(n)) if n > 0 => h.len += n,
        Ok(Some(_)) | Err(_) => return close_http(lp, chat, i),
    }
    let (hosts, nh) = chat.web_hosts.list();
    let (origins, no) = chat.web_origins.list();
    let names = (hosts.get(..nh).unwrap_or(&[]), origins.get(..no).unwrap_or(&[]));
    // Only the 101 is written here (it is about 130 bytes): the page's
    // head is a constant, an error is written straight into the
    // connection's buffer.
    let mut out = [0u8; 192];
    let route = match http::parse(h.buf.get(..h.len).unwrap_or(&[]), HEAD_MAX) {
        Ok(None) => return,
        Ok(Some(head)) => route(&head, names, &mut out),
        Err(e) => Route::Error(e.status(), false),
    };
    match route {
        Route::Page(body) => answer(lp, chat, i, &http::PAGE_HEAD, &[], body),
        Route::Error(status, head_only) => answer_error(lp, chat, i, status, head_only),
        Route::Upgrade(n, head_len) => upgrade(lp, chat, i, out.get(..n).unwrap_or(&[]), head_len),
    }
}

/// What a request gets: the page (with its body, or not for HEAD), an
/// error (status, and whether for HEAD), or the 101 of an upgrade (its
/// length in the caller's buffer, and the request head's length: bytes
/// after it are WebSocket frames).
enum Route {
    Page(bool),
    Error(u16, bool),
    Upgrade(usize, usize),
}

/// Routes a request: `/` the page (GET, HEAD), `/ws` the WebSocket.
fn route(h: &Head<'_>, names: (&[&[u8]], &[&[u8]]), out: &mut [u8]) -> Route {
    let path = h.path.split(|&b| b == b'?').next().unwrap_or(&[]);
    let head_only = h.method == b"HEAD";
    let status = match path {
        b"/ws" => match http::upgrade_check(h, names.0, names.1) {
            Ok(key) => return Route::Upgrade(http::switching_protocols(key, out), h.head_len),
            Err(status) => status,
        },
        b"/" if !h.method_allowed() => 405,
        b"/" if h.host.is_some_and(|host| !http::host_is_trusted(host, names.0)) => 403,
        b"/" if !h.gzip_ok() => 406,
        b"/" => return Route::Page(!head_only),
        _ => 404,
    };
    Route::Error(status, head_only)
}

/// Starts sending the error response `status` (its head only if
/// `head_only`), written into the connection's buffer, then closing.
fn answer_error(lp: &mut Loop, chat: &mut Chat, i: usize, status: u16, head_only: bool) {
    let Some(h) = chat.http.get_mut(i).and_then(Option::as_mut) else { return };
    let n = http::error_response(status, head_only, &mut h.buf);
    (h.out, h.page, h.sent, h.phase) = (n, false, 0, Phase::Writing);
    write_answer(lp, chat, i);
}

/// Starts sending `head` and `more` (and the page if `page`), then
/// closing.
fn answer(lp: &mut Loop, chat: &mut Chat, i: usize, head: &[u8], more: &[u8], page: bool) {
    let Some(h) = chat.http.get_mut(i).and_then(Option::as_mut) else { return };
    let n = head.len() + more.len();
    let Some((d, m)) = h.buf.get_mut(..n).and_then(|b| b.split_at_mut_checked(head.len())) else {
        return close_http(lp, chat, i);
    };
    d.copy_from_slice(head);
    m.copy_from_slice(more);
    (h.out, h.page, h.sent, h.phase) = (n, page, 0, Phase::Writing);
    write_answer(lp, chat, i);
}

/// Sends what is left of the answer; then shuts the write side and waits
/// for the peer to close (its input discarded, so that the close is not a
/// reset).
fn write_answer(lp: &mut Loop, chat: &mut Chat, i: usize) {
    let Some(h) = chat.http.get_mut(i).and_then(Option::as_mut) else { return };
    let page: &[u8] = if h.page { progs::web::PAGE_GZ } else { &[] };
    let mut interest = Events::WRITE;
    for _ in 0..16 {
        let rest = match h.buf.get(h.sent..h.out) {
            Some(r) if !r.is_empty() => r,
            _ => page.get(h.sent.saturating_sub(h.out)..).unwrap_or(&[]),
        };
        if rest.is_empty() {
            if h.stream.shutdown_write().is_err() || room::discard_input(&h.stream) {
                return close_http(lp, chat, i);
            }
            h.phase = Phase::Draining;
            h.deadline = chat.now.saturating_add(DRAIN_MS);
            interest = Events::READ;
            break;
        }
        match h.stream.send(rest) {
            Ok(Some(n)) => h.sent += n,
            Ok(None) => break,
            Err(_) => return close_http(lp, chat, i),
        }
    }
    // One call for both (it is not inlined: set_interest calls it too).
    let _ = lp.modify(h.stream.as_raw_fd(), interest);
}

/// Sends the 101 and moves the connection into the room as a web client,
/// with the bytes after its request head as its first WebSocket input.
/// When the room is full, the WebSocket gets `error: server full` and a
/// close frame (1013, try again later) instead.
fn upgrade(lp: &mut Loop, chat: &mut Chat, i: usize, resp: &[u8], head_len: usize) {
    let full = chat.present >= chat.max_clients || chat.free_len == 0;
    let Some(h) = chat.http.get_mut(i).and_then(Option::as_mut) else { return };
    if full {
        return answer(lp, chat, i, resp, ws::SERVER_FULL, false);
    }
    if h.stream.send(resp) != Ok(Some(resp.len())) {
        return close_http(lp, chat, i); // a new socket takes 130 bytes
    }
    let Some(h) = chat.http.get_mut(i).and_then(Option::take) else { return };
    let _ = lp.unregister(h.stream.as_raw_fd());
    let nick = h.nick.get(..h.nick_len).unwrap_or(&[]);
    let Some(slot) = crate::admit(lp, chat, h.stream, nick, true) else { return };
    let Some(w) = chat.webs.get_mut(slot) else { return };
    *w = WebSlot::new();
    // Frames sent before the 101 (a client may): in pieces the line
    // buffer takes; what it cannot hold (the room is full and it is
    // paused) fails the connection with 1009.
    let mut early = h.buf.get(head_len..h.len).unwrap_or(&[]);
    while !early.is_empty() {
        let room = match chat.open(slot).filter(|c| !c.paused) {
            Some(c) => c.input.space().len().saturating_sub(1),
            None => 0,
        };
        if room == 0 {
            if let Some(w) = chat.webs.get_mut(slot) {
                w.queue_close(code::TOO_BIG);
            }
            return leave(lp, chat, slot, "left");
        }
        let (now, later) = early.split_at(room.min(early.len()));
        take_frames(lp, chat, slot, now);
        early = later;
    }
}

/// The close code a web client gets when it is let go.
pub fn close_code(chat: &Chat) -> u16 {
    if chat.shutting_down { code::GOING_AWAY } else { code::NORMAL }
}

/// The HTTP connections are closed (shutdown).
pub fn close_all(lp: &mut Loop, chat: &mut Chat) {
    for i in 0..HTTP_MAX {
        close_http(lp, chat, i);
    }
    progs::listen::close_all(lp, &mut chat.web_listener);
}
