#!/usr/bin/python3
"""check_report.py: builds a report test store and checks the workbooks.

  check_report.py gen OUT.sql            SQL for campaigns, attempts, recipients,
                                         fallbacks and sends (fed to sqlite3)
  check_report.py check FIXTURES REPORTS NOW [--policy utility,marketing,per_conversion] [--bare]
                                         every figure of the workbooks against
                                         values computed here, from the fixtures
                                         (--bare: the store had no rate card and
                                         no market map: blanks and flags)
  check_report.py warnings LOG REPORTS NOW
                                         one warning per campaign with unpriced
                                         charges, with its counts
  check_report.py pipeline FIXTURES DB REPORTS NOW
                                         workbooks after the real import and plan
  check_report.py same REPORTS_A REPORTS_B
                                         two runs gave the same cell values
  check_report.py split REPORTS ROWS     a campaign of ROWS fallbacks continued on
                                         'Fallbacks (2)'... (read from the XML parts)
  check_report.py csv REPORTS            every workbook has its CSV folder, and each
                                         CSV file equals its sheet, cell for cell
  check_report.py billing DB OUTDIR      two pricing_analytics files for the store's
                                         delivery days (utc.json with cost, its last day
                                         without; zone.json, a bucket from 03:00 UTC)
  check_report.py billed FIXTURES DB REPORTS NOW
                                         the portfolio's "Meta billed vs estimate":
                                         Meta's cells from meta_billing, differences and
                                         totals, all in Decimal; "not given" is text

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
# What the generator draws from; the report counts these and the rest of
# REASONS and STATES (which no generated row has: they stay 0).
GEN_REASONS = ["fallback_off", "fallback_not_enabled", "campaign_expired", "unknown_template",
               "not_marketing", "unsupported_template", "opted_out", "undeliverable", "ineligible_error",
               "invalid_phone", "missing_content"]
GEN_STATES = ["pending", "utility_sent", "utility_delivered", "utility_failed", "consented",
              "declined", "no_response", "session_sent", "converted", "session_failed",
              "window_expired", "opted_out", "failed"]
REASONS = GEN_REASONS + ["campaign_cancelled"]
STATES = GEN_STATES + ["blocked", "cancelled"]
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
            recipients.append((cid, phone, "excluded", rnd.choice(GEN_REASONS[:7]), 1))
            continue
        if kind == "excluded2":
            recipients.append((cid, phone, "excluded:" + rnd.choice(GEN_REASONS[5:]), None, 1))
            continue
        recipients.append((cid, phone, "fallback", None, 1))
        fid = fid0 + len(fallbacks)
        scen = "S%d" % rnd.randrange(1, 9)
        state = rnd.choice(GEN_STATES)
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


def last_attempts(g):
    """(campaign, phone) -> (attempts.id, sent_at) of the recipient's latest attempt."""
    last = {}
    for i, a in enumerate(g["attempts"], 1):
        key = (a[0], a[2])
        if key not in last or a[5] >= last[key][2]:
            last[key] = (i, a[6], a[5])
    return {k: v[:2] for k, v in last.items()}


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
    last = last_attempts(g)
    for r in g["recipients"]:
        lines.append("INSERT OR IGNORE INTO recipients (campaign_id, phone, outcome, reason, attempts, "
                     "last_attempt_id) VALUES (%s, %s, %s, %s, %d, %d);"
                     % (q(r[0]), q(r[1]), q(r[2]), q(r[3]), r[4], last[(r[0], r[1])][0]))
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
    """The fixture rate cards and market map; with cards=False no card is
    loaded (every charge is unpriced), with markets=False markets are not
    checked (market() is None: whichever map suf used, the money is the
    same without cards).  imported_map: the store imported the fixtures'
    map (else suf used its built-in one, the same map, and Inputs lists no
    markets.csv)."""

    def __init__(self, fixtures, cards=True, markets=True):
        self.map = []
        self.markets = markets
        self.imported_map = True
        with open(os.path.join(fixtures, "markets.csv"), newline="") as fh:
            for row in csv.DictReader(fh):
                self.map.append((row["prefix"], row["since"] or "", row["market"]))
        self.cards = sorted(load_card(os.path.join(fixtures, "rates", f))
                            for f in os.listdir(os.path.join(fixtures, "rates")) if f.endswith(".csv")) if cards else []

    def market(self, phone, d):
        if not self.markets:
            return None
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
        that service is free before 2026-10-01 (card or not)."""
        if cat == "service" and d < "2026-10-01" and not billable:
            return Decimal(0)
        c = self.card(d)
        if c is None or market not in c[1]:
            return None
        r = c[1][market]
        if cat == "service":
            return r["service"] if r["service"] is not None else r["utility"]
        return r[cat]


def known(amount, charges, unpriced):
    """What a sum shows: None (blank) when every one of its charges is unpriced."""
    return None if unpriced and unpriced == charges else amount


class Sum:
    """Both views of an amount and its charges, as the workbook sums them."""

    def __init__(self):
        self.v = [Decimal(0), Decimal(0)]
        self.charges = 0
        self.unpriced = 0

    def add(self, other):
        self.v[0] += other.v[0]
        self.v[1] += other.v[1]
        self.charges += other.charges
        self.unpriced += other.unpriced

    def add_charge(self, pol, meta, unpriced):
        self.charges += 1
        if unpriced:
            self.unpriced += 1
        else:
            self.v[0] += pol
            self.v[1] += meta

    def shown(self, view):
        return known(self.v[view], self.charges, self.unpriced)


def plus(*sums):
    t = Sum()
    for x in sums:
        t.add(x)
    return t


class Expect:
    """A campaign's figures, from the generated rows and the fixtures."""

    def __init__(self, money, g, cid, now_day, policy):
        u_as, s_as, billing = policy
        self.funnel = [0] * 8
        self.states = {s: 0 for s in STATES}
        self.reasons = {r: 0 for r in REASONS}
        self.markets = {}
        self.ledger = {}  # (market, card, view, kind, billed as, rate or None) -> messages
        self.scen = {}
        self.fb = {}
        self.broadcast = Sum()
        self.broadcast_n = 0
        self.util = Sum()
        self.sess = Sum()
        self.webhook = self.estimated = self.unpriced = self.resends = 0
        self.unconverted = 0  # fallbacks with a session delivered that did not convert
        self.unconverted_s = Sum()  # their session charges, as the workbook sums them
        self.cards_used = {}
        last = last_attempts(g)

        def mk(m):
            return self.markets.setdefault(m, {"recipients": 0, "failed": 0, "fallbacks": 0,
                                               "udel": 0, "conv": 0, "bdel": 0})

        def book(key):
            self.ledger[key] = self.ledger.get(key, 0) + 1

        def charge(phone, at, kind, policy_cat, meta_cat, billable, category, policy_billed=True):
            """Costs one delivered message as suf does: returns (policy, Meta,
            unpriced, from webhook, market); an unpriced charge is unknown in
            both views (suf_charge has one flag)."""
            d = day(at)
            m = money.market(phone, d)
            c = money.card(d)
            pol = Decimal(0)
            unpriced = False
            if policy_billed:
                p = money.price(m, policy_cat, d)
                unpriced |= p is None
                pol = p if p is not None else Decimal(0)
            webhook = False
            label = meta_cat
            meta = None
            said_billable = billable is not None or category is not None
            if said_billable:
                if billable == 0:
                    webhook = True
                    label = "not billable (webhook)"
                    meta = Decimal(0)
                elif category in CATS:
                    webhook = True
                    meta_cat = label = category
            if meta is None:
                p = money.price(m, meta_cat, d, said_billable)
                unpriced |= p is None
                meta = p if p is not None else Decimal(0)
            if unpriced:
                self.unpriced += 1
            elif webhook:
                self.webhook += 1
            else:
                self.estimated += 1
            if c and not unpriced:
                self.cards_used[c[0]] = self.cards_used.get(c[0], 0) + 1
            card = c[0] if c else None
            if policy_billed:
                book((m, card, "policy", kind, policy_cat, None if unpriced else pol))
            book((m, card, "Meta", kind, label, None if unpriced else meta))
            return pol, meta, unpriced, webhook, m

        for a in g["attempts"]:
            if a[0] != cid or a[4] not in ("delivered", "read"):
                continue
            pol, meta, unp, _, m = charge(a[2], a[6], "broadcast", "marketing", "marketing", None, None)
            self.broadcast.add_charge(pol, meta, unp)
            self.broadcast_n += 1
            mk(m)["bdel"] += 1
        seen = set()
        for r in g["recipients"]:
            if r[0] != cid or (r[0], r[1]) in seen:
                continue
            seen.add((r[0], r[1]))
            x = mk(money.market(r[1], day(last[(r[0], r[1])][1])))
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
            sc = self.scen.setdefault(f["scenario"], {"n": 0, "us": 0, "ud": 0, "c": 0, "ss": 0,
                                                      "conv": 0, "u": Sum(), "s": Sum()})
            row = {"u": Sum(), "s": Sum(), "charges": 0, "webhook": 0, "resends": 0,
                   "market": money.market(f["phone"], day(f["created_at"])), "first": None, "f": f}
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
                if s["kind"] == "u":
                    pol, meta, unp, wh, m = charge(f["phone"], at, "utility", u_as, "utility",
                                                   s["pricing_billable"], s["pricing_category"])
                    row["u"].add_charge(pol, meta, unp)
                else:
                    billed = billing == "per_message" or (conv and not session_billed)
                    pol, meta, unp, wh, m = charge(f["phone"], at, "session", s_as, "service",
                                                   s["pricing_billable"], s["pricing_category"], billed)
                    session_billed = True
                    row["s"].add_charge(pol, meta, unp)
                row["charges"] += 1
                row["webhook"] += wh and not unp
                if row["first"] is None or at < row["first"]:
                    row["first"] = at
                    row["market"] = m
            self.fb[f["id"]] = row
            if session_billed and not conv:
                self.unconverted += 1
                self.unconverted_s.add(row["s"])
            flags = [True, f["utility_sent_at"] is not None, f["utility_delivered_at"] is not None,
                     f["consented_at"] is not None, f["session_sent_at"] is not None, conv]
            for k in range(6):
                self.funnel[2 + k] += flags[k]
            self.states[f["state"]] += 1
            self.resends += row["resends"]
            self.util.add(row["u"])
            self.sess.add(row["s"])
            sc["u"].add(row["u"])
            sc["s"].add(row["s"])
            x = mk(row["market"])
            x["fallbacks"] += 1
            x["udel"] += flags[2]
            x["conv"] += conv
            for key, k in (("n", 0), ("us", 1), ("ud", 2), ("c", 3), ("ss", 4), ("conv", 5)):
                sc[key] += flags[k]

    def charges(self):
        return self.webhook + self.estimated + self.unpriced


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


