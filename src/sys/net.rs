//! Socket calls: the address conversions and the calls `net.rs` makes.

use super::{cvt, cvt_size};
use crate::Errno;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

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

/// A non-blocking, close-on-exec socket of type `ty` for `addr`'s family.
fn socket(addr: &SocketAddr, ty: i32) -> Result<i32, Errno> {
    let domain = if addr.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    let ty = ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: plain integers.
    cvt(unsafe { libc::socket(domain, ty, 0) })
}

/// A non-blocking, close-on-exec TCP socket for `addr`'s family.
pub fn tcp_socket(addr: &SocketAddr) -> Result<i32, Errno> {
    socket(addr, libc::SOCK_STREAM)
}

/// A non-blocking, close-on-exec UDP socket for `addr`'s family.
pub fn udp_socket(addr: &SocketAddr) -> Result<i32, Errno> {
    socket(addr, libc::SOCK_DGRAM)
}

/// `setsockopt(2)` and `getsockopt(2)` as direct system calls, on the
/// architectures that have had them as calls of their own (not only
/// through `socketcall`) since before Linux 2.6.28: musl's wrappers also
/// convert the time64 timeout options (`SO_RCVTIMEO`, ...), which picosel
/// never uses (524 bytes in a static ARM binary). Elsewhere, libc's.
#[cfg(any(
    target_arch = "arm",
    target_arch = "aarch64",
    target_arch = "x86_64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "riscv64",
    target_arch = "loongarch64"
))]
mod sockopt {
    use libc::{c_int, c_long, c_void, socklen_t};

    /// As `libc::setsockopt`.
    ///
    /// # Safety
    /// `value` points at `len` readable bytes for the call.
    pub unsafe fn setsockopt(
        fd: c_int,
        level: c_int,
        name: c_int,
        value: *const c_void,
        len: socklen_t,
    ) -> c_int {
        let (fd, level, name) = (c_long::from(fd), c_long::from(level), c_long::from(name));
        // SAFETY: the caller's promise; syscall() reads each argument as a
        // long, so all are passed as longs.
        unsafe {
            libc::syscall(libc::SYS_setsockopt, fd, level, name, value as c_long, len as c_long)
                as c_int
        }
    }

    /// As `libc::getsockopt`.
    ///
    /// # Safety
    /// `value` points at `*len` writable bytes and `len` at a writable
    /// `socklen_t`, for the call.
    pub unsafe fn getsockopt(
        fd: c_int,
        level: c_int,
        name: c_int,
        value: *mut c_void,
        len: *mut socklen_t,
    ) -> c_int {
        let (fd, level, name) = (c_long::from(fd), c_long::from(level), c_long::from(name));
        // SAFETY: as for setsockopt.
        unsafe {
            libc::syscall(libc::SYS_getsockopt, fd, level, name, value as c_long, len as c_long)
                as c_int
        }
    }
}
#[cfg(not(any(
    target_arch = "arm",
    target_arch = "aarch64",
    target_arch = "x86_64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "riscv64",
    target_arch = "loongarch64"
)))]
use libc as sockopt;

/// `setsockopt` with an `int` value.
pub fn setsockopt_int(fd: i32, level: i32, name: i32, value: i32) -> Result<(), Errno> {
    let len = core::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: the pointer and length describe `value`, alive for the call.
    cvt(unsafe { sockopt::setsockopt(fd, level, name, (&value as *const i32).cast(), len) })
        .map(drop)
}

/// `getsockopt` of an `int` value.
pub fn getsockopt_int(fd: i32, level: i32, name: i32) -> Result<i32, Errno> {
    let mut value = 0i32;
    let mut len = core::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: the pointers describe `value` and `len`, alive for the call.
    cvt(unsafe {
        sockopt::getsockopt(fd, level, name, (&mut value as *mut i32).cast(), &mut len)
    })?;
    Ok(value)
}

