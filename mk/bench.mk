# Benchmarks side by side: picosel's servers against mio, libev, a raw
# epoll loop in C and Python selectors, in one run (bench/run.py); writes
# bench/REPORT.md and SVG charts in bench/charts/. Included by Makefile.
# Never part of `make test` (loadgen's own unit tests are: loadgen-test).
#
#   make bench          build everything, then the full run (about 9 minutes
#                       on 2 cores)
#   make bench-quick    the same, a short smoke run (about 3 minutes)
#   make bench-tools    only the builds: the C servers and chain programs in
#                       bench/out/ (ignored by git), mio-echo, loadgen and
#                       bench/chain in their own target dirs, picosel's
#                       programs static in target/static/
#   make loadgen-test   loadgen's unit tests (echo byte checks, chat
#                       order/loss/duplicate accounting, line parsing,
#                       percentiles)
#   make bench BENCH_ARGS='--only echo,chat --rounds 3'   options for run.py
BENCH_CC ?= gcc
BENCH_CFLAGS ?= -O2 -Wall -Wextra
BENCH_ARGS ?=
BENCH_OUT := bench/out
BENCH_APT := apt-get -o DPkg::Lock::Timeout=900
# picosel's servers as they ship on a router: static, no_std.
STATIC_HOST_RUSTFLAGS := -C target-feature=+crt-static -C link-arg=-lgcc_eh

.PHONY: bench bench-quick bench-tools bench-deps loadgen-test bench-test

# libev-dev (header and library), valgrind (callgrind) and strace (syscall
# counts), from Debian.
bench-deps:
	@missing=""; \
	  [ -e /usr/include/ev.h ] || missing="$$missing libev-dev"; \
	  command -v valgrind >/dev/null 2>&1 || missing="$$missing valgrind"; \
	  command -v strace >/dev/null 2>&1 || missing="$$missing strace"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing$$missing"; \
	    $(BENCH_APT) update -qq; \
	    DEBIAN_FRONTEND=noninteractive $(BENCH_APT) install -y -q --no-install-recommends $$missing; \
	  fi

$(BENCH_OUT)/epoll_echo: bench/ref/epoll_echo.c bench/ref/common.h | bench-deps
	@mkdir -p $(BENCH_OUT)
	$(BENCH_CC) $(BENCH_CFLAGS) -o $@ $<

$(BENCH_OUT)/libev_%: bench/ref/libev_%.c bench/ref/common.h | bench-deps
	@mkdir -p $(BENCH_OUT)
	$(BENCH_CC) $(BENCH_CFLAGS) -o $@ $< -lev

# bench.c's chain (the `chain` part of run.py): raw epoll and libev in C.
$(BENCH_OUT)/chain_epoll: bench/ref/chain_epoll.c bench/ref/chain.h | bench-deps
	@mkdir -p $(BENCH_OUT)
	$(BENCH_CC) $(BENCH_CFLAGS) -o $@ $<

$(BENCH_OUT)/chain_libev: bench/ref/chain_libev.c bench/ref/chain.h | bench-deps
	@mkdir -p $(BENCH_OUT)
	$(BENCH_CC) $(BENCH_CFLAGS) -o $@ $< -lev

BENCH_C := $(BENCH_OUT)/epoll_echo $(BENCH_OUT)/libev_echo $(BENCH_OUT)/libev_chat \
	$(BENCH_OUT)/chain_epoll $(BENCH_OUT)/chain_libev

bench-tools: bench-deps $(BENCH_C)
	$(CARGO) build --release --manifest-path bench/loadgen/Cargo.toml
	$(CARGO) build --release --manifest-path bench/mio-echo/Cargo.toml
	$(CARGO) build --release --manifest-path bench/chain/Cargo.toml
	env RUSTFLAGS="$(STATIC_HOST_RUSTFLAGS)" $(CARGO) build --release -p picosel-programs \
	  --target x86_64-unknown-linux-gnu --target-dir target/static

bench: bench-tools
	python3 bench/run.py $(BENCH_ARGS)

bench-quick: bench-tools
	python3 bench/run.py --quick $(BENCH_ARGS)

loadgen-test:
	$(CARGO) test --manifest-path bench/loadgen/Cargo.toml

bench-test: loadgen-test
