//! time-server: pushes the current local time, asctime style, to every
//! connected client every `--interval` seconds, from one periodic timer.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::time::Duration;
use picosel::backend::AnyBackend;
use picosel::{AnyEventLoop, Events, TimerId, Token};
use progs::cli;
use progs::listen::{self, Bind, Binds, Listener, MAX_BINDS, Pending, Stream};
use progs::ring::ByteRing;

progs::entry!(server: run);

/// `--help`: the text is in `programs/help/time-server.txt`.
const USAGE: &[u8] = progs::help!("time-server");

const MAX_CLIENTS: usize = 1000;
/// Clients, listeners, the signalfd and a spare.
const N: usize = MAX_CLIENTS + MAX_BINDS + 4;

struct Client {
    stream: Stream,
    /// A few lines of backlog; a client that lets it fill is dropped.
    out: ByteRing<256>,
    writing: bool,
}

struct Clock {
    /// Indexed by the accept callback's token.
    listeners: [Option<Listener>; MAX_BINDS],
    clients: [Option<Client>; MAX_CLIENTS],
}

const DEFAULT_BIND: core::net::SocketAddr =
    core::net::SocketAddr::V4(core::net::SocketAddrV4::new(core::net::Ipv4Addr::LOCALHOST, 8013));

/// One timer (the tick) and two signal handlers.
type Loop = AnyEventLoop<Clock, N, 3>;

fn run() -> i32 {
    let mut argbuf = [0u8; 4096];
    let Ok(args) = progs::os::args(&mut argbuf) else { return 2 };
    let mut binds = Binds::new(Bind::Tcp(DEFAULT_BIND));
    let mut backend: AnyBackend<N> = AnyBackend::epoll();
    let mut interval_ms = 5000;
    let parsed = cli::parse(args.skip(1), &[], &["--bind", "--backend", "--interval"], |p| {
        match p {
            cli::Parsed::Opt("--bind", Some(v)) => cli::add_bind(&mut binds, "--bind", v)?,
            cli::Parsed::Opt("--backend", Some(v)) => backend = cli::backend("--backend", v)?,
            cli::Parsed::Opt("--interval", Some(v)) => {
                interval_ms = cli::seconds_ms("--interval", v)?
            }
            cli::Parsed::Opt(o, _) | cli::Parsed::Arg(o) => return Err(cli::CliError::Unknown(o)),
        }
        Ok(())
    });
    if let Err(e) = parsed {
        return cli::fail(e, USAGE);
    }
    let listeners = match listen::bind_all(&binds, 128) {
        Ok(ls) => ls,
        Err(e) => {
            return progs::log_failure!(e);
        }
    };
    let mut lp = Loop::with_backend(backend);
    let every = Duration::from_millis(interval_ms);
    let setup = listen::watch_all(&mut lp, &listeners, on_accept)
        .and_then(|()| lp.add_signal(progs::os::SIGINT, on_signal, Token(0)))
        .and_then(|()| lp.add_signal(progs::os::SIGTERM, on_signal, Token(0)))
        .and_then(|()| lp.add_timer(every, Some(every), on_tick, Token(0)).map(drop));
    if let Err(e) = setup {
        return progs::log_failure!(e);
    }
    listen::say_listening(&listeners, lp.backend_name());
    let mut clock = Clock { listeners, clients: [const { None }; MAX_CLIENTS] };
    match lp.run(&mut clock) {
        Ok(()) => 0,
        Err(e) => {
            progs::log_failure!(e)
        }
    }
}

/// The current time as one line (`Sun Nov 22 13:27:00 2026\n`), written
/// into `buf`; empty if the clock cannot be read.
fn now_line(buf: &mut [u8; 64]) -> &[u8] {
    match progs::os::local_time() {
        Ok(tm) => progs::fmt::concat(buf, &[&tm, &"\n"]),
        Err(_) => &[],
    }
}

fn on_accept(lp: &mut Loop, clock: &mut Clock, _fd: i32, _ev: Events, t: Token) {
    for _ in 0..32 {
        let Some(Some(listener)) = clock.listeners.get_mut(t.0) else { return };
        let stream = match listener.next_pending("time-server") {
            Pending::Conn(s, _) => s,
            Pending::Dropped => continue,
            Pending::Done => return,
        };
        let Some(slot) = clock.clients.iter().position(Option::is_none) else { continue };
        if lp.register(stream.as_raw_fd(), Events::READ, on_client, Token(slot)).is_ok() {
            if let Some(c) = clock.clients.get_mut(slot) {
                *c = Some(Client { stream, out: ByteRing::new(), writing: false });
            }
            send(lp, clock, slot, now_line(&mut [0; 64]));
        }
    }
}

/// Queues `line` for client `slot` and writes what the socket takes.
fn send(lp: &mut Loop, clock: &mut Clock, slot: usize, line: &[u8]) {
    let Some(c) = clock.clients.get_mut(slot).and_then(Option::as_mut) else { return };
    if !c.out.push_all(line) {
        return close(lp, clock, slot); // it stopped reading long ago
    }
    flush(lp, clock, slot);
}

fn flush(lp: &mut Loop, clock: &mut Clock, slot: usize) {
    let Some(c) = clock.clients.get_mut(slot).and_then(Option::as_mut) else { return };
    let Ok(empty) = c.out.drain_into(|b| c.stream.send(b)) else {
        return close(lp, clock, slot);
    };
    let want_write = !empty;
    if want_write != c.writing {
        c.writing = want_write;
        let ev = if want_write { Events::BOTH } else { Events::READ };
        let _ = lp.modify(c.stream.as_raw_fd(), ev);
    }
}

fn on_client(lp: &mut Loop, clock: &mut Clock, _fd: i32, ev: Events, token: Token) {
    let slot = token.0;
    if ev.is_writable() {
        flush(lp, clock, slot);
    }
    if ev.is_readable() {
        let Some(c) = clock.clients.get(slot).and_then(Option::as_ref) else { return };
        let mut sink = [0u8; 512];
        match c.stream.recv(&mut sink) {
            Ok(Some(0)) | Err(_) => close(lp, clock, slot),
            _ => {} // input is ignored
        }
    }
}

fn on_tick(lp: &mut Loop, clock: &mut Clock, _id: TimerId, _t: Token) {
    let mut buf = [0u8; 64];
    let line = now_line(&mut buf);
    for slot in 0..MAX_CLIENTS {
        send(lp, clock, slot, line);
    }
}

fn close(lp: &mut Loop, clock: &mut Clock, slot: usize) {
    if let Some(c) = clock.clients.get_mut(slot).and_then(Option::take) {
        let _ = lp.unregister(c.stream.as_raw_fd());
    }
}

fn on_signal(lp: &mut Loop, clock: &mut Clock, _signo: i32, _t: Token) {
    listen::close_all(lp, &mut clock.listeners);
    for slot in 0..MAX_CLIENTS {
        close(lp, clock, slot);
    }
    lp.stop();
}
