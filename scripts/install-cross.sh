#!/usr/bin/env bash
# Installs what `make cross` and `make cross-test` need, from Debian's
# packages only: Debian's Rust 1.85 (rustc-web, cargo-web; they land in
# /usr/bin beside rustup's toolchain) with the armhf and arm64 standard
# libraries, the gcc cross linkers, and qemu user-mode emulation.
# Idempotent: returns at once when everything is there.
set -euo pipefail

ARCHES=(armhf arm64)
# The crate's MSRV. Debian 12 ships it as rustc-web 1.85 in bookworm main;
# bookworm-security later moved rustc-web on (1.96 seen), so the version is
# asked for by name: the newest release of the MSRV line, else the newest.
MSRV=1.85
# rustc-web and both foreign standard libraries, at one version (a std built
# by another compiler version is unusable: error E0514).
same_rust_versions() {
    local v
    v=$(dpkg-query -W -f '${Version}\n' rustc-web libstd-rust-web-dev:armhf libstd-rust-web-dev:arm64 \
        2>/dev/null | sort -u) || return 1
    [ -n "$v" ] && [ "$(echo "$v" | wc -l)" -eq 1 ]
}
# True when /usr/bin/rustc is the MSRV, or when Debian offers no MSRV build.
msrv_or_unavailable() {
    /usr/bin/rustc --version 2>/dev/null | grep -q "^rustc $MSRV\\." ||
        ! apt-cache madison rustc-web 2>/dev/null | grep -q "| *$MSRV\\."
}
have_all() {
    [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && same_rust_versions && msrv_or_unavailable &&
        [ -d /usr/lib/rustlib/armv7-unknown-linux-gnueabihf/lib ] &&
        [ -d /usr/lib/rustlib/aarch64-unknown-linux-gnu/lib ] &&
        command -v arm-linux-gnueabihf-gcc >/dev/null && command -v aarch64-linux-gnu-gcc >/dev/null &&
        command -v qemu-arm-static >/dev/null && command -v qemu-aarch64-static >/dev/null &&
        command -v file >/dev/null &&
        [ -e /lib/ld-linux-armhf.so.3 ] && [ -e /lib/ld-linux-aarch64.so.1 ]
}
# The crate's MSRV is 1.85, the rustc-web of Debian 12; say so if a later
# Debian update moved rustc-web on (the builds still work, but no longer
# check the MSRV).
report() {
    local v
    v=$(/usr/bin/rustc --version)
    echo "cross toolchain: $1 ($v)"
    case "$v" in "rustc 1.85."*) ;; *) echo "note: /usr/bin/rustc is not 1.85, the MSRV" ;; esac
}

if have_all; then
    report present
    exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# unsafe-io: dpkg skips its fsyncs (2 GB unpack); only a crash mid-install
# would leave files to repair.
APT=($SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 -q
    -o DPkg::Options::=--force-unsafe-io)

for a in "${ARCHES[@]}"; do
    dpkg --print-foreign-architectures | grep -qx "$a" || $SUDO dpkg --add-architecture "$a"
done

# A mirror in the middle of a sync serves index files of the wrong size
# ("File has unexpected size ... Mirror sync in progress?"); apt-get update
# still exits 0. Retry briefly, then go on with the indexes that did arrive
# (seen: a stale bookworm-security armhf index that never recovered; the
# packages below come from bookworm main, so it did not matter).
for attempt in 1 2 3; do
    log=$(mktemp)
    "${APT[@]}" update >"$log" 2>&1 || true
    if ! grep -q '^E:' "$log"; then
        rm -f "$log"
        break
    fi
    echo "apt-get update, attempt $attempt of 3, had errors:"
    grep -E '^E:' "$log" | head -3 || true
    rm -f "$log"
    if [ "$attempt" -eq 3 ]; then
        echo "going on with the indexes that did download"
    else
        sleep 5
    fi
done

# Multi-arch packages must carry one version on every architecture: pick
# the newest rustc-web of the MSRV line (else the newest) whose standard
# library exists for armhf and arm64.
versions_of() { apt-cache madison "$1" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' | sort -u; }
RUST_V=""
all_v=$(apt-cache madison rustc-web | awk -F'|' '{gsub(/ /, "", $2); print $2}')
for v in $(echo "$all_v" | grep "^$MSRV\\." || true) $all_v; do
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
"${APT[@]}" install -y --no-install-recommends --allow-downgrades \
    "rustc-web=$RUST_V" "cargo-web=$RUST_V" "libstd-rust-web-dev=$RUST_V" \
    "libstd-rust-web-dev:armhf=$RUST_V" "libstd-rust-web-dev:arm64=$RUST_V" \
    gcc-arm-linux-gnueabihf gcc-aarch64-linux-gnu libc6-dev-armhf-cross libc6-dev-arm64-cross \
    libc6:armhf libc6:arm64 qemu-user-static file binutils-arm-linux-gnueabihf binutils-aarch64-linux-gnu \
    "${pins[@]}"

have_all || { echo "cross toolchain still incomplete after install"; exit 1; }
report installed
