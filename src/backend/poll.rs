//! `poll(2)`: a dense `pollfd` array. A removed entry becomes a hole (the
//! kernel ignores negative fds) until the next wait compacts the array, so
//! positions stay put while a batch is being handed out.

use super::raw::{RawBackend, Report, map_bits};
use crate::table::Tag;
use crate::{Errno, Error, Events, RawFd, sys, time};
use core::time::Duration;

/// An unused entry. Only `fds[..len]` is passed to the kernel, so unused
/// entries need no `-1`: all-zero keeps a new `Poll` all zero bytes
/// (zero-filled rather than copied from an image in the binary).
const EMPTY: libc::pollfd = libc::pollfd { fd: 0, events: 0, revents: 0 };
/// A removed entry inside `fds[..len]`: ignored by the kernel, reports nothing.
const HOLE: libc::pollfd = libc::pollfd { fd: -1, events: 0, revents: 0 };

/// The `poll(2)` backend: no fd-number limit, O(registered fds) per call.
pub struct Poll<const N: usize> {
    fds: [libc::pollfd; N],
    /// The registration of each `fds` entry.
    tags: [Tag; N],
    /// Position in `fds` of each table slot.
    pos_of: [u32; N],
    len: usize,
    holes: usize,
    /// Next entry of the last wait to look at.
    cursor: usize,
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

impl<const N: usize> Poll<N> {
    /// The position of registration `tag` of `fd`, if it has one.
    fn position(&self, fd: RawFd, tag: Tag) -> Option<usize> {
        let pos = *self.pos_of.get(tag.slot as usize)? as usize;
        let live = pos < self.len
            && self.fds.get(pos).is_some_and(|p| p.fd == fd)
            && self.tags.get(pos) == Some(&tag);
        live.then_some(pos)
    }

    /// Closes the holes, keeping the order, and moves the cursor with the
    /// entries so that a batch in progress loses nothing.
    fn compact(&mut self) {
        let (mut w, mut cursor) = (0, 0);
        for r in 0..self.len {
            let (Some(&p), Some(&tag)) = (self.fds.get(r), self.tags.get(r)) else { break };
            if p.fd < 0 {
                continue;
            }
            if r < self.cursor {
                cursor += 1;
            }
            if let (Some(f), Some(t), Some(at)) =
                (self.fds.get_mut(w), self.tags.get_mut(w), self.pos_of.get_mut(tag.slot as usize))
            {
                (*f, *t, *at) = (p, tag, w as u32);
            }
            w += 1;
        }
        for f in self.fds.get_mut(w..self.len).unwrap_or(&mut []) {
            *f = EMPTY;
        }
        (self.len, self.holes, self.cursor) = (w, 0, cursor);
    }

    /// Makes the output of a wait what `revents(fd)` says for each entry,
    /// as if the kernel had written it. For the fuzz targets.
    #[cfg(feature = "fuzzing")]
    pub fn fuzz_output(&mut self, mut revents: impl FnMut(RawFd) -> i16) -> usize {
        if self.holes > 0 {
            self.compact();
        }
        let mut n = 0;
        for p in self.fds.get_mut(..self.len).unwrap_or(&mut []) {
            p.revents = revents(p.fd);
            n += usize::from(p.revents != 0);
        }
        self.cursor = 0;
        n
    }
}

impl<const N: usize> RawBackend<N> for Poll<N> {
    const NAME: &'static str = "poll";
    const INIT: Self = Poll {
        fds: [EMPTY; N],
        tags: [Tag { slot: 0, generation: 0 }; N],
        pos_of: [0; N],
        len: 0,
        holes: 0,
        cursor: 0,
    };

    fn open(&mut self) -> Result<(), Errno> {
        Ok(())
    }

    fn add(&mut self, fd: RawFd, tag: Tag, events: Events) -> Result<(), Error> {
        if self.len >= N && self.holes > 0 {
            self.compact();
        }
        let pos = self.len;
        let full = Error::Full { what: crate::Limit::Fds, capacity: N };
        let (Some(p), Some(t), Some(at)) =
            (self.fds.get_mut(pos), self.tags.get_mut(pos), self.pos_of.get_mut(tag.slot as usize))
        else {
            return Err(full);
        };
        // revents 0: a new entry reports nothing from a wait it was not in.
        (*p, *t, *at) =
            (libc::pollfd { fd, events: poll_bits(events), revents: 0 }, tag, pos as u32);
        self.len += 1;
        Ok(())
    }

    fn modify(&mut self, fd: RawFd, tag: Tag, events: Events) -> Result<(), Error> {
        let p = self.position(fd, tag).and_then(|pos| self.fds.get_mut(pos));
        let p = p.ok_or(Error::NotRegistered { fd })?;
        p.events = poll_bits(events);
        Ok(())
    }

    fn remove(&mut self, fd: RawFd, tag: Tag) -> Result<(), Errno> {
        let pos = self.position(fd, tag).ok_or(Errno::ENOENT)?;
        if let Some(p) = self.fds.get_mut(pos) {
            // Also erases what the last wait reported for it.
            *p = HOLE;
            self.holes += 1;
        }
        Ok(())
    }

    fn wait(&mut self, timeout: Option<Duration>) -> Result<usize, Errno> {
        if self.holes > 0 {
            self.compact();
        }
        self.cursor = self.len;
        let fds = self.fds.get_mut(..self.len).unwrap_or(&mut []);
        let n = sys::poll(fds, time::wait_ms(timeout))?;
        if n > 0 {
            self.cursor = 0;
        }
        Ok(n)
    }

    #[inline]
    fn next(&mut self) -> Option<Report> {
        while self.cursor < self.len {
            let pos = self.cursor;
            self.cursor += 1;
            let Some(p) = self.fds.get(pos) else { break };
            if p.revents != 0 {
                let bits = p.revents as u16 as u32;
                let events =
                    map_bits(bits, libc::POLLIN as u16 as u32, libc::POLLOUT as u16 as u32);
                return Some(Report::Tag(*self.tags.get(pos)?, events));
            }
        }
        None
    }

    fn clear(&mut self) {
        self.cursor = self.len;
    }

    fn close(&mut self) {
        self.fds = [EMPTY; N];
        (self.len, self.holes, self.cursor) = (0, 0, 0);
    }
}
