# make bench: picosel against mio, libev, a raw epoll loop and Python
# selectors, in one run; writes bench/REPORT.md and SVG charts. Never part
# of make test (loadgen's own checks are: see the test target).
STATIC_HOST_RUSTFLAGS := -C target-feature=+crt-static -C link-arg=-lgcc_eh

.PHONY: bench bench-tools loadgen-test

bench-tools:
	@command -v valgrind >/dev/null && [ -e /usr/include/ev.h ] || \
	  apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends libev-dev valgrind
	mkdir -p bench/out
	gcc -D_GNU_SOURCE -O2 -Wall -o bench/out/epoll_echo bench/ref/epoll_echo.c
	gcc -D_GNU_SOURCE -O2 -Wall -o bench/out/libev_echo bench/ref/libev_echo.c -lev
	gcc -D_GNU_SOURCE -O2 -Wall -o bench/out/libev_chat bench/ref/libev_chat.c -lev
	$(CARGO) build --release --manifest-path bench/mio-echo/Cargo.toml
	$(CARGO) build --release --manifest-path bench/loadgen/Cargo.toml
	# picosel's servers as they ship on a router: static, no_std.
	env RUSTFLAGS="$(STATIC_HOST_RUSTFLAGS)" $(CARGO) build --release -p picosel-programs \
	  --target x86_64-unknown-linux-gnu --target-dir target/static

bench: bench-tools
	python3 bench/run.py $(BENCH_ARGS)

loadgen-test:
	$(CARGO) test --manifest-path bench/loadgen/Cargo.toml
