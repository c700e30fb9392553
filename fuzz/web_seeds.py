#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/{http_head,ws_frame}/.

Both targets read: one byte choosing the limit (http_head: head limit
4 * b + 1; ws_frame: message limit b % 160), three bytes choosing cut
points, then the stream (fuzz/src/http_head.rs, fuzz/src/ws_frame.rs).

http_head seeds, and where they come from:
- chromium_<version>_{get,ws} and firefox_<version>_{get,ws}, with
  _lan_ variants: captured from Debian's headless Chromium and Firefox ESR
  by scripts/capture_heads.py (run by hand; see there). This script does
  not write them and leaves them alone.
- curl_get, curl_ws: captured from curl 7.88.1 with a socket listener
  (curl_ws with -H for Connection, Upgrade and the Sec-WebSocket-*
  headers), written below.
- safari_ws_handwritten: hand-written in the order and form Safari sends
  a WebSocket upgrade over plain http, since no Safari is available here
  to capture one.
- The rest are made by hand: edge cases and malformed heads.
programs/tests/web.rs (real_request_heads) checks every captured head with
the parser. Run `python3 fuzz/web_seeds.py` after changing this file.
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def crlf(lines):
    return "".join(l + "\r\n" for l in lines).encode() + b"\r\n"


SAFARI_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 "
             "(KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1")
HOST = "192.168.1.1:8080"

