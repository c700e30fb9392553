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

use std::{env, fs, path::Path};

const PAGE: &str = "src/web/page.html";

fn main() {
    println!("cargo:rustc-link-lib=c");
    if env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("arm") {
        println!("cargo:rustc-link-lib=gcc_eh");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={PAGE}");
    let page = fs::read(PAGE).expect("read the page");
    let out = Path::new(&env::var_os("OUT_DIR").expect("OUT_DIR")).join("page.html.gz");
    fs::write(out, gzip(&page)).expect("write the compressed page");
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
