//! Help texts, packed: each program's `--help` is a text file,
//! `programs/help/NAME.txt`, which the build script (`programs/build.rs`)
//! packs by byte-pair encoding (chat-server's 3,351 bytes become 1,913)
//! and the program embeds ([`help!`](crate::help!)). [`unpack`] expands
//! it as it is written. The build script includes this file too, to check
//! that what it packed unpacks to the text.

/// How deep a packed symbol may nest: the unpacker's stack holds one
/// entry more.
pub const MAX_DEPTH: usize = 31;

/// Unpacks a help text packed by the build script and hands it to
/// `write` in pieces of 1 to 256 bytes. The packed form: the number N of
/// pairs, the N pairs, then the text, in which a byte 128 + i stands for
/// pair i, whose two bytes may be pairs in turn (nested [`MAX_DEPTH`]
/// deep at most: the build script checks it). A malformed text is cut
/// short, never a panic.
pub fn unpack(packed: &[u8], mut write: impl FnMut(&[u8])) {
    let (n, rest) = packed.split_first().unwrap_or((&0, &[]));
    let (pairs, text) = rest.split_at_checked(usize::from(*n) * 2).unwrap_or((&[], &[]));
    let (mut out, mut len) = ([0u8; 256], 0);
    let mut stack = [0u8; MAX_DEPTH + 1];
    'text: for &sym in text {
        let mut depth = 1usize;
        stack[0] = sym;
        while let Some(d) = depth.checked_sub(1) {
            depth = d;
            let s = stack.get(d).copied().unwrap_or(0);
            if s < 128 {
                if let Some(o) = out.get_mut(len) {
                    (*o, len) = (s, len + 1);
                }
                if len == out.len() {
                    write(&out);
                    len = 0;
                }
                continue;
            }
            let i = usize::from(s - 128) * 2;
            match (pairs.get(i..i + 2), stack.get_mut(d..d + 2)) {
                // The second half goes below the first, which comes next.
                (Some(&[a, b]), Some([lo, hi])) => (*lo, *hi, depth) = (b, a, d + 2),
                _ => break 'text,
            }
        }
    }
    if let Some(rest) = out.get(..len).filter(|r| !r.is_empty()) {
        write(rest);
    }
}
