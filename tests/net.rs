//! Non-blocking TCP on loopback, IPv4 and IPv6.

use picosel::net::{Accept, TcpListener, TcpStream};
use picosel::{DefaultSelector, Errno, Error, Events};
use std::net::SocketAddr;
use std::time::Duration;

fn wait(fd: i32, events: Events) {
    let mut sel: DefaultSelector<(), 2> = DefaultSelector::new();
    sel.register(fd, events, ()).unwrap();
    assert_eq!(
        sel.select(Some(Duration::from_secs(5))).unwrap(),
        1,
        "fd {fd} never became {events:?}"
    );
}

fn accept(l: &mut TcpListener) -> (TcpStream, SocketAddr) {
    wait(l.as_raw_fd(), Events::READ);
    match l.accept().unwrap() {
        Accept::Stream(s, Some(peer)) => (s, peer),
        other => panic!("{other:?}"),
    }
}

fn round_trip(bind: &str) {
    let mut l = TcpListener::bind(bind.parse().unwrap(), 16).unwrap();
    let addr = l.local_addr().unwrap();
    assert_ne!(addr.port(), 0);
    assert!(matches!(l.accept().unwrap(), Accept::WouldBlock));
    let c = TcpStream::connect(addr).unwrap();
    let (s, peer) = accept(&mut l);
    wait(c.as_raw_fd(), Events::WRITE);
    c.take_error().unwrap();
    assert_eq!(peer, c.local_addr().unwrap());
    assert_eq!(s.peer_addr().unwrap(), peer);
    let mut buf = [0u8; 16];
    assert_eq!(s.recv(&mut buf).unwrap(), None, "nothing sent yet: would block");
    assert_eq!(c.send(b"hello").unwrap(), Some(5));
    wait(s.as_raw_fd(), Events::READ);
    assert_eq!(s.recv(&mut buf).unwrap(), Some(5));
    assert_eq!(&buf[..5], b"hello");
    c.shutdown_write().unwrap();
    wait(s.as_raw_fd(), Events::READ);
    assert_eq!(s.recv(&mut buf).unwrap(), Some(0), "end of stream");
}

#[test]
fn ipv4_loopback_round_trip() {
    round_trip("127.0.0.1:0");
}

#[test]
fn ipv6_loopback_round_trip() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback on this machine: skipped");
        return;
    }
    round_trip("[::1]:0");
}

#[test]
fn send_after_peer_reset_is_an_error_not_sigpipe() {
    let mut l = TcpListener::bind("127.0.0.1:0".parse().unwrap(), 4).unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = accept(&mut l);
    wait(c.as_raw_fd(), Events::WRITE);
    s.set_reset_on_close().unwrap();
    drop(s);
    wait(c.as_raw_fd(), Events::READ);
    let mut failed = None;
    for _ in 0..100 {
        if let Err(e) = c.send(&[0u8; 1024]) {
            failed = Some(e);
            break;
        }
    }
    let e = failed.expect("sending to a reset peer keeps succeeding");
    assert!(matches!(e, Errno::EPIPE | Errno::ECONNRESET), "{e}");
}

/// A TCP port on 127.0.0.1 that refuses connections for as long as the
/// returned fd lives: a socket bound to it (without `SO_REUSEADDR`) but not
/// listening. Nobody else can bind the port meanwhile, unlike a listener
/// that was bound and dropped, whose port another test binding port 0 may
/// get in between.
fn refusing_port() -> (std::os::fd::OwnedFd, std::net::SocketAddr) {
    use std::os::fd::FromRawFd;
    // SAFETY (test): plain integers; the new fd is owned by the OwnedFd.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY (test): `fd` is a new socket nothing else owns.
    let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    // SAFETY (test): sockaddr_in is plain data; all-zero is valid.
    let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    sin.sin_family = libc::AF_INET as libc::sa_family_t;
    sin.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
    let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let ptr = (&mut sin as *mut libc::sockaddr_in).cast::<libc::sockaddr>();
    // SAFETY (test): `ptr` and `len` describe `sin`, alive for both calls.
    unsafe {
        assert_eq!(libc::bind(fd, ptr, len), 0, "bind: {}", std::io::Error::last_os_error());
        assert_eq!(libc::getsockname(fd, ptr, &mut len), 0);
    }
    let port = u16::from_be(sin.sin_port);
    (owned, std::net::SocketAddr::from(([127, 0, 0, 1], port)))
}

#[test]
fn connect_refused_shows_in_take_error() {
    let (_held, addr) = refusing_port();
    match TcpStream::connect(addr) {
        Err(e) => assert_eq!(e, Error::Os(Errno::ECONNREFUSED)),
        Ok(c) => {
            wait(c.as_raw_fd(), Events::WRITE);
            assert_eq!(c.take_error(), Err(Error::Os(Errno::ECONNREFUSED)));
        }
    }
}

#[test]
fn bind_errors_carry_the_errno() {
    let l = TcpListener::bind("127.0.0.1:0".parse().unwrap(), 1).unwrap();
    let e = TcpListener::bind(l.local_addr().unwrap(), 1).unwrap_err();
    assert_eq!(e, Error::Os(Errno::EADDRINUSE));
    assert_eq!(e.to_string(), "EADDRINUSE: address already in use");
}

