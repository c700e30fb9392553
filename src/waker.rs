//! [`Waker`]: an fd that another thread or a signal handler makes readable.

use crate::net::Fd;
use crate::{Errno, Error, RawFd, sys};

/// Wakes a thread blocked in [`Selector::select`](crate::Selector::select)
/// or [`EventLoop::run`](crate::EventLoop::run) from another thread or
/// from a signal handler.
///
/// It is an `eventfd(2)` (non-blocking, close-on-exec), or a non-blocking,
/// close-on-exec pipe on a kernel without `eventfd2` (`ENOSYS`). Register
/// [`as_raw_fd`](Self::as_raw_fd) for `READ` like any other fd; when it is
/// reported, call [`drain`](Self::drain) and then look at whatever the
/// waking side left for you (a flag, a queue).
///
/// Wakes coalesce and are never lost: any number of [`wake`](Self::wake)
/// calls before a `drain` make one readiness, which one `drain` clears, and
/// a `wake` that comes after the drain has read makes the fd readable
/// again. So the pattern is "drain, then check the work", never the other
/// way round.
///
/// `Waker` is `Send` and `Sync` (it is one or two fd numbers), so threads
/// can share a `&Waker`. **Lifetime rule:** the waker must outlive every
/// thread and signal handler that may call `wake`: once it is dropped its
/// fd is closed, and the number may be reused by another file, which a late
/// `wake` would then write to. Share it with [`std::thread::scope`], an
/// `Arc`, or a `static` (what a signal handler needs) that is never dropped.
///
/// ```
/// use picosel::{DefaultSelector, Events, Waker};
///
/// let waker = Waker::new()?;
/// let mut sel: DefaultSelector<&str, 4> = DefaultSelector::new();
/// sel.register(waker.as_raw_fd(), Events::READ, "waker")?;
/// std::thread::scope(|s| {
///     s.spawn(|| waker.wake().unwrap());
///     sel.select(None).unwrap(); // blocks until the other thread wakes it
/// });
/// assert_eq!(sel.next_ready().map(|(key, _)| key.data), Some("waker"));
/// assert!(waker.drain()?); // consumed: the fd is quiet again
/// assert_eq!(sel.select(Some(std::time::Duration::ZERO))?, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`std::thread::scope`]: https://doc.rust-lang.org/std/thread/fn.scope.html
#[derive(Debug)]
pub struct Waker {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// One fd: `wake` adds 1 to its counter, `drain` reads it to zero.
    EventFd(Fd),
    /// `wake` writes a byte to `write`, `drain` empties `read`.
    Pipe { read: Fd, write: Fd },
}

// A Waker is shared by reference between threads; keep it so.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Waker>();
};

impl Waker {
    /// A new waker: an eventfd, or a pipe where `eventfd2` is missing
    /// (`ENOSYS`, very old kernels). Two fds in the pipe case.
    pub fn new() -> Result<Waker, Error> {
        match sys::eventfd() {
            Ok(fd) => Ok(Waker { kind: Kind::EventFd(Fd(fd)) }),
            Err(e) if e == Errno::ENOSYS => Waker::pipe(),
            Err(e) => Err(Error::Os(e)),
        }
    }

    /// The pipe-based waker (the fallback; also tested on its own).
    fn pipe() -> Result<Waker, Error> {
        let (read, write) = sys::pipe()?;
        Ok(Waker { kind: Kind::Pipe { read: Fd(read), write: Fd(write) } })
    }

    /// The fd to register for `READ`: readable from a `wake` until the
    /// next [`drain`](Self::drain).
    pub fn as_raw_fd(&self) -> RawFd {
        match &self.kind {
            Kind::EventFd(fd) => fd.0,
            Kind::Pipe { read, .. } => read.0,
        }
    }

    /// Makes the fd readable: one `write(2)`, nothing else, so it is
    /// async-signal-safe and may be called from a signal handler (it also
    /// leaves `errno` as it found it). A full counter or pipe (`EAGAIN`)
    /// already means "woken", so it is not an error; `Err` is only for a
    /// broken waker (`EBADF`, ...).
    pub fn wake(&self) -> Result<(), Errno> {
        let result = match &self.kind {
            Kind::EventFd(fd) => {
                sys::retry_on_intr(|| sys::write_keep_errno(fd.0, &1u64.to_ne_bytes()))
            }
            Kind::Pipe { write, .. } => sys::retry_on_intr(|| sys::write_keep_errno(write.0, &[1])),
        };
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.is_would_block() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Consumes every pending wake (reads until `EAGAIN`), so the fd stops
    /// being readable; returns whether there was any. Call it when the fd
    /// is reported, before looking at the work the wakers announced.
    pub fn drain(&self) -> Result<bool, Errno> {
        let fd = self.as_raw_fd();
        let mut buf = [0u8; 64];
        let mut woken = false;
        loop {
            match sys::retry_on_intr(|| sys::read(fd, &mut buf)) {
                Ok(0) => return Ok(woken), // a pipe whose write end is gone
                Ok(_) => woken = true,
                Err(e) if e.is_would_block() => return Ok(woken),
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(w: &Waker) {
        assert_eq!(w.drain(), Ok(false));
        for _ in 0..1000 {
            w.wake().unwrap();
        }
        assert_eq!(w.drain(), Ok(true));
        assert_eq!(w.drain(), Ok(false));
        w.wake().unwrap();
        assert_eq!(w.drain(), Ok(true));
    }

    #[test]
    fn eventfd_wakes_coalesce() {
        let w = Waker::new().unwrap();
        assert!(matches!(w.kind, Kind::EventFd(_)));
        check(&w);
    }

    #[test]
    fn pipe_fallback_wakes_coalesce_even_when_full() {
        let w = Waker::pipe().unwrap();
        // Far more than a pipe holds (64 KiB): the extra wakes are EAGAIN,
        // ignored.
        for _ in 0..100_000 {
            w.wake().unwrap();
        }
        assert_eq!(w.drain(), Ok(true));
        check(&w);
    }
}
