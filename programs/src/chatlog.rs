//! The chat server's broadcast log: one shared ring of messages with a read
//! cursor per client, instead of a copy of each message per client (Redis
//! #1880). Memory is fixed: `P` payload bytes and `E` message entries.
//!
//! A message is addressed to everyone (optionally except one client) or to
//! one client. A client's cursor walks the log; [`Log::next_run`] returns
//! the longest contiguous run of bytes due to it, to hand to one `send`.
//! [`Log::fits`] says whether more messages fit without evicting what the
//! slowest client has not received yet (the server then stops reading
//! from the senders until it does); [`Log::behind`] says how far behind a
//! client is, and [`Log::lost`] whether it fell out of the log.

/// Addressed to every client.
pub const ALL: u16 = u16::MAX;
/// No client (for `except`).
pub const NONE: u16 = u16::MAX;

#[derive(Clone, Copy, Default)]
struct Entry {
    start: u64,
    /// Only for readers that came at or before this point (see
    /// [`Log::next_run_for`]); `u64::MAX`: for every reader.
    since: u64,
    len: u16,
    to: u16,
    except: u16,
}

/// A client's position in the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Sequence number of the next message.
    pub seq: u64,
    /// Bytes of that message already sent.
    pub off: u16,
}

/// The log: `P` bytes of payload, `E` entries.
pub struct Log<const P: usize, const E: usize> {
    payload: [u8; P],
    entries: [Entry; E],
    /// Oldest retained message.
    first: u64,
    /// Next message's sequence number.
    next: u64,
    /// Absolute payload position after the newest message.
    end: u64,
}

impl<const P: usize, const E: usize> Default for Log<P, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const P: usize, const E: usize> Log<P, E> {
    /// An empty log: all zero bytes (an entry is only read once appended,
    /// which writes it whole), so a log in a `static` lands in `.bss`.
    pub const fn new() -> Self {
        Log {
            payload: [0; P],
            entries: [Entry { start: 0, since: 0, len: 0, to: 0, except: 0 }; E],
            first: 0,
            next: 0,
            end: 0,
        }
    }

    fn entry(&self, seq: u64) -> Option<Entry> {
        if seq < self.first || seq >= self.next || E == 0 {
            return None;
        }
        self.entries.get((seq % E as u64) as usize).copied()
    }

    /// A cursor at the end: a new client sees only what comes next.
    pub fn tail(&self) -> Cursor {
        Cursor { seq: self.next, off: 0 }
    }

    /// A cursor at the oldest message the log still holds.
    pub fn oldest(&self) -> Cursor {
        Cursor { seq: self.first, off: 0 }
    }

    /// Where a message of `len` bytes would start (no entry wraps the ring).
    fn place(&self, len: usize) -> u64 {
        let p = P as u64;
        let at = self.end % p.max(1);
        if at + len as u64 > p { self.end + (p - at) } else { self.end }
    }

    /// The oldest sequence number still held after appending `len` bytes:
    /// every client whose cursor is below it would lose messages.
    pub fn evicts(&self, len: usize) -> u64 {
        let start = self.place(len);
        let mut first = self.first;
        while first < self.next {
            let fits_bytes = match self.entry(first) {
                Some(e) => start + len as u64 - e.start <= P as u64,
                None => true,
            };
            if fits_bytes && self.next + 1 - first <= E as u64 {
                break;
            }
            first += 1;
        }
        first
    }

    /// Appends a message (`to` a client or [`ALL`], `except` a client or
    /// [`NONE`]), evicting the oldest as needed. Messages longer than the
    /// log, or than 65535 bytes, are refused (false).
    pub fn append(&mut self, to: u16, except: u16, bytes: &[u8]) -> bool {
        self.append_with(to, except, bytes.len(), |dst| {
            dst.copy_from_slice(bytes);
            bytes.len()
        })
    }

    /// Appends a message of at most `max` bytes written in place by `fill`,
    /// which gets exactly `max` bytes and returns how many it used (no
    /// copy through a buffer of the caller's). Room is made for `max`
    /// bytes, as [`append`](Self::append) would for a message that long.
    pub fn append_with(
        &mut self,
        to: u16,
        except: u16,
        max: usize,
        fill: impl FnOnce(&mut [u8]) -> usize,
    ) -> bool {
        if P == 0 || E == 0 || max > P || max > usize::from(u16::MAX) {
            return false;
        }
        self.first = self.evicts(max);
        let start = self.place(max);
        let at = (start % P as u64) as usize;
        let Some(dst) = self.payload.get_mut(at..at + max) else { return false };
        let len = fill(dst).min(max);
        if let Some(slot) = self.entries.get_mut((self.next % E as u64) as usize) {
            *slot = Entry { start, since: u64::MAX, len: len as u16, to, except };
        }
        self.next += 1;
        self.end = start + len as u64;
        true
    }

    /// The payload position of `cur`'s next byte (the end of the log when
    /// it is caught up); `None` when it fell out of the log.
    fn pos(&self, cur: &Cursor) -> Option<u64> {
        if cur.seq < self.first {
            return None;
        }
        Some(self.entry(cur.seq).map_or(self.end, |e| e.start + u64::from(cur.off)))
    }

