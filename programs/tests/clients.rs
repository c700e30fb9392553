//! chat-client and watch-client against refused connections, scripted
//! input and servers that close or never do (issue 13).

mod common;
use common::{Peer, Server, WAIT, bin, command, output, output_within, refusing_port, spawn};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What stdin (or stdout) of a client is in a test.
#[derive(Clone, Copy, Debug)]
enum Stdio3 {
    /// `/dev/null`: end of file at once.
    Null,
    /// A regular file with a few lines.
    File,
    /// Closed before exec.
    Closed,
    /// A pipe the test keeps open (and never writes to).
    HeldOpen,
    /// A terminal (the slave side of a pty the test holds).
    Terminal,
}

const STDINS: [Stdio3; 5] =
    [Stdio3::Null, Stdio3::File, Stdio3::Closed, Stdio3::HeldOpen, Stdio3::Terminal];

/// A pty pair: (master, slave).
fn pty() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY (test): two out-pointers to live ints; no name, termios or size.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    for fd in [master, slave] {
        // SAFETY (test): fcntl on our own new fds; not leaked to children
        // that other tests spawn meanwhile.
        assert_eq!(unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) }, 0);
    }
    // SAFETY (test): two new fds that nothing else owns.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// A pipe: (read end, write end), both close-on-exec (the child gets its
/// end through dup2, which clears the flag).
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [-1; 2];
    // SAFETY (test): a valid pointer to two ints.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY (test): two new fds that nothing else owns.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// A file holding `text`, opened for reading and already unlinked (its
