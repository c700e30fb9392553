//! The registration table against a plain map, over long random sequences.

use picosel::table::Table;
use picosel::{Events, Key};
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
    let mut model: BTreeMap<i32, (u32, u64)> = BTreeMap::new();
    for op in 0..ops {
        let fd = rng.below(fd_range) as i32;
        if rng.below(3) > 0 {
            let present = table.find(fd).is_some();
            assert_eq!(present, model.contains_key(&fd), "op {op} fd {fd}");
            if !present {
                let key = Key { fd, events: Events::READ, data: op as u64 };
                match table.insert(key) {
                    Some(slot) => {
                        assert!(model.len() < N);
                        let generation = table.generation(slot);
                        model.insert(fd, (slot, op as u64));
                        assert_eq!(table.live(slot, generation), Some(key));
                    }
                    None => assert_eq!(model.len(), N, "insert refused below capacity"),
                }
            }
        } else {
            let removed = table.remove(fd);
            let expected = model.remove(&fd);
            assert_eq!(removed.map(|(s, k)| (s, k.data)), expected, "op {op} fd {fd}");
            if let Some((slot, _)) = removed {
                assert!(table.get(slot).is_none());
            }
        }
        assert_eq!(table.len(), model.len());
        if op % 64 == 0 {
            for (&fd, &(slot, data)) in &model {
                assert_eq!(table.find(fd), Some(slot));
                assert_eq!(table.get(slot).map(|k| (k.fd, k.data)), Some((fd, data)));
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
    let mut rng = Rng(7);
    let _ = rng.next();
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
    let slot = table.insert(Key { fd: 3, events: Events::READ, data: 1 }).unwrap();
    let g = table.generation(slot);
    table.remove(3).unwrap();
    let slot2 = table.insert(Key { fd: 3, events: Events::READ, data: 2 }).unwrap();
    assert_eq!(slot, slot2, "LIFO reuse of the freed slot");
    assert_eq!(table.live(slot, g), None);
    assert_eq!(table.live(slot2, table.generation(slot2)).map(|k| k.data), Some(2));
}
