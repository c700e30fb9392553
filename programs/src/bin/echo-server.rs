//! echo-server: sends every byte back. Level-triggered, one read and one
//! write per readiness where possible; what cannot be written waits in a
//! fixed per-connection buffer while reading from that client pauses
//! (backpressure: nothing is lost, nothing grows). With `--udp`, UDP
//! datagrams on the TCP binds' ports are echoed too, whole or not at all.
//! See `--help`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use core::time::Duration;
use picosel::backend::AnyBackend;
use picosel::net::{Datagram, UdpSocket};
use picosel::{AnyEventLoop, Errno, Error, Events, TimerId, Token};
use progs::listen::{self, Bind, Binds, Listener, MAX_BINDS, Pending, Stream};
use progs::ring::ByteRing;
use progs::storage::TakeOnce;
use progs::{cli, log_err};

progs::entry!(server: run);

/// `--help`: the text is in `programs/help/echo-server.txt`.
const USAGE: &[u8] = progs::help!("echo-server");

const MAX_CONNS: usize = 10_000;
/// Connections, listeners, UDP sockets, the signalfd and a spare.
const N: usize = MAX_CONNS + 2 * MAX_BINDS + 4;
/// The UDP receive buffer: any datagram fits (65,507 bytes at most over
/// IPv4, 65,527 over IPv6), so only `--udp-max` truncates.
const DGRAM: usize = 64 * 1024;
const DEFAULT_BIND: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8007));
/// Size of one output buffer, and the most one recv reads (what is read
/// must fit in the buffer if none of it can be sent back).
const BUF: usize = 16 * 1024;
/// Output buffers, shared: a connection holds one only while the peer is
/// slower than its own echo (16 KiB x 64 = 1 MiB in all, whatever the
/// number of connections).
const POOL: usize = 64;
const NO_BUF: u16 = u16::MAX;

struct Conn {
    stream: Stream,
    /// Index of this connection's pool buffer, or NO_BUF. Between events a
    /// connection holds a buffer exactly while output waits in it (see
    /// [`settle`]).
    buf: u16,
    /// The peer finished sending: close once the buffer is written. Between
    /// events, only set while output waits (`buf != NO_BUF`).
    eof: bool,
    /// Waiting (unregistered) for a pool buffer to read into.
    starved: bool,
    interest: Events,
}

/// The shared output buffers and the stack of free ones.
struct Pool {
    rings: [ByteRing<BUF>; POOL],
    free: [u16; POOL],
    free_len: usize,
}

impl Pool {
    /// Bytes waiting in buffer `b` (0 for NO_BUF).
    fn pending(&self, b: u16) -> usize {
        self.rings.get(usize::from(b)).map_or(0, ByteRing::len)
    }

    /// A free buffer, if there is one.
    fn take(&mut self) -> Option<u16> {
        let i = self.free_len.checked_sub(1)?;
        let b = *self.free.get(i)?;
        self.free_len = i;
        Some(b)
    }

    /// Gives buffer `b` back, emptied.
    fn give(&mut self, b: u16) {
        let Some(ring) = self.rings.get_mut(usize::from(b)) else { return };
        ring.clear();
        if let Some(f) = self.free.get_mut(self.free_len) {
            *f = b;
            self.free_len += 1;
        }
    }
}

struct Echo {
    /// Read buffer, reused for every read (not zeroed per call).
    scratch: [u8; BUF],
    pool: Pool,
    starved: usize,
    /// Where the next search for a starved connection starts.
    wake_from: usize,
    /// Indexed by the accept callback's token.
    listeners: [Option<Listener>; MAX_BINDS],
    /// With `--udp`: the UDP twin of TCP listener `i` at index `i`.
    udp: [Option<UdpSocket>; MAX_BINDS],
    /// The UDP receive buffer, and how much of it a datagram may use.
    dgram: [u8; DGRAM],
    udp_max: usize,
    stats: UdpStats,
    conns: [Option<Conn>; MAX_CONNS],
    count: usize,
    shutting_down: bool,
    /// The select backend refused an fd (>= FD_SETSIZE): said once.
    said_fd_limit: bool,
    /// The "all slots in use" line was printed.
    said_full: bool,
}

