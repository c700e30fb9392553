//! chat-server: a line-based chat room for `nc`/`telnet` clients, one
//! thread, no heap, statically linkable. See `--help`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::fmt::Write as _;
use core::time::Duration;
use picosel::backend::AnyBackend;
use picosel::net::{Accept, TcpListener, TcpStream};
use picosel::{AnyEventLoop, Events, TimerId, Token};
use progs::chatlog::{ALL, Cursor, Log, NONE};
use progs::fmt::BufWriter;
use progs::framing::{Frame, LineBuf, sanitize};
use progs::{cli, log_err, log_out};

progs::entry!(server: run);

const USAGE: &str = concat!(
    "usage: chat-server [--bind ADDR:PORT] [--backend select|poll|epoll]
                   [--max-clients N] [--max-line BYTES] [--echo-self]

A chat room: every line a client sends goes to every other client as
`NICK: text`. Commands: /nick NAME, /who, /quit.
  --bind ADDR:PORT   listen address (default 127.0.0.1:8008; [::1]:PORT for IPv6; port 0 = any)
  --backend NAME     select, poll or epoll (default epoll)
  --max-clients N    connections served at once, 1-1000 (default 64); the next gets `error: server full`
  --max-line BYTES   longest line relayed, 1-512 (default 512); longer ones get `error: line too long`
  --echo-self        also send each line back to its sender

Signals and output: on SIGINT or SIGTERM every client gets
`* server shutting down` and its queued output (2 s at most), then the
server exits 0; a second signal stops it at once.
",
    progs::server_signals_help!()
);

/// Hard limits, fixed at compile time.
const MAX_CLIENTS: usize = 1000;
const MAX_LINE: usize = 512;
const NICK_CAP: usize = 48;
const N: usize = MAX_CLIENTS + 4;
/// Shared backlog: a client more than this far behind is disconnected.
const LOG_BYTES: usize = 64 * 1024;
const LOG_ENTRIES: usize = 2048;
/// Kernel send buffer per client (SO_SNDBUF).
const SEND_BUFFER: i32 = 16 * 1024;
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// How long a client that is being closed may keep its socket open while
/// the peer takes the last lines (see `finish`), and how often that is
/// checked.
const LINGER_MS: u64 = 2000;
const LINGER_TICK: Duration = Duration::from_millis(20);

struct Client {
    stream: TcpStream,
    cursor: Cursor,
    input: LineBuf<{ MAX_LINE + 1 }>,
    nick: [u8; NICK_CAP],
    nick_len: usize,
    /// WRITE interest is on (output is waiting in the log for this client).
    writing: bool,
    /// Close once everything due has been sent (after /quit or shutdown).
    closing: bool,
    /// All sent and the write side shut: the socket stays open (input
    /// discarded) until this time (ms), the peer closes, or it has
    /// acknowledged everything. 0: not lingering.
    linger_until: u64,
}

impl Client {
    fn nick(&self) -> &str {
        core::str::from_utf8(self.nick.get(..self.nick_len).unwrap_or(&[])).unwrap_or("?")
    }
}

struct Chat {
    listener: Option<TcpListener>,
    clients: [Option<Client>; MAX_CLIENTS],
    count: usize,
    max_clients: usize,
    max_line: usize,
    echo_self: bool,
    log: Log<LOG_BYTES, LOG_ENTRIES>,
    shutting_down: bool,
    /// The periodic timer that checks lingering clients, while there are any.
    linger_timer: Option<TimerId>,
    /// Every message below this sequence number has been offered to every
    /// client (by a completed round of `flush_all`); the ones from here on
    /// go out after the current pass of callbacks (see `post`).
    offered: u64,
}

/// Two timers (linger, grace) and two signal handlers.
type Loop = AnyEventLoop<Chat, N, 4>;

