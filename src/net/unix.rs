//! Unix domain sockets: the address type, the listener and stream, and
//! the datagram socket.

use super::{Accept, Datagram, Fd, nonblocking, tcp::open_reserve};
use crate::{Errno, Error, RawFd, sys};
use core::fmt;

/// How many bytes `sun_path` has (108 on Linux).
const SUN_PATH_LEN: usize = sys::SUN_PATH_LEN;

/// A Unix socket address: a filesystem path, a Linux abstract name, or
/// unnamed. 110 bytes, `Copy`, no heap; equal (and hashed) by the bytes
/// the kernel compares.
///
/// - [`UnixAddr::path`] (`b"/var/run/picosel.sock"`): a socket file, with
///   the file's permissions deciding who may connect. At most
///   [`MAX_PATH`](Self::MAX_PATH) (107) bytes, so that `sun_path` (108
///   bytes) keeps room for the NUL terminator; a longer path is refused
///   with `Error::Os(Errno::ENAMETOOLONG)`, and an empty one, or one with a
///   NUL byte in it, with `Error::Os(Errno::EINVAL)`, all **before** any
///   system call (the kernel would cut the path at the NUL, or take a
///   108-byte one that C programs cannot name).
/// - [`UnixAddr::abstract_name`] (`b"picosel"`): a name in the network
///   namespace's abstract space (Linux only): no file, nothing to clean
///   up, gone when the socket closes; anyone in the namespace may connect.
///   Any bytes, at most [`MAX_ABSTRACT`](Self::MAX_ABSTRACT) (107), else
///   `ENAMETOOLONG`.
/// - [`UnixAddr::unnamed`]: what the kernel reports for a socket that was
///   never bound (a client, either end of a [`pair`](UnixStream::pair)).
///   Binding it makes the kernel choose a free abstract name ("autobind"),
///   which is how a datagram client gets an address to be answered at.
///
/// ```
/// use picosel::net::UnixAddr;
/// use picosel::{Errno, Error};
///
/// let a = UnixAddr::path(b"/var/run/picosel.sock")?;
/// assert_eq!(a.as_path(), Some(&b"/var/run/picosel.sock"[..]));
/// let b = UnixAddr::abstract_name(b"picosel")?;
/// assert_eq!(b.as_abstract_name(), Some(&b"picosel"[..]));
/// assert_ne!(a, b);
/// assert_eq!(UnixAddr::path(&[b'x'; 108]), Err(Error::Os(Errno::ENAMETOOLONG)));
/// assert_eq!(UnixAddr::path(b"/tmp/a\0b"), Err(Error::Os(Errno::EINVAL)));
/// # Ok::<(), picosel::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct UnixAddr {
    /// The bytes of `sun_path` that count: a path without its NUL, or a
    /// NUL and the abstract name; zero after `len`.
    bytes: [u8; SUN_PATH_LEN],
    len: u8,
}

/// Copies `src` to the start of `dst`, as far as both go (a `const fn`:
/// no indexing, so nothing to panic).
const fn copy_into(dst: &mut [u8], src: &[u8]) {
    let mut dst = dst;
    let mut src = src;
    while let ([d, dst_rest @ ..], [s, src_rest @ ..]) = (dst, src) {
        *d = *s;
        dst = dst_rest;
        src = src_rest;
    }
}

const fn has_nul(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    while let [b, tail @ ..] = rest {
        if *b == 0 {
            return true;
        }
        rest = tail;
    }
    false
}

impl UnixAddr {
    /// The longest path [`UnixAddr::path`] takes: 107 bytes, `sun_path`
    /// less the NUL terminator.
    pub const MAX_PATH: usize = SUN_PATH_LEN - 1;

    /// The longest name [`UnixAddr::abstract_name`] takes: 107 bytes,
    /// `sun_path` less the leading NUL that marks an abstract name.
    pub const MAX_ABSTRACT: usize = SUN_PATH_LEN - 1;