/// One timer (grace) and two signal handlers.
type Loop = AnyEventLoop<Echo, N, 3>;

/// The event loop and the server's state live in static storage whose
/// initialiser is all zero bytes (`.bss`; see `progs::storage`): nothing
/// is zero-filled at start-up, and the kernel maps a page of the
/// connection table, the buffers or the loop's tables only when it is
/// first used, so memory follows the connections, not `MAX_CONNS`.
static LOOP: TakeOnce<Loop> = TakeOnce::new(Loop::with_backend(AnyBackend::epoll()));
static ECHO: TakeOnce<Echo> = TakeOnce::new(Echo {
    scratch: [0; BUF],
    pool: Pool { rings: [const { ByteRing::new() }; POOL], free: [0; POOL], free_len: 0 },
    starved: 0,
    wake_from: 0,
    listeners: [const { None }; MAX_BINDS],
    udp: [const { None }; MAX_BINDS],
    dgram: [0; DGRAM],
    udp_max: 0,
    stats: UdpStats { truncated: 0, dropped: 0 },
    conns: [const { None }; MAX_CONNS],
    count: 0,
    shutting_down: false,
    said_fd_limit: false,
    said_full: false,
});

/// What the command line asked for.
struct Config {
    binds: Binds,
    /// Its name: the loop is switched in place (`Loop::set_backend`).
    backend: &'static str,
    buffers: usize,
    udp: bool,
    udp_max: usize,
}

fn run() -> i32 {
    let mut argbuf = [0u8; 4096];
    let Ok(args) = progs::os::args(&mut argbuf) else { return 2 };
    let mut cfg = Config {
        binds: Binds::new(Bind::Tcp(DEFAULT_BIND)),
        backend: "epoll",
        buffers: POOL,
        udp: false,
        udp_max: DGRAM,
    };
    if let Err(e) = parse(args.skip(1), &mut cfg) {
        return cli::fail(e, USAGE);
    }
    let Some((listeners, udp)) = open(&cfg) else { return 1 };
    let (Some(lp), Some(echo)) = (LOOP.take(), ECHO.take()) else { return 1 };
    if cfg.backend != "epoll" {
        listen::switch_backend(lp, cfg.backend);
    }
    let setup = listen::watch_all(lp, &listeners, on_accept)
        .and_then(|()| watch_udp(lp, &udp))
        .and_then(|()| lp.add_signal(progs::os::SIGINT, on_signal, Token(0)))
        .and_then(|()| lp.add_signal(progs::os::SIGTERM, on_signal, Token(0)));
    if let Err(e) = setup {
        return progs::log_failure!(e);
    }
    listen::say_listening(&listeners, lp.backend_name());
    for (i, f) in echo.pool.free.iter_mut().enumerate() {
        *f = i as u16;
    }
    echo.pool.free_len = cfg.buffers;
    (echo.listeners, echo.udp, echo.udp_max) = (listeners, udp, cfg.udp_max);
    let code = match lp.run(echo) {
        Ok(()) => 0,
        Err(e) => {
            progs::log_failure!(e)
        }
    };
    echo.stats.summary();
    // Static storage is never dropped: a socket file is removed here.
    listen::close_all(lp, &mut echo.listeners);
    code
}

fn parse<'a>(
    args: impl IntoIterator<Item = &'a str>,
    cfg: &mut Config,
) -> Result<(), cli::CliError<'a>> {
    let valued = ["--bind", "--backend", "--buffers", "--udp-max"];
    cli::parse(args, &["--udp"], &valued, |p| {
        match p {
            cli::Parsed::Opt("--bind", Some(v)) => cli::add_bind(&mut cfg.binds, "--bind", v)?,
            cli::Parsed::Opt("--backend", Some(v)) => {
                cfg.backend = cli::backend_name("--backend", v)?
            }
            cli::Parsed::Opt("--buffers", Some(v)) => {
                cfg.buffers = cli::number("--buffers", v, 1, POOL as u64)? as usize
            }
            cli::Parsed::Opt("--udp", None) => cfg.udp = true,
            cli::Parsed::Opt("--udp-max", Some(v)) => {
                cfg.udp_max = cli::number("--udp-max", v, 1, DGRAM as u64)? as usize
            }
            cli::Parsed::Opt(o, _) | cli::Parsed::Arg(o) => return Err(cli::CliError::Unknown(o)),
        }
        Ok(())
    })?;
    if cfg.udp && !cfg.binds.any_tcp() {
        return Err(cli::CliError::Conflict(
            "--udp needs a TCP --bind (UDP is echoed on the TCP binds' ports; unix: binds have none)",
        ));
    }
    Ok(())
}

