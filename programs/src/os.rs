//! Process helpers for `no_std` programs: stdio, command line, clocks, exit.
//!
//! Every failure here is an OS error, so the functions return
//! [`Errno`] (which converts into [`picosel::Error`] with `?`).

use crate::fmt::{Pad, Show};
use crate::sys;
use core::sync::atomic::{AtomicUsize, Ordering};
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

/// What kind of program [`init`] prepares (see [`crate::entry!`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A long-running server: besides what a client gets, `SIGHUP`,
    /// `SIGUSR1`, `SIGUSR2` and `SIGTTOU` are ignored (the servers have
    /// nothing to reload, an ssh session closing must not end them, and a
    /// log line to the terminal from the background must not stop them
    /// under `stty tostop`).
    Server,
    /// An interactive client: `SIGHUP` keeps its default action (the
    /// terminal is gone: so is the user).
    Client,
}

/// Prepares the process before anything else runs (the [`crate::entry!`]
/// `main` calls it first):
///
/// - fds 0, 1 and 2 are made valid: each one that is closed
///   (`fcntl(F_GETFD)` fails with `EBADF`) is opened to `/dev/null`, so no
///   socket opened later can become a standard stream (and receive the log
///   lines). Without a `/dev/null` to open the program exits with status 1
///   at once rather than run with a socket as its stdout.
/// - `SIGPIPE` is ignored, so a write to a pipe or socket whose reader has
///   gone fails with `EPIPE` instead of killing the process (picosel's own
///   sends already pass `MSG_NOSIGNAL`; stdio writes cannot).
/// - For [`Role::Server`], `SIGHUP`, `SIGUSR1`, `SIGUSR2` and `SIGTTOU` are
///   ignored too
///   (`SIG_IGN`, not a loop handler: an ignored signal is discarded when it
///   is sent, never pending, and takes none of the loop's handler slots).
///   `SIGINT` and `SIGTERM` stay the servers' own, through their loops.
pub fn init(role: Role) {
    for fd in [STDIN, STDOUT, STDERR] {
        if sys::is_open(fd) {
            continue;
        }
        // The lower standard fds are open by now, so open() returns `fd`.
        match sys::open_dev_null() {
            Ok(got) if got == fd => {}
            Ok(got) => {
                let _ = sys::dup2(got, fd);
                let _ = sys::close(got);
            }
            Err(_) => exit(1),
        }
    }
    let _ = sys::ignore_signal(libc::SIGPIPE);
    if role == Role::Server {
        for signo in [SIGHUP, SIGUSR1, SIGUSR2, libc::SIGTTOU] {
            let _ = sys::ignore_signal(signo);
        }
    }
}

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

/// Writes `parts` (up to 1 KiB, cut beyond) to `fd` (the [`err!`](crate::err)
/// macro).
pub fn write_parts(fd: i32, parts: &[&dyn Show]) -> Result<(), Errno> {
    let mut buf = [0u8; 1024];
    write_all(fd, crate::fmt::concat(&mut buf, parts))
}

/// Log lines dropped since the last notice, for stdout and stderr.
static PENDING: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
/// Log lines dropped in all.
static DROPPED: AtomicUsize = AtomicUsize::new(0);

/// Writes `bytes` to `fd` if it can be done now, without waiting: `Err`
/// (`EAGAIN` when the fd is not writable, or the write's own error such as
/// `EPIPE`) otherwise. Part of `bytes` may have been written then.
///
/// How, without touching the fd's file status flags: setting `O_NONBLOCK`
/// on a standard stream would set it on a file description shared with the
/// parent (the operator's terminal and shell would then see `EAGAIN`).
/// Instead each call is non-blocking on its own:
///
/// - a socket gets `send(MSG_DONTWAIT | MSG_NOSIGNAL)`;
/// - anything else (`ENOTSOCK`) is first asked `poll(POLLOUT)` with a zero
///   timeout, and written only when writable, at most `PIPE_BUF` bytes at a
///   time: a pipe that poll calls writable has a free page, so such a write
///   neither blocks nor splits. Regular files and `/dev/null` are always
///   writable. A terminal is writable when it has room, which a line
///   longer than that room could still wait for (lines are at most 1 KiB),
///   and a pipe shared with another writer could be filled between the
///   poll and the write: those two are the remaining, short, waits.
pub fn write_now(fd: i32, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        let n = match sys::retry_eintr(|| sys::send_nowait(fd, bytes)) {
            Err(e) if e == Errno::ENOTSOCK => {
                if !sys::poll_writable(fd, 0) {
                    return Err(Errno::EAGAIN);
                }
                let chunk = bytes.get(..libc::PIPE_BUF).unwrap_or(bytes);
                sys::retry_eintr(|| sys::write(fd, chunk))?
            }
            other => other?,
        };
        if n == 0 {
            return Err(Errno::EIO);
        }
        bytes = bytes.get(n..).unwrap_or(&[]);
    }
    Ok(())
}

