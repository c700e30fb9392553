//! Static storage for the servers' large state: [`TakeOnce`] hands out a
//! `static` as `&'static mut` once.
//!
//! Give it an initialiser that is all zero bytes and the `static` lands in
//! `.bss`: the binary does not grow, start-up does not zero-fill it, and the
//! kernel maps a page only when it is first touched, so resident memory
//! grows with the connections rather than with the compile-time capacity.
//! What is all zero: integers, `false`, empty arrays and rings,
//! `Option<T>` of a `T` without a niche (the tag is 0), a `None` whose niche
//! is a field that cannot be 0, and `picosel`'s event loop over
//! `AnyBackend::epoll()`. Check with `size -A` on the release binary: a
//! non-zero byte anywhere moves the whole `static` into `.data`.
//!
//! ```
//! use progs::storage::TakeOnce;
//! static TABLE: TakeOnce<[u32; 1 << 16]> = TakeOnce::new([0; 1 << 16]);
//! let t = TABLE.take().unwrap();
//! t[7] = 1;
//! assert!(TABLE.take().is_none());
//! ```

pub use crate::sys::TakeOnce;
