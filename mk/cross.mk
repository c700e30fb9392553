# Cross builds for ARM with Debian's Rust 1.85 (also the MSRV check), tests
# under qemu user-mode emulation, and the size report. Included by Makefile.
CROSS_TARGETS := armv7-unknown-linux-gnueabihf aarch64-unknown-linux-gnu
STATIC_RUSTFLAGS := -C target-feature=+crt-static -C link-arg=-lgcc_eh
# Debian's toolchain lives in /usr/bin, apart from rustup's. The runners use
# the multi-arch armhf/arm64 C libraries (no -L): qemu 7.2 with the older
# *-cross sysroots crashes in pthread_create.
CROSS_ENV := PATH=/usr/bin:$(PATH) RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
	CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc \
	CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUNNER=qemu-arm-static \
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER=qemu-aarch64-static
CROSS_CARGO := env $(CROSS_ENV) /usr/bin/cargo

.PHONY: cross-toolchain cross cross-test size

cross-toolchain:
	bash scripts/install-cross.sh

cross: cross-toolchain
	@set -e; for t in $(CROSS_TARGETS); do \
	  echo "== $$t: library, test binaries"; \
	  $(CROSS_CARGO) build -p picosel --target $$t --target-dir target/cross; \
	  $(CROSS_CARGO) test --workspace --no-run --target $$t --target-dir target/cross; \
	  echo "== $$t: static programs"; \
	  env RUSTFLAGS="$(STATIC_RUSTFLAGS)" $(CROSS_CARGO) build --release -p picosel-programs --bins \
	    --target $$t --target-dir target/cross-static; \
	done

cross-test: cross
	env PICOSEL_TEST_RUNNER=qemu-arm-static $(CROSS_CARGO) test --workspace \
	  --target armv7-unknown-linux-gnueabihf --target-dir target/cross
	env PICOSEL_TEST_RUNNER=qemu-aarch64-static $(CROSS_CARGO) test --workspace \
	  --target aarch64-unknown-linux-gnu --target-dir target/cross

# Stripped sizes of the static programs next to a do-nothing static no_std
# binary built the same way: the difference is what picosel and the program add.
# The glibc table, then the musl one of the router builds (mk/router.mk).
size: cross-toolchain
	@set -e; \
	for t in x86_64-unknown-linux-gnu $(CROSS_TARGETS); do \
	  if [ $$t = x86_64-unknown-linux-gnu ]; then c="$(CARGO)"; else c="$(CROSS_CARGO)"; fi; \
	  env RUSTFLAGS="$(STATIC_RUSTFLAGS)" $$c build -q --release -p picosel-programs --bins \
	    --target $$t --target-dir target/cross-static; \
	  env RUSTFLAGS="$(STATIC_RUSTFLAGS)" $$c build -q --release --manifest-path scripts/floor/Cargo.toml \
	    --target $$t --target-dir target/cross-static; \
	done
	@python3 scripts/size_report.py target/cross-static x86_64-unknown-linux-gnu $(CROSS_TARGETS)
	@echo
	@$(MAKE) --no-print-directory size-router
