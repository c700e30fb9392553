//! The room: clients, the shared log, who is owed output, backpressure,
//! and the ways out (leave, slow-consumer drop, lingering close).

use crate::input::on_client;
use crate::web::{self, HTTP_MAX, Http, Names, WebSlot};
use core::time::Duration;
use picosel::{AnyEventLoop, Events, TimerId, Token};
use progs::chatlog::{ALL, Cursor, Log, NONE};
use progs::fmt::Show;
use progs::framing::LineReader;
use progs::listen::{self, Listener, MAX_BINDS, Stream};

/// Hard limits, fixed at compile time.
pub const MAX_CLIENTS: usize = 1000;
pub const MAX_LINE: usize = 512;
pub const NICK_CAP: usize = 48;
/// Registered fds: the clients, a listener per `--bind`, the signalfd, a
/// spare, the web listener and its HTTP connections.
pub const N: usize = MAX_CLIENTS + MAX_BINDS + 4 + 1 + HTTP_MAX;
/// A client's input buffer: a line of `MAX_LINE` bytes and its CRLF fit,
/// with room to receive more.
pub const IN_CAP: usize = 576;
/// The shared backlog: the most any client can be behind.
pub const LOG_BYTES: usize = 64 * 1024;
pub const LOG_ENTRIES: usize = 2048;
/// What the clients' lines leave free in the log for the server's own
/// notices (joins, leaves, disconnections), which never wait.
pub const RESERVE_BYTES: u64 = 8 * 1024;
pub const RESERVE_ENTRIES: u64 = 256;
/// Kernel send buffer per client (SO_SNDBUF).
pub const SEND_BUFFER: i32 = 16 * 1024;
/// How long a client that is being closed may take its last lines (see
/// `finish`), and how often that is checked.
const LINGER_MS: u64 = 2000;
const LINGER_TICK: Duration = Duration::from_millis(20);
/// Join notices wait this long to go out together (see `announce_joins`).
pub const JOIN_BATCH: Duration = Duration::from_millis(50);

/// Timers: linger, grace, stall, join batch, resume, the HTTP sweep.
pub type Loop = AnyEventLoop<Chat, N, 8>;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// In the room: read from (unless paused) and sent to.
    Open,
    /// On its way out (/quit, end of input, shutdown): sent what it is owed.
    Closing,
    /// Dropped as a slow consumer: sent the rest of the line it was in the
    /// middle of and the notice (kept in its input buffer), by `time_ms`.
    Farewell,
    /// All sent and the write side shut: the socket stays open (input
    /// discarded) until `time_ms`, the peer closes, or it has acknowledged
    /// everything.
    Linger,
}

#[derive(Clone, Copy)]
pub enum Why {
    /// The soft limit: no progress for the stall timeout.
    Stalled,
    /// The hard limit: too far behind.
    Behind,
}

pub struct Client {
    pub stream: Stream,
    pub cursor: Cursor,
    pub input: LineReader<IN_CAP>,
    pub nick: [u8; NICK_CAP],
    pub nick_len: usize,
    pub state: State,
    /// The registered interest; NONE: not registered (paused, nothing owed).
    pub interest: Events,
    /// Its socket is full: WRITE interest waits for room.
    pub writing: bool,
    /// Input is paused: the log has no room for its next line.
    pub paused: bool,
    /// The peer ended its input (what is buffered is still handled).
    pub eof: bool,
    /// In `Chat::dirty`.
    pub dirty: bool,
    /// Its join notice has not gone out yet.
    pub join_pending: bool,
    /// The log's tail when it came: join notices of those who came earlier
    /// (announced late, in a batch) are not for it.
    pub came: u64,
    /// Its index in `Chat::live`.
    pub live_ix: u16,
    /// Open or closing: when its socket last took output, or it started
    /// waiting (ms). Farewell or lingering: the deadline.
    pub time_ms: u64,
    /// Dropped as a slow consumer: the notice still to send, after the rest
    /// of its line.
    pub why: Option<Why>,
    /// A WebSocket client (`web`): its state is `Chat::webs[slot]`.
    pub web: bool,
    /// A web client's input is held: a pong is going out, and the ping it
    /// answers stays in its reader until it has (`web::holds_input`).
    pub held: bool,
}

impl Client {
    pub fn nick(&self) -> &str {
        core::str::from_utf8(self.nick.get(..self.nick_len).unwrap_or(&[])).unwrap_or("?")
    }
}

