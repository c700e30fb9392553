//! The waker on real fds: woken from another thread and from a signal
//! handler while blocked in `select(None)`, wakes coalescing, none lost.

use picosel::{DefaultSelector, EventLoop, Events, Token, Waker};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Runs `f` but aborts the whole test binary if it takes longer than 20 s:
/// a lost wake means `select(None)` blocks forever, and a hung test is
/// worse than a failed one.
fn bounded<R>(what: &str, f: impl FnOnce() -> R) -> R {
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..2000 {
                if done.load(Ordering::Acquire) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            eprintln!("{what}: still blocked after 20 s, the wake was lost");
            std::process::abort();
        });
        let r = f();
        done.store(true, Ordering::Release);
        r
    })
}

fn ready(sel: &mut DefaultSelector<&'static str, 4>, timeout: Duration) -> Vec<&'static str> {
    sel.select(Some(timeout)).unwrap();
    std::iter::from_fn(|| sel.next_ready().map(|(k, _)| k.data)).collect()
}

#[test]
fn woken_from_another_thread_while_blocked_in_select() {
    let waker = Waker::new().unwrap();
    let mut sel: DefaultSelector<&str, 4> = DefaultSelector::new();
    sel.register(waker.as_raw_fd(), Events::READ, "waker").unwrap();
    let n = bounded("select(None)", || {
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(100));
                waker.wake().unwrap();
            });
            sel.select(None).unwrap()
        })
    });
    assert_eq!(n, 1);
    assert_eq!(sel.next_ready(), Some((sel.get_key(waker.as_raw_fd()).unwrap(), Events::READ)));
    assert!(waker.drain().unwrap());
    assert_eq!(ready(&mut sel, Duration::ZERO), Vec::<&str>::new());
}

static SIGNAL_WAKER: OnceLock<Waker> = OnceLock::new();
static HANDLER_RAN: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_sigusr1(_sig: libc::c_int) {
    // Only async-signal-safe work: an atomic load (OnceLock::get on an
    // initialised lock), one write(2), an atomic add.
    if let Some(w) = SIGNAL_WAKER.get() {
        let _ = w.wake();
    }
    HANDLER_RAN.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn woken_from_a_signal_handler() {
    let waker = SIGNAL_WAKER.get_or_init(|| Waker::new().unwrap());
    // SAFETY (test): a zeroed sigaction is valid plain data; we fill in a
    // handler that only does async-signal-safe work, and no SA_RESTART, so
    // the blocked wait sees EINTR (the selector retries it, as PEP 475).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigusr1 as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
    // SAFETY (test): pthread_self has no preconditions.
    // As a number: on musl pthread_t is a pointer, not Send.
    let me = unsafe { libc::pthread_self() } as usize;
    let mut sel: DefaultSelector<&str, 4> = DefaultSelector::new();
    sel.register(waker.as_raw_fd(), Events::READ, "waker").unwrap();
    let n = bounded("select(None) with a signal", || {
        std::thread::scope(|s| {
            s.spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                // SAFETY (test): `me` is the test thread, alive: it is
                // blocked in select until this signal's wake arrives.
                assert_eq!(unsafe { libc::pthread_kill(me as libc::pthread_t, libc::SIGUSR1) }, 0);
            });
            sel.select(None).unwrap()
        })
    });
    assert_eq!(n, 1);
    assert!(HANDLER_RAN.load(Ordering::SeqCst) >= 1);
    assert_eq!(sel.next_ready().map(|(k, e)| (k.data, e)), Some(("waker", Events::READ)));
    assert!(waker.drain().unwrap());
}

#[test]
fn many_wakes_coalesce_into_one_readiness_and_one_drain_clears_them() {
    let waker = Waker::new().unwrap();
    let mut sel: DefaultSelector<&str, 4> = DefaultSelector::new();
    sel.register(waker.as_raw_fd(), Events::READ, "waker").unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..250 {
                    waker.wake().unwrap();
                }
            });
        }
    });
    assert_eq!(ready(&mut sel, Duration::from_secs(5)), ["waker"], "one readiness");
    assert!(waker.drain().unwrap());
    assert_eq!(ready(&mut sel, Duration::ZERO), Vec::<&str>::new(), "one drain cleared all");
    assert!(!waker.drain().unwrap(), "nothing left");
}

#[test]
fn a_wake_after_the_drain_is_not_lost() {
    let waker = Waker::new().unwrap();
    let mut sel: DefaultSelector<&str, 4> = DefaultSelector::new();
    sel.register(waker.as_raw_fd(), Events::READ, "waker").unwrap();
    waker.wake().unwrap();
    assert_eq!(ready(&mut sel, Duration::from_secs(5)), ["waker"]);
    assert!(waker.drain().unwrap());
    waker.wake().unwrap();
    assert_eq!(ready(&mut sel, Duration::from_secs(5)), ["waker"], "the later wake shows");
    assert!(waker.drain().unwrap());
    // And from another thread racing with drains, in the documented order
    // (post the work, then wake; drain, then look at the work): a wake that
    // lands after a drain's read is seen by the next select, so no work is
    // ever left behind with the loop asleep.
    let rounds = 200;
    let seen = bounded("wake/drain race", || {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        std::thread::scope(|s| {
            s.spawn(|| {
                for _ in 0..rounds {
                    tx.send(()).unwrap();
                    waker.wake().unwrap();
                }
            });
            let mut seen = 0;
            while seen < rounds {
                // Block until readable, drain, then take the work.
                sel.select(None).unwrap();
                while sel.next_ready().is_some() {}
                waker.drain().unwrap();
                seen += rx.try_iter().count();
            }
            seen
        })
    });
    assert_eq!(seen, rounds);
}

struct Ctx<'a> {
    waker: &'a Waker,
    woken: usize,
}

type Loop<'a> = EventLoop<Ctx<'a>, 4, 1>;

fn on_wake(lp: &mut Loop<'_>, ctx: &mut Ctx<'_>, _fd: i32, _ev: Events, _t: Token) {
    ctx.waker.drain().unwrap();
    ctx.woken += 1;
    lp.stop();
}

#[test]
fn wakes_a_running_event_loop() {
    let waker = Waker::new().unwrap();
    let mut lp = Loop::new();
    lp.register(waker.as_raw_fd(), Events::READ, on_wake, Token(0)).unwrap();
    let mut ctx = Ctx { waker: &waker, woken: 0 };
    bounded("EventLoop::run", || {
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(50));
                waker.wake().unwrap();
            });
            lp.run(&mut ctx).unwrap();
        })
    });
    assert_eq!(ctx.woken, 1);
}

#[test]
fn waker_fd_is_nonblocking_and_cloexec() {
    let waker = Waker::new().unwrap();
    // SAFETY (test): fcntl queries on a plain integer.
    let (fd_flags, fl_flags) = unsafe {
        (
            libc::fcntl(waker.as_raw_fd(), libc::F_GETFD),
            libc::fcntl(waker.as_raw_fd(), libc::F_GETFL),
        )
    };
    assert!(fd_flags & libc::FD_CLOEXEC != 0);
    assert!(fl_flags & libc::O_NONBLOCK != 0);
    assert!(!waker.drain().unwrap(), "a new waker is not woken");
}
