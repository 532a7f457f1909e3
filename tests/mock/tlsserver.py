#!/usr/bin/python3
"""tlsserver.py CERT KEY PORT_FILE LOG: an HTTPS server on 127.0.0.1 with a
self-signed certificate.  A client that verifies certificates must refuse
it; every HTTP request that does get through is logged to LOG (so a test
can prove that none did)."""
import http.server
import os
import ssl
import sys

cert, key, port_file, log = sys.argv[1:5]


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n)
        with open(log, "ab") as f:
            f.write(body + b"\n")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"messages":[{"id":"wamid.TLS"}]}')


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
tmp = port_file + ".tmp"
with open(tmp, "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(tmp, port_file)
srv.serve_forever()
