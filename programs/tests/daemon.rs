//! The servers as a router operator runs them: stdio closed, full or unread,
//! few file descriptors, and the signals of a closing ssh session.

mod common;
use common::{Peer, Server, bin, command};
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SERVERS: [&str; 3] = ["chat-server", "echo-server", "time-server"];

/// How long a served client may wait for an answer here: long enough for a
/// loaded machine, short enough that a stuck server fails the test quickly.
const ANSWER: Duration = Duration::from_secs(5);

/// `name` on a loopback port 0 (time-server pushing every 0.2 s).
fn server_command(name: &str) -> Command {
    let mut c = command(&bin(name));
    c.args(["--bind", "127.0.0.1:0"]);
    if name == "time-server" {
        c.args(["--interval", "0.2"]);
    }
    c
}

fn peer(addr: SocketAddr) -> Peer {
    let p = Peer::connect(addr);
    p.stream.set_read_timeout(Some(ANSWER)).unwrap();
    p
}

/// Clients of one server, each round checking that the server serves them:
/// an echo, a fresh time line, a relayed chat line.
struct Clients {
    name: &'static str,
    addr: SocketAddr,
    peers: Vec<Peer>,
    round: usize,
}

impl Clients {
    fn open(name: &'static str, addr: SocketAddr) -> Clients {
        let peers = match name {
            "chat-server" => {
                let mut a = peer(addr);
                a.until("welcome", |l| l.contains("you are "));
                let mut b = peer(addr);
                b.until("welcome", |l| l.contains("you are "));
                a.until("join", |l| l.ends_with("joined"));
                vec![a, b]
            }
            _ => vec![peer(addr)],
        };
        Clients { name, addr, peers, round: 0 }
    }

    /// Fails unless the server answers now.
    fn check(&mut self) {
        self.round += 1;
        let r = self.round;
        match self.name {
            "chat-server" => {
                self.peers[0].send(&format!("hello {r}\n"));
                self.peers[1].until("relayed line", |l| l.ends_with(&format!(": hello {r}")));
            }
            "echo-server" => {
                self.peers[0].send(&format!("ping {r}\n"));
                assert_eq!(self.peers[0].line().as_deref(), Some(format!("ping {r}").as_str()));
            }
            _ => {
                // A new connection gets the time at once: only a live
                // server sends it.
                let mut p = peer(self.addr);
                let l = p.line().expect("time line");
                assert!(l.len() == 24 && l.matches(':').count() == 2, "{l:?}");
                self.peers.push(p);
            }
        }
    }

    /// After SIGTERM: the graceful end each server promises.
    fn expect_shutdown(&mut self) {
        match self.name {
            "chat-server" => {
                self.peers[1].until("shutdown notice", |l| l == "* server shutting down");
            }
            _ => assert!(self.peers[0].rest().is_empty() || self.name == "time-server"),
        }
    }
}

fn sigterm_exits_0(s: &mut Server, clients: &mut Clients) {
    s.signal(libc::SIGTERM);
    clients.expect_shutdown();
    let st = s.wait_exit_within(Duration::from_secs(2));
    assert_eq!(st.code(), Some(0), "{} exit status {st}", clients.name);
}

/// (a) stdout closed: the listening socket must not become fd 1.
#[test]
fn servers_with_stdout_closed_keep_serving() {
    for name in SERVERS {
        let mut cmd = server_command(name);
        cmd.stderr(Stdio::null());
        // SAFETY (test): close(2) between fork and exec touches no memory.
        unsafe {
            cmd.pre_exec(|| {
                libc::close(1);
                Ok(())
            });
        }
        let mut s = Server::spawn_quiet(cmd);
        let mut clients = Clients::open(name, s.addr);
        clients.check();
        clients.check();
        sigterm_exits_0(&mut s, &mut clients);
    }
}

