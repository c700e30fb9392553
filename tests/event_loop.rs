//! The event loop: dispatch safety on every backend, timers, signals.

use picosel::backend::{Epoll, Poll, Select};
use picosel::{Error, EventLoop, Events, Limit, TimerId, Token};
use std::io::Write;
use std::os::fd::{AsRawFd, IntoRawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// What the callbacks saw, and what they should do to the others.
#[derive(Default)]
struct Ctx {
    /// (token, fd, events) of every I/O callback run.
    calls: Vec<(Token, i32, Events)>,
    /// fds of the batch, by token.
    fds: Vec<i32>,
    /// The action the first callback to run performs.
    action: Option<Action>,
    /// Sockets created by callbacks (kept open).
    keep: Vec<UnixStream>,
    timers: Vec<(Token, u64)>,
    ids: Vec<TimerId>,
}

#[derive(Clone, Copy)]
enum Action {
    /// Unregister and close every other fd of the batch.
    CloseOthers,
    /// Replace the other fd by a fresh, idle socket under the same number.
    ReuseOther,
    /// Change the other fd's interest to WRITE only.
    OtherWriteOnly,
    /// Stop the loop.
    Stop,
}

macro_rules! dispatch_tests {
    ($name:ident, $backend:ty, $backend_name:literal) => {
        mod $name {
            use super::*;
            type Loop = EventLoop<Ctx, 16, 4, $backend>;

            fn on_io(lp: &mut Loop, ctx: &mut Ctx, fd: i32, ev: Events, token: Token) {
                ctx.calls.push((token, fd, ev));
                let Some(action) = ctx.action.take() else {
                    return;
                };
                let others: Vec<i32> = ctx.fds.iter().copied().filter(|&f| f != fd).collect();
                for other in others {
                    match action {
                        Action::CloseOthers => {
                            lp.unregister(other).unwrap();
                            // SAFETY (test): the fd was leaked into ctx.fds for us to close.
                            unsafe { libc::close(other) };
                        }
                        Action::ReuseOther => {
                            lp.unregister(other).unwrap();
                            // dup2 closes `other` and reuses its number in one
                            // step. A close, then a new socket, would leave the
                            // number free for a moment, and a test on another
                            // thread could take it, or lose its own fd to ours.
                            let (fresh, peer) = UnixStream::pair().unwrap();
                            let nfd = fresh.into_raw_fd();
                            // SAFETY (test): `other` and `nfd` are both ours.
                            assert_eq!(unsafe { libc::dup2(nfd, other) }, other);
                            // SAFETY (test): nfd is ours and now duplicated.
                            unsafe { libc::close(nfd) };
                            lp.register(other, Events::READ, on_io, Token(99)).unwrap();
                            ctx.keep.push(peer);
                        }
                        Action::OtherWriteOnly => lp.modify(other, Events::WRITE).unwrap(),
                        Action::Stop => {}
                    }
                }
                if let Action::Stop = action {
                    lp.stop();
                }
            }

            /// Three socket pairs, all readable, registered for READ with
            /// tokens 0..3; the local ends are leaked into `ctx.fds`.
            fn setup(action: Action) -> (Loop, Ctx, Vec<UnixStream>) {
                let mut lp = Loop::new();
                let mut ctx = Ctx { action: Some(action), ..Ctx::default() };
                let mut peers = Vec::new();
                for t in 0..3 {
                    let (a, mut b) = UnixStream::pair().unwrap();
                    b.write_all(b"x").unwrap();
                    let fd = a.into_raw_fd();
                    lp.register(fd, Events::READ, on_io, Token(t)).unwrap();
                    ctx.fds.push(fd);
                    peers.push(b);
                }
                (lp, ctx, peers)
            }

            #[test]
            fn a_callback_closing_others_in_the_batch_silences_them() {
                let (mut lp, mut ctx, _peers) = setup(Action::CloseOthers);
                let ran = lp.run_once(&mut ctx, Some(Duration::from_secs(5))).unwrap();
                assert_eq!(ran, 1, "{:?}", ctx.calls);
                assert_eq!(ctx.calls.len(), 1);
                lp.close();
                unsafe { libc::close(ctx.calls[0].1) };
            }

            #[test]
            fn a_reused_fd_number_never_gets_the_old_event() {
                let (mut lp, mut ctx, _peers) = setup(Action::ReuseOther);
                lp.run_once(&mut ctx, Some(Duration::from_secs(5))).unwrap();
                // Only the first callback: the others were replaced by idle
                // sockets (token 99) that must not be called for the old data.
                assert_eq!(ctx.calls.len(), 1, "{:?}", ctx.calls);
                assert!(ctx.calls.iter().all(|c| c.0 != Token(99)));
                // The fresh registrations are live and quiet.
                assert_eq!(lp.run_once(&mut ctx, Some(Duration::ZERO)).unwrap(), 1);
                assert_eq!(ctx.calls[1].0, ctx.calls[0].0, "only the first fd is still readable");
                for fd in &ctx.fds {
                    unsafe { libc::close(*fd) };
                }
            }

            #[test]
            fn a_callback_changing_interest_masks_the_rest_of_the_batch() {
                let (mut lp, mut ctx, _peers) = setup(Action::OtherWriteOnly);
                lp.run_once(&mut ctx, Some(Duration::from_secs(5))).unwrap();
                // The other two fds are readable and writable, now registered
                // for WRITE only: if they run in this batch, only with WRITE.
                for (i, call) in ctx.calls.iter().enumerate() {
                    if i > 0 {
                        assert_eq!(call.2, Events::WRITE, "{:?}", ctx.calls);
                    }
                }
                lp.run_once(&mut ctx, Some(Duration::from_secs(5))).unwrap();
                let first = ctx.calls[0].1;
                let later: Vec<_> = ctx.calls.iter().filter(|c| c.1 != first).collect();
                assert!(later.len() >= 2, "{:?}", ctx.calls);
                assert!(later.iter().all(|c| c.2 == Events::WRITE), "{:?}", ctx.calls);
                for fd in &ctx.fds {
                    unsafe { libc::close(*fd) };
                }
            }

            #[test]
            fn stop_ends_run_after_the_current_batch() {
                let (mut lp, mut ctx, _peers) = setup(Action::Stop);
                lp.run(&mut ctx).unwrap();
                assert!(lp.is_stopped());
                assert_eq!(ctx.calls.len(), 3, "the whole batch is dispatched");
                for fd in &ctx.fds {
                    unsafe { libc::close(*fd) };
                }
            }

            #[test]
            fn backend_name_is_reported() {
                let lp = Loop::new();
                assert_eq!(lp.backend_name(), $backend_name);
            }
        }
    };
}

dispatch_tests!(select, Select, "select");
dispatch_tests!(poll, Poll<16>, "poll");
dispatch_tests!(epoll, Epoll<16>, "epoll");

type TLoop = EventLoop<Ctx, 4, 4>;

fn on_timer(lp: &mut TLoop, ctx: &mut Ctx, id: TimerId, token: Token) {
    ctx.timers.push((token, lp.now_ms()));
    ctx.ids.push(id);
    if token == Token(1000) {
        lp.stop();
    }
}

#[test]
fn timers_fire_in_deadline_order_once_each() {
    let mut lp = TLoop::new();
    let mut ctx = Ctx::default();
    lp.add_timer(Duration::from_millis(40), None, on_timer, Token(3)).unwrap();
    lp.add_timer(Duration::from_millis(10), None, on_timer, Token(1)).unwrap();
    lp.add_timer(Duration::from_millis(25), None, on_timer, Token(2)).unwrap();
    lp.add_timer(Duration::from_millis(60), None, on_timer, Token(1000)).unwrap();
    lp.run(&mut ctx).unwrap();
    let order: Vec<Token> = ctx.timers.iter().map(|t| t.0).collect();
    assert_eq!(order, [Token(1), Token(2), Token(3), Token(1000)]);
    // One-shot timers are gone: cancelling them does nothing.
    for id in ctx.ids.clone() {
        assert!(!lp.cancel_timer(id));
        assert_eq!(lp.timer_deadline_ms(id), None);
    }
}

#[test]
fn cancelled_timers_never_fire_and_the_table_has_a_limit() {
    let mut lp = TLoop::new();
    let mut ctx = Ctx::default();
    let a = lp.add_timer(Duration::from_millis(5), None, on_timer, Token(1)).unwrap();
    lp.add_timer(Duration::from_millis(5), Some(Duration::from_millis(5)), on_timer, Token(2))
        .unwrap();
    lp.add_timer(Duration::from_millis(30), None, on_timer, Token(1000)).unwrap();
    let d = lp.add_timer(Duration::from_millis(5), None, on_timer, Token(4)).unwrap();
    assert_eq!(
        lp.add_timer(Duration::ZERO, None, on_timer, Token(5)),
        Err(Error::Full { what: Limit::Timers, capacity: 4 })
    );
    assert!(lp.cancel_timer(a));
    assert!(lp.cancel_timer(d));
    assert!(!lp.cancel_timer(a), "cancelling twice changes nothing");
    lp.run(&mut ctx).unwrap();
    assert!(ctx.timers.iter().all(|t| t.0 != Token(1) && t.0 != Token(4)));
    assert!(ctx.timers.iter().any(|t| t.0 == Token(2)));
}

fn on_periodic(lp: &mut TLoop, ctx: &mut Ctx, id: TimerId, token: Token) {
    ctx.timers.push((token, lp.timer_deadline_ms(id).unwrap()));
    if ctx.timers.len() == 3 {
        // Stall for a bit more than three periods, as a busy server might.
        std::thread::sleep(Duration::from_millis(70));
    }
    if ctx.timers.len() == 8 {
        assert!(lp.cancel_timer(id));
        lp.stop();
    }
}

#[test]
fn periodic_timers_do_not_drift_and_skip_missed_periods() {
    let mut lp = TLoop::new();
    let mut ctx = Ctx::default();
    let id = lp
        .add_timer(
            Duration::from_millis(20),
            Some(Duration::from_millis(20)),
            on_periodic,
            Token(7),
        )
        .unwrap();
    let first = lp.timer_deadline_ms(id).unwrap();
    lp.run(&mut ctx).unwrap();
    // Recorded after rescheduling: each next deadline is first + k*20 exactly
    // (no drift from callback or wake-up latency) ...
    let deadlines: Vec<u64> = ctx.timers.iter().map(|t| t.1).collect();
    for d in &deadlines {
        assert_eq!((d - first) % 20, 0, "{deadlines:?}");
    }
    // ... strictly increasing, and the stall skipped periods instead of
    // firing a burst of catch-up calls.
    assert!(deadlines.windows(2).all(|w| w[1] > w[0]), "{deadlines:?}");
    assert!(deadlines.windows(2).any(|w| w[1] - w[0] >= 60), "{deadlines:?}");
    assert_eq!(deadlines.len(), 8);
}

#[test]
fn the_next_timer_bounds_the_wait() {
    let mut lp = TLoop::new();
    let mut ctx = Ctx::default();
    let (a, _b) = UnixStream::pair().unwrap();
    fn never(_: &mut TLoop, _: &mut Ctx, _: i32, _: Events, _: Token) {
        panic!("idle fd dispatched");
    }
    lp.register(a.as_raw_fd(), Events::READ, never, Token(0)).unwrap();
    lp.add_timer(Duration::from_millis(50), None, on_timer, Token(1)).unwrap();
    let t = Instant::now();
    // Asked to wait up to 10 s, the pass must end when the timer is due.
    let ran = lp.run_once(&mut ctx, Some(Duration::from_secs(10))).unwrap();
    let el = t.elapsed();
    assert_eq!(ran, 1);
    assert_eq!(ctx.timers.len(), 1);
    assert!(el >= Duration::from_millis(49) && el < Duration::from_secs(5), "{el:?}");
}

fn on_signal(lp: &mut TLoop, ctx: &mut Ctx, signo: i32, token: Token) {
    ctx.timers.push((token, signo as u64));
    lp.stop();
}

#[test]
fn a_signal_is_delivered_as_an_event_and_can_stop_the_loop() {
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        let mut lp = TLoop::new();
        let mut ctx = Ctx::default();
        lp.add_signal(libc::SIGUSR2, on_signal, Token(42)).unwrap();
        // Bound the test: a timer stops the loop if the signal never comes.
        lp.add_timer(Duration::from_secs(10), None, on_timer, Token(1000)).unwrap();
        // SAFETY: pthread_self has no preconditions.
        tx.send(unsafe { libc::pthread_self() } as usize).unwrap();
        lp.run(&mut ctx).unwrap();
        lp.close();
        ctx.timers
    });
    let thread = rx.recv().unwrap();
    // SAFETY: the thread is alive until it has handled the signal (it is blocked there).
    assert_eq!(unsafe { libc::pthread_kill(thread as libc::pthread_t, libc::SIGUSR2) }, 0);
    let seen = t.join().unwrap();
    assert_eq!(seen, [(Token(42), libc::SIGUSR2 as u64)]);
}

