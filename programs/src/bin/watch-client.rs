//! watch-client: connects, waits on the socket with a 50 ms timeout, shows
//! a spinner while idle (only on a terminal), prints what arrives, and
//! exits when the server closes the connection.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::time::Duration;
use picosel::backend::AnyBackend;
use picosel::net::TcpStream;
use picosel::{AnySelector, Events};
use progs::os::STDOUT;
use progs::{cli, err, out};

progs::entry!(client: run);

const USAGE: &str = "usage: watch-client ADDR:PORT [--backend select|poll|epoll]

Prints `Received: ...` for each line the server sends and exits when it
closes the connection. A spinner turns while idle when stdout is a terminal.
";

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
            err!("watch-client: cannot connect to {addr}: {e}\n");
            return 1;
        }
    };
    let mut sel: AnySelector<(), 1> = AnySelector::with_backend(backend);
    if let Err(e) = sel.register(stream.as_raw_fd(), Events::BOTH, ()) {
        err!("watch-client: {e}\n");
        return 1;
    }
    let spin = progs::os::isatty(STDOUT);
    let mut connected = false;
    let mut turn = 0usize;
    let mut line = [0u8; 1024];
    let mut len = 0usize;
    loop {
        let n = match sel.select(Some(Duration::from_millis(50))) {
            Ok(n) => n,
            Err(e) => {
                err!("watch-client: {e}\n");
                return 1;
            }
        };
        if n == 0 || sel.next_ready().is_none() {
            if spin {
                out!("\r{}", ['|', '/', '-', '\\'][turn % 4]);
                turn += 1;
            }
            continue;
        }
        if !connected {
            if let Err(e) = stream.take_error() {
                err!("watch-client: cannot connect to {addr}: {e}\n");
                return 1;
            }
            connected = true;
            let _ = sel.modify(stream.as_raw_fd(), Events::READ, ());
        }
        let mut buf = [0u8; 4096];
        match stream.recv(&mut buf) {
            Ok(None) => {}
            Ok(Some(0)) => {
                if len > 0 {
                    print_line(spin, &line[..len]);
                }
                if spin {
                    out!("\r");
                }
                out!("Remote end closed connection; exiting.\n");
                return 0;
            }
            Ok(Some(n)) => {
                for &b in &buf[..n] {
                    if b == b'\n' || len == line.len() {
                        print_line(spin, &line[..len]);
                        len = 0;
                        if b == b'\n' {
                            continue;
                        }
                    }
                    line[len] = b;
                    len += 1;
                }
            }
            Err(e) => {
                err!("watch-client: {e}\n");
                return 1;
            }
        }
    }
}

fn print_line(spin: bool, line: &[u8]) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut clean = [0u8; 1024];
    let n = progs::framing::sanitize(line, &mut clean);
    let text = core::str::from_utf8(&clean[..n]).unwrap_or("(not UTF-8)");
    if spin {
        out!("\r");
    }
    out!("Received: {text}\n");
}
