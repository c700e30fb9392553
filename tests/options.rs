//! `SocketOptions` on real sockets: what the kernel reports back through
//! getsockopt, SO_REUSEPORT, a dual-stack listener, and the refusals.

use picosel::net::{Accept, SocketOptions, TcpListener, TcpStream, UdpSocket};
use picosel::{DefaultSelector, Errno, Error, Events};
use std::net::SocketAddr;
use std::time::Duration;

fn opt(fd: i32, level: i32, name: i32) -> i32 {
    let mut value = 0i32;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: the pointers describe `value` and `len`, alive for the call.
    let ret =
        unsafe { libc::getsockopt(fd, level, name, (&mut value as *mut i32).cast(), &mut len) };
    assert_eq!(ret, 0, "getsockopt({level}, {name}) on fd {fd}");
    value
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

fn accept(l: &mut TcpListener) -> (TcpStream, SocketAddr) {
    wait(l.as_raw_fd(), Events::READ);
    match l.accept().unwrap() {
        Accept::Stream(s, Some(peer)) => (s, peer),
        other => panic!("{other:?}"),
    }
}

fn have_ipv6() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

const SOL: i32 = libc::SOL_SOCKET;
const TCP: i32 = libc::IPPROTO_TCP;

#[test]
fn the_defaults_are_what_bind_does() {
    let plain = TcpListener::bind("127.0.0.1:0".parse().unwrap(), 16).unwrap();
    let with =
        TcpListener::bind_with("127.0.0.1:0".parse().unwrap(), &SocketOptions::new()).unwrap();
    for fd in [plain.as_raw_fd(), with.as_raw_fd()] {
        assert_eq!(opt(fd, SOL, libc::SO_REUSEADDR), 1);
        assert_eq!(opt(fd, SOL, libc::SO_REUSEPORT), 0);
        assert_eq!(opt(fd, TCP, libc::TCP_NODELAY), 0);
        assert_eq!(opt(fd, SOL, libc::SO_KEEPALIVE), 0);
    }
    assert_eq!(SocketOptions::default(), SocketOptions::new());
    let udp = UdpSocket::bind_with("127.0.0.1:0".parse().unwrap(), &SocketOptions::new()).unwrap();
    assert_eq!(opt(udp.as_raw_fd(), SOL, libc::SO_REUSEADDR), 0, "UDP: off by default");
    let client =
        TcpStream::connect_with(plain.local_addr().unwrap(), &SocketOptions::new()).unwrap();
    assert_eq!(opt(client.as_raw_fd(), SOL, libc::SO_REUSEADDR), 0, "connect: off by default");
    if have_ipv6() {
        let v6 = TcpListener::bind_with("[::1]:0".parse().unwrap(), &SocketOptions::new()).unwrap();
        assert_eq!(opt(v6.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_V6ONLY), 1);
        let off = SocketOptions::new().reuse_addr(false);
        let v6 = TcpListener::bind_with("[::1]:0".parse().unwrap(), &off).unwrap();
        assert_eq!(opt(v6.as_raw_fd(), SOL, libc::SO_REUSEADDR), 0);
    }
}

#[test]
fn nodelay_keepalive_and_buffers_are_set_and_inherited() {
    const OPTS: SocketOptions = SocketOptions::new()
        .nodelay(true)
        .keepalive(30, 7, 4)
        .send_buffer(64 * 1024)
        .recv_buffer(32 * 1024)
        .backlog(4);
    let mut l = TcpListener::bind_with("127.0.0.1:0".parse().unwrap(), &OPTS).unwrap();
    let c = TcpStream::connect_with(l.local_addr().unwrap(), &OPTS).unwrap();
    let (s, _) = accept(&mut l);
    for (fd, what) in
        [(l.as_raw_fd(), "listener"), (s.as_raw_fd(), "accepted"), (c.as_raw_fd(), "client")]
    {
        assert_eq!(opt(fd, TCP, libc::TCP_NODELAY), 1, "{what}: TCP_NODELAY");
        assert_eq!(opt(fd, SOL, libc::SO_KEEPALIVE), 1, "{what}: SO_KEEPALIVE");
        assert_eq!(opt(fd, TCP, libc::TCP_KEEPIDLE), 30, "{what}: TCP_KEEPIDLE");
        assert_eq!(opt(fd, TCP, libc::TCP_KEEPINTVL), 7, "{what}: TCP_KEEPINTVL");
        assert_eq!(opt(fd, TCP, libc::TCP_KEEPCNT), 4, "{what}: TCP_KEEPCNT");
        // The kernel doubles what is set (and enforces a minimum).
        assert_eq!(opt(fd, SOL, libc::SO_SNDBUF), 128 * 1024, "{what}: SO_SNDBUF");
        assert_eq!(opt(fd, SOL, libc::SO_RCVBUF), 64 * 1024, "{what}: SO_RCVBUF");
    }
    // 0 keeps the system's value: only SO_KEEPALIVE is set.
    let sys = TcpListener::bind("127.0.0.1:0".parse().unwrap(), 1).unwrap();
    let default_idle = opt(sys.as_raw_fd(), TCP, libc::TCP_KEEPIDLE);
    let zero = SocketOptions::new().keepalive(0, 0, 0);
    let l = TcpListener::bind_with("127.0.0.1:0".parse().unwrap(), &zero).unwrap();
    assert_eq!(opt(l.as_raw_fd(), SOL, libc::SO_KEEPALIVE), 1);
    assert_eq!(opt(l.as_raw_fd(), TCP, libc::TCP_KEEPIDLE), default_idle);
}

#[test]
fn reuse_port_lets_two_listeners_share_a_port() {
    let reuse = SocketOptions::new().reuse_port(true);
    let a = TcpListener::bind_with("127.0.0.1:0".parse().unwrap(), &reuse).unwrap();
    let addr = a.local_addr().unwrap();
    assert_eq!(opt(a.as_raw_fd(), SOL, libc::SO_REUSEPORT), 1);
    let b = TcpListener::bind_with(addr, &reuse).unwrap();
    assert_eq!(b.local_addr().unwrap(), addr);
    // Without it on the newcomer, the port is taken.
    let err = TcpListener::bind_with(addr, &SocketOptions::new()).unwrap_err();
    assert_eq!(err, Error::Os(Errno::EADDRINUSE));
    assert_eq!(TcpListener::bind(addr, 1).unwrap_err(), Error::Os(Errno::EADDRINUSE));

    // A connection lands on one of the two.
    let (mut a, mut b) = (a, b);
    let _c = TcpStream::connect(addr).unwrap();
    let mut sel: DefaultSelector<u8, 2> = DefaultSelector::new();
    sel.register(a.as_raw_fd(), Events::READ, 0).unwrap();
    sel.register(b.as_raw_fd(), Events::READ, 1).unwrap();
    assert_eq!(sel.select(Some(Duration::from_secs(5))).unwrap(), 1);
    let (_, _) = sel.next_ready().unwrap();
    let got = [a.accept().unwrap(), b.accept().unwrap()];
    assert_eq!(got.iter().filter(|g| matches!(g, Accept::Stream(..))).count(), 1);

    // UDP the same way.
    let u = UdpSocket::bind_with("127.0.0.1:0".parse().unwrap(), &reuse).unwrap();
    let uaddr = u.local_addr().unwrap();
    let u2 = UdpSocket::bind_with(uaddr, &reuse).unwrap();
    assert_eq!(u2.local_addr().unwrap(), uaddr);
    assert_eq!(UdpSocket::bind(uaddr).unwrap_err(), Error::Os(Errno::EADDRINUSE));
}

#[test]
fn a_dual_stack_listener_accepts_ipv4() {
    if !have_ipv6() {
        eprintln!("no IPv6 on this machine: dual-stack test skipped");
        return;
    }
    let dual = SocketOptions::new().only_v6(false);
    let mut l = TcpListener::bind_with("[::]:0".parse().unwrap(), &dual).unwrap();
    assert_eq!(opt(l.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_V6ONLY), 0);
    let port = l.local_addr().unwrap().port();
    let c = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).unwrap();
    let (s, peer) = accept(&mut l);
    wait(c.as_raw_fd(), Events::WRITE);
    c.take_error().unwrap();
    let SocketAddr::V6(peer) = peer else { panic!("{peer}: expected an IPv4-mapped IPv6 address") };
    assert_eq!(peer.ip().to_ipv4_mapped(), Some(std::net::Ipv4Addr::LOCALHOST));
    assert_eq!(peer.port(), c.local_addr().unwrap().port());
    assert_eq!(c.send(b"v4").unwrap(), Some(2));
    wait(s.as_raw_fd(), Events::READ);
    let mut buf = [0u8; 4];
    assert_eq!(s.recv(&mut buf).unwrap(), Some(2));

    // IPv6-only (the default) on the same port is refused: the dual-stack
    // socket holds the IPv4 side too.
    let v6only = TcpListener::bind_with(l.local_addr().unwrap(), &SocketOptions::new());
    assert_eq!(v6only.unwrap_err(), Error::Os(Errno::EADDRINUSE));
}

