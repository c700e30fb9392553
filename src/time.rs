//! Timeout arithmetic: monotonic time and rounding *up* to a backend's
//! resolution.
//!
//! A positive timeout is never rounded down to zero: `select(0.0001)` that
//! became a 0 ms poll would turn a caller's wait loop into a busy loop
//! (Redis #8764). Timeouts are also capped at [`MAX_WAIT`], below what old
//! 32-bit kernels accept; the selector waits again for whatever is left.

use core::time::Duration;

/// The longest single wait handed to the kernel (1,789,569 ms, libuv's cap).
pub const MAX_WAIT: Duration = Duration::from_millis(1_789_569);

/// Current `CLOCK_MONOTONIC` time in nanoseconds.
pub fn now_ns() -> u64 {
    crate::sys::monotonic_ns()
}

/// Current `CLOCK_MONOTONIC` time in milliseconds.
pub fn now_ms() -> u64 {
    now_ns() / 1_000_000
}

/// A duration in nanoseconds, saturating at `u64::MAX`.
pub fn as_ns(d: Duration) -> u64 {
    d.as_secs().saturating_mul(1_000_000_000).saturating_add(u64::from(d.subsec_nanos()))
}

/// `d` in whole milliseconds, rounded up, as `poll`/`epoll_wait` take it;
/// `None` (block) becomes -1.
pub fn ceil_ms(d: Option<Duration>) -> i32 {
    match d {
        None => -1,
        Some(d) => {
            let d = d.min(MAX_WAIT);
            let ms = d.as_secs() * 1000 + u64::from(d.subsec_nanos().div_ceil(1_000_000));
            ms.min(i32::MAX as u64) as i32
        }
    }
}

/// `d` in whole microseconds, rounded up, as `select`'s timeval takes it.
pub fn ceil_us(d: Duration) -> u64 {
    let d = d.min(MAX_WAIT);
    d.as_secs() * 1_000_000 + u64::from(d.subsec_nanos().div_ceil(1_000))
}
