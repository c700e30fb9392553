#!/usr/bin/env python3
"""Captures real rtnetlink datagrams from this kernel as seeds for the
`netlink` fuzz target (fuzz/corpus/netlink/). Run as root; it makes a
network namespace of its own (re-running itself under `unshare -n`), so
nothing outside changes:

    python3 fuzz/capture_netlink.py

Each seed is one datagram exactly as recv(2) returned it: the events of
creating a veth pair, bringing it up, adding and removing IPv4 and IPv6
addresses, deleting it, and the dumps of links and addresses."""
import os
import socket
import struct
import subprocess
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "netlink")
GROUPS = 0x1 | 0x10 | 0x100  # RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR


def drain(s, name, seen):
    n = 0
    while True:
        try:
            data = s.recv(65536)
        except BlockingIOError:
            return n
        n += 1
        path = os.path.join(OUT, f"{name}-{n}")
        with open(path, "wb") as f:
            f.write(data)
        seen.append((path, len(data)))


def dump(kind, body_len, name, seen):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.bind((0, 0))
    hdr = struct.pack("=IHHII", 16 + body_len, kind, 0x1 | 0x300, 1, 0)
    s.send(hdr + bytes(body_len))
    got = 0
    while True:
        data = s.recv(65536)
        got += 1
        with open(os.path.join(OUT, f"{name}-{got}"), "wb") as f:
            f.write(data)
        seen.append((name, len(data)))
        if struct.unpack_from("=H", data, 4)[0] == 3:  # NLMSG_DONE
            return


def main():
    if os.environ.get("PICOSEL_IN_NETNS") != "1":
        env = dict(os.environ, PICOSEL_IN_NETNS="1")
        sys.exit(subprocess.call(["unshare", "-n", sys.executable, __file__], env=env))
    os.makedirs(OUT, exist_ok=True)
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK, socket.NETLINK_ROUTE)
    s.bind((0, GROUPS))
    seen = []
    steps = [
        ("veth-add", "link add pv0 type veth peer name pv1"),
        ("link-up-no-carrier", "link set pv0 up"),
        ("link-carrier", "link set pv1 up"),
        ("addr4-add", "addr add 10.1.2.3/24 dev pv0 label pv0:1"),
        ("addr6-add", "-6 addr add fd00::3/64 dev pv0 nodad"),
        ("addr4-del", "addr del 10.1.2.3/24 dev pv0"),
        ("link-lost-carrier", "link set pv1 down"),
        ("veth-del", "link del pv0"),
    ]
    for name, cmd in steps:
        subprocess.check_call(["ip"] + cmd.split())
        subprocess.check_call(["ip", "link", "show"], stdout=subprocess.DEVNULL)  # a barrier
        drain(s, "event-" + name, seen)
    subprocess.check_call(["ip", "link", "set", "lo", "up"])
    drain(s, "event-lo-up", seen)
    dump(18, 16, "dump-links", seen)  # RTM_GETLINK, ifinfomsg
    dump(22, 8, "dump-addrs", seen)  # RTM_GETADDR, ifaddrmsg
    for path, n in seen:
        print(f"{os.path.basename(str(path))}: {n} bytes")


main()
