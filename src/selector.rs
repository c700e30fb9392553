//! The selector: Python's `selectors.BaseSelector` over a fixed table.

use crate::backend::raw::Report;
use crate::backend::{AnyBackend, Backend, Epoll, Poll, Select};
use crate::table::Table;
use crate::{Errno, Error, Events, Key, Limit, RawFd, time};
use core::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// Constructed; the backend's kernel resource is not acquired yet.
    New,
    Open,
    Closed,
}

/// A fixed-capacity I/O readiness selector: at most `N` registrations, each
/// with a `Copy` value `D`, over backend `B` (epoll unless chosen).
///
/// Construction is `const` and makes no system call, so a selector can live
/// on the stack or in a `static`; the epoll backend creates its fd on first
/// use. Usually named through an alias: [`DefaultSelector`],
/// [`EpollSelector`], [`PollSelector`], [`SelectSelector`] or
/// [`AnySelector`].
///
/// ```
/// use picosel::{DefaultSelector, Events};
/// use std::os::fd::AsRawFd;
/// use std::time::Duration;
///
/// #[derive(Clone, Copy, Debug, PartialEq)]
/// enum Job { Control, Peer(u16) }
///
/// let (a, b) = std::os::unix::net::UnixStream::pair()?;
/// let mut sel: DefaultSelector<Job, 16> = DefaultSelector::new();
/// sel.register(a.as_raw_fd(), Events::READ, Job::Control)?;
/// sel.register(b.as_raw_fd(), Events::WRITE, Job::Peer(7))?;
///
/// // `b` can be written at once; nothing is readable on `a` yet.
/// assert_eq!(sel.select(Some(Duration::from_secs(1)))?, 1);
/// let (key, events) = sel.next_ready().unwrap();
/// assert_eq!((key.fd, key.data, events), (b.as_raw_fd(), Job::Peer(7), Events::WRITE));
/// assert!(sel.next_ready().is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Selector<D, const N: usize, B: Backend<N> = Epoll<N>> {
    backend: B,
    table: Table<D, N>,
    state: State,
}

/// A selector on `select(2)` (fds below 1024 only).
pub type SelectSelector<D, const N: usize> = Selector<D, N, Select>;
/// A selector on `poll(2)`.
pub type PollSelector<D, const N: usize> = Selector<D, N, Poll<N>>;
/// A selector on `epoll(7)`.
pub type EpollSelector<D, const N: usize> = Selector<D, N, Epoll<N>>;
/// The best selector for the platform: epoll on Linux.
pub type DefaultSelector<D, const N: usize> = EpollSelector<D, N>;
/// A selector whose backend is chosen at run time
/// ([`AnyBackend::from_name`]).
pub type AnySelector<D, const N: usize> = Selector<D, N, AnyBackend<N>>;

impl<D: Copy, const N: usize, B: Backend<N>> Default for Selector<D, N, B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<D: Copy, const N: usize, B: Backend<N>> Selector<D, N, B> {
    /// An empty selector. Makes no system call.
    pub const fn new() -> Self {
        Self::with_backend(B::INIT)
    }

    /// An empty selector over a backend value (e.g. an [`AnyBackend`]
    /// chosen at run time).
    pub const fn with_backend(backend: B) -> Self {
        Selector { backend, table: Table::new(), state: State::New }
    }

    /// Acquires the backend's kernel resource now rather than on first use
    /// (so that e.g. `EMFILE` shows up at start-up).
    #[cold]
    pub fn open(&mut self) -> Result<(), Error> {
        match self.state {
            State::Open => Ok(()),
            State::Closed => Err(Error::Closed),
            State::New => {
                self.backend.open()?;
                self.state = State::Open;
                Ok(())
            }
        }
    }

    /// The checks every operation on an fd starts with.
    fn check(&self, fd: RawFd, events: Option<Events>) -> Result<(), Error> {
        if self.state == State::Closed {
            return Err(Error::Closed);
        }
        if let Some(events) = events.filter(|e| !e.is_valid()) {
            return Err(Error::InvalidEvents { bits: events.bits() });
        }
        if fd < 0 {
            return Err(Error::BadFd { fd });
        }
        Ok(())
    }

