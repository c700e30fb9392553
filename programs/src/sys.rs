//! Thin libc wrappers for the programs' runtime ([`crate::os`]): the
//! programs crate's only `unsafe` code.
//!
//! Each function takes plain Rust values or references, makes one call
//! through `libc`, and turns a failure into `Err(Errno)` in one place
//! ([`errno`] and [`cvt`]). Sockets, selectors and signals are picosel's.
//! Also [`TakeOnce`], static storage handed out once as `&'static mut`
//! (re-exported by [`crate::storage`]).

use picosel::Errno;

// The router builds are for boards that will still run after 2038: on
// 32-bit musl, insist on musl 1.2's 64-bit time_t (the libc crate's
// --cfg=libc_unstable_musl_v1_2, which `make router` passes).
#[cfg(all(target_env = "musl", target_pointer_width = "32"))]
const _: () = assert!(
    core::mem::size_of::<libc::time_t>() == 8,
    "32-bit musl: build with RUSTFLAGS=--cfg=libc_unstable_musl_v1_2 (64-bit time_t)"
);

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

/// Repeats `call` while it fails with `EINTR`.
pub fn retry_eintr<T>(mut call: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    loop {
        match call() {
            Err(e) if e == Errno::EINTR => {}
            other => return other,
        }
    }
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

/// Opens a NUL-terminated path read-only and close-on-exec.
pub fn open_read(path: &core::ffi::CStr) -> Result<i32, Errno> {
    // SAFETY: `path` is a valid NUL-terminated string for the call.
    cvt(unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) })
}

/// `close(2)`.
pub fn close(fd: i32) -> Result<(), Errno> {
    // SAFETY: close takes a plain integer; closing an fd we do not own is a
    // logic error of the caller, not memory unsafety.
    cvt(unsafe { libc::close(fd) }).map(drop)
}

/// `isatty(3)`.
pub fn isatty(fd: i32) -> bool {
    // SAFETY: plain integer.
    unsafe { libc::isatty(fd) == 1 }
}

/// The current wall-clock time, broken down in the local time zone
/// (`clock_gettime(CLOCK_REALTIME)` and `localtime_r`).
pub fn local_time() -> Result<libc::tm, Errno> {
    // SAFETY: timespec is plain data; all-zero is a valid value (not a
    // literal: with 64-bit time_t on 32-bit musl it has private padding).
    let mut ts: libc::timespec = unsafe { core::mem::zeroed() };
    // SAFETY: `ts` is a valid, writable timespec.
    cvt(unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) })?;
    let t: libc::time_t = ts.tv_sec;
    // SAFETY: libc::tm is plain data (integers and, on glibc, a pointer
    // that may be null); localtime_r fills it.
    let mut tm: libc::tm = unsafe { core::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return Err(Errno::EINVAL);
    }
    Ok(tm)
}

/// `getpid(2)`.
pub fn getpid() -> i32 {
    // SAFETY: no arguments.
    unsafe { libc::getpid() }
}

/// `exit(3)`.
pub fn exit(code: i32) -> ! {
    // SAFETY: ends the process; no Rust state needs unwinding.
    unsafe { libc::exit(code) }
}

/// `abort(3)`.
pub fn abort() -> ! {
    // SAFETY: ends the process.
    unsafe { libc::abort() }
}

/// True when `fd` is an open file descriptor (`fcntl(F_GETFD)` does not
/// fail with `EBADF`). A plain system call, as picosel's own fcntl calls
/// (musl's `fcntl()` is 336 bytes of code for other commands).
pub fn is_open(fd: i32) -> bool {
    // SAFETY: F_GETFD takes no argument and no pointer; a closed fd only
    // yields EBADF. syscall() reads its arguments as longs.
    let ret = unsafe {
        libc::syscall(libc::SYS_fcntl, libc::c_long::from(fd), libc::c_long::from(libc::F_GETFD))
    };
    ret != -1 || errno() != Errno::EBADF
}

/// Opens `/dev/null` read-write, *without* close-on-exec: it is meant to
/// become a standard stream, which is inherited.
pub fn open_dev_null() -> Result<i32, Errno> {
    // SAFETY: a valid NUL-terminated path.
    cvt(unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) })
}

/// `dup2(2)`.
pub fn dup2(old: i32, new: i32) -> Result<i32, Errno> {
    // SAFETY: plain integers; replacing `new` is what the caller asks for.
    cvt(unsafe { libc::dup2(old, new) })
}