fn run() -> i32 {
    let mut argbuf = [0u8; 4096];
    let Ok(args) = progs::os::args(&mut argbuf) else {
        log_err!("chat-server: cannot read the command line\n");
        return 2;
    };
    let mut bind = cli::addr("--bind", "127.0.0.1:8008").ok();
    let mut backend: AnyBackend<N> = AnyBackend::epoll();
    let (mut max_clients, mut max_line, mut echo_self) = (64, MAX_LINE, false);
    let parsed = cli::parse(
        args.skip(1),
        &["--echo-self"],
        &["--bind", "--backend", "--max-clients", "--max-line"],
        |p| {
            match p {
                cli::Parsed::Opt("--bind", Some(v)) => bind = Some(cli::addr("--bind", v)?),
                cli::Parsed::Opt("--backend", Some(v)) => backend = cli::backend("--backend", v)?,
                cli::Parsed::Opt("--max-clients", Some(v)) => {
                    max_clients = cli::number("--max-clients", v, 1, MAX_CLIENTS as u64)? as usize
                }
                cli::Parsed::Opt("--max-line", Some(v)) => {
                    max_line = cli::number("--max-line", v, 1, MAX_LINE as u64)? as usize
                }
                cli::Parsed::Opt("--echo-self", None) => echo_self = true,
                cli::Parsed::Opt(o, _) | cli::Parsed::Arg(o) => {
                    return Err(cli::CliError::Unknown(o));
                }
            }
            Ok(())
        },
    );
    if let Err(e) = parsed {
        return cli::fail(e, USAGE);
    }
    let Some(bind) = bind else { return 2 };
    let listener = match TcpListener::bind(bind, 128) {
        Ok(l) => l,
        Err(e) => {
            log_err!("chat-server: cannot listen on {bind}: {e}\n");
            return 1;
        }
    };
    let mut lp = Loop::with_backend(backend);
    let setup = lp
        .register(listener.as_raw_fd(), Events::READ, on_accept, Token(0))
        .and_then(|()| lp.add_signal(progs::os::SIGINT, on_signal, Token(0)))
        .and_then(|()| lp.add_signal(progs::os::SIGTERM, on_signal, Token(0)));
    if let Err(e) = setup {
        log_err!("chat-server: {e}\n");
        return 1;
    }
    let local = listener.local_addr().unwrap_or(bind);
    log_out!("listening on {local} ({})\n", lp.backend_name());
    let mut chat = Chat {
        listener: Some(listener),
        clients: [const { None }; MAX_CLIENTS],
        count: 0,
        max_clients,
        max_line,
        echo_self,
        log: Log::new(),
        shutting_down: false,
        linger_timer: None,
        offered: 0,
    };
    // What a pass of callbacks posted goes out after the pass, in one send
    // per client.
    lp.set_after_pass(Some(flush_all));
    if let Err(e) = lp.run(&mut chat) {
        log_err!("chat-server: {e}\n");
        return 1;
    }
    0
}

