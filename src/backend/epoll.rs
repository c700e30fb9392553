//! `epoll(7)`: level-triggered, with the registration's [`Tag`] in each
//! event's data so that stale kernel reports are recognised and dropped.

use super::raw::{RawBackend, Report, map_bits};
use crate::table::Tag;
use crate::{Errno, Error, Events, RawFd, sys, time};
use core::time::Duration;

const EMPTY: libc::epoll_event = libc::epoll_event { events: 0, u64: 0 };

/// The `epoll(7)` backend: O(ready fds) per call, no fd-number limit. The
/// epoll fd is created (close-on-exec) on first use and closed by
/// [`Selector::close`](crate::Selector::close) or on drop.
pub struct Epoll<const N: usize> {
    /// The epoll fd plus one; 0 while none is open. So a new `Epoll` is all
    /// zero bytes: a large one is zero-filled (or lives in `.bss`) instead
    /// of being copied from an image stored in the binary.
    epfd_plus_one: u32,
    /// Events of the last wait: `buf[pos..len]` are not handed out yet.
    len: u32,
    pos: u32,
    buf: [libc::epoll_event; N],
}

impl<const N: usize> Epoll<N> {
    /// The epoll fd, or -1 (which the kernel refuses with `EBADF`).
    fn epfd(&self) -> RawFd {
        (self.epfd_plus_one as RawFd).wrapping_sub(1)
    }

    fn ctl(&self, op: i32, fd: RawFd, tag: Tag, events: Events) -> Result<(), Errno> {
        let mut bits = 0;
        if events.is_readable() {
            bits |= libc::EPOLLIN as u32;
        }
        if events.is_writable() {
            bits |= libc::EPOLLOUT as u32;
        }
        sys::epoll_ctl(self.epfd(), op, fd, bits, tag.to_u64())
    }

    /// Makes `events` (bits, data) the output of a wait, as if the kernel
    /// had written them (at most `N`). For the fuzz targets.
    #[cfg(feature = "fuzzing")]
    pub fn fuzz_output(&mut self, events: impl IntoIterator<Item = (u32, u64)>) -> usize {
        let mut n = 0;
        for (slot, (bits, data)) in self.buf.iter_mut().zip(events) {
            *slot = libc::epoll_event { events: bits, u64: data };
            n += 1;
        }
        self.len = n as u32;
        self.pos = 0;
        n
    }
}

impl<const N: usize> RawBackend<N> for Epoll<N> {
    const NAME: &'static str = "epoll";
    const INIT: Self = Epoll { epfd_plus_one: 0, len: 0, pos: 0, buf: [EMPTY; N] };

    fn open(&mut self) -> Result<(), Errno> {
        if self.epfd_plus_one == 0 {
            // fds are non-negative, so fd + 1 fits in a u32 and is never 0.
            self.epfd_plus_one = (sys::epoll_create()? as u32).wrapping_add(1);
        }
        Ok(())
    }

    fn add(&mut self, fd: RawFd, tag: Tag, events: Events) -> Result<(), Error> {
        match self.ctl(libc::EPOLL_CTL_ADD, fd, tag, events) {
            // The kernel still has this fd from a registration we dropped
            // without its DEL succeeding: take it over (Redis #2479).
            Err(e) if e == Errno::EEXIST => self.ctl(libc::EPOLL_CTL_MOD, fd, tag, events)?,
            other => other?,
        }
        Ok(())
    }

    fn modify(&mut self, fd: RawFd, tag: Tag, events: Events) -> Result<(), Error> {
        match self.ctl(libc::EPOLL_CTL_MOD, fd, tag, events) {
            Err(e) if e == Errno::ENOENT => self.ctl(libc::EPOLL_CTL_ADD, fd, tag, events)?,
            other => other?,
        }
        Ok(())
    }

    fn remove(&mut self, fd: RawFd, _tag: Tag) -> Result<(), Errno> {
        // Pending events for it carry its tag, which is stale from now on.
        sys::epoll_ctl(self.epfd(), libc::EPOLL_CTL_DEL, fd, 0, 0)
    }

    fn wait(&mut self, timeout: Option<Duration>) -> Result<usize, Errno> {
        self.len = 0;
        self.pos = 0;
        // epoll_wait needs room for at least one event, even for N = 0.
        let mut spare = [EMPTY; 1];
        let epfd = self.epfd();
        let buf: &mut [libc::epoll_event] = if N == 0 { &mut spare } else { &mut self.buf };
        let n = sys::epoll_wait(epfd, buf, time::wait_ms(timeout))?;
        if N > 0 {
            self.len = n.min(N) as u32;
        }
        Ok(n)
    }

    #[inline(always)]
    fn next(&mut self) -> Option<Report> {
        if self.pos >= self.len {
            return None;
        }
        let e = self.buf.get(self.pos as usize)?;
        self.pos += 1;
        let events = map_bits(e.events, libc::EPOLLIN as u32, libc::EPOLLOUT as u32);
        Some(Report::Tag(Tag::from_u64(e.u64), events))
    }

    fn clear(&mut self) {
        self.len = 0;
        self.pos = 0;
    }

    fn close(&mut self) {
        self.clear();
        if self.epfd_plus_one != 0 {
            let _ = sys::close(self.epfd());
            self.epfd_plus_one = 0;
        }
    }

    fn fileno(&self) -> Option<RawFd> {
        (self.epfd_plus_one != 0).then(|| self.epfd())
    }
}

impl<const N: usize> Drop for Epoll<N> {
    fn drop(&mut self) {
        <Self as RawBackend<N>>::close(self);
    }
}