type Listeners = [Option<Listener>; MAX_BINDS];
type UdpSockets = [Option<UdpSocket>; MAX_BINDS];

/// The listeners, and with `--udp` their UDP twins; `None` (said why) if
/// one cannot be had.
fn open(cfg: &Config) -> Option<(Listeners, UdpSockets)> {
    let mut listeners = match listen::bind_all(&cfg.binds, 512) {
        Ok(ls) => ls,
        Err(e) => {
            progs::log_failure!(e);
            return None;
        }
    };
    let mut udp = [const { None }; MAX_BINDS];
    if cfg.udp {
        for (i, b) in cfg.binds.iter().enumerate() {
            let (Bind::Tcp(asked), Some(l), Some(u)) = (b, listeners.get_mut(i), udp.get_mut(i))
            else {
                continue;
            };
            *u = Some(udp_twin(*asked, l)?);
        }
    }
    Some((listeners, udp))
}

/// A UDP socket on TCP listener `l`'s address and port. For a port-0 bind
/// whose port turns out taken for UDP, `l` is bound again (a few times)
/// for another port.
fn udp_twin(asked: SocketAddr, l: &mut Option<Listener>) -> Option<UdpSocket> {
    for _ in 0..8 {
        let at = l.as_ref().and_then(Listener::tcp_addr)?;
        match UdpSocket::bind(at) {
            Ok(u) => return Some(u),
            Err(Error::Os(e)) if e == Errno::EADDRINUSE && asked.port() == 0 => {
                match Listener::bind(Bind::Tcp(asked), 512) {
                    Ok(again) => *l = Some(again),
                    Err(e) => {
                        progs::log_failure!(e);
                        return None;
                    }
                }
            }
            Err(e) => {
                log_err!("echo-server: cannot bind UDP ", at, ": ", e, "\n");
                return None;
            }
        }
    }
    log_err!("echo-server: no port free for both TCP and UDP on ", asked, "\n");
    None
}

fn watch_udp(lp: &mut Loop, udp: &UdpSockets) -> Result<(), Error> {
    for (i, u) in udp.iter().enumerate() {
        if let Some(u) = u {
            lp.register(u.as_raw_fd(), Events::READ, on_udp, Token(i))?;
        }
    }
    Ok(())
}

fn on_accept(lp: &mut Loop, echo: &mut Echo, _fd: i32, _ev: Events, t: Token) {
    for _ in 0..32 {
        let Some(Some(listener)) = echo.listeners.get_mut(t.0) else { return };
        let stream = match listener.next_pending("echo-server") {
            Pending::Conn(s, _) => s,
            Pending::Dropped => continue,
            Pending::Done => return,
        };
        let Some(slot) = echo.conns.iter().position(Option::is_none) else {
            if !echo.said_full {
                echo.said_full = true;
                log_err!(
                    "echo-server: all ",
                    MAX_CONNS,
                    " connection slots are in use: closing new \
                     connections until one is free (said once)\n"
                );
            }
            continue; // `stream` is dropped: closed, not kept unwatched
        };
        let Some(entry) = echo.conns.get_mut(slot) else { continue };
        match lp.register(stream.as_raw_fd(), Events::READ, on_conn, Token(slot)) {
            Ok(()) => {
                *entry = Some(Conn {
                    stream,
                    buf: NO_BUF,
                    eof: false,
                    starved: false,
                    interest: Events::READ,
                });
                echo.count += 1;
            }
            Err(e) => {
                refused(&mut echo.said_fd_limit, e);
                drop(stream); // closed now, not kept unwatched
            }
        }
    }
}

