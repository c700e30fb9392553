//! Target `dispatch`: picosel's real one-pass hand-out code (each backend's
//! `next` and `Selector::next_ready`) over fabricated kernel output, with
//! registrations changed in the middle of the batch. No system call is made.
//!
//! The input's first byte picks the capacity (1, 2, 5 or 16) and the backend
//! for the whole run: epoll, poll or select. The selector sits on [`Fake`],
//! which embeds the *real* backend of that kind. For poll and select the
//! Fake passes add/modify/remove on to the real `Poll<N>`/`Select` (they
//! make no system call there) and writes each wait's output with their
//! `fuzz_output` hooks; for epoll it models the kernel's interest list
//! itself (`EEXIST` takeover of an entry whose `EPOLL_CTL_DEL` failed, a
//! "zombie" that keeps reporting its old tag meanwhile) and fills the real
//! `Epoll<N>`'s buffer with `fuzz_output`. Rounds of register / unregister /
//! modify / get_key on fd numbers `0..2048` (with injected backend errors)
//! are followed by one `select()`, whose waits the input scripts: interrupted
//! (`EINTR`) or failing after filling the buffer with reports for everything,
//! then one output: epoll events naming live, zombie, stale, neighbouring
//! generation, out-of-range or random tags with any bits; any `revents`
//! (`POLLNVAL`/`POLLERR`/`POLLHUP` ...) on each `pollfd`; `fd_set`s with bits
//! for unregistered fds and past `nfds`. An empty output with time left makes
//! the selector wait again; that second wait fails. The batch is then
//! consumed with `next_ready`, changing registrations (and re-registering
//! the same fd numbers) between reports.
//!
//! Checked, besides "never panics":
//! - every operation's result equals a plain model's (Python's error order);
//!   `keys()`, `len()`, each registration's tag (`fuzz_tag`) and what the
//!   backend was told (add/modify/remove with the registration's tag, every
//!   tag new) agree;
//! - `select()` waits again exactly after an `EINTR` or an empty output with
//!   time left (with the time left), and returns what the last wait said:
//!   the number of entries its output has (epoll: events stored; poll:
//!   `pollfd`s with non-zero `revents`; select: fds in either set), 0, or
//!   the error;
//! - every `(key, events)` from `next_ready` is the fd's live registration
//!   at that moment (`get_key(fd) == key`), `events` is non-empty, within
//!   its *current* interest and within what the output's entries for that
//!   registration map to (CPython's mapping). Not "within its interest at
//!   wait time": reports are masked when handed out, so a modify mid-batch
//!   that widens the interest may see the other side of an error or
//!   hang-up bit (`POLLHUP` maps to READ|WRITE);
//! - it comes from an entry made for *that* registration, which existed at
//!   wait time (never one made mid-batch, even under the same fd number and
//!   slot): an epoll event with its tag, its `pollfd`, its fd's bit below
//!   `nfds`. The one exception is an epoll tag the fake kernel invented
//!   that happens to be the tag of a registration made later (a random or
//!   next-generation value): the kernel was never given it (every tag the
//!   table hands out is new, checked at `add`), so it is no stale report;
//! - no more deliveries than such entries, and the backends' own rule: poll
//!   reports only registrations live now and at the wait, select no fd of a
//!   registration made after the wait and none at or past `nfds`;
//! - nothing is lost: a registration left alone during the batch receives
//!   exactly the mapped, masked events of each of its entries;
//! - an interrupted or failed wait delivers nothing.

use crate::cursor::Cursor;
use picosel::backend::AnyBackend;
use picosel::fuzzing::{FD_SETSIZE, FdSet, RawBackend, Report, Tag, map_bits};
use picosel::{Errno, Error, Events, Key, Limit, RawFd, Selector};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// fd numbers range over `0..MAX_FD` (past `FD_SETSIZE` on purpose).
const MAX_FD: usize = 2048;
const WORD_BITS: usize = libc::c_ulong::BITS as usize;
const WORDS: usize = FD_SETSIZE / WORD_BITS;
/// What a wait fails with when the selector waits again after the
/// script's output (empty, with time left): the fake kernel has no more.
const NO_MORE: Errno = Errno::ETIMEDOUT;