    /// A filesystem path (without a NUL terminator). Refused before any
    /// system call: longer than [`MAX_PATH`](Self::MAX_PATH),
    /// `Error::Os(Errno::ENAMETOOLONG)`; empty or with a NUL byte in it,
    /// `Error::Os(Errno::EINVAL)`. A relative path is relative to the
    /// working directory at the time of each `bind`/`connect`.
    pub const fn path(path: &[u8]) -> Result<UnixAddr, Error> {
        if path.len() > Self::MAX_PATH {
            return Err(Error::Os(Errno::ENAMETOOLONG));
        }
        if path.is_empty() || has_nul(path) {
            return Err(Error::Os(Errno::EINVAL));
        }
        let mut bytes = [0u8; SUN_PATH_LEN];
        copy_into(&mut bytes, path);
        Ok(UnixAddr { bytes, len: path.len() as u8 })
    }

    /// A Linux abstract name: any bytes (NUL included; an empty name is a
    /// name too), at most [`MAX_ABSTRACT`](Self::MAX_ABSTRACT), else
    /// `Error::Os(Errno::ENAMETOOLONG)`. Names are per network namespace;
    /// no file is created.
    pub const fn abstract_name(name: &[u8]) -> Result<UnixAddr, Error> {
        if name.len() > Self::MAX_ABSTRACT {
            return Err(Error::Os(Errno::ENAMETOOLONG));
        }
        let mut bytes = [0u8; SUN_PATH_LEN];
        if let Some((_, rest)) = bytes.split_first_mut() {
            copy_into(rest, name);
        }
        Ok(UnixAddr { bytes, len: name.len() as u8 + 1 })
    }

    /// The unnamed address: what an unbound socket has. Bound, it makes
    /// the kernel pick a free abstract name (autobind).
    pub const fn unnamed() -> UnixAddr {
        UnixAddr { bytes: [0; SUN_PATH_LEN], len: 0 }
    }

    /// The bytes of `sun_path` that count, as the system calls take them.
    fn sun(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The path, if this is a filesystem address.
    pub fn as_path(&self) -> Option<&[u8]> {
        match self.sun() {
            [first, ..] if *first != 0 => Some(self.sun()),
            _ => None,
        }
    }

    /// The name (without the leading NUL), if this is an abstract address.
    pub fn as_abstract_name(&self) -> Option<&[u8]> {
        match self.sun() {
            [0, name @ ..] => Some(name),
            _ => None,
        }
    }

    /// True for the address of an unbound socket.
    pub fn is_unnamed(&self) -> bool {
        self.len == 0
    }

    /// What the kernel reported, in the canonical form: a path ends at its
    /// first NUL; every byte of an abstract name counts.
    fn from_raw(raw: &sys::UnixRaw) -> UnixAddr {
        let used = raw.path.get(..raw.len).unwrap_or(&[]);
        let used = match used {
            [] | [0, ..] => used,
            _ => used.split(|&b| b == 0).next().unwrap_or(&[]),
        };
        let mut bytes = [0u8; SUN_PATH_LEN];
        copy_into(&mut bytes, used);
        // `used` is at most SUN_PATH_LEN (108) bytes.
        UnixAddr { bytes, len: used.len().min(SUN_PATH_LEN) as u8 }
    }
}

impl PartialEq for UnixAddr {
    fn eq(&self, other: &UnixAddr) -> bool {
        self.sun() == other.sun()
    }
}

impl Eq for UnixAddr {}

impl core::hash::Hash for UnixAddr {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.sun().hash(state);
    }
}

impl fmt::Debug for UnixAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.as_path() {
            write!(f, "Path(\"{}\")", p.escape_ascii())
        } else if let Some(n) = self.as_abstract_name() {
            write!(f, "Abstract(\"{}\")", n.escape_ascii())
        } else {
            f.write_str("Unnamed")
        }
    }
}

/// The credentials of the process at the other end of a Unix stream
/// (`SO_PEERCRED`), as they were when it called `connect` (or
/// `socketpair`): what a control socket checks before it obeys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ucred {
    /// The peer's process id.
    pub pid: i32,
    /// The peer's effective user id.
    pub uid: u32,
    /// The peer's effective group id.
    pub gid: u32,
}

fn local(fd: RawFd) -> Result<UnixAddr, Error> {
    Ok(UnixAddr::from_raw(&sys::unix_name(fd, false)?))
}

fn peer(fd: RawFd) -> Result<UnixAddr, Error> {
    Ok(UnixAddr::from_raw(&sys::unix_name(fd, true)?))
}

/// A socket of type `ty` bound to `addr`.
fn bound(addr: &UnixAddr, ty: i32) -> Result<Fd, Error> {
    let fd = Fd(sys::unix_socket(ty)?);
    sys::unix_bind(fd.0, addr.sun())?;
    Ok(fd)
}

