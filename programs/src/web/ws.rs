//! WebSocket (RFC 6455), server side, without heap: the handshake's
//! accept key, a decoder of client frame headers, an [`Assembler`] that
//! turns the bytes of a connection (as they arrive, split anywhere) into
//! whole messages inside one fixed buffer, and the encoders of the
//! server's frames.
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
//! - Binary messages are delivered like text; the caller decides (the chat
//!   server may refuse them with [`code::UNSUPPORTED`]).

use super::base64;
use super::sha1::Sha1;

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

/// A frame's opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opcode {
    /// 0x0: a further fragment of a data message.
    Continuation,
    /// 0x1: the first frame of a text message.
    Text,
    /// 0x2: the first frame of a binary message.
    Binary,
    /// 0x8: close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
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
        match self {
            Opcode::Continuation => 0,
            Opcode::Text => 1,
            Opcode::Binary => 2,
            Opcode::Close => 8,
            Opcode::Ping => 9,
            Opcode::Pong => 10,
        }
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

/// The largest client control frame: 125 bytes of payload after the
/// longest header (a length may come in the 64-bit form, which is
/// accepted, so 10 bytes, and the 4-byte mask).
pub const MAX_CONTROL_FRAME: usize = 139;

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

/// A whole message from the client. Its bytes live in the buffer given to
/// [`Assembler::next`] until the next call.
#[derive(Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// A text message, its fragments joined; valid UTF-8.
    Text(&'a [u8]),
    /// A binary message, its fragments joined.
    Binary(&'a [u8]),
    /// A ping: answer with a pong of the same payload ([`encode_pong`]).
    Ping(&'a [u8]),
    /// A pong (unsolicited ones are allowed); nothing to do.
    Pong(&'a [u8]),
    /// The client closes: answer with a close frame ([`encode_close`],
    /// echoing `code` is usual) and close the connection. `code` is
    /// [`code::NO_STATUS`] when the frame had none; `reason` is UTF-8.
    Close {
        /// The close code.
        code: u16,
        /// The reason, perhaps empty.
        reason: &'a [u8],
    },
}

/// The data message being assembled.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Idle,
    Text,
    Binary,
}

/// What the last message returned borrows, freed at the next call.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Release {
    Nothing,
    /// A control frame of this many bytes (at most 139), at the start of
    /// the unread ones.
    Frame(u8),
    /// The data message at the start of the buffer.
    Message,
}

/// The WebSocket reading state of one connection, over a buffer the caller
/// owns and passes to every call (always the same one). Receive into
/// [`space`](Self::space), report it with [`filled`](Self::filled) (or
/// copy bytes in with [`push`](Self::push)), then call
/// [`next`](Self::next) until it returns `Ok(None)`. Frames may arrive
/// split anywhere, several in one read, control frames between
/// fragments; the result is the same.
///
/// Layout of the buffer: the data message assembled so far (unmasked) at
/// the start, then unread raw bytes. Fragments are unmasked while being
/// moved down onto the message; a control frame is unmasked where it
/// lies. A frame is processed once it is whole in the buffer, so with a
/// buffer of [`buffer_len`](Self::buffer_len)`(max)` bytes every
/// acceptable stream goes through; a smaller buffer fails a frame it
/// cannot hold with [`code::TOO_BIG`].
///
/// After an error, every call returns it again; after a close message,
/// nothing more is read.
pub struct Assembler {
    /// Bytes `..msg` of the buffer: the data message so far.
    msg: usize,
    /// Unread raw bytes: `start..end` (`msg <= start <= end`).
    start: usize,
    end: usize,
    /// Bytes `..checked` of a text message are valid UTF-8 (a boundary).
    checked: usize,
    kind: Kind,
    release: Release,
    /// The close code of a failure, 0 while none.
    failed: u16,
    closed: bool,
}

impl Default for Assembler {
    fn default() -> Self {
        Self::new()
    }
}

impl Assembler {
    /// A connection that has received nothing.
    pub const fn new() -> Self {
        Assembler {
            msg: 0,
            start: 0,
            end: 0,
            checked: 0,
            kind: Kind::Idle,
            release: Release::Nothing,
            failed: 0,
            closed: false,
        }
    }

    /// The buffer size that takes messages of up to `max` bytes whatever
    /// the framing: `max` plus one control frame (which may come between
    /// two fragments) and its header.
    pub const fn buffer_len(max: usize) -> usize {
        max.saturating_add(MAX_CONTROL_FRAME)
    }

    /// Frees what the last message borrowed.
    fn release(&mut self) {
        match core::mem::replace(&mut self.release, Release::Nothing) {
            Release::Nothing => {}
            Release::Frame(n) => {
                self.start = self.start.saturating_add(usize::from(n)).min(self.end)
            }
            Release::Message => (self.msg, self.checked) = (0, 0),
        }
    }

    /// Makes the indices consistent with `buf` whatever the caller did.
    fn clamp(&mut self, len: usize) {
        self.end = self.end.min(len);
        self.start = self.start.min(self.end);
        self.msg = self.msg.min(self.start);
        self.checked = self.checked.min(self.msg);
    }

    /// The free space at the end of `buf` to receive into (the unread
    /// bytes are moved down first).
    pub fn space<'b>(&mut self, buf: &'b mut [u8]) -> &'b mut [u8] {
        self.release();
        self.clamp(buf.len());
        if self.start > self.msg {
            // Down, a byte at a time: `copy_within` keeps a panic path.
            for i in 0..self.end - self.start {
                if let Some(&b) = buf.get(self.start + i) {
                    if let Some(d) = buf.get_mut(self.msg + i) {
                        *d = b;
                    }
                }
            }
            self.end -= self.start - self.msg;
            self.start = self.msg;
        }
        buf.get_mut(self.end..).unwrap_or(&mut [])
    }

    /// `n` bytes were received into [`space`](Self::space).
    pub fn filled(&mut self, n: usize) {
        self.end = self.end.saturating_add(n);
    }

    /// Copies as much of `data` as fits into the buffer; the number of
    /// bytes taken (0 when the buffer is full: call [`next`](Self::next)).
    pub fn push(&mut self, buf: &mut [u8], data: &[u8]) -> usize {
        let space = self.space(buf);
        let n = space.len().min(data.len());
        if let (Some(dst), Some(src)) = (space.get_mut(..n), data.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.filled(n);
        n
    }

    /// Whether nothing is pending: no data message partly received, no
    /// unread bytes.
    pub fn is_idle(&self) -> bool {
        self.kind == Kind::Idle && self.start == self.end
    }

    fn fail(&mut self, code: u16) -> Result<Option<Message<'static>>, u16> {
        self.failed = code;
        Err(code)
    }

    /// The next whole message, with data messages (all their fragments
    /// together) of at most `max` bytes; `Ok(None)` until one is complete.
    /// `Err(code)`: the connection fails; send a close frame with `code`
    /// ([`code::PROTOCOL_ERROR`], [`code::TOO_BIG`],
    /// [`code::INVALID_DATA`]) and close it. Pass the same `max` each time.
    pub fn next<'b>(&mut self, buf: &'b mut [u8], max: usize) -> Result<Option<Message<'b>>, u16> {
        self.release();
        if self.failed != 0 {
            return Err(self.failed);
        }
        if self.closed {
            return Ok(None);
        }
        self.clamp(buf.len());
        loop {
            // Room left for more input once the unread bytes are moved down.
            let room = buf.len() - self.msg - (self.end - self.start);
            let raw = buf.get(self.start..self.end).unwrap_or(&[]);
            let h = match decode_header(raw) {
                Decoded::NeedMore if room == 0 => return self.fail(code::TOO_BIG),
                Decoded::NeedMore => return Ok(None),
                Decoded::Error(c) => return self.fail(c),
                Decoded::Frame(h) => h,
            };
            let kind = match (h.opcode, self.kind) {
                (Opcode::Continuation, Kind::Idle) => return self.fail(code::PROTOCOL_ERROR),
                (Opcode::Text | Opcode::Binary, Kind::Text | Kind::Binary) => {
                    return self.fail(code::PROTOCOL_ERROR);
                }
                (Opcode::Text, _) => Kind::Text,
                (Opcode::Binary, _) => Kind::Binary,
                (_, kind) => kind,
            };
            let msg = self.msg as u64;
            if !h.opcode.is_control() && msg.saturating_add(h.len) > max as u64 {
                return self.fail(code::TOO_BIG);
            }
            let total = (h.header_len as u64).saturating_add(h.len);
            if msg.saturating_add(total) > buf.len() as u64 {
                return self.fail(code::TOO_BIG);
            }
            // Below buf.len() now, so these fit in usize.
            let (total, len) = (total as usize, h.len as usize);
            if self.end - self.start < total {
                return Ok(None);
            }
            let payload = self.start + h.header_len;
            let frame_end = self.start + total;
            if h.opcode.is_control() {
                let p = buf.get_mut(payload..frame_end).unwrap_or(&mut []);
                unmask(p, h.mask, 0);
                self.release = Release::Frame(u8::try_from(total).unwrap_or(u8::MAX));
                let p: &'b [u8] = p;
                return match h.opcode {
                    Opcode::Ping => Ok(Some(Message::Ping(p))),
                    Opcode::Pong => Ok(Some(Message::Pong(p))),
                    _ => match close_payload(p) {
                        Ok((code, reason)) => {
                            self.closed = true;
                            Ok(Some(Message::Close { code, reason }))
                        }
                        Err(c) => self.fail(c),
                    },
                };
            }
            // A data frame: unmask it onto the end of the message. The
            // copy goes down (msg <= start < payload), so in order is safe.
            for i in 0..len {
                let Some(&b) = buf.get(payload + i) else { break };
                if let Some(d) = buf.get_mut(self.msg + i) {
                    *d = b ^ h.mask[i & 3];
                }
            }
            (self.msg, self.start, self.kind) = (self.msg + len, frame_end, kind);
            if kind == Kind::Text {
                let part = buf.get(self.checked..self.msg).unwrap_or(&[]);
                match core::str::from_utf8(part) {
                    Ok(_) => self.checked = self.msg,
                    Err(e) if e.error_len().is_none() && !h.fin => self.checked += e.valid_up_to(),
                    Err(_) => return self.fail(code::INVALID_DATA),
                }
            }
            if h.fin {
                self.kind = Kind::Idle;
                self.release = Release::Message;
                let m = buf.get(..self.msg).unwrap_or(&[]);
                return Ok(Some(if kind == Kind::Text {
                    Message::Text(m)
                } else {
                    Message::Binary(m)
                }));
            }
        }
    }
}

