//! UDP: one socket type for unicast, broadcast and multicast datagrams.

use super::options::{Kind, SocketOptions};
use super::{Fd, nonblocking};
use crate::{Errno, Error, RawFd, sys};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Linux's `IFNAMSIZ`: an interface name has at most 15 bytes (plus NUL).
const IFNAMSIZ: usize = 16;

/// One datagram received by [`UdpSocket::recv_from`], [`recv`](UdpSocket::recv)
/// or [`recv_msg`](UdpSocket::recv_msg); with `A` = [`UnixAddr`](super::UnixAddr),
/// by [`UnixDatagram::recv_from`](super::UnixDatagram::recv_from).
///
/// A datagram larger than the buffer is never cut silently: `len` is its
/// real length as sent (the kernel reports it, `MSG_TRUNC`), `copied` what
/// landed in the buffer, and `truncated` says the rest was discarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Datagram<A = SocketAddr> {
    /// The datagram's full length, which may exceed the buffer's.
    pub len: usize,
    /// How many bytes were written to the buffer: `min(len, buf.len())`.
    pub copied: usize,
    /// True if the datagram did not fit and its tail was discarded.
    pub truncated: bool,
    /// The sender's address.
    pub from: A,
    /// The destination address of the datagram (a unicast, broadcast or
    /// multicast address), from `IP_PKTINFO`/`IPV6_PKTINFO`: only from
    /// [`recv_msg`](UdpSocket::recv_msg) after
    /// [`set_recv_pktinfo(true)`](UdpSocket::set_recv_pktinfo), else `None`
    /// (always `None` for a Unix datagram, and so is `ifindex`).
    pub dst: Option<IpAddr>,
    /// The index of the interface the datagram arrived on, as `dst`.
    pub ifindex: Option<u32>,
}

/// A non-blocking, close-on-exec UDP socket over IPv4 or IPv6, closed on
/// drop.
///
/// As for TCP, "would block" is `Ok(None)`. A datagram that does not fit
/// the buffer is reported as [`Datagram::truncated`] with its real length.
///
/// ```
/// use picosel::net::UdpSocket;
///
/// let a = UdpSocket::bind("127.0.0.1:0".parse()?)?;
/// let b = UdpSocket::bind("127.0.0.1:0".parse()?)?;
/// let mut buf = [0u8; 4];
/// assert_eq!(b.recv_from(&mut buf)?, None); // nothing yet: would block
///
/// a.send_to(b"hello", b.local_addr()?)?;
/// # let mut sel: picosel::DefaultSelector<(), 1> = picosel::DefaultSelector::new();
/// # sel.register(b.as_raw_fd(), picosel::Events::READ, ())?;
/// # sel.select(Some(std::time::Duration::from_secs(5)))?;
/// let d = b.recv_from(&mut buf)?.expect("a datagram");
/// assert_eq!(d.from, a.local_addr()?);
/// assert_eq!((d.len, d.copied, d.truncated), (5, 4, true)); // "hell", and the real length
/// assert_eq!(&buf[..d.copied], b"hell");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    fd: Fd,
}

impl UdpSocket {
    /// Creates a socket for `addr`'s family and binds it to `addr`. For an
    /// IPv6 address the socket is IPv6-only. Port 0 picks a free port; see
    /// [`local_addr`](Self::local_addr). To receive multicast, bind the
    /// group's port on the unspecified address (`0.0.0.0:PORT`) or on the
    /// group address itself, then [join](Self::join_multicast_v4) the group.
    pub fn bind(addr: SocketAddr) -> Result<UdpSocket, Error> {
        let fd = Fd(sys::udp_socket(&addr)?);
        if addr.is_ipv6() {
            sys::setsockopt_int(fd.0, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)?;
        }
        sys::bind(fd.0, &addr)?;
        Ok(UdpSocket { fd })
    }

