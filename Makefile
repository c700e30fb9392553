# picosel: the commands a developer and CI run. `make help` lists them.
SHELL := /bin/bash
CARGO ?= cargo
FUZZ_SECONDS ?= 60
CI_FUZZ_SECONDS ?= 30

.PHONY: help run build test lint fmt doc nostd fuzz fuzz-regressions ci clean

help:
	@echo "make run      build and start chat-server on 127.0.0.1:8008, its web page on http://127.0.0.1:8080/"
	@echo "make test     unit, integration and doc tests (the test command)"
	@echo "make lint     cargo fmt --check and clippy -D warnings"
	@echo "make fuzz     every cargo-fuzz target for FUZZ_SECONDS each (default $(FUZZ_SECONDS))"
	@echo "make cross    build for armv7 and aarch64; make cross-test runs the tests under qemu"
	@echo "make router   static musl programs for routers: armv7, aarch64, mipsel, mips (target/router/)"
	@echo "make router-smoke  file checks, and chat-server relaying lines under qemu, for each router target"
	@echo "make router-test   library tests on armv7 and mipsel musl, programs' tests on the musl binaries of all four, under qemu"
	@echo "make size     stripped sizes of the static programs (glibc and musl) next to a do-nothing binary"
	@echo "make bench    benchmarks against mio, libev, raw epoll and Python (writes bench/REPORT.md)"
	@echo "make package-check  cargo package -p picosel without warnings, then the .crate's tests on their own"
	@echo "make browser-test  chat-server's web page in headless Chromium (Debian's) against an nc-style client"
	@echo "make ci       everything CI runs"

run:
	$(CARGO) build --release -p picosel-programs --bin chat-server
	./target/release/chat-server --web 127.0.0.1:8080

build:
	$(CARGO) build --workspace --all-targets

test:
	$(CARGO) test --workspace
	$(CARGO) test -p picosel --features std
	$(MAKE) nostd loadgen-test

# The library must build with no std and no alloc, and depend on libc alone.
nostd:
	$(CARGO) build -p picosel --no-default-features
	@deps=$$($(CARGO) tree -p picosel -e normal --prefix none | sort -u | grep -v '^picosel ' | sed 's/ .*//'); \
	  echo "picosel normal dependencies: $$deps"; \
	  [ "$$deps" = "libc" ] || { echo "picosel must depend on libc only"; exit 1; }

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p picosel --all-targets --features std -- -D warnings

fmt:
	$(CARGO) fmt --all

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc -p picosel --no-deps --features std

ci: lint test doc package-check fuzz-ci cross-test router-smoke router-test browser-test

clean:
	$(CARGO) clean

-include mk/fuzz.mk
-include mk/cross.mk
-include mk/router.mk
-include mk/bench.mk
-include mk/package.mk
-include mk/browser.mk