/// A pipe whose write end is already full (and blocking again, as a shell
/// would hand it over); the read end is returned so that it stays open.
fn full_pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY (test): pipe2 fills the two-int array; fcntl and write on the
    // new fds with valid buffers.
    unsafe {
        assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
        let flags = libc::fcntl(fds[1], libc::F_GETFL);
        assert_eq!(libc::fcntl(fds[1], libc::F_SETFL, flags | libc::O_NONBLOCK), 0);
        let chunk = [b'x'; 4096];
        while libc::write(fds[1], chunk.as_ptr().cast(), chunk.len()) > 0 {}
        while libc::write(fds[1], chunk.as_ptr().cast(), 1) > 0 {}
        assert_eq!(libc::fcntl(fds[1], libc::F_SETFL, flags), 0);
        (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
    }
}

/// (b) stdout a pipe nobody reads, full before the server starts: the
/// `listening on` line must not block it.
#[test]
fn servers_with_stdout_a_full_pipe_keep_serving() {
    for name in SERVERS {
        let (_unread, full) = full_pipe();
        let mut cmd = server_command(name);
        cmd.stdout(Stdio::from(full)).stderr(Stdio::null());
        let mut s = Server::spawn_quiet(cmd);
        let mut clients = Clients::open(name, s.addr);
        clients.check();
        sigterm_exits_0(&mut s, &mut clients);
    }
}