    /// Creates a socket for `addr`'s family, sets the options `opts` chose
    /// (`SO_REUSEADDR`, `SO_REUSEPORT`, `IPV6_V6ONLY`, `SO_BINDTODEVICE`,
    /// buffer sizes; see [`SocketOptions`]) and binds it to `addr`. With
    /// [`SocketOptions::new()`](SocketOptions::new) it is
    /// [`bind(addr)`](Self::bind). The TCP-only `nodelay` and `keepalive`
    /// are refused with `Error::Os(Errno::ENOPROTOOPT)`.
    pub fn bind_with(addr: SocketAddr, opts: &SocketOptions) -> Result<UdpSocket, Error> {
        let fd = Fd(sys::udp_socket(&addr)?);
        opts.apply(fd.0, &addr, Kind::Udp)?;
        sys::bind(fd.0, &addr)?;
        Ok(UdpSocket { fd })
    }

    /// Takes ownership of `fd`, an open UDP socket handed over by the
    /// process's parent (systemd socket activation, procd, inetd). It is
    /// used as it is: if it may be blocking, call
    /// [`set_nonblocking(true)`](Self::set_nonblocking), or `recv`/`send`
    /// will block.
    ///
    /// # Safety
    ///
    /// `fd` must be an open IPv4 or IPv6 datagram socket that nothing else
    /// owns: the `UdpSocket` closes it on drop, so any other owner would
    /// later close (or use) a number that may by then belong to another
    /// file.
    #[allow(unsafe_code)]
    pub unsafe fn from_raw_fd(fd: RawFd) -> UdpSocket {
        UdpSocket { fd: Fd(fd) }
    }

    /// Connects the socket to `addr`: [`send`](Self::send) goes there, and
    /// only datagrams from `addr` are received. No packet is sent. An ICMP
    /// "port unreachable" from the peer shows up as `ECONNREFUSED` from a
    /// later `send`/`recv`.
    pub fn connect(&self, addr: SocketAddr) -> Result<(), Error> {
        Ok(sys::connect(self.fd.0, &addr)?)
    }

    /// Sends `buf` as one datagram to `addr`: `Ok(Some(n))` with `n ==
    /// buf.len()`, `Ok(None)` if the socket's send buffer is full. Too large
    /// a datagram is `EMSGSIZE`; a broadcast address without
    /// [`set_broadcast`](Self::set_broadcast) is `EACCES`.
    pub fn send_to(&self, buf: &[u8], addr: SocketAddr) -> Result<Option<usize>, Errno> {
        nonblocking(sys::retry_on_intr(|| sys::send_to(self.fd.0, buf, &addr)))
    }

    /// Sends `buf` as one datagram to the connected peer, as
    /// [`send_to`](Self::send_to). Unconnected: `EDESTADDRREQ`.
    pub fn send(&self, buf: &[u8]) -> Result<Option<usize>, Errno> {
        nonblocking(sys::retry_on_intr(|| sys::send(self.fd.0, buf)))
    }

    /// Receives one datagram into `buf`: `Ok(Some(datagram))` with its real
    /// length and sender, `Ok(None)` when none is waiting. A datagram
    /// larger than `buf` fills `buf`, the rest is discarded, and
    /// [`Datagram::truncated`] says so. A zero-length datagram is
    /// `Some` with `len == 0`.
    pub fn recv_from(&self, buf: &mut [u8]) -> Result<Option<Datagram>, Errno> {
        nonblocking(sys::retry_on_intr(|| sys::recv_from(self.fd.0, buf)))?
            .map(|r| datagram(r, buf.len()))
            .transpose()
    }

    /// Receives one datagram from the connected peer: the same as
    /// [`recv_from`](Self::recv_from) (the kernel delivers nothing else to
    /// a connected socket; `from` is the peer).
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<Datagram>, Errno> {
        self.recv_from(buf)
    }

    /// Receives one datagram as [`recv_from`](Self::recv_from), with `recvmsg(2)`: after
    /// [`set_recv_pktinfo(true)`](Self::set_recv_pktinfo), [`Datagram::dst`]
    /// and [`Datagram::ifindex`] say which address the datagram was sent to
    /// and which interface it came in on (what a DHCP or mDNS server bound
    /// to `0.0.0.0` needs to answer from the right address). The control
    /// data is read into a buffer on the stack.
    pub fn recv_msg(&self, buf: &mut [u8]) -> Result<Option<Datagram>, Errno> {
        nonblocking(sys::retry_on_intr(|| sys::recv_msg(self.fd.0, buf)))?
            .map(|r| datagram(r, buf.len()))
            .transpose()
    }

