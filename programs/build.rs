//! The programs' build script:
//! - The programs are `no_std`: nothing else links the C library for them
//!   (the `libc` crate leaves that to `std` when its `std` feature is on,
//!   as it is when the tests' dev-dependencies unify features). On 32-bit
//!   ARM the precompiled `core` also refers to the EHABI personality
//!   routines (`__aeabi_unwind_cpp_pr0`), which live in libgcc_eh.
//! - It compresses the chat's web page (`src/web/page.html`) with gzip
//!   into `$OUT_DIR/page.html.gz`, which chat-server embeds and serves with
//!   `Content-Encoding: gzip`: 1,983 bytes become about 1,100, in the
//!   binary and on the wire. The page's text stays the source; nothing
//!   built is committed.
//! - It packs each program's `--help` text (`help/NAME.txt`; a line
//!   `@X` stands for `help/_X.txt`) by byte-pair encoding into
//!   `$OUT_DIR/help/NAME.bpe`, which the program embeds and `progs::cli`
//!   unpacks as it prints (`progs::help`), and writes the text itself to
//!   `$OUT_DIR/help/NAME.txt` for the tests to compare with.

use std::collections::HashMap;
use std::{env, fs, path::Path};

// The programs' own unpacker (plain `core` code), to check the packing.
#[path = "src/help.rs"]
mod help;
use help::MAX_DEPTH;

const PAGE: &str = "src/web/page.html";

fn main() {
    println!("cargo:rustc-link-lib=c");
    if env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("arm") {
        println!("cargo:rustc-link-lib=gcc_eh");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/help.rs");
    println!("cargo:rerun-if-changed={PAGE}");
    let out_dir = env::var_os("OUT_DIR").expect("OUT_DIR");
    let out_dir = Path::new(&out_dir);
    let page = fs::read(PAGE).expect("read the page");
    fs::write(out_dir.join("page.html.gz"), gzip(&page)).expect("write the compressed page");
    help_texts(&out_dir.join("help"));
}

/// The help texts: each `help/NAME.txt` (not `_*`), its `@X` lines
/// replaced, packed.
fn help_texts(out: &Path) {
    // A directory: cargo reruns when anything in it changes.
    println!("cargo:rerun-if-changed=help");
    fs::create_dir_all(out).expect("create OUT_DIR/help");
    for entry in fs::read_dir("help").expect("read help/") {
        let path = entry.expect("help/ entry").path();
        let name = path.file_stem().and_then(|n| n.to_str()).expect("a UTF-8 name").to_owned();
        if name.starts_with('_') || path.extension().is_none_or(|e| e != "txt") {
            continue;
        }
        let mut text = Vec::new();
        for line in fs::read_to_string(&path).expect("read a help text").split_inclusive('\n') {
            match line.strip_prefix('@') {
                Some(part) => text.extend(
                    fs::read(format!("help/_{}.txt", part.trim_end())).expect("read an @ part"),
                ),
                None => text.extend(line.as_bytes()),
            }
        }
        let packed = pack(&text);
        fs::write(out.join(format!("{name}.bpe")), &packed).expect("write a packed help text");
        fs::write(out.join(format!("{name}.txt")), &text).expect("write a help text");
    }
}

/// Byte-pair encoding of ASCII `text`: while some pair of adjacent
/// symbols occurs 3 times or more (each use saves a byte, the table entry
/// costs 2), it becomes a new symbol, 128 + its index in the table; at
/// most 128 of them. The result is the table's length N, the N pairs,
/// then the text in symbols. For chat-server's help: 3,351 bytes become
/// about 1,900. A pair that would nest deeper than [`MAX_DEPTH`] is not
/// taken.
fn pack(text: &[u8]) -> Vec<u8> {
    assert!(text.is_ascii(), "help texts are ASCII (bytes 128-255 are the pairs)");
    let mut data = text.to_vec();
    let mut pairs: Vec<[u8; 2]> = Vec::new();
    let mut depth = [0usize; 256];
    while pairs.len() < 128 {
        let mut counts: HashMap<[u8; 2], usize> = HashMap::new();
        let mut i = 0;
        while i + 1 < data.len() {
            let pair = [data[i], data[i + 1]];
            *counts.entry(pair).or_default() += 1;
            // "aaa" holds one "aa" to replace, not two.
            i += if pair[0] == pair[1] && data.get(i + 2) == Some(&pair[0]) { 2 } else { 1 };
        }
        let deep = |p: &[u8; 2]| 1 + depth[usize::from(p[0])].max(depth[usize::from(p[1])]);
        // The most frequent; ties go to the smaller pair, so the build is
        // reproducible (HashMap's order is not).
        let best = counts
            .into_iter()
            .filter(|(p, n)| *n >= 3 && deep(p) <= MAX_DEPTH)
            .max_by_key(|&(p, n)| (n, std::cmp::Reverse(p)));
        let Some((pair, _)) = best else { break };
        let sym = 128 + pairs.len() as u8;
        depth[usize::from(sym)] = deep(&pair);
        pairs.push(pair);
        let mut out = Vec::with_capacity(data.len());
        let mut i = 0;
        while i < data.len() {
            if data.get(i..i + 2) == Some(&pair[..]) {
                out.push(sym);
                i += 2;
            } else {
                out.push(data[i]);
                i += 1;
            }
        }
        data = out;
    }
    let mut packed = vec![pairs.len() as u8];
    packed.extend(pairs.iter().flatten());
    packed.extend(&data);
    let mut unpacked = Vec::new();
    help::unpack(&packed, |piece| unpacked.extend_from_slice(piece));
    assert_eq!(unpacked, text, "packing is lossless");
    packed
}

/// `data` as a gzip member (RFC 1952): a fixed 10-byte header (no name,
/// no time, so the build is reproducible), raw deflate at miniz_oxide's
/// best level, then the CRC-32 and the length, both little-endian.
fn gzip(data: &[u8]) -> Vec<u8> {
    // ID1 ID2, CM = deflate, FLG = 0, MTIME = 0, XFL = 2 (best), OS = 255 (unknown).
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255];
    out.extend(miniz_oxide::deflate::compress_to_vec(data, 10));
    out.extend(crc32(data).to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out
}

/// The CRC-32 of gzip and zlib (reflected polynomial 0xEDB88320), bit by
/// bit: the page is small, so no table.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}