pub struct Chat {
    /// One per `--bind` (index = the accept callback's token); all are
    /// closed at shutdown.
    pub listeners: [Option<Listener>; MAX_BINDS],
    pub clients: [Option<Client>; MAX_CLIENTS],
    /// Occupied slots, densely (what a pass walks, not all `MAX_CLIENTS`).
    pub live: [u16; MAX_CLIENTS],
    pub live_len: usize,
    /// Free slots (a stack).
    pub free: [u16; MAX_CLIENTS],
    pub free_len: usize,
    /// Clients sent something of their own since the last flush.
    pub dirty: [u16; MAX_CLIENTS],
    pub dirty_len: usize,
    /// Something to everyone was posted since the last flush.
    pub bcast: bool,
    /// Clients whose join notice waits (`announce_joins`), maybe stale.
    pub joins: [u16; MAX_CLIENTS],
    pub joins_len: usize,
    pub join_timer: Option<TimerId>,
    /// Clients in the room (`Open`).
    pub present: usize,
    pub paused: usize,
    pub max_clients: usize,
    pub max_line: usize,
    pub echo_self: bool,
    pub stall_ms: u64,
    pub hard_limit: u64,
    pub log: Log<LOG_BYTES, LOG_ENTRIES>,
    /// At or before every client's cursor (cursors only move on, new
    /// clients start at the end): recomputed only when it is in the way.
    pub low: Cursor,
    pub now: u64,
    pub shutting_down: bool,
    pub linger_timer: Option<TimerId>,
    /// The soft limit's check: armed only while some client waits for its
    /// socket to take what it is owed (an idle room makes no wake-ups).
    pub stall_timer: Option<TimerId>,
    /// A client started waiting for room since the last pass.
    pub stall_wanted: bool,
    /// Rotates where paused senders resume from.
    pub turn: usize,
    /// A zero-delay timer: paused senders go on in the next pass.
    pub resume_timer: Option<TimerId>,
    /// `--web`: its listener (closed at shutdown), the HTTP connections
    /// waiting for their head or answer, and their sweep (armed only while
    /// there are some).
    pub web_listener: [Option<Listener>; 1],
    pub http: [Option<Http>; HTTP_MAX],
    pub http_timer: Option<TimerId>,
    /// `--web-host` and `--web-origin`.
    pub web_hosts: Names,
    pub web_origins: Names,
    /// The web clients' WebSocket state and buffers, by slot: a line
    /// client's is never touched, so its pages are never mapped.
    pub webs: [WebSlot; MAX_CLIENTS],
    /// Where a web client's frame header and payload start are put
    /// together for one `send` ([`web::send`]).
    pub frame_out: [u8; web::FRAME_OUT],
}

impl Chat {
    /// A room not opened yet ([`start`](Self::start)): all zero bytes, so
    /// that it can live in `.bss` (`progs::storage`), whose pages are
    /// mapped only as clients come.
    pub const fn new() -> Chat {
        Chat {
            listeners: [const { None }; MAX_BINDS],
            clients: [const { None }; MAX_CLIENTS],
            live: [0; MAX_CLIENTS],
            live_len: 0,
            free: [0; MAX_CLIENTS],
            free_len: 0,
            dirty: [0; MAX_CLIENTS],
            dirty_len: 0,
            bcast: false,
            joins: [0; MAX_CLIENTS],
            joins_len: 0,
            join_timer: None,
            present: 0,
            paused: 0,
            max_clients: 0,
            max_line: 0,
            echo_self: false,
            stall_ms: 0,
            hard_limit: 0,
            log: Log::new(),
            low: Cursor { seq: 0, off: 0 },
            now: 0,
            shutting_down: false,
            linger_timer: None,
            stall_timer: None,
            stall_wanted: false,
            turn: 0,
            resume_timer: None,
            web_listener: [const { None }; 1],
            http: [const { None }; HTTP_MAX],
            http_timer: None,
            web_hosts: Names::new(),
            web_origins: Names::new(),
            webs: [const { WebSlot::new() }; MAX_CLIENTS],
            frame_out: [0; web::FRAME_OUT],
        }
    }

    /// Opens the empty room on `listeners`: every slot free, the limits
    /// at their defaults.
    pub fn start(
        &mut self,
        listeners: [Option<Listener>; MAX_BINDS],
        max_clients: usize,
        max_line: usize,
    ) {
        for (i, f) in self.free.iter_mut().enumerate() {
            *f = (MAX_CLIENTS - 1 - i) as u16; // slot 0 on top
        }
        self.free_len = MAX_CLIENTS;
        (self.listeners, self.max_clients, self.max_line) = (listeners, max_clients, max_line);
        (self.stall_ms, self.hard_limit) = (10_000, LOG_BYTES as u64);
    }

