//! What the load generator verifies, kept apart so that it is unit-tested.

/// The deterministic payload byte `i` of message `msg` on connection `conn`.
pub fn pattern(conn: usize, msg: u64, i: usize) -> u8 {
    (conn as u64).wrapping_mul(31).wrapping_add(msg.wrapping_mul(7)).wrapping_add(i as u64) as u8
}

/// Fills `buf` with message `msg` of connection `conn`.
pub fn fill(conn: usize, msg: u64, buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = pattern(conn, msg, i);
    }
}

/// Checks echoed bytes: `data` continues the stream of connection `conn`
/// at absolute offset `at` (messages of `size` bytes). Returns the first
/// bad offset, if any.
pub fn verify(conn: usize, size: usize, at: u64, data: &[u8]) -> Option<u64> {
    for (k, &b) in data.iter().enumerate() {
        let off = at + k as u64;
        let (msg, i) = (off / size as u64, (off % size as u64) as usize);
        if b != pattern(conn, msg, i) {
            return Some(off);
        }
    }
    None
}

/// The `p`-th percentile (0-100) of sorted samples (nearest rank).
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Per-sender order, loss and duplicate accounting at one chat receiver.
#[derive(Default, Debug)]
pub struct Order {
    next: Vec<u64>,
    pub delivered: u64,
    pub out_of_order: u64,
    pub duplicates: u64,
}

impl Order {
    /// Records line `seq` of `sender`.
    pub fn see(&mut self, sender: usize, seq: u64) {
        if self.next.len() <= sender {
            self.next.resize(sender + 1, 0);
        }
        let want = self.next[sender];
        if seq == want {
            self.next[sender] += 1;
            self.delivered += 1;
        } else if seq < want {
            self.duplicates += 1;
        } else {
            self.out_of_order += 1;
            self.next[sender] = seq + 1;
            self.delivered += 1;
        }
    }

    /// The next line expected from `sender`.
    pub fn next_of(&self, sender: usize) -> u64 {
        self.next.get(sender).copied().unwrap_or(0)
    }

    /// Lines still missing, given `lines` per sender and the senders this
    /// receiver should hear from.
    pub fn missing(&self, senders: impl Iterator<Item = usize>, lines: u64) -> u64 {
        senders.map(|s| lines.saturating_sub(self.next.get(s).copied().unwrap_or(0))).sum()
    }
}

/// Parses a relayed chat line `NICK: m SENDER SEQ`; other lines (notices,
/// errors) give None.
pub fn parse_chat(line: &[u8]) -> Option<(usize, u64)> {
    let text = std::str::from_utf8(line).ok()?;
    let (_, msg) = text.split_once(": ")?;
    let mut f = msg.split(' ');
    if f.next()? != "m" {
        return None;
    }
    let sender = f.next()?.parse().ok()?;
    let seq = f.next()?.trim_end_matches('\r').parse().ok()?;
    Some((sender, seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_finds_the_first_corrupt_byte() {
        let mut a = vec![0u8; 10];
        let mut b = vec![0u8; 10];
        fill(3, 0, &mut a);
        fill(3, 1, &mut b);
        let stream: Vec<u8> = a.iter().chain(b.iter()).copied().collect();
        assert_eq!(verify(3, 10, 0, &stream), None);
        assert_eq!(verify(3, 10, 5, &stream[5..]), None);
        let mut bad = stream.clone();
        bad[13] ^= 1;
        assert_eq!(verify(3, 10, 0, &bad), Some(13));
        assert!(verify(4, 10, 0, &stream).is_some(), "another connection's bytes");
    }

    #[test]
    fn percentiles() {
        let s: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&s, 50.0), 50);
        assert_eq!(percentile(&s, 99.0), 99);
        assert_eq!(percentile(&s, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn order_counts_loss_duplicates_and_reordering() {
        let mut o = Order::default();
        for s in [0, 1, 2] {
            o.see(1, s);
        }
        o.see(1, 1); // duplicate
        o.see(2, 0);
        o.see(2, 2); // 1 skipped: out of order
        assert_eq!(o.delivered, 5);
        assert_eq!(o.duplicates, 1);
        assert_eq!(o.out_of_order, 1);
        assert_eq!(o.missing([1, 2].into_iter(), 3), 0);
        assert_eq!(o.missing([0, 1].into_iter(), 3), 3, "sender 0 never heard");
    }

    #[test]
    fn chat_lines_parse() {
        assert_eq!(parse_chat(b"127.0.0.1:5: m 3 17"), Some((3, 17)));
        assert_eq!(parse_chat(b"[::1]:5: m 0 0\r"), Some((0, 0)));
        assert_eq!(parse_chat(b"* bob joined"), None);
        assert_eq!(parse_chat(b"error: line too long"), None);
        assert_eq!(parse_chat(b"x: hello"), None);
    }
}