/// Echoes the datagrams waiting on UDP socket `t` (32 at most, then the
/// other sockets get their turn): each goes back whole to its sender, or
/// not at all.
fn on_udp(_lp: &mut Loop, echo: &mut Echo, _fd: i32, _ev: Events, t: Token) {
    for _ in 0..32 {
        let Some(Some(u)) = echo.udp.get(t.0) else { return };
        let Some(buf) = echo.dgram.get_mut(..echo.udp_max) else { return };
        let d = match u.recv_from(buf) {
            Ok(Some(d)) => d,
            Ok(None) => return,
            Err(e) => {
                log_err!("echo-server: udp: receive: ", e, "\n");
                return;
            }
        };
        if d.truncated {
            echo.stats.truncated(&d, echo.udp_max);
            continue;
        }
        let data = buf.get(..d.copied).unwrap_or(&[]);
        match u.send_to(data, d.from) {
            Ok(Some(_)) => {}
            Ok(None) => echo.stats.dropped(d.from, None),
            Err(e) => echo.stats.dropped(d.from, Some(e)),
        }
    }
}

/// What UDP could not echo, counted; a line is logged at the 1st, 2nd,
/// 4th, 8th, ... of each (a flood costs a few lines), and the totals at
/// exit.
struct UdpStats {
    truncated: u64,
    dropped: u64,
}

impl UdpStats {
    #[cold]
    fn truncated(&mut self, d: &Datagram, max: usize) {
        self.truncated += 1;
        if self.truncated.is_power_of_two() {
            log_err!(
                "echo-server: udp: a ",
                d.len,
                "-byte datagram from ",
                d.from,
                " is longer than ",
                max,
                " bytes: \
                 not echoed (",
                self.truncated,
                " truncated so far)\n"
            );
        }
    }

    #[cold]
    fn dropped(&mut self, to: SocketAddr, e: Option<Errno>) {
        self.dropped += 1;
        if self.dropped.is_power_of_two() {
            let n = self.dropped;
            if let Some(e) = e {
                log_err!(
                    "echo-server: udp: reply to ",
                    to,
                    " dropped: ",
                    e,
                    " (",
                    n,
                    " dropped so far)\n"
                );
            } else {
                log_err!(
                    "echo-server: udp: reply to ",
                    to,
                    " dropped: the socket's send buffer is full \
                     (",
                    n,
                    " dropped so far)\n"
                );
            }
        }
    }

    fn summary(&self) {
        if self.truncated > 0 || self.dropped > 0 {
            log_err!(
                "echo-server: udp: ",
                self.truncated,
                " datagrams truncated (not echoed), ",
                self.dropped,
                " replies dropped\n"
            );
        }
    }
}

/// Says why a new connection is closed unserved: once for the select
/// backend's fd limit (every later fd at or above it is refused too),
/// every time otherwise.
#[cold]
fn refused(said_fd_limit: &mut bool, e: Error) {
    match e {
        Error::FdOutOfRange { fd, limit } => {
            if !*said_fd_limit {
                *said_fd_limit = true;
                log_err!(
                    "echo-server: select backend cannot watch fd ",
                    fd,
                    " (FD_SETSIZE is ",
                    limit,
                    "): \
                     closing connections on fds from ",
                    limit,
                    " up; use --backend poll or epoll\n"
                );
            }
        }
        e => {
            log_err!("echo-server: cannot watch a new connection (", e, "): closed it\n");
        }
    }
}

/// Readiness on a connection. The common case is kept short: no output
/// waiting (so not at end of stream either), readable, a buffer free in
/// case the echo does not all go out; one recv, one send that takes it all.
/// Everything else is out of line.
fn on_conn(lp: &mut Loop, echo: &mut Echo, _fd: i32, ev: Events, token: Token) {
    let slot = token.0;
    let Some(Some(c)) = echo.conns.get_mut(slot) else { return };
    // Two tests, not one `||`: the compiler then branches on each at once
    // (3 fewer instructions per event under callgrind).
    if c.buf != NO_BUF {
        return on_conn_rare(lp, echo, ev, slot);
    }
    if !ev.is_readable() || echo.pool.free_len == 0 {
        return on_conn_rare(lp, echo, ev, slot);
    }
    // One match on the stream's kind, then a copy of the echo for it.
    let done = match &c.stream {
        Stream::Tcp(s) => echo_once(s, &mut echo.scratch),
        Stream::Unix(s) => echo_once(s, &mut echo.scratch),
    };
    match done {
        Echoed::All => {}
        Echoed::Part(sent, n) => return keep(lp, echo, slot, sent, n),
        Echoed::Close => return close(lp, echo, slot),
    }
    if echo.starved > 0 {
        wake_starved(lp, echo);
    }
}

