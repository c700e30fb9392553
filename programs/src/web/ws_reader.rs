//! The WebSocket reader of one connection: client frames in (as they
//! arrive, split anywhere), the text of its messages out, unmasked,
//! straight into the caller's buffer (the chat's line buffer), without a
//! buffer of its own for the data. The state is a header's bytes, the
//! payload of one control frame and a few counters: about 170 bytes.
//!
//! [`Reader::read`] takes raw bytes and stops after the first thing the
//! caller must act on ([`Event`]): the end of a text message, a ping (its
//! payload kept for the pong: [`Reader::ping`]), a pong, a close. Text is
//! checked as UTF-8 byte by byte as it goes through (a character may be
//! split between fragments), so the connection fails with 1007 at the
//! first byte that cannot be part of valid UTF-8. It takes text messages
//! only: a binary message fails with [`code::UNSUPPORTED`] at its header.
//! The choices where RFC 6455 leaves room are [`super::ws`]'s.

use super::ws::{Decoded, Opcode, close_payload, code, decode_header};

/// The longest client frame header (64-bit length and the mask).
const HEADER_MAX: usize = 14;
/// The longest control frame payload.
const CONTROL_MAX: usize = 125;

/// What stopped [`Reader::read`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// All of the input was taken, or the output is full (give more room
    /// and the rest of the input).
    More,
    /// A text message ended: all its bytes have been written out.
    End,
    /// A ping: answer with a pong of [`Reader::ping`] (the payload is kept
    /// until [`Reader::answered`] or the next ping).
    Ping,
    /// A pong (unsolicited ones are allowed): nothing to do.
    Pong,
    /// The client closes with this code ([`code::NO_STATUS`] when its
    /// frame had none; the reason was checked as UTF-8): answer with a
    /// close frame and close. Nothing more is read.
    Close(u16),
}

/// How far one [`Reader::read`] went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Input bytes taken.
    pub used: usize,
    /// Text bytes written to the output.
    pub wrote: usize,
    /// Why it stopped.
    pub event: Event,
}

/// An incremental UTF-8 check: the continuation bytes still owed and the
/// range the next one must be in (which rules out overlong forms,
/// surrogates and code points past U+10FFFF).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Utf8 {
    need: u8,
    lo: u8,
    hi: u8,
}

impl Utf8 {
    /// Between characters (all zero: `lo` and `hi` matter only while a
    /// character is open).
    const START: Utf8 = Utf8 { need: 0, lo: 0, hi: 0 };

    /// Takes one byte; false if the text cannot be valid.
    fn step(&mut self, b: u8) -> bool {
        if self.need > 0 {
            if b < self.lo || b > self.hi {
                return false;
            }
            *self = Utf8 { need: self.need - 1, lo: 0x80, hi: 0xBF };
            return true;
        }
        let need = match b {
            0x00..=0x7F => return true,
            0xC2..=0xDF => 1,
            0xE0..=0xEF => 2,
            0xF0..=0xF4 => 3,
            _ => return false,
        };
        // The second byte's range: narrower after these four (no
        // overlong forms, surrogates, or code points past U+10FFFF).
        let (lo, hi) = match b {
            0xE0 => (0xA0, 0xBF),
            0xED => (0x80, 0x9F),
            0xF0 => (0x90, 0xBF),
            0xF4 => (0x80, 0x8F),
            _ => (0x80, 0xBF),
        };
        *self = Utf8 { need, lo, hi };
        true
    }
}

