#!/usr/bin/python3
"""receive_client.py: the loopback client of tests/e2e/receive.sh.

Signs webhook bodies the way Meta does (HMAC-SHA256 of the raw body with
the app secret, in X-Hub-Signature-256), sends them to `suf receive`, and
checks the events inbox.  Every network wait is bounded.

  receive_client.py load PORT SECRET COUNT PARALLEL OKFILE [--tap] [--offset N]
      posts COUNT distinct bodies (ids from N), PARALLEL at a time; appends the id of
      each body answered 200 to OKFILE as soon as it is answered
  receive_client.py slow PORT TIMEOUT
      sends half a request and waits; exits 0 when the server closes the
      connection within TIMEOUT + 3 s, 1 otherwise
  receive_client.py hold PORT COUNT SECONDS
      opens COUNT idle connections and keeps them for SECONDS
  receive_client.py chunked PORT SECRET SIZE
      posts a chunked body of SIZE bytes; prints the status, or "closed"
  receive_client.py request PORT METHOD PATH BODY [HEADER...]
      sends one request with exactly the HEADERs given ("Name: value"; no
      Content-Length unless given) and BODY; prints the status, the
      Retry-After header ("-" when absent) and the body, tab-separated, or
      "closed"
  receive_client.py inbox DIR [IDFILE]
      counts the complete lines in DIR's events files (a last line without
      its newline is skipped, as import skips it), checks each is JSON, and
      with IDFILE checks that every id listed there is on disk exactly once
"""
import concurrent.futures
import hashlib
import hmac
import http.client
import json
import os
import socket
import sys
import time


def body_for(i, tap=False):
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}}
    if tap:
        value["contacts"] = [{"profile": {"name": "Asha"}, "wa_id": "4477009%05d" % i}]
        value["messages"] = [{"from": "4477009%05d" % i, "id": "wamid.E2ETAP%08d" % i,
                              "timestamp": "1795485600", "type": "button",
                              "context": {"from": "15550783881", "id": "wamid.U%08d" % i},
                              "button": {"payload": "suf:%d:yes" % i, "text": "Yes, show me"}}]
    else:
        value["statuses"] = [{"id": "wamid.E2E%08d" % i, "status": "delivered",
                              "timestamp": "1795485600", "recipient_id": "4477009%05d" % i,
                              "biz_opaque_callback_data": "suf:%d:u1" % i,
                              "pricing": {"billable": True, "pricing_model": "PMP",
                                          "type": "regular", "category": "utility"}}]
    return json.dumps({"object": "whatsapp_business_account",
                       "entry": [{"id": "102290129340398",
                                  "changes": [{"field": "messages", "value": value}]}]},
                      separators=(",", ":")).encode()


def sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(port, secret, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/webhook", body=body,
                     headers={"Content-Type": "application/json",
                              "X-Hub-Signature-256": sign(secret, body)})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except OSError:
        return None
    finally:
        conn.close()


def cmd_load(port, secret, count, parallel, okfile, tap=False, offset=0):
    out = open(okfile, "a", buffering=1)

    def one(i):
        i += offset
        st = post(port, secret, body_for(i, tap))
        if st == 200:
            out.write("%d\n" % i)
        return st

    with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
        statuses = list(pool.map(one, range(count)))
    out.close()
    ok = sum(1 for s in statuses if s == 200)
    print("load: %d posted, %d answered 200, %d failed" % (count, ok, count - ok))
    return 0


def cmd_slow(port, timeout):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Content-Length: 200\r\n\r\n{\"object\":")
    s.settimeout(timeout + 3)
    t0 = time.monotonic()
    try:
        while True:
            data = s.recv(4096)
            if not data:
                break
    except socket.timeout:
        print("slow: still open after %.1f s" % (time.monotonic() - t0))
        return 1
    except OSError:
        pass
    print("slow: closed by the server after %.1f s" % (time.monotonic() - t0))
    return 0


def cmd_hold(port, count, seconds):
    """Opens COUNT idle connections and keeps them for SECONDS."""
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
    print("hold: %d connections open" % len(socks), flush=True)
    time.sleep(seconds)
    for s in socks:
        s.close()
    return 0


def cmd_chunked(port, secret, size):
    body = b'{"pad":"' + b"x" * (size - 10) + b'"}'
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("POST", "/webhook")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.putheader("X-Hub-Signature-256", sign(secret, body))
        conn.endheaders()
        for k in range(0, len(body), 1000):
            piece = body[k:k + 1000]
            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.send(b"0\r\n\r\n")
        resp = conn.getresponse()
        resp.read()
        print(resp.status)
    except OSError:
        print("closed")
    finally:
        conn.close()
    return 0


def cmd_request(port, method, path, body, headers):
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" % (method, path)
    head += "".join(h + "\r\n" for h in headers) + "\r\n"
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    data = b""
    try:
        s.sendall(head.encode() + body.encode())
        s.shutdown(socket.SHUT_WR)
        while len(data) < 1 << 20:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    finally:
        s.close()
    top, _, rest = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/"):
        print("closed")
        return 0
    retry = "-"
    for h in lines[1:]:
        name, _, value = h.partition(":")
        if name.strip().lower() == "retry-after":
            retry = value.strip()
    print("%s\t%s\t%s" % (lines[0].split()[1], retry, rest.decode("latin-1").rstrip("\n")))
    return 0


def cmd_inbox(folder, idfile=None):
    lines, bad, ids = 0, 0, {}
    for name in sorted(os.listdir(folder)):
        if not name.startswith("events-"):
            continue
        data = open(os.path.join(folder, name), "rb").read()
        complete = data[:data.rfind(b"\n") + 1]
        for line in complete.splitlines():
            lines += 1
            try:
                doc = json.loads(line)
            except ValueError:
                bad += 1
                continue
            for e in doc.get("entry", []):
                for ch in e.get("changes", []):
                    v = ch.get("value", {})
                    for s in v.get("statuses", []) + v.get("messages", []):
                        ids[s["id"]] = ids.get(s["id"], 0) + 1
    print("lines=%d bad=%d" % (lines, bad))
    if bad:
        return 1
    if idfile:
        want = [int(x) for x in open(idfile).read().split()]
        missing = [i for i in want if ids.get("wamid.E2E%08d" % i, 0) == 0]
        twice = [i for i in want if ids.get("wamid.E2E%08d" % i, 0) > 1]
        print("acknowledged=%d missing=%d duplicated=%d" % (len(want), len(missing), len(twice)))
        if missing or twice:
            return 1
    return 0


def main(argv):
    cmd = argv[1]
    if cmd == "load":
        rest = argv[7:]
        offset = int(rest[rest.index("--offset") + 1]) if "--offset" in rest else 0
        return cmd_load(int(argv[2]), argv[3], int(argv[4]), int(argv[5]), argv[6],
                        "--tap" in rest, offset)
    if cmd == "slow":
        return cmd_slow(int(argv[2]), float(argv[3]))
    if cmd == "hold":
        return cmd_hold(int(argv[2]), int(argv[3]), float(argv[4]))
    if cmd == "chunked":
        return cmd_chunked(int(argv[2]), argv[3], int(argv[4]))
    if cmd == "request":
        return cmd_request(int(argv[2]), argv[3], argv[4], argv[5], argv[6:])
    if cmd == "inbox":
        return cmd_inbox(argv[2], argv[3] if len(argv) > 3 else None)
    print("unknown command %r" % cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
