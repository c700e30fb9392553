//! Fuzz target `ws_frame`: the chat's WebSocket reader
//! (`progs::web::ws::Reader`). The first input byte picks the message
//! limit and the output buffer's size, the next three pick where the
//! stream is cut, the rest is what the client sent. Checked: no panic; no
//! call that takes nothing, writes nothing and reports nothing while input
//! is left; the stream fed whole, cut at those points, byte by byte (when
//! short) and into a tiny output buffer gives the same messages and error;
//! a plain decoder over the whole stream, written here with `std`, agrees;
//! the server's frames of what came back decode to the same payloads.

use progs::web::ws::{self, Event, Opcode, Reader, code};

/// What the reader reported, owned (programs/tests/web.rs uses this
/// module's `feed` and `reference` too).
#[derive(Debug, PartialEq, Eq, Clone)]
pub enum Ev {
    Text(Vec<u8>),
    Ping(Vec<u8>),
    Pong,
    Close(u16),
    Fail(u16),
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((&m, rest)) = data.split_first() else { return };
    let max = usize::from(m) % 160;
    let (cuts, stream) = rest.split_at(rest.len().min(3));
    let whole = feed(&[stream], max, 4096);
    let mut pieces: Vec<&[u8]> = Vec::new();
    let mut at = 0;
    for &c in cuts {
        let next = (at + usize::from(c)).min(stream.len());
        pieces.push(&stream[at..next]);
        at = next;
    }
    pieces.push(&stream[at..]);
    assert_eq!(feed(&pieces, max, 4096), whole, "cut at {cuts:?}");
    if stream.len() <= 300 {
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(feed(&bytes, max, 4096), whole, "byte by byte");
    }
    let small = 1 + usize::from(m) % 7;
    assert_eq!(feed(&pieces, max, small), whole, "a {small}-byte output");
    assert_eq!(reference(stream, max), whole, "the model disagrees");
    for ev in &whole {
        echo(ev);
    }
}

/// What a server does: read each piece as it comes, into an output
/// buffer of `cap` bytes emptied after each call.
pub fn feed(chunks: &[&[u8]], max: usize, cap: usize) -> Vec<Ev> {
    let mut r = Reader::new();
    let mut out = vec![0u8; cap];
    let (mut evs, mut text) = (Vec::new(), Vec::new());
    for chunk in chunks {
        let mut rest = *chunk;
        loop {
            let p = match r.read(rest, &mut out, max) {
                Ok(p) => p,
                Err(c) => {
                    evs.push(Ev::Fail(c));
                    assert_eq!(r.read(b"\x81\x80", &mut out, max), Err(c), "errors stick");
                    return evs;
                }
            };
            assert!(p.used <= rest.len() && p.wrote <= cap);
            rest = &rest[p.used..];
            text.extend_from_slice(&out[..p.wrote]);
            assert!(text.len() <= max, "a message over the limit");
            match p.event {
                Event::More if rest.is_empty() => break,
                Event::More => assert!(p.used > 0 || p.wrote > 0, "stuck"),
                Event::End => {
                    assert!(std::str::from_utf8(&text).is_ok() && !r.in_message());
                    evs.push(Ev::Text(std::mem::take(&mut text)));
                }
                Event::Ping => evs.push(Ev::Ping(r.ping().expect("a ping to answer").to_vec())),
                Event::Pong => evs.push(Ev::Pong),
                Event::Close(c) => {
                    evs.push(Ev::Close(c));
                    // The server answers and closes: nothing more is read.
                    assert_eq!(r.read(rest, &mut out, max).map(|p| p.used), Ok(0));
                    return evs;
                }
            }
            assert!(text.is_empty() || r.in_message(), "text outside a message");
        }
    }
    evs
}

