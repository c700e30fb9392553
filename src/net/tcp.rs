//! TCP: the listener (with its reserve fd) and the stream.

use super::options::{Kind, SocketOptions};
use super::{Fd, nonblocking};
use crate::{Errno, Error, RawFd, sys};
use core::net::SocketAddr;

/// What [`TcpListener::accept`] (or, with `S` = [`UnixStream`](super::UnixStream)
/// and `A` = [`UnixAddr`](super::UnixAddr), [`UnixListener::accept`](super::UnixListener::accept))
/// found.
#[derive(Debug)]
pub enum Accept<S = TcpStream, A = Option<SocketAddr>> {
    /// A new connection and its peer's address.
    Stream(S, A),
    /// No connection is waiting.
    WouldBlock,
    /// The process is out of fds (`EMFILE`/`ENFILE`): the pending
    /// connection was accepted with the reserve fd and closed at once, so
    /// the listener does not stay readable and spin. Carries the errno.
    Dropped(Errno),
}

/// A listening TCP socket with a reserve fd for the out-of-fds case.
#[derive(Debug)]
pub struct TcpListener {
    fd: Fd,
    /// An fd on /dev/null held back so that one connection can still be
    /// accepted (and refused) when the process runs out of fds.
    reserve: Fd,
}

pub(super) fn open_reserve() -> Fd {
    Fd(sys::open_read(c"/dev/null").unwrap_or(-1))
}

