"""The mock's template creation: POST /{version}/{waba_id}/message_templates.

A route module of tests/mock/cloudapi.py (see its "Route modules").  A
template it creates joins `mock.catalog` (mock_templates.py serves it, and
its `name=` lookup finds it) with status PENDING, and the reply is Meta's:
{"id", "status": "PENDING", "category"}.

Strict like Meta's review, as far as suf's permission template goes: any
query parameter, a body that is not a JSON object, an unknown member, a
name other than lowercase letters, digits and '_', a language that is not
a code, a category other than UTILITY, MARKETING or AUTHENTICATION, a
parameter_format other than POSITIONAL or NAMED, no BODY, a body over 1024
characters, that starts or ends with a variable or has two side by side, or
whose example does not give one value per variable (POSITIONAL:
example.body_text [[...]]), more than 10 quick replies, or a button text
over 25 characters: HTTP 400, Graph error 100.  A name and language it
has already: HTTP 400, code 100, subcode 2388024 (what public clients
report for a duplicate; Meta's reference does not say).

Switches:
  --approve-created          emit an APPROVED status webhook right after a
                             creation (the demo's Meta approves at once)
  --create-reply-lost N      the first N creations are carried out, but the
                             reply is HTTP 503 (is_transient), as when the
                             connection broke after Meta made the template
  --control-port-file FILE   serve a control endpoint on 127.0.0.1 (port
                             written to FILE), without the token, for tests
                             to change a template later:
                             POST /template_status {"name", "language",
                               "event", "reason", "title"}: sets the
                               catalog status and emits the
                               message_template_status_update webhook
                               (other_info {title} when a title is given);
                             POST /template_category {"name", "language",
                               "new_category"[, "notice": true]}: emits
                               template_category_update (the completed
                               change, or with "notice" the 24-hour notice:
                               new_category the current one,
                               correct_category the coming one) and, for a
                               completed one, sets the catalog's category.
Webhooks go where message statuses go (mock.emit), timed by the mock's
clock, 10 seconds apart, in Meta's envelope: an integer
message_template_id, the language as "en-US".
"""

import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = re.compile(r"[a-z0-9_]{1,512}")
LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")
VARIABLE = re.compile(r"\{\{([0-9]+)\}\}")
MEMBERS = {"name", "language", "category", "parameter_format", "components",
           "allow_category_change"}


def add_arguments(p):
    p.add_argument("--approve-created", action="store_true",
                   help="emit an APPROVED webhook right after a template is created")
    p.add_argument("--create-reply-lost", type=int, default=0, metavar="N",
                   help="the first N creations are made, but answered with HTTP 503")
    p.add_argument("--control-port-file", metavar="FILE",
                   help="serve the template control endpoint; its port goes to FILE")


def routes(mock):
    mock.perm_created = 0
    mock.perm_events = 0
    mock.perm_next_id = 1689556908129832
    if not hasattr(mock, "catalog"):
        mock.catalog = []
    if mock.args.control_port_file:
        start_control(mock)
    return [("POST", r"/v[0-9.]+/(?P<waba>[0-9]+)/message_templates", create)]


def bad(mock, message):
    return mock.graph_error(400, 100, "(#100) Invalid parameter: " + message)


def body_problem(text, example):
    """Why Meta's review would refuse this body, or None."""
    if not isinstance(text, str) or not text.strip():
        return "the BODY has no text"
    if len(text) > 1024:
        return "the BODY is longer than 1024 characters"
    found = VARIABLE.findall(text)
    numbers = sorted({int(n) for n in found})
    if numbers != list(range(1, len(numbers) + 1)):
        return "the BODY's variables are not {{1}}..{{n}}"
    stripped = text.strip()
    if VARIABLE.match(stripped) or re.search(r"\{\{[0-9]+\}\}$", stripped):
        return "the BODY starts or ends with a variable"
    if re.search(r"\}\}\s*\{\{", text):
        return "the BODY has two variables side by side"
    if numbers:
        rows = (example or {}).get("body_text") if isinstance(example, dict) else None
        if (not isinstance(rows, list) or len(rows) != 1 or not isinstance(rows[0], list)
                or len(rows[0]) != len(numbers)
                or not all(isinstance(v, str) and v for v in rows[0])):
            return "the BODY's example must give one value per variable (body_text)"
    return None


