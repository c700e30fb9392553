//! Fuzz target `http_head`: the chat's HTTP request-head parser
//! (`progs::web::http`). The first input byte picks the head limit, the
//! next three pick prefixes to parse first, the rest is what the client
//! sent. Checked: no panic; a prefix parses to "incomplete" or to exactly
//! what the whole input parses to (the result never depends on how the
//! bytes arrived); the result equals a plain reference model written here
//! with `std`; and the handshake checks and response writers take any
//! head without panic.
//!
//! Seeds (`fuzz/corpus/http_head/`): `chromium_*` and `firefox_*` are
//! heads captured from headless Chromium and Firefox ESR by
//! `scripts/capture_heads.py`; `curl_*` were captured from curl; the rest,
//! `safari_ws_handwritten` among them (no Safari here), are written by hand
//! in `fuzz/web_seeds.py`.

use progs::web::http::{self, Head, HttpError};
use progs::web::ws;

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((&m, rest)) = data.split_first() else { return };
    let max = usize::from(m) * 4 + 1;
    let (cuts, stream) = rest.split_at(rest.len().min(3));
    let whole = http::parse(stream, max);
    let mut at = 0;
    for &c in cuts {
        at = (at + usize::from(c)).min(stream.len());
        match http::parse(&stream[..at], max) {
            Ok(None) => assert!(at < max, "incomplete at the limit"),
            part => assert_eq!(part, whole, "a prefix of {at} bytes parses otherwise"),
        }
    }
    let model = reference(stream, max);
    match (&whole, &model) {
        (Ok(Some(h)), Ok(Some(r))) => same(h, r, stream),
        (Ok(None), Ok(None)) => assert!(stream.len() < max),
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("parser {whole:?} but model {model:?}"),
    }
    if let Ok(Some(h)) = whole {
        // Where it is decided: the head's end; before it, incomplete.
        assert_eq!(http::parse(&stream[..h.head_len], max), whole);
        assert_eq!(http::parse(&stream[..h.head_len - 1], max), Ok(None));
        exercise(&h, m);
    }
}

/// The handshake checks and writers on a parsed head: no panic, and
/// writers either write all or nothing.
fn exercise(h: &Head<'_>, m: u8) {
    let names: [&[u8]; 2] = [b"router.lan", b"chat"];
    let origins: [&[u8]; 1] = [b"https://chat.example"];
    let res = http::upgrade_check(h, &names, &origins);
    let mut out = [0u8; 1024];
    let small = usize::from(m) % 300;
    match res {
        Ok(key) => {
            assert!(progs::web::base64::key_is_valid(key));
            let accept = ws::accept_key(key);
            assert_eq!(accept.len(), 28);
            let n = http::switching_protocols(key, &mut out);
            assert!(n > 0 && out[..n].ends_with(b"\r\n\r\n"));
            let k = http::switching_protocols(key, &mut out[..small]);
            assert!(k == 0 || k == n);
        }
        Err(status) => {
            assert!(matches!(status, 400 | 403 | 405 | 426));
            let n = http::error_response(status, h.method == b"HEAD", &mut out);
            assert!(n > 0);
            let k = http::error_response(status, false, &mut out[..small]);
            assert!(k == 0 || out[..k].starts_with(b"HTTP/1.1 "));
        }
    }
    if let Some(host) = h.host {
        let _ = http::host_is_trusted(host, &names);
        if let Some(o) = h.origin {
            let _ = http::origin_is_allowed(o, host, &origins);
        }
    }
}

/// What the model finds in a head.
#[derive(Debug)]
struct Model {
    method: Vec<u8>,
    path: Vec<u8>,
    minor: u8,
    headers: Vec<(String, Vec<u8>)>,
    head_len: usize,
}

impl Model {
    fn all(&self, name: &str) -> Vec<&[u8]> {
        self.headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_slice()).collect()
    }

    fn one(&self, name: &str) -> Option<&[u8]> {
        self.all(name).first().copied()
    }

    fn lists(&self, name: &str, token: &str) -> bool {
        self.all(name).iter().any(|v| {
            String::from_utf8_lossy(v)
                .split(',')
                .any(|t| t.trim_matches([' ', '\t']).eq_ignore_ascii_case(token))
        })
    }
}

