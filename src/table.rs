//! The fixed-capacity registration table shared by every backend.
//!
//! Registrations live in `N` stable *slots*. Each slot carries a generation
//! number that changes every time the slot is freed, so a ready entry that
//! names `(slot, generation)` can be checked in O(1) at dispatch time: if the
//! registration it was decoded for is gone, or the slot (or the fd number)
//! has been reused since, the generations differ and the entry is dropped.
//!
//! Lookup by fd goes through an open-addressing index of `N` cells, probed
//! linearly from `fd % N`. Linux hands out the lowest free fd number, so the
//! fds of a process are dense and this identity hash is nearly collision
//! free; deletion shifts entries back (no tombstones), so probe sequences
//! never degrade with churn. Every probe loop is bounded by `N`.

use crate::{Events, Key, RawFd};

/// A decoded readiness entry: which slot, at which generation, and the
/// events the kernel reported (already mapped to `READ`/`WRITE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ready {
    /// Slot index in the table.
    pub slot: u32,
    /// Generation of the slot when the kernel output was decoded.
    pub generation: u32,
    /// Reported events, masked by the interest at decode time.
    pub events: Events,
}

impl Ready {
    const EMPTY: Ready = Ready { slot: 0, generation: 0, events: Events::NONE };
}

/// The ready list of one `select` call: at most `N` entries, consumed one at
/// a time so that the caller may change the table between entries.
pub struct ReadyList<const N: usize> {
    entries: [Ready; N],
    len: usize,
    pos: usize,
}

impl<const N: usize> Default for ReadyList<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> ReadyList<N> {
    /// An empty list.
    pub const fn new() -> Self {
        ReadyList { entries: [Ready::EMPTY; N], len: 0, pos: 0 }
    }

    /// Forgets every entry.
    pub fn clear(&mut self) {
        self.len = 0;
        self.pos = 0;
    }

