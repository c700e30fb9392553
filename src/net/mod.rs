//! Non-blocking sockets over IPv4 and IPv6, for use with a selector or loop:
//! TCP ([`TcpListener`], [`TcpStream`]) and UDP ([`UdpSocket`]).
//!
//! Every socket is created non-blocking and close-on-exec. "Would block" is
//! not an error here: `recv`/`send` return `Ok(None)` for it, `Ok(Some(0))`
//! from a TCP `recv` is end of stream, and `Err` is a real failure. `send`
//! uses `MSG_NOSIGNAL`, so a peer's reset never raises SIGPIPE, and picosel
//! never changes the process's signal dispositions.

use crate::{RawFd, sys};
use core::net::SocketAddr;

mod tcp;
mod udp;

pub use tcp::{Accept, TcpListener, TcpStream};
pub use udp::{Datagram, UdpSocket};

/// An owned fd, closed on drop.
#[derive(Debug)]
pub(crate) struct Fd(pub(crate) RawFd);

impl Drop for Fd {
    fn drop(&mut self) {
        if self.0 >= 0 {
            let _ = sys::close(self.0);
        }
    }
}

impl Fd {
    /// Gives up ownership: the number, no longer closed on drop.
    pub(crate) fn into_raw(self) -> RawFd {
        let raw = self.0;
        core::mem::forget(self);
        raw
    }
}

/// Parses `ADDR:PORT` (`127.0.0.1:8008`, `[::1]:0`) without `std`.
pub fn parse_addr(text: &str) -> Option<SocketAddr> {
    text.parse().ok()
}
