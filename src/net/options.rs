//! Socket options chosen before `bind` (or `connect`): [`SocketOptions`].

use crate::{Errno, Error, RawFd, sys};
use core::net::SocketAddr;

/// Linux's `IFNAMSIZ`: an interface name has at most 15 bytes (plus NUL).
const IFNAMSIZ: usize = 16;

/// The backlog [`SocketOptions::new`] listens with: 128, the classic
/// `SOMAXCONN` (the kernel caps it at `net.core.somaxconn`).
const DEFAULT_BACKLOG: i32 = 128;

/// What a socket is set up for; decides the defaults and which options
/// apply.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// [`TcpListener::bind_with`](super::TcpListener::bind_with).
    Listener,
    /// [`TcpStream::connect_with`](super::TcpStream::connect_with).
    Stream,
    /// [`UdpSocket::bind_with`](super::UdpSocket::bind_with).
    Udp,
}

/// TCP keepalive settings, in seconds; 0 keeps the system's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Keepalive {
    idle: u32,
    interval: u32,
    count: u32,
}

/// Options for a socket, set between `socket` and `bind`/`connect`, for
/// [`TcpListener::bind_with`](super::TcpListener::bind_with),
/// [`TcpStream::connect_with`](super::TcpStream::connect_with) and
/// [`UdpSocket::bind_with`](super::UdpSocket::bind_with).
///
/// A small `Copy` value (no heap) built with `const fn` setters, so a
/// program can keep its choice in a `const`. [`SocketOptions::new`] is
/// what the plain constructors do: `bind_with(addr, &SocketOptions::new())`
/// is `TcpListener::bind(addr, 128)` or `UdpSocket::bind(addr)`.
///
/// | setter | option | default |
/// |---|---|---|
/// | [`reuse_addr`](Self::reuse_addr) | `SO_REUSEADDR` | on for a TCP listener (a restart does not wait out `TIME_WAIT`), off for UDP and `connect_with` |
/// | [`reuse_port`](Self::reuse_port) | `SO_REUSEPORT` | off; on lets several sockets of the same user bind the same address and port, the kernel spreading connections (or datagrams) among them |
/// | [`only_v6`](Self::only_v6) | `IPV6_V6ONLY` | on (an IPv6 address takes IPv6 only); off makes `[::]:PORT` a dual-stack socket that also takes IPv4 (as `::ffff:a.b.c.d`); not set for IPv4 or `connect_with` |
/// | [`backlog`](Self::backlog) | `listen(2)` backlog | 128 (listeners only) |
/// | [`bind_device`](Self::bind_device) | `SO_BINDTODEVICE` | none |
/// | [`send_buffer`](Self::send_buffer), [`recv_buffer`](Self::recv_buffer) | `SO_SNDBUF`, `SO_RCVBUF` | the kernel's (it doubles what is set) |
/// | [`nodelay`](Self::nodelay) | `TCP_NODELAY` | off (TCP only) |
/// | [`keepalive`](Self::keepalive) | `SO_KEEPALIVE`, `TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT` | off (TCP only) |
///
/// On a listener, Linux copies the buffer sizes, `TCP_NODELAY` and the
/// keepalive settings to every connection it accepts.
///
/// Errors: an option the kernel refuses fails the constructor with the
/// kernel's errno and the socket is closed: `SO_BINDTODEVICE` with
/// `ENODEV` (no such interface) or `EPERM` (before Linux 5.7 it needs
/// `CAP_NET_RAW`), `TCP_KEEPIDLE`/`TCP_KEEPINTVL` outside 1..=32767 and
/// `TCP_KEEPCNT` outside 1..=127 with `EINVAL`, `SO_REUSEPORT` taken by a
/// socket of another user with `EADDRINUSE` from `bind`. Refused before
/// any system call, with `Error::Os(Errno::EINVAL)`: an interface name
/// longer than 15 bytes or with a NUL in it (the kernel would cut it and
/// bind to another interface), a negative buffer size, a keepalive value
/// over `i32::MAX`; with `Error::Os(Errno::ENOPROTOOPT)`: `nodelay` or
/// `keepalive` for a UDP socket.
///
/// ```
/// use picosel::net::{SocketOptions, TcpListener};
///
/// // A dual-stack listener on [::]:0, one of several sharing the port.
/// const OPTS: SocketOptions = SocketOptions::new()
///     .only_v6(false)
///     .reuse_port(true)
///     .backlog(64)
///     .nodelay(true)
///     .keepalive(60, 10, 5);
/// # if std::net::TcpListener::bind("[::1]:0").is_err() { return Ok(()); } // no IPv6 here
/// let a = TcpListener::bind_with("[::]:0".parse()?, &OPTS)?;
/// let b = TcpListener::bind_with(a.local_addr()?, &OPTS)?; // the same port: SO_REUSEPORT
/// assert_eq!(a.local_addr()?, b.local_addr()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketOptions {
    /// `None`: the kind's default (on for a listener, else off).
    reuse_addr: Option<bool>,
    reuse_port: bool,
    only_v6: bool,
    backlog: i32,
    /// The first bytes of the interface name; `device_len` is the length
    /// given, which may be more than fits (refused when applied).
    device: [u8; IFNAMSIZ],
    device_len: usize,
    send_buffer: Option<i32>,
    recv_buffer: Option<i32>,
    nodelay: bool,
    keepalive: Option<Keepalive>,
}

