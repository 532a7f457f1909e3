#!/usr/bin/python3
"""crash_check.py DB MOCK_LOG DECISIONS EXPECTED_JSON REPORT SINCE UNTIL

The invariants after a trial of the crash harness, checked against the
mock's request log and values computed from the inputs, not from suf:
  - no request body (callback data) was accepted by the API twice, and each
    fallback's utility message was accepted at most once plus the re-sends
    of `unknown` rows that the store (and so the report) counts;
  - no consent lost: every customer who tapped "yes" from their own phone,
    in the window, before the night-2 run, is consented (or further on);
  - the outcome counts equal the recipients, and match the export;
  - the workbook's funnel equals the store's and the expected figures.
"""
import collections
import json
import sqlite3
import sys

import openpyxl

db, log, decisions, expected, report, since, until = sys.argv[1:8]
since, until = int(since), int(until)
exp = json.load(open(expected))
con = sqlite3.connect(db)
q = lambda sql, *a: con.execute(sql, a).fetchall()
errors = []

accepted = collections.Counter()
per_fallback = collections.Counter()
for line in open(log):
    r = json.loads(line)
    if not r.get("accepted"):
        continue
    accepted[r["callback"]] += 1
    if r["type"] == "template":
        per_fallback[int(r["callback"].split(":")[1])] += 1
twice = [cb for cb, n in accepted.items() if n > 1]
if twice:
    errors.append("callbacks accepted twice: %s" % twice[:5])
resends = dict(q("SELECT fallback_id, count(*) FROM sends WHERE kind = 'u' AND resend_of IS NOT NULL"
                 " GROUP BY fallback_id"))
over = [f for f, n in per_fallback.items() if n > 1 + resends.get(f, 0)]
if over:
    errors.append("utility messages posted more than once: fallbacks %s" % over[:5])

n_recipients = q("SELECT count(*) FROM recipients")[0][0]
if n_recipients != exp["recipients"]:
    errors.append("recipients %d, expected %d" % (n_recipients, exp["recipients"]))
outcomes = dict(q("SELECT outcome, count(*) FROM recipients GROUP BY outcome"))
if sum(outcomes.values()) != n_recipients:
    errors.append("outcome counts do not add up")
if outcomes.get("fallback", 0) != exp["fallbacks"] or outcomes.get("delivered", 0) != exp["delivered"]:
    errors.append("outcomes %s, expected %s" % (outcomes, exp))
if q("SELECT count(*) FROM fallbacks")[0][0] != exp["fallbacks"]:
    errors.append("fallback rows differ from the expected %d" % exp["fallbacks"])

want_consent = set()
for line in open(decisions):
    d = json.loads(line)
    if (d["action"] == "consent" and d["from"] == d["phone"] and d["ts"] is not None
            and since < d["ts"] <= until and d["ts"] - d["delivered_at"] <= 72 * 3600):
        want_consent.add(d["fallback"])
got = {r[0] for r in q("SELECT id FROM fallbacks WHERE consented_at IS NOT NULL")}
lost = want_consent - got
if lost:
    errors.append("%d consents lost, e.g. fallbacks %s" % (len(lost), sorted(lost)[:5]))
extra = got - want_consent
if extra:
    errors.append("%d consents nobody gave, e.g. %s" % (len(extra), sorted(extra)[:5]))

ws = openpyxl.load_workbook(report)["Summary"]
funnel = {r[0].value: r[1].value for r in ws.iter_rows(min_row=1, max_row=20) if r[0].value}
store = {
    "Recipients": n_recipients,
    "Fallbacks": exp["fallbacks"],
    "Utility sent": q("SELECT count(DISTINCT fallback_id) FROM sends WHERE kind = 'u'"
                      " AND state = 'sent'")[0][0],
    "Consented": len(got),
}
for k, v in store.items():
    if funnel.get(k) != v:
        errors.append("workbook %s = %r, expected %r" % (k, funnel.get(k), v))
if store["Utility sent"] != len(per_fallback):
    errors.append("the store says %d utility messages sent, the API accepted %d"
                  % (store["Utility sent"], len(per_fallback)))

if errors:
    print("\n".join("FAIL: " + e for e in errors))
    sys.exit(1)
print("ok: %d recipients, %d fallbacks, %d utility accepted, %d consents, %d re-sends"
      % (n_recipients, exp["fallbacks"], len(per_fallback), len(got), sum(resends.values())))
