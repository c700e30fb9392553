//! Target `selector_ops`: arbitrary sequences of register / modify /
//! unregister / get_key / select(0) / close on real fds, on each of the three
//! real backends, checked against a plain model of Python's `selectors`
//! semantics: same results, same errors (closed, invalid events, bad fd,
//! already / not registered, full, then the backend's own), and `select(0)`
//! hands out exactly the `(key, events)` the model knows to be ready. Its
//! return value is the number of fds the kernel reported; here that is also
//! the number handed out (the kernel reports only watched fds, once each,
//! and an error or hang-up bit maps to both sides, so masking by the
//! interest never empties a report).
//!
//! The fds are a few channels (socket pairs and pipes) with non-blocking
//! ends. Between selector calls the input writes a byte toward an end
//! (readable), drains an end, closes one end (the other then sees hang-up,
//! or `EPOLLERR` for a pipe's write end), and closes whole channels, with or
//! without unregistering first, and opens new ones, which reuse the numbers.
//! Registering a closed number, a number past `FD_SETSIZE`, or a number
//! that now names another file is part of the game; the model knows what
//! each backend does then:
//! - select: `FdOutOfRange` at register past 1024; `select()` fails with
//!   `EBADF` while a registered number is closed; readiness is that of
//!   whatever file the number names now;
//! - poll: a closed number reports `POLLNVAL`, i.e. READ|WRITE as
//!   registered; otherwise as select, except that a pipe's read end whose
//!   writer is gone reports `POLLHUP`, which maps to WRITE as well;
//! - epoll: register (and a modify that must re-add) fails with `EBADF` for
//!   a closed number; the kernel forgets a closed file, so a registration
//!   whose file was closed reports nothing (even if the number is reused)
//!   until a modify of its events re-adds the number's new file.

use crate::cursor::Cursor;
use picosel::backend::{Backend, Epoll, Poll, Select};
use picosel::{Errno, Error, Events, Key, Limit, RawFd, Selector};
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

const N: usize = 6;
const CHANNELS: usize = 4;
/// Bytes in flight toward one end, kept small so that writers stay writable.
const MAX_PENDING: usize = 16;
/// Numbers that are never open here: below and past `FD_SETSIZE`.
const UNOPENED: [RawFd; 2] = [1000, 1500];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Which {
    Select,
    Poll,
    Epoll,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Socket,
    PipeRead,
    PipeWrite,
}

/// One end of a channel.
struct End {
    fd: Option<OwnedFd>,
    /// Its number (still known after it is closed).
    number: RawFd,
    /// A process-unique id of the open file, for epoll's view.
    file: u64,
    role: Role,
    /// Bytes written toward this end and not read yet.
    pending: usize,
}

struct Channel {
    ends: [End; 2],
}

struct Files {
    next: u64,
}

impl Files {
    fn end(&mut self, fd: OwnedFd, role: Role) -> End {
        self.next += 1;
        End { number: fd.as_raw_fd(), fd: Some(fd), file: self.next, role, pending: 0 }
    }

    fn channel(&mut self, kind: u8) -> Channel {
        let mut fds = [0; 2];
        let (roles, ok) = if kind % 3 == 0 {
            let ty = libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK;
            // SAFETY: `fds` has room for the two descriptors socketpair writes.
            let rc = unsafe { libc::socketpair(libc::AF_UNIX, ty, 0, fds.as_mut_ptr()) };
            ([Role::Socket, Role::Socket], rc == 0)
        } else {
            // SAFETY: `fds` has room for the two descriptors pipe2 writes.
            let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) };
            ([Role::PipeRead, Role::PipeWrite], rc == 0)
        };
        assert!(ok, "socketpair/pipe2: {}", std::io::Error::last_os_error());
        // SAFETY: both are fresh descriptors that we now own.
        let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let (a, b) = (self.end(a, roles[0]), self.end(b, roles[1]));
        // Pipes come either way round, so that either role lands on end 0.
        if kind % 3 == 2 { Channel { ends: [b, a] } } else { Channel { ends: [a, b] } }
    }
}

