//! The selector: Python's `selectors.BaseSelector` over a fixed table.

use crate::backend::{Backend, Epoll, Poll, Select};
use crate::table::{ReadyList, Table};
use crate::{Errno, Error, Events, Key, RawFd, time};
use core::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// Constructed; the backend's kernel resource is not acquired yet.
    New,
    Open,
    Closed,
}

/// A fixed-capacity I/O readiness selector over backend `B`, holding at most
/// `N` registrations, each with a `Copy` value `D`.
///
/// Construction is `const` and makes no system call, so a selector can live
/// on the stack or in a `static`; the epoll backend creates its fd on first
/// use. See the [crate docs](crate) for the semantics and an example.
pub struct Selector<B, D, const N: usize> {
    backend: B,
    table: Table<D, N>,
    ready: ReadyList<N>,
    state: State,
}

/// A selector on `select(2)` (fds below 1024 only).
pub type SelectSelector<D, const N: usize> = Selector<Select, D, N>;
/// A selector on `poll(2)`.
pub type PollSelector<D, const N: usize> = Selector<Poll<N>, D, N>;
/// A selector on `epoll(7)`.
pub type EpollSelector<D, const N: usize> = Selector<Epoll<N>, D, N>;
/// The best selector for the platform: epoll on Linux.
pub type DefaultSelector<D, const N: usize> = EpollSelector<D, N>;

impl<B: Backend<N>, D: Copy, const N: usize> Default for Selector<B, D, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backend<N>, D: Copy, const N: usize> Selector<B, D, N> {
    /// An empty selector. Makes no system call.
    pub const fn new() -> Self {
        Self::with_backend(B::INIT)
    }

    /// An empty selector over a backend value (e.g. an
    /// [`AnyBackend`](crate::backend::AnyBackend) chosen at run time).
    pub const fn with_backend(backend: B) -> Self {
        Selector { backend, table: Table::new(), ready: ReadyList::new(), state: State::New }
    }

    /// Acquires the backend's kernel resource now rather than on first use
    /// (so that e.g. `EMFILE` shows up at start-up).
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

