//! Target `dispatch`: arbitrary "kernel output" against an arbitrary
//! registration table, decoded by picosel's real decode functions through a
//! fake backend that makes no system call, with registrations changed in
//! the middle of the ready batch.
//!
//! Checked for every `(key, events)` that `next_ready` hands out:
//! - the key is the fd's current registration (`get_key(fd) == key`);
//! - `events` is non-empty and within the current interest;
//! - the registration existed when the kernel output was produced (a
//!   registration made mid-batch, even under a reused fd number or slot,
//!   never receives an event of the batch);
//! - the kernel output did report that registration (right slot and
//!   generation for epoll, right fd and slot for poll, a set bit below
//!   `nfds` for select).

use crate::cursor::Cursor;
use picosel::backend::Backend;
use picosel::fdset::FdSet;
use picosel::table::{ReadyList, Table};
use picosel::{Errno, Error, Events, RawFd, Selector, decode};
use std::collections::BTreeMap;
use std::time::Duration;

const N: usize = 8;
const MAX_FD: usize = 1100;

/// What the fake kernel will report at the next wait.
#[derive(Default)]
struct Script {
    mode: u8,
    bytes: Vec<u8>,
}

/// A backend whose kernel is the fuzz input.
struct Fake {
    script: Script,
    /// fd -> token the "kernel" holds, including entries for fds whose
    /// removal it "missed" (stale tokens are reported too).
    kernel: BTreeMap<RawFd, u64>,
    graveyard: Vec<u64>,
}

impl Backend<N> for Fake {
    const NAME: &'static str = "fake";
    const INIT: Self = Fake {
        script: Script { mode: 0, bytes: Vec::new() },
        kernel: BTreeMap::new(),
        graveyard: Vec::new(),
    };

    fn open(&mut self) -> Result<(), Errno> {
        Ok(())
    }

    fn add(&mut self, fd: RawFd, slot: u32, generation: u32, _ev: Events) -> Result<(), Error> {
        self.kernel.insert(fd, decode::epoll_token(slot, generation));
        Ok(())
    }

    fn modify(&mut self, fd: RawFd, slot: u32, generation: u32, _ev: Events) -> Result<(), Error> {
        self.kernel.insert(fd, decode::epoll_token(slot, generation));
        Ok(())
    }

    fn remove(&mut self, fd: RawFd, _slot: u32) -> Result<(), Errno> {
        if let Some(token) = self.kernel.remove(&fd) {
            self.graveyard.push(token);
        }
        Ok(())
    }

    fn wait<D: Copy>(
        &mut self,
        table: &Table<D, N>,
        _t: Option<Duration>,
        out: &mut ReadyList<N>,
    ) -> Result<(), Errno> {
        let bytes = std::mem::take(&mut self.script.bytes);
        let mut c = Cursor::new(&bytes);
        match self.script.mode % 3 {
            0 => {
                // epoll: tokens of live, stale, or arbitrary registrations.
                let n = c.below(2 * N + 1);
                let live: Vec<u64> = self.kernel.values().copied().collect();
                let mut events = Vec::new();
                for _ in 0..n {
                    let bits = c.u32();
                    let token = match c.byte() % 4 {
                        0 | 1 if !live.is_empty() => live[c.below(live.len())],
                        2 if !self.graveyard.is_empty() => {
                            self.graveyard[c.below(self.graveyard.len())]
                        }
                        _ => c.u64(),
                    };
                    events.push((bits, token));
                }
                decode::epoll(events.iter().copied(), table, out);
                for r in out.as_slice() {
                    assert!(
                        events.iter().any(|&(_, t)| t == decode::epoll_token(r.slot, r.generation)),
                        "decoded an entry the kernel did not report"
                    );
                }
            }
            1 => {
                // poll: pollfd entries naming any slot, with any fd and revents.
                let n = c.below(2 * N + 1);
                let mut fds = Vec::new();
                let mut slots = Vec::new();
                for _ in 0..n {
                    let slot = c.below(N + 3) as u32;
                    let fd = match (c.byte() % 3, table.get(slot)) {
                        (0 | 1, Some(k)) => k.fd,
                        _ => c.below(MAX_FD) as i32 - 2,
                    };
                    fds.push(libc::pollfd { fd, events: 0, revents: c.u16() as i16 });
                    slots.push(slot);
                }
                // Sometimes fewer slot entries than pollfds.
                let keep = slots.len().saturating_sub(c.below(2));
                decode::poll(&fds, &slots[..keep], table, out);
                for r in out.as_slice() {
                    let key = table.get(r.slot).expect("decoded a free slot");
                    assert!(
                        fds.iter()
                            .zip(&slots)
                            .any(|(p, &s)| s == r.slot && p.fd == key.fd && p.revents != 0)
                    );
                }
            }
            _ => {
                // select: arbitrary words (bits past nfds included).
                let mut words_r = [0 as libc::c_ulong; 1024 / libc::c_ulong::BITS as usize];
                let mut words_w = words_r;
                for w in words_r.iter_mut().chain(words_w.iter_mut()) {
                    if c.byte() & 1 == 1 {
                        *w = c.u64() as libc::c_ulong;
                    }
                }
                let (r, w) = (FdSet::from_words(words_r), FdSet::from_words(words_w));
                let nfds = c.below(MAX_FD + 10) as i32 - 5;
                decode::select(&r, &w, nfds, table, out);
                for e in out.as_slice() {
                    let fd = table.get(e.slot).expect("decoded a free slot").fd;
                    assert!(fd < nfds, "fd {fd} past nfds {nfds}");
                    assert!(!e.events.is_readable() || r.contains(fd));
                    assert!(!e.events.is_writable() || w.contains(fd));
                }
            }
        }
        Ok(())
    }

