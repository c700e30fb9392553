//! Process helpers for `no_std` programs: stdio, command line, clocks, exit.
//!
//! Every failure here is an OS error, so the functions return
//! [`Errno`] (which converts into [`picosel::Error`] with `?`).

use crate::sys;
use core::fmt;
use picosel::Errno;

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

/// `SIGINT` (Ctrl-C).
pub const SIGINT: i32 = libc::SIGINT;
/// `SIGTERM` (`kill`'s default).
pub const SIGTERM: i32 = libc::SIGTERM;
/// `SIGHUP`.
pub const SIGHUP: i32 = libc::SIGHUP;
/// `SIGUSR1`.
pub const SIGUSR1: i32 = libc::SIGUSR1;
/// `SIGUSR2`.
pub const SIGUSR2: i32 = libc::SIGUSR2;

/// Standard input.
pub const STDIN: i32 = 0;
/// Standard output.
pub const STDOUT: i32 = 1;
/// Standard error.
pub const STDERR: i32 = 2;

/// Reads from `fd` into `buf` (`read(2)`, retried on `EINTR`); returns the
/// byte count, 0 at end of file.
pub fn read(fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    sys::retry_eintr(|| sys::read(fd, buf))
}

/// Writes all of `bytes` to `fd`, retrying partial writes and `EINTR`. On a
/// non-blocking fd that fills up, returns `EAGAIN`.
pub fn write_all(fd: i32, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        match sys::retry_eintr(|| sys::write(fd, bytes))? {
            0 => return Err(Errno::EIO),
            n => bytes = bytes.get(n..).unwrap_or(&[]),
        }
    }
    Ok(())
}

/// Formats `args` (up to 1 KiB, cut beyond) and writes it to `fd`.
pub fn write_fmt(fd: i32, args: fmt::Arguments<'_>) -> Result<(), Errno> {
    let mut buf = [0u8; 1024];
    let text = crate::fmt::format_into(&mut buf, args);
    write_all(fd, text.as_bytes())
}

/// True when `fd` is a terminal.
pub fn isatty(fd: i32) -> bool {
    sys::isatty(fd)
}

/// The current local time, broken down (`localtime_r`).
pub fn local_time() -> Result<Tm, Errno> {
    let tm = sys::local_time()?;
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

/// Writes `tm` in `asctime` form without the newline:
/// `Sun Nov 22 13:27:00 2026`.
pub fn format_asctime<'a>(tm: &Tm, buf: &'a mut [u8]) -> &'a str {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let day = DAYS.get(tm.wday as usize).copied().unwrap_or("???");
    let mon = MONTHS.get(tm.mon as usize).copied().unwrap_or("???");
    crate::fmt::format_into(
        buf,
        format_args!(
            "{} {} {:2} {:02}:{:02}:{:02} {}",
            day,
            mon,
            tm.mday,
            tm.hour,
            tm.min,
            tm.sec,
            i64::from(tm.year) + 1900
        ),
    )
}

/// The process id.
pub fn getpid() -> i32 {
    sys::getpid()
}

/// Exits the process with `code` through libc's `exit(3)` (nothing of
/// ours to flush: the programs buffer no output).
pub fn exit(code: i32) -> ! {
    sys::exit(code)
}

/// Aborts the process (for panic handlers of `no_std` programs).
pub fn abort() -> ! {
    sys::abort()
}

/// The command-line arguments, read from `/proc/self/cmdline` into `buf`
/// (so a `no_std` program needs no raw `argv` pointers). Arguments that do
/// not fit in `buf` are cut off.
pub fn args(buf: &mut [u8]) -> Result<Args<'_>, Errno> {
    let fd = sys::open_read(c"/proc/self/cmdline")?;
    let mut len = 0;
    let result = loop {
        let Some(rest) = buf.get_mut(len..) else { break Ok(()) };
        if rest.is_empty() {
            break Ok(());
        }
        match read(fd, rest) {
            Ok(0) => break Ok(()),
            Ok(n) => len += n,
            Err(e) => break Err(e),
        }
    };
    let _ = sys::close(fd);
    result?;
    Ok(Args { rest: buf.get(..len).unwrap_or(&[]) })
}

/// Iterator over NUL-separated arguments; arguments that are not UTF-8
/// come out as `"\u{FFFD}"`.
pub struct Args<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Args<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let end = self.rest.iter().position(|&b| b == 0).unwrap_or(self.rest.len());
        let (arg, rest) = self.rest.split_at(end);
        self.rest = rest.get(1..).unwrap_or(&[]);
        Some(core::str::from_utf8(arg).unwrap_or("\u{FFFD}"))
    }
}
