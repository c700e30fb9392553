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

CAP = {1: 0, 2: 1, 5: 2, 16: 3}
MODE = {"epoll": 0, "poll": 1, "select": 2}
EV = {"R": 0, "W": 1, "RW": 2, "none": 12, "bad4": 13}  # pick_events
# bits(): 0 in, 1 out, 2 in|out, 3 nothing, 4 + mask, 5 + raw u32.
MASK_IN, MASK_OUT, MASK_ERR, MASK_HUP, MASK_RDHUP, MASK_PRI, MASK_NVAL = (
    1, 2, 4, 8, 16, 32, 64)


class Dispatch(Enc):
    """Ops and waits of fuzz/src/dispatch.rs."""

    def __init__(self, cap, mode):
        """The first byte: the capacity and the backend for the whole run."""
        super().__init__()
        self.byte(CAP[cap] + 4 * MODE[mode])

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
        assert len(ops) < 10
        self.below(len(ops))
        for op in ops:
            op(self)
        return self

    def wait(self, script, eintrs=0, fail=None, timeout=0):
        """The output `script`, written by the first wait that is neither
        interrupted (`eintrs`: 0 to 2 EINTRs first) nor failed (`fail`: 0
        EBADF, 1 EINVAL, 2 ENOMEM); timeout: 0 zero, 1 none, 2 10 s."""
        assert len(script) < 256
        flags = (7 | (eintrs - 1) << 5 if eintrs else 0) | (0x18 if fail is not None else 0)
        self.below(len(script)).raw(script).byte(flags)
        if fail is not None:
            self.below(fail)
        return self.below(timeout)

    def mid(self, *ops):  # operations after one delivered entry: below(3)
        assert len(ops) < 3
        return self.ops(*ops)


def bits(e, kind, mask=0, raw=0):
    e.byte(kind)
    if kind == 4:
        e.byte(mask)
    if kind == 5:
        e.u32(raw)
    return e


# Tags in epoll outputs. `live` indexes the kernel's interest list in fd
# order (zombies included), `added` every tag ever passed to add, in order.
def live(e, i):
    return e.byte(0).below(i)


def added(e, i):
    return e.byte(3).below(i)


def neighbour(e, i, delta):  # delta: 0 next generation, 1 previous, 2 +2
    return e.byte(4).below(i).below(delta)


def raw_tag(e, v):
    return e.byte(6).u64(v)