    /// Registers `fd` for `events` with `data` attached.
    ///
    /// Checks, in this order: closed selector, events (empty or unknown
    /// bits), fd (negative), already registered, capacity, then the backend
    /// (fd out of range for select, `EPERM` from epoll for a regular file,
    /// ...). On any error nothing changes.
    pub fn register(&mut self, fd: RawFd, events: Events, data: D) -> Result<Key<D>, Error> {
        self.check(fd, Some(events))?;
        if self.table.find(fd).is_some() {
            return Err(Error::AlreadyRegistered { fd });
        }
        let full = Error::Full { what: Limit::Fds, capacity: N };
        if self.table.len() >= N {
            return Err(full);
        }
        self.open()?;
        let key = Key { fd, events, data };
        let tag = self.table.insert(key).ok_or(full)?;
        if let Err(e) = self.backend.add(fd, tag, events) {
            self.table.remove(fd);
            return Err(e);
        }
        Ok(key)
    }

    /// Unregisters `fd` and returns its key. The table entry goes first and
    /// backend errors are ignored, so this succeeds for any registered fd,
    /// even one already closed. Unregister *before* closing an fd: epoll
    /// watches the open file, not the number.
    pub fn unregister(&mut self, fd: RawFd) -> Result<Key<D>, Error> {
        self.check(fd, None)?;
        let (tag, key) = self.table.remove(fd).ok_or(Error::NotRegistered { fd })?;
        let _ = self.backend.remove(fd, tag);
        Ok(key)
    }

    /// Changes the events and/or data of a registered fd. New data alone is
    /// stored in place without a system call. If the backend refuses the new
    /// events, the fd is unregistered and the error returned (as CPython).
    pub fn modify(&mut self, fd: RawFd, events: Events, data: D) -> Result<Key<D>, Error> {
        self.modify_with(fd, events, Some(data))
    }

    /// [`modify`](Self::modify), keeping the data when `data` is `None`: one
    /// lookup either way.
    pub(crate) fn modify_with(
        &mut self,
        fd: RawFd,
        events: Events,
        data: Option<D>,
    ) -> Result<Key<D>, Error> {
        self.check(fd, Some(events))?;
        let tag = self.table.find(fd).ok_or(Error::NotRegistered { fd })?;
        let old = self.table.live(tag).ok_or(Error::NotRegistered { fd })?;
        if old.events != events {
            if let Err(e) = self.backend.modify(fd, tag, events) {
                let _ = self.unregister(fd);
                return Err(e);
            }
        }
        let key = self.table.live_mut(tag).ok_or(Error::NotRegistered { fd })?;
        key.events = events;
        if let Some(data) = data {
            key.data = data;
        }
        Ok(*key)
    }

    /// Waits until a registered fd is ready or `timeout` passes, and returns
    /// how many fds the kernel reported ready; take them with
    /// [`next_ready`](Self::next_ready).
    ///
    /// `None` blocks; zero polls; a positive timeout waits at most that long,
    /// rounded *up* to the backend's resolution (1 ms for poll/epoll, 1 µs
    /// for select). A wait that ends with nothing ready before the deadline
    /// (`EINTR`, or a timeout longer than one kernel wait allows) waits
    /// again for the time left on the monotonic clock (PEP 475); when none
    /// is left, the result is 0.
    pub fn select(&mut self, timeout: Option<Duration>) -> Result<usize, Error> {
        if self.state != State::Open {
            self.open()?;
        }
        let deadline = match timeout {
            Some(t) if !t.is_zero() => Some(time::now_ns().saturating_add(time::as_ns(t))),
            Some(_) => Some(0),
            None => None,
        };
        let mut left = timeout;
        loop {
            match self.backend.wait(left) {
                Ok(0) => {}
                Ok(n) => return Ok(n),
                Err(e) if e == Errno::EINTR => self.backend.clear(),
                Err(e) => {
                    // Nothing from a failed wait is handed out.
                    self.backend.clear();
                    return Err(Error::Os(e));
                }
            }
            if let Some(deadline) = deadline {
                let now = time::now_ns();
                if now >= deadline {
                    return Ok(0);
                }
                left = Some(Duration::from_nanos(deadline - now));
            }
        }
    }

    /// The next ready `(key, events)` of the last [`select`](Self::select)
    /// call, or `None` when all are taken.
    ///
    /// Each of the kernel's reports is checked against the table *now*: one
    /// for a registration removed since (or removed and made again, even
    /// under the same fd number) is skipped, and the events are masked by
    /// the current interest. So the caller may register, modify and
    /// unregister freely between calls, as Python code does inside its
    /// `for key, mask in sel.select()`.
    #[inline]
    pub fn next_ready(&mut self) -> Option<(Key<D>, Events)> {
        while let Some(report) = self.backend.next() {
            let (key, events) = match report {
                Report::Tag(tag, events) => (self.table.live(tag), events),
                Report::Fd(fd, events) => (self.table.find_key(fd), events),
            };
            if let Some(key) = key {
                let events = events & key.events;
                if !events.is_empty() {
                    return Some((key, events));
                }
            }
        }
        None
    }

