"""Echo server written the textbook `selectors` way (DefaultSelector, a
callback in key.data), as in the Python documentation's example, plus what
that example leaves out: a send the socket does not take completely waits
for EVENT_WRITE while reading from that client pauses.

CLI: --bind ADDR:PORT (port 0 = any); the first stdout line is
"listening on ADDR:PORT (python selectors)".
"""
import selectors
import socket
import sys

sel = selectors.DefaultSelector()
pending = {}  # conn -> bytes not yet sent back


def accept(sock, mask):
    conn, _ = sock.accept()
    conn.setblocking(False)
    sel.register(conn, selectors.EVENT_READ, serve)


def close(conn):
    sel.unregister(conn)
    pending.pop(conn, None)
    conn.close()


def serve(conn, mask):
    try:
        if mask & selectors.EVENT_WRITE:
            data = pending.pop(conn)
        else:
            data = conn.recv(16384)
            if not data:
                close(conn)
                return
        sent = conn.send(data)
    except BlockingIOError:
        return
    except OSError:
        close(conn)
        return
    if sent < len(data):
        pending[conn] = data[sent:]
        sel.modify(conn, selectors.EVENT_WRITE, serve)
    elif mask & selectors.EVENT_WRITE:
        sel.modify(conn, selectors.EVENT_READ, serve)


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