def check_left_out(money, g, cid, wbf, wbv):
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
        check_print(ws, cid, sheet)
        check(all("(UTC)" in str(c.value) for c in ws[1] if "attempt" in str(c.value) or "from" in str(c.value)),
              "%s: %s time headers say UTC" % (cid, sheet))
        rows = rows_of(wbv[sheet])
        check(len(rows) - 1 == len(want), "%s: %s has %d rows, expected %d" % (cid, sheet, len(rows) - 1, len(want)))
        for got, r in zip(rows[1:], sorted(want, key=lambda r: r[1])):
            where = "%s: %s %s" % (cid, sheet, r[1])
            a = latest[r[1]][1]
            check(got[0] == mask_phone(r[1]) and r[1] not in str(got), "%s: phone %r" % (where, got[0]))
            # its market on its last attempt's day, as the funnel places it
            check(got[1] == money.market(r[1], day(a[6])), "%s: market %r" % (where, got[1]))
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


def same(a, b, what):
    """A sum the workbook shows: blank where b is None (nothing known), else b."""
    if b is None:
        check(a is None, "%s: workbook %r, expected a blank (unpriced)" % (what, a))
    else:
        near(a, b, what)


SHADE = "FCE4D6"


def shaded(c):
    return (c.fill.fgColor.rgb or "").upper().endswith(SHADE)


