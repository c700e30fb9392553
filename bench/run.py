#!/usr/bin/env python3
"""picosel benchmarks side by side: picosel's servers against mio, libev, a
raw epoll loop in C and Python selectors, measured in one run with the same
load generator, alternating servers over several rounds.

Writes bench/REPORT.md, SVG charts in bench/charts/ and the raw numbers in
bench/out/results.json. Loopback only; every load is bounded in count and
time. `make bench` builds everything first and runs this; `make bench-tools`
only builds. Python 3 standard library only.

  python3 bench/run.py            the full run (about 9 minutes on 2 cores)
  python3 bench/run.py --quick    a short smoke run (about 3 minutes)
  python3 bench/run.py --stand-in picosel's programs replaced by reference
                                  servers (to test the harness without them)
  python3 bench/run.py --only echo,chat,instr,startup,idle,fds,chain   some parts only

The `chain` part is libevent's bench.c chain, not a server: P socket pairs,
A bytes passed from pair to pair, each program run under callgrind and
strace (instructions and system calls per event).

Every server obeys one CLI contract: `--bind 127.0.0.1:0`, and the first
stdout line is `listening on ADDR:PORT` (maybe followed by ` (BACKEND)`).
"""
import argparse
import json
import os
import platform
import re
import resource
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
OUT = os.path.join(BENCH, "out")
# The report's folder: bench/ for a full run, bench/out/ (ignored by git)
# for --quick, --only, --rounds and --stand-in runs, so that those never
# overwrite the full report; --out chooses another. Charts go to charts/
# inside it.
REPORT_DIR = BENCH
CHARTS = os.path.join(BENCH, "charts")
# picosel's programs: the static build `make bench-tools` makes (as they
# ship on a router), else a plain `cargo build --release -p picosel-programs`.
PICOSEL_DIRS = [os.path.join(ROOT, "target/static/x86_64-unknown-linux-gnu/release"),
                os.path.join(ROOT, "target/release")]
REL = next((d for d in PICOSEL_DIRS if os.path.exists(os.path.join(d, "echo-server"))), PICOSEL_DIRS[0])
PY = sys.executable

# ----------------------------------------------------------------------------
# The servers. The first entry of each table is the one the others are
# compared with. A missing binary is skipped with a note in the report.
ECHO_SERVERS = {
    "picosel": [f"{REL}/echo-server", "--backend", "epoll"],
    "mio": [f"{BENCH}/mio-echo/target/release/mio-echo"],
    "libev": [f"{OUT}/libev_echo"],
    "raw epoll (C)": [f"{OUT}/epoll_echo"],
    "python selectors": [PY, f"{BENCH}/ref/py_echo.py"],
}
CHAT_SERVERS = {
    "picosel": [f"{REL}/chat-server", "--max-clients", "1000"],
    "libev": [f"{OUT}/libev_chat"],
    "python selectors": [PY, f"{BENCH}/ref/py_chat.py"],
}
# picosel's echo-server with each backend, for the fd-scaling curve.
PICOSEL_BACKENDS = {b: [f"{REL}/echo-server", "--backend", b] for b in ("select", "poll", "epoll")}
# With --stand-in, reference servers play picosel's part (harness testing).
STAND_INS = {
    "echo": [f"{OUT}/epoll_echo"],
    "chat": [f"{OUT}/libev_chat"],
    "chain": [f"{OUT}/chain_epoll"],
}
LOADGENS = [f"{BENCH}/loadgen/target/release/loadgen", f"{REL}/loadgen"]
# The chain programs (bench.c's chain: `PROG P A E` prints the events it
# handled). The first entry, the raw loop, is the one the others are
# compared with here.
CHAIN_BIN = f"{BENCH}/chain/target/release"
CHAIN_PROGRAMS = {
    "raw epoll (C)": [f"{OUT}/chain_epoll"],
    "libev": [f"{OUT}/chain_libev"],
    "mio": [f"{CHAIN_BIN}/chain-mio"],
    "polling": [f"{CHAIN_BIN}/chain-polling"],
    "picosel selector": [f"{CHAIN_BIN}/chain-picosel-sel"],
    "picosel event loop": [f"{CHAIN_BIN}/chain-picosel-loop"],
}
CHAIN_PICOSEL = ("picosel selector", "picosel event loop")

# ----------------------------------------------------------------------------
# The loads (full run; --quick scales them down).
FULL = {
    "rounds": 7,
    "echo": [
        {"name": "64 B", "tag": "64b", "conns": 100, "size": 64, "inflight": 2, "messages": 300_000},
        {"name": "4 KiB", "tag": "4kib", "conns": 20, "size": 4096, "inflight": 4, "messages": 100_000},
        {"name": "64 B, 1,000 connections", "tag": "64b-1000", "conns": 1000, "size": 64, "inflight": 1, "messages": 300_000},
    ],
    "chat": {"receivers": 100, "senders": 10, "lines": 1000},
    "instr": {"conns": 10, "messages": 10_000, "python_messages": 2_000},
    # The interactive chat: each sender waits for its line to come back to
    # every listener before the next (--window 1).
    "instr_chat": {"receivers": 20, "senders": 2, "lines": 1000, "python_lines": 200},
    "idle": {"conns": 1000, "seconds": 10, "small_conns": 100, "small_seconds": 2},
    "fds": {"counts": [10, 100, 1000, 10000], "active": 4, "seconds": 3, "rounds": 3},
    # (P pairs, A active) points; E1 < E2 events for each differential.
    # System call counts are deterministic too, and strace slows every call,
    # so its runs are shorter.
    "chain": {"points": [[1000, 100], [100, 1]], "callgrind": [20_000, 120_000], "strace": [5_000, 25_000]},
}
QUICK = {
    "rounds": 1,
    "echo": [
        {"name": "64 B", "tag": "64b", "conns": 100, "size": 64, "inflight": 2, "messages": 50_000},
        {"name": "4 KiB", "tag": "4kib", "conns": 20, "size": 4096, "inflight": 4, "messages": 20_000},
        {"name": "64 B, 1,000 connections", "tag": "64b-1000", "conns": 1000, "size": 64, "inflight": 1, "messages": 50_000},
    ],
    "chat": {"receivers": 50, "senders": 5, "lines": 300},
    "instr": {"conns": 10, "messages": 1_000, "python_messages": 300},
    "instr_chat": {"receivers": 20, "senders": 2, "lines": 300, "python_lines": 100},
    "idle": {"conns": 1000, "seconds": 2, "small_conns": 100, "small_seconds": 1},
    "fds": {"counts": [10, 100, 1000, 10000], "active": 4, "seconds": 1, "rounds": 1},
    "chain": {"points": [[1000, 100], [100, 1]], "callgrind": [5_000, 25_000], "strace": [2_000, 10_000]},
}

NOTES = []  # what was skipped or went wrong, for the report


def note(msg):
    NOTES.append(msg)
    print(f"  note: {msg}", flush=True)


# ----------------------------------------------------------------------------
# Processes


