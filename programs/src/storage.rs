//! Static storage for the servers' large state: [`TakeOnce`] hands out a
//! `static` as `&'static mut` once.
//!
//! Give it an initialiser that is all zero bytes and the `static` lands in
//! `.bss`: the binary does not grow, start-up does not zero-fill it, and the
//! kernel maps a page only when it is first touched, so resident memory
//! grows with the connections rather than with the compile-time capacity.
//! What is all zero: integers, `false`, empty arrays and rings, `None` of
//! a type without a niche (its tag is 0), and `picosel`'s event loop over
//! `AnyBackend::epoll()`. A `None` stored in a niche is whatever value the
//! compiler picks: [`Stream`](crate::listen::Stream)'s tag starts at 1 so
//! that it picks 0 for `Option<Conn>` and `Option<Client>`, but layout is
//! the compiler's choice, so check (`size -A` on the release binary;
//! `tests/storage.rs`): a non-zero byte anywhere moves the whole `static`
//! into `.data`, i.e. into the file.
//!
//! ```
//! use progs::storage::TakeOnce;
//! static TABLE: TakeOnce<[u32; 1 << 16]> = TakeOnce::new([0; 1 << 16]);
//! let t = TABLE.take().unwrap();
//! t[7] = 1;
//! assert!(TABLE.take().is_none());
//! ```

pub use crate::sys::TakeOnce;