/// A registration in the model. `watched`: the open file epoll's kernel
/// side watches for it (`None` once that file was closed).
#[derive(Clone, Copy, Debug)]
struct Reg {
    key: Key<u32>,
    watched: Option<u64>,
}

/// Python's selectors semantics over a map, plus what the model knows of
/// the kernel: the reference.
struct Model {
    which: Which,
    regs: BTreeMap<RawFd, Reg>,
    closed: bool,
}

impl Model {
    fn open_end(pool: &[Channel], number: RawFd) -> Option<(&End, &End)> {
        pool.iter().find_map(|ch| {
            let [a, b] = &ch.ends;
            if a.fd.is_some() && a.number == number {
                Some((a, b))
            } else if b.fd.is_some() && b.number == number {
                Some((b, a))
            } else {
                None
            }
        })
    }

    fn check(&self, fd: RawFd, events: Option<Events>) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        if let Some(ev) = events {
            if !ev.is_valid() {
                return Err(Error::InvalidEvents { bits: ev.bits() });
            }
        }
        if fd < 0 {
            return Err(Error::BadFd { fd });
        }
        Ok(())
    }

    fn register(
        &mut self,
        pool: &[Channel],
        fd: RawFd,
        events: Events,
        data: u32,
    ) -> Result<Key<u32>, Error> {
        self.check(fd, Some(events))?;
        if self.regs.contains_key(&fd) {
            return Err(Error::AlreadyRegistered { fd });
        }
        if self.regs.len() >= N {
            return Err(Error::Full { what: Limit::Fds, capacity: N });
        }
        let open = Self::open_end(pool, fd).map(|(e, _)| e.file);
        match self.which {
            Which::Select if fd >= 1024 => return Err(Error::FdOutOfRange { fd, limit: 1024 }),
            Which::Epoll if open.is_none() => return Err(Error::Os(Errno::EBADF)),
            _ => {}
        }
        let key = Key { fd, events, data };
        self.regs.insert(fd, Reg { key, watched: open });
        Ok(key)
    }

    fn unregister(&mut self, fd: RawFd) -> Result<Key<u32>, Error> {
        self.check(fd, None)?;
        self.regs.remove(&fd).map(|r| r.key).ok_or(Error::NotRegistered { fd })
    }

    fn modify(
        &mut self,
        pool: &[Channel],
        fd: RawFd,
        events: Events,
        data: u32,
    ) -> Result<Key<u32>, Error> {
        self.check(fd, Some(events))?;
        let reg = self.regs.get_mut(&fd).ok_or(Error::NotRegistered { fd })?;
        if self.which == Which::Epoll && reg.key.events != events && reg.watched.is_none() {
            // EPOLL_CTL_MOD fails (ENOENT), so the selector ADDs the number's
            // current file; with the number closed, both fail with EBADF
            // and the fd is unregistered, as CPython does.
            match Self::open_end(pool, fd) {
                Some((e, _)) => reg.watched = Some(e.file),
                None => {
                    self.regs.remove(&fd);
                    return Err(Error::Os(Errno::EBADF));
                }
            }
        }
        reg.key.events = events;
        reg.key.data = data;
        Ok(reg.key)
    }

    fn get_key(&self, fd: RawFd) -> Result<Key<u32>, Error> {
        self.check(fd, None)?;
        self.regs.get(&fd).map(|r| r.key).ok_or(Error::NotRegistered { fd })
    }

    /// A file was closed: epoll's kernel side forgets it.
    fn closed_file(&mut self, file: u64) {
        for reg in self.regs.values_mut() {
            if reg.watched == Some(file) {
                reg.watched = None;
            }
        }
    }

    /// What the kernel reports for an open end, before masking.
    fn readiness(&self, end: &End, peer: &End) -> Events {
        let readable = if end.pending > 0 { Events::READ } else { Events::NONE };
        match (end.role, peer.fd.is_some()) {
            (Role::Socket, true) => readable | Events::WRITE,
            (Role::PipeRead, true) => readable,
            (Role::PipeWrite, true) => Events::WRITE,
            // Hang-up: POLLHUP|POLLIN, plus POLLOUT (the send buffer is free).
            (Role::Socket, false) => Events::BOTH,
            // POLLHUP: select counts it as readable only.
            (Role::PipeRead, false) if self.which == Which::Select => Events::READ,
            (Role::PipeRead, false) => Events::BOTH,
            // POLLERR|POLLOUT.
            (Role::PipeWrite, false) => Events::BOTH,
        }
    }

    /// The expected result of `select(0)`.
    fn select(&self, pool: &[Channel]) -> Result<BTreeMap<RawFd, (Key<u32>, Events)>, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let mut want = BTreeMap::new();
        for (&fd, reg) in &self.regs {
            let ready = match (self.which, Self::open_end(pool, fd)) {
                (Which::Select, None) => return Err(Error::Os(Errno::EBADF)),
                (Which::Poll, None) => Events::BOTH, // POLLNVAL
                (Which::Epoll, Some((end, peer))) if reg.watched == Some(end.file) => {
                    self.readiness(end, peer)
                }
                (Which::Epoll, _) => Events::NONE,
                (_, Some((end, peer))) => self.readiness(end, peer),
            };
            let ready = ready & reg.key.events;
            if !ready.is_empty() {
                want.insert(fd, (reg.key, ready));
            }
        }
        Ok(want)
    }
}

