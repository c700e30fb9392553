# Packaging for crates.io and docs.rs: the picosel .crate that `cargo
# publish` would upload must hold what it needs and pass its own tests with
# nothing else of the repository around it. Included by Makefile.
#
#   make package-check    cargo package -p picosel, failing on any warning;
#                         then the .crate is
#                         unpacked into a fresh temporary directory outside
#                         the workspace and `cargo test --locked` runs there
#                         (its target dir is target/package-check, kept
#                         between runs; offline works once the registry
#                         cache is warm: CARGO_NET_OFFLINE=true)
#   make package-check PACKAGE_FLAGS=--allow-dirty   with uncommitted changes
#                         (CI runs on a clean clone and needs none)
#   make package-list     the files that go into the .crate
#
# The package's file list is the `include` list in Cargo.toml.
PACKAGE_FLAGS ?=
PACKAGE_TARGET_DIR := $(CURDIR)/target/package-check
PACKAGE_LOG := target/package-check.log
# The version of picosel in Cargo.toml, read when a recipe runs.
PACKAGE_VERSION_CMD := $(CARGO) metadata --no-deps --format-version 1 --offline | python3 -c \
	'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "picosel"))'

.PHONY: package-check package-list

package-list:
	$(CARGO) package -p picosel --list $(PACKAGE_FLAGS)

# The .crate stores every file with the same 2006 mtime; unpacked as is,
# cargo would take the last run's build in PACKAGE_TARGET_DIR as up to date
# and test stale code. tar -m gives the files the time of unpacking instead.
package-check:
	@set -euo pipefail; \
	  version=$$($(PACKAGE_VERSION_CMD)); \
	  crate=target/package/picosel-$$version.crate; \
	  mkdir -p target; \
	  echo "== cargo package -p picosel$(if $(PACKAGE_FLAGS), $(PACKAGE_FLAGS)) (picosel $$version; log: $(PACKAGE_LOG))"; \
	  $(CARGO) package -p picosel --color never $(PACKAGE_FLAGS) 2>&1 | tee $(PACKAGE_LOG); \
	  unexpected=$$(grep '^warning:' $(PACKAGE_LOG) || true); \
	  if [ -n "$$unexpected" ]; then \
	    echo "package-check: cargo package warned:"; echo "$$unexpected"; exit 1; \
	  fi; \
	  [ -f "$$crate" ] || { echo "package-check: $$crate is missing"; exit 1; }; \
	  tmp=$$(mktemp -d -t picosel-package.XXXXXX); \
	  trap 'rm -rf "$$tmp"' EXIT; \
	  tar -xzmf "$$crate" -C "$$tmp"; \
	  echo "== cargo test --locked in $$tmp/picosel-$$version (target dir $(PACKAGE_TARGET_DIR))"; \
	  cd "$$tmp/picosel-$$version"; \
	  env CARGO_TARGET_DIR="$(PACKAGE_TARGET_DIR)" $(CARGO) test --locked; \
	  echo "package-check: $$crate packages cleanly and passes its tests"
