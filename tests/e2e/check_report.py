#!/usr/bin/python3
"""check_report.py: builds a report test store and checks the workbooks.

  check_report.py gen OUT.sql            SQL for campaigns, attempts, recipients,
                                         fallbacks and sends (fed to sqlite3)
  check_report.py check FIXTURES REPORTS NOW [--policy utility,marketing,per_conversion]
                                         every figure of the workbooks against
                                         values computed here, from the fixtures
  check_report.py pipeline FIXTURES DB REPORTS NOW
                                         workbooks after the real import and plan
  check_report.py same REPORTS_A REPORTS_B
                                         two runs gave the same cell values
  check_report.py split REPORTS ROWS     a campaign of ROWS fallbacks continued on
                                         'Fallbacks (2)'... (read from the XML parts)
  check_report.py csv REPORTS            every workbook has its CSV folder, and each
                                         CSV file equals its sheet, cell for cell

Expected values are computed here from the fixture rate cards and market map
with Decimal arithmetic, independently of suf's C code: `check` covers every
sheet, the Excluded recipients and Waiting recipients lists (with the time
each becomes eligible) and the phones with no market; `csv` reads each CSV
file back and compares it with its sheet's cached values.
"""
import csv
import datetime as dt
import hashlib
import io
import os
import random
import re
import sys
import zipfile
from decimal import Decimal

NOW = "2026-11-25T02:00:00Z"
CATS = ["marketing", "utility", "authentication", "authentication_international", "service"]
REASONS = ["fallback_off", "campaign_expired", "unknown_template", "not_marketing",
           "unsupported_template", "opted_out", "undeliverable", "ineligible_error",
           "invalid_phone", "missing_content"]
STATES = ["pending", "utility_sent", "utility_delivered", "utility_failed", "consented",
          "declined", "no_response", "session_sent", "converted", "session_failed",
          "window_expired", "opted_out", "failed"]
PHONES = ["9198100", "4477009", "6281200", "5511900", "1415555", "1809555", "1876555",
          "8801700", "6140000", "9996543", "7701234", "7495123", "2348012", "9647801",
          "3531234"]
WEIRD = ["../../etc/x", "a/b", "L" * 300]
EVIL_TEMPLATE = '=HYPERLINK("http://evil.example/","click")'


def ts(s):
    return int(dt.datetime.strptime(s, "%Y-%m-%d %H:%M").replace(tzinfo=dt.timezone.utc).timestamp())


def day(t):
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d")


def q(v):
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


# --- the generated store ------------------------------------------------------

def gen_campaign(rnd, cid, name, template, n, fid0, sid0):
    """Rows for one campaign: attempts, recipients, fallbacks, sends."""
    attempts, recipients, fallbacks, sends = [], [], [], []
    sid = sid0
    used = set()
    for i in range(n):
        phone = rnd.choice(PHONES) + "%05d" % rnd.randrange(100000)
        while phone in used:
            phone = rnd.choice(PHONES) + "%05d" % rnd.randrange(100000)
        used.add(phone)
        early = rnd.random() < 0.25  # September: the July card, free service
        base = ts("2026-09-14 10:00") if early else ts("2026-11-20 10:00")
        base += rnd.randrange(0, 3 * 86400)
        kind = rnd.choice(["delivered", "recovered", "in_flight", "awaiting", "excluded",
                           "excluded2", "fallback", "fallback", "fallback"])
        mid = "wamid.%s.%d" % (re.sub(r"[^A-Za-z0-9]", "", cid)[:10], i)
        if kind == "delivered":
            attempts.append((cid, mid + ".1", phone, template, "delivered" if i % 2 else "read", 1, base, name))
            recipients.append((cid, phone, "delivered", None, 1))
            continue
        attempts.append((cid, mid + ".1", phone, template, "failed", 1, base, name))
        if kind == "recovered":
            attempts.append((cid, mid + ".2", phone, template, "read", 2, base + 86400, name))
            recipients.append((cid, phone, "recovered_by_retry", None, 2))
            continue
        if kind == "in_flight":
            attempts.append((cid, mid + ".2", phone, template, "sent", 2, base + 86400, name))
            recipients.append((cid, phone, "in_flight", None, 2))
            continue
        if kind == "awaiting":
            recipients.append((cid, phone, "awaiting_retries", None, 1))
            continue
        if kind == "excluded":
            recipients.append((cid, phone, "excluded", rnd.choice(REASONS[:7]), 1))
            continue
        if kind == "excluded2":
            recipients.append((cid, phone, "excluded:" + rnd.choice(REASONS[5:]), None, 1))
            continue
        recipients.append((cid, phone, "fallback", None, 1))
        fid = fid0 + len(fallbacks)
        scen = "S%d" % rnd.randrange(1, 9)
        state = rnd.choice(STATES)
        t = base + 3600
        f = {"id": fid, "campaign_id": cid, "phone": phone, "template_name": template,
             "scenario": scen, "state": state, "created_at": t, "state_at": t + 7200}
        order = ["utility_sent", "utility_delivered", "consented", "session_sent", "converted"]
        reached = {"pending": 0, "failed": 0, "utility_sent": 1, "utility_failed": 1,
                   "utility_delivered": 2, "declined": 2, "no_response": 2, "opted_out": 2,
                   "consented": 3, "window_expired": 3, "session_sent": 4, "session_failed": 4,
                   "converted": 5}[state]
        for k, col in enumerate(order):
            f[col + "_at" if col != "utility_sent" else "utility_sent_at"] = None
        f["utility_sent_at"] = t + 60 if reached >= 1 else None
        f["utility_delivered_at"] = t + 120 if reached >= 2 else None
        f["consented_at"] = t + 600 if reached >= 3 else None
        f["session_sent_at"] = t + 660 if reached >= 4 else None
        f["converted_at"] = t + 720 if reached >= 5 else None
        f["declined_at"] = t + 600 if state == "declined" else None
        fallbacks.append(f)
        # the utility message
        if reached >= 1:
            delivery = "failed" if state == "utility_failed" else (
                rnd.choice(["delivered", "read"]) if reached >= 2 else "sent")
            priced = rnd.random() < 0.5
            dat = t + 120 if delivery in ("delivered", "read") else None
            s = {"id": sid, "fallback_id": fid, "kind": "u", "part": 1, "n": 1, "state": "sent",
                 "delivery": delivery, "delivered_at": dat if delivery == "delivered" else None,
                 "read_at": dat if delivery == "read" else None, "sent_at": t + 60,
                 "resend_of": None,
                 "pricing_billable": 1 if priced and dat else None,
                 "pricing_category": "utility" if priced and dat else None}
            sends.append(s)
            sid += 1
            if rnd.random() < 0.08 and dat:  # an unknown outcome resent: billed twice
                s2 = dict(s, id=sid, n=2, resend_of=s["id"], pricing_billable=None,
                          pricing_category=None)
                sends.append(s2)
                sid += 1
        # the session content
        if reached >= 4:
            parts = 2 if scen == "S8" else 1
            for p in range(1, parts + 1):
                if state == "converted":
                    delivery = "delivered"
                elif state == "session_failed":
                    delivery = "failed"
                else:
                    delivery = "delivered" if p == 1 else "sent"
                dat = t + 700 + p if delivery == "delivered" else None
                free = rnd.random() < 0.3
                priced = rnd.random() < 0.5
                sends.append({"id": sid, "fallback_id": fid, "kind": "s", "part": p, "n": p,
                              "state": "sent", "delivery": delivery, "delivered_at": dat,
                              "read_at": None, "sent_at": t + 660 + p, "resend_of": None,
                              "pricing_billable": (0 if free else 1) if priced and dat else None,
                              "pricing_category": ("service" if free else "service") if priced and dat else None})
                sid += 1
    return attempts, recipients, fallbacks, sends


