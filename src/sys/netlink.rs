//! Netlink calls: a route socket bound to multicast groups, a request to
//! the kernel, and a receive that reports the datagram's real length.

use super::{cvt, cvt_size};
use crate::Errno;

fn kernel_addr(groups: u32) -> libc::sockaddr_nl {
    // SAFETY: sockaddr_nl is plain data; all-zero is a valid value (pid 0
    // is the kernel, or "assign one" at bind).
    let mut sa: libc::sockaddr_nl = unsafe { core::mem::zeroed() };
    sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    sa.nl_groups = groups;
    sa
}

/// A non-blocking, close-on-exec `NETLINK_ROUTE` socket bound to the
/// multicast `groups` (a mask of `RTMGRP_*`).
pub fn netlink_route_socket(groups: u32) -> Result<i32, Errno> {
    let ty = libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: no pointers involved.
    let fd = cvt(unsafe { libc::socket(libc::AF_NETLINK, ty, libc::NETLINK_ROUTE) })?;
    let sa = kernel_addr(groups);
    let len = core::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
    // SAFETY: `sa` is a valid sockaddr_nl of `len` bytes for the call.
    let bound = cvt(unsafe { libc::bind(fd, (&sa as *const libc::sockaddr_nl).cast(), len) });
    if let Err(e) = bound {
        let _ = super::close(fd);
        return Err(e);
    }
    Ok(fd)
}

/// Sends one request datagram to the kernel.
pub fn netlink_send(fd: i32, msg: &[u8]) -> Result<usize, Errno> {
    let sa = kernel_addr(0);
    let len = core::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
    // SAFETY: the message pointer and length describe a readable slice and
    // `sa` a valid sockaddr_nl of `len` bytes.
    cvt_size(unsafe {
        libc::sendto(
            fd,
            msg.as_ptr().cast(),
            msg.len(),
            libc::MSG_NOSIGNAL,
            (&sa as *const libc::sockaddr_nl).cast(),
            len,
        )
    })
}

/// Receives one datagram with `MSG_TRUNC`: the result is its real length,
/// larger than `buf` when the rest was cut off.
pub fn netlink_recv(fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the pointer and length describe a valid, writable byte slice.
    cvt_size(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_TRUNC) })
}