fn write_byte(fd: &OwnedFd) {
    // SAFETY: writes one byte from a valid buffer to an fd we own.
    let n = unsafe { libc::write(fd.as_raw_fd(), b"x".as_ptr().cast(), 1) };
    assert_eq!(n, 1, "write: {}", std::io::Error::last_os_error());
}

fn drain(end: &mut End) {
    let Some(fd) = &end.fd else { return };
    let mut buf = [0u8; 64];
    while end.pending > 0 {
        // SAFETY: reads into a valid buffer of the given length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        assert!(n > 0, "read: {n} {}", std::io::Error::last_os_error());
        end.pending -= (n as usize).min(end.pending);
    }
}

struct Run<B: Backend<N>> {
    sel: Selector<u32, N, B>,
    model: Model,
    pool: Vec<Channel>,
    files: Files,
}

impl<B: Backend<N>> Run<B> {
    fn pick_fd(&self, c: &mut Cursor) -> RawFd {
        let b = c.byte();
        match b % 32 {
            0 => -1 - RawFd::from(b >> 6),
            1 => UNOPENED[usize::from(b >> 7)],
            _ => {
                let ch = &self.pool[c.below(CHANNELS)];
                ch.ends[usize::from(b >> 7)].number
            }
        }
    }

    fn pick_events(c: &mut Cursor) -> Events {
        let b = c.byte();
        Events::from_bits_retain(match b % 16 {
            0..=12 => 1 + b % 3,
            13 => 0,
            14 => 4 | (b >> 4),
            _ => c.byte(),
        })
    }

    fn close_end(&mut self, ch: usize, end: usize) {
        let e = &mut self.pool[ch].ends[end];
        if e.fd.take().is_some() {
            e.pending = 0;
            let file = e.file;
            self.model.closed_file(file);
        }
    }

