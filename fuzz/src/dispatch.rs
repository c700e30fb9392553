//! Target `dispatch`: fabricated kernel output against an arbitrary
//! registration table, decoded by picosel's real `decode` functions through
//! a fake backend that makes no system call, with registrations changed in
//! the middle of the ready batch.
//!
//! The input drives a selector of capacity 1, 2, 5 or 16 over [`Fake`]:
//! rounds of register / unregister / modify / get_key on fd numbers
//! `0..2048` (with injected backend errors), then one wait whose "kernel
//! output" the input writes: epoll events naming live, stale (freed or
//! reused slot), never-removed ("zombie") or out-of-range tokens with any
//! bits; `pollfd`s built from the table at wait time plus entries for old or
//! free slots and wrong fds, any `revents` (`POLLNVAL`/`POLLERR`/`POLLHUP`
//! ...); `fd_set`s with bits for unregistered fds and past `nfds`. Waits may
//! first be interrupted (`EINTR`, after pushing entries that must be
//! dropped) or fail. The batch is then consumed with `next_ready`, changing
//! registrations (and re-registering the same fd numbers) between entries.
//!
//! Checked, besides "never panics":
//! - every operation's result equals a plain model's (Python's error order);
//!   `keys()`, `len()` and each registration's slot and generation agree;
//! - every `(key, events)` from `next_ready` is the fd's live registration
//!   at that moment (`get_key(fd) == key`), `events` is non-empty and within
//!   its current interest and its interest at wait time;
//! - it comes from a kernel entry fabricated for *that* registration: the
//!   registration existed at wait time (never one made mid-batch, even under
//!   the same fd number and slot), and the output named it: an epoll token
//!   equal to `epoll_token(slot, generation)` as handed to the backend's
//!   `add`, a `pollfd` with its slot and fd, or its fd's bit below `nfds`;
//!   `events` within what those entries' bits map to (CPython's mapping),
//!   and no more deliveries than such entries;
//! - nothing is lost: a registration left alone during the batch receives
//!   exactly the mapped, masked events the kernel reported for it;
//! - an interrupted or failed wait delivers nothing.

use crate::cursor::Cursor;
use picosel::backend::Backend;
use picosel::fdset::{FD_SETSIZE, FdSet};
use picosel::table::{Ready, ReadyList, Table};
use picosel::{Errno, Error, Events, Key, RawFd, Selector, decode};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// fd numbers range over `0..MAX_FD` (past `FD_SETSIZE` on purpose).
const MAX_FD: usize = 2048;
const WORD_BITS: usize = libc::c_ulong::BITS as usize;
const WORDS: usize = FD_SETSIZE / WORD_BITS;

/// What the fake kernel reported at its last successful wait.
#[derive(Default)]
#[allow(clippy::large_enum_variant)]
enum Output {
    #[default]
    None,
    Epoll(Vec<(u32, u64)>),
    Poll(Vec<libc::pollfd>, Vec<u32>),
    Select(FdSet, FdSet, i32),
}

/// A backend whose kernel is the fuzz input. It also checks that the
/// selector drives it consistently (add/modify/remove with the same slot and
/// generation for the life of a registration).
struct Fake<const N: usize> {
    /// Input bytes for the next wait's output, and which syscall it mimics.
    script: Vec<u8>,
    mode: u8,
    /// Injected failures, consumed by the next call of that kind.
    fail_add: Option<Error>,
    fail_modify: Option<Error>,
    fail_remove: bool,
    fail_wait: Option<Errno>,
    /// Waits to interrupt (after pushing entries) before answering.
    eintr: u8,
    /// What the selector has added: fd -> (slot, generation, events).
    added: BTreeMap<RawFd, (u32, u32, Events)>,
    /// What the kernel would report: fd -> token. Keeps an entry whose
    /// removal "failed" until the fd is added again.
    kernel: BTreeMap<RawFd, u64>,
    /// Tokens of removed registrations, and every (slot, fd) ever added.
    graveyard: Vec<u64>,
    history: Vec<(u32, RawFd)>,
    /// The last successful add: (fd, slot, generation).
    last_add: Option<(RawFd, u32, u32)>,
    output: Output,
}

