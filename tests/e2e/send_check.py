#!/usr/bin/python3
"""Checks of tests/e2e/send.sh, computed from the fixtures on their own.

usage: send_check.py faults DB MOCKLOG CASES MAX_TRIES   final states of every fault class
       send_check.py once DB MOCKLOG                     nothing accepted twice; sent = accepted
       send_check.py settled DB MOCKLOG                  after a kill: every row sent or unknown,
                                                         unknown only if the mock received it
       send_check.py exactly_once DB MOCKLOG             every fallback's utility accepted once
       send_check.py outbox OUTBOX MOCKLOG DB            dry-run outbox = what was posted
       send_check.py clean DB MARKER FILE...             the marker is nowhere
       send_check.py costcap DB MOCKLOG FIXTURES NOW CAP CURRENCY
                                                         utility sends stopped by the cost cap

The expected outcome of a utility send follows from its phone's last three
digits, the mock's fault plan (tests/mock/cloudapi.py): the last two pick
the fault, the third how many times it happens (0: always).
"""

import collections
import csv
import datetime
import decimal
import glob
import json
import os
import sqlite3
import sys

TRANSIENT = {"51", "52", "53", "54", "55", "56", "57", "65", "66", "67"}
PERMANENT = {"61": 131026, "62": 131047, "63": 131050, "64": 132001}
failures = []


def fail(msg):
    failures.append(msg)


def log_rows(path):
    if not os.path.exists(path):  # the mock writes its log with the first request
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def accepted_by_callback(rows):
    acc = collections.defaultdict(list)
    for r in rows:
        if r["accepted"]:
            acc[r["callback"]].append(r)
    return acc


def sends(db):
    db.row_factory = sqlite3.Row
    return db.execute("SELECT s.*, f.phone, f.state AS fstate, f.error_code AS ferr,"
                      " f.campaign_id FROM sends s JOIN fallbacks f ON f.id = s.fallback_id"
                      " ORDER BY s.id").fetchall()


def expect_utility(s, case, max_tries, acc):
    code, times = case[-2:], int(case[-3])
    cb = s["callback"]
    if int(code) < 50 or code == "71":
        want, tries = "sent", {1}
    elif code in TRANSIENT:
        if times == 0:
            want, tries = "queued", {max_tries}
        else:
            want, tries = "sent", {times + 1}
            if code == "55":  # libcurl may replay a request whose reused connection died
                tries = set(range(1, times + 2))
    else:
        want, tries = "failed", {1}
    if s["state"] != want or s["tries"] not in tries:
        fail("%s (%s): state %s tries %s, want %s tries %s" % (cb, case, s["state"], s["tries"],
                                                            want, sorted(tries)))
    if want == "sent":
        if len(acc.get(cb, [])) != 1 or acc[cb][0]["wamid"] != s["wamid"]:
            fail("%s: sent with wamid %s but the mock accepted %s" % (cb, s["wamid"],
                                                                  [r["wamid"] for r in acc.get(cb, [])]))
        if s["fstate"] != "utility_sent":
            fail("%s: fallback %s, want utility_sent" % (cb, s["fstate"]))
    elif want == "queued":
        if s["next_try_at"] is None or s["api_code"] is None and s["http_status"] is None \
                and code not in ("54", "55"):
            fail("%s: a deferred retry needs next_try_at and the last error" % cb)
        if s["fstate"] != "pending":
            fail("%s: fallback %s, want pending" % (cb, s["fstate"]))
    else:
        if s["api_code"] != PERMANENT[code] or not s["api_error"]:
            fail("%s: api_code %s (%s), want %s" % (cb, s["api_code"], s["api_error"],
                                                   PERMANENT[code]))
        fwant = "opted_out" if code == "63" else "utility_failed"
        if s["fstate"] != fwant or s["ferr"] != PERMANENT[code]:
            fail("%s: fallback %s/%s, want %s/%s" % (cb, s["fstate"], s["ferr"], fwant,
                                                    PERMANENT[code]))