    fn step(&mut self, c: &mut Cursor) {
        let op = c.byte();
        let (ch, end) = (c.below(CHANNELS), usize::from(op >> 7));
        match op % 16 {
            0..=3 => {
                let (fd, ev, data) = (self.pick_fd(c), Self::pick_events(c), u32::from(c.byte()));
                let want = self.model.register(&self.pool, fd, ev, data);
                assert_eq!(self.sel.register(fd, ev, data), want, "register({fd}, {ev:?})");
            }
            4 | 5 => {
                let fd = self.pick_fd(c);
                assert_eq!(self.sel.unregister(fd), self.model.unregister(fd), "unregister({fd})");
            }
            6 | 7 => {
                let (fd, ev, data) = (self.pick_fd(c), Self::pick_events(c), u32::from(c.byte()));
                let want = self.model.modify(&self.pool, fd, ev, data);
                assert_eq!(self.sel.modify(fd, ev, data), want, "modify({fd}, {ev:?})");
            }
            8 => {
                let fd = self.pick_fd(c);
                assert_eq!(self.sel.get_key(fd), self.model.get_key(fd), "get_key({fd})");
            }
            9 => {
                // A byte toward `end`, if it can be read there.
                let [a, b] = &mut self.pool[ch].ends;
                let (to, from) = if end == 0 { (a, b) } else { (b, a) };
                if let (Some(_), Some(w)) = (&to.fd, &from.fd) {
                    if to.role != Role::PipeWrite && to.pending < MAX_PENDING {
                        write_byte(w);
                        to.pending += 1;
                    }
                }
            }
            10 => drain(&mut self.pool[ch].ends[end]),
            11 => self.close_end(ch, end),
            12 => {
                // A new channel in place of this one, unregistering its open
                // ends first (as documented) or not (numbers then dangle).
                if c.byte() & 1 == 0 {
                    for e in &self.pool[ch].ends {
                        if e.fd.is_some() {
                            let _ = self.sel.unregister(e.number);
                            let _ = self.model.unregister(e.number);
                        }
                    }
                }
                self.close_end(ch, 0);
                self.close_end(ch, 1);
                self.pool[ch] = self.files.channel(c.byte());
            }
            13 if c.byte() % 8 == 0 => {
                self.sel.close();
                self.model.closed = true;
                self.model.regs.clear();
            }
            _ => self.select(),
        }
        let keys: BTreeMap<RawFd, Key<u32>> = self.sel.keys().map(|k| (k.fd, k)).collect();
        let want: BTreeMap<RawFd, Key<u32>> =
            self.model.regs.iter().map(|(&fd, r)| (fd, r.key)).collect();
        assert_eq!(keys, want, "keys() on {}", self.sel.backend_name());
        assert_eq!(self.sel.len(), self.model.regs.len());
        assert_eq!(self.sel.is_closed(), self.model.closed);
    }

    fn select(&mut self) {
        let want = self.model.select(&self.pool);
        let got = self.sel.select(Some(Duration::ZERO)).map(|n| {
            let mut got = BTreeMap::new();
            while let Some((key, events)) = self.sel.next_ready() {
                assert!(got.insert(key.fd, (key, events)).is_none(), "fd {} twice", key.fd);
            }
            // The kernel's count: here equal to what is handed out.
            assert_eq!(got.len(), n, "select's count (fds the kernel reported)");
            got
        });
        assert_eq!(got, want, "select(0) on {}", self.sel.backend_name());
        assert_eq!(self.sel.next_ready(), None);
    }
}

/// `select(2)` only reports `EBADF` for closed fds below the size of the
/// process's fd table (it ignores the bits past it), and the table grows
/// but never shrinks: make it cover the unopened numbers, once.
fn grow_fd_table() {
    static GROWN: std::sync::Once = std::sync::Once::new();
    GROWN.call_once(|| {
        let top = UNOPENED[0] + 8;
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes; the
        // copy onto `top` (unused: the numbers here stay low) and both ends
        // are closed again at once.
        unsafe {
            assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
            let rc = libc::dup2(fds[0], top);
            let err = std::io::Error::last_os_error();
            for fd in [fds[0], fds[1], top] {
                libc::close(fd);
            }
            assert_eq!(rc, top, "dup2 to {top}: {err}");
        }
    });
}

fn run_on<B: Backend<N>>(which: Which, data: &[u8]) {
    grow_fd_table();
    let mut c = Cursor::new(data);
    let mut files = Files { next: 0 };
    let pool: Vec<Channel> = (0..CHANNELS).map(|i| files.channel(i as u8)).collect();
    let mut sel: Selector<u32, N, B> = Selector::new();
    // The epoll fd now, so that it never takes a number a channel frees.
    sel.open().expect("open");
    let model = Model { which, regs: BTreeMap::new(), closed: false };
    let mut run = Run { sel, model, pool, files };
    for _ in 0..256 {
        if c.done() {
            break;
        }
        run.step(&mut c);
    }
    // Unregister-before-close for whatever is left (the pool drops next).
    run.sel.close();
}

/// Runs one input on every backend.
pub fn run(data: &[u8]) {
    run_on::<Select>(Which::Select, data);
    run_on::<Poll<N>>(Which::Poll, data);
    run_on::<Epoll<N>>(Which::Epoll, data);
}
