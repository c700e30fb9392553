//! echo-server: sends every byte back. Level-triggered, one read and one
//! write per readiness where possible; what cannot be written waits in a
//! fixed per-connection buffer while reading from that client pauses
//! (backpressure: nothing is lost, nothing grows). See `--help`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::time::Duration;
use picosel::backend::AnyBackend;
use picosel::net::{Accept, TcpListener, TcpStream};
use picosel::{AnyEventLoop, Error, Events, TimerId, Token};
use progs::ring::ByteRing;
use progs::{cli, log_err, log_out};

progs::entry!(server: run);

const USAGE: &str = concat!(
    "usage: echo-server [--bind ADDR:PORT] [--backend select|poll|epoll] [--buffers N]

Echoes every byte back to its sender.
  --bind ADDR:PORT   listen address (default 127.0.0.1:8007; [::1]:PORT for IPv6; port 0 = any)
  --backend NAME     select (fds below 1024 only), poll or epoll (default epoll)
  --buffers N        16 KiB output buffers shared by all connections, 1-64 (default 64)

Signals and output: on SIGINT or SIGTERM the server stops reading, writes
back what it holds (2 s at most) and exits 0; a second signal stops it at
once.
",
    progs::server_signals_help!()
);

const MAX_CONNS: usize = 10_000;
const N: usize = MAX_CONNS + 4;
/// Size of one output buffer, and the most one recv reads (what is read
/// must fit in the buffer if none of it can be sent back).
const BUF: usize = 16 * 1024;
/// Output buffers, shared: a connection holds one only while the peer is
/// slower than its own echo (16 KiB x 64 = 1 MiB in all, whatever the
/// number of connections).
const POOL: usize = 64;
const NO_BUF: u16 = u16::MAX;

struct Conn {
    stream: TcpStream,
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
    listener: Option<TcpListener>,
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

fn run() -> i32 {
    let mut argbuf = [0u8; 4096];
    let Ok(args) = progs::os::args(&mut argbuf) else { return 2 };
    let mut bind = cli::addr("--bind", "127.0.0.1:8007").ok();
    let mut backend: AnyBackend<N> = AnyBackend::epoll();
    let mut buffers = POOL;
    let parsed = cli::parse(args.skip(1), &[], &["--bind", "--backend", "--buffers"], |p| {
        match p {
            cli::Parsed::Opt("--bind", Some(v)) => bind = Some(cli::addr("--bind", v)?),
            cli::Parsed::Opt("--backend", Some(v)) => backend = cli::backend("--backend", v)?,
            cli::Parsed::Opt("--buffers", Some(v)) => {
                buffers = cli::number("--buffers", v, 1, POOL as u64)? as usize
            }
            cli::Parsed::Opt(o, _) | cli::Parsed::Arg(o) => return Err(cli::CliError::Unknown(o)),
        }
        Ok(())
    });
    if let Err(e) = parsed {
        return cli::fail(e, USAGE);
    }
    let Some(bind) = bind else { return 2 };
    let listener = match TcpListener::bind(bind, 512) {
        Ok(l) => l,
        Err(e) => {
            log_err!("echo-server: cannot listen on {bind}: {e}\n");
            return 1;
        }
    };
    let mut lp = Loop::with_backend(backend);
    let setup = lp
        .register(listener.as_raw_fd(), Events::READ, on_accept, Token(0))
        .and_then(|()| lp.add_signal(progs::os::SIGINT, on_signal, Token(0)))
        .and_then(|()| lp.add_signal(progs::os::SIGTERM, on_signal, Token(0)));
    if let Err(e) = setup {
        log_err!("echo-server: {e}\n");
        return 1;
    }
    log_out!("listening on {} ({})\n", listener.local_addr().unwrap_or(bind), lp.backend_name());
    let mut free = [0u16; POOL];
    for (i, f) in free.iter_mut().enumerate() {
        *f = i as u16;
    }
    let mut echo = Echo {
        scratch: [0; BUF],
        pool: Pool { rings: [const { ByteRing::new() }; POOL], free, free_len: buffers },
        starved: 0,
        wake_from: 0,
        listener: Some(listener),
        conns: [const { None }; MAX_CONNS],
        count: 0,
        shutting_down: false,
        said_fd_limit: false,
        said_full: false,
    };
    match lp.run(&mut echo) {
        Ok(()) => 0,
        Err(e) => {
            log_err!("echo-server: {e}\n");
            1
        }
    }
}

fn on_accept(lp: &mut Loop, echo: &mut Echo, _fd: i32, _ev: Events, _t: Token) {
    for _ in 0..32 {
        let Some(listener) = echo.listener.as_mut() else { return };
        let stream = match listener.accept() {
            Ok(Accept::Stream(s, _)) => s,
            Ok(Accept::WouldBlock) => return,
            Ok(Accept::Dropped(e)) => {
                log_err!("echo-server: out of file descriptors ({e}): dropped a connection\n");
                continue;
            }
            Err(e) => {
                log_err!("echo-server: accept: {e}\n");
                return;
            }
        };
        let Some(slot) = echo.conns.iter().position(Option::is_none) else {
            if !echo.said_full {
                echo.said_full = true;
                log_err!(
                    "echo-server: all {MAX_CONNS} connection slots are in use: closing new \
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
                    "echo-server: select backend cannot watch fd {fd} (FD_SETSIZE is {limit}): \
                     closing connections on fds from {limit} up; use --backend poll or epoll\n"
                );
            }
        }
        e => {
            log_err!("echo-server: cannot watch a new connection ({e}): closed it\n");
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
    match c.stream.recv(&mut echo.scratch) {
        Ok(None) => {}
        Ok(Some(n)) if n > 0 => {
            let Some(data) = echo.scratch.get(..n) else { return close(lp, echo, slot) };
            match c.stream.send(data) {
                Ok(Some(k)) if k == n => {}
                Ok(sent) => return keep(lp, echo, slot, sent.unwrap_or(0), n),
                Err(_) => return close(lp, echo, slot),
            }
        }
        // End of stream with nothing waiting, or a read error.
        Ok(Some(_)) | Err(_) => return close(lp, echo, slot),
    }
    if echo.starved > 0 {
        wake_starved(lp, echo);
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
    while !out.is_empty() {
        match c.stream.send(out.front()) {
            Ok(Some(n)) if n > 0 => out.consume(n),
            Ok(_) => return false,
            Err(_) => return true,
        }
    }
    false
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
    if let Some(l) = echo.listener.take() {
        let _ = lp.unregister(l.as_raw_fd());
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