    pub fn client(&self, slot: usize) -> Option<&Client> {
        self.clients.get(slot).and_then(Option::as_ref)
    }

    pub fn client_mut(&mut self, slot: usize) -> Option<&mut Client> {
        self.clients.get_mut(slot).and_then(Option::as_mut)
    }

    /// The slot of the `i`th client of the live list.
    pub fn live_at(&self, i: usize) -> Option<usize> {
        self.live.get(i).map(|&s| usize::from(s))
    }

    /// The client if it is in the room.
    pub fn open(&mut self, slot: usize) -> Option<&mut Client> {
        self.client_mut(slot).filter(|c| c.state == State::Open)
    }
}

/// Registers, changes or removes `c`'s interest to match its state.
pub fn set_interest(lp: &mut Loop, c: &mut Client, slot: usize) {
    let read = match c.state {
        State::Open => !c.paused && !c.eof && !c.held,
        State::Linger => true,
        State::Closing | State::Farewell => false,
    };
    let mut want = if read { Events::READ } else { Events::NONE };
    if c.writing && c.state != State::Linger {
        want = Events::from_bits_retain(want.bits() | Events::WRITE.bits());
    }
    if want == c.interest {
        return;
    }
    let fd = c.stream.as_raw_fd();
    let ok = if want.is_empty() {
        lp.unregister(fd).is_ok()
    } else if c.interest.is_empty() {
        lp.register(fd, want, on_client, Token(slot)).is_ok()
    } else {
        lp.modify(fd, want).is_ok()
    };
    if ok {
        c.interest = want;
    }
}

/// Appends a message; it goes out after the current pass of callbacks
/// (`flush_all`), with everything else the pass posted: one `send` per
/// client per pass. What this evicts is the caller's business (see `room`).
pub fn post(chat: &mut Chat, to: u16, except: u16, msg: &[u8]) {
    owed(chat, to);
    chat.log.append(to, except, msg);
}

/// Notes who a message to `to` is for.
pub fn owed(chat: &mut Chat, to: u16) {
    if to == ALL {
        chat.bcast = true;
        return;
    }
    let slot = usize::from(to);
    let Some(c) = chat.clients.get_mut(slot).and_then(Option::as_mut) else { return };
    if !c.dirty {
        match chat.dirty.get_mut(chat.dirty_len) {
            Some(d) => *d = to,
            None => return chat.bcast = true,
        }
        chat.dirty_len += 1;
        c.dirty = true;
    }
}

/// A message to everyone from a client (a line, a nick change, a leave):
/// the join notices still waiting go first, so that nobody hears from a
/// client before hearing it joined.
pub fn broadcast(lp: &mut Loop, chat: &mut Chat, except: u16, msg: &[u8]) {
    announce_joins(lp, chat);
    post(chat, ALL, except, msg);
}

/// Whether `bytes` in `count` more messages fit in the log without anyone
/// in the room or on the way out having to lose what it has not been sent,
/// leaving the reserve for the server's notices.
pub fn room(chat: &mut Chat, bytes: usize, count: u64) -> bool {
    let (max_bytes, max_entries) =
        (chat.hard_limit.saturating_sub(RESERVE_BYTES), LOG_ENTRIES as u64 - RESERVE_ENTRIES);
    if chat.log.fits(&chat.low, bytes, count, max_bytes, max_entries) {
        return true;
    }
    chat.low = lowest(chat);
    chat.log.fits(&chat.low, bytes, count, max_bytes, max_entries)
}

/// The room that paused senders wait for: a quarter of what the clients'
/// lines may hold (hysteresis: not one line at a time). Also the most one
/// line is said to need (a long `/who` reply takes its chance with the
/// reserve), so that a sender waits for room that does come.
pub fn resume_at(chat: &Chat) -> (usize, u64) {
    let bytes = chat.hard_limit.saturating_sub(RESERVE_BYTES) / 4;
    (bytes as usize, (LOG_ENTRIES as u64 - RESERVE_ENTRIES) / 4)
}

