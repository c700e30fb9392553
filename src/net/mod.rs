//! Non-blocking sockets for use with a selector or loop: TCP
//! ([`TcpListener`], [`TcpStream`]) and UDP ([`UdpSocket`]) over IPv4 and
//! IPv6, Unix domain sockets ([`UnixListener`], [`UnixStream`],
//! [`UnixDatagram`]) on filesystem paths or abstract names ([`UnixAddr`]),
//! and rtnetlink ([`Netlink`], [`netlink`]) for link and address changes.
//!
//! Every socket is created non-blocking and close-on-exec. "Would block" is
//! not an error here: `recv`/`send` return `Ok(None)` for it, `Ok(Some(0))`
//! from a TCP or Unix stream's `recv` is end of stream, and `Err` is a real
//! failure. `send` uses `MSG_NOSIGNAL`, so a peer's reset never raises
//! SIGPIPE, and picosel never changes the process's signal dispositions.
//!
//! A connection over loopback, driven by a selector:
//!
//! ```
//! use picosel::net::{Accept, TcpListener, TcpStream};
//! use picosel::{DefaultSelector, Events};
//! use std::time::Duration;
//!
//! let mut listener = TcpListener::bind("127.0.0.1:0".parse()?, 16)?;
//! let client = TcpStream::connect(listener.local_addr()?)?;
//! let mut sel: DefaultSelector<&str, 4> = DefaultSelector::new();
//! sel.register(listener.as_raw_fd(), Events::READ, "listener")?;
//! sel.select(Some(Duration::from_secs(5)))?;
//! assert_eq!(sel.next_ready().map(|(k, _)| k.data), Some("listener"));
//! let Accept::Stream(server, _peer) = listener.accept()? else { panic!("no connection") };
//!
//! // The connect has completed once the stream is writable.
//! sel.register(client.as_raw_fd(), Events::WRITE, "client")?;
//! sel.select(Some(Duration::from_secs(5)))?;
//! client.take_error()?;
//! assert_eq!(client.send(b"hi")?, Some(2));
//! sel.unregister(client.as_raw_fd())?; // before `client` is dropped (closed)
//!
//! let mut buf = [0u8; 8];
//! sel.register(server.as_raw_fd(), Events::READ, "server")?;
//! sel.select(Some(Duration::from_secs(5)))?;
//! assert_eq!(server.recv(&mut buf)?, Some(2));
//! assert_eq!(&buf[..2], b"hi");
//! assert_eq!(server.recv(&mut buf)?, None, "nothing more yet: would block");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::{Errno, RawFd, sys};

pub mod netlink;
mod options;
mod tcp;
mod udp;
mod unix;

pub use netlink::Netlink;
pub use options::SocketOptions;
pub use tcp::{Accept, TcpListener, TcpStream};
pub use udp::{Datagram, UdpSocket};
pub use unix::{Ucred, UnixAddr, UnixDatagram, UnixListener, UnixStream};

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

/// Maps would-block to `Ok(None)`: how every socket type here reports
/// "nothing now". Inlined: it is on the echo hot path.
#[inline(always)]
pub(crate) fn nonblocking<T>(result: Result<T, Errno>) -> Result<Option<T>, Errno> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_would_block() => Ok(None),
        Err(e) => Err(e),
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