/// Binds `addr` as [`bound`] does; if the path is taken by a stale socket
/// file, removes it (see [`UnixListener::bind_replacing`]) and binds again.
fn bound_replacing(addr: &UnixAddr, ty: i32) -> Result<Fd, Error> {
    match bound(addr, ty) {
        Err(Error::Os(e)) if e == Errno::EADDRINUSE => {}
        other => return other,
    }
    let in_use = Error::Os(Errno::EADDRINUSE);
    let Some(path) = addr.as_path() else { return Err(in_use) };
    match sys::is_socket_file(path) {
        Ok(true) => {}
        Ok(false) => return Err(in_use),
        Err(e) if e == Errno::ENOENT => return bound(addr, ty), // gone meanwhile
        Err(e) => return Err(e.into()),
    }
    let probe = Fd(sys::unix_socket(ty)?);
    match sys::unix_connect(probe.0, addr.sun()) {
        // Nobody has that socket open: the file is stale.
        Err(e) if e == Errno::ECONNREFUSED => {}
        Err(e) if e == Errno::ENOENT => return bound(addr, ty),
        // Connected (or EAGAIN, a full backlog): somebody is there. Or a
        // socket of the other type (EPROTOTYPE) is alive on it, or it may
        // not be reached (EACCES): leave it.
        _ => return Err(in_use),
    }
    drop(probe);
    match sys::unlink(path) {
        Ok(()) => {}
        Err(e) if e == Errno::ENOENT => {}
        Err(e) => return Err(e.into()),
    }
    bound(addr, ty)
}

/// A listening Unix stream socket, non-blocking and close-on-exec, with a
/// reserve fd for the out-of-fds case (as [`TcpListener`](super::TcpListener)).
///
/// A control socket on an abstract name, checking who connects:
///
/// ```
/// use picosel::net::{Accept, UnixAddr, UnixListener, UnixStream};
/// use picosel::{DefaultSelector, Events};
/// use std::time::Duration;
///
/// let name = format!("picosel-doc-{}", std::process::id());
/// let addr = UnixAddr::abstract_name(name.as_bytes())?;
/// let mut listener = UnixListener::bind(&addr, 16)?;
/// let client = UnixStream::connect(&addr)?; // connected at once, or an error
///
/// let mut sel: DefaultSelector<(), 4> = DefaultSelector::new();
/// sel.register(listener.as_raw_fd(), Events::READ, ())?;
/// sel.select(Some(Duration::from_secs(5)))?;
/// let Accept::Stream(server, peer) = listener.accept()? else { panic!("no connection") };
/// assert!(peer.is_unnamed()); // the client never bound an address
/// assert_eq!(server.peer_cred()?.pid, std::process::id() as i32);
///
/// assert_eq!(client.send(b"status")?, Some(6));
/// let mut buf = [0u8; 16];
/// assert_eq!(server.recv(&mut buf)?, Some(6)); // a Unix send is there at once
/// assert_eq!(&buf[..6], b"status");
/// assert_eq!(client.peer_addr()?, addr);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct UnixListener {
    fd: Fd,
    /// As in `TcpListener`: held back to accept-and-close one connection
    /// when the process runs out of fds.
    reserve: Fd,
}

impl UnixListener {
    /// Binds `addr` and listens with `backlog`. A path that exists already
    /// (a socket file left by a process that died, or any other file) is
    /// `Error::Os(Errno::EADDRINUSE)`, the kernel's answer; see
    /// [`bind_replacing`](Self::bind_replacing). The socket file is not
    /// removed on drop: unlink it yourself if you want it gone.
    pub fn bind(addr: &UnixAddr, backlog: i32) -> Result<UnixListener, Error> {
        let fd = bound(addr, libc::SOCK_STREAM)?;
        sys::listen(fd.0, backlog)?;
        Ok(UnixListener { fd, reserve: open_reserve() })
    }

