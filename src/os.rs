//! Process helpers for no_std programs: stdio, command line, clocks, exit.

use crate::{Error, sys};

/// Reads from `fd` into `buf` (`read(2)`); returns the byte count, 0 at EOF.
pub fn read(fd: i32, buf: &mut [u8]) -> Result<usize, Error> {
    Ok(sys::read(fd, buf)?)
}