def s8_not_converted(cid, name, template, fid, sid):
    """Rows for an S8 fallback whose first session part was delivered and
    whose second failed: not a conversion, so per_conversion bills nothing
    for its session, while Meta's view counts the delivered part."""
    phone = "919800000061"
    t = ts("2026-11-21 10:00")
    attempts = [(cid, "wamid.s8partial.1", phone, template, "failed", 1, t - 86400, name)]
    recipients = [(cid, phone, "fallback", None, 1)]
    fallbacks = [{"id": fid, "campaign_id": cid, "phone": phone, "template_name": template,
                  "scenario": "S8", "state": "session_failed", "created_at": t,
                  "state_at": t + 900, "utility_sent_at": t + 60,
                  "utility_delivered_at": t + 120, "consented_at": t + 600,
                  "declined_at": None, "session_sent_at": t + 660, "converted_at": None}]
    common = {"fallback_id": fid, "state": "sent", "read_at": None, "resend_of": None}
    sends = [dict(common, id=sid, kind="u", part=1, n=1, delivery="delivered",
                  delivered_at=t + 120, sent_at=t + 60, pricing_billable=1,
                  pricing_category="utility"),
             dict(common, id=sid + 1, kind="s", part=1, n=1, delivery="delivered",
                  delivered_at=t + 700, sent_at=t + 661, pricing_billable=1,
                  pricing_category="service"),
             dict(common, id=sid + 2, kind="s", part=2, n=2, delivery="failed",
                  delivered_at=None, sent_at=t + 662, pricing_billable=None,
                  pricing_category=None)]
    return attempts, recipients, fallbacks, sends


def generate():
    rnd = random.Random(20261125)
    out = {"attempts": [], "recipients": [], "fallbacks": [], "sends": [], "campaigns": []}
    fid, sid = 1, 1
    specs = [("camp_a", "Winter sale wave 1", "winter_sale", 400)]
    specs += [(w, "weird %d" % k, EVIL_TEMPLATE, 12) for k, w in enumerate(WEIRD)]
    for cid, name, tmpl, n in specs:
        a, r, f, s = gen_campaign(rnd, cid, name, tmpl, n, fid, sid)
        if cid == "camp_a":
            extra = s8_not_converted(cid, name, tmpl, fid + len(f), sid + len(s))
            a, r, f, s = a + extra[0], r + extra[1], f + extra[2], s + extra[3]
        out["attempts"] += a
        out["recipients"] += r
        out["fallbacks"] += f
        out["sends"] += s
        out["campaigns"].append((cid, name))
        fid += len(f)
        sid += len(s)
    return out


def emit_sql(path):
    g = generate()
    lines = ["BEGIN;",
             "INSERT INTO templates (name, language, status, category, json) VALUES "
             "('winter_sale', 'en_US', 'APPROVED', 'MARKETING', '{}');",
             "INSERT INTO templates (name, language, status, category, json) VALUES "
             "(%s, 'en_US', 'APPROVED', 'MARKETING', '{}');" % q(EVIL_TEMPLATE)]
    for cid, name in g["campaigns"]:
        lines.append("INSERT INTO campaigns (campaign_id, name) VALUES (%s, %s);" % (q(cid), q(name)))
    for i, a in enumerate(g["attempts"], 1):
        lines.append("INSERT INTO attempts (id, campaign_id, message_id, phone, template_name, "
                     "template_language, status, attempt, sent_at, campaign_name) VALUES "
                     "(%d, %s, %s, %s, %s, 'en_US', %s, %d, %d, %s);"
                     % (i, q(a[0]), q(a[1]), q(a[2]), q(a[3]), q(a[4]), a[5], a[6], q(a[7])))
    for r in g["recipients"]:
        lines.append("INSERT OR IGNORE INTO recipients (campaign_id, phone, outcome, reason, attempts) "
                     "VALUES (%s, %s, %s, %s, %d);" % (q(r[0]), q(r[1]), q(r[2]), q(r[3]), r[4]))
    for f in g["fallbacks"]:
        lines.append("INSERT INTO fallbacks (id, campaign_id, phone, attempt_id, template_name, "
                     "template_language, scenario, state, state_at, created_at, utility_sent_at, "
                     "utility_delivered_at, consented_at, declined_at, session_sent_at, "
                     "converted_at) VALUES (%d, %s, %s, 0, %s, 'en_US', %s, %s, %d, %d, %s, %s, "
                     "%s, %s, %s, %s);"
                     % (f["id"], q(f["campaign_id"]), q(f["phone"]), q(f["template_name"]),
                        q(f["scenario"]), q(f["state"]), f["state_at"], f["created_at"],
                        q(f["utility_sent_at"]), q(f["utility_delivered_at"]),
                        q(f["consented_at"]), q(f["declined_at"]), q(f["session_sent_at"]),
                        q(f["converted_at"])))
    for s in g["sends"]:
        lines.append("INSERT INTO sends (id, fallback_id, kind, part, n, callback, body, state, "
                     "delivery, delivered_at, read_at, sent_at, resend_of, pricing_billable, "
                     "pricing_category) VALUES (%d, %d, %s, %d, %d, %s, '{}', %s, %s, %s, %s, "
                     "%s, %s, %s, %s);"
                     % (s["id"], s["fallback_id"], q(s["kind"]), s["part"], s["n"],
                        q("suf:%d:%s%d" % (s["fallback_id"], s["kind"], s["n"])), q(s["state"]),
                        q(s["delivery"]), q(s["delivered_at"]), q(s["read_at"]), q(s["sent_at"]),
                        q(s["resend_of"]), q(s["pricing_billable"]), q(s["pricing_category"])))
    # an id no C string can hold: the report must skip it and stay inside its folder
    lines.append("INSERT INTO recipients (campaign_id, phone, outcome, attempts) VALUES "
                 "('nul' || char(0) || '/../../escaped', '919800000000', 'delivered', 1);")
    lines.append("COMMIT;")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