/// The EMFILE recipe (libuv's test-emfile): in a child process (the limit
/// is process-wide), lower RLIMIT_NOFILE, use up every fd, connect: the
/// listener reports the dropped connection instead of spinning, and serves
/// again once fds are free.
#[test]
fn accept_survives_emfile() {
    if std::env::var_os("PICOSEL_EMFILE_CHILD").is_some() {
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
    let out = cmd
        .args(["accept_survives_emfile", "--exact", "--nocapture", "--test-threads=1"])
        .env("PICOSEL_EMFILE_CHILD", "1")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("emfile child ok"), "{text}");
}

fn emfile_child() {
    let mut l = TcpListener::bind("127.0.0.1:0".parse().unwrap(), 16).unwrap();
    let addr = l.local_addr().unwrap();
    // Leave exactly one free fd below a low limit, then take it with a client.
    let lim = libc::rlimit { rlim_cur: 64, rlim_max: 64 };
    // SAFETY: valid pointer to a rlimit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    let mut hog = Vec::new();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        hog.push(f);
    }
    hog.pop(); // one free fd: for the client socket
    let c = std::net::TcpStream::connect(addr).unwrap();
    wait_without_fd(&l);
    match l.accept().unwrap() {
        Accept::Dropped(e) => assert_eq!(e, Errno::EMFILE),
        other => panic!("expected a dropped connection, got {other:?}"),
    }
    // The connection was closed by the server: the client sees EOF, and the
    // listener is quiet again (no spin).
    use std::io::Read;
    let mut buf = [0u8; 4];
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!((&c).read(&mut buf).unwrap(), 0);
    assert!(matches!(l.accept().unwrap(), Accept::WouldBlock));
    drop(c);
    // Free fds: the listener serves again.
    hog.truncate(hog.len().saturating_sub(4));
    let c2 = std::net::TcpStream::connect(addr).unwrap();
    wait_without_fd(&l);
    assert!(matches!(l.accept().unwrap(), Accept::Stream(..)));
    drop(c2);
    println!("emfile child ok");
}

/// Waits for the listener to be readable using poll on the stack (no new fd).
fn wait_without_fd(l: &TcpListener) {
    let mut sel: picosel::PollSelector<(), 1> = picosel::PollSelector::new();
    sel.register(l.as_raw_fd(), Events::READ, ()).unwrap();
    assert_eq!(sel.select(Some(Duration::from_secs(5))).unwrap(), 1);
}

#[test]
fn send_would_block_when_full_then_writable_again() {
    let mut l = TcpListener::bind("127.0.0.1:0".parse().unwrap(), 4).unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = accept(&mut l);
    wait(c.as_raw_fd(), Events::WRITE);
    c.set_nodelay(true).unwrap();
    let chunk = [0x5au8; 65536];
    let mut sent = 0usize;
    // Nobody reads: the kernel buffers fill and send says "would block".
    while let Some(n) = c.send(&chunk).unwrap() {
        sent += n;
        assert!(sent < 256 << 20, "send never blocked");
    }
    assert!(c.unacked().unwrap() > 0, "queued bytes are not acknowledged");
    let mut buf = [0u8; 65536];
    let mut got = 0usize;
    while got < sent {
        wait(s.as_raw_fd(), Events::READ);
        while let Some(n) = s.recv(&mut buf).unwrap() {
            assert!(n > 0 && buf[..n].iter().all(|&b| b == 0x5a));
            got += n;
        }
    }
    assert_eq!(got, sent);
    // Everything arrived, so everything is (or is about to be) acknowledged.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while c.unacked().unwrap() > 0 {
        assert!(std::time::Instant::now() < deadline, "never acknowledged");
        std::thread::sleep(Duration::from_millis(1));
    }
    wait(c.as_raw_fd(), Events::WRITE);
    assert!(c.send(b"more").unwrap().is_some());
}

#[test]
fn into_raw_fd_hands_over_an_open_fd() {
    let l = TcpListener::bind("127.0.0.1:0".parse().unwrap(), 4).unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let fd = c.into_raw_fd();
    // SAFETY (test): F_GETFD on a plain integer.
    assert!(unsafe { libc::fcntl(fd, libc::F_GETFD) } & libc::FD_CLOEXEC != 0, "open, cloexec");
    // SAFETY (test): we own `fd` now.
    assert_eq!(unsafe { libc::close(fd) }, 0);
    let lfd = l.into_raw_fd();
    // SAFETY (test): as above.
    assert_eq!(unsafe { libc::close(lfd) }, 0);
}

#[test]
fn from_raw_fd_takes_ownership_back() {
    let l = TcpListener::bind("127.0.0.1:0".parse().unwrap(), 4).unwrap();
    let addr = l.local_addr().unwrap();
    let lfd = l.into_raw_fd();
    // SAFETY (test): `lfd` is an open listening socket we own and hand over.
    let mut l = unsafe { TcpListener::from_raw_fd(lfd) };
    l.set_nonblocking(true).unwrap();
    assert_eq!(l.local_addr().unwrap(), addr);
    let c = TcpStream::connect(addr).unwrap();
    let (s, _) = accept(&mut l);
    let sfd = s.into_raw_fd();
    // SAFETY (test): `sfd` is an open connected socket we own and hand over.
    let s = unsafe { TcpStream::from_raw_fd(sfd) };
    s.set_nonblocking(true).unwrap();
    wait(c.as_raw_fd(), Events::WRITE);
    assert_eq!(c.send(b"back").unwrap(), Some(4));
    wait(s.as_raw_fd(), Events::READ);
    assert_eq!(s.recv(&mut [0u8; 8]).unwrap(), Some(4));
}
