//! HTTP/1.1 for the chat's web page and WebSocket handshake: a parser of
//! request heads over the bytes received so far, the handshake's checks,
//! and the few responses the server sends, written into caller buffers
//! without `core::fmt`.
//!
//! Choices:
//! - A line may end with LF alone (RFC 9112 2.2 allows a recipient to
//!   accept it); a CR anywhere but right before an LF is a bad request.
//! - Strict otherwise: single spaces in the request line, origin-form
//!   targets only (`/...`: absolute-form and `*` are refused), versions
//!   `HTTP/1.0` and `HTTP/1.1` only, no obs-fold, no whitespace before a
//!   header's colon, no control characters in values, no leading empty
//!   line. HTTP/1.1 needs exactly one `Host`; `Origin`,
//!   `Sec-WebSocket-Key` and `Sec-WebSocket-Version` at most once each. A
//!   body is refused: `Transfer-Encoding`, or a `Content-Length` other
//!   than 0, is a bad request (the server has only GET and HEAD).
//! - The page is sent gzip-compressed. `Accept-Encoding` is read only for
//!   that: with none, any coding is acceptable (RFC 9110 12.5.3); with
//!   one, it must list `gzip`, `x-gzip` or `*` without `q=0`.
//! - Errors are decided once the head is complete (or over the limit), so
//!   the result never depends on how the bytes were split.

use super::base64;
use super::ws;

/// Why a request head is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// Malformed: answer 400.
    BadRequest,
    /// Still no end after the limit: answer 431.
    TooLarge,
}

impl HttpError {
    /// The status code to answer with.
    pub const fn status(self) -> u16 {
        match self {
            HttpError::BadRequest => 400,
            HttpError::TooLarge => 431,
        }
    }
}

/// A request head, borrowing from the receive buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head<'a> {
    /// The method, any token (the caller answers 405 unless GET or HEAD).
    pub method: &'a [u8],
    /// The request target, origin-form: starts with `/`, query included.
    pub path: &'a [u8],
    /// The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    /// `Host`, without surrounding whitespace.
    pub host: Option<&'a [u8]>,
    /// `Origin`.
    pub origin: Option<&'a [u8]>,
    /// An `Upgrade` header lists `websocket` (any case).
    pub upgrade_websocket: bool,
    /// A `Connection` header lists `upgrade` (any case).
    pub connection_upgrade: bool,
    /// `Sec-WebSocket-Key`.
    pub ws_key: Option<&'a [u8]>,
    /// `Sec-WebSocket-Version`.
    pub ws_version: Option<&'a [u8]>,
    /// `Accept-Encoding`: `None` without one, else whether one of them
    /// accepts gzip (see [`Head::gzip_ok`]).
    pub accept_gzip: Option<bool>,
    /// The head's length, its final empty line included: bytes after it
    /// are the next request, or the client's first WebSocket frames.
    pub head_len: usize,
}

impl Head<'_> {
    /// GET or HEAD, the methods the server has.
    pub fn method_allowed(&self) -> bool {
        self.method == b"GET" || self.method == b"HEAD"
    }

    /// Whether the client takes a gzip-coded body: it sent no
    /// `Accept-Encoding`, or one that accepts gzip.
    pub fn gzip_ok(&self) -> bool {
        self.accept_gzip != Some(false)
    }
}

/// The end of the head in `buf`: just past its first empty line.
fn head_end(buf: &[u8]) -> Option<usize> {
    let mut pos = 0;
    while let Some(i) = buf.get(pos..).and_then(|r| r.iter().position(|&b| b == b'\n')) {
        let lf = pos + i;
        let line = buf.get(pos..lf).unwrap_or(&[]);
        if line.is_empty() || line == b"\r" {
            return Some(lf + 1);
        }
        pos = lf + 1;
    }
    None
}

/// A `tchar` of RFC 9110 5.6.2.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// `s` without leading and trailing spaces and tabs.
fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(s.len());
    let end = s.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or(&[])
}

