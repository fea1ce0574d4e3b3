"""A small HTTP(S) peer for the http tests, in python3's standard library only.

Started by tests/run-scripts for a test that says `# peer: python3 _peer.py [--tls]`: it
listens on a free port of 127.0.0.1, prints that port on its first line of stdout (the
runner passes it to the test as PEER_PORT), and exits by itself after 60 seconds.

Endpoints: /delay?s=SECONDS, /big (1 MiB), /chunked, /eof (a body without a length, ended
by closing), /reset (a body cut short by a TCP reset), /close (closes without answering), /garbled (a status line that is not one), /json, /status/CODE, /redirect/N, /headers
(the request headers as JSON), /conns (how many connections were accepted so far).
--tls serves HTTPS with a self-signed certificate made at start with the openssl command.
"""
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

CONNS = [0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        CONNS[0] += 1

    def send_body(self, body, ctype="text/plain; charset=utf-8", status=200, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        q = parse_qs(url.query)
        parts = url.path.strip("/").split("/")
        if parts[0] == "delay":
            time.sleep(float(q.get("s", ["0.5"])[0]))
            self.send_body(b"done")
        elif parts[0] == "big":
            self.send_body(bytes(range(256)) * 4096, "application/octet-stream")
        elif parts[0] == "chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(5):
                chunk = f"chunk {i}\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
                time.sleep(0.01)
            self.wfile.write(b"0\r\n\r\n")
        elif parts[0] == "reset":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"x" * 1000)
            self.wfile.flush()
            time.sleep(0.05)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif parts[0] == "eof":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until the end")
            self.wfile.flush()
            self.close_connection = True
        elif parts[0] == "garbled":
            self.wfile.write(b"HTTP/1.1 abc Not A Status\r\nContent-Length: 0\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True
        elif parts[0] == "close":
            self.connection.close()
            self.close_connection = True
        elif parts[0] == "json":
            self.send_body(json.dumps({"ok": True, "items": [1, 2, 3]}).encode(),
                           "application/json")
        elif parts[0] == "status":
            code = int(parts[1])
            self.send_body(f"status {code}".encode(), status=code)
        elif parts[0] == "redirect":
            n = int(parts[1])
            target = f"/redirect/{n - 1}" if n > 1 else "/json"
            self.send_body(b"", status=302, extra=[("Location", target)])
        elif parts[0] == "headers":
            self.send_body(json.dumps(dict(self.headers.items())).encode(), "application/json")
        elif parts[0] == "conns":
            self.send_body(str(CONNS[0]).encode())
        else:
            self.send_body(b"not found", status=404)

    do_HEAD = do_GET

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        self.send_body(body, self.headers.get("Content-Type", "application/octet-stream"))


def tls_context(folder):
    key, cert = os.path.join(folder, "key.pem"), os.path.join(folder, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with tempfile.TemporaryDirectory() as folder:
        if "--tls" in sys.argv:
            server.socket = tls_context(folder).wrap_socket(server.socket, server_side=True)
        print(server.server_address[1], flush=True)
        threading.Timer(60, os._exit, args=(0,)).start()
        server.serve_forever()


main()