/// Writes one log line to `fd` (stdout or stderr) without ever blocking
/// (see [`write_now`]); the [`log_out!`](crate::log_out) and
/// [`log_err!`](crate::log_err) macros call it. A line that cannot be
/// written now, or only in part, is dropped and counted; the next line
/// that gets through to the same fd is preceded by
/// `PROG: N log lines dropped`. True when the line was written.
pub fn log_parts(fd: i32, prog: &str, parts: &[&dyn Show]) -> bool {
    let pending = &PENDING[usize::from(fd != STDOUT)];
    let mut buf = [0u8; 1024 + 80];
    let len = {
        let mut w = crate::fmt::BufWriter::new(&mut buf);
        let n = pending.load(Ordering::Relaxed);
        if n > 0 {
            crate::put!(&mut w, prog, ": ", n, " log lines dropped\n");
        }
        let mut line = [0u8; 1024];
        w.push_bytes(crate::fmt::concat(&mut line, parts));
        w.len()
    };
    let ok = write_now(fd, buf.get(..len).unwrap_or(&[])).is_ok();
    if ok {
        pending.store(0, Ordering::Relaxed);
    } else {
        pending.fetch_add(1, Ordering::Relaxed);
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
    ok
}

/// Logs `PROG: E` on stderr (as [`log_err!`](crate::log_err)) and returns
/// 1, the exit status of a program that cannot go on (the
/// [`log_failure!`](crate::log_failure) macro). One call where each use of
/// `log_err!` would build its own list of pieces.
#[inline(never)]
pub fn log_failure(prog: &str, e: &dyn Show) -> i32 {
    log_parts(STDERR, prog, &[&prog, &": ", e, &"\n"]);
    1
}

/// How many log lines (of [`log_parts`]) have been dropped since the start.
pub fn dropped_log_lines() -> usize {
    DROPPED.load(Ordering::Relaxed)
}

/// At the end of a server (the [`crate::entry!`] `main` calls it): if log
/// lines were dropped since the last notice, tries once more, still without
/// blocking, to say how many, on stderr.
pub fn report_dropped(prog: &str) {
    let n = PENDING[0].swap(0, Ordering::Relaxed) + PENDING[1].swap(0, Ordering::Relaxed);
    if n > 0 {
        let mut buf = [0u8; 80];
        let _ = write_now(
            STDERR,
            crate::fmt::concat(&mut buf, &[&prog, &": ", &n, &" log lines dropped\n"]),
        );
    }
}

/// Writes `bytes` to stdout, waiting as long as it takes (an interactive
/// program's output is for a reader who will read it), even when the fd
/// was left non-blocking by someone else. If the write fails (`EPIPE`: the
/// reader has gone), says so on stderr as `PROG: stdout: ERROR` and exits
/// with status 1: the output has nowhere to go.
pub fn print_bytes(prog: &str, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match sys::retry_eintr(|| sys::write(STDOUT, bytes)) {
            Ok(0) => stdout_failed(prog, Errno::EIO),
            Ok(n) => bytes = bytes.get(n..).unwrap_or(&[]),
            // Non-blocking after all: wait for room (or an error, which
            // the next write reports).
            Err(e) if e == Errno::EAGAIN => drop(sys::poll_writable(STDOUT, -1)),
            Err(e) => stdout_failed(prog, e),
        }
    }
}

fn stdout_failed(prog: &str, e: Errno) -> ! {
    let _ = log_parts(STDERR, prog, &[&prog, &": stdout: ", &e, &"\n"]);
    exit(1)
}

/// Writes `parts` (up to 1 KiB, cut beyond) and prints it with
/// [`print_bytes`] (the [`out!`](crate::out) macro).
pub fn print_parts(prog: &str, parts: &[&dyn Show]) {
    let mut buf = [0u8; 1024];
    print_bytes(prog, crate::fmt::concat(&mut buf, parts));
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
/// `Sun Nov 22 13:27:00 2026` (as a piece: [`Tm`]'s [`Show`]).
pub fn format_asctime<'a>(tm: &Tm, buf: &'a mut [u8]) -> &'a [u8] {
    crate::fmt::concat(buf, &[tm])
}

impl Show for Tm {
    /// `asctime` form without the newline: `Sun Nov 22 13:27:00 2026`.
    fn show(&self, w: &mut crate::fmt::BufWriter<'_>) {
        // Three letters a name, in one string (an array of &str costs 8
        // bytes a name on 32-bit targets).
        const DAYS: &[u8; 21] = b"SunMonTueWedThuFriSat";
        const MONTHS: &[u8; 36] = b"JanFebMarAprMayJunJulAugSepOctNovDec";
        let name = |names: &'static [u8], i: i32| {
            let i = usize::try_from(i).unwrap_or(usize::MAX).saturating_mul(3);
            names.get(i..i.saturating_add(3)).unwrap_or(b"???")
        };
        let field = |v: i32| u64::try_from(v).unwrap_or(0);
        crate::put!(
            w,
            name(DAYS, self.wday),
            " ",
            name(MONTHS, self.mon),
            " ",
            Pad::space(field(self.mday), 2),
            " ",
            Pad::zero(field(self.hour), 2),
            ":",
            Pad::zero(field(self.min), 2),
            ":",
            Pad::zero(field(self.sec), 2),
            " ",
            i64::from(self.year) + 1900,
        );
    }
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