/// The cursor furthest behind among the clients still owed the log (a
/// client that fell out of it is skipped: it is dropped when flushed).
fn lowest(chat: &Chat) -> Cursor {
    let mut low = chat.log.tail();
    for &slot in chat.live.get(..chat.live_len).unwrap_or(&[]) {
        let Some(c) = chat.client(usize::from(slot)) else { continue };
        let owed = matches!(c.state, State::Open | State::Closing);
        if owed && !chat.log.lost(&c.cursor) && (c.cursor.seq, c.cursor.off) < (low.seq, low.off) {
            low = c.cursor;
        }
    }
    low
}

/// Pauses input from `slot` until the log has room (`resume`): TCP then
/// slows the sender down.
pub fn pause(lp: &mut Loop, chat: &mut Chat, slot: usize) {
    let Some(c) = chat.clients.get_mut(slot).and_then(Option::as_mut) else { return };
    if !c.paused {
        c.paused = true;
        chat.paused += 1;
        set_interest(lp, c, slot);
    }
}

/// Once the log has room again, the paused senders go on, in turn from a
/// rotating start: their buffered lines first, then reading.
fn resume(lp: &mut Loop, chat: &mut Chat) {
    let (bytes, count) = resume_at(chat);
    let n = chat.live_len;
    if n == 0 || !room(chat, bytes, count) {
        return;
    }
    let mut order = [0u16; MAX_CLIENTS];
    let mut k = 0;
    for i in 0..n {
        let Some(slot) = chat.live_at((chat.turn + i) % n) else { continue };
        if chat.client(slot).is_some_and(|c| c.paused) {
            if let Some(o) = order.get_mut(k) {
                *o = slot as u16;
                k += 1;
            }
        }
    }
    chat.turn = chat.turn.wrapping_add(1);
    for &slot in order.get(..k).unwrap_or(&[]) {
        let slot = usize::from(slot);
        let Some(c) = chat.clients.get_mut(slot).and_then(Option::as_mut) else { continue };
        c.paused = false;
        chat.paused -= 1;
        crate::input::process_input(lp, chat, slot);
        if let Some(c) = chat.clients.get_mut(slot).and_then(Option::as_mut) {
            set_interest(lp, c, slot);
        }
    }
}

/// The after-pass hook: sends the clients that are owed something what the
/// log holds for them (everyone after a broadcast, else only those sent
/// something of their own), then lets paused senders go on if there is
/// room, and sends what they posted. Clients waiting for WRITE readiness
/// are left to it. Nothing posted is left unsent at the end: no event may
/// come to send it later.
pub fn flush_all(lp: &mut Loop, chat: &mut Chat) {
    chat.now = lp.now_ms();
    flush_owed(lp, chat);
    if chat.stall_wanted {
        arm_stall_timer(lp, chat);
    }
    for _ in 0..16 {
        if chat.paused == 0 {
            return;
        }
        let before = chat.log.tail().seq;
        resume(lp, chat);
        if chat.log.tail().seq == before {
            return;
        }
        flush_owed(lp, chat);
    }
    // Senders still paused after a pass's share of rounds go on in the next
    // pass, after the other clients' events. Not later: when the readers
    // took everything (their sockets had room all along), no event would
    // come to call this again, and the paused senders would wait forever
    // (seen under qemu, where the server is the slow side).
    if chat.paused > 0 && chat.resume_timer.is_none() {
        chat.resume_timer = lp.add_timer(Duration::ZERO, None, on_resume_timer, Token(0)).ok();
    }
}

/// The next pass's turn for the paused senders: the after-pass hook
/// ([`flush_all`]) resumes them.
fn on_resume_timer(_lp: &mut Loop, chat: &mut Chat, _id: TimerId, _t: Token) {
    chat.resume_timer = None;
}

/// Flushes the clients owed something, again while flushing posts more
/// (a leave or a disconnection notice; each client posts those once).
fn flush_owed(lp: &mut Loop, chat: &mut Chat) {
    for _ in 0..MAX_CLIENTS {
        if !chat.bcast && chat.dirty_len == 0 {
            return;
        }
        let (all, dirty_len) = (chat.bcast, chat.dirty_len);
        chat.bcast = false;
        chat.dirty_len = 0;
        for i in 0..dirty_len {
            let Some(slot) = chat.dirty.get(i).map(|&s| usize::from(s)) else { break };
            if let Some(c) = chat.client_mut(slot) {
                c.dirty = false;
                if !all {
                    flush(lp, chat, slot);
                }
            }
        }
        if all {
            flush_live(lp, chat);
        }
    }
}

