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
# 64 KiB, so aarch64 keeps the toolchain's default). common-page-size=64:
# ld starts the data segment either on the next page in the file too (which
# pads the file by up to 4 KiB, to save a page of memory when the segments
# are large) or at the next file offset with the address congruent to it;
# with a "common page" of 64 bytes it takes the second, so the file has no
# padding, for at most one more page of address space at the end of .bss
# (not resident unless touched; armv7 chat-server -2,048 bytes).
# relocation-model=static: the binaries are static and not position
# independent (ET_EXEC, loaded at a fixed address), so code reaches
# functions and data directly instead of through the GOT (on MIPS each
# call was a GOT load and a jalr through $t9: -8.4 KB for chat-server).
# -z norelro: a PT_GNU_RELRO segment is made read-only after relocation by
# a dynamic loader (musl: ldso/dynlink.c); a static musl binary has none
# and its start-up code ignores the segment, so it protects nothing here,
# while its page alignment pads the file (aarch64, with 64 KiB pages:
# chat-server 132,312 -> 86,496 bytes, echo-server 66,776 -> 56,800).
ROUTER_RUSTFLAGS := -C target-feature=+crt-static -C link-self-contained=no -C relocation-model=static \
	-C link-arg=-Wl,-z,norelro
ROUTER_PAGE := -C link-arg=-Wl,-z,max-page-size=4096 -C link-arg=-Wl,-z,common-page-size=64
ROUTER_TIME64 := --cfg=libc_unstable_musl_v1_2
# Code size, as the platforms build their own C: OpenWrt compiles every
# package with -Os (its Target-Optimization is "-Os -pipe ..."), so the
# router builds are opt-level "s" (the host's release builds, which the
# benchmarks measure, stay at 3; at "s" echo-server costs the same user
# instructions per message on x86_64: 240 against 244); and the 32-bit ARM
# build is Thumb-2, as Debian's armhf gcc makes by default (--with-mode=thumb)
# and every ARMv7 core runs (rustc 1.85 names the feature unstable and says
# so once per crate). Line tables (stripped from the binaries shipped) let
# scripts/size_where.py say where the bytes go.
ROUTER_THUMB := -C target-feature=+thumb-mode
ROUTER_PROFILE := CARGO_PROFILE_RELEASE_OPT_LEVEL=s CARGO_PROFILE_RELEASE_DEBUG=line-tables-only
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
	$(ROUTER_PROFILE) \
	CARGO_TARGET_ARMV7_UNKNOWN_LINUX_MUSLEABIHF_LINKER=arm-linux-musleabihf-gcc \
	CARGO_TARGET_ARMV7_UNKNOWN_LINUX_MUSLEABIHF_RUSTFLAGS="$(ROUTER_RUSTFLAGS) $(ROUTER_PAGE) $(ROUTER_TIME64) $(ROUTER_THUMB)" \
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

.PHONY: router-toolchain router router-smoke size-router router-test router-test-lib router-test-programs

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
	@for t in armv7-unknown-linux-musleabihf mipsel-unknown-linux-musl; do \
	  echo; echo "$$t:"; echo; python3 scripts/size_where.py target/router/$$t/release/chat-server; \
	done

