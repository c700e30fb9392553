//! What a server listens on, whatever `--bind` named: a TCP address
//! (`127.0.0.1:8007`, `[::1]:0`), a Unix socket file (`unix:PATH`) or a
//! Linux abstract name (`unix:@NAME`), up to [`MAX_BINDS`] of them at once.
//!
//! - [`Bind`]: one parsed `--bind` value ([`crate::cli::bind`] parses it);
//!   [`Binds`]: the list a program was given, or its default.
//! - [`Listener`]: one listening socket of either kind, with
//!   [`accept`](Listener::accept) giving a [`Stream`] and its [`Peer`]; its [`Show`] is
//!   what the `listening on ...` line names (`127.0.0.1:8007`,
//!   `unix:/tmp/echo.sock`, `unix:@echo`). A socket file is bound with
//!   [`UnixListener::bind_replacing`] (a stale file left by a server that
//!   died is replaced; a live socket or any other file is
//!   `EADDRINUSE`), and removed again when the listener is dropped.
//! - [`bind_all`]: a listener per bind, or the first [`BindError`].

use crate::fmt::{BufWriter, Escaped, Show};
use core::net::SocketAddr;
use picosel::backend::AnyBackend;
use picosel::net::{Accept, TcpListener, TcpStream, UnixAddr, UnixListener, UnixStream};
use picosel::{AnyEventLoop, Errno, Error, Events, IoHandler, RawFd, Token};

/// How many `--bind` options a server takes.
pub const MAX_BINDS: usize = 4;

/// One address to listen on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bind {
    /// A TCP address; port 0 lets the kernel choose.
    Tcp(SocketAddr),
    /// A Unix stream socket: a filesystem path or an abstract name.
    Unix(UnixAddr),
}

impl Show for Bind {
    /// `127.0.0.1:8007`, `[::1]:8007`, `unix:/tmp/x.sock`, `unix:@name`.
    fn show(&self, w: &mut BufWriter<'_>) {
        match self {
            Bind::Tcp(a) => a.show(w),
            Bind::Unix(u) => match (u.as_path(), u.as_abstract_name()) {
                (Some(p), _) => crate::put!(w, "unix:", Escaped(p)),
                (None, Some(n)) => crate::put!(w, "unix:@", Escaped(n)),
                (None, None) => w.push_str("unix:(unnamed)"),
            },
        }
    }
}

/// The `--bind` values given, in order, or the program's default when
/// there were none: the first [`push`](Binds::push) replaces the default.
#[derive(Clone, Copy, Debug)]
pub struct Binds {
    list: [Option<Bind>; MAX_BINDS],
    given: bool,
}

impl Binds {
    /// Just `default`, until a bind is pushed.
    pub const fn new(default: Bind) -> Binds {
        let mut list = [None; MAX_BINDS];
        list[0] = Some(default);
        Binds { list, given: false }
    }

    /// Adds `b` (replacing the default the first time); false when
    /// [`MAX_BINDS`] were given already.
    pub fn push(&mut self, b: Bind) -> bool {
        if !self.given {
            self.given = true;
            self.list = [None; MAX_BINDS];
        }
        match self.list.iter_mut().find(|s| s.is_none()) {
            Some(slot) => {
                *slot = Some(b);
                true
            }
            None => false,
        }
    }

    /// The binds, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = &Bind> {
        self.list.iter().flatten()
    }

    /// True if at least one bind is a TCP address.
    pub fn any_tcp(&self) -> bool {
        self.iter().any(|b| matches!(b, Bind::Tcp(_)))
    }
}

/// A listener that could not be set up, and why; its [`Show`] is the
/// whole message (`cannot listen on unix:/x: EADDRINUSE ...`).
#[derive(Clone, Copy, Debug)]
pub struct BindError {
    /// What was to be listened on.
    pub bind: Bind,
    /// What went wrong.
    pub error: Error,
}