HEADS = {
    # Captured: curl -s http://127.0.0.1:PORT/
    "curl_get": b"GET / HTTP/1.1\r\nHost: 127.0.0.1:38129\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
    # Captured: curl with -H for Connection, Upgrade, Sec-WebSocket-Version and -Key.
    "curl_ws": (b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:49667\r\nUser-Agent: curl/7.88.1\r\n"
                b"Accept: */*\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"),
    # Hand-written: no Safari here to capture from.
    "safari_ws_handwritten": crlf([
        "GET /ws HTTP/1.1", "Host: " + HOST, "Origin: http://" + HOST,
        "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==", "Connection: Upgrade", "Upgrade: websocket",
        "Sec-WebSocket-Version: 13", "Sec-WebSocket-Extensions: permessage-deflate",
        "User-Agent: " + SAFARI_UA, "Pragma: no-cache", "Cache-Control: no-cache",
        "Accept-Language: en-GB,en;q=0.9", "Accept-Encoding: gzip, deflate"]),
    "evil_origin": crlf([
        "GET /ws HTTP/1.1", "Host: evil.example", "Origin: http://evil.example",
        "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]),
    "version_8": crlf([
        "GET /ws HTTP/1.1", "Host: 10.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
        "Sec-WebSocket-Version: 8", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]),
    "lf_only_http10": b"GET /?q=1 HTTP/1.0\nUser-Agent: nc\n\n",
    "head_pipelined": (b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET /ws HTTP/1.1\r\nHost: a\r\n\r\n"),
    "early_frame": crlf([
        "GET /ws HTTP/1.1", "Host: 10.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
        "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="])
        + bytes([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]),
    # Accept-Encoding: q-values, a list over two lines, one without gzip.
    "accept_gzip_q": crlf([
        "GET / HTTP/1.1", "Host: 10.0.0.1", "Accept-Encoding: identity;q=1, gzip ; Q=0.5, *;q=0",
        "accept-encoding: br"]),
    "accept_no_gzip": crlf(["HEAD / HTTP/1.1", "Host: 10.0.0.1", "Accept-Encoding: gzip;q=0.000, br"]),
    # Malformed.
    "bad_absolute": b"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
    "bad_obs_fold": b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n",
    "bad_space_colon": b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    "bad_dup_host": b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n",
    "bad_no_host": b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
    "bad_bare_cr": b"GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n",
    "bad_body": b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
    "bad_chunked": b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "bad_http2": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "bad_tls": bytes.fromhex("160301020001000200030300") + b"\r\n\r\n",
    "bad_nul": b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n",
}

for name, head in HEADS.items():
    # Limit 1021, cuts after 5, 5+40, 5+40+200 bytes.
    write("http_head", name, bytes([255, 5, 40, 200]) + head)
# Over the limit: a 4*20+1 = 81-byte limit against a whole upgrade head,
# and a head that never ends.
write("http_head", "too_large_curl_ws", bytes([20, 10, 10, 10]) + HEADS["curl_ws"])
write("http_head", "too_large_endless", bytes([255, 1, 2, 3]) + b"GET / HTTP/1.1\r\nX: " + b"a" * 1100)
write("http_head", "incomplete", bytes([255, 3, 3, 3]) + HEADS["curl_get"][:-2])


# ---------------------------------------------------------------- ws_frame

MASK = bytes([0x37, 0xFA, 0x21, 0x3D])


def frame(b0, payload, mask=MASK, masked=True, length=None):
    """A client frame; `length` forces 16 or 64 for the length encoding."""
    n = len(payload)
    m = 0x80 if masked else 0
    if length == 64 or (length is None and n >= 65536):
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    elif length == 16 or (length is None and n >= 126):
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | n])
    if not masked:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


TEXT, BINARY, CONT, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10
FIN = 0x80


def close(code, reason=b""):
    return frame(FIN | CLOSE, struct.pack(">H", code) + reason)


FRAMES = {
    "rfc_hello": bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]),
    "rfc_pong": bytes([0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]),
    "text_lines": frame(FIN | TEXT, b"/nick phone") + frame(FIN | TEXT, b"hello from a phone")
    + frame(FIN | TEXT, "κόσμε €".encode()),
    # Binary messages are refused (1003) once their header is whole.
    "binary": frame(FIN | BINARY, bytes(range(40))),
    "fragmented": frame(TEXT, b"Hel") + frame(CONT, b"l") + frame(FIN | CONT, b"o"),
    "fragmented_binary": frame(BINARY, b"\x00\xff") + frame(FIN | CONT, b"\x01"),
    "ping_between": frame(TEXT, b"one ") + frame(FIN | PING, b"ping") + frame(FIN | CONT, b"two"),
    "utf8_split": frame(TEXT, "µ".encode()[:1]) + frame(FIN | CONT, "µ".encode()[1:] + b"!"),
    "ping_pong_empty": frame(FIN | PING, b"") + frame(FIN | PONG, b""),
    "ping_125": frame(FIN | PING, b"p" * 125),
    "close_empty": frame(FIN | CLOSE, b""),
    "close_1000": close(1000),
    "close_reason": close(1001, "going away ☂".encode()),
    "close_4000": close(4000, b"app"),
    "len16": frame(FIN | TEXT, b"x" * 150),
    "len16_short": frame(FIN | TEXT, b"short", length=16),
    "len64_short": frame(FIN | TEXT, b"short", length=64),
    "len64_big": frame(FIN | TEXT, b"b" * 300, length=64),
    "all_kinds": frame(FIN | TEXT, b"a") + frame(FIN | PING, b"c") + frame(FIN | PONG, b"d")
    + frame(TEXT, b"e") + frame(FIN | PING, b"") + frame(FIN | CONT, b"f") + close(1000, b"bye"),
    "utf8_bad_in_first_fragment": frame(TEXT, b"ok \xc0\xaf") + frame(FIN | CONT, b"never"),
    # Protocol errors.
    "unmasked_text": frame(FIN | TEXT, b"Hello", masked=False),
    "unmasked_close": frame(FIN | CLOSE, b"\x03\xe8", masked=False),
    "rsv1": frame(FIN | 0x40 | TEXT, b"deflated?"),
    "opcode_3": frame(FIN | 3, b""),
    "opcode_11": frame(FIN | 11, b""),
    "ping_fragmented": frame(PING, b"x"),
    "ping_126": frame(FIN | PING, b"p" * 126),
    "len64_top_bit": bytes([0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1]) + MASK,
    "len64_huge": bytes([0x82, 0xFF, 0x00, 0, 0, 1, 0, 0, 0, 0]) + MASK,
    "cont_first": frame(FIN | CONT, b"x"),
    "text_in_text": frame(TEXT, b"a") + frame(FIN | TEXT, b"b"),
    "close_1_byte": frame(FIN | CLOSE, b"\x03"),
    "close_1005": close(1005),
    "close_999": close(999),
    "close_5000": close(5000),
    "close_bad_utf8": close(1000, b"\xff"),
    "text_bad_utf8": frame(FIN | TEXT, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"),
    "text_cut_utf8": frame(FIN | TEXT, b"ok \xe2\x82"),
    "too_big": frame(TEXT, b"x" * 100) + frame(FIN | CONT, b"y" * 100),
}

for name, stream in FRAMES.items():
    # Message limit 159; cuts after 1, 1+6, 1+6+20 bytes.
    write("ws_frame", name, bytes([159, 1, 6, 20]) + stream)
# A small limit (10) against messages over and under it.
write("ws_frame", "limit_10", bytes([10, 3, 3, 3]) + frame(FIN | TEXT, b"0123456789")
      + frame(TEXT, b"01234") + frame(FIN | CONT, b"567890"))