    /// Appends an entry; returns false (and drops it) when the list is full.
    pub fn push(&mut self, ready: Ready) -> bool {
        match self.entries.get_mut(self.len) {
            Some(cell) => {
                *cell = ready;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Number of entries decoded (consumed or not).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing was decoded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The decoded entries, in kernel order.
    pub fn as_slice(&self) -> &[Ready] {
        self.entries.get(..self.len).unwrap_or(&[])
    }

    /// Takes the next unconsumed entry.
    pub fn pop_front(&mut self) -> Option<Ready> {
        let r = *self.entries.get(self.pos)?;
        if self.pos >= self.len {
            return None;
        }
        self.pos += 1;
        Some(r)
    }
}

/// The registration table: `N` slots, an fd index, and per-slot generations.
pub struct Table<D, const N: usize> {
    keys: [Option<Key<D>>; N],
    generations: [u32; N],
    /// Open-addressing index: 0 = empty cell, otherwise slot + 1.
    index: [u32; N],
    /// Free slots below `high`, used as a stack.
    free: [u32; N],
    free_len: usize,
    /// Slots `high..N` have never been used.
    high: usize,
    len: usize,
}

impl<D: Copy, const N: usize> Default for Table<D, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<D: Copy, const N: usize> Table<D, N> {
    /// An empty table.
    pub const fn new() -> Self {
        Table {
            keys: [const { None }; N],
            generations: [0; N],
            index: [0; N],
            free: [0; N],
            free_len: 0,
            high: 0,
            len: 0,
        }
    }

    /// Number of registrations.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The fixed capacity `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    fn home(fd: RawFd) -> usize {
        // N > 0 whenever this is called (callers check).
        (fd as u32 as usize) % N
    }

    /// Index cell holding `fd`, if registered.
    fn find_cell(&self, fd: RawFd) -> Option<usize> {
        if N == 0 || fd < 0 {
            return None;
        }
        let mut cell = Self::home(fd);
        for _ in 0..N {
            let v = *self.index.get(cell)?;
            if v == 0 {
                return None;
            }
            let slot = (v - 1) as usize;
            if let Some(Some(key)) = self.keys.get(slot) {
                if key.fd == fd {
                    return Some(cell);
                }
            }
            cell = (cell + 1) % N;
        }
        None
    }

    /// The slot of a registered fd.
    pub fn find(&self, fd: RawFd) -> Option<u32> {
        let cell = self.find_cell(fd)?;
        self.index.get(cell).map(|v| v - 1)
    }

    /// The key in `slot`, if live.
    pub fn get(&self, slot: u32) -> Option<&Key<D>> {
        self.keys.get(slot as usize)?.as_ref()
    }

    /// Mutable access to the key in `slot`, if live.
    pub fn get_mut(&mut self, slot: u32) -> Option<&mut Key<D>> {
        self.keys.get_mut(slot as usize)?.as_mut()
    }

    /// The current generation of `slot` (0 for an out-of-range slot).
    pub fn generation(&self, slot: u32) -> u32 {
        self.generations.get(slot as usize).copied().unwrap_or(0)
    }

    /// The key in `slot` if it is live *and* still at `generation`.
    pub fn live(&self, slot: u32, generation: u32) -> Option<Key<D>> {
        if self.generations.get(slot as usize) != Some(&generation) {
            return None;
        }
        self.get(slot).copied()
    }

    /// Inserts a key for an fd that is not registered yet. Returns its slot,
    /// or `None` when every slot is used (or `key.fd` is negative).
    pub fn insert(&mut self, key: Key<D>) -> Option<u32> {
        if self.len >= N || key.fd < 0 {
            return None;
        }
        let slot = if self.free_len > 0 {
            self.free_len -= 1;
            *self.free.get(self.free_len)?
        } else {
            let s = self.high;
            self.high += 1;
            s as u32
        };
        let mut cell = Self::home(key.fd);
        for _ in 0..N {
            let c = self.index.get_mut(cell)?;
            if *c == 0 {
                *c = slot + 1;
                *self.keys.get_mut(slot as usize)? = Some(key);
                self.len += 1;
                return Some(slot);
            }
            cell = (cell + 1) % N;
        }
        None
    }

    /// Removes the registration of `fd`; returns its slot and key. The
    /// slot's generation changes, so pending ready entries for it go stale.
    pub fn remove(&mut self, fd: RawFd) -> Option<(u32, Key<D>)> {
        let cell = self.find_cell(fd)?;
        let slot = self.index.get(cell)? - 1;
        let key = self.keys.get_mut(slot as usize)?.take()?;
        if let Some(g) = self.generations.get_mut(slot as usize) {
            *g = g.wrapping_add(1);
        }
        if let Some(f) = self.free.get_mut(self.free_len) {
            *f = slot;
            self.free_len += 1;
        }
        self.len -= 1;
        self.unlink_cell(cell);
        Some((slot, key))
    }

    /// Backward-shift deletion of index cell `hole`.
    fn unlink_cell(&mut self, mut hole: usize) {
        let mut next = hole;
        for _ in 0..N {
            next = (next + 1) % N;
            let v = match self.index.get(next) {
                Some(&v) if v != 0 => v,
                _ => break,
            };
            let home = match self.keys.get((v - 1) as usize) {
                Some(Some(k)) => Self::home(k.fd),
                _ => break,
            };
            // The entry at `next` may move into `hole` unless its home lies
            // cyclically in (hole, next].
            let stays = if hole <= next {
                hole < home && home <= next
            } else {
                hole < home || home <= next
            };
            if !stays {
                if let Some(h) = self.index.get_mut(hole) {
                    *h = v;
                }
                hole = next;
            }
        }
        if let Some(h) = self.index.get_mut(hole) {
            *h = 0;
        }
    }

    /// Removes every registration (generations change as in `remove`).
    pub fn clear(&mut self) {
        for (key, g) in self.keys.iter_mut().zip(self.generations.iter_mut()) {
            if key.take().is_some() {
                *g = g.wrapping_add(1);
            }
        }
        self.index = [0; N];
        self.free_len = 0;
        self.high = 0;
        self.len = 0;
    }

    /// Live `(slot, key)` pairs in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Key<D>)> + '_ {
        self.keys
            .iter()
            .take(self.high)
            .enumerate()
            .filter_map(|(i, k)| k.as_ref().map(|k| (i as u32, k)))
    }
}
