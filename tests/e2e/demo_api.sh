#!/bin/sh
# e2e: the demo talks to the mock as to Meta's Graph API, and Meta's bill of
# the mock's own traffic is what suf estimated:
#  1. the template catalog is fetched (pages from the mock kept in the
#     templates inbox, none of the fixture files copied there) and imported;
#     the mock's catalog has no fallback_permission: suf creates it (one
#     POST), the mock's approval webhook makes it APPROVED before night 1
#     sends with it, and the restarted mock of night 2 still has it;
#  2. what Meta billed for both nights is fetched once, after night 2, and
#     imported: rows in meta_billing for each night's day, though the mock
#     was restarted between the nights;
#  3. the portfolio of the morning after has "Meta billed vs estimate",
#     every row compared, and no difference in messages or cost (worked out
#     again here from the cells, in Decimal), nothing flagged, every one of
#     suf's own messages in one of Meta's buckets, the broadcasts (sent
#     before, not through the mock) on days not fetched; the demo prints
#     the same totals.
set -eu
. "$(dirname "$0")/lib.sh"
keep_going
scratch_fresh
D=$SUF_SCRATCH/demo

timeout -k 5 180 env SUF_DEMO_DIR="$D" "$SUF_SOURCE_DIR/scripts/demo" "$SUF" \
  > "$SUF_SCRATCH/demo.out" 2>&1 || fail -x -l "$SUF_SCRATCH/demo.out" "the demo failed"
q() { sqlite3 -batch -noheader "$D/suf.db" "$1"; }

# 1. the catalog
pages=$(find "$D/inbox/templates" -name 'api-2000000002-*-p[0-9][0-9][0-9].json' | wc -l | tr -d ' ')
[ "$pages" -ge 1 ] && ok "$pages catalog pages kept in the templates inbox" ||
  fail "no catalog page in the templates inbox"
check "no fixture catalog copied into the inbox" 0 \
  "$(find "$D/inbox/templates" -name 'templates*.json' | wc -l | tr -d ' ')"
asked=$($PY -c 'import json, sys
print(sum(1 for l in open(sys.argv[1]) for r in [json.loads(l)]
          if r.get("method") == "GET" and r["status"] == 200
          and r["path"].startswith("/v23.0/2000000002/message_templates?")))' "$D/mock-requests.jsonl")
[ "$asked" -ge 1 ] && ok "the mock served the catalog $asked times" ||
  fail "the mock was never asked for the catalog"
check "the catalog imported" 20 "$(q 'SELECT count(*) FROM templates')"
check "the mock's catalog had no fallback_permission" 0 \
  "$(grep -c '"fallback_permission"' "$D/mock-catalog.json" || true)"
created=$($PY -c 'import json, sys
print(sum(1 for l in open(sys.argv[1]) for r in [json.loads(l)]
          if r.get("method") == "POST" and r["path"] == "/v23.0/2000000002/message_templates"
          and r["status"] == 200))' "$D/mock-requests.jsonl")
check "one creation posted" 1 "$created"
grep -q '^   fallback_permission (en_US): id [0-9]*, PENDING, UTILITY, created$' "$SUF_SCRATCH/demo.out" &&
  ok "the demo shows it created" || fail "the demo does not show the permission template created"
check "approved by webhook" "APPROVED|UTILITY" \
  "$(q "SELECT live_status, live_category FROM templates WHERE name = 'fallback_permission' AND language = 'en_US'")"
check "night 1 sent with it" 1 \
  "$(sed -n '/^== night 1/,/^== night 2/p' "$SUF_SCRATCH/demo.out" | grep -c 'stage utility: done.*send.sent_utility [1-9]')"
check "the restarted mock still lists it" "catalog.templates 20" \
  "$(sed -n '/^== night 2/,/^== the morning/s/.*stage catalog: done.*\(catalog.templates [0-9]*\).*/\1/p' "$SUF_SCRATCH/demo.out")"

# 2. the billing
check "one span fetched: both nights' days" "2000000002|1795478400|1795651200|1" \
  "$(q 'SELECT waba_id, since, until, cost_given FROM meta_billing_periods')"
check "billed rows on each night's day" "1795478400|1795564800" \
  "$(q 'SELECT group_concat(d, "|") FROM (SELECT DISTINCT bucket_start AS d FROM meta_billing ORDER BY 1)')"

# 3. the sheet, read back
P=$D/reports/portfolio_2026-11-26.xlsx
if $PY - "$P" > "$SUF_SCRATCH/sheet.out" 2>&1 <<'PY'; then
import sys
from decimal import Decimal
import openpyxl

wb = openpyxl.load_workbook(sys.argv[1], data_only=True)
assert "Meta billed vs estimate" in wb.sheetnames, "no Meta billed vs estimate in %s" % wb.sheetnames
ws = wb["Meta billed vs estimate"]
rows = list(ws.iter_rows(values_only=True))
head = next(i for i, r in enumerate(rows) if r[0] == "Day: Meta's bucket from (UTC)")
body = [r for r in rows[head + 1:] if r[0] != "Total"]
note = " ".join(str(r[0]) for r in rows[1:head] if r[0])
# suf's own messages all fall in Meta's buckets; the broadcasts (8 billed)
# went out before the days fetched
assert "0 in a fetched span but in none of Meta's buckets" in note, note
assert "8 on days not fetched" in note, note
total = next(r for r in rows[head + 1:] if r[0] == "Total")
assert len(body) >= 10, "only %d rows" % len(body)
money = lambda v: Decimal(str(v)).quantize(Decimal("0.000001"))
meta = sent = 0
for r in body:
    where = "%s %s %s" % (r[0], r[2], r[3])
    assert r[12] in (None, ""), "%s: flagged %r" % (where, r[12])
    assert r[4] > 0, "%s: Meta billed nothing" % where
    assert r[4] - r[6] - r[8] == 0, "%s: messages differ: Meta %s, suf %s + %s" % (
        where, r[4], r[6], r[8])
    assert money(r[5]) - money(r[7]) - money(r[9]) == 0, "%s: cost differs: Meta %s, suf %s + %s" % (
        where, r[5], r[7], r[9])
    assert r[10] == 0 and money(r[11]) == 0, "%s: the sheet's difference is %s, %s" % (
        where, r[10], r[11])
    meta += r[4]
    sent += r[6]
assert {r[0].day for r in body} == {24, 25}, "days %s" % sorted({r[0] for r in body})
assert total[4] == meta == sent and total[10] == 0 and money(total[11]) == 0, "totals %r" % (total,)
print("%d rows, %d messages" % (len(body), meta))
PY
  ok "the reconciliation sheet: $(cat "$SUF_SCRATCH/sheet.out"), no difference"
else
  fail -l "$SUF_SCRATCH/sheet.out" "the reconciliation sheet is not clean"
fi
grep -q '^   differences:  0 messages, 0.000000 USD; 0 rows flagged$' "$SUF_SCRATCH/demo.out" &&
  ok "the demo prints no difference" || fail -l "$SUF_SCRATCH/demo.out" "the demo does not print zero differences"

finish demo_api
