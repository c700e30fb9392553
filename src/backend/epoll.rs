//! `epoll(7)`: level-triggered, with `slot | generation << 32` in each
//! event's data so that stale kernel reports are recognised and dropped.

use super::Backend;
use crate::decode::{self, epoll_token};
use crate::table::{ReadyList, Table};
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
    buf: [libc::epoll_event; N],
}

impl<const N: usize> Epoll<N> {
    /// The epoll fd, or -1 (which the kernel refuses with `EBADF`).
    fn epfd(&self) -> RawFd {
        (self.epfd_plus_one as RawFd).wrapping_sub(1)
    }
}

fn epoll_bits(events: Events) -> u32 {
    let mut bits = 0;
    if events.is_readable() {
        bits |= libc::EPOLLIN as u32;
    }
    if events.is_writable() {
        bits |= libc::EPOLLOUT as u32;
    }
    bits
}

impl<const N: usize> Backend<N> for Epoll<N> {
    const NAME: &'static str = "epoll";
    const INIT: Self = Epoll { epfd_plus_one: 0, buf: [EMPTY; N] };

    fn open(&mut self) -> Result<(), Errno> {
        if self.epfd_plus_one == 0 {
            // fds are non-negative, so fd + 1 fits in a u32 and is never 0.
            self.epfd_plus_one = (sys::epoll_create()? as u32).wrapping_add(1);
        }
        Ok(())
    }

    fn add(&mut self, fd: RawFd, slot: u32, generation: u32, events: Events) -> Result<(), Error> {
        let (bits, token) = (epoll_bits(events), epoll_token(slot, generation));
        match sys::epoll_ctl(self.epfd(), libc::EPOLL_CTL_ADD, fd, bits, token) {
            // The kernel still has this fd from a registration we dropped
            // without its DEL succeeding: take it over (Redis #2479).
            Err(e) if e == Errno::EEXIST => {
                sys::epoll_ctl(self.epfd(), libc::EPOLL_CTL_MOD, fd, bits, token)?
            }
            other => other?,
        }
        Ok(())
    }

    fn modify(
        &mut self,
        fd: RawFd,
        slot: u32,
        generation: u32,
        events: Events,
    ) -> Result<(), Error> {
        let (bits, token) = (epoll_bits(events), epoll_token(slot, generation));
        match sys::epoll_ctl(self.epfd(), libc::EPOLL_CTL_MOD, fd, bits, token) {
            Err(e) if e == Errno::ENOENT => {
                sys::epoll_ctl(self.epfd(), libc::EPOLL_CTL_ADD, fd, bits, token)?
            }
            other => other?,
        }
        Ok(())
    }

    fn remove(&mut self, fd: RawFd, _slot: u32) -> Result<(), Errno> {
        sys::epoll_ctl(self.epfd(), libc::EPOLL_CTL_DEL, fd, 0, 0)
    }

    fn wait<D: Copy>(
        &mut self,
        table: &Table<D, N>,
        timeout: Option<Duration>,
        out: &mut ReadyList<N>,
    ) -> Result<(), Errno> {
        let ms = time::ceil_ms(timeout);
        // epoll_wait needs room for at least one event, even for N = 0.
        let mut spare = [EMPTY; 1];
        let epfd = self.epfd();
        let buf: &mut [libc::epoll_event] = if N == 0 { &mut spare } else { &mut self.buf };
        let n = sys::epoll_wait(epfd, buf, ms)?;
        let got = buf.get(..n).unwrap_or(&[]);
        decode::epoll(got.iter().map(|e| (e.events, e.u64)), table, out);
        Ok(())
    }

    fn close(&mut self) {
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
        <Self as Backend<N>>::close(self);
    }
}
