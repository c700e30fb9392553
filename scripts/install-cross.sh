#!/usr/bin/env bash
# Installs what `make cross` and `make cross-test` need, from Debian's
# packages only: Debian's Rust 1.85 (rustc-web, cargo-web; they land in
# /usr/bin beside rustup's toolchain) with the armhf and arm64 standard
# libraries, the gcc cross linkers, and qemu user-mode emulation.
# Idempotent: returns at once when everything is there.
set -euo pipefail

ARCHES=(armhf arm64)
have_all() {
    [ -x /usr/bin/rustc ] && /usr/bin/rustc --version 2>/dev/null | grep -q '^rustc 1\.85' &&
        [ -x /usr/bin/cargo ] &&
        [ -d /usr/lib/rustlib/armv7-unknown-linux-gnueabihf/lib ] &&
        [ -d /usr/lib/rustlib/aarch64-unknown-linux-gnu/lib ] &&
        command -v arm-linux-gnueabihf-gcc >/dev/null && command -v aarch64-linux-gnu-gcc >/dev/null &&
        command -v qemu-arm-static >/dev/null && command -v qemu-aarch64-static >/dev/null &&
        [ -e /lib/ld-linux-armhf.so.3 ] && [ -e /lib/ld-linux-aarch64.so.1 ]
}

if have_all; then
    echo "cross toolchain: present ($(/usr/bin/rustc --version))"
    exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
APT=($SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 -q)

for a in "${ARCHES[@]}"; do
    dpkg --print-foreign-architectures | grep -qx "$a" || $SUDO dpkg --add-architecture "$a"
done

# A mirror in the middle of a sync serves index files of the wrong size
# ("File has unexpected size ... Mirror sync in progress?"); apt-get update
# still exits 0, so look for its errors and try again.
for attempt in 1 2 3 4 5 6; do
    log=$(mktemp)
    if "${APT[@]}" update >"$log" 2>&1 && ! grep -q '^E:' "$log"; then
        rm -f "$log"
        break
    fi
    echo "apt-get update, attempt $attempt, failed:"
    grep -E '^(E|W|Err):' "$log" | head -5 || true
    rm -f "$log"
    [ "$attempt" -eq 6 ] && { echo "giving up on apt-get update; trying with the indexes we have"; break; }
    sleep $((attempt * 10))
done

# Multi-arch packages must carry one version on every architecture: pick
# the newest rustc-web whose standard library exists for armhf and arm64.
versions_of() { apt-cache madison "$1" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' | sort -u; }
RUST_V=""
for v in $(apt-cache madison rustc-web | awk -F'|' '{gsub(/ /, "", $2); print $2}'); do
    if versions_of libstd-rust-web-dev:armhf | grep -qxF "$v" &&
        versions_of libstd-rust-web-dev:arm64 | grep -qxF "$v" &&
        versions_of cargo-web | grep -qxF "$v"; then
        RUST_V=$v
        break
    fi
done
[ -n "$RUST_V" ] || { echo "no rustc-web version has libstd-rust-web-dev for armhf and arm64"; exit 1; }

# liblzma5 once had different versions per architecture; pin the one that
# all three can have (the amd64 candidate, if the others offer it).
pins=()
LZ=$(apt-cache policy liblzma5 | awk '/Candidate:/{print $2}')
if [ -n "$LZ" ] && versions_of liblzma5:armhf | grep -qxF "$LZ" && versions_of liblzma5:arm64 | grep -qxF "$LZ"; then
    pins=("liblzma5:amd64=$LZ" "liblzma5:armhf=$LZ" "liblzma5:arm64=$LZ")
fi

echo "installing Debian's Rust $RUST_V with armhf/arm64 std, cross gcc and qemu-user-static"
"${APT[@]}" install -y --no-install-recommends \
    "rustc-web=$RUST_V" "cargo-web=$RUST_V" \
    "libstd-rust-web-dev:armhf=$RUST_V" "libstd-rust-web-dev:arm64=$RUST_V" \
    gcc-arm-linux-gnueabihf gcc-aarch64-linux-gnu libc6-dev-armhf-cross libc6-dev-arm64-cross \
    libc6:armhf libc6:arm64 qemu-user-static file binutils-arm-linux-gnueabihf binutils-aarch64-linux-gnu \
    "${pins[@]}"

have_all || { echo "cross toolchain still incomplete after install"; exit 1; }
echo "cross toolchain: installed ($(/usr/bin/rustc --version))"