/// Flushes every client not waiting for WRITE readiness (backwards: a
/// client closed on the way is swapped with one already done).
fn flush_live(lp: &mut Loop, chat: &mut Chat) {
    let mut i = chat.live_len;
    while i > 0 {
        i -= 1;
        let Some(slot) = chat.live_at(i) else { continue };
        let Some(c) = chat.client(slot) else { continue };
        if !c.writing || chat.log.lost(&c.cursor) {
            flush(lp, chat, slot);
        }
    }
}

/// Sends client `slot` what the log holds for it, until caught up or its
/// socket is full (then WRITE interest waits for room).
pub fn flush(lp: &mut Loop, chat: &mut Chat, slot: usize) {
    let Some(c) = chat.clients.get_mut(slot).and_then(Option::as_mut) else { return };
    match c.state {
        State::Linger => return,
        State::Farewell => return send_farewell(lp, chat, slot),
        State::Open | State::Closing => {}
    }
    // A client whose socket took everything last time is checked only for
    // having fallen out of the log (one comparison): the hard limit is for
    // those that wait for room.
    let behind = match c.writing || chat.log.lost(&c.cursor) {
        true => chat.log.behind(&c.cursor),
        false => Some(0),
    };
    match behind {
        // Out of the log, but its socket was taking everything: what was
        // evicted was for others (a caught-up client's cursor stays where
        // it was while messages for other clients, e.g. the welcomes of a
        // burst of newcomers, go by; anything for it marks it owed and is
        // flushed the same pass). Go on from the oldest message held.
        None if !c.writing => c.cursor = chat.log.oldest(),
        None => return drop_slow(lp, chat, slot, Why::Behind),
        Some(b) if b > chat.hard_limit => return drop_slow(lp, chat, slot, Why::Behind),
        Some(_) => {}
    }
    let tail = chat.log.tail().seq;
    for _ in 0..64 {
        let (run, end) = match c.cursor.seq < tail && !web::done(c, &chat.webs, slot) {
            true => chat.log.next_run_to(&mut c.cursor, slot as u16, c.came),
            false => (&[][..], c.cursor),
        };
        if run.is_empty() {
            return caught_up(lp, chat, slot);
        }
        match web::send(c, &mut chat.webs, &mut chat.frame_out, slot, run) {
            Ok(Some(n)) if n == run.len() => {
                c.cursor = end;
                c.time_ms = chat.now;
            }
            Ok(Some(n)) => {
                chat.log.advance(&mut c.cursor, n);
                c.time_ms = chat.now;
                break;
            }
            Ok(None) => break,
            Err(_) if c.state == State::Closing => return close(lp, chat, slot),
            Err(_) => return leave(lp, chat, slot, "left"),
        }
    }
    wait_for_room(lp, chat, slot);
}

/// Client `slot` has been sent all the log holds for it: a web client's
/// control frames go out, a closing client finishes, and WRITE interest
/// is dropped.
fn caught_up(lp: &mut Loop, chat: &mut Chat, slot: usize) {
    let Some(c) = chat.clients.get_mut(slot).and_then(Option::as_mut) else { return };
    match web::send_idle(c, &mut chat.webs, slot) {
        Ok(true) => {}
        Ok(false) => return wait_for_room(lp, chat, slot),
        Err(_) => return close(lp, chat, slot),
    }
    if c.state == State::Closing {
        return finish(lp, chat, slot);
    }
    // `held` is only ever set with `writing` (`wait_for_room`).
    if c.writing {
        (c.writing, c.held) = (false, false);
        set_interest(lp, c, slot);
    }
}

/// Client `slot`'s socket is full: WRITE interest waits for room, and the
/// soft limit's clock runs from now. A web client's input is held while
/// a pong is stuck in its socket.
fn wait_for_room(lp: &mut Loop, chat: &mut Chat, slot: usize) {
    let Some(c) = chat.clients.get_mut(slot).and_then(Option::as_mut) else { return };
    let held = web::holds_input(c, &chat.webs, slot);
    if c.writing && c.held == held {
        return;
    }
    if !c.writing {
        (c.writing, c.time_ms, chat.stall_wanted) = (true, chat.now, true);
    }
    c.held = held;
    set_interest(lp, c, slot);
}