impl Default for SocketOptions {
    fn default() -> SocketOptions {
        SocketOptions::new()
    }
}

impl SocketOptions {
    /// The defaults of the table above: what `TcpListener::bind(addr, 128)`
    /// and `UdpSocket::bind(addr)` do.
    pub const fn new() -> SocketOptions {
        SocketOptions {
            reuse_addr: None,
            reuse_port: false,
            only_v6: true,
            backlog: DEFAULT_BACKLOG,
            device: [0; IFNAMSIZ],
            device_len: 0,
            send_buffer: None,
            recv_buffer: None,
            nodelay: false,
            keepalive: None,
        }
    }

    /// `SO_REUSEADDR` on or off (default: on for a TCP listener only).
    pub const fn reuse_addr(mut self, on: bool) -> SocketOptions {
        self.reuse_addr = Some(on);
        self
    }

    /// `SO_REUSEPORT`: several sockets (of the same effective user, each
    /// with it set) may bind the same address and port; the kernel spreads
    /// new connections, or datagrams, among them.
    pub const fn reuse_port(mut self, on: bool) -> SocketOptions {
        self.reuse_port = on;
        self
    }

    /// `IPV6_V6ONLY` for an IPv6 address (default on). Off, a socket bound
    /// to `[::]:PORT` also takes IPv4, whose peers show up as IPv4-mapped
    /// IPv6 addresses (`::ffff:192.0.2.1`). Ignored for IPv4.
    pub const fn only_v6(mut self, on: bool) -> SocketOptions {
        self.only_v6 = on;
        self
    }

    /// The `listen(2)` backlog (default 128; the kernel caps it at
    /// `net.core.somaxconn`). Listeners only.
    pub const fn backlog(mut self, backlog: i32) -> SocketOptions {
        self.backlog = backlog;
        self
    }

    /// `SO_BINDTODEVICE`: only traffic of the interface `name`
    /// (`b"br-lan"`), sent out of it. An empty name sets nothing. A name
    /// longer than 15 bytes or with a NUL is refused with `EINVAL` when the
    /// socket is made.
    pub const fn bind_device(mut self, name: &[u8]) -> SocketOptions {
        let mut device = [0u8; IFNAMSIZ];
        let mut dst: &mut [u8] = &mut device;
        let mut src = name;
        while let ([d, dst_rest @ ..], [s, src_rest @ ..]) = (dst, src) {
            *d = *s;
            dst = dst_rest;
            src = src_rest;
        }
        self.device = device;
        self.device_len = name.len();
        self
    }

    /// `SO_SNDBUF` in bytes (the kernel doubles it, and stops growing the
    /// buffer on its own). Negative: `EINVAL`.
    pub const fn send_buffer(mut self, bytes: i32) -> SocketOptions {
        self.send_buffer = Some(bytes);
        self
    }