    /// As [`bind`](Self::bind), but a **stale** socket file at `addr`'s
    /// path is replaced: on `EADDRINUSE`, if the path is a socket
    /// (`lstat`, `S_ISSOCK`: a symlink is never followed) and a test
    /// `connect` to it is refused (`ECONNREFUSED`: no process has it open),
    /// the file is unlinked and the bind tried again. Anything else there
    /// (a regular file, a directory, a socket somebody accepts on or holds
    /// open, one of the other type) stays, and the result is
    /// `Error::Os(Errno::EADDRINUSE)`; an abstract name is never replaced.
    /// A live listener sees the test as a connection that closes at once.
    ///
    /// **The race it leaves:** between the test and the `unlink`, another
    /// process may replace the stale file with its own socket (it is
    /// starting up too, and did the same); that socket is then unlinked
    /// and the other process keeps a listener nobody can reach. Use it for
    /// a daemon of which one instance runs (a pid file, a lock, procd or
    /// systemd seeing to it), not to arbitrate between rivals.
    pub fn bind_replacing(addr: &UnixAddr, backlog: i32) -> Result<UnixListener, Error> {
        let fd = bound_replacing(addr, libc::SOCK_STREAM)?;
        sys::listen(fd.0, backlog)?;
        Ok(UnixListener { fd, reserve: open_reserve() })
    }

    /// Takes ownership of `fd`, a listening Unix stream socket handed over
    /// by the process's parent (systemd socket activation, procd), and
    /// opens the reserve fd for it. It is used as it is: if it may be
    /// blocking, call [`set_nonblocking(true)`](Self::set_nonblocking).
    ///
    /// # Safety
    ///
    /// `fd` must be an open, listening `AF_UNIX` stream socket that nothing
    /// else owns: the `UnixListener` closes it on drop, so any other owner
    /// would later close (or use) a number that may by then belong to
    /// another file.
    #[allow(unsafe_code)]
    pub unsafe fn from_raw_fd(fd: RawFd) -> UnixListener {
        UnixListener { fd: Fd(fd), reserve: open_reserve() }
    }

