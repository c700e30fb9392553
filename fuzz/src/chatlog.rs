//! The `chatlog` target: chat-server's shared log (`progs::chatlog::Log`)
//! against a plain model, under any sequence of appends (to everyone but
//! one, to one, late notices for earlier readers) and readers that come,
//! take runs in pieces (partial sends) and fall behind.
//!
//! What must hold: a run is one slice of the ring (never longer than the
//! ring) and is exactly the next bytes due to its reader; an empty run
//! means nothing still in the log is due to it (an empty run while
//! something is due stalled the chat: a reader that seemed caught up got
//! nothing more); `behind` bounds what is owed; a reader whose messages
//! were evicted is `lost`, never handed wrong bytes.

use progs::chatlog::{ALL, Cursor, Log, NONE};

const P: usize = 64;
const E: usize = 8;
const READERS: usize = 3;

/// Every message appended, in order (its sequence number is its index).
struct Msg {
    to: u16,
    except: u16,
    since: u64,
    bytes: Vec<u8>,
}

fn due(m: &Msg, reader: u16, came: u64) -> bool {
    ((m.to == ALL && m.except != reader) || (m.to == reader && m.to != ALL)) && came <= m.since
}

struct Reader {
    cur: Cursor,
    came: u64,
    /// The model's position: message `seq`, `off` bytes into it.
    seq: u64,
    off: usize,
}

/// Runs the operations `data` encodes; panics when the log and the model
/// disagree.
pub fn run(data: &[u8]) {
    let mut log: Log<P, E> = Log::new();
    let mut msgs: Vec<Msg> = Vec::new();
    let mut readers: Vec<Option<Reader>> = (0..READERS).map(|_| None).collect();
    for op in data.chunks_exact(3).take(400) {
        let (kind, a, b) = (op[0] % 6, op[1], op[2]);
        let r = usize::from(a) % READERS;
        match kind {
            // A message to everyone but reader `a` (or nobody excepted).
            0 | 1 => {
                let except = if b & 0x80 != 0 { NONE } else { r as u16 };
                append(&mut log, &mut msgs, ALL, except, u64::MAX, b);
            }
            // A message to reader `a` alone.
            2 => append(&mut log, &mut msgs, r as u16, NONE, u64::MAX, b),
            // A late notice: to everyone but `a` who came at or before
            // the tail `b % 4` messages ago.
            3 => {
                let since = log.tail().seq.saturating_sub(u64::from(b % 4));
                let len = 1 + usize::from(b) % 24;
                let bytes = fill(msgs.len(), len);
                if log.append_since(r as u16, since, &bytes) {
                    msgs.push(Msg { to: ALL, except: r as u16, since, bytes });
                }
            }
            // Reader `a` comes (again): it starts at the tail.
            4 => {
                let tail = log.tail();
                readers[r] = Some(Reader { cur: tail, came: tail.seq, seq: tail.seq, off: 0 });
            }
            // Reader `a` takes a run, of which the socket takes `b` bytes.
            _ => {
                if let Some(rd) = readers[r].as_mut() {
                    read(&log, &msgs, r as u16, rd, usize::from(b));
                }
            }
        }
    }
    // At the end every reader still in the log can take all it is owed.
    for (r, slot) in readers.iter_mut().enumerate() {
        if let Some(rd) = slot.as_mut() {
            for _ in 0..2 * E + 2 {
                read(&log, &msgs, r as u16, rd, usize::MAX);
            }
            if !log.lost(&rd.cur) {
                assert!(next_due(&msgs, r as u16, rd).is_none(), "reader {r} not caught up");
                assert!(log.behind(&rd.cur).is_some(), "a reader in the log has no distance");
            }
        }
    }
}

fn fill(seq: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + ((seq * 7 + i) % 26) as u8).collect()
}

fn append(log: &mut Log<P, E>, msgs: &mut Vec<Msg>, to: u16, except: u16, since: u64, b: u8) {
    let len = 1 + usize::from(b & 0x7f) % 40;
    let bytes = fill(msgs.len(), len);
    assert!(log.append(to, except, &bytes), "a message the log can hold was refused");
    msgs.push(Msg { to, except, since, bytes });
}

/// The model's next byte position due to the reader: (seq, off), skipping
/// messages not due to it; `None` when caught up.
fn next_due(msgs: &[Msg], reader: u16, rd: &Reader) -> Option<(u64, usize)> {
    let (mut seq, mut off) = (rd.seq, rd.off);
    while let Some(m) = msgs.get(seq as usize) {
        if due(m, reader, rd.came) && off < m.bytes.len() {
            return Some((seq, off));
        }
        seq += 1;
        off = 0;
    }
    None
}

fn read(log: &Log<P, E>, msgs: &[Msg], reader: u16, rd: &mut Reader, take: usize) {
    if log.lost(&rd.cur) {
        return;
    }
    let before = rd.cur;
    let mut cur = rd.cur;
    let (run, end) = log.next_run_to(&mut cur, reader, rd.came);
    let run = run.to_vec();
    let mut all = cur;
    log.advance(&mut all, run.len());
    assert!(run.is_empty() || all == end, "the run's end is not where advancing over it goes");
    assert!(run.len() <= P, "a run longer than the ring");
    let Some((seq, off)) = next_due(msgs, reader, rd) else {
        assert!(run.is_empty(), "bytes for a reader that is owed nothing");
        return;
    };
    assert!(!run.is_empty(), "an empty run while message {seq} is due (from {before:?})");
    // The run is the due bytes from (seq, off) on, message after message.
    let (mut s, mut o, mut i) = (seq, off, 0);
    while i < run.len() {
        let m = msgs.get(s as usize).expect("a run past the last message");
        assert!(due(m, reader, rd.came), "a run through a message not due");
        let n = (m.bytes.len() - o).min(run.len() - i);
        assert_eq!(&run[i..i + n], &m.bytes[o..o + n], "wrong bytes in a run");
        i += n;
        o += n;
        if o == m.bytes.len() {
            (s, o) = (s + 1, 0);
        }
    }
    // The socket takes `take` bytes of it.
    let n = take.min(run.len());
    log.advance(&mut cur, n);
    rd.cur = cur;
    let (mut s, mut o, mut left) = (seq, off, n);
    while left > 0 {
        let len = msgs[s as usize].bytes.len();
        let k = (len - o).min(left);
        left -= k;
        o += k;
        if o == len {
            (s, o) = (s + 1, 0);
        }
    }
    (rd.seq, rd.off) = (s, o);
}
