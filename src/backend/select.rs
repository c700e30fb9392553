//! `select(2)`: two persistent `fd_set`s, copied for each call.

use super::Backend;
use crate::fdset::{FD_SETSIZE, FdSet};
use crate::table::{ReadyList, Table};
use crate::{Errno, Error, Events, RawFd, decode, sys, time};
use core::time::Duration;

/// The `select(2)` backend: portable, O(highest fd) per call, and limited
/// to fds below `FD_SETSIZE` (1024); larger fds are refused at `register`
/// with [`Error::FdOutOfRange`].
pub struct Select {
    read: FdSet,
    write: FdSet,
}

impl Select {
    fn set(&mut self, fd: RawFd, events: Events) -> Result<(), Error> {
        if fd < 0 || fd as usize >= FD_SETSIZE {
            return Err(Error::FdOutOfRange { fd, limit: FD_SETSIZE as i32 });
        }
        self.read.remove(fd);
        self.write.remove(fd);
        if events.is_readable() {
            self.read.insert(fd);
        }
        if events.is_writable() {
            self.write.insert(fd);
        }
        Ok(())
    }
}

impl<const N: usize> Backend<N> for Select {
    const NAME: &'static str = "select";
    const INIT: Self = Select { read: FdSet::new(), write: FdSet::new() };

    fn open(&mut self) -> Result<(), Errno> {
        Ok(())
    }

    fn add(&mut self, fd: RawFd, _slot: u32, _gen: u32, events: Events) -> Result<(), Error> {
        self.set(fd, events)
    }

    fn modify(&mut self, fd: RawFd, _slot: u32, _gen: u32, events: Events) -> Result<(), Error> {
        self.set(fd, events)
    }

    fn remove(&mut self, fd: RawFd, _slot: u32) -> Result<(), Errno> {
        self.read.remove(fd);
        self.write.remove(fd);
        Ok(())
    }

    fn wait<D: Copy>(
        &mut self,
        table: &Table<D, N>,
        timeout: Option<Duration>,
        out: &mut ReadyList<N>,
    ) -> Result<(), Errno> {
        let mut read = self.read;
        let mut write = self.write;
        let nfds = read.union(&write).nfds();
        let n = sys::select(nfds, &mut read, &mut write, timeout.map(time::ceil_us))?;
        if n > 0 {
            decode::select(&read, &write, nfds, table, out);
        }
        Ok(())
    }

    fn close(&mut self) {
        self.read = FdSet::new();
        self.write = FdSet::new();
    }
}
