//! Thin wrappers over the system calls picosel makes: the crate's only
//! `unsafe` code.
//!
//! Every function takes plain Rust values or references, makes one call
//! through `libc`, and turns a `-1` return into `Err(Errno)` in one place
//! ([`cvt`]). Nothing above this module needs `unsafe`.

use crate::Errno;
use crate::fdset::FdSet;

/// The calling thread's current `errno`.
#[inline]
fn errno() -> Errno {
    // SAFETY: __errno_location returns a valid pointer to the calling
    // thread's errno, which lives as long as the thread.
    Errno::from_raw_os_error(unsafe { *libc::__errno_location() })
}

/// Maps the C convention (`-1` and errno) to a `Result`.
#[inline]
fn cvt(ret: libc::c_int) -> Result<libc::c_int, Errno> {
    if ret == -1 { Err(errno()) } else { Ok(ret) }
}

/// Like [`cvt`] for calls returning `ssize_t`.
#[inline]
fn cvt_size(ret: libc::ssize_t) -> Result<usize, Errno> {
    if ret < 0 { Err(errno()) } else { Ok(ret as usize) }
}

/// Runs `call` again for as long as it fails with `EINTR`: the one retry
/// loop for calls that are simply restarted (a wait with a deadline is not
/// one of them; the selector recomputes its timeout instead).
#[inline(always)]
pub fn retry_on_intr<T>(mut call: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    loop {
        match call() {
            Err(e) if e == Errno::EINTR => continue,
            other => return other,
        }
    }
}

/// `close(2)`.
pub fn close(fd: i32) -> Result<(), Errno> {
    // SAFETY: close takes a plain integer; closing an fd we do not own is a
    // logic error of the caller, not memory unsafety.
    cvt(unsafe { libc::close(fd) }).map(drop)
}

/// `clock_gettime(CLOCK_MONOTONIC)` in nanoseconds.
pub fn monotonic_ns() -> u64 {
    // SAFETY: timespec is plain data; all-zero is a valid value. (Not a
    // struct literal: with musl's 64-bit time_t on 32-bit targets the libc
    // crate adds private padding fields.)
    let mut ts: libc::timespec = unsafe { core::mem::zeroed() };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let ret = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if ret != 0 {
        return 0;
    }
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
}

/// `select(2)` on read and write sets, with an optional timeout in
/// microseconds (`None` blocks), made as `pselect(2)` with no signal mask
/// (the same wait; its timeout, a timespec, is not written back, and the
/// selector recomputes what is left anyway). musl's `select()` turns its
/// timeval into a timespec with 64-bit divisions (a call into
/// compiler_builtins on 32-bit targets); here a `u32` count of
/// microseconds is split with 32-bit ones.
pub fn select(
    nfds: i32,
    read: &mut FdSet,
    write: &mut FdSet,
    timeout_us: Option<u32>,
) -> Result<usize, Errno> {
    let ts = timeout_us.map(|us| {
        // SAFETY: timespec is plain data; all-zero is a valid value (set
        // field by field: with 64-bit time_t on 32-bit musl it has
        // private padding).
        let mut ts: libc::timespec = unsafe { core::mem::zeroed() };
        ts.tv_sec = (us / 1_000_000) as libc::time_t;
        ts.tv_nsec = ((us % 1_000_000) * 1000) as _;
        ts
    });
    let tsp = match ts.as_ref() {
        Some(ts) => ts as *const libc::timespec,
        None => core::ptr::null(),
    };
    // SAFETY: FdSet is repr(C) with the size and alignment of libc::fd_set
    // (checked at compile time in fdset.rs); both sets are valid and
    // writable, and `nfds` never exceeds FD_SETSIZE because it is computed
    // from the sets themselves. `tsp` is null or points at a live
    // timespec; a null signal mask leaves the mask alone (plain select).
    let ret = unsafe {
        libc::pselect(
            nfds.clamp(0, crate::fdset::FD_SETSIZE as i32),
            (read as *mut FdSet).cast::<libc::fd_set>(),
            (write as *mut FdSet).cast::<libc::fd_set>(),
            core::ptr::null_mut(),
            tsp,
            core::ptr::null(),
        )
    };
    cvt(ret).map(|n| n as usize)
}

/// `poll(2)`; `timeout_ms` of -1 blocks.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> Result<usize, Errno> {
    // SAFETY: the pointer and length describe a valid, writable slice of
    // pollfd for the call's duration.
    let ret = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    cvt(ret).map(|n| n as usize)
}

/// A new close-on-exec epoll instance. Falls back to `epoll_create` and
/// `FD_CLOEXEC` where `epoll_create1` is missing (old uClibc kernels).
pub fn epoll_create() -> Result<i32, Errno> {
    // SAFETY: no pointers involved.
    match cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) }) {
        Err(e) if e == Errno::ENOSYS => {
            // SAFETY: no pointers involved; the size hint is ignored but must be > 0.
            let fd = cvt(unsafe { libc::epoll_create(1) })?;
            set_cloexec(fd)?;
            Ok(fd)
        }
        other => other,
    }
}

