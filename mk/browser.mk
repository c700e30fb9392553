# chat-server's web page in a real browser: Debian's headless Chromium driven
# through chromedriver by scripts/browser_test.py against an nc-style TCP
# client (issue 14). Included by Makefile.
.PHONY: browser-tools browser-test

browser-tools:
	bash scripts/install-browser.sh

browser-test: browser-tools
	$(CARGO) build --release -p picosel-programs --bin chat-server
	python3 scripts/browser_test.py --server target/release/chat-server
