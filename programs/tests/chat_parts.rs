//! The pieces chat-server's backpressure and framing stand on, as pure
//! code: the log's room check and distances, late messages for earlier
//! readers, and in-place line framing with peek/pop and end of input.

use progs::chatlog::{ALL, Cursor, Log, NONE};
use progs::framing::{Framed, LineReader};

#[test]
fn fits_refuses_what_would_evict_an_unsent_message() {
    let mut log: Log<1024, 16> = Log::new();
    let low = log.tail();
    for _ in 0..7 {
        assert!(log.fits(&low, 100, 1, 1024, 16));
        log.append(ALL, NONE, &[b'x'; 100]);
    }
    // 700 bytes are unsent to `low`: 300 more fit, 400 do not.
    assert!(log.fits(&low, 300, 1, 1024, 16));
    assert!(!log.fits(&low, 400, 1, 1024, 16));
    // A tighter limit (the server keeps a reserve) refuses sooner.
    assert!(!log.fits(&low, 200, 1, 800, 16));
    // Entries count too.
    assert!(!log.fits(&low, 1, 10, 1024, 16));
    assert_eq!(log.behind(&low), Some(700));
    // Once `low` has been sent everything, there is room again.
    let mut cur = low;
    let n = log.next_run(&mut cur, 0).len();
    log.advance(&mut cur, n);
    assert_eq!(log.behind(&cur), Some(0));
    assert!(log.fits(&cur, 500, 1, 1024, 16)); // placed after the wrap: 324 bytes skipped
}

#[test]
fn the_rest_of_a_message_cut_by_a_partial_send() {
    let mut log: Log<256, 8> = Log::new();
    let mut cur = log.tail();
    log.append(ALL, NONE, b"alice: hello there\n");
    log.advance(&mut cur, 7);
    assert_eq!(log.rest_of_message(&cur), Some(&b"hello there\n"[..]));
    log.advance(&mut cur, 12);
    assert_eq!(log.rest_of_message(&cur), Some(&b""[..]));
    // Lost: the log cannot complete the line.
    let stale = Cursor { seq: 0, off: 3 };
    for _ in 0..20 {
        log.append(ALL, NONE, &[b'y'; 40]);
    }
    assert!(log.lost(&stale));
    assert_eq!(log.rest_of_message(&stale), None);
    assert_eq!(log.behind(&stale), None);
}

#[test]
fn a_late_message_goes_only_to_readers_that_came_before_its_point() {
    let mut log: Log<256, 8> = Log::new();
    let early = log.tail();
    log.append(0, NONE, b"welcome 0\n");
    let late = log.tail();
    log.append(1, NONE, b"welcome 1\n");
    // Reader 0's join notice, announced after reader 1 came.
    log.append_since(0, early.seq, b"* 0 joined\n");
    log.append(ALL, NONE, b"news\n");
    let mut c1 = late;
    let mut got = Vec::new();
    loop {
        let run = log.next_run_for(&mut c1, 1, late.seq).to_vec();
        if run.is_empty() {
            break;
        }
        log.advance(&mut c1, run.len());
        got.extend(run);
    }
    assert_eq!(got, b"welcome 1\nnews\n");
    // A reader that was there before (reader 2) gets it.
    let mut c2 = early;
    let run = log.next_run_for(&mut c2, 2, early.seq);
    assert_eq!(run, b"* 0 joined\nnews\n");
}

fn feed(lr: &mut LineReader<16>, bytes: &[u8]) {
    let space = lr.space();
    space[..bytes.len()].copy_from_slice(bytes);
    lr.filled(bytes.len());
}

#[test]
fn line_reader_peeks_without_consuming_and_frames_the_last_line_at_eof() {
    let mut lr = LineReader::<16>::new();
    feed(&mut lr, b"ab\r\ncd");
    let first = lr.peek(10, false);
    assert_eq!(first, Some(Framed::Line { start: 0, end: 2 }));
    assert_eq!(lr.peek(10, false), first, "a frame left unpopped is found again");
    lr.pop();
    assert_eq!(lr.peek(10, false), None, "a partial line waits");
    let Some(Framed::Line { start, end }) = lr.peek(10, true) else { panic!("no final line") };
    assert_eq!(lr.bytes(start, end), b"cd");
    lr.pop();
    assert_eq!(lr.peek(10, true), None);
}

#[test]
fn line_reader_drops_an_overlong_line_to_its_end_only() {
    let mut lr = LineReader::<16>::new();
    feed(&mut lr, b"0123456789");
    assert_eq!(lr.peek(8, false), Some(Framed::TooLong));
    lr.pop();
    feed(&mut lr, b"xx\nok\n");
    let Some(Framed::Line { start, end }) = lr.peek(8, false) else { panic!("no line") };
    assert_eq!(lr.bytes(start, end), b"ok");
}

/// A run of messages never crosses the end of the ring, even when one
/// message ends exactly there and the next starts at the ring's start: the
/// reader gets the first part, then the rest, instead of an empty run (a
/// reader that seemed caught up got nothing more and, once the log was
/// full, every sender waited for it: the room stalled; seen under qemu).
#[test]
fn a_run_ends_at_the_end_of_the_ring() {
    let mut log: Log<16, 8> = Log::new();
    let mut reader = log.tail();
    log.append(ALL, NONE, b"aaaaaa"); // 0..6
    let mut start = reader;
    let n = log.next_run(&mut start, 0).len();
    log.advance(&mut reader, n);
    log.append(ALL, NONE, b"bbbbbbbbbb"); // 6..16: ends where the ring does
    log.append(ALL, NONE, b"cccc"); // 16..20, at the ring's start (evicts "aaaaaa")
    let mut got = Vec::new();
    for _ in 0..4 {
        let run = log.next_run(&mut reader, 0).to_vec();
        if run.is_empty() {
            break;
        }
        log.advance(&mut reader, run.len());
        got.extend(run);
    }
    assert_eq!(got, b"bbbbbbbbbbcccc");
    assert_eq!(log.behind(&reader), Some(0));
}
