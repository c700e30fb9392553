//! The servers' `--bind unix:PATH`, `--bind unix:@NAME`, repeated binds
//! and echo-server's `--udp`, driven through the real binaries.

mod common;
use common::{Peer, Server, WAIT, bin, command, output};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr as UnixSocketAddr, UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory for socket files, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("picosel-{test}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An abstract name no other test (or test run) uses.
fn abstract_name(what: &str) -> String {
    format!("picosel-test-{what}-{}", std::process::id())
}

/// Starts `name` with `args` and reads its first `lines` stdout lines
/// (one `listening on ...` per bind), each wait bounded. stderr is piped
/// (read it with [`stderr_of`] once the server has exited).
fn start(name: &str, args: &[&str], lines: usize) -> (Server, Vec<String>) {
    let mut child =
        common::spawn(command(&bin(name)).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()));
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let mut got = Vec::new();
    for _ in 0..lines {
        let line = common::recv_line(&rx, &mut child, || {
            format!("{name} {args:?} printed {got:?} and then nothing")
        });
        got.push(line);
    }
    let first_line = got.first().cloned().unwrap_or_default();
    let addr = SocketAddr::from(([0, 0, 0, 0], 0)); // not a TCP server, maybe
    (Server { child, addr, first_line }, got)
}

/// The TCP address of a `listening on ADDR:PORT (BACKEND)` line.
fn tcp_addr(line: &str) -> SocketAddr {
    line.strip_prefix("listening on ")
        .and_then(|r| r.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("not a TCP listening line: {line:?}"))
}

/// Everything the (exited) server wrote to stderr.
fn stderr_of(s: &mut Server) -> String {
    let mut text = String::new();
    s.child.stderr.take().unwrap().read_to_string(&mut text).unwrap();
    text
}

/// Sends `msg` on `c` and reads the same number of bytes back.
fn echo_round_trip(mut c: UnixStream, msg: &[u8]) {
    c.set_read_timeout(Some(WAIT)).unwrap();
    c.write_all(msg).unwrap();
    let mut back = vec![0u8; msg.len()];
    c.read_exact(&mut back).unwrap();
    assert_eq!(back, msg);
}

fn sigterm_exits_0(s: &mut Server) {
    s.signal(libc::SIGTERM);
    let st = s.wait_exit();
    assert!(st.success(), "{st:?}");
}

#[test]
fn echo_over_a_unix_socket_file() {
    let dir = TempDir::new("echo-path");
    let path = dir.path("echo.sock");
    let bind = format!("unix:{}", path.display());
    let (mut s, lines) = start("echo-server", &["--bind", &bind], 1);
    assert_eq!(lines[0], format!("listening on {bind} (epoll)"));
    echo_round_trip(UnixStream::connect(&path).unwrap(), b"ping over a socket file\n");
    sigterm_exits_0(&mut s);
    assert!(!path.exists(), "the socket file is removed on exit");
}

#[test]
fn echo_over_an_abstract_name() {
    let name = abstract_name("echo");
    let bind = format!("unix:@{name}");
    let (mut s, lines) = start("echo-server", &["--bind", &bind, "--backend", "poll"], 1);
    assert_eq!(lines[0], format!("listening on {bind} (poll)"));
    let addr = UnixSocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    echo_round_trip(UnixStream::connect_addr(&addr).unwrap(), b"ping over an abstract name");
    sigterm_exits_0(&mut s);
    assert!(UnixStream::connect_addr(&addr).is_err(), "the name is gone with the server");
}

#[test]
fn a_stale_socket_file_is_replaced() {
    let dir = TempDir::new("stale");
    let path = dir.path("stale.sock");
    drop(UnixListener::bind(&path).unwrap()); // a server that died: the file stays
    assert!(path.exists());
    let bind = format!("unix:{}", path.display());
    let (mut s, _) = start("echo-server", &["--bind", &bind], 1);
    echo_round_trip(UnixStream::connect(&path).unwrap(), b"served");
    sigterm_exits_0(&mut s);
    assert!(!path.exists());
}