# --- independent costing ------------------------------------------------------

def fold(h):
    h = h.split("(")[0]
    return re.sub(r"[^a-z0-9]", "", h.lower())


def load_card(path):
    cols = {"market": "market", "currency": "currency", "marketing": "marketing",
            "utility": "utility", "authentication": "authentication",
            "authenticationinternational": "authentication_international", "service": "service"}
    rates, header = {}, None
    with open(path, newline="") as fh:
        for row in csv.reader(fh):
            if header is None:
                if row and fold(row[0]) == "market":
                    header = [cols.get(fold(h)) for h in row]
                continue
            cells = dict(zip(header, row))
            vals = {c: cells.get(c, "").strip() for c in CATS}
            if all(v == "" for v in vals.values()):
                continue
            rates[" ".join(cells["market"].split())] = {
                c: (None if v.lower() in ("", "n/a") else Decimal(v)) for c, v in vals.items()}
    eff = re.search(r"\d{4}-\d{2}-\d{2}", os.path.basename(path)).group(0)
    return eff, rates


class Money:
    def __init__(self, fixtures):
        self.map = []
        with open(os.path.join(fixtures, "markets.csv"), newline="") as fh:
            for row in csv.DictReader(fh):
                self.map.append((row["prefix"], row["since"] or "", row["market"]))
        self.cards = sorted(load_card(os.path.join(fixtures, "rates", f))
                            for f in os.listdir(os.path.join(fixtures, "rates")) if f.endswith(".csv"))

    def market(self, phone, d):
        for n in range(len(phone), 0, -1):
            cands = [r for r in self.map if r[0] == phone[:n] and r[1] <= d]
            if cands:
                return max(cands, key=lambda r: r[1])[2]
        return "Other"

    def matches(self, phone, d):
        """Whether a prefix of the map matches: "Other" by want of one is not."""
        return any(r[0] == phone[:len(r[0])] and r[1] <= d for r in self.map)

    def card(self, d):
        best = None
        for eff, rates in self.cards:
            if eff <= d:
                best = (eff, rates)
        return best

    def price(self, market, cat, d, billable=False):
        """billable: a webhook said Meta bills it, which wins over the rule
        that service is free before 2026-10-01."""
        c = self.card(d)
        if c is None or market not in c[1]:
            return None
        r = c[1][market]
        if cat == "service":
            if d < "2026-10-01" and not billable:
                return Decimal(0)
            return r["service"] if r["service"] is not None else r["utility"]
        return r[cat]


class Expect:
    """A campaign's figures, from the generated rows and the fixtures."""

    def __init__(self, money, g, cid, now_day, policy):
        u_as, s_as, billing = policy
        self.funnel = [0] * 8
        self.states = {s: 0 for s in STATES}
        self.reasons = {r: 0 for r in REASONS}
        self.markets = {}
        self.scen = {}
        self.fb = {}
        self.broadcast = Decimal(0)
        self.broadcast_n = 0
        self.util = [Decimal(0), Decimal(0)]
        self.sess = [Decimal(0), Decimal(0)]
        self.webhook = self.estimated = self.unpriced = self.resends = 0
        self.unconverted = 0  # fallbacks with a session delivered that did not convert
        self.unconverted_meta = Decimal(0)
        self.cards_used = {}

        def mk(m):
            return self.markets.setdefault(m, {"recipients": 0, "failed": 0, "fallbacks": 0,
                                               "udel": 0, "conv": 0, "bdel": 0,
                                               "broadcast": Decimal(0), "u": [Decimal(0)] * 2,
                                               "s": [Decimal(0)] * 2})

        def charge(phone, at, policy_cat, meta_cat, billable, category, policy_billed=True):
            d = day(at)
            m = money.market(phone, d)
            pol = Decimal(0)
            unpriced = False
            if policy_billed:
                p = money.price(m, policy_cat, d)
                unpriced |= p is None
                pol = p or Decimal(0)
            webhook = False
            said_billable = billable is not None or category is not None
            if said_billable:
                if billable == 0:
                    webhook = True
                    meta = Decimal(0)
                    self.webhook += 1
                    self.unpriced += unpriced
                    self._card(money, d, unpriced)
                    return pol, meta
                if category in CATS:
                    webhook = True
                    meta_cat = category
            p = money.price(m, meta_cat, d, said_billable)
            unpriced |= p is None
            meta = p or Decimal(0)
            if webhook:
                self.webhook += 1
            else:
                self.estimated += 1
            self.unpriced += unpriced
            self._card(money, d, unpriced)
            return pol, meta

        for a in g["attempts"]:
            if a[0] != cid or a[4] not in ("delivered", "read"):
                continue
            pol, _ = charge(a[2], a[6], "marketing", "marketing", None, None)
            self.broadcast += pol
            self.broadcast_n += 1
            x = mk(money.market(a[2], now_day))
            x["broadcast"] += pol
            x["bdel"] += 1
        seen = set()
        for r in g["recipients"]:
            if r[0] != cid or (r[0], r[1]) in seen:
                continue
            seen.add((r[0], r[1]))
            x = mk(money.market(r[1], now_day))
            self.funnel[0] += 1
            x["recipients"] += 1
            if r[2] == "fallback" or r[2].startswith("excluded"):
                self.funnel[1] += 1
                x["failed"] += 1
            if r[2].startswith("excluded"):
                self.reasons[r[3] or r[2].split(":", 1)[1]] += 1
        sends = {}
        for s in g["sends"]:
            sends.setdefault(s["fallback_id"], []).append(s)
        for f in g["fallbacks"]:
            if f["campaign_id"] != cid:
                continue
            m = money.market(f["phone"], now_day)
            x = mk(m)
            sc = self.scen.setdefault(f["scenario"], {"n": 0, "us": 0, "ud": 0, "c": 0, "ss": 0,
                                                      "conv": 0, "u": [Decimal(0)] * 2,
                                                      "s": [Decimal(0)] * 2})
            row = {"u": [Decimal(0), Decimal(0)], "s": [Decimal(0), Decimal(0)], "charges": 0,
                   "webhook": 0, "resends": 0, "market": m, "f": f}
            # per_conversion bills a conversion once, at its first delivered
            # session part, and a fallback that did not convert not at all.
            conv = f["converted_at"] is not None or f["state"] == "converted"
            session_billed = False
            for s in sorted(sends.get(f["id"], []), key=lambda s: (s["kind"], s["n"])):
                if s["resend_of"] is not None:
                    row["resends"] += 1
                if s["delivery"] not in ("delivered", "read"):
                    continue
                at = s["delivered_at"] or s["read_at"] or s["sent_at"]
                before = self.webhook
                if s["kind"] == "u":
                    pol, meta = charge(f["phone"], at, u_as, "utility", s["pricing_billable"],
                                       s["pricing_category"])
                    row["u"][0] += pol
                    row["u"][1] += meta
                else:
                    billed = billing == "per_message" or (conv and not session_billed)
                    pol, meta = charge(f["phone"], at, s_as, "service", s["pricing_billable"],
                                       s["pricing_category"], billed)
                    session_billed = True
                    row["s"][0] += pol
                    row["s"][1] += meta
                row["charges"] += 1
                row["webhook"] += self.webhook - before
            self.fb[f["id"]] = row
            if session_billed and not conv:
                self.unconverted += 1
                self.unconverted_meta += row["s"][1]
            flags = [True, f["utility_sent_at"] is not None, f["utility_delivered_at"] is not None,
                     f["consented_at"] is not None, f["session_sent_at"] is not None, conv]
            for k in range(6):
                self.funnel[2 + k] += flags[k]
            self.states[f["state"]] += 1
            self.resends += row["resends"]
            for v in range(2):
                self.util[v] += row["u"][v]
                self.sess[v] += row["s"][v]
                x["u"][v] += row["u"][v]
                x["s"][v] += row["s"][v]
                sc["u"][v] += row["u"][v]
                sc["s"][v] += row["s"][v]
            x["fallbacks"] += 1
            x["udel"] += flags[2]
            x["conv"] += conv
            for key, k in (("n", 0), ("us", 1), ("ud", 2), ("c", 3), ("ss", 4), ("conv", 5)):
                sc[key] += flags[k]

    def _card(self, money, d, unpriced):
        c = money.card(d)
        if c and not unpriced:
            self.cards_used[c[0]] = self.cards_used.get(c[0], 0) + 1