/// `a == b`, ASCII letters in any case: one out-of-line copy for the
/// many comparisons of names here.
#[inline(never)]
fn same_nocase(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Whether the comma-separated list `value` has `token` (any case).
fn list_has(value: &[u8], token: &[u8]) -> bool {
    value.split(|&b| b == b',').any(|item| same_nocase(trim(item), token))
}

/// Whether the `Accept-Encoding` value `value` accepts gzip: one of its
/// items is `gzip`, `x-gzip` or `*` (any case), and what follows its
/// first `;` (its weight) is not `q=0`, `q=0.`, `q=0.0`, ...
#[inline(never)]
fn accepts_gzip(value: &[u8]) -> bool {
    value.split(|&b| b == b',').any(|item| {
        let semi = item.iter().position(|&b| b == b';').unwrap_or(item.len());
        let (coding, weight) = item.split_at(semi);
        let coding = trim(coding);
        let weight = trim(weight.get(1..).unwrap_or(&[]));
        let zero = match weight {
            [b'q' | b'Q', b'=', b'0', rest @ ..] => rest.iter().all(|&b| b == b'.' || b == b'0'),
            _ => false,
        };
        (same_nocase(coding, b"gzip") || same_nocase(coding, b"x-gzip") || coding == b"*") && !zero
    })
}

/// The header fields [`parse`] looks at, lower case, in the order the
/// `match` of [`field`] expects.
const FIELDS: [&[u8]; 9] = [
    b"host",
    b"origin",
    b"upgrade",
    b"connection",
    b"sec-websocket-key",
    b"sec-websocket-version",
    b"accept-encoding",
    b"transfer-encoding",
    b"content-length",
];

/// Sets `slot` to `value`; an error if it was set already.
fn once<'a>(slot: &mut Option<&'a [u8]>, value: &'a [u8]) -> Result<(), HttpError> {
    match slot.replace(value) {
        Some(_) => Err(HttpError::BadRequest),
        None => Ok(()),
    }
}

/// The request line: method, target and minor version.
fn request_line(line: &[u8]) -> Result<(&[u8], &[u8], u8), HttpError> {
    let bad = HttpError::BadRequest;
    if line.contains(&b'\r') {
        return Err(bad);
    }
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(path), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad);
    };
    let minor = match version {
        b"HTTP/1.1" => 1,
        b"HTTP/1.0" => 0,
        _ => return Err(bad),
    };
    if !is_token(method)
        || path.first() != Some(&b'/')
        || !path.iter().all(|&b| b.is_ascii_graphic())
    {
        return Err(bad);
    }
    Ok((method, path, minor))
}

/// A header line (without its line end): the field's name and its value
/// without surrounding whitespace.
fn header_line(line: &[u8]) -> Result<(&[u8], &[u8]), HttpError> {
    let bad = HttpError::BadRequest;
    let colon = line.iter().position(|&b| b == b':').ok_or(bad)?;
    let (name, value) = line.split_at_checked(colon).ok_or(bad)?;
    let value = trim(value.get(1..).unwrap_or(&[]));
    // obs-fold starts with whitespace, which is no tchar either.
    if !is_token(name) || !value.iter().all(|&b| b == b'\t' || b >= b' ' && b != 0x7F) {
        return Err(bad);
    }
    Ok((name, value))
}

/// Notes the header field `name: value` in `h`: the [`FIELDS`] it looks
/// at; a repeated single field, or a body, is an error.
fn field<'a>(h: &mut Head<'a>, name: &[u8], value: &'a [u8]) -> Result<(), HttpError> {
    let bad = HttpError::BadRequest;
    match FIELDS.iter().position(|f| same_nocase(name, f)) {
        Some(0) => once(&mut h.host, value)?,
        Some(1) => once(&mut h.origin, value)?,
        Some(2) => h.upgrade_websocket |= list_has(value, b"websocket"),
        Some(3) => h.connection_upgrade |= list_has(value, b"upgrade"),
        Some(4) => once(&mut h.ws_key, value)?,
        Some(5) => once(&mut h.ws_version, value)?,
        Some(6) => h.accept_gzip = Some(h.accept_gzip == Some(true) || accepts_gzip(value)),
        Some(7) => return Err(bad),
        Some(_) if value != b"0" => return Err(bad),
        _ => {}
    }
    Ok(())
}

/// Parses the request head at the start of `buf`, at most `max` bytes
/// long. `Ok(None)`: incomplete, receive more (`buf` is shorter than
/// `max`); [`HttpError::TooLarge`] once `max` bytes have no end of head.
pub fn parse(buf: &[u8], max: usize) -> Result<Option<Head<'_>>, HttpError> {
    let window = buf.get(..max).unwrap_or(buf);
    let Some(head_len) = head_end(window) else {
        return if buf.len() >= max { Err(HttpError::TooLarge) } else { Ok(None) };
    };
    let head = window.get(..head_len).unwrap_or(&[]);
    let mut lines = head.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let (method, path, minor) = request_line(lines.next().unwrap_or(&[]))?;
    let mut h = Head {
        method,
        path,
        minor,
        host: None,
        origin: None,
        upgrade_websocket: false,
        connection_upgrade: false,
        ws_key: None,
        ws_version: None,
        accept_gzip: None,
        head_len,
    };
    for line in lines.take_while(|l| !l.is_empty()) {
        let (name, value) = header_line(line)?;
        field(&mut h, name, value)?;
    }
    if minor == 1 && h.host.is_none() {
        return Err(HttpError::BadRequest);
    }
    Ok(Some(h))
}

