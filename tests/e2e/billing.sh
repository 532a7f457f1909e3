#!/bin/sh
# e2e billing: what Meta billed, imported from pricing_analytics responses.
#  - `suf import billing FILE` stores a response with costs (one point per
#    day x country x category x pricing type) and one from an account on a
#    partner's credit line (volume only): the costs are exact micros, and a
#    missing cost is NULL in the database, never 0;
#  - a bad data point lands in `rejects` with its position and reason, and
#    the good points of the same file are stored;
#  - the same file again is skipped by its hash; a file that is not a
#    response is refused (exit 65) and nothing of it is kept;
#  - `suf run` imports the files dropped in inbox_billing.
#
# Env: SUF (the binary), SUF_SOURCE_DIR (the tree), SUF_SCRATCH (a folder).
set -eu
. "$(dirname "$0")/lib.sh"
keep_going
scratch_fresh
cd "$SUF_SCRATCH"
db="$SUF_SCRATCH/suf.db"
unset SUF_CONFIG

suf() { timeout -k 2 20 "$SUF" --db "$db" --now 2026-11-27T02:00:00Z "$@"; }
run_rc() { set +e; "$@" >out.txt 2>err.txt; echo $?; set -e; }
sql() { sqlite3 -batch -noheader "$db" "$1"; }

check "init" 0 "$(run_rc suf init)"

# 2026-11-24 and 2026-11-25 (UTC days), as Meta's nested response.
cat >billed.json <<'EOF'
{"currency":"USD","pricing_analytics":{"data":[{"data_points":[
 {"start":1795478400,"end":1795564800,"country":"IN","phone_number":"15550001111","pricing_type":"REGULAR","pricing_category":"UTILITY","volume":120,"cost":0.0353},
 {"start":1795478400,"end":1795564800,"country":"BR","phone_number":"15550001111","pricing_type":"REGULAR","pricing_category":"MARKETING","tier":"0:MAX","volume":7,"cost":0.4375},
 {"start":1795564800,"end":1795651200,"country":"IN","phone_number":"15550001111","pricing_type":"FREE_CUSTOMER_SERVICE","pricing_category":"SERVICE","volume":4,"cost":0}
]}]},"id":"102290129340398"}
EOF
check "import billing with costs exits 0" 0 "$(run_rc suf import billing billed.json)"
check "three points stored" 3 "$(sql 'SELECT count(*) FROM meta_billing')"
check "0.0353 is 35300 micros" 35300 \
  "$(sql "SELECT cost FROM meta_billing WHERE country = 'IN' AND pricing_category = 'UTILITY'")"
check "0.4375 is 437500 micros, tier kept" 437500 \
  "$(sql "SELECT cost FROM meta_billing WHERE country = 'BR' AND tier = '0:MAX'")"
check "a free row costs 0, given" "0|USD" \
  "$(sql "SELECT cost, currency FROM meta_billing WHERE pricing_type = 'FREE_CUSTOMER_SERVICE'")"
check "the period fetched" "102290129340398|1795478400|1795651200|1" \
  "$(sql 'SELECT waba_id, since, until, cost_given FROM meta_billing_periods')"