fn on_accept(lp: &mut Loop, chat: &mut Chat, _fd: i32, _ev: Events, _t: Token) {
    // A bounded number per readiness, so a flood of connects cannot starve
    // the clients (the listener stays readable if more are waiting).
    for _ in 0..32 {
        let Some(listener) = chat.listener.as_mut() else { return };
        let (stream, peer) = match listener.accept() {
            Ok(Accept::Stream(s, peer)) => (s, peer),
            Ok(Accept::WouldBlock) => return,
            Ok(Accept::Dropped(e)) => {
                log_err!("chat-server: out of file descriptors ({e}): dropped a connection\n");
                continue;
            }
            Err(e) => {
                log_err!("chat-server: accept: {e}\n");
                return;
            }
        };
        let slot = chat.clients.iter().position(Option::is_none);
        let slot = match slot {
            Some(i) if present(chat) < chat.max_clients => i,
            _ => {
                refuse(&stream);
                continue; // dropping `stream` closes it
            }
        };
        // A small, fixed kernel send buffer: what a client that stops
        // reading can hold stays bounded (the shared log does the rest).
        let _ = stream.set_send_buffer(SEND_BUFFER);
        if lp.register(stream.as_raw_fd(), Events::READ, on_client, Token(slot)).is_err() {
            refuse(&stream);
            continue;
        }
        let mut nick = [0u8; NICK_CAP];
        let nick_len = match peer {
            Some(p) => {
                let mut w = BufWriter::new(&mut nick);
                let _ = write!(w, "{p}");
                w.len()
            }
            None => 0,
        };
        let client = Client {
            stream,
            cursor: chat.log.tail(),
            input: LineBuf::new(),
            nick,
            nick_len,
            writing: false,
            closing: false,
            linger_until: 0,
        };
        chat.clients[slot] = Some(client);
        chat.count += 1;
        let mut buf = [0u8; 160];
        let nick = chat.clients[slot].as_ref().map_or("?", Client::nick);
        let msg = progs::fmt::format_into(&mut buf, format_args!("* {nick} joined\n"));
        let mut copy = [0u8; 160];
        let len = msg.len();
        copy[..len].copy_from_slice(msg.as_bytes());
        post(lp, chat, ALL, slot as u16, &copy[..len]);
        let mut buf = [0u8; 200];
        let nick = chat.clients[slot].as_ref().map_or("?", Client::nick);
        let msg = progs::fmt::format_into(
            &mut buf,
            format_args!("* welcome, you are {nick}; commands: /nick NAME, /who, /quit\n"),
        );
        let mut copy = [0u8; 200];
        let len = msg.len();
        copy[..len].copy_from_slice(msg.as_bytes());
        post(lp, chat, slot as u16, NONE, &copy[..len]);
    }
}

fn on_client(lp: &mut Loop, chat: &mut Chat, _fd: i32, ev: Events, token: Token) {
    let slot = token.0;
    if let Some(c) = chat.clients.get(slot).and_then(Option::as_ref) {
        if c.linger_until != 0 {
            if discard_input(&c.stream) {
                close(lp, chat, slot);
            }
            return;
        }
    }
    if ev.is_writable() {
        flush(lp, chat, slot);
    }
    if !ev.is_readable() {
        return;
    }
    let mut buf = [0u8; 4096];
    let got = match chat.clients.get(slot).and_then(Option::as_ref) {
        Some(c) if !c.closing => c.stream.recv(&mut buf),
        _ => return,
    };
    let n = match got {
        Ok(None) => return,
        Ok(Some(0)) | Err(_) => return leave(lp, chat, slot, "left"),
        Ok(Some(n)) => n,
    };
    // Frame the bytes; handle the lines after the framer is put back.
    let Some(client) = chat.clients.get_mut(slot).and_then(Option::as_mut) else { return };
    let mut input = core::mem::take(&mut client.input);
    let max_line = chat.max_line;
    let data = buf.get(..n).unwrap_or(&[]);
    // Lines are handled one at a time: each may post to the log.
    let mut pos = 0;
    while pos < data.len() {
        let mut line = [0u8; MAX_LINE + 1];
        let mut frame: Option<Option<usize>> = None; // Some(Some(len)) line, Some(None) too long
        let rest = data.get(pos..).unwrap_or(&[]);
        let mut used = rest.len();
        for (k, &b) in rest.iter().enumerate() {
            input.feed(&[b], max_line, |f| {
                frame = Some(match f {
                    Frame::Line(l) => {
                        let len = l.len().min(line.len());
                        line[..len].copy_from_slice(&l[..len]);
                        Some(len)
                    }
                    Frame::TooLong => None,
                })
            });
            if frame.is_some() {
                used = k + 1;
                break;
            }
        }
        pos += used;
        match frame {
            Some(Some(len)) => handle_line(lp, chat, slot, &line[..len]),
            Some(None) => post(lp, chat, slot as u16, NONE, b"error: line too long\n"),
            None => {}
        }
        if chat.clients.get(slot).and_then(Option::as_ref).is_none_or(|c| c.closing) {
            return; // gone (or quitting) while handling the line
        }
    }
    if let Some(client) = chat.clients.get_mut(slot).and_then(Option::as_mut) {
        client.input = input;
    }
}