impl Show for BindError {
    fn show(&self, w: &mut BufWriter<'_>) {
        crate::put!(w, "cannot listen on ", self.bind, ": ", self.error);
        let in_use = self.error == Error::Os(Errno::EADDRINUSE);
        match self.bind {
            Bind::Unix(u) if in_use && u.as_path().is_some() => w.push_str(
                " (a server is running on that socket, or the path is not a socket file; \
                 a stale socket file would have been replaced)",
            ),
            Bind::Unix(_) if in_use => w.push_str(" (a server has that abstract name)"),
            _ => {}
        }
    }
}

/// Tags from 1 (as [`Stream`]'s), so that `Option<Listener>::None` is
/// all zero bytes.
#[repr(u8)]
enum Socket {
    Tcp(TcpListener) = 1,
    Unix(UnixListener) = 2,
}

/// A listening TCP or Unix stream socket. Dropped, it closes, and a socket
/// file it created is removed (only if the path is still a socket).
pub struct Listener {
    socket: Socket,
    /// What it is bound to: for TCP the kernel's address (the port it
    /// chose for port 0).
    local: Bind,
}

impl Listener {
    /// Listens on `bind` with `backlog`; a socket file at the path that no
    /// process has open is replaced ([`UnixListener::bind_replacing`]).
    #[allow(clippy::result_large_err)] // no heap to box into; `Listener` is as large
    pub fn bind(bind: Bind, backlog: i32) -> Result<Listener, BindError> {
        let fail = |error| BindError { bind, error };
        let (socket, local) = match bind {
            Bind::Tcp(a) => {
                let l = TcpListener::bind(a, backlog).map_err(fail)?;
                let local = Bind::Tcp(l.local_addr().unwrap_or(a));
                (Socket::Tcp(l), local)
            }
            Bind::Unix(u) if u.as_path().is_some() => {
                (Socket::Unix(UnixListener::bind_replacing(&u, backlog).map_err(fail)?), bind)
            }
            Bind::Unix(u) => (Socket::Unix(UnixListener::bind(&u, backlog).map_err(fail)?), bind),
        };
        Ok(Listener { socket, local })
    }

    /// Accepts one connection, as [`TcpListener::accept`] does, with who
    /// connected.
    pub fn accept(&mut self) -> Result<Accept<Stream, Peer>, Error> {
        Ok(match &mut self.socket {
            Socket::Tcp(l) => match l.accept()? {
                Accept::Stream(s, a) => Accept::Stream(Stream::Tcp(s), Peer::Tcp(a)),
                Accept::WouldBlock => Accept::WouldBlock,
                Accept::Dropped(e) => Accept::Dropped(e),
            },
            Socket::Unix(l) => match l.accept()? {
                Accept::Stream(s, a) => Accept::Stream(Stream::Unix(s), Peer::Unix(a)),
                Accept::WouldBlock => Accept::WouldBlock,
                Accept::Dropped(e) => Accept::Dropped(e),
            },
        })
    }

    /// One step of a server's accept loop: the next pending connection
    /// ([`Pending::Conn`]); [`Pending::Dropped`] when one had to be
    /// dropped for want of file descriptors (the reserve-fd rule of
    /// [`TcpListener::accept`]; said on stderr as `PROG: out of file
    /// descriptors (E): dropped a connection`; the loop goes on); and
    /// [`Pending::Done`] when none is pending or `accept` failed (said as
    /// `PROG: accept: E`).
    // Out of line: inlined into chat-server's accept loop it cost 388
    // bytes on armv7 (echo-server and time-server pay 152 and 96 for the
    // call instead; 140 fewer in all).
    #[inline(never)]
    pub fn next_pending(&mut self, prog: &str) -> Pending {
        match self.accept() {
            Ok(Accept::Stream(s, peer)) => Pending::Conn(s, peer),
            Ok(Accept::WouldBlock) => Pending::Done,
            Ok(Accept::Dropped(e)) => {
                let why: [&dyn Show; 4] =
                    [&prog, &": out of file descriptors (", &e, &"): dropped a connection\n"];
                crate::os::log_parts(crate::os::STDERR, prog, &why);
                Pending::Dropped
            }
            Err(e) => {
                crate::os::log_parts(crate::os::STDERR, prog, &[&prog, &": accept: ", &e, &"\n"]);
                Pending::Done
            }
        }
    }

