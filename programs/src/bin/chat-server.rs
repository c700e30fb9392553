//! chat-server: a line-based chat room for `nc`/`telnet` clients, one
//! thread, no heap, statically linkable. See `--help`.
//!
//! The parts: this file (command line, start-up, accepting), `room` (the
//! clients, the shared log, backpressure, slow consumers, closing),
//! `input` (reading, line framing, commands) and `web` (`--web`: the
//! page over HTTP, WebSocket clients).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

#[path = "../chat/input.rs"]
mod input;
#[path = "../chat/room.rs"]
mod room;
#[path = "../chat/web.rs"]
mod web;

use picosel::backend::AnyBackend;
use picosel::{Events, Token};
use progs::chatlog::NONE;
use progs::fmt::BufWriter;
use progs::framing::LineReader;
use progs::listen::{self, Bind, Binds, Listener, Peer, Pending, Stream};
use progs::storage::TakeOnce;
use progs::{cli, log_err};
use room::{Chat, Client, LOG_BYTES, Loop, MAX_CLIENTS, MAX_LINE, NICK_CAP, SEND_BUFFER, State};

progs::entry!(server: run);

/// `--help`: the text is in `programs/help/chat-server.txt`.
const USAGE: &[u8] = progs::help!("chat-server");

/// The event loop and the room live in static storage whose initialiser
/// is all zero bytes (`.bss`; see `progs::storage`): nothing is
/// zero-filled at start-up, and a client slot's page is mapped when a
/// client first takes it, so memory follows the clients.
static LOOP: TakeOnce<Loop> = TakeOnce::new(Loop::with_backend(AnyBackend::epoll()));
static CHAT: TakeOnce<Chat> = TakeOnce::new(Chat::new());

const LISTEN_BACKLOG: i32 = 1024;
const DEFAULT_BIND: core::net::SocketAddr =
    core::net::SocketAddr::V4(core::net::SocketAddrV4::new(core::net::Ipv4Addr::LOCALHOST, 8008));

/// What the command line sets.
struct Config {
    binds: Binds,
    /// Its name: the loop is switched in place (`Loop::set_backend`).
    backend: &'static str,
    max_clients: usize,
    max_line: usize,
    echo_self: bool,
    stall_s: u64,
    hard_limit: u64,
    web: Option<core::net::SocketAddr>,
}

fn parse_args(cfg: &mut Config, chat: &mut Chat) -> Result<(), i32> {
    let mut argbuf = [0u8; 4096];
    let Ok(args) = progs::os::args(&mut argbuf) else {
        log_err!("chat-server: cannot read the command line\n");
        return Err(2);
    };
    let valued = [
        "--bind",
        "--backend",
        "--max-clients",
        "--max-line",
        "--stall-timeout",
        "--hard-limit",
        "--web",
        "--web-host",
        "--web-origin",
    ];
    let parsed = cli::parse(args.skip(1), &["--echo-self"], &valued, |p| {
        match p {
            cli::Parsed::Opt("--bind", Some(v)) => cli::add_bind(&mut cfg.binds, "--bind", v)?,
            cli::Parsed::Opt("--backend", Some(v)) => {
                cfg.backend = cli::backend_name("--backend", v)?
            }
            cli::Parsed::Opt(o @ "--max-clients", Some(v)) => {
                cfg.max_clients = cli::number(o, v, 1, MAX_CLIENTS as u64)? as usize
            }
            cli::Parsed::Opt(o @ "--max-line", Some(v)) => {
                cfg.max_line = cli::number(o, v, 1, MAX_LINE as u64)? as usize
            }
            cli::Parsed::Opt(o @ "--stall-timeout", Some(v)) => {
                cfg.stall_s = cli::number(o, v, 1, 3600)?
            }
            cli::Parsed::Opt(o @ "--hard-limit", Some(v)) => {
                cfg.hard_limit = cli::number(o, v, 16384, LOG_BYTES as u64)?
            }
            cli::Parsed::Opt("--echo-self", None) => cfg.echo_self = true,
            cli::Parsed::Opt(o @ "--web", Some(v)) => cfg.web = Some(cli::addr(o, v)?),
            cli::Parsed::Opt(o @ "--web-host", Some(v)) => web_name(&mut chat.web_hosts, o, v)?,
            cli::Parsed::Opt(o @ "--web-origin", Some(v)) => web_name(&mut chat.web_origins, o, v)?,
            cli::Parsed::Opt(o, _) | cli::Parsed::Arg(o) => {
                return Err(cli::CliError::Unknown(o));
            }
        }
        Ok(())
    });
    parsed.map_err(|e| cli::fail(e, USAGE))
}

