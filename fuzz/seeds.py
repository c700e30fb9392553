#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/{dispatch,selector_ops}/.

Each seed is a small scenario spelled in the byte format that the target's
`run` reads (fuzz/src/cursor.rs: bytes, little-endian u16/u32/u64, and
`below(n)` = a u16 taken modulo n). The encoders below mirror the readers in
fuzz/src/dispatch.rs and fuzz/src/selector_ops.rs; if those change, change
these and run `python3 fuzz/seeds.py` again. A seed that no longer means what
its name says still runs (every input is valid), it just explores less.
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


class Enc:
    def __init__(self):
        self.out = bytearray()

    def byte(self, v):
        self.out.append(v & 0xFF)
        return self

    def u16(self, v):
        self.out += struct.pack("<H", v)
        return self

    below = u16  # below(n) reads a u16 and takes it modulo n

    def u32(self, v):
        self.out += struct.pack("<I", v & 0xFFFFFFFF)
        return self

    def u64(self, v):
        self.out += struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)
        return self

    def raw(self, b):
        self.out += b
        return self


# ---------------------------------------------------------------- dispatch

CAP = {1: 0, 2: 1, 5: 2, 16: 3}  # first byte: the selector's capacity
EV = {"R": 0, "W": 1, "RW": 2, "none": 12, "bad4": 13}  # pick_events
# bits(): 0 in, 1 out, 2 in|out, 3 nothing, 4 + mask, 5 + raw u32.
MASK_IN, MASK_OUT, MASK_ERR, MASK_HUP, MASK_RDHUP, MASK_PRI, MASK_NVAL = (
    1, 2, 4, 8, 16, 32, 64)


class Dispatch(Enc):
    """Ops and waits of fuzz/src/dispatch.rs."""

    def fd(self, fd):  # pick_fd, arm 3: below(MAX_FD)
        return self.byte(3).below(fd)

    def register(self, fd, ev, fail=None):
        self.fd(fd).byte(0).byte(EV[ev])
        return self.byte(0).below(fail) if fail is not None else self.byte(1)

    def unregister(self, fd, kernel_keeps_it=False):
        return self.fd(fd).byte(6).byte(0 if kernel_keeps_it else 1)

    def modify(self, fd, ev, fail=None):
        self.fd(fd).byte(10).byte(EV[ev]).byte(1)  # fresh data
        return self.byte(0).below(fail) if fail is not None else self.byte(1)

    def get_key(self, fd):
        return self.fd(fd).byte(14)

    def close(self):
        return self.fd(0).byte(15).byte(0)

    def ops(self, *ops):
        self.below(len(ops))
        for op in ops:
            op(self)
        return self

    def wait(self, mode, script, flags=0, fail=0, timeout=0):
        """mode: 0 epoll, 1 poll, 2 select; timeout: 0 zero, 1 none, 2 10 s;
        flags: 7 = interrupt once first, 0x18 = then fail (fail: 0 EBADF,
        1 EINVAL)."""
        assert len(script) < 256
        self.below(len(script)).raw(script).byte(mode).byte(flags)
        if flags & 0x18 == 0x18:
            self.below(fail)
        return self.below(timeout)

    def mid(self, *ops):  # operations after one delivered entry
        return self.ops(*ops)


def bits(e, kind, mask=0, raw=0):
    e.byte(kind)
    if kind == 4:
        e.byte(mask)
    if kind == 5:
        e.u32(raw)
    return e


