//! The chat line framing and the broadcast log, as pure code.

use progs::chatlog::{ALL, Cursor, Log, NONE};
use progs::framing::{Frame, LineBuf, check_framing, sanitize};

fn frames(input: &[&[u8]], max: usize) -> Vec<Result<String, ()>> {
    let mut lb = LineBuf::<32>::new();
    let mut out = Vec::new();
    for chunk in input {
        lb.feed(chunk, max, |f| {
            out.push(match f {
                Frame::Line(l) => Ok(String::from_utf8_lossy(l).into_owned()),
                Frame::TooLong => Err(()),
            })
        });
    }
    out
}

#[test]
fn lines_split_anywhere_come_out_whole() {
    let want = vec![Ok("hello".to_string()), Ok("world".to_string()), Ok(String::new())];
    assert_eq!(frames(&[b"hello\nworld\r\n\n"], 20), want);
    assert_eq!(frames(&[b"hel", b"lo\nwor", b"ld\r", b"\n", b"\n"], 20), want);
    assert_eq!(frames(&[b"partial"], 20), vec![]);
}

#[test]
fn an_overlong_line_is_reported_once_and_skipped_to_its_end() {
    assert_eq!(frames(&[b"0123456789\nok\n"], 5), vec![Err(()), Ok("ok".into())]);
    assert_eq!(frames(&[b"012", b"345", b"6789", b"\nok\n"], 5), vec![Err(()), Ok("ok".into())]);
    // Exactly at the limit, with CRLF, is fine; one more byte is not.
    assert_eq!(frames(&[b"12345\r\n123456\r\n"], 5), vec![Ok("12345".into()), Err(())]);
    // The buffer bound wins over a larger limit.
    assert_eq!(frames(&[&[b'a'; 40], b"\n"], 1000), vec![Err(())]);
}

#[test]
fn sanitize_replaces_controls_but_keeps_tab_and_utf8() {
    let mut out = [0u8; 32];
    let n = sanitize("a\x1b[31m\tb\x7f\u{e9}".as_bytes(), &mut out);
    assert_eq!(std::str::from_utf8(&out[..n]).unwrap(), "a?[31m\tb?\u{e9}");
}

#[test]
fn the_fuzz_check_holds_on_samples() {
    check_framing(b"");
    check_framing(b"\x05\x01\x02\x03\x04abc\r\ndefghijkl\nm\r\r\nxyz");
    check_framing(&[0u8; 300]);
    check_framing(&[b'\n'; 300]);
    let mut seed = 7u32;
    for _ in 0..2000 {
        let data: Vec<u8> = (0..64)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                b"ab\r\n\x1b"[(seed >> 16) as usize % 5]
            })
            .collect();
        check_framing(&data);
    }
}

#[test]
fn the_log_delivers_in_order_and_skips_what_is_not_addressed() {
    let mut log = Log::<64, 8>::new();
    let (mut a, mut b) = (log.tail(), log.tail());
    log.append(ALL, 0, b"from-a\n"); // not to 0
    log.append(ALL, NONE, b"all\n");
    log.append(1, NONE, b"to-b\n");
    let run = log.next_run(&mut a, 0).to_vec();
    assert_eq!(run, b"all\n");
    log.advance(&mut a, run.len());
    assert!(log.next_run(&mut a, 0).is_empty());
    let run = log.next_run(&mut b, 1).to_vec();
    assert_eq!(run, b"from-a\nall\nto-b\n", "contiguous messages go in one run");
    log.advance(&mut b, 3);
    assert_eq!(log.next_run(&mut b, 1), b"m-a\nall\nto-b\n");
}

#[test]
fn a_reader_left_behind_is_detected() {
    let mut log = Log::<32, 4>::new();
    let slow = log.tail();
    for i in 0..10u8 {
        log.append(ALL, NONE, &[b'0' + i; 7]);
    }
    assert!(log.lost(&slow), "a reader that never advanced has lost messages");
    let mut fast = Cursor { seq: log.tail().seq - 1, off: 0 };
    assert!(!log.lost(&fast));
    assert_eq!(log.next_run(&mut fast, 3), &[b'9'; 7]);
    assert!(!log.append(ALL, NONE, &[0u8; 33]), "a message larger than the log is refused");
}

/// Replays the committed fuzz corpus and regressions of `chat_framing`.
#[test]
fn chat_framing_fuzz_corpus() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut count = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join("chat_framing")) else { continue };
        for e in entries {
            check_framing(&std::fs::read(e.unwrap().path()).unwrap());
            count += 1;
        }
    }
    assert!(count > 0, "no chat_framing corpus");
}

#[test]
fn sanitize_drops_c1_controls_and_invalid_utf8() {
    let mut out = [0u8; 64];
    // U+009B (CSI as a C1 control), a lone 0x9b byte, a truncated sequence.
    let n = sanitize(b"a\xc2\x9b31mb\x9bc\xe2\x82", &mut out);
    assert_eq!(std::str::from_utf8(&out[..n]).unwrap(), "a?31mb?c??");
    // A multi-byte character never comes out cut in half.
    let mut small = [0u8; 2];
    let n = sanitize("a\u{20ac}".as_bytes(), &mut small);
    assert_eq!(&small[..n], b"a");
}
