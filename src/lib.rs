//! # picosel
//!
//! I/O readiness selection for small Linux boards, with the model of
//! Python's [`selectors`](https://docs.python.org/3/library/selectors.html)
//! module: register a file descriptor with an interest mask ([`Events`]) and
//! a piece of data, wait for readiness, dispatch. `#![no_std]`, no `alloc`,
//! `libc` its only dependency; all storage fixed at compile time.
//!
//! ## Map
//!
//! | item | what it is for | a typical daemon |
//! |---|---|---|
//! | [`EventLoop`] | `fn` callbacks per fd, timers, signals, an after-pass hook | uses this |
//! | [`Selector`] and its aliases ([`DefaultSelector`], [`AnySelector`], ...) | Python's `selectors`: register, `select`, `next_ready` | or this, to drive its own loop |
//! | [`net`] | non-blocking TCP listener and stream | for its sockets |
//! | [`net::UdpSocket`] | non-blocking UDP: datagrams with their real length (truncation reported), broadcast, multicast, `SO_BINDTODEVICE`, destination address and interface (`IP_PKTINFO`) | for DHCP, DNS, mDNS, SNMP |
//! | [`net::Netlink`], [`net::netlink`] | rtnetlink: link up/down and address added/removed as they happen, dumps of the current state, a fuzzed no-alloc parser | to react to a WAN link going down |
//! | [`net::UnixListener`], [`net::UnixStream`], [`net::UnixDatagram`] | Unix domain sockets on a path or an abstract name ([`net::UnixAddr`]), the peer's pid/uid/gid (`peer_cred`), replacing a stale socket file (`bind_replacing`) | for its control socket |
//! | [`net::SocketOptions`] | what is set before `bind`: `SO_REUSEADDR`/`SO_REUSEPORT`, dual stack (`IPV6_V6ONLY`), backlog, `SO_BINDTODEVICE`, buffer sizes, `TCP_NODELAY`, keepalive | for a listener tuned to its job |
//! | [`Waker`] | an eventfd another thread or a signal handler makes readable, to wake a blocked `select`/`run` | to hand work to the loop |
//! | [`backend`] | select(2), poll(2), epoll(7), and [`AnyBackend`](backend::AnyBackend) to pick one by name | names one only for a `--backend` flag |
//! | [`Events`], [`Key`], [`Token`], [`TimerId`], [`RawFd`] | the values passed around | |
//! | [`Error`], [`Limit`], [`Errno`] | what can fail, and the OS error with its name | |
//!
//! ## Design
//!
//! - **Fixed capacity, no system call to construct.** A selector holds `N`
//!   registrations, an event loop `N` fds and `T` timers and signal
//!   handlers; constructors are `const fn`, so either fits on the stack or
//!   in a `static`.
//! - **One table, three backends.** The selector keeps the registrations in
//!   one table of `N` slots and mirrors changes into its backend (one small
//!   file each). [`DefaultSelector`] and [`EventLoop`] use epoll.
//! - **Dispatch can't reach a registration that is gone.** Each slot has a
//!   generation that changes whenever it is freed. The kernel's output
//!   stays in the backend's buffer and is read once, when
//!   [`Selector::next_ready`] hands it out, checked against the table right
//!   then: an fd unregistered mid-batch, or closed and its number reused by
//!   a new registration, is never handed an event of its previous life.
//! - **Python's semantics.** Same names, same error cases ([`Error`]), the
//!   same timeout rules (rounded up, never to zero; `EINTR` retried with the
//!   time left), the same error/hang-up mapping (an error wakes whichever
//!   side is registered, so the caller's `read` sees it; no silent spin).
//! - **`unsafe` lives in one private module** of thin syscall wrappers.
//!   Outside it, only the `from_raw_fd` constructors of [`net`] are
//!   `unsafe fn` (the caller vouches for the fd it hands over); their
//!   bodies are safe code.
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
//! ## Features
//!
//! - `std` (off): `Selector::register_fd` and friends take anything
//!   `AsFd`, and [`Errno`] converts into `std::io::Error`. The crate stays
//!   `#![no_std]` without it.
//! - `fuzzing` (off): hooks for the fuzz targets. Hidden from the docs and
//!   **outside semver**: never enable it in a program.
//!
//! ## Limits
//!
//! - `N` registrations per selector; registration `N + 1` fails with
//!   [`Error::Full`] and leaves the others untouched. `T` timers and signal
//!   handlers per event loop, the same way.
//! - The select backend refuses fds `>= FD_SETSIZE` (1024) with
//!   [`Error::FdOutOfRange`].
//! - Unregister an fd before closing it: epoll tracks the open file, so a
//!   `dup`ed copy would keep reporting it.
//! - A single kernel wait is capped at about 30 minutes (1,789,569 ms);
//!   longer timeouts are waited out in several calls.
//! - Linux (and Android) only: epoll and signalfd are Linux interfaces.

#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(not(any(target_os = "linux", target_os = "android")))]
compile_error!(
    "picosel supports Linux (and Android) only: it is built on epoll(7) and signalfd(2)"
);

#[cfg(feature = "std")]
extern crate std;

pub mod backend;
mod errno;
mod error;
mod event_loop;
mod events;
mod fdset;
mod key;
pub mod net;
mod selector;
#[allow(unsafe_code)]
mod sys;
mod table;
mod time;
mod token;
mod waker;

pub use errno::Errno;
pub use error::{Error, Limit};
pub use event_loop::{
    AnyEventLoop, EventLoop, IoHandler, PassHandler, SignalHandler, TimerHandler, TimerId,
};
pub use events::Events;
pub use key::{Key, RawFd};
pub use selector::{
    AnySelector, DefaultSelector, EpollSelector, PollSelector, SelectSelector, Selector,
};
pub use token::Token;
pub use waker::Waker;

/// What the fuzz targets need beyond the public API: the backends' sealed
/// operations and their fake-kernel hooks. **Outside semver**: it changes
/// with picosel's internals, in any release.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::backend::raw::{RawBackend, Report, map_bits};
    pub use crate::fdset::{FD_SETSIZE, FdSet};
    pub use crate::table::Tag;
}

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}