/// A client goes: the others are told; what is already due to it still
/// goes out (e.g. "* bye"), then its socket is closed.
pub fn leave(lp: &mut Loop, chat: &mut Chat, slot: usize, how: &str) {
    let Some(c) = chat.open(slot) else { return };
    let mut notice = [0u8; NICK_CAP + 32];
    let n = progs::fmt::concat(&mut notice, &[&"* ", &c.nick(), &" ", &how, &"\n"]).len();
    let_go(lp, chat, slot, State::Closing);
    broadcast(lp, chat, slot as u16, notice.get(..n).unwrap_or(&[]));
    flush(lp, chat, slot);
}

/// Moves an `Open` or `Closing` client to `state`: nothing more is read.
fn let_go(lp: &mut Loop, chat: &mut Chat, slot: usize, state: State) {
    let Some(c) = chat.clients.get_mut(slot).and_then(Option::as_mut) else { return };
    if c.state == State::Open {
        chat.present -= 1;
    }
    if c.paused {
        c.paused = false;
        chat.paused -= 1;
    }
    c.state = state;
    set_interest(lp, c, slot);
}

/// A client that stopped reading (no progress for the stall timeout) or is
/// past the hard limit: it gets the rest of the line it is in the middle
/// of and a notice saying why, then the socket is closed; the others are
/// told. Its share of the log is let go at once.
pub fn drop_slow(lp: &mut Loop, chat: &mut Chat, slot: usize, why: Why) {
    if chat.client(slot).is_some_and(|c| c.web) {
        return drop_web(lp, chat, slot);
    }
    let Chat { clients, log, .. } = chat;
    let Some(c) = clients.get_mut(slot).and_then(Option::as_mut) else { return };
    // A line it was in the middle of is completed (from the log, or with
    // a bare newline if the log lost it); the notice follows.
    let lost: &[u8] = if c.cursor.off > 0 { b"\n" } else { b"" };
    let rest = log.rest_of_message(&c.cursor).unwrap_or(lost);
    c.input.replace(&[rest]);
    c.why = Some(why);
    let mut others = [0u8; NICK_CAP + 48];
    let n = dropped_notice(c, &mut others);
    let was_open = c.state == State::Open;
    (c.writing, c.time_ms) = (false, chat.now.saturating_add(LINGER_MS));
    let_go(lp, chat, slot, State::Farewell);
    if was_open {
        broadcast(lp, chat, slot as u16, others.get(..n).unwrap_or(&[]));
    }
    linger_timer(lp, chat);
    send_farewell(lp, chat, slot);
}

/// A web client that stopped reading is closed at once (a notice could
/// only follow the frame in progress, which it does not take); the others
/// are told.
fn drop_web(lp: &mut Loop, chat: &mut Chat, slot: usize) {
    let Some(c) = chat.client(slot) else { return };
    let mut others = [0u8; NICK_CAP + 48];
    let n = dropped_notice(c, &mut others);
    let was_open = c.state == State::Open;
    close(lp, chat, slot);
    if was_open {
        broadcast(lp, chat, NONE, others.get(..n).unwrap_or(&[]));
    }
}

/// What the others are told of a client dropped as a slow consumer; its
/// length in `buf`.
fn dropped_notice(c: &Client, buf: &mut [u8]) -> usize {
    progs::fmt::concat(buf, &[&"* ", &c.nick(), &" was disconnected (not reading)\n"]).len()
}

/// What a client dropped for `why` is told.
fn farewell_notice<'a>(chat: &Chat, why: Why, buf: &'a mut [u8]) -> &'a [u8] {
    let secs = chat.stall_ms / 1000;
    let parts: [&dyn Show; 3] = match why {
        Why::Stalled => [&"* you are being disconnected: not reading for ", &secs, &" s\n"],
        Why::Behind => {
            [&"* you are being disconnected: more than ", &chat.hard_limit, &" bytes behind\n"]
        }
    };
    progs::fmt::concat(buf, &parts)
}

/// Sends a dropped client its last bytes; then `finish`.
fn send_farewell(lp: &mut Loop, chat: &mut Chat, slot: usize) {
    let mut notice = [0u8; 80];
    let notice = match chat.client(slot).and_then(|c| c.why) {
        Some(why) => farewell_notice(chat, why, &mut notice),
        None => b"",
    };
    let Some(c) = chat.clients.get_mut(slot).and_then(Option::as_mut) else { return };
    for _ in 0..4 {
        if c.input.unread().is_empty() && c.why.take().is_some() {
            c.input.replace(&[notice]);
        }
        let bytes = c.input.unread();
        if bytes.is_empty() {
            return finish(lp, chat, slot);
        }
        match c.stream.send(bytes) {
            Ok(Some(n)) => c.input.consume(n),
            Ok(None) => break,
            Err(_) => return close(lp, chat, slot),
        }
    }
    c.writing = true;
    chat.stall_wanted = true;
    set_interest(lp, c, slot);
}

