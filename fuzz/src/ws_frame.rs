//! Fuzz target `ws_frame`: the chat's WebSocket reader
//! (`progs::web::ws::Assembler`). The first input byte picks the message
//! limit, the next three pick where the stream is cut, the rest is what
//! the client sent. Checked: no panic; the stream fed whole, cut at those
//! points, and (when short) byte by byte gives the same messages and
//! error; a plain decoder over the whole stream, written here with `std`,
//! agrees; a buffer smaller than `buffer_len(max)` gives the same until
//! it fails with 1009; and the server's frames of what came back decode
//! to the same payloads.

use progs::web::ws::{self, Assembler, Message, Opcode, code};

/// A message or the failure, owned.
#[derive(Debug, PartialEq, Eq, Clone)]
enum Ev {
    Text(Vec<u8>),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16, Vec<u8>),
    Fail(u16),
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((&m, rest)) = data.split_first() else { return };
    let max = usize::from(m) % 160;
    let (cuts, stream) = rest.split_at(rest.len().min(3));
    let cap = Assembler::buffer_len(max);
    let whole = feed(&[stream], max, cap);
    let mut pieces: Vec<&[u8]> = Vec::new();
    let mut at = 0;
    for &c in cuts {
        let next = (at + usize::from(c)).min(stream.len());
        pieces.push(&stream[at..next]);
        at = next;
    }
    pieces.push(&stream[at..]);
    assert_eq!(feed(&pieces, max, cap), whole, "cut at {cuts:?}");
    if stream.len() <= 300 {
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(feed(&bytes, max, cap), whole, "byte by byte");
    }
    assert_eq!(reference(stream, max), whole, "the model disagrees");
    let small = feed(&pieces, max, usize::from(m) % 64);
    let same = small.iter().zip(&whole).take_while(|(a, b)| a == b).count();
    assert!(
        same == small.len()
            || (same + 1 == small.len() && small.last() == Some(&Ev::Fail(code::TOO_BIG))),
        "a small buffer differs: {small:?} vs {whole:?}"
    );
    for ev in &whole {
        echo(ev);
    }
}

/// What a server does: receive into the free space, take every message.
fn feed(chunks: &[&[u8]], max: usize, cap: usize) -> Vec<Ev> {
    let mut buf = vec![0u8; cap];
    let mut a = Assembler::new();
    let mut out = Vec::new();
    for chunk in chunks {
        let mut rest = *chunk;
        loop {
            let n = a.push(&mut buf, rest);
            rest = &rest[n..];
            loop {
                match a.next(&mut buf, max) {
                    Ok(None) => break,
                    Ok(Some(msg)) => {
                        let close = matches!(msg, Message::Close { .. });
                        out.push(owned(msg));
                        if close {
                            // The server answers and closes: nothing more is read.
                            return out;
                        }
                    }
                    Err(c) => {
                        out.push(Ev::Fail(c));
                        assert_eq!(a.next(&mut buf, max), Err(c));
                        return out;
                    }
                }
            }
            if rest.is_empty() {
                break;
            }
            // No progress and no room would be a connection stuck forever.
            assert!(!a.space(&mut buf).is_empty(), "stuck with a full buffer");
        }
    }
    out
}

fn owned(m: Message<'_>) -> Ev {
    match m {
        Message::Text(t) => {
            assert!(std::str::from_utf8(t).is_ok());
            Ev::Text(t.to_vec())
        }
        Message::Binary(b) => Ev::Binary(b.to_vec()),
        Message::Ping(p) => Ev::Ping(p.to_vec()),
        Message::Pong(p) => Ev::Pong(p.to_vec()),
        Message::Close { code, reason } => Ev::Close(code, reason.to_vec()),
    }
}

/// RFC 6455 5.2 for a whole stream of client frames, plainly.
fn reference(s: &[u8], max: usize) -> Vec<Ev> {
    let mut out = Vec::new();
    let mut pos = 0;
    // The data message in progress: text?, bytes so far.
    let mut msg: Option<(bool, Vec<u8>)> = None;
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
            (0..=2, m) if m.as_ref().map_or(0, |m| m.1.len()) as u64 + len > max as u64 => {
                Some(code::TOO_BIG)
            }
            _ => None,
        };
        if let Some(c) = fail {
            out.push(Ev::Fail(c));
            return out;
        }
        let len = len as usize;
        if rest.len() - at - 4 < len {
            return out;
        }
        let payload: Vec<u8> =
            rest[at + 4..at + 4 + len].iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect();
        pos += at + 4 + len;
        match op {
            9 => out.push(Ev::Ping(payload)),
            10 => out.push(Ev::Pong(payload)),
            8 => {
                out.push(match payload.len() {
                    0 => Ev::Close(1005, payload),
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
                            Ev::Close(c, payload[2..].to_vec())
                        }
                    }
                });
                return out;
            }
            _ => {
                let (text, mut bytes) = msg.take().unwrap_or((op == 1, Vec::new()));
                bytes.extend_from_slice(&payload);
                if text {
                    // Invalid already, or (at the end) cut short.
                    if let Err(e) = std::str::from_utf8(&bytes) {
                        if e.error_len().is_some() || fin {
                            out.push(Ev::Fail(code::INVALID_DATA));
                            return out;
                        }
                    }
                }
                if fin {
                    out.push(if text { Ev::Text(bytes) } else { Ev::Binary(bytes) });
                } else {
                    msg = Some((text, bytes));
                }
            }
        }
    }
}

/// The server's frame for what came in (a pong for a ping, an echo of a
/// message, a close echoing the code) reads back as the same payload.
fn echo(ev: &Ev) {
    let mut out = vec![0u8; 200];
    let (n, op, payload) = match ev {
        Ev::Ping(p) => (ws::encode_pong(p, &mut out), Opcode::Pong, p.clone()),
        Ev::Text(t) => (ws::encode_frame(Opcode::Text, t, &mut out), Opcode::Text, t.clone()),
        Ev::Close(c, r) => {
            let p =
                if *c == code::NO_STATUS { Vec::new() } else { [&c.to_be_bytes()[..], r].concat() };
            (ws::encode_close(*c, r, &mut out), Opcode::Close, p)
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
