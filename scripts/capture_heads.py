#!/usr/bin/env python3
"""Captures real browser request heads into the http_head fuzz corpus (issue 14).

Run by hand (not part of `make ci`), after installing the browsers:

  bash scripts/install-browser.sh          # chromium (Debian's)
  apt-get install -y firefox-esr            # by hand: the capture only
  python3 scripts/capture_heads.py [--browsers chromium,firefox] [--no-lan]

For each browser, a small HTTP server of this script listens on a fresh
port and records each request head as it arrived, byte for byte, up to and
including its empty line. The browser, headless with a throwaway profile,
is told to open `http://ADDR:PORT/`; the page it gets opens
`new WebSocket('ws://' + location.host + '/ws')`. Recorded: the GET / head
and the /ws upgrade head; the upgrade is answered with 101 and a close
frame, then the browser is stopped.

ADDR is 127.0.0.1, then (unless --no-lan) the machine's first
non-loopback IPv4 address as `ip -4 addr show scope global` lists it, with
the server bound to that address, so that Host and Origin are what a phone
on a LAN would send to a router. With no such address the LAN variants are
skipped, not made up.

Written to fuzz/corpus/http_head/ (or --out), in the http_head target's
input format (fuzz/src/http_head.rs): the four bytes 255, 5, 40, 200 (head
limit 1021, prefixes of 5, 45 and 245 bytes), then the head:

  chromium_<version>_get, chromium_<version>_ws,
  chromium_<version>_lan_get, chromium_<version>_lan_ws, and firefox_...

<version> is from `chromium --version` / `firefox-esr --version`. Headless
Chromium names itself HeadlessChrome in its User-Agent; that is left as
sent. Files of other versions already there are left alone (delete them by
hand when they should go). programs/tests/web.rs (real_request_heads)
checks every such file with the parser.

Chromium runs with the flags scripts/browser_test.py uses (no sandbox as
root, nothing that calls Google); Firefox with a user.js that turns off its
first-run pages, updates and telemetry. None of these change the headers
sent to the page.
"""

import argparse
import base64
import hashlib
import os
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser_test  # noqa: E402  (its Chromium command line)

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "fuzz", "corpus", "http_head")
PREFIX = bytes([255, 5, 40, 200])
LIMIT = 4 * 255 + 1
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_HEAD = 16384

PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>capture</title>
<link rel="icon" href="data:,"></head>
<body><p id="s">opening</p>
<script>
var ws = new WebSocket('ws://' + location.host + '/ws');
ws.onopen = function () { document.getElementById('s').textContent = 'open'; ws.close(); };
ws.onerror = function () { document.getElementById('s').textContent = 'error'; };
</script></body></html>
"""

# Debian's headless Chromium, started as browser_test.py starts it (as root,
# no sandbox, nothing that calls Google).
CHROMIUM = browser_test.CHROMIUM
CHROMIUM_FLAGS = browser_test.CHROMIUM_FLAGS + ["--no-default-browser-check"]
FIREFOX = "firefox-esr"
FIREFOX_PREFS = {
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "browser.startup.firstrunSkipsHomepage": True,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.enabled": False,
    "app.normandy.enabled": False,
    "extensions.update.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "browser.safebrowsing.update.enabled": False,
}


def log(msg):
    print("capture-heads: " + msg, flush=True)


def head_end(buf):
    """The length of the head in buf (through its empty line), or None."""
    ends = [i + n for i, n in ((buf.find(b"\r\n\r\n"), 4), (buf.find(b"\n\n"), 2)) if i >= 0]
    return min(ends) if ends else None


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.settimeout(10)
        buf = b""
        try:
            while head_end(buf) is None and len(buf) < MAX_HEAD:
                data = sock.recv(4096)
                if not data:
                    return
                buf += data
        except OSError:
            return
        n = head_end(buf)
        if n is None:
            self.server.note("no head end in %d bytes: %r" % (len(buf), buf[:60]))
            return
        head = buf[:n]
        line = head.split(b"\n", 1)[0].rstrip(b"\r")
        parts = line.split(b" ")
        path = parts[1] if len(parts) == 3 else b""
        if path == b"/":
            self.server.record("get", head)
            sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                b"Content-Length: %d\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
                % len(PAGE)
                + PAGE
            )
        elif path == b"/ws":
            self.server.record("ws", head)
            key = None
            for l in head.split(b"\n")[1:]:
                name, _, value = l.partition(b":")
                if name.strip().lower() == b"sec-websocket-key":
                    key = value.strip()
            if key is None:
                sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())
            sock.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            # Close (1000); wait briefly for the browser's close, then go.
            sock.sendall(bytes([0x88, 0x02, 0x03, 0xE8]))
            try:
                sock.settimeout(2)
                sock.recv(4096)
            except OSError:
                pass
        else:
            self.server.note("other request: %r" % line)
            sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


class Recorder(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr):
        super().__init__((addr, 0), Handler)
        self.heads = {}
        self.lock = threading.Lock()
        self.done = threading.Event()

    def record(self, kind, head):
        with self.lock:
            if kind in self.heads:
                self.note("another %s head, not kept" % kind)
                return
            self.heads[kind] = head
            if len(self.heads) == 2:
                self.done.set()

    def note(self, msg):
        log("  (%s)" % msg)


def version_of(cmd):
    out = subprocess.run([cmd, "--version"], capture_output=True, text=True, timeout=60).stdout
    m = re.search(r"\d+(?:\.\d+)+\w*", out)
    if not m:
        raise SystemExit("no version in `%s --version`: %r" % (cmd, out))
    return m.group(0)


def lan_address():
    """The first non-loopback IPv4 address of this machine, or None."""
    try:
        out = subprocess.run(
            ["ip", "-4", "-o", "addr", "show", "scope", "global"],
            capture_output=True, text=True, timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for m in re.finditer(r"\binet (\d+\.\d+\.\d+\.\d+)/", out):
        if not m.group(1).startswith("127."):
            return m.group(1)
    return None


def browser_cmd(browser, scratch, url):
    if browser == "chromium":
        return [CHROMIUM] + CHROMIUM_FLAGS + ["--user-data-dir=" + os.path.join(scratch, "profile"), url]
    profile = os.path.join(scratch, "profile")
    os.makedirs(profile, exist_ok=True)
    with open(os.path.join(profile, "user.js"), "w") as f:
        for k, v in FIREFOX_PREFS.items():
            f.write('user_pref("%s", %s);\n' % (k, "true" if v is True else "false" if v is False else '"%s"' % v))
    return [FIREFOX, "--headless", "--new-instance", "--no-remote", "--profile", profile, url]


def stop(proc):
    """Stops the browser this script started, and its children (its own group)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass


