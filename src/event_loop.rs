//! The event loop: a selector whose data is a plain `fn` callback, plus
//! fixed tables of timers and signal handlers.
//!
//! One pass ([`EventLoop::run_once`]) waits (bounded by the next timer),
//! dispatches the ready fds, then fires the due timers in deadline order.
//! Dispatch goes through [`Selector::next_ready`], which re-checks every
//! entry against the registration table at call time, so a callback may
//! unregister, close, re-register or modify any fd, including others in the
//! same batch, and no callback ever runs for a registration that is gone or
//! with events it no longer asked for.

use crate::backend::{Backend, Epoll};
use crate::{Error, Events, RawFd, Selector, sys, time};
use core::time::Duration;

/// A small value stored with a callback and handed back to it.
pub type Token = usize;

/// Called when a registered fd is ready: `(loop, context, fd, events, token)`.
pub type IoHandler<C, const N: usize, const T: usize, B> =
    fn(&mut EventLoop<C, N, T, B>, &mut C, RawFd, Events, Token);

/// Called when a timer fires: `(loop, context, timer, token)`.
pub type TimerHandler<C, const N: usize, const T: usize, B> =
    fn(&mut EventLoop<C, N, T, B>, &mut C, TimerId, Token);

/// Called when a watched signal arrives: `(loop, context, signal, token)`.
pub type SignalHandler<C, const N: usize, const T: usize, B> =
    fn(&mut EventLoop<C, N, T, B>, &mut C, i32, Token);

/// How many distinct signals one loop can watch.
pub const MAX_SIGNALS: usize = 8;

/// Names a timer; stale once the timer has fired (one-shot) or been
/// cancelled, so cancelling twice is an error, never a wrong timer.
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

struct Timer<C, const N: usize, const T: usize, B: Backend<N>> {
    deadline_ms: u64,
    /// 0 for a one-shot timer.
    period_ms: u64,
    /// Arming order; timers armed during a firing pass wait for the next.
    seq: u64,
    f: TimerHandler<C, N, T, B>,
    token: Token,
}

impl<C, const N: usize, const T: usize, B: Backend<N>> Clone for Timer<C, N, T, B> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C, const N: usize, const T: usize, B: Backend<N>> Copy for Timer<C, N, T, B> {}

struct Signal<C, const N: usize, const T: usize, B: Backend<N>> {
    signo: i32,
    f: SignalHandler<C, N, T, B>,
    token: Token,
    /// The signal was blocked before we blocked it (leave it so on close).
    was_blocked: bool,
}

impl<C, const N: usize, const T: usize, B: Backend<N>> Clone for Signal<C, N, T, B> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C, const N: usize, const T: usize, B: Backend<N>> Copy for Signal<C, N, T, B> {}

