//! Text into caller-provided byte buffers, without `core::fmt`.
//!
//! `core::fmt` costs a router binary about 10 KiB (the `Formatter`
//! machinery, padding, `Display` for addresses and integers, and the glue
//! at each call site), so the programs build their lines from pieces
//! instead: each piece is a [`Show`] (a `&str`, an integer, an
//! [`Errno`], a socket address, ...) written into a [`BufWriter`], and the
//! output macros ([`out!`](crate::out), [`err!`](crate::err),
//! [`log_out!`](crate::log_out), [`log_err!`](crate::log_err)) take a
//! comma-separated list of pieces: `log_err!("echo-server: ", e, "\n")`.
//!
//! ```
//! use progs::fmt::{BufWriter, Show};
//! let mut buf = [0u8; 32];
//! let mut w = BufWriter::new(&mut buf);
//! progs::put!(&mut w, "port ", 8008u16, " on ", core::net::Ipv4Addr::LOCALHOST);
//! assert_eq!(w.as_bytes(), b"port 8008 on 127.0.0.1");
//! ```

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use picosel::{Errno, Error, Limit};

/// A sink over a fixed byte buffer. Output past the end of the buffer is
/// cut off (a `&str` at a character boundary, and nothing is added after
/// the cut) and remembered in [`BufWriter::truncated`]; writing never fails
/// and never panics.
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

    /// Appends `bytes`, as much as fits; nothing once output was cut.
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        if self.truncated {
            return;
        }
        let room = self.buf.len().saturating_sub(self.len);
        let take = bytes.len().min(room);
        self.truncated |= take < bytes.len();
        let end = self.len + take;
        if let (Some(dst), Some(src)) = (self.buf.get_mut(self.len..end), bytes.get(..take)) {
            dst.copy_from_slice(src);
            self.len = end;
        }
    }

    /// Appends `s`, cut at a character boundary if it does not fit.
    pub fn push_str(&mut self, s: &str) {
        if self.truncated {
            return;
        }
        let room = self.buf.len().saturating_sub(self.len);
        let mut take = s.len().min(room);
        while take < s.len() && !s.is_char_boundary(take) {
            take -= 1;
        }
        self.push_bytes(s.as_bytes().get(..take).unwrap_or(&[]));
        self.truncated |= take < s.len();
    }

    /// Appends one byte.
    pub fn push_byte(&mut self, b: u8) {
        self.push_bytes(&[b]);
    }
}

/// Something that writes itself as text: what `Display` is to `core::fmt`.
pub trait Show {
    /// Appends the text to `w`.
    fn show(&self, w: &mut BufWriter<'_>);
}

/// Writes each piece into `w` (a `&mut` [`BufWriter`]), in order.
#[macro_export]
macro_rules! put {
    ($w:expr $(, $piece:expr)* $(,)?) => {{
        let w: &mut $crate::fmt::BufWriter<'_> = $w;
        $( $crate::fmt::Show::show(&$piece, w); )*
    }};
}

/// Writes `parts` into `buf` and returns the bytes that fit: the out-of-line
/// form the output macros share (one call per line, a slice of pieces).
pub fn concat<'a>(buf: &'a mut [u8], parts: &[&dyn Show]) -> &'a [u8] {
    let len = {
        let mut w = BufWriter::new(&mut *buf);
        for p in parts {
            p.show(&mut w);
        }
        w.len()
    };
    buf.get(..len).unwrap_or(&[])
}

impl<T: Show + ?Sized> Show for &T {
    fn show(&self, w: &mut BufWriter<'_>) {
        (**self).show(w)
    }
}

impl Show for str {
    fn show(&self, w: &mut BufWriter<'_>) {
        w.push_str(self)
    }
}

/// Bytes as they are (text the caller has checked, such as a nick); for
/// bytes that may not be UTF-8, [`Escaped`].
impl Show for [u8] {
    fn show(&self, w: &mut BufWriter<'_>) {
        w.push_bytes(self)
    }
}

/// Text that may not be UTF-8 (a path, an interface name): as it is when it
/// is UTF-8; otherwise printable ASCII as it is and every other byte as
/// `\xNN` (no UTF-8 decoder of its own: `from_utf8` is linked anyway).
pub struct Escaped<'a>(pub &'a [u8]);

impl Show for Escaped<'_> {
    fn show(&self, w: &mut BufWriter<'_>) {
        if let Ok(s) = core::str::from_utf8(self.0) {
            return w.push_str(s);
        }
        for &b in self.0 {
            if b.is_ascii_graphic() || b == b' ' {
                w.push_byte(b);
            } else {
                w.push_bytes(b"\\x");
                w.push_byte(hex_digit(b >> 4));
                w.push_byte(hex_digit(b & 0xf));
            }
        }
    }
}

fn hex_digit(d: u8) -> u8 {
    if d < 10 { b'0' + d } else { b'a' + d - 10 }
}

