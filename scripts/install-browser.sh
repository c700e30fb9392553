#!/usr/bin/env bash
# Installs what `make browser-test` needs, from Debian's packages only:
# Chromium and its WebDriver (chromium, chromium-driver: /usr/bin/chromium,
# /usr/bin/chromedriver). Idempotent: returns at once when both are there.
set -euo pipefail

have_all() { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; }

if have_all; then
    echo "browser: present ($(/usr/bin/chromium --version 2>/dev/null || echo chromium))"
    exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# Another apt may be running: wait for its lock.
APT=($SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 -q)

echo "installing Debian's chromium and chromium-driver"
# apt-get update only when the install fails (no package lists, or stale ones).
if ! "${APT[@]}" install -y chromium chromium-driver; then
    echo "install failed: apt-get update, then again"
    "${APT[@]}" update || true
    "${APT[@]}" install -y chromium chromium-driver
fi

have_all || { echo "chromium or chromedriver still missing after install"; exit 1; }
echo "browser: installed ($(/usr/bin/chromium --version 2>/dev/null || echo chromium))"