# --- reading workbooks ----------------------------------------------------------

def load(path):
    import openpyxl
    return (openpyxl.load_workbook(path, read_only=False),
            openpyxl.load_workbook(path, read_only=False, data_only=True))


failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def near(a, b, what, tol=Decimal("0.0000005")):
    ok = a is not None and abs(Decimal(str(a)) - Decimal(b)) <= tol
    check(ok, "%s: workbook %r, expected %s" % (what, a, b))


def rows_of(ws):
    return [list(r) for r in ws.iter_rows(values_only=True)]


def find_row(rows, label, col=0):
    for i, r in enumerate(rows):
        if r and r[col] == label:
            return i
    return None


def safe_name(cid):
    s = "".join(c if (c.isalnum() and c.isascii()) or c in "-_" or (c == "." and i > 0) else "_"
                for i, c in enumerate(cid[:80]))
    s = s or "_"
    changed = s != cid
    if changed:
        s += "-" + hashlib.sha256(cid.encode()).hexdigest()[:8]
    return s


def utc(t):
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).replace(tzinfo=None)


def mask_phone(p):
    return "+" + p[:2] + "*" * (len(p) - 6) + p[-4:]


def check_left_out(money, g, cid, wbf, wbv, now_day):
    """Excluded recipients and Waiting recipients: one row per recipient, in
    phone order, with its latest attempt (plan's order: attempt, sent_at),
    and for the awaiting ones the end of their retries under the default
    policy (1 + 3 attempts, 24 h apart, 6 h grace)."""
    latest = {}
    for a in g["attempts"]:
        if a[0] == cid:
            key = (a[5], a[6])
            if a[2] not in latest or key >= latest[a[2]][0]:
                latest[a[2]] = (key, a)
    seen, excluded, waiting = set(), [], []
    for r in g["recipients"]:
        if r[0] != cid or r[1] in seen:
            continue
        seen.add(r[1])
        if r[2].startswith("excluded"):
            excluded.append(r)
        elif r[2] in ("awaiting_retries", "in_flight"):
            waiting.append(r)
    words = {}
    for sheet, want in (("Excluded recipients", excluded), ("Waiting recipients", waiting)):
        ws = wbf[sheet]
        check(ws.freeze_panes == "A2" and ws.auto_filter.ref, "%s: %s frozen and filtered" % (cid, sheet))
        rows = rows_of(wbv[sheet])
        check(len(rows) - 1 == len(want), "%s: %s has %d rows, expected %d" % (cid, sheet, len(rows) - 1, len(want)))
        for got, r in zip(rows[1:], sorted(want, key=lambda r: r[1])):
            where = "%s: %s %s" % (cid, sheet, r[1])
            a = latest[r[1]][1]
            check(got[0] == mask_phone(r[1]) and r[1] not in str(got), "%s: phone %r" % (where, got[0]))
            check(got[1] == money.market(r[1], now_day), "%s: market %r" % (where, got[1]))
            if sheet == "Excluded recipients":
                reason = r[3] or r[2].split(":", 1)[1]
                check(got[3] == reason, "%s: reason id %r, expected %r" % (where, got[3], reason))
                check(got[2] and got[2] != reason and words.setdefault(reason, got[2]) == got[2],
                      "%s: reason in words %r" % (where, got[2]))
                check(got[4] is None and got[5] == a[3] and got[6] is None and got[7] == r[4],
                      "%s: detail %r" % (where, got[4:8]))
                check(got[8] == utc(a[6]), "%s: last attempt %r" % (where, got[8]))
            else:
                check(got[3] == r[2] and got[4] == r[4] and got[5] == 4, "%s: %r" % (where, got[3:6]))
                check(got[6] == utc(a[6]), "%s: last attempt %r" % (where, got[6]))
                eligible = utc(a[6] + 30 * 3600) if r[2] == "awaiting_retries" else None
                check(got[7] == eligible, "%s: eligible from %r, expected %r" % (where, got[7], eligible))
                check(got[2] and got[9] == a[3], "%s: %r" % (where, got[2:]))
    check(len(set(words.values())) == len(words), "%s: two reasons share their words: %r" % (cid, words))