/// XORs `data` with `mask`, the first byte being at `offset` of the
/// payload.
pub fn unmask(data: &mut [u8], mask: [u8; 4], offset: usize) {
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= mask[i.wrapping_add(offset) & 3];
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
/// [`Assembler`] guarantees; longer is cut); its length, or 0 if `out` is
/// shorter than the frame.
pub fn encode_pong(payload: &[u8], out: &mut [u8]) -> usize {
    encode_frame(Opcode::Pong, payload.get(..125).unwrap_or(payload), out)
}

/// Writes a close frame with `code` and `reason` (cut to the 123 bytes a
/// control frame has room for, at a UTF-8 character boundary); without
/// any payload when `code` is [`code::NO_STATUS`]. Its length, or 0 if it
/// does not fit in `out`.
pub fn encode_close(code: u16, reason: &[u8], out: &mut [u8]) -> usize {
    if code == code::NO_STATUS {
        return encode_frame(Opcode::Close, &[], out);
    }
    let mut reason = reason.get(..123).unwrap_or(reason);
    if let Err(e) = core::str::from_utf8(reason) {
        reason = reason.get(..e.valid_up_to()).unwrap_or(&[]);
    }
    let mut p = [0u8; 125];
    let [hi, lo] = code.to_be_bytes();
    (p[0], p[1]) = (hi, lo);
    let n = 2 + reason.len();
    if let Some(dst) = p.get_mut(2..n) {
        dst.copy_from_slice(reason);
    }
    encode_frame(Opcode::Close, p.get(..n).unwrap_or(&[]), out)
}