fn handle_line(lp: &mut Loop, chat: &mut Chat, slot: usize, line: &[u8]) {
    if line.is_empty() {
        return;
    }
    if let Some(cmd) = line.strip_prefix(b"/") {
        let (name, arg) = match cmd.iter().position(|&b| b == b' ') {
            Some(i) => (&cmd[..i], trim(&cmd[i + 1..])),
            None => (cmd, &[][..]),
        };
        return match name {
            b"nick" => set_nick(lp, chat, slot, arg),
            b"who" => who(lp, chat, slot),
            b"quit" => {
                post(lp, chat, slot as u16, NONE, b"* bye\n");
                leave(lp, chat, slot, "left");
            }
            _ => post(
                lp,
                chat,
                slot as u16,
                NONE,
                b"error: unknown command (try /nick NAME, /who, /quit)\n",
            ),
        };
    }
    let Some(client) = chat.clients.get(slot).and_then(Option::as_ref) else { return };
    let mut msg = [0u8; NICK_CAP + MAX_LINE + 4];
    let nick = client.nick.get(..client.nick_len).unwrap_or(&[]);
    let mut len = 0;
    for part in [nick, b": "] {
        msg[len..len + part.len()].copy_from_slice(part);
        len += part.len();
    }
    len += sanitize(line, &mut msg[len..len + line.len().min(MAX_LINE)]);
    msg[len] = b'\n';
    let except = if chat.echo_self { NONE } else { slot as u16 };
    post(lp, chat, ALL, except, &msg[..len + 1]);
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(s.len());
    let end = s.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or(&[])
}

fn set_nick(lp: &mut Loop, chat: &mut Chat, slot: usize, name: &[u8]) {
    let valid = !name.is_empty()
        && name.len() <= 32
        && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if !valid {
        return post(
            lp,
            chat,
            slot as u16,
            NONE,
            b"error: a nick is 1-32 letters, digits, '_', '-' or '.'\n",
        );
    }
    let taken = chat.clients.iter().enumerate().any(|(j, c)| {
        j != slot
            && c.as_ref().is_some_and(|c| !c.closing && c.nick.get(..c.nick_len) == Some(name))
    });
    if taken {
        return post(lp, chat, slot as u16, NONE, b"error: that nick is taken\n");
    }
    let Some(client) = chat.clients.get_mut(slot).and_then(Option::as_mut) else { return };
    let mut notice = [0u8; 2 * NICK_CAP + 16];
    let mut len = 0;
    let old_len = client.nick_len;
    for part in
        [b"* ".as_slice(), client.nick.get(..old_len).unwrap_or(&[]), b" is now ", name, b"\n"]
    {
        notice[len..len + part.len()].copy_from_slice(part);
        len += part.len();
    }
    client.nick[..name.len()].copy_from_slice(name);
    client.nick_len = name.len();
    let mut own = [0u8; NICK_CAP + 24];
    let mut olen = 0;
    for part in [b"* you are now ".as_slice(), name, b"\n"] {
        own[olen..olen + part.len()].copy_from_slice(part);
        olen += part.len();
    }
    post(lp, chat, slot as u16, NONE, &own[..olen]);
    post(lp, chat, ALL, slot as u16, &notice[..len]);
}

fn who(lp: &mut Loop, chat: &mut Chat, slot: usize) {
    let mut line = [0u8; 512];
    let mut len = 0;
    let mut w = BufWriter::new(&mut line);
    let _ = write!(w, "* online ({}):", present(chat));
    len += w.len();
    for j in 0..MAX_CLIENTS {
        let Some(c) = chat.clients.get(j).and_then(Option::as_ref).filter(|c| !c.closing) else {
            continue;
        };
        let nick = c.nick.get(..c.nick_len).unwrap_or(&[]);
        if len + nick.len() + 2 > line.len() {
            line[len] = b'\n';
            post(lp, chat, slot as u16, NONE, &line[..len + 1]);
            line[..2].copy_from_slice(b"* ");
            len = 1;
        }
        let Some(c) = chat.clients.get(j).and_then(Option::as_ref) else { continue };
        let nick = c.nick.get(..c.nick_len).unwrap_or(&[]);
        line[len] = b' ';
        line[len + 1..len + 1 + nick.len()].copy_from_slice(nick);
        len += 1 + nick.len();
    }
    line[len] = b'\n';
    post(lp, chat, slot as u16, NONE, &line[..len + 1]);
}

