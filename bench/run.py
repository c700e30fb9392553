#!/usr/bin/env python3
"""make bench: picosel's servers against mio, libev, a raw epoll loop and
Python selectors, measured in one run, alternating servers over rounds.

Writes bench/REPORT.md and SVG charts beside it. Loopback only; every load
is bounded in count and time. Run through `make bench` (it builds
everything first); `--quick` makes a short smoke run.
"""
import argparse
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench")
LOADGEN = os.path.join(ROOT, "bench/loadgen/target/release/loadgen")
REL = os.path.join(ROOT, "target/static/x86_64-unknown-linux-gnu/release")

ECHO = {
    "picosel": [f"{REL}/echo-server", "--backend", "epoll"],
    "mio": [f"{ROOT}/bench/mio-echo/target/release/mio-echo"],
    "libev": [f"{ROOT}/bench/out/libev_echo"],
    "raw epoll (C)": [f"{ROOT}/bench/out/epoll_echo"],
    "python selectors": [sys.executable, f"{ROOT}/bench/ref/py_echo.py"],
}
CHAT = {
    "picosel": [f"{REL}/chat-server", "--max-clients", "1000"],
    "libev": [f"{ROOT}/bench/out/libev_chat"],
    "python selectors": [sys.executable, f"{ROOT}/bench/ref/py_chat.py"],
}


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    def __init__(self, cmd, wrap=()):
        self.p = subprocess.Popen(list(wrap) + cmd + ["--bind", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.p.stdout.readline().decode()
        m = re.match(r"listening on ([\d.]+):(\d+)", line)
        if not m:
            self.stop()
            raise RuntimeError(f"{cmd[0]}: unexpected first line {line!r}")
        self.addr = f"{m.group(1)}:{m.group(2)}"

    def cpu(self):
        """User+system CPU seconds so far (the server process itself)."""
        with open(f"/proc/{self.p.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def status(self, key):
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def loadgen(*args, timeout=300):
    out = subprocess.run([LOADGEN, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    lines = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"loadgen {' '.join(map(str, args))}: {out.stderr.strip() or out.stdout.strip()}")
    return lines[-1]


def available(cmd):
    return os.path.exists(cmd[0]) and (cmd[0] != sys.executable or os.path.exists(cmd[1]))


def measure_echo(cfg, rounds):
    res = {name: [] for name in ECHO if available(ECHO[name])}
    for r in range(rounds):
        for name in res:
            s = Server(ECHO[name])
            try:
                c0 = s.cpu()
                g = loadgen("echo", "--addr", s.addr, "--conns", cfg["conns"], "--size", cfg["size"], "--inflight", 1, "--messages", cfg["messages"], "--seconds", 120)
                cpu = s.cpu() - c0
                res[name].append({"rate": g["msgs_per_sec"], "p99": g["p99_us"], "cpu_per_m": cpu / g["messages"] * 1e6, "rss": s.status("VmHWM")})
            finally:
                s.stop()
    return res


def measure_chat(cfg, rounds):
    res = {name: [] for name in CHAT if available(CHAT[name])}
    for r in range(rounds):
        for name in res:
            s = Server(CHAT[name])
            try:
                c0 = s.cpu()
                g = loadgen("chat", "--addr", s.addr, "--receivers", cfg["receivers"], "--senders", cfg["senders"], "--lines", cfg["lines"], "--seconds", 240)
                cpu = s.cpu() - c0
                res[name].append({"rate": g["deliveries_per_sec"], "cpu_per_m": cpu / g["deliveries"] * 1e6, "rss": s.status("VmHWM")})
            finally:
                s.stop()
    return res


def total_instructions(out_file):
    with open(out_file) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {out_file}")


def measure_instructions(msgs):
    """User-space instructions per echoed message: two callgrind runs with
    different message counts, so start-up and shutdown cancel out."""
    res = {}
    for name, cmd in ECHO.items():
        if not available(cmd) or name == "python selectors":
            continue
        counts = []
        for m in (msgs, 2 * msgs):
            out = f"/tmp/picosel-callgrind-{os.getpid()}.out"
            s = Server(cmd, wrap=("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "-q"))
            try:
                loadgen("echo", "--addr", s.addr, "--conns", 10, "--size", 64, "--inflight", 1, "--messages", m, "--seconds", 300)
            finally:
                s.p.send_signal(signal.SIGINT)
                try:
                    s.p.wait(60)
                except subprocess.TimeoutExpired:
                    s.p.kill()
                    s.p.wait()
            counts.append(total_instructions(out))
            os.unlink(out)
        res[name] = (counts[1] - counts[0]) / msgs
    return res


def measure_idle(conns, seconds, servers):
    res = {}
    for name, cmd in servers.items():
        if not available(cmd):
            continue
        s = Server(cmd)
        try:
            holder = subprocess.Popen([LOADGEN, "idle", "--addr", s.addr, "--conns", str(conns), "--seconds", str(seconds + 5)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            first = holder.stdout.readline()
            if b"connected" not in first:
                raise RuntimeError(f"{name}: idle clients did not connect")
            time.sleep(1.0)  # let the accept burst settle
            c0 = s.cpu()
            time.sleep(seconds)
            res[name] = {"cpu": s.cpu() - c0, "rss": s.status("VmRSS")}
            holder.terminate()
            holder.wait()
        finally:
            s.stop()
    return res


def measure_scaling(idle_counts, seconds):
    res = {}
    for backend in ("select", "poll", "epoll"):
        for n in idle_counts:
            s = Server([f"{REL}/echo-server", "--backend", backend])
            try:
                try:
                    holder = subprocess.Popen([LOADGEN, "idle", "--addr", s.addr, "--conns", str(n), "--seconds", str(seconds + 30)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                    holder.stdout.readline()
                    time.sleep(0.5)
                    c0 = s.cpu()
                    g = loadgen("idle", "--addr", s.addr, "--conns", 0, "--active", 4, "--size", 64, "--seconds", seconds)
                    res[(backend, n)] = (s.cpu() - c0) / g["messages"] * 1e6
                finally:
                    holder.terminate()
                    holder.wait()
            except RuntimeError as e:
                res[(backend, n)] = None
                print(f"  {backend} @ {n}: {e}", file=sys.stderr)
            finally:
                s.stop()
    return res


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def svg_bars(path, title, unit, values):
    w, h, left, bar = 640, 40 + 34 * len(values), 170, 24
    top = max(values.values()) or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="13">',
           f'<text x="10" y="22" font-weight="bold">{title}</text>']
    for i, (name, v) in enumerate(values.items()):
        y = 40 + i * 34
        length = (w - left - 110) * v / top
        color = "#d9534f" if name == "picosel" else "#5b8ff9"
        out.append(f'<text x="10" y="{y + 17}">{name}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{bar}" fill="{color}"/>')
        out.append(f'<text x="{left + length + 6:.1f}" y="{y + 17}">{v:,.1f} {unit}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def svg_lines(path, title, unit, series, xs):
    w, h, l, r, t, b = 640, 360, 70, 120, 40, 50
    vals = [v for s in series.values() for v in s if v is not None]
    top = max(vals) * 1.1 if vals else 1
    xpos = {x: l + (w - l - r) * i / max(1, len(xs) - 1) for i, x in enumerate(xs)}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<text x="10" y="22" font-weight="bold">{title}</text>',
           f'<line x1="{l}" y1="{h - b}" x2="{w - r}" y2="{h - b}" stroke="black"/>',
           f'<line x1="{l}" y1="{t}" x2="{l}" y2="{h - b}" stroke="black"/>',
           f'<text x="{l - 60}" y="{t - 8}">{unit}</text>',
           f'<text x="{(w - r) / 2}" y="{h - 12}">idle connections (log scale)</text>']
    for x in xs:
        out.append(f'<text x="{xpos[x] - 12:.0f}" y="{h - b + 16}">{x:,}</text>')
    for k in range(5):
        v = top * k / 4
        y = h - b - (h - b - t) * k / 4
        out.append(f'<text x="{l - 50}" y="{y + 4:.0f}">{v:.1f}</text>')
    colors = {"select": "#f0ad4e", "poll": "#5b8ff9", "epoll": "#d9534f"}
    for i, (name, s) in enumerate(series.items()):
        pts = [(xpos[x], h - b - (h - b - t) * v / top) for x, v in zip(xs, s) if v is not None]
        if pts:
            out.append(f'<polyline fill="none" stroke="{colors.get(name, "black")}" stroke-width="2" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in pts)}"/>')
        out.append(f'<text x="{w - r + 10}" y="{t + 20 + 18 * i}" fill="{colors.get(name, "black")}">{name}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a short smoke run")
    a = ap.parse_args()
    raise_nofile()
    q = a.quick
    rounds = 1 if q else 5
    echo_cfg = {"conns": 50, "size": 64, "messages": 20_000 if q else 200_000}
    chat_cfg = {"receivers": 50, "senders": 5, "lines": 100 if q else 1000}
    started = time.time()
    print("echo ...", flush=True)
    echo = measure_echo(echo_cfg, rounds)
    print("chat ...", flush=True)
    chat = measure_chat(chat_cfg, rounds)
    print("instructions (callgrind) ...", flush=True)
    instr = measure_instructions(2_000 if q else 20_000)
    print("idle ...", flush=True)
    idle_s = 2 if q else 10
    idle = measure_idle(1000, idle_s, {**ECHO, **{f"{k} (chat)": v for k, v in CHAT.items()}})
    print("fd scaling ...", flush=True)
    xs = [10, 100, 1000] if q else [10, 100, 1000, 10000]
    scaling = measure_scaling(xs, 1 if q else 3)
    elapsed = time.time() - started

    def ratio(v, base):
        return f"{v / base:.2f}x" if base else "-"

    pe = med(echo["picosel"], "rate") if echo.get("picosel") else 0
    pcpu = med(echo["picosel"], "cpu_per_m") if echo.get("picosel") else 0
    lines = ["# picosel benchmark report", "",
             f"Produced by `make bench` ({'quick run' if q else f'{rounds} alternating rounds'}) in {elapsed / 60:.1f} minutes on "
             f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}. Loopback only. Medians over rounds; ratios are to picosel "
             "measured in the same run. The machine is shared and noisy: throughput figures are bounded by the single-threaded "
             "load generator on the same 2 cores, so the server CPU time per message and the instruction counts are the "
             "figures that separate the servers.", "",
             f"## Echo: {echo_cfg['conns']} connections, {echo_cfg['size']}-byte messages, 1 in flight each, {echo_cfg['messages']:,} messages", "",
             "| server | messages/s | picosel / it | server CPU s per 1M msgs | it / picosel | p99 latency µs | peak RSS KiB |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, rows in echo.items():
        rate, cpu = med(rows, "rate"), med(rows, "cpu_per_m")
        lines.append(f"| {name} | {rate:,.0f} | {ratio(pe, rate)} | {cpu:.2f} | {ratio(cpu, pcpu)} | {med(rows, 'p99'):.0f} | {med(rows, 'rss'):,.0f} |")
    pc = med(chat["picosel"], "rate") if chat.get("picosel") else 0
    pccpu = med(chat["picosel"], "cpu_per_m") if chat.get("picosel") else 0
    lines += ["", f"## Chat: {chat_cfg['receivers']} receivers + {chat_cfg['senders']} senders x {chat_cfg['lines']:,} lines, every delivery checked (order, loss, duplicates)", "",
              "| server | deliveries/s | picosel / it | server CPU s per 1M deliveries | it / picosel | peak RSS KiB |", "|---|---:|---:|---:|---:|---:|"]
    for name, rows in chat.items():
        rate, cpu = med(rows, "rate"), med(rows, "cpu_per_m")
        lines.append(f"| {name} | {rate:,.0f} | {ratio(pc, rate)} | {cpu:.2f} | {ratio(cpu, pccpu)} | {med(rows, 'rss'):,.0f} |")
    pi = instr.get("picosel")
    lines += ["", "## User-space instructions per echoed message (callgrind)", "",
              "Two runs per server (N and 2N messages over 10 connections); the difference divided by N, so start-up cancels out. "
              "Deterministic, unlike timings on this machine.", "",
              "| server | instructions / message | picosel / it |", "|---|---:|---:|"]
    for name, v in instr.items():
        lines.append(f"| {name} | {v:,.0f} | {ratio(pi, v) if pi else '-'} |")
    lines += ["", f"## Idle: 1,000 idle connections for {idle_s} s", "",
              "| server | CPU seconds while idle | RSS KiB with 1,000 connections |", "|---|---:|---:|"]
    for name, v in idle.items():
        lines.append(f"| {name} | {v['cpu']:.2f} | {v['rss']:,} |")
    lines += ["", "## Cost per message as registered fds grow (picosel echo-server, 4 active clients)", "",
              "Server CPU µs per echoed message with N idle connections registered. select refuses fds >= 1024 "
              "(FD_SETSIZE) with its clear error, so it has no 10,000 point.", "",
              "| backend | " + " | ".join(f"{x:,} idle" for x in xs) + " |", "|---|" + "---:|" * len(xs)]
    for b in ("select", "poll", "epoll"):
        cells = [("-" if scaling.get((b, x)) is None else f"{scaling[(b, x)]:.1f}") for x in xs]
        lines.append(f"| {b} | " + " | ".join(cells) + " |")
    lines += ["", "![echo CPU per message](echo-cpu.svg)", "", "![cost per message as fds grow](fd-scaling.svg)", ""]
    with open(os.path.join(OUT, "REPORT.md"), "w") as f:
        f.write("\n".join(lines))
    svg_bars(os.path.join(OUT, "echo-cpu.svg"), "Echo: server CPU seconds per 1M messages (lower is better)", "s",
             {n: med(r, "cpu_per_m") for n, r in echo.items()})
    svg_lines(os.path.join(OUT, "fd-scaling.svg"), "picosel echo-server: CPU µs per message vs idle fds", "µs/msg",
              {b: [scaling.get((b, x)) for x in xs] for b in ("select", "poll", "epoll")}, xs)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