def dispatch_seeds():
    seeds = {}

    # Two registrations reported by epoll; while handling the first, the
    # second is unregistered and registered again under the same fd number
    # (same slot, new generation): its entry of the batch must be dropped.
    # A stray token (slot 0, generation 1) is dropped too.
    s = Dispatch().byte(CAP[5])
    s.ops(lambda s: s.register(3, "RW"), lambda s: s.register(8, "R"))
    k = Enc().below(3)
    bits(k, 2).byte(0).below(0)  # fd 3's token, IN|OUT
    bits(k, 4, MASK_ERR | MASK_HUP).byte(0).below(1)  # fd 8's token
    bits(k, 5, raw=0xFFFFFFFF).byte(6).u64(1 << 32)
    s.wait(0, bytes(k.out))
    s.mid(lambda s: s.unregister(8), lambda s: s.register(8, "RW"))
    seeds["epoll-reregister-mid-batch"] = s

    # A removal the kernel did not do (epoll keeps reporting the old token),
    # then the fd registered again: only the new registration's events count.
    # fds 0, 5 and 10 share a home cell in the index of 5; 5 goes, 10 stays.
    s = Dispatch().byte(CAP[5])
    s.ops(lambda s: s.register(5, "R"), lambda s: s.unregister(5, kernel_keeps_it=True),
          lambda s: s.register(5, "W"), lambda s: s.register(0, "R"),
          lambda s: s.register(10, "RW"), lambda s: s.unregister(0), lambda s: s.get_key(10))
    k = Enc().below(4)
    bits(k, 0).byte(3).below(0)  # graveyard: fd 5's first token
    bits(k, 1).byte(0).below(0)  # live: fd 5 (kernel map in fd order)
    bits(k, 2).byte(4).below(1).below(0)  # fd 10's slot, next generation
    bits(k, 4, MASK_PRI | MASK_RDHUP).byte(0).below(1)  # fd 10
    s.wait(0, bytes(k.out))
    s.mid().mid()
    seeds["epoll-zombie-and-collisions"] = s

    # poll: the slot of an unregistered fd reused by another fd; an entry
    # still naming the old fd (POLLNVAL) and one naming a slot out of range
    # are dropped.
    s = Dispatch().byte(CAP[2])
    s.ops(lambda s: s.register(4, "R"), lambda s: s.unregister(4),
          lambda s: s.register(6, "R"))
    k = Enc()
    k.byte(1)
    bits(k, 0)  # slot 0 (fd 6): POLLIN
    k.below(2)
    k.byte(0).below(0)
    bits(k, 4, MASK_NVAL).below(0)  # (slot 0, fd 4) from the history, first
    k.byte(1).below(1).below(6)
    bits(k, 4, MASK_IN | MASK_HUP).below(2)  # slot 3 of 2, last
    k.byte(1)  # keep every slot entry
    s.wait(1, bytes(k.out), timeout=1)
    s.mid()
    seeds["poll-stale-slot"] = s

    # select: an fd past FD_SETSIZE registered (never reported), bits for
    # unregistered fds, a word of all ones, and nfds = 7 hiding fd 7. fd 2's
    # interest changes to READ after fd 1 is handled: its WRITE is dropped.
    s = Dispatch().byte(CAP[5])
    s.ops(lambda s: s.register(1, "R"), lambda s: s.register(2, "W"),
          lambda s: s.register(1030, "RW"), lambda s: s.register(7, "RW"))
    k = Enc().byte(3).byte(3).byte(3).byte(1)
    k.below(2).below(9).byte(0).below(100).byte(1)
    k.byte(0).below(1).below(0).below(0).u64(-1)
    k.byte(0).below(15)  # nfds = 15 - 8
    s.wait(2, bytes(k.out))
    s.mid(lambda s: s.modify(2, "R"))
    seeds["select-past-nfds"] = s

    # Backend failures: register refused (nothing changes), modify refused
    # (the fd is unregistered), Full; an interrupted wait whose entries must
    # not leak, a failed wait, and a closed selector.
    s = Dispatch().byte(CAP[1])
    s.ops(lambda s: s.register(0, "R", fail=0), lambda s: s.register(0, "R"),
          lambda s: s.modify(0, "W", fail=1), lambda s: s.register(0, "RW"),
          lambda s: s.register(1, "R"), lambda s: s.register(1, "none"),
          lambda s: s.modify(0, "bad4"))
    k = Enc().below(1)
    bits(k, 0).byte(0).below(0)
    s.wait(0, bytes(k.out), flags=7, timeout=1)
    s.mid()
    s.ops()
    s.wait(1, b"", flags=0x18, fail=0, timeout=0)
    s.ops(lambda s: s.close(), lambda s: s.register(0, "R"))
    s.wait(0, b"")
    seeds["backend-errors-eintr-close"] = s

    # Sixteen slots, eight registrations reported 20 times by epoll: more
    # entries than the ready list holds (a real epoll_wait never does that).
    s = Dispatch().byte(CAP[16])
    s.ops(*[(lambda fd: lambda s: s.register(fd, "RW"))(fd) for fd in range(0, 32, 4)])
    k = Enc().below(25)
    for i in range(20):
        bits(k, 2).byte(0).below(i % 8)
    for i in range(5):
        bits(k, 0).byte(6).u64(i << 32 | i)
    s.wait(0, bytes(k.out))
    seeds["epoll-overflow"] = s
    return seeds


