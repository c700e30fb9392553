//! What the chain programs share: the CLI (`P A E`), the socket pairs and
//! the first bytes. The chain (libevent's test/bench.c): P non-blocking
//! AF_UNIX stream pairs, all watched for reading; one byte goes into A of
//! them, spaced P/A apart; each read event on pair i reads its byte and
//! writes one into pair (i + 1) % P, until E events have been handled. Each
//! program prints the number of events it handled.

/// The command line: pairs, active pairs, events.
pub struct Args {
    pub pairs: usize,
    pub active: usize,
    pub events: u64,
}

pub fn args() -> Args {
    let a: Vec<usize> = std::env::args().skip(1).map(|s| s.parse().unwrap_or(0)).collect();
    match a[..] {
        [p, act, e] if p > 0 && act > 0 && act <= p && e > 0 => {
            Args { pairs: p, active: act, events: e as u64 }
        }
        _ => {
            eprintln!("usage: chain-* PAIRS ACTIVE EVENTS (1 <= ACTIVE <= PAIRS, EVENTS >= 1)");
            std::process::exit(2)
        }
    }
}

/// Raises RLIMIT_NOFILE to its hard limit (P = 1,000 needs 2,000 fds).
pub fn raise_nofile() {
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) == 0 && rl.rlim_cur < rl.rlim_max {
            rl.rlim_cur = rl.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
        }
    }
}

/// P non-blocking socket pairs as (read end, write end) fds.
pub fn pairs(p: usize) -> Vec<(i32, i32)> {
    raise_nofile();
    (0..p)
        .map(|_| {
            let mut sv = [0i32; 2];
            let flags = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
            // SAFETY: socketpair writes two fds into `sv`.
            let r = unsafe { libc::socketpair(libc::AF_UNIX, flags, 0, sv.as_mut_ptr()) };
            assert_eq!(r, 0, "socketpair: {}", std::io::Error::last_os_error());
            (sv[0], sv[1])
        })
        .collect()
}

/// For each pair i, the write end of pair (i + 1) % P: where an event on
/// pair i sends its byte. Precomputed, as the C programs do, so that no
/// program pays a division per event.
pub fn next_write_ends(fds: &[(i32, i32)]) -> Vec<i32> {
    (0..fds.len()).map(|i| fds[(i + 1) % fds.len()].1).collect()
}

/// Reads one byte from `fd`: true if there was one.
#[inline]
pub fn read1(fd: i32) -> bool {
    let mut b = 0u8;
    // SAFETY: reads at most one byte into `b`.
    unsafe { libc::read(fd, (&mut b as *mut u8).cast(), 1) == 1 }
}

/// Writes one byte into `fd` (a pair's write end; never full in the chain).
#[inline]
pub fn write1(fd: i32) {
    // SAFETY: writes one byte from a static.
    let n = unsafe { libc::write(fd, b"e".as_ptr().cast(), 1) };
    assert_eq!(n, 1, "write: {}", std::io::Error::last_os_error());
}

/// The first bytes: one into each of A pairs, P/A apart.
pub fn start(write_ends: impl Fn(usize) -> i32, a: &Args) {
    let space = a.pairs / a.active;
    for i in 0..a.active {
        write1(write_ends(i * space));
    }
}
