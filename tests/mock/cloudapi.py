#!/usr/bin/python3
"""A mock of the WhatsApp Cloud API's messages endpoint, for tests and the demo.

It listens on 127.0.0.1 on a port of its own choosing and writes that port to
the file given with --port-file.  It checks the bearer token and the body's
basic shape, answers each accepted message with a unique wamid, records every
request to a JSONL log (never the token), and can write the status webhooks
Meta would send for it (sent, delivered, read, failed; PMP pricing) to an
events JSONL, in Meta's exact webhook envelope, with the message's
biz_opaque_callback_data.

Faults are chosen by the recipient phone's last three digits, so a fixture
decides its own fate:

    last two digits   fault
    51                HTTP 429, Retry-After: 1, code 130429
    52                HTTP 500, code 131000
    53                HTTP 503, an HTML body
    54                stalls (--stall-seconds), then drops the connection
    55                resets the connection without replying
    56                HTTP 200 with a malformed body
    57                HTTP 200 without a wamid
    61..67            HTTP 400 with code 131026, 131047, 131050, 132001,
                      130429, 131056, 131016
    71                accepted, but the webhook says failed (131049)
    anything else     accepted

The third digit from the end says how many requests to that phone fail
before it succeeds: 0 means always.  So ...151 is throttled once, then
accepted; ...061 always fails with 131026.

Each line of the request log is {"seq", "to", "type", "callback", "body"
(the raw request text), "status", "fault", "wamid", "accepted"}.

With --echo-token N (and --token-file) the mock plays a Graph API that
quotes the secret it was given, as token errors (code 190) can: every N-th
message request is refused with HTTP 401, code 190, the token in
error.message and in error.error_data.details (fault "echo_token"), and
every reply carries it in a WWW-Authenticate header.  Each
--echo-secret-file adds the secret in that file (the app secret, the
verify token) to the details and the header.  The request log never holds
any of them.

With --post-events URL (and --app-secret-file) it posts each webhook body
to a receiver instead, signed the way Meta signs them, so the demo can run
`suf receive` between the mock and suf.

The events writers (status_event, envelope, EventsWriter, WebhookPoster,
events_sink) are importable by other test scripts (customer simulation) that
need the same envelope.

Route modules.  Every other Graph endpoint lives in a module of its own,
tests/mock/mock_<name>.py beside this file, loaded at start-up (sorted by
name), so that each endpoint's author edits only their own file.  A module
defines:

    def routes(mock):
        return [(method, path_regex, handler), ...]
    def add_arguments(parser):      # optional: the module's own switches
        parser.add_argument("--...")

`method` is "GET" or "POST"; `path_regex` (a string or a compiled
pattern) must match the whole path, without the query; its named groups
reach the handler as `match`.  A handler is

    handler(mock, req, match) -> (status, headers, body)

with `status` an int, `headers` a dict, and `body` a dict or list (sent as
JSON) or bytes (sent as they are).  `mock` is the server's State: `args`
(every switch, the modules' too), `now(seq)` (the clock), `token`,
`accepted` (the request-log records of accepted messages, in order),
`emit(body)` (writes a webhook body the way message statuses go: to the
events file or posted, signed, to a receiver), `log(rec)`, `lock`, and
`graph_error(status, code, message, ...)` / `check_params(req, required,
allowed)` for Graph's error shape.  `req` has `method`, `path`, `query`
(a dict of lists), `headers`, `body` (bytes) and `json` (parsed, or None).

The dispatcher checks the bearer token first (HTTP 401, code 190) and logs
every module request to the request log ({"method", "path", "status",
"fault"}, never the token; a handler names its fault with an
"X-Mock-Fault" entry in `headers`, which is logged, not sent); a module calls `mock.check_params` to refuse
an unknown or missing query parameter as Meta does: HTTP 400, Graph error
code 100.
"""

import argparse
import glob
import hashlib
import hmac
import importlib.util
import json
import os
import re
import socket
import struct
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DISPLAY_PHONE = "15550001234"

# --- the webhook envelope (importable) ---------------------------------------


