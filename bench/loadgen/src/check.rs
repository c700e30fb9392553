//! What the load generator verifies, kept apart from the I/O so that it is
//! unit-tested: the echo byte pattern, chat line parsing, per-sender
//! order/loss/duplicate accounting and percentiles.

/// Byte `i` of message `msg` on connection `conn`: deterministic, and
/// different between neighbouring connections, messages and offsets so that
/// a byte echoed on the wrong connection or out of place is caught.
#[cfg(test)]
pub fn pattern(conn: usize, msg: u64, i: usize) -> u8 {
    byte(base(conn, msg), i)
}

/// The per-message part of the pattern.
fn base(conn: usize, msg: u64) -> u64 {
    (conn as u64).wrapping_mul(0x9E37_79B9).wrapping_add(msg.wrapping_mul(0x85EB_CA6B))
}

/// Byte `i` of the message whose [`base`] is `base`.
fn byte(base: u64, i: usize) -> u8 {
    let x = base.wrapping_add(i as u64);
    (x ^ (x >> 8)) as u8
}

/// Appends message `msg` of connection `conn` (`size` bytes) to `out`.
pub fn fill(conn: usize, msg: u64, size: usize, out: &mut Vec<u8>) {
    let b = base(conn, msg);
    out.extend((0..size).map(|i| byte(b, i)));
}

/// Checks echoed bytes: `data` continues connection `conn`'s stream of
/// `size`-byte messages at absolute byte offset `at`. Returns the absolute
/// offset of the first wrong byte, if any.
pub fn verify(conn: usize, size: usize, at: u64, data: &[u8]) -> Option<u64> {
    assert!(size > 0);
    let mut msg = at / size as u64;
    let mut i = (at % size as u64) as usize;
    let mut k = 0;
    // One message (or the part of it in `data`) at a time.
    while k < data.len() {
        let n = (size - i).min(data.len() - k);
        let b = base(conn, msg);
        let chunk = &data[k..k + n];
        if chunk.iter().enumerate().any(|(j, &x)| x != byte(b, i + j)) {
            let j = chunk.iter().enumerate().position(|(j, &x)| x != byte(b, i + j)).unwrap_or(0);
            return Some(at + (k + j) as u64);
        }
        k += n;
        i = 0;
        msg += 1;
    }
    None
}

/// Messages completed when a stream of `size`-byte messages grows from
/// `before` to `after` bytes.
pub fn completed(size: usize, before: u64, after: u64) -> u64 {
    after / size as u64 - before / size as u64
}

/// The `p`-th percentile (0-100) of sorted samples, nearest-rank method;
/// 0 for no samples.
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One line received by a chat client.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// `NICK: m SENDER SEQ`: a relayed load line.
    Relay { sender: usize, seq: u64 },
    /// `* NICK joined`.
    Joined(&'a str),
    /// Any other `* ...` server notice.
    Notice,
    /// `error: ...` from the server.
    Error,
    /// Anything else: not something this load ever causes.
    Garbled,
}

/// Classifies one received line (without its `\n`; a trailing `\r` is
/// tolerated).
pub fn classify(line: &[u8]) -> Line<'_> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Ok(text) = std::str::from_utf8(line) else { return Line::Garbled };
    if let Some(rest) = text.strip_prefix("* ") {
        return match rest.strip_suffix(" joined") {
            Some(nick) if !nick.is_empty() && !nick.contains(' ') => Line::Joined(nick),
            _ => Line::Notice,
        };
    }
    if text.starts_with("error: ") {
        return Line::Error;
    }
    // NICK has no spaces, so the first ": " ends it.
    let Some((nick, msg)) = text.split_once(": ") else { return Line::Garbled };
    if nick.is_empty() || nick.contains(' ') {
        return Line::Garbled;
    }
    let mut f = msg.split(' ');
    let (Some("m"), Some(s), Some(q), None) = (f.next(), f.next(), f.next(), f.next()) else {
        return Line::Garbled;
    };
    match (s.parse(), q.parse()) {
        (Ok(sender), Ok(seq)) => Line::Relay { sender, seq },
        _ => Line::Garbled,
    }
}

