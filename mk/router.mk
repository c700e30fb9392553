# Router builds (issue 12): every program as a static, stripped musl binary
# for armv7 (hard-float), aarch64, mipsel and mips, with Debian's Rust 1.85.
# Debian ships no musl standard library for Rust, so `core` is built from
# rust-web-src with -Z build-std (RUSTC_BOOTSTRAP=1 lets the stable
# compiler take -Z). Included by Makefile.
ROUTER_TARGETS := armv7-unknown-linux-musleabihf aarch64-unknown-linux-musl \
	mipsel-unknown-linux-musl mips-unknown-linux-musl
ROUTER_PROGRAMS := chat-server echo-server time-server chat-client watch-client link-watch
MUSL_DIR := $(CURDIR)/target/musl
# +crt-static: Rust's mips*-musl targets default to dynamic linking.
# link-self-contained=no: link with the C library's own crt1.o, not Rust's
# (absent here). 4 KiB pages: no 64 KiB padding between the segments; every
# 32-bit ARM and MIPS Linux uses 4 KiB pages (aarch64 kernels may use 16 or
# 64 KiB, so aarch64 keeps the toolchain's default).
ROUTER_RUSTFLAGS := -C target-feature=+crt-static -C link-self-contained=no
ROUTER_PAGE := -C link-arg=-Wl,-z,max-page-size=4096
ROUTER_TIME64 := --cfg=libc_unstable_musl_v1_2
# Linkers: Debian's musl-gcc wrappers for ARM, the soft-float musl that
# scripts/install-router.sh builds for MIPS. (On MIPS ld warns, unseen:
# cargo hides linker output, that gcc's crtbegin/crtend objects are tagged
# hard-float; they hold no float code and the binaries are soft-float.)
# 32-bit targets: the libc crate's --cfg=libc_unstable_musl_v1_2 selects
# musl 1.2's 64-bit time_t (the default is the old 32-bit ABI, which ends in
# 2038; routers sold now will still run then). Per-target flags, so
# RUSTFLAGS from the caller's environment is dropped (it would override
# them).
ROUTER_ENV := PATH=/usr/bin:$(PATH) RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
	CARGO_TARGET_ARMV7_UNKNOWN_LINUX_MUSLEABIHF_LINKER=arm-linux-musleabihf-gcc \
	CARGO_TARGET_ARMV7_UNKNOWN_LINUX_MUSLEABIHF_RUSTFLAGS="$(ROUTER_RUSTFLAGS) $(ROUTER_PAGE) $(ROUTER_TIME64)" \
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-musl-gcc \
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="$(ROUTER_RUSTFLAGS)" \
	CARGO_TARGET_MIPSEL_UNKNOWN_LINUX_MUSL_LINKER=$(MUSL_DIR)/mipsel/bin/musl-gcc \
	CARGO_TARGET_MIPSEL_UNKNOWN_LINUX_MUSL_RUSTFLAGS="$(ROUTER_RUSTFLAGS) $(ROUTER_PAGE) $(ROUTER_TIME64)" \
	CARGO_TARGET_MIPS_UNKNOWN_LINUX_MUSL_LINKER=$(MUSL_DIR)/mips/bin/musl-gcc \
	CARGO_TARGET_MIPS_UNKNOWN_LINUX_MUSL_RUSTFLAGS="$(ROUTER_RUSTFLAGS) $(ROUTER_PAGE) $(ROUTER_TIME64)"
ROUTER_CARGO := env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS $(ROUTER_ENV) /usr/bin/cargo
ROUTER_BUILD := build --release -Z build-std=core --target-dir target/router
# The binutils strip for a triple.
ROUTER_STRIP = case $$t in armv7-*) s=arm-linux-gnueabihf-strip;; aarch64-*) s=aarch64-linux-gnu-strip;; \
	mipsel-*) s=mipsel-linux-gnu-strip;; mips-*) s=mips-linux-gnu-strip;; esac

.PHONY: router-toolchain router router-smoke size-router

router-toolchain:
	bash scripts/install-router.sh

# target/router/<triple>/release/<program>, stripped copies in
# target/router/stripped/<triple>/<program>.
router: router-toolchain
	@set -e; for t in $(ROUTER_TARGETS); do \
	  echo "== $$t: static musl programs"; \
	  $(ROUTER_CARGO) $(ROUTER_BUILD) -p picosel-programs --bins --target $$t; \
	  $(ROUTER_STRIP); mkdir -p target/router/stripped/$$t; \
	  for p in $(ROUTER_PROGRAMS); do \
	    $$s -o target/router/stripped/$$t/$$p target/router/$$t/release/$$p; \
	  done; \
	done
	@ls -l target/router/stripped/*/chat-server

# For each target: `file` says the architecture and "statically linked",
# and chat-server under qemu-user relays lines between two clients.
router-smoke: router
	python3 scripts/router_smoke.py target/router/stripped $(ROUTER_TARGETS)

# The router half of `make size`: the floor is built the same way.
size-router: router
	@set -e; for t in $(ROUTER_TARGETS); do \
	  $(ROUTER_CARGO) $(ROUTER_BUILD) -q --manifest-path scripts/floor/Cargo.toml --target $$t; \
	done
	@python3 scripts/size_report.py target/router $(ROUTER_TARGETS)