    /// Asks the kernel to attach each datagram's destination address and
    /// arrival interface (`IP_PKTINFO` on an IPv4 socket,
    /// `IPV6_RECVPKTINFO` on an IPv6 one), for
    /// [`recv_msg`](Self::recv_msg).
    pub fn set_recv_pktinfo(&self, on: bool) -> Result<(), Error> {
        let (level, name) = match self.local_addr()? {
            SocketAddr::V4(_) => (libc::IPPROTO_IP, libc::IP_PKTINFO),
            SocketAddr::V6(_) => (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO),
        };
        Ok(sys::setsockopt_int(self.fd.0, level, name, i32::from(on))?)
    }

    /// Allows (or forbids) sending to broadcast addresses (`SO_BROADCAST`).
    pub fn set_broadcast(&self, on: bool) -> Result<(), Error> {
        Ok(sys::setsockopt_int(self.fd.0, libc::SOL_SOCKET, libc::SO_BROADCAST, i32::from(on))?)
    }

    /// Whether `SO_BROADCAST` is set.
    pub fn broadcast(&self) -> Result<bool, Error> {
        Ok(sys::getsockopt_int(self.fd.0, libc::SOL_SOCKET, libc::SO_BROADCAST)? != 0)
    }

    /// Joins the IPv4 multicast `group` on the interface whose address is
    /// `interface` (`Ipv4Addr::UNSPECIFIED`: the kernel picks one from the
    /// routing table) (`IP_ADD_MEMBERSHIP`).
    pub fn join_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> Result<(), Error> {
        Ok(sys::multicast_v4(self.fd.0, true, group, interface)?)
    }

    /// Leaves a group joined with [`join_multicast_v4`](Self::join_multicast_v4)
    /// (`IP_DROP_MEMBERSHIP`); `EADDRNOTAVAIL` if it was not joined.
    pub fn leave_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> Result<(), Error> {
        Ok(sys::multicast_v4(self.fd.0, false, group, interface)?)
    }

    /// Joins the IPv6 multicast `group` on the interface with index
    /// `interface` (0: the kernel picks) (`IPV6_ADD_MEMBERSHIP`).
    pub fn join_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> Result<(), Error> {
        Ok(sys::multicast_v6(self.fd.0, true, group, interface)?)
    }

    /// Leaves a group joined with [`join_multicast_v6`](Self::join_multicast_v6)
    /// (`IPV6_DROP_MEMBERSHIP`).
    pub fn leave_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> Result<(), Error> {
        Ok(sys::multicast_v6(self.fd.0, false, group, interface)?)
    }

    /// Whether multicast this socket sends is looped back to local
    /// receivers, this socket included (`IP_MULTICAST_LOOP`; on by default).
    pub fn set_multicast_loop_v4(&self, on: bool) -> Result<(), Error> {
        Ok(sys::setsockopt_int(
            self.fd.0,
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_LOOP,
            i32::from(on),
        )?)
    }

    /// The IPv6 counterpart of
    /// [`set_multicast_loop_v4`](Self::set_multicast_loop_v4)
    /// (`IPV6_MULTICAST_LOOP`).
    pub fn set_multicast_loop_v6(&self, on: bool) -> Result<(), Error> {
        let on = i32::from(on);
        Ok(sys::setsockopt_int(self.fd.0, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP, on)?)
    }

