#!/usr/bin/python3
"""badserver.py MODE PORT_FILE LOG: misbehaving HTTP servers for the API
fault tests, on 127.0.0.1 and a port of their own choosing.

  blackhole   accepts every connection and never answers (nor closes)
  oneshot     HTTP/1.1, answers each request with a wamid but closes the
              connection after every response without saying so (no
              "Connection: close"), as a server whose keep-alive timed out

Every request body oneshot answers is logged to LOG, one JSON line each.
"""
import json
import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

mode, port_file, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
seq = [0]


def publish(port):
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.rename(tmp, port_file)


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
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            seq[0] += 1
            n = seq[0]
            with open(log_path, "a") as f:
                f.write(json.dumps({"seq": n, "body": body.decode("utf-8", "replace")}) + "\n")
        out = json.dumps({"messaging_product": "whatsapp",
                          "messages": [{"id": "wamid.ONESHOT%06d" % n}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
        self.wfile.flush()
        self.close_connection = True  # and close, without having said so


server = ThreadingHTTPServer(("127.0.0.1", 0), OneShot)
server.daemon_threads = True
publish(server.server_address[1])
server.serve_forever()