/// RFC 6455 5.2 for a whole stream of client frames, plainly, with the
/// reader's choices: text only (binary fails with 1003 once its header
/// is whole), text checked as UTF-8 as far as it has arrived.
pub fn reference(s: &[u8], max: usize) -> Vec<Ev> {
    let mut out = Vec::new();
    let mut pos = 0;
    // The text message in progress.
    let mut msg: Option<Vec<u8>> = None;
    loop {
        let rest = &s[pos..];
        if rest.len() < 2 {
            return out;
        }
        let (fin, rsv, op, masked, len7) =
            (rest[0] >> 7 == 1, rest[0] >> 4 & 7, rest[0] & 15, rest[1] >> 7 == 1, rest[1] & 127);
        let control = op >= 8;
        if rsv != 0 || ![0, 1, 2, 8, 9, 10].contains(&op) || !masked || (control && !fin) {
            out.push(Ev::Fail(code::PROTOCOL_ERROR));
            return out;
        }
        let (len, at) = match len7 {
            126 if rest.len() >= 4 => (u64::from(u16::from_be_bytes([rest[2], rest[3]])), 4),
            127 if rest.len() >= 10 => (u64::from_be_bytes(rest[2..10].try_into().unwrap()), 10),
            126 | 127 => return out,
            n => (u64::from(n), 2),
        };
        if len >= 1 << 63 || (control && len > 125) {
            out.push(Ev::Fail(code::PROTOCOL_ERROR));
            return out;
        }
        if rest.len() < at + 4 {
            return out;
        }
        let mask = &rest[at..at + 4];
        let fail = match (op, &msg) {
            (0, None) | (1 | 2, Some(_)) => Some(code::PROTOCOL_ERROR),
            (2, None) => Some(code::UNSUPPORTED),
            (0 | 1, m) if m.as_ref().map_or(0, Vec::len) as u64 + len > max as u64 => {
                Some(code::TOO_BIG)
            }
            _ => None,
        };
        if let Some(c) = fail {
            out.push(Ev::Fail(c));
            return out;
        }
        let len = len as usize;
        let have = len.min(rest.len() - at - 4);
        let payload: Vec<u8> =
            rest[at + 4..at + 4 + have].iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect();
        if !control {
            let mut bytes = msg.take().unwrap_or_default();
            bytes.extend_from_slice(&payload);
            if let Err(e) = std::str::from_utf8(&bytes) {
                // Invalid already, or (at the message's end) cut short.
                if e.error_len().is_some() || (fin && have == len) {
                    out.push(Ev::Fail(code::INVALID_DATA));
                    return out;
                }
            }
            if have < len {
                return out;
            }
            if fin {
                out.push(Ev::Text(bytes));
            } else {
                msg = Some(bytes);
            }
        } else if have < len {
            return out;
        } else if op == 9 {
            out.push(Ev::Ping(payload));
        } else if op == 10 {
            out.push(Ev::Pong);
        } else {
            out.push(match payload.len() {
                0 => Ev::Close(code::NO_STATUS),
                1 => Ev::Fail(code::PROTOCOL_ERROR),
                _ => {
                    let c = u16::from_be_bytes([payload[0], payload[1]]);
                    let valid = (1000..=1003).contains(&c)
                        || (1007..=1014).contains(&c)
                        || (3000..5000).contains(&c);
                    if !valid {
                        Ev::Fail(code::PROTOCOL_ERROR)
                    } else if std::str::from_utf8(&payload[2..]).is_err() {
                        Ev::Fail(code::INVALID_DATA)
                    } else {
                        Ev::Close(c)
                    }
                }
            });
            return out;
        }
        pos += at + 4 + len;
    }
}

/// The server's frame for what came in (a pong for a ping, an echo of a
/// message, a close echoing the code) reads back as the same payload.
fn echo(ev: &Ev) {
    let mut out = vec![0u8; 200];
    let (n, op, payload) = match ev {
        Ev::Ping(p) => (ws::encode_pong(p, &mut out), Opcode::Pong, p.clone()),
        Ev::Text(t) => (ws::encode_frame(Opcode::Text, t, &mut out), Opcode::Text, t.clone()),
        Ev::Close(c) => {
            let p = if *c == code::NO_STATUS { Vec::new() } else { c.to_be_bytes().to_vec() };
            (ws::encode_close(*c, b"", &mut out), Opcode::Close, p)
        }
        _ => return,
    };
    assert!(n > 0 || payload.len() + ws::MAX_HEADER > out.len());
    if n == 0 {
        return;
    }
    let frame = &out[..n];
    assert_eq!(frame[0], 0x80 | op.bits());
    let (len, at) = match frame[1] {
        126 => (usize::from(u16::from_be_bytes([frame[2], frame[3]])), 4),
        127 => (u64::from_be_bytes(frame[2..10].try_into().unwrap()) as usize, 10),
        l => (usize::from(l), 2),
    };
    assert_eq!((len, &frame[at..]), (payload.len(), &payload[..]));
}
