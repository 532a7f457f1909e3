"""The mock's template catalog: GET /{version}/{waba_id}/message_templates.

A route module of tests/mock/cloudapi.py (see its "Route modules").  It
serves the catalog given with --catalog (files of Meta's catalog pages:
their "data" entries, in order) plus whatever other modules add to
`mock.catalog` at run time, in pages of `limit` entries (default 25, at most
1000), with opaque cursors (base64 of the start index) and, like Meta, a
`paging.next` URL only while more entries remain; the last page still
carries `cursors.after`.  The `next` URL points at graph.facebook.com, as
Meta's does: a client that followed it instead of building its own request
would leave the mock.

A mock restarted (the demo's second night) would forget the templates
other modules created; with --catalog-state FILE the catalog outlives it:
read from FILE when FILE exists (instead of --catalog), and written to FILE,
whole, each time a page is served.

Strict like Meta: a query parameter other than fields, limit, after,
before and name, a field it does not know, a limit out of range or a
cursor it never gave is HTTP 400, Graph error 100.

Faults, by page number (1 = the first page):
  --templates-loop            page 2 gives page 1's cursor again
  --templates-429-at N        the first request for page N gets HTTP 429,
                              Retry-After: 1, code 4, is_transient
  --templates-malformed-at N  page N is a JSON object without a data array
  --templates-token-error-at N  page N is refused with HTTP 401, code 190,
                              quoting the token (message and details)
"""

import base64
import json
import os

FIELDS = {"id", "name", "language", "status", "category", "parameter_format", "components",
          "rejected_reason", "quality_score", "previous_category", "correct_category",
          "sub_category", "last_updated_time", "library_template_name"}
DEFAULT_FIELDS = ["category", "components", "id", "language", "name", "status"]


def add_arguments(p):
    p.add_argument("--catalog", action="append", metavar="FILE", default=[],
                   help="serve the templates of this catalog page file (repeatable)")
    p.add_argument("--catalog-state", metavar="FILE",
                   help="keep the catalog in FILE across restarts: read at start when it "
                        "exists, written each time a page is served")
    p.add_argument("--templates-loop", action="store_true",
                   help="catalog page 2 repeats page 1's cursor")
    p.add_argument("--templates-429-at", type=int, default=0, metavar="N",
                   help="the first request for catalog page N gets HTTP 429")
    p.add_argument("--templates-malformed-at", type=int, default=0, metavar="N",
                   help="catalog page N has no data array")
    p.add_argument("--templates-token-error-at", type=int, default=0, metavar="N",
                   help="catalog page N is a code 190 error quoting the token")


def cursor(index):
    return base64.b64encode(("idx:%d" % index).encode()).decode()


def index_of(text):
    try:
        kind, n = base64.b64decode(text.encode(), validate=True).decode().split(":")
        if kind == "idx" and n.isdigit():
            return int(n)
    except (ValueError, UnicodeDecodeError):
        pass
    return None


def routes(mock):
    mock.catalog = []
    state = mock.args.catalog_state
    for path in [state] if state and os.path.exists(state) else mock.args.catalog:
        with open(path, encoding="utf-8") as f:
            mock.catalog.extend(json.load(f)["data"])
    mock.catalog_requests = {}
    return [("GET", r"/v[0-9.]+/(?P<waba>[0-9]+)/message_templates", catalog_page)]


def catalog_page(mock, req, match):
    a = mock.args
    if match.group("waba") != a.waba_id:
        return mock.graph_error(404, 100, "Unsupported get request. Object with ID '%s' does "
                                "not exist" % match.group("waba"))
    bad = mock.check_params(req, allowed=("fields", "limit", "after", "before", "name"))
    if bad:
        return bad
    q = {k: v[0] for k, v in req.query.items()}
    fields = q.get("fields", ",".join(DEFAULT_FIELDS)).split(",")
    unknown = [f for f in fields if f not in FIELDS]
    if unknown:
        return mock.graph_error(400, 100, "(#100) Tried accessing nonexisting field (%s)"
                                % unknown[0])
    limit = q.get("limit", "25")
    if not limit.isdigit() or not 1 <= int(limit) <= 1000:
        return mock.graph_error(400, 100, "(#100) Param limit must be a number from 1 to 1000")
    limit = int(limit)
    start = 0
    if "after" in q:
        start = index_of(q["after"])
        if start is None:
            return mock.graph_error(400, 100, "(#100) Invalid cursor")
    entries = [t for t in mock.catalog if "name" not in q or t.get("name") == q["name"]]
    page = start // limit + 1
    with mock.lock:
        seen = mock.catalog_requests[page] = mock.catalog_requests.get(page, 0) + 1
    if page == a.templates_token_error_at:
        status, headers, body = mock.graph_error(
            401, 190, "Malformed access token %s" % mock.token, subcode=463,
            details="the session of %s has expired" % mock.token)
        headers["X-Mock-Fault"] = "token_error"
        return status, headers, body
    if page == a.templates_429_at and seen == 1:
        status, headers, body = mock.graph_error(
            429, 4, "(#4) Application request limit reached", subcode=2446079, transient=True,
            headers={"Retry-After": "1"})
        headers["X-Mock-Fault"] = "throttled"
        return status, headers, body
    end = min(start + limit, len(entries))
    data = [{k: t[k] for k in fields if k in t} for t in entries[start:end]]
    after = cursor(end)
    if a.templates_loop and page == 2:
        after = cursor(limit)  # page 1's cursor, again
    paging = {"cursors": {"before": cursor(start), "after": after}}
    if end < len(entries):
        paging["next"] = ("https://graph.facebook.com/%s/%s/message_templates?limit=%d&after=%s"
                          % (req.path.split("/")[1], a.waba_id, limit, after))
    if a.catalog_state:
        with mock.lock:
            text = json.dumps({"data": mock.catalog})
        with open(a.catalog_state + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(a.catalog_state + ".tmp", a.catalog_state)
    if page == a.templates_malformed_at:
        return 200, {"X-Mock-Fault": "malformed"}, {"data": "not a list", "paging": paging}
    return 200, {}, {"data": data, "paging": paging}