pub fn close(lp: &mut Loop, chat: &mut Chat, slot: usize) {
    let Some(c) = chat.clients.get_mut(slot).and_then(Option::take) else { return };
    if !c.interest.is_empty() {
        let _ = lp.unregister(c.stream.as_raw_fd()); // then drop closes it
    }
    chat.present -= usize::from(c.state == State::Open);
    chat.paused -= usize::from(c.paused);
    // Out of the live list (the last one takes its place), onto the free one.
    chat.live_len = chat.live_len.saturating_sub(1);
    let last = chat.live.get(chat.live_len).copied().unwrap_or(0);
    if let Some(l) = chat.live.get_mut(usize::from(c.live_ix)) {
        *l = last;
    }
    if let Some(moved) = chat.client_mut(usize::from(last)) {
        moved.live_ix = c.live_ix;
    }
    if let Some(f) = chat.free.get_mut(chat.free_len) {
        *f = slot as u16;
        chat.free_len += 1;
    }
    if chat.shutting_down && chat.live_len == 0 {
        lp.stop();
    }
}

/// Tells a connection there is no room; the caller then closes it (after
/// taking whatever it already sent, so that the close is not a reset that
/// could destroy the message).
pub fn refuse(stream: &Stream) {
    let _ = stream.send(b"error: server full\n");
    discard_input(stream);
    let _ = stream.shutdown_write();
}

/// Reads and drops whatever `stream` has sent; true when it is done (end of
/// stream or an error), false when nothing more is there for now.
pub fn discard_input(stream: &Stream) -> bool {
    let mut sink = [0u8; 1024];
    for _ in 0..16 {
        match stream.recv(&mut sink) {
            Ok(None) => return false,
            Ok(Some(0)) | Err(_) => return true,
            Ok(Some(_)) => {}
        }
    }
    false
}

/// A closing client has been handed everything it is owed. Closing a
/// socket with unread input makes the kernel send a reset and throw away
/// what the peer has not received yet, so: its input is discarded, its
/// write side shut (the peer reads end of stream after the last line),
/// and the socket lingers, still discarding input, until the peer has
/// acknowledged everything or closes, for LINGER_MS at most.
fn finish(lp: &mut Loop, chat: &mut Chat, slot: usize) {
    let code = web::close_code(chat);
    let Some(c) = chat.clients.get_mut(slot).and_then(Option::as_mut) else { return };
    // A web client's close frame goes first (maybe when there is room).
    match web::send_close(c, &mut chat.webs, slot, code) {
        Ok(true) => {}
        Ok(false) => {
            (c.writing, chat.stall_wanted) = (true, true);
            return set_interest(lp, c, slot);
        }
        Err(_) => return close(lp, chat, slot),
    }
    if discard_input(&c.stream) || c.stream.shutdown_write().is_err() {
        return close(lp, chat, slot);
    }
    (c.state, c.writing) = (State::Linger, false);
    c.time_ms = lp.now_ms().saturating_add(LINGER_MS);
    set_interest(lp, c, slot);
    linger_timer(lp, chat);
}

fn linger_timer(lp: &mut Loop, chat: &mut Chat) {
    if chat.linger_timer.is_none() {
        let id = lp.add_timer(LINGER_TICK, Some(LINGER_TICK), on_linger_tick, Token(0));
        chat.linger_timer = id.ok();
    }
}

/// Closes the lingering and farewell clients that are done or out of
/// time; the timer stops with the last.
fn on_linger_tick(lp: &mut Loop, chat: &mut Chat, id: TimerId, _t: Token) {
    let now = lp.now_ms();
    let mut left = 0;
    let mut i = chat.live_len;
    while i > 0 {
        i -= 1;
        let Some(slot) = chat.live_at(i) else { continue };
        let Some(c) = chat.client(slot) else { continue };
        let done = match c.state {
            State::Linger => now >= c.time_ms || c.stream.unacked().map_or(true, |n| n == 0),
            State::Farewell => now >= c.time_ms,
            State::Open | State::Closing => continue,
        };
        if done {
            close(lp, chat, slot);
        } else {
            left += 1;
        }
    }
    if left == 0 {
        lp.cancel_timer(id);
        chat.linger_timer = None;
    }
}