const EPOLLIN: u32 = libc::EPOLLIN as u32;
const EPOLLOUT: u32 = libc::EPOLLOUT as u32;
const POLLIN: u32 = libc::POLLIN as u16 as u32;
const POLLOUT: u32 = libc::POLLOUT as u16 as u32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Epoll,
    Poll,
    Select,
}

/// What the fake kernel wrote at the wait that answered.
#[derive(Clone, Default)]
#[allow(clippy::large_enum_variant)]
enum Output {
    #[default]
    None,
    /// The `(events, data)` stored in `Epoll`'s buffer (at most `N`).
    Epoll(Vec<(u32, u64)>),
    /// `(fd, revents)` of each `pollfd`, in array order.
    Poll(Vec<(RawFd, i16)>),
    /// The output sets, and the `nfds` the backend scans below.
    Select(FdSet, FdSet, i32),
}

/// What one call of the Fake's `wait` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Filled the buffer, then `EINTR`.
    Eintr,
    /// Filled the buffer, then this error.
    Failed(Errno),
    /// Wrote the script's output: this many entries.
    Reported(usize),
}

/// A backend whose kernel is the fuzz input, around the real backend of the
/// run's kind. It also checks that the selector drives it consistently.
struct Fake<const N: usize> {
    real: AnyBackend<N>,
    /// Input bytes for the next wait's output.
    script: Vec<u8>,
    /// Waits to interrupt (after filling the buffer) before answering.
    eintrs: u8,
    /// Injected failures, consumed by the next call of that kind.
    fail_wait: Option<Errno>,
    fail_add: Option<Error>,
    fail_modify: Option<Error>,
    fail_remove: bool,
    /// Whether this select() already had its output.
    answered: bool,
    /// What the selector has added: fd -> (tag, events).
    added: BTreeMap<RawFd, (Tag, Events)>,
    /// epoll: the kernel's interest list, fd -> data (a tag). Keeps the
    /// entry of a registration whose `EPOLL_CTL_DEL` failed until the fd
    /// is added again.
    kernel: BTreeMap<RawFd, u64>,
    /// Every tag the selector passed to `add`, in order, and as a set.
    tags: Vec<u64>,
    tag_set: BTreeSet<u64>,
    /// The last successful add.
    last_add: Option<(RawFd, Tag)>,
    /// This select()'s waits: the timeout each was given, and what it did.
    calls: Vec<(Option<Duration>, Outcome)>,
    /// The answering wait's output and `added` at that moment; `batch` is
    /// false while no answered output may be handed out.
    output: Output,
    at_wait: BTreeMap<RawFd, Tag>,
    batch: bool,
}

impl<const N: usize> Fake<N> {
    const fn blank(real: AnyBackend<N>) -> Self {
        Fake {
            real,
            script: Vec::new(),
            eintrs: 0,
            fail_wait: None,
            fail_add: None,
            fail_modify: None,
            fail_remove: false,
            answered: false,
            added: BTreeMap::new(),
            kernel: BTreeMap::new(),
            tags: Vec::new(),
            tag_set: BTreeSet::new(),
            last_add: None,
            calls: Vec::new(),
            output: Output::None,
            at_wait: BTreeMap::new(),
            batch: false,
        }
    }

    fn mode(&self) -> Mode {
        match self.real {
            AnyBackend::Epoll(_) => Mode::Epoll,
            AnyBackend::Poll(_) => Mode::Poll,
            AnyBackend::Select(_) => Mode::Select,
        }
    }

