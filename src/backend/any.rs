//! A backend chosen at run time, for programs with a `--backend` flag.

use super::raw::{RawBackend, Report};
use super::{Epoll, Poll, Select};
use crate::table::Tag;
use crate::{Errno, Error, Events, RawFd};
use core::time::Duration;

/// One of the three backends, picked at run time (`--backend poll`), so a
/// program carries one copy of its own code rather than one per backend.
/// Its size is that of the largest backend (no boxing: there is no heap).
/// The epoll variant's tag is 0, so `AnyBackend::epoll()` is all zero
/// bytes like [`Epoll`] itself: an event loop built on it in a `static`
/// lands in `.bss`, not in the binary.
///
/// ```
/// use picosel::backend::AnyBackend;
/// assert_eq!(AnyBackend::<16>::from_name("epoll").map(|b| b.name()), Some("epoll"));
/// assert!(AnyBackend::<16>::from_name("kqueue").is_none());
/// ```
#[allow(clippy::large_enum_variant)]
#[repr(u8)]
pub enum AnyBackend<const N: usize> {
    /// `select(2)`.
    Select(Select) = 1,
    /// `poll(2)`.
    Poll(Poll<N>) = 2,
    /// `epoll(7)`.
    Epoll(Epoll<N>) = 0,
}

impl<const N: usize> AnyBackend<N> {
    /// The backends' names, as [`from_name`](Self::from_name) takes them.
    pub const NAMES: [&'static str; 3] = ["select", "poll", "epoll"];

    /// The select backend.
    pub const fn select() -> Self {
        AnyBackend::Select(<Select as RawBackend<N>>::INIT)
    }

    /// The poll backend.
    pub const fn poll() -> Self {
        AnyBackend::Poll(Poll::INIT)
    }

    /// The epoll backend.
    pub const fn epoll() -> Self {
        AnyBackend::Epoll(Epoll::INIT)
    }

    /// The backend named `"select"`, `"poll"` or `"epoll"`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "select" => Some(Self::select()),
            "poll" => Some(Self::poll()),
            "epoll" => Some(Self::epoll()),
            _ => None,
        }
    }

    /// This backend's name.
    pub const fn name(&self) -> &'static str {
        match self {
            AnyBackend::Select(_) => "select",
            AnyBackend::Poll(_) => "poll",
            AnyBackend::Epoll(_) => "epoll",
        }
    }
}

macro_rules! each {
    ($self:ident, $b:ident => $e:expr) => {
        match $self {
            AnyBackend::Select($b) => $e,
            AnyBackend::Poll($b) => $e,
            AnyBackend::Epoll($b) => $e,
        }
    };
}

impl<const N: usize> RawBackend<N> for AnyBackend<N> {
    const NAME: &'static str = "any";
    const INIT: Self = Self::epoll();

    fn name(&self) -> &'static str {
        AnyBackend::name(self)
    }

    fn open(&mut self) -> Result<(), Errno> {
        each!(self, b => RawBackend::<N>::open(b))
    }

    fn add(&mut self, fd: RawFd, tag: Tag, events: Events) -> Result<(), Error> {
        each!(self, b => RawBackend::<N>::add(b, fd, tag, events))
    }

    fn modify(&mut self, fd: RawFd, tag: Tag, events: Events) -> Result<(), Error> {
        each!(self, b => RawBackend::<N>::modify(b, fd, tag, events))
    }

    fn remove(&mut self, fd: RawFd, tag: Tag) -> Result<(), Errno> {
        each!(self, b => RawBackend::<N>::remove(b, fd, tag))
    }

    fn wait(&mut self, timeout: Option<Duration>) -> Result<usize, Errno> {
        each!(self, b => RawBackend::<N>::wait(b, timeout))
    }

    #[inline]
    fn next(&mut self) -> Option<Report> {
        each!(self, b => RawBackend::<N>::next(b))
    }

    fn clear(&mut self) {
        each!(self, b => RawBackend::<N>::clear(b))
    }

    fn close(&mut self) {
        each!(self, b => RawBackend::<N>::close(b))
    }

    fn fileno(&self) -> Option<RawFd> {
        each!(self, b => RawBackend::<N>::fileno(b))
    }
}