    /// Registers `fd` for `events` with `data` attached.
    ///
    /// Checks, in this order: closed selector, events (empty or unknown
    /// bits), fd (negative), already registered, capacity, then the backend
    /// (fd out of range for select, `EPERM` from epoll for a regular file,
    /// ...). On any error nothing changes.
    pub fn register(&mut self, fd: RawFd, events: Events, data: D) -> Result<Key<D>, Error> {
        if self.state == State::Closed {
            return Err(Error::Closed);
        }
        if !events.is_valid() {
            return Err(Error::InvalidEvents(events.bits()));
        }
        if fd < 0 {
            return Err(Error::BadFd(fd));
        }
        if self.table.find(fd).is_some() {
            return Err(Error::AlreadyRegistered(fd));
        }
        if self.table.len() >= N {
            return Err(Error::Full { capacity: N });
        }
        self.open()?;
        let key = Key { fd, events, data };
        let slot = self.table.insert(key).ok_or(Error::Full { capacity: N })?;
        let generation = self.table.generation(slot);
        if let Err(e) = self.backend.add(fd, slot, generation, events) {
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
        if self.state == State::Closed {
            return Err(Error::Closed);
        }
        if fd < 0 {
            return Err(Error::BadFd(fd));
        }
        let (slot, key) = self.table.remove(fd).ok_or(Error::NotRegistered(fd))?;
        let _ = self.backend.remove(fd, slot);
        Ok(key)
    }

    /// Changes the events and/or data of a registered fd. New data alone is
    /// stored in place without a system call. If the backend refuses the new
    /// events, the fd is unregistered and the error returned (as CPython).
    pub fn modify(&mut self, fd: RawFd, events: Events, data: D) -> Result<Key<D>, Error> {
        if self.state == State::Closed {
            return Err(Error::Closed);
        }
        if !events.is_valid() {
            return Err(Error::InvalidEvents(events.bits()));
        }
        if fd < 0 {
            return Err(Error::BadFd(fd));
        }
        let slot = self.table.find(fd).ok_or(Error::NotRegistered(fd))?;
        let generation = self.table.generation(slot);
        let old = *self.table.get(slot).ok_or(Error::NotRegistered(fd))?;
        if old.events != events {
            if let Err(e) = self.backend.modify(fd, slot, generation, events) {
                let _ = self.unregister(fd);
                return Err(e);
            }
        }
        let key = self.table.get_mut(slot).ok_or(Error::NotRegistered(fd))?;
        key.events = events;
        key.data = data;
        Ok(*key)
    }

    /// Waits until a registered fd is ready or `timeout` passes, and returns
    /// how many ready entries were decoded; take them with
    /// [`next_ready`](Self::next_ready).
    ///
    /// `None` blocks; zero polls; a positive timeout waits at most that long,
    /// rounded *up* to the backend's resolution (1 ms for poll/epoll, 1 µs
    /// for select). `EINTR` is retried with the time that is left on the
    /// monotonic clock (PEP 475); when none is left, the result is empty.
    pub fn select(&mut self, timeout: Option<Duration>) -> Result<usize, Error> {
        self.open()?;
        self.ready.clear();
        let deadline = match timeout {
            Some(t) if !t.is_zero() => Some(time::now_ns().saturating_add(time::as_ns(t))),
            Some(_) => Some(0),
            None => None,
        };
        let mut remaining = timeout;
        loop {
            let capped = remaining.map(|r| r.min(time::MAX_WAIT));
            let clamped = remaining != capped;
            match self.backend.wait(&self.table, capped, &mut self.ready) {
                Ok(()) if clamped && self.ready.is_empty() => {}
                Ok(()) => return Ok(self.ready.len()),
                Err(e) if e == Errno::EINTR => self.ready.clear(),
                Err(e) => {
                    // Nothing from a failed wait is handed out.
                    self.ready.clear();
                    return Err(Error::Os(e));
                }
            }
            if let Some(deadline) = deadline {
                let now = time::now_ns();
                if now >= deadline {
                    return Ok(0);
                }
                remaining = Some(Duration::from_nanos(deadline - now));
            }
        }
    }

    /// The next ready `(key, events)` of the last [`select`](Self::select)
    /// call, or `None` when all are taken.
    ///
    /// Each entry is checked against the table *now*: an fd unregistered
    /// since (or unregistered and registered again, even under the same
    /// number) is skipped, and the events are masked by the current interest.
    /// So the caller may register, modify and unregister freely between
    /// calls, as Python code does inside its `for key, mask in sel.select()`.
    pub fn next_ready(&mut self) -> Option<(Key<D>, Events)> {
        while let Some(r) = self.ready.pop_front() {
            if let Some(key) = self.table.live(r.slot, r.generation) {
                let events = r.events & key.events;
                if !events.is_empty() {
                    return Some((key, events));
                }
            }
        }
        None
    }

    /// The key of a registered fd (Python's `get_key`).
    pub fn get_key(&self, fd: RawFd) -> Result<Key<D>, Error> {
        if self.state == State::Closed {
            return Err(Error::Closed);
        }
        if fd < 0 {
            return Err(Error::BadFd(fd));
        }
        let slot = self.table.find(fd).ok_or(Error::NotRegistered(fd))?;
        self.table.get(slot).copied().ok_or(Error::NotRegistered(fd))
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
        self.table.is_empty()
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
        self.ready.clear();
        self.backend.close();
        self.state = State::Closed;
    }

    /// True after [`close`](Self::close).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The registration table (read-only), for inspection and testing.
    pub fn table(&self) -> &Table<D, N> {
        &self.table
    }

    /// Direct access to the backend, for a custom backend's own settings.
    pub fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }
}