    /// Accepts one connection (`accept4` with `SOCK_NONBLOCK |
    /// SOCK_CLOEXEC`), with the peer's address (usually unnamed: clients
    /// rarely bind). `ECONNABORTED` and `EINTR` are retried; out of fds
    /// (`EMFILE`/`ENFILE`), the pending connection is accepted with the
    /// reserve fd and closed ([`Accept::Dropped`]), as for TCP.
    pub fn accept(&mut self) -> Result<Accept<UnixStream, UnixAddr>, Error> {
        for _ in 0..16 {
            match sys::retry_on_intr(|| sys::unix_accept(self.fd.0)) {
                Ok((fd, raw)) => {
                    return Ok(Accept::Stream(UnixStream { fd: Fd(fd) }, UnixAddr::from_raw(&raw)));
                }
                Err(e) if e.is_would_block() => return Ok(Accept::WouldBlock),
                Err(e) if e == Errno::ECONNABORTED => continue,
                Err(e) if e == Errno::EMFILE || e == Errno::ENFILE => {
                    self.reserve = Fd(-1);
                    let outcome = match sys::unix_accept(self.fd.0) {
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

    /// Sets or clears `O_NONBLOCK` (for a socket taken over with
    /// `from_raw_fd`; the ones picosel creates are non-blocking).
    pub fn set_nonblocking(&self, on: bool) -> Result<(), Error> {
        Ok(sys::set_nonblocking(self.fd.0, on)?)
    }

    /// The bound address.
    pub fn local_addr(&self) -> Result<UnixAddr, Error> {
        local(self.fd.0)
    }

    /// The listening fd, to register for `READ`.
    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.0
    }

    /// Gives up ownership of the listening fd: it is returned open and no
    /// longer closed on drop (the reserve fd is closed).
    pub fn into_raw_fd(self) -> RawFd {
        let UnixListener { fd, reserve } = self;
        drop(reserve);
        fd.into_raw()
    }
}

/// A connected non-blocking Unix stream socket, closed on drop. `recv` and
/// `send` behave as [`TcpStream`](super::TcpStream)'s.
///
/// A client of a daemon's control socket on an abstract name (see
/// [`UnixListener`] for the server side):
///
/// ```
/// use picosel::net::{UnixAddr, UnixListener, UnixStream};
/// use picosel::{Errno, Error};
///
/// let addr = UnixAddr::abstract_name(format!("ctl-doc-{}", std::process::id()).as_bytes())?;
/// // Nobody there yet: refused at once, no waiting.
/// assert_eq!(UnixStream::connect(&addr).unwrap_err(), Error::Os(Errno::ECONNREFUSED));
/// let _daemon = UnixListener::bind(&addr, 4)?;
/// let ctl = UnixStream::connect(&addr)?;
/// assert_eq!(ctl.send(b"reload\n")?, Some(7));
/// let mut buf = [0u8; 64];
/// assert_eq!(ctl.recv(&mut buf)?, None); // no answer yet: would block
///
/// let (a, b) = UnixStream::pair()?; // or two connected ends, for a child process
/// a.send(b"x")?;
/// assert_eq!(b.recv(&mut buf)?, Some(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct UnixStream {
    fd: Fd,
}

impl UnixStream {
    /// Connects to the listener at `addr`. Unlike TCP, a Unix connect does
    /// not wait for the other side: it has succeeded when this returns
    /// `Ok`. Nobody listening there is `ECONNREFUSED`, no such path
    /// `ENOENT`, and a listener whose backlog is full `EAGAIN` (try again
    /// later; the socket does not wait).
    pub fn connect(addr: &UnixAddr) -> Result<UnixStream, Error> {
        let fd = Fd(sys::unix_socket(libc::SOCK_STREAM)?);
        match sys::unix_connect(fd.0, addr.sun()) {
            Ok(()) => {}
            Err(e) if e == Errno::EINPROGRESS => {}
            Err(e) => return Err(e.into()),
        }
        Ok(UnixStream { fd })
    }

    /// Two connected streams (`socketpair`), both non-blocking and
    /// close-on-exec: for a parent and a child, or two threads.
    pub fn pair() -> Result<(UnixStream, UnixStream), Error> {
        let (a, b) = sys::unix_pair(libc::SOCK_STREAM)?;
        Ok((UnixStream { fd: Fd(a) }, UnixStream { fd: Fd(b) }))
    }

    /// Takes ownership of `fd`, a connected Unix stream socket. It is used
    /// as it is: if it may be blocking, call
    /// [`set_nonblocking(true)`](Self::set_nonblocking).
    ///
    /// # Safety
    ///
    /// `fd` must be an open `AF_UNIX` stream socket that nothing else owns:
    /// the `UnixStream` closes it on drop, so any other owner would later
    /// close (or use) a number that may by then belong to another file.
    #[allow(unsafe_code)]
    pub unsafe fn from_raw_fd(fd: RawFd) -> UnixStream {
        UnixStream { fd: Fd(fd) }
    }

    /// Reads into `buf`: `Ok(Some(n))` with `n > 0` bytes, `Ok(Some(0))` at
    /// end of stream, `Ok(None)` when nothing is available yet.
    #[inline(always)]
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<usize>, Errno> {
        nonblocking(sys::retry_on_intr(|| sys::recv(self.fd.0, buf)))
    }

    /// Writes from `buf`: `Ok(Some(n))` bytes taken (possibly fewer than
    /// offered), `Ok(None)` when the socket buffer is full. A closed peer
    /// gives `Err(EPIPE)`, never SIGPIPE.
    #[inline(always)]
    pub fn send(&self, buf: &[u8]) -> Result<Option<usize>, Errno> {
        nonblocking(sys::retry_on_intr(|| sys::send(self.fd.0, buf)))
    }

    /// Closes the writing half (the peer reads end of stream).
    pub fn shutdown_write(&self) -> Result<(), Error> {
        Ok(sys::shutdown(self.fd.0, libc::SHUT_WR)?)
    }

    /// Sets the kernel send buffer size (`SO_SNDBUF`; the kernel doubles
    /// it). On a Unix stream socket it caps what this side can have written
    /// that the peer has not read yet (the data waits in the peer's receive
    /// queue but is charged to the sender), so it bounds what a client that
    /// stops reading can hold in the kernel, as for TCP.
    pub fn set_send_buffer(&self, bytes: i32) -> Result<(), Error> {
        Ok(sys::setsockopt_int(self.fd.0, libc::SOL_SOCKET, libc::SO_SNDBUF, bytes)?)
    }

    /// What this side has written that the peer has not read yet
    /// (`SIOCOUTQ`), in bytes of kernel memory: more than the payload
    /// (each queued buffer counts with its overhead), but 0 exactly when
    /// the peer has read everything (after
    /// [`shutdown_write`](Self::shutdown_write), the end of stream too).
    /// Unlike TCP, nothing is lost when a Unix socket closes with data
    /// still queued; a server lingering for this to reach 0 waits for the
    /// peer to take its output.
    pub fn unacked(&self) -> Result<usize, Error> {
        Ok(sys::outq(self.fd.0)?)
    }

    /// The peer process's pid, uid and gid (`SO_PEERCRED`), as they were
    /// when it connected: the kernel vouches for them, so a control socket
    /// can refuse anyone but root or its own user.
    pub fn peer_cred(&self) -> Result<Ucred, Error> {
        let (pid, uid, gid) = sys::peer_cred(self.fd.0)?;
        Ok(Ucred { pid, uid, gid })
    }

    /// The pending socket error (`SO_ERROR`); `Ok(())` if there is none.
    pub fn take_error(&self) -> Result<(), Error> {
        match sys::getsockopt_int(self.fd.0, libc::SOL_SOCKET, libc::SO_ERROR)? {
            0 => Ok(()),
            e => Err(Error::Os(Errno::from_raw_os_error(e))),
        }
    }

    /// Sets or clears `O_NONBLOCK` (for a socket taken over with
    /// `from_raw_fd`).
    pub fn set_nonblocking(&self, on: bool) -> Result<(), Error> {
        Ok(sys::set_nonblocking(self.fd.0, on)?)
    }

    /// The local address (unnamed for a client or a pair).
    pub fn local_addr(&self) -> Result<UnixAddr, Error> {
        local(self.fd.0)
    }

    /// The peer's address (the listener's, seen from a client).
    pub fn peer_addr(&self) -> Result<UnixAddr, Error> {
        peer(self.fd.0)
    }

    /// The stream's fd, to register with a selector.
    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.0
    }

    /// Gives up ownership of the fd: it is returned open and no longer
    /// closed on drop.
    pub fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw()
    }
}

/// A non-blocking, close-on-exec Unix datagram socket, closed on drop.
///
/// Datagrams keep their boundaries and are never cut silently: a received
/// [`Datagram`] carries its real length and a `truncated` flag, as
/// [`UdpSocket`](super::UdpSocket)'s do, and the sender's [`UnixAddr`]
/// (unnamed if it never bound one: then it cannot be answered).
///
/// ```
/// use picosel::net::{UnixAddr, UnixDatagram};
///
/// let server = UnixDatagram::bind(&UnixAddr::abstract_name(
///     format!("picosel-dgram-doc-{}", std::process::id()).as_bytes(),
/// )?)?;
/// let client = UnixDatagram::bind(&UnixAddr::unnamed())?; // autobind: answerable
/// client.send_to(b"hello", &server.local_addr()?)?;
/// let mut buf = [0u8; 4];
/// let d = server.recv_from(&mut buf)?.expect("queued at once");
/// assert_eq!((d.len, d.copied, d.truncated), (5, 4, true));
/// assert_eq!(d.from, client.local_addr()?);
/// server.send_to(b"ok", &d.from)?;
/// assert_eq!(client.recv(&mut buf)?.map(|d| d.len), Some(2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct UnixDatagram {
    fd: Fd,
}

