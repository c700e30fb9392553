//! The fixed-capacity registration table shared by every backend.
//!
//! Registrations live in `N` stable *slots*. Each slot carries a generation
//! number that changes every time the slot is freed, so a kernel report that
//! names a [`Tag`] (slot and generation) is checked in O(1) at dispatch: if
//! the registration it was made for is gone, or the slot (or the fd number)
//! has been reused since, the generations differ and the report is dropped.
//!
//! Lookup by fd goes through an open-addressing index of `N` cells, probed
//! linearly from `fd % N`. Linux hands out the lowest free fd number, so the
//! fds of a process are dense and this identity hash is nearly collision
//! free; deletion shifts entries back (no tombstones), so probe sequences
//! never degrade with churn. Every probe loop is bounded by `N`.

use crate::{Key, RawFd};

/// Names one registration: its slot, and the slot's generation while that
/// registration holds it. The epoll backend stores it in `epoll_event.u64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Tag {
    /// Slot index in the table.
    pub slot: u32,
    /// The slot's generation when the registration was made.
    pub generation: u32,
}

impl Tag {
    /// Packs the tag into 64 bits: `slot | generation << 32`.
    #[inline(always)]
    pub const fn to_u64(self) -> u64 {
        (self.generation as u64) << 32 | self.slot as u64
    }

    /// Unpacks [`to_u64`](Self::to_u64) (any value gives some tag).
    #[inline(always)]
    pub const fn from_u64(v: u64) -> Tag {
        Tag { slot: v as u32, generation: (v >> 32) as u32 }
    }
}

/// One slot: its generation next to the key, so a dispatch check reads one
/// place.
#[derive(Clone, Copy)]
struct Slot<D> {
    generation: u32,
    key: Option<Key<D>>,
}

/// The registration table: `N` slots, an fd index, and per-slot generations.
pub struct Table<D, const N: usize> {
    slots: [Slot<D>; N],
    /// Open-addressing index: 0 = empty cell, otherwise slot + 1.
    index: [u32; N],
    /// Free slots below `high`, used as a stack.
    free: [u32; N],
    free_len: usize,
    /// Slots `high..N` have never been used.
    high: usize,
    len: usize,
}

impl<D: Copy, const N: usize> Table<D, N> {
    /// An empty table.
    pub const fn new() -> Self {
        Table {
            slots: [const { Slot { generation: 0, key: None } }; N],
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

    fn home(fd: RawFd) -> usize {
        // N > 0 whenever this is called (callers check).
        (fd as u32 as usize) % N
    }

    fn key_at(&self, slot: u32) -> Option<&Key<D>> {
        self.slots.get(slot as usize)?.key.as_ref()
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
            if self.key_at(v - 1).is_some_and(|k| k.fd == fd) {
                return Some(cell);
            }
            cell = (cell + 1) % N;
        }
        None
    }

    /// The tag of a registered fd.
    pub fn find(&self, fd: RawFd) -> Option<Tag> {
        let cell = self.find_cell(fd)?;
        let slot = self.index.get(cell)?.checked_sub(1)?;
        Some(Tag { slot, generation: self.slots.get(slot as usize)?.generation })
    }

    /// The key of a registered fd.
    pub fn find_key(&self, fd: RawFd) -> Option<Key<D>> {
        let slot = self.index.get(self.find_cell(fd)?)?.checked_sub(1)?;
        self.key_at(slot).copied()
    }

    /// The key `tag` names, if that registration is still live: the slot is
    /// used *and* still at the tag's generation. The dispatch check.
    #[inline(always)]
    pub fn live(&self, tag: Tag) -> Option<Key<D>> {
        let slot = self.slots.get(tag.slot as usize)?;
        if slot.generation != tag.generation {
            return None;
        }
        slot.key
    }

    /// Mutable access to the key `tag` names, if live.
    pub fn live_mut(&mut self, tag: Tag) -> Option<&mut Key<D>> {
        let slot = self.slots.get_mut(tag.slot as usize)?;
        if slot.generation != tag.generation {
            return None;
        }
        slot.key.as_mut()
    }

    /// Inserts a key for an fd that is not registered yet. Returns its tag,
    /// or `None` when every slot is used (or `key.fd` is negative).
    pub fn insert(&mut self, key: Key<D>) -> Option<Tag> {
        if self.len >= N || key.fd < 0 {
            return None;
        }
        let slot =
            if self.free_len > 0 { *self.free.get(self.free_len - 1)? } else { self.high as u32 };
        let mut cell = Self::home(key.fd);
        for _ in 0..N {
            let c = self.index.get_mut(cell)?;
            if *c == 0 {
                let s = self.slots.get_mut(slot as usize)?;
                *c = slot + 1;
                s.key = Some(key);
                if self.free_len > 0 {
                    self.free_len -= 1;
                } else {
                    self.high += 1;
                }
                self.len += 1;
                return Some(Tag { slot, generation: s.generation });
            }
            cell = (cell + 1) % N;
        }
        None
    }

    /// Removes the registration of `fd`; returns the tag it had and its
    /// key. The slot's generation changes, so reports for it go stale.
    pub fn remove(&mut self, fd: RawFd) -> Option<(Tag, Key<D>)> {
        let cell = self.find_cell(fd)?;
        let slot = self.index.get(cell)?.checked_sub(1)?;
        let s = self.slots.get_mut(slot as usize)?;
        let key = s.key.take()?;
        let tag = Tag { slot, generation: s.generation };
        s.generation = s.generation.wrapping_add(1);
        if let Some(f) = self.free.get_mut(self.free_len) {
            *f = slot;
            self.free_len += 1;
        }
        self.len -= 1;
        self.unlink_cell(cell);
        Some((tag, key))
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
            let Some(home) = self.key_at(v - 1).map(|k| Self::home(k.fd)) else { break };
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
        for s in self.slots.iter_mut() {
            if s.key.take().is_some() {
                s.generation = s.generation.wrapping_add(1);
            }
        }
        self.index = [0; N];
        self.free_len = 0;
        self.high = 0;
        self.len = 0;
    }

    /// Live `(tag, key)` pairs in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (Tag, &Key<D>)> + '_ {
        self.slots.iter().take(self.high).enumerate().filter_map(|(i, s)| {
            s.key.as_ref().map(|k| (Tag { slot: i as u32, generation: s.generation }, k))
        })
    }
}