    /// A buffer full of reports for everything, which the selector must
    /// throw away (the wait is then interrupted or fails).
    fn fill_all(&mut self) {
        let all = libc::c_ulong::MAX;
        match &mut self.real {
            AnyBackend::Epoll(e) => {
                let bits = EPOLLIN | EPOLLOUT | libc::EPOLLERR as u32 | libc::EPOLLHUP as u32;
                e.fuzz_output(self.kernel.values().map(|&data| (bits, data)));
            }
            AnyBackend::Poll(p) => {
                p.fuzz_output(|_| libc::POLLIN | libc::POLLOUT | libc::POLLERR);
            }
            AnyBackend::Select(s) => {
                s.fuzz_output(FdSet::from_words([all; WORDS]), FdSet::from_words([all; WORDS]));
            }
        }
        self.output = Output::None;
        self.batch = false;
    }

    /// Writes the script's output into the real backend's buffer; returns
    /// its entry count.
    fn answer(&mut self, c: &mut Cursor) -> usize {
        self.at_wait = self.added.iter().map(|(&fd, &(tag, _))| (fd, tag)).collect();
        self.batch = true;
        let (output, n) = match self.mode() {
            Mode::Epoll => {
                let mut events = self.fabricate_epoll(c);
                let AnyBackend::Epoll(e) = &mut self.real else { unreachable!() };
                let n = e.fuzz_output(events.iter().copied());
                assert_eq!(n, events.len().min(N), "epoll stores at most N events");
                events.truncate(n);
                (Output::Epoll(events), n)
            }
            Mode::Poll => {
                let AnyBackend::Poll(p) = &mut self.real else { unreachable!() };
                let mut entries = Vec::new();
                let n = p.fuzz_output(|fd| {
                    let revents = if c.byte() % 4 == 0 { 0 } else { bits(c, POLLIN, POLLOUT) };
                    let revents = revents as u16 as i16;
                    entries.push((fd, revents));
                    revents
                });
                // The array is the registrations, once each, holes compacted.
                let mut fds: Vec<RawFd> = entries.iter().map(|e| e.0).collect();
                fds.sort_unstable();
                let want: Vec<RawFd> = self.added.keys().copied().collect();
                assert_eq!(fds, want, "poll's array is not the registrations");
                assert_eq!(n, entries.iter().filter(|e| e.1 != 0).count());
                (Output::Poll(entries), n)
            }
            Mode::Select => {
                let (r, w, nfds) = self.fabricate_select(c);
                let AnyBackend::Select(s) = &mut self.real else { unreachable!() };
                let n = s.fuzz_output(r, w);
                (Output::Select(r, w, nfds), n)
            }
        };
        self.output = output;
        n
    }

    fn fabricate_epoll(&self, c: &mut Cursor) -> Vec<(u32, u64)> {
        // Live and zombie entries of the kernel's list.
        let live: Vec<u64> = self.kernel.values().copied().collect();
        let n = c.below(2 * N + 2);
        let mut events = Vec::with_capacity(n);
        for _ in 0..n {
            let b = bits(c, EPOLLIN, EPOLLOUT);
            let token = match c.byte() % 7 {
                0..=2 if !live.is_empty() => live[c.below(live.len())],
                // Any tag ever added: removed, refused, or live.
                3 if !self.tags.is_empty() => self.tags[c.below(self.tags.len())],
                4 if !live.is_empty() => {
                    // A live slot at a neighbouring generation.
                    let t = Tag::from_u64(live[c.below(live.len())]);
                    let delta = [1u32, u32::MAX, 2][c.below(3)];
                    Tag { slot: t.slot, generation: t.generation.wrapping_add(delta) }.to_u64()
                }
                5 => Tag { slot: (N + c.below(3)) as u32, generation: u32::from(c.byte() % 3) }
                    .to_u64(),
                _ => c.u64(),
            };
            events.push((b, token));
        }
        events
    }

