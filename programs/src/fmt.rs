//! Formatting into caller-provided byte buffers, for `no_std` programs.

use core::fmt;

/// A `core::fmt::Write` sink over a fixed byte buffer. Output past the end
/// of the buffer is cut off (at a character boundary) and remembered in
/// [`BufWriter::truncated`]; writing never fails and never panics.
pub struct BufWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
    truncated: bool,
}

impl<'a> BufWriter<'a> {
    /// A writer that fills `buf` from its start.
    pub fn new(buf: &'a mut [u8]) -> Self {
        BufWriter { buf, len: 0, truncated: false }
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// The text written so far.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// Number of bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when some output did not fit and was dropped.
    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

impl fmt::Write for BufWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        let mut take = s.len().min(room);
        while take < s.len() && !s.is_char_boundary(take) {
            take -= 1;
        }
        if take < s.len() {
            self.truncated = true;
        }
        if let Some(dst) = self.buf.get_mut(self.len..self.len + take) {
            dst.copy_from_slice(&s.as_bytes()[..take]);
            self.len += take;
        }
        Ok(())
    }
}

/// Formats `args` into `buf` and returns the text that fit.
///
/// ```
/// let mut buf = [0u8; 16];
/// assert_eq!(progs::fmt::format_into(&mut buf, format_args!("{}+{}", 1, 2)), "1+2");
/// ```
pub fn format_into<'a>(buf: &'a mut [u8], args: fmt::Arguments<'_>) -> &'a str {
    let len = {
        let mut w = BufWriter::new(&mut *buf);
        let _ = fmt::write(&mut w, args);
        w.len()
    };
    core::str::from_utf8(&buf[..len]).unwrap_or("")
}