#[test]
fn refusals_before_the_call_and_from_the_kernel() {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let einval = Error::Os(Errno::EINVAL);
    // Interface names: too long or with a NUL, never passed on.
    for name in [&b"0123456789abcdef"[..], b"lo\0x", &[b'x'; 40]] {
        let opts = SocketOptions::new().bind_device(name);
        assert_eq!(TcpListener::bind_with(any, &opts).unwrap_err(), einval);
        assert_eq!(UdpSocket::bind_with(any, &opts).unwrap_err(), einval);
    }
    assert_eq!(
        TcpListener::bind_with(any, &SocketOptions::new().send_buffer(-1)).unwrap_err(),
        einval
    );
    assert_eq!(
        TcpListener::bind_with(any, &SocketOptions::new().keepalive(u32::MAX, 1, 1)).unwrap_err(),
        einval
    );
    // The kernel's range for TCP_KEEPIDLE is 1..=32767.
    assert_eq!(
        TcpListener::bind_with(any, &SocketOptions::new().keepalive(40_000, 1, 1)).unwrap_err(),
        einval
    );
    // TCP options on UDP.
    let enoprotoopt = Error::Os(Errno::ENOPROTOOPT);
    assert_eq!(
        UdpSocket::bind_with(any, &SocketOptions::new().nodelay(true)).unwrap_err(),
        enoprotoopt
    );
    assert_eq!(
        UdpSocket::bind_with(any, &SocketOptions::new().keepalive(1, 1, 1)).unwrap_err(),
        enoprotoopt
    );
    // An interface that does not exist: ENODEV (EPERM where binding to a
    // device needs CAP_NET_RAW, before Linux 5.7).
    let err =
        TcpListener::bind_with(any, &SocketOptions::new().bind_device(b"nosuchif0")).unwrap_err();
    assert!(err == Error::Os(Errno::ENODEV) || err == Error::Os(Errno::EPERM), "{err:?}");
    // An empty name sets nothing.
    TcpListener::bind_with(any, &SocketOptions::new().bind_device(b"")).unwrap();
}

#[test]
fn bind_device_to_loopback() {
    let opts = SocketOptions::new().bind_device(b"lo");
    match UdpSocket::bind_with("127.0.0.1:0".parse().unwrap(), &opts) {
        Ok(u) => {
            let peer = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            peer.send_to(b"x", u.local_addr().unwrap()).unwrap();
            wait(u.as_raw_fd(), Events::READ);
            let mut buf = [0u8; 2];
            assert_eq!(u.recv_from(&mut buf).unwrap().map(|d| d.len), Some(1));
        }
        Err(e) if e == Error::Os(Errno::EPERM) => {
            eprintln!("SO_BINDTODEVICE needs CAP_NET_RAW on this kernel: skipped");
        }
        Err(e) => panic!("{e:?}"),
    }
}
