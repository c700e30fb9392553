//! chat-client: one thread, stdin and the server's socket in one event loop.
//! Prints what arrives, sends what is typed; when the input ends (`exit` or
//! end of file) it sends what is left, shuts its writing half and prints
//! the server's remaining output until the server closes or the linger ends.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::net::SocketAddr;
use core::time::Duration;
use picosel::backend::AnyBackend;
use picosel::net::TcpStream;
use picosel::{AnyEventLoop, Errno, Error, Events, RawFd, TimerId, Token};
use progs::os::STDIN;
use progs::ring::ByteRing;
use progs::{cli, err, out};

progs::entry!(client: run);

/// `--help`: the text is in `programs/help/chat-client.txt`.
const USAGE: &[u8] = progs::help!("chat-client");

const DEFAULT_LINGER_MS: u64 = 2000;
const STDIN_TOKEN: Token = Token(0);
const SERVER_TOKEN: Token = Token(1);

/// Two fds (stdin, the server) and one timer (the linger).
type Loop = AnyEventLoop<Client, 2, 1>;

fn run() -> i32 {
    let mut argbuf = [0u8; 4096];
    let Ok(args) = progs::os::args(&mut argbuf) else { return 2 };
    let mut addr = None;
    let mut backend: AnyBackend<2> = AnyBackend::epoll();
    let mut linger_ms = DEFAULT_LINGER_MS;
    let parsed = cli::parse(args.skip(1), &[], &["--backend", "--linger"], |p| {
        match p {
            cli::Parsed::Opt("--backend", Some(v)) => backend = cli::backend("--backend", v)?,
            cli::Parsed::Opt("--linger", Some(v)) => linger_ms = linger("--linger", v)?,
            cli::Parsed::Arg(a) if addr.is_none() => addr = Some(cli::addr("ADDR", a)?),
            cli::Parsed::Opt(o, _) | cli::Parsed::Arg(o) => return Err(cli::CliError::Unknown(o)),
        }
        Ok(())
    });
    if let Err(e) = parsed {
        return cli::fail(e, USAGE);
    }
    let Some(addr) = addr else {
        return cli::fail(cli::CliError::MissingValue("ADDR:PORT"), USAGE);
    };
    let stream = match TcpStream::connect(addr) {
        Ok(s) => s,
        Err(e) => return cannot_connect(addr, e),
    };
    let Some(mut lp) = event_loop(backend, &stream) else { return 1 };
    let mut client = Client::new(stream, addr, Duration::from_millis(linger_ms));
    match lp.run(&mut client) {
        Ok(()) => client.code,
        Err(e) => {
            err!("chat-client: ", e, "\n");
            1
        }
    }
}

/// `--linger`: `0`, or seconds with an optional fraction.
fn linger<'a>(opt: &'a str, v: &'a str) -> Result<u64, cli::CliError<'a>> {
    if v == "0" { Ok(0) } else { cli::seconds_ms(opt, v) }
}

fn cannot_connect(addr: SocketAddr, e: impl progs::fmt::Show) -> i32 {
    err!("chat-client: cannot connect to ", addr, ": ", e, "\n");
    1
}

/// The loop watching stdin and `stream`; falls back to poll when the
/// backend refuses stdin (epoll and regular files or /dev/null: `EPERM`).
fn event_loop(backend: AnyBackend<2>, stream: &TcpStream) -> Option<Loop> {
    let mut lp = Loop::with_backend(backend);
    match lp.register(STDIN, Events::READ, on_stdin, STDIN_TOKEN) {
        Ok(()) => {}
        Err(Error::Os(e)) if e == Errno::EPERM => {
            lp = Loop::with_backend(AnyBackend::poll());
            let _ = lp.register(STDIN, Events::READ, on_stdin, STDIN_TOKEN);
        }
        Err(e) => {
            err!("chat-client: stdin: ", e, "\n");
            return None;
        }
    }
    if let Err(e) = lp.register(stream.as_raw_fd(), Events::BOTH, on_server, SERVER_TOKEN) {
        err!("chat-client: ", e, "\n");
        return None;
    }
    Some(lp)
}

/// Finds the typed `exit` line across reads.
#[derive(Default)]
struct LineScan {
    line: [u8; 8],
    len: usize,
    overflow: bool,
}

impl LineScan {
    /// Feeds typed bytes; returns how many to send before an `exit` line
    /// (`Some`), or `None` when there is no `exit` line in `data`.
    fn exit_at(&mut self, data: &[u8]) -> Option<usize> {
        let mut start = 0;
        for (i, &b) in data.iter().enumerate() {
            if b == b'\n' {
                let l = self.line.get(..self.len).unwrap_or(&[]);
                let l = l.strip_suffix(b"\r").unwrap_or(l);
                if !self.overflow && l == b"exit" {
                    return Some(start);
                }
                self.len = 0;
                self.overflow = false;
                start = i + 1;
            } else if self.len < self.line.len() {
                self.line[self.len] = b;
                self.len += 1;
            } else {
                self.overflow = true;
            }
        }
        None
    }
}

