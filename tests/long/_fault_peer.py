"""A misbehaving HTTP peer for tests/long/net_faults.asy, in python3's standard library only.

Listens on 127.0.0.1 (the port is its first line of stdout, which the runner passes to the
test as PEER_PORT), reads each request's head and then misbehaves as its path says:
  /stall       answers nothing and keeps the connection open
  /reset       resets the connection (RST) without answering
  /bad-status  a status line that is not one
  /bad-header  a header line without a colon
  /drip?n=N    a valid 200 response with an N-byte body, one byte every 10 ms
  /huge-header a header line of 1 MiB
  /upload?port=P&n=N  (as a client) POSTs an N-byte body to 127.0.0.1:P, prints the status
It exits by itself after 600 seconds.
"""
import os
import socket
import struct
import sys
import threading
import time
from urllib.parse import parse_qs, urlparse


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1")


def serve(conn):
    try:
        line = read_head(conn)
        if line is None:
            return
        url = urlparse(line.split()[1])
        q = parse_qs(url.query)
        if url.path == "/stall":
            time.sleep(60)
        elif url.path == "/reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif url.path == "/bad-status":
            conn.sendall(b"HTTP/1.1 abc Not A Status\r\nContent-Length: 0\r\n\r\n")
            time.sleep(5)
        elif url.path == "/bad-header":
            conn.sendall(b"HTTP/1.1 200 OK\r\nThis line has no colon\r\nContent-Length: 0\r\n\r\n")
            time.sleep(5)
        elif url.path == "/huge-header":
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Huge: " + b"h" * (1 << 20) + b"\r\n\r\n")
            time.sleep(5)
        elif url.path == "/drip":
            n = int(q["n"][0])
            head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % n
            for b in [head[i:i + 1] for i in range(len(head))] + [b"d"] * n:
                conn.sendall(b)
                time.sleep(0.01)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(128)
    print(srv.getsockname()[1], flush=True)
    threading.Timer(600, os._exit, args=(0,)).start()
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()
