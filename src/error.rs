//! The one error type of picosel.

use crate::Errno;
use core::fmt;

/// Everything a picosel operation can fail with.
///
/// The variants mirror the exceptions Python's `selectors` raises
/// (`ValueError`, `KeyError`, `OSError`), so a caller can match on them;
/// `Display` gives a readable line and [`Error::errno`] the OS error, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The event mask was empty or had bits other than `READ`/`WRITE`
    /// (Python: `ValueError("Invalid events")`).
    InvalidEvents(u8),
    /// The file descriptor was negative (Python: `ValueError`).
    BadFd(i32),
    /// The file descriptor is already registered (Python: `KeyError`).
    AlreadyRegistered(i32),
    /// The file descriptor is not registered (Python: `KeyError`).
    NotRegistered(i32),
    /// Every one of the selector's fixed slots is in use; nothing already
    /// registered was changed. The caller should close what it could not
    /// register.
    Full {
        /// The selector's compile-time capacity.
        capacity: usize,
    },
    /// The backend cannot watch this fd number: `select(2)` can only watch
    /// fds below `FD_SETSIZE` (1024). Nothing was written out of bounds.
    FdOutOfRange {
        /// The fd that was refused.
        fd: i32,
        /// The backend's exclusive upper bound (`FD_SETSIZE`).
        limit: i32,
    },
    /// The selector (or loop) was closed; every operation now fails so.
    Closed,
    /// A fixed-size table other than the fd table (timers, signals) is full.
    TableFull {
        /// What was full ("timers", "signals").
        what: &'static str,
        /// Its capacity.
        capacity: usize,
    },
    /// A timer or signal handle does not name a live entry.
    NotFound,
    /// A system call failed with this errno.
    Os(Errno),
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
            Error::InvalidEvents(bits) => write!(f, "invalid events: {bits:#x}"),
            Error::BadFd(fd) => write!(f, "invalid file descriptor: {fd}"),
            Error::AlreadyRegistered(fd) => write!(f, "fd {fd} is already registered"),
            Error::NotRegistered(fd) => write!(f, "fd {fd} is not registered"),
            Error::Full { capacity } => write!(f, "selector is full ({capacity} fds)"),
            Error::FdOutOfRange { fd, limit } => {
                write!(f, "fd {fd} is out of range for select() (FD_SETSIZE is {limit})")
            }
            Error::Closed => f.write_str("selector is closed"),
            Error::TableFull { what, capacity } => write!(f, "{what} table is full ({capacity})"),
            Error::NotFound => f.write_str("no such timer or signal handler"),
            Error::Os(e) => fmt::Display::fmt(&e, f),
        }
    }
}

impl core::error::Error for Error {}
