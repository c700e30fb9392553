//! # picosel
//!
//! I/O readiness selection for small Linux boards, with the model of
//! Python's [`selectors`](https://docs.python.org/3/library/selectors.html)
//! module: register a file descriptor with an interest mask ([`Events`]) and
//! a piece of data, wait for readiness, dispatch.
//!
//! ## Design
//!
//! - **`#![no_std]`, no `alloc`, one dependency (`libc`).** picosel calls
//!   `select(2)`, `poll(2)` and `epoll(7)` directly. All storage is fixed at
//!   compile time by a const generic capacity `N`; constructors are `const
//!   fn` and make no system call, so a selector fits on the stack or in a
//!   `static`.
//! - **One table, three backends.** [`Selector`] keeps the registrations in
//!   a [`table::Table`] of `N` slots and mirrors changes into a
//!   [`backend::Backend`]: [`backend::Select`], [`backend::Poll`] or
//!   [`backend::Epoll`] (one small file each). [`DefaultSelector`] is epoll.
//! - **Dispatch can't reach a registration that is gone.** Each slot has a
//!   generation that changes whenever it is freed. The kernel's output is
//!   decoded ([`decode`], pure functions, fuzzed) into `(slot, generation,
//!   events)` entries, and [`Selector::next_ready`] re-checks each entry
//!   against the table when the caller asks for it: an fd unregistered
//!   mid-batch, or closed and its number reused by a new registration, is
//!   never handed an event of its previous life.
//! - **Python's semantics.** Same names, same error cases ([`Error`]), the
//!   same timeout rules (rounded up, never to zero; `EINTR` retried with the
//!   time left), the same error/hang-up mapping (an error wakes whichever
//!   side is registered, so the caller's `read` sees it; no silent spin).
//! - **`unsafe` lives in one module**, `sys`, of thin syscall wrappers.
//!
//! ## Example
//!
//! An echo exchange over a socket pair, the way a Python program would
//! write it with `sel.select()` and `key.data`:
//!
//! ```
//! use picosel::{DefaultSelector, Events};
//! use std::io::{Read, Write};
//! use std::os::fd::AsRawFd;
//! use std::os::unix::net::UnixStream;
//! use std::time::Duration;
//!
//! let (mut client, mut server) = UnixStream::pair()?;
//! let mut sel: DefaultSelector<&str, 8> = DefaultSelector::new();
//! sel.register(server.as_raw_fd(), Events::READ, "server")?;
//!
//! client.write_all(b"ping")?;
//! sel.select(Some(Duration::from_secs(5)))?;
//! while let Some((key, events)) = sel.next_ready() {
//!     assert_eq!((key.data, events), ("server", Events::READ));
//!     let mut buf = [0u8; 16];
//!     let n = server.read(&mut buf)?;
//!     server.write_all(&buf[..n])?;
//!     sel.unregister(key.fd)?; // safe mid-batch
//! }
//! let mut echoed = [0u8; 4];
//! client.read_exact(&mut echoed)?;
//! assert_eq!(&echoed, b"ping");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Limits
//!
//! - `N` registrations per selector; registration `N + 1` fails with
//!   [`Error::Full`] and leaves the others untouched.
//! - The select backend refuses fds `>= FD_SETSIZE` (1024) with
//!   [`Error::FdOutOfRange`].
//! - Unregister an fd before closing it: epoll tracks the open file, so a
//!   `dup`ed copy would keep reporting it.
//! - A single kernel wait is capped at about 30 minutes
//!   ([`time::MAX_WAIT`]); longer timeouts are waited out in several calls.

#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod backend;
pub mod decode;
mod errno;
mod error;
mod event_loop;
mod events;
pub mod fdset;
mod key;
pub mod net;
mod selector;
#[allow(unsafe_code)]
mod sys;
pub mod table;
pub mod time;

pub use errno::Errno;
pub use error::Error;
pub use event_loop::{EventLoop, IoHandler, SignalHandler, TimerHandler, TimerId, Token};
pub use events::Events;
pub use key::{Key, RawFd};
pub use selector::{DefaultSelector, EpollSelector, PollSelector, SelectSelector, Selector};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}