/// Writes `n` in decimal, at least `width` digits, filled on the left with
/// `fill`.
#[inline(never)]
fn decimal(w: &mut BufWriter<'_>, neg: bool, mut n: u64, width: usize, fill: u8) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    let used = digits.len() - i + usize::from(neg);
    for _ in used..width {
        w.push_byte(fill);
    }
    if neg {
        w.push_byte(b'-');
    }
    w.push_bytes(digits.get(i..).unwrap_or(&[]));
}

macro_rules! show_unsigned {
    ($($t:ty)*) => {$(
        impl Show for $t {
            fn show(&self, w: &mut BufWriter<'_>) {
                decimal(w, false, *self as u64, 0, b' ')
            }
        }
    )*};
}
show_unsigned!(u8 u16 u32 u64 usize);

macro_rules! show_signed {
    ($($t:ty)*) => {$(
        impl Show for $t {
            fn show(&self, w: &mut BufWriter<'_>) {
                decimal(w, *self < 0, (*self as i64).unsigned_abs(), 0, b' ')
            }
        }
    )*};
}
show_signed!(i32 i64 isize);

/// A number padded on the left to a width: `Pad::zero(7, 2)` is `07`,
/// `Pad::space(7, 2)` is ` 7`.
pub struct Pad {
    n: u64,
    width: u8,
    fill: u8,
}

impl Pad {
    /// `n` with leading zeros up to `width` digits.
    pub fn zero(n: u64, width: u8) -> Pad {
        Pad { n, width, fill: b'0' }
    }

    /// `n` with leading spaces up to `width` characters.
    pub fn space(n: u64, width: u8) -> Pad {
        Pad { n, width, fill: b' ' }
    }
}

impl Show for Pad {
    fn show(&self, w: &mut BufWriter<'_>) {
        decimal(w, false, self.n, usize::from(self.width), self.fill)
    }
}

/// `0x` and the number in lowercase hexadecimal.
pub struct Hex(pub u64);

impl Show for Hex {
    fn show(&self, w: &mut BufWriter<'_>) {
        w.push_bytes(b"0x");
        hex(w, self.0);
    }
}

/// `n` in lowercase hexadecimal without leading zeros (`0` for zero).
fn hex(w: &mut BufWriter<'_>, n: u64) {
    let mut started = false;
    for shift in (0..16).rev() {
        let d = ((n >> (shift * 4)) & 0xf) as u8;
        if d != 0 || started || shift == 0 {
            started = true;
            w.push_byte(hex_digit(d));
        }
    }
}

impl Show for Errno {
    /// `EBADF: bad file descriptor`, or `errno 300: unknown error`.
    fn show(&self, w: &mut BufWriter<'_>) {
        match self.name() {
            "E?" => put!(w, "errno ", self.raw_os_error(), ": ", self.message()),
            name => put!(w, name, ": ", self.message()),
        }
    }
}

impl Show for Error {
    /// The same text as picosel's `Display` for [`Error`].
    fn show(&self, w: &mut BufWriter<'_>) {
        match *self {
            Error::InvalidEvents { bits } => {
                put!(w, "invalid events ", Hex(u64::from(bits)), ": expected READ, WRITE or both")
            }
            Error::BadFd { fd } => put!(w, "invalid file descriptor ", fd),
            Error::AlreadyRegistered { fd } => put!(w, "fd ", fd, " is already registered"),
            Error::NotRegistered { fd } => put!(w, "fd ", fd, " is not registered"),
            Error::Full { what: Limit::Fds, capacity } => {
                put!(w, "selector is full (", capacity, " fds)")
            }
            Error::Full { what: Limit::Timers, capacity } => {
                put!(w, "timer table is full (", capacity, " timers and signal handlers)")
            }
            Error::FdOutOfRange { fd, limit } => {
                put!(w, "fd ", fd, " is out of range for select() (FD_SETSIZE is ", limit, ")")
            }
            Error::Closed => w.push_str("selector is closed"),
            Error::Os(e) => e.show(w),
            _ => w.push_str("picosel error"),
        }
    }
}

impl Show for Ipv4Addr {
    fn show(&self, w: &mut BufWriter<'_>) {
        let [a, b, c, d] = self.octets();
        put!(w, a, ".", b, ".", c, ".", d);
    }
}