    fn close(&mut self) {}
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut c = Cursor::new(data);
    let mut sel: Selector<Fake, u32, N> = Selector::new();
    // Every register/modify gets fresh data; `reg_of` maps data to the
    // registration it belongs to (modify keeps the registration).
    let mut next_id = 1u32;
    let mut reg_of: BTreeMap<u32, u32> = BTreeMap::new();
    // Small fd numbers, plus some that collide modulo N and a few large ones.
    let pick_fd = |c: &mut Cursor| -> RawFd {
        match c.byte() % 4 {
            0 => (c.below(4) * N) as i32,
            1 => c.below(MAX_FD) as i32,
            _ => c.below(12) as i32,
        }
    };
    for _round in 0..16 {
        if c.done() {
            break;
        }
        // Change the table.
        for _ in 0..c.below(12) {
            let fd = pick_fd(&mut c);
            let ev = Events::from_bits_retain(c.byte() % 4);
            match c.byte() % 3 {
                0 => register(&mut sel, &mut reg_of, &mut next_id, fd, ev),
                1 => drop(sel.unregister(fd)),
                _ => modify(&mut sel, &mut reg_of, &mut next_id, fd, ev),
            }
        }
        // The kernel's answer.
        let before: BTreeMap<u32, RawFd> = sel.keys().map(|k| (reg_of[&k.data], k.fd)).collect();
        let len = c.below(256);
        let mut bytes = Vec::with_capacity(len);
        for _ in 0..len {
            bytes.push(c.byte());
        }
        let mode = c.byte();
        sel.backend_mut().script = Script { mode, bytes };
        let n = sel.select(Some(Duration::ZERO)).expect("fake wait never fails");
        assert!(n <= N);
        // Dispatch, changing registrations mid-batch.
        while let Some((key, ev)) = sel.next_ready() {
            assert_eq!(sel.get_key(key.fd), Ok(key), "delivered a key that is not current");
            assert!(
                !ev.is_empty() && key.events.contains(ev),
                "{ev:?} not within {:?}",
                key.events
            );
            let reg = reg_of[&key.data];
            assert_eq!(
                before.get(&reg),
                Some(&key.fd),
                "registration made mid-batch got a batch event"
            );
            for _ in 0..c.below(3) {
                let fd = pick_fd(&mut c);
                match c.byte() % 3 {
                    0 => register(&mut sel, &mut reg_of, &mut next_id, fd, Events::BOTH),
                    1 => drop(sel.unregister(fd)),
                    _ => {
                        let ev = Events::from_bits_retain(1 + c.byte() % 3);
                        modify(&mut sel, &mut reg_of, &mut next_id, fd, ev);
                    }
                }
            }
        }
    }
}

type Sel = Selector<Fake, u32, N>;

fn register(sel: &mut Sel, reg_of: &mut BTreeMap<u32, u32>, next: &mut u32, fd: RawFd, ev: Events) {
    let expect_ok = ev.is_valid() && fd >= 0 && sel.get_key(fd).is_err() && sel.len() < N;
    let res = sel.register(fd, ev, *next);
    assert_eq!(res.is_ok(), expect_ok, "register({fd}, {ev:?}) = {res:?}");
    if res.is_ok() {
        reg_of.insert(*next, *next);
        *next += 1;
    }
}

fn modify(sel: &mut Sel, reg_of: &mut BTreeMap<u32, u32>, next: &mut u32, fd: RawFd, ev: Events) {
    let old = sel.get_key(fd).ok();
    let res = sel.modify(fd, ev, *next);
    assert_eq!(res.is_ok(), ev.is_valid() && old.is_some(), "modify({fd}, {ev:?}) = {res:?}");
    if let (Ok(key), Some(old)) = (res, old) {
        assert_eq!((key.fd, key.events, key.data), (fd, ev, *next));
        let reg = reg_of[&old.data];
        reg_of.insert(*next, reg);
        *next += 1;
    }
}