impl<const N: usize> Backend<N> for Fake<N> {
    const NAME: &'static str = "fake";
    const INIT: Self = Fake {
        script: Vec::new(),
        mode: 0,
        fail_add: None,
        fail_modify: None,
        fail_remove: false,
        fail_wait: None,
        eintr: 0,
        added: BTreeMap::new(),
        kernel: BTreeMap::new(),
        graveyard: Vec::new(),
        history: Vec::new(),
        last_add: None,
        output: Output::None,
    };

    fn open(&mut self) -> Result<(), Errno> {
        Ok(())
    }

    fn add(&mut self, fd: RawFd, slot: u32, generation: u32, ev: Events) -> Result<(), Error> {
        assert!(fd >= 0 && (slot as usize) < N && ev.is_valid(), "add({fd}, {slot}, {ev:?})");
        assert!(!self.added.contains_key(&fd), "add of fd {fd}, which is added already");
        if let Some(e) = self.fail_add.take() {
            return Err(e);
        }
        self.added.insert(fd, (slot, generation, ev));
        // Like epoll's EEXIST -> MOD takeover, a zombie entry is replaced.
        self.kernel.insert(fd, decode::epoll_token(slot, generation));
        self.history.push((slot, fd));
        self.last_add = Some((fd, slot, generation));
        Ok(())
    }

    fn modify(&mut self, fd: RawFd, slot: u32, generation: u32, ev: Events) -> Result<(), Error> {
        let Some(entry) = self.added.get_mut(&fd) else {
            panic!("modify of fd {fd}, which is not added");
        };
        assert_eq!((entry.0, entry.1), (slot, generation), "modify({fd}) names another slot");
        assert!(ev.is_valid() && ev != entry.2, "modify({fd}, {ev:?}) changes nothing");
        if let Some(e) = self.fail_modify.take() {
            return Err(e);
        }
        entry.2 = ev;
        Ok(())
    }

    fn remove(&mut self, fd: RawFd, slot: u32) -> Result<(), Errno> {
        let Some((s, generation, _)) = self.added.remove(&fd) else {
            panic!("remove of fd {fd}, which is not added");
        };
        assert_eq!(s, slot, "remove({fd}) names another slot");
        self.graveyard.push(decode::epoll_token(slot, generation));
        if self.fail_remove {
            // The kernel keeps reporting it (the selector ignores the error).
            return Err(Errno::ENOENT);
        }
        self.kernel.remove(&fd);
        Ok(())
    }

    fn wait<D: Copy>(
        &mut self,
        table: &Table<D, N>,
        _timeout: Option<Duration>,
        out: &mut ReadyList<N>,
    ) -> Result<(), Errno> {
        if self.eintr > 0 {
            // Entries decoded before an interruption must be thrown away.
            self.eintr -= 1;
            for (slot, key) in table.iter() {
                out.push(Ready { slot, generation: table.generation(slot), events: key.events });
            }
            return Err(Errno::EINTR);
        }
        if let Some(e) = self.fail_wait.take() {
            return Err(e);
        }
        let script = std::mem::take(&mut self.script);
        let mut c = Cursor::new(&script);
        self.output = match self.mode % 3 {
            0 => {
                let events = self.fabricate_epoll(&mut c);
                decode::epoll(events.iter().copied(), table, out);
                Output::Epoll(events)
            }
            1 => {
                let (fds, slots) = self.fabricate_poll(&mut c, table);
                decode::poll(&fds, &slots, table, out);
                Output::Poll(fds, slots)
            }
            _ => {
                let (r, w, nfds) = fabricate_select(&mut c, table);
                decode::select(&r, &w, nfds, table, out);
                Output::Select(r, w, nfds)
            }
        };
        Ok(())
    }