def check_print(ws, cid, what, rows="1:1"):
    """Landscape, one page wide, its header rows on every page, the campaign
    and the as-of time atop, page numbers below."""
    ps = ws.page_setup
    check(ps.orientation == "landscape", "%s/%s: not landscape" % (cid, what))
    check(ws.sheet_properties.pageSetUpPr is not None and ws.sheet_properties.pageSetUpPr.fitToPage
          and ps.fitToWidth in (1, "1", None) and ps.fitToHeight in (0, "0"),
          "%s/%s: not fit to one page wide (%r x %r)" % (cid, what, ps.fitToWidth, ps.fitToHeight))
    check((ws.print_title_rows or "").replace("$", "") == rows,
          "%s/%s: repeated rows %r, expected %s" % (cid, what, ws.print_title_rows, rows))
    head = ws.oddHeader.right.text or ""
    check("As of %s %s UTC" % (NOW[:10], NOW[11:19]) in head, "%s/%s: print header %r" % (cid, what, head))
    check("&P" in (ws.oddFooter.right.text or ""), "%s/%s: no page numbers" % (cid, what))


def check_headers(ws, row, cid, what):
    """Every money column of a table's header row names its view and the currency."""
    for c in ws[row]:
        below = ws.cell(row + 1, c.column)
        if isinstance(below.value, (int, float)) and '"USD"' in (below.number_format or ""):
            check(re.search(r"\((policy|Meta|both views|per message), USD\)$", str(c.value or "")),
                  "%s/%s: money column %r does not say whose view and the currency" % (cid, what, c.value))


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
    # Summary: the banner, funnel, states, costs
    sv, sf = wbv["Summary"], wbf["Summary"]
    rows = rows_of(sv)
    top = 0
    if e.unpriced:
        want = "Unpriced: %d of %d charges have no rate" % (e.unpriced, e.charges())
        check(str(rows[0][0]).startswith(want) and shaded(sf.cell(1, 1)),
              "%s: Summary opens with %r, expected the banner %r" % (cid, rows[0][0], want))
        top = 1
    check(rows[top][0] == "Campaign" and rows[top][1] == cid, "%s: Summary names the campaign %r" % (cid, rows[top][:2]))
    check(isinstance(rows[top + 1][1], dt.datetime) and rows[top + 1][1].strftime("%Y-%m-%dT%H:%M:%SZ") == NOW,
          "%s: as-of %r" % (cid, rows[top + 1][1]))
    check_print(sf, cid, "Summary", "1:%d" % (top + 1))
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
    check_headers(sf, c0, cid, "Summary costs")
    fb = plus(e.util, e.sess)
    every = plus(e.broadcast, fb)
    for k, (label, x, n) in enumerate((("broadcast", e.broadcast, e.broadcast_n),
                                       ("utility", e.util, None), ("session", e.sess, None),
                                       ("fallback total", fb, None))):
        r = rows[c0 + k]
        same(r[1], x.shown(0), "%s: %s cost (policy)" % (cid, label))
        same(r[2], x.shown(1), "%s: %s cost (Meta)" % (cid, label))
        check(r[3] == x.unpriced, "%s: %s unpriced %r, expected %d" % (cid, label, r[3], x.unpriced))
        check(shaded(sf.cell(c0 + k + 1, 2)) == bool(x.unpriced), "%s: %s cost shading" % (cid, label))
        if n is not None:
            check(r[4] == n, "%s: %s messages %r" % (cid, label, r[4]))
    check(str(sf.cell(c0 + 4, 2).value).startswith("=") or fb.shown(0) is None,
          "%s: fallback total is a formula" % cid)
    r = rows[c0 + 4]
    check(r[0] == "Fallback cost per conversion" and r[4] == conv and "conversions" in str(r[5]),
          "%s: cost per conversion row %r" % (cid, r))
    if fb.unpriced:
        check(r[1] is None and r[2] is None, "%s: cost per conversion over unpriced charges %r" % (cid, r[1:3]))
    else:
        near(r[1], fb.v[0] / conv if conv else 0, "%s: cost per conversion" % cid, Decimal("0.0000000005"))
        check("0.000000" in sf.cell(c0 + 5, 2).number_format, "%s: a per-unit figure has 6 decimals" % cid)
    same(rows[c0 + 5][1], every.shown(0), "%s: campaign and fallback total" % cid)
    check(rows[c0 + 5][3] == e.unpriced, "%s: campaign unpriced %r" % (cid, rows[c0 + 5][3]))
    check("USD" in sf.cell(c0 + 2, 2).number_format, "%s: money has a currency format" % cid)
    # A session delivered without a conversion: counted, with Meta's cost,
    # and the rule stated where the policy is.
    i = find_row(rows, "Fallbacks with a session delivered, not converted")
    check(i is not None and rows[i][1] == e.unconverted,
          "%s: unconverted sessions %r, expected %d" % (cid, i is not None and rows[i][1], e.unconverted))
    if i is not None:
        check(rows[i + 1][0] == "Their session cost (Meta)", "%s: their Meta cost row" % cid)
        # Unknown is not zero: the known part, blank when nothing is known,
        # and beside it how many of the charges have no rate.
        same(rows[i + 1][1], e.unconverted_s.shown(1), "%s: unconverted sessions' Meta cost" % cid)
        want = ("%d of their charges have no rate" % e.unconverted_s.unpriced
                if e.unconverted_s.unpriced else None)
        check(rows[i + 1][2] == want, "%s: unconverted sessions' unpriced note %r, expected %r"
              % (cid, rows[i + 1][2], want))
    i = find_row(rows, "Session billing rule (policy)")
    check(i is not None and ("not a conversion" in rows[i][1] if policy[2] == "per_conversion"
                             else "converted or not" in rows[i][1]),
          "%s: Summary states the session billing rule" % cid)
    for label, want in (("Charges priced from webhook pricing", e.webhook),
                        ("Charges priced from the rate card (estimated)", e.estimated),
                        ("Charges without a rate (unpriced)", e.unpriced),
                        ("Resends after unknown outcomes", e.resends),
                        ("Utility message billed as (policy)", policy[0]),
                        ("Session message billed as (policy)", policy[1]),
                        ("Session billing (policy)", policy[2])):
        i = find_row(rows, label)
        check(i is not None and rows[i][1] == want, "%s: %s %r, expected %r" % (cid, label, i is not None and rows[i][1], want))
    h = find_row(rows, "How to read this")
    text = " ".join(str(x[0]) for x in rows[h + 1:h + 6]) if h is not None else ""
    for what in ("Policy view:", "Meta's view:", "Rate cards:", "Unpriced:", "Phones: masked"):
        check(what in text, "%s: 'How to read this' says nothing of %r" % (cid, what))
    s0 = find_row(rows, "Fallback state")
    for k, st in enumerate(STATES):
        r = rows[s0 + 1 + k]
        check(r[1] == st and r[2] == e.states[st] and r[0] and r[0] != st,
              "%s: state %s %r, expected its words, its id and %d" % (cid, st, r, e.states[st]))
    # By market: the rates applied, each row its messages times its rate
    mv, mf = wbv["By market"], wbf["By market"]
    rows = rows_of(mv)
    check(mf.freeze_panes is not None and mf.auto_filter.ref, "%s: By market frozen and filtered" % cid)
    check_print(mf, cid, "By market")
    check_headers(mf, 1, cid, "By market")
    got = {}
    i = 1
    while i < len(rows) and not str(rows[i][0]).startswith("Total"):
        r = rows[i]
        card = r[1].strftime("%Y-%m-%d") if isinstance(r[1], dt.datetime) else None
        check(isinstance(r[1], dt.datetime) or r[1] == "none", "%s: card %r is not a date" % (cid, r[1]))
        if isinstance(r[1], dt.datetime):
            check(mf.cell(i + 1, 2).number_format == "yyyy-mm-dd", "%s: card date format" % cid)
        rate = None if r[6] is None else Decimal(str(r[6])).quantize(Decimal("0.000001"))
        market = r[0] if money.markets else None
        key = (market, card, r[2], r[3], r[4], rate)
        got[key] = got.get(key, 0) + r[5]
        cost = r[7] if r[2] == "policy" else r[8]
        if rate is None:
            check(cost is None and r[9] == r[5] and shaded(mf.cell(i + 1, 7)),
                  "%s: unpriced row %r: no rate, no cost, flagged" % (cid, r))
        else:
            check(cost is not None and abs(Decimal(str(cost)) - r[5] * rate) <= Decimal("0.0000005"),
                  "%s: By market row %d: %r x %s != %r" % (cid, i + 1, r[5], rate, cost))
            check(str(mf.cell(i + 1, 8 if r[2] == "policy" else 9).value) == "=F%d*G%d" % (i + 1, i + 1),
                  "%s: By market row %d cost is not =F*G" % (cid, i + 1))
            check("0.000000" in mf.cell(i + 1, 7).number_format, "%s: a rate has 6 decimals" % cid)
        i += 1
    want = {(k[0], k[1], k[2], k[3], k[4], None if k[5] is None else k[5].quantize(Decimal("0.000001"))): n
            for k, n in e.ledger.items()}
    check(got == want, "%s: rates applied differ:\n  workbook %r\n  expected %r"
          % (cid, sorted(set(got.items()) - set(want.items()), key=str),
             sorted(set(want.items()) - set(got.items()), key=str)))
    for k, view in enumerate(("policy", "Meta")):
        r = rows[i + k]
        n = sum(v for key, v in e.ledger.items() if key[2] == view)
        unp = sum(v for key, v in e.ledger.items() if key[2] == view and key[5] is None)
        cost = sum((v * key[5] for key, v in e.ledger.items() if key[2] == view and key[5] is not None), Decimal(0))
        check(r[5] == n and r[9] == unp, "%s: By market %s total %r" % (cid, view, r))
        same(r[7 + k], known(cost, n, unp), "%s: By market %s total cost" % (cid, view))
    # ... and the cost of each view is the Summary's
    near(rows[i][7] or 0, every.v[0], "%s: By market policy total is the Summary's" % cid)
    near(rows[i + 1][8] or 0, every.v[1], "%s: By market Meta total is the Summary's" % cid)
    mi = find_row(rows, "Market (on the day of each event)")
    got = {}
    for r in rows[mi + 1:]:
        if r[0] == "Total":
            check(r[1] == e.funnel[0], "%s: By market recipients total" % cid)
            break
        got[r[0] if money.markets else None] = tuple(r[1:7])
    if money.markets:
        want = {m: (x["recipients"], x["failed"], x["fallbacks"], x["udel"], x["conv"], x["bdel"])
                for m, x in e.markets.items()}
        check(got == want, "%s: counts by market %r, expected %r" % (cid, got, want))
    # By scenario
    rows = rows_of(wbv["By scenario"])
    check_print(wbf["By scenario"], cid, "By scenario")
    check_headers(wbf["By scenario"], 1, cid, "By scenario")
    for k in range(1, 9):
        sc = e.scen.get("S%d" % k, {"n": 0, "us": 0, "ud": 0, "c": 0, "ss": 0, "conv": 0,
                                    "u": Sum(), "s": Sum()})
        r = rows[k]
        both = plus(sc["u"], sc["s"])
        check(r[0] == "S%d" % k and tuple(r[1:7]) == (sc["n"], sc["us"], sc["ud"], sc["c"], sc["ss"], sc["conv"]),
              "%s: scenario S%d %r" % (cid, k, r))
        same(r[10], both.shown(0), "%s: S%d total (policy)" % (cid, k))
        same(r[11], both.shown(1), "%s: S%d total (Meta)" % (cid, k))
        check(r[12] == both.unpriced, "%s: S%d unpriced %r" % (cid, k, r[12]))
    check(rows[9][0] == "Total" and rows[9][1] == e.funnel[2], "%s: scenario total %r" % (cid, rows[9]))
    check(rows[9][12] == fb.unpriced, "%s: scenario unpriced total" % cid)
    # Exclusions: every reason listed, in words with its id
    rows = rows_of(wbv["Exclusions"])
    check_print(wbf["Exclusions"], cid, "Exclusions")
    got = {r[1]: r[2] for r in rows[1:] if r[0] != "Total"}
    for reason in REASONS:
        check(got.get(reason) == e.reasons[reason], "%s: exclusion %s %r, expected %d" % (cid, reason, got.get(reason), e.reasons[reason]))
    check(all(r[0] and r[0] != r[1] for r in rows[1:-1]), "%s: a reason without its words" % cid)
    check(rows[-1][0] == "Total" and rows[-1][2] == sum(e.reasons.values()), "%s: exclusions total" % cid)
    check_left_out(money, g, cid, wbf, wbv)
    # Phones with no market: on the Summary and on Inputs, with one of them.
    # (each phone matched on the day of its last attempt)
    last_at = {}
    for a in g["attempts"]:
        if a[0] == cid:
            last_at[a[2]] = max(last_at.get(a[2], a[6]), a[6])
    lost = sorted(p for p, at in last_at.items() if not money.matches(p, day(at)))
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
    check_print(ws, cid, "Fallbacks")
    check_headers(ws, 1, cid, "Fallbacks")
    check(all("(UTC)" in str(ws.cell(1, c).value) for c in range(8, 16)), "%s: time headers say UTC" % cid)
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
        check((not money.markets or r[2] == x["market"]) and r[3] == f["scenario"] and r[6] == f["state"]
              and r[5] and r[5] != f["state"], "%s: row %r (market %r)" % (cid, r[:7], x["market"]))
        check(ws.cell(i, 5).data_type == "s" and r[4] == f["template_name"], "%s: template cell %r is not text" % (cid, r[4]))
        created = r[7]
        check(isinstance(created, dt.datetime) and int(created.replace(tzinfo=dt.timezone.utc).timestamp()) == f["created_at"],
              "%s: created %r" % (cid, created))
        u, s = x["u"], x["s"]
        unp = u.unpriced + s.unpriced
        same(r[15], None if u.unpriced else u.v[0], "%s: fallback %d utility (policy)" % (cid, r[0]))
        same(r[16], None if s.unpriced else s.v[0], "%s: fallback %d session (policy)" % (cid, r[0]))
        same(r[17], None if unp else u.v[0] + s.v[0], "%s: fallback %d total (policy)" % (cid, r[0]))
        same(r[18], None if unp else u.v[1] + s.v[1], "%s: fallback %d total (Meta)" % (cid, r[0]))
        if unp:
            check(all(shaded(ws.cell(i, c)) for c in (18, 19)), "%s: fallback %d unpriced cells not shaded" % (cid, r[0]))
        want = ("" if not x["charges"] else "unpriced" if unp == x["charges"] else "partly unpriced" if unp
                else "webhook" if x["webhook"] == x["charges"] else "mixed" if x["webhook"] else "estimated")
        check((r[19] or "") == want, "%s: fallback %d priced from %r, expected %r" % (cid, r[0], r[19], want))
        check(r[20] == (unp or None), "%s: fallback %d unpriced %r, expected %d" % (cid, r[0], r[20], unp))
        check(r[21] == x["resends"], "%s: fallback %d resends" % (cid, r[0]))
    # Inputs
    rows = rows_of(wbv["Inputs"])
    check_print(wbf["Inputs"], cid, "Inputs")
    flat = {r[0]: r[1] for r in rows if r and r[0]}
    check(flat.get("suf version"), "%s: Inputs has the version" % cid)
    check(flat.get("Session billing (policy)") == policy[2], "%s: Inputs states the policy" % cid)
    check_map_row(flat, fixtures, cid)
    hi = find_row(rows, "Kind")
    files = {os.path.basename(r[1]): r for r in rows[hi + 1:] if r[0]}
    for rel in (["markets.csv"] if money.imported_map else []) + (
            ["rates/USD_2026-07-01.csv", "rates/USD_2026-10-01.csv"] if money.cards else []):
        full = os.path.join(fixtures, rel)
        r = files.get(os.path.basename(rel))
        sha = hashlib.sha256(open(full, "rb").read()).hexdigest()
        check(r is not None and r[2] == sha and r[4] == 0, "%s: Inputs lists %s with its SHA-256" % (cid, rel))
    ci = find_row(rows, "Rate card")
    used = {}
    for k, r in enumerate(rows[ci + 1:], start=ci + 2):
        if not (r[0] and r[0].startswith("USD ")):
            continue
        check(isinstance(r[1], dt.datetime) and wbf["Inputs"].cell(k, 2).number_format == "yyyy-mm-dd",
              "%s: rate card date %r is not a date" % (cid, r[1]))
        used[r[1].strftime("%Y-%m-%d")] = r[3]
    check(used == e.cards_used, "%s: rate cards used %r, expected %r" % (cid, used, e.cards_used))
    return e