def pricing(category, billable=True, kind="regular"):
    """Meta's per-message pricing object (PMP)."""
    return {"billable": billable, "pricing_model": "PMP", "type": kind,
            "category": category}


def status_event(wamid, status, ts, recipient, callback=None, price=None,
                 errors=None):
    """One entry of value.statuses[]."""
    st = {"id": wamid, "status": status, "timestamp": str(int(ts)),
          "recipient_id": recipient}
    if callback:
        st["biz_opaque_callback_data"] = callback
    if price:
        st["pricing"] = price
    if errors:
        st["errors"] = errors
    return st


def error_object(code, title, details):
    return {"code": code, "title": title, "message": title,
            "error_data": {"details": details},
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}


def envelope(waba_id, phone_number_id, statuses=None, messages=None,
             contacts=None):
    """A whole webhook POST body, as Meta sends it."""
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": DISPLAY_PHONE,
                          "phone_number_id": phone_number_id}}
    if contacts:
        value["contacts"] = contacts
    if messages:
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return {"object": "whatsapp_business_account",
            "entry": [{"id": waba_id,
                       "changes": [{"field": "messages", "value": value}]}]}


class EventsWriter:
    """Appends webhook bodies to a JSONL file, one complete line at a time."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def write(self, body):
        line = json.dumps(body, separators=(",", ":")) + "\n"
        with self.lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()


class WebhookPoster:
    """Posts webhook bodies to a receiver, one request each, signed as Meta
    signs them (X-Hub-Signature-256: sha256= the HMAC-SHA256 of the raw body
    with the app secret).  Like Meta, it tries again when a post is refused
    or fails, a bounded number of times, and then gives up loudly."""

    TRIES = 5

    def __init__(self, url, secret_file):
        with open(secret_file, encoding="utf-8") as f:
            self.secret = f.readline().strip().encode()
        self.url = url
        self.posted = 0

    def write(self, body):
        raw = json.dumps(body, separators=(",", ":")).encode()
        sig = "sha256=" + hmac.new(self.secret, raw, hashlib.sha256).hexdigest()
        req = urllib.request.Request(self.url, data=raw, method="POST", headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": sig})
        why = None
        for attempt in range(self.TRIES):
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    r.read()
                    if r.status == 200:
                        self.posted += 1
                        return
                    why = "HTTP %d" % r.status
            except (urllib.error.URLError, OSError) as e:
                why = str(e)
            time.sleep(0.1 * (attempt + 1))
        raise RuntimeError("webhook post to %s failed %d times: %s" % (self.url, self.TRIES, why))


def events_sink(path=None, url=None, secret_file=None):
    """Where webhook bodies go: posted to a receiver, or appended to a file."""
    if url:
        if not secret_file:
            raise SystemExit("posting webhooks needs --app-secret-file")
        return WebhookPoster(url, secret_file)
    return EventsWriter(path) if path else None


def message_category(body):
    """What Meta would bill: suf sends utility templates and session messages."""
    return "utility" if body.get("type") == "template" else "service"


# --- faults --------------------------------------------------------------------

FAULTS = {
    "51": ("throttled", 429, {"Retry-After": "1"}, 130429,
           "(#130429) Rate limit hit", "Cloud API message throughput has been reached."),
    "52": ("server_error", 500, {}, 131000, "Something went wrong",
           "An unknown error occurred."),
    "53": ("unavailable", 503, {}, None, None, None),
    "54": ("stall", None, {}, None, None, None),
    "55": ("reset", None, {}, None, None, None),
    "56": ("malformed", 200, {}, None, None, None),
    "57": ("no_wamid", 200, {}, None, None, None),
    "61": ("e131026", 400, {}, 131026, "Message undeliverable",
           "Unable to deliver message."),
    "62": ("e131047", 400, {}, 131047, "Re-engagement message",
           "More than 24 hours have passed since the recipient last replied."),
    "63": ("e131050", 400, {}, 131050, "Unable to deliver the message",
           "The user has stopped marketing messages from this business."),
    "64": ("e132001", 400, {}, 132001, "Template name does not exist in the translation",
           "template name (x) does not exist in en_US"),
    "65": ("e130429", 400, {}, 130429, "(#130429) Rate limit hit",
           "Cloud API message throughput has been reached."),
    "66": ("e131056", 400, {}, 131056, "(Business Account, Consumer Account) pair rate limit hit",
           "Too many messages sent from this phone number to the same phone number."),
    "67": ("e131016", 400, {}, 131016, "Service unavailable",
           "A service is temporarily unavailable."),
}

SESSION_TYPES = {"text", "image", "video", "document", "interactive", "audio",
                 "sticker", "location", "contacts", "reaction", "template"}


def shape_error(body):
    """Why a body is not a plausible messages request, or None."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    if body.get("messaging_product") != "whatsapp":
        return "messaging_product must be whatsapp"
    to = body.get("to")
    if not isinstance(to, str) or not to.isdigit():
        return "to must be a string of digits"
    kind = body.get("type", "text")
    if kind not in SESSION_TYPES:
        return "unknown message type %r" % kind
    if not isinstance(body.get(kind), dict):
        return "a %s message needs a %r object" % (kind, kind)
    cb = body.get("biz_opaque_callback_data")
    if cb is not None and (not isinstance(cb, str) or len(cb) > 512):
        return "biz_opaque_callback_data must be a string of at most 512 characters"
    return None


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.seq = 0
        self.per_phone = {}
        self.token = None
        if args.token_file:
            with open(args.token_file, encoding="utf-8") as f:
                self.token = f.readline().strip()
        self.echo = []
        if args.echo_token:
            if self.token is None:
                raise SystemExit("--echo-token needs --token-file")
            self.echo = [self.token]
            for path in args.echo_secret_file or []:
                with open(path, encoding="utf-8") as f:
                    self.echo.append(f.readline().strip())
        self.events = events_sink(args.events, args.post_events, args.app_secret_file)
        self.clock = args.clock
        self.accepted = []
        self.routes = []

    def emit(self, body):
        """Writes one webhook body where message statuses go (if anywhere)."""
        if self.events:
            self.events.write(body)

    @staticmethod
    def graph_error(status, code, message, subcode=None, transient=None, details=None,
                    headers=None):
        """A reply in Graph's error shape, for a route handler to return."""
        err = {"message": message, "type": "OAuthException", "code": code,
               "fbtrace_id": "AmockTrace"}
        if subcode is not None:
            err["error_subcode"] = subcode
        if transient is not None:
            err["is_transient"] = transient
        if details is not None:
            err["error_data"] = {"details": details}
        return status, headers or {}, {"error": err}

    def check_params(self, req, required=(), allowed=()):
        """None, or the reply Meta gives to a missing or unknown query
        parameter (HTTP 400, code 100)."""
        for name in req.query:
            if name not in allowed and name not in required:
                return self.graph_error(400, 100, "(#100) Tried accessing nonexisting field "
                                        "(%s)" % name)
        for name in required:
            if name not in req.query:
                return self.graph_error(400, 100, "(#100) The parameter %s is required" % name)
        for name, values in req.query.items():
            if len(values) != 1:
                return self.graph_error(400, 100, "(#100) Parameter %s given twice" % name)
        return None

    def next(self, to):
        with self.lock:
            self.seq += 1
            n = self.per_phone.get(to, 0) + 1
            self.per_phone[to] = n
            return self.seq, n

    def now(self, seq):
        return (self.clock + seq) if self.clock else time.time()

    def log(self, rec):
        """Appends one record to the request log."""
        line = json.dumps(rec, separators=(",", ":"), ensure_ascii=False) + "\n"
        with self.lock, open(self.args.log, "a", encoding="utf-8") as f:
            f.write(line)