    fn close(&mut self) {
        for (_, (slot, generation, _)) in std::mem::take(&mut self.added) {
            self.graveyard.push(decode::epoll_token(slot, generation));
        }
        self.kernel.clear();
    }
}

/// Readiness bits, mostly the interesting combinations.
fn bits(c: &mut Cursor, in_bit: u32, out_bit: u32) -> u32 {
    const EXTRA: [u32; 5] = [
        libc::EPOLLERR as u32,
        libc::EPOLLHUP as u32,
        libc::EPOLLRDHUP as u32,
        libc::EPOLLPRI as u32,
        libc::POLLNVAL as u16 as u32,
    ];
    match c.byte() % 6 {
        0 => in_bit,
        1 => out_bit,
        2 => in_bit | out_bit,
        3 => 0,
        4 => {
            let m = c.byte();
            let mut b = if m & 1 != 0 { in_bit } else { 0 } | if m & 2 != 0 { out_bit } else { 0 };
            for (i, x) in EXTRA.iter().enumerate() {
                if m >> (i + 2) & 1 != 0 {
                    b |= x;
                }
            }
            b
        }
        _ => c.u32(),
    }
}

impl<const N: usize> Fake<N> {
    fn fabricate_epoll(&self, c: &mut Cursor) -> Vec<(u32, u64)> {
        let live: Vec<u64> = self.kernel.values().copied().collect();
        let n = c.below(2 * N + 2);
        let mut events = Vec::with_capacity(n);
        for _ in 0..n {
            let b = bits(c, libc::EPOLLIN as u32, libc::EPOLLOUT as u32);
            let token = match c.byte() % 7 {
                0..=2 if !live.is_empty() => live[c.below(live.len())],
                3 if !self.graveyard.is_empty() => self.graveyard[c.below(self.graveyard.len())],
                4 if !live.is_empty() => {
                    // A live slot at a neighbouring generation.
                    let t = live[c.below(live.len())];
                    let delta = [1u64, u64::MAX, 2][c.below(3)];
                    (t & 0xffff_ffff) | ((t >> 32).wrapping_add(delta) & 0xffff_ffff) << 32
                }
                5 => decode::epoll_token((N + c.below(3)) as u32, u32::from(c.byte() % 3)),
                _ => c.u64(),
            };
            events.push((b, token));
        }
        events
    }

    fn fabricate_poll<D: Copy>(
        &self,
        c: &mut Cursor,
        table: &Table<D, N>,
    ) -> (Vec<libc::pollfd>, Vec<u32>) {
        let pin = libc::POLLIN as u16 as u32;
        let pout = libc::POLLOUT as u16 as u32;
        let mut entries: Vec<(libc::pollfd, u32)> = Vec::new();
        // The array as the poll backend builds it: one entry per live slot.
        for (slot, key) in table.iter() {
            if c.byte() % 4 != 0 {
                let revents = bits(c, pin, pout) as u16 as i16;
                entries.push((libc::pollfd { fd: key.fd, events: 0, revents }, slot));
            }
        }
        // Plus entries out of step with the table.
        for _ in 0..c.below(4) {
            let (slot, fd) = match c.byte() % 4 {
                0 if !self.history.is_empty() => self.history[c.below(self.history.len())],
                1 => ((N + c.below(3)) as u32, c.below(MAX_FD) as RawFd),
                2 => (c.below(N) as u32, c.below(MAX_FD) as RawFd - 1),
                _ => (c.u32(), c.u32() as RawFd),
            };
            let revents = bits(c, pin, pout) as u16 as i16;
            let at = c.below(entries.len() + 1);
            entries.insert(at, (libc::pollfd { fd, events: 0, revents }, slot));
        }
        let (fds, mut slots): (Vec<_>, Vec<_>) = entries.into_iter().unzip();
        // Sometimes fewer slot entries than pollfds.
        if c.byte() % 8 == 0 {
            slots.truncate(slots.len().saturating_sub(1 + c.below(2)));
        }
        (fds, slots)
    }
}