def check_campaign(money, g, cid, reports, now_day, policy, fixtures):
    e = Expect(money, g, cid, now_day, policy)
    safe = safe_name(cid)
    path = os.path.join(reports, safe, "%s_%s.xlsx" % (safe, now_day))
    check(os.path.isfile(path), "%s: no workbook at %s" % (cid, path))
    if not os.path.isfile(path):
        return e
    check(os.stat(path).st_mode & 0o777 == 0o640, "%s: mode %o" % (path, os.stat(path).st_mode & 0o777))
    wbf, wbv = load(path)
    names = wbv.sheetnames
    check(names[:7] == ["Summary", "By market", "By scenario", "Exclusions", "Excluded recipients",
                        "Waiting recipients", "Fallbacks"]
          and names[-1] == "Inputs", "%s: sheets %r" % (cid, names))
    # Summary: funnel, rates, costs
    sv, sf = wbv["Summary"], wbf["Summary"]
    rows = rows_of(sv)
    check(rows[0][1] == cid, "%s: Summary names the campaign %r" % (cid, rows[0][1]))
    check(isinstance(rows[1][1], dt.datetime) and rows[1][1].strftime("%Y-%m-%dT%H:%M:%SZ") == NOW,
          "%s: as-of %r" % (cid, rows[1][1]))
    f0 = find_row(rows, "Recipients")
    for k, name in enumerate(["Recipients", "Failed after retries", "Fallbacks", "Utility sent",
                              "Utility delivered", "Consented", "Session sent", "Converted"]):
        r = rows[f0 + k]
        check(r[0] == name and r[1] == e.funnel[k], "%s: funnel %s %r, expected %d" % (cid, name, r[1], e.funnel[k]))
        if k:
            prev = e.funnel[k - 1]
            near(r[2], Decimal(e.funnel[k]) / prev if prev else 0, "%s: %% %s" % (cid, name), Decimal("1e-9"))
            check(sf.cell(f0 + k + 1, 3).number_format.endswith("%"), "%s: percentage format" % cid)
    check(len(wbf["Summary"]._charts) == 1, "%s: Summary has the funnel chart" % cid)
    conv = e.funnel[7]
    c0 = find_row(rows, "Original campaign (delivered broadcast)")
    near(rows[c0][1], e.broadcast, "%s: broadcast cost" % cid)
    check(rows[c0][3] == e.broadcast_n, "%s: broadcast messages" % cid)
    near(rows[c0 + 1][1], e.util[0], "%s: utility cost (policy)" % cid)
    near(rows[c0 + 1][2], e.util[1], "%s: utility cost (Meta)" % cid)
    near(rows[c0 + 2][1], e.sess[0], "%s: session cost (policy)" % cid)
    near(rows[c0 + 2][2], e.sess[1], "%s: session cost (Meta)" % cid)
    near(rows[c0 + 3][1], e.util[0] + e.sess[0], "%s: fallback total (policy)" % cid)
    near(rows[c0 + 3][2], e.util[1] + e.sess[1], "%s: fallback total (Meta)" % cid)
    check(str(sf.cell(c0 + 4, 2).value).startswith("="), "%s: fallback total is a formula" % cid)
    near(rows[c0 + 4][1], (e.util[0] + e.sess[0]) / conv if conv else 0, "%s: cost per conversion" % cid)
    # A session delivered without a conversion: counted, with Meta's cost,
    # and the rule stated where the policy is.
    i = find_row(rows, "Fallbacks with a session delivered, not converted")
    check(i is not None and rows[i][1] == e.unconverted,
          "%s: unconverted sessions %r, expected %d" % (cid, i is not None and rows[i][1], e.unconverted))
    if i is not None:
        check(rows[i + 1][0] == "Their session cost (Meta)", "%s: their Meta cost row" % cid)
        near(rows[i + 1][1], e.unconverted_meta, "%s: unconverted sessions' Meta cost" % cid)
    i = find_row(rows, "Session billing rule (policy)")
    check(i is not None and ("not a conversion" in rows[i][1] if policy[2] == "per_conversion"
                             else "converted or not" in rows[i][1]),
          "%s: Summary states the session billing rule" % cid)
    near(rows[c0 + 5][1], e.broadcast + e.util[0] + e.sess[0], "%s: campaign and fallback total" % cid)
    check("USD" in sf.cell(c0 + 1, 2).number_format, "%s: money has a currency format" % cid)
    for label, want in (("Charges priced from webhook pricing", e.webhook),
                        ("Charges estimated from delivery", e.estimated),
                        ("Charges without a rate (counted as 0)", e.unpriced),
                        ("Resends after unknown outcomes", e.resends),
                        ("Utility message billed as (policy)", policy[0]),
                        ("Session message billed as (policy)", policy[1]),
                        ("Session billing (policy)", policy[2])):
        i = find_row(rows, label)
        check(i is not None and rows[i][1] == want, "%s: %s %r, expected %r" % (cid, label, i is not None and rows[i][1], want))
    s0 = find_row(rows, "Fallbacks by state")
    for k, st in enumerate(STATES):
        r = rows[s0 + 1 + k]
        check(r[0].split(" ")[0] == st and r[1] == e.states[st], "%s: state %s %r" % (cid, st, r))
    # By market
    mv, mf = wbv["By market"], wbf["By market"]
    rows = rows_of(mv)
    check(mf.freeze_panes is not None and mf.auto_filter.ref, "%s: By market frozen and filtered" % cid)
    got = {r[0]: r for r in rows[1:] if r[0] and r[0] != "Total"}
    check(set(got) == set(e.markets), "%s: markets %r, expected %r" % (cid, sorted(got), sorted(e.markets)))
    card = money.card(now_day)
    tot = [Decimal(0)] * 7
    for m, x in e.markets.items():
        r = got.get(m)
        if not r:
            continue
        check(tuple(r[1:7]) == (x["recipients"], x["failed"], x["fallbacks"], x["udel"], x["conv"], x["bdel"]),
              "%s/%s: counts %r" % (cid, m, r[1:7]))
        rates = card[1].get(m, {})
        for k, cat in enumerate(["marketing", "utility", "service"]):
            want = rates.get(cat)
            if want is None:
                check(r[8 + k] == "n/a", "%s/%s: %s rate %r, expected n/a" % (cid, m, cat, r[8 + k]))
            else:
                near(r[8 + k], want, "%s/%s: %s rate" % (cid, m, cat))
        vals = [x["broadcast"], x["u"][0], x["s"][0], x["u"][0] + x["s"][0], x["u"][1], x["s"][1],
                x["u"][1] + x["s"][1]]
        for k, v in enumerate(vals):
            near(r[11 + k], v, "%s/%s: cost column %d" % (cid, m, 11 + k))
            tot[k] += v
    ti = find_row(rows, "Total")
    check(ti == len(rows) - 1, "%s: By market total is the last row" % cid)
    for k in range(7):
        near(rows[ti][11 + k], tot[k], "%s: By market total column %d (cached)" % (cid, 11 + k))
        check(str(mf.cell(ti + 1, 12 + k).value).startswith("=SUM("), "%s: total is a SUM formula" % cid)
    check(rows[ti][1] == e.funnel[0], "%s: By market recipients total" % cid)
    # By scenario
    rows = rows_of(wbv["By scenario"])
    for k in range(1, 9):
        sc = e.scen.get("S%d" % k, {"n": 0, "us": 0, "ud": 0, "c": 0, "ss": 0, "conv": 0,
                                    "u": [0, 0], "s": [0, 0]})
        r = rows[k]
        check(r[0] == "S%d" % k and tuple(r[1:7]) == (sc["n"], sc["us"], sc["ud"], sc["c"], sc["ss"], sc["conv"]),
              "%s: scenario S%d %r" % (cid, k, r))
        near(r[10], Decimal(sc["u"][0]) + sc["s"][0], "%s: S%d total (policy)" % (cid, k))
        near(r[11], Decimal(sc["u"][1]) + sc["s"][1], "%s: S%d total (Meta)" % (cid, k))
    check(rows[9][0] == "Total" and rows[9][1] == e.funnel[2], "%s: scenario total %r" % (cid, rows[9]))
    # Exclusions: every reason listed
    rows = rows_of(wbv["Exclusions"])
    got = {r[0]: r[1] for r in rows[1:] if r[0] != "Total"}
    for reason in REASONS:
        check(got.get(reason) == e.reasons[reason], "%s: exclusion %s %r, expected %d" % (cid, reason, got.get(reason), e.reasons[reason]))
    check(rows[-1][0] == "Total" and rows[-1][1] == sum(e.reasons.values()), "%s: exclusions total" % cid)
    check_left_out(money, g, cid, wbf, wbv, now_day)
    # Phones with no market: on the Summary and on Inputs, with one of them.
    lost = sorted({a[2] for a in g["attempts"] if a[0] == cid and not money.matches(a[2], now_day)})
    for sheet in ("Summary", "Inputs"):
        rows = rows_of(wbv[sheet])
        i = find_row(rows, "Phones with no market")
        check(i is not None and rows[i][1] == len(lost),
              "%s: %s phones with no market %r, expected %d" % (cid, sheet, i is not None and rows[i][1], len(lost)))
        if i is not None and lost:
            check(str(rows[i][2]).startswith("e.g. %s: " % mask_phone(lost[0])) and "priced as Other" in rows[i][2],
                  "%s: %s example %r, expected %s" % (cid, sheet, rows[i][2], mask_phone(lost[0])))
        elif i is not None:
            check(rows[i][2] is None, "%s: %s example %r with no such phone" % (cid, sheet, rows[i][2]))
    # Fallbacks
    ws = wbf["Fallbacks"]
    check(ws.freeze_panes == "A2" and ws.auto_filter.ref, "%s: Fallbacks frozen and filtered" % cid)
    rows = rows_of(wbv["Fallbacks"])
    check(len(rows) - 1 == len(e.fb), "%s: %d fallback rows, expected %d" % (cid, len(rows) - 1, len(e.fb)))
    for i, r in enumerate(rows[1:], start=2):
        x = e.fb.get(r[0])
        if x is None:
            check(False, "%s: unexpected fallback %r" % (cid, r[0]))
            continue
        f = x["f"]
        p = f["phone"]
        masked = "+" + p[:2] + "*" * (len(p) - 6) + p[-4:]
        check(r[1] == masked, "%s: phone %r, expected %r" % (cid, r[1], masked))
        check(p not in str(r), "%s: a full phone number leaked" % cid)
        check(r[2] == x["market"] and r[3] == f["scenario"] and r[5] == f["state"], "%s: row %r" % (cid, r[:6]))
        check(ws.cell(i, 5).data_type == "s" and r[4] == f["template_name"], "%s: template cell %r is not text" % (cid, r[4]))
        created = r[6]
        check(isinstance(created, dt.datetime) and int(created.replace(tzinfo=dt.timezone.utc).timestamp()) == f["created_at"],
              "%s: created %r" % (cid, created))
        near(r[14], x["u"][0], "%s: fallback %d utility (policy)" % (cid, r[0]))
        near(r[15], x["s"][0], "%s: fallback %d session (policy)" % (cid, r[0]))
        near(r[17], x["u"][1] + x["s"][1], "%s: fallback %d total (Meta)" % (cid, r[0]))
        want = "" if not x["charges"] else "webhook" if x["webhook"] == x["charges"] else "mixed" if x["webhook"] else "estimated"
        check((r[18] or "") == want, "%s: fallback %d priced from %r, expected %r" % (cid, r[0], r[18], want))
        check(r[19] == x["resends"], "%s: fallback %d resends" % (cid, r[0]))
    # Inputs
    rows = rows_of(wbv["Inputs"])
    flat = {r[0]: r[1] for r in rows if r and r[0]}
    check(flat.get("suf version"), "%s: Inputs has the version" % cid)
    check(flat.get("Session billing (policy)") == policy[2], "%s: Inputs states the policy" % cid)
    check_map_row(flat, fixtures, cid)
    hi = find_row(rows, "Kind")
    files = {os.path.basename(r[1]): r for r in rows[hi + 1:] if r[0]}
    for rel in ("markets.csv", "rates/USD_2026-07-01.csv", "rates/USD_2026-10-01.csv"):
        full = os.path.join(fixtures, rel)
        r = files.get(os.path.basename(rel))
        sha = hashlib.sha256(open(full, "rb").read()).hexdigest()
        check(r is not None and r[2] == sha and r[4] == 0, "%s: Inputs lists %s with its SHA-256" % (cid, rel))
    ci = find_row(rows, "Rate card")
    used = {r[1]: r[3] for r in rows[ci + 1:] if r[0] and r[0].startswith("USD ")}
    check(used == e.cards_used, "%s: rate cards used %r, expected %r" % (cid, used, e.cards_used))
    return e