/// The soft limit: a client owed output whose socket has taken nothing for
/// the stall timeout is dropped.
pub fn on_stall_tick(lp: &mut Loop, chat: &mut Chat, id: TimerId, _t: Token) {
    chat.now = lp.now_ms();
    let mut waiting = 0;
    let mut i = chat.live_len;
    while i > 0 {
        i -= 1;
        let Some(slot) = chat.live_at(i) else { continue };
        let Some(c) = chat.client(slot) else { continue };
        let owing = matches!(c.state, State::Open | State::Closing) && c.writing;
        if owing && chat.now.saturating_sub(c.time_ms) >= chat.stall_ms {
            drop_slow(lp, chat, slot, Why::Stalled);
        } else if owing {
            waiting += 1;
        }
    }
    if waiting == 0 && !chat.stall_wanted {
        // Nobody waits for room: no more ticks until somebody does.
        lp.cancel_timer(id);
        chat.stall_timer = None;
    }
}

/// Arms the soft limit's periodic check (a quarter of the stall timeout,
/// at most a second) if it is not running.
fn arm_stall_timer(lp: &mut Loop, chat: &mut Chat) {
    chat.stall_wanted = false;
    if chat.stall_timer.is_some() {
        return;
    }
    let tick = Duration::from_millis((chat.stall_ms / 4).clamp(1, 1000));
    chat.stall_timer = lp.add_timer(tick, Some(tick), on_stall_tick, Token(0)).ok();
}

/// Notes that `slot` joined; the notices go out together after
/// `JOIN_BATCH`, or before the next message to everyone, so that a burst
/// of connects costs one send per client per batch, not per connect.
pub fn queue_join(lp: &mut Loop, chat: &mut Chat, slot: usize) {
    if chat.joins_len == chat.joins.len() {
        announce_joins(lp, chat);
    }
    let Some(c) = chat.clients.get_mut(slot).and_then(Option::as_mut) else { return };
    c.join_pending = true;
    if let Some(j) = chat.joins.get_mut(chat.joins_len) {
        *j = slot as u16;
        chat.joins_len += 1;
    }
    if chat.join_timer.is_none() {
        chat.join_timer = lp.add_timer(JOIN_BATCH, None, on_join_timer, Token(0)).ok();
    }
}

fn on_join_timer(lp: &mut Loop, chat: &mut Chat, _id: TimerId, _t: Token) {
    chat.join_timer = None;
    announce_joins(lp, chat);
}

/// Posts the join notices that wait.
pub fn announce_joins(lp: &mut Loop, chat: &mut Chat) {
    if let Some(id) = chat.join_timer.take() {
        lp.cancel_timer(id);
    }
    for k in 0..chat.joins_len {
        let Some(slot) = chat.joins.get(k).map(|&s| usize::from(s)) else { break };
        let Some(c) = chat.client_mut(slot).filter(|c| c.join_pending) else { continue };
        c.join_pending = false;
        let mut buf = [0u8; NICK_CAP + 16];
        let n = progs::fmt::concat(&mut buf, &[&"* ", &c.nick(), &" joined\n"]).len();
        let came = c.came;
        owed(chat, ALL);
        chat.log.append_since(slot as u16, came, buf.get(..n).unwrap_or(&[]));
    }
    chat.joins_len = 0;
}

pub fn on_signal(lp: &mut Loop, chat: &mut Chat, _signo: i32, _t: Token) {
    if chat.shutting_down {
        return lp.stop(); // a second signal: stop now
    }
    chat.shutting_down = true;
    listen::close_all(lp, &mut chat.listeners); // socket files removed
    web::close_all(lp, chat);
    broadcast(lp, chat, NONE, b"* server shutting down\n");
    chat.now = lp.now_ms();
    let mut i = chat.live_len;
    while i > 0 {
        i -= 1;
        let Some(slot) = chat.live_at(i) else { continue };
        // Nothing more is read: only what is owed goes out.
        if chat.client(slot).is_some_and(|c| c.state == State::Open) {
            let_go(lp, chat, slot, State::Closing);
        }
        flush(lp, chat, slot);
    }
    if chat.live_len == 0 {
        return lp.stop();
    }
    if lp.add_timer(Duration::from_secs(2), None, on_grace_over, Token(0)).is_err() {
        lp.stop();
    }
}

fn on_grace_over(lp: &mut Loop, _chat: &mut Chat, _id: TimerId, _t: Token) {
    lp.stop();
}