/// The reading state of one connection (see the module notes).
pub struct Reader {
    /// The header of the next frame, until it is whole.
    hdr: [u8; HEADER_MAX],
    hdr_len: u8,
    /// A frame's payload is coming (its header is decoded).
    in_frame: bool,
    opcode: Opcode,
    fin: bool,
    mask: [u8; 4],
    /// Payload bytes of the frame still to come, and those seen (a
    /// `usize`, no 64-bit arithmetic on 32-bit machines: a frame taken is
    /// a control frame, at most 125 bytes, or text within `max`).
    left: usize,
    seen: usize,
    /// A text message is in progress (a fragment without FIN came).
    in_msg: bool,
    /// Its bytes so far.
    msg_len: usize,
    utf8: Utf8,
    /// A ping's or close's payload (a pong's is skipped, so that it
    /// never replaces a ping still to answer).
    ctl: [u8; CONTROL_MAX],
    ctl_len: u8,
    /// `ctl` holds a whole ping not answered yet.
    ping: bool,
    /// The close code of a failure, 0 while none.
    failed: u16,
    closed: bool,
}

impl Default for Reader {
    fn default() -> Self {
        Self::new()
    }
}

impl Reader {
    /// A connection that has received nothing (all zero bytes, so that a
    /// table of them stays in `.bss`).
    pub const fn new() -> Self {
        Reader {
            hdr: [0; HEADER_MAX],
            hdr_len: 0,
            in_frame: false,
            opcode: Opcode::Continuation,
            fin: false,
            mask: [0; 4],
            left: 0,
            seen: 0,
            in_msg: false,
            msg_len: 0,
            utf8: Utf8::START,
            ctl: [0; CONTROL_MAX],
            ctl_len: 0,
            ping: false,
            failed: 0,
            closed: false,
        }
    }

    /// The payload of the last ping, while it is to be answered.
    pub fn ping(&self) -> Option<&[u8]> {
        match self.ping {
            true => self.ctl.get(..usize::from(self.ctl_len)),
            false => None,
        }
    }

    /// The pong for [`ping`](Self::ping) has gone out.
    pub fn answered(&mut self) {
        self.ping = false;
    }

    /// Whether a text message is partly received.
    pub fn in_message(&self) -> bool {
        self.in_msg
    }

    fn fail(&mut self, c: u16) -> Result<Progress, u16> {
        self.failed = c;
        Err(c)
    }

    /// Reads from `input`, writing text to `out`, up to the first event
    /// (see [`Event`]); call again with the rest of the input. Messages
    /// may be at most `max` bytes (all fragments together; pass the same
    /// each time). `Err(code)`: the connection fails; send a close frame
    /// with `code` ([`code::PROTOCOL_ERROR`], [`code::UNSUPPORTED`],
    /// [`code::INVALID_DATA`], [`code::TOO_BIG`]) and close it. After an
    /// error every call returns it again; after a close, nothing is read.
    pub fn read(&mut self, input: &[u8], out: &mut [u8], max: usize) -> Result<Progress, u16> {
        if self.failed != 0 {
            return Err(self.failed);
        }
        let mut p = Progress { used: 0, wrote: 0, event: Event::More };
        while !self.closed {
            if !self.in_frame {
                let rest = input.get(p.used..).unwrap_or(&[]);
                match self.header(rest, max) {
                    Ok((n, true)) => p.used += n,
                    Ok((n, false)) => {
                        p.used += n; // all of it, and the header is not whole
                        return Ok(p);
                    }
                    Err(c) => return self.fail(c),
                }
            }
            let rest = input.get(p.used..).unwrap_or(&[]);
            let (used, wrote) = self.payload(rest, out.get_mut(p.wrote..).unwrap_or(&mut []))?;
            (p.used, p.wrote) = (p.used + used, p.wrote + wrote);
            if self.left > 0 {
                return Ok(p); // input all taken, or the output full
            }
            self.in_frame = false;
            if let Some(event) = self.frame_done()? {
                p.event = event;
                return Ok(p);
            }
        }
        Ok(p)
    }

