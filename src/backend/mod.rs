//! The kernel interfaces a [`Selector`](crate::Selector) can sit on: one
//! small file per system call family.

use crate::table::{ReadyList, Table};
use crate::{Errno, Error, Events, RawFd};
use core::time::Duration;

mod any;
mod epoll;
mod poll;
mod select;

pub use any::AnyBackend;
pub use epoll::Epoll;
pub use poll::Poll;
pub use select::Select;

/// One readiness system call behind the common registration table.
///
/// The selector keeps the table (fd → key, slots, generations) and calls the
/// backend to mirror each change into the kernel's view, then to wait and
/// decode what the kernel reported. Implementations must not panic and must
/// only push entries for live slots (the [`decode`](crate::decode) functions
/// guarantee that).
pub trait Backend<const N: usize>: Sized {
    /// The backend's name as the programs print it: "select", "poll", "epoll".
    const NAME: &'static str;

    /// A backend that owns no kernel resource yet (usable in `const`).
    const INIT: Self;

    /// Acquires the kernel resource, if any (epoll's fd). Called lazily
    /// before the first operation that needs it.
    fn open(&mut self) -> Result<(), Errno>;

    /// Starts watching `fd` for `events`, tagged with `(slot, generation)`.
    fn add(&mut self, fd: RawFd, slot: u32, generation: u32, events: Events) -> Result<(), Error>;

    /// Changes the events watched on an fd added before.
    fn modify(
        &mut self,
        fd: RawFd,
        slot: u32,
        generation: u32,
        events: Events,
    ) -> Result<(), Error>;

    /// Stops watching `fd`, which was added under `slot`.
    fn remove(&mut self, fd: RawFd, slot: u32) -> Result<(), Errno>;

    /// Waits at most `timeout` (`None`: forever; already capped at
    /// [`MAX_WAIT`](crate::time::MAX_WAIT)) and appends what became ready to `out`.
    fn wait<D: Copy>(
        &mut self,
        table: &Table<D, N>,
        timeout: Option<Duration>,
        out: &mut ReadyList<N>,
    ) -> Result<(), Errno>;

    /// Releases the kernel resource; idempotent.
    fn close(&mut self);

    /// This instance's name; differs from [`Backend::NAME`] only for a
    /// backend chosen at run time.
    fn name(&self) -> &'static str {
        Self::NAME
    }

    /// The backend's own fd, if it has one (Python's `fileno()`).
    fn fileno(&self) -> Option<RawFd> {
        None
    }
}