/// The child runs with RLIMIT_NOFILE 30.
fn limit_fds(cmd: &mut Command) {
    // SAFETY (test): setrlimit(2) between fork and exec, on a local.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit { rlim_cur: 30, rlim_max: 30 };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Reads what `pipe` has, waiting at most [`ANSWER`] for something.
fn read_pipe(pipe: &mut std::fs::File, buf: &mut [u8]) -> usize {
    let mut p = libc::pollfd { fd: pipe.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY (test): one valid pollfd.
    let ready = unsafe { libc::poll(&mut p, 1, ANSWER.as_millis() as i32) };
    assert_eq!(ready, 1, "nothing to read from the pipe");
    pipe.read(buf).unwrap()
}

/// (c) stderr a pipe nobody reads and the fds exhausted: the flood of
/// "dropped a connection" lines fills the pipe, and the server must go on
/// serving its established clients.
#[test]
fn servers_logging_into_an_unread_stderr_keep_serving() {
    for name in ["chat-server", "echo-server"] {
        let mut cmd = server_command(name);
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        limit_fds(&mut cmd);
        let mut s = Server::spawn_quiet(cmd);
        let mut unread = s.child.stderr.take().unwrap();
        let mut clients = Clients::open(name, s.addr);
        clients.check();
        // Use up the server's fds, then knock on the door 1,500 times.
        let held: Vec<TcpStream> =
            (0..40).filter_map(|_| TcpStream::connect(s.addr).ok()).collect();
        let start = Instant::now();
        let mut refused = 0;
        for _ in 0..1500 {
            if TcpStream::connect_timeout(&s.addr, Duration::from_millis(500)).is_err() {
                refused += 1;
            }
            if start.elapsed() > Duration::from_secs(15) {
                break;
            }
        }
        clients.check();
        clients.check();
        assert!(refused < 1500, "{name}: no connect succeeded");
        drop(held);
        sigterm_exits_0(&mut s, &mut clients);
        // The flood was logged until the pipe was full (64 KiB).
        let mut log = String::new();
        unread.read_to_string(&mut log).unwrap();
        assert!(log.contains("out of file descriptors"), "{name}: {log}");
        assert!(log.len() > 60_000, "{name}: only {} bytes of log", log.len());
    }
}

/// The dropped lines are counted and the count is told with the next line
/// that gets through: stderr full from the start, the fds exhausted; each
/// connection the server could not take is one dropped line.
#[test]
fn dropped_log_lines_are_counted_and_told() {
    let (unread, full) = full_pipe();
    let mut cmd = server_command("chat-server");
    cmd.stdout(Stdio::null()).stderr(Stdio::from(full));
    limit_fds(&mut cmd);
    let mut s = Server::spawn_quiet(cmd);
    // Each connection gets a welcome (taken) or EOF (dropped, logged).
    let mut held = Vec::new();
    let mut dropped = 0;
    for _ in 0..40 {
        let mut p = peer(s.addr);
        match p.line() {
            Some(_) => held.push(p),
            None => dropped += 1,
        }
    }
    assert!(dropped > 0, "the server never ran out of fds");
    // The server closes a connection it cannot take, then logs it: a
    // client sees the end before the log line is tried. One round trip on
    // a connection it holds makes sure the last one was tried (and
    // dropped) before the pipe is drained.
    let first = held.first_mut().expect("no connection was taken");
    first.send("/who\n");
    first.until("who", |l| l.starts_with("* online"));
    // Empty the pipe; the next dropped connection's line gets through,
    // after the count.
    let mut pipe = std::fs::File::from(unread);
    let mut filled: libc::c_int = 0;
    // SAFETY (test): FIONREAD writes one int.
    assert_eq!(unsafe { libc::ioctl(pipe.as_raw_fd(), libc::FIONREAD, &mut filled) }, 0);
    let mut junk = vec![0u8; 1 << 16];
    let mut drained = 0;
    while drained < filled as usize {
        drained += read_pipe(&mut pipe, &mut junk);
    }
    assert_eq!(peer(s.addr).line(), None, "a connection past the fd limit");
    let mut got = String::new();
    while got.matches('\n').count() < 2 {
        let n = read_pipe(&mut pipe, &mut junk);
        got.push_str(&String::from_utf8_lossy(&junk[..n]));
    }
    let mut lines = got.lines();
    assert_eq!(lines.next(), Some(format!("chat-server: {dropped} log lines dropped").as_str()));
    assert!(lines.next().unwrap().contains("out of file descriptors"), "{got}");
    drop(held);
    s.signal(libc::SIGTERM);
    assert_eq!(s.wait_exit_within(Duration::from_secs(2)).code(), Some(0));
}

/// (d) SIGHUP (the ssh session closing), SIGUSR1, SIGUSR2, SIGPIPE and
/// SIGTTOU (whose default would stop the server: as bad as killing it)
/// leave the servers running; SIGTERM still ends them gracefully.
#[test]
fn sighup_and_sigusr_do_not_stop_the_servers() {
    for name in SERVERS {
        let mut cmd = server_command(name);
        cmd.stdout(Stdio::piped());
        let mut s = Server::spawn_quiet(cmd);
        let mut clients = Clients::open(name, s.addr);
        clients.check();
        for sig in [libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2, libc::SIGPIPE, libc::SIGTTOU] {
            s.signal(sig);
        }
        // A new client after the signals, and the old ones, are served.
        let mut later = Clients::open(name, s.addr);
        later.check();
        clients.check();
        assert!(s.child.try_wait().unwrap().is_none(), "{name} exited");
        sigterm_exits_0(&mut s, &mut clients);
    }
}

/// The clients' output may wait for its reader, but a reader that has gone
/// (EPIPE) ends them cleanly: a message on stderr and status 1, not death
/// by SIGPIPE.
#[test]
fn clients_whose_stdout_reader_has_gone_exit_1() {
    for name in ["chat-client", "watch-client"] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut c, _) = listener.accept().unwrap();
            let _ = std::io::Write::write_all(&mut c, b"hello\n");
            // Hold the connection until the client has gone.
            let _ = c.set_read_timeout(Some(common::WAIT));
            let _ = c.read(&mut [0u8; 64]);
        });
        let mut fds = [0; 2];
        // SAFETY (test): pipe2 fills the two-int array with new fds, which
        // are owned from here on.
        let (reader, writer) = unsafe {
            assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
            (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
        };
        drop(reader);
        let mut cmd = command(&bin(name));
        cmd.arg(addr.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped());
        let mut s = Server { child: common::spawn(&mut cmd), addr, first_line: String::new() };
        let _typing = s.child.stdin.take(); // open: the client waits for input
        let st = s.wait_exit_within(common::WAIT);
        let mut stderr = String::new();
        s.child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        assert_eq!(st.code(), Some(1), "{name}: {st} {stderr}");
        assert!(stderr.contains(&format!("{name}: stdout: EPIPE")), "{name}: {stderr}");
        server.join().unwrap();
    }
}
