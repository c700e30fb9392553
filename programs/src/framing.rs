//! Chat line framing: bytes in, complete lines out, with a hard line limit.
//!
//! Lines end with LF (a CR before it is dropped). A line longer than the
//! limit is reported once as [`Frame::TooLong`] and the rest of it, up to the
//! next LF, is discarded: one bad line never eats the next good one. The
//! buffer is fixed (`CAP` bytes), so memory is bounded whatever arrives.
//! [`LineBuf`] copies what it is fed; [`LineReader`] is received into and
//! frames in place (what chat-server uses).

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

/// What [`LineReader::peek`] finds: a line (its bytes are
/// [`LineReader::bytes`]`(start, end)`, without the line ending) or an
/// overlong one, dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framed {
    /// A complete line at `start..end` of the buffer.
    Line {
        /// First byte.
        start: usize,
        /// One past the last byte (a CR before the LF excluded).
        end: usize,
    },
    /// A line went past the limit; it is dropped up to the next LF.
    TooLong,
}

/// A connection's input buffer, framed in place: `recv` into
/// [`space`](Self::space), say how much arrived with
/// [`filled`](Self::filled), then take lines with [`peek`](Self::peek) and
/// [`pop`](Self::pop), LF found with a slice search, no copy. The same
/// lines and errors as [`LineBuf`] for the same bytes, however they are
/// split (the fuzz check compares them). A peeked frame stays until popped,
/// so a server can leave it (and everything after it) unread for now.
pub struct LineReader<const CAP: usize> {
    buf: [u8; CAP],
    /// Offsets into `buf` (u16: a buffer per connection stays small; `CAP`
    /// is at most 65535).
    start: u16,
    end: u16,
    /// Bytes before this were searched for LF already.
    scanned: u16,
    discarding: bool,
    /// What `pop` consumes: the frame `peek` returned.
    peeked: Peeked,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Peeked {
    Nothing,
    /// A line up to the LF at `scanned`.
    ToLf,
    /// Everything buffered: a final line at end of input.
    All,
    /// Everything buffered, and the rest of the line up to the next LF.
    AllAndDiscard,
}

impl<const CAP: usize> Default for LineReader<CAP> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const CAP: usize> LineReader<CAP> {
    const FITS: () = assert!(CAP <= u16::MAX as usize, "a LineReader holds at most 65535 bytes");

    /// An empty buffer.
    pub const fn new() -> Self {
        let () = Self::FITS;
        LineReader {
            buf: [0; CAP],
            start: 0,
            end: 0,
            scanned: 0,
            discarding: false,
            peeked: Peeked::Nothing,
        }
    }

    fn range(&self) -> (usize, usize, usize) {
        (usize::from(self.start), usize::from(self.end), usize::from(self.scanned))
    }

    fn set(&mut self, start: usize, end: usize, scanned: usize) {
        (self.start, self.end, self.scanned) = (start as u16, end as u16, scanned as u16);
    }

    /// The free space to receive into (the unread bytes are moved to the
    /// front first). Lines may be at most `CAP - 2` bytes for this never to
    /// be empty while a partial line waits.
    pub fn space(&mut self) -> &mut [u8] {
        let (start, end, scanned) = self.range();
        if start > 0 && start <= end && end <= CAP {
            // A byte loop (at most CAP bytes, downwards): `copy_within`
            // keeps a panic path where it is inlined.
            for i in 0..end - start {
                if let Some(&b) = self.buf.get(start + i) {
                    if let Some(d) = self.buf.get_mut(i) {
                        *d = b;
                    }
                }
            }
            self.set(0, end - start, scanned.saturating_sub(start));
            self.peeked = Peeked::Nothing;
        }
        self.buf.get_mut(end - start..).unwrap_or(&mut [])
    }

    /// `n` bytes were received into [`space`](Self::space).
    pub fn filled(&mut self, n: usize) {
        self.end = (usize::from(self.end) + n).min(CAP) as u16;
    }

    /// The bytes not consumed yet.
    pub fn unread(&self) -> &[u8] {
        let (start, end, _) = self.range();
        self.buf.get(start..end).unwrap_or(&[])
    }

    /// The bytes `start..end` of the buffer (a [`Framed::Line`]).
    pub fn bytes(&self, start: usize, end: usize) -> &[u8] {
        self.buf.get(start..end).unwrap_or(&[])
    }