/// name unique to this process, `tag` and a counter: tests run in parallel).
fn script_file(tag: &str, text: &str) -> std::fs::File {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let k = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("picosel-{}-{tag}-{k}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let f = std::fs::File::open(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    f
}

/// Sets `cmd`'s stdin (`fd` 0) or stdout (`fd` 1) to `what`; returns what
/// the test must keep alive while the child runs.
fn set_stdio(cmd: &mut Command, fd: i32, what: Stdio3) -> Option<OwnedFd> {
    let (io, keep): (Stdio, Option<OwnedFd>) = match what {
        Stdio3::Null => (Stdio::null(), None),
        Stdio3::File => (script_file(&format!("{fd}"), "hello\n/who\n").into(), None),
        Stdio3::Closed => {
            // SAFETY (test): close(2) between fork and exec touches no memory.
            unsafe {
                cmd.pre_exec(move || {
                    libc::close(fd);
                    Ok(())
                });
            }
            return None;
        }
        Stdio3::HeldOpen => {
            let (r, w) = pipe();
            if fd == 0 { (r.into(), Some(w)) } else { (w.into(), Some(r)) }
        }
        Stdio3::Terminal => {
            let (master, slave) = pty();
            (slave.into(), Some(master))
        }
    };
    if fd == 0 {
        cmd.stdin(io);
    } else {
        cmd.stdout(io);
    }
    keep
}

fn refused_message(prog: &str, addr: SocketAddr) -> String {
    format!("{prog}: cannot connect to {addr}: ECONNREFUSED: connection refused\n")
}

#[test]
fn chat_client_reports_a_refused_connect_whatever_stdin_is() {
    let (_held, addr) = refusing_port();
    for backend in ["epoll", "poll", "select"] {
        for stdin in STDINS {
            let mut cmd = command(&bin("chat-client"));
            cmd.args([&addr.to_string(), "--backend", backend]);
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            let _keep = set_stdio(&mut cmd, 0, stdin);
            let out = output_within(spawn(&mut cmd), WAIT);
            let what = format!("{backend}, stdin {stdin:?}: {out:?}");
            assert_eq!(out.status.code(), Some(1), "{what}");
            assert_eq!(String::from_utf8_lossy(&out.stderr), refused_message("chat-client", addr));
            assert!(out.stdout.is_empty(), "{what}");
        }
    }
}

#[test]
fn watch_client_reports_a_refused_connect_whatever_stdin_and_stdout_are() {
    let (_held, addr) = refusing_port();
    for backend in ["epoll", "poll", "select"] {
        for (stdin, stdout) in STDINS.into_iter().flat_map(|i| STDINS.map(|o| (i, o))) {
            if matches!(stdout, Stdio3::File) {
                continue; // a read-only script file: not an output
            }
            let mut cmd = command(&bin("watch-client"));
            cmd.args([&addr.to_string(), "--backend", backend]).stderr(Stdio::piped());
            let _keep_in = set_stdio(&mut cmd, 0, stdin);
            let _keep_out = set_stdio(&mut cmd, 1, stdout);
            let out = output_within(spawn(&mut cmd), WAIT);
            let what = format!("{backend}, stdin {stdin:?}, stdout {stdout:?}: {out:?}");
            assert_eq!(out.status.code(), Some(1), "{what}");
            let said = String::from_utf8_lossy(&out.stderr);
            assert_eq!(said, refused_message("watch-client", addr), "{what}");
        }
    }
}

/// `chat-client ADDR < script`, with the script a file or a pipe closed
/// after it: every reply of the server is printed, every run.
#[test]
fn scripted_chat_client_prints_every_reply_20_times() {
    let s = Server::start(&bin("chat-server"), &["--bind", "127.0.0.1:0"]);
    let mut watcher = Peer::connect(s.addr);
    assert!(watcher.line().unwrap().starts_with("* welcome"));
    let started = Instant::now();
    for run in 0..20 {
        let backend = ["epoll", "poll", "select"][run % 3];
        let quit = run % 2 == 1;
        let nick = format!("script{run}");
        let script =
            format!("/nick {nick}\nhello {run}\n/who\n{}", if quit { "/quit\n" } else { "" });
        let mut cmd = command(&bin("chat-client"));
        cmd.args([&s.addr.to_string(), "--backend", backend]);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = if run % 4 < 2 {
            spawn(cmd.stdin(script_file(&format!("script{run}"), &script)))
        } else {
            let mut child = spawn(cmd.stdin(Stdio::piped()));
            child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap(); // then closed
            child
        };
        let out = output_within(child, WAIT);
        let what = format!("run {run} ({backend}): {out:?}");
        assert!(out.status.success(), "{what}");
        assert!(out.stderr.is_empty(), "{what}");
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().collect();
        let mut want = vec![format!("* you are now {nick}"), format!("* online (2): ")];
        if quit {
            want.push("* bye".into());
        }
        want.push("* server closed the connection".into());
        assert_eq!(lines.len(), want.len() + 1, "{what}");
        assert!(lines[0].starts_with("* welcome, you are 127.0.0.1:"), "{what}");
        for (got, want) in lines[1..].iter().zip(&want) {
            assert!(got.starts_with(want.as_str()), "{what}: {got:?} is not {want:?}");
        }
        assert!(lines[2].contains(&nick), "{what}");
        // The room saw it join, speak and leave.
        watcher.until("join", |l| l.ends_with(" joined"));
        let said = watcher.until("chat", |l| !l.starts_with("* "));
        assert_eq!(said, format!("{nick}: hello {run}"));
        watcher.until("leave", |l| l == format!("* {nick} left"));
    }
    if !common::under_emulation() {
        assert!(started.elapsed() < Duration::from_secs(5), "20 runs took {:?}", started.elapsed());
    }
}

#[test]
fn chat_client_with_stdin_at_eof_still_prints_the_welcome() {
    let s = Server::start(&bin("chat-server"), &["--bind", "127.0.0.1:0"]);
    for backend in ["epoll", "poll", "select"] {
        for stdin in [Stdio3::Null, Stdio3::Closed] {
            let mut cmd = command(&bin("chat-client"));
            cmd.args([&s.addr.to_string(), "--backend", backend]).stdout(Stdio::piped());
            let _keep = set_stdio(&mut cmd, 0, stdin);
            let out = output_within(spawn(&mut cmd), WAIT);
            let what = format!("{backend}, stdin {stdin:?}: {out:?}");
            assert!(out.status.success(), "{what}");
            let text = String::from_utf8_lossy(&out.stdout);
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 2, "{what}");
            assert!(lines[0].starts_with("* welcome, you are "), "{what}");
            assert_eq!(lines[1], "* server closed the connection", "{what}");
        }
    }
}