    /// The key of a registered fd (Python's `get_key`).
    pub fn get_key(&self, fd: RawFd) -> Result<Key<D>, Error> {
        self.check(fd, None)?;
        self.table.find_key(fd).ok_or(Error::NotRegistered { fd })
    }

    /// All registered keys (Python's `get_map().values()`).
    pub fn keys(&self) -> impl Iterator<Item = Key<D>> + '_ {
        self.table.iter().map(|(_, k)| *k)
    }

    /// Number of registered fds.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when no fd is registered.
    pub fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    /// The compile-time capacity `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// The backend's name: "select", "poll" or "epoll".
    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// The backend's own fd, if it has one open (epoll).
    pub fn fileno(&self) -> Option<RawFd> {
        self.backend.fileno()
    }

    /// Closes the selector: forgets every registration and releases the
    /// backend's fd. Every later operation fails with [`Error::Closed`].
    /// Idempotent; also done on drop for the epoll fd.
    pub fn close(&mut self) {
        self.table.clear();
        self.backend.close();
        self.state = State::Closed;
    }

    /// Replaces the backend in place: the selector becomes what
    /// [`with_backend(backend)`](Self::with_backend) makes, without writing
    /// a whole new table over this one (a selector built in a `static`
    /// starts as zero bytes in `.bss`, whose pages stay untouched until
    /// used). A selector that was used is closed first
    /// ([`close`](Self::close): its registrations are forgotten).
    pub fn set_backend(&mut self, backend: B) {
        if self.state != State::New {
            self.close();
        }
        self.backend = backend;
        self.state = State::New;
    }

    /// True after [`close`](Self::close).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The backend, for the fuzz targets' fake kernel (outside semver).
    #[cfg(feature = "fuzzing")]
    #[doc(hidden)]
    pub fn fuzz_backend(&mut self) -> &mut B {
        &mut self.backend
    }

    /// The tag `fd` is registered under, for the fuzz targets (outside
    /// semver).
    #[cfg(feature = "fuzzing")]
    #[doc(hidden)]
    pub fn fuzz_tag(&self, fd: RawFd) -> Option<crate::table::Tag> {
        self.table.find(fd)
    }
}

/// Registering `std` types (with the `std` feature): anything that has an
/// fd. The selector stores the fd number only, so the rule of the raw
/// calls holds here too: unregister a source *before* dropping (closing)
/// it, or epoll keeps watching the open file under a number that may
/// already belong to someone else.
///
/// ```
/// use picosel::{DefaultSelector, Events};
/// use std::os::unix::net::UnixStream;
///
/// let (a, _b) = UnixStream::pair()?;
/// let mut sel: DefaultSelector<&str, 4> = DefaultSelector::new();
/// sel.register_fd(&a, Events::WRITE, "a")?;
/// assert_eq!(sel.select(None)?, 1);
/// sel.unregister_fd(&a)?; // then drop `a`
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "std")]
impl<D: Copy, const N: usize, B: Backend<N>> Selector<D, N, B> {
    /// [`register`](Self::register) for anything with an fd.
    pub fn register_fd(
        &mut self,
        source: &impl std::os::fd::AsFd,
        events: Events,
        data: D,
    ) -> Result<Key<D>, Error> {
        self.register(raw_fd(source), events, data)
    }

    /// [`modify`](Self::modify) for anything with an fd.
    pub fn modify_fd(
        &mut self,
        source: &impl std::os::fd::AsFd,
        events: Events,
        data: D,
    ) -> Result<Key<D>, Error> {
        self.modify(raw_fd(source), events, data)
    }

    /// [`unregister`](Self::unregister) for anything with an fd.
    pub fn unregister_fd(&mut self, source: &impl std::os::fd::AsFd) -> Result<Key<D>, Error> {
        self.unregister(raw_fd(source))
    }
}

#[cfg(feature = "std")]
pub(crate) fn raw_fd(source: &impl std::os::fd::AsFd) -> RawFd {
    use std::os::fd::AsRawFd;
    source.as_fd().as_raw_fd()
}