def check_map_row(flat, fixtures, cid):
    """Inputs names the market map in use: the imported fixtures map, with
    its SHA-256, or the built-in one, whose version is the same file's."""
    sha = hashlib.sha256(open(os.path.join(fixtures, "markets.csv"), "rb").read()).hexdigest()
    got = flat.get("Market map") or ""
    check((got.startswith("imported: ") and "markets.csv" in got or got.startswith("built-in"))
          and got.endswith("SHA-256 " + sha), "%s: Inputs market map %r" % (cid, got))


def cmd_check(fixtures, reports, now, policy):
    money = Money(fixtures)
    g = generate()
    now_day = now[:10]
    exp = {}
    for cid in ["camp_a"] + WEIRD:
        exp[cid] = check_campaign(money, g, cid, reports, now_day, policy, fixtures)
    check(exp["camp_a"].unconverted >= 1, "camp_a has no session delivered without a conversion")
    # formulas stay text
    safe = safe_name(WEIRD[0])
    wbf, _ = load(os.path.join(reports, safe, "%s_%s.xlsx" % (safe, now_day)))
    ws = wbf["Fallbacks"]
    cells = [ws.cell(r, 5) for r in range(2, ws.max_row + 1)]
    check(cells and all(c.data_type == "s" and c.value == EVIL_TEMPLATE for c in cells),
          "a template named like a formula must stay text")
    # nothing outside the reports folder; the portfolio
    root = os.path.realpath(reports)
    for dirpath, dirs, files in os.walk(root):
        for fn in files:
            full = os.path.realpath(os.path.join(dirpath, fn))
            check(full.startswith(root + os.sep), "%s escapes the reports folder" % full)
            check(not fn.startswith("."), "a temporary file was left: %s" % full)
    check(not os.path.exists(os.path.join(os.path.dirname(root), "etc")), "'../../etc/x' escaped")
    check(not os.path.exists(os.path.join(os.path.dirname(root), "escaped")), "a NUL id escaped")
    port = os.path.join(reports, "portfolio_%s.xlsx" % now_day)
    check(os.path.isfile(port), "no portfolio workbook")
    if os.path.isfile(port):
        wbf, wbv = load(port)
        rows = rows_of(wbv["Campaigns"])
        got = {r[0]: r for r in rows[1:] if r[0] != "Total"}
        check(set(got) == set(exp), "portfolio campaigns %r" % sorted(got))
        tot = rows[-1]
        check(tot[0] == "Total", "portfolio total row")
        for cid, e in exp.items():
            r = got.get(cid)
            if r:
                check(r[2] == e.funnel[0] and r[4] == e.funnel[2] and r[7] == e.funnel[7], "portfolio counts of %s" % cid)
                near(r[11], e.util[0] + e.sess[0], "portfolio fallback total of %s" % cid)
                near(r[12], e.util[1] + e.sess[1], "portfolio Meta total of %s" % cid)
        near(tot[11], sum((e.util[0] + e.sess[0] for e in exp.values()), Decimal(0)), "portfolio total (cached)")
        near(tot[8], sum((e.broadcast for e in exp.values()), Decimal(0)), "portfolio broadcast total (cached)")
        check(tot[2] == sum(e.funnel[0] for e in exp.values()), "portfolio recipients total")
        check(str(wbf["Campaigns"].cell(len(rows), 12).value).startswith("=SUM("), "portfolio total is a formula")


