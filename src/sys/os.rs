//! Process-level calls: files by path, terminals, wall-clock time, exit.

use super::cvt;
use crate::Errno;

/// Opens a NUL-terminated path read-only and close-on-exec.
pub fn open_read(path: &core::ffi::CStr) -> Result<i32, Errno> {
    // SAFETY: `path` is a valid NUL-terminated string for the call.
    cvt(unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) })
}

/// `isatty(3)`.
pub fn isatty(fd: i32) -> bool {
    // SAFETY: plain integer.
    unsafe { libc::isatty(fd) == 1 }
}

/// Broken-down local time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tm {
    /// Years since 1900.
    pub year: i32,
    /// Month, 0-11.
    pub mon: i32,
    /// Day of the month, 1-31.
    pub mday: i32,
    /// Hours, 0-23.
    pub hour: i32,
    /// Minutes, 0-59.
    pub min: i32,
    /// Seconds, 0-60.
    pub sec: i32,
    /// Day of the week, 0 = Sunday.
    pub wday: i32,
}

/// The current wall-clock time, broken down in the local time zone.
pub fn local_time() -> Result<Tm, Errno> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec.
    cvt(unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) })?;
    let t: libc::time_t = ts.tv_sec;
    // SAFETY: libc::tm is plain data; localtime_r fills it.
    let mut tm: libc::tm = unsafe { core::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return Err(Errno::EINVAL);
    }
    Ok(Tm {
        year: tm.tm_year,
        mon: tm.tm_mon,
        mday: tm.tm_mday,
        hour: tm.tm_hour,
        min: tm.tm_min,
        sec: tm.tm_sec,
        wday: tm.tm_wday,
    })
}

/// `getpid(2)`.
pub fn getpid() -> i32 {
    // SAFETY: no arguments.
    unsafe { libc::getpid() }
}

/// `_exit(2)`-like immediate exit through libc's `exit(3)` (flushes nothing
/// of ours: picosel buffers no output).
pub fn exit(code: i32) -> ! {
    // SAFETY: ends the process; no Rust state needs unwinding.
    unsafe { libc::exit(code) }
}

/// `abort(3)`.
pub fn abort() -> ! {
    // SAFETY: ends the process.
    unsafe { libc::abort() }
}