# The credit-line account: no cost at all (absent, or null), and one bad point.
cat >volume-only.json <<'EOF'
{"pricing_analytics":{"data":[{"data_points":[
 {"start":1795737600,"end":1795824000,"country":"IN","pricing_type":"REGULAR","pricing_category":"UTILITY","volume":50},
 {"start":1795737600,"end":1795824000,"country":"ID","pricing_type":"REGULAR","pricing_category":"UTILITY","volume":3,"cost":null},
 {"start":1795737600,"end":1795824000,"country":"US","pricing_type":"REGULAR","pricing_category":"UTILITY","volume":2,"cost":0.12345678}
]}]},"id":"555"}
EOF
# one reject of three rows is over max_reject_ratio (1%): exit 65, the rest kept
check "import billing without costs exits 65 (a reject)" 65 "$(run_rc suf import billing volume-only.json)"
check "the two good points stored" 2 "$(sql "SELECT count(*) FROM meta_billing WHERE waba_id = '555'")"
check "no cost is NULL" 2 "$(sql "SELECT count(*) FROM meta_billing WHERE waba_id = '555' AND cost IS NULL")"
check "no cost is never 0" 0 "$(sql "SELECT count(*) FROM meta_billing WHERE waba_id = '555' AND cost = 0")"
check "the volumes kept" 53 "$(sql "SELECT sum(volume) FROM meta_billing WHERE waba_id = '555'")"
check "the period says no cost given" 0 "$(sql "SELECT cost_given FROM meta_billing_periods WHERE waba_id = '555'")"
check "the bad point in rejects with its position" \
  "0|data[0].data_points[2]: cost '0.12345678' has more than 6 decimals" \
  "$(sql "SELECT line, reason FROM rejects WHERE file LIKE '%volume-only.json'")"
grep -q "volume-only.json: data\[0\].data_points\[2\]: cost '0.12345678' has more than 6 decimals" err.txt ||
  fail -l err.txt "the reject is not in the log"

check "the same file again exits 0" 0 "$(run_rc suf import billing billed.json)"
grep -q "billed.json: imported before (same SHA-256), nothing to do" err.txt ||
  fail -l err.txt "the second import does not say it skipped"
check "no third file of the kind" 2 "$(sql "SELECT count(*) FROM files WHERE kind = 'billing'")"

printf '{"pricing_analytics":{"data":[{"data_points":[\n{"start":1795478400,' >broken.json
check "a broken file exits 65" 65 "$(run_rc suf import billing broken.json)"
grep -q "broken.json:2: not a pricing_analytics response" err.txt || fail -l err.txt "the broken file is not named"
check "nothing of it kept" 0 "$(sql "SELECT count(*) FROM files WHERE path LIKE '%broken.json'")"
check "no row from it" 5 "$(sql 'SELECT count(*) FROM meta_billing')"

# --- the inbox ----------------------------------------------------------
# A re-fetch of 2026-11-24..25 with one row changed and one Meta no longer
# reports, dropped in inbox_billing: `suf run` imports it and it replaces the
# span.
mkdir -p inbox/billing
cat >inbox/billing/refetch.json <<'EOF'
{"currency":"USD","pricing_analytics":{"data":[{"data_points":[
 {"start":1795478400,"end":1795564800,"country":"IN","phone_number":"15550001111","pricing_type":"REGULAR","pricing_category":"UTILITY","volume":121,"cost":0.04},
 {"start":1795564800,"end":1795651200,"country":"IN","phone_number":"15550001111","pricing_type":"FREE_CUSTOMER_SERVICE","pricing_category":"SERVICE","volume":4,"cost":0}
]}]},"id":"102290129340398"}
EOF
touch -d '-1 minute' inbox/billing/refetch.json
cat >suf.conf <<EOF
[general]
database = $db
reports_dir = $SUF_SCRATCH/reports
[inbox]
inbox_billing = inbox/billing
EOF
runsuf() {
  timeout -k 2 20 "$SUF" -c suf.conf --now 2026-11-27T02:00:00Z run \
    --skip reconcile,session,plan,utility,events,report
}
check "run exits 0" 0 "$(run_rc runsuf)"
check "run imported the inbox file" 1 "$(sql "SELECT count(*) FROM files WHERE path LIKE '%inbox/billing/refetch.json'")"
check "the re-fetched row replaced" "121|40000" \
  "$(sql "SELECT volume, cost FROM meta_billing WHERE waba_id = '102290129340398' AND pricing_category = 'UTILITY'")"
check "the row Meta no longer reports is gone" 0 \
  "$(sql "SELECT count(*) FROM meta_billing WHERE country = 'BR'")"
check "the other account untouched" 2 "$(sql "SELECT count(*) FROM meta_billing WHERE waba_id = '555'")"

finish billing