def check_map_row(flat, fixtures, cid):
    """Inputs names the market map in use: the imported fixtures map, with
    its SHA-256, or the built-in one, whose version is the same file's."""
    sha = hashlib.sha256(open(os.path.join(fixtures, "markets.csv"), "rb").read()).hexdigest()
    got = flat.get("Market map") or ""
    check((got.startswith("imported: ") and "markets.csv" in got or got.startswith("built-in"))
          and got.endswith("SHA-256 " + sha), "%s: Inputs market map %r" % (cid, got))


def cmd_check(fixtures, reports, now, policy, bare=False):
    """bare: the store had no rate card and no market map imported (suf
    then uses its built-in map, the fixtures' own)."""
    money = Money(fixtures, cards=not bare)
    money.imported_map = not bare
    g = generate()
    now_day = now[:10]
    exp = {}
    for cid in ["camp_a"] + WEIRD:
        exp[cid] = check_campaign(money, g, cid, reports, now_day, policy, fixtures)
    check(exp["camp_a"].unconverted >= 1, "camp_a has no session delivered without a conversion")
    if bare:
        check(all(e.unpriced for e in exp.values()), "with no rate card, every campaign has unpriced charges")
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
        check_print(wbf["Campaigns"], "portfolio", "Campaigns")
        check_headers(wbf["Campaigns"], 1, "portfolio", "Campaigns")
        got = {r[0]: r for r in rows[1:] if r[0] != "Total"}
        check(set(got) == set(exp), "portfolio campaigns %r" % sorted(got))
        tot = rows[-1]
        check(tot[0] == "Total", "portfolio total row")
        for cid, e in exp.items():
            r = got.get(cid)
            if r:
                fb = plus(e.util, e.sess)
                check(r[2] == e.funnel[0] and r[4] == e.funnel[2] and r[7] == e.funnel[7], "portfolio counts of %s" % cid)
                same(r[11], fb.shown(0), "portfolio fallback total of %s" % cid)
                same(r[12], fb.shown(1), "portfolio Meta total of %s" % cid)
                check(r[13] == e.unpriced, "portfolio unpriced of %s: %r, expected %d" % (cid, r[13], e.unpriced))
                if fb.unpriced:
                    check(r[14] is None, "portfolio cost per conversion of %s over unpriced charges" % cid)
                else:
                    near(r[14], fb.v[0] / e.funnel[7] if e.funnel[7] else 0, "portfolio cost per conversion of %s" % cid,
                         Decimal("0.0000000005"))
        fb_all = plus(*[plus(e.util, e.sess) for e in exp.values()])
        same(tot[11], fb_all.shown(0), "portfolio total (cached)")
        same(tot[8], plus(*[e.broadcast for e in exp.values()]).shown(0), "portfolio broadcast total (cached)")
        check(tot[13] == sum(e.unpriced for e in exp.values()), "portfolio unpriced total")
        check(tot[2] == sum(e.funnel[0] for e in exp.values()), "portfolio recipients total")
        if tot[11] is not None:
            check(str(wbf["Campaigns"].cell(len(rows), 12).value).startswith("=SUM("), "portfolio total is a formula")