def template_problem(t):
    """Why Meta would refuse to create this template, or None."""
    if not isinstance(t, dict):
        return "the body is not a JSON object"
    unknown = sorted(set(t) - MEMBERS)
    if unknown:
        return "unknown member %s" % unknown[0]
    if not isinstance(t.get("name"), str) or not NAME.fullmatch(t["name"]):
        return "name must be lowercase letters, digits and underscores"
    if not isinstance(t.get("language"), str) or not LANGUAGE.fullmatch(t["language"]):
        return "language is not a language code"
    if t.get("category") not in ("UTILITY", "MARKETING", "AUTHENTICATION"):
        return "category must be UTILITY, MARKETING or AUTHENTICATION"
    if t.get("parameter_format", "POSITIONAL") not in ("POSITIONAL", "NAMED"):
        return "parameter_format must be POSITIONAL or NAMED"
    comps = t.get("components")
    if not isinstance(comps, list):
        return "components must be a list"
    bodies = [c for c in comps if isinstance(c, dict) and c.get("type") == "BODY"]
    if len(bodies) != 1:
        return "a template needs one BODY"
    why = body_problem(bodies[0].get("text"), bodies[0].get("example"))
    if why:
        return why
    for c in comps:
        if not isinstance(c, dict) or c.get("type") not in ("BODY", "BUTTONS", "HEADER",
                                                            "FOOTER"):
            return "a component of unknown type"
        if c["type"] == "BUTTONS":
            buttons = c.get("buttons")
            if not isinstance(buttons, list) or not 1 <= len(buttons) <= 10:
                return "BUTTONS must hold 1 to 10 buttons"
            for b in buttons:
                if not isinstance(b, dict) or b.get("type") != "QUICK_REPLY":
                    return "only QUICK_REPLY buttons here"
                if not isinstance(b.get("text"), str) or not 1 <= len(b["text"]) <= 25:
                    return "a button text must be 1 to 25 characters"
    return None


def find(mock, name, language):
    for t in mock.catalog:
        if t.get("name") == name and t.get("language") == language:
            return t
    return None


def create(mock, req, match):
    a = mock.args
    if match.group("waba") != a.waba_id:
        return mock.graph_error(404, 100, "Unsupported post request. Object with ID '%s' does "
                                "not exist" % match.group("waba"))
    problem = mock.check_params(req)
    if problem:
        return problem
    t = req.json
    why = template_problem(t)
    if why:
        status, headers, body = bad(mock, why)
        headers["X-Mock-Fault"] = "invalid_template"
        return status, headers, body
    with mock.lock:
        if find(mock, t["name"], t["language"]):
            status, headers, body = mock.graph_error(
                400, 100, "(#100) Content in this language already exists", subcode=2388024)
            headers["X-Mock-Fault"] = "duplicate"
            return status, headers, body
        mock.perm_next_id += 1
        entry = {"id": str(mock.perm_next_id), "name": t["name"], "language": t["language"],
                 "status": "PENDING", "category": t["category"],
                 "parameter_format": t.get("parameter_format", "POSITIONAL"),
                 "components": t["components"]}
        mock.catalog.append(entry)
        mock.perm_created += 1
        lost = mock.perm_created <= a.create_reply_lost
    if a.approve_created:
        set_status(mock, entry, "APPROVED", "NONE", None)
    if lost:
        status, headers, body = mock.graph_error(
            503, 2, "(#2) Service temporarily unavailable", transient=True)
        headers["X-Mock-Fault"] = "reply_lost"
        return status, headers, body
    return 200, {}, {"id": entry["id"], "status": "PENDING", "category": entry["category"]}


def webhook(mock, field, value):
    """Emits one template webhook, 10 s after the previous one."""
    with mock.lock:
        mock.perm_events += 1
        ts = int(mock.now(0)) + 10 * mock.perm_events
    mock.emit({"object": "whatsapp_business_account",
               "entry": [{"id": mock.args.waba_id, "time": ts,
                          "changes": [{"field": field, "value": value}]}]})


def about(entry):
    return {"message_template_id": int(entry["id"]),
            "message_template_name": entry["name"],
            "message_template_language": entry["language"].replace("_", "-")}


def set_status(mock, entry, event, reason, title):
    entry["status"] = "APPROVED" if event == "REINSTATED" else event
    value = dict(event=event, **about(entry))
    value["reason"] = reason
    value["message_template_category"] = entry.get("category")
    if title:
        value["other_info"] = {"title": title, "description": "set by a test"}
    webhook(mock, "message_template_status_update", value)


def set_category(mock, entry, new, notice):
    value = about(entry)
    if notice:
        value.update(new_category=entry.get("category"), correct_category=new,
                     category_update_timestamp=int(mock.now(0)) + 86400)
    else:
        value.update(previous_category=entry.get("category"), new_category=new)
        entry["category"] = new
    webhook(mock, "template_category_update", value)


def start_control(mock):
    class Control(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def answer(self, status, obj):
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            try:
                req = json.loads(self.rfile.read(length) or b"null")
            except ValueError:
                req = None
            if not isinstance(req, dict):
                return self.answer(400, {"error": "not a JSON object"})
            entry = find(mock, req.get("name"), req.get("language"))
            if entry is None:
                return self.answer(404, {"error": "no such template"})
            if self.path == "/template_status" and isinstance(req.get("event"), str):
                set_status(mock, entry, req["event"], req.get("reason", "NONE"),
                           req.get("title"))
            elif self.path == "/template_category" and isinstance(req.get("new_category"), str):
                set_category(mock, entry, req["new_category"], bool(req.get("notice")))
            else:
                return self.answer(400, {"error": "unknown control request"})
            mock.log({"method": "CONTROL", "path": self.path, "status": 200, "fault": None,
                      "body": json.dumps(req)})
            return self.answer(200, {"id": entry["id"], "status": entry["status"],
                                     "category": entry.get("category")})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                     daemon=True).start()
    tmp = mock.args.control_port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(tmp, mock.args.control_port_file)
