#!/usr/bin/env python3
"""Smoke test of the router builds (`make router-smoke`).

usage: router_smoke.py DIR TRIPLE...

For each TRIPLE, DIR/TRIPLE/ holds the programs. `file` must name the
target's architecture and say "statically linked"; then chat-server runs
under that architecture's qemu-user (no binfmt_misc is assumed: qemu is
started explicitly) on 127.0.0.1 port 0, once per backend, and relays a
line each way between two TCP clients; SIGTERM ends it, and it must exit
with status 0. Every wait is bounded; exit status 0 when all passed."""
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

PROGRAMS = ["chat-server", "echo-server", "time-server", "chat-client", "watch-client", "link-watch"]
# triple: (qemu-user binary, what `file` must say about the architecture)
TARGETS = {
    "armv7-unknown-linux-musleabihf": ("qemu-arm-static", "ELF 32-bit LSB executable, ARM, EABI5"),
    "aarch64-unknown-linux-musl": ("qemu-aarch64-static", "ELF 64-bit LSB executable, ARM aarch64"),
    "mipsel-unknown-linux-musl": ("qemu-mipsel-static", "ELF 32-bit LSB executable, MIPS, MIPS32"),
    "mips-unknown-linux-musl": ("qemu-mips-static", "ELF 32-bit MSB executable, MIPS, MIPS32"),
}
BACKENDS = ["epoll", "poll", "select"]
WAIT = 20.0  # seconds for any one step (qemu on a busy 2-core machine)


class Failed(Exception):
    pass


def check_file(path, arch):
    out = subprocess.run(["file", "-b", path], capture_output=True, text=True, check=True).stdout.strip()
    if arch not in out or "statically linked" not in out:
        raise Failed(f"{path}: file says {out!r}; want {arch!r} and 'statically linked'")
    return out


class Client:
    def __init__(self, addr):
        self.sock = socket.create_connection(addr, timeout=WAIT)
        self.buf = b""

    def line(self, want=None):
        """The next line (for `want`: the first line containing it)."""
        deadline = time.monotonic() + WAIT
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                text = line.decode(errors="replace")
                if want is None or want in text:
                    return text
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failed(f"no line{' with ' + repr(want) if want else ''} within {WAIT}s")
            self.sock.settimeout(left)
            try:
                got = self.sock.recv(4096)
            except socket.timeout:
                continue
            if not got:
                raise Failed(f"connection closed while waiting for {want!r}")
            self.buf += got

    def send(self, text):
        self.sock.sendall(text.encode())

    def close(self):
        self.sock.close()


def first_line(proc):
    """The server's first stdout line, waited for at most WAIT seconds."""
    deadline = time.monotonic() + WAIT
    buf = b""
    fd = proc.stdout.fileno()
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise Failed(f"no first line within {WAIT}s (got {buf!r})")
        got = os.read(fd, 4096)
        if not got:
            raise Failed(f"server exited before its first line (got {buf!r})")
        buf += got
    return buf.split(b"\n", 1)[0].decode(errors="replace")


def relay(qemu, server, backend):
    proc = subprocess.Popen(
        [qemu, server, "--bind", "127.0.0.1:0", "--backend", backend],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    clients = []
    try:
        line = first_line(proc)
        m = re.match(r"listening on (127\.[\d.]+):(\d+) \((\w+)\)$", line)
        if not m or m.group(3) != backend:
            raise Failed(f"first line {line!r}")
        addr = (m.group(1), int(m.group(2)))
        a = Client(addr)
        clients.append(a)
        a.line("welcome")
        b = Client(addr)
        clients.append(b)
        b.line("welcome")
        a.line("joined")  # b's arrival, so a's next line goes to b
        a.send("hello from a\n")
        got_b = b.line("hello from a")
        b.send("hello from b\n")
        got_a = a.line("hello from b")
        for c in clients:
            c.close()
        clients = []
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            raise Failed(f"still running {WAIT}s after SIGTERM")
        if rc != 0:
            raise Failed(f"exit status {rc} after SIGTERM; stderr {proc.stderr.read()!r}")
        return f"{backend}: b got {got_b!r}, a got {got_a!r}"
    finally:
        for c in clients:
            c.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    root, triples = sys.argv[1], sys.argv[2:]
    passed = failed = 0
    for t in triples:
        qemu, arch = TARGETS[t]
        print(f"== {t} ({qemu})", flush=True)
        checks = [(f"file {p}", lambda p=p: check_file(os.path.join(root, t, p), arch)) for p in PROGRAMS]
        checks += [(f"chat relay, {b}", lambda b=b: relay(qemu, os.path.join(root, t, "chat-server"), b))
                   for b in BACKENDS]
        for name, check in checks:
            start = time.monotonic()
            try:
                detail = check()
            except (Failed, OSError, subprocess.SubprocessError) as e:
                failed += 1
                print(f"FAIL {name}: {e}", flush=True)
                continue
            passed += 1
            print(f"ok   {name} ({time.monotonic() - start:.1f}s): {detail}", flush=True)
    print(f"router-smoke: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