def cmd_same(a, b):
    import openpyxl
    fa = sorted(os.path.relpath(os.path.join(d, f), a) for d, _, fs in os.walk(a) for f in fs)
    fb = sorted(os.path.relpath(os.path.join(d, f), b) for d, _, fs in os.walk(b) for f in fs)
    check(fa == fb, "the two runs wrote different files: %r vs %r" % (fa, fb))
    for rel in fa:
        if rel.endswith(".csv"):
            check(open(os.path.join(a, rel), "rb").read() == open(os.path.join(b, rel), "rb").read(),
                  "%s: the CSV bytes differ between two runs" % rel)
        if not rel.endswith(".xlsx"):
            continue
        wa = openpyxl.load_workbook(os.path.join(a, rel), data_only=True)
        wb = openpyxl.load_workbook(os.path.join(b, rel), data_only=True)
        check(wa.sheetnames == wb.sheetnames, "%s: sheets differ" % rel)
        for name in wa.sheetnames:
            va = [list(r) for r in wa[name].iter_rows(values_only=True)]
            vb = [list(r) for r in wb[name].iter_rows(values_only=True)]
            check(va == vb, "%s/%s: cell values differ between two runs" % (rel, name))
        check(wa.properties.created == wb.properties.created, "%s: created date differs" % rel)