impl UnixDatagram {
    /// A socket bound to `addr` ([`UnixAddr::unnamed`]: a free abstract
    /// name the kernel picks). An existing path is `EADDRINUSE`, as for
    /// [`UnixListener::bind`].
    pub fn bind(addr: &UnixAddr) -> Result<UnixDatagram, Error> {
        Ok(UnixDatagram { fd: bound(addr, libc::SOCK_DGRAM)? })
    }

    /// As [`bind`](Self::bind), replacing a stale socket file, with the
    /// rule (and the race) of [`UnixListener::bind_replacing`]; the test is
    /// a datagram `connect`, which sends nothing.
    pub fn bind_replacing(addr: &UnixAddr) -> Result<UnixDatagram, Error> {
        Ok(UnixDatagram { fd: bound_replacing(addr, libc::SOCK_DGRAM)? })
    }

    /// A socket with no address: it can send, but what it sends comes from
    /// an unnamed address that cannot be answered (bind
    /// [`UnixAddr::unnamed`] for one that can).
    pub fn unbound() -> Result<UnixDatagram, Error> {
        Ok(UnixDatagram { fd: Fd(sys::unix_socket(libc::SOCK_DGRAM)?) })
    }

    /// Two connected datagram sockets (`socketpair`).
    pub fn pair() -> Result<(UnixDatagram, UnixDatagram), Error> {
        let (a, b) = sys::unix_pair(libc::SOCK_DGRAM)?;
        Ok((UnixDatagram { fd: Fd(a) }, UnixDatagram { fd: Fd(b) }))
    }

