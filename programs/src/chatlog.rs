//! The chat server's broadcast log: one shared ring of messages with a read
//! cursor per client, instead of a copy of each message per client (Redis
//! #1880). Memory is fixed: `P` payload bytes and `E` message entries.
//!
//! A message is addressed to everyone (optionally except one client) or to
//! one client. A client's cursor walks the log; [`Log::next_run`] returns
//! the longest contiguous run of bytes due to it, to hand to one `send`.
//! When an append must evict messages that a client has not received yet,
//! [`Log::evicts`] says so first: that client stopped reading, and the
//! server disconnects it instead of making anyone wait.

/// Addressed to every client.
pub const ALL: u16 = u16::MAX;
/// No client (for `except`).
pub const NONE: u16 = u16::MAX;

#[derive(Clone, Copy, Default)]
struct Entry {
    start: u64,
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
    /// An empty log.
    pub const fn new() -> Self {
        Log {
            payload: [0; P],
            entries: [Entry { start: 0, len: 0, to: 0, except: 0 }; E],
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
        if P == 0 || E == 0 || bytes.len() > P || bytes.len() > usize::from(u16::MAX) {
            return false;
        }
        self.first = self.evicts(bytes.len());
        let start = self.place(bytes.len());
        let at = (start % P as u64) as usize;
        match self.payload.get_mut(at..at + bytes.len()) {
            Some(dst) => dst.copy_from_slice(bytes),
            None => return false,
        }
        if let Some(slot) = self.entries.get_mut((self.next % E as u64) as usize) {
            *slot = Entry { start, len: bytes.len() as u16, to, except };
        }
        self.next += 1;
        self.end = start + bytes.len() as u64;
        true
    }

    fn due(e: &Entry, reader: u16) -> bool {
        (e.to == ALL && e.except != reader) || (e.to == reader && e.to != ALL)
    }

    /// True when `cur` has fallen out of the log (messages were lost).
    pub fn lost(&self, cur: &Cursor) -> bool {
        cur.seq < self.first
    }

    /// Moves `cur` past messages not addressed to `reader` and returns the
    /// longest contiguous run of bytes due to it (empty when caught up).
    pub fn next_run(&self, cur: &mut Cursor, reader: u16) -> &[u8] {
        while let Some(e) = self.entry(cur.seq) {
            if Self::due(&e, reader) && cur.off < e.len {
                break;
            }
            cur.seq += 1;
            cur.off = 0;
        }
        let Some(first) = self.entry(cur.seq) else { return &[] };
        let begin = first.start + u64::from(cur.off);
        let mut stop = first.start + u64::from(first.len);
        let mut seq = cur.seq + 1;
        while let Some(e) = self.entry(seq) {
            if !Self::due(&e, reader) || e.start != stop {
                break;
            }
            stop += u64::from(e.len);
            seq += 1;
        }
        let at = (begin % P as u64) as usize;
        self.payload.get(at..at + (stop - begin) as usize).unwrap_or(&[])
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