impl Show for Ipv6Addr {
    /// RFC 5952's form, as `core`'s `Display`: lowercase, no leading
    /// zeros, the longest run of two or more zero groups (the first of
    /// equals) as `::`, and `::ffff:a.b.c.d` for IPv4-mapped addresses.
    fn show(&self, w: &mut BufWriter<'_>) {
        let seg = self.segments();
        if let [0, 0, 0, 0, 0, 0xffff, hi, lo] = seg {
            let [a, b] = hi.to_be_bytes();
            let [c, d] = lo.to_be_bytes();
            return put!(w, "::ffff:", Ipv4Addr::new(a, b, c, d));
        }
        // The longest run of zero groups (at least two).
        let (mut best, mut best_len, mut run, mut run_len) = (0, 0, 0, 0);
        for (i, &s) in seg.iter().enumerate() {
            if s == 0 {
                if run_len == 0 {
                    run = i;
                }
                run_len += 1;
                if run_len > best_len {
                    (best, best_len) = (run, run_len);
                }
            } else {
                run_len = 0;
            }
        }
        if best_len < 2 {
            best_len = 0;
            best = seg.len();
        }
        let mut i = 0;
        while i < seg.len() {
            if i == best {
                w.push_bytes(b"::");
                i += best_len;
                continue;
            }
            if i > 0 && i != best + best_len {
                w.push_byte(b':');
            }
            hex(w, u64::from(seg.get(i).copied().unwrap_or(0)));
            i += 1;
        }
    }
}

impl Show for IpAddr {
    fn show(&self, w: &mut BufWriter<'_>) {
        match self {
            IpAddr::V4(a) => a.show(w),
            IpAddr::V6(a) => a.show(w),
        }
    }
}

impl Show for SocketAddr {
    /// `127.0.0.1:8008`, `[::1]:8008`, `[fe80::1%2]:8008`.
    fn show(&self, w: &mut BufWriter<'_>) {
        match self {
            SocketAddr::V4(a) => put!(w, a.ip(), ":", a.port()),
            SocketAddr::V6(a) => {
                put!(w, "[", a.ip());
                if a.scope_id() != 0 {
                    put!(w, "%", a.scope_id());
                }
                put!(w, "]:", a.port());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::format;
    use std::string::String;

    fn text(parts: &[&dyn Show]) -> String {
        let mut buf = [0u8; 128];
        String::from_utf8(concat(&mut buf, parts).to_vec()).unwrap()
    }

    #[test]
    fn integers_match_core() {
        for n in [0u64, 1, 9, 10, 99, 100, 65535, 1 << 32, u64::MAX] {
            assert_eq!(text(&[&n]), format!("{n}"));
        }
        for n in [0i64, -1, 1, -10, i64::MIN, i64::MAX] {
            assert_eq!(text(&[&n]), format!("{n}"));
        }
        assert_eq!(text(&[&i32::MIN]), format!("{}", i32::MIN));
        assert_eq!(text(&[&Pad::zero(7, 2), &Pad::space(7, 2), &Pad::zero(123, 2)]), "07 7123");
        assert_eq!(text(&[&Hex(0), &" ", &Hex(0x1f)]), "0x0 0x1f");
    }

    #[test]
    fn addresses_match_core() {
        let addrs = [
            "0.0.0.0:0",
            "127.0.0.1:8008",
            "255.255.255.255:65535",
            "[::]:1",
            "[::1]:8008",
            "[1::]:2",
            "[1:0:0:2::3]:4",
            "[1:0:0:2:0:0:0:3]:4",
            "[1:2:3:4:5:6:7:8]:9",
            "[1:0:3:4:5:6:7:8]:9",
            "[fe80::1%2]:80",
            "[::ffff:192.168.1.1]:53",
            "[::192.168.1.1]:53",
            "[2001:db8::abcd:0:0:1]:443",
            "[0:0:1::]:7",
        ];
        for a in addrs {
            let sa: SocketAddr = a.parse().unwrap();
            assert_eq!(text(&[&sa]), format!("{sa}"), "{a}");
            assert_eq!(text(&[&sa.ip()]), format!("{}", sa.ip()), "{a}");
        }
    }

    #[test]
    fn errors_match_picosel_display() {
        let errors = [
            Error::InvalidEvents { bits: 0x10 },
            Error::BadFd { fd: -1 },
            Error::AlreadyRegistered { fd: 3 },
            Error::NotRegistered { fd: 4 },
            Error::Full { what: Limit::Fds, capacity: 8 },
            Error::Full { what: Limit::Timers, capacity: 2 },
            Error::FdOutOfRange { fd: 2000, limit: 1024 },
            Error::Closed,
            Error::Os(Errno::EBADF),
            Error::Os(Errno::from_raw_os_error(9999)),
        ];
        for e in errors {
            assert_eq!(text(&[&e]), format!("{e}"));
        }
    }

    #[test]
    fn output_is_cut_at_the_end_of_the_buffer() {
        let mut buf = [0u8; 4];
        let mut w = BufWriter::new(&mut buf);
        put!(&mut w, "ab", "cé", 12345u32);
        assert!(w.truncated());
        assert_eq!(w.as_bytes(), b"abc");
        let mut buf = [0u8; 8];
        assert_eq!(concat(&mut buf, &[&Escaped(b"a\xffb")]), b"a\\xffb");
        let mut buf = [0u8; 16];
        assert_eq!(concat(&mut buf, &[&Escaped("é/x".as_bytes())]), "é/x".as_bytes());
        assert_eq!(concat(&mut buf, &[&Escaped(b"\xc3\xa9\xff\n")]), b"\\xc3\\xa9\\xff\\x0a");
    }
}
