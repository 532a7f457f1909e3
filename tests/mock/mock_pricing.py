"""The mock's pricing analytics: GET /{version}/{waba_id}?fields=...pricing_analytics...

A route module of tests/mock/cloudapi.py (see its "Route modules").  It
answers what Meta bills, computed from what the mock itself delivered: the
accepted messages of its request log (`mock.accepted`), each

  - delivered at the time its "delivered" webhook says (clock + seq + 1:
    so the mock needs --clock, else it answers Graph error 1);
  - in the country of its recipient, by the longest calling-code prefix of
    fixtures/countries.csv, the table suf reads Meta's countries with
    (+1 809 is DO, not US; COUNTRIES below settles a shared code); a phone
    no code matches is "XX";
  - of the category the webhooks give it (cloudapi.message_category: a
    template is UTILITY, anything else SERVICE);
  - priced from the rate cards given with --pricing-rates (the same CSV
    cards the demo imports: the card in force on the delivery's UTC day,
    the recipient's market from --pricing-markets, longest prefix first, the
    column of the category); a category the card has no rate for ("n/a") is
    free: pricing_type FREE_CUSTOMER_SERVICE, cost 0.

So suf's own estimate and the mock's bill agree on the mock's own traffic.
The data points are grouped by bucket (DAILY: UTC days, shifted by
--pricing-utc-offset hours to play an account whose days are not UTC's;
HALF_HOUR: 1800 s) and by the dimensions asked: COUNTRY (`country`), PHONE
(`phone_number`, the mock's business number), PRICING_CATEGORY,
PRICING_TYPE, TIER (`tier`, "0:MAX" on billable points).  Only deliveries
in [start, end) count.

Strict like Meta: the only query parameter is `fields`; its expression is
read whole: top-level fields currency, id and pricing_analytics; the
latter's modifiers start(UNIX), end(UNIX), granularity(DAILY|HALF_HOUR),
dimensions([...]) and metric_types([...]), brackets optional.  A missing
start, end or granularity, a bad number, start not before end, an unknown
modifier, dimension, metric or granularity is HTTP 400, Graph error 100.

A mock restarted with another --clock (the demo's second night) has lost
what it delivered before; --pricing-earlier CLOCK LOG gives it back: the
accepted messages of LOG, the request log of an earlier run alone, delivered
at CLOCK + seq + 1 as that run's webhooks said.

Switches:
  --credit-line              every data point comes without cost (an account
                             billed through a partner's credit line)
  --pricing-token-error      every pricing request is refused with HTTP 400,
                             code 100, the message quoting the token
"""

import csv
import json
import datetime
import glob
import os
import re
from decimal import Decimal

import cloudapi

HERE = os.path.dirname(os.path.abspath(__file__))

# The country of a calling code several countries share, where the first of
# fixtures/countries.csv is not the one Meta would name (+1 is Canada's
# there, +212 Western Sahara's); every other code is its one country there
# (+1 809 is DO, not US).
COUNTRIES = {"1": "US", "212": "MA"}