    /// The next frame, with lines of at most `max` bytes (and at most
    /// `CAP - 2`), not consumed until [`pop`](Self::pop). At end of input
    /// (`eof`) a final line without LF counts as a line. `None`: nothing
    /// complete yet.
    pub fn peek(&mut self, max: usize, eof: bool) -> Option<Framed> {
        let max = max.min(CAP.saturating_sub(2));
        let (mut start, end, mut scanned) = self.range();
        while let Some(i) =
            self.buf.get(scanned..end).and_then(|h| h.iter().position(|&b| b == b'\n'))
        {
            let lf = scanned + i;
            if self.discarding {
                (start, scanned, self.discarding) = (lf + 1, lf + 1, false);
                continue;
            }
            // `scanned` stays at this LF: peeking again finds it again.
            self.set(start, end, lf);
            self.peeked = Peeked::ToLf;
            return Some(self.line(start, lf, max));
        }
        if self.discarding {
            self.set(end, end, end);
            return None;
        }
        self.set(start, end, end);
        let pending = end - start;
        let last_cr = end > start && self.buf.get(end - 1) == Some(&b'\r');
        if pending > max + 1 || (pending == max + 1 && !last_cr) {
            self.peeked = Peeked::AllAndDiscard;
            return Some(Framed::TooLong);
        }
        let last = (eof && pending > 0).then(|| self.line(start, end, max));
        self.peeked = if last.is_some() { Peeked::All } else { Peeked::Nothing };
        last
    }

    /// The line `start..stop`, one CR before `stop` dropped.
    fn line(&self, start: usize, stop: usize, max: usize) -> Framed {
        let mut end = stop;
        if end > start && self.buf.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        if end - start > max {
            return Framed::TooLong;
        }
        Framed::Line { start, end }
    }

    /// Consumes the frame [`peek`](Self::peek) returned; its bytes stay
    /// readable with [`bytes`](Self::bytes) until the next
    /// [`space`](Self::space).
    pub fn pop(&mut self) {
        let (_, end, scanned) = self.range();
        match core::mem::replace(&mut self.peeked, Peeked::Nothing) {
            Peeked::Nothing => {}
            Peeked::ToLf => self.set((scanned + 1).min(end), end, (scanned + 1).min(end)),
            Peeked::All => self.set(end, end, end),
            Peeked::AllAndDiscard => {
                self.set(end, end, end);
                self.discarding = true;
            }
        }
    }

    /// Replaces the contents with `parts` (cut at `CAP` bytes): a server
    /// reuses the buffer of a client it no longer reads from for its last
    /// output. Read them with [`unread`](Self::unread) and
    /// [`consume`](Self::consume).
    pub fn replace(&mut self, parts: &[&[u8]]) {
        let mut n = 0;
        for part in parts {
            let take = part.len().min(CAP - n);
            self.buf[n..n + take].copy_from_slice(&part[..take]);
            n += take;
        }
        self.set(0, n, n);
        (self.discarding, self.peeked) = (false, Peeked::Nothing);
    }

    /// Drops the first `n` unread bytes.
    pub fn consume(&mut self, n: usize) {
        self.start = (usize::from(self.start) + n).min(usize::from(self.end)) as u16;
    }
}

/// Copies `line` into `out` as safe text: control characters other than
/// TAB (C0, DEL, and the C1 range U+0080-U+009F, which some terminals also
/// obey) become `?`, and so does every byte that is not part of valid
/// UTF-8, so no terminal escape sequence is ever relayed and the result is
/// always valid UTF-8. Never longer than `line`; returns the bytes written
/// (at most `out.len()`, ending at a character boundary).
pub fn sanitize(line: &[u8], out: &mut [u8]) -> usize {
    // Printable ASCII, the usual case, is copied as it is.
    if line.len() <= out.len() && line.iter().all(|&b| (b' '..=b'~').contains(&b) || b == b'\t') {
        out[..line.len()].copy_from_slice(line);
        return line.len();
    }
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
    let mut framed = Recorder::default();
    let mut lr = LineReader::<65>::new();
    let mut start = 0;
    for cut in cuts.points(stream.len()).chain(core::iter::once(stream.len())) {
        read_into(&mut lr, &stream[start..cut], max, &mut framed);
        start = cut;
    }
    assert!(whole.same(&framed), "LineReader framed unlike LineBuf");
}

/// Feeds `data` to `lr` as a server would (`recv` into its free space, then
/// every complete frame), recording the frames.
fn read_into(lr: &mut LineReader<65>, mut data: &[u8], max: usize, rec: &mut Recorder) {
    while !data.is_empty() {
        let space = lr.space();
        let n = space.len().min(data.len());
        assert!(n > 0, "no room for input");
        space[..n].copy_from_slice(&data[..n]);
        lr.filled(n);
        data = &data[n..];
        while let Some(f) = lr.peek(max, false) {
            assert_eq!(lr.peek(max, false), Some(f), "peeking twice differs");
            lr.pop();
            match f {
                Framed::Line { start, end } => rec.push(Frame::Line(lr.bytes(start, end))),
                Framed::TooLong => rec.push(Frame::TooLong),
            }
        }
    }
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
