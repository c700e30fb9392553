"""Echo server the textbook selectors way (as in the Python docs)."""
import selectors
import socket
import sys

sel = selectors.DefaultSelector()


def accept(sock, mask):
    conn, _ = sock.accept()
    conn.setblocking(False)
    sel.register(conn, selectors.EVENT_READ, read)


def read(conn, mask):
    try:
        data = conn.recv(16384)
    except BlockingIOError:
        return
    except OSError:
        data = b""
    if data:
        conn.sendall(data)
    else:
        sel.unregister(conn)
        conn.close()


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