/// Per-sender order, loss and duplicate accounting at one chat client.
/// Lines from each sender must arrive as 0, 1, 2, ...: a lower number than
/// expected is a duplicate, a higher one means lines were lost or reordered
/// (counted once per gap; the stream resynchronises after it).
#[derive(Default, Debug, Clone)]
pub struct Order {
    next: Vec<u64>,
    /// Lines taken in order.
    pub delivered: u64,
    /// Lines seen again.
    pub duplicates: u64,
    /// Gaps: a line arrived before an earlier one of the same sender.
    pub gaps: u64,
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
            self.gaps += 1;
            self.next[sender] = seq + 1;
            self.delivered += 1;
        }
    }

    /// The next line expected from `sender` (= lines received in order
    /// when there were no gaps).
    pub fn next_of(&self, sender: usize) -> u64 {
        self.next.get(sender).copied().unwrap_or(0)
    }

    /// Lines still missing from `senders` when each sent `lines`:
    /// never-received tails plus lines skipped by gaps.
    pub fn missing(&self, senders: impl Iterator<Item = usize>, lines: u64) -> u64 {
        let expected: u64 = senders.map(|_| lines).sum();
        expected.saturating_sub(self.delivered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(conn: usize, m: u64, size: usize) -> Vec<u8> {
        let mut v = Vec::new();
        fill(conn, m, size, &mut v);
        v
    }

    #[test]
    fn fill_follows_the_pattern() {
        let m = msg(5, 9, 300);
        assert!(m.iter().enumerate().all(|(i, &b)| b == pattern(5, 9, i)));
        assert_ne!(m, msg(6, 9, 300));
        assert_ne!(m, msg(5, 10, 300));
        assert!(m.iter().any(|&b| b != m[0]), "not constant");
    }

    #[test]
    fn verify_accepts_the_stream_in_any_split() {
        let size = 7;
        let stream: Vec<u8> = (0..5).flat_map(|m| msg(3, m, size)).collect();
        assert_eq!(verify(3, size, 0, &stream), None);
        for cut in 0..stream.len() {
            assert_eq!(verify(3, size, 0, &stream[..cut]), None);
            assert_eq!(verify(3, size, cut as u64, &stream[cut..]), None, "cut {cut}");
        }
    }

    #[test]
    fn verify_finds_the_first_wrong_byte() {
        let size = 16;
        let stream: Vec<u8> = (0..4).flat_map(|m| msg(1, m, size)).collect();
        let mut bad = stream.clone();
        bad[37] ^= 0x40;
        bad[50] ^= 1;
        assert_eq!(verify(1, size, 0, &bad), Some(37));
        assert_eq!(verify(1, size, 40, &bad[40..]), Some(50));
    }

    #[test]
    fn verify_catches_misplaced_bytes() {
        let size = 32;
        let a = msg(0, 0, size);
        assert!(verify(1, size, 0, &a).is_some(), "another connection's bytes");
        assert!(verify(0, size, size as u64, &a).is_some(), "a repeated message");
        let b = msg(0, 1, size);
        let swapped: Vec<u8> = b.iter().chain(a.iter()).copied().collect();
        assert_eq!(verify(0, size, 0, &swapped), Some(0), "messages swapped");
        let mut shifted = a.clone();
        shifted.remove(5);
        assert!(verify(0, size, 0, &shifted).is_some(), "a lost byte");
    }

    #[test]
    fn completed_counts_message_boundaries() {
        assert_eq!(completed(10, 0, 9), 0);
        assert_eq!(completed(10, 0, 10), 1);
        assert_eq!(completed(10, 9, 31), 3);
        assert_eq!(completed(1, 5, 8), 3);
    }

    #[test]
    fn percentiles_nearest_rank() {
        let s: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&s, 50.0), 50);
        assert_eq!(percentile(&s, 99.0), 99);
        assert_eq!(percentile(&s, 100.0), 100);
        assert_eq!(percentile(&s, 0.0), 1);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[1, 2, 3], 50.0), 2);
        assert_eq!(percentile(&[1, 2, 3, 4], 50.0), 2);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn order_counts_duplicates_and_gaps() {
        let mut o = Order::default();
        for s in 0..3 {
            o.see(1, s);
        }
        o.see(1, 1); // duplicate
        o.see(2, 0);
        o.see(2, 2); // 1 lost or reordered
        assert_eq!((o.delivered, o.duplicates, o.gaps), (5, 1, 1));
        assert_eq!(o.next_of(1), 3);
        assert_eq!(o.next_of(2), 3);
        assert_eq!(o.next_of(9), 0);
        // Senders 1 and 2 sent 3 lines each: one of sender 2's is missing.
        assert_eq!(o.missing([1, 2].into_iter(), 3), 1);
        o.see(2, 1); // the late one: now a duplicate, still missing
        assert_eq!(o.duplicates, 2);
        assert_eq!(o.missing([1, 2].into_iter(), 3), 1);
    }

    #[test]
    fn order_missing_counts_unheard_senders() {
        let mut o = Order::default();
        o.see(0, 0);
        assert_eq!(o.missing([0, 1].into_iter(), 2), 3);
        assert_eq!(o.missing(std::iter::empty(), 2), 0);
    }

    #[test]
    fn chat_lines_classify() {
        assert_eq!(classify(b"127.0.0.1:5: m 3 17"), Line::Relay { sender: 3, seq: 17 });
        assert_eq!(classify(b"[::1]:5: m 0 0\r"), Line::Relay { sender: 0, seq: 0 });
        assert_eq!(classify(b"bob: m 2 9"), Line::Relay { sender: 2, seq: 9 });
        assert_eq!(classify(b"* 127.0.0.1:4242 joined"), Line::Joined("127.0.0.1:4242"));
        assert_eq!(classify(b"* 127.0.0.1:4242 left"), Line::Notice);
        assert_eq!(classify(b"* welcome, you are 127.0.0.1:1"), Line::Notice);
        assert_eq!(classify(b"* a b joined"), Line::Notice);
        assert_eq!(classify(b"error: line too long"), Line::Error);
        assert_eq!(classify(b"x: hello"), Line::Garbled);
        assert_eq!(classify(b"x: m 1"), Line::Garbled);
        assert_eq!(classify(b"x: m 1 2 3"), Line::Garbled);
        assert_eq!(classify(b"x: m one 2"), Line::Garbled);
        assert_eq!(classify(b"m 1 2"), Line::Garbled);
        assert_eq!(classify(b"a b: m 1 2"), Line::Garbled);
        assert_eq!(classify(b"\xff: m 1 2"), Line::Garbled);
    }
}
