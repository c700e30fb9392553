//! watch-client: connects, waits on the socket with a 50 ms timeout, shows
//! a spinner while idle (only on a terminal), prints what arrives, and
//! exits when the server closes the connection.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::net::SocketAddr;
use core::time::Duration;
use picosel::backend::AnyBackend;
use picosel::net::TcpStream;
use picosel::{AnySelector, Events};
use progs::os::STDOUT;
use progs::{cli, err, out};

progs::entry!(client: run);

/// `--help`: the text is in `programs/help/watch-client.txt`.
const USAGE: &[u8] = progs::help!("watch-client");

const TICK: Duration = Duration::from_millis(50);
const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

type Sel = AnySelector<(), 1>;

fn run() -> i32 {
    let mut argbuf = [0u8; 4096];
    let Ok(args) = progs::os::args(&mut argbuf) else { return 2 };
    let mut addr = None;
    let mut backend: AnyBackend<1> = AnyBackend::epoll();
    let parsed = cli::parse(args.skip(1), &[], &["--backend"], |p| {
        match p {
            cli::Parsed::Opt("--backend", Some(v)) => backend = cli::backend("--backend", v)?,
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
        Err(e) => {
            err!("watch-client: cannot connect to ", addr, ": ", e, "\n");
            return 1;
        }
    };
    let mut sel = Sel::with_backend(backend);
    if let Err(e) = sel.register(stream.as_raw_fd(), Events::BOTH, ()) {
        err!("watch-client: ", e, "\n");
        return 1;
    }
    Watch::new(stream, addr).serve(&mut sel)
}

struct Watch {
    stream: TcpStream,
    addr: SocketAddr,
    connected: bool,
    /// Stdout is a terminal: the spinner turns.
    spin: bool,
    turn: usize,
    /// The line being received.
    line: [u8; 1024],
    len: usize,
}

impl Watch {
    fn new(stream: TcpStream, addr: SocketAddr) -> Watch {
        let spin = progs::os::isatty(STDOUT);
        Watch { stream, addr, connected: false, spin, turn: 0, line: [0; 1024], len: 0 }
    }

    /// Waits and handles events until the end; returns the exit status.
    fn serve(mut self, sel: &mut Sel) -> i32 {
        loop {
            let n = match sel.select(Some(TICK)) {
                Ok(n) => n,
                Err(e) => return self.fail(e),
            };
            let ready = n > 0 && sel.next_ready().is_some();
            if !ready {
                self.idle();
                continue;
            }
            if let Some(code) = self.on_ready(sel) {
                return code;
            }
        }
    }

    fn idle(&mut self) {
        if self.spin {
            out!("\r", SPINNER[self.turn % SPINNER.len()]);
            self.turn = self.turn.wrapping_add(1);
        }
    }

    /// The socket is ready; `Some(status)` when the program is done.
    fn on_ready(&mut self, sel: &mut Sel) -> Option<i32> {
        if !self.connected {
            if let Err(e) = self.stream.take_error() {
                return Some(self.fail(e));
            }
            self.connected = true;
            let _ = sel.modify(self.stream.as_raw_fd(), Events::READ, ());
        }
        let mut buf = [0u8; 4096];
        match self.stream.recv(&mut buf) {
            Ok(None) => None,
            Ok(Some(0)) => {
                self.flush_partial();
                self.clear_spinner();
                out!("Remote end closed connection; exiting.\n");
                Some(0)
            }
            Ok(Some(n)) => {
                self.feed(buf.get(..n).unwrap_or(&[]));
                None
            }
            Err(e) => {
                self.flush_partial();
                Some(self.fail(e))
            }
        }
    }

    /// Prints every complete line in `data`, keeping the rest.
    fn feed(&mut self, data: &[u8]) {
        for &b in data {
            if b == b'\n' || self.len == self.line.len() {
                self.print_line();
                if b == b'\n' {
                    continue;
                }
            }
            if let Some(slot) = self.line.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
    }

    fn flush_partial(&mut self) {
        if self.len > 0 {
            self.print_line();
        }
    }

    fn print_line(&mut self) {
        let line = self.line.get(..self.len).unwrap_or(&[]);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut clean = [0u8; 1024];
        let n = progs::framing::sanitize(line, &mut clean);
        let text = core::str::from_utf8(clean.get(..n).unwrap_or(&[])).unwrap_or("(not UTF-8)");
        self.clear_spinner();
        out!("Received: ", text, "\n");
        self.len = 0;
    }

    fn clear_spinner(&self) {
        if self.spin && self.turn > 0 {
            out!("\r");
        }
    }

    /// Reports a socket error (before the connection was up, the
    /// connect's) and returns the exit status.
    fn fail(&self, e: impl progs::fmt::Show) -> i32 {
        self.clear_spinner();
        if self.connected {
            err!("watch-client: ", e, "\n");
        } else {
            err!("watch-client: cannot connect to ", self.addr, ": ", e, "\n");
        }
        1
    }
}
