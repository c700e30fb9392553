//! Unix domain sockets on real sockets: paths in a fresh temporary
//! directory (removed at the end) and abstract names unique to the process.

use picosel::net::{Accept, UnixAddr, UnixDatagram, UnixListener, UnixStream};
use picosel::{DefaultSelector, Errno, Error, Events};
use std::path::PathBuf;
use std::time::Duration;

/// A directory made for one test and removed (with what is in it) on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("picosel-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        TempDir(dir)
    }

    fn addr(&self, name: &str) -> UnixAddr {
        UnixAddr::path(self.file(name).as_os_str().as_encoded_bytes()).unwrap()
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An abstract name no other test (or process) uses.
fn abstract_addr(test: &str) -> UnixAddr {
    UnixAddr::abstract_name(format!("picosel-test-{}-{test}", std::process::id()).as_bytes())
        .unwrap()
}

fn wait(fd: i32, events: Events) {
    let mut sel: DefaultSelector<(), 2> = DefaultSelector::new();
    sel.register(fd, events, ()).unwrap();
    assert_eq!(
        sel.select(Some(Duration::from_secs(5))).unwrap(),
        1,
        "fd {fd} never became {events:?}"
    );
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Job {
    Listener,
    Server,
    Client,
}

/// A client connects to `addr`, sends, the server echoes; all driven by
/// one selector.
fn echo_through_a_selector(addr: &UnixAddr) {
    let mut listener = UnixListener::bind(addr, 8).unwrap();
    assert_eq!(listener.local_addr().unwrap(), *addr);
    assert!(matches!(listener.accept().unwrap(), Accept::WouldBlock));
    let client = UnixStream::connect(addr).unwrap();
    assert_eq!(client.peer_addr().unwrap(), *addr);
    assert!(client.local_addr().unwrap().is_unnamed());

    let mut sel: DefaultSelector<Job, 4> = DefaultSelector::new();
    sel.register(listener.as_raw_fd(), Events::READ, Job::Listener).unwrap();
    sel.register(client.as_raw_fd(), Events::READ, Job::Client).unwrap();
    assert_eq!(client.send(b"ping").unwrap(), Some(4));

    let mut server = None;
    let mut echoed = None;
    let mut buf = [0u8; 64];
    for _ in 0..10 {
        if echoed.is_some() {
            break;
        }
        assert!(sel.select(Some(Duration::from_secs(5))).unwrap() > 0, "nothing ready");
        while let Some((key, _)) = sel.next_ready() {
            match key.data {
                Job::Listener => match listener.accept().unwrap() {
                    Accept::Stream(s, peer) => {
                        assert!(peer.is_unnamed(), "{peer:?}");
                        assert_eq!(s.local_addr().unwrap(), *addr);
                        sel.register(s.as_raw_fd(), Events::READ, Job::Server).unwrap();
                        server = Some(s);
                    }
                    other => panic!("{other:?}"),
                },
                Job::Server => {
                    let s = server.as_ref().unwrap();
                    let n = s.recv(&mut buf).unwrap().unwrap();
                    assert_eq!(s.send(&buf[..n]).unwrap(), Some(n));
                }
                Job::Client => echoed = client.recv(&mut buf).unwrap(),
            }
        }
    }
    assert_eq!(echoed, Some(4));
    assert_eq!(&buf[..4], b"ping");
    let server = server.unwrap();
    assert_eq!(server.recv(&mut buf).unwrap(), None, "would block");
    client.shutdown_write().unwrap();
    wait(server.as_raw_fd(), Events::READ);
    assert_eq!(server.recv(&mut buf).unwrap(), Some(0), "end of stream");
    sel.unregister(client.as_raw_fd()).unwrap();
    drop(client);
    // A closed peer: EPIPE, and no SIGPIPE (the test would die of it).
    assert_eq!(server.send(b"x"), Err(Errno::EPIPE));
}

#[test]
fn stream_echo_on_a_path() {
    let dir = TempDir::new("echo-path");
    let addr = dir.addr("echo.sock");
    echo_through_a_selector(&addr);
    // The socket file stays after the listener is gone (it is stale now).
    assert!(dir.file("echo.sock").exists());
    assert_eq!(UnixStream::connect(&addr).unwrap_err(), Error::Os(Errno::ECONNREFUSED));
    assert_eq!(
        UnixStream::connect(&dir.addr("missing.sock")).unwrap_err(),
        Error::Os(Errno::ENOENT)
    );
}

#[test]
fn stream_echo_on_an_abstract_name() {
    let addr = abstract_addr("echo");
    echo_through_a_selector(&addr);
    // Gone with the socket: free again, nothing to clean up.
    drop(UnixListener::bind(&addr, 1).unwrap());
    assert_eq!(UnixStream::connect(&addr).unwrap_err(), Error::Os(Errno::ECONNREFUSED));
}

#[test]
fn peer_cred_is_our_own_process() {
    // SAFETY: getpid/getuid/getgid have no preconditions.
    let (pid, uid, gid) = unsafe { (libc::getpid(), libc::geteuid(), libc::getegid()) };
    let addr = abstract_addr("cred");
    let mut listener = UnixListener::bind(&addr, 1).unwrap();
    let client = UnixStream::connect(&addr).unwrap();
    wait(listener.as_raw_fd(), Events::READ);
    let Accept::Stream(server, _) = listener.accept().unwrap() else { panic!("no connection") };
    for cred in [server.peer_cred().unwrap(), client.peer_cred().unwrap()] {
        assert_eq!((cred.pid, cred.uid, cred.gid), (pid, uid, gid));
    }
    let (a, b) = UnixStream::pair().unwrap();
    assert_eq!(a.peer_cred().unwrap(), b.peer_cred().unwrap());
    assert_eq!(a.peer_cred().unwrap().pid, pid);
}

#[test]
fn stream_pair_and_raw_fd_round_trip() {
    let (a, b) = UnixStream::pair().unwrap();
    assert!(a.peer_addr().unwrap().is_unnamed());
    let raw = b.into_raw_fd();
    // SAFETY: `raw` came from into_raw_fd: open, and owned by nobody else.
    let b = unsafe { UnixStream::from_raw_fd(raw) };
    assert_eq!(b.as_raw_fd(), raw);
    assert_eq!(a.send(b"abc").unwrap(), Some(3));
    let mut buf = [0u8; 8];
    assert_eq!(b.recv(&mut buf).unwrap(), Some(3));
    b.take_error().unwrap();
    // Non-blocking and close-on-exec.
    // SAFETY: fcntl with F_GETFL/F_GETFD on an open fd.
    let (fl, fd) = unsafe { (libc::fcntl(raw, libc::F_GETFL), libc::fcntl(raw, libc::F_GETFD)) };
    assert_ne!(fl & libc::O_NONBLOCK, 0);
    assert_ne!(fd & libc::FD_CLOEXEC, 0);
}

#[test]
fn datagram_round_trip_with_the_senders_address_and_truncation() {
    let dir = TempDir::new("dgram");
    let server = UnixDatagram::bind(&dir.addr("server.sock")).unwrap();
    let client = UnixDatagram::bind(&dir.addr("client.sock")).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(server.recv_from(&mut buf).unwrap(), None, "nothing yet: would block");
    let to = server.local_addr().unwrap();
    assert_eq!(to.as_path(), Some(dir.file("server.sock").as_os_str().as_encoded_bytes()));
    assert_eq!(client.send_to(b"hello, server", &to).unwrap(), Some(13));
    assert_eq!(client.send_to(b"hi", &to).unwrap(), Some(2));
    wait(server.as_raw_fd(), Events::READ);

    let d = server.recv_from(&mut buf).unwrap().unwrap();
    assert_eq!((d.len, d.copied, d.truncated), (13, 4, true));
    assert_eq!(&buf, b"hell");
    assert_eq!(d.from, dir.addr("client.sock"));
    assert_eq!((d.dst, d.ifindex), (None, None));
    let d = server.recv(&mut buf).unwrap().unwrap();
    assert_eq!((d.len, d.copied, d.truncated), (2, 2, false), "the next one is whole");

    // The answer goes back to the sender's address.
    assert_eq!(server.send_to(b"ok", &d.from).unwrap(), Some(2));
    let back = client.recv_from(&mut buf).unwrap().unwrap();
    assert_eq!((back.len, back.from), (2, to));

    // A zero-length datagram is one too.
    client.send_to(b"", &to).unwrap();
    let d = server.recv_from(&mut buf).unwrap().unwrap();
    assert_eq!((d.len, d.truncated), (0, false));

    // Nobody bound there.
    let gone = dir.addr("gone.sock");
    drop(UnixDatagram::bind(&gone).unwrap());
    assert_eq!(client.send_to(b"x", &gone), Err(Errno::ECONNREFUSED));
}

#[test]
fn datagram_unnamed_autobind_connect_and_pair() {
    let server = UnixDatagram::bind(&abstract_addr("dgram")).unwrap();
    let to = server.local_addr().unwrap();
    let mut buf = [0u8; 16];

    // Unbound: the datagram arrives from an unnamed address.
    let anon = UnixDatagram::unbound().unwrap();
    anon.send_to(b"a", &to).unwrap();
    assert!(server.recv_from(&mut buf).unwrap().unwrap().from.is_unnamed());

    // Bound to the unnamed address: the kernel picks an abstract name.
    let auto = UnixDatagram::bind(&UnixAddr::unnamed()).unwrap();
    let name = auto.local_addr().unwrap();
    assert!(name.as_abstract_name().is_some_and(|n| !n.is_empty()), "{name:?}");
    auto.connect(&to).unwrap();
    assert_eq!(auto.peer_addr().unwrap(), to);
    assert_eq!(auto.send(b"bb").unwrap(), Some(2));
    assert_eq!(server.recv_from(&mut buf).unwrap().unwrap().from, name);

    let unconnected = UnixDatagram::unbound().unwrap();
    assert_eq!(unconnected.send(b"x"), Err(Errno::ENOTCONN));
    assert_eq!(unconnected.peer_addr().unwrap_err(), Error::Os(Errno::ENOTCONN));

    let (a, b) = UnixDatagram::pair().unwrap();
    a.send(b"one").unwrap();
    a.send(b"two!").unwrap();
    assert_eq!(b.recv(&mut buf).unwrap().map(|d| d.len), Some(3));
    assert_eq!(b.recv(&mut buf).unwrap().map(|d| d.len), Some(4), "boundaries kept");
    assert_eq!(b.recv(&mut buf).unwrap(), None);
    let raw = a.into_raw_fd();
    // SAFETY: from into_raw_fd, owned by nobody else.
    let a = unsafe { UnixDatagram::from_raw_fd(raw) };
    a.send(b"x").unwrap();
    assert!(b.recv(&mut buf).unwrap().is_some());
}

#[test]
fn bad_addresses_are_refused_before_the_call() {
    assert_eq!(UnixAddr::path(&[b'a'; 108]).unwrap_err(), Error::Os(Errno::ENAMETOOLONG));
    assert_eq!(UnixAddr::path(&[b'a'; 300]).unwrap_err(), Error::Os(Errno::ENAMETOOLONG));
    assert_eq!(UnixAddr::path(b"/tmp/a\0b").unwrap_err(), Error::Os(Errno::EINVAL));
    assert_eq!(UnixAddr::path(b"").unwrap_err(), Error::Os(Errno::EINVAL));
    assert_eq!(UnixAddr::abstract_name(&[b'a'; 108]).unwrap_err(), Error::Os(Errno::ENAMETOOLONG));
    assert!(UnixAddr::path(&[b'a'; 107]).is_ok());
    let with_nul = UnixAddr::abstract_name(b"a\0b").unwrap();
    assert_eq!(with_nul.as_abstract_name(), Some(&b"a\0b"[..]));
    assert_ne!(with_nul, UnixAddr::abstract_name(b"a").unwrap());
    assert_eq!(format!("{with_nul:?}"), "Abstract(\"a\\x00b\")");
    assert_eq!(format!("{:?}", UnixAddr::path(b"/x").unwrap()), "Path(\"/x\")");
    assert_eq!(format!("{:?}", UnixAddr::unnamed()), "Unnamed");
    // A path and an abstract name with the same bytes are different.
    assert_ne!(UnixAddr::path(b"x").unwrap(), UnixAddr::abstract_name(b"x").unwrap());
}

#[test]
fn the_longest_path_binds_and_comes_back_the_same() {
    let dir = TempDir::new("long");
    let prefix = dir.0.as_os_str().as_encoded_bytes().len() + 1;
    if prefix + 1 > UnixAddr::MAX_PATH {
        eprintln!("temporary directory path too long for this test: skipped");
        return;
    }
    let name = "s".repeat(UnixAddr::MAX_PATH - prefix);
    let addr = dir.addr(&name);
    assert_eq!(addr.as_path().unwrap().len(), 107);
    let l = UnixListener::bind(&addr, 1).unwrap();
    assert_eq!(l.local_addr().unwrap(), addr);
    let c = UnixStream::connect(&addr).unwrap();
    assert_eq!(c.peer_addr().unwrap(), addr);
}

/// Held by the test that starts a child process and by the one that needs
/// "nobody holds this socket open": a child forked by another test thread
/// holds a copy of every fd until it execs (close-on-exec closes them only
/// then), so a stale socket file's listener can look alive for a moment.
static FORKING: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn binding_an_existing_path_and_bind_replacing() {
    let _no_fork = FORKING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = TempDir::new("replace");
    let addr = dir.addr("ctl.sock");

    // A stale socket file: its listener is gone.
    drop(UnixListener::bind(&addr, 1).unwrap());
    assert!(dir.file("ctl.sock").exists());
    assert_eq!(UnixListener::bind(&addr, 1).unwrap_err(), Error::Os(Errno::EADDRINUSE));
    assert_eq!(UnixDatagram::bind(&addr).unwrap_err(), Error::Os(Errno::EADDRINUSE));
    let mut live = UnixListener::bind_replacing(&addr, 4).unwrap();
    let c = UnixStream::connect(&addr).unwrap();
    wait(live.as_raw_fd(), Events::READ);
    assert!(matches!(live.accept().unwrap(), Accept::Stream(..)));
    drop(c);

    // A live one is left alone (and sees the probe as a connection that
    // closes at once).
    assert_eq!(UnixListener::bind_replacing(&addr, 1).unwrap_err(), Error::Os(Errno::EADDRINUSE));
    assert_eq!(UnixDatagram::bind_replacing(&addr).unwrap_err(), Error::Os(Errno::EADDRINUSE));
    let c = UnixStream::connect(&addr).unwrap();
    wait(live.as_raw_fd(), Events::READ);
    let Accept::Stream(probe, _) = live.accept().unwrap() else { panic!("the probe") };
    let mut buf = [0u8; 4];
    assert_eq!(probe.recv(&mut buf).unwrap(), Some(0), "the probe closed");
    // The datagram probe of a stream socket fails (EPROTOTYPE): nothing queued.
    assert!(matches!(live.accept().unwrap(), Accept::Stream(..)), "the real client");
    assert!(matches!(live.accept().unwrap(), Accept::WouldBlock));
    drop(c);

    // A regular file is never removed.
    let file = dir.file("plain");
    std::fs::write(&file, b"keep me").unwrap();
    let plain = dir.addr("plain");
    assert_eq!(UnixListener::bind(&plain, 1).unwrap_err(), Error::Os(Errno::EADDRINUSE));
    assert_eq!(UnixListener::bind_replacing(&plain, 1).unwrap_err(), Error::Os(Errno::EADDRINUSE));
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");

    // Nor is a symlink to a stale socket (lstat does not follow it).
    let stale = dir.addr("stale.sock");
    drop(UnixDatagram::bind(&stale).unwrap());
    std::os::unix::fs::symlink(dir.file("stale.sock"), dir.file("link")).unwrap();
    let link = dir.addr("link");
    assert_eq!(UnixListener::bind_replacing(&link, 1).unwrap_err(), Error::Os(Errno::EADDRINUSE));
    assert!(dir.file("link").symlink_metadata().unwrap().file_type().is_symlink());
    // The stale datagram socket file itself is replaced.
    let d = UnixDatagram::bind_replacing(&stale).unwrap();
    assert_eq!(d.local_addr().unwrap(), stale);

    // An abstract name in use is not a file: EADDRINUSE either way.
    let name = abstract_addr("replace");
    let _held = UnixListener::bind(&name, 1).unwrap();
    assert_eq!(UnixListener::bind_replacing(&name, 1).unwrap_err(), Error::Os(Errno::EADDRINUSE));
}

#[test]
fn listener_raw_fd_round_trip() {
    let addr = abstract_addr("raw");
    let l = UnixListener::bind(&addr, 1).unwrap();
    let raw = l.into_raw_fd();
    // SAFETY: from into_raw_fd, owned by nobody else.
    let mut l = unsafe { UnixListener::from_raw_fd(raw) };
    l.set_nonblocking(true).unwrap();
    let _c = UnixStream::connect(&addr).unwrap();
    wait(l.as_raw_fd(), Events::READ);
    assert!(matches!(l.accept().unwrap(), Accept::Stream(..)));
    assert!(matches!(l.accept().unwrap(), Accept::WouldBlock));
}

/// As tests/net.rs's TCP recipe: in a child process (the limit is
/// process-wide), lower RLIMIT_NOFILE, use up every fd, connect: the
/// listener drops the connection with its reserve fd instead of spinning,
/// and serves again once fds are free.
#[test]
fn accept_survives_emfile() {
    if std::env::var_os("PICOSEL_UNIX_EMFILE_CHILD").is_some() {
        return emfile_child();
    }
    let exe = std::env::current_exe().unwrap();
    let mut cmd = match std::env::var("PICOSEL_TEST_RUNNER") {
        Ok(r) if !r.trim().is_empty() => {
            let mut parts = r.split_whitespace();
            let mut c = std::process::Command::new(parts.next().unwrap());
            c.args(parts).arg(&exe);
            c
        }
        _ => std::process::Command::new(&exe),
    };
    let _forking = FORKING.lock().unwrap_or_else(|e| e.into_inner());
    let out = cmd
        .args(["accept_survives_emfile", "--exact", "--nocapture", "--test-threads=1"])
        .env("PICOSEL_UNIX_EMFILE_CHILD", "1")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("unix emfile child ok"), "{text}");
}

/// Waits with poll on the stack (no new fd).
fn wait_without_fd(fd: i32) {
    let mut sel: picosel::PollSelector<(), 1> = picosel::PollSelector::new();
    sel.register(fd, Events::READ, ()).unwrap();
    assert_eq!(sel.select(Some(Duration::from_secs(5))).unwrap(), 1);
}

fn emfile_child() {
    let addr = abstract_addr("emfile");
    let mut l = UnixListener::bind(&addr, 16).unwrap();
    let lim = libc::rlimit { rlim_cur: 64, rlim_max: 64 };
    // SAFETY: valid pointer to a rlimit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    let mut hog = Vec::new();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        hog.push(f);
    }
    hog.pop(); // one free fd: for the client socket
    let c = UnixStream::connect(&addr).unwrap();
    wait_without_fd(l.as_raw_fd());
    match l.accept().unwrap() {
        Accept::Dropped(e) => assert_eq!(e, Errno::EMFILE),
        other => panic!("expected a dropped connection, got {other:?}"),
    }
    // Closed by the server: the client sees end of stream, and the
    // listener is quiet again (no spin).
    wait_without_fd(c.as_raw_fd());
    let mut buf = [0u8; 4];
    assert_eq!(c.recv(&mut buf).unwrap(), Some(0));
    assert!(matches!(l.accept().unwrap(), Accept::WouldBlock));
    drop(c);
    hog.truncate(hog.len().saturating_sub(4));
    let _c2 = UnixStream::connect(&addr).unwrap();
    wait_without_fd(l.as_raw_fd());
    assert!(matches!(l.accept().unwrap(), Accept::Stream(..)));
    println!("unix emfile child ok");
}

