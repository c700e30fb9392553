//! The one error type of picosel.

use crate::{Errno, RawFd};
use core::fmt;

/// Everything a picosel operation can fail with: one variant per condition,
/// each carrying what the caller needs to act on it.
///
/// The first four mirror the exceptions Python's `selectors` raises
/// (`ValueError`, `KeyError`); `Display` gives a readable line and
/// [`Error::errno`] the OS error, if any. New variants may be added in
/// minor releases, so a `match` needs a `_` arm.
///
/// ```
/// use picosel::{DefaultSelector, Error, Events};
///
/// let mut sel: DefaultSelector<(), 4> = DefaultSelector::new();
/// let err = sel.unregister(7).unwrap_err();
/// assert_eq!(err, Error::NotRegistered { fd: 7 });
/// assert_eq!(err.to_string(), "fd 7 is not registered");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The event mask was empty or had bits other than `READ`/`WRITE`
    /// (Python: `ValueError("Invalid events")`).
    InvalidEvents {
        /// The bits given.
        bits: u8,
    },
    /// The file descriptor was negative (Python: `ValueError`).
    BadFd {
        /// The fd given.
        fd: RawFd,
    },
    /// The file descriptor is already registered (Python: `KeyError`).
    AlreadyRegistered {
        /// The fd given.
        fd: RawFd,
    },
    /// The file descriptor is not registered (Python: `KeyError`).
    NotRegistered {
        /// The fd given.
        fd: RawFd,
    },
    /// A fixed-size table is full; nothing already in it was changed. The
    /// caller should close what it could not register.
    Full {
        /// Which table.
        what: Limit,
        /// Its compile-time capacity.
        capacity: usize,
    },
    /// The backend cannot watch this fd number: `select(2)` can only watch
    /// fds below `FD_SETSIZE` (1024). Nothing was written out of bounds.
    FdOutOfRange {
        /// The fd that was refused.
        fd: RawFd,
        /// The backend's exclusive upper bound (`FD_SETSIZE`).
        limit: RawFd,
    },
    /// The selector (or loop) was closed; every operation now fails so.
    Closed,
    /// A system call failed with this errno.
    Os(Errno),
}

/// Which fixed table an [`Error::Full`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// The selector's `N` fd registrations.
    Fds,
    /// An event loop's `T` timers and signal handlers.
    Timers,
}

impl Error {
    /// The OS error number, for [`Error::Os`].
    pub const fn errno(&self) -> Option<Errno> {
        match self {
            Error::Os(e) => Some(*e),
            _ => None,
        }
    }
}

impl From<Errno> for Error {
    fn from(e: Errno) -> Self {
        Error::Os(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::InvalidEvents { bits } => {
                write!(f, "invalid events {bits:#x}: expected READ, WRITE or both")
            }
            Error::BadFd { fd } => write!(f, "invalid file descriptor {fd}"),
            Error::AlreadyRegistered { fd } => write!(f, "fd {fd} is already registered"),
            Error::NotRegistered { fd } => write!(f, "fd {fd} is not registered"),
            Error::Full { what: Limit::Fds, capacity } => {
                write!(f, "selector is full ({capacity} fds)")
            }
            Error::Full { what: Limit::Timers, capacity } => {
                write!(f, "timer table is full ({capacity} timers and signal handlers)")
            }
            Error::FdOutOfRange { fd, limit } => {
                write!(f, "fd {fd} is out of range for select() (FD_SETSIZE is {limit})")
            }
            Error::Closed => f.write_str("selector is closed"),
            Error::Os(e) => fmt::Display::fmt(&e, f),
        }
    }
}

impl core::error::Error for Error {}
