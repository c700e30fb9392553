//! Signal calls: the thread's signal mask and `signalfd(2)`.

use super::{cvt, read};
use crate::Errno;

fn sigset(signals: &[i32]) -> Result<libc::sigset_t, Errno> {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it fully.
    let mut set: libc::sigset_t = unsafe { core::mem::zeroed() };
    // SAFETY: `set` is a valid, writable sigset_t.
    cvt(unsafe { libc::sigemptyset(&mut set) })?;
    for &s in signals {
        // SAFETY: as above; sigaddset checks the signal number (EINVAL).
        cvt(unsafe { libc::sigaddset(&mut set, s) })?;
    }
    Ok(set)
}

/// Blocks `signals` in the calling thread; returns which of them were
/// already blocked before (bit `i` for `signals[i]`).
pub fn block_signals(signals: &[i32]) -> Result<u64, Errno> {
    let set = sigset(signals)?;
    // SAFETY: zeroed sigset_t is a valid out-parameter.
    let mut old: libc::sigset_t = unsafe { core::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    let ret = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old) };
    if ret != 0 {
        return Err(Errno::from_raw_os_error(ret));
    }
    let mut was = 0u64;
    for (i, &s) in signals.iter().enumerate().take(64) {
        // SAFETY: `old` is an initialised sigset_t.
        if unsafe { libc::sigismember(&old, s) } == 1 {
            was |= 1 << i;
        }
    }
    Ok(was)
}

/// Unblocks `signals` in the calling thread.
pub fn unblock_signals(signals: &[i32]) -> Result<(), Errno> {
    let set = sigset(signals)?;
    // SAFETY: `set` is valid; the old mask is not wanted (null).
    let ret = unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, core::ptr::null_mut()) };
    if ret != 0 { Err(Errno::from_raw_os_error(ret)) } else { Ok(()) }
}

/// Creates (`fd == -1`) or updates a non-blocking, close-on-exec signalfd
/// for `signals`.
pub fn signalfd(fd: i32, signals: &[i32]) -> Result<i32, Errno> {
    let set = sigset(signals)?;
    // SAFETY: `set` is a valid sigset_t for the call.
    cvt(unsafe { libc::signalfd(fd, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) })
}

/// Reads one pending signal from a signalfd: `Ok(None)` when none is left.
pub fn read_signal(fd: i32) -> Result<Option<i32>, Errno> {
    let mut buf = [0u8; core::mem::size_of::<libc::signalfd_siginfo>()];
    match super::retry_on_intr(|| read(fd, &mut buf)) {
        Ok(n) if n == buf.len() => {
            // ssi_signo is the first field (u32), in native byte order.
            let signo = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
            Ok(Some(signo as i32))
        }
        Ok(_) => Ok(None),
        Err(e) if e.is_would_block() => Ok(None),
        Err(e) => Err(e),
    }
}
