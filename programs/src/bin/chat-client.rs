//! chat-client: one thread, stdin and the server's socket in one selector.
//! Prints what arrives, sends what is typed, quits on `exit`, end of input,
//! or when the server closes the connection.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use picosel::backend::AnyBackend;
use picosel::net::TcpStream;
use picosel::{AnySelector, Errno, Error, Events};
use progs::os::STDIN;
use progs::ring::ByteRing;
use progs::{cli, err, out};

progs::entry!(client: run);

const USAGE: &str = "usage: chat-client ADDR:PORT [--backend select|poll|epoll]

Sends each typed line to the chat server and prints what it sends back.
Type `exit` (or end the input) to leave. When stdin is a regular file,
the poll backend is used (epoll cannot watch regular files).
";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Src {
    Stdin,
    Server,
}

type Sel = AnySelector<Src, 2>;

fn run() -> i32 {
    let mut argbuf = [0u8; 4096];
    let Ok(args) = progs::os::args(&mut argbuf) else { return 2 };
    let mut addr = None;
    let mut backend: AnyBackend<2> = AnyBackend::epoll();
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
            err!("chat-client: cannot connect to {addr}: {e}\n");
            return 1;
        }
    };
    let mut sel = Sel::with_backend(backend);
    match sel.register(STDIN, Events::READ, Src::Stdin) {
        Ok(_) => {}
        Err(Error::Os(e)) if e == Errno::EPERM => {
            sel = Sel::with_backend(AnyBackend::poll());
            let _ = sel.register(STDIN, Events::READ, Src::Stdin);
        }
        Err(e) => {
            err!("chat-client: stdin: {e}\n");
            return 1;
        }
    }
    if let Err(e) = sel.register(stream.as_raw_fd(), Events::BOTH, Src::Server) {
        err!("chat-client: {e}\n");
        return 1;
    }
    Client {
        stream,
        sel,
        outbox: ByteRing::new(),
        connected: false,
        typing: LineScan::default(),
        stdin_open: true,
    }
    .serve(addr)
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
    sel: Sel,
    /// Typed bytes the socket has not taken yet.
    outbox: ByteRing<65536>,
    connected: bool,
    typing: LineScan,
    stdin_open: bool,
}

impl Client {
    fn serve(mut self, addr: core::net::SocketAddr) -> i32 {
        loop {
            if let Err(e) = self.sel.select(None) {
                err!("chat-client: {e}\n");
                return 1;
            }
            while let Some((key, ev)) = self.sel.next_ready() {
                let done = match key.data {
                    Src::Server => self.on_server(ev, addr),
                    Src::Stdin => self.on_stdin(),
                };
                if let Some(code) = done {
                    return code;
                }
            }
        }
    }

    fn on_server(&mut self, ev: Events, addr: core::net::SocketAddr) -> Option<i32> {
        if !self.connected && ev.is_writable() {
            if let Err(e) = self.stream.take_error() {
                err!("chat-client: cannot connect to {addr}: {e}\n");
                return Some(1);
            }
            self.connected = true;
        }
        if ev.is_writable() {
            while !self.outbox.is_empty() {
                match self.stream.send(self.outbox.front()) {
                    Ok(Some(n)) if n > 0 => self.outbox.consume(n),
                    Ok(_) => break,
                    Err(e) => {
                        err!("chat-client: {e}\n");
                        return Some(1);
                    }
                }
            }
            if !self.stdin_open && self.outbox.is_empty() {
                return Some(0); // end of input, everything sent
            }
        }
        if ev.is_readable() {
            let mut buf = [0u8; 4096];
            match self.stream.recv(&mut buf) {
                Ok(Some(0)) => {
                    out!("* server closed the connection\n");
                    return Some(0);
                }
                Ok(Some(n)) => {
                    progs::os::print_bytes("chat-client", &buf[..n]);
                }
                Ok(None) => {}
                Err(e) => {
                    err!("chat-client: {e}\n");
                    return Some(1);
                }
            }
        }
        self.update_interest();
        None
    }

    fn on_stdin(&mut self) -> Option<i32> {
        let mut buf = [0u8; 4096];
        // Never read more than the outbox can hold.
        let room = self.outbox.free().min(buf.len());
        let n = match progs::os::read(STDIN, &mut buf[..room]) {
            Ok(n) => n,
            Err(e) => {
                err!("chat-client: stdin: {e}\n");
                return Some(1);
            }
        };
        let data = &buf[..n];
        let exit = self.typing.exit_at(data);
        self.outbox.push(&data[..exit.unwrap_or(n)]);
        if n == 0 || exit.is_some() {
            self.stdin_open = false;
            let _ = self.sel.unregister(STDIN);
            if self.outbox.is_empty() {
                return Some(0);
            }
        }
        self.update_interest();
        None
    }

    fn update_interest(&mut self) {
        let mut want = Events::READ;
        if !self.connected || !self.outbox.is_empty() {
            want |= Events::WRITE;
        }
        let _ = self.sel.modify(self.stream.as_raw_fd(), want, Src::Server);
        if self.stdin_open {
            // Stop reading the keyboard while the outbox is full.
            let _ = if self.outbox.is_full() {
                self.sel.unregister(STDIN).map(drop)
            } else {
                self.sel.register(STDIN, Events::READ, Src::Stdin).map(drop)
            };
        }
    }
}