def check_faults(dbpath, logpath, casespath, max_tries):
    db = sqlite3.connect(dbpath)
    rows = log_rows(logpath)
    acc = accepted_by_callback(rows)
    with open(casespath, encoding="utf-8") as f:
        cases = {c["fallback"]: c for c in map(json.loads, f)}
    seen_cb = {r["callback"] for r in rows}
    seq = {r["callback"]: r["seq"] for r in rows if r["accepted"]}
    for s in sends(db):
        case = cases[s["fallback_id"]]["case"]
        cb = s["callback"]
        if case.startswith("u"):
            expect_utility(s, case, max_tries, acc)
        elif case in ("blocked", "optout"):
            want = "queued" if case == "blocked" else "cancelled"
            if s["state"] != want or s["tries"] != 0 or cb in seen_cb:
                fail("%s (%s): state %s tries %s, posted %s" % (cb, case, s["state"],
                                                               s["tries"], cb in seen_cb))
            if case == "optout" and s["fstate"] != "opted_out":
                fail("%s: fallback %s, want opted_out" % (cb, s["fstate"]))
        elif case in ("s_ok", "s8_ok"):
            if s["state"] != "sent" or len(acc.get(cb, [])) != 1 or s["fstate"] != "session_sent":
                fail("%s (%s): %s/%s" % (cb, case, s["state"], s["fstate"]))
            if s["part"] == 2 and not seq[cb.replace(":s2", ":s1")] < seq[cb]:
                fail("%s: part 2 reached the API before part 1" % cb)
        elif case == "s8_part1_fails":
            want = "failed" if s["part"] == 1 else "cancelled"
            if s["state"] != want or s["fstate"] != "session_failed":
                fail("%s (%s): %s/%s, want %s/session_failed" % (cb, case, s["state"],
                                                                  s["fstate"], want))
        elif case == "s_expired":
            if s["state"] != "cancelled" or s["fstate"] != "window_expired" or cb in seen_cb:
                fail("%s (%s): %s/%s" % (cb, case, s["state"], s["fstate"]))
        elif case == "s_held":
            if s["state"] != "held" or cb in seen_cb:
                fail("%s (%s): %s" % (cb, case, s["state"]))
    # session messages are time-critical: every one reached the API before any utility
    sess = [r["seq"] for r in rows if r["callback"] and ":s" in r["callback"]]
    util = [r["seq"] for r in rows if r["callback"] and ":u" in r["callback"]]
    if sess and util and max(sess) > min(util):
        fail("a utility message (seq %d) went before a session part (seq %d)" %
             (min(util), max(sess)))
    opted = db.execute("SELECT COUNT(*) FROM optouts WHERE source = 'error_131050'").fetchone()[0]
    if opted != sum(1 for c in cases.values() if c["case"][-2:] == "63"):
        fail("optouts from 131050: %d" % opted)


def check_once(dbpath, logpath):
    db = sqlite3.connect(dbpath)
    acc = accepted_by_callback(log_rows(logpath))
    for cb, rs in acc.items():
        if len(rs) > 1:
            fail("%s accepted %d times" % (cb, len(rs)))
    for s in sends(db):
        if s["state"] == "in_flight":
            fail("%s still in_flight" % s["callback"])
        if s["state"] == "sent":
            rs = acc.get(s["callback"], [])
            if len(rs) != 1 or rs[0]["wamid"] != s["wamid"]:
                fail("%s sent as %s, accepted %d times" % (s["callback"], s["wamid"], len(rs)))
        elif s["state"] in ("queued", "failed", "cancelled", "held") and s["callback"] in acc:
            fail("%s is %s but the API accepted it" % (s["callback"], s["state"]))


def check_settled(dbpath, logpath):
    check_once(dbpath, logpath)
    db = sqlite3.connect(dbpath)
    states = collections.Counter(s["state"] for s in sends(db))
    if set(states) - {"sent", "unknown"}:
        fail("after the kill and a rerun, rows are %s; want only sent or unknown" % dict(states))
    received = {r["callback"] for r in log_rows(logpath)}
    for s in sends(db):
        if s["state"] == "unknown" and s["callback"] not in received:
            fail("%s is unknown, but its request never reached the mock" % s["callback"])
    print("after kill -9 and a rerun: %s" % dict(states))


def check_exactly_once(dbpath, logpath):
    check_once(dbpath, logpath)
    db = sqlite3.connect(dbpath)
    acc = accepted_by_callback(log_rows(logpath))
    by_fb = collections.Counter()
    for cb, rs in acc.items():
        if cb and ":u" in cb:
            by_fb[cb.split(":")[1]] += len(rs)
    fbs = [str(r[0]) for r in db.execute("SELECT id FROM fallbacks")]
    for fb in fbs:
        if by_fb[fb] != 1:
            fail("fallback %s: its utility message was accepted %d times" % (fb, by_fb[fb]))
    print("%d fallbacks, each utility message accepted exactly once: %s" %
          (len(fbs), all(by_fb[fb] == 1 for fb in fbs)))


def check_outbox(outbox, logpath, dbpath):
    with open(outbox, "rb") as f:
        lines = f.read().split(b"\n")
    if lines[-1] != b"":
        fail("the outbox does not end with a newline")
    lines = sorted(lines[:-1])
    posted = sorted(r["body"].encode("utf-8") for r in log_rows(logpath) if r["accepted"])
    stored = sorted(r[0].encode("utf-8") if isinstance(r[0], str) else r[0]
                    for r in sqlite3.connect(dbpath).execute(
                        "SELECT body FROM sends WHERE state = 'sent'"))
    if lines != posted:
        fail("outbox (%d lines) differs from what was posted (%d)" % (len(lines), len(posted)))
    if posted != stored:
        fail("what was posted differs from the stored bodies")
    print("outbox: %d lines, identical to the %d bodies posted" % (len(lines), len(posted)))


