#!/usr/bin/env python3
"""Where the bytes of a static program go: its code attributed to source by
the DWARF line table (so code that LTO inlined into another function still
counts for the crate it came from), plus its read-only data.

usage: size_where.py BINARY [--files N]

The binary must carry line tables (the router builds do: `debug =
"line-tables-only"`, stripped afterwards). Code is split into:
  picosel       the library (src/ of this repository)
  program       the program's own files (programs/src/bin/, programs/src/chat/)
  progs         the programs' shared runtime (programs/src/*.rs)
  core::fmt     core's formatting machinery (should be 0: the programs use
                progs::fmt)
  core          the rest of core (slices, str, integers, options, ...)
  builtins      compiler_builtins (integer division, memcpy, soft-float)
  libc          musl and the C start files (no line table: the rest of .text)
and data: .rodata (strings, tables) and .data/.data.rel.ro/.got.
"""
import os
import re
import subprocess
import sys
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sections(binary):
    out = subprocess.run(["size", "-A", binary], capture_output=True, text=True, check=True).stdout
    res = {}
    for line in out.splitlines():
        p = line.split()
        if len(p) >= 3 and p[0].startswith(".") and p[1].isdigit():
            res[p[0]] = (int(p[1]), int(p[2]))
    return res


def category(path):
    if "/library/core/src/fmt/" in path:
        return "core::fmt"
    if "/library/core/" in path or "/library/rustc-std-workspace-core" in path:
        return "core"
    if path.startswith("programs/src/bin/") or path.startswith("programs/src/chat/"):
        return "program"
    if path.startswith("programs/src/"):
        return "progs"
    if "compiler_builtins" in path or "compiler-builtins" in path:
        return "builtins"
    if path.startswith("src/") and os.path.exists(os.path.join(ROOT, path)) and not path.startswith(
        ("src/float/", "src/int/", "src/mem/", "src/macros.rs")
    ):
        return "picosel"
    if path.startswith("src/"):
        return "builtins"
    if path.endswith((".c", ".s", ".S")):
        return "libc"
    return "other"


def line_rows(binary):
    """(address, file) rows of the decoded line table, with sequence ends
    as file None. objdump names each file in a header line (its path and a
    colon) and its rows by the base name."""
    out = subprocess.run(
        ["objdump", "--wide", "--dwarf=decodedline", binary], capture_output=True, text=True, check=True
    ).stdout
    rows, current = [], ""
    for line in out.splitlines():
        p = line.split()
        if len(p) == 1 and p[0].endswith(":"):
            current = p[0][:-1]
        elif len(p) >= 3 and re.fullmatch(r"0x[0-9a-f]+", p[2]):
            f = current if os.path.basename(current) == p[0] else p[0]
            rows.append((int(p[2], 16), None if p[1] == "-" else f))
    return rows


def attribute(binary, lo, hi):
    """Code bytes per source file, within [lo, hi) (the code sections:
    functions the linker dropped keep rows at other addresses)."""
    by_file = Counter()
    # A row's bytes run to the next row's address within its sequence.
    rows = line_rows(binary)
    for (addr, f), (nxt, _) in zip(rows, rows[1:]):
        if f is not None and lo <= addr < nxt <= hi:
            by_file[f] += nxt - addr
    return by_file


def main():
    binary = sys.argv[1]
    nfiles = int(sys.argv[sys.argv.index("--files") + 1]) if "--files" in sys.argv else 0
    sec = sections(binary)
    text = sum(sec.get(s, (0, 0))[0] for s in (".text", ".init", ".fini"))
    lo = min(sec[s][1] for s in (".init", ".text", ".fini") if s in sec)
    hi = max(sec[s][1] + sec[s][0] for s in (".init", ".text", ".fini") if s in sec)
    by_file = attribute(binary, lo, hi)
    cats = Counter()
    for f, n in by_file.items():
        cats[category(f)] += n
    known = sum(cats.values())
    cats["libc"] += max(0, text - known)
    rodata = sec.get(".rodata", (0, 0))[0]
    data = sum(sec.get(s, (0, 0))[0] for s in (".data", ".data.rel.ro", ".got", ".sdata", ".init_array", ".fini_array"))
    total = text + rodata + data
    name = os.path.basename(binary)
    print(f"| {name}: where the bytes go | bytes | share |")
    print("|---|---:|---:|")
    for c in ["picosel", "program", "progs", "core::fmt", "core", "builtins", "libc", "other"]:
        if cats[c]:
            print(f"| code: {c} | {cats[c]:,} | {100 * cats[c] / total:.0f} % |")
    print(f"| read-only data (.rodata: strings, tables) | {rodata:,} | {100 * rodata / total:.0f} % |")
    print(f"| data (.data, .got, ...) | {data:,} | {100 * data / total:.0f} % |")
    print(f"| total (code and data; the file adds headers and page alignment) | {total:,} | |")
    if nfiles:
        print()
        print("| source file | code bytes |")
        print("|---|---:|")
        for f, n in by_file.most_common(nfiles):
            print(f"| {f.replace('/usr/lib/rustlib/src/rust/library/', '')} | {n:,} |")


if __name__ == "__main__":
    main()