/// Appends a message to the log. It is sent after the current pass of
/// callbacks (`flush_all`), together with everything else the pass posted:
/// one `send` per client per pass instead of one per message. Should the
/// append evict a message that has not been offered to everyone yet, all
/// clients are flushed first, so that only a client that stopped reading
/// (its socket is full) can fall out of the log; it is disconnected when
/// next flushed.
fn post(lp: &mut Loop, chat: &mut Chat, to: u16, except: u16, msg: &[u8]) {
    if chat.log.evicts(msg.len()) > chat.offered {
        flush_all(lp, chat);
    }
    chat.log.append(to, except, msg);
}

/// Offers every client what the log holds for it, while anything posted
/// has not been offered to everyone (a flush may post, e.g. a
/// disconnection notice).
fn flush_all(lp: &mut Loop, chat: &mut Chat) {
    while chat.offered < chat.log.tail().seq {
        let upto = chat.log.tail().seq;
        for j in 0..MAX_CLIENTS {
            flush(lp, chat, j);
        }
        chat.offered = chat.offered.max(upto);
    }
}

/// Sends client `slot` what the log holds for it, until caught up or its
/// socket is full (then WRITE interest waits for room).
fn flush(lp: &mut Loop, chat: &mut Chat, slot: usize) {
    let Some(c) = chat.clients.get_mut(slot).and_then(Option::as_mut) else { return };
    if c.linger_until != 0 {
        return; // its write side is shut
    }
    if chat.log.lost(&c.cursor) {
        return drop_slow(lp, chat, slot);
    }
    for _ in 0..64 {
        let run = chat.log.next_run(&mut c.cursor, slot as u16);
        if run.is_empty() {
            if c.closing {
                return finish(lp, chat, slot);
            }
            if c.writing {
                c.writing = false;
                let _ = lp.modify(c.stream.as_raw_fd(), Events::READ);
            }
            return;
        }
        match c.stream.send(run) {
            Ok(Some(n)) => {
                chat.log.advance(&mut c.cursor, n);
                if n < run.len() {
                    break;
                }
            }
            Ok(None) => break,
            Err(_) if c.closing => return close(lp, chat, slot),
            Err(_) => return leave(lp, chat, slot, "left"),
        }
    }
    if !c.writing {
        c.writing = true;
        let events = if c.closing { Events::WRITE } else { Events::BOTH };
        let _ = lp.modify(c.stream.as_raw_fd(), events);
    }
}

/// A client goes: its fd is closed, the others are told.
fn leave(lp: &mut Loop, chat: &mut Chat, slot: usize, how: &str) {
    let Some(c) = chat.clients.get_mut(slot).and_then(Option::as_mut) else { return };
    if c.closing {
        return;
    }
    let mut notice = [0u8; NICK_CAP + 32];
    let n = progs::fmt::format_into(&mut notice, format_args!("* {} {how}\n", c.nick())).len();
    // Whatever is already due to it still goes out (e.g. "* bye").
    c.closing = true;
    let _ = lp.modify(c.stream.as_raw_fd(), Events::WRITE);
    c.writing = true;
    post(lp, chat, ALL, slot as u16, &notice[..n]);
    flush(lp, chat, slot);
}

/// A client that stopped reading while the others chatted on: its share of
/// the backlog is gone, so it is cut off and the others are told.
fn drop_slow(lp: &mut Loop, chat: &mut Chat, slot: usize) {
    let mut notice = [0u8; NICK_CAP + 48];
    let n = match chat.clients.get(slot).and_then(Option::as_ref) {
        Some(c) => progs::fmt::format_into(
            &mut notice,
            format_args!("* {} was disconnected (not reading)\n", c.nick()),
        )
        .len(),
        None => return,
    };
    let was_closing = chat.clients.get(slot).and_then(Option::as_ref).is_some_and(|c| c.closing);
    close(lp, chat, slot);
    if !was_closing {
        post(lp, chat, ALL, NONE, &notice[..n]);
    }
}