fn fabricate_select<D: Copy, const N: usize>(
    c: &mut Cursor,
    table: &Table<D, N>,
) -> (FdSet, FdSet, i32) {
    let (mut r, mut w) = (FdSet::new(), FdSet::new());
    let mut nfds = 0;
    for (_, key) in table.iter() {
        if (key.fd as usize) < FD_SETSIZE {
            nfds = nfds.max(key.fd + 1);
        }
        let m = c.byte();
        if m & 1 != 0 {
            r.insert(key.fd);
        }
        if m & 2 != 0 {
            w.insert(key.fd);
        }
    }
    for _ in 0..c.below(4) {
        let fd = c.below(FD_SETSIZE) as RawFd;
        if c.byte() & 1 == 0 {
            r.insert(fd);
        } else {
            w.insert(fd);
        }
    }
    if c.byte() % 4 == 0 {
        // Raw words: any bits at all, past nfds included.
        let mut words = [[0 as libc::c_ulong; WORDS]; 2];
        for _ in 0..c.below(4) {
            words[c.below(2)][c.below(WORDS)] = c.u64() as libc::c_ulong;
        }
        r = r.union(&FdSet::from_words(words[0]));
        w = w.union(&FdSet::from_words(words[1]));
    }
    if c.byte() % 4 == 0 {
        nfds = c.below(FD_SETSIZE + 80) as i32 - 8;
    }
    (r, w, nfds)
}

/// CPython's mapping of kernel bits to selector events.
fn map(bits: u32, in_bit: u32, out_bit: u32) -> Events {
    let mut ev = Events::NONE;
    if bits & !in_bit != 0 {
        ev |= Events::WRITE;
    }
    if bits & !out_bit != 0 {
        ev |= Events::READ;
    }
    ev
}

/// One live registration as the driver knows it.
#[derive(Clone, Copy, Debug)]
struct Reg {
    fd: RawFd,
    events: Events,
    data: u32,
    slot: u32,
    generation: u32,
}

/// The driver: the selector, a model of it, and the bookkeeping that
/// attributes kernel entries to registrations.
struct Driver<const N: usize> {
    sel: Selector<Fake<N>, u32, N>,
    closed: bool,
    /// fd -> registration id; registration id -> registration.
    by_fd: BTreeMap<RawFd, u32>,
    regs: BTreeMap<u32, Reg>,
    /// data value -> registration id (fresh data for every register/modify).
    reg_of: BTreeMap<u32, u32>,
    next_data: u32,
    next_reg: u32,
    /// Registrations unregistered or re-interested during the current batch.
    touched: BTreeSet<u32>,
    /// fds seen before, to come back to.
    fds: Vec<RawFd>,
}

const ERRORS: [Error; 4] = [
    Error::Os(Errno::EPERM),
    Error::Os(Errno::EBADF),
    Error::FdOutOfRange { fd: 1024, limit: 1024 },
    Error::Os(Errno::ENOMEM),
];

impl<const N: usize> Driver<N> {
    fn new() -> Self {
        Driver {
            sel: Selector::new(),
            closed: false,
            by_fd: BTreeMap::new(),
            regs: BTreeMap::new(),
            reg_of: BTreeMap::new(),
            next_data: 1,
            next_reg: 1,
            touched: BTreeSet::new(),
            fds: Vec::new(),
        }
    }

    fn pick_fd(&mut self, c: &mut Cursor) -> RawFd {
        let fd = match c.byte() % 8 {
            0 | 1 if !self.by_fd.is_empty() => {
                *self.by_fd.keys().nth(c.below(self.by_fd.len())).unwrap_or(&0)
            }
            2 if !self.fds.is_empty() => self.fds[c.below(self.fds.len())],
            3 => c.below(MAX_FD) as RawFd,
            // Collisions in the fd index (fd % N).
            4 => (c.below(4) * N + c.below(2)) as RawFd,
            5 if c.byte() == 0xff => -1 - c.below(3) as RawFd,
            _ => c.below(2 * N + 2) as RawFd,
        };
        if fd >= 0 && self.fds.len() < 64 {
            self.fds.push(fd);
        }
        fd
    }

