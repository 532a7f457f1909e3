#!/usr/bin/python3
"""badserver.py MODE PORT_FILE LOG: misbehaving HTTP servers for the API
fault tests, on 127.0.0.1 and a port of their own choosing.

  blackhole   accepts every connection and never answers (nor closes)
  oneshot     HTTP/1.1, answers each request with a wamid but closes the
              connection after every response without saying so (no
              "Connection: close"), as a server whose keep-alive timed out
  redirect    answers each request with 301, 302, 307 and 308 in turn, its
              Location the same API path on another port of this machine:
              the trap, which answers like oneshot and logs every
              connection to LOG as {"trap": ...} (its port is written to
              PORT_FILE.trap)
  trap        only the trap, on the port in PORT_FILE: a proxy that
              nothing may reach

Every request body oneshot and redirect answer is logged to LOG, one JSON
line each.
"""
import json
import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

mode, port_file, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.RLock()
seq = [0]


def publish(port):
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.rename(tmp, port_file)


def log(rec):
    with lock:
        with open(log_path, "a") as f:
            f.write(json.dumps(rec) + "\n")


def take(handler):
    """Reads a request's body, numbers it and logs it; returns its number."""
    body = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
    with lock:
        seq[0] += 1
        log({"seq": seq[0], "body": body.decode("utf-8", "replace")})
        return seq[0]


class Trap(BaseHTTPRequestHandler):
    """Logs whatever reaches it: a request here was a redirect followed, or
    a proxy used."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle_one_request(self):
        log({"trap": self.client_address[1]})
        super().handle_one_request()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        log({"trap": self.requestline, "body": body.decode("utf-8", "replace"),
             "authorization": "Authorization" in self.headers})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_CONNECT = do_POST


def start_trap(path):
    trap = ThreadingHTTPServer(("127.0.0.1", 0), Trap)
    trap.daemon_threads = True
    threading.Thread(target=trap.serve_forever, daemon=True).start()
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(trap.server_address[1]))
    os.rename(tmp, path)
    return trap.server_address[1]


if mode == "trap":
    start_trap(port_file)
    threading.Event().wait()

if mode == "blackhole":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(512)
    publish(s.getsockname()[1])
    held = []
    while True:
        c, _ = s.accept()
        held.append(c)  # keep it open, say nothing

class OneShot(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = take(self)
        out = json.dumps({"messaging_product": "whatsapp",
                          "messages": [{"id": "wamid.ONESHOT%06d" % n}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
        self.wfile.flush()
        self.close_connection = True  # and close, without having said so


class Redirect(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    codes = (301, 302, 307, 308)

    def log_message(self, *a):
        pass

    def do_POST(self):
        code = self.codes[take(self) % len(self.codes)]
        self.send_response(code)
        self.send_header("Location", "http://127.0.0.1:%d%s" % (trap_port, self.path))
        self.send_header("Content-Length", "0")
        self.end_headers()


if mode == "redirect":
    trap_port = start_trap(port_file + ".trap")
server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect if mode == "redirect" else OneShot)
server.daemon_threads = True
publish(server.server_address[1])
server.serve_forever()
