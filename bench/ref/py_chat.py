"""Chat server written the textbook `selectors` way (DefaultSelector, a
callback in key.data): each complete line from a client goes to every other
client as "ip:port: text\n"; "* ip:port joined" / "* ip:port left" notices
go to the others, "* welcome, you are ip:port" to the newcomer. Output
waits in a per-client bytearray (EVENT_WRITE while it is not empty); a
client whose queue passes 1 MiB is dropped.

CLI: --bind ADDR:PORT (port 0 = any); the first stdout line is
"listening on ADDR:PORT (python selectors)".
"""
import selectors
import socket
import sys

MAX_QUEUE = 1 << 20
MAX_LINE = 1024

sel = selectors.DefaultSelector()


class Client:
    __slots__ = ("conn", "nick", "inbuf", "outbuf")

    def __init__(self, conn, nick):
        self.conn, self.nick = conn, nick
        self.inbuf, self.outbuf = bytearray(), bytearray()


clients = {}  # conn -> Client


def accept(sock, mask):
    conn, addr = sock.accept()
    conn.setblocking(False)
    c = Client(conn, ("%s:%d" % addr[:2]).encode())
    clients[conn] = c
    sel.register(conn, selectors.EVENT_READ, serve)
    broadcast(c, b"* %s joined\n" % c.nick)
    deliver(c, b"* welcome, you are %s\n" % c.nick)


def deliver(c, data):
    if c.conn not in clients:
        return
    if len(c.outbuf) + len(data) > MAX_QUEUE:
        drop(c)
        return
    idle = not c.outbuf
    c.outbuf += data
    if idle:
        flush(c)


def flush(c):
    try:
        n = c.conn.send(c.outbuf)
        del c.outbuf[:n]
    except BlockingIOError:
        pass
    except OSError:
        drop(c)
        return
    events = selectors.EVENT_READ | (selectors.EVENT_WRITE if c.outbuf else 0)
    if sel.get_key(c.conn).events != events:
        sel.modify(c.conn, events, serve)


def broadcast(sender, data):
    for c in list(clients.values()):
        if c is not sender:
            deliver(c, data)


def drop(c):
    if clients.pop(c.conn, None) is None:
        return
    sel.unregister(c.conn)
    c.conn.close()
    broadcast(None, b"* %s left\n" % c.nick)


def serve(conn, mask):
    c = clients.get(conn)
    if c is None:  # dropped earlier in this round of events
        return
    if mask & selectors.EVENT_WRITE:
        flush(c)
        if conn not in clients:
            return
    if not mask & selectors.EVENT_READ:
        return
    try:
        data = conn.recv(4096)
    except BlockingIOError:
        return
    except OSError:
        data = b""
    if not data:
        drop(c)
        return
    c.inbuf += data
    *lines, rest = c.inbuf.split(b"\n")
    c.inbuf = bytearray(rest[:MAX_LINE])
    for line in lines:
        broadcast(c, b"%s: %s\n" % (c.nick, line[:MAX_LINE]))


def main():
    bind = sys.argv[sys.argv.index("--bind") + 1] if "--bind" in sys.argv else "127.0.0.1:0"
    host, port = bind.rsplit(":", 1)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    sock.listen(512)
    sock.setblocking(False)
    sel.register(sock, selectors.EVENT_READ, accept)
    print("listening on %s:%d (python selectors)" % sock.getsockname(), flush=True)
    while True:
        for key, mask in sel.select():
            key.data(key.fileobj, mask)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