def capture(browser, addr, timeout):
    """The GET / and /ws heads the browser sends to http://addr:port/."""
    server = Recorder(addr)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scratch = tempfile.mkdtemp(prefix="picosel-capture-")
    url = "http://%s:%d/" % (addr, port)
    env = dict(os.environ, HOME=scratch, TMPDIR=scratch)
    cmd = browser_cmd(browser, scratch, url)
    log("%s -> %s" % (browser, url))
    errlog = open(os.path.join(scratch, "browser.log"), "wb")
    proc = subprocess.Popen(cmd, stdout=errlog, stderr=errlog, env=env, start_new_session=True)
    try:
        if not server.done.wait(timeout):
            errlog.flush()
            with open(os.path.join(scratch, "browser.log"), "rb") as f:
                tail = f.read()[-2000:].decode(errors="replace")
            raise SystemExit(
                "%s: got %s within %.0f s (browser %s); its output ends:\n%s"
                % (browser, sorted(server.heads) or "nothing", timeout,
                   "exited %s" % proc.returncode if proc.poll() is not None else "running", tail)
            )
        return dict(server.heads)
    finally:
        stop(proc)
        errlog.close()
        server.shutdown()
        server.server_close()
        shutil.rmtree(scratch, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--browsers", default="chromium,firefox", help="comma-separated: chromium, firefox")
    ap.add_argument("--out", default=CORPUS, help="corpus directory (default fuzz/corpus/http_head)")
    ap.add_argument("--no-lan", action="store_true", help="loopback only")
    ap.add_argument("--timeout", type=float, default=30, help="seconds per browser run")
    args = ap.parse_args()
    browsers = [b for b in args.browsers.split(",") if b]
    for b in browsers:
        if b not in ("chromium", "firefox"):
            ap.error("unknown browser %r" % b)
        exe = CHROMIUM if b == "chromium" else FIREFOX
        if not shutil.which(exe):
            raise SystemExit("%s not found (install-browser.sh; apt-get install firefox-esr)" % exe)
    addrs = [("127.0.0.1", "")]
    lan = None if args.no_lan else lan_address()
    if lan:
        addrs.append((lan, "lan_"))
    else:
        log("LAN variants skipped (%s)" % ("--no-lan" if args.no_lan else "no non-loopback IPv4 address"))
    os.makedirs(args.out, exist_ok=True)
    for b in browsers:
        version = version_of(CHROMIUM if b == "chromium" else FIREFOX)
        for addr, variant in addrs:
            heads = capture(b, addr, args.timeout)
            for kind in ("get", "ws"):
                name = "%s_%s_%s%s" % (b, version, variant, kind)
                head = heads[kind]
                if len(head) > LIMIT:
                    log("  note: %s is %d bytes, over the seed's %d-byte limit" % (name, len(head), LIMIT))
                with open(os.path.join(args.out, name), "wb") as f:
                    f.write(PREFIX + head)
                log("  %s: %d bytes" % (name, len(head)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
