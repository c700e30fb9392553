#!/usr/bin/env python3
"""Prints the stripped size of each static program per target, next to the
do-nothing static no_std binary ("floor") built the same way.

usage: size_report.py ROOT TRIPLE...   (binaries in ROOT/TRIPLE/release/)"""
import os
import shutil
import subprocess
import sys
import tempfile

PROGRAMS = ["chat-server", "echo-server", "time-server", "chat-client", "watch-client", "link-watch"]
STRIP = {
    "x86_64-unknown-linux-gnu": "strip",
    "armv7-unknown-linux-gnueabihf": "arm-linux-gnueabihf-strip",
    "aarch64-unknown-linux-gnu": "aarch64-linux-gnu-strip",
    "armv7-unknown-linux-musleabihf": "arm-linux-gnueabihf-strip",
    "aarch64-unknown-linux-musl": "aarch64-linux-gnu-strip",
    "mipsel-unknown-linux-musl": "mipsel-linux-gnu-strip",
    "mips-unknown-linux-musl": "mips-linux-gnu-strip",
}


def stripped_size(path, strip, tmp):
    out = os.path.join(tmp, os.path.basename(path))
    shutil.copyfile(path, out)
    subprocess.run([strip, "-s", out], check=True)
    return os.path.getsize(out)


def main():
    root, targets = sys.argv[1], sys.argv[2:]
    print(f"Stripped sizes of the static programs in {root} (bytes); +picosel = program - floor")
    print()
    print("| target | program | stripped | + over floor |")
    print("|---|---|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for t in targets:
            rel = os.path.join(root, t, "release")
            floor = stripped_size(os.path.join(rel, "floor"), STRIP[t], tmp)
            print(f"| {t} | floor (do-nothing static no_std) | {floor:,} | 0 |")
            for p in PROGRAMS:
                path = os.path.join(rel, p)
                if not os.path.exists(path):
                    print(f"| {t} | {p} | (not built) | |")
                    continue
                size = stripped_size(path, STRIP[t], tmp)
                print(f"| {t} | {p} | {size:,} | {size - floor:+,} |")


if __name__ == "__main__":
    main()