    /// Takes ownership of `fd`, an `AF_UNIX` datagram socket. It is used as
    /// it is: if it may be blocking, call
    /// [`set_nonblocking(true)`](Self::set_nonblocking).
    ///
    /// # Safety
    ///
    /// `fd` must be an open `AF_UNIX` datagram socket that nothing else
    /// owns: the `UnixDatagram` closes it on drop, so any other owner would
    /// later close (or use) a number that may by then belong to another
    /// file.
    #[allow(unsafe_code)]
    pub unsafe fn from_raw_fd(fd: RawFd) -> UnixDatagram {
        UnixDatagram { fd: Fd(fd) }
    }

    /// Connects to `addr`: [`send`](Self::send) goes there and only its
    /// datagrams are received. Nobody bound there: `ECONNREFUSED`.
    pub fn connect(&self, addr: &UnixAddr) -> Result<(), Error> {
        Ok(sys::unix_connect(self.fd.0, addr.sun())?)
    }

    /// Sends `buf` as one datagram to `addr`: `Ok(Some(buf.len()))`, or
    /// `Ok(None)` when the receiver's queue is full. Nobody bound there:
    /// `ECONNREFUSED`; too large: `EMSGSIZE`.
    pub fn send_to(&self, buf: &[u8], addr: &UnixAddr) -> Result<Option<usize>, Errno> {
        let sun = addr.sun();
        nonblocking(sys::retry_on_intr(|| sys::unix_send_to(self.fd.0, buf, sun)))
    }

    /// Sends `buf` as one datagram to the connected peer, as
    /// [`send_to`](Self::send_to). Unconnected: `ENOTCONN`.
    pub fn send(&self, buf: &[u8]) -> Result<Option<usize>, Errno> {
        nonblocking(sys::retry_on_intr(|| sys::send(self.fd.0, buf)))
    }

    /// Receives one datagram into `buf`: `Ok(Some(datagram))` with its real
    /// length and its sender, `Ok(None)` when none is waiting. One larger
    /// than `buf` fills it and [`Datagram::truncated`] says the rest was
    /// discarded.
    pub fn recv_from(&self, buf: &mut [u8]) -> Result<Option<Datagram<UnixAddr>>, Errno> {
        let cap = buf.len();
        let got = nonblocking(sys::retry_on_intr(|| sys::unix_recv_from(self.fd.0, buf)))?;
        Ok(got.map(|(len, truncated, raw)| Datagram {
            len,
            copied: len.min(cap),
            truncated,
            from: UnixAddr::from_raw(&raw),
            dst: None,
            ifindex: None,
        }))
    }

    /// Receives one datagram, as [`recv_from`](Self::recv_from).
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<Datagram<UnixAddr>>, Errno> {
        self.recv_from(buf)
    }

    /// The pending socket error (`SO_ERROR`); `Ok(())` if there is none.
    pub fn take_error(&self) -> Result<(), Error> {
        match sys::getsockopt_int(self.fd.0, libc::SOL_SOCKET, libc::SO_ERROR)? {
            0 => Ok(()),
            e => Err(Error::Os(Errno::from_raw_os_error(e))),
        }
    }

    /// Sets or clears `O_NONBLOCK` (for a socket taken over with
    /// `from_raw_fd`).
    pub fn set_nonblocking(&self, on: bool) -> Result<(), Error> {
        Ok(sys::set_nonblocking(self.fd.0, on)?)
    }

    /// The bound address (unnamed if not bound).
    pub fn local_addr(&self) -> Result<UnixAddr, Error> {
        local(self.fd.0)
    }

    /// The connected peer's address; `ENOTCONN` if not connected.
    pub fn peer_addr(&self) -> Result<UnixAddr, Error> {
        peer(self.fd.0)
    }

    /// The socket's fd, to register with a selector.
    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.0
    }

    /// Gives up ownership of the fd: it is returned open and no longer
    /// closed on drop.
    pub fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw()
    }
}