    /// `SO_RCVBUF` in bytes (the kernel doubles it). Set before `listen`,
    /// it also decides the TCP window scale of accepted connections.
    /// Negative: `EINVAL`.
    pub const fn recv_buffer(mut self, bytes: i32) -> SocketOptions {
        self.recv_buffer = Some(bytes);
        self
    }

    /// `TCP_NODELAY`: small writes go out at once instead of waiting for
    /// an acknowledgement (Nagle's algorithm off). TCP only.
    pub const fn nodelay(mut self, on: bool) -> SocketOptions {
        self.nodelay = on;
        self
    }

    /// `SO_KEEPALIVE` on, with `TCP_KEEPIDLE` (seconds of silence before
    /// the first probe), `TCP_KEEPINTVL` (seconds between probes) and
    /// `TCP_KEEPCNT` (unanswered probes before the connection is dropped
    /// with `ETIMEDOUT`). A 0 keeps the system's value for that one
    /// (`net.ipv4.tcp_keepalive_time`, 7200 s by default, and so on).
    /// TCP only.
    pub const fn keepalive(
        mut self,
        idle_secs: u32,
        interval_secs: u32,
        count: u32,
    ) -> SocketOptions {
        self.keepalive = Some(Keepalive { idle: idle_secs, interval: interval_secs, count });
        self
    }

    /// The backlog to listen with.
    pub(crate) fn listen_backlog(&self) -> i32 {
        self.backlog
    }

    /// Sets the options on `fd`, a fresh socket of `kind` for `addr`, in the
    /// order they must come before `bind`/`connect`. Everything that can be
    /// refused without a system call is checked first.
    pub(crate) fn apply(&self, fd: RawFd, addr: &SocketAddr, kind: Kind) -> Result<(), Error> {
        let einval = Error::Os(Errno::EINVAL);
        let device = self.device.get(..self.device_len);
        let device = match device {
            Some(name) if !name.contains(&0) && name.len() < IFNAMSIZ => name,
            _ => return Err(einval),
        };
        if self.send_buffer.is_some_and(|b| b < 0) || self.recv_buffer.is_some_and(|b| b < 0) {
            return Err(einval);
        }
        let keepalive = match self.keepalive {
            Some(k) => {
                let secs = |v: u32| i32::try_from(v).map_err(|_| Errno::EINVAL);
                Some((secs(k.idle)?, secs(k.interval)?, secs(k.count)?))
            }
            None => None,
        };
        if kind == Kind::Udp && (self.nodelay || keepalive.is_some()) {
            return Err(Error::Os(Errno::ENOPROTOOPT));
        }

        let sol = libc::SOL_SOCKET;
        let reuse_addr = self.reuse_addr.unwrap_or(kind == Kind::Listener);
        if reuse_addr {
            sys::setsockopt_int(fd, sol, libc::SO_REUSEADDR, 1)?;
        }
        if self.reuse_port {
            sys::setsockopt_int(fd, sol, libc::SO_REUSEPORT, 1)?;
        }
        if addr.is_ipv6() && kind != Kind::Stream {
            let on = i32::from(self.only_v6);
            sys::setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, on)?;
        }
        if !device.is_empty() {
            sys::setsockopt_bytes(fd, sol, libc::SO_BINDTODEVICE, device)?;
        }
        if let Some(bytes) = self.send_buffer {
            sys::setsockopt_int(fd, sol, libc::SO_SNDBUF, bytes)?;
        }
        if let Some(bytes) = self.recv_buffer {
            sys::setsockopt_int(fd, sol, libc::SO_RCVBUF, bytes)?;
        }
        if self.nodelay {
            sys::setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)?;
        }
        if let Some((idle, interval, count)) = keepalive {
            sys::setsockopt_int(fd, sol, libc::SO_KEEPALIVE, 1)?;
            let tcp = libc::IPPROTO_TCP;
            for (name, value) in [
                (libc::TCP_KEEPIDLE, idle),
                (libc::TCP_KEEPINTVL, interval),
                (libc::TCP_KEEPCNT, count),
            ] {
                if value != 0 {
                    sys::setsockopt_int(fd, tcp, name, value)?;
                }
            }
        }
        Ok(())
    }
}
