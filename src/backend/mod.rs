//! The kernel interfaces a [`Selector`](crate::Selector) can sit on, one
//! small file per system call family: [`Select`], [`Poll`], [`Epoll`], and
//! [`AnyBackend`] to pick one at run time.
//!
//! Most programs never name a backend: [`DefaultSelector`](crate::DefaultSelector)
//! and [`EventLoop`](crate::EventLoop) use epoll. Programs with a
//! `--backend` flag build an [`AnyBackend`] from its name:
//!
//! ```
//! use picosel::backend::AnyBackend;
//! use picosel::AnySelector;
//!
//! let backend = AnyBackend::from_name("poll").expect("select, poll or epoll");
//! let sel: AnySelector<u32, 64> = AnySelector::with_backend(backend);
//! assert_eq!(sel.backend_name(), "poll");
//! ```

mod any;
mod epoll;
mod poll;
pub(crate) mod raw;
mod select;

pub use any::AnyBackend;
pub use epoll::Epoll;
pub use poll::Poll;
pub use select::Select;

/// A readiness system call for a selector of capacity `N`.
///
/// Implemented by [`Select`], [`Poll`], [`Epoll`] and [`AnyBackend`]; the
/// trait is sealed (its operations are picosel's internals), so it is used
/// in bounds only: `fn serve<B: Backend<N>, const N: usize>(sel: &mut
/// Selector<Job, N, B>)`.
#[allow(private_bounds)]
pub trait Backend<const N: usize>: raw::RawBackend<N> {}

impl<const N: usize, B: raw::RawBackend<N>> Backend<N> for B {}