def cmd_warnings(log, reports, now):
    """`suf report` said, one line per campaign, how many charges it could not price."""
    text = open(log, encoding="utf-8", errors="replace").read()
    now_day = now[:10]
    n = 0
    for d, _, fs in os.walk(reports):
        for f in fs:
            if not f.endswith("_%s.xlsx" % now_day) or f.startswith("portfolio"):
                continue
            _, wbv = load(os.path.join(d, f))
            rows = rows_of(wbv["Summary"])
            top = 1 if str(rows[0][0]).startswith("Unpriced: ") else 0
            cid = rows[top][1]
            lines = [l for l in text.splitlines() if "report: campaign '%s': " % cid in l and "unpriced" in l]
            m = re.match(r"Unpriced: (\d+) of (\d+) charges", str(rows[0][0]))
            if m:
                n += 1
                check(len(lines) == 1 and "warning" in lines[0] and "%s of %s charges unpriced" % m.groups() in lines[0],
                      "%s: one warning with the counts, got %r" % (cid, lines))
            else:
                check(not lines, "%s: warned of unpriced charges it has not: %r" % (cid, lines))
    print("warnings: %d campaigns with unpriced charges" % n)


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
        got = {r[1]: r[2] for r in rows_of(wbv["Exclusions"])[1:] if r[0] != "Total"}
        check(got == want, "%s: exclusions %r, expected %r" % (cid, got, want))
        cost = Sum()
        for phone, at, tname, lang in con.execute(
                "SELECT phone, sent_at, template_name, template_language FROM attempts "
                "WHERE campaign_id = ? AND status IN ('delivered', 'read')", (cid,)):
            cat = cats.get((tname, lang)) or "marketing"
            p = money.price(money.market(phone, day(at)), cat if cat in CATS else "marketing", day(at))
            cost.add_charge(p, p, p is None)
        i = find_row(rows, "Original campaign (delivered broadcast)")
        same(rows[i][1], cost.shown(0), "%s: broadcast cost" % cid)
        check(rows[i][3] == cost.unpriced, "%s: broadcast unpriced %r" % (cid, rows[i][3]))
        check_map_row({r[0]: r[1] for r in rows_of(wbv["Inputs"]) if r and r[0]}, fixtures, cid)