    /// The bound address (for TCP, with the port the kernel chose).
    pub fn local(&self) -> Bind {
        self.local
    }

    /// The TCP address, if this is a TCP listener.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        match self.local {
            Bind::Tcp(a) => Some(a),
            Bind::Unix(_) => None,
        }
    }

    /// The listening fd, to register for `READ`.
    pub fn as_raw_fd(&self) -> RawFd {
        match &self.socket {
            Socket::Tcp(l) => l.as_raw_fd(),
            Socket::Unix(l) => l.as_raw_fd(),
        }
    }
}

impl Show for Listener {
    fn show(&self, w: &mut BufWriter<'_>) {
        self.local.show(w)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Bind::Unix(u) = self.local {
            if let Some(path) = u.as_path() {
                let _ = crate::sys::unlink_socket(path);
            }
        }
    }
}

/// A listener for each of `binds`, in order (index = position in the
/// list), or the first that failed (those bound before it are closed and
/// their files removed).
#[allow(clippy::result_large_err)] // as `Listener::bind`: once, at start-up
pub fn bind_all(binds: &Binds, backlog: i32) -> Result<[Option<Listener>; MAX_BINDS], BindError> {
    let mut out = [const { None }; MAX_BINDS];
    for (slot, b) in out.iter_mut().zip(binds.iter()) {
        *slot = Some(Listener::bind(*b, backlog)?);
    }
    Ok(out)
}

/// What [`Listener::next_pending`] found.
pub enum Pending {
    /// A new connection and who made it.
    Conn(Stream, Peer),
    /// One was dropped (out of file descriptors); more may be pending.
    Dropped,
    /// Nothing more now (or `accept` failed, which was said).
    Done,
}

/// Who connected, as [`Listener::accept`] tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// A TCP client's address and port (`None` if the kernel gave none).
    Tcp(Option<SocketAddr>),
    /// A Unix socket client's address: usually unnamed (clients seldom
    /// bind), so who it is comes from [`UnixStream::peer_cred`] instead.
    Unix(UnixAddr),
}

/// A connected TCP or Unix stream, non-blocking; `recv` and `send` as
/// [`TcpStream`]'s (`Ok(None)`: would block; `Ok(Some(0))` from `recv`:
/// end of stream).
///
/// Its tag starts at 1, so that 0 is free for the `None` of an `Option`
/// of a struct holding it: a server's table of `Option<Conn>` then starts
/// as zero bytes, in `.bss` ([`crate::storage`]).
#[repr(u8)]
pub enum Stream {
    /// Accepted from a TCP listener.
    Tcp(TcpStream) = 1,
    /// Accepted from a Unix listener.
    Unix(UnixStream) = 2,
}

/// What a connected stream of either kind does on a server's hot path, so
/// that a server can match on [`Stream`] once per event and run one
/// specialised copy of its fast path (`match` inside each call would
/// dispatch twice per echo and keep fewer values in registers).
pub trait Io {
    /// As [`Stream::recv`].
    fn recv(&self, buf: &mut [u8]) -> Result<Option<usize>, Errno>;
    /// As [`Stream::send`].
    fn send(&self, buf: &[u8]) -> Result<Option<usize>, Errno>;
}

impl Io for TcpStream {
    #[inline(always)]
    fn recv(&self, buf: &mut [u8]) -> Result<Option<usize>, Errno> {
        TcpStream::recv(self, buf)
    }
    #[inline(always)]
    fn send(&self, buf: &[u8]) -> Result<Option<usize>, Errno> {
        TcpStream::send(self, buf)
    }
}