def raise_nofile(want=65536):
    """Raises RLIMIT_NOFILE for this process and so for its children."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want
        except (ValueError, OSError):
            pass
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class LineReader:
    """Lines from a pipe with a timeout (no buffering surprises)."""

    def __init__(self, f):
        self.fd, self.buf = f.fileno(), b""

    def readline(self, timeout):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace")


class Failed(Exception):
    pass


class Server:
    """A server under test: started with --bind 127.0.0.1:0, its address
    read from the first stdout line; stderr kept in a file."""

    def __init__(self, cmd, wrap=(), timeout=15):
        self.err = tempfile.TemporaryFile()
        self.p = subprocess.Popen(list(wrap) + cmd + ["--bind", "127.0.0.1:0"], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=self.err)
        line = LineReader(self.p.stdout).readline(timeout)
        m = re.match(r"listening on (127\.[\d.]+):(\d+)", line or "")
        if not m:
            time.sleep(0.1)
            code = self.p.poll()
            self.stop()
            what = f"exited with {code}" if code is not None else f"printed {line!r} first"
            raise Failed(f"`{' '.join(cmd)}` did not start ({what}); stderr: {self.stderr()!r}")
        self.addr = f"{m.group(1)}:{m.group(2)}"

    def cpu(self):
        """CPU seconds (user + system) of the server process so far: the
        run time of its threads from /proc/PID/task/*/schedstat (ns), or
        utime + stime from /proc/PID/stat (10 ms ticks) without it."""
        try:
            total = 0
            for t in os.listdir(f"/proc/{self.p.pid}/task"):
                with open(f"/proc/{self.p.pid}/task/{t}/schedstat") as f:
                    total += int(f.read().split()[0])
            return total / 1e9
        except (OSError, ValueError, IndexError):
            return self.cpu_ticks()

    def cpu_ticks(self):
        """utime + stime from /proc/PID/stat, in seconds."""
        user, system = self.cpu_split()
        return user + system

    def cpu_split(self):
        """(utime, stime) from /proc/PID/stat, in seconds: time in the
        server's own code and libraries vs in the kernel on its behalf."""
        with open(f"/proc/{self.p.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tck = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / tck, int(fields[12]) / tck

    def kib(self, key):
        """A /proc/PID/status figure in KiB (VmHWM: peak RSS, VmRSS: now)."""
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def switches(self):
        """Context switches so far (voluntary + involuntary): wake-ups."""
        n = 0
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                    n += int(line.split()[1])
        return n

    def alive(self):
        return self.p.poll() is None

    def stderr(self, limit=240):
        """The start of what the server wrote to stderr (its error comes
        before any usage text)."""
        self.err.seek(0)
        lines = [x.strip() for x in self.err.read().decode(errors="replace").splitlines() if x.strip()]
        text = " / ".join(lines[:3])
        return text if len(text) <= limit else text[:limit] + "…"

    def stop(self, sig=signal.SIGTERM, wait=10):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(wait)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.p.stdout.close()


def loadgen_path():
    found = [p for p in LOADGENS if os.path.exists(p)]
    return max(found, key=os.path.getmtime) if found else None


def loadgen(*args, timeout=300):
    """Runs loadgen to the end; its last JSON line."""
    cmd = [LOADGEN, *map(str, args)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failed(f"loadgen {' '.join(map(str, args[:1]))} timed out after {timeout} s")
    rows = [json.loads(x) for x in out.stdout.splitlines() if x.startswith("{")]
    if out.returncode != 0 or not rows:
        raise Failed(f"loadgen {args[0]}: {(out.stderr.strip() or out.stdout.strip())[-300:]}")
    return rows[-1]


class Holder:
    """loadgen idle --wait-go: holds connections; the caller samples the
    server between the ready line, the go and the result line."""

    def __init__(self, addr, conns, check, hold, active=0, size=64):
        self.err = tempfile.TemporaryFile()
        self.p = subprocess.Popen([LOADGEN, "idle", "--addr", addr, "--conns", str(conns), "--check", check,
                                   "--hold-seconds", str(hold), "--active", str(active), "--size", str(size),
                                   "--wait-go"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.err)
        self.out = LineReader(self.p.stdout)
        self.hold = hold

    def ready(self, timeout=150):
        line = self.out.readline(timeout)
        if not line:
            raise Failed(f"idle clients did not get ready: {self.errors()}")
        return json.loads(line)

    def go(self):
        self.p.stdin.write(b"go\n")
        self.p.stdin.flush()
        line = self.out.readline(self.hold + 60)
        if not line:
            raise Failed(f"idle clients gave no result: {self.errors()}")
        return json.loads(line)

    def errors(self):
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.err.seek(0)
        text = self.err.read().decode(errors="replace").strip()[-300:]
        return text or ("(no message; still running)" if self.p.poll() is None else f"exit {self.p.returncode}")

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.p.stdout.close()
        self.err.close()


def available(name, cmd):
    exe = cmd[1] if cmd[0] == PY else cmd[0]
    if os.path.exists(exe):
        return True
    note(f"{name}: `{exe}` is missing, skipped (build it with `make bench-tools`)")
    return False


def probe(kind, servers):
    """Starts and stops each server once: a server that does not start is
    left out with a note."""
    ok = {}
    for name, cmd in servers.items():
        try:
            Server(cmd).stop()
        except Failed as e:
            note(f"{kind}, {name}: {e}")
            continue
        ok[name] = cmd
    return ok


def rotate(items, r):
    items = list(items)
    return items[r % len(items):] + items[:r % len(items)] if items else items


# ----------------------------------------------------------------------------
# Measurements


def measure_echo(servers, load, rounds):
    """Echo throughput, latency, server CPU per message and peak RSS."""
    res = {name: [] for name in servers}
    for r in range(rounds):
        for name in rotate(servers, r):
            try:
                s = Server(servers[name])
            except Failed as e:
                note(f"echo {load['name']}, {name}: {e}")
                continue
            try:
                c0, (u0, k0) = s.cpu(), s.cpu_split()
                g = loadgen("echo", "--addr", s.addr, "--conns", load["conns"], "--size", load["size"],
                            "--inflight", load["inflight"], "--messages", load["messages"], "--seconds", 240,
                            timeout=300)
                cpu, (u1, k1) = s.cpu() - c0, s.cpu_split()
                user, kernel = u1 - u0, k1 - k0
                res[name].append({"rate": g["msgs_per_sec"], "p50": g["p50_us"], "p99": g["p99_us"],
                                  "cpu_per_m": cpu / g["messages"] * 1e6, "cpu": cpu, "cpu_stat": user + kernel,
                                  "user_share": user / (user + kernel) if user + kernel > 0 else 0.0,
                                  "hwm": s.kib("VmHWM"), "lg_cpu_per_m": g["loadgen_cpu_s"] / g["messages"] * 1e6})
                print(f"  echo {load['name']} round {r + 1}: {name}: {g['msgs_per_sec']:,.0f} msg/s, "
                      f"{cpu:.2f} s CPU", flush=True)
            except Failed as e:
                note(f"echo {load['name']}, {name}, round {r + 1}: {e}")
            finally:
                s.stop()
    return {k: v for k, v in res.items() if v}


def measure_chat(servers, load, rounds):
    """Chat deliveries per second, server CPU per delivery and peak RSS."""
    res = {name: [] for name in servers}
    for r in range(rounds):
        for name in rotate(servers, r):
            try:
                s = Server(servers[name])
            except Failed as e:
                note(f"chat, {name}: {e}")
                continue
            try:
                c0, t0 = s.cpu(), s.cpu_ticks()
                g = loadgen("chat", "--addr", s.addr, "--receivers", load["receivers"], "--senders",
                            load["senders"], "--lines", load["lines"], "--seconds", 240, timeout=300)
                cpu, ticks = s.cpu() - c0, s.cpu_ticks() - t0
                res[name].append({"rate": g["deliveries_per_sec"], "cpu_per_m": cpu / g["deliveries"] * 1e6,
                                  "cpu": cpu, "cpu_stat": ticks, "hwm": s.kib("VmHWM"),
                                  "lg_cpu_per_m": g["loadgen_cpu_s"] / g["deliveries"] * 1e6})
                print(f"  chat round {r + 1}: {name}: {g['deliveries_per_sec']:,.0f} deliveries/s, "
                      f"{cpu:.2f} s CPU", flush=True)
            except Failed as e:
                note(f"chat, {name}, round {r + 1}: {e}")
            finally:
                s.stop()
    return {k: v for k, v in res.items() if v}


def callgrind_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise Failed(f"no instruction total in {path}")


def measure_instructions(servers, cfg):
    """User-space instructions per echoed message under callgrind: runs of N
    and 2N messages, so that start-up and shutdown cancel out; the fixed
    part is reported as the baseline."""
    res = {}
    for name, cmd in servers.items():
        n = cfg["python_messages"] if cmd[0] == PY else cfg["messages"]
        totals = []
        try:
            for m in (n, 2 * n):
                fd, out = tempfile.mkstemp(prefix="callgrind-", suffix=".out")
                os.close(fd)
                s = Server(cmd, wrap=("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "-q"),
                           timeout=120)
                try:
                    loadgen("echo", "--addr", s.addr, "--conns", cfg["conns"], "--size", 64, "--inflight", 1,
                            "--messages", m, "--seconds", 500, timeout=560)
                finally:
                    s.stop(wait=60)
                totals.append(callgrind_total(out))
                os.unlink(out)
            per = (totals[1] - totals[0]) / n
            res[name] = {"per_msg": per, "baseline": totals[0] - per * n, "n": n}
            print(f"  callgrind: {name}: {per:,.0f} instructions/message", flush=True)
        except (Failed, OSError) as e:
            note(f"instructions, {name}: {e}")
    return res


def measure_startup(servers):
    """User-space instructions from exec to `listening on` and then a
    SIGTERM with no client ever connected, under callgrind: what a server
    spends before its first client (zero-filling tables shows here)."""
    res = {}
    for name, cmd in servers.items():
        if cmd[0] == PY:
            continue
        fd, out = tempfile.mkstemp(prefix="callgrind-", suffix=".out")
        os.close(fd)
        try:
            s = Server(cmd, wrap=("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "-q"), timeout=120)
            s.stop(wait=60)
            res[name] = callgrind_total(out)
            print(f"  callgrind: {name}: {res[name]:,} instructions to start and stop", flush=True)
        except (Failed, OSError) as e:
            note(f"start-up instructions, {name}: {e}")
        finally:
            os.unlink(out)
    return res


def measure_chat_instructions(servers, cfg):
    """User-space instructions per delivered line in an interactive chat
    under callgrind: every sender waits for its line to reach every other
    client before it sends the next (loadgen --window 1); runs of L and 2L
    lines per sender, so that start-up, the joins and shutdown cancel out."""
    res = {}
    for name, cmd in servers.items():
        n = cfg["python_lines"] if cmd[0] == PY else cfg["lines"]
        totals, deliveries = [], []
        try:
            for lines in (n, 2 * n):
                fd, out = tempfile.mkstemp(prefix="callgrind-", suffix=".out")
                os.close(fd)
                s = Server(cmd, wrap=("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "-q"),
                           timeout=120)
                try:
                    g = loadgen("chat", "--addr", s.addr, "--receivers", cfg["receivers"], "--senders",
                                cfg["senders"], "--lines", lines, "--window", 1, "--seconds", 500, timeout=560)
                finally:
                    s.stop(wait=60)
                totals.append(callgrind_total(out))
                deliveries.append(g["deliveries"])
                os.unlink(out)
            per = (totals[1] - totals[0]) / (deliveries[1] - deliveries[0])
            res[name] = {"per_delivery": per, "lines": n}
            print(f"  callgrind, interactive chat: {name}: {per:,.0f} instructions/delivery", flush=True)
        except (Failed, OSError) as e:
            note(f"chat instructions, {name}: {e}")
    return res


def chat_instructions_section(ins, ic, base):
    """The report's section on the interactive chat under callgrind."""
    if ic is None:
        return []
    L = ["## User-space instructions per delivered chat line, interactive (callgrind)", "",
         f"{ic['receivers']} listeners and {ic['senders']} senders; each sender waits until its line has reached "
         "every other client before sending the next (`loadgen chat --window 1`), so every pass of the server "
         f"relays about one line. Runs of L and 2L lines per sender (L = {ic['lines']:,}, {ic['python_lines']:,} "
         "for Python); instructions per delivered line = difference of the totals / difference of the deliveries.",
         ""]
    if not ins:
        return L + ["No results.", ""]
    pi = ins.get(base, {}).get("per_delivery")
    L += ["| server | instructions / delivered line | ÷ picosel |", "|---|---:|---:|"]
    for name, r in ins.items():
        L.append(f"| {name} | {r['per_delivery']:,.0f} | {ratio(r['per_delivery'], pi)} |")
    return L + [""]


def chain_run(cmd, wrap, p, a, e):
    """One run of a chain program under `wrap`; fails unless it handled
    exactly `e` events."""
    try:
        r = subprocess.run([*wrap, *cmd, str(p), str(a), str(e)], capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        raise Failed(f"P={p} A={a} E={e}: no end within 300 s")
    if r.returncode != 0 or r.stdout.strip() != str(e):
        raise Failed(f"P={p} A={a} E={e}: exit {r.returncode}, printed {r.stdout.strip()[:40]!r}, "
                     f"stderr {r.stderr.strip()[-200:]!r}")


def strace_counts(path):
    """`strace -c` output as {syscall: calls}, with the total as "total"."""
    counts = {}
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 5 and fields[0][0].isdigit() and fields[3].isdigit():
                counts[fields[-1]] = int(fields[3])
    if "total" not in counts:
        raise Failed(f"no syscall total in {path}")
    return counts


def chain_measure(cmd, p, a, e, prefix, tool, parse):
    """One chain run of E events under a tool that writes its figures to a
    file: `tool(path)` is the tool's command prefix, `parse(path)` reads
    them; the temporary file is removed."""
    fd, out = tempfile.mkstemp(prefix=prefix)
    os.close(fd)
    try:
        chain_run(cmd, tool(out), p, a, e)
        return parse(out)
    finally:
        os.unlink(out)


def measure_chain(programs, cfg, tools):
    """bench.c's chain: for each program and each (P, A), user-space
    instructions per event under callgrind and system calls per event under
    strace, each from runs of E1 and E2 events: (total(E2) - total(E1)) /
    (E2 - E1), so that setup and exit cancel out."""
    res = {}
    for name, cmd in programs.items():
        for p, a in cfg["points"]:
            r = {}
            try:
                if "valgrind" in tools:
                    e1, e2 = cfg["callgrind"]
                    totals = [chain_measure(cmd, p, a, e, "callgrind-", lambda out: (
                        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "-q"), callgrind_total)
                        for e in (e1, e2)]
                    r["instr"] = (totals[1] - totals[0]) / (e2 - e1)
                    r["instr_baseline"] = totals[0] - r["instr"] * e1
                if "strace" in tools:
                    e1, e2 = cfg["strace"]
                    counts = [chain_measure(cmd, p, a, e, "strace-", lambda out: (
                        "strace", "-f", "-c", "-o", out), strace_counts)
                        for e in (e1, e2)]
                    per = {c: (counts[1].get(c, 0) - counts[0].get(c, 0)) / (e2 - e1) for c in counts[1]}
                    r["syscalls"] = per.pop("total")
                    r["syscall_mix"] = {c: v for c, v in sorted(per.items(), key=lambda kv: (-round(kv[1], 2), kv[0])) if v >= 0.005}
            except (Failed, OSError) as e:
                note(f"chain, {name}: {e}")
            if r:
                res.setdefault(name, {})[f"{p}/{a}"] = r
                ins = f"{r['instr']:,.1f} instructions/event" if "instr" in r else "no instruction count"
                sc = f"{r['syscalls']:.2f} syscalls/event" if "syscalls" in r else "no syscall count"
                print(f"  chain P={p} A={a}: {name}: {ins}, {sc}", flush=True)
    return res


def measure_idle(servers, conns, seconds, check):
    """CPU of a server holding `conns` idle connections for `seconds`, and
    its RSS with them."""
    res = {}
    for name, cmd in servers.items():
        try:
            s = Server(cmd)
        except Failed as e:
            note(f"idle ({check}), {name}: {e}")
            continue
        h = None
        try:
            h = Holder(s.addr, conns, check, seconds)
            ready = h.ready()
            if ready["alive"] < conns:
                note(f"idle ({check}), {name}: the server served {ready['alive']} of {conns} connections "
                     f"({ready['closed']} closed by it){server_said(s)}")
            time.sleep(0.5)  # let the accept burst settle
            c0, w0 = s.cpu(), s.switches()
            g = h.go()
            res[name] = {"cpu": s.cpu() - c0, "wakeups": s.switches() - w0, "rss": s.kib("VmRSS"),
                         "hwm": s.kib("VmHWM"), "alive": ready["alive"], "closed": g["closed"], "conns": conns}
            print(f"  idle ({check}) {name}: {res[name]['cpu'] * 1e3:.1f} ms CPU, {res[name]['wakeups']} wake-ups, {res[name]['rss']:,} KiB", flush=True)
        except Failed as e:
            note(f"idle ({check}), {name}: {e}")
        finally:
            s.stop()  # the server first: its side keeps the TIME_WAITs
            if h:
                h.close()
    return res


def server_said(s):
    text = s.stderr(200)
    return f"; it said: {text!r}" if text else "; it wrote nothing to stderr"


def measure_fds(backends, counts, active, seconds, rounds):
    """Server CPU per echoed message with N registered connections (N -
    `active` idle plus `active` busy echo clients), per backend; backends
    alternate over rounds, the median is kept. A backend that cannot serve
    N connections is not tried with more."""
    runs, stop_at = {}, {}
    for r in range(rounds):
        for backend in rotate(backends, r):
            for n in counts:
                if n >= stop_at.get(backend, float("inf")):
                    break
                try:
                    s = Server(backends[backend])
                except Failed as e:
                    note(f"fds, {backend} at {n}: {e}")
                    stop_at[backend] = n
                    break
                h = None
                try:
                    h = Holder(s.addr, n - active, "echo", seconds, active=active)
                    ready = h.ready()
                    if ready["alive"] < n - active:
                        runs[(backend, n)] = [{"refused": n - active - ready["alive"]}]
                        note(f"fds, {backend}: the server served {ready['alive']:,} of {n - active:,} idle "
                             f"connections{server_said(s)}; no larger counts tried")
                        stop_at[backend] = n
                        break
                    time.sleep(0.3)
                    c0 = s.cpu()
                    g = h.go()
                    cpu = s.cpu() - c0
                    if g["messages"] == 0:
                        raise Failed("no messages echoed")
                    runs.setdefault((backend, n), []).append(
                        {"us_per_msg": cpu / g["messages"] * 1e6, "rate": g["msgs_per_sec"], "p99": g["p99_us"]})
                    print(f"  fds round {r + 1}: {backend} {n}: {cpu / g['messages'] * 1e6:.2f} µs CPU/msg, "
                          f"{g['msgs_per_sec']:,.0f} msg/s", flush=True)
                except Failed as e:
                    note(f"fds, {backend} at {n}, round {r + 1}: {e}")
                    stop_at[backend] = n
                    break
                finally:
                    s.stop()
                    if h:
                        h.close()
    res = {}
    for key, rows in runs.items():
        if "refused" in rows[0]:
            res[key] = rows[0]
        else:
            res[key] = {k: med(rows, k) for k in ("us_per_msg", "rate", "p99")}
            res[key]["runs"] = len(rows)
    return res


# ----------------------------------------------------------------------------
# Charts (hand-written SVG)

COLORS = ["#d9534f", "#5b8ff9", "#5cb85c", "#f0ad4e", "#9467bd", "#8c564b"]


def esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def svg_bars(path, title, unit, rows, fmt="{:,.2f}"):
    """Horizontal bars: rows = [(label, median, low, high)]; low/high draw
    the range over rounds."""
    rows = [r for r in rows if r[1] is not None]
    if not rows:
        return False
    w, left, right, bar, gap = 720, 190, 150, 22, 12
    h = 56 + len(rows) * (bar + gap) + 10
    top = max(max(r[1], r[3] if r[3] is not None else 0) for r in rows) or 1
    # One bar far beyond the rest (Python's instructions) is cut short with
    # a break mark, so that the others stay readable.
    meds = sorted(r[1] for r in rows)
    if len(meds) > 1 and meds[-1] > 6 * max(meds[-2], 1e-12):
        top = 2.5 * max(max(r[1], r[3] or 0) for r in rows if r[1] < meds[-1])
    scale = (w - left - right) / top
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
           f'font-family="sans-serif" font-size="13">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="12" y="24" font-size="15" font-weight="bold">{esc(title)}</text>',
           f'<line x1="{left}" y1="40" x2="{left}" y2="{h - 10}" stroke="#888"/>']
    for i, (label, v, lo, hi) in enumerate(rows):
        y = 46 + i * (bar + gap)
        color = COLORS[0] if label.startswith("picosel") else COLORS[1]
        out.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{esc(label)}</text>')
        cut = v > top
        out.append(f'<rect x="{left}" y="{y}" width="{max(min(v, top) * scale, 1):.1f}" height="{bar}" '
                   f'fill="{color}"/>')
        if cut:
            bx = left + top * scale * 0.8
            out.append(f'<path d="M{bx - 4:.1f},{y + bar + 2} l6,{-bar - 4} m4,0 l-6,{bar + 4}" stroke="white" '
                       'stroke-width="3"/>')
            lo = hi = None
            v_end = top
        else:
            v_end = None
        if lo is not None and hi is not None and hi > lo and hi <= top:
            out.append(f'<line x1="{left + lo * scale:.1f}" y1="{y + bar / 2}" x2="{left + hi * scale:.1f}" '
                       f'y2="{y + bar / 2}" stroke="black" stroke-width="1.5"/>')
        end = (v_end if v_end is not None else max(v, hi or 0)) * scale
        out.append(f'<text x="{left + end + 6:.1f}" y="{y + 16}">{esc(fmt.format(v))} {esc(unit)}'
                   f'{" (bar cut)" if cut else ""}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return True


def svg_lines(path, title, ylabel, series, xs, refused=()):
    """Lines over log-scaled axes: series = {name: {x: y}}; `refused` lists
    (name, x) points the server refused, marked with a cross."""
    import math
    pts_all = [y for s in series.values() for y in s.values() if y]
    if not pts_all:
        return False
    w, h, l, r, t, b = 720, 420, 80, 150, 48, 56
    y0 = math.floor(math.log10(min(pts_all)))
    y1 = math.ceil(math.log10(max(pts_all)))
    if y1 == y0:
        y1 += 1
    lx = [math.log10(x) for x in xs]
    x0, x1 = min(lx), max(lx)

    def px(x):
        return l + (w - l - r) * ((math.log10(x) - x0) / ((x1 - x0) or 1))

    def py(y):
        return h - b - (h - b - t) * (math.log10(y) - y0) / (y1 - y0)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="12" y="24" font-size="15" font-weight="bold">{esc(title)}</text>',
           f'<line x1="{l}" y1="{h - b}" x2="{w - r}" y2="{h - b}" stroke="black"/>',
           f'<line x1="{l}" y1="{t}" x2="{l}" y2="{h - b}" stroke="black"/>',
           f'<text x="16" y="{t - 10}">{esc(ylabel)} (log scale)</text>',
           f'<text x="{(l + w - r) / 2:.0f}" y="{h - 14}" text-anchor="middle">registered connections '
           f'(log scale)</text>']
    for x in xs:
        out.append(f'<line x1="{px(x):.1f}" y1="{h - b}" x2="{px(x):.1f}" y2="{h - b + 5}" stroke="black"/>')
        out.append(f'<text x="{px(x):.1f}" y="{h - b + 19}" text-anchor="middle">{x:,}</text>')
    for k in range(y0, y1 + 1):
        for m in (1, 2, 5):
            v = m * 10 ** k
            if v > 10 ** y1:
                break
            major = m == 1
            out.append(f'<line x1="{l}" y1="{py(v):.1f}" x2="{w - r}" y2="{py(v):.1f}" '
                       f'stroke="{"#ccc" if major else "#eee"}"/>')
            out.append(f'<text x="{l - 6}" y="{py(v) + 4:.1f}" text-anchor="end" '
                       f'fill="{"black" if major else "#888"}">{v:g}</text>')
    styles = {"select": ("#f0ad4e", "6,4"), "poll": ("#5b8ff9", ""), "epoll": ("#d9534f", "")}
    order = {name: i for i, name in enumerate(series)}
    # select last, so its dashes show where it runs along poll.
    for name, s in sorted(series.items(), key=lambda kv: kv[0] == "select"):
        i = order[name]
        color, dash = styles.get(name, (COLORS[(i + 1) % len(COLORS)], ""))
        pts = [(px(x), py(s[x])) for x in xs if s.get(x)]
        if len(pts) > 1:
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2.5" stroke-dasharray="{dash}" '
                       'points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + '"/>')
        for x, y in pts:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}"/>')
        for rn, rx in refused:
            if rn == name:
                cx, cy = px(rx), t + 14 + 16 * i
                out.append(f'<path d="M{cx - 5:.1f},{cy - 5} l10,10 m0,-10 l-10,10" stroke="{color}" '
                           'stroke-width="2.5"/>')
                out.append(f'<text x="{cx - 10:.1f}" y="{cy + 4}" text-anchor="end" fill="{color}">'
                           f'{esc(name)}: refused</text>')
        out.append(f'<line x1="{w - r + 14}" y1="{t + 10 + 20 * i}" x2="{w - r + 34}" y2="{t + 10 + 20 * i}" '
                   f'stroke="{color}" stroke-width="2.5" stroke-dasharray="{dash}"/>')
        out.append(f'<text x="{w - r + 40}" y="{t + 14 + 20 * i}">{esc(name)}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return True


# ----------------------------------------------------------------------------
# Report


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def spread(rows, key):
    vals = [r[key] for r in rows]
    return min(vals), max(vals)


def ratio(v, base):
    return f"{v / base:.2f}" if base and v is not None else "–"


def versions():
    def run(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    v = {"rustc": run(["rustc", "--version"]), "gcc": run(["gcc", "--version"]),
         "python": platform.python_version(), "kernel": platform.release()}
    v["libev"] = run(["dpkg-query", "-W", "-f=${Version}", "libev-dev"])
    v["valgrind"] = run(["valgrind", "--version"])
    try:
        lock = open(f"{BENCH}/mio-echo/Cargo.lock").read()
        m = re.search(r'name = "mio"\nversion = "([^"]+)"', lock)
        v["mio"] = m.group(1) if m else "?"
    except OSError:
        v["mio"] = "?"
    try:
        lock = open(f"{BENCH}/chain/Cargo.lock").read()
        m = re.search(r'name = "polling"\nversion = "([^"]+)"', lock)
        v["polling"] = m.group(1) if m else "?"
    except OSError:
        v["polling"] = "?"
    try:
        cpu = open("/proc/cpuinfo").read()
        m = re.search(r"model name\s*:\s*(.+)", cpu)
        v["cpu"] = m.group(1).strip() if m else platform.machine()
    except OSError:
        v["cpu"] = platform.machine()
    return v


def median_user_share(rows):
    """Median share (0 to 1) of the server's CPU time spent in user space
    (utime vs stime, 10 ms ticks), or None without figures."""
    vals = [r["user_share"] for r in rows if "user_share" in r]
    return statistics.median(vals) if vals else None


def user_share(rows):
    """`median_user_share` as a percentage, for the tables."""
    share = median_user_share(rows)
    return f"{share * 100:.1f} %" if share is not None else "–"


def targets(res, base):
    """The targets of the benchmark issue, each with what this run measured:
    (target, measured, met)."""
    out = []

    def rate_of(rows, name):
        return med(rows[name], "rate") if rows.get(name) else None

    e64 = res["echo"][0] if res["echo"] else {}
    pe = rate_of(e64, base)
    for other, want in (("mio", 1.1), ("libev", 1.0)):
        o = rate_of(e64, other)
        if pe and o:
            out.append((f"echo 64 B messages/s >= {want:.1f}x {other}", f"{pe / o:.2f}x", pe / o >= want))
    ins = res["instr"]
    if ins.get(base) and ins.get("raw epoll (C)"):
        r = ins[base]["per_msg"] / ins["raw epoll (C)"]["per_msg"]
        out.append(("user-space instructions per echoed message <= 1.05x raw epoll",
                    f"{r:.2f}x ({ins[base]['per_msg']:,.0f} vs {ins['raw epoll (C)']['per_msg']:,.0f})", r <= 1.05))
    ch = res["chat"]
    pc = rate_of(ch, base)
    for other, want in (("libev", 1.0), ("python selectors", 20.0)):
        o = rate_of(ch, other)
        if pc and o:
            out.append((f"chat deliveries/s >= {want:g}x {other}", f"{pc / o:.2f}x", pc / o >= want))
    for key, what in (("idle_echo", "echo"), ("idle_chat", "chat")):
        v = res[key].get(base)
        if v:
            out.append((f"idle CPU 0 ({what}, 1,000 idle connections)",
                        f"{v['cpu'] * 1e3:.1f} ms, {v['wakeups']} wake-ups", v["cpu"] < 0.005 and v["wakeups"] == 0))
    v = res["idle_chat"].get(base)
    if v:
        out.append(("RSS with 1,000 chat clients <= 2 MiB", f"{v['rss']:,} KiB", v["rss"] <= 2048))
    v, c = res.get("idle_echo_small", {}).get(base), res.get("idle_echo_small", {}).get("raw epoll (C)")
    if v and c:
        out.append((f"echo RSS with {v['conns']:,} connections <= raw epoll (C)'s", f"{v['rss']:,} vs {c['rss']:,} KiB",
                    v["rss"] <= c["rss"]))
    st = res.get("startup", {}).get("echo", {}).get(base)
    if st:
        out.append(("echo start-up (to `listening on`, then SIGTERM) < 300 k user-space instructions", f"{st:,}",
                    st < 300_000))
    return out + chain_targets(res["chain"])


def chain_targets(ch):
    """The chain's targets, picosel's selector and event loop against the
    raw epoll loop, mio and polling: (target, measured, met)."""
    out = []

    def at(name, point, key):
        return ch.get(name, {}).get(point, {}).get(key)

    # With --stand-in the picosel rows are named "... (stand-in)".
    pico = {n: next((k for k in ch if k.startswith(n)), None) for n in CHAIN_PICOSEL}
    raw = "raw epoll (C)"
    p1000 = "1000/100"
    for short, name, want in (("selector", pico[CHAIN_PICOSEL[0]], 1.2), ("event loop", pico[CHAIN_PICOSEL[1]], 1.5)):
        v, b = at(name, p1000, "instr"), at(raw, p1000, "instr")
        if v and b:
            out.append((f"chain P=1000 A=100: picosel {short} instructions/event <= {want:.1f}x raw epoll loop",
                        f"{v / b:.2f}x ({v:,.0f} vs {b:,.0f})", v / b <= want))
    for point in dict.fromkeys(pt for r in ch.values() for pt in r):
        p, a = point.split("/")
        others = {o: at(o, point, "instr") for o in ("mio", "polling") if at(o, point, "instr")}
        for short, name in (("selector", pico[CHAIN_PICOSEL[0]]), ("event loop", pico[CHAIN_PICOSEL[1]])):
            v = at(name, point, "instr")
            if v and others:
                out.append((f"chain P={p} A={a}: picosel {short} instructions/event below {' and '.join(others)}",
                            f"{v:,.0f} vs " + ", ".join(f"{o} {x:,.0f}" for o, x in others.items()),
                            all(v < x for x in others.values())))
        b = at(raw, point, "syscalls")
        got = {short: at(name, point, "syscalls") for short, name in
               (("selector", pico[CHAIN_PICOSEL[0]]), ("event loop", pico[CHAIN_PICOSEL[1]]))}
        got = {k: v for k, v in got.items() if v is not None}
        if b is not None and got:
            out.append((f"chain P={p} A={a}: picosel syscalls/event <= raw epoll loop's",
                        ", ".join(f"{k} {v:.2f}" for k, v in got.items()) + f" vs {b:.2f}",
                        all(v <= b + 1e-9 for v in got.values())))
    return out


def targets_section(res, base):
    rows = targets(res, base)
    if not rows:
        return []
    L = ["## Targets", "", "The goals of the benchmark issue against this run (ratios are picosel ÷ other here).", "",
         "| target | measured | met |", "|---|---:|:---:|"]
    L += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in rows]
    e64 = res["echo"][0].get(base) if res["echo"] else None
    share = median_user_share(e64) if e64 else None
    if share is not None:
        L += ["", f"Of picosel's server CPU time in the 64-byte echo load, {share * 100:.1f} % was spent in user space "
              "(its own code and libc; `/proc/PID/stat` utime vs stime, 10 ms ticks) and the rest in the kernel (loopback TCP, on both sides of each message). "
              "So even a server with no user-space code at all could not be more than "
              f"{1 / max(1e-9, 1 - share):.2f}x faster on this load at the same number of system calls per "
              "message; the throughput ratios measure the kernel and the load generator (which shares the 2 cores) "
              "more than the servers."]
    return L + [""]


def startup_section(cfg, res):
    """Memory that follows the load: instructions to start (before any
    client) and RSS with a few connections."""
    st, small, ic = res.get("startup", {}), res.get("idle_echo_small", {}), cfg["idle"]
    if not st and not small:
        return []
    L = ["## Start-up and memory with few connections", "",
         "Instructions: each server under `valgrind --tool=callgrind`, started, sent SIGTERM as soon as it prints "
         "`listening on`, no client ever connected (user space only: its own code, libraries and libc). A server "
         "that zero-fills its tables at start-up pays for it here. RSS: VmRSS from `/proc/PID/status` while "
         f"{ic['small_conns']:,} idle echo connections are held (each pinged once); a server whose memory follows "
         "the load needs little more than its code here (picosel's programs are static: their libc is in their "
         "RSS; the C and libev servers count their shared libc's pages too).", ""]
    names = list(dict.fromkeys([*st.get("echo", {}), *small, *st.get("chat", {})]))
    L += ["| server | echo: instructions to start and stop | echo: RSS KiB with "
          f"{ic['small_conns']:,} connections | chat: instructions to start and stop |", "|---|---:|---:|---:|"]
    for n in names:
        e, r, c = st.get("echo", {}).get(n), small.get(n, {}).get("rss"), st.get("chat", {}).get(n)
        L.append(f"| {n} | " + " | ".join(f"{x:,}" if x else "–" for x in (e, r, c)) + " |")
    return L + [""]


def loadgen_line(rows, unit):
    vals = [r["lg_cpu_per_m"] for rr in rows.values() for r in rr if "lg_cpu_per_m" in r]
    if not vals:
        return ""
    return (f"The load generator itself used {statistics.median(vals):.2f} s CPU per 1M {unit} (median over all "
            f"runs; range {min(vals):.2f}–{max(vals):.2f}) on the same cores.")


def glance(cfg, res, base):
    """One table of ratios to picosel: a row per measurement, a column per
    server."""
    rows = []
    for i, load in enumerate(cfg["echo"]):
        r = res["echo"][i]
        rows.append((f"echo {load['name']}: server CPU per message", {n: med(v, "cpu_per_m") for n, v in r.items()}))
    for i, load in enumerate(cfg["echo"]):
        r = res["echo"][i]
        rows.append((f"echo {load['name']}: messages/s", {n: med(v, "rate") for n, v in r.items()}))
    rows.append(("chat: server CPU per delivery", {n: med(v, "cpu_per_m") for n, v in res["chat"].items()}))
    rows.append(("chat: deliveries/s", {n: med(v, "rate") for n, v in res["chat"].items()}))
    rows.append(("user-space instructions per echoed message", {n: v["per_msg"] for n, v in res["instr"].items()}))
    rows.append(("user-space instructions per delivered line, interactive chat",
                 {n: v["per_delivery"] for n, v in res.get("instr_chat", {}).items()}))
    rows.append((f"RSS with {cfg['idle']['conns']:,} idle echo connections",
                 {n: v["rss"] for n, v in res["idle_echo"].items()}))
    rows.append((f"RSS with {cfg['idle']['conns']:,} chat clients", {n: v["rss"] for n, v in res["idle_chat"].items()}))
    rows.append((f"RSS with {cfg['idle']['small_conns']:,} idle echo connections",
                 {n: v["rss"] for n, v in res.get("idle_echo_small", {}).items()}))
    rows.append(("echo: user-space instructions to start and stop", res.get("startup", {}).get("echo", {})))
    rows = [(label, vals) for label, vals in rows if vals.get(base)]
    if not rows:
        return []
    names = []
    for _, vals in rows:
        names += [n for n in vals if n not in names and n != base]
    out = ["## At a glance", "", "Each figure ÷ picosel's in the same run (medians). For CPU, instructions and "
           "memory below 1.00 means the other server needs less than picosel; for throughput above 1.00 means "
           "it is faster.", "", "| measurement | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, vals in rows:
        out.append(f"| {label} | " + " | ".join(ratio(vals.get(n), vals[base]) if n in vals else "–"
                                                for n in names) + " |")
    return out + [""]


def chain_section(cc, ch, v):
    """The chain part's report: a row per implementation, instructions and
    system calls per event at each (P, A), ÷ the raw epoll loop's."""
    points = [f"{p}/{a}" for p, a in cc["points"]]
    label = {pt: "P={} A={}".format(*pt.split("/")) for pt in points}
    (c1, c2), (s1, s2) = cc["callgrind"], cc["strace"]
    L = ["## bench.c chain: instructions and system calls per event", "",
         "libevent's `test/bench.c` chain: P non-blocking AF_UNIX stream socket pairs, all watched for reading; one "
         "byte goes into A of them, spaced P/A apart, and each read event on pair i reads its byte and writes one "
         "into pair (i + 1) mod P, until E events. No server and no load generator: the figures are the dispatch "
         "path alone (`bench/ref/chain_*.c`, `bench/chain/`). User-space instructions per event from "
         f"`valgrind --tool=callgrind` runs of E = {c1:,} and {c2:,} events, system calls per event from "
         f"`strace -f -c` runs of E = {s1:,} and {s2:,} (both deterministic): (total(E2) − total(E1)) / (E2 − E1), "
         "so set-up and exit cancel out. At A = 1 every event costs a wait; at A = 100 one wait hands out about "
         f"100 events. mio {v['mio']} is edge-triggered only, so each event also takes a read that returns EAGAIN "
         f"(counted, as it is the price of that mode); polling {v['polling']} runs in its level mode "
         "(`PollMode::Level`, no re-arm per event); libev on its epoll backend. Ratios are ÷ the raw C loop.", ""]
    if not ch:
        return L + ["No results.", ""]
    raw = ch.get("raw epoll (C)", {})
    head = "| implementation |"
    for pt in points:
        head += f" {label[pt]}: instructions / event | ÷ raw | syscalls / event | ÷ raw |"
    L += [head, "|---|" + "---:|" * 4 * len(points)]
    for name, rr in ch.items():
        cells = []
        for pt in points:
            r, b = rr.get(pt, {}), raw.get(pt, {})
            cells += [f"{r['instr']:,.1f}" if "instr" in r else "–", ratio(r.get("instr"), b.get("instr")),
                      f"{r['syscalls']:.2f}" if "syscalls" in r else "–", ratio(r.get("syscalls"), b.get("syscalls"))]
        L.append(f"| {name} | " + " | ".join(cells) + " |")
    if any("syscall_mix" in r for rr in ch.values() for r in rr.values()):
        L += ["", "System calls per event, by call:", "", "| implementation | " + " | ".join(label[pt] for pt in points)
              + " |", "|---|" + "---|" * len(points)]
        for name, rr in ch.items():
            L.append(f"| {name} | " + " | ".join(
                ", ".join(f"{c} {x:.2f}" for c, x in rr.get(pt, {}).get("syscall_mix", {}).items()) or "–"
                for pt in points) + " |")
    pt = points[0]
    if svg_bars(f"{CHARTS}/chain-instructions.svg", f"bench.c chain, {label[pt]}: user-space instructions per "
                "event (lower is better)", "", [(n, rr.get(pt, {}).get("instr"), None, None) for n, rr in ch.items()],
                fmt="{:,.0f}"):
        L += ["", "![chain instructions per event](charts/chain-instructions.svg)"]
    return L + [""]


def write_report(cfg, res, quick, stand_in, elapsed, nofile):
    base = "picosel (stand-in)" if stand_in else "picosel"
    v = versions()
    L = ["# picosel benchmarks: side by side with mio, libev, a raw epoll loop and Python selectors", "",
         f"Written by `bench/run.py`{' --quick' if quick else ''} (`make bench`) on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
         f"in {elapsed / 60:.1f} minutes: {os.cpu_count()} cores ({esc(v['cpu'])}), Linux {v['kernel']}, "
         f"{esc(v['rustc'])}, {esc(v['gcc'])}, libev {v['libev']}, mio {v['mio']}, Python {v['python']}, "
         f"{esc(v['valgrind'])}. RLIMIT_NOFILE {nofile}. picosel's programs from `{os.path.relpath(REL, ROOT)}`.", ""]
    if stand_in:
        L += ["> **Stand-in run:** picosel's programs were replaced by reference servers (echo: the raw epoll "
              "server, chat: the libev server) to test the harness. These are not picosel's numbers.", ""]
    L += ["How to read it: everything runs over loopback on the same 2 shared cores, the load generator included "
          "(one thread, std + libc epoll, every echoed byte and every chat line verified). Throughput is therefore "
          "bounded by the load generator as much as by the server; **server CPU time per message** and **instructions per message** (callgrind) are the figures that separate the "
          "servers. CPU time is the run time of the server's threads from `/proc/PID/task/*/schedstat` (ns "
          "resolution; `/proc/PID/stat` utime+stime, kept in `bench/out/results.json` as `cpu_stat`, agrees within "
          "its 10 ms ticks); peak RSS is VmHWM from `/proc/PID/status`. Medians over alternating rounds (server order rotated each round); ranges in the charts are "
          "min–max over rounds. Ratios are *server ÷ picosel*, so below 1.00 means less than picosel (better for "
          "CPU, memory and latency, worse for throughput).", ""]
    L += glance(cfg, res, base)
    L += targets_section(res, base)
    if NOTES:
        L += ["## Notes", ""] + [f"- {esc(n)}" for n in NOTES] + [""]

    charts = []
    for i, load in enumerate(cfg["echo"]):
        rows = res["echo"][i]
        pb = rows.get(base)
        L += [f"## Echo, {load['size']:,}-byte messages: {load['conns']:,} connections, {load['inflight']} in flight each, "
              f"{load['messages']:,} messages per run, {len(next(iter(rows.values()), []))} round(s)", ""]
        if not rows:
            L += ["No results.", ""]
            continue
        L += ["| server | messages/s | ÷ picosel | p50 µs | p99 µs | server CPU s / 1M msgs | ÷ picosel "
              "| of it in user space | peak RSS KiB | ÷ picosel |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name, rr in rows.items():
            rate, cpu, hwm = med(rr, "rate"), med(rr, "cpu_per_m"), med(rr, "hwm")
            L.append(f"| {name} | {rate:,.0f} | {ratio(rate, pb and med(pb, 'rate'))} | {med(rr, 'p50'):,.0f} | "
                     f"{med(rr, 'p99'):,.0f} | {cpu:.2f} | {ratio(cpu, pb and med(pb, 'cpu_per_m'))} | "
                     f"{user_share(rr)} | {hwm:,.0f} | {ratio(hwm, pb and med(pb, 'hwm'))} |")
        L += ["", loadgen_line(rows, "messages")]
        tag = load["tag"]
        if svg_bars(f"{CHARTS}/echo-{tag}-cpu.svg", f"Echo {load['name']}: server CPU seconds per 1M messages "
                    "(lower is better)", "s", [(n, med(r, "cpu_per_m"), *spread(r, "cpu_per_m")) for n, r in rows.items()]):
            L += ["", f"![echo {load['name']} CPU per message](charts/echo-{tag}-cpu.svg)"]
        if svg_bars(f"{CHARTS}/echo-{tag}-rate.svg", f"Echo {load['name']}: messages per second (higher is better)",
                    "msg/s", [(n, med(r, "rate"), *spread(r, "rate")) for n, r in rows.items()], fmt="{:,.0f}"):
            L += ["", f"![echo {load['name']} throughput](charts/echo-{tag}-rate.svg)"]
        L.append("")

    ch, c = res["chat"], cfg["chat"]
    total = c["receivers"] + c["senders"]
    L += [f"## Chat: {c['receivers']} receivers + {c['senders']} senders × {c['lines']:,} lines "
          f"({c['lines'] * c['senders'] * (total - 1):,} deliveries per run, each checked for order, loss and "
          "duplicates)", ""]
    if ch:
        pb = ch.get(base)
        L += ["| server | deliveries/s | ÷ picosel | server CPU s / 1M deliveries | ÷ picosel | peak RSS KiB | ÷ picosel |",
              "|---|---:|---:|---:|---:|---:|---:|"]
        for name, rr in ch.items():
            rate, cpu, hwm = med(rr, "rate"), med(rr, "cpu_per_m"), med(rr, "hwm")
            L.append(f"| {name} | {rate:,.0f} | {ratio(rate, pb and med(pb, 'rate'))} | {cpu:.2f} | "
                     f"{ratio(cpu, pb and med(pb, 'cpu_per_m'))} | {hwm:,.0f} | {ratio(hwm, pb and med(pb, 'hwm'))} |")
        L += ["", loadgen_line(ch, "deliveries")]
        if svg_bars(f"{CHARTS}/chat-cpu.svg", "Chat: server CPU seconds per 1M deliveries (lower is better)", "s",
                    [(n, med(r, "cpu_per_m"), *spread(r, "cpu_per_m")) for n, r in ch.items()]):
            L += ["", "![chat CPU per delivery](charts/chat-cpu.svg)"]
    else:
        L.append("No results.")
    L.append("")

    ins, ic = res["instr"], cfg["instr"]
    L += ["## User-space instructions per echoed message (callgrind)", "",
          f"Each server runs under `valgrind --tool=callgrind` twice, echoing N and 2N 64-byte messages over "
          f"{ic['conns']} connections (one in flight each; N = {ic['messages']:,}, {ic['python_messages']:,} for "
          "Python); instructions per message = (total(2N) − total(N)) / N, so start-up and shutdown cancel out, "
          "and the baseline is what is left of total(N). Counts instructions in user space only (the server's own "
          "code, its libraries and libc; not the kernel's work in the syscalls). Deterministic, unlike the timings.", ""]
    if ins:
        pi = ins.get(base, {}).get("per_msg")
        L += ["| server | instructions / message | ÷ picosel | start-up + shutdown baseline |", "|---|---:|---:|---:|"]
        for name, r in ins.items():
            L.append(f"| {name} | {r['per_msg']:,.0f} | {ratio(r['per_msg'], pi)} | {r['baseline']:,.0f} |")
        if svg_bars(f"{CHARTS}/instructions.svg", "User-space instructions per echoed message (lower is better)", "",
                    [(n, r["per_msg"], None, None) for n, r in ins.items()], fmt="{:,.0f}"):
            L += ["", "![instructions per message](charts/instructions.svg)"]
    else:
        L.append("No results.")
    L.append("")

    L += chat_instructions_section(res.get("instr_chat", {}), cfg.get("instr_chat"), base)

    L += chain_section(cfg["chain"], res["chain"], v)

    ic = cfg["idle"]
    for key, title in (("idle_echo", "echo servers"), ("idle_chat", "chat servers (1,000 connected chat clients)")):
        rows = res[key]
        L += [f"## Idle: {title}, {ic['conns']:,} idle connections held for {ic['seconds']} s", ""]
        if not rows:
            L += ["No results.", ""]
            continue
        pb = rows.get(base)
        L += ["| server | CPU ms while idle | wake-ups while idle | RSS KiB with the connections | ÷ picosel "
              "| peak RSS KiB | served |", "|---|---:|---:|---:|---:|---:|---:|"]
        for name, r in rows.items():
            L.append(f"| {name} | {r['cpu'] * 1e3:.2f} | {r['wakeups']:,} | {r['rss']:,} | {ratio(r['rss'], pb and pb['rss'])} | "
                     f"{r['hwm']:,} | {r['alive']:,} |")
        if svg_bars(f"{CHARTS}/{key}-rss.svg", f"RSS with {ic['conns']:,} connections, {title.split(' (')[0]} "
                    "(lower is better)", "KiB", [(n, r["rss"], None, None) for n, r in rows.items()], fmt="{:,.0f}"):
            L += ["", f"![{key} RSS](charts/{key}-rss.svg)"]
        L.append("")

    L += startup_section(cfg, res)

    fc, fr = cfg["fds"], res["fds"]
    xs = fc["counts"]
    L += ["## Cost per message as registered connections grow (picosel echo-server, select / poll / epoll)", "",
          f"N registered connections: N − {fc['active']} idle (each pinged once first, so every one is known to be "
          f"registered) plus {fc['active']} active echo clients for {fc['seconds']} s; median of {fc['rounds']} "
          "alternating round(s). Server CPU µs per echoed message (lower is better). select(2) cannot watch fds ≥ FD_SETSIZE (1024): that backend refuses them, "
          "so its curve stops before 10,000.", ""]
    backends = list(res.get("fd_backends", []))
    if fr:
        L += ["| backend | " + " | ".join(f"{x:,}" for x in xs) + " |", "|---|" + "---:|" * len(xs)]
        for b in backends:
            cells = []
            for x in xs:
                r = fr.get((b, x))
                cells.append("–" if r is None else ("refused" if "refused" in r else f"{r['us_per_msg']:.2f}"))
            L.append(f"| {b} | " + " | ".join(cells) + " |")
        series = {b: {x: fr[(b, x)].get("us_per_msg") for x in xs if (b, x) in fr} for b in backends}
        if svg_lines(f"{CHARTS}/fd-scaling.svg", "picosel echo-server: server CPU µs per message vs registered fds",
                     "server CPU µs per message", series, xs,
                     refused=[k for k, v in fr.items() if "refused" in v]):
            L += ["", "![cost per message as fds grow](charts/fd-scaling.svg)"]
    else:
        L.append("No results.")
    L.append("")
    with open(f"{REPORT_DIR}/REPORT.md", "w") as f:
        f.write("\n".join(L))
    return "\n".join(L)


# ----------------------------------------------------------------------------


def main():
    global LOADGEN, REPORT_DIR, CHARTS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a short smoke run")
    ap.add_argument("--stand-in", action="store_true", help="reference servers play picosel's part")
    ap.add_argument("--only", default="echo,chat,instr,startup,idle,fds,chain", help="comma-separated parts to run")
    ap.add_argument("--rounds", type=int, help="override the number of rounds")
    ap.add_argument("--out", help="folder for REPORT.md and charts/ (default: bench/ for a full run, "
                    "else bench/out/)")
    a = ap.parse_args()
    full = not (a.quick or a.stand_in or a.rounds or a.only != ap.get_default("only"))
    REPORT_DIR = os.path.abspath(a.out) if a.out else (BENCH if full else OUT)
    CHARTS = os.path.join(REPORT_DIR, "charts")
    parts = set(a.only.split(","))
    cfg = QUICK if a.quick else FULL
    rounds = a.rounds or cfg["rounds"]
    nofile = raise_nofile()
    LOADGEN = loadgen_path()
    if not LOADGEN and parts - {"chain", "startup"}:
        sys.exit("bench/run.py: loadgen is not built; run `make bench-tools` (or `make bench`)")
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(CHARTS, exist_ok=True)
    for f in os.listdir(CHARTS):
        if f.endswith(".svg"):
            os.unlink(os.path.join(CHARTS, f))

    echo, chat, backends = dict(ECHO_SERVERS), dict(CHAT_SERVERS), dict(PICOSEL_BACKENDS)
    if a.stand_in:
        del echo["picosel"], chat["picosel"]
        echo = {"picosel (stand-in)": STAND_INS["echo"], **echo}
        chat = {"picosel (stand-in)": STAND_INS["chat"], **chat}
        backends = {"epoll (stand-in)": STAND_INS["echo"]}
        chain = {(f"{n} (stand-in)" if n in CHAIN_PICOSEL else n): (STAND_INS["chain"] if n in CHAIN_PICOSEL else c)
                 for n, c in CHAIN_PROGRAMS.items()}
    else:
        chain = dict(CHAIN_PROGRAMS)
    echo_parts, chat_parts = parts & {"echo", "instr", "startup", "idle"}, parts & {"chat", "instr", "startup", "idle"}
    echo = probe("echo", {n: c for n, c in echo.items() if available(f"echo, {n}", c)}) if echo_parts else {}
    chat = probe("chat", {n: c for n, c in chat.items() if available(f"chat, {n}", c)}) if chat_parts else {}
    backends = {b: c for b, c in backends.items() if available(f"fds, picosel {b}", c)} if "fds" in parts else {}
    if parts & {"instr", "startup"} and subprocess.run(["sh", "-c", "command -v valgrind"], capture_output=True).returncode:
        note("valgrind is not installed: no instruction counts (make bench installs it)")
        parts -= {"instr", "startup"}
    chain = {n: c for n, c in chain.items() if available(f"chain, {n}", c)} if "chain" in parts else {}
    chain_tools = set()
    for tool in ("valgrind", "strace"):
        if "chain" in parts and subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            note(f"{tool} is not installed: no chain {'instruction' if tool == 'valgrind' else 'syscall'} counts "
                 "(make bench installs it)")
        else:
            chain_tools.add(tool)

    started = time.time()
    res = {"echo": [{} for _ in cfg["echo"]], "chat": {}, "instr": {}, "instr_chat": {}, "startup": {}, "idle_echo": {},
           "idle_chat": {}, "idle_echo_small": {}, "fds": {}, "fd_backends": list(backends), "chain": {}}
    if "echo" in parts:
        for i, load in enumerate(cfg["echo"]):
            print(f"echo {load['name']} ...", flush=True)
            res["echo"][i] = measure_echo(echo, load, rounds)
    if "chat" in parts:
        print("chat ...", flush=True)
        res["chat"] = measure_chat(chat, cfg["chat"], rounds)
    if "instr" in parts:
        print("instructions (callgrind) ...", flush=True)
        res["instr"] = measure_instructions(echo, cfg["instr"])
        res["instr_chat"] = measure_chat_instructions(chat, cfg["instr_chat"])
    if "startup" in parts:
        print("start-up instructions (callgrind) ...", flush=True)
        res["startup"] = {"echo": measure_startup(echo), "chat": measure_startup(chat)}
    if "idle" in parts:
        print("idle ...", flush=True)
        res["idle_echo"] = measure_idle(echo, cfg["idle"]["conns"], cfg["idle"]["seconds"], "echo")
        res["idle_chat"] = measure_idle(chat, cfg["idle"]["conns"], cfg["idle"]["seconds"], "chat")
        res["idle_echo_small"] = measure_idle(echo, cfg["idle"]["small_conns"], cfg["idle"]["small_seconds"], "echo")
    if "fds" in parts:
        print("fd scaling ...", flush=True)
        fc = cfg["fds"]
        res["fds"] = measure_fds(backends, fc["counts"], fc["active"], fc["seconds"], fc["rounds"])
    if "chain" in parts and chain_tools:
        print("bench.c chain (callgrind, strace) ...", flush=True)
        res["chain"] = measure_chain(chain, cfg["chain"], chain_tools)
    elapsed = time.time() - started

    report = write_report(cfg, res, a.quick, a.stand_in, elapsed, nofile)
    raw = dict(res, fds={f"{b} {n}": v for (b, n), v in res["fds"].items()}, notes=NOTES, config=cfg,
               rounds=rounds, seconds=elapsed)
    with open(f"{OUT}/results.json", "w") as f:
        json.dump(raw, f, indent=1)
    print(report)
    where = os.path.relpath(REPORT_DIR, os.getcwd())
    print(f"\nwrote {where}/REPORT.md and {where}/charts/ in {elapsed / 60:.1f} minutes", flush=True)


if __name__ == "__main__":
    main()