/// Adds a `--web-host` or `--web-origin` value.
fn web_name<'a>(names: &mut web::Names, o: &'a str, v: &'a str) -> Result<(), cli::CliError<'a>> {
    match names.add(v.as_bytes()) {
        true => Ok(()),
        false => Err(cli::CliError::Invalid(o, v, "at most 4, of 1-96 bytes each")),
    }
}

fn run() -> i32 {
    // What the command line asks for when it asks for nothing.
    let mut cfg = Config {
        binds: Binds::new(Bind::Tcp(DEFAULT_BIND)),
        backend: "epoll",
        max_clients: 64,
        max_line: MAX_LINE,
        echo_self: false,
        stall_s: 10,
        hard_limit: LOG_BYTES as u64,
        web: None,
    };
    let (Some(lp), Some(chat)) = (LOOP.take(), CHAT.take()) else { return 1 };
    if let Err(code) = parse_args(&mut cfg, chat) {
        return code;
    }
    // A burst of connects waits in the listen queue while a pass runs (a
    // join batch is sent to everyone): a queue that overflows costs the
    // client a 1 s SYN retry. The kernel caps it at net.core.somaxconn.
    let listeners = match listen::bind_all(&cfg.binds, LISTEN_BACKLOG) {
        Ok(ls) => ls,
        Err(e) => {
            return progs::log_failure!(e);
        }
    };
    if let Err(code) = bind_web(cfg.web, chat) {
        return code;
    }
    if let Err(code) = watch(lp, chat, &listeners, cfg.backend) {
        return code;
    }
    chat.start(listeners, cfg.max_clients, cfg.max_line);
    (chat.echo_self, chat.stall_ms, chat.hard_limit) =
        (cfg.echo_self, cfg.stall_s * 1000, cfg.hard_limit);
    // What a pass of callbacks posted goes out after the pass, in one send
    // per client.
    lp.set_after_pass(Some(room::flush_all));
    let code = match lp.run(chat) {
        Ok(()) => 0,
        Err(e) => {
            progs::log_failure!(e)
        }
    };
    // Static storage is never dropped: a socket file is removed here.
    listen::close_all(lp, &mut chat.listeners);
    web::close_all(lp, chat);
    code
}

/// Moves the loop to the backend `--backend` named, watches the listeners
/// and the signals, then says what it listens on.
fn watch(
    lp: &mut Loop,
    chat: &Chat,
    listeners: &[Option<Listener>],
    backend: &str,
) -> Result<(), i32> {
    if backend != "epoll" {
        listen::switch_backend(lp, backend);
    }
    let setup = listen::watch_all(lp, listeners, on_accept)
        .and_then(|()| lp.add_signal(progs::os::SIGINT, room::on_signal, Token(0)))
        .and_then(|()| lp.add_signal(progs::os::SIGTERM, room::on_signal, Token(0)))
        .and_then(|()| match &chat.web_listener {
            [Some(l)] => lp.register(l.as_raw_fd(), Events::READ, on_accept, Token(WEB_TOKEN)),
            [None] => Ok(()),
        });
    if let Err(e) = setup {
        return Err(progs::log_failure!(e));
    }
    listen::say_listening(listeners, lp.backend_name());
    for l in chat.web_listener.iter().flatten() {
        progs::log_out!("web page on http://", l, "/\n");
    }
    Ok(())
}

/// Listens on `--web`'s address, if given.
fn bind_web(addr: Option<core::net::SocketAddr>, chat: &mut Chat) -> Result<(), i32> {
    let Some(a) = addr else { return Ok(()) };
    match listen::Listener::bind(Bind::Tcp(a), LISTEN_BACKLOG) {
        Ok(l) => {
            chat.web_listener = [Some(l)];
            Ok(())
        }
        Err(e) => Err(progs::log_failure!(e)),
    }
}

/// Connections accepted per readiness. Each newcomer's welcome goes into
/// the shared log, and the log is sent after the pass: a burst accepted in
/// one pass without a bound (1,000 connects queued in the backlog) would
/// push the first newcomers' welcomes out of the 64 KiB log before they
/// were sent. The listener stays readable, so the rest follow next pass.
pub const ACCEPTS_PER_PASS: usize = 64;

/// The web listener's token in the loop: the `--bind` listeners' are
/// their indexes, below [`listen::MAX_BINDS`].
const WEB_TOKEN: usize = listen::MAX_BINDS;