/// Sets the disposition of `signo` to `SIG_IGN` (`sigaction(2)`): the
/// kernel then discards the signal when it is sent, so it is never pending
/// and never delivered.
pub fn ignore_signal(signo: i32) -> Result<(), Errno> {
    // SAFETY: sigaction is plain data (a handler word, a mask, flags);
    // all-zero is a valid value, and SIG_IGN is set below.
    let mut sa: libc::sigaction = unsafe { core::mem::zeroed() };
    sa.sa_sigaction = libc::SIG_IGN;
    // SAFETY: `sa` is a valid sigaction; the old action is not wanted
    // (null is allowed). SIG_IGN runs no code of ours.
    cvt(unsafe { libc::sigaction(signo, &sa, core::ptr::null_mut()) }).map(drop)
}

/// `poll(2)` on `fd` alone for `POLLOUT`, waiting up to `timeout_ms`
/// (0: not at all, -1: for ever): true when it reports `POLLOUT` and no
/// error or hang-up, i.e. a write would not block (or would fail at once).
pub fn poll_writable(fd: i32, timeout_ms: i32) -> bool {
    let mut p = libc::pollfd { fd, events: libc::POLLOUT, revents: 0 };
    // SAFETY: one valid, writable pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut p, 1, timeout_ms) };
    let bad = libc::POLLERR | libc::POLLHUP | libc::POLLNVAL;
    n == 1 && p.revents & bad == 0 && p.revents & libc::POLLOUT != 0
}

/// `send(2)` with `MSG_DONTWAIT | MSG_NOSIGNAL`: never blocks, never
/// raises `SIGPIPE`; `ENOTSOCK` when `fd` is not a socket.
pub fn send_nowait(fd: i32, buf: &[u8]) -> Result<usize, Errno> {
    let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    // SAFETY: the pointer and length describe a valid, readable byte slice.
    cvt_size(unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), flags) })
}

/// Removes the socket file at `path` (at most 107 bytes, no NUL): `lstat`
/// first, and unlinks only a socket (`S_ISSOCK`; a symlink is never
/// followed), else `Err(ENOTSOCK)`, so a file that replaced ours meanwhile
/// stays.
pub fn unlink_socket(path: &[u8]) -> Result<(), Errno> {
    let mut c = [0u8; 109];
    let Some(dst) = c.get_mut(..path.len()) else { return Err(Errno::ENAMETOOLONG) };
    if path.contains(&0) || path.len() > 107 {
        return Err(Errno::EINVAL);
    }
    dst.copy_from_slice(path);
    // SAFETY: stat is plain data; all-zero is a valid value.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: `c` is NUL-terminated (at least one zero byte follows the
    // path) and `st` is a valid, writable stat.
    cvt(unsafe { libc::lstat(c.as_ptr().cast(), &mut st) })?;
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(Errno::ENOTSOCK);
    }
    // SAFETY: `c` is NUL-terminated, as above.
    cvt(unsafe { libc::unlink(c.as_ptr().cast()) }).map(drop)
}

/// A value in a `static` that is handed out as `&'static mut` exactly once
/// ([`take`](Self::take)): how a server keeps its large state (connection
/// tables, buffers, the event loop) in zero-initialised static storage
/// instead of on the stack. A `static` whose initialiser is all zero bytes
/// lands in `.bss`: nothing in the binary, and the kernel maps each page
/// only when it is first touched, so resident memory follows what is used,
/// not the capacity, and nothing is zero-filled at start-up.
pub struct TakeOnce<T> {
    taken: core::sync::atomic::AtomicBool,
    value: core::cell::UnsafeCell<T>,
}

// SAFETY: the only access to `value` is the one `&mut T` that `take` hands
// out, once, to whichever thread wins the flag; moving that `&mut T` to
// another thread is what `T: Send` allows.
unsafe impl<T: Send> Sync for TakeOnce<T> {}

impl<T> TakeOnce<T> {
    /// Holds `value` until it is taken (`const`: for a `static`).
    pub const fn new(value: T) -> Self {
        TakeOnce {
            taken: core::sync::atomic::AtomicBool::new(false),
            value: core::cell::UnsafeCell::new(value),
        }
    }

    /// The value, the first time; `None` ever after.
    ///
    /// Never inlined: the caller then holds a pointer like any other, not
    /// the static's address as a constant. With the constant, LLVM
    /// specialises the code it flows into (the whole event loop) on it and
    /// hoists loads from every variant's fields out of their branches: 20
    /// instructions more per echoed message, measured.
    #[inline(never)]
    #[allow(clippy::mut_from_ref)] // the flag makes it the one and only `&mut`
    pub fn take(&'static self) -> Option<&'static mut T> {
        if self.taken.swap(true, core::sync::atomic::Ordering::AcqRel) {
            return None;
        }
        // SAFETY: the flag was false and is now true for good, so this
        // line runs once in the program's life: the `&mut` it makes is the
        // only reference to `value` there will ever be (nothing else reads
        // or writes `value`), and `self` is `'static`, so it stays valid.
        Some(unsafe { &mut *self.value.get() })
    }
}
