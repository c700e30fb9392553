//! The event loop: a selector whose data is a plain `fn` callback, plus one
//! fixed table of timers and signal handlers.
//!
//! One pass ([`EventLoop::run_once`]) waits (bounded by the next timer),
//! dispatches the ready fds, fires the due timers in deadline order, then
//! runs the after-pass hook. Dispatch goes through
//! [`Selector::next_ready`], which checks every kernel report against the
//! registration table at call time, so a callback may unregister, close,
//! re-register or modify any fd, including others in the same batch, and no
//! callback ever runs for a registration that is gone or with events it no
//! longer asked for.

use crate::backend::{AnyBackend, Backend, Epoll};
use crate::{Error, Events, Limit, RawFd, Selector, Token, sys, time};
use core::time::Duration;

/// Called when a registered fd is ready: `(loop, context, fd, events, token)`.
pub type IoHandler<C, const N: usize, const T: usize, B = Epoll<N>> =
    fn(&mut EventLoop<C, N, T, B>, &mut C, RawFd, Events, Token);

/// Called when a timer fires: `(loop, context, timer, token)`.
pub type TimerHandler<C, const N: usize, const T: usize, B = Epoll<N>> =
    fn(&mut EventLoop<C, N, T, B>, &mut C, TimerId, Token);

/// Called when a watched signal arrives: `(loop, context, signal, token)`.
pub type SignalHandler<C, const N: usize, const T: usize, B = Epoll<N>> =
    fn(&mut EventLoop<C, N, T, B>, &mut C, i32, Token);

/// Called after each pass of the loop: `(loop, context)`. What Redis `ae`
/// calls `beforesleep`: the place to flush output that the pass's
/// callbacks queued, so that it goes out in one write per peer.
pub type PassHandler<C, const N: usize, const T: usize, B = Epoll<N>> =
    fn(&mut EventLoop<C, N, T, B>, &mut C);

/// An event loop whose backend is chosen at run time
/// ([`AnyBackend::from_name`]).
pub type AnyEventLoop<C, const N: usize, const T: usize> = EventLoop<C, N, T, AnyBackend<N>>;

/// Names a timer; stale once the timer has fired (one-shot) or been
/// cancelled, so it never names a later timer in the same place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerId {
    index: u32,
    generation: u32,
}

struct Handler<C, const N: usize, const T: usize, B: Backend<N>> {
    f: IoHandler<C, N, T, B>,
    token: Token,
}

impl<C, const N: usize, const T: usize, B: Backend<N>> Clone for Handler<C, N, T, B> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C, const N: usize, const T: usize, B: Backend<N>> Copy for Handler<C, N, T, B> {}

/// One entry of the timer table: a timer or a signal handler.
enum Entry<C, const N: usize, const T: usize, B: Backend<N>> {
    Timer {
        deadline_ms: u64,
        /// 0 for a one-shot timer.
        period_ms: u64,
        /// Arming order; timers armed during a firing pass wait for the next.
        seq: u64,
        f: TimerHandler<C, N, T, B>,
        token: Token,
    },
    Signal {
        signo: i32,
        f: SignalHandler<C, N, T, B>,
        token: Token,
        /// The signal was blocked before we blocked it (leave it so on close).
        was_blocked: bool,
    },
}

impl<C, const N: usize, const T: usize, B: Backend<N>> Clone for Entry<C, N, T, B> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C, const N: usize, const T: usize, B: Backend<N>> Copy for Entry<C, N, T, B> {}

