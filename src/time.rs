//! The timeout rule, in one place: monotonic time, the cap on one kernel
//! wait, and rounding *up* to a backend's resolution.
//!
//! A positive timeout is never rounded down to zero: `select(0.0001)` that
//! became a 0 ms poll would turn a caller's wait loop into a busy loop
//! (Redis #8764). One kernel wait is capped at [`MAX_WAIT`], below what old
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

/// A duration in whole milliseconds, rounded up, saturating.
pub fn ceil_ms(d: Duration) -> u64 {
    d.as_secs().saturating_mul(1000).saturating_add(u64::from(d.subsec_nanos().div_ceil(1_000_000)))
}

/// One kernel wait's timeout as `poll`/`epoll_wait` take it: `None` (block)
/// is -1, anything else at most [`MAX_WAIT`], rounded up to a millisecond
/// (in `u32` arithmetic: at most 1,789 s, which cannot overflow it).
pub fn wait_ms(d: Option<Duration>) -> i32 {
    match d {
        None => -1,
        Some(d) => {
            let d = d.min(MAX_WAIT);
            (d.as_secs() as u32 * 1000 + d.subsec_nanos().div_ceil(1_000_000)) as i32
        }
    }
}

/// One kernel wait's timeout for the select backend: at most [`MAX_WAIT`]
/// (1,789,569,000 µs, which a `u32` holds), rounded up to a microsecond.
pub fn wait_us(d: Duration) -> u32 {
    let d = d.min(MAX_WAIT);
    d.as_secs() as u32 * 1_000_000 + d.subsec_nanos().div_ceil(1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_timeouts_never_round_to_zero() {
        assert_eq!(wait_ms(Some(Duration::from_nanos(1))), 1);
        assert_eq!(wait_us(Duration::from_nanos(1)), 1);
        assert_eq!(wait_ms(Some(Duration::ZERO)), 0);
        assert_eq!(wait_ms(None), -1);
        assert_eq!(wait_ms(Some(Duration::from_micros(1500))), 2);
    }

    #[test]
    fn one_wait_is_capped() {
        assert_eq!(wait_ms(Some(Duration::MAX)), 1_789_569);
        assert_eq!(wait_us(Duration::MAX), 1_789_569_000);
        assert_eq!(ceil_ms(Duration::MAX), u64::MAX);
    }
}