#[test]
fn a_regular_file_or_a_live_socket_at_the_path_is_refused() {
    let dir = TempDir::new("taken");
    let file = dir.path("not-a-socket");
    std::fs::write(&file, "keep me").unwrap();
    let out =
        output(command(&bin("echo-server")).args(["--bind", &format!("unix:{}", file.display())]));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot listen on unix:") && err.contains("EADDRINUSE"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");

    // A socket a server is listening on is not taken over either.
    let path = dir.path("live.sock");
    let bind = format!("unix:{}", path.display());
    let (mut first, _) = start("time-server", &["--bind", &bind], 1);
    let out = output(command(&bin("echo-server")).args(["--bind", &bind]));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let mut c = BufReader::new(UnixStream::connect(&path).unwrap());
    c.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    let mut line = String::new();
    c.read_line(&mut line).unwrap();
    assert_eq!(line.len(), 25, "the first server still serves: {line:?}");
    sigterm_exits_0(&mut first);
    assert!(!path.exists());
}

#[test]
fn echo_on_tcp_and_unix_at_once() {
    let dir = TempDir::new("both");
    let path = dir.path("both.sock");
    let unix = format!("unix:{}", path.display());
    let name = abstract_name("both");
    let abs = format!("unix:@{name}");
    let args = ["--bind", "127.0.0.1:0", "--bind", &unix, "--bind", &abs];
    let (mut s, lines) = start("echo-server", &args, 3);
    assert_eq!(lines[1], format!("listening on {unix} (epoll)"));
    assert_eq!(lines[2], format!("listening on {abs} (epoll)"));
    let mut tcp = Peer::connect(tcp_addr(&lines[0]));
    // Interleaved: every listener is served while the others have clients.
    let via_path = UnixStream::connect(&path).unwrap();
    let addr = UnixSocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let via_name = UnixStream::connect_addr(&addr).unwrap();
    tcp.send("over tcp\n");
    echo_round_trip(via_path, b"over the socket file");
    echo_round_trip(via_name, b"over the abstract name");
    assert_eq!(tcp.line().unwrap(), "over tcp");
    sigterm_exits_0(&mut s);
    assert!(!path.exists());
}

#[test]
fn echo_udp_round_trip_on_the_tcp_port() {
    let (mut s, lines) = start("echo-server", &["--bind", "127.0.0.1:0", "--udp"], 1);
    let server = tcp_addr(&lines[0]);
    let mut tcp = Peer::connect(server); // TCP is still served on that port
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    u.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = vec![0u8; 65536];
    for msg in [b"hello over udp".to_vec(), (0..60_000u32).map(|i| i as u8).collect()] {
        u.send_to(&msg, server).unwrap();
        let (n, from) = u.recv_from(&mut buf).unwrap();
        assert_eq!(from, server, "answered from the port it was sent to");
        assert_eq!(&buf[..n], &msg[..], "echoed whole");
    }
    tcp.send("and tcp\n");
    assert_eq!(tcp.line().unwrap(), "and tcp");
    sigterm_exits_0(&mut s);
    assert!(!stderr_of(&mut s).contains("udp"), "nothing to report");
}

#[test]
fn echo_udp_datagram_over_the_limit_is_not_echoed_and_counted() {
    let args = ["--bind", "127.0.0.1:0", "--udp", "--udp-max", "512"];
    let (mut s, lines) = start("echo-server", &args, 1);
    let server = tcp_addr(&lines[0]);
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    u.set_read_timeout(Some(WAIT)).unwrap();
    u.send_to(&[b'x'; 1000], server).unwrap();
    u.send_to(&[b'y'; 512], server).unwrap();
    let mut buf = [0u8; 2048];
    // The datagrams are handled in order: had the first been echoed (cut
    // or whole), it would come back first.
    let (n, _) = u.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], &[b'y'; 512][..]);
    sigterm_exits_0(&mut s);
    let err = stderr_of(&mut s);
    assert!(err.contains("a 1000-byte datagram from 127.0.0.1:"), "{err}");
    assert!(err.contains("longer than 512 bytes: not echoed (1 truncated so far)"), "{err}");
    assert!(err.contains("1 datagrams truncated (not echoed), 0 replies dropped"), "{err}");
}

#[test]
fn time_server_over_a_unix_socket_file() {
    let dir = TempDir::new("time");
    let path = dir.path("time.sock");
    let bind = format!("unix:{}", path.display());
    let (mut s, lines) = start("time-server", &["--bind", &bind, "--interval", "0.2"], 1);
    assert_eq!(lines[0], format!("listening on {bind} (epoll)"));
    let c = UnixStream::connect(&path).unwrap();
    c.set_read_timeout(Some(WAIT)).unwrap();
    let mut r = BufReader::new(c);
    for _ in 0..2 {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let f: Vec<&str> = line.split_whitespace().collect();
        assert!(line.len() == 25 && f.len() == 5 && f[3].len() == 8, "{line:?}");
    }
    sigterm_exits_0(&mut s);
    assert!(!path.exists());
}