/// An allocation-free event loop with room for `N` fds and `T` timers and
/// signal handlers, over backend `B` (epoll unless chosen), dispatching to
/// plain `fn` callbacks that get `&mut` access to the loop and to a
/// context value `C`.
///
/// ```
/// use picosel::{EventLoop, Events, Token};
/// use std::io::{Read, Write};
/// use std::os::fd::AsRawFd;
/// use std::os::unix::net::UnixStream;
///
/// struct Ctx { conn: UnixStream, got: Vec<u8> }
/// type Loop = EventLoop<Ctx, 8, 2>;
///
/// fn on_read(lp: &mut Loop, ctx: &mut Ctx, fd: i32, _ev: Events, _t: Token) {
///     let mut buf = [0u8; 64];
///     let n = ctx.conn.read(&mut buf).unwrap_or(0);
///     ctx.got.extend_from_slice(&buf[..n]);
///     lp.unregister(fd).unwrap();
///     lp.stop();
/// }
///
/// let (a, mut b) = UnixStream::pair()?;
/// let mut lp = Loop::new();
/// lp.register(a.as_raw_fd(), Events::READ, on_read, Token(0))?;
/// b.write_all(b"hello")?;
/// let mut ctx = Ctx { conn: a, got: Vec::new() };
/// lp.run(&mut ctx)?;
/// assert_eq!(ctx.got, b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct EventLoop<C, const N: usize, const T: usize, B: Backend<N> = Epoll<N>> {
    sel: Selector<Handler<C, N, T, B>, N, B>,
    entries: [Option<Entry<C, N, T, B>>; T],
    generations: [u32; T],
    timer_seq: u64,
    /// Number of armed timers (lets a pass with none skip the clock).
    armed: usize,
    /// The signalfd, once a signal is watched (`None`, not -1: a new loop
    /// is all zero bytes, see [`with_backend`](Self::with_backend)).
    signal_fd: Option<RawFd>,
    after_pass: Option<PassHandler<C, N, T, B>>,
    stopped: bool,
}

impl<C, const N: usize, const T: usize, B: Backend<N>> Default for EventLoop<C, N, T, B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C, const N: usize, const T: usize, B: Backend<N>> EventLoop<C, N, T, B> {
    /// An empty loop on the backend's default instance. Makes no system call.
    pub const fn new() -> Self {
        Self::with_backend(B::INIT)
    }

    /// An empty loop on the given backend value (e.g. an [`AnyBackend`]
    /// chosen from `--backend`).
    ///
    /// Over the epoll backend (and [`AnyBackend::epoll`]) or poll, the new
    /// loop is all zero bytes: a large one made in a `static` initialiser
    /// lands in `.bss`, whose pages the kernel maps only as they are first
    /// touched, so memory follows the registrations rather than `N`. To run
    /// such a loop on another backend, see [`set_backend`](Self::set_backend).
    pub const fn with_backend(backend: B) -> Self {
        EventLoop {
            sel: Selector::with_backend(backend),
            entries: [const { None }; T],
            generations: [0; T],
            timer_seq: 0,
            armed: 0,
            signal_fd: None,
            after_pass: None,
            stopped: false,
        }
    }