    /// How many bytes of log lie between `cur` and the end: an upper bound
    /// of what it is owed. `None` when it fell out of the log.
    pub fn behind(&self, cur: &Cursor) -> Option<u64> {
        self.pos(cur).map(|p| self.end.saturating_sub(p))
    }

    /// Whether `count` more messages of `bytes` in all can be appended and
    /// the log still hold at most `max_bytes` bytes and `max_entries`
    /// messages from the start of `low`'s message on. With limits no larger
    /// than the log's, nothing `low` has not been sent is then evicted.
    pub fn fits(
        &self,
        low: &Cursor,
        bytes: usize,
        count: u64,
        max_bytes: u64,
        max_entries: u64,
    ) -> bool {
        let from = match self.pos(low) {
            Some(p) => p - u64::from(low.off),
            None => return false,
        };
        let end = self.place(bytes) + bytes as u64;
        end - from <= max_bytes.min(P as u64)
            && (self.next + count).saturating_sub(low.seq) <= max_entries.min(E as u64)
    }

    /// The rest of the message `cur` is in the middle of (empty when it is
    /// at a message boundary); `None` when it fell out of the log.
    pub fn rest_of_message(&self, cur: &Cursor) -> Option<&[u8]> {
        if cur.seq < self.first {
            return None;
        }
        let Some(e) = self.entry(cur.seq).filter(|_| cur.off > 0) else { return Some(&[]) };
        let at = ((e.start + u64::from(cur.off)) % P as u64) as usize;
        self.payload.get(at..at + usize::from(e.len.saturating_sub(cur.off)))
    }

    /// Appends a message to everyone (`except` one) who came at or before
    /// `since` (a [`tail`](Self::tail) sequence number a reader noted when
    /// it came; see [`next_run_for`](Self::next_run_for)): e.g. a join
    /// notice that goes out late, not to those who came after.
    pub fn append_since(&mut self, except: u16, since: u64, bytes: &[u8]) -> bool {
        let ok = self.append(ALL, except, bytes);
        if let Some(e) = ok
            .then(|| self.next - 1)
            .and_then(|seq| self.entries.get_mut((seq % E.max(1) as u64) as usize))
        {
            e.since = since;
        }
        ok
    }

    fn due(e: &Entry, reader: u16, came: u64) -> bool {
        ((e.to == ALL && e.except != reader) || (e.to == reader && e.to != ALL)) && came <= e.since
    }

    /// True when `cur` has fallen out of the log (messages were lost).
    pub fn lost(&self, cur: &Cursor) -> bool {
        cur.seq < self.first
    }

    /// Moves `cur` past messages not addressed to `reader` and returns the
    /// longest contiguous run of bytes due to it (empty when caught up).
    pub fn next_run(&self, cur: &mut Cursor, reader: u16) -> &[u8] {
        self.next_run_for(cur, reader, 0)
    }

    /// [`next_run`](Self::next_run) for a reader that came at `came` (the
    /// [`tail`](Self::tail) sequence number then): messages appended
    /// [`append_since`](Self::append_since) an earlier point are skipped.
    pub fn next_run_for(&self, cur: &mut Cursor, reader: u16, came: u64) -> &[u8] {
        self.next_run_to(cur, reader, came).0
    }

    /// [`next_run_for`](Self::next_run_for), and where the reader is once
    /// it has sent all of the run (what [`advance`](Self::advance) by the
    /// run's length gives, without walking the messages again).
    pub fn next_run_to(&self, cur: &mut Cursor, reader: u16, came: u64) -> (&[u8], Cursor) {
        let first = loop {
            let Some(e) = self.entry(cur.seq) else { return (&[], *cur) };
            if Self::due(&e, reader, came) && cur.off < e.len {
                break e;
            }
            cur.seq += 1;
            cur.off = 0;
        };
        let begin = first.start + u64::from(cur.off);
        let mut stop = first.start + u64::from(first.len);
        let mut seq = cur.seq + 1;
        while let Some(e) = self.entry(seq) {
            // A run is one slice of the ring: it ends where the ring does,
            // even when the next message starts right there (at offset 0).
            if !Self::due(&e, reader, came) || e.start != stop || stop % P as u64 == 0 {
                break;
            }
            stop += u64::from(e.len);
            seq += 1;
        }
        let at = (begin % P as u64) as usize;
        let run = self.payload.get(at..at + (stop - begin) as usize).unwrap_or(&[]);
        (run, Cursor { seq, off: 0 })
    }

    /// Advances `cur` by `n` bytes of a run returned by [`next_run`](Self::next_run).
    pub fn advance(&self, cur: &mut Cursor, mut n: usize) {
        while n > 0 {
            let Some(e) = self.entry(cur.seq) else { return };
            let left = usize::from(e.len - cur.off.min(e.len));
            if n >= left {
                n -= left;
                cur.seq += 1;
                cur.off = 0;
            } else {
                cur.off += n as u16;
                n = 0;
            }
        }
    }
}
