//! Socket calls: the address conversions and the calls `net.rs` makes.

use super::{cvt, cvt_size};
use crate::Errno;
use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// A socket address in the kernel's layout, big enough for IPv4 and IPv6.
struct RawAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl RawAddr {
    fn empty() -> RawAddr {
        // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
        let storage = unsafe { core::mem::zeroed() };
        RawAddr { storage, len: core::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t }
    }

    fn from(addr: &SocketAddr) -> RawAddr {
        let mut raw = RawAddr::empty();
        match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for
                // sockaddr_in; we write one whole sockaddr_in at its start.
                unsafe {
                    core::ptr::write((&mut raw.storage as *mut libc::sockaddr_storage).cast(), sin)
                };
                raw.len = core::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: libc::in6_addr { s6_addr: a.ip().octets() },
                    sin6_scope_id: a.scope_id(),
                };
                // SAFETY: as above, for sockaddr_in6.
                unsafe {
                    core::ptr::write((&mut raw.storage as *mut libc::sockaddr_storage).cast(), sin6)
                };
                raw.len = core::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            }
        }
        raw
    }

    fn to_socket_addr(&self) -> Option<SocketAddr> {
        let ptr = &self.storage as *const libc::sockaddr_storage;
        match i32::from(self.storage.ss_family) {
            libc::AF_INET => {
                // SAFETY: the kernel wrote a sockaddr_in (family AF_INET) at the
                // start of the storage, which is large enough and aligned.
                let sin: libc::sockaddr_in = unsafe { core::ptr::read(ptr.cast()) };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(sin.sin_port))))
            }
            libc::AF_INET6 => {
                // SAFETY: as above, for sockaddr_in6 (family AF_INET6).
                let sin6: libc::sockaddr_in6 = unsafe { core::ptr::read(ptr.cast()) };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                let port = u16::from_be(sin6.sin6_port);
                Some(SocketAddr::V6(SocketAddrV6::new(
                    ip,
                    port,
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    fn ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }
}

/// A non-blocking, close-on-exec TCP socket for `addr`'s family.
pub fn tcp_socket(addr: &SocketAddr) -> Result<i32, Errno> {
    let domain = if addr.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    let ty = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: plain integers.
    cvt(unsafe { libc::socket(domain, ty, 0) })
}

/// `setsockopt` with an `int` value.
pub fn setsockopt_int(fd: i32, level: i32, name: i32, value: i32) -> Result<(), Errno> {
    let len = core::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: the pointer and length describe `value`, alive for the call.
    cvt(unsafe { libc::setsockopt(fd, level, name, (&value as *const i32).cast(), len) }).map(drop)
}

/// `getsockopt` of an `int` value.
pub fn getsockopt_int(fd: i32, level: i32, name: i32) -> Result<i32, Errno> {
    let mut value = 0i32;
    let mut len = core::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: the pointers describe `value` and `len`, alive for the call.
    cvt(unsafe { libc::getsockopt(fd, level, name, (&mut value as *mut i32).cast(), &mut len) })?;
    Ok(value)
}

/// Sets `SO_LINGER` (on, with `seconds`): 0 makes `close` send a reset.
pub fn set_linger(fd: i32, seconds: i32) -> Result<(), Errno> {
    let value = libc::linger { l_onoff: 1, l_linger: seconds };
    let len = core::mem::size_of::<libc::linger>() as libc::socklen_t;
    // SAFETY: the pointer and length describe `value`, alive for the call.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&value as *const libc::linger).cast(),
            len,
        )
    })
    .map(drop)
}

/// `bind(2)`.
pub fn bind(fd: i32, addr: &SocketAddr) -> Result<(), Errno> {
    let raw = RawAddr::from(addr);
    // SAFETY: `raw` holds a valid sockaddr of `raw.len` bytes.
    cvt(unsafe { libc::bind(fd, raw.ptr(), raw.len) }).map(drop)
}

/// `listen(2)`.
pub fn listen(fd: i32, backlog: i32) -> Result<(), Errno> {
    // SAFETY: plain integers.
    cvt(unsafe { libc::listen(fd, backlog) }).map(drop)
}

/// `connect(2)`; a non-blocking socket returns `EINPROGRESS`.
pub fn connect(fd: i32, addr: &SocketAddr) -> Result<(), Errno> {
    let raw = RawAddr::from(addr);
    // SAFETY: `raw` holds a valid sockaddr of `raw.len` bytes.
    cvt(unsafe { libc::connect(fd, raw.ptr(), raw.len) }).map(drop)
}

/// `accept4(2)` with `SOCK_NONBLOCK | SOCK_CLOEXEC`: the new fd and the
/// peer's address.
pub fn accept(fd: i32) -> Result<(i32, Option<SocketAddr>), Errno> {
    let mut raw = RawAddr::empty();
    let ptr = (&mut raw.storage as *mut libc::sockaddr_storage).cast();
    // SAFETY: `ptr` and `raw.len` describe writable storage for any address.
    let new = cvt(unsafe {
        libc::accept4(fd, ptr, &mut raw.len, libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)
    })?;
    Ok((new, raw.to_socket_addr()))
}

/// `getsockname(2)`.
pub fn local_addr(fd: i32) -> Result<Option<SocketAddr>, Errno> {
    let mut raw = RawAddr::empty();
    let ptr = (&mut raw.storage as *mut libc::sockaddr_storage).cast();
    // SAFETY: `ptr` and `raw.len` describe writable storage for any address.
    cvt(unsafe { libc::getsockname(fd, ptr, &mut raw.len) })?;
    Ok(raw.to_socket_addr())
}

/// `getpeername(2)`.
pub fn peer_addr(fd: i32) -> Result<Option<SocketAddr>, Errno> {
    let mut raw = RawAddr::empty();
    let ptr = (&mut raw.storage as *mut libc::sockaddr_storage).cast();
    // SAFETY: `ptr` and `raw.len` describe writable storage for any address.
    cvt(unsafe { libc::getpeername(fd, ptr, &mut raw.len) })?;
    Ok(raw.to_socket_addr())
}

/// `send(2)` with `MSG_NOSIGNAL`: a reset peer gives `EPIPE`, never SIGPIPE.
#[inline(always)]
pub fn send(fd: i32, buf: &[u8]) -> Result<usize, Errno> {
    // SAFETY: the pointer and length describe a valid, readable byte slice.
    cvt_size(unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) })
}

/// `recv(2)`.
#[inline(always)]
pub fn recv(fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the pointer and length describe a valid, writable byte slice.
    cvt_size(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) })
}

/// `shutdown(2)`.
pub fn shutdown(fd: i32, how: i32) -> Result<(), Errno> {
    // SAFETY: plain integers.
    cvt(unsafe { libc::shutdown(fd, how) }).map(drop)
}

/// `ioctl(SIOCOUTQ)`: bytes in the send queue that the peer has not
/// acknowledged yet (sent or not).
pub fn outq(fd: i32) -> Result<usize, Errno> {
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCOUTQ (TIOCOUTQ on Linux) writes one int through the
    // pointer, which points at `n`, alive for the call.
    cvt(unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut n) })?;
    Ok(n.max(0) as usize)
}
