//! What a backend does for the selector: the sealed half of
//! [`Backend`](super::Backend). Not public API (reachable only under the
//! `fuzzing` feature, outside semver).
//!
//! A backend mirrors the selector's registrations into the kernel
//! (`add`/`modify`/`remove`, each naming the registration's [`Tag`]), makes
//! one system call per [`wait`](RawBackend::wait), and keeps what the kernel
//! wrote in its own buffer (`epoll_event`s, `pollfd.revents`, `fd_set`s).
//! The selector then takes the reports one at a time with
//! [`next`](RawBackend::next) and checks each against its table right
//! there: the kernel's output is read once, at hand-out time.
//!
//! The rule every backend keeps: a report can only name a registration that
//! existed at the wait and has not been removed since. epoll carries the
//! [`Tag`] in each event, so the table's generation check drops stale ones;
//! poll and select name slots or fds without a generation, so `remove` (and
//! `add`) erase whatever the last wait reported for that entry.

use crate::table::Tag;
use crate::{Errno, Error, Events, RawFd};
use core::time::Duration;

/// One report of the last wait, already mapped to `READ`/`WRITE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    /// For the registration with this tag (epoll, poll).
    Tag(Tag, Events),
    /// For whatever is registered under this fd now (select; `remove` and
    /// `add` clear an fd's pending report, so it is never a newer
    /// registration's).
    Fd(RawFd, Events),
}

/// The operations behind [`Backend`](super::Backend).
pub trait RawBackend<const N: usize>: Sized {
    /// The backend's name as the programs print it: "select", "poll", "epoll".
    const NAME: &'static str;

    /// A backend that owns no kernel resource yet (usable in `const`).
    const INIT: Self;

    /// Acquires the kernel resource, if any (epoll's fd). Called lazily
    /// before the first operation that needs it.
    fn open(&mut self) -> Result<(), Errno>;

    /// Starts watching `fd` for `events` on behalf of registration `tag`.
    fn add(&mut self, fd: RawFd, tag: Tag, events: Events) -> Result<(), Error>;

    /// Changes the events watched for registration `tag` of `fd`.
    fn modify(&mut self, fd: RawFd, tag: Tag, events: Events) -> Result<(), Error>;

    /// Stops watching `fd` for registration `tag`; its pending report, if
    /// any, must not be handed out any more.
    fn remove(&mut self, fd: RawFd, tag: Tag) -> Result<(), Errno>;

    /// One kernel wait, at most `timeout` (`None`: until something happens;
    /// the backend rounds up and caps with [`crate::time`]). Replaces the
    /// previous batch; returns how many fds the kernel reported. On error
    /// the batch is empty.
    fn wait(&mut self, timeout: Option<Duration>) -> Result<usize, Errno>;

    /// The next report of the last wait, if any is left.
    fn next(&mut self) -> Option<Report>;

    /// Forgets the rest of the batch.
    fn clear(&mut self);

    /// Releases the kernel resource and forgets everything; idempotent.
    fn close(&mut self);

    /// This instance's name; differs from `NAME` only for a backend chosen
    /// at run time.
    fn name(&self) -> &'static str {
        Self::NAME
    }

    /// The backend's own fd, if it has one (Python's `fileno()`).
    fn fileno(&self) -> Option<RawFd> {
        None
    }
}

/// Maps kernel readiness bits to `READ`/`WRITE` the CPython way, given the
/// backend's "in" and "out" bit values: any bit other than plain "in"
/// counts as writable and any bit other than plain "out" as readable. So
/// `POLLERR`/`POLLHUP`/`POLLNVAL` wake whichever side is registered, and the
/// caller's `read`/`write` sees the error or EOF instead of the loop
/// spinning on an event nobody consumes.
#[inline(always)]
pub fn map_bits(bits: u32, in_bit: u32, out_bit: u32) -> Events {
    // The common cases first: one compare each.
    if bits == in_bit {
        return Events::READ;
    }
    if bits == out_bit {
        return Events::WRITE;
    }
    let write = (bits & !in_bit != 0) as u8;
    let read = (bits & !out_bit != 0) as u8;
    Events::from_bits_retain(read | write << 1)
}