/// `setsockopt` with a byte string value (`SO_BINDTODEVICE`).
pub fn setsockopt_bytes(fd: i32, level: i32, name: i32, value: &[u8]) -> Result<(), Errno> {
    let len = libc::socklen_t::try_from(value.len()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: the pointer and length describe `value`, alive for the call.
    cvt(unsafe { sockopt::setsockopt(fd, level, name, value.as_ptr().cast(), len) }).map(drop)
}

/// `IP_ADD_MEMBERSHIP` (`join`) or `IP_DROP_MEMBERSHIP`: `group` on the
/// interface that has the address `interface` (`0.0.0.0`: the kernel picks).
pub fn multicast_v4(
    fd: i32,
    join: bool,
    group: Ipv4Addr,
    interface: Ipv4Addr,
) -> Result<(), Errno> {
    let name = if join { libc::IP_ADD_MEMBERSHIP } else { libc::IP_DROP_MEMBERSHIP };
    let mreq = libc::ip_mreq {
        imr_multiaddr: libc::in_addr { s_addr: u32::from_ne_bytes(group.octets()) },
        imr_interface: libc::in_addr { s_addr: u32::from_ne_bytes(interface.octets()) },
    };
    let len = core::mem::size_of::<libc::ip_mreq>() as libc::socklen_t;
    // SAFETY: the pointer and length describe `mreq`, alive for the call.
    cvt(unsafe {
        sockopt::setsockopt(fd, libc::IPPROTO_IP, name, (&mreq as *const libc::ip_mreq).cast(), len)
    })
    .map(drop)
}

/// `IPV6_ADD_MEMBERSHIP` (`join`) or `IPV6_DROP_MEMBERSHIP`: `group` on the
/// interface with index `interface` (0: the kernel picks).
pub fn multicast_v6(fd: i32, join: bool, group: Ipv6Addr, interface: u32) -> Result<(), Errno> {
    let name = if join { libc::IPV6_ADD_MEMBERSHIP } else { libc::IPV6_DROP_MEMBERSHIP };
    let mreq = libc::ipv6_mreq {
        ipv6mr_multiaddr: libc::in6_addr { s6_addr: group.octets() },
        // c_uint on Linux, c_int on Android: the same bits.
        ipv6mr_interface: interface as _,
    };
    let len = core::mem::size_of::<libc::ipv6_mreq>() as libc::socklen_t;
    // SAFETY: the pointer and length describe `mreq`, alive for the call.
    cvt(unsafe {
        sockopt::setsockopt(
            fd,
            libc::IPPROTO_IPV6,
            name,
            (&mreq as *const libc::ipv6_mreq).cast(),
            len,
        )
    })
    .map(drop)
}

/// `IP_MULTICAST_IF`: send multicast out of the interface with address
/// `interface`.
pub fn multicast_if_v4(fd: i32, interface: Ipv4Addr) -> Result<(), Errno> {
    let addr = libc::in_addr { s_addr: u32::from_ne_bytes(interface.octets()) };
    let len = core::mem::size_of::<libc::in_addr>() as libc::socklen_t;
    // SAFETY: the pointer and length describe `addr`, alive for the call.
    cvt(unsafe {
        sockopt::setsockopt(
            fd,
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            (&addr as *const libc::in_addr).cast(),
            len,
        )
    })
    .map(drop)
}

/// Sets `SO_LINGER` (on, with `seconds`): 0 makes `close` send a reset.
pub fn set_linger(fd: i32, seconds: i32) -> Result<(), Errno> {
    let value = libc::linger { l_onoff: 1, l_linger: seconds };
    let len = core::mem::size_of::<libc::linger>() as libc::socklen_t;
    // SAFETY: the pointer and length describe `value`, alive for the call.
    cvt(unsafe {
        sockopt::setsockopt(
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

/// `sendto(2)` with `MSG_NOSIGNAL`.
pub fn send_to(fd: i32, buf: &[u8], addr: &SocketAddr) -> Result<usize, Errno> {
    let raw = RawAddr::from(addr);
    // SAFETY: the buffer pointer and length describe a valid, readable byte
    // slice; `raw` holds a valid sockaddr of `raw.len` bytes.
    cvt_size(unsafe {
        libc::sendto(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL, raw.ptr(), raw.len)
    })
}

/// What [`recv_from`] and [`recv_msg`] found: `len` is the datagram's real
/// length (`MSG_TRUNC`), which exceeds the buffer's when it was cut.
pub struct Received {
    pub len: usize,
    pub truncated: bool,
    pub from: Option<SocketAddr>,
    pub dst: Option<IpAddr>,
    pub ifindex: Option<u32>,
}

/// `recvfrom(2)` with `MSG_TRUNC`, so that the result is the datagram's
/// full length even when `buf` holds only its start.
pub fn recv_from(fd: i32, buf: &mut [u8]) -> Result<Received, Errno> {
    let mut raw = RawAddr::empty();
    let ptr = (&mut raw.storage as *mut libc::sockaddr_storage).cast();
    // SAFETY: the buffer pointer and length describe a valid, writable byte
    // slice; `ptr` and `raw.len` describe writable storage for any address.
    let len = cvt_size(unsafe {
        libc::recvfrom(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_TRUNC, ptr, &mut raw.len)
    })?;
    Ok(Received {
        len,
        truncated: len > buf.len(),
        from: raw.to_socket_addr(),
        dst: None,
        ifindex: None,
    })
}

/// Room for one `in_pktinfo` and one `in6_pktinfo` control message (32 and
/// 40 bytes on 64-bit), aligned as `cmsghdr`.
#[repr(C, align(8))]
struct Control([u8; 96]);

/// `recvmsg(2)` with `MSG_TRUNC` and a control buffer on the stack: as
/// [`recv_from`], plus the destination address and interface index from an
/// `IP_PKTINFO` or `IPV6_PKTINFO` control message, if the socket asked for
/// them.
pub fn recv_msg(fd: i32, buf: &mut [u8]) -> Result<Received, Errno> {
    let mut raw = RawAddr::empty();
    let mut control = Control([0; 96]);
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: msghdr is plain data (pointers and integers); all-zero is a
    // valid value (null pointers, zero lengths), filled in below.
    let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
    msg.msg_name = (&mut raw.storage as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = raw.len;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = control.0.len() as _;
    // SAFETY: every pointer in `msg` points at live, writable storage of
    // the length given next to it (`raw`, `iov` describing `buf`, `control`),
    // all of which outlive the call.
    let len = cvt_size(unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_TRUNC) })?;
    raw.len = msg.msg_namelen;
    // The kernel never reports more control bytes than it was given, but
    // the parser does not rely on it.
    let used = (msg.msg_controllen as usize).min(control.0.len());
    let (dst, ifindex) = parse_pktinfo(control.0.get(..used).unwrap_or(&[]));
    Ok(Received {
        len,
        truncated: len > buf.len() || msg.msg_flags & libc::MSG_TRUNC != 0,
        from: raw.to_socket_addr(),
        dst,
        ifindex,
    })
}

/// `CMSG_ALIGN`: control messages are padded to `size_t` alignment.
const fn cmsg_align(len: usize) -> usize {
    (len + core::mem::size_of::<usize>() - 1) & !(core::mem::size_of::<usize>() - 1)
}

/// Reads a `T` from the start of `bytes`, if it is long enough.
fn read_plain<T: Copy>(bytes: &[u8]) -> Option<T> {
    if bytes.len() < core::mem::size_of::<T>() {
        return None;
    }
    // SAFETY: `bytes` holds at least size_of::<T>() readable bytes (checked
    // above), read unaligned; every T used here (cmsghdr, in_pktinfo,
    // in6_pktinfo) is plain C data for which any bit pattern is valid.
    Some(unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

/// Walks the control messages in `control` (what the kernel wrote) and
/// returns the destination address and interface index of the first
/// `IP_PKTINFO` / `IPV6_PKTINFO` message. Every length is checked against
/// the bytes actually there: a short, overlong or zero `cmsg_len` ends the
/// walk instead of reading past the buffer or looping.
// `cmsg_len` is size_t with glibc but socklen_t with musl, `ipi6_ifindex`
// unsigned on Linux but int on Android: the casts are not no-ops everywhere.
#[allow(clippy::unnecessary_cast)]
fn parse_pktinfo(control: &[u8]) -> (Option<IpAddr>, Option<u32>) {
    let header = cmsg_align(core::mem::size_of::<libc::cmsghdr>());
    let mut at = 0usize;
    while let Some(rest) = control.get(at..) {
        let Some(cmsg) = read_plain::<libc::cmsghdr>(rest) else { break };
        let len = cmsg.cmsg_len as usize;
        if len < header || len > rest.len() {
            break;
        }
        let data = rest.get(header..len).unwrap_or(&[]);
        match (cmsg.cmsg_level, cmsg.cmsg_type) {
            (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                if let Some(info) = read_plain::<libc::in_pktinfo>(data) {
                    let dst = Ipv4Addr::from(info.ipi_addr.s_addr.to_ne_bytes());
                    return (Some(IpAddr::V4(dst)), Some(info.ipi_ifindex as u32));
                }
            }
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                if let Some(info) = read_plain::<libc::in6_pktinfo>(data) {
                    let dst = Ipv6Addr::from(info.ipi6_addr.s6_addr);
                    return (Some(IpAddr::V6(dst)), Some(info.ipi6_ifindex as u32));
                }
            }
            _ => {}
        }
        match at.checked_add(cmsg_align(len)) {
            Some(next) if next > at => at = next,
            _ => break,
        }
    }
    (None, None)
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
///
/// Made with `syscall(SYS_ioctl, ...)`, not through the C library's
/// `ioctl`: musl 1.2's `ioctl` carries a table and code to convert the
/// structures of time64 requests (848 bytes in a static ARM binary),
/// which this plain int request does not need.
pub fn outq(fd: i32) -> Result<usize, Errno> {
    let mut n: libc::c_int = 0;
    let ptr: *mut libc::c_int = &mut n;
    // SAFETY: SIOCOUTQ (TIOCOUTQ on Linux) writes one int through the
    // pointer, which points at `n`, alive for the call. syscall() reads
    // each argument as a long: all three are passed as longs.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_ioctl,
            libc::c_long::from(fd),
            libc::TIOCOUTQ as libc::c_ulong,
            ptr as libc::c_long,
        )
    };
    if ret < 0 {
        return Err(super::errno());
    }
    Ok(n.max(0) as usize)
}

// ---- Unix domain sockets -------------------------------------------------

/// The size of `sun_path` in `sockaddr_un`: 108 bytes on Linux.
pub const SUN_PATH_LEN: usize = 108;

/// Where `sun_path` starts in `sockaddr_un` (after `sun_family`).
const SUN_PATH_OFFSET: usize = core::mem::offset_of!(libc::sockaddr_un, sun_path);

/// A Unix socket address as the kernel reported it: the first `len` bytes
/// of `sun_path` (`len` 0: unnamed; a leading NUL: an abstract name; else a
/// path, possibly followed by its NUL terminator).
pub struct UnixRaw {
    pub path: [u8; SUN_PATH_LEN],
    pub len: usize,
}

impl UnixRaw {
    fn empty_un() -> (libc::sockaddr_un, libc::socklen_t) {
        let un = libc::sockaddr_un {
            sun_family: libc::AF_UNIX as libc::sa_family_t,
            sun_path: [0; SUN_PATH_LEN],
        };
        (un, core::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t)
    }

    /// What the kernel wrote into `un`, `len` bytes of it in all.
    // `c_char` is i8 on x86 but u8 on ARM: the cast is not a no-op everywhere.
    #[allow(clippy::unnecessary_cast)]
    fn from_un(un: &libc::sockaddr_un, len: libc::socklen_t) -> UnixRaw {
        let mut raw = UnixRaw { path: [0; SUN_PATH_LEN], len: 0 };
        if i32::from(un.sun_family) != libc::AF_UNIX {
            return raw;
        }
        // The kernel may report a length past the structure (a path that
        // fills sun_path): clamp it to what is there.
        let used = (len as usize).saturating_sub(SUN_PATH_OFFSET).min(SUN_PATH_LEN);
        for (d, s) in raw.path.iter_mut().zip(un.sun_path.iter()).take(used) {
            *d = *s as u8;
        }
        raw.len = used;
        raw
    }
}

/// `sun` (the bytes of `sun_path`: a path without its NUL, or a NUL and an
/// abstract name) as a `sockaddr_un` and its length. A path shorter than
/// `sun_path` gets its NUL terminator counted, as C programs pass it.
// `c_char` is i8 on x86 but u8 on ARM: the cast is not a no-op everywhere.
#[allow(clippy::unnecessary_cast)]
fn sockaddr_un(sun: &[u8]) -> Result<(libc::sockaddr_un, libc::socklen_t), Errno> {
    let (mut un, _) = UnixRaw::empty_un();
    if sun.len() > SUN_PATH_LEN {
        return Err(Errno::EINVAL);
    }
    for (d, s) in un.sun_path.iter_mut().zip(sun) {
        *d = *s as libc::c_char;
    }
    let mut len = SUN_PATH_OFFSET + sun.len();
    if sun.first().is_some_and(|&b| b != 0) && sun.len() < SUN_PATH_LEN {
        len += 1;
    }
    Ok((un, len as libc::socklen_t))
}

fn un_ptr(un: &libc::sockaddr_un) -> *const libc::sockaddr {
    (un as *const libc::sockaddr_un).cast()
}

/// A non-blocking, close-on-exec `AF_UNIX` socket of type `ty`
/// (`SOCK_STREAM`, `SOCK_DGRAM`).
pub fn unix_socket(ty: i32) -> Result<i32, Errno> {
    // SAFETY: plain integers.
    cvt(unsafe { libc::socket(libc::AF_UNIX, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) })
}

/// `socketpair(AF_UNIX, ty)`, both ends non-blocking and close-on-exec.
pub fn unix_pair(ty: i32) -> Result<(i32, i32), Errno> {
    let mut fds = [-1i32; 2];
    let ty = ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: `fds` is a writable array of two ints, as socketpair requires.
    cvt(unsafe { libc::socketpair(libc::AF_UNIX, ty, 0, fds.as_mut_ptr()) })?;
    Ok((fds[0], fds[1]))
}

/// `bind(2)` to the Unix address `sun` (see [`sockaddr_un`]).
pub fn unix_bind(fd: i32, sun: &[u8]) -> Result<(), Errno> {
    let (un, len) = sockaddr_un(sun)?;
    // SAFETY: `un` is a valid sockaddr_un; `len` does not exceed its size.
    cvt(unsafe { libc::bind(fd, un_ptr(&un), len) }).map(drop)
}

/// `connect(2)` to the Unix address `sun`.
pub fn unix_connect(fd: i32, sun: &[u8]) -> Result<(), Errno> {
    let (un, len) = sockaddr_un(sun)?;
    // SAFETY: as in unix_bind.
    cvt(unsafe { libc::connect(fd, un_ptr(&un), len) }).map(drop)
}

/// `accept4(2)` with `SOCK_NONBLOCK | SOCK_CLOEXEC` on a Unix listener.
pub fn unix_accept(fd: i32) -> Result<(i32, UnixRaw), Errno> {
    let (mut un, mut len) = UnixRaw::empty_un();
    let ptr = (&mut un as *mut libc::sockaddr_un).cast();
    // SAFETY: `ptr` and `len` describe a writable sockaddr_un.
    let new =
        cvt(unsafe { libc::accept4(fd, ptr, &mut len, libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) })?;
    Ok((new, UnixRaw::from_un(&un, len)))
}

/// `getsockname(2)` (`peer` false) or `getpeername(2)` of a Unix socket.
pub fn unix_name(fd: i32, peer: bool) -> Result<UnixRaw, Errno> {
    let (mut un, mut len) = UnixRaw::empty_un();
    let ptr = (&mut un as *mut libc::sockaddr_un).cast();
    // SAFETY: `ptr` and `len` describe a writable sockaddr_un.
    cvt(unsafe {
        if peer {
            libc::getpeername(fd, ptr, &mut len)
        } else {
            libc::getsockname(fd, ptr, &mut len)
        }
    })?;
    Ok(UnixRaw::from_un(&un, len))
}

/// `sendto(2)` with `MSG_NOSIGNAL` to the Unix address `sun`.
pub fn unix_send_to(fd: i32, buf: &[u8], sun: &[u8]) -> Result<usize, Errno> {
    let (un, len) = sockaddr_un(sun)?;
    // SAFETY: the buffer pointer and length describe a valid, readable byte
    // slice; `un` is a valid sockaddr_un of at least `len` bytes.
    cvt_size(unsafe {
        libc::sendto(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL, un_ptr(&un), len)
    })
}

/// `recvmsg(2)` with `MSG_TRUNC` on a Unix datagram socket: the datagram's
/// real length, whether it was cut to fit `buf`, and the sender.
pub fn unix_recv_from(fd: i32, buf: &mut [u8]) -> Result<(usize, bool, UnixRaw), Errno> {
    let (mut un, len) = UnixRaw::empty_un();
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: msghdr is plain data (pointers and integers); all-zero is a
    // valid value (null pointers, zero lengths), filled in below.
    let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
    msg.msg_name = (&mut un as *mut libc::sockaddr_un).cast();
    msg.msg_namelen = len;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    // SAFETY: every pointer in `msg` points at live, writable storage of
    // the length given next to it (`un`, `iov` describing `buf`); no
    // control buffer.
    let n = cvt_size(unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_TRUNC) })?;
    let truncated = n > buf.len() || msg.msg_flags & libc::MSG_TRUNC != 0;
    Ok((n, truncated, UnixRaw::from_un(&un, msg.msg_namelen)))
}

/// `SO_PEERCRED`: the pid, uid and gid of the peer's process, as they were
/// when it connected (or created the pair).
pub fn peer_cred(fd: i32) -> Result<(i32, u32, u32), Errno> {
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = core::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: the pointers describe `cred` and `len`, alive for the call.
    cvt(unsafe {
        sockopt::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    })?;
    Ok((cred.pid, cred.uid, cred.gid))
}

/// `path` with a NUL terminator, in a buffer on the stack; `EINVAL` if
/// it is empty, has a NUL in it or is longer than `sun_path`.
fn c_path(path: &[u8]) -> Result<[u8; SUN_PATH_LEN + 1], Errno> {
    if path.is_empty() || path.len() > SUN_PATH_LEN || path.contains(&0) {
        return Err(Errno::EINVAL);
    }
    let mut out = [0u8; SUN_PATH_LEN + 1];
    for (d, s) in out.iter_mut().zip(path) {
        *d = *s;
    }
    Ok(out)
}

/// `lstat(2)`: whether `path` names a socket (not following a symlink).
pub fn is_socket_file(path: &[u8]) -> Result<bool, Errno> {
    let c = c_path(path)?;
    // SAFETY: stat is plain data; all-zero is a valid value.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: `c` is NUL-terminated (c_path); `st` is writable.
    cvt(unsafe { libc::lstat(c.as_ptr().cast(), &mut st) })?;
    Ok(st.st_mode & libc::S_IFMT == libc::S_IFSOCK)
}

/// `unlink(2)`.
pub fn unlink(path: &[u8]) -> Result<(), Errno> {
    let c = c_path(path)?;
    // SAFETY: `c` is NUL-terminated (c_path).
    cvt(unsafe { libc::unlink(c.as_ptr().cast()) }).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a header claiming `cmsg_len = len` at the start of `out`.
    fn header(len: usize, level: i32, ty: i32, out: &mut [u8]) {
        // SAFETY (test): cmsghdr is plain data; all-zero is valid.
        let mut h: libc::cmsghdr = unsafe { core::mem::zeroed() };
        h.cmsg_len = len as _;
        h.cmsg_level = level;
        h.cmsg_type = ty;
        assert!(out.len() >= core::mem::size_of::<libc::cmsghdr>());
        // SAFETY (test): `out` has room for a cmsghdr (asserted above).
        unsafe { core::ptr::write_unaligned(out.as_mut_ptr().cast(), h) };
    }

    /// Writes one well-formed control message; returns its padded size.
    fn cmsg(level: i32, ty: i32, data: &[u8], out: &mut [u8]) -> usize {
        let header_len = cmsg_align(core::mem::size_of::<libc::cmsghdr>());
        header(header_len + data.len(), level, ty, out);
        out[header_len..header_len + data.len()].copy_from_slice(data);
        cmsg_align(header_len + data.len())
    }

    fn pktinfo_v4(ifindex: i32, dst: [u8; 4]) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[..4].copy_from_slice(&ifindex.to_ne_bytes());
        b[8..].copy_from_slice(&dst);
        b
    }

    #[test]
    fn pktinfo_is_found_after_another_message() {
        let mut buf = [0u8; 96];
        let n = cmsg(libc::SOL_SOCKET, libc::SO_TIMESTAMP, &[7; 16], &mut buf);
        cmsg(libc::IPPROTO_IP, libc::IP_PKTINFO, &pktinfo_v4(3, [10, 0, 0, 1]), &mut buf[n..]);
        let (dst, ifindex) = parse_pktinfo(&buf);
        assert_eq!(dst, Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
        assert_eq!(ifindex, Some(3));
    }

    #[test]
    fn bad_lengths_end_the_walk() {
        let header_len = cmsg_align(core::mem::size_of::<libc::cmsghdr>());
        let mut buf = [0u8; 96];
        let n = cmsg(libc::IPPROTO_IP, libc::IP_PKTINFO, &pktinfo_v4(3, [1, 2, 3, 4]), &mut buf);
        // Cut short: the header says more than is there.
        assert_eq!(parse_pktinfo(&buf[..n - 8]), (None, None));
        // Data too short for an in_pktinfo: skipped, nothing read past it.
        let mut short = [0u8; 96];
        cmsg(libc::IPPROTO_IP, libc::IP_PKTINFO, &[0; 4], &mut short);
        assert_eq!(parse_pktinfo(&short), (None, None));
        // Zero and sub-header lengths would loop or underflow: refused.
        for len in [0usize, 1, header_len - 1] {
            let mut z = [0u8; 96];
            header(len, libc::IPPROTO_IP, libc::IP_PKTINFO, &mut z);
            assert_eq!(parse_pktinfo(&z), (None, None));
        }
        // Huge length: refused.
        let mut h = [0xffu8; 96];
        assert_eq!(parse_pktinfo(&h), (None, None));
        h.fill(0);
        assert_eq!(parse_pktinfo(&h[..3]), (None, None));
    }
}
