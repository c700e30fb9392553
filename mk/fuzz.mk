# cargo-fuzz targets. Included by Makefile (FUZZ_SECONDS, CI_FUZZ_SECONDS).
#
#   make fuzz                       every target for FUZZ_SECONDS each
#   make fuzz FUZZ_TARGETS=dispatch FUZZ_SECONDS=600
#   make fuzz-ci                    every target for CI_FUZZ_SECONDS each
#   make fuzz-regressions           replay corpora and regressions (stable)
#
# The committed seeds (fuzz/corpus/T, and fuzz/regressions/T when present)
# are read only; what libFuzzer finds goes to a scratch corpus under
# fuzz/target/scratch/T (kept between runs, git-ignored), and a failing input
# to fuzz/artifacts/T (git-ignored), so a run never dirties the tree.
# To add a target: a [[bin]] in fuzz/Cargo.toml, seeds in fuzz/corpus/T,
# and its name here.
FUZZ_TARGETS ?= dispatch selector_ops chat_framing netlink addr chatlog http_head ws_frame
# cargo-fuzz needs nightly: rustup's nightly when installed, else stable
# told to act as nightly.
FUZZ_CARGO ?= $(shell if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then echo "cargo +nightly"; else echo "env RUSTC_BOOTSTRAP=1 cargo"; fi)
FUZZ_FLAGS ?= -timeout=10 -rss_limit_mb=2048

.PHONY: fuzz-tools fuzz fuzz-ci fuzz-regressions

fuzz-tools:
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked

# $(1): seconds per target.
define fuzz_run
	@set -e; for t in $(FUZZ_TARGETS); do \
	  scratch=fuzz/target/scratch/$$t; mkdir -p $$scratch fuzz/artifacts/$$t; \
	  seeds=fuzz/corpus/$$t; \
	  if [ -d fuzz/regressions/$$t ]; then seeds="$$seeds fuzz/regressions/$$t"; fi; \
	  echo "== fuzz $$t for $(1) s (log: fuzz/target/$$t.log)"; \
	  if ! $(FUZZ_CARGO) fuzz run $$t $$scratch $$seeds -- \
	      -max_total_time=$(1) $(FUZZ_FLAGS) -print_final_stats=1 \
	      > fuzz/target/$$t.log 2>&1; then \
	    grep -v '^#[0-9]' fuzz/target/$$t.log | tail -60; \
	    echo "fuzz target $$t failed; the input is in fuzz/artifacts/$$t/."; \
	    echo "Replay: $(FUZZ_CARGO) fuzz run $$t fuzz/artifacts/$$t/<file>"; \
	    echo "Once fixed, copy it to fuzz/regressions/$$t/ so that make test replays it."; \
	    exit 1; \
	  fi; \
	  grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' fuzz/target/$$t.log || true; \
	done
endef

fuzz: fuzz-tools
	$(call fuzz_run,$(FUZZ_SECONDS))

fuzz-ci: fuzz-tools
	$(call fuzz_run,$(CI_FUZZ_SECONDS))

# The same checks without cargo-fuzz, on stable (also part of make test).
fuzz-regressions:
	$(CARGO) test -p picosel-programs --test fuzz_corpus --test framing