def load_countries(path=os.path.join(HERE, "..", "..", "fixtures", "countries.csv")):
    """{calling code: ISO 3166 alpha-2}: the file's, COUNTRIES winning."""
    table = {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            table.setdefault(row["code"], row["country"])
    table.update(COUNTRIES)
    return table


CALLING_CODES = load_countries()
DIMENSIONS = {"COUNTRY": "country", "PHONE": "phone_number", "PRICING_CATEGORY":
              "pricing_category", "PRICING_TYPE": "pricing_type", "TIER": "tier"}
METRICS = {"COST", "VOLUME"}
BUCKETS = {"DAILY": 86400, "HALF_HOUR": 1800}
CARD_COLUMNS = {"UTILITY": "Utility", "SERVICE": "Service"}


def add_arguments(p):
    p.add_argument("--pricing-rates", action="append", metavar="FILE", default=[],
                   help="price deliveries with this rate card, named <CUR>_<YYYY-MM-DD>.csv "
                        "(repeatable; default: fixtures/rates/*.csv)")
    p.add_argument("--pricing-markets", metavar="FILE",
                   default=os.path.join(HERE, "..", "..", "fixtures", "markets.csv"),
                   help="the market of each calling-code prefix (prefix,market,since)")
    p.add_argument("--pricing-utc-offset", type=int, default=0, metavar="HOURS",
                   help="the account's days start at this offset from UTC")
    p.add_argument("--pricing-earlier", nargs=2, action="append", default=[],
                   metavar=("CLOCK", "LOG"),
                   help="also bill the accepted messages of an earlier run of the mock: its "
                        "--clock and its request log (repeatable)")
    p.add_argument("--credit-line", action="store_true",
                   help="pricing analytics without cost (a partner's credit line)")
    p.add_argument("--pricing-token-error", action="store_true",
                   help="refuse pricing requests with code 100 quoting the token")


def load_cards(paths):
    """[(effective date, currency, {market: {column: Decimal or None}})], by date."""
    cards = []
    for path in paths or sorted(glob.glob(os.path.join(HERE, "..", "..", "fixtures", "rates",
                                                       "*.csv"))):
        m = re.fullmatch(r"([A-Z]{3})_(\d{4}-\d{2}-\d{2})\.csv", os.path.basename(path))
        if not m:
            raise SystemExit("--pricing-rates %s: not named <CUR>_<YYYY-MM-DD>.csv" % path)
        rows, header = {}, None
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.reader(f):
                if header is None:
                    if row and row[0] == "Market":
                        header = [h.replace("\n", "") for h in row]
                    continue
                if len(row) != len(header) or not row[0] or row[0].startswith("*"):
                    continue
                rows[row[0]] = {h: (None if v == "n/a" else Decimal(v))
                                for h, v in zip(header[2:], row[2:])}
        cards.append((m.group(2), m.group(1), rows))
    cards.sort()
    return cards


def load_markets(path):
    """{prefix: [(since or "", market)]}"""
    markets = {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            markets.setdefault(row["prefix"], []).append((row["since"] or "", row["market"]))
    for rows in markets.values():
        rows.sort()
    return markets


def longest(table, phone):
    for n in range(min(len(phone), 6), 0, -1):
        if phone[:n] in table:
            return table[phone[:n]]
    return None


def market_of(mock, phone, day):
    rows = longest(mock.pricing_markets, phone) or []
    found = "Other"
    for since, market in rows:
        if since <= day:
            found = market
    return found


def load_earlier(runs):
    """[(delivered, record)] of the accepted messages of earlier runs."""
    out = []
    for clock, path in runs:
        if not clock.isdigit():
            raise SystemExit("--pricing-earlier %s: the clock is not epoch seconds" % clock)
        with open(path, encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                if rec.get("accepted") and rec.get("fault") is None:
                    out.append((int(clock) + rec["seq"] + 1, rec))
    return out


def routes(mock):
    mock.pricing_cards = load_cards(mock.args.pricing_rates)
    mock.pricing_markets = load_markets(mock.args.pricing_markets)
    mock.pricing_earlier = load_earlier(mock.args.pricing_earlier)
    return [("GET", r"/v[0-9.]+/(?P<waba>[0-9]+)", analytics)]


def split_top(text):
    """Splits at the commas outside parentheses and brackets; None when they
    do not balance."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth < 0:
                return None
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts if depth == 0 else None


def parse_fields(text):
    """({field: None or {modifier: value}}, None) or (None, why)."""
    parts = split_top(text)
    if parts is None:
        return None, "unbalanced parentheses in fields"
    out = {}
    for part in parts:
        name, _, rest = part.partition(".")
        if name in ("currency", "id") and not rest:
            out[name] = None
            continue
        if name != "pricing_analytics":
            return None, "Tried accessing nonexisting field (%s)" % name
        mods = {}
        for m in re.finditer(r"\.?([a-z_]+)\(([^()]*)\)", "." + rest):
            mods[m.group(1)] = m.group(2)
        if re.sub(r"\.?([a-z_]+)\(([^()]*)\)", "", "." + rest):
            return None, "cannot read the modifiers of pricing_analytics (%s)" % rest
        out[name] = mods
    return out, None


def values(text):
    """"[A,B]" or "A,B" -> ["A", "B"]."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [v.strip().strip('"') for v in text.split(",") if v.strip()]


def check_modifiers(mods):
    """(start, end, bucket, dims, metrics) or a str saying why not."""
    for key in mods:
        if key not in ("start", "end", "granularity", "dimensions", "metric_types"):
            return "Tried accessing nonexisting field (%s) on pricing_analytics" % key
    for key in ("start", "end", "granularity"):
        if key not in mods:
            return "The parameter %s is required" % key
    if not mods["start"].isdigit() or not mods["end"].isdigit():
        return "Param start and end must be valid unix timestamps"
    start, end = int(mods["start"]), int(mods["end"])
    if start >= end:
        return "Param start must be before end"
    if mods["granularity"] not in BUCKETS:
        return "Param granularity must be one of %s" % ", ".join(sorted(BUCKETS))
    dims = values(mods.get("dimensions", ""))
    bad = [d for d in dims if d not in DIMENSIONS]
    if bad:
        return "Param dimensions[0] must be one of {%s}: %s" % (", ".join(DIMENSIONS), bad[0])
    metrics = values(mods.get("metric_types", "")) or sorted(METRICS)
    bad = [m for m in metrics if m not in METRICS]
    if bad:
        return "Param metric_types must be COST or VOLUME: %s" % bad[0]
    return start, end, BUCKETS[mods["granularity"]], dims, set(metrics)


def price(mock, phone, day, category):
    """(pricing_type, Decimal cost, currency) of one delivery."""
    card = None
    for effective, currency, rows in mock.pricing_cards:
        if effective <= day:
            card = (currency, rows)
    if card is None:
        return "FREE_CUSTOMER_SERVICE", Decimal(0), None
    rate = card[1].get(market_of(mock, phone, day), {}).get(CARD_COLUMNS[category])
    if rate is None:
        return "FREE_CUSTOMER_SERVICE", Decimal(0), card[0]
    return "REGULAR", rate, card[0]


def analytics(mock, req, match):
    a = mock.args
    if match.group("waba") != a.waba_id:
        return mock.graph_error(404, 100, "Unsupported get request. Object with ID '%s' does "
                                "not exist" % match.group("waba"))
    bad = mock.check_params(req, required=("fields",), allowed=("fields",))
    if bad:
        return bad
    if a.pricing_token_error:
        status, headers, body = mock.graph_error(
            400, 100, "(#100) Invalid parameter: access_token %s cannot read pricing "
            "analytics" % mock.token)
        headers["X-Mock-Fault"] = "token_in_error"
        return status, headers, body
    fields, why = parse_fields(req.query["fields"][0])
    if why:
        return mock.graph_error(400, 100, "(#100) " + why)
    reply = {"id": a.waba_id}
    currency = mock.pricing_cards[-1][1] if mock.pricing_cards else "USD"
    if "currency" in fields:
        reply["currency"] = currency
    if "pricing_analytics" in fields:
        got = check_modifiers(fields["pricing_analytics"] or {})
        if isinstance(got, str):
            return mock.graph_error(400, 100, "(#100) " + got)
        if not a.clock:
            return mock.graph_error(500, 1, "the mock prices deliveries with --clock only")
        reply["pricing_analytics"] = {"data": [{"data_points": points(mock, *got)}]}
    return 200, {}, reply


def points(mock, start, end, size, dims, metrics):
    offset = mock.args.pricing_utc_offset * 3600
    with mock.lock:
        accepted = [(mock.now(r["seq"]) + 1, r) for r in mock.accepted if r.get("fault") is None]
    groups = {}
    for delivered, rec in mock.pricing_earlier + accepted:
        if not start <= delivered < end:
            continue
        bucket = (delivered + offset) // size * size - offset
        day = datetime.datetime.fromtimestamp(delivered, datetime.timezone.utc).strftime(
            "%Y-%m-%d")
        to = rec["to"]
        try:
            body = json.loads(rec["body"])
        except ValueError:
            continue
        category = cloudapi.message_category(body).upper()
        kind, cost, _ = price(mock, to, day, category)
        point = {"country": longest(CALLING_CODES, to) or "XX",
                 "phone_number": cloudapi.DISPLAY_PHONE, "pricing_category": category,
                 "pricing_type": kind, "tier": "0:MAX" if kind == "REGULAR" else None}
        key = (bucket,) + tuple((DIMENSIONS[d], point[DIMENSIONS[d]]) for d in dims
                                if point[DIMENSIONS[d]] is not None)
        g = groups.setdefault(key, [0, Decimal(0)])
        g[0] += 1
        g[1] += cost
    out = []
    for key in sorted(groups):
        volume, cost = groups[key]
        p = {"start": key[0], "end": key[0] + size}
        p.update(dict(key[1:]))
        if "VOLUME" in metrics:
            p["volume"] = volume
        if "COST" in metrics and not mock.args.credit_line:
            # a float prints as its shortest text: 0.0042, as Meta writes it
            p["cost"] = float(cost)
        out.append(p)
    return out
