# cargo-fuzz targets. Included by Makefile (FUZZ_SECONDS, CI_FUZZ_SECONDS).
# The committed corpus (fuzz/corpus/T) is read as seeds; new inputs go to a
# scratch corpus under fuzz/target, so a run never dirties the tree.
FUZZ_TARGETS := dispatch selector_ops chat_framing
# cargo-fuzz needs nightly; use rustup's nightly when there is one, else
# let stable act as nightly.
FUZZ_CARGO := $(shell if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then echo "cargo +nightly"; else echo "env RUSTC_BOOTSTRAP=1 cargo"; fi)

.PHONY: fuzz-tools fuzz fuzz-ci

fuzz-tools:
	@command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked

define fuzz_run
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/target/scratch/$$t; \
	  echo "== fuzz $$t for $(1) s"; \
	  if ! $(FUZZ_CARGO) fuzz run $$t fuzz/target/scratch/$$t fuzz/corpus/$$t -- \
	      -max_total_time=$(1) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	      > fuzz/target/$$t.log 2>&1; then \
	    tail -40 fuzz/target/$$t.log; \
	    echo "fuzz target $$t found a failure: the input is in fuzz/artifacts/$$t;"; \
	    echo "once fixed, copy it to fuzz/regressions/$$t/ so make test replays it"; \
	    exit 1; \
	  fi; \
	  grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' fuzz/target/$$t.log || true; \
	done
endef

fuzz: fuzz-tools
	$(call fuzz_run,$(FUZZ_SECONDS))

fuzz-ci: fuzz-tools
	$(call fuzz_run,$(CI_FUZZ_SECONDS))
