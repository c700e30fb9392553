//! `select(2)`: two persistent interest `fd_set`s, copied for each call;
//! the kernel's output sets are handed out an fd at a time.

use super::raw::{RawBackend, Report};
use crate::fdset::{FD_SETSIZE, FdSet};
use crate::table::Tag;
use crate::{Errno, Error, Events, RawFd, sys, time};
use core::time::Duration;

/// The `select(2)` backend: portable, O(highest fd) per call, and limited
/// to fds below `FD_SETSIZE` (1024); larger fds are refused at `register`
/// with [`Error::FdOutOfRange`].
pub struct Select {
    read: FdSet,
    write: FdSet,
    /// The last wait's output, below `nfds`, from fd `cursor` on.
    ready_read: FdSet,
    ready_write: FdSet,
    nfds: i32,
    cursor: i32,
}

impl Select {
    fn set(&mut self, fd: RawFd, events: Events) -> Result<(), Error> {
        if fd < 0 || fd as usize >= FD_SETSIZE {
            return Err(Error::FdOutOfRange { fd, limit: FD_SETSIZE as i32 });
        }
        for set in [&mut self.read, &mut self.write] {
            set.remove(fd);
        }
        if events.is_readable() {
            self.read.insert(fd);
        }
        if events.is_writable() {
            self.write.insert(fd);
        }
        Ok(())
    }

    /// Erases what the last wait reported for `fd`.
    fn forget(&mut self, fd: RawFd) {
        self.ready_read.remove(fd);
        self.ready_write.remove(fd);
    }

    /// Makes `read`/`write` the output of a wait, as if the kernel had
    /// written them. For the fuzz targets.
    #[cfg(feature = "fuzzing")]
    pub fn fuzz_output(&mut self, read: FdSet, write: FdSet) -> usize {
        self.nfds = self.read.union(&self.write).nfds();
        (self.ready_read, self.ready_write, self.cursor) = (read, write, 0);
        read.count_either(&write)
    }
}

impl<const N: usize> RawBackend<N> for Select {
    const NAME: &'static str = "select";
    const INIT: Self = Select {
        read: FdSet::new(),
        write: FdSet::new(),
        ready_read: FdSet::new(),
        ready_write: FdSet::new(),
        nfds: 0,
        cursor: 0,
    };

    fn open(&mut self) -> Result<(), Errno> {
        Ok(())
    }

    fn add(&mut self, fd: RawFd, _tag: Tag, events: Events) -> Result<(), Error> {
        self.set(fd, events)?;
        // A report under this number belongs to no one: the fd was not
        // registered (so not waited on) when it was made.
        self.forget(fd);
        Ok(())
    }

    fn modify(&mut self, fd: RawFd, _tag: Tag, events: Events) -> Result<(), Error> {
        self.set(fd, events)
    }

    fn remove(&mut self, fd: RawFd, _tag: Tag) -> Result<(), Errno> {
        self.read.remove(fd);
        self.write.remove(fd);
        self.forget(fd);
        Ok(())
    }

    fn wait(&mut self, timeout: Option<Duration>) -> Result<usize, Errno> {
        (self.ready_read, self.ready_write) = (self.read, self.write);
        self.nfds = self.read.union(&self.write).nfds();
        self.cursor = self.nfds;
        let timeout = timeout.map(time::wait_us);
        let n = sys::select(self.nfds, &mut self.ready_read, &mut self.ready_write, timeout)?;
        if n == 0 {
            return Ok(0);
        }
        self.cursor = 0;
        Ok(self.ready_read.count_either(&self.ready_write))
    }

    fn next(&mut self) -> Option<Report> {
        let fd = self.ready_read.next_in_either(&self.ready_write, self.cursor, self.nfds)?;
        self.cursor = fd + 1;
        let mut events = Events::NONE;
        if self.ready_read.contains(fd) {
            events |= Events::READ;
        }
        if self.ready_write.contains(fd) {
            events |= Events::WRITE;
        }
        Some(Report::Fd(fd, events))
    }

    fn clear(&mut self) {
        self.cursor = self.nfds;
    }

    fn close(&mut self) {
        *self = <Self as RawBackend<0>>::INIT;
    }
}