/// `fcntl(2)` for a command that takes an int (or nothing) and returns
/// one: F_GETFD, F_SETFD, F_GETFL, F_SETFL. A plain system call
/// (`syscall(SYS_fcntl, ...)`): musl's `fcntl()` also carries what
/// F_GETOWN, F_DUPFD_CLOEXEC on old kernels and the lock commands need
/// (336 bytes in a static ARM binary).
fn fcntl_int(fd: i32, cmd: i32, arg: i32) -> Result<i32, Errno> {
    // SAFETY: the commands this is called with take an int or nothing
    // (never a pointer); syscall() reads each argument as a long, so all
    // are passed as longs.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fcntl,
            libc::c_long::from(fd),
            libc::c_long::from(cmd),
            libc::c_long::from(arg),
        )
    };
    if ret < 0 { Err(errno()) } else { Ok(ret as i32) }
}

/// Sets `FD_CLOEXEC` on `fd`.
pub fn set_cloexec(fd: i32) -> Result<(), Errno> {
    let flags = fcntl_int(fd, libc::F_GETFD, 0)?;
    fcntl_int(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC).map(drop)
}

/// Sets or clears `O_NONBLOCK` on `fd` (a file status flag: it is shared
/// by every fd that refers to the same open file).
pub fn set_nonblocking(fd: i32, on: bool) -> Result<(), Errno> {
    let flags = fcntl_int(fd, libc::F_GETFL, 0)?;
    let new = if on { flags | libc::O_NONBLOCK } else { flags & !libc::O_NONBLOCK };
    if new == flags {
        return Ok(());
    }
    fcntl_int(fd, libc::F_SETFL, new).map(drop)
}

/// `epoll_ctl(2)` with the given op, event bits and data.
pub fn epoll_ctl(epfd: i32, op: i32, fd: i32, events: u32, data: u64) -> Result<(), Errno> {
    let mut ev = libc::epoll_event { events, u64: data };
    // SAFETY: `ev` is a valid epoll_event for the call (the kernel ignores
    // it for EPOLL_CTL_DEL but old kernels require a non-null pointer).
    cvt(unsafe { libc::epoll_ctl(epfd, op, fd, &mut ev) }).map(drop)
}

/// `epoll_wait(2)` into `buf`; `timeout_ms` of -1 blocks. `buf` must not
/// be empty.
pub fn epoll_wait(
    epfd: i32,
    buf: &mut [libc::epoll_event],
    timeout_ms: i32,
) -> Result<usize, Errno> {
    let max = buf.len().min(i32::MAX as usize) as i32;
    if max == 0 {
        return Err(Errno::EINVAL);
    }
    // SAFETY: the pointer and `max` describe a valid, writable slice of
    // epoll_event; the kernel writes at most `max` entries.
    let ret = unsafe { libc::epoll_wait(epfd, buf.as_mut_ptr(), max, timeout_ms) };
    cvt(ret).map(|n| n as usize)
}

/// Opens a NUL-terminated path read-only and close-on-exec.
pub fn open_read(path: &core::ffi::CStr) -> Result<i32, Errno> {
    // SAFETY: `path` is a valid NUL-terminated string for the call.
    cvt(unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) })
}

/// `read(2)` into `buf`.
pub fn read(fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the pointer and length describe a valid, writable byte slice.
    cvt_size(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })
}

/// `write(2)` from `buf`.
pub fn write(fd: i32, buf: &[u8]) -> Result<usize, Errno> {
    // SAFETY: the pointer and length describe a valid, readable byte slice.
    cvt_size(unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) })
}

/// One `write(2)` that leaves the calling thread's `errno` as it found it,
/// so that a signal handler may call it (async-signal-safe: `write` and
/// two accesses to the thread's own errno, no lock, no allocation).
pub fn write_keep_errno(fd: i32, buf: &[u8]) -> Result<usize, Errno> {
    // SAFETY: __errno_location returns a valid pointer to the calling
    // thread's errno, which lives as long as the thread.
    let slot = unsafe { libc::__errno_location() };
    // SAFETY: as above; reading an int.
    let saved = unsafe { *slot };
    let result = write(fd, buf);
    // SAFETY: as above; writing an int back.
    unsafe { *slot = saved };
    result
}

/// A non-blocking, close-on-exec `eventfd` with a zero counter.
pub fn eventfd() -> Result<i32, Errno> {
    // SAFETY: plain integers.
    cvt(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })
}

/// A non-blocking, close-on-exec pipe: `(read end, write end)`.
pub fn pipe() -> Result<(i32, i32), Errno> {
    let mut fds = [-1i32; 2];
    // SAFETY: `fds` is a writable array of two ints, as pipe2 requires.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) })?;
    Ok((fds[0], fds[1]))
}

// Socket calls (net.rs) and signal calls (signal.rs) live beside this file,
// in the same module, so all of picosel's `unsafe` stays under `sys`.
mod net;
mod netlink;
mod signal;
pub use net::*;
pub use netlink::*;
pub use signal::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_keep_errno_restores_errno_after_a_failure() {
        // SAFETY (test): the calling thread's errno slot, as in `errno()`.
        unsafe { *libc::__errno_location() = libc::ENOENT };
        assert_eq!(write_keep_errno(-1, b"x"), Err(Errno::EBADF));
        assert_eq!(errno(), Errno::ENOENT, "the interrupted code's errno survives");
    }
}