/// How [`echo_once`] went.
enum Echoed {
    /// Nothing to read, or all of it sent back.
    All,
    /// `.0` of the `.1` bytes read went back; the rest must wait.
    Part(usize, usize),
    /// End of stream, or an error: close.
    Close,
}

/// Reads what is there and sends it back: the fast path of [`on_conn`].
#[inline(always)]
fn echo_once<S: listen::Io>(s: &S, scratch: &mut [u8]) -> Echoed {
    match s.recv(scratch) {
        Ok(None) => Echoed::All,
        Ok(Some(n)) if n > 0 => {
            let Some(data) = scratch.get(..n) else { return Echoed::Close };
            match s.send(data) {
                Ok(Some(k)) if k == n => Echoed::All,
                Ok(sent) => Echoed::Part(sent.unwrap_or(0), n),
                Err(_) => Echoed::Close,
            }
        }
        // End of stream with nothing waiting, or a read error.
        Ok(Some(_)) | Err(_) => Echoed::Close,
    }
}

/// The fast path's echo of `n` bytes went out only up to `sent`: the rest
/// waits in a pool buffer (one is free: the fast path checked).
#[cold]
#[inline(never)]
fn keep(lp: &mut Loop, echo: &mut Echo, slot: usize, sent: usize, n: usize) {
    let Some(Some(c)) = echo.conns.get_mut(slot) else { return };
    queue(c, &mut echo.pool, echo.scratch.get(sent..n).unwrap_or(&[]));
    settle(lp, echo, slot, false);
}

/// Everything but the common case: output waiting (write it out, read only
/// what could be kept), end of stream, no buffer free.
#[cold]
#[inline(never)]
fn on_conn_rare(lp: &mut Loop, echo: &mut Echo, ev: Events, slot: usize) {
    let Some(Some(c)) = echo.conns.get_mut(slot) else { return };
    let mut failed = false;
    if ev.is_writable() {
        failed |= flush(c, &mut echo.pool);
    }
    let pending = echo.pool.pending(c.buf);
    if ev.is_readable() && !c.eof && !failed && pending < BUF {
        if c.buf == NO_BUF && echo.pool.free_len == 0 {
            // Nowhere to keep what the peer might not take back: stop
            // watching this one until a buffer is free (backpressure).
            c.starved = true;
            echo.starved += 1;
            let _ = lp.unregister(c.stream.as_raw_fd());
            return;
        }
        // Read no more than could be kept if none of it can be sent.
        let Some(room) = echo.scratch.get_mut(..BUF - pending) else { return };
        match c.stream.recv(room) {
            Ok(None) => {}
            Ok(Some(0)) => c.eof = true,
            Ok(Some(n)) => {
                let data = echo.scratch.get(..n).unwrap_or(&[]);
                let sent = if pending == 0 {
                    match c.stream.send(data) {
                        Ok(Some(k)) => k,
                        Ok(None) => 0,
                        Err(_) => {
                            failed = true;
                            0
                        }
                    }
                } else {
                    0
                };
                if sent < n && !failed {
                    queue(c, &mut echo.pool, data.get(sent..).unwrap_or(&[]));
                }
            }
            Err(_) => failed = true,
        }
    }
    settle(lp, echo, slot, failed);
}

/// Queues `data` in `c`'s pool buffer, taking a free one if it has none
/// (the callers make sure one is free then, and that `data` fits).
fn queue(c: &mut Conn, pool: &mut Pool, data: &[u8]) {
    if c.buf == NO_BUF {
        let Some(b) = pool.take() else { return };
        c.buf = b;
    }
    if let Some(ring) = pool.rings.get_mut(usize::from(c.buf)) {
        ring.push(data);
    }
}

