//! WebSocket (RFC 6455), server side, without heap: the handshake's
//! accept key, a decoder of client frame headers, a [`Reader`] that turns
//! the bytes of a connection (as they arrive, split anywhere) into the
//! text of its messages, written straight into the caller's buffer, and
//! the encoders of the server's frames.
//!
//! Choices where the RFC leaves room:
//! - A length in a longer encoding than needed (7-bit lengths sent as
//!   16- or 64-bit) is accepted: RFC 6455 5.2 tells the sender to use the
//!   minimal form but names no reaction, and the value is unambiguous.
//! - Text is checked as UTF-8 fragment by fragment (a character may be
//!   split between fragments): the connection fails with 1007 at the first
//!   fragment that cannot be the start of valid UTF-8, not only at the end.
//! - Close codes accepted from a client: 1000-1003, 1007-1014 (the codes
//!   IANA registered that may be sent) and 3000-4999.
//! - Binary messages are refused with [`code::UNSUPPORTED`] (the chat
//!   speaks text).

use super::base64;
use super::sha1::Sha1;
pub use super::ws_reader::{Event, Progress, Reader};

/// The GUID that RFC 6455 (1.3) appends to the client's key.
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`:
/// base64 of the SHA-1 of the key followed by RFC 6455's GUID.
pub fn accept_key(client_key: &[u8]) -> [u8; 28] {
    let mut sha = Sha1::new();
    sha.update(client_key);
    sha.update(GUID);
    let mut out = [0u8; 28];
    let _ = base64::encode(&sha.finish(), &mut out);
    out
}

/// Close codes (RFC 6455 7.4.1) the server sends or reports.
pub mod code {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// The endpoint goes away (server shutting down).
    pub const GOING_AWAY: u16 = 1001;
    /// A protocol error.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A kind of data the endpoint does not accept (binary, for the chat).
    pub const UNSUPPORTED: u16 = 1003;
    /// Reported for a close frame without a code; never sent.
    pub const NO_STATUS: u16 = 1005;
    /// Data inconsistent with its type (text that is not UTF-8).
    pub const INVALID_DATA: u16 = 1007;
    /// A message too big to process.
    pub const TOO_BIG: u16 = 1009;
}

/// A frame's opcode; its discriminant is its 4 bits, so that
/// [`bits`](Opcode::bits) is no code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Opcode {
    /// 0x0: a further fragment of a data message.
    Continuation = 0x0,
    /// 0x1: the first frame of a text message.
    Text = 0x1,
    /// 0x2: the first frame of a binary message.
    Binary = 0x2,
    /// 0x8: close.
    Close = 0x8,
    /// 0x9: ping.
    Ping = 0x9,
    /// 0xA: pong.
    Pong = 0xA,
}

impl Opcode {
    /// The opcode of the low 4 bits `bits`; `None` for the reserved ones.
    pub const fn from_bits(bits: u8) -> Option<Self> {
        match bits {
            0 => Some(Opcode::Continuation),
            1 => Some(Opcode::Text),
            2 => Some(Opcode::Binary),
            8 => Some(Opcode::Close),
            9 => Some(Opcode::Ping),
            10 => Some(Opcode::Pong),
            _ => None,
        }
    }

    /// The opcode's 4 bits.
    pub const fn bits(self) -> u8 {
        self as u8
    }

    /// Close, ping and pong: never fragmented, at most 125 bytes.
    pub const fn is_control(self) -> bool {
        self.bits() >= 8
    }
}

/// A client frame's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The last frame of its message.
    pub fin: bool,
    /// The opcode.
    pub opcode: Opcode,
    /// The masking key (client frames are always masked).
    pub mask: [u8; 4],
    /// The payload length (below 2^63).
    pub len: u64,
    /// The header's length: the payload starts here (6, 8 or 14).
    pub header_len: usize,
}

/// What [`decode_header`] finds at the start of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// The header is not complete yet.
    NeedMore,
    /// A header (its payload may not have arrived yet).
    Frame(Header),
    /// A protocol error; the connection fails with this close code.
    Error(u16),
}

/// Decodes the header of a client frame at the start of `buf`, checking
/// what a header alone can break ([`code::PROTOCOL_ERROR`] for each):
/// a reserved bit set (no extension is ever negotiated), a reserved
/// opcode, an unmasked frame, a fragmented control frame or one over 125
/// bytes, a 64-bit length with its top bit set. An error is reported as
/// soon as the bytes that show it are there, so a header split anywhere
/// decodes the same.
pub fn decode_header(buf: &[u8]) -> Decoded {
    let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else { return Decoded::NeedMore };
    let Some(opcode) = Opcode::from_bits(b0 & 0x0F) else {
        return Decoded::Error(code::PROTOCOL_ERROR);
    };
    let fin = b0 & 0x80 != 0;
    if b0 & 0x70 != 0 || b1 & 0x80 == 0 || (opcode.is_control() && !fin) {
        return Decoded::Error(code::PROTOCOL_ERROR);
    }
    let (len, at) = match b1 & 0x7F {
        126 => match buf.get(2..4).and_then(|b| b.try_into().ok()) {
            Some(b) => (u64::from(u16::from_be_bytes(b)), 4),
            None => return Decoded::NeedMore,
        },
        127 => match buf.get(2..10).and_then(|b| b.try_into().ok()) {
            Some(b) => (u64::from_be_bytes(b), 10),
            None => return Decoded::NeedMore,
        },
        n => (u64::from(n), 2),
    };
    if len >> 63 != 0 || (opcode.is_control() && len > 125) {
        return Decoded::Error(code::PROTOCOL_ERROR);
    }
    match buf.get(at..at + 4).and_then(|b| b.try_into().ok()) {
        Some(mask) => Decoded::Frame(Header { fin, opcode, mask, len, header_len: at + 4 }),
        None => Decoded::NeedMore,
    }
}

/// Whether a client may send close code `c` (see the module notes).
pub const fn close_code_is_valid(c: u16) -> bool {
    matches!(c, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// The code and reason of a close frame's payload: [`code::NO_STATUS`]
/// when empty; [`code::PROTOCOL_ERROR`] for a 1-byte payload or a code a
/// client may not send; [`code::INVALID_DATA`] for a reason that is not
/// UTF-8.
pub fn close_payload(p: &[u8]) -> Result<(u16, &[u8]), u16> {
    if p.is_empty() {
        return Ok((code::NO_STATUS, p));
    }
    let Some((c, reason)) = p.split_at_checked(2) else { return Err(code::PROTOCOL_ERROR) };
    let c = u16::from_be_bytes([c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)]);
    if !close_code_is_valid(c) {
        return Err(code::PROTOCOL_ERROR);
    }
    match core::str::from_utf8(reason) {
        Ok(_) => Ok((c, reason)),
        Err(_) => Err(code::INVALID_DATA),
    }
}

/// What a WebSocket gets when the room is full: a text frame
/// `error: server full` (a line, as a line client gets) and a close frame
/// with 1013 (try again later), written out (a test checks them against
/// [`encode_frame`] and [`encode_close`]) so that no code builds them.
pub const SERVER_FULL: &[u8] = b"\x81\x13error: server full\n\x88\x02\x03\xF5";

/// The longest server frame header (64-bit length, no mask).
pub const MAX_HEADER: usize = 10;

/// Writes an unmasked (server) frame header for a payload of `len` bytes
/// to the start of `out`: 2, 4 or 10 bytes, the number returned; 0 if
/// `out` is too short.
pub fn encode_header(opcode: Opcode, fin: bool, len: usize, out: &mut [u8]) -> usize {
    let b0 = opcode.bits() | if fin { 0x80 } else { 0 };
    let mut h = [0u8; MAX_HEADER];
    h[0] = b0;
    let n = if len <= 125 {
        h[1] = len as u8;
        2
    } else if len <= 0xFFFF {
        h[1] = 126;
        h[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    } else {
        h[1] = 127;
        h[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    };
    match (out.get_mut(..n), h.get(..n)) {
        (Some(dst), Some(src)) => {
            dst.copy_from_slice(src);
            n
        }
        _ => 0,
    }
}

/// Writes a whole unfragmented frame (header and `payload`) to `out`; its
/// length, or 0 if it does not fit.
pub fn encode_frame(opcode: Opcode, payload: &[u8], out: &mut [u8]) -> usize {
    let n = encode_header(opcode, true, payload.len(), out);
    let end = n.saturating_add(payload.len());
    match out.get_mut(n..end) {
        Some(dst) if n > 0 => {
            dst.copy_from_slice(payload);
            end
        }
        _ => 0,
    }
}

/// Writes the pong answering a ping with `payload` (at most 125 bytes, as
/// [`Reader`] keeps; longer is cut); its length, or 0 if `out` is
/// shorter than the frame.
pub fn encode_pong(payload: &[u8], out: &mut [u8]) -> usize {
    encode_frame(Opcode::Pong, payload.get(..125).unwrap_or(payload), out)
}

/// Writes a close frame with `code` and `reason` (cut to the 123 bytes a
/// control frame has room for, at a UTF-8 character boundary); without
/// any payload when `code` is [`code::NO_STATUS`]. Its length, or 0 if it
/// does not fit in `out`.
pub fn encode_close(code: u16, reason: &[u8], out: &mut [u8]) -> usize {
    let bits = code.to_be_bytes();
    if code == code::NO_STATUS || reason.is_empty() {
        let payload: &[u8] = if code == code::NO_STATUS { &[] } else { &bits };
        return encode_frame(Opcode::Close, payload, out);
    }
    let mut reason = reason.get(..123).unwrap_or(reason);
    if let Err(e) = core::str::from_utf8(reason) {
        reason = reason.get(..e.valid_up_to()).unwrap_or(&[]);
    }
    let mut p = [0u8; 125];
    (p[0], p[1]) = (bits[0], bits[1]);
    let n = 2 + reason.len();
    if let Some(dst) = p.get_mut(2..n) {
        dst.copy_from_slice(reason);
    }
    encode_frame(Opcode::Close, p.get(..n).unwrap_or(&[]), out)
}