# ------------------------------------------------------------ selector_ops

# Channels at start: 0 socket pair, 1 pipe (end 0 reads), 2 pipe (end 0
# writes), 3 socket pair.
SEV = {"R": 0, "W": 1, "RW": 2, "none": 13, "bad": 14}


class Ops(Enc):
    """Steps of fuzz/src/selector_ops.rs."""

    def fd(self, ch, end):
        return self.byte(2 + 128 * end).below(ch)

    def num(self, which):  # "neg", 1000 or 1500
        return self.byte({"neg": 0, 1000: 1, 1500: 129}[which])

    def target(self, t):
        return self.fd(*t) if isinstance(t, tuple) else self.num(t)

    def register(self, t, ev, data=7):
        return self.byte(0).below(0).target(t).byte(SEV[ev]).byte(data)

    def unregister(self, t):
        return self.byte(4).below(0).target(t)

    def modify(self, t, ev, data=9):
        return self.byte(6).below(0).target(t).byte(SEV[ev]).byte(data)

    def get_key(self, t):
        return self.byte(8).below(0).target(t)

    def write_to(self, ch, end):
        return self.byte(9 + 128 * end).below(ch)

    def drain(self, ch, end):
        return self.byte(10 + 128 * end).below(ch)

    def close_end(self, ch, end):
        return self.byte(11 + 128 * end).below(ch)

    def renew(self, ch, kind, unregister_first=True):
        """kind: 0 socket pair, 1 pipe (end 0 reads), 2 pipe (end 0 writes)."""
        return self.byte(12).below(ch).byte(0 if unregister_first else 1).byte(kind)

    def select(self):
        return self.byte(14).below(0)

    def close(self):
        return self.byte(13).below(0).byte(0)


def selector_ops_seeds():
    seeds = {}

    s = Ops()
    s.register((0, 0), "R").register((0, 1), "W").register((1, 0), "RW")
    s.register((2, 0), "RW").register((3, 0), "RW", data=3)
    s.select()
    s.write_to(0, 0).write_to(1, 0).write_to(3, 1).select()
    s.drain(0, 0).drain(1, 0).modify((3, 0), "R").select()
    seeds["readiness"] = s

    # Hang-ups: a pipe's reader sees POLLHUP (select: READ only), a pipe's
    # writer POLLERR, a socket both.
    s = Ops()
    s.register((1, 0), "RW").register((2, 0), "RW").register((3, 0), "W")
    s.write_to(1, 0).close_end(1, 1).close_end(2, 1).close_end(3, 1).select()
    s.drain(1, 0).select()
    seeds["hangups"] = s

    # Closing registered fds without unregistering, and getting the same
    # numbers back: poll and select see the new file, epoll nothing until a
    # modify of the events re-adds it.
    s = Ops()
    s.register((0, 0), "R").register((1, 0), "R")
    s.renew(0, 0, unregister_first=False).renew(1, 2, unregister_first=False)
    s.write_to(0, 0).select()
    s.modify((0, 0), "RW").modify((1, 0), "RW", data=1).select()
    s.unregister((0, 0)).register((0, 0), "R").get_key((0, 0)).select()
    seeds["reuse-without-unregister"] = s

    # Numbers that are not open: select fails with EBADF, poll reports
    # POLLNVAL, epoll refuses to register; then a closed selector.
    s = Ops()
    s.register(1000, "R").register(1500, "W").register("neg", "R").select()
    s.unregister(1000).select().register((2, 1), "R").close_end(2, 1).select()
    s.modify((2, 1), "W").select().get_key(1500)
    s.close().register((0, 0), "R").get_key((0, 0)).select()
    seeds["closed-numbers"] = s

    # Python's error order: invalid events, bad fd, already / not
    # registered, full.
    s = Ops()
    s.register((0, 0), "none").register((0, 0), "bad").register("neg", "bad")
    s.register("neg", "R").modify((0, 0), "R").unregister((0, 0))
    for ch in range(3):
        for end in range(2):
            s.register((ch, end), "RW", data=ch * 2 + end)
    s.register((3, 0), "R").register((0, 0), "R").modify((0, 0), "bad")
    s.modify((0, 1), "RW", data=200).select()
    seeds["errors-and-full"] = s
    return seeds


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        os.remove(os.path.join(d, name))
    for name, enc in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(bytes(enc.out))


if __name__ == "__main__":
    write("dispatch", dispatch_seeds())
    write("selector_ops", selector_ops_seeds())