# --- Meta billed vs estimate ---------------------------------------------------

MICRO = Decimal("0.000001")
# Meta's pricing categories, as suf names them (suf_category_parse).
META_CATS = {"MARKETING": "marketing", "MARKETING_LITE": "marketing", "UTILITY": "utility",
             "AUTHENTICATION": "authentication", "SERVICE": "service",
             "AUTHENTICATION_INTERNATIONAL": "authentication_international"}
BILL_RATES = {"MARKETING": Decimal("0.0118"), "UTILITY": Decimal("0.0034"),
              "SERVICE": Decimal("0.0022"), "REFERRAL_CONVERSION": Decimal("0.0009")}


def cmd_billing_gen(db, outdir):
    """Meta's figures for every UTC day the store delivered on: made up, with
    a country and a category suf does not know, the last day without cost
    (a credit line), then the day after in a UTC-03:00 account zone."""
    import json
    import sqlite3
    con = sqlite3.connect(db)
    ts_all = [r[0] for r in con.execute(
        "SELECT delivered_at FROM sends WHERE delivered_at IS NOT NULL UNION ALL "
        "SELECT sent_at FROM attempts WHERE status IN ('delivered', 'read')")]
    first = min(ts_all) // 86400 * 86400
    last = max(ts_all) // 86400 * 86400
    rnd = random.Random(19)
    points = []
    for start in range(first, last + 86400, 86400):
        for country in ("IN", "GB", "US", "CA", "BR", "ZZ"):
            for cat in ("MARKETING", "UTILITY", "SERVICE", "REFERRAL_CONVERSION"):
                vol = rnd.randint(0, 9)
                p = {"start": start, "end": start + 86400, "volume": vol, "country": country,
                     "pricing_category": cat, "pricing_type": "REGULAR"}
                if start != last:
                    p["cost"] = float(BILL_RATES[cat] * vol)
                points.append(p)
        points.append({"start": start, "end": start + 86400, "volume": 4, "country": "IN",
                       "pricing_category": "SERVICE", "pricing_type": "FREE_CUSTOMER_SERVICE",
                       "cost": 0})
    with open(os.path.join(outdir, "utc.json"), "w") as f:
        json.dump({"id": "111", "currency": "USD",
                   "pricing_analytics": {"data": [{"data_points": points}]}}, f)
    zone = last + 86400 + 3 * 3600
    zp = [{"start": zone, "end": zone + 86400, "volume": 3, "country": "IN",
           "pricing_category": "UTILITY", "pricing_type": "REGULAR", "cost": 0.0042}]
    with open(os.path.join(outdir, "zone.json"), "w") as f:
        json.dump({"id": "111", "currency": "USD",
                   "pricing_analytics": {"data": [{"data_points": zp}]}}, f)


