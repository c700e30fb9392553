//! `poll(2)`: a dense `pollfd` array, swap-removed on unregister.

use super::Backend;
use crate::table::{ReadyList, Table};
use crate::{Errno, Error, Events, RawFd, decode, sys, time};
use core::time::Duration;

/// An unused entry. Only `fds[..len]` is passed to the kernel, so unused
/// entries need no `-1`: all-zero keeps a new `Poll` all zero bytes
/// (zero-filled rather than copied from an image in the binary).
const EMPTY: libc::pollfd = libc::pollfd { fd: 0, events: 0, revents: 0 };

/// The `poll(2)` backend: no fd-number limit, O(registered fds) per call.
pub struct Poll<const N: usize> {
    fds: [libc::pollfd; N],
    /// Table slot of each `fds` entry.
    slot_of: [u32; N],
    /// Position in `fds` of each table slot.
    pos_of: [u32; N],
    len: usize,
}

fn poll_bits(events: Events) -> i16 {
    let mut bits = 0;
    if events.is_readable() {
        bits |= libc::POLLIN;
    }
    if events.is_writable() {
        bits |= libc::POLLOUT;
    }
    bits
}

impl<const N: usize> Backend<N> for Poll<N> {
    const NAME: &'static str = "poll";
    const INIT: Self = Poll { fds: [EMPTY; N], slot_of: [0; N], pos_of: [0; N], len: 0 };

    fn open(&mut self) -> Result<(), Errno> {
        Ok(())
    }

    fn add(&mut self, fd: RawFd, slot: u32, _gen: u32, events: Events) -> Result<(), Error> {
        let full = Error::Full { capacity: N };
        let pos = self.len;
        *self.fds.get_mut(pos).ok_or(full)? =
            libc::pollfd { fd, events: poll_bits(events), revents: 0 };
        *self.slot_of.get_mut(pos).ok_or(full)? = slot;
        *self.pos_of.get_mut(slot as usize).ok_or(full)? = pos as u32;
        self.len += 1;
        Ok(())
    }

    fn modify(&mut self, fd: RawFd, slot: u32, _gen: u32, events: Events) -> Result<(), Error> {
        let pos = *self.pos_of.get(slot as usize).ok_or(Error::NotRegistered(fd))?;
        match self.fds.get_mut(pos as usize) {
            Some(p) if p.fd == fd && (pos as usize) < self.len => {
                p.events = poll_bits(events);
                Ok(())
            }
            _ => Err(Error::NotRegistered(fd)),
        }
    }

    fn remove(&mut self, fd: RawFd, slot: u32) -> Result<(), Errno> {
        let Some(&pos) = self.pos_of.get(slot as usize) else {
            return Err(Errno::ENOENT);
        };
        let pos = pos as usize;
        if pos >= self.len || self.fds.get(pos).map(|p| p.fd) != Some(fd) {
            return Err(Errno::ENOENT);
        }
        let last = self.len - 1;
        let moved_slot = self.slot_of.get(last).copied().unwrap_or(0);
        self.fds.swap(pos, last);
        self.slot_of.swap(pos, last);
        if let Some(p) = self.pos_of.get_mut(moved_slot as usize) {
            *p = pos as u32;
        }
        if let Some(p) = self.fds.get_mut(last) {
            *p = EMPTY;
        }
        self.len = last;
        Ok(())
    }

    fn wait<D: Copy>(
        &mut self,
        table: &Table<D, N>,
        timeout: Option<Duration>,
        out: &mut ReadyList<N>,
    ) -> Result<(), Errno> {
        let len = self.len.min(N);
        let fds = self.fds.get_mut(..len).unwrap_or(&mut []);
        let n = sys::poll(fds, time::ceil_ms(timeout))?;
        if n > 0 {
            decode::poll(fds, self.slot_of.get(..len).unwrap_or(&[]), table, out);
        }
        Ok(())
    }

    fn close(&mut self) {
        self.len = 0;
        self.fds = [EMPTY; N];
    }
}