    fn fabricate_select(&self, c: &mut Cursor) -> (FdSet, FdSet, i32) {
        let (mut r, mut w) = (FdSet::new(), FdSet::new());
        // What the backend scans below: one past the highest watched fd.
        let nfds = self.added.keys().next_back().map_or(0, |&fd| fd + 1);
        for &fd in self.added.keys() {
            let m = c.byte();
            if m & 1 != 0 {
                r.insert(fd);
            }
            if m & 2 != 0 {
                w.insert(fd);
            }
        }
        for _ in 0..c.below(4) {
            let fd = match c.byte() % 3 {
                0 => c.below(FD_SETSIZE) as RawFd,
                // At or just past nfds.
                1 => nfds + c.below(70) as RawFd,
                _ => c.below(2 * N + 2) as RawFd,
            };
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
                // (An assignment evaluates its right side first.)
                let (set, word) = (c.below(2), c.below(WORDS));
                words[set][word] = c.u64() as libc::c_ulong;
            }
            r = r.union(&FdSet::from_words(words[0]));
            w = w.union(&FdSet::from_words(words[1]));
        }
        (r, w, nfds)
    }
}

impl<const N: usize> RawBackend<N> for Fake<N> {
    const NAME: &'static str = "fake";
    const INIT: Self = Fake::blank(AnyBackend::epoll());