/// An allocation-free event loop over backend `B` (epoll by default) with
/// room for `N` fds and `T` timers, dispatching to plain `fn` callbacks
/// that get `&mut` access to the loop and to a context value `C`.
///
/// ```
/// use picosel::{EventLoop, Events, Token};
/// use std::io::{Read, Write};
/// use std::os::fd::AsRawFd;
/// use std::time::Duration;
///
/// struct Ctx { conn: std::os::unix::net::UnixStream, got: Vec<u8> }
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
/// let (a, mut b) = std::os::unix::net::UnixStream::pair()?;
/// let mut lp = Loop::new();
/// lp.register(a.as_raw_fd(), Events::READ, on_read, 0)?;
/// b.write_all(b"hello")?;
/// let mut ctx = Ctx { conn: a, got: Vec::new() };
/// lp.run(&mut ctx)?;
/// assert_eq!(ctx.got, b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct EventLoop<C, const N: usize, const T: usize, B: Backend<N> = Epoll<N>> {
    sel: Selector<B, Handler<C, N, T, B>, N>,
    timers: [Option<Timer<C, N, T, B>>; T],
    timer_generations: [u32; T],
    timer_seq: u64,
    /// Number of armed timers (lets a pass with none skip the clock).
    armed: usize,
    signals: [Option<Signal<C, N, T, B>>; MAX_SIGNALS],
    signal_fd: RawFd,
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

    /// An empty loop on the given backend value (e.g. an
    /// [`AnyBackend`](crate::backend::AnyBackend) chosen from `--backend`).
    pub const fn with_backend(backend: B) -> Self {
        EventLoop {
            sel: Selector::with_backend(backend),
            timers: [const { None }; T],
            timer_generations: [0; T],
            timer_seq: 0,
            armed: 0,
            signals: [const { None }; MAX_SIGNALS],
            signal_fd: -1,
            stopped: false,
        }
    }

    /// The backend's name: "select", "poll" or "epoll".
    pub fn backend_name(&self) -> &'static str {
        self.sel.backend_name()
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
        let data = self.sel.get_key(fd)?.data;
        self.sel.modify(fd, events, data).map(drop)
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

    /// Arms a timer: `f(loop, ctx, id, token)` runs once after `delay`, then
    /// every `period` if one is given. Millisecond resolution, rounded up.
    /// A periodic timer does not drift: each deadline is the previous one
    /// plus the period, and periods missed while the loop was busy are
    /// skipped rather than fired in a burst.
    pub fn add_timer(
        &mut self,
        delay: Duration,
        period: Option<Duration>,
        f: TimerHandler<C, N, T, B>,
        token: Token,
    ) -> Result<TimerId, Error> {
        let full = Error::TableFull { what: "timers", capacity: T };
        let index = self.timers.iter().position(Option::is_none).ok_or(full)?;
        let deadline_ms = time::now_ms().saturating_add(ms_ceil(delay));
        let period_ms = period.map_or(0, |p| ms_ceil(p).max(1));
        self.timer_seq = self.timer_seq.wrapping_add(1);
        let timer = Timer { deadline_ms, period_ms, seq: self.timer_seq, f, token };
        *self.timers.get_mut(index).ok_or(full)? = Some(timer);
        self.armed += 1;
        Ok(TimerId {
            index: index as u32,
            generation: self.timer_generations.get(index).copied().unwrap_or(0),
        })
    }

    /// Cancels a timer. Fails with [`Error::NotFound`] if it already fired
    /// (one-shot) or was cancelled.
    pub fn cancel_timer(&mut self, id: TimerId) -> Result<(), Error> {
        let i = id.index as usize;
        match (self.timers.get(i), self.timer_generations.get(i)) {
            (Some(Some(_)), Some(&g)) if g == id.generation => {
                self.free_timer(i);
                Ok(())
            }
            _ => Err(Error::NotFound),
        }
    }

    /// The monotonic time (ms, as [`now_ms`](Self::now_ms)) at which timer
    /// `id` is next due, if it is armed.
    pub fn timer_deadline_ms(&self, id: TimerId) -> Option<u64> {
        let i = id.index as usize;
        if self.timer_generations.get(i) != Some(&id.generation) {
            return None;
        }
        Some(self.timers.get(i)?.as_ref()?.deadline_ms)
    }

    fn free_timer(&mut self, i: usize) {
        if let Some(t) = self.timers.get_mut(i) {
            if t.take().is_some() {
                self.armed -= 1;
            }
        }
        if let Some(g) = self.timer_generations.get_mut(i) {
            *g = g.wrapping_add(1);
        }
    }

    /// Delivers `signo` as an ordinary event: blocks it in the calling thread
    /// and reads it from a signalfd registered in this loop, then runs
    /// `f(loop, ctx, signo, token)`. Use it for SIGINT/SIGTERM to shut down
    /// gracefully. The process's signal dispositions are not changed; the
    /// thread's mask is restored by [`close`](Self::close) or drop.
    pub fn add_signal(
        &mut self,
        signo: i32,
        f: SignalHandler<C, N, T, B>,
        token: Token,
    ) -> Result<(), Error> {
        if let Some(s) = self.signals.iter_mut().flatten().find(|s| s.signo == signo) {
            s.f = f;
            s.token = token;
            return Ok(());
        }
        let index = self
            .signals
            .iter()
            .position(Option::is_none)
            .ok_or(Error::TableFull { what: "signals", capacity: MAX_SIGNALS })?;
        let mut set = [0i32; MAX_SIGNALS + 1];
        let mut n = 0;
        for (slot, s) in set.iter_mut().zip(self.signals.iter().flatten()) {
            *slot = s.signo;
            n += 1;
        }
        if let Some(slot) = set.get_mut(n) {
            *slot = signo;
            n += 1;
        }
        let set = set.get(..n).unwrap_or(&[]);
        let was_blocked = sys::block_signals(&[signo])? & 1 != 0;
        let fresh = self.signal_fd < 0;
        let fd = match sys::signalfd(self.signal_fd, set) {
            Ok(fd) => fd,
            Err(e) => {
                if !was_blocked {
                    let _ = sys::unblock_signals(&[signo]);
                }
                return Err(e.into());
            }
        };
        if fresh {
            let handler = Handler { f: dispatch_signals::<C, N, T, B>, token: 0 };
            if let Err(e) = self.sel.register(fd, Events::READ, handler) {
                let _ = sys::close(fd);
                if !was_blocked {
                    let _ = sys::unblock_signals(&[signo]);
                }
                return Err(e);
            }
            self.signal_fd = fd;
        }
        if let Some(slot) = self.signals.get_mut(index) {
            *slot = Some(Signal { signo, f, token, was_blocked });
        }
        Ok(())
    }

    /// Makes [`run`](Self::run) return once the current batch of callbacks
    /// has been dispatched.
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
    /// then every due timer. Returns how many callbacks ran.
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
        Ok(ran + self.fire_timers(ctx))
    }

    /// Time until the earliest armed timer (zero if one is due).
    fn next_timer_in(&self) -> Option<Duration> {
        if self.armed == 0 {
            return None;
        }
        let next = self.timers.iter().flatten().map(|t| t.deadline_ms).min()?;
        Some(Duration::from_millis(next.saturating_sub(time::now_ms())))
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
                .timers
                .iter()
                .enumerate()
                .filter_map(|(i, t)| t.as_ref().map(|t| (i, t)))
                .filter(|(_, t)| t.deadline_ms <= now && t.seq <= pass)
                .min_by_key(|(_, t)| (t.deadline_ms, t.seq))
                .map(|(i, t)| (i, *t));
            let Some((i, timer)) = due else { break };
            let id = TimerId {
                index: i as u32,
                generation: self.timer_generations.get(i).copied().unwrap_or(0),
            };
            if timer.period_ms == 0 {
                self.free_timer(i);
            } else if let Some(Some(t)) = self.timers.get_mut(i) {
                let missed = now.saturating_sub(t.deadline_ms) / t.period_ms.max(1);
                let step = t.period_ms.saturating_mul(missed.saturating_add(1));
                t.deadline_ms = t.deadline_ms.saturating_add(step);
            }
            (timer.f)(self, ctx, id, timer.token);
            fired += 1;
        }
        fired
    }

    /// Closes the loop: every fd registration is forgotten, the signalfd and
    /// the backend's fd are closed, and the thread's signal mask is restored.
    /// Timers are cancelled. Later registrations fail with [`Error::Closed`].
    pub fn close(&mut self) {
        if self.signal_fd >= 0 {
            let _ = self.sel.unregister(self.signal_fd);
            let _ = sys::close(self.signal_fd);
            self.signal_fd = -1;
        }
        for s in self.signals.iter_mut() {
            if let Some(sig) = s.take() {
                if !sig.was_blocked {
                    let _ = sys::unblock_signals(&[sig.signo]);
                }
            }
        }
        for i in 0..T {
            self.free_timer(i);
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
    // Bounded: at most a few rounds of every watched signal per readiness.
    for _ in 0..4 * MAX_SIGNALS {
        let Ok(Some(signo)) = sys::read_signal(fd) else {
            break;
        };
        let handler = lp.signals.iter().flatten().find(|s| s.signo == signo).copied();
        if let Some(s) = handler {
            (s.f)(lp, ctx, signo, s.token);
        }
    }
}

fn ms_ceil(d: Duration) -> u64 {
    d.as_secs().saturating_mul(1000).saturating_add(u64::from(d.subsec_nanos().div_ceil(1_000_000)))
}
