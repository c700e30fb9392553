//! A backend chosen at run time, for programs with a `--backend` flag.

use super::{Backend, Epoll, Poll, Select};
use crate::table::{ReadyList, Table};
use crate::{Errno, Error, Events, RawFd};
use core::time::Duration;

/// One of the three backends, picked at run time (`--backend poll`), so a
/// program carries one copy of its own code rather than one per backend.
/// Its size is that of the largest backend (no boxing: there is no heap).
#[allow(clippy::large_enum_variant)]
pub enum AnyBackend<const N: usize> {
    /// `select(2)`.
    Select(Select),
    /// `poll(2)`.
    Poll(Poll<N>),
    /// `epoll(7)`.
    Epoll(Epoll<N>),
}

impl<const N: usize> AnyBackend<N> {
    /// The select backend.
    pub const fn select() -> Self {
        AnyBackend::Select(<Select as Backend<N>>::INIT)
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

impl<const N: usize> Backend<N> for AnyBackend<N> {
    const NAME: &'static str = "any";
    const INIT: Self = Self::epoll();

    fn name(&self) -> &'static str {
        AnyBackend::name(self)
    }

    fn open(&mut self) -> Result<(), Errno> {
        each!(self, b => Backend::<N>::open(b))
    }

    fn add(&mut self, fd: RawFd, slot: u32, generation: u32, events: Events) -> Result<(), Error> {
        each!(self, b => Backend::<N>::add(b, fd, slot, generation, events))
    }

    fn modify(
        &mut self,
        fd: RawFd,
        slot: u32,
        generation: u32,
        events: Events,
    ) -> Result<(), Error> {
        each!(self, b => Backend::<N>::modify(b, fd, slot, generation, events))
    }

    fn remove(&mut self, fd: RawFd, slot: u32) -> Result<(), Errno> {
        each!(self, b => Backend::<N>::remove(b, fd, slot))
    }

    fn wait<D: Copy>(
        &mut self,
        table: &Table<D, N>,
        timeout: Option<Duration>,
        out: &mut ReadyList<N>,
    ) -> Result<(), Errno> {
        each!(self, b => Backend::<N>::wait(b, table, timeout, out))
    }

    fn close(&mut self) {
        each!(self, b => Backend::<N>::close(b))
    }

    fn fileno(&self) -> Option<RawFd> {
        each!(self, b => Backend::<N>::fileno(b))
    }
}
