//! Standard base64 (RFC 4648, section 4: `A-Z a-z 0-9 + /`, `=` padding),
//! encoding only, plus the one check the WebSocket handshake needs.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The encoded length of `n` bytes (padded), saturating.
pub const fn encoded_len(n: usize) -> usize {
    n.div_ceil(3).saturating_mul(4)
}

/// Encodes `input` into the start of `out`; the number of bytes written,
/// or `None` (nothing useful written) if `out` is shorter than
/// [`encoded_len`]`(input.len())`.
pub fn encode(input: &[u8], out: &mut [u8]) -> Option<usize> {
    let need = encoded_len(input.len());
    let out = out.get_mut(..need)?;
    for (src, dst) in input.chunks(3).zip(out.chunks_exact_mut(4)) {
        let b = [
            src.first().copied().unwrap_or(0),
            src.get(1).copied().unwrap_or(0),
            src.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, d) in dst.iter_mut().enumerate() {
            let sextet = (n >> (18 - 6 * i)) & 63;
            *d = if i <= src.len() { ALPHABET[sextet as usize] } else { b'=' };
        }
    }
    Some(need)
}

/// The value of a base64 digit.
fn digit(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Whether `key` is a `Sec-WebSocket-Key` as RFC 6455 (4.1, 4.2.1) wants
/// it: the base64 of exactly 16 bytes, so 22 digits and `==`. Strict: the
/// unused low 4 bits of the last digit must be zero (the canonical
/// encoding every client produces), and no whitespace inside.
pub fn key_is_valid(key: &[u8]) -> bool {
    let Some((digits, pad)) = key.split_at_checked(22) else { return false };
    pad == b"=="
        && digits.iter().all(|&c| digit(c).is_some())
        && digits.last().is_some_and(|c| b"AQgw".contains(c))
}