def billed_market(fixtures, con, country, start, end):
    """A country's market on its bucket's middle day, through
    fixtures/countries.csv and the store's market map: the sheet's words."""
    codes = {r["country"]: r["code"] for r in csv.DictReader(open(os.path.join(fixtures, "countries.csv")))}
    if not country:
        return "No country given"
    if country not in codes:
        return "Unknown country '%s'" % country
    mid = day(start + (end - start) // 2)
    best = None
    for prefix, since, market in con.execute("SELECT prefix, since, market FROM markets"):
        if codes[country].startswith(prefix) and (not since or since <= mid):
            if best is None or (len(prefix), since or "") > best[0]:
                best = ((len(prefix), since or ""), market)
    if best:
        return best[1]
    other = con.execute("SELECT 1 FROM markets WHERE market = 'Other'").fetchone()
    return "Other" if other else "No market for '%s'" % country


def dec(v, what):
    check(isinstance(v, (int, float)) and not isinstance(v, bool), "%s: %r is not a number" % (what, v))
    return Decimal(str(v)).quantize(MICRO) if isinstance(v, (int, float)) else Decimal(0)


def cmd_billed(fixtures, db, reports, now):
    import sqlite3
    import openpyxl
    con = sqlite3.connect(db)
    path = os.path.join(reports, "portfolio_%s.xlsx" % now[:10])
    wbf = openpyxl.load_workbook(path)
    wbv = openpyxl.load_workbook(path, data_only=True)
    name = "Meta billed vs estimate"
    check(name in wbv.sheetnames, "no sheet %r" % name)
    if name not in wbv.sheetnames:
        return
    # Meta's side, from the database, in Decimal.
    want = {}
    for start, end, country, cat, ptype, vol, cost in con.execute(
            "SELECT bucket_start, bucket_end, country, pricing_category, pricing_type, volume, cost "
            "FROM meta_billing"):
        if ptype.startswith("FREE"):
            continue
        key = (start, billed_market(fixtures, con, country, start, end), META_CATS.get(cat, cat))
        w = want.setdefault(key, [0, Decimal(0), True])
        w[0] += vol
        if cost is None:
            w[2] = False
        else:
            w[1] += Decimal(cost) / 1000000
    ws, wf = wbv[name], wbf[name]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    frows = [list(r) for r in wf.iter_rows(values_only=True)]
    head = next(i for i, r in enumerate(rows) if r and r[2] == "Market")
    total = next(i for i, r in enumerate(rows) if r and r[0] == "Total")
    seen = set()
    sums = [Decimal(0)] * 13
    buckets = {}
    for i in range(head + 1, total):
        r, fr = rows[i], frows[i]
        start = int(r[0].replace(tzinfo=dt.timezone.utc).timestamp())
        key = (start, r[2], r[3])
        where = "row %d %r" % (i + 1, key)
        check(key not in seen, "%s: twice" % where)
        seen.add(key)
        w = want.get(key, [0, Decimal(0), True])
        check(r[4] == w[0], "%s: Meta's messages %r, expected %r" % (where, r[4], w[0]))
        if w[2]:
            check(dec(r[5], where) == w[1], "%s: Meta's cost %r, expected %s" % (where, r[5], w[1]))
        else:
            check(r[5] == "not given" and isinstance(r[5], str), "%s: Meta's cost %r, not 'not given' text" % (where, r[5]))
            check(r[11] == "not given" and isinstance(r[11], str), "%s: difference %r, not 'not given' text" % (where, r[11]))
        check(r[10] == r[4] - r[6] - r[8], "%s: other traffic %r" % (where, r[10]))
        check(fr[10] == "=E%d-G%d-I%d" % (i + 1, i + 1, i + 1), "%s: formula %r" % (where, fr[10]))
        if w[2] and r[7] is not None and r[9] is not None:
            diff = w[1] - dec(r[7], where) - dec(r[9], where)
            check(dec(r[11], where) == diff, "%s: difference %r, expected %s" % (where, r[11], diff))
            check(fr[11] == "=F%d-H%d-J%d" % (i + 1, i + 1, i + 1), "%s: formula %r" % (where, fr[11]))
        for c in (4, 5, 6, 7, 8, 9, 10, 11):
            if isinstance(r[c], (int, float)):
                sums[c] += Decimal(str(r[c])).quantize(MICRO)
        b = buckets.setdefault(start, [int(r[1].replace(tzinfo=dt.timezone.utc).timestamp()), 0])
        b[1] += r[6] + r[8]
    check(set(want) <= seen, "Meta's rows missing from the sheet: %r" % sorted(set(want) - seen))
    t, ft = rows[total], frows[total]
    for c in (4, 5, 6, 7, 8, 9, 10, 11):
        col = "EFGHIJKL"[c - 4]
        check(ft[c] == "=SUM(%s%d:%s%d)" % (col, head + 2, col, total), "total %s: formula %r" % (col, ft[c]))
        check(dec(t[c], "total " + col) == sums[c], "total %s: %r, expected %s" % (col, t[c], sums[c]))
    # suf's side, counted here from the store: every billed message delivered
    # in a bucket (sends by their delivery, broadcasts by their time).
    for start, (end, got) in buckets.items():
        n = con.execute(
            "SELECT (SELECT count(*) FROM sends WHERE delivery IN ('delivered', 'read') AND "
            "COALESCE(pricing_billable, 1) <> 0 AND COALESCE(delivered_at, read_at, sent_at) >= ?1 "
            "AND COALESCE(delivered_at, read_at, sent_at) < ?2) + (SELECT count(*) FROM attempts "
            "WHERE status IN ('delivered', 'read') AND sent_at >= ?1 AND sent_at < ?2)",
            (start, end)).fetchone()[0]
        check(got == n, "bucket %s: suf's messages %d, the store has %d" % (day(start), got, n))
    inputs = {r[0]: r[1] for r in wbv["Inputs"].iter_rows(values_only=True) if r and r[0]}
    check("Meta billed vs estimate" in str(inputs.get("Meta billing")), "Inputs: %r" % inputs.get("Meta billing"))


def main(argv):
    if len(argv) >= 3 and argv[1] == "gen":
        emit_sql(argv[2])
        return 0
    if len(argv) >= 5 and argv[1] == "check":
        policy = ("utility", "marketing", "per_conversion")
        if len(argv) >= 7 and argv[5] == "--policy":
            policy = tuple(argv[6].split(","))
        cmd_check(argv[2], argv[3], argv[4], policy, bare="--bare" in argv[5:])
    elif len(argv) == 5 and argv[1] == "warnings":
        cmd_warnings(argv[2], argv[3], argv[4])
    elif len(argv) == 6 and argv[1] == "pipeline":
        cmd_pipeline(argv[2], argv[3], argv[4], argv[5])
    elif len(argv) == 4 and argv[1] == "same":
        cmd_same(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "split":
        cmd_split(argv[2], argv[3])
    elif len(argv) == 3 and argv[1] == "csv":
        cmd_csv(argv[2])
    elif len(argv) == 4 and argv[1] == "billing":
        cmd_billing_gen(argv[2], argv[3])
        return 0
    elif len(argv) == 6 and argv[1] == "billed":
        cmd_billed(argv[2], argv[3], argv[4], argv[5])
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