/// Whether `host` (a `Host` value: name or address, perhaps a port) names
/// this server for sure: an IP literal (bracketed IPv6, or digits and
/// dots: a browser parses any such host as IPv4 and never resolves it),
/// `localhost`, or one of `names` (compared without the port, any case).
/// A name not listed could be an attacker's name resolved to this server
/// (DNS rebinding), whose pages the browser would let connect.
pub fn host_is_trusted(host: &[u8], names: &[&[u8]]) -> bool {
    let (name, port) = match host.iter().rposition(|&b| b == b':' || b == b']') {
        Some(i) if host.get(i) == Some(&b':') => {
            (host.get(..i).unwrap_or(&[]), host.get(i + 1..).unwrap_or(&[]))
        }
        _ => (host, &[][..]),
    };
    if !port.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let ipv6 = name.len() > 2 && name.first() == Some(&b'[') && name.last() == Some(&b']');
    let ipv4 = !name.is_empty() && name.iter().all(|&b| b.is_ascii_digit() || b == b'.');
    ipv6 || ipv4 || same_nocase(name, b"localhost") || names.iter().any(|n| same_nocase(n, name))
}

/// Whether `origin` is this server's own page (`http://` or `https://`
/// followed by the `Host` value, any case) or one of `allowed`.
pub fn origin_is_allowed(origin: &[u8], host: &[u8], allowed: &[&[u8]]) -> bool {
    let own = |scheme: &[u8]| {
        origin.len() == scheme.len() + host.len()
            && origin
                .split_at_checked(scheme.len())
                .is_some_and(|(s, h)| same_nocase(s, scheme) && same_nocase(h, host))
    };
    own(b"http://") || own(b"https://") || allowed.iter().any(|a| same_nocase(a, origin))
}

/// The checks of a WebSocket handshake (RFC 6455 4.2.1) on a request the
/// caller routed to its WebSocket path; `Ok(key)` to answer with
/// [`switching_protocols`], or the status to answer with
/// ([`error_response`]): 405 not GET; 400 not HTTP/1.1, no
/// `Upgrade: websocket` or `Connection: upgrade`, a missing or malformed
/// key; 426 a version other than 13; 403 a `Host` that
/// [`host_is_trusted`] refuses with `names`, or an `Origin` that
/// [`origin_is_allowed`] refuses with `origins`.
///
/// A request without `Origin` is accepted: browsers always send it on a
/// WebSocket handshake, so its absence means a non-browser client (curl,
/// a script), which no web page can make a victim's browser be.
pub fn upgrade_check<'a>(
    h: &Head<'a>,
    names: &[&[u8]],
    origins: &[&[u8]],
) -> Result<&'a [u8], u16> {
    if h.method != b"GET" {
        return Err(405);
    }
    if h.minor != 1 || !h.upgrade_websocket || !h.connection_upgrade {
        return Err(400);
    }
    if h.ws_version != Some(b"13") {
        return Err(426);
    }
    let key = h.ws_key.filter(|k| base64::key_is_valid(k)).ok_or(400u16)?;
    let host = h.host.unwrap_or(&[]);
    if !host_is_trusted(host, names)
        || h.origin.is_some_and(|o| !origin_is_allowed(o, host, origins))
    {
        return Err(403);
    }
    Ok(key)
}

/// Appends to a caller buffer; remembers overflow.
struct Out<'a> {
    buf: &'a mut [u8],
    len: usize,
    overflow: bool,
}

impl<'a> Out<'a> {
    fn new(buf: &'a mut [u8]) -> Self {
        Out { buf, len: 0, overflow: false }
    }

    // Not inlined: the responses are a row of these calls, and each
    // inlined copy would cost more code than the call.
    #[inline(never)]
    fn put(&mut self, s: &[u8]) -> &mut Self {
        let end = self.len.saturating_add(s.len());
        match self.buf.get_mut(self.len..end) {
            Some(dst) => {
                dst.copy_from_slice(s);
                self.len = end;
            }
            None => self.overflow = true,
        }
        self
    }

