//! Chat line framing: bytes in, complete lines out, with a hard line limit.
//!
//! Lines end with LF (a CR before it is dropped). A line longer than the
//! limit is reported once as [`Frame::TooLong`] and the rest of it, up to the
//! next LF, is discarded: one bad line never eats the next good one. The
//! buffer is fixed (`CAP` bytes), so memory is bounded whatever arrives.

/// What [`LineBuf::feed`] reports.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete line, without its line ending.
    Line(&'a [u8]),
    /// A line went past the limit; it is dropped.
    TooLong,
}

/// The partial line of one connection.
pub struct LineBuf<const CAP: usize> {
    buf: [u8; CAP],
    len: usize,
    discarding: bool,
}

impl<const CAP: usize> Default for LineBuf<CAP> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const CAP: usize> LineBuf<CAP> {
    /// An empty buffer.
    pub const fn new() -> Self {
        LineBuf { buf: [0; CAP], len: 0, discarding: false }
    }

    /// Bytes of the current partial line.
    pub fn pending(&self) -> usize {
        self.len
    }

    /// Feeds `data`; calls `f` for each complete line and each overlong one.
    /// Lines may be at most `max` bytes (and at most `CAP - 1`), not
    /// counting the line ending.
    pub fn feed(&mut self, data: &[u8], max: usize, mut f: impl FnMut(Frame<'_>)) {
        let max = max.min(CAP.saturating_sub(1));
        for &b in data {
            if b == b'\n' {
                if !self.discarding {
                    let mut line = self.buf.get(..self.len).unwrap_or(&[]);
                    if let Some((&b'\r', head)) = line.split_last() {
                        line = head;
                    }
                    f(Frame::Line(line));
                }
                self.len = 0;
                self.discarding = false;
            } else if self.discarding {
                continue;
            } else if self.len < max || (self.len == max && b == b'\r') {
                // One byte over the limit is allowed only for a CR that may
                // turn out to be part of a CRLF ending.
                if let Some(slot) = self.buf.get_mut(self.len) {
                    *slot = b;
                    self.len += 1;
                }
            } else {
                self.len = 0;
                self.discarding = true;
                f(Frame::TooLong);
            }
        }
    }
}

/// Copies `line` into `out` as safe text: control characters other than
/// TAB (C0, DEL, and the C1 range U+0080-U+009F, which some terminals also
/// obey) become `?`, and so does every byte that is not part of valid
/// UTF-8, so no terminal escape sequence is ever relayed and the result is
/// always valid UTF-8. Never longer than `line`; returns the bytes written
/// (at most `out.len()`, ending at a character boundary).
pub fn sanitize(line: &[u8], out: &mut [u8]) -> usize {
    let mut n = 0;
    let mut rest = line;
    while !rest.is_empty() {
        let (valid, bad) = match core::str::from_utf8(rest) {
            Ok(text) => (text, 0),
            Err(e) => {
                let text = rest.get(..e.valid_up_to()).unwrap_or(&[]);
                let bad = e.error_len().unwrap_or(rest.len() - e.valid_up_to());
                (core::str::from_utf8(text).unwrap_or(""), bad)
            }
        };
        for c in valid.chars() {
            let c = if c.is_control() && c != '\t' { '?' } else { c };
            let mut enc = [0u8; 4];
            let bytes = c.encode_utf8(&mut enc).as_bytes();
            let Some(dst) = out.get_mut(n..n + bytes.len()) else { return n };
            dst.copy_from_slice(bytes);
            n += bytes.len();
        }
        for _ in 0..bad {
            let Some(dst) = out.get_mut(n) else { return n };
            *dst = b'?';
            n += 1;
        }
        rest = rest.get(valid.len() + bad..).unwrap_or(&[]);
    }
    n
}

/// The fuzz check: `data`'s first byte picks a line limit, the next few
/// pick split points; the stream cut at those points must frame into the
/// same lines and errors as the whole stream fed at once, never a line over
/// the limit, and no panic.
pub fn check_framing(data: &[u8]) {
    let Some((&limit, rest)) = data.split_first() else { return };
    let max = usize::from(limit) % 80 + 1;
    let cuts = rest.iter().take(4).map(|&b| usize::from(b)).collect::<Cuts>();
    let stream = rest.get(4..).unwrap_or(&[]);
    let mut whole = Recorder::default();
    let mut lb = LineBuf::<64>::new();
    lb.feed(stream, max, |fr| whole.push(fr));
    let mut pieces = Recorder::default();
    let mut lb = LineBuf::<64>::new();
    let mut start = 0;
    for cut in cuts.points(stream.len()) {
        lb.feed(&stream[start..cut], max, |fr| pieces.push(fr));
        start = cut;
    }
    lb.feed(&stream[start..], max, |fr| pieces.push(fr));
    assert!(whole.same(&pieces), "split changed the framing");
    assert!(whole.max_line <= max.min(64));
}

/// What [`sanitize`] promises, for any line of up to 64 bytes: valid UTF-8,
/// no control character but TAB, no longer than the input.
fn check_sanitize(line: &[u8]) {
    let mut out = [0u8; 64];
    let n = sanitize(line, &mut out);
    assert!(n <= line.len());
    let text = core::str::from_utf8(out.get(..n).unwrap_or(&[]));
    assert!(text.is_ok_and(|t| t.chars().all(|c| c == '\t' || !c.is_control())));
}

/// Up to four cut offsets.
struct Cuts([usize; 4], usize);

impl FromIterator<usize> for Cuts {
    fn from_iter<T: IntoIterator<Item = usize>>(iter: T) -> Self {
        let mut c = Cuts([0; 4], 0);
        for v in iter.into_iter().take(4) {
            c.0[c.1] = v;
            c.1 += 1;
        }
        c
    }
}

impl Cuts {
    /// The cut points within `len`, ascending.
    fn points(&self, len: usize) -> impl Iterator<Item = usize> + '_ {
        let mut acc = 0;
        self.0.iter().take(self.1).map(move |&step| {
            acc = (acc + step).min(len);
            acc
        })
    }
}

/// A fixed-size digest of the frames seen (no allocation: a running hash).
#[derive(Default)]
struct Recorder {
    hash: u64,
    frames: usize,
    max_line: usize,
}

impl Recorder {
    fn push(&mut self, fr: Frame<'_>) {
        self.frames += 1;
        let mut mix = |b: u64| self.hash = (self.hash ^ b).wrapping_mul(0x100_0000_01b3);
        match fr {
            Frame::Line(l) => {
                mix(1);
                for &b in l {
                    mix(u64::from(b));
                }
                mix(2);
                self.max_line = self.max_line.max(l.len());
                check_sanitize(l);
            }
            Frame::TooLong => mix(3),
        }
    }

    fn same(&self, other: &Recorder) -> bool {
        self.hash == other.hash && self.frames == other.frames
    }
}