fn close(lp: &mut Loop, chat: &mut Chat, slot: usize) {
    if let Some(c) = chat.clients.get_mut(slot).and_then(Option::take) {
        let _ = lp.unregister(c.stream.as_raw_fd()); // then drop closes it
        chat.count -= 1;
    }
    if chat.shutting_down && chat.count == 0 {
        lp.stop();
    }
}

/// Tells a connection there is no room; the caller then closes it (after
/// taking whatever it already sent, so that the close is not a reset that
/// could destroy the message).
fn refuse(stream: &TcpStream) {
    let _ = stream.send(b"error: server full\n");
    discard_input(stream);
    let _ = stream.shutdown_write();
}

/// Clients in the room: connected and not on their way out.
fn present(chat: &Chat) -> usize {
    chat.clients.iter().flatten().filter(|c| !c.closing).count()
}

/// Reads and drops whatever `stream` has sent; true when it is done (end of
/// stream or an error), false when nothing more is there for now.
fn discard_input(stream: &TcpStream) -> bool {
    let mut sink = [0u8; 4096];
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
    let Some(c) = chat.clients.get_mut(slot).and_then(Option::as_mut) else { return };
    if c.linger_until != 0 {
        return;
    }
    if discard_input(&c.stream) || c.stream.shutdown_write().is_err() {
        return close(lp, chat, slot);
    }
    c.linger_until = lp.now_ms().saturating_add(LINGER_MS).max(1);
    c.writing = false;
    let _ = lp.modify(c.stream.as_raw_fd(), Events::READ);
    if chat.linger_timer.is_none() {
        match lp.add_timer(LINGER_TICK, Some(LINGER_TICK), on_linger_tick, Token(0)) {
            Ok(id) => chat.linger_timer = Some(id),
            Err(_) => close(lp, chat, slot),
        }
    }
}

/// Closes the lingering clients that are done; the timer stops with the last.
fn on_linger_tick(lp: &mut Loop, chat: &mut Chat, id: TimerId, _t: Token) {
    let now = lp.now_ms();
    let mut left = 0;
    for j in 0..MAX_CLIENTS {
        let Some(c) = chat.clients.get(j).and_then(Option::as_ref) else { continue };
        if c.linger_until == 0 {
            continue;
        }
        if now >= c.linger_until || c.stream.unacked().map_or(true, |n| n == 0) {
            close(lp, chat, j);
        } else {
            left += 1;
        }
    }
    if left == 0 {
        lp.cancel_timer(id);
        chat.linger_timer = None;
    }
}

fn on_signal(lp: &mut Loop, chat: &mut Chat, _signo: i32, _t: Token) {
    if chat.shutting_down {
        return lp.stop(); // a second signal: stop now
    }
    chat.shutting_down = true;
    if let Some(l) = chat.listener.take() {
        let _ = lp.unregister(l.as_raw_fd());
    }
    post(lp, chat, ALL, NONE, b"* server shutting down\n");
    for j in 0..MAX_CLIENTS {
        if let Some(c) = chat.clients.get_mut(j).and_then(Option::as_mut) {
            // Nothing more is read: watch for room to write only (a READ
            // interest left on would spin on input that is never taken).
            if !c.closing {
                c.closing = true;
                c.writing = true;
                let _ = lp.modify(c.stream.as_raw_fd(), Events::WRITE);
            }
        }
        flush(lp, chat, j);
    }
    if chat.count == 0 {
        return lp.stop();
    }
    if lp.add_timer(SHUTDOWN_GRACE, None, on_grace_over, Token(0)).is_err() {
        lp.stop();
    }
}

fn on_grace_over(lp: &mut Loop, _chat: &mut Chat, _id: TimerId, _t: Token) {
    lp.stop();
}
