//! The chat's web side (progs::web), against published vectors: FIPS 180
//! for SHA-1, RFC 4648 for base64, RFC 6455's examples for WebSocket, and
//! request heads as curl (captured) and browsers send them.

use progs::web::http::{self, Head, HttpError};
use progs::web::ws::{self, Decoded, Event, Opcode, Reader, code};
use progs::web::{CSP, PAGE, PAGE_GZ, base64, sha1};
use ws_model::{Ev, feed as run};

/// The `ws_frame` fuzz target's checks: `feed` reads chunks as a server
/// does, `reference` is a plain model (its entry point `run` is unused here).
#[allow(dead_code)]
#[path = "../../fuzz/src/ws_frame.rs"]
mod ws_model;

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

// ------------------------------------------------------------------ SHA-1

#[test]
fn sha1_fips_180_vectors() {
    let cases: [(&[u8], &str); 3] = [
        (b"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (b"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        (
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(hex(&sha1::sha1(input)), want, "{:?}", String::from_utf8_lossy(input));
    }
    let mut s = sha1::Sha1::new();
    for _ in 0..1000 {
        s.update(&[b'a'; 1000]);
    }
    assert_eq!(hex(&s.finish()), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

#[test]
fn sha1_in_pieces_equals_one_shot() {
    let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + i / 13) as u8).collect();
    for len in [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 300] {
        let whole = sha1::sha1(&data[..len]);
        for step in [1, 3, 63, 64, 65] {
            let mut s = sha1::Sha1::new();
            for chunk in data[..len].chunks(step) {
                s.update(chunk);
            }
            assert_eq!(s.finish(), whole, "len {len} step {step}");
        }
    }
}

// ----------------------------------------------------------------- base64

#[test]
fn base64_rfc_4648_vectors() {
    let cases: [(&[u8], &[u8]); 7] = [
        (b"", b""),
        (b"f", b"Zg=="),
        (b"fo", b"Zm8="),
        (b"foo", b"Zm9v"),
        (b"foob", b"Zm9vYg=="),
        (b"fooba", b"Zm9vYmE="),
        (b"foobar", b"Zm9vYmFy"),
    ];
    for (input, want) in cases {
        let mut out = [0u8; 8];
        assert_eq!(base64::encoded_len(input.len()), want.len());
        let n = base64::encode(input, &mut out).unwrap();
        assert_eq!(&out[..n], want);
        // One byte short: refused, not cut.
        if !want.is_empty() {
            assert_eq!(base64::encode(input, &mut out[..want.len() - 1]), None);
        }
    }
    // Every sextet value once: the alphabet of RFC 4648 table 1.
    let all: Vec<u8> = (0..64u32)
        .collect::<Vec<_>>()
        .chunks(4)
        .flat_map(|c| {
            let n = (c[0] << 18) | (c[1] << 12) | (c[2] << 6) | c[3];
            [(n >> 16) as u8, (n >> 8) as u8, n as u8]
        })
        .collect();
    let mut out = [0u8; 64];
    base64::encode(&all, &mut out).unwrap();
    assert_eq!(&out, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
}

#[test]
fn websocket_keys_must_be_16_bytes_of_base64() {
    assert!(base64::key_is_valid(b"dGhlIHNhbXBsZSBub25jZQ=="));
    assert!(base64::key_is_valid(b"x3JJHMbDL1EzLkh9GBhXDw=="));
    assert!(base64::key_is_valid(b"AAAAAAAAAAAAAAAAAAAAAA=="));
    for bad in [
        &b""[..],
        b"dGhlIHNhbXBsZSBub25jZQ=",    // short
        b"dGhlIHNhbXBsZSBub25jZQ===",  // long
        b"dGhlIHNhbXBsZSBub25jZR==",   // non-zero padding bits
        b"dGhlIHNhbXBsZSBub25jZQ",     // unpadded
        b"dGhlIHNhbXBsZSBub25j ZQ=",   // space
        b"dGhlIHNhbXBsZSBub25jZ-==",   // URL-safe alphabet
        b"Zm9vYmFy",                   // 6 bytes
        b"dGhlIHNhbXBsZSBub25jZQ\r\n", // no padding
    ] {
        assert!(!base64::key_is_valid(bad), "{:?}", String::from_utf8_lossy(bad));
    }
}

// -------------------------------------------------------------- WebSocket

#[test]
fn accept_key_rfc_6455_example() {
    assert_eq!(&ws::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

/// A client frame, masked with `mask` (written here independently of the
/// server code; the length in its minimal form unless `len64`).
fn client_frame(b0: u8, payload: &[u8], mask: [u8; 4], len64: bool) -> Vec<u8> {
    let mut f = vec![b0];
    let n = payload.len();
    if len64 {
        f.push(0x80 | 127);
        f.extend_from_slice(&(n as u64).to_be_bytes());
    } else if n < 126 {
        f.push(0x80 | n as u8);
    } else if n < 65536 {
        f.push(0x80 | 126);
        f.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        f.push(0x80 | 127);
        f.extend_from_slice(&(n as u64).to_be_bytes());
    }
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    client_frame(b0, payload, [0x37, 0xfa, 0x21, 0x3d], false)
}

/// `run` on the whole input, and on it cut at every point and in single
/// bytes, with output buffers of one byte and of plenty: all the same.
fn all_splits(input: &[u8], max: usize) -> Vec<Ev> {
    let whole = run(&[input], max, 4096);
    for cut in 0..=input.len() {
        assert_eq!(run(&[&input[..cut], &input[cut..]], max, 4096), whole, "cut at {cut}");
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(run(&bytes, max, 4096), whole, "byte by byte");
    assert_eq!(run(&[input], max, 1), whole, "a one-byte output");
    assert_eq!(ws_model::reference(input, max), whole, "the fuzz target's model");
    whole
}

#[test]
fn rfc_6455_example_frames() {
    // 5.7: a single-frame masked text message "Hello".
    let hello = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    assert_eq!(all_splits(&hello, 100), vec![Ev::Text("Hello".into())]);
    // A masked pong with body "Hello".
    let pong = [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    assert_eq!(all_splits(&pong, 100), vec![Ev::Pong]);
    // The unmasked examples are server frames: what encode_frame writes,
    // and what a server must refuse from a client.
    let mut out = [0u8; 16];
    let n = ws::encode_frame(Opcode::Text, b"Hello", &mut out);
    assert_eq!(&out[..n], &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(all_splits(&out[..n], 100), vec![Ev::Fail(code::PROTOCOL_ERROR)]);
    let n = ws::encode_pong(b"Hello", &mut out);
    assert_eq!(&out[..n], &[0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    // 256 bytes and 64 KiB binary: 16- and 64-bit lengths.
    let n = ws::encode_header(Opcode::Binary, true, 256, &mut out);
    assert_eq!(&out[..n], &[0x82, 0x7E, 0x01, 0x00]);
    let n = ws::encode_header(Opcode::Binary, true, 65536, &mut out);
    assert_eq!(&out[..n], &[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0, 0]);
    let n = ws::encode_header(Opcode::Text, false, 125, &mut out);
    assert_eq!(&out[..n], &[0x01, 125]);
    let n = ws::encode_header(Opcode::Continuation, true, 65535, &mut out);
    assert_eq!(&out[..n], &[0x80, 126, 0xFF, 0xFF]);
    assert_eq!(ws::encode_header(Opcode::Text, true, 126, &mut out[..3]), 0);
    // The fragmented "Hel" + "lo" of 5.7, masked as a client sends it.
    let mut msg = frame(0x01, b"Hel");
    msg.extend(frame(0x80, b"lo"));
    assert_eq!(all_splits(&msg, 100), vec![Ev::Text("Hello".into())]);
}

#[test]
fn lengths_in_all_three_encodings() {
    for len in [0, 1, 125, 126, 127, 1000, 65535, 65536, 70000] {
        let payload: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        let text = String::from_utf8(payload.clone()).unwrap();
        let f = frame(0x81, &payload);
        assert_eq!(run(&[&f], 70000, 1000), vec![Ev::Text(text.clone().into())]);
        // A 64-bit length for a short payload is accepted (lenient).
        let f = client_frame(0x81, &payload, [1, 2, 3, 4], true);
        assert_eq!(run(&[&f], 70000, 1000), vec![Ev::Text(text.into())]);
    }
    // The longest control frame in the longest form inside a message at
    // the limit (the old assembler's buffer once had no room for it).
    let mut s = client_frame(0x01, b"12345", [1, 2, 3, 4], true);
    s.extend(client_frame(0x89, &[b'p'; 125], [5, 6, 7, 8], true));
    s.extend(client_frame(0x80, b"", [5, 6, 7, 8], true));
    assert_eq!(all_splits(&s, 5), vec![Ev::Ping(vec![b'p'; 125]), Ev::Text("12345".into())]);
}

#[test]
fn control_frames_between_fragments_and_several_frames_in_one_read() {
    let mut s = frame(0x01, b"one ");
    s.extend(frame(0x89, b"are you there"));
    s.extend(frame(0x00, b"two "));
    s.extend(frame(0x8A, b""));
    s.extend(frame(0x80, b"three"));
    s.extend(frame(0x81, b""));
    s.extend(frame(0x8A, b"unsolicited: does not replace the ping"));
    s.extend(frame(0x88, &[0x03, 0xE8, b'b', b'y', b'e']));
    s.extend(frame(0x81, b"after close: not read"));
    assert_eq!(
        all_splits(&s, 20),
        vec![
            Ev::Ping(b"are you there".to_vec()),
            Ev::Pong,
            Ev::Text("one two three".into()),
            Ev::Text(Vec::new()),
            Ev::Pong,
            Ev::Close(1000),
        ]
    );
    // A pong's payload is skipped: the ping to answer stays.
    let s = [frame(0x89, b"p1"), frame(0x8A, b"other")].concat();
    let mut r = Reader::new();
    let mut out = [0u8; 8];
    let mut rest = &s[..];
    loop {
        let p = r.read(rest, &mut out, 10).unwrap();
        rest = &rest[p.used..];
        if p.event == Event::Pong {
            break;
        }
        assert!(p.used > 0, "stuck before the pong");
    }
    assert_eq!(r.ping(), Some(&b"p1"[..]));
    r.answered();
    assert_eq!(r.ping(), None);
}

#[test]
fn binary_messages_are_refused_with_1003() {
    assert_eq!(all_splits(&frame(0x82, b"\xff"), 100), vec![Ev::Fail(code::UNSUPPORTED)]);
    let s = [frame(0x81, b"ok"), frame(0x02, &[9]), frame(0x80, &[8])].concat();
    assert_eq!(all_splits(&s, 100), vec![Ev::Text("ok".into()), Ev::Fail(code::UNSUPPORTED)]);
}

#[test]
fn protocol_errors_fail_with_1002() {
    let p = code::PROTOCOL_ERROR;
    let mut unmasked = frame(0x81, b"hi");
    unmasked[1] &= 0x7F;
    let mut top_bit = vec![0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1];
    top_bit.extend([0; 4]);
    let long_ping = frame(0x89, &[0; 126]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("unmasked", unmasked),
        ("RSV1", frame(0xC1, b"hi")),
        ("RSV2", frame(0xA1, b"hi")),
        ("RSV3", frame(0x91, b"hi")),
        ("opcode 3", frame(0x83, b"")),
        ("opcode 7", frame(0x87, b"")),
        ("opcode B", frame(0x8B, b"")),
        ("opcode F", frame(0x8F, b"")),
        ("fragmented ping", frame(0x09, b"")),
        ("fragmented close", frame(0x08, b"")),
        ("ping over 125", long_ping),
        ("64-bit length, top bit", top_bit),
        ("continuation first", frame(0x80, b"x")),
        ("text inside text", [frame(0x01, b"a"), frame(0x81, b"b")].concat()),
        ("binary inside text", [frame(0x01, b"a"), frame(0x82, b"b")].concat()),
        ("continuation after end", [frame(0x81, b"a"), frame(0x80, b"b")].concat()),
        ("close with 1 byte", frame(0x88, &[3])),
    ];
    for (name, input) in cases {
        let got = all_splits(&input, 200);
        assert_eq!(got.last(), Some(&Ev::Fail(p)), "{name}");
    }
    // A ping of exactly 125 bytes is fine.
    assert_eq!(all_splits(&frame(0x89, &[7; 125]), 10), vec![Ev::Ping(vec![7; 125])]);
}

#[test]
fn close_codes() {
    let close = |c: u16, reason: &[u8]| {
        let mut p = c.to_be_bytes().to_vec();
        p.extend_from_slice(reason);
        all_splits(&frame(0x88, &p), 10)
    };
    assert_eq!(all_splits(&frame(0x88, b""), 10), vec![Ev::Close(1005)]);
    for ok in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999] {
        assert_eq!(close(ok, b""), vec![Ev::Close(ok)], "{ok}");
    }
    // The invalid ones of the Autobahn test suite (7.9.x) but 1012-1014,
    // which IANA has since registered.
    for bad in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
        assert_eq!(close(bad, b""), vec![Ev::Fail(code::PROTOCOL_ERROR)], "{bad}");
    }
    assert_eq!(close(1000, "κόσμε".as_bytes()), vec![Ev::Close(1000)]);
    assert_eq!(close(1000, b"\xce\xba\xe1\xbd"), vec![Ev::Fail(code::INVALID_DATA)]);
}

#[test]
fn text_must_be_utf8_even_split_across_fragments() {
    // Autobahn 6.2.3/6.2.4: valid UTF-8 fragmented at every byte.
    let text = "Hello-µ@ßöäüàá-UTF-8!!".as_bytes();
    for cut in 1..text.len() {
        let s = [frame(0x01, &text[..cut]), frame(0x80, &text[cut..])].concat();
        assert_eq!(run(&[&s], 100, 300), vec![Ev::Text("Hello-µ@ßöäüàá-UTF-8!!".into())]);
    }
    let mut each: Vec<u8> = frame(0x01, &text[..1]);
    for b in &text[1..text.len() - 1] {
        each.extend(frame(0x00, &[*b]));
    }
    each.extend(frame(0x80, &text[text.len() - 1..]));
    assert_eq!(all_splits(&each, 100), vec![Ev::Text("Hello-µ@ßöäüàá-UTF-8!!".into())]);
    // Autobahn 6.3.1: κόσμε followed by an encoded surrogate, then "edited".
    let bad = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64";
    assert_eq!(all_splits(&frame(0x81, bad), 100), vec![Ev::Fail(code::INVALID_DATA)]);
    // Found at the fragment that has it, before the message ends: the
    // second fragment would be too big, but 1007 comes first.
    let s = [frame(0x01, &bad[..14]), frame(0x80, &[b'x'; 100])].concat();
    assert_eq!(all_splits(&s, 100), vec![Ev::Fail(code::INVALID_DATA)]);
    // A character cut off by the end of the message.
    assert_eq!(all_splits(&frame(0x81, b"ok \xe2\x82"), 100), vec![Ev::Fail(code::INVALID_DATA)]);
    let s = [frame(0x01, b"ok \xe2\x82"), frame(0x80, b"")].concat();
    assert_eq!(all_splits(&s, 100), vec![Ev::Fail(code::INVALID_DATA)]);
    // Found at the byte that has it, before its frame has all come: the
    // stream cut after that byte fails the same.
    let f = frame(0x81, b"abc\xffdef");
    assert_eq!(run(&[&f[..10]], 100, 64), vec![Ev::Fail(code::INVALID_DATA)]);
}

#[test]
fn messages_over_the_limit_fail_with_1009() {
    let t = code::TOO_BIG;
    assert_eq!(all_splits(&frame(0x81, &[b'a'; 10]), 10), vec![Ev::Text("a".repeat(10).into())]);
    assert_eq!(all_splits(&frame(0x81, &[b'a'; 11]), 10), vec![Ev::Fail(t)]);
    // Summed over fragments, control frames not counted.
    let s = [frame(0x01, b"12345"), frame(0x89, &[0; 125]), frame(0x80, b"12345")].concat();
    assert_eq!(all_splits(&s, 10), vec![Ev::Ping(vec![0; 125]), Ev::Text("1234512345".into())]);
    let s = [frame(0x01, b"12345"), frame(0x00, b"12345"), frame(0x80, b"1")].concat();
    assert_eq!(all_splits(&s, 10), vec![Ev::Fail(t)]);
    // Refused from the header alone: the 2^62 bytes never have to come.
    let mut huge = vec![0x81, 0xFF, 0x40, 0, 0, 0, 0, 0, 0, 0];
    huge.extend([1, 2, 3, 4]);
    assert_eq!(all_splits(&huge, 10), vec![Ev::Fail(t)]);
    // The output may be smaller than a message: it goes out in pieces.
    assert_eq!(run(&[&frame(0x81, &[b'a'; 50])], 100, 7), vec![Ev::Text("a".repeat(50).into())]);
}

#[test]
fn decode_header_reports_need_more_until_complete() {
    let f = client_frame(0x82, &[5; 300], [9, 8, 7, 6], true);
    for cut in 0..14 {
        assert_eq!(ws::decode_header(&f[..cut]), Decoded::NeedMore, "{cut}");
    }
    let Decoded::Frame(h) = ws::decode_header(&f[..14]) else { panic!() };
    assert_eq!(
        (h.fin, h.opcode, h.mask, h.len, h.header_len),
        (true, Opcode::Binary, [9, 8, 7, 6], 300, 14)
    );
    // Errors visible in the first two bytes are reported at once.
    assert_eq!(ws::decode_header(&[0x81, 0x05]), Decoded::Error(code::PROTOCOL_ERROR));
    assert_eq!(ws::decode_header(&[0xF1, 0x85]), Decoded::Error(code::PROTOCOL_ERROR));
}

#[test]
fn server_close_and_pong_frames() {
    let mut out = [0u8; 200];
    let n = ws::encode_close(1000, b"", &mut out);
    assert_eq!(&out[..n], &[0x88, 0x02, 0x03, 0xE8]);
    let n = ws::encode_close(code::NO_STATUS, b"ignored", &mut out);
    assert_eq!(&out[..n], &[0x88, 0x00]);
    let n = ws::encode_close(1009, b"too long", &mut out);
    assert_eq!(&out[..n], b"\x88\x0a\x03\xf1too long");
    // A long reason is cut to 123 bytes, not inside a character.
    let reason = "é".repeat(100);
    let n = ws::encode_close(1001, reason.as_bytes(), &mut out);
    assert_eq!((out[1], n), (2 + 122, 2 + 2 + 122));
    assert!(std::str::from_utf8(&out[4..n]).is_ok());
    assert_eq!(ws::encode_close(1000, b"", &mut out[..3]), 0);
    let n = ws::encode_pong(&[1; 200], &mut out);
    assert_eq!((out[0], out[1], n), (0x8A, 125, 127));
}

#[test]
fn per_client_state_is_small() {
    // A header, a control frame's payload, counters: no data buffer.
    assert!(
        std::mem::size_of::<Reader>() <= 14 + 125 + 4 + 48,
        "{}",
        std::mem::size_of::<Reader>()
    );
}

// ------------------------------------------------------------------- HTTP

const CURL_GET: &[u8] =
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1:38129\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";

// CHROME_WS and FIREFOX_WS are hand-written, in the form those browsers
// send over plain http to a LAN address and to a name; the heads captured
// from real browsers are checked by `real_request_heads`.
const CHROME_WS: &[u8] = b"GET /ws HTTP/1.1\r\n\
Host: 192.168.1.1:8080\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: http://192.168.1.1:8080\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

const FIREFOX_WS: &[u8] = b"GET /ws HTTP/1.1\r\n\
Host: router.lan:8080\r\n\
User-Agent: Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0\r\n\
Accept: */*\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate\r\n\
Sec-WebSocket-Version: 13\r\n\
Origin: http://router.lan:8080\r\n\
Sec-WebSocket-Extensions: permessage-deflate\r\n\
Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n\
Connection: keep-alive, Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
Upgrade: websocket\r\n\r\n";

fn head(buf: &[u8]) -> Head<'_> {
    http::parse(buf, 4096).unwrap().unwrap()
}

#[test]
fn sample_heads_and_named_hosts() {
    let h = head(CURL_GET);
    assert_eq!(
        (h.method, h.path, h.minor, h.host),
        (&b"GET"[..], &b"/"[..], 1, Some(&b"127.0.0.1:38129"[..]))
    );
    assert_eq!(
        (h.origin, h.upgrade_websocket, h.connection_upgrade, h.ws_key),
        (None, false, false, None)
    );
    assert_eq!(h.head_len, CURL_GET.len());
    assert!(h.method_allowed());
    assert_eq!(http::upgrade_check(&h, &[], &[]), Err(400));

    let h = head(CHROME_WS);
    assert_eq!(h.path, b"/ws");
    assert!(h.upgrade_websocket && h.connection_upgrade);
    assert_eq!(
        (h.ws_key, h.ws_version),
        (Some(&b"dGhlIHNhbXBsZSBub25jZQ=="[..]), Some(&b"13"[..]))
    );
    assert_eq!(http::upgrade_check(&h, &[], &[]), Ok(&b"dGhlIHNhbXBsZSBub25jZQ=="[..]));

    let h = head(FIREFOX_WS);
    assert!(h.upgrade_websocket && h.connection_upgrade);
    assert_eq!(h.origin, Some(&b"http://router.lan:8080"[..]));
    // A name is trusted only when the server knows it (DNS rebinding).
    assert_eq!(http::upgrade_check(&h, &[], &[]), Err(403));
    assert_eq!(
        http::upgrade_check(&h, &[b"Router.LAN"], &[]),
        Ok(&b"x3JJHMbDL1EzLkh9GBhXDw=="[..])
    );
}

/// The captured heads every corpus must have: who sent them, whether to
/// the machine's LAN address (`_lan_`) rather than 127.0.0.1, and which
/// request (`get`: GET /, `ws`: the /ws upgrade).
const CAPTURED: [(&str, bool, &str); 10] = [
    ("curl", false, "get"),
    ("curl", false, "ws"),
    ("chromium", false, "get"),
    ("chromium", false, "ws"),
    ("chromium", true, "get"),
    ("chromium", true, "ws"),
    ("firefox", false, "get"),
    ("firefox", false, "ws"),
    ("firefox", true, "get"),
    ("firefox", true, "ws"),
];

/// Checks one captured head (`name`, a file of fuzz/corpus/http_head/).
fn check_captured(name: &str, data: &[u8], from: &str, lan: bool, kind: &str) {
    // The fuzz input: head limit 1021 and three cut points, then the head.
    let (prefix, raw) = data.split_at(4);
    assert_eq!(prefix, [255, 5, 40, 200], "{name}: fuzz prefix");
    let h = http::parse(raw, 4096).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let h = h.unwrap_or_else(|| panic!("{name}: incomplete"));
    assert_eq!(http::parse(raw, 1021), Ok(Some(h)), "{name}: over the seed's limit");
    assert_eq!((h.method, h.minor, h.head_len), (&b"GET"[..], 1, raw.len()), "{name}");
    let host = h.host.unwrap_or_else(|| panic!("{name}: no Host"));
    assert_eq!(!host.starts_with(b"127.0.0.1:"), lan, "{name}: Host {host:?}");
    if kind == "get" {
        assert_eq!(h.path, b"/", "{name}");
        // Browsers list gzip; curl, without --compressed, sends nothing,
        // which accepts any coding. Either way the page may go gzip-coded.
        let listed = if from == "curl" { None } else { Some(true) };
        assert_eq!((h.accept_gzip, h.gzip_ok()), (listed, true), "{name}");
        assert!(!h.upgrade_websocket && !h.connection_upgrade, "{name}");
        assert_eq!((h.ws_key, h.ws_version), (None, None), "{name}");
        assert_eq!(http::upgrade_check(&h, &[], &[]), Err(400), "{name}");
        return;
    }
    assert_eq!(h.path, b"/ws", "{name}");
    assert!(h.upgrade_websocket && h.connection_upgrade, "{name}");
    let key = h.ws_key.unwrap_or_else(|| panic!("{name}: no key"));
    assert!(key.len() == 24 && base64::key_is_valid(key), "{name}: key {key:?}");
    assert_eq!(h.ws_version, Some(&b"13"[..]), "{name}");
    // A browser names the page's origin; curl, told no Origin, sends none.
    let own = [&b"http://"[..], host].concat();
    let origin = if from == "curl" { None } else { Some(&own[..]) };
    assert_eq!(h.origin, origin, "{name}");
    assert_eq!(http::upgrade_check(&h, &[], &[]), Ok(key), "{name}");
}

#[test]
fn real_request_heads() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/http_head");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut seen = [0usize; CAPTURED.len()];
    for name in &names {
        let Some(from) = ["curl", "chromium", "firefox"]
            .into_iter()
            .find(|b| name.strip_prefix(b).is_some_and(|r| r.starts_with('_')))
        else {
            continue;
        };
        let lan = name.contains("_lan_");
        let kind = ["get", "ws"]
            .into_iter()
            .find(|k| name.strip_suffix(k).is_some_and(|r| r.ends_with('_')))
            .unwrap_or_else(|| panic!("{name}: neither _get nor _ws"));
        let i = CAPTURED.iter().position(|&c| c == (from, lan, kind));
        let i = i.unwrap_or_else(|| panic!("{name}: not a kind of CAPTURED"));
        seen[i] += 1;
        check_captured(name, &std::fs::read(dir.join(name)).unwrap(), from, lan, kind);
    }
    for (c, n) in CAPTURED.iter().zip(seen) {
        assert!(n > 0, "no captured head {c:?} in {}", dir.display());
    }
}

#[test]
fn head_arrives_in_pieces_and_pipelined_bytes_follow() {
    let mut stream = CHROME_WS.to_vec();
    stream.extend(frame(0x81, b"early"));
    for cut in 0..CHROME_WS.len() {
        assert_eq!(http::parse(&stream[..cut], 4096), Ok(None), "{cut}");
    }
    for cut in CHROME_WS.len()..=stream.len() {
        assert_eq!(http::parse(&stream[..cut], 4096).unwrap().unwrap().head_len, CHROME_WS.len());
    }
    // LF-only line ends are accepted.
    let lf = b"GET /x?y=1 HTTP/1.0\nHost: a\n\nrest";
    let h = head(lf);
    assert_eq!((h.path, h.minor, h.head_len), (&b"/x?y=1"[..], 0, lf.len() - 4));
    // HTTP/1.0 needs no Host.
    assert_eq!(head(b"HEAD / HTTP/1.0\r\n\r\n").method, b"HEAD");
}

#[test]
fn limits_431() {
    assert_eq!(http::parse(&CURL_GET[..40], 40), Err(HttpError::TooLarge));
    assert_eq!(http::parse(&CURL_GET[..39], 40), Ok(None));
    assert_eq!(http::parse(CURL_GET, CURL_GET.len()).unwrap().unwrap().head_len, CURL_GET.len());
    assert_eq!(http::parse(CURL_GET, CURL_GET.len() - 1), Err(HttpError::TooLarge));
    assert_eq!(HttpError::TooLarge.status(), 431);
}

#[test]
fn malformed_heads_400() {
    let bad: &[&[u8]] = &[
        b"\r\n\r\n",
        b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
        b"GET /\r\nHost: a\r\n\r\n",
        b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
        b"GET / http/1.1\r\nHost: a\r\n\r\n",
        b"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
        b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
        b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nOrigin: x\r\norigin: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: a\r\n b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\x00\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n: empty name\r\n\r\n",
        b"GET / HTTP/1.1\r\r\nHost: a\r\n\r\n",
    ];
    for b in bad {
        assert_eq!(
            http::parse(b, 4096),
            Err(HttpError::BadRequest),
            "{:?}",
            String::from_utf8_lossy(b)
        );
    }
    assert_eq!(HttpError::BadRequest.status(), 400);
    // Allowed: Content-Length 0, values with inner spaces and UTF-8, any method token.
    let h = head(b"POST /p HTTP/1.1\r\nhOsT:  a \r\nContent-Length: 0\r\nX: \xc3\xa9 t\r\n\r\n");
    assert_eq!((h.method, h.host), (&b"POST"[..], Some(&b"a"[..])));
    assert!(!h.method_allowed());
}

fn upgrade(extra: &str) -> Vec<u8> {
    format!(
        "GET /ws HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    )
    .into_bytes()
}

#[test]
fn upgrade_checks() {
    let check = |extra: &str| {
        let buf = upgrade(extra);
        let h = head(&buf);
        http::upgrade_check(&h, &[b"router.lan"], &[b"https://chat.example"]).map(|k| k.to_vec())
    };
    let key = Ok(b"dGhlIHNhbXBsZSBub25jZQ==".to_vec());
    assert_eq!(check("Sec-WebSocket-Version: 13\r\n"), key);
    assert_eq!(check("Sec-WebSocket-Version: 13\r\nOrigin: http://10.0.0.1:8080\r\n"), key);
    assert_eq!(check("Sec-WebSocket-Version: 13\r\nOrigin: HTTPS://10.0.0.1:8080\r\n"), key);
    assert_eq!(check("Sec-WebSocket-Version: 13\r\nOrigin: https://chat.example\r\n"), key);
    assert_eq!(check("Sec-WebSocket-Version: 13\r\nOrigin: http://evil.example\r\n"), Err(403));
    assert_eq!(check("Sec-WebSocket-Version: 13\r\nOrigin: http://10.0.0.1\r\n"), Err(403));
    assert_eq!(check("Sec-WebSocket-Version: 13\r\nOrigin: null\r\n"), Err(403));
    assert_eq!(check("Sec-WebSocket-Version: 8\r\n"), Err(426));
    assert_eq!(check(""), Err(426));
    let no_key = b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
    assert_eq!(http::upgrade_check(&head(no_key), &[], &[]), Err(400));
    let post = b"POST /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n";
    assert_eq!(http::upgrade_check(&head(post), &[], &[]), Err(405));
    // Host: IP literals and localhost are always this server; names must
    // be listed (an attacker's name resolved to us otherwise passes).
    for (host, ok) in [
        (&b"192.168.1.1"[..], true),
        (b"192.168.1.1:80", true),
        (b"[fe80::1]:8080", true),
        (b"[::1]", true),
        (b"localhost:8080", true),
        (b"LOCALHOST", true),
        (b"router.lan", true),
        (b"ROUTER.lan:8080", true),
        (b"evil.example", false),
        (b"evil.example:8080", false),
        // Digits and dots: never resolved by a browser (WHATWG URL host
        // parsing takes them as IPv4).
        (b"1.2.3", true),
        (b"10.0.0.1:8080", true),
        (b"1.2.3.4.evil", false),
        (b"[]", false),
        (b"[::1]:x", false),
        (b"a:b", false),
        (b"router.lan:80x", false),
        (b"[::1]x", false),
        (b"", false),
    ] {
        assert_eq!(
            http::host_is_trusted(host, &[b"router.lan"]),
            ok,
            "{:?}",
            String::from_utf8_lossy(host)
        );
    }
}

#[test]
fn responses() {
    let mut out = [0u8; 1024];
    let n = http::switching_protocols(b"dGhlIHNhbXBsZSBub25jZQ==", &mut out);
    assert_eq!(
        &out[..n],
        &b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
           Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"[..]
    );
    assert_eq!(http::switching_protocols(b"dGhlIHNhbXBsZSBub25jZQ==", &mut out[..n - 1]), 0);
    let text = std::str::from_utf8(&http::PAGE_HEAD).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(text.contains(&format!("\r\nContent-Length: {}\r\n", PAGE_GZ.len())));
    assert!(text.contains("\r\nContent-Encoding: gzip\r\n"));
    assert!(text.contains(&format!(
        "\r\nContent-Security-Policy: {}\r\n",
        std::str::from_utf8(CSP).unwrap()
    )));
    assert!(text.contains("\r\nX-Content-Type-Options: nosniff\r\n"));
    assert!(text.ends_with("\r\n\r\n"));
    for (status, line) in [
        (400, "400 Bad Request"),
        (403, "403 Forbidden"),
        (404, "404 Not Found"),
        (405, "405 Method Not Allowed"),
        (406, "406 Not Acceptable"),
        (426, "426 Upgrade Required"),
        (431, "431 Request Header Fields Too Large"),
        (999, "500 Internal Server Error"),
    ] {
        let n = http::error_response(status, false, &mut out);
        let text = std::str::from_utf8(&out[..n]).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with(&format!("HTTP/1.1 {line}\r\n")), "{head}");
        assert_eq!(body, format!("{line}\n"));
        assert!(head.contains(&format!("\r\nContent-Length: {}\r\n", body.len())));
        assert!(head.ends_with("\r\nConnection: close"));
        assert_eq!(head.contains("Sec-WebSocket-Version: 13"), status == 426);
        assert_eq!(head.contains("Allow: GET, HEAD"), status == 405);
        let head_len = head.len() + 4;
        assert_eq!(http::error_response(status, true, &mut out), head_len);
    }
    assert_eq!(http::error_response(400, false, &mut out[..10]), 0);
}

// ------------------------------------------------------------------- page

/// SHA-256 (FIPS 180-4), for the page's CSP hashes; test code only.
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes(block[i * 4..i * 4 + 4].try_into().unwrap());
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let [a, b, c, d, e, f, g, hh] = v;
            let t1 = hh
                .wrapping_add(e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25))
                .wrapping_add((e & f) ^ (!e & g))
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let t2 = (a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22))
                .wrapping_add((a & b) ^ (a & c) ^ (b & c));
            v = [t1.wrapping_add(t2), a, b, c, d.wrapping_add(t1), e, f, g];
        }
        for (h, v) in h.iter_mut().zip(v) {
            *h = h.wrapping_add(v);
        }
    }
    let mut out = [0u8; 32];
    for (o, h) in out.chunks_mut(4).zip(h) {
        o.copy_from_slice(&h.to_be_bytes());
    }
    out
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> &'a str {
    let start = s.find(open).unwrap() + open.len();
    &s[start..start + s[start..].find(close).unwrap()]
}

#[test]
fn page_csp_hashes_match() {
    // FIPS 180-2 SHA-256 vectors, so the hashes below can be trusted.
    assert_eq!(
        hex(&sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex(&sha256(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
    let page = std::str::from_utf8(PAGE).unwrap();
    let csp = std::str::from_utf8(CSP).unwrap();
    for (tag, directive) in [("script", "script-src"), ("style", "style-src")] {
        assert_eq!(page.matches(&format!("<{tag}")).count(), 1, "one <{tag}>");
        let body = between(page, &format!("<{tag}>"), &format!("</{tag}>"));
        let mut b64 = [0u8; 44];
        base64::encode(&sha256(body.as_bytes()), &mut b64).unwrap();
        let want = format!("{directive} 'sha256-{}';", std::str::from_utf8(&b64).unwrap());
        assert!(csp.contains(&want), "put `{want}` in web::CSP");
    }
}

/// The deflate stream of the gzip member `gz`, checked against RFC 1952's
/// fixed header (no optional fields: the build script writes none) and
/// its CRC-32 and length, then inflated.
fn gunzip(gz: &[u8]) -> Vec<u8> {
    assert_eq!(gz[..4], [0x1f, 0x8b, 8, 0], "magic, deflate, no flags");
    let (body, trailer) = gz[10..].split_at(gz.len() - 18);
    let data = miniz_oxide::inflate::decompress_to_vec(body).expect("valid deflate");
    let crc = data.iter().fold(!0u32, |mut c, &b| {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = (c >> 1) ^ (0xEDB8_8320 & (c & 1).wrapping_neg());
        }
        c
    });
    assert_eq!(trailer[..4], (!crc).to_le_bytes(), "CRC-32");
    assert_eq!(trailer[4..], (data.len() as u32).to_le_bytes(), "ISIZE");
    data
}

#[test]
fn the_page_is_sent_gzip_coded() {
    assert_eq!(gunzip(PAGE_GZ), PAGE);
    assert!(PAGE_GZ.len() * 10 < PAGE.len() * 6, "{} of {} bytes", PAGE_GZ.len(), PAGE.len());
    // gunzip's own CRC-32 is checked too, on the standard check value:
    // the CRC-32 of "123456789" is 0xCBF43926.
    let check = miniz_oxide::deflate::compress_to_vec(b"123456789", 6);
    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    gz.extend(check);
    gz.extend(0xCBF4_3926u32.to_le_bytes());
    gz.extend(9u32.to_le_bytes());
    assert_eq!(gunzip(&gz), b"123456789");
}

#[test]
fn accept_encoding_decides_whether_the_page_may_go() {
    let cases: [(&str, Option<bool>); 14] = [
        ("", None),
        ("Accept-Encoding: gzip, deflate, br, zstd\r\n", Some(true)),
        ("Accept-Encoding: deflate, gzip\r\n", Some(true)),
        ("Accept-Encoding: GZIP\r\n", Some(true)),
        ("Accept-Encoding: x-gzip\r\n", Some(true)),
        ("Accept-Encoding: *\r\n", Some(true)),
        ("Accept-Encoding: gzip;q=0.5, identity\r\n", Some(true)),
        ("Accept-Encoding: gzip ; q=0.001\r\n", Some(true)),
        ("Accept-Encoding: identity\r\n", Some(false)),
        ("Accept-Encoding: \r\n", Some(false)),
        ("Accept-Encoding: gzip;q=0\r\n", Some(false)),
        ("Accept-Encoding: br, gzip; Q=0.000\r\n", Some(false)),
        ("Accept-Encoding: gzipx, agzip\r\n", Some(false)),
        // Lists over several lines combine.
        ("Accept-Encoding: br\r\nAccept-Encoding: gzip\r\n", Some(true)),
    ];
    for (field, want) in cases {
        let req = format!("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n{field}\r\n");
        let h = head(req.as_bytes());
        assert_eq!((h.accept_gzip, h.gzip_ok()), (want, want != Some(false)), "{field:?}");
    }
}

#[test]
fn page_is_small_and_safe() {
    let page = std::str::from_utf8(PAGE).unwrap();
    assert!(PAGE.len() < 4096, "{} bytes", PAGE.len());
    assert!(!page.contains("innerHTML") && !page.contains("eval("));
    for external in ["src=", "href=", "url(", "@import", "http://", "https://"] {
        assert!(!page.contains(external), "no external resource: {external}");
    }
    assert!(page.contains("textContent"));
    assert!(page.contains("\"/ws\""));
}

#[test]
fn in_message_until_its_last_fragment() {
    let mut r = Reader::new();
    let mut out = [0u8; 64];
    assert!(!r.in_message());
    let p = r.read(&frame(0x01, b"half"), &mut out, 20).unwrap();
    assert_eq!((p.wrote, p.event, &out[..4]), (4, Event::More, &b"half"[..]));
    assert!(r.in_message(), "a message is partly received");
    let p = r.read(&frame(0x80, b"!"), &mut out, 20).unwrap();
    assert_eq!((p.wrote, p.event, out[0]), (1, Event::End, b'!'));
    assert!(!r.in_message());
}

#[test]
fn server_full_frames_are_what_the_encoders_make() {
    let mut out = [0u8; 64];
    let n = ws::encode_frame(Opcode::Text, b"error: server full\n", &mut out);
    let m = ws::encode_close(1013, b"", &mut out[n..]);
    assert_eq!(&out[..n + m], ws::SERVER_FULL);
}