impl Model {
    /// `None` without `Accept-Encoding`; else whether an item of one is
    /// gzip, x-gzip or `*` whose text after its first `;` is not `q=`
    /// then `0` then only zeros and dots.
    fn accepts_gzip(&self) -> Option<bool> {
        let values = self.all("accept-encoding");
        if values.is_empty() {
            return None;
        }
        let item_ok = |item: &str| {
            let ws = [' ', '\t'];
            let (coding, weight) = item.split_once(';').unwrap_or((item, ""));
            let coding = coding.trim_matches(ws).to_ascii_lowercase();
            let weight = weight.trim_matches(ws);
            let q = weight.strip_prefix("q=").or_else(|| weight.strip_prefix("Q="));
            let zero = q.is_some_and(|q| {
                q.starts_with('0') && q[1..].chars().all(|c| c == '0' || c == '.')
            });
            ["gzip", "x-gzip", "*"].contains(&coding.as_str()) && !zero
        };
        Some(values.iter().any(|v| String::from_utf8_lossy(v).split(',').any(item_ok)))
    }
}

fn same(h: &Head<'_>, r: &Model, stream: &[u8]) {
    assert_eq!(
        (h.method, h.path, h.minor, h.head_len),
        (&r.method[..], &r.path[..], r.minor, r.head_len)
    );
    assert_eq!(h.host, r.one("host"));
    assert_eq!(h.origin, r.one("origin"));
    assert_eq!(h.ws_key, r.one("sec-websocket-key"));
    assert_eq!(h.ws_version, r.one("sec-websocket-version"));
    assert_eq!(h.upgrade_websocket, r.lists("upgrade", "websocket"));
    assert_eq!(h.connection_upgrade, r.lists("connection", "upgrade"));
    assert_eq!(h.accept_gzip, r.accepts_gzip());
    assert!(h.head_len <= stream.len());
}

fn tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".as_bytes().contains(&b)
}

/// The parser's rules (see the `http` module's notes), plainly.
fn reference(buf: &[u8], max: usize) -> Result<Option<Model>, HttpError> {
    let window = &buf[..buf.len().min(max)];
    // Lines, each without its LF and one CR before it, up to an empty one.
    let mut lines: Vec<&[u8]> = Vec::new();
    let mut head_len = None;
    let mut start = 0;
    for (i, &b) in window.iter().enumerate() {
        if b == b'\n' {
            let line = window[start..i].strip_suffix(b"\r").unwrap_or(&window[start..i]);
            start = i + 1;
            if line.is_empty() {
                head_len = Some(i + 1);
                break;
            }
            lines.push(line);
        }
    }
    let Some(head_len) = head_len else {
        return if buf.len() >= max { Err(HttpError::TooLarge) } else { Ok(None) };
    };
    let bad = Err(HttpError::BadRequest);
    let Some((request, fields)) = lines.split_first() else { return bad };
    let parts: Vec<&[u8]> = request.split(|&b| b == b' ').collect();
    let [method, path, version] = parts[..] else { return bad };
    if method.is_empty() || !method.iter().all(|&b| tchar(b)) {
        return bad;
    }
    if !path.starts_with(b"/") || path.iter().any(|&b| !(0x21..=0x7E).contains(&b)) {
        return bad;
    }
    let minor = match version {
        b"HTTP/1.1" => 1,
        b"HTTP/1.0" => 0,
        _ => return bad,
    };
    let mut headers = Vec::new();
    for line in fields {
        let Some(colon) = line.iter().position(|&b| b == b':') else { return bad };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| tchar(b)) {
            return bad;
        }
        let mut value = &line[colon + 1..];
        while let [b' ' | b'\t', rest @ ..] = value {
            value = rest;
        }
        while let [rest @ .., b' ' | b'\t'] = value {
            value = rest;
        }
        if value.iter().any(|&b| b != b'\t' && (b < 0x20 || b == 0x7F)) {
            return bad;
        }
        headers
            .push((String::from_utf8(name.to_vec()).unwrap().to_ascii_lowercase(), value.to_vec()));
    }
    let model = Model { method: method.to_vec(), path: path.to_vec(), minor, headers, head_len };
    for unique in ["host", "origin", "sec-websocket-key", "sec-websocket-version"] {
        if model.all(unique).len() > 1 {
            return bad;
        }
    }
    if !model.all("transfer-encoding").is_empty()
        || model.all("content-length").iter().any(|v| v != b"0")
    {
        return bad;
    }
    if minor == 1 && model.one("host").is_none() {
        return bad;
    }
    Ok(Some(model))
}