    /// The backend's name: "select", "poll" or "epoll".
    pub fn backend_name(&self) -> &'static str {
        self.sel.backend_name()
    }

    /// Replaces the backend in place: the loop becomes what
    /// `with_backend(backend)` makes, without writing a whole new loop over
    /// this one (which would touch every page of a large loop kept in
    /// `.bss`). A loop that was used is closed first ([`close`](Self::close):
    /// every registration, timer and signal handler is forgotten).
    pub fn set_backend(&mut self, backend: B) {
        if self.signal_fd.is_some() || self.entries.iter().any(Option::is_some) {
            self.close();
        }
        self.stopped = false;
        self.sel.set_backend(backend);
    }

    /// Watches `fd` for `events`; `f(loop, ctx, fd, events, token)` runs
    /// when it is ready. Errors as [`Selector::register`].
    pub fn register(
        &mut self,
        fd: RawFd,
        events: Events,
        f: IoHandler<C, N, T, B>,
        token: Token,
    ) -> Result<(), Error> {
        self.sel.register(fd, events, Handler { f, token }).map(drop)
    }

    /// Changes the events watched on `fd`, keeping its callback and token.
    pub fn modify(&mut self, fd: RawFd, events: Events) -> Result<(), Error> {
        self.sel.modify_with(fd, events, None).map(drop)
    }

    /// Changes the events, callback and token of `fd`.
    pub fn set_handler(
        &mut self,
        fd: RawFd,
        events: Events,
        f: IoHandler<C, N, T, B>,
        token: Token,
    ) -> Result<(), Error> {
        self.sel.modify(fd, events, Handler { f, token }).map(drop)
    }

    /// Stops watching `fd`. Call it before closing the fd.
    pub fn unregister(&mut self, fd: RawFd) -> Result<(), Error> {
        self.sel.unregister(fd).map(drop)
    }

    /// The events `fd` is registered for, if it is.
    pub fn interest(&self, fd: RawFd) -> Option<Events> {
        self.sel.get_key(fd).ok().map(|k| k.events)
    }

    /// The token `fd` is registered with, if it is.
    pub fn token(&self, fd: RawFd) -> Option<Token> {
        self.sel.get_key(fd).ok().map(|k| k.data.token)
    }

    /// Number of registered fds (the signalfd included, once a signal is
    /// watched).
    pub fn len(&self) -> usize {
        self.sel.len()
    }

    /// True when no fd is registered.
    pub fn is_empty(&self) -> bool {
        self.sel.is_empty()
    }

    /// Current `CLOCK_MONOTONIC` time in milliseconds, the timers' clock.
    pub fn now_ms(&self) -> u64 {
        time::now_ms()
    }

    /// A free entry of the timer table.
    fn free_entry(&self) -> Result<usize, Error> {
        let full = Error::Full { what: Limit::Timers, capacity: T };
        self.entries.iter().position(Option::is_none).ok_or(full)
    }

    /// Arms a timer: `f(loop, ctx, id, token)` runs once after `delay`, then
    /// every `period` if one is given. Millisecond resolution, rounded up.
    /// A periodic timer does not drift: each deadline is the previous one
    /// plus the period, and periods missed while the loop was busy are
    /// skipped rather than fired in a burst. Takes one of the `T` entries
    /// until it has fired (one-shot) or is cancelled.
    pub fn add_timer(
        &mut self,
        delay: Duration,
        period: Option<Duration>,
        f: TimerHandler<C, N, T, B>,
        token: Token,
    ) -> Result<TimerId, Error> {
        let index = self.free_entry()?;
        let deadline_ms = time::now_ms().saturating_add(time::ceil_ms(delay));
        let period_ms = period.map_or(0, |p| time::ceil_ms(p).max(1));
        self.timer_seq = self.timer_seq.wrapping_add(1);
        let timer = Entry::Timer { deadline_ms, period_ms, seq: self.timer_seq, f, token };
        if let Some(e) = self.entries.get_mut(index) {
            *e = Some(timer);
        }
        self.armed += 1;
        let generation = self.generations.get(index).copied().unwrap_or(0);
        Ok(TimerId { index: index as u32, generation })
    }

    /// Cancels a timer. Returns false (and changes nothing) if it had
    /// already fired (one-shot) or been cancelled.
    pub fn cancel_timer(&mut self, id: TimerId) -> bool {
        if self.timer_deadline_ms(id).is_none() {
            return false;
        }
        self.free(id.index as usize);
        true
    }

    /// The monotonic time (ms, as [`now_ms`](Self::now_ms)) at which timer
    /// `id` is next due, if it is armed.
    pub fn timer_deadline_ms(&self, id: TimerId) -> Option<u64> {
        let i = id.index as usize;
        if self.generations.get(i) != Some(&id.generation) {
            return None;
        }
        match self.entries.get(i)? {
            Some(Entry::Timer { deadline_ms, .. }) => Some(*deadline_ms),
            _ => None,
        }
    }

    fn free(&mut self, i: usize) {
        if let Some(e) = self.entries.get_mut(i) {
            if let Some(Entry::Timer { .. }) = e.take() {
                self.armed -= 1;
            }
        }
        if let Some(g) = self.generations.get_mut(i) {
            *g = g.wrapping_add(1);
        }
    }

    fn signals(&self) -> impl Iterator<Item = (i32, SignalHandler<C, N, T, B>, Token)> + '_ {
        self.entries.iter().filter_map(|e| match e {
            Some(Entry::Signal { signo, f, token, .. }) => Some((*signo, *f, *token)),
            _ => None,
        })
    }

    /// Delivers `signo` as an ordinary event: blocks it in the calling thread
    /// and reads it from a signalfd registered in this loop, then runs
    /// `f(loop, ctx, signo, token)`. Use it for SIGINT/SIGTERM to shut down
    /// gracefully. Takes one of the `T` entries (a second call for the same
    /// signal replaces its handler). The process's signal dispositions are
    /// not changed; the thread's mask is restored by [`close`](Self::close)
    /// or drop.
    pub fn add_signal(
        &mut self,
        signo: i32,
        f: SignalHandler<C, N, T, B>,
        token: Token,
    ) -> Result<(), Error> {
        for e in self.entries.iter_mut().flatten() {
            if let Entry::Signal { signo: s, f: ef, token: et, .. } = e {
                if *s == signo {
                    (*ef, *et) = (f, token);
                    return Ok(());
                }
            }
        }
        let index = self.free_entry()?;
        let mut set = [0i32; T];
        let mut n = 0;
        for (slot, (s, _, _)) in set.iter_mut().zip(self.signals()) {
            *slot = s;
            n += 1;
        }
        if let Some(slot) = set.get_mut(n) {
            *slot = signo;
            n += 1;
        }
        let set = set.get(..n).unwrap_or(&[]);
        let was_blocked = sys::block_signals(&[signo])? & 1 != 0;
        let restore = || {
            if !was_blocked {
                let _ = sys::unblock_signals(&[signo]);
            }
        };
        let fd = match sys::signalfd(self.signal_fd.unwrap_or(-1), set) {
            Ok(fd) => fd,
            Err(e) => {
                restore();
                return Err(e.into());
            }
        };
        if self.signal_fd.is_none() {
            let handler = Handler { f: dispatch_signals::<C, N, T, B>, token: Token(0) };
            if let Err(e) = self.sel.register(fd, Events::READ, handler) {
                let _ = sys::close(fd);
                restore();
                return Err(e);
            }
            self.signal_fd = Some(fd);
        }
        if let Some(e) = self.entries.get_mut(index) {
            *e = Some(Entry::Signal { signo, f, token, was_blocked });
        }
        Ok(())
    }

    /// Sets (or with `None` removes) the hook that runs after each pass,
    /// once the pass's fd callbacks and timers are done: where a server
    /// sends what its callbacks queued (Redis `ae`'s `beforesleep`).
    pub fn set_after_pass(&mut self, f: Option<PassHandler<C, N, T, B>>) {
        self.after_pass = f;
    }

    /// Makes [`run`](Self::run) return once the current pass is done.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// True once [`stop`](Self::stop) was called (until `run` starts again).
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Runs passes until [`stop`](Self::stop) is called or an error occurs.
    pub fn run(&mut self, ctx: &mut C) -> Result<(), Error> {
        self.stopped = false;
        while !self.stopped {
            self.run_once(ctx, None)?;
        }
        Ok(())
    }

    /// One pass: waits at most `timeout` (`None`: until something happens),
    /// and never past the next timer's deadline; dispatches every ready fd,
    /// then every due timer, then runs the after-pass hook. Returns how many
    /// fd and timer callbacks ran.
    pub fn run_once(&mut self, ctx: &mut C, timeout: Option<Duration>) -> Result<usize, Error> {
        let wait = match (self.next_timer_in(), timeout) {
            (Some(t), Some(u)) => Some(t.min(u)),
            (t, u) => t.or(u),
        };
        self.sel.select(wait)?;
        let mut ran = 0;
        while let Some((key, events)) = self.sel.next_ready() {
            (key.data.f)(self, ctx, key.fd, events, key.data.token);
            ran += 1;
        }
        ran += self.fire_timers(ctx);
        if let Some(f) = self.after_pass {
            f(self, ctx);
        }
        Ok(ran)
    }

    /// Time until the earliest armed timer (zero if one is due).
    fn next_timer_in(&self) -> Option<Duration> {
        if self.armed == 0 {
            return None;
        }
        let next = self.timers().map(|(_, deadline, _)| deadline).min()?;
        Some(Duration::from_millis(next.saturating_sub(time::now_ms())))
    }

    /// Armed timers: `(index, deadline, seq)`.
    fn timers(&self) -> impl Iterator<Item = (usize, u64, u64)> + '_ {
        self.entries.iter().enumerate().filter_map(|(i, e)| match e {
            Some(Entry::Timer { deadline_ms, seq, .. }) => Some((i, *deadline_ms, *seq)),
            _ => None,
        })
    }

    fn fire_timers(&mut self, ctx: &mut C) -> usize {
        if self.armed == 0 {
            return 0;
        }
        let now = time::now_ms();
        let pass = self.timer_seq;
        let mut fired = 0;
        // Each timer fires at most once per pass: after firing it is either
        // freed or rescheduled past `now`, and timers armed by callbacks
        // (seq > pass) wait for the next pass. So this loop is bounded by T.
        for _ in 0..T {
            let due = self
                .timers()
                .filter(|&(_, deadline, seq)| deadline <= now && seq <= pass)
                .min_by_key(|&(_, deadline, seq)| (deadline, seq));
            let Some((i, _, _)) = due else { break };
            let id = TimerId {
                index: i as u32,
                generation: self.generations.get(i).copied().unwrap_or(0),
            };
            let Some(Some(Entry::Timer { deadline_ms, period_ms, f, token, .. })) =
                self.entries.get_mut(i)
            else {
                break;
            };
            let (f, token) = (*f, *token);
            // A one-shot timer (period 0) is freed; a periodic one moves on.
            match now.saturating_sub(*deadline_ms).checked_div(*period_ms) {
                None => self.free(i),
                Some(missed) => {
                    let step = period_ms.saturating_mul(missed.saturating_add(1));
                    *deadline_ms = deadline_ms.saturating_add(step);
                }
            }
            f(self, ctx, id, token);
            fired += 1;
        }
        fired
    }

    /// Closes the loop: every fd registration is forgotten, the signalfd and
    /// the backend's fd are closed, and the thread's signal mask is restored.
    /// Timers are cancelled. Later registrations fail with [`Error::Closed`].
    pub fn close(&mut self) {
        if let Some(fd) = self.signal_fd.take() {
            let _ = self.sel.unregister(fd);
            let _ = sys::close(fd);
        }
        for i in 0..T {
            if let Some(Some(Entry::Signal { signo, was_blocked: false, .. })) = self.entries.get(i)
            {
                let _ = sys::unblock_signals(&[*signo]);
            }
            self.free(i);
        }
        self.sel.close();
    }
}

impl<C, const N: usize, const T: usize, B: Backend<N>> Drop for EventLoop<C, N, T, B> {
    fn drop(&mut self) {
        self.close();
    }
}

/// The signalfd's callback: reads every pending signal and runs its handler.
fn dispatch_signals<C, const N: usize, const T: usize, B: Backend<N>>(
    lp: &mut EventLoop<C, N, T, B>,
    ctx: &mut C,
    fd: RawFd,
    _events: Events,
    _token: Token,
) {
    // Bounded: a few rounds of every watched signal per readiness.
    for _ in 0..4 * T.max(1) {
        let Ok(Some(signo)) = sys::read_signal(fd) else {
            break;
        };
        let handler = lp.signals().find(|&(s, _, _)| s == signo);
        if let Some((_, f, token)) = handler {
            f(lp, ctx, signo, token);
        }
    }
}