def dispatch_seeds():
    seeds = {}

    # Two registrations reported by epoll; while handling the first, the
    # second is unregistered and registered again under the same fd number
    # (same slot, new generation): its event of the batch is dropped. A
    # stray tag (slot 0, generation 1) is dropped too; one for slot 1 at
    # the next generation, invented by the kernel, names the new
    # registration.
    s = Dispatch(5, "epoll")
    s.ops(lambda s: s.register(3, "RW"), lambda s: s.register(8, "R"))
    k = Enc().below(4)
    live(bits(k, 2), 0)  # fd 3, IN|OUT
    live(bits(k, 4, MASK_ERR | MASK_HUP), 1)  # fd 8
    raw_tag(bits(k, 5, raw=0xFFFFFFFF), 1 << 32)
    neighbour(bits(k, 0), 1, 0)
    s.wait(bytes(k.out))
    s.mid(lambda s: s.unregister(8), lambda s: s.register(8, "RW"))
    s.mid()
    seeds["epoll-reregister-mid-batch"] = s

    # Removals the kernel did not do: fd 5's old tag, then fd 5 registered
    # again (EEXIST: its kernel entry takes the new tag); fd 7 left as a
    # zombie that keeps reporting. fds 0, 5 and 10 share a home cell in the
    # index of 5; 0 goes, 10 stays.
    s = Dispatch(5, "epoll")
    s.ops(lambda s: s.register(5, "R"), lambda s: s.unregister(5, kernel_keeps_it=True),
          lambda s: s.register(5, "W"), lambda s: s.register(0, "R"),
          lambda s: s.register(10, "RW"), lambda s: s.unregister(0),
          lambda s: s.register(7, "R"), lambda s: s.unregister(7, kernel_keeps_it=True),
          lambda s: s.get_key(10))
    k = Enc().below(5)
    added(bits(k, 0), 0)  # fd 5's first tag
    live(bits(k, 1), 0)  # fd 5
    live(bits(k, 2), 1)  # the zombie fd 7
    neighbour(bits(k, 2), 2, 0)  # fd 10's slot, next generation
    live(bits(k, 4, MASK_PRI | MASK_RDHUP), 2)  # fd 10
    s.wait(bytes(k.out))
    s.mid().mid()
    seeds["epoll-zombie-and-collisions"] = s

    # poll: fd 4 unregistered while its event is handed out and fd 8
    # registered in a full array: the array is compacted mid-batch, and
    # fd 6's POLLNVAL (READ|WRITE, masked to READ) is still delivered; fd 8
    # reports nothing of this wait.
    s = Dispatch(2, "poll")
    s.ops(lambda s: s.register(4, "R"), lambda s: s.register(6, "R"))
    k = Enc()
    bits(k.byte(1), 0)  # fd 4: POLLIN
    bits(k.byte(1), 4, MASK_NVAL)  # fd 6
    s.wait(bytes(k.out), timeout=1)
    s.mid(lambda s: s.unregister(4), lambda s: s.register(8, "R"))
    s.mid()
    seeds["poll-compact-mid-batch"] = s

    # poll: a hang-up on fd 6, whose interest widens from READ to
    # READ|WRITE while fd 4's event is handed out: POLLHUP maps to both, so
    # fd 6 gets READ|WRITE. fd 9's entry reports nothing.
    s = Dispatch(5, "poll")
    s.ops(lambda s: s.register(4, "R"), lambda s: s.register(6, "R"),
          lambda s: s.register(9, "W"))
    k = Enc()
    bits(k.byte(1), 0)  # fd 4: POLLIN
    bits(k.byte(1), 4, MASK_HUP)  # fd 6
    k.byte(0)  # fd 9: nothing
    s.wait(bytes(k.out), timeout=2)
    s.mid(lambda s: s.modify(6, "RW"))
    s.mid()
    seeds["poll-widen-mid-batch"] = s

    # poll: five entries all readable; after fd 1's event, fd 3 goes and
    # fd 7 comes into the full array, which is compacted mid-batch: the
    # cursor moves with the entries, so fd 1 is not handed out again and
    # fds 2, 4 and 5 still are.
    s = Dispatch(5, "poll")
    s.ops(*[(lambda fd: lambda s: s.register(fd, "R"))(fd) for fd in range(1, 6)])
    k = Enc()
    for _ in range(5):
        bits(k.byte(1), 0)
    s.wait(bytes(k.out))
    s.mid(lambda s: s.unregister(3), lambda s: s.register(7, "R"))
    for _ in range(4):
        s.mid()
    seeds["poll-compact-keeps-cursor"] = s

    # select: a bit for fd 4, not registered at the wait (below nfds = 10);
    # fd 4 registered after fd 1's event: the stale bit must not reach it.
    s = Dispatch(5, "select")
    s.ops(lambda s: s.register(1, "R"), lambda s: s.register(9, "R"))
    k = Enc().byte(1).byte(1)  # fds 1, 9: read
    k.below(1).byte(0).below(4).byte(0)  # fd 4, read
    k.byte(1)  # no raw words
    s.wait(bytes(k.out))
    s.mid(lambda s: s.register(4, "R"))
    s.mid().mid()
    seeds["select-bit-before-register"] = s

    # select: an fd past FD_SETSIZE refused, bits for unregistered fds, a
    # word of all ones, a bit at nfds (8): 65 fds reported. fd 2's interest
    # changes to READ after fd 1 is handled: it gets READ, from the all-ones
    # word. fd 5, unregistered and registered again mid-batch, gets nothing.
    s = Dispatch(5, "select")
    s.ops(lambda s: s.register(1, "R"), lambda s: s.register(2, "W"),
          lambda s: s.register(1030, "RW"), lambda s: s.register(7, "RW"),
          lambda s: s.register(5, "R"))
    k = Enc().byte(3).byte(3).byte(1).byte(3)  # fds 1, 2, 5, 7
    k.below(2).byte(1).below(0).byte(0)  # fd 8 = nfds, read
    k.byte(0).below(100).byte(1)  # fd 100, write
    k.byte(0).below(1).below(0).below(0).u64(-1)  # fds 0..63 readable
    s.wait(bytes(k.out))
    s.mid(lambda s: s.modify(2, "R"))
    s.mid(lambda s: s.unregister(5), lambda s: s.register(5, "R"))
    s.mid().mid()
    seeds["select-past-nfds"] = s

    # Backend failures: register refused (nothing changes), modify refused
    # (the fd is unregistered), Full, invalid events; waits interrupted
    # (after filling the buffer) and retried, interrupted with no time
    # left, failed, empty with time left (waited again: fails), and a closed
    # selector.
    s = Dispatch(1, "epoll")
    s.ops(lambda s: s.register(0, "R", fail=0), lambda s: s.register(0, "R"),
          lambda s: s.modify(0, "W", fail=1), lambda s: s.register(0, "RW"),
          lambda s: s.register(1, "R"), lambda s: s.register(1, "none"),
          lambda s: s.modify(0, "bad4"))
    k = Enc().below(1)
    live(bits(k, 0), 0)
    s.wait(bytes(k.out), eintrs=2, timeout=1)
    s.mid()
    s.ops().wait(bytes(k.out), eintrs=1, timeout=0)
    s.ops().wait(bytes(k.out), fail=0, timeout=2)
    s.ops().wait(b"", timeout=1)
    s.ops(lambda s: s.close(), lambda s: s.register(0, "R"))
    s.wait(b"")
    seeds["backend-errors-eintr-close"] = s

    # Sixteen slots, eight registrations reported 20 times by epoll, plus
    # stray tags: more events than the buffer holds (the first 16 are kept).
    s = Dispatch(16, "epoll")
    s.ops(*[(lambda fd: lambda s: s.register(fd, "RW"))(fd) for fd in range(0, 32, 4)])
    k = Enc().below(25)
    for i in range(20):
        live(bits(k, 2), i % 8)
    for i in range(5):
        raw_tag(bits(k, 0), i << 32 | i)
    s.wait(bytes(k.out))
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