/// Takes every connection pending on listener `t` (the listen queue is
/// bounded, and a connection left in it waits for the next pass; out of
/// fds, the listener's reserve fd drops it instead of spinning). The web
/// listener ([`WEB_TOKEN`]) shares this loop: its connections go to the
/// HTTP table (`web::take`).
fn on_accept(lp: &mut Loop, chat: &mut Chat, _fd: i32, _ev: Events, t: Token) {
    chat.now = lp.now_ms();
    let web = t.0 == WEB_TOKEN;
    for _ in 0..ACCEPTS_PER_PASS {
        let listener = match web {
            true => chat.web_listener.first_mut(),
            false => chat.listeners.get_mut(t.0),
        };
        let Some(Some(listener)) = listener else { return };
        match listener.next_pending("chat-server") {
            Pending::Conn(s, peer) if web => web::take(lp, chat, s, peer),
            Pending::Conn(s, peer) => accept_line(lp, chat, s, peer),
            Pending::Dropped => {}
            Pending::Done => return,
        }
    }
}

/// A new connection joins the room, or is refused if it is full.
fn accept_line(lp: &mut Loop, chat: &mut Chat, stream: Stream, peer: Peer) {
    if chat.present >= chat.max_clients || chat.free_len == 0 {
        return room::refuse(&stream); // dropping `stream` closes it
    }
    let mut nick = [0u8; NICK_CAP];
    let nick_len = default_nick(chat, &stream, peer, &mut nick);
    admit(lp, chat, stream, nick.get(..nick_len).unwrap_or(&[]), false);
}

/// Takes `stream` into the room with nick `name` (a line client, or a
/// WebSocket one if `web`); its slot, or `None` (the stream closed) if
/// there is none or it cannot be watched. The caller checked that the room
/// has room.
pub fn admit(
    lp: &mut Loop,
    chat: &mut Chat,
    stream: Stream,
    name: &[u8],
    web: bool,
) -> Option<usize> {
    // A small, fixed kernel send buffer: what a client that stops reading
    // can hold stays bounded (the shared log does the rest).
    let _ = stream.set_send_buffer(SEND_BUFFER);
    let slot = usize::from(*chat.free_len.checked_sub(1).and_then(|i| chat.free.get(i))?);
    let entry = chat.clients.get(slot)?;
    if entry.is_some()
        || lp.register(stream.as_raw_fd(), Events::READ, input::on_client, Token(slot)).is_err()
    {
        return None;
    }
    chat.free_len -= 1;
    let mut nick = [0u8; NICK_CAP];
    let nick_len = name.len().min(NICK_CAP);
    if let (Some(d), Some(s)) = (nick.get_mut(..nick_len), name.get(..nick_len)) {
        d.copy_from_slice(s);
    }
    let entry = chat.clients.get_mut(slot)?;
    *entry = Some(Client {
        stream,
        cursor: chat.log.tail(),
        came: chat.log.tail().seq,
        input: LineReader::new(),
        nick,
        nick_len,
        state: State::Open,
        interest: Events::READ,
        writing: false,
        paused: false,
        eof: false,
        dirty: false,
        join_pending: false,
        live_ix: chat.live_len as u16,
        time_ms: chat.now,
        why: None,
        web,
        held: false,
    });
    if let Some(l) = chat.live.get_mut(chat.live_len) {
        *l = slot as u16;
        chat.live_len += 1;
    }
    chat.present += 1;
    welcome(chat, slot);
    room::queue_join(lp, chat, slot);
    Some(slot)
}

/// `ADDR:PORT` for a TCP client, `unix-PID` (maybe `unix-PID-K`) for a
/// Unix socket client ([`input::unix_nick`]).
pub fn default_nick(chat: &Chat, stream: &Stream, peer: Peer, nick: &mut [u8; NICK_CAP]) -> usize {
    match (peer, stream) {
        (Peer::Tcp(Some(p)), _) => {
            let mut w = BufWriter::new(nick);
            progs::put!(&mut w, p);
            w.len()
        }
        (Peer::Tcp(None), _) => 0,
        (Peer::Unix(_), Stream::Unix(s)) => {
            let pid = s.peer_cred().map_or(0, |c| c.pid);
            input::unix_nick(chat, pid, nick)
        }
        (Peer::Unix(_), Stream::Tcp(_)) => input::unix_nick(chat, 0, nick),
    }
}

fn welcome(chat: &mut Chat, slot: usize) {
    let Some(c) = chat.client(slot) else { return };
    let mut buf = [0u8; 2 * NICK_CAP + 64];
    let n = progs::fmt::concat(
        &mut buf,
        &[&"* welcome, you are ", &c.nick(), &"; commands: /nick NAME, /who, /quit\n"],
    )
    .len();
    room::post(chat, slot as u16, NONE, buf.get(..n).unwrap_or(&[]));
}