# Tests on the router targets (issue 12), all under qemu-user:
#  - router-test-lib: the library's own test suite (cargo test -p picosel,
#    unit and integration tests) built for ROUTER_LIB_TEST_TARGETS with the
#    router flags above. The test harness needs std, so std and
#    panic_unwind are built from rust-web-src (-Z build-std); tests unwind
#    to report a failure, hence panic=unwind for the dev profile (the
#    workspace's panic=abort would build core twice: E0152). std on musl
#    links a static libunwind, which Debian has not for these targets:
#    gcc's libgcc_eh.a for the arch is copied in as libunwind.a (it
#    provides the same _Unwind_* API; on MIPS it is tagged hard-float, like
#    crtbegin.o), with scripts/dl_find_object.c added: gcc 12's DWARF
#    unwinder (MIPS, aarch64) calls glibc's _dl_find_object, and calls
#    pthread_once through a weak reference that a static musl link leaves
#    0 (every panic died of SIGSEGV at address 0 without it).
#  - router-test-programs: the programs' integration tests (cargo test -p
#    picosel-programs, built for the host) against the musl binaries of
#    every router target in target/router/<triple>/release, each started
#    under that target's qemu (PICOSEL_TEST_BIN_DIR, PICOSEL_TEST_RUNNER).
# ROUTER_LIB_TEST_EXCLUDE: library test files to leave out on musl (none:
# the tests pass a libc::pthread_t to other threads as a usize, since on
# musl it is a pointer, not Send).
# The two 32-bit targets with 64-bit time_t: ARM (EHABI unwinding) and MIPS
# (DWARF unwinding, soft-float musl, errno numbers of its own).
ROUTER_LIB_TEST_TARGETS := armv7-unknown-linux-musleabihf mipsel-unknown-linux-musl
# MIPS only: qemu 7.2 hands getsockopt(SO_ERROR)'s value to the guest
# untranslated (the host's ECONNREFUSED, 111; MIPS's is 146), see
# ROUTER_PROGRAMS_TEST_SKIP_MIPS below.
ROUTER_LIB_TEST_SKIP_MIPS := --skip connect_refused_shows_in_take_error
ROUTER_LIB_TEST_EXCLUDE :=
ROUTER_LIB_TESTS = --lib $(foreach f,$(filter-out $(ROUTER_LIB_TEST_EXCLUDE),\
	$(basename $(notdir $(wildcard tests/*.rs)))),--test $(f))
ROUTER_TEST_DIR := $(CURDIR)/target/router-test
# MIPS: LLVM 19's FastISel (the instruction selector of unoptimized
# builds) emits plain lw for some 1-aligned loads (llvm/llvm-project#114283):
# [u8; 4] == [u8; 4] in core (Ipv4Addr's ==) dies of SIGBUS under qemu (a
# MIPS kernel would fix the access up, slowly). The release builds never
# use FastISel; the test builds turn it off.
ROUTER_TEST_MIPS_FLAGS := -C llvm-args=-fast-isel=false
# Left out under qemu: nothing on every target (daemon.rs's dropped-line
# count raced with a slow server until the test waited for a round trip).
ROUTER_PROGRAMS_TEST_SKIP :=
# MIPS only: qemu 7.2 hands getsockopt(SO_ERROR)'s value to the guest
# untranslated, the host's ECONNREFUSED (111) where MIPS's is 146, so
# watch-client reports "errno 111: unknown error" instead of ECONNREFUSED
# (a C program doing a non-blocking connect to a refusing port and reading
# SO_ERROR shows it: 111 under qemu-mipsel, 146 expected).
# clients.rs's refused-connect tests check the same message: skipped too.
ROUTER_PROGRAMS_TEST_SKIP_MIPS := --skip watch_client_reports_a_refused_connection \
	--skip chat_client_reports_a_refused_connect_whatever_stdin_is \
	--skip watch_client_reports_a_refused_connect_whatever_stdin_and_stdout_are
# The qemu-user binary and the gcc (for libgcc_eh.a) of a triple; the
# environment variable stem of a triple.
ROUTER_QEMU = case $$t in armv7-*) q=qemu-arm-static; g=arm-linux-gnueabihf-gcc;; \
	aarch64-*) q=qemu-aarch64-static; g=aarch64-linux-gnu-gcc;; \
	mipsel-*) q=qemu-mipsel-static; g=mipsel-linux-gnu-gcc;; \
	mips-*) q=qemu-mips-static; g=mips-linux-gnu-gcc;; esac; \
	T=$$(echo $$t | tr a-z- A-Z_)

router-test: router-test-lib router-test-programs

router-test-lib: router-toolchain
	@failed=; for t in $(ROUTER_LIB_TEST_TARGETS); do \
	  $(ROUTER_QEMU); u=$(ROUTER_TEST_DIR)/unwind/$$t; mkdir -p $$u; \
	  flags=$$(env $(ROUTER_ENV) printenv CARGO_TARGET_$${T}_RUSTFLAGS); \
	  cc=$$(env $(ROUTER_ENV) printenv CARGO_TARGET_$${T}_LINKER); \
	  case $$t in mips*) ccf=-msoft-float; flags="$$flags $(ROUTER_TEST_MIPS_FLAGS)"; \
	    skip="$(ROUTER_LIB_TEST_SKIP_MIPS)";; *) ccf=; skip=;; esac; \
	  cp "$$($$g -print-file-name=libgcc_eh.a)" $$u/libunwind.a && \
	  env PATH=/usr/bin:$$PATH $$cc $$ccf -O2 -c -o $$u/dl_find_object.o scripts/dl_find_object.c && \
	  ar rs $$u/libunwind.a $$u/dl_find_object.o || exit 1; \
	  echo "== $$t: cargo test -p picosel under $$q (not built on musl: $(ROUTER_LIB_TEST_EXCLUDE); $$skip)"; \
	  env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS $(ROUTER_ENV) CARGO_PROFILE_DEV_PANIC=unwind \
	    "CARGO_TARGET_$${T}_RUSTFLAGS=$$flags -L native=$$u" CARGO_TARGET_$${T}_RUNNER=$$q \
	    PICOSEL_TEST_RUNNER=$$q /usr/bin/cargo test -p picosel -Z build-std=std,panic_unwind \
	    --target $$t --target-dir $(ROUTER_TEST_DIR) $(ROUTER_LIB_TESTS) --no-fail-fast -- $$skip \
	    || failed="$$failed $$t"; \
	done; [ -z "$$failed" ] || { echo "router-test-lib failed on:$$failed"; exit 1; }

router-test-programs: router
	@failed=; for t in $(ROUTER_TARGETS); do \
	  $(ROUTER_QEMU); skip="$(ROUTER_PROGRAMS_TEST_SKIP)"; \
	  case $$t in mips*) skip="$$skip $(ROUTER_PROGRAMS_TEST_SKIP_MIPS)";; esac; \
	  echo "== $$t: cargo test -p picosel-programs, the musl binaries under $$q ($$skip)"; \
	  env PICOSEL_TEST_RUNNER=$$q PICOSEL_TEST_BIN_DIR=$(CURDIR)/target/router/$$t/release \
	    $(CARGO) test -p picosel-programs --no-fail-fast -- $$skip \
	    || failed="$$failed $$t"; \
	done; [ -z "$$failed" ] || { echo "router-test-programs failed on:$$failed"; exit 1; }
