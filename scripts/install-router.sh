#!/usr/bin/env bash
# Installs what `make router` needs, from Debian's packages only, on top of
# what scripts/install-cross.sh installs (Debian's Rust, ARM gcc, qemu):
#  - rust-web-src of exactly the installed rustc-web's version: the library
#    sources that `-Z build-std=core` compiles (Debian has no musl std);
#  - musl-dev:armhf and musl-dev:arm64: musl's libc.a with the gcc wrappers
#    arm-linux-musleabihf-gcc and aarch64-linux-musl-gcc;
#  - gcc-mips-linux-gnu, gcc-mipsel-linux-gnu (binutils come with them).
# Debian 12 has no big-endian mips architecture, and its mipsel musl is
# hard-float while Rust's mips*-musl targets are soft-float, so a soft-float
# musl for mips and for mipsel is built here from Debian's musl source
# package (the version of the installed musl-dev) into target/musl/<arch>
# (build output: never committed; `make clean` removes it, the next run
# builds it again, about a minute per arch).
# Idempotent: returns at once when everything is there.
set -euo pipefail

cd "$(dirname "$0")/.."
MUSL_DIR=${PICOSEL_MUSL_DIR:-$PWD/target/musl}
MUSL_ARCHES=(mips mipsel)
MUSL_CFLAGS="-msoft-float"

bash scripts/install-cross.sh

rust_version() { dpkg-query -W -f '${Version}' rustc-web; }
installed() { [ "$(dpkg-query -W -f '${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }
have_packages() {
    [ "$(dpkg-query -W -f '${Version}' rust-web-src 2>/dev/null)" = "$(rust_version)" ] &&
        [ -f /usr/lib/rustlib/src/rust/library/core/Cargo.toml ] &&
        installed musl-dev:armhf && installed musl-dev:arm64 &&
        command -v arm-linux-musleabihf-gcc >/dev/null && command -v aarch64-linux-musl-gcc >/dev/null &&
        command -v mips-linux-gnu-gcc >/dev/null && command -v mipsel-linux-gnu-gcc >/dev/null &&
        command -v mips-linux-gnu-strip >/dev/null && command -v mipsel-linux-gnu-strip >/dev/null &&
        command -v qemu-mips-static >/dev/null && command -v qemu-mipsel-static >/dev/null
}

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
APT=($SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 -q
    -o DPkg::Options::=--force-unsafe-io)

if ! have_packages; then
    RUST_V=$(rust_version)
    if ! apt-cache madison rust-web-src 2>/dev/null | grep -q "| *$RUST_V *|"; then
        "${APT[@]}" update || true
    fi
    echo "installing rust-web-src $RUST_V, musl-dev armhf/arm64, mips/mipsel gcc"
    # --allow-downgrades: bookworm-security may carry a newer rust-web-src.
    "${APT[@]}" install -y --no-install-recommends --allow-downgrades \
        "rust-web-src=$RUST_V" musl-dev:armhf musl-dev:arm64 \
        gcc-mips-linux-gnu gcc-mipsel-linux-gnu qemu-user-static file
    have_packages || { echo "router toolchain still incomplete after install"; exit 1; }
fi

# The soft-float musl: the version of Debian's musl-dev (one source for
# every arch), built with each gcc cross compiler and -msoft-float.
MUSL_V=$(dpkg-query -W -f '${Version}' musl-dev:armhf)
stamp_of() { echo "musl $MUSL_V target $1-linux-gnu CFLAGS $MUSL_CFLAGS prefix $MUSL_DIR/$1"; }
musl_ok() { [ -f "$MUSL_DIR/$1/.stamp" ] && [ "$(cat "$MUSL_DIR/$1/.stamp")" = "$(stamp_of "$1")" ] &&
    [ -f "$MUSL_DIR/$1/lib/libc.a" ] && [ -x "$MUSL_DIR/$1/bin/musl-gcc" ]; }

todo=()
for a in "${MUSL_ARCHES[@]}"; do musl_ok "$a" || todo+=("$a"); done
if [ ${#todo[@]} -eq 0 ]; then
    echo "router toolchain: present (rust-web-src $(rust_version), soft-float musl $MUSL_V for ${MUSL_ARCHES[*]})"
    exit 0
fi

# Debian's musl source package, through apt with a private deb-src list
# (the machine's apt configuration is left alone): the archive and suite
# are those that musl-dev:armhf was installed from.
SRC="$MUSL_DIR/src"
SRC_V=${MUSL_V%+b*} # a binNMU (+bN) is built from the unchanged source
UPSTREAM=${SRC_V%-*}
UPSTREAM=${UPSTREAM#*:}
ORIG="$SRC/musl_$UPSTREAM.orig.tar.gz"
if [ ! -f "$ORIG" ]; then
    mkdir -p "$SRC/apt/lists/partial" "$SRC/apt/parts.d"
    read -r uri suite component < <(apt-cache policy musl-dev:armhf | awk -v v="$MUSL_V" '
        $1 == v || ($1 == "***" && $2 == v) { found = 1; next }
        found && $2 ~ /:\/\// { split($3, s, "/"); print $2, s[1], s[2]; exit }') ||
        { echo "cannot tell which archive musl-dev $MUSL_V came from"; exit 1; }
    opts=""
    [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] &&
        opts="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
    echo "deb-src $opts$uri $suite $component" >"$SRC/apt/sources.list"
    PRIV=(apt-get -q -o "Dir::Etc::SourceList=$SRC/apt/sources.list" -o "Dir::Etc::SourceParts=$SRC/apt/parts.d"
        -o "Dir::State::Lists=$SRC/apt/lists" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
        -o APT::Sandbox::User=root)
    echo "fetching Debian's musl $MUSL_V source"
    "${PRIV[@]}" update
    (cd "$SRC" && "${PRIV[@]}" source --download-only "musl=$SRC_V")
    [ -f "$ORIG" ] || { echo "no $ORIG after apt-get source"; exit 1; }
fi

for a in "${todo[@]}"; do
    echo "building soft-float musl $MUSL_V for $a into $MUSL_DIR/$a"
    b="$MUSL_DIR/build-$a"
    rm -rf "$b" "$MUSL_DIR/$a"
    mkdir -p "$b"
    tar xzf "$ORIG" -C "$b" --strip-components=1
    # Debian's own patches, when the packaging has any (1.2.3-1 has none).
    deb=$(ls "$SRC"/musl_"${SRC_V#*:}".debian.tar.* 2>/dev/null | head -1 || true)
    if [ -n "$deb" ]; then
        tar xf "$deb" -C "$b"
        if [ -f "$b/debian/patches/series" ]; then
            grep -v '^[[:space:]]*\(#\|$\)' "$b/debian/patches/series" | while read -r p _; do
                patch -d "$b" -p1 -s <"$b/debian/patches/$p"
            done
        fi
    fi
    (cd "$b" && ./configure --target="$a-linux-gnu" CC="$a-linux-gnu-gcc" CFLAGS="$MUSL_CFLAGS" \
        --disable-shared --enable-wrapper=gcc --prefix="$MUSL_DIR/$a" >configure.log &&
        make -j"$(nproc)" >make.log 2>&1 && make install >>make.log 2>&1) ||
        { echo "musl build for $a failed; see $b/configure.log, $b/make.log"; exit 1; }
    rm -rf "$b"
    stamp_of "$a" >"$MUSL_DIR/$a/.stamp"
done
echo "router toolchain: installed (rust-web-src $(rust_version), soft-float musl $MUSL_V for ${MUSL_ARCHES[*]})"