    fn name(&self) -> &'static str {
        self.real.name()
    }

    fn open(&mut self) -> Result<(), Errno> {
        // Never the real epoll's: no system call.
        Ok(())
    }

    fn add(&mut self, fd: RawFd, tag: Tag, ev: Events) -> Result<(), Error> {
        assert!(fd >= 0 && (tag.slot as usize) < N && ev.is_valid(), "add({fd}, {tag:?}, {ev:?})");
        assert!(!self.added.contains_key(&fd), "add of fd {fd}, which is added already");
        // A tag handed out twice would let a report of its first holder
        // reach the second.
        assert!(self.tag_set.insert(tag.to_u64()), "add({fd}): tag {tag:?} was used before");
        self.tags.push(tag.to_u64());
        if let Some(e) = self.fail_add.take() {
            return Err(e);
        }
        match &mut self.real {
            // EPOLL_CTL_ADD, or for a zombie EEXIST then EPOLL_CTL_MOD: the
            // kernel's entry for the fd carries the new tag either way.
            AnyBackend::Epoll(_) => {
                self.kernel.insert(fd, tag.to_u64());
            }
            real => RawBackend::<N>::add(real, fd, tag, ev)?,
        }
        self.added.insert(fd, (tag, ev));
        self.last_add = Some((fd, tag));
        Ok(())
    }

    fn modify(&mut self, fd: RawFd, tag: Tag, ev: Events) -> Result<(), Error> {
        let Some(entry) = self.added.get_mut(&fd) else {
            panic!("modify of fd {fd}, which is not added");
        };
        assert_eq!(entry.0, tag, "modify({fd}) names another registration");
        assert!(ev.is_valid() && ev != entry.1, "modify({fd}, {ev:?}) changes nothing");
        if let Some(e) = self.fail_modify.take() {
            return Err(e);
        }
        match &mut self.real {
            // EPOLL_CTL_MOD (or, after ENOENT, EPOLL_CTL_ADD).
            AnyBackend::Epoll(_) => {
                self.kernel.insert(fd, tag.to_u64());
            }
            real => RawBackend::<N>::modify(real, fd, tag, ev)?,
        }
        entry.1 = ev;
        Ok(())
    }

    fn remove(&mut self, fd: RawFd, tag: Tag) -> Result<(), Errno> {
        let Some((t, _)) = self.added.remove(&fd) else {
            panic!("remove of fd {fd}, which is not added");
        };
        assert_eq!(t, tag, "remove({fd}) names another registration");
        let fail = std::mem::take(&mut self.fail_remove);
        match &mut self.real {
            AnyBackend::Epoll(_) => {
                if fail {
                    // EPOLL_CTL_DEL failed: the kernel keeps reporting the
                    // old tag (the selector ignores the error).
                    return Err(Errno::ENOMEM);
                }
                self.kernel.remove(&fd);
            }
            real => {
                let name = real.name();
                let res = RawBackend::<N>::remove(real, fd, tag);
                res.unwrap_or_else(|e| panic!("{name}: remove({fd}, {tag:?}): {e:?}"));
                if fail {
                    return Err(Errno::EBADF);
                }
            }
        }
        Ok(())
    }

    fn wait(&mut self, timeout: Option<Duration>) -> Result<usize, Errno> {
        let outcome = if self.eintrs > 0 {
            self.eintrs -= 1;
            self.fill_all();
            Outcome::Eintr
        } else if let Some(e) = self.fail_wait.take() {
            self.fill_all();
            Outcome::Failed(e)
        } else if !self.answered {
            self.answered = true;
            let script = std::mem::take(&mut self.script);
            Outcome::Reported(self.answer(&mut Cursor::new(&script)))
        } else {
            self.fill_all();
            Outcome::Failed(NO_MORE)
        };
        self.calls.push((timeout, outcome));
        match outcome {
            Outcome::Eintr => Err(Errno::EINTR),
            Outcome::Failed(e) => Err(e),
            Outcome::Reported(n) => Ok(n),
        }
    }

    fn next(&mut self) -> Option<Report> {
        let report = RawBackend::<N>::next(&mut self.real)?;
        assert!(
            self.batch,
            "{report:?}: a report of an interrupted or failed wait, or after close"
        );
        // The backend's rule: no report for a registration removed since
        // the wait or made after it (epoll's are checked by the selector).
        match (report, &self.output) {
            (Report::Tag(tag, _), Output::Poll(_)) => {
                let fd = self.at_wait.iter().find(|e| *e.1 == tag).map(|e| *e.0);
                let Some(fd) = fd else { panic!("poll reported {tag:?}, not there at the wait") };
                let live = self.added.get(&fd).is_some_and(|e| e.0 == tag);
                assert!(live, "poll reported {tag:?} (fd {fd}), removed since the wait");
            }
            (Report::Fd(fd, ev), Output::Select(r, w, nfds)) => {
                assert!(fd >= 0 && fd < *nfds, "select reported fd {fd}, not below nfds {nfds}");
                assert!(!ev.is_empty(), "select reported fd {fd} with no events");
                assert!(!ev.is_readable() || r.contains(fd), "select: fd {fd} READ not reported");
                assert!(!ev.is_writable() || w.contains(fd), "select: fd {fd} WRITE not reported");
                if let Some((tag, _)) = self.added.get(&fd) {
                    let then = self.at_wait.get(&fd);
                    assert_eq!(
                        then,
                        Some(tag),
                        "select reported fd {fd}, registered since the wait"
                    );
                }
            }
            (Report::Tag(..), Output::Epoll(_)) => {}
            (r, _) => panic!("{r:?} from the {} backend", self.real.name()),
        }
        Some(report)
    }

    fn clear(&mut self) {
        RawBackend::<N>::clear(&mut self.real);
        self.batch = false;
    }

    fn close(&mut self) {
        match &mut self.real {
            AnyBackend::Epoll(e) => RawBackend::<N>::clear(e),
            real => RawBackend::<N>::close(real),
        }
        self.added.clear();
        self.kernel.clear();
        self.batch = false;
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

/// One live registration as the driver knows it.
#[derive(Clone, Copy, Debug)]
struct Reg {
    fd: RawFd,
    events: Events,
    data: u32,
    tag: Tag,
}

/// What the output says for one registration: the union of its entries'
/// mapped events and their number; the same masked by an interest.
#[derive(Clone, Copy, Debug, Default)]
struct Said {
    reported: Events,
    entries: usize,
    masked: Events,
    masked_entries: usize,
}

/// The entries of `output` made for registration `r` (which, for poll and
/// select, must have existed at the wait), masked by `interest`.
fn said(output: &Output, r: &Reg, interest: Events) -> Said {
    let mut s = Said::default();
    let mut note = |ev: Events| {
        if !ev.is_empty() {
            s.reported |= ev;
            s.entries += 1;
        }
        if !(ev & interest).is_empty() {
            s.masked |= ev & interest;
            s.masked_entries += 1;
        }
    };
    match output {
        Output::None => {}
        Output::Epoll(events) => {
            for &(b, _) in events.iter().filter(|e| e.1 == r.tag.to_u64()) {
                note(map_bits(b, EPOLLIN, EPOLLOUT));
            }
        }
        Output::Poll(entries) => {
            for &(fd, revents) in entries {
                if fd == r.fd {
                    note(map_bits(revents as u16 as u32, POLLIN, POLLOUT));
                }
            }
        }
        Output::Select(rs, ws, nfds) => {
            if r.fd < *nfds {
                let mut ev = Events::NONE;
                if rs.contains(r.fd) {
                    ev |= Events::READ;
                }
                if ws.contains(r.fd) {
                    ev |= Events::WRITE;
                }
                note(ev);
            }
        }
    }
    s
}

/// The driver: the selector, a model of it, and the bookkeeping that
/// attributes kernel entries to registrations.
struct Driver<const N: usize> {
    sel: Selector<u32, N, Fake<N>>,
    mode: Mode,
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
    fn new(mode: Mode) -> Self {
        let real = match mode {
            Mode::Epoll => AnyBackend::epoll(),
            Mode::Poll => AnyBackend::poll(),
            Mode::Select => AnyBackend::select(),
        };
        Driver {
            sel: Selector::with_backend(Fake::blank(real)),
            mode,
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

    fn fake(&mut self) -> &mut Fake<N> {
        self.sel.fuzz_backend()
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
            return Err(Error::BadFd { fd });
        }
        let reg = self.by_fd.get(&fd).ok_or(Error::NotRegistered { fd })?;
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
    /// False: leave the rest of the batch unconsumed.
    fn op(&mut self, c: &mut Cursor, mid_batch: bool) -> bool {
        let fd = self.pick_fd(c);
        match c.byte() % 16 {
            0..=5 => {
                let ev = Self::pick_events(c);
                let data = self.fresh_data();
                let inject = (c.byte() % 8 == 0).then(|| ERRORS[c.below(ERRORS.len())]);
                self.fake().fail_add = inject;
                self.fake().last_add = None;
                let want = match self.model_key(fd) {
                    Err(Error::Closed) => Err(Error::Closed),
                    _ if !ev.is_valid() => Err(Error::InvalidEvents { bits: ev.bits() }),
                    Err(Error::BadFd { fd }) => Err(Error::BadFd { fd }),
                    Ok(_) => Err(Error::AlreadyRegistered { fd }),
                    _ if self.by_fd.len() >= N => {
                        Err(Error::Full { what: Limit::Fds, capacity: N })
                    }
                    _ => match inject {
                        Some(e) => Err(e),
                        None if self.mode == Mode::Select && fd as usize >= FD_SETSIZE => {
                            Err(Error::FdOutOfRange { fd, limit: FD_SETSIZE as RawFd })
                        }
                        None => Ok(Key { fd, events: ev, data }),
                    },
                };
                let got = self.sel.register(fd, ev, data);
                assert_eq!(got, want, "register({fd}, {ev:?})");
                self.fake().fail_add = None;
                if got.is_ok() {
                    let added = self.fake().last_add.take();
                    let Some((afd, tag)) = added else { panic!("register({fd}) without add") };
                    assert_eq!(afd, fd);
                    let id = self.next_reg;
                    self.next_reg += 1;
                    self.by_fd.insert(fd, id);
                    self.regs.insert(id, Reg { fd, events: ev, data, tag });
                    self.reg_of.insert(data, id);
                }
            }
            6..=9 => {
                self.fake().fail_remove = c.byte() % 8 == 0;
                let want = self.model_key(fd);
                assert_eq!(self.sel.unregister(fd), want, "unregister({fd})");
                self.fake().fail_remove = false;
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
                self.fake().fail_modify = inject;
                let old = self.model_key(fd);
                let want = match (old, inject) {
                    (Err(Error::Closed), _) => Err(Error::Closed),
                    _ if !ev.is_valid() => Err(Error::InvalidEvents { bits: ev.bits() }),
                    (Err(e), _) => Err(e),
                    (Ok(k), Some(e)) if k.events != ev => Err(e),
                    (Ok(_), _) => Ok(Key { fd, events: ev, data }),
                };
                let got = self.sel.modify(fd, ev, data);
                assert_eq!(got, want, "modify({fd}, {ev:?})");
                self.fake().fail_modify = None;
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
                1..=5 if mid_batch => return false,
                _ => {}
            },
        }
        self.check_table();
        true
    }

    /// keys(), len(), the tags and the backend's registrations match the
    /// model.
    fn check_table(&mut self) {
        let keys: BTreeMap<RawFd, (Events, u32)> =
            self.sel.keys().map(|k| (k.fd, (k.events, k.data))).collect();
        let want: BTreeMap<RawFd, (Events, u32)> =
            self.regs.values().map(|r| (r.fd, (r.events, r.data))).collect();
        assert_eq!(keys, want, "keys()");
        assert_eq!(self.sel.len(), self.regs.len());
        assert_eq!(self.sel.is_empty(), self.regs.is_empty());
        assert_eq!(self.sel.is_closed(), self.closed);
        for r in self.regs.values() {
            assert_eq!(self.sel.fuzz_tag(r.fd), Some(r.tag), "tag of fd {}", r.fd);
        }
        for &fd in &self.fds {
            if !self.by_fd.contains_key(&fd) {
                assert_eq!(self.sel.fuzz_tag(fd), None, "tag of unregistered fd {fd}");
            }
        }
        let want: BTreeMap<RawFd, (Tag, Events)> =
            self.regs.values().map(|r| (r.fd, (r.tag, r.events))).collect();
        assert_eq!(self.fake().added, want, "the backend's registrations");
    }

    /// One `select()` and its batch.
    fn round(&mut self, c: &mut Cursor) {
        for _ in 0..c.below(10) {
            self.op(c, false);
        }
        let len = c.below(256);
        let script: Vec<u8> = (0..len).map(|_| c.byte()).collect();
        let flags = c.byte();
        let eintrs = if flags & 7 == 7 { 1 + (flags >> 5 & 1) } else { 0 };
        let fail = (flags & 0x18 == 0x18)
            .then(|| [Errno::EBADF, Errno::EINVAL, Errno::ENOMEM][c.below(3)]);
        let timeout = [Some(Duration::ZERO), None, Some(Duration::from_secs(10))][c.below(3)];
        {
            let fake = self.fake();
            fake.script = script;
            fake.eintrs = eintrs;
            fake.fail_wait = fail;
            fake.answered = false;
            fake.calls.clear();
        }
        let at_wait = self.regs.clone();
        self.touched.clear();
        let res = self.sel.select(timeout);
        let fake = self.fake();
        let calls = std::mem::take(&mut fake.calls);
        let output = fake.output.clone();
        (fake.eintrs, fake.fail_wait, fake.script) = (0, None, Vec::new());
        if self.closed {
            assert_eq!(res, Err(Error::Closed));
            assert!(calls.is_empty(), "a closed selector waited");
            assert_eq!(self.sel.next_ready(), None, "a closed selector delivered");
            return;
        }
        // Waited again exactly after EINTR or an empty output, with the
        // time left; the result is what the last wait said.
        let (Some(&(first, _)), Some(&(_, last))) = (calls.first(), calls.last()) else {
            panic!("select() did not wait");
        };
        assert_eq!(first, timeout, "the first wait's timeout");
        for pair in calls.windows(2) {
            let again = matches!(pair[0].1, Outcome::Eintr | Outcome::Reported(0));
            assert!(again, "waited again after {:?}", pair[0].1);
            match (timeout, pair[1].0) {
                (None, None) => {}
                (Some(t), Some(left)) if !left.is_zero() && left <= t && !t.is_zero() => {}
                (t, left) => panic!("waited again with {left:?} of {t:?}"),
            }
        }
        let want = match last {
            Outcome::Eintr | Outcome::Reported(0) => {
                assert_eq!(timeout, Some(Duration::ZERO), "gave up after {last:?} with time left");
                Ok(0)
            }
            Outcome::Reported(n) => Ok(n),
            Outcome::Failed(e) => Err(Error::Os(e)),
        };
        assert_eq!(res, want, "select({timeout:?}) after {calls:?}");
        if !matches!(last, Outcome::Reported(_)) {
            assert_eq!(self.sel.next_ready(), None, "an interrupted or failed wait delivered");
            return;
        }
        let said_then: BTreeMap<u32, Said> =
            at_wait.iter().map(|(&id, r)| (id, said(&output, r, r.events))).collect();
        let mut delivered: BTreeMap<u32, (Events, usize)> = BTreeMap::new();
        let mut drained = true;
        'batch: while let Some((key, ev)) = self.sel.next_ready() {
            // The fd's live registration, right now.
            assert_eq!(self.sel.get_key(key.fd), Ok(key), "delivered key is not current");
            assert_eq!(self.model_key(key.fd), Ok(key), "delivered key is not the model's");
            assert!(!ev.is_empty() && key.events.contains(ev), "{ev:?} not in {:?}", key.events);
            // ... which existed at wait time, and the output's entries for it.
            let id = self.reg_of[&key.data];
            let s = match at_wait.get(&id) {
                Some(_) => said_then[&id],
                None => {
                    let s = said(&output, &self.regs[&id], key.events);
                    // Only an epoll tag invented by the fake kernel that
                    // names this registration before it was made.
                    let invented = matches!(output, Output::Epoll(_)) && s.entries > 0;
                    assert!(invented, "fd {} registered mid-batch got an event of it", key.fd);
                    s
                }
            };
            assert!(s.reported.contains(ev), "fd {}: {ev:?} not reported ({s:?})", key.fd);
            let d = delivered.entry(id).or_insert((Events::NONE, 0));
            d.0 |= ev;
            d.1 += 1;
            assert!(d.1 <= s.entries, "fd {}: more deliveries than kernel entries", key.fd);
            for _ in 0..c.below(3) {
                if !self.op(c, true) {
                    drained = false;
                    break 'batch;
                }
            }
        }
        if drained {
            for (id, r) in &at_wait {
                if self.touched.contains(id) {
                    continue;
                }
                let s = said_then[id];
                let got = delivered.get(id).copied().unwrap_or((Events::NONE, 0));
                assert_eq!(got, (s.masked, s.masked_entries), "fd {}: lost events", r.fd);
            }
        }
    }
}

fn run_n<const N: usize>(c: &mut Cursor, mode: Mode) {
    let mut d = Driver::<N>::new(mode);
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
    let b = c.byte();
    let mode = [Mode::Epoll, Mode::Poll, Mode::Select][usize::from(b / 4 % 3)];
    match b % 4 {
        0 => run_n::<1>(&mut c, mode),
        1 => run_n::<2>(&mut c, mode),
        2 => run_n::<5>(&mut c, mode),
        _ => run_n::<16>(&mut c, mode),
    }
}