#[test]
fn addresses_hash_as_they_compare() {
    use std::collections::HashSet;
    let set: HashSet<UnixAddr> = [
        UnixAddr::path(b"/run/a.sock").unwrap(),
        UnixAddr::path(b"/run/a.sock").unwrap(),
        UnixAddr::abstract_name(b"/run/a.sock").unwrap(),
        UnixAddr::unnamed(),
    ]
    .into_iter()
    .collect();
    assert_eq!(set.len(), 3);
}

#[test]
fn send_buffer_bounds_what_is_unread_and_unacked_counts_it() {
    let (a, b) = UnixStream::pair().unwrap();
    assert_eq!(a.unacked().unwrap(), 0);
    a.set_send_buffer(4096).unwrap();
    // SIOCOUTQ on a Unix stream socket: what the peer has not read yet.
    assert_eq!(a.send(b"hello").unwrap(), Some(5));
    assert!(a.unacked().unwrap() >= 5);
    let mut buf = [0u8; 4096];
    assert_eq!(b.recv(&mut buf).unwrap(), Some(5));
    assert_eq!(a.unacked().unwrap(), 0, "the peer read everything");
    // A small send buffer stops the writer early (the default is ~200 KiB).
    let mut written = 0;
    while let Some(n) = a.send(&buf).unwrap() {
        written += n;
        assert!(written < 64 * 1024, "the send buffer did not bound the writer");
    }
    assert!(written > 0);
    assert!(a.unacked().unwrap() >= written);
    // Read half: still owed; read the rest: 0 again.
    let mut read = 0;
    while read < written / 2 {
        read += b.recv(&mut buf).unwrap().unwrap();
    }
    if read < written {
        assert!(a.unacked().unwrap() > 0);
    }
    while let Some(n) = b.recv(&mut buf).unwrap() {
        read += n;
    }
    assert_eq!(read, written);
    assert_eq!(a.unacked().unwrap(), 0);
    // The end of stream, once read, is not owed either.
    a.shutdown_write().unwrap();
    assert_eq!(b.recv(&mut buf).unwrap(), Some(0));
    assert_eq!(a.unacked().unwrap(), 0);
}
