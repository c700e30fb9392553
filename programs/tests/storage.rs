//! The servers keep their large state (connection tables, buffers, the
//! event loop) in static storage whose initialiser is all zero bytes, so it
//! lands in `.bss`: not in the binary, not zero-filled at start-up, and
//! mapped by the kernel page by page as it is used. A single non-zero byte
//! in such an initialiser (an `Option` whose `None` is not all zero, a -1
//! fd) moves the whole table into `.data`, i.e. into the file. These tests
//! read the binaries' ELF section headers and check where the state went.

mod common;

/// `(name, size)` of each section of the ELF file at `path` (32- or
/// 64-bit, either byte order: the router builds are tested too).
fn sections(path: &str) -> Vec<(String, u64)> {
    let f = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(f.get(..4), Some(&b"\x7fELF"[..]), "{path} is not an ELF file");
    let (is64, le) = (f[4] == 2, f[5] == 1);
    let int = |at: usize, len: usize| -> u64 {
        let b = &f[at..at + len];
        let fold = |acc: u64, &x: &u8| acc << 8 | u64::from(x);
        if le { b.iter().rev().fold(0, fold) } else { b.iter().fold(0, fold) }
    };
    let word = |at: usize| if is64 { int(at, 8) } else { int(at, 4) };
    let (shoff, shentsize, shnum, shstrndx) = if is64 {
        (int(0x28, 8), int(0x3a, 2), int(0x3c, 2), int(0x3e, 2))
    } else {
        (int(0x20, 4), int(0x2e, 2), int(0x30, 2), int(0x32, 2))
    };
    let header = |i: u64| (shoff + i * shentsize) as usize;
    // sh_name (4 bytes), sh_type (4), sh_flags, sh_addr, sh_offset, sh_size.
    let offset = |h: usize| if is64 { word(h + 0x18) } else { word(h + 0x10) };
    let size = |h: usize| if is64 { word(h + 0x20) } else { word(h + 0x14) };
    let names = offset(header(shstrndx)) as usize;
    (0..shnum)
        .map(|i| {
            let h = header(i);
            let at = names + int(h, 4) as usize;
            let end = at + f[at..].iter().position(|&b| b == 0).unwrap_or(0);
            (String::from_utf8_lossy(&f[at..end]).into_owned(), size(h))
        })
        .collect()
}

fn size_of(sections: &[(String, u64)], name: &str) -> u64 {
    sections.iter().filter(|(n, _)| n == name).map(|(_, s)| s).sum()
}

/// `prog`'s `.bss` holds at least `state` bytes and its `.data` stays small.
fn state_in_bss(prog: &str, state: u64) {
    let path = common::bin(prog);
    let s = sections(&path);
    let (bss, data) = (size_of(&s, ".bss"), size_of(&s, ".data"));
    assert!(
        bss >= state,
        "{prog}: .bss is {bss} bytes, expected the state's {state} or more there ({path})"
    );
    assert!(
        data < 256 * 1024,
        "{prog}: .data is {data} bytes: a static with a non-zero initialiser? ({path})"
    );
}

#[test]
fn echo_server_state_is_in_bss() {
    // 10,000 connection slots, 64 x 16 KiB buffers, the 64 KiB UDP buffer
    // and a 10,000-fd loop: over 1.5 MB.
    state_in_bss("echo-server", 1_500_000);
}

#[test]
fn chat_server_state_is_in_bss() {
    // 1,000 client slots with their input buffers, the 64 KiB log.
    state_in_bss("chat-server", 700_000);
}