def cmd_split(reports, nrows):
    nrows = int(nrows)
    paths = [os.path.join(d, f) for d, _, fs in os.walk(reports) for f in fs
             if f.endswith(".xlsx") and not f.startswith("portfolio")]
    check(len(paths) == 1, "one campaign workbook, got %r" % paths)
    z = zipfile.ZipFile(paths[0])
    wbxml = z.read("xl/workbook.xml").decode()
    names = re.findall(r'<sheet name="([^"]+)"', wbxml)
    rels = z.read("xl/_rels/workbook.xml.rels").decode()
    rid_to_target = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="([^"]+)"', rels))
    rid_to_target.update({k: v for v, k in re.findall(r'Target="([^"]+)"[^>]*Id="(rId\d+)"', rels)})
    sheet_rids = re.findall(r'<sheet name="[^"]+" sheetId="\d+" r:id="(rId\d+)"', wbxml)
    per = 1048575
    want_sheets = ["Fallbacks"] + ["Fallbacks (%d)" % k for k in range(2, (nrows + per - 1) // per + 1)]
    check([n for n in names if n.startswith("Fallbacks")] == want_sheets,
          "sheets %r, expected %r" % (names, want_sheets))
    left = nrows
    for name, rid in zip(names, sheet_rids):
        if not name.startswith("Fallbacks"):
            continue
        with z.open("xl/" + rid_to_target[rid]) as fh:
            head = fh.read(4096).decode(errors="replace")
        m = re.search(r'<dimension ref="([A-Z]+)1:([A-Z]+)(\d+)"', head)
        rows_here = min(per, left)
        left -= rows_here
        check(m is not None and int(m.group(3)) == rows_here + 1,
              "%s: dimension %r, expected %d rows" % (name, m and m.group(0), rows_here + 1))
    check(left == 0, "rows unaccounted for: %d" % left)


# --- the CSV tables ------------------------------------------------------------

AMOUNT = re.compile(r"^-?[0-9]+\.[0-9]{6}$")
MICRO = Decimal("0.000001")


def csv_file_name(sheet):
    """The file of a sheet: "By market" -> by_market.csv (as report_csv.c)."""
    out = ""
    for ch in sheet:
        if ch.isascii() and ch.isalnum():
            out += ch.lower()
        elif out and out[-1] != "_":
            out += "_"
    return (out.rstrip("_") or "_") + ".csv"


def is_money_format(fmt):
    return "0.0000" in (fmt or "") and "%" not in fmt


def csv_cell(rel, sheet, ref, want, fmt, got):
    """Checks one CSV field against the workbook's cell value."""
    where = "%s/%s!%s" % (rel, sheet, ref)
    if want is None:
        check(got == "", "%s: CSV %r, workbook empty" % (where, got))
    elif isinstance(want, dt.datetime):
        check(got == want.strftime("%Y-%m-%dT%H:%M:%SZ"), "%s: CSV time %r, workbook %s" % (where, got, want))
    elif isinstance(want, bool) or isinstance(want, str):
        check(got == str(want), "%s: CSV %r, workbook %r" % (where, got, want))
    elif is_money_format(fmt):
        # An amount: six places from the micros.  A per-unit amount (a cost
        # per conversion) is the exact ratio, rounded to the micro.
        check(AMOUNT.match(got) is not None, "%s: CSV amount %r is not a decimal with six places" % (where, got))
        if AMOUNT.match(got):
            w = Decimal(repr(want))
            if w == w.quantize(MICRO):
                check(Decimal(got) == w, "%s: CSV amount %s, workbook %s" % (where, got, w))
            else:
                check(abs(Decimal(got) - w) <= MICRO / 2, "%s: CSV amount %s, workbook %s" % (where, got, w))
    else:
        # A ratio or a count is a double in the workbook, written there with
        # 16 significant digits; the CSV holds the same digits.  Compare the
        # doubles they denote: repr() may choose a shorter spelling of the
        # same double (0.072 for 0.07199999999999999).
        try:
            ok = float(got) == float(want)
        except Exception:
            ok = False
        check(ok, "%s: CSV number %r, workbook %r" % (where, got, want))


def cmd_csv(reports):
    """Each workbook's CSV folder holds one file per sheet, RFC 4180 with CRLF
    ends and no BOM, as many fields on every line, and each field equal to its
    cell's value (Decimal; amounts as decimals with six places)."""
    import openpyxl
    from openpyxl.utils import get_column_letter
    books = sorted(os.path.join(d, f) for d, _, fs in os.walk(reports) for f in fs if f.endswith(".xlsx"))
    check(books, "no workbooks under %s" % reports)
    cells = 0
    for path in books:
        rel = os.path.relpath(path, reports)
        folder = path[:-len(".xlsx")]
        check(os.path.isdir(folder), "%s: no CSV folder %s" % (rel, folder))
        if not os.path.isdir(folder):
            continue
        wbf = openpyxl.load_workbook(path)
        wbv = openpyxl.load_workbook(path, data_only=True)
        want_files = [csv_file_name(n) for n in wbv.sheetnames]
        check(sorted(os.listdir(folder)) == sorted(want_files),
              "%s: CSV files %r, sheets %r" % (rel, sorted(os.listdir(folder)), wbv.sheetnames))
        for name in wbv.sheetnames:
            fpath = os.path.join(folder, csv_file_name(name))
            if not os.path.isfile(fpath):
                continue
            check(os.stat(fpath).st_mode & 0o777 == 0o640, "%s: mode %o" % (fpath, os.stat(fpath).st_mode & 0o777))
            raw = open(fpath, "rb").read()
            check(not raw.startswith(b"\xef\xbb\xbf"), "%s: a byte-order mark" % fpath)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                check(False, "%s: not UTF-8" % fpath)
                continue
            records = list(csv.reader(io.StringIO(text, newline="")))
            # Every line ends in CRLF: no bare LF outside a quoted field.
            unquoted = re.sub(r'"(?:[^"]|"")*"', "", text)
            check(raw.endswith(b"\r\n") and "\n" not in unquoted.replace("\r\n", ""),
                  "%s: records must end in CRLF" % fpath)
            widths = {len(r) for r in records}
            check(len(widths) <= 1, "%s: records of %r fields" % (fpath, sorted(widths)))
            wsv, wsf = wbv[name], wbf[name]
            nrows = max(wsv.max_row, len(records))
            ncols = max([wsv.max_column] + [len(r) for r in records])
            for r in range(1, nrows + 1):
                rec = records[r - 1] if r <= len(records) else []
                for c in range(1, ncols + 1):
                    want = wsv.cell(r, c).value
                    got = rec[c - 1] if c <= len(rec) else ""
                    csv_cell(rel, name, "%s%d" % (get_column_letter(c), r), want,
                             wsf.cell(r, c).number_format, got)
                    cells += 1
    print("csv: %d cells compared in %d workbooks" % (cells, len(books)))


def cmd_pipeline(fixtures, db, reports, now):
    """Workbooks written after the real import and plan: each campaign's
    funnel head, exclusions and broadcast cost against the store's own rows,
    priced here from the fixture cards."""
    import sqlite3
    money = Money(fixtures)
    now_day = now[:10]
    con = sqlite3.connect(db)
    cats = {}
    for name, lang, cat in con.execute("SELECT name, language, category FROM templates"):
        cats[(name, lang)] = (cat or "").lower()
    cids = [r[0] for r in con.execute(
        "SELECT campaign_id FROM attempts UNION SELECT campaign_id FROM recipients "
        "UNION SELECT campaign_id FROM fallbacks ORDER BY 1")]
    check(len(cids) > 5, "the pipeline made campaigns: %r" % cids)
    for cid in cids:
        safe = safe_name(cid)
        path = os.path.join(reports, safe, "%s_%s.xlsx" % (safe, now_day))
        check(os.path.isfile(path), "%s: no workbook" % cid)
        if not os.path.isfile(path):
            continue
        _, wbv = load(path)
        rows = rows_of(wbv["Summary"])
        f0 = find_row(rows, "Recipients")
        n = con.execute("SELECT count(*) FROM recipients WHERE campaign_id = ?", (cid,)).fetchone()[0]
        failed = con.execute("SELECT count(*) FROM recipients WHERE campaign_id = ? AND "
                             "(outcome = 'fallback' OR outcome LIKE 'excluded%')", (cid,)).fetchone()[0]
        fbs = con.execute("SELECT count(*) FROM fallbacks WHERE campaign_id = ?", (cid,)).fetchone()[0]
        check(rows[f0][1] == n and rows[f0 + 1][1] == failed and rows[f0 + 2][1] == fbs,
              "%s: funnel head %r, expected %r" % (cid, [rows[f0 + k][1] for k in range(3)], [n, failed, fbs]))
        want = {r: 0 for r in REASONS}
        for outcome, reason in con.execute("SELECT outcome, reason FROM recipients WHERE campaign_id = ? "
                                           "AND outcome LIKE 'excluded%'", (cid,)):
            r = reason or outcome.split(":", 1)[1]
            want[r] = want.get(r, 0) + 1
        got = {r[0]: r[1] for r in rows_of(wbv["Exclusions"])[1:] if r[0] != "Total"}
        check(got == want, "%s: exclusions %r, expected %r" % (cid, got, want))
        cost = Decimal(0)
        for phone, at, tname, lang in con.execute(
                "SELECT phone, sent_at, template_name, template_language FROM attempts "
                "WHERE campaign_id = ? AND status IN ('delivered', 'read')", (cid,)):
            cat = cats.get((tname, lang)) or "marketing"
            p = money.price(money.market(phone, day(at)), cat if cat in CATS else "marketing", day(at))
            cost += p or 0
        i = find_row(rows, "Original campaign (delivered broadcast)")
        near(rows[i][1], cost, "%s: broadcast cost" % cid)
        check_map_row({r[0]: r[1] for r in rows_of(wbv["Inputs"]) if r and r[0]}, fixtures, cid)


def main(argv):
    if len(argv) >= 3 and argv[1] == "gen":
        emit_sql(argv[2])
        return 0
    if len(argv) >= 5 and argv[1] == "check":
        policy = ("utility", "marketing", "per_conversion")
        if len(argv) >= 7 and argv[5] == "--policy":
            policy = tuple(argv[6].split(","))
        cmd_check(argv[2], argv[3], argv[4], policy)
    elif len(argv) == 6 and argv[1] == "pipeline":
        cmd_pipeline(argv[2], argv[3], argv[4], argv[5])
    elif len(argv) == 4 and argv[1] == "same":
        cmd_same(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "split":
        cmd_split(argv[2], argv[3])
    elif len(argv) == 3 and argv[1] == "csv":
        cmd_csv(argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 64
    for f in failures[:60]:
        print("FAIL:", f)
    if len(failures) > 60:
        print("... and %d more" % (len(failures) - 60))
    print("%s: %d failures" % (argv[1], len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
