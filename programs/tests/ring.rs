//! ByteRing against a VecDeque, wraparound included.

use progs::ring::ByteRing;
use std::collections::VecDeque;

#[test]
fn matches_a_deque_through_wraparound() {
    let mut ring = ByteRing::<7>::new();
    let mut model: VecDeque<u8> = VecDeque::new();
    let mut next = 0u8;
    let mut seed = 12345u32;
    for _ in 0..10_000 {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let n = (seed >> 16) as usize % 6;
        if seed & 1 == 0 {
            let data: Vec<u8> = (0..n)
                .map(|_| {
                    next = next.wrapping_add(1);
                    next
                })
                .collect();
            let took = ring.push(&data);
            assert_eq!(took, n.min(7 - model.len()));
            model.extend(&data[..took]);
        } else {
            let front = ring.front().to_vec();
            assert!(!front.is_empty() || model.is_empty());
            assert_eq!(
                &front[..],
                &model.iter().copied().take(front.len()).collect::<Vec<_>>()[..]
            );
            let k = n.min(front.len());
            ring.consume(k);
            model.drain(..k);
        }
        assert_eq!(ring.len(), model.len());
        assert_eq!(ring.free(), 7 - model.len());
    }
}

#[test]
fn push_all_is_all_or_nothing() {
    let mut ring = ByteRing::<4>::new();
    assert!(ring.push_all(b"abc"));
    assert!(!ring.push_all(b"de"));
    assert_eq!(ring.len(), 3);
    assert!(ring.push_all(b"d"));
    assert!(ring.is_full());
    ring.consume(10);
    assert!(ring.is_empty());
    assert_eq!(ring.front(), b"");
}

#[test]
fn zero_capacity_is_harmless() {
    let mut ring = ByteRing::<0>::new();
    assert_eq!(ring.push(b"x"), 0);
    assert!(!ring.push_all(b"x"));
    assert!(ring.push_all(b""));
    ring.consume(1);
    assert_eq!(ring.front(), b"");
}