def fault_for(to, nth):
    if not to or len(to) < 3 or not to[-3:].isdigit():
        return None
    f = FAULTS.get(to[-2:])
    if f is None and to[-2:] != "71":
        return None
    times = int(to[-3])
    if times and nth > times:
        return None
    return f if f is not None else "webhook_failed"


class Request:
    """What a route handler gets of the HTTP request."""

    def __init__(self, method, raw_path, headers, body):
        url = urllib.parse.urlsplit(raw_path)
        self.method = method
        self.path = url.path
        self.query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None


def load_modules():
    """The route modules beside this file, sorted by name."""
    mods = []
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sorted(glob.glob(os.path.join(here, "mock_*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mods.append(mod)
    return mods


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "mock-cloudapi"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj=None, raw=None, headers=None):
        data = raw if raw is not None else json.dumps(obj).encode()
        echo = self.server.state.echo
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if echo:
            self.send_header("WWW-Authenticate", 'OAuth "Facebook Platform" "invalid_token" '
                             '"Malformed access token %s"' % " ".join(echo))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def api_error(self, status, code, message, details, headers=None):
        obj = {"error": {"message": message, "type": "OAuthException", "code": code,
                         "error_data": {"messaging_product": "whatsapp",
                                        "details": details},
                         "fbtrace_id": "AmockTrace"}}
        self.reply(status, obj, headers=headers)

    def route(self, method, raw):
        """Serves the request through a module's route; False when none
        matches its path."""
        st = self.server.state
        path = urllib.parse.urlsplit(self.path).path
        for m, rx, handler in st.routes:
            match = rx.fullmatch(path) if m == method else None
            if not match:
                continue
            rec = {"seq": None, "to": None, "type": None, "callback": None, "body": None,
                   "status": None, "fault": None, "wamid": None, "accepted": False,
                   "method": method, "path": self.path}
            if st.token is not None and self.headers.get("Authorization") != "Bearer " + st.token:
                status, headers, body = st.graph_error(401, 190, "Invalid OAuth access token")
                rec["fault"] = "bad_token"
            else:
                req = Request(method, self.path, self.headers, raw)
                status, headers, body = handler(st, req, match)
                rec["fault"] = headers.pop("X-Mock-Fault", None)
            rec["status"] = status
            st.log(rec)
            if isinstance(body, (bytes, bytearray)):
                self.reply(status, raw=bytes(body), headers=headers)
            else:
                self.reply(status, body, headers=headers)
            return True
        return False

    def do_GET(self):
        if not self.route("GET", b""):
            self.reply(404, {"error": {"message": "no such endpoint", "code": 100}})

    def do_POST(self):
        st = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.route("POST", raw):
            return None
        text = raw.decode("utf-8", "replace")
        parts = self.path.split("/")
        rec = {"seq": None, "to": None, "type": None, "callback": None, "body": text,
               "status": None, "fault": None, "wamid": None, "accepted": False}
        if len(parts) != 4 or parts[3] != "messages" or parts[2] != st.args.phone_number_id:
            rec["fault"] = "bad_path"
            rec["status"] = 404
            st.log(rec)
            return self.api_error(404, 100, "Unsupported post request", self.path)
        if st.token is not None and self.headers.get("Authorization") != "Bearer " + st.token:
            rec["fault"] = "bad_token"
            rec["status"] = 401
            st.log(rec)
            return self.api_error(401, 190, "Invalid OAuth access token", "bad token")
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        why = shape_error(body)
        if why:
            rec["fault"] = "bad_shape"
            rec["status"] = 400
            st.log(rec)
            return self.api_error(400, 100, "Invalid parameter", why)
        to = body["to"]
        seq, nth = st.next(to)
        rec.update(seq=seq, to=to, type=body.get("type"),
                   callback=body.get("biz_opaque_callback_data"))
        if st.echo and seq % st.args.echo_token == 0:
            rec["fault"] = "echo_token"
            rec["status"] = 401
            st.log(rec)
            return self.api_error(401, 190, "Malformed access token " + st.token,
                                  "the session of %s has expired" % " and ".join(st.echo))
        fault = fault_for(to, nth)
        if fault is None or fault == "webhook_failed":
            return self.accept(st, rec, body, seq, fault)
        name, status, headers, code, message, details = fault
        rec["fault"] = name
        rec["status"] = status
        st.log(rec)
        if name == "stall":
            time.sleep(st.args.stall_seconds)
            self.close_connection = True
            return None
        if name == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            return None
        if name == "unavailable":
            return self.reply(503, raw=b"<html><body>Service Unavailable</body></html>")
        if name == "malformed":
            return self.reply(200, raw=b'{"messaging_product":"whatsapp","messages":[{"id":')
        if name == "no_wamid":
            return self.reply(200, {"messaging_product": "whatsapp",
                                    "contacts": [{"input": to, "wa_id": to}], "messages": []})
        return self.api_error(status, code, message, details, headers=headers)

    def accept(self, st, rec, body, seq, fault):
        wamid = "wamid.MOCK%08d%s" % (seq, os.urandom(4).hex())
        rec.update(status=200, wamid=wamid, accepted=True,
                   fault="webhook_failed" if fault else None)
        st.log(rec)
        with st.lock:
            st.accepted.append(rec)
        # Meta's webhooks follow an accepted message whether or not the
        # client ever reads the reply.
        if st.events:
            write_statuses(st, rec, body, seq, failed=bool(fault))
        if st.args.delay_ms:  # accepted, but the reply is slow: a kill can fall here
            time.sleep(st.args.delay_ms / 1000.0)
        self.reply(200, {"messaging_product": "whatsapp",
                         "contacts": [{"input": rec["to"], "wa_id": rec["to"]}],
                         "messages": [{"id": wamid}]})
        return None


def write_statuses(st, rec, body, seq, failed=False):
    """The webhooks Meta would send for an accepted message."""
    a = st.args
    t = st.now(seq)
    price = pricing(message_category(body))
    to, wamid, cb = rec["to"], rec["wamid"], rec["callback"]
    if failed:
        err = error_object(131049, "This message was not delivered to maintain healthy "
                           "ecosystem engagement.", "Message failed to send.")
        st.events.write(envelope(a.waba_id, a.phone_number_id, statuses=[
            status_event(wamid, "failed", t + 1, to, cb, errors=[err])]))
        return
    st.events.write(envelope(a.waba_id, a.phone_number_id, statuses=[
        status_event(wamid, "sent", t, to, cb, price)]))
    st.events.write(envelope(a.waba_id, a.phone_number_id, statuses=[
        status_event(wamid, "delivered", t + 1, to, cb, price)]))
    if a.read:
        st.events.write(envelope(a.waba_id, a.phone_number_id, statuses=[
            status_event(wamid, "read", t + 2, to, cb)]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True, help="request log (JSONL)")
    p.add_argument("--events", help="write status webhooks here (JSONL)")
    p.add_argument("--post-events", metavar="URL",
                   help="post status webhooks to this receiver instead (signed)")
    p.add_argument("--app-secret-file", help="the app secret that signs posted webhooks")
    p.add_argument("--token-file", help="the bearer token to expect")
    p.add_argument("--phone-number-id", default="1000000001")
    p.add_argument("--waba-id", default="2000000002")
    p.add_argument("--stall-seconds", type=float, default=5.0)
    p.add_argument("--clock", type=int, default=0,
                   help="webhook timestamps start here (epoch seconds) instead of now")
    p.add_argument("--read", action="store_true", help="also write read statuses")
    p.add_argument("--delay-ms", type=int, default=0,
                   help="wait this long between accepting a message and replying")
    p.add_argument("--echo-token", type=int, default=0, metavar="N",
                   help="refuse every N-th message quoting the token (code 190), and "
                        "quote it in a header of every reply")
    p.add_argument("--echo-secret-file", action="append", metavar="FILE",
                   help="with --echo-token, quote this secret too (repeatable)")
    modules = load_modules()
    for mod in modules:
        if hasattr(mod, "add_arguments"):
            mod.add_arguments(p)
    args = p.parse_args(argv)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State(args)
    for mod in modules:
        for method, rx, handler in mod.routes(server.state):
            server.state.routes.append((method, re.compile(rx) if isinstance(rx, str) else rx,
                                        handler))
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(tmp, args.port_file)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