/// A server that takes the connection, sends a line, reads the client's
/// input to its end (the client's shutdown) and then holds the connection
/// open until the test ends. Returns its address and what it read.
fn never_closing_server() -> (SocketAddr, std::sync::mpsc::Receiver<Vec<u8>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut c, _)) = l.accept() else { return };
        c.set_read_timeout(Some(WAIT)).unwrap();
        c.write_all(b"hi, I never close\n").unwrap();
        let mut got = Vec::new();
        let _ = c.read_to_end(&mut got);
        let _ = tx.send(got);
        std::thread::sleep(WAIT); // held open; the test is over by then
    });
    (addr, rx)
}

/// Runs chat-client with `args` and `input` against a server that never
/// closes; checks it printed the server's line (given a linger), shut its
/// side after all of its input, and exited 0 within `linger` and a margin.
/// Returns the time it took.
fn linger_run(args: &[&str], input: &str, linger: Duration) -> Duration {
    let (addr, read) = never_closing_server();
    let mut cmd = command(&bin("chat-client"));
    cmd.arg(addr.to_string()).args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let child = spawn(cmd.stdin(script_file(&format!("linger{}", args.len()), input)));
    let out = output_within(child, linger + Duration::from_secs(3));
    let took = started.elapsed();
    assert!(out.status.success(), "{out:?}");
    // With no linger the client may be gone before the line arrives.
    let said = String::from_utf8_lossy(&out.stdout);
    if linger.is_zero() {
        assert!(said.is_empty() || said == "hi, I never close\n", "{args:?}: {said:?}");
    } else {
        assert_eq!(said, "hi, I never close\n", "{args:?}");
    }
    assert!(out.stderr.is_empty(), "{out:?}");
    assert!(took < linger + Duration::from_secs(1), "exited after {took:?}");
    let got = read.recv_timeout(WAIT).expect("the client never shut its side");
    assert_eq!(String::from_utf8_lossy(&got), input);
    took
}

#[test]
fn chat_client_linger_bounds_the_wait_for_a_server_that_never_closes() {
    let short = Duration::from_millis(300);
    let took = linger_run(&["--linger", "0.3"], "one\ntwo\n", short);
    assert!(took >= short, "exited after {took:?}, before the linger");
    let default = Duration::from_secs(2);
    let took = linger_run(&[], "one\n", default);
    assert!(took >= default, "exited after {took:?}, before the default linger");
    let took = linger_run(&["--linger", "0"], "", Duration::ZERO);
    assert!(took < Duration::from_millis(500), "--linger 0 took {took:?}");
}

#[test]
fn chat_client_rejects_a_bad_linger() {
    for bad in ["-1", "x", "", "0.0", "100000"] {
        let out = output(command(&bin("chat-client")).args(["127.0.0.1:1", "--linger", bad]));
        assert_eq!(out.status.code(), Some(2), "--linger {bad:?}: {out:?}");
    }
    let out = output(command(&bin("chat-client")).arg("--help"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--linger SECONDS"));
}

/// A server that sends lines in pieces and closes at once: watch-client
/// prints all of them, the last unterminated one included, every run.
#[test]
fn watch_client_output_is_the_same_every_run_when_the_server_closes() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let runs = 20;
    let server = std::thread::spawn(move || {
        for _ in 0..runs {
            let (mut c, _) = l.accept().unwrap();
            for piece in [&b"one\ntw"[..], b"o\r\n", b"three\nlast"] {
                c.write_all(piece).unwrap();
            }
        } // each connection closed as soon as it is written
    });
    let want = "Received: one\nReceived: two\nReceived: three\nReceived: last\n\
                Remote end closed connection; exiting.\n";
    for run in 0..runs {
        let backend = ["epoll", "poll", "select"][run % 3];
        let mut cmd = command(&bin("watch-client"));
        cmd.args([&addr.to_string(), "--backend", backend]);
        let child = spawn(cmd.stdin(Stdio::null()).stdout(Stdio::piped()));
        let out = output_within(child, WAIT);
        assert!(out.status.success(), "run {run}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "run {run}");
    }
    server.join().unwrap();
}