struct Client {
    stream: TcpStream,
    addr: SocketAddr,
    /// Typed bytes the socket has not taken yet.
    outbox: ByteRing<65536>,
    connected: bool,
    typing: LineScan,
    stdin_open: bool,
    /// Our writing half is shut: the input ended and all of it was sent.
    shut: bool,
    linger: Duration,
    /// The exit status, once the loop is stopped.
    code: i32,
}

impl Client {
    fn new(stream: TcpStream, addr: SocketAddr, linger: Duration) -> Client {
        Client {
            stream,
            addr,
            outbox: ByteRing::new(),
            connected: false,
            typing: LineScan::default(),
            stdin_open: true,
            shut: false,
            linger,
            code: 0,
        }
    }

    /// Stops the loop; `run` returns `code`.
    fn finish(&mut self, lp: &mut Loop, code: i32) {
        self.code = code;
        lp.stop();
    }

    /// A socket error: before the connection was up, it is the connect's.
    fn fail(&mut self, lp: &mut Loop, e: impl progs::fmt::Show) {
        if self.connected {
            err!("chat-client: ", e, "\n");
        } else {
            cannot_connect(self.addr, e);
        }
        self.finish(lp, 1);
    }

    /// Sends what the socket takes of the outbox; false after an error.
    fn flush(&mut self, lp: &mut Loop) -> bool {
        match self.outbox.drain_into(|b| self.stream.send(b)) {
            Ok(_) => true,
            Err(e) => {
                self.fail(lp, e);
                false
            }
        }
    }

    /// Reads once from the server and prints it; false when done (the
    /// server closed, or an error).
    fn receive(&mut self, lp: &mut Loop) -> bool {
        let mut buf = [0u8; 4096];
        match self.stream.recv(&mut buf) {
            Ok(Some(0)) => {
                out!("* server closed the connection\n");
                self.finish(lp, 0);
                false
            }
            Ok(Some(n)) => {
                progs::os::print_bytes("chat-client", buf.get(..n).unwrap_or(&[]));
                true
            }
            Ok(None) => true,
            Err(e) => {
                self.fail(lp, e);
                false
            }
        }
    }

    /// Once the input has ended and all of it is sent: shuts our writing
    /// half and starts the linger (or, with no linger, stops).
    fn end_of_input(&mut self, lp: &mut Loop) {
        if self.shut || self.stdin_open || !self.connected || !self.outbox.is_empty() {
            return;
        }
        self.shut = true;
        if let Err(e) = self.stream.shutdown_write() {
            return self.fail(lp, e);
        }
        if self.linger.is_zero() {
            return self.finish(lp, 0);
        }
        if let Err(e) = lp.add_timer(self.linger, None, on_linger_end, Token(0)) {
            self.fail(lp, e);
        }
    }

    fn update_interest(&mut self, lp: &mut Loop) {
        let mut want = Events::READ;
        if !self.connected || !self.outbox.is_empty() {
            want |= Events::WRITE;
        }
        let _ = lp.modify(self.stream.as_raw_fd(), want);
        if self.stdin_open {
            // Stop reading the keyboard while the outbox is full.
            let _ = if self.outbox.is_full() {
                lp.unregister(STDIN)
            } else {
                lp.register(STDIN, Events::READ, on_stdin, STDIN_TOKEN)
            };
        }
    }
}

fn on_server(lp: &mut Loop, c: &mut Client, _fd: RawFd, ev: Events, _: Token) {
    if !c.connected {
        if let Err(e) = c.stream.take_error() {
            return c.fail(lp, e);
        }
        c.connected = ev.is_writable();
    }
    if ev.is_writable() && !c.flush(lp) {
        return;
    }
    if ev.is_readable() && !c.receive(lp) {
        return;
    }
    c.end_of_input(lp);
    c.update_interest(lp);
}

fn on_stdin(lp: &mut Loop, c: &mut Client, _fd: RawFd, _ev: Events, _: Token) {
    let mut buf = [0u8; 4096];
    // Never read more than the outbox can hold.
    let room = c.outbox.free().min(buf.len());
    let n = match progs::os::read(STDIN, buf.get_mut(..room).unwrap_or(&mut [])) {
        Ok(n) => n,
        Err(e) => {
            err!("chat-client: stdin: ", e, "\n");
            return c.finish(lp, 1);
        }
    };
    let data = buf.get(..n).unwrap_or(&[]);
    let exit = c.typing.exit_at(data);
    c.outbox.push(data.get(..exit.unwrap_or(n)).unwrap_or(&[]));
    if n == 0 || exit.is_some() {
        c.stdin_open = false;
        let _ = lp.unregister(STDIN);
    }
    if c.connected && !c.flush(lp) {
        return;
    }
    c.end_of_input(lp);
    c.update_interest(lp);
}

/// The server kept the connection open for the whole linger: done.
fn on_linger_end(lp: &mut Loop, c: &mut Client, _: TimerId, _: Token) {
    c.finish(lp, 0);
}
