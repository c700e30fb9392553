//! The registered state of one file descriptor.

/// A raw file descriptor number.
pub type RawFd = i32;

/// What a selector holds for one registered fd: Python's `SelectorKey`.
///
/// `data` is any small `Copy` value: a token, an index into the caller's
/// own table, or a function pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key<D> {
    /// The file descriptor.
    pub fd: RawFd,
    /// The events it is registered for.
    pub events: crate::Events,
    /// The caller's data.
    pub data: D,
}