    fn done(&self) -> usize {
        if self.overflow { 0 } else { self.len }
    }
}

const HEAD_START: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
Content-Encoding: gzip\r\nContent-Length: ";
const HEAD_CSP: &[u8] = b"\r\nCache-Control: no-store\r\nContent-Security-Policy: ";
const HEAD_END: &[u8] =
    b"\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n";

/// The decimal digits of [`PAGE_GZ`](super::PAGE_GZ)'s length.
const PAGE_LEN: ([u8; 20], usize) = decimal(super::PAGE_GZ.len());
const PAGE_HEAD_LEN: usize =
    HEAD_START.len() + PAGE_LEN.1 + HEAD_CSP.len() + super::CSP.len() + HEAD_END.len();

/// The head of the page's 200 response (`Content-Type: text/html`,
/// `Content-Encoding: gzip`, `Content-Length` of
/// [`PAGE_GZ`](super::PAGE_GZ), no caching, the page's
/// strict [`CSP`](super::CSP), no sniffing, no referrer,
/// `Connection: close`), made by the compiler: a server sends it as it
/// is, with no code to write it. The page follows (not for HEAD).
pub static PAGE_HEAD: [u8; PAGE_HEAD_LEN] = {
    let mut out = [0u8; PAGE_HEAD_LEN];
    let (digits, n) = PAGE_LEN;
    let digits = digits.split_at(n).0;
    let mut at = 0;
    let parts: [&[u8]; 5] = [HEAD_START, digits, HEAD_CSP, super::CSP, HEAD_END];
    let mut p = 0;
    // Evaluated at compile time: an index out of bounds is a build error.
    while p < parts.len() {
        let mut i = 0;
        while i < parts[p].len() {
            out[at] = parts[p][i];
            (at, i) = (at + 1, i + 1);
        }
        p += 1;
    }
    out
};

/// `n` in decimal (at compile time): the digits and how many.
const fn decimal(mut n: usize) -> ([u8; 20], usize) {
    let mut rev = [0u8; 20];
    let mut k = 0;
    loop {
        rev[k] = b'0' + (n % 10) as u8;
        (n, k) = (n / 10, k + 1);
        if n == 0 {
            break;
        }
    }
    let mut out = [0u8; 20];
    let mut i = 0;
    while i < k {
        out[i] = rev[k - 1 - i];
        i += 1;
    }
    (out, k)
}

/// Writes the 101 response accepting a WebSocket with client key `key`;
/// its length, or 0 if `out` is too short.
pub fn switching_protocols(key: &[u8], out: &mut [u8]) -> usize {
    let mut o = Out::new(out);
    o.put(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
        .put(&ws::accept_key(key))
        .put(b"\r\n\r\n");
    o.done()
}

/// The status line's code and reason phrase of the statuses
/// [`error_response`] writes (all three digits: no number to format).
fn status_line(status: u16) -> &'static [u8] {
    match status {
        400 => b"400 Bad Request",
        403 => b"403 Forbidden",
        404 => b"404 Not Found",
        405 => b"405 Method Not Allowed",
        406 => b"406 Not Acceptable",
        426 => b"426 Upgrade Required",
        431 => b"431 Request Header Fields Too Large",
        _ => b"500 Internal Server Error",
    }
}

/// Writes a short error response: 400, 403, 404, 405 (with `Allow: GET,
/// HEAD`), 406, 426 (with `Upgrade: websocket` and `Sec-WebSocket-Version: 13`)
/// or 431, any other status as 500; a plain-text body of the status line
/// (left out when `head_only`, for HEAD, with the same `Content-Length`)
/// and `Connection: close`. Its length, or 0 if `out` is too short.
pub fn error_response(status: u16, head_only: bool, out: &mut [u8]) -> usize {
    let line = status_line(status);
    let extra: &[u8] = match status {
        405 => b"Allow: GET, HEAD\r\n",
        426 => b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
        _ => b"",
    };
    // The body's length, two digits: every line above is 13 to 35 bytes.
    let n = line.len() + 1;
    let len = [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8];
    let mut o = Out::new(out);
    o.put(b"HTTP/1.1 ")
        .put(line)
        .put(b"\r\n")
        .put(extra)
        .put(b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: ")
        .put(&len)
        .put(b"\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n");
    if !head_only {
        o.put(line).put(b"\n");
    }
    o.done()
}
