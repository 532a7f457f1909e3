#!/usr/bin/python3
"""Computes the final state of every fallback of the reconcile e2e test on
its own and compares it with the store.

Sources, none of them suf's own decisions:
  - the mock Cloud API's request log: which utility templates and session
    messages were accepted, for which fallback (callback data);
  - the status webhooks the mock wrote: when each message was delivered,
    or that it failed;
  - the customers' decisions (tests/mock/customers.py --decisions): who
    tapped yes or no, typed STOP, or had a copy tapped from another phone,
    and when;
  - the pass times, the consent wait and the window margin.

The rules, restated from DESIGN.md ("Reconcile"):
  - no delivery status: utility_sent; a failed status: utility_failed;
  - a "no" tap inside the consent window: declined;
  - STOP: opted_out, and so is every other fallback of the phone that was
    not converted before the STOP was seen;
  - a tap from another phone counts for nothing;
  - a "yes" after the window (72 h from delivery): a late consent, and
    no_response;
  - a "yes" in time is seen at the first pass at or after it; if that pass
    comes before consent + 24 h - margin, the session goes out then and is
    delivered: converted; otherwise window_expired;
  - nothing else: no_response once the window is over (the last pass is
    after every window).
"""

import argparse
import collections
import glob
import json
import os
import sqlite3
import sys


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def statuses(sources):
    """wamid -> {"delivered": first delivered/read time, "failed": (time, code)}"""
    files = []
    for s in sources:
        files += sorted(glob.glob(os.path.join(s, "*.jsonl"))) if os.path.isdir(s) else [s]
    out = collections.defaultdict(dict)
    for path in files:
        for body in read_jsonl(path):
            for entry in body.get("entry", []):
                for change in entry.get("changes", []):
                    for st in change.get("value", {}).get("statuses", []):
                        t, w = int(st["timestamp"]), st["id"]
                        if st["status"] in ("delivered", "read"):
                            out[w]["delivered"] = min(t, out[w].get("delivered", t))
                        elif st["status"] == "failed":
                            out[w]["failed"] = (t, st["errors"][0]["code"])
    return out


def requests(path):
    """(utility: fid -> (phone, wamid)), (session: fid -> [callbacks])"""
    utility, session = {}, collections.defaultdict(list)
    for r in read_jsonl(path):
        cb = r.get("callback") or ""
        p = cb.split(":")
        if not r.get("accepted") or len(p) != 3 or p[0] != "suf":
            continue
        fid = int(p[1])
        if p[2].startswith("u"):
            utility.setdefault(fid, (r["to"], r["wamid"]))
        else:
            session[fid].append(cb)
    return utility, session


def first_pass_at_or_after(passes, t):
    for p in passes:
        if p >= t:
            return p
    return None


def expect(args):
    passes = [int(x) for x in args.passes.split(",")]
    wait = args.wait_hours * 3600
    margin = args.margin_minutes * 60
    st = statuses(args.statuses)
    utility, _ = requests(args.requests)
    decisions = {d["fallback"]: d for d in read_jsonl(args.decisions)}
    want = {}      # fid -> (state, {column: value})
    stops = {}     # phone -> the pass that saw the STOP
    sent_pass = {}  # fid -> the pass its session went out
    for fid, (phone, wamid) in utility.items():
        s = st.get(wamid, {})
        t0 = s.get("delivered")
        d = decisions.get(fid, {"action": "silent", "ts": None})
        ts = d["ts"]
        if "failed" in s and t0 is None:
            want[fid] = ("utility_failed", {"error_code": s["failed"][1]})
            continue
        if t0 is None:
            want[fid] = ("utility_sent", {})
            continue
        cols = {"utility_delivered_at": t0}
        seen = first_pass_at_or_after(passes, ts) if ts is not None else None
        action = d["action"] if seen is not None else "silent"
        if action == "decline" and ts < t0 + wait:
            want[fid] = ("declined", dict(cols, declined_at=ts))
        elif action == "stop":
            want[fid] = ("opted_out", cols)
            stops[phone] = min(seen, stops.get(phone, seen))
        elif action == "consent" and ts >= t0 + wait:
            want[fid] = ("no_response", dict(cols, late_consent_at=ts))
        elif action == "consent" and seen < ts + 24 * 3600 - margin:
            want[fid] = ("converted", dict(cols, consented_at=ts))
            sent_pass[fid] = seen
        elif action == "consent":
            want[fid] = ("window_expired", dict(cols, consented_at=ts))
        else:
            want[fid] = ("no_response", cols)
    return want, stops, sent_pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--requests", required=True)
    p.add_argument("--statuses", action="append", required=True)
    p.add_argument("--decisions", required=True)
    p.add_argument("--passes", required=True)
    p.add_argument("--wait-hours", type=int, default=72)
    p.add_argument("--margin-minutes", type=int, default=30)
    args = p.parse_args()

    want, stops, sent_pass = expect(args)
    db = sqlite3.connect(args.db)
    db.row_factory = sqlite3.Row
    rows = {r["id"]: r for r in db.execute("SELECT * FROM fallbacks")}
    # A STOP opts out the phone's other fallbacks too, in every campaign,
    # unless their session went out (and converted) before the STOP was seen.
    for fid, r in rows.items():
        if r["phone"] in stops:
            state, cols = want.get(fid, ("?", {}))
            if not (state == "converted" and sent_pass.get(fid, 1 << 62) < stops[r["phone"]]):
                want[fid] = ("opted_out", {})
    errors = []
    for fid, (state, cols) in sorted(want.items()):
        r = rows.get(fid)
        if r is None:
            errors.append("fallback %d: not in the store" % fid)
            continue
        if r["state"] != state:
            errors.append("fallback %d (%s): state %s, expected %s"
                          % (fid, r["phone"], r["state"], state))
        for col, v in cols.items():
            if r[col] != v:
                errors.append("fallback %d: %s = %s, expected %s" % (fid, col, r[col], v))
    # Fallbacks whose utility message never went out stay out of the loop
    # (blocked: their campaign's permission template cannot be used).
    for fid, r in rows.items():
        if fid not in want and r["state"] not in ("pending", "blocked", "utility_failed",
                                                  "failed"):
            errors.append("fallback %d: state %s without an accepted utility message"
                          % (fid, r["state"]))
    # Session messages went out exactly for the conversions.
    _, session = requests(args.requests)
    for fid in set(session) | {f for f, (s, _) in want.items() if s == "converted"}:
        if (fid in session) != (want.get(fid, ("", {}))[0] == "converted"):
            errors.append("fallback %d: session requests %s, expected state %s"
                          % (fid, session.get(fid), want.get(fid, ("?",))[0]))
    for phone in stops:
        n = db.execute("SELECT COUNT(*) FROM optouts WHERE phone = ? AND source = 'stop'",
                       (phone,)).fetchone()[0]
        if n != 1:
            errors.append("phone %s: STOP not recorded in optouts" % phone)
    got = collections.Counter(r["state"] for fid, r in rows.items() if fid in want)
    exp = collections.Counter(s for s, _ in want.values())
    print("state              expected  stored")
    for s in sorted(set(got) | set(exp)):
        print("%-18s %8d %7d" % (s, exp[s], got[s]))
    if got != exp:
        errors.append("counts per state differ")
    for e in errors:
        print("  " + e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