impl Io for UnixStream {
    #[inline(always)]
    fn recv(&self, buf: &mut [u8]) -> Result<Option<usize>, Errno> {
        UnixStream::recv(self, buf)
    }
    #[inline(always)]
    fn send(&self, buf: &[u8]) -> Result<Option<usize>, Errno> {
        UnixStream::send(self, buf)
    }
}

impl Stream {
    /// Reads what is there, up to `buf.len()` bytes.
    #[inline]
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<usize>, Errno> {
        match self {
            Stream::Tcp(s) => s.recv(buf),
            Stream::Unix(s) => s.recv(buf),
        }
    }

    /// Writes what the socket takes of `buf`.
    #[inline]
    pub fn send(&self, buf: &[u8]) -> Result<Option<usize>, Errno> {
        match self {
            Stream::Tcp(s) => s.send(buf),
            Stream::Unix(s) => s.send(buf),
        }
    }

    /// Sends end of stream; reading goes on.
    pub fn shutdown_write(&self) -> Result<(), Error> {
        match self {
            Stream::Tcp(s) => s.shutdown_write(),
            Stream::Unix(s) => s.shutdown_write(),
        }
    }

    /// Sets the kernel send buffer size (`SO_SNDBUF`), as
    /// [`TcpStream::set_send_buffer`] and [`UnixStream::set_send_buffer`].
    pub fn set_send_buffer(&self, bytes: i32) -> Result<(), Error> {
        match self {
            Stream::Tcp(s) => s.set_send_buffer(bytes),
            Stream::Unix(s) => s.set_send_buffer(bytes),
        }
    }

    /// What was written that the peer does not hold yet (`SIOCOUTQ`): for
    /// TCP the bytes not acknowledged ([`TcpStream::unacked`]), for a Unix
    /// socket what the peer has not read ([`UnixStream::unacked`]); 0 when
    /// a close loses none of it.
    pub fn unacked(&self) -> Result<usize, Error> {
        match self {
            Stream::Tcp(s) => s.unacked(),
            Stream::Unix(s) => s.unacked(),
        }
    }

    /// The connection's fd, to register.
    #[inline]
    pub fn as_raw_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }
}

/// Registers every listener in `ls` for `READ` with handler `f`, the token
/// being its index in `ls`.
pub fn watch_all<C, const N: usize, const T: usize>(
    lp: &mut AnyEventLoop<C, N, T>,
    ls: &[Option<Listener>],
    f: IoHandler<C, N, T, AnyBackend<N>>,
) -> Result<(), Error> {
    for (i, l) in ls.iter().enumerate() {
        if let Some(l) = l {
            lp.register(l.as_raw_fd(), Events::READ, f, Token(i))?;
        }
    }
    Ok(())
}

/// Stops watching and closes every listener in `ls` (their socket files
/// are removed): for a server that shuts down.
pub fn close_all<C, const N: usize, const T: usize>(
    lp: &mut AnyEventLoop<C, N, T>,
    ls: &mut [Option<Listener>],
) {
    for l in ls.iter_mut().filter_map(Option::take) {
        let _ = lp.unregister(l.as_raw_fd());
    }
}

/// Moves a loop made over epoll (all zero bytes, in `.bss`) to the backend
/// `--backend` named (`poll`, `select`; anything else leaves it). Out of
/// line: the backend value, as large as the poll backend's tables, is on
/// the stack only when one is chosen.
#[cold]
#[inline(never)]
pub fn switch_backend<C, const N: usize, const T: usize>(
    lp: &mut AnyEventLoop<C, N, T>,
    name: &str,
) {
    match name {
        "poll" => lp.set_backend(AnyBackend::poll()),
        "select" => lp.set_backend(AnyBackend::select()),
        _ => {}
    }
}

/// Prints `listening on ADDR (BACKEND)` for each listener, in order: the
/// first line names the first `--bind`.
pub fn say_listening(ls: &[Option<Listener>], backend: &str) {
    for l in ls.iter().flatten() {
        crate::log_out!("listening on ", l, " (", backend, ")\n");
    }
}
