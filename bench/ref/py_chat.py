"""Chat server the textbook selectors way: lines relayed as "nick: text"."""
import selectors
import socket
import sys

sel = selectors.DefaultSelector()
clients = {}  # conn -> [nick, inbuf, outbuf]


def send_to(conn, data):
    st = clients.get(conn)
    if st is None:
        return
    st[2] += data
    flush(conn)


def flush(conn):
    st = clients.get(conn)
    if st is None:
        return
    try:
        n = conn.send(st[2])
        del st[2][:n]
    except BlockingIOError:
        pass
    except OSError:
        drop(conn)
        return
    events = selectors.EVENT_READ | (selectors.EVENT_WRITE if st[2] else 0)
    sel.modify(conn, events, client)


def broadcast(sender, data):
    for c in list(clients):
        if c is not sender:
            send_to(c, data)


def drop(conn):
    st = clients.pop(conn, None)
    if st is None:
        return
    sel.unregister(conn)
    conn.close()
    broadcast(None, b"* %s left\n" % st[0])


def accept(sock, mask):
    conn, addr = sock.accept()
    conn.setblocking(False)
    nick = ("%s:%d" % addr).encode()
    clients[conn] = [nick, bytearray(), bytearray()]
    sel.register(conn, selectors.EVENT_READ, client)
    send_to(conn, b"* welcome, you are %s\n" % nick)
    broadcast(conn, b"* %s joined\n" % nick)


def client(conn, mask):
    if mask & selectors.EVENT_WRITE:
        flush(conn)
    if not mask & selectors.EVENT_READ or conn not in clients:
        return
    try:
        data = conn.recv(4096)
    except BlockingIOError:
        return
    except OSError:
        data = b""
    if not data:
        drop(conn)
        return
    st = clients[conn]
    st[1] += data
    while b"\n" in st[1]:
        line, _, rest = bytes(st[1]).partition(b"\n")
        st[1] = bytearray(rest)
        broadcast(conn, st[0] + b": " + line + b"\n")


def main():
    bind = sys.argv[sys.argv.index("--bind") + 1] if "--bind" in sys.argv else "127.0.0.1:0"
    host, port = bind.rsplit(":", 1)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    sock.listen(512)
    sock.setblocking(False)
    sel.register(sock, selectors.EVENT_READ, accept)
    print("listening on %s:%d (python)" % sock.getsockname(), flush=True)
    while True:
        for key, mask in sel.select():
            key.data(key.fileobj, mask)


main()