/// Exits 2 with the usage and `why` on stderr.
fn refused(name: &str, args: &[&str], why: &str) {
    let out = output(command(&bin(name)).args(args));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{name} {args:?}: {err}");
    assert!(err.contains(why) && err.contains(&format!("usage: {name}")), "{args:?}: {err}");
}

#[test]
fn bad_binds_get_a_clear_error_and_the_usage() {
    let long_path = format!("unix:/{}", "x".repeat(107)); // 108 bytes
    let long_name = format!("unix:@{}", "x".repeat(108));
    for name in ["echo-server", "time-server"] {
        refused(name, &["--bind", "unix:"], "the path is empty");
        refused(name, &["--bind=unix:@"], "the abstract name is empty");
        refused(name, &["--bind", &long_path], "the path is longer than 107 bytes");
        refused(name, &["--bind", &long_name], "the abstract name is longer than 107 bytes");
        for form in ["tcp:127.0.0.1:80", "127.0.0.1", "unix", "localhost:80"] {
            refused(name, &["--bind", form], "expected ADDR:PORT, unix:PATH or unix:@NAME");
        }
        let five: Vec<&str> = ["--bind", "127.0.0.1:0"].repeat(5);
        refused(name, &five, "at most 4 --bind options");
    }
    refused("echo-server", &["--udp", "--bind", "unix:@x"], "--udp needs a TCP --bind");
    refused("echo-server", &["--udp", "--udp-max", "65537"], "bad value for --udp-max");
}

#[test]
fn a_path_of_107_bytes_is_taken() {
    let dir = TempDir::new("long");
    let base = dir.0.display().to_string().len() + 1;
    let Some(fill) = 107usize.checked_sub(base) else { return }; // a very deep temp dir
    let path = dir.path(&"s".repeat(fill));
    let p: &Path = &path;
    assert_eq!(p.as_os_str().len(), 107);
    let bind = format!("unix:{}", path.display());
    let (mut s, _) = start("echo-server", &["--bind", &bind], 1);
    echo_round_trip(UnixStream::connect(&path).unwrap(), b"long");
    sigterm_exits_0(&mut s);
    assert!(!path.exists());
}

#[test]
fn bind_values_parse_and_display_as_given() {
    use progs::cli::{self, CliError};
    use progs::listen::{Bind, Binds};
    for v in ["127.0.0.1:8007", "[::1]:0", "unix:/tmp/x.sock", "unix:rel/x.sock", "unix:@name"] {
        let shown = |b: Bind| {
            let mut buf = [0u8; 128];
            String::from_utf8(progs::fmt::concat(&mut buf, &[&b]).to_vec()).unwrap()
        };
        assert_eq!(cli::bind("--bind", v).map(shown), Ok(v.to_string()));
    }
    assert!(matches!(cli::bind("--bind", "unix:"), Err(CliError::Invalid("--bind", "unix:", _))));
    let mut binds = Binds::new(Bind::Tcp("127.0.0.1:8007".parse().unwrap()));
    assert_eq!(binds.iter().count(), 1);
    assert!(binds.any_tcp());
    cli::add_bind(&mut binds, "--bind", "unix:@a").unwrap();
    assert_eq!(binds.iter().count(), 1, "the first --bind replaces the default");
    assert!(!binds.any_tcp());
    for _ in 0..3 {
        cli::add_bind(&mut binds, "--bind", "[::1]:0").unwrap();
    }
    assert!(cli::add_bind(&mut binds, "--bind", "[::1]:0").is_err());
    assert_eq!(binds.iter().count(), 4);
}

/// A chat client on a Unix socket, reads bounded by [`WAIT`].
struct UnixChat(BufReader<UnixStream>);

impl UnixChat {
    fn connect(stream: UnixStream) -> UnixChat {
        stream.set_read_timeout(Some(WAIT)).unwrap();
        UnixChat(BufReader::new(stream))
    }

    fn send(&mut self, text: &str) {
        self.0.get_mut().write_all(text.as_bytes()).unwrap();
    }

