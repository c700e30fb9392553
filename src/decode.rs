//! Kernel output to ready entries: pure functions over plain data.
//!
//! Each backend's `wait` makes one system call and hands what the kernel
//! wrote (`fd_set`s, `pollfd.revents`, `epoll_event`s) to one function here.
//! They touch no file descriptor, so they can be fed arbitrary "kernel
//! output" by the fuzzers. Whatever the input, they only emit entries for
//! live registrations, with a non-empty subset of the registered interest.
//!
//! Error and hang-up conditions are mapped the way CPython's `selectors`
//! maps them: any bit other than plain "in" counts as writable and any bit
//! other than plain "out" counts as readable, then the result is masked by
//! the interest. So `POLLERR`/`POLLHUP`/`POLLNVAL` wake whichever side is
//! registered, and the caller's `read`/`write` then sees the error or EOF
//! instead of the loop spinning on an event nobody consumes.

use crate::Events;
use crate::fdset::FdSet;
use crate::table::{Ready, ReadyList, Table};

/// Maps kernel readiness bits to `READ`/`WRITE` the CPython way, given the
/// backend's "in" and "out" bit values.
pub fn map_bits(bits: u32, in_bit: u32, out_bit: u32) -> Events {
    let mut ev = Events::NONE;
    if bits & !in_bit != 0 {
        ev |= Events::WRITE;
    }
    if bits & !out_bit != 0 {
        ev |= Events::READ;
    }
    ev
}

/// Decodes `select(2)` output: fds in `read`/`write`, looked up in the table.
/// Bits for fds that are not registered (or at/after `nfds`) are ignored.
pub fn select<D: Copy, const N: usize>(
    read: &FdSet,
    write: &FdSet,
    nfds: i32,
    table: &Table<D, N>,
    out: &mut ReadyList<N>,
) {
    let mut any = read.union(write);
    any.truncate(nfds);
    for fd in any.iter() {
        let Some(slot) = table.find(fd) else { continue };
        let Some(key) = table.get(slot) else { continue };
        let mut ev = Events::NONE;
        if read.contains(fd) {
            ev |= Events::READ;
        }
        if write.contains(fd) {
            ev |= Events::WRITE;
        }
        push(out, slot, table.generation(slot), ev & key.events);
    }
}

/// Decodes `poll(2)` output. `slots[i]` names the table slot that
/// `fds[i]` was built from; `fds[i].fd` must still match that key's fd.
pub fn poll<D: Copy, const N: usize>(
    fds: &[libc::pollfd],
    slots: &[u32],
    table: &Table<D, N>,
    out: &mut ReadyList<N>,
) {
    for (pfd, &slot) in fds.iter().zip(slots.iter()) {
        if pfd.revents == 0 {
            continue;
        }
        let Some(key) = table.get(slot) else { continue };
        if key.fd != pfd.fd {
            continue;
        }
        let ev = map_bits(
            pfd.revents as u16 as u32,
            libc::POLLIN as u16 as u32,
            libc::POLLOUT as u16 as u32,
        );
        push(out, slot, table.generation(slot), ev & key.events);
    }
}

/// Packs a slot and its generation into `epoll_event.u64`.
pub const fn epoll_token(slot: u32, generation: u32) -> u64 {
    (generation as u64) << 32 | slot as u64
}

/// Decodes `epoll_wait(2)` output given as `(events, data)` pairs. The data
/// carries `slot | generation << 32`; entries naming a free slot, an
/// out-of-range slot, or an older generation of the slot are dropped.
pub fn epoll<D: Copy, const N: usize>(
    events: impl IntoIterator<Item = (u32, u64)>,
    table: &Table<D, N>,
    out: &mut ReadyList<N>,
) {
    for (bits, data) in events {
        let slot = data as u32;
        let generation = (data >> 32) as u32;
        let Some(key) = table.live(slot, generation) else {
            continue;
        };
        let ev = map_bits(bits, libc::EPOLLIN as u32, libc::EPOLLOUT as u32);
        push(out, slot, generation, ev & key.events);
    }
}

fn push<const N: usize>(out: &mut ReadyList<N>, slot: u32, generation: u32, events: Events) {
    if !events.is_empty() {
        out.push(Ready { slot, generation, events });
    }
}