impl TcpListener {
    /// Binds `addr` with `SO_REUSEADDR` and listens with `backlog`. For an
    /// IPv6 address the socket is IPv6-only. Port 0 picks a free port; see
    /// [`local_addr`](Self::local_addr). Other options (dual stack,
    /// `SO_REUSEPORT`, keepalive, ...): [`bind_with`](Self::bind_with).
    pub fn bind(addr: SocketAddr, backlog: i32) -> Result<TcpListener, Error> {
        let fd = Fd(sys::tcp_socket(&addr)?);
        sys::setsockopt_int(fd.0, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
        if addr.is_ipv6() {
            sys::setsockopt_int(fd.0, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)?;
        }
        sys::bind(fd.0, &addr)?;
        sys::listen(fd.0, backlog)?;
        Ok(TcpListener { fd, reserve: open_reserve() })
    }

    /// Binds `addr` and listens with the options `opts` chose (reuse,
    /// dual stack, backlog, device, buffers, `TCP_NODELAY`, keepalive; see
    /// [`SocketOptions`] for each one's default and errors). With
    /// [`SocketOptions::new()`](SocketOptions::new) it is
    /// `bind(addr, 128)`.
    pub fn bind_with(addr: SocketAddr, opts: &SocketOptions) -> Result<TcpListener, Error> {
        let fd = Fd(sys::tcp_socket(&addr)?);
        opts.apply(fd.0, &addr, Kind::Listener)?;
        sys::bind(fd.0, &addr)?;
        sys::listen(fd.0, opts.listen_backlog())?;
        Ok(TcpListener { fd, reserve: open_reserve() })
    }

    /// Takes ownership of `fd`, a listening TCP socket handed over by the
    /// process's parent (systemd socket activation, procd, inetd), and
    /// opens the reserve fd for it. It is used as it is: if it may be
    /// blocking, call [`set_nonblocking(true)`](Self::set_nonblocking), or
    /// [`accept`](Self::accept) will block.
    ///
    /// # Safety
    ///
    /// `fd` must be an open, listening IPv4 or IPv6 stream socket that
    /// nothing else owns: the `TcpListener` closes it on drop, so any other
    /// owner would later close (or use) a number that may by then belong to
    /// another file.
    #[allow(unsafe_code)]
    pub unsafe fn from_raw_fd(fd: RawFd) -> TcpListener {
        TcpListener { fd: Fd(fd), reserve: open_reserve() }
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

    /// The listening fd, to register for `READ`.
    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.0
    }

    /// Gives up ownership of the listening fd: it is returned open and no
    /// longer closed on drop (the reserve fd is closed).
    pub fn into_raw_fd(self) -> RawFd {
        let TcpListener { fd, reserve } = self;
        drop(reserve);
        fd.into_raw()
    }

    /// Accepts one connection (`accept4` with `SOCK_NONBLOCK |
    /// SOCK_CLOEXEC`). `ECONNABORTED` and `EINTR` are retried; out of fds,
    /// the pending connection is dropped with the reserve-fd trick.
    pub fn accept(&mut self) -> Result<Accept, Error> {
        for _ in 0..16 {
            match sys::retry_on_intr(|| sys::accept(self.fd.0)) {
                Ok((fd, peer)) => return Ok(Accept::Stream(TcpStream { fd: Fd(fd) }, peer)),
                Err(e) if e.is_would_block() => return Ok(Accept::WouldBlock),
                Err(e) if e == Errno::ECONNABORTED => continue,
                Err(e) if e == Errno::EMFILE || e == Errno::ENFILE => {
                    // Free the reserve, take the connection and close it, then
                    // re-arm the reserve.
                    // (Linux reports EMFILE before looking for a pending
                    // connection, so there may be none.)
                    self.reserve = Fd(-1);
                    let outcome = match sys::accept(self.fd.0) {
                        Ok((fd, _)) => {
                            drop(Fd(fd));
                            Accept::Dropped(e)
                        }
                        Err(e2) if e2.is_would_block() => Accept::WouldBlock,
                        Err(_) => Accept::Dropped(e),
                    };
                    self.reserve = open_reserve();
                    return Ok(outcome);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Accept::WouldBlock)
    }
}

/// A connected (or connecting) non-blocking TCP stream, closed on drop.
#[derive(Debug)]
pub struct TcpStream {
    fd: Fd,
}

impl TcpStream {
    /// Starts connecting to `addr` without blocking. The stream becomes
    /// writable when the attempt ends; then [`take_error`](Self::take_error)
    /// says whether it succeeded.
    pub fn connect(addr: SocketAddr) -> Result<TcpStream, Error> {
        let fd = Fd(sys::tcp_socket(&addr)?);
        match sys::connect(fd.0, &addr) {
            Ok(()) => {}
            Err(e) if e == Errno::EINPROGRESS || e == Errno::EINTR => {}
            Err(e) => return Err(e.into()),
        }
        Ok(TcpStream { fd })
    }

    /// As [`connect`](Self::connect), with the options `opts` chose set
    /// first (`TCP_NODELAY`, keepalive, buffers, `SO_BINDTODEVICE`, ...;
    /// the backlog and `IPV6_V6ONLY` do not apply; see [`SocketOptions`]).
    pub fn connect_with(addr: SocketAddr, opts: &SocketOptions) -> Result<TcpStream, Error> {
        let fd = Fd(sys::tcp_socket(&addr)?);
        opts.apply(fd.0, &addr, Kind::Stream)?;
        match sys::connect(fd.0, &addr) {
            Ok(()) => {}
            Err(e) if e == Errno::EINPROGRESS || e == Errno::EINTR => {}
            Err(e) => return Err(e.into()),
        }
        Ok(TcpStream { fd })
    }

    /// Takes ownership of `fd`, a connected (or connecting) TCP socket, for
    /// example one an inetd-style parent accepted. It is used as it is: if it
    /// may be blocking, call [`set_nonblocking(true)`](Self::set_nonblocking),
    /// or [`recv`](Self::recv)/[`send`](Self::send) will block.
    ///
    /// # Safety
    ///
    /// `fd` must be an open IPv4 or IPv6 stream socket that nothing else
    /// owns: the `TcpStream` closes it on drop, so any other owner would
    /// later close (or use) a number that may by then belong to another
    /// file.
    #[allow(unsafe_code)]
    pub unsafe fn from_raw_fd(fd: RawFd) -> TcpStream {
        TcpStream { fd: Fd(fd) }
    }

    /// The pending socket error (`SO_ERROR`), e.g. `ECONNREFUSED` after a
    /// failed connect; `Ok(())` if there is none.
    pub fn take_error(&self) -> Result<(), Error> {
        match sys::getsockopt_int(self.fd.0, libc::SOL_SOCKET, libc::SO_ERROR)? {
            0 => Ok(()),
            e => Err(Error::Os(Errno::from_raw_os_error(e))),
        }
    }

    /// Reads into `buf`: `Ok(Some(n))` with `n > 0` bytes, `Ok(Some(0))` at
    /// end of stream, `Ok(None)` when nothing is available yet. Fails only
    /// with the OS error (`ECONNRESET`, ...), so the error is an [`Errno`].
    /// Always inlined, so that the caller's match folds into the syscall's
    /// result check on the hot path.
    #[inline(always)]
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<usize>, Errno> {
        nonblocking(sys::retry_on_intr(|| sys::recv(self.fd.0, buf)))
    }

    /// Writes from `buf`: `Ok(Some(n))` bytes taken (possibly fewer than
    /// offered), `Ok(None)` when the socket buffer is full. A peer that
    /// reset the connection gives `Err` (`EPIPE`/`ECONNRESET`), not SIGPIPE.
    #[inline(always)]
    pub fn send(&self, buf: &[u8]) -> Result<Option<usize>, Errno> {
        nonblocking(sys::retry_on_intr(|| sys::send(self.fd.0, buf)))
    }

    /// Closes the writing half (the peer reads end of stream).
    pub fn shutdown_write(&self) -> Result<(), Error> {
        Ok(sys::shutdown(self.fd.0, libc::SHUT_WR)?)
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, on: bool) -> Result<(), Error> {
        Ok(sys::setsockopt_int(self.fd.0, libc::IPPROTO_TCP, libc::TCP_NODELAY, i32::from(on))?)
    }

    /// Sets the kernel send buffer size (`SO_SNDBUF`; the kernel doubles
    /// it). A fixed size also stops the kernel from growing it, which bounds
    /// what a client that stops reading can hold in the kernel.
    pub fn set_send_buffer(&self, bytes: i32) -> Result<(), Error> {
        Ok(sys::setsockopt_int(self.fd.0, libc::SOL_SOCKET, libc::SO_SNDBUF, bytes)?)
    }

    /// Bytes written but not yet acknowledged by the peer (`SIOCOUTQ`),
    /// whether sent or still queued. 0 means the peer's kernel holds
    /// everything (after [`shutdown_write`](Self::shutdown_write), the end
    /// of stream too), so a later close, even one that sends a reset, loses
    /// none of it.
    pub fn unacked(&self) -> Result<usize, Error> {
        Ok(sys::outq(self.fd.0)?)
    }

    /// Makes `close` send a reset instead of a normal shutdown (`SO_LINGER`
    /// with a zero timeout).
    pub fn set_reset_on_close(&self) -> Result<(), Error> {
        Ok(sys::set_linger(self.fd.0, 0)?)
    }

    /// Sets or clears `O_NONBLOCK`. Sockets picosel creates are already
    /// non-blocking; this is for one taken over with `from_raw_fd`
    /// (systemd and procd pass blocking sockets unless told otherwise). The
    /// flag belongs to the open file, so it also changes for any `dup` of
    /// the fd.
    pub fn set_nonblocking(&self, on: bool) -> Result<(), Error> {
        Ok(sys::set_nonblocking(self.fd.0, on)?)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> Result<SocketAddr, Error> {
        sys::peer_addr(self.fd.0)?.ok_or(Error::Os(Errno::ENOTCONN))
    }

    /// The local address.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        sys::local_addr(self.fd.0)?.ok_or(Error::Os(Errno::ENOTCONN))
    }

    /// The stream's fd, to register with a selector.
    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.0
    }

    /// Gives up ownership of the fd: it is returned open and no longer
    /// closed on drop (the counterpart of [`from_raw_fd`](Self::from_raw_fd)).
    pub fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw()
    }
}