#[cfg(test)]
mod tests {
    //! The table against a plain map, over long random sequences.
    extern crate std;
    use super::*;
    use crate::Events;
    use std::collections::BTreeMap;

    /// xorshift64*: deterministic, no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn check<const N: usize>(seed: u64, fd_range: u64, ops: usize) {
        let mut rng = Rng(seed);
        let mut table: Table<u64, N> = Table::new();
        let mut model: BTreeMap<i32, (Tag, u64)> = BTreeMap::new();
        for op in 0..ops {
            let fd = rng.below(fd_range) as i32;
            if rng.below(3) > 0 {
                let present = table.find(fd).is_some();
                assert_eq!(present, model.contains_key(&fd), "op {op} fd {fd}");
                if !present {
                    let key = Key { fd, events: Events::READ, data: op as u64 };
                    match table.insert(key) {
                        Some(tag) => {
                            assert!(model.len() < N);
                            model.insert(fd, (tag, op as u64));
                            assert_eq!(table.live(tag), Some(key));
                        }
                        None => assert_eq!(model.len(), N, "insert refused below capacity"),
                    }
                }
            } else {
                let removed = table.remove(fd);
                let expected = model.remove(&fd);
                assert_eq!(removed.map(|(t, k)| (t, k.data)), expected, "op {op} fd {fd}");
                if let Some((tag, _)) = removed {
                    assert!(table.live(tag).is_none());
                }
            }
            assert_eq!(table.len(), model.len());
            if op % 64 == 0 {
                for (&fd, &(tag, data)) in &model {
                    assert_eq!(table.find(fd), Some(tag));
                    assert_eq!(table.live(tag).map(|k| (k.fd, k.data)), Some((fd, data)));
                    assert_eq!(table.find_key(fd).map(|k| k.data), Some(data));
                }
                assert_eq!(table.iter().count(), model.len());
            }
        }
    }

    #[test]
    fn dense_fds_near_capacity() {
        check::<64>(1, 70, 200_000);
    }

    #[test]
    fn colliding_fds() {
        // fds that are multiples of N all hash to the same home cell.
        check::<16>(2, 16 * 40, 100_000);
        check::<8>(3, 1 << 20, 100_000);
    }

    #[test]
    fn tiny_tables() {
        check::<1>(4, 5, 20_000);
        check::<2>(5, 9, 20_000);
        check::<0>(6, 3, 1_000);
    }

    #[test]
    fn stale_generations_never_match_after_reuse() {
        let mut table: Table<u8, 4> = Table::new();
        let tag = table.insert(Key { fd: 3, events: Events::READ, data: 1 }).unwrap();
        table.remove(3).unwrap();
        let tag2 = table.insert(Key { fd: 3, events: Events::READ, data: 2 }).unwrap();
        assert_eq!(tag.slot, tag2.slot, "LIFO reuse of the freed slot");
        assert_ne!(tag.generation, tag2.generation);
        assert_eq!(table.live(tag), None);
        assert_eq!(table.live(tag2).map(|k| k.data), Some(2));
    }

    #[test]
    fn tags_round_trip_through_u64() {
        let t = Tag { slot: 0xdead_beef, generation: 0x1234_5678 };
        assert_eq!(Tag::from_u64(t.to_u64()), t);
    }
}