    /// The TTL of outgoing IPv4 multicast (`IP_MULTICAST_TTL`; default 1,
    /// the local network only). At most 255, else `EINVAL`.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> Result<(), Error> {
        let ttl = i32::try_from(ttl).map_err(|_| Errno::EINVAL)?;
        Ok(sys::setsockopt_int(self.fd.0, libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, ttl)?)
    }

    /// The hop limit of outgoing IPv6 multicast (`IPV6_MULTICAST_HOPS`;
    /// default 1). At most 255, else `EINVAL`.
    pub fn set_multicast_hops_v6(&self, hops: u32) -> Result<(), Error> {
        let hops = i32::try_from(hops).map_err(|_| Errno::EINVAL)?;
        Ok(sys::setsockopt_int(self.fd.0, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, hops)?)
    }

    /// Sends IPv4 multicast out of the interface whose address is
    /// `interface` instead of the one the routing table picks
    /// (`IP_MULTICAST_IF`).
    pub fn set_multicast_if_v4(&self, interface: Ipv4Addr) -> Result<(), Error> {
        Ok(sys::multicast_if_v4(self.fd.0, interface)?)
    }

    /// Sends IPv6 multicast out of the interface with index `interface`
    /// (`IPV6_MULTICAST_IF`; 0: the routing table picks).
    pub fn set_multicast_if_v6(&self, interface: u32) -> Result<(), Error> {
        let index = i32::try_from(interface).map_err(|_| Errno::EINVAL)?;
        Ok(sys::setsockopt_int(self.fd.0, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_IF, index)?)
    }

    /// Binds the socket to the network interface `name` (`b"eth0"`,
    /// `b"br-lan"`; `SO_BINDTODEVICE`): it then only receives datagrams
    /// that arrived on it and sends out of it. An empty name removes the
    /// binding. Since Linux 5.7 an unprivileged process may set it once;
    /// changing or removing it (and any use on older kernels) needs
    /// `CAP_NET_RAW`, else `EPERM`.
    ///
    /// Errors: an interface that does not exist is `ENODEV`. A name longer
    /// than 15 bytes (`IFNAMSIZ - 1`), or one with a NUL byte in it, is
    /// refused with `Error::Os(Errno::EINVAL)` **before** the system call:
    /// the kernel would silently cut it at 15 bytes (or at the NUL) and
    /// bind to whatever interface has the shorter name.
    pub fn bind_device(&self, name: &[u8]) -> Result<(), Error> {
        if name.len() > IFNAMSIZ - 1 || name.contains(&0) {
            return Err(Error::Os(Errno::EINVAL));
        }
        Ok(sys::setsockopt_bytes(self.fd.0, libc::SOL_SOCKET, libc::SO_BINDTODEVICE, name)?)
    }

    /// Sets or clears `O_NONBLOCK`. Sockets picosel creates are already
    /// non-blocking; this is for one taken over with `from_raw_fd`
    /// (systemd and procd pass blocking sockets unless told otherwise). The
    /// flag belongs to the open file, so it also changes for any `dup` of
    /// the fd.
    pub fn set_nonblocking(&self, on: bool) -> Result<(), Error> {
        Ok(sys::set_nonblocking(self.fd.0, on)?)
    }

    /// The bound address, with the real port.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        sys::local_addr(self.fd.0)?.ok_or(Error::Os(Errno::EAFNOSUPPORT))
    }

    /// The connected peer's address; `ENOTCONN` if not connected.
    pub fn peer_addr(&self) -> Result<SocketAddr, Error> {
        sys::peer_addr(self.fd.0)?.ok_or(Error::Os(Errno::ENOTCONN))
    }

    /// The pending socket error (`SO_ERROR`), e.g. `ECONNREFUSED` after an
    /// ICMP "port unreachable", cleared by reading; `Ok(())` if none.
    pub fn take_error(&self) -> Result<(), Error> {
        match sys::getsockopt_int(self.fd.0, libc::SOL_SOCKET, libc::SO_ERROR)? {
            0 => Ok(()),
            e => Err(Error::Os(Errno::from_raw_os_error(e))),
        }
    }

    /// The socket's fd, to register with a selector (`READ` when a
    /// datagram is waiting).
    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.0
    }

    /// Gives up ownership of the fd: it is returned open and no longer
    /// closed on drop.
    pub fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw()
    }
}

/// The public view of what the kernel reported. A sender address that is
/// neither IPv4 nor IPv6 (only possible for an fd that is not the UDP
/// socket [`UdpSocket::from_raw_fd`] was promised) is `EAFNOSUPPORT`.
fn datagram(r: sys::Received, cap: usize) -> Result<Datagram, Errno> {
    Ok(Datagram {
        len: r.len,
        copied: r.len.min(cap),
        truncated: r.truncated,
        from: r.from.ok_or(Errno::EAFNOSUPPORT)?,
        dst: r.dst,
        ifindex: r.ifindex,
    })
}
