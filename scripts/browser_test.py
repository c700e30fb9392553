#!/usr/bin/env python3
"""chat-server's web page in a real browser (issue 14).

Starts chat-server with --web, Debian's chromedriver and a headless Chromium,
opens the page, and checks against an nc-style TCP client that:
  - a line typed in the page and sent reaches the TCP client as `NICK: line`;
  - a line the TCP client sends appears in the page;
  - `/nick webuser` from the page reaches the TCP client as `* ... is now webuser`;
  - the TCP client closing shows `* NICK left` in the page;
  - the browser console reports no error (a Content Security Policy violation
    fails the test), and the page's inline style and script both ran.

Standard library only: chromedriver's WebDriver HTTP JSON API with urllib.

  python3 scripts/browser_test.py [--server target/release/chat-server]
                                  [--screenshot docs/chat-phone.png]

With --screenshot the window is phone-sized at twice the pixel density and
the PNG is written at the end.
"""

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# As root, and with no internet: no sandbox, nothing that calls Google.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
WAIT = 10.0  # seconds for anything to happen


class Fail(Exception):
    pass


def step(msg):
    print("browser-test: " + msg, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_line(proc, what, timeout=WAIT):
    """One stdout line of a child process, within timeout."""
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        if not sel.select(timeout):
            raise Fail("no %s within %.0f s" % (what, timeout))
    finally:
        sel.close()
    line = proc.stdout.readline()
    if not line:
        raise Fail("chat-server exited (status %s) before printing %s" % (proc.poll(), what))
    return line.decode(errors="replace").rstrip("\n")


class WebDriver:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port
        self.sid = None

    def call(self, method, path, body=None, timeout=30):
        url = self.base + path
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Content-Type", "application/json; charset=utf-8")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                reply = json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            raise Fail("WebDriver %s %s: HTTP %d %s" % (method, path, e.code, text[:500]))
        return reply.get("value")

    def s(self, method, path, body=None):
        return self.call(method, "/session/%s%s" % (self.sid, path), body)

    def wait_ready(self, proc):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise Fail("chromedriver exited with status %s" % proc.returncode)
            try:
                if (self.call("GET", "/status", timeout=2) or {}).get("ready"):
                    return
            except (OSError, Fail):
                pass
            time.sleep(0.1)
        raise Fail("chromedriver not ready within %.0f s" % WAIT)

    def start(self, flags, profile):
        caps = {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": flags + ["--user-data-dir=" + profile]},
            "goog:loggingPrefs": {"browser": "ALL"},
        }
        v = self.call("POST", "/session", {"capabilities": {"alwaysMatch": caps}}, timeout=60)
        self.sid = v["sessionId"]
        return v.get("capabilities", {}).get("browserVersion", "?")

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css):
        return self.s("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def logs(self):
        return self.s("POST", "/se/log", {"type": "browser"}) or []

    def quit(self):
        if self.sid:
            try:
                self.call("DELETE", "/session/" + self.sid, timeout=10)
            except (OSError, Fail):
                pass
            self.sid = None


class Page:
    """The chat page in the browser: its log lines, its input and Send."""

    def __init__(self, wd):
        self.wd = wd
        self.console = []

    def lines(self):
        return self.wd.js(
            "return Array.from(document.getElementById('log').children, d => d.textContent);"
        )

    def wait_for(self, want, what):
        """Waits until a log line equals want (or matches it, if callable)."""
        deadline = time.monotonic() + WAIT
        lines = []
        while time.monotonic() < deadline:
            self.check_console()
            lines = self.lines()
            if any(l.startswith("disconnected") for l in lines):
                raise Fail("the page's WebSocket closed; its lines: %r" % lines)
            for l in lines:
                if (want(l) if callable(want) else l == want):
                    return l
            time.sleep(0.05)
        raise Fail("the page did not show %s within %.0f s; its lines: %r" % (what, WAIT, lines))

    def send(self, text):
        field = self.wd.find("#line")
        self.wd.s("POST", "/element/%s/clear" % field, {})
        self.wd.s("POST", "/element/%s/value" % field, {"text": text})
        self.wd.s("POST", "/element/%s/click" % self.wd.find("#form button:not(#again)"), {})
        # The page empties the input once the line went to the WebSocket.
        deadline = time.monotonic() + WAIT
        while self.wd.js("return document.getElementById('line').value;") != "":
            if time.monotonic() > deadline:
                raise Fail("the page did not send %r (input not emptied)" % text)
            time.sleep(0.05)

    def check_console(self):
        for e in self.wd.logs():
            self.console.append(e)
            msg = e.get("message", "")
            if "Content Security Policy" in msg or e.get("level") == "SEVERE":
                raise Fail("browser console: %s %s" % (e.get("level"), msg))


class NcClient:
    """A TCP client as nc is: lines out, lines in."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.buf = b""
        self.seen = []

    def send(self, text):
        self.sock.sendall(text.encode() + b"\n")

    def wait_for(self, want, what):
        deadline = time.monotonic() + WAIT
        while True:
            while b"\n" in self.buf:
                raw, self.buf = self.buf.split(b"\n", 1)
                l = raw.decode(errors="replace")
                self.seen.append(l)
                if (want(l) if callable(want) else l == want):
                    return l
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("the TCP client did not get %s within %.0f s; it got: %r" % (what, WAIT, self.seen))
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            if not data:
                raise Fail("the server closed the TCP client; it got: %r" % self.seen)
            self.buf += data

    def close(self):
        self.sock.close()


def kill(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(args):
    for path in (args.server, CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            raise Fail("%s missing (make browser-test installs chromium and chromium-driver)" % path)
    server = driver = None
    wd = None
    nc = None
    # The profile, and Chromium's TMPDIR (it leaves scoped_dir* behind).
    scratch = tempfile.mkdtemp(prefix="picosel-browser-")
    profile = os.path.join(scratch, "profile")
    tmp = os.path.join(scratch, "tmp")
    os.mkdir(tmp)
    t0 = time.monotonic()
    try:
        cmd = [args.server, "--bind", "127.0.0.1:0", "--web", "127.0.0.1:0"]
        # Unbuffered: select() must see what readline() has not taken yet.
        server = subprocess.Popen(cmd, stdout=subprocess.PIPE, bufsize=0)
        listening = read_line(server, "its listening line")
        web = read_line(server, "its web page line")
        if not listening.startswith("listening on 127.0.0.1:") or not web.startswith("web page on http://"):
            raise Fail("unexpected chat-server output: %r %r" % (listening, web))
        chat_port = int(listening.split()[2].rsplit(":", 1)[1])
        url = web.split()[3]
        step("chat-server: %s; %s" % (listening, web))

        dport = free_port()
        driver = subprocess.Popen(
            [CHROMEDRIVER, "--port=%d" % dport],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(os.environ, TMPDIR=tmp),
        )
        wd = WebDriver(dport)
        wd.wait_ready(driver)
        flags = list(CHROMIUM_FLAGS)
        if args.screenshot:
            flags.append("--force-device-scale-factor=2")
        version = wd.start(flags, profile)
        step("Chromium %s via chromedriver on port %d" % (version, dport))
        if args.screenshot:
            wd.s("POST", "/window/rect", {"width": 390, "height": 760})
        wd.s("POST", "/url", {"url": url})
        page = Page(wd)
        # The WebSocket is open once the page says so; lines typed before
        # that would be dropped by the page.
        page.wait_for("connected", "'connected' (WebSocket open)")
        styled = wd.js("return getComputedStyle(document.body).display;")
        if styled != "flex":
            raise Fail("the page's style did not apply (body display %r): CSP?" % styled)
        step("page open, WebSocket connected, style and script ran")

        nc = NcClient(chat_port)
        joined = page.wait_for(lambda l: l.startswith("* ") and l.endswith(" joined"), "the TCP client's join")
        first = joined[2 : -len(" joined")]
        nc.send("/nick ana")
        page.wait_for("* %s is now ana" % first, "the TCP client's nick change")
        nc_nick = "ana"
        step("TCP client joined as %s, now ana" % first)

        text = "hi from the phone"
        page.send(text)
        got = nc.wait_for(lambda l: l.endswith(": " + text), "the page's line")
        web_nick = got[: -len(": " + text)]
        page.wait_for(got, "its own line, back from the server")
        step("page -> TCP client: %r (and back to the page)" % got)

        text = "hello, browser"
        nc.send(text)
        page.wait_for("%s: %s" % (nc_nick, text), "the TCP client's line")
        step("TCP client -> page: %s: %s" % (nc_nick, text))

        page.send("/nick webuser")
        got = nc.wait_for(lambda l: l.startswith("* ") and l.endswith(" is now webuser"), "the nick change")
        if got != "* %s is now webuser" % web_nick:
            raise Fail("nick change notice %r, expected the old nick %r" % (got, web_nick))
        page.wait_for("* you are now webuser", "its own nick change")
        step("nick change: %r" % got)

        text = "the web page works"
        page.send(text)
        nc.wait_for("webuser: " + text, "the page's line under its new nick")
        page.wait_for("webuser: " + text, "its own line under its new nick")
        text = "good, bye"
        nc.send(text)
        page.wait_for("%s: %s" % (nc_nick, text), "the TCP client's second line")
        step("second lines both ways")

        nc.close()
        nc = None
        page.wait_for("* %s left" % nc_nick, "the TCP client's leave notice")
        step("leave notice: * %s left" % nc_nick)

        page.check_console()
        if args.screenshot:
            png = base64.b64decode(wd.s("GET", "/screenshot"))
            os.makedirs(os.path.dirname(args.screenshot) or ".", exist_ok=True)
            with open(args.screenshot, "wb") as f:
                f.write(png)
            step("screenshot: %s (%d bytes)" % (args.screenshot, len(png)))
        if server.poll() is not None:
            raise Fail("chat-server exited with status %s during the test" % server.returncode)
        if page.console:
            step("console (no errors): %s" % "; ".join(e.get("message", "") for e in page.console))
        step("ok in %.1f s" % (time.monotonic() - t0))
    finally:
        if nc:
            nc.close()
        if wd:
            wd.quit()
        kill(driver)
        kill(server)
        shutil.rmtree(scratch, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", default="target/release/chat-server", help="chat-server binary")
    ap.add_argument("--screenshot", metavar="PNG", help="save a phone-sized screenshot of the conversation")
    args = ap.parse_args()
    try:
        run(args)
    except Fail as e:
        print("browser-test: FAIL: %s" % e, file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