    /// Reads lines until one satisfies `pred`; panics at EOF.
    fn until(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        loop {
            let mut line = String::new();
            let n = self.0.read_line(&mut line).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(n > 0, "EOF while waiting for {what}");
            let line = line.trim_end_matches('\n');
            if pred(line) {
                return line.to_string();
            }
        }
    }

    /// Reads to end of stream.
    fn rest(&mut self) -> String {
        let mut s = String::new();
        self.0.read_to_string(&mut s).unwrap();
        s
    }

    /// The nick the welcome line gives.
    fn welcome_nick(&mut self) -> String {
        nick_of(&self.until("welcome", |l| l.starts_with("* welcome")))
    }
}

fn nick_of(welcome: &str) -> String {
    welcome.split("you are ").nth(1).and_then(|r| r.split(';').next()).unwrap().to_string()
}

#[test]
fn chat_between_tcp_and_unix_clients() {
    let dir = TempDir::new("chat");
    let path = dir.path("chat.sock");
    let unix = format!("unix:{}", path.display());
    let (mut s, lines) = start("chat-server", &["--bind", "127.0.0.1:0", "--bind", &unix], 2);
    assert!(lines[0].starts_with("listening on 127.0.0.1:") && lines[0].ends_with(" (epoll)"));
    assert_eq!(lines[1], format!("listening on {unix} (epoll)"));
    let mut tcp = Peer::connect(tcp_addr(&lines[0]));
    let tcp_nick = nick_of(&tcp.until("welcome", |l| l.starts_with("* welcome")));
    let mut local = UnixChat::connect(UnixStream::connect(&path).unwrap());
    let local_nick = local.welcome_nick();
    assert_eq!(local_nick, format!("unix-{}", std::process::id()), "the default Unix nick");
    tcp.until("join notice", |l| l == format!("* {local_nick} joined"));
    // Relayed both ways, each line under its sender's nick.
    tcp.send("hello from tcp\n");
    local.until("tcp line", |l| l == format!("{tcp_nick}: hello from tcp"));
    local.send("hello from unix\n");
    tcp.until("unix line", |l| l == format!("{local_nick}: hello from unix"));
    tcp.send("/who\n");
    let who = tcp.until("who", |l| l.starts_with("* online"));
    assert_eq!(who, format!("* online (2): {tcp_nick} {local_nick}"));
    s.signal(libc::SIGTERM);
    tcp.until("shutdown notice", |l| l == "* server shutting down");
    local.until("shutdown notice", |l| l == "* server shutting down");
    assert_eq!(local.rest(), "", "then the end of stream (the lingering close ends)");
    assert!(s.wait_exit().success());
    assert!(!path.exists(), "the socket file is removed at exit");
}

#[test]
fn unix_default_nicks_do_not_collide() {
    let name = abstract_name("chat-nicks");
    let abs = format!("unix:@{name}");
    let (mut s, lines) = start("chat-server", &["--bind", &abs, "--bind", "[::1]:0"], 2);
    assert_eq!(lines[0], format!("listening on {abs} (epoll)"));
    let me = format!("unix-{}", std::process::id());
    // Someone takes the nick a Unix client from this process would get.
    let mut tcp = Peer::connect(tcp_addr(&lines[1]));
    tcp.until("welcome", |l| l.starts_with("* welcome"));
    tcp.send(&format!("/nick {}\n", me.to_uppercase()));
    tcp.until("nick set", |l| l.starts_with("* you are now"));
    let addr = UnixSocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let connect = || UnixChat::connect(UnixStream::connect_addr(&addr).unwrap());
    let (mut a, mut b) = (connect(), connect());
    assert_eq!(a.welcome_nick(), format!("{me}-2"));
    assert_eq!(b.welcome_nick(), format!("{me}-3"));
    // Once `-2` has left, the next one gets it again.
    drop(a);
    tcp.until("leave notice", |l| l == format!("* {me}-2 left"));
    let mut c = connect();
    assert_eq!(c.welcome_nick(), format!("{me}-2"));
    b.send("/who\n");
    let who = b.until("who", |l| l.starts_with("* online"));
    assert_eq!(who, format!("* online (3): {} {me}-3 {me}-2", me.to_uppercase()));
    sigterm_exits_0(&mut s);
}

#[test]
fn chat_server_help_names_the_unix_binds_and_nicks() {
    let out = output(command(&bin("chat-server")).arg("--help"));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("unix:PATH") && help.contains("unix:@NAME"), "{help}");
    assert!(help.contains("unix-PID"), "{help}");
}
