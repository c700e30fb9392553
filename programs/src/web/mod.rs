//! The chat's web side, as pure code: the page, HTTP request heads and
//! responses ([`http`]), WebSocket framing ([`ws`]) and what they need
//! ([`sha1`], [`base64`]). No I/O: the chat server feeds bytes in and
//! sends what comes out.
//!
//! The page is one file with its style and script inline. Its
//! Content-Security-Policy ([`CSP`]) allows exactly that style and that
//! script by their SHA-256 hashes (no `'unsafe-inline'`, no other
//! source), and connections to the page's own origin only (`'self'`,
//! which covers `ws:`/`wss:` to the same host in CSP Level 3 browsers).
//! Changing the page's `<script>` or `<style>` changes the hashes: the
//! test `page_csp_hashes_match` computes them and says what to put here.

pub mod base64;
pub mod http;
pub mod sha1;
pub mod ws;
mod ws_reader;

/// The chat page: HTML, CSS and script in one file, no external resource.
/// It connects to `ws://` (or `wss://`) + its own host + `/ws`, shows each
/// line received as text, and sends each line typed as a text message.
/// The server sends [`PAGE_GZ`]; this text is its source (and what the
/// tests check the CSP hashes against).
pub const PAGE: &[u8] = include_bytes!("page.html");

/// [`PAGE`] compressed with gzip by the build script (`programs/build.rs`),
/// about 55 % of its size: what the server embeds and sends, with
/// `Content-Encoding: gzip` (every browser takes gzip; a client that says
/// it does not gets 406, see [`http::Head::gzip_ok`]).
pub const PAGE_GZ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/page.html.gz"));

/// The page's Content-Security-Policy: nothing but its inline style and
/// script (by hash) and connections to its own origin; no framing, no
/// form submission, no `<base>`.
pub const CSP: &[u8] = b"default-src 'none'; \
script-src 'sha256-ktlpeOXDM0DnEHl3CyPmTe1mxbw3y53VJuREF9Ftq2E='; \
style-src 'sha256-iFAtwf3vG+nN105lkhaZ0va42wOI0UZOxb2ryHiDiGs='; \
connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