def check_clean(dbpath, marker, files):
    m = marker.encode()
    for path in files:
        with open(path, "rb") as f:
            if m in f.read():
                fail("the token appears in %s" % path)
    db = sqlite3.connect(dbpath)
    for line in db.iterdump():
        if marker in line:
            fail("the token appears in the database: %s" % line[:80])
    print("token marker absent from %d files and the database" % len(files))


def micros(text):
    return int(decimal.Decimal(text) * 1000000)


def read_cards(fixtures, currency):
    """{effective date: {market: utility micros or None}} from Meta's layout."""
    cards = {}
    for path in glob.glob(os.path.join(fixtures, "rates", "%s_*.csv" % currency)):
        day = os.path.basename(path)[len(currency) + 1:-4]
        rows, seen_header = {}, False
        with open(path, encoding="utf-8-sig", newline="") as f:
            for row in csv.reader(f):
                if not seen_header:
                    seen_header = bool(row) and row[0].strip() == "Market"
                    col = [c.strip().lower() for c in row].index("utility") if seen_header else 0
                    continue
                if len(row) > col and row[1].strip() == currency:  # not a footnote
                    v = row[col].strip()
                    rows[row[0].strip()] = None if v.lower() == "n/a" else micros(v)
        cards[day] = rows
    return cards


def read_markets(fixtures):
    with open(os.path.join(fixtures, "markets.csv"), encoding="utf-8-sig", newline="") as f:
        return [(r["prefix"].strip(), r["since"].strip(), r["market"].strip())
                for r in csv.DictReader(f)]


def market_of(markets, phone, day):
    for n in range(len(phone), 0, -1):
        hits = sorted((since, m) for p, since, m in markets
                      if p == phone[:n] and (not since or since <= day))
        if hits:
            return hits[-1][1]
    return "Other"


def check_costcap(dbpath, logpath, fixtures, now, cap, currency):
    """Recomputes from the fixtures which utility sends fit under the cap: in
    row order, the Utility rate of the phone's market on the card in effect
    on the day; unknown prices are skipped; the first that does not fit
    stops the rest."""
    day = datetime.datetime.fromtimestamp(int(now), datetime.timezone.utc).strftime("%Y-%m-%d")
    cards = read_cards(fixtures, currency)
    effective = max((d for d in cards if d <= day), default=None)
    card = cards.get(effective, {})
    markets = read_markets(fixtures)
    cap = micros(cap)
    spent, stopped, want = 0, False, {}
    for s in sends(sqlite3.connect(dbpath)):
        if s["kind"] != "u":
            continue
        price = card.get(market_of(markets, s["phone"], day))
        if price is None and not stopped:
            want[s["callback"]] = "unpriced"
        elif stopped or spent + price > cap:
            stopped = True
            want[s["callback"]] = "left"
        else:
            spent += price
            want[s["callback"]] = "sent"
    acc = accepted_by_callback(log_rows(logpath))
    posted = {r["callback"] for r in log_rows(logpath)}
    for s in sends(sqlite3.connect(dbpath)):
        w = want.get(s["callback"])
        if w is None:
            continue
        if w == "sent" and (s["state"] != "sent" or len(acc.get(s["callback"], [])) != 1):
            fail("%s: %s, want sent once under the cap" % (s["callback"], s["state"]))
        if w != "sent" and (s["state"] != "queued" or s["tries"] != 0 or s["callback"] in posted):
            fail("%s (%s): %s tries %s, want queued and never posted" % (
                s["callback"], w, s["state"], s["tries"]))
    counts = collections.Counter(want.values())
    print("cost cap %d micros %s (card %s): %s, %d micros spent" % (cap, currency, effective,
                                                                    dict(counts), spent))
    return counts


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "faults":
        check_faults(args[0], args[1], args[2], int(args[3]))
        check_once(args[0], args[1])
    elif cmd == "once":
        check_once(*args)
    elif cmd == "settled":
        check_settled(*args)
    elif cmd == "exactly_once":
        check_exactly_once(*args)
    elif cmd == "outbox":
        check_outbox(*args)
    elif cmd == "clean":
        check_clean(args[0], args[1], args[2:])
    elif cmd == "costcap":
        counts = check_costcap(*args[:6])
        want = args[6:] or ["sent", "left"]
        for k in want:
            if not counts[k]:
                fail("no utility send ended %s: the case proves nothing" % k)
    else:
        sys.exit("unknown check " + cmd)
    for f in failures:
        print("FAIL: " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