/// After an event on `slot`: closes it (failed, or at end of stream with
/// nothing left to write), gives back its buffer once empty, watches what
/// it now needs, and wakes starved connections while buffers are free.
fn settle(lp: &mut Loop, echo: &mut Echo, slot: usize, failed: bool) {
    let Some(Some(c)) = echo.conns.get_mut(slot) else { return };
    let pending = echo.pool.pending(c.buf);
    if failed || (c.eof && pending == 0) {
        return close(lp, echo, slot);
    }
    if pending == 0 && c.buf != NO_BUF {
        echo.pool.give(c.buf);
        c.buf = NO_BUF;
    }
    let mut want = Events::NONE;
    if !c.eof && pending < BUF {
        want |= Events::READ;
    }
    if pending > 0 {
        want |= Events::WRITE;
    }
    if want != c.interest && !want.is_empty() {
        c.interest = want;
        let _ = lp.modify(c.stream.as_raw_fd(), want);
    }
    if echo.starved > 0 {
        wake_starved(lp, echo);
    }
}

/// Writes out what is buffered; true on a send error.
fn flush(c: &mut Conn, pool: &mut Pool) -> bool {
    let Some(out) = pool.rings.get_mut(usize::from(c.buf)) else { return false };
    out.drain_into(|b| c.stream.send(b)).is_err()
}

/// Rare: more connections than buffers had output waiting, and some wait
/// unregistered. While buffers are free, watch up to that many of them
/// again, round robin (one that finds the pool empty again goes back to
/// waiting; one that needs no buffer leaves it for the next). Called after
/// every event, so nobody waits while a buffer is free.
#[cold]
#[inline(never)]
fn wake_starved(lp: &mut Loop, echo: &mut Echo) {
    let mut budget = echo.pool.free_len;
    let mut i = echo.wake_from;
    let mut scanned = 0;
    while echo.starved > 0 && budget > 0 && scanned < MAX_CONNS {
        i = (i + 1) % MAX_CONNS;
        scanned += 1;
        let Some(slot) = echo.conns.get_mut(i) else { continue };
        let Some(o) = slot.as_mut() else { continue };
        if !o.starved {
            continue;
        }
        o.starved = false;
        echo.starved -= 1;
        budget -= 1;
        o.interest = Events::READ;
        if lp.register(o.stream.as_raw_fd(), Events::READ, on_conn, Token(i)).is_err() {
            *slot = None;
            echo.count -= 1;
        }
    }
    echo.wake_from = i;
}

#[cold]
#[inline(never)]
fn close(lp: &mut Loop, echo: &mut Echo, slot: usize) {
    if let Some(c) = echo.conns.get_mut(slot).and_then(Option::take) {
        if c.buf != NO_BUF {
            echo.pool.give(c.buf);
        }
        if c.starved {
            echo.starved -= 1;
        } else {
            let _ = lp.unregister(c.stream.as_raw_fd());
        }
        echo.count -= 1;
    }
    if echo.shutting_down && echo.count == 0 {
        return lp.stop();
    }
    if echo.starved > 0 && !echo.shutting_down {
        wake_starved(lp, echo);
    }
}

fn on_signal(lp: &mut Loop, echo: &mut Echo, _signo: i32, _t: Token) {
    if echo.shutting_down {
        return lp.stop();
    }
    echo.shutting_down = true;
    listen::close_all(lp, &mut echo.listeners);
    for u in echo.udp.iter_mut().filter_map(Option::take) {
        let _ = lp.unregister(u.as_raw_fd());
    }
    // Stop reading; what is buffered is still written (for a bounded time).
    for slot in 0..MAX_CONNS {
        let Some(c) = echo.conns.get_mut(slot).and_then(Option::as_mut) else { continue };
        c.eof = true;
        let failed = flush(c, &mut echo.pool);
        let pending = echo.pool.pending(c.buf);
        if failed || pending == 0 || c.starved {
            close(lp, echo, slot);
        } else {
            c.interest = Events::WRITE;
            let _ = lp.modify(c.stream.as_raw_fd(), Events::WRITE);
        }
    }
    if echo.count == 0 {
        return lp.stop();
    }
    if lp.add_timer(Duration::from_secs(2), None, on_grace_over, Token(0)).is_err() {
        lp.stop();
    }
}

fn on_grace_over(lp: &mut Loop, _echo: &mut Echo, _id: TimerId, _t: Token) {
    lp.stop();
}