    /// Takes header bytes from `input`: how many, and whether the header
    /// is whole (if not, all of `input` went into it).
    fn header(&mut self, input: &[u8], max: usize) -> Result<(usize, bool), u16> {
        let had = usize::from(self.hdr_len);
        let take = input.len().min(HEADER_MAX - had);
        if let (Some(dst), Some(src)) = (self.hdr.get_mut(had..had + take), input.get(..take)) {
            dst.copy_from_slice(src);
        }
        let h = match decode_header(self.hdr.get(..had + take).unwrap_or(&[])) {
            Decoded::NeedMore => {
                self.hdr_len = (had + take) as u8;
                return Ok((take, false));
            }
            Decoded::Error(c) => return Err(c),
            Decoded::Frame(h) => h,
        };
        self.hdr_len = 0;
        // Past usize (32-bit machines): over any `max`, as it should be.
        let len = usize::try_from(h.len).unwrap_or(usize::MAX);
        if !h.opcode.is_control() {
            // A continuation exactly when a message is in progress (a
            // binary one never is: it fails here, at its first frame).
            if (h.opcode == Opcode::Continuation) != self.in_msg {
                return Err(code::PROTOCOL_ERROR);
            }
            if h.opcode == Opcode::Binary {
                return Err(code::UNSUPPORTED);
            }
            if self.msg_len.saturating_add(len) > max {
                return Err(code::TOO_BIG);
            }
            self.in_msg = true;
        } else if h.opcode != Opcode::Pong {
            (self.ctl_len, self.ping) = (0, false); // a ping or a close
        }
        (self.in_frame, self.opcode, self.fin, self.mask) = (true, h.opcode, h.fin, h.mask);
        (self.left, self.seen) = (len, 0);
        Ok((h.header_len - had, true))
    }

    /// Takes payload bytes of the current frame from `input`: text to
    /// `out` (as far as it has room), a ping's or close's to `ctl`. The
    /// input bytes taken and the text bytes written.
    fn payload(&mut self, input: &[u8], out: &mut [u8]) -> Result<(usize, usize), u16> {
        let mut n = input.len().min(self.left);
        let text = !self.opcode.is_control();
        let keep = matches!(self.opcode, Opcode::Ping | Opcode::Close);
        if text {
            n = n.min(out.len());
        }
        let (mask, seen) = (self.mask, self.seen);
        for (i, &b) in input.iter().take(n).enumerate() {
            let b = b ^ mask[(seen + i) & 3];
            if text {
                if !self.utf8.step(b) {
                    self.failed = code::INVALID_DATA;
                    return Err(code::INVALID_DATA);
                }
                if let Some(o) = out.get_mut(i) {
                    *o = b;
                }
            } else if let Some(c) = self.ctl.get_mut(seen + i).filter(|_| keep) {
                *c = b;
            }
        }
        (self.left, self.seen) = (self.left - n, self.seen + n);
        if text {
            self.msg_len += n;
            return Ok((n, n));
        }
        if keep {
            self.ctl_len = self.seen.min(CONTROL_MAX) as u8;
        }
        Ok((n, 0))
    }

    /// A frame is whole: what it means to the caller, if anything.
    fn frame_done(&mut self) -> Result<Option<Event>, u16> {
        match self.opcode {
            Opcode::Ping => {
                self.ping = true;
                Ok(Some(Event::Ping))
            }
            Opcode::Pong => Ok(Some(Event::Pong)),
            Opcode::Close => {
                let p = self.ctl.get(..usize::from(self.ctl_len)).unwrap_or(&[]);
                match close_payload(p) {
                    Ok((c, _)) => {
                        self.closed = true;
                        Ok(Some(Event::Close(c)))
                    }
                    Err(c) => {
                        self.failed = c;
                        Err(c)
                    }
                }
            }
            _ if !self.fin => Ok(None),
            _ if self.utf8.need > 0 => {
                self.failed = code::INVALID_DATA;
                Err(code::INVALID_DATA)
            }
            _ => {
                (self.in_msg, self.msg_len) = (false, 0);
                Ok(Some(Event::End))
            }
        }
    }
}
