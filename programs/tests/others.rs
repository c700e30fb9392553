//! echo-server, time-server, watch-client, chat-client and the shared CLI.

mod common;
use common::{Peer, Server, WAIT, bin, command, output, refusing_port, spawn};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::time::Duration;

#[test]
fn echo_integrity_1mb_through_100_connections() {
    for backend in ["epoll", "poll", "select"] {
        let s =
            Server::start(&bin("echo-server"), &["--bind", "127.0.0.1:0", "--backend", backend]);
        let addr = s.addr;
        let workers: Vec<_> = (0..10)
            .map(|w| {
                std::thread::spawn(move || {
                    let mut conns: Vec<TcpStream> =
                        (0..10).map(|_| TcpStream::connect(addr).unwrap()).collect();
                    for (k, c) in conns.iter_mut().enumerate() {
                        c.set_read_timeout(Some(WAIT)).unwrap();
                        let data: Vec<u8> =
                            (0..10_485u32).map(|i| (i * 7 + (w * 10 + k) as u32) as u8).collect();
                        c.write_all(&data).unwrap();
                        let mut back = vec![0u8; data.len()];
                        c.read_exact(&mut back).unwrap();
                        assert_eq!(back, data, "connection {w}/{k}");
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
    }
}

#[test]
fn echo_backpressure_loses_nothing() {
    let s = Server::start(&bin("echo-server"), &["--bind", "127.0.0.1:0"]);
    let c = TcpStream::connect(s.addr).unwrap();
    c.set_read_timeout(Some(WAIT)).unwrap();
    let mut w = c.try_clone().unwrap();
    // 8 MB out before reading anything back: the server must pause reading
    // rather than buffer it all or drop any.
    let total = 8 << 20;
    let writer = std::thread::spawn(move || {
        let chunk: Vec<u8> = (0..65536u32).map(|i| (i % 251) as u8).collect();
        for _ in 0..total / chunk.len() {
            w.write_all(&chunk).unwrap();
        }
        w.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let mut got = 0usize;
    let mut buf = vec![0u8; 65536];
    loop {
        let n = (&c).read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        for (i, &b) in buf[..n].iter().enumerate() {
            assert_eq!(b, (((got + i) % 65536) % 251) as u8, "byte {}", got + i);
        }
        got += n;
    }
    writer.join().unwrap();
    assert_eq!(got, total);
    if !common::under_emulation() {
        assert!(s.rss_kib() < 16 * 1024, "echo-server RSS {} KiB", s.rss_kib());
    }
}

#[test]
fn echo_sigterm_exits_0() {
    let mut s = Server::start(&bin("echo-server"), &["--bind", "127.0.0.1:0"]);
    let mut p = Peer::connect(s.addr);
    p.send("ping\n");
    assert_eq!(p.line().unwrap(), "ping");
    s.signal(libc::SIGTERM);
    assert_eq!(p.line(), None);
    assert!(s.wait_exit().success());
}

fn is_asctime(l: &str) -> bool {
    // "Sun Nov 22 13:27:00 2026"
    let f: Vec<&str> = l.split_whitespace().collect();
    f.len() == 5
        && ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].contains(&f[0])
        && ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
            .contains(&f[1])
        && f[2].parse::<u8>().is_ok_and(|d| (1..=31).contains(&d))
        && f[3].len() == 8
        && f[3].split(':').all(|p| p.len() == 2 && p.parse::<u8>().is_ok())
        && f[4].parse::<u16>().is_ok_and(|y| y >= 2000)
        && l.len() == 24
}

#[test]
fn time_server_pushes_to_20_clients_concurrently() {
    let mut s = Server::start(&bin("time-server"), &["--bind", "127.0.0.1:0", "--interval", "0.2"]);
    let mut peers: Vec<Peer> = (0..20).map(|_| Peer::connect(s.addr)).collect();
    // On connect, then at least two pushes each; all clients are served
    // from one timer, so none waits for another.
    for p in &mut peers {
        for _ in 0..3 {
            let l = p.line().expect("time line");
            assert!(is_asctime(&l), "{l:?}");
        }
    }
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
}

#[test]
fn time_server_rejects_a_bad_interval() {
    let out = output(command(&bin("time-server")).args(["--interval", "0"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: time-server"));
}

#[test]
fn watch_client_prints_what_arrives_and_exits_when_the_server_closes() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        c.write_all(b"hello\n").unwrap();
        std::thread::sleep(Duration::from_millis(120)); // idle spells, for the spinner
        c.write_all(b"world\r\npartial").unwrap();
    });
    let out = output(command(&bin("watch-client")).arg(addr.to_string()));
    server.join().unwrap();
    assert!(out.status.success(), "{out:?}");
    // stdout is a pipe, not a terminal: no spinner characters at all.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Received: hello\nReceived: world\nReceived: partial\nRemote end closed connection; exiting.\n"
    );
}

#[test]
fn watch_client_reports_a_refused_connection() {
    let (_held, addr) = refusing_port();
    let out = output(command(&bin("watch-client")).args([&addr.to_string(), "--backend", "poll"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ECONNREFUSED"), "{out:?}");
}

#[test]
fn chat_client_through_pipes() {
    for backend in ["epoll", "select"] {
        let s = Server::start(&bin("chat-server"), &["--bind", "127.0.0.1:0"]);
        let mut other = Peer::connect(s.addr);
        other.line().unwrap(); // welcome
        let mut cmd = command(&bin("chat-client"));
        cmd.args([&s.addr.to_string(), "--backend", backend]);
        let mut child = spawn(cmd.stdin(Stdio::piped()).stdout(Stdio::piped()));
        let mut stdin = child.stdin.take().unwrap();
        let lines = lines_of(child.stdout.take().unwrap());
        other.until("join", |l| l.ends_with(" joined"));
        stdin.write_all(b"hi from the pipe\n").unwrap();
        assert!(other.until("chat", |l| !l.starts_with("* ")).ends_with(": hi from the pipe"));
        other.send("hello back\n");
        let seen = lines.recv_timeout(WAIT).unwrap(); // the welcome
        assert!(seen.starts_with("* welcome"), "{seen}");
        let seen = lines.recv_timeout(WAIT).unwrap();
        assert!(seen.ends_with(": hello back"), "{seen}");
        stdin.write_all(b"exit\nnot sent\n").unwrap();
        let status = wait_status(&mut child);
        assert!(status.success(), "{status:?}");
        other.until("leave", |l| l.ends_with(" left"));
        other.send("/who\n");
        let who = other.until("who", |l| l.starts_with("* online"));
        assert!(who.starts_with("* online (1)"), "{who}");
    }
}

#[test]
fn chat_client_says_when_the_server_closes() {
    let mut s = Server::start(&bin("chat-server"), &["--bind", "127.0.0.1:0"]);
    let mut cmd = command(&bin("chat-client"));
    let mut child = spawn(cmd.arg(s.addr.to_string()).stdin(Stdio::piped()).stdout(Stdio::piped()));
    let _keep_stdin_open = child.stdin.take().unwrap();
    let lines = lines_of(child.stdout.take().unwrap());
    let mut watcher = Peer::connect(s.addr);
    watcher.line().unwrap();
    // Wait until the client has joined: /who lists two.
    loop {
        watcher.send("/who\n");
        if watcher.until("who", |l| l.starts_with("* online")).starts_with("* online (2)") {
            break;
        }
    }
    s.signal(libc::SIGTERM);
    assert!(wait_status(&mut child).success());
    let said: Vec<String> = lines.iter().collect(); // until the child's stdout closes
    assert_eq!(said.last().map(String::as_str), Some("* server closed the connection"), "{said:?}");
    assert!(said.iter().any(|l| l == "* server shutting down"), "{said:?}");
    assert!(s.wait_exit().success());
}

/// The child's stdout, line by line, through a channel.
fn lines_of(out: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_status(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("program did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_program_has_help_and_rejects_bad_arguments() {
    for name in
        ["chat-server", "echo-server", "time-server", "chat-client", "watch-client", "link-watch"]
    {
        // The program unpacks its help text (packed by build.rs) into
        // exactly the text of programs/help/NAME.txt, its @ lines filled in
        // (which the build script also writes out whole, beside the packed
        // one).
        let text = std::path::Path::new(env!("OUT_DIR")).join(format!("help/{name}.txt"));
        let text = std::fs::read(&text).unwrap_or_else(|e| panic!("{}: {e}", text.display()));
        assert!(text.starts_with(format!("usage: {name}").as_bytes()), "{name}");
        let help = output(command(&bin(name)).arg("--help"));
        assert_eq!(help.status.code(), Some(0), "{name} --help");
        assert!(help.stdout == text, "{name} --help: {}", String::from_utf8_lossy(&help.stdout));
        let bad = output(command(&bin(name)).arg("--no-such-option"));
        assert_eq!(bad.status.code(), Some(2), "{name} with a bad option");
        let mut want = b"error: unknown option --no-such-option\n".to_vec();
        want.extend(&text);
        assert!(bad.stderr == want, "{name}: {}", String::from_utf8_lossy(&bad.stderr));
    }
    for (name, args) in [
        ("chat-server", ["--backend", "kqueue"]),
        ("echo-server", ["--bind", "nowhere"]),
        ("chat-server", ["--max-line", "0"]),
    ] {
        let out = output(command(&bin(name)).args(args));
        assert_eq!(out.status.code(), Some(2), "{name} {args:?}");
    }
}

/// More connections with unsent output than the server has buffers (64):
/// some wait unregistered for a buffer, and every byte still comes back.
#[test]
fn echo_buffer_pool_exhaustion_loses_nothing() {
    use std::io::ErrorKind;
    let s = Server::start(&bin("echo-server"), &["--bind", "127.0.0.1:0"]);
    let total = 100_000usize;
    let mut conns: Vec<(TcpStream, usize, usize)> = (0..300)
        .map(|_| {
            let c = TcpStream::connect(s.addr).unwrap();
            c.set_nonblocking(true).unwrap();
            (c, 0, 0)
        })
        .collect();
    let chunk: Vec<u8> = (0..8192u32).map(|i| (i % 253) as u8).collect();
    let mut buf = vec![0u8; 65536];
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    // First write as much as the kernel takes everywhere without reading, so
    // that every connection has output stuck in the server.
    for (c, sent, _) in conns.iter_mut() {
        while *sent < total {
            match c.write(&chunk[..chunk.len().min(total - *sent)]) {
                Ok(n) => *sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
    }
    while conns.iter().any(|c| c.2 < total) {
        assert!(std::time::Instant::now() < deadline, "echo stalled");
        for (c, sent, got) in conns.iter_mut() {
            if *sent < total {
                if let Ok(n) = c.write(
                    &chunk[(*sent % 8192)..]
                        [..chunk.len().min(total - *sent).min(8192 - *sent % 8192)],
                ) {
                    *sent += n;
                }
            }
            match c.read(&mut buf) {
                Ok(0) => panic!("server closed a connection"),
                Ok(n) => {
                    for (i, &b) in buf[..n].iter().enumerate() {
                        assert_eq!(b, (((*got + i) % 8192) % 253) as u8);
                    }
                    *got += n;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
    }
}

/// With one output buffer: a client that never reads holds it, so others
/// wait unregistered for it. When it frees, every waiting client is served
/// again, including those behind one that needed no buffer.
#[test]
fn echo_waiting_connections_all_resume_when_the_buffer_frees() {
    use std::io::ErrorKind;
    use std::os::fd::AsRawFd;
    let s = Server::start(&bin("echo-server"), &["--bind", "127.0.0.1:0", "--buffers", "1"]);
    let blocker = TcpStream::connect(s.addr).unwrap();
    blocker.set_nonblocking(true).unwrap();
    let chunk = vec![7u8; 65536];
    let mut sent = 0usize;
    // Writes until the socket stays full for 200 ms: the server has
    // stopped reading from it.
    let fill = |sent: &mut usize| loop {
        match (&blocker).write(&chunk) {
            Ok(n) => *sent += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                let mut sel: picosel::PollSelector<(), 1> = picosel::PollSelector::new();
                sel.register(blocker.as_raw_fd(), picosel::Events::WRITE, ()).unwrap();
                if sel.select(Some(Duration::from_millis(200))).unwrap() == 0 {
                    break;
                }
            }
            Err(e) => panic!("{e}"),
        }
    };
    fill(&mut sent);
    let mut waiting: Vec<(TcpStream, usize)> =
        (0..200).map(|_| (TcpStream::connect(s.addr).unwrap(), 0)).collect();
    // Until the first one is seen waiting (no echo in 300 ms), make sure
    // the blocker holds the buffer.
    let (x, x_sent) = &mut waiting[0];
    x.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut x_got = 0;
    let mut seen_waiting = false;
    for _ in 0..20 {
        x.write_all(b"x").unwrap();
        *x_sent += 1;
        let mut one = [0u8; 16];
        match x.read(&mut one) {
            Ok(n) => x_got += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                seen_waiting = true;
                break;
            }
            Err(e) => panic!("{e}"),
        }
        fill(&mut sent);
    }
    assert!(seen_waiting, "the blocker never held the buffer");
    for (c, n) in waiting.iter_mut().skip(1) {
        c.write_all(b"yz").unwrap();
        *n += 2;
    }
    // Take everything the blocker has coming: its buffer frees.
    blocker.set_nonblocking(false).unwrap();
    blocker.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = vec![0u8; 65536];
    let mut back = 0;
    while back < sent {
        back += (&blocker).read(&mut buf).expect("the blocker's echo");
    }
    for (i, (c, n)) in waiting.iter_mut().enumerate() {
        c.set_read_timeout(Some(WAIT)).unwrap();
        let want = *n - if i == 0 { x_got } else { 0 };
        let mut got = vec![0u8; want];
        c.read_exact(&mut got).unwrap_or_else(|e| panic!("connection {i} never resumed: {e}"));
    }
}

/// select(2) watches fds below FD_SETSIZE (1024) only. With the select
/// backend, echo-server serves every connection below that, closes (rather
/// than keeps unwatched) each one at or above it, and says so once on
/// stderr, suggesting another backend.
#[test]
fn echo_select_closes_connections_from_fd_1024_and_says_so_once() {
    use std::io::ErrorKind;
    if !common::raise_fd_limit(4096) {
        eprintln!("fd limit below 4096 and not raisable: skipped");
        return;
    }
    let mut s = Server::start_with_stderr(
        &bin("echo-server"),
        &["--bind", "127.0.0.1:0", "--backend", "select"],
        Stdio::piped(),
    );
    // Served or closed, told apart by a round trip: one at a time, so the
    // server's fds are taken in order (and the listen backlog never fills).
    let served = |c: &mut TcpStream| -> bool {
        c.set_read_timeout(Some(WAIT)).unwrap();
        if c.write_all(b"ping").is_err() {
            return false;
        }
        let mut back = [0u8; 4];
        match c.read_exact(&mut back) {
            Ok(()) => {
                assert_eq!(&back, b"ping");
                true
            }
            Err(e) if matches!(e.kind(), ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset) => {
                false
            }
            Err(e) => panic!("neither served nor closed: {e}"),
        }
    };
    let mut open = Vec::new();
    let mut closed = 0;
    for i in 0..1100 {
        let mut c = TcpStream::connect(s.addr).unwrap();
        if served(&mut c) {
            assert_eq!(closed, 0, "connection {i} served after one was closed");
            open.push(c);
        } else {
            closed += 1;
        }
    }
    // 0-2, the listener and the signal fd are the server's own.
    assert!((1000..1024).contains(&open.len()), "{} connections served", open.len());
    assert!(closed > 50, "{closed} closed");
    // The ones below the limit are still served.
    for c in open.iter_mut().rev().take(10) {
        assert!(served(c), "a served connection was closed");
    }
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit().success());
    let mut err = String::new();
    s.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(
        err,
        "echo-server: select backend cannot watch fd 1024 (FD_SETSIZE is 1024): closing \
         connections on fds from 1024 up; use --backend poll or epoll\n"
    );
}

/// time-server's formatting after 2038: a date past the 32-bit `time_t`
/// limit, broken down by the C library as the server's clock path does
/// (`time_t` from the kernel, then `localtime_r`; here `gmtime_r`, so the
/// result does not depend on the machine's time zone).
#[test]
fn time_formatting_holds_after_2038() {
    if std::mem::size_of::<libc::time_t>() < 8 {
        eprintln!("skipped: this target's C library has a 32-bit time_t (glibc armhf)");
        return;
    }
    let t = 2_200_000_000i64 as libc::time_t;
    // SAFETY (test): `tm` is plain data that gmtime_r fills; both pointers
    // are valid for the call.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        assert!(!libc::gmtime_r(&t, &mut tm).is_null());
        tm
    };
    let tm = progs::os::Tm {
        year: tm.tm_year,
        mon: tm.tm_mon,
        mday: tm.tm_mday,
        hour: tm.tm_hour,
        min: tm.tm_min,
        sec: tm.tm_sec,
        wday: tm.tm_wday,
    };
    let mut buf = [0u8; 64];
    assert_eq!(progs::os::format_asctime(&tm, &mut buf), b"Sun Sep 18 23:06:40 2039");
}

#[test]
fn packed_help_texts_unpack_whole_and_bad_ones_are_cut_short() {
    let unpack = |packed: &[u8]| {
        let mut out = Vec::new();
        progs::help::unpack(packed, |piece| {
            assert!(!piece.is_empty() && piece.len() <= 256, "a piece of {}", piece.len());
            out.extend_from_slice(piece);
        });
        out
    };
    // Pair 0 is "ab", pair 1 is pair 0 and "c".
    assert_eq!(unpack(&[2, b'a', b'b', 128, b'c', 129, 129, b'!']), b"abcabc!");
    let packed = include_bytes!(concat!(env!("OUT_DIR"), "/help/chat-server.bpe"));
    let text = include_bytes!(concat!(env!("OUT_DIR"), "/help/chat-server.txt"));
    assert_eq!(unpack(packed), text);
    assert!(packed.len() * 10 < text.len() * 6, "{} of {} bytes", packed.len(), text.len());
    // Malformed: empty; pairs missing; a pair made of itself (its
    // expansion fills the stack); a symbol with no pair; a text that ends
    // inside the table.
    let bad: [(&[u8], &[u8]); 5] = [
        (&[], b""),
        (&[5, b'a'], b""),
        (&[1, 128, 128, b'x', 128, b'y'], b"x"),
        (&[1, b'a', b'b', b'z', 129, b'z'], b"z"),
        (&[0, 200], b""),
    ];
    for (packed, want) in bad {
        assert_eq!(unpack(packed), want, "{packed:?}");
    }
}