#[test]
fn the_loop_can_be_built_in_a_static() {
    use std::sync::Mutex;
    static LOOP: Mutex<Option<EventLoop<(), 8, 2>>> = Mutex::new(Some(EventLoop::new()));
    let guard = LOOP.lock().unwrap();
    assert!(guard.as_ref().unwrap().is_empty());
}

#[test]
fn set_backend_switches_a_new_loop_and_closes_a_used_one_first() {
    type ALoop = picosel::AnyEventLoop<Ctx, 4, 4>;
    fn on_any(_: &mut ALoop, ctx: &mut Ctx, fd: i32, ev: Events, token: Token) {
        ctx.calls.push((token, fd, ev));
    }
    fn on_any_timer(_: &mut ALoop, _: &mut Ctx, _: TimerId, _: Token) {}
    let mut lp = ALoop::with_backend(picosel::backend::AnyBackend::epoll());
    let mut ctx = Ctx::default();
    let (a, mut b) = UnixStream::pair().unwrap();
    b.write_all(b"x").unwrap();
    for name in ["poll", "select", "epoll", "poll"] {
        // A used loop is closed first: registrations and timers are gone.
        lp.set_backend(picosel::backend::AnyBackend::from_name(name).unwrap());
        assert_eq!(lp.backend_name(), name);
        assert!(lp.is_empty());
        let id = lp.add_timer(Duration::from_secs(60), None, on_any_timer, Token(0)).unwrap();
        lp.register(a.as_raw_fd(), Events::READ, on_any, Token(7)).unwrap();
        ctx.calls.clear();
        assert_eq!(lp.run_once(&mut ctx, Some(Duration::from_secs(5))).unwrap(), 1);
        assert_eq!(ctx.calls, [(Token(7), a.as_raw_fd(), Events::READ)], "{name}");
        assert!(lp.timer_deadline_ms(id).is_some());
        lp.set_backend(picosel::backend::AnyBackend::epoll());
        assert!(lp.timer_deadline_ms(id).is_none(), "{name}: the timer went with the loop");
    }
}