    fn pick_events(c: &mut Cursor) -> Events {
        let b = c.byte();
        Events::from_bits_retain(match b % 16 {
            0..=11 => 1 + b % 3,
            12 => 0,
            13 => 4,
            14 => 3 | 8,
            _ => c.byte(),
        })
    }

    fn fresh_data(&mut self) -> u32 {
        self.next_data += 1;
        self.next_data
    }

    /// The model's answer for `get_key`.
    fn model_key(&self, fd: RawFd) -> Result<Key<u32>, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        if fd < 0 {
            return Err(Error::BadFd(fd));
        }
        let reg = self.by_fd.get(&fd).ok_or(Error::NotRegistered(fd))?;
        let r = self.regs[reg];
        Ok(Key { fd, events: r.events, data: r.data })
    }

    fn forget(&mut self, fd: RawFd) {
        if let Some(id) = self.by_fd.remove(&fd) {
            self.regs.remove(&id);
            self.touched.insert(id);
        }
    }

    /// One table operation chosen by the input, checked against the model.
    fn op(&mut self, c: &mut Cursor, mid_batch: bool) -> bool {
        let fd = self.pick_fd(c);
        match c.byte() % 16 {
            0..=5 => {
                let ev = Self::pick_events(c);
                let data = self.fresh_data();
                let inject = (c.byte() % 8 == 0).then(|| ERRORS[c.below(ERRORS.len())]);
                self.sel.backend_mut().fail_add = inject;
                self.sel.backend_mut().last_add = None;
                let want = match self.model_key(fd) {
                    Err(Error::Closed) => Err(Error::Closed),
                    _ if !ev.is_valid() => Err(Error::InvalidEvents(ev.bits())),
                    Err(Error::BadFd(fd)) => Err(Error::BadFd(fd)),
                    Ok(_) => Err(Error::AlreadyRegistered(fd)),
                    _ if self.by_fd.len() >= N => Err(Error::Full { capacity: N }),
                    _ => inject.map_or(Ok(Key { fd, events: ev, data }), Err),
                };
                let got = self.sel.register(fd, ev, data);
                assert_eq!(got, want, "register({fd}, {ev:?})");
                self.sel.backend_mut().fail_add = None;
                if got.is_ok() {
                    let (afd, slot, generation) =
                        self.sel.backend_mut().last_add.take().expect("register without add");
                    assert_eq!(afd, fd);
                    let id = self.next_reg;
                    self.next_reg += 1;
                    self.by_fd.insert(fd, id);
                    self.regs.insert(id, Reg { fd, events: ev, data, slot, generation });
                    self.reg_of.insert(data, id);
                }
            }
            6..=9 => {
                self.sel.backend_mut().fail_remove = c.byte() % 8 == 0;
                let want = self.model_key(fd);
                assert_eq!(self.sel.unregister(fd), want, "unregister({fd})");
                self.sel.backend_mut().fail_remove = false;
                self.forget(fd);
            }
            10..=13 => {
                let ev = Self::pick_events(c);
                let data = if c.byte() % 4 == 0 {
                    self.model_key(fd).map_or(0, |k| k.data)
                } else {
                    self.fresh_data()
                };
                let inject = (c.byte() % 8 == 0).then(|| ERRORS[c.below(ERRORS.len())]);
                self.sel.backend_mut().fail_modify = inject;
                let old = self.model_key(fd);
                let want = match old {
                    Err(Error::Closed) => Err(Error::Closed),
                    _ if !ev.is_valid() => Err(Error::InvalidEvents(ev.bits())),
                    Err(e) => Err(e),
                    Ok(k) if k.events != ev && inject.is_some() => Err(inject.unwrap()),
                    Ok(_) => Ok(Key { fd, events: ev, data }),
                };
                let got = self.sel.modify(fd, ev, data);
                assert_eq!(got, want, "modify({fd}, {ev:?})");
                self.sel.backend_mut().fail_modify = None;
                match (old, got) {
                    // A refused change of interest unregisters (as CPython).
                    (Ok(_), Err(_)) if ev.is_valid() => self.forget(fd),
                    (Ok(k), Ok(_)) => {
                        let id = self.by_fd[&fd];
                        if k.events != ev {
                            self.touched.insert(id);
                        }
                        let r = self.regs.get_mut(&id).expect("live registration");
                        r.events = ev;
                        r.data = data;
                        self.reg_of.insert(data, id);
                    }
                    _ => {}
                }
            }
            14 => assert_eq!(self.sel.get_key(fd), self.model_key(fd), "get_key({fd})"),
            _ => match c.byte() % 16 {
                0 => {
                    self.sel.close();
                    self.closed = true;
                    let ids: Vec<u32> = self.regs.keys().copied().collect();
                    self.touched.extend(ids);
                    self.by_fd.clear();
                    self.regs.clear();
                }
                // Leave the rest of the batch unconsumed.
                1..=5 if mid_batch => return false,
                _ => {}
            },
        }
        self.check_table();
        true
    }

    /// keys(), len() and the table's slots and generations match the model.
    fn check_table(&self) {
        let keys: BTreeMap<RawFd, (Events, u32)> =
            self.sel.keys().map(|k| (k.fd, (k.events, k.data))).collect();
        let want: BTreeMap<RawFd, (Events, u32)> =
            self.regs.values().map(|r| (r.fd, (r.events, r.data))).collect();
        assert_eq!(keys, want, "keys()");
        assert_eq!(self.sel.len(), self.regs.len());
        assert_eq!(self.sel.is_closed(), self.closed);
        let table = self.sel.table();
        for r in self.regs.values() {
            assert_eq!(table.find(r.fd), Some(r.slot), "slot of fd {}", r.fd);
            assert_eq!(table.generation(r.slot), r.generation, "generation of fd {}", r.fd);
        }
    }

    /// For each registration live at wait time: the events the output
    /// reported for it (mapped, unmasked) and how many entries should decode.
    fn attribute(output: &Output, at_wait: &BTreeMap<u32, Reg>) -> BTreeMap<u32, (Events, usize)> {
        let mut got = BTreeMap::new();
        for (&id, r) in at_wait {
            let mut reported = Events::NONE;
            let mut count = 0;
            let mut note = |ev: Events| {
                reported |= ev;
                if !(ev & r.events).is_empty() {
                    count += 1;
                }
            };
            match output {
                Output::None => {}
                Output::Epoll(events) => {
                    let token = decode::epoll_token(r.slot, r.generation);
                    for &(b, _) in events.iter().filter(|e| e.1 == token) {
                        note(map(b, libc::EPOLLIN as u32, libc::EPOLLOUT as u32));
                    }
                }
                Output::Poll(fds, slots) => {
                    for (p, &s) in fds.iter().zip(slots) {
                        if s == r.slot && p.fd == r.fd && p.revents != 0 {
                            let b = p.revents as u16 as u32;
                            note(map(b, libc::POLLIN as u16 as u32, libc::POLLOUT as u16 as u32));
                        }
                    }
                }
                Output::Select(rs, ws, nfds) => {
                    if r.fd < (*nfds).min(FD_SETSIZE as i32) {
                        let mut ev = Events::NONE;
                        if rs.contains(r.fd) {
                            ev |= Events::READ;
                        }
                        if ws.contains(r.fd) {
                            ev |= Events::WRITE;
                        }
                        if !ev.is_empty() {
                            note(ev);
                        }
                    }
                }
            }
            got.insert(id, (reported, count));
        }
        got
    }

    /// One wait and its batch.
    fn round(&mut self, c: &mut Cursor) {
        for _ in 0..c.below(10) {
            self.op(c, false);
        }
        let len = c.below(256);
        let script: Vec<u8> = (0..len).map(|_| c.byte()).collect();
        let mode = c.byte();
        let flags = c.byte();
        let eintr = flags & 7 == 7;
        let fail = (flags & 0x18 == 0x18).then(|| [Errno::EBADF, Errno::EINVAL][c.below(2)]);
        let timeout = [Some(Duration::ZERO), None, Some(Duration::from_secs(10))][c.below(3)];
        {
            let fake = self.sel.backend_mut();
            fake.script = script;
            fake.mode = mode;
            fake.eintr = u8::from(eintr);
            fake.fail_wait = fail;
            fake.output = Output::None;
        }
        let at_wait = self.regs.clone();
        self.touched.clear();
        let res = self.sel.select(timeout);
        let fake = self.sel.backend_mut();
        fake.eintr = 0;
        fake.fail_wait = None;
        let output = std::mem::take(&mut fake.output);
        let answered = !matches!(output, Output::None);
        let attributed = Self::attribute(&output, &at_wait);
        let decodable: usize = attributed.values().map(|a| a.1).sum();
        if self.closed {
            assert_eq!(res, Err(Error::Closed));
        } else if eintr && timeout == Some(Duration::ZERO) {
            // Interrupted with no time left: an empty result.
            assert_eq!(res, Ok(0), "interrupted select(0)");
        } else if let Some(e) = fail {
            assert_eq!(res, Err(Error::Os(e)));
        } else {
            assert!(answered);
            assert_eq!(res, Ok(decodable.min(N)), "entries decoded");
        }
        if !answered {
            assert_eq!(self.sel.next_ready(), None, "an unanswered wait delivered");
            return;
        }
        let mut delivered: BTreeMap<u32, (Events, usize)> = BTreeMap::new();
        let mut drained = true;
        'batch: while let Some((key, ev)) = self.sel.next_ready() {
            // The fd's live registration, right now.
            assert_eq!(self.sel.get_key(key.fd), Ok(key), "delivered key is not current");
            assert_eq!(self.model_key(key.fd), Ok(key), "delivered key is not the model's");
            assert!(!ev.is_empty() && key.events.contains(ev), "{ev:?} not in {:?}", key.events);
            // ... which existed at wait time and was reported by the kernel.
            let id = self.reg_of[&key.data];
            let Some(then) = at_wait.get(&id) else {
                panic!("fd {} registered mid-batch got an event of the batch", key.fd);
            };
            assert!(then.events.contains(ev), "{ev:?} not in the interest at wait time");
            let (reported, count) = attributed[&id];
            assert!(reported.contains(ev), "fd {}: {ev:?} not reported ({reported:?})", key.fd);
            let d = delivered.entry(id).or_insert((Events::NONE, 0));
            d.0 |= ev;
            d.1 += 1;
            assert!(d.1 <= count, "fd {}: more deliveries than kernel entries", key.fd);
            for _ in 0..c.below(3) {
                if !self.op(c, true) {
                    drained = false;
                    break 'batch;
                }
            }
        }
        if drained && decodable <= N {
            for (id, r) in &at_wait {
                if self.touched.contains(id) {
                    continue;
                }
                let (reported, count) = attributed[id];
                let want = (reported & r.events, count);
                let got = delivered.get(id).copied().unwrap_or((Events::NONE, 0));
                assert_eq!(got, want, "fd {}: lost events", r.fd);
            }
        }
    }
}

fn run_n<const N: usize>(c: &mut Cursor) {
    let mut d = Driver::<N>::new();
    for _ in 0..32 {
        if c.done() {
            break;
        }
        d.round(c);
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut c = Cursor::new(data);
    match c.byte() % 4 {
        0 => run_n::<1>(&mut c),
        1 => run_n::<2>(&mut c),
        2 => run_n::<5>(&mut c),
        _ => run_n::<16>(&mut c),
    }
}