fn on_pass(lp: &mut TLoop, ctx: &mut Ctx) {
    // Records the callbacks that ran before this hook, as a marker.
    ctx.timers.push((Token(usize::MAX), ctx.calls.len() as u64));
    if ctx.timers.len() >= 3 {
        lp.stop();
    }
}

fn on_ready(_: &mut TLoop, ctx: &mut Ctx, fd: i32, ev: Events, token: Token) {
    ctx.calls.push((token, fd, ev));
}

#[test]
fn the_after_pass_hook_runs_once_per_pass_after_the_callbacks() {
    let mut lp = TLoop::new();
    let mut ctx = Ctx::default();
    let (a, mut b) = UnixStream::pair().unwrap();
    let (c, mut d) = UnixStream::pair().unwrap();
    b.write_all(b"x").unwrap();
    d.write_all(b"x").unwrap();
    lp.register(a.as_raw_fd(), Events::READ, on_ready, Token(1)).unwrap();
    lp.register(c.as_raw_fd(), Events::READ, on_ready, Token(2)).unwrap();
    lp.set_after_pass(Some(on_pass));
    // Pass 1: both fds (still readable: nobody reads), then the hook.
    assert_eq!(lp.run_once(&mut ctx, Some(Duration::from_secs(5))).unwrap(), 2);
    assert_eq!(ctx.timers, [(Token(usize::MAX), 2)]);
    // run() runs passes, each followed by the hook, until the hook stops it.
    lp.run(&mut ctx).unwrap();
    assert_eq!(
        ctx.timers,
        [(Token(usize::MAX), 2), (Token(usize::MAX), 4), (Token(usize::MAX), 6)]
    );
    // Removed, it runs no more.
    lp.set_after_pass(None);
    lp.run_once(&mut ctx, Some(Duration::ZERO)).unwrap();
    assert_eq!(ctx.timers.len(), 3);
}

#[test]
fn signal_handlers_take_timer_entries() {
    let mut lp: EventLoop<Ctx, 4, 2> = EventLoop::new();
    fn on_sig(_: &mut EventLoop<Ctx, 4, 2>, _: &mut Ctx, _: i32, _: Token) {}
    fn on_t(_: &mut EventLoop<Ctx, 4, 2>, _: &mut Ctx, _: TimerId, _: Token) {}
    let id = lp.add_timer(Duration::from_secs(60), None, on_t, Token(0)).unwrap();
    lp.add_signal(libc::SIGUSR1, on_sig, Token(0)).unwrap();
    // Replacing the handler of a watched signal takes no new entry.
    lp.add_signal(libc::SIGUSR1, on_sig, Token(1)).unwrap();
    let full = Err(Error::Full { what: Limit::Timers, capacity: 2 });
    assert_eq!(lp.add_signal(libc::SIGUSR2, on_sig, Token(0)), full);
    assert_eq!(lp.add_timer(Duration::ZERO, None, on_t, Token(0)).map(drop), full);
    assert!(lp.cancel_timer(id));
    lp.add_signal(libc::SIGUSR2, on_sig, Token(0)).unwrap();
    lp.close();
}
