#!/bin/sh
# report_no_market.sh: phones that no prefix of the market map matches are
# never priced as "Other" in silence.  The report test store
# (check_report.py gen) has phones starting 999, which the fixture map does
# not know: `suf report` and `suf run` each warn once, with the count and a
# masked example, and `suf status` has a line per campaign; a store whose
# phones all match says 0 and does not warn.
set -eu
. "$(dirname "$0")/lib.sh"
fx="$SUF_SOURCE_DIR/fixtures"
now=2026-11-25T02:00:00Z
scratch_fresh
cd "$SUF_SCRATCH"
export SUF_CONFIG=/dev/null SUF_DATABASE="$SUF_SCRATCH/suf.db"
unset SUF_REPORTS_DIR SUF_CSV_EXPORT

"$SUF" -q init
"$SUF" -q import markets "$fx/markets.csv"
"$SUF" -q import rates "$fx/rates/USD_2026-07-01.csv" "$fx/rates/USD_2026-10-01.csv"
$PY "$E2E_DIR/check_report.py" gen data.sql
sqlite3 "$SUF_DATABASE" < data.sql

# What the store holds: distinct (campaign, phone) of the broadcast whose
# phone starts 999, the only prefix the map lacks, and the first of them.
want=$(sqlite3 "$SUF_DATABASE" "SELECT count(*) FROM (SELECT DISTINCT campaign_id, phone
  FROM attempts WHERE phone LIKE '999%' AND instr(campaign_id, char(0)) = 0)")
camps=$(sqlite3 "$SUF_DATABASE" "SELECT count(DISTINCT campaign_id) FROM attempts
  WHERE phone LIKE '999%'")
[ "$want" -gt 0 ] || fail "the test store has no phone without a market"

expect_warning() { # LOG WHAT: one warning line, with the count and a masked phone
  n=$(grep -c 'match no prefix of the market map' "$1" || true)
  [ "$n" -eq 1 ] || fail -l "$1" "$2: $n warnings about phones with no market, expected 1"
  grep -Eq "^suf: warning: report: $want phones in $camps campaigns match no prefix of the market map \(e\.g\. '\+99\*+[0-9]{4}'\): priced as 'Other'" "$1" ||
    fail -l "$1" "$2: the warning does not give the count and a masked phone"
  if grep -Eq "99965[0-9]{7}" "$1"; then fail -l "$1" "$2: a full phone number in the log"; fi
  ok "$2: one warning, $want phones, masked"
}

"$SUF" --now "$now" report --out reports 2>report.log
expect_warning report.log "suf report"
SUF_REPORTS_DIR="$SUF_SCRATCH/nightly" "$SUF" --now "$now" run \
  --skip import,reconcile,session,plan,utility,events 2>run.log
expect_warning run.log "suf run"

# suf status: a line per campaign; camp_a's count is its own.
"$SUF" --now "$now" status >status.txt
lines=$(grep -c '^  phones with no market: ' status.txt)
[ "$lines" -eq "$(grep -c '^campaign ' status.txt)" ] ||
  fail -l status.txt "not one 'phones with no market' line per campaign"
sum=$(sed -n 's/^  phones with no market: \([0-9]*\).*/\1/p' status.txt | awk '{s += $1} END {print s}')
check "status: phones with no market over every campaign" "$want" "$sum"
camp_a=$(sqlite3 "$SUF_DATABASE" "SELECT count(DISTINCT phone) FROM attempts
  WHERE campaign_id = 'camp_a' AND phone LIKE '999%'")
sed -n '/^campaign camp_a /,/^campaign /p' status.txt >camp_a.txt
grep -Eq "^  phones with no market: $camp_a \(e\.g\. \+99\*+[0-9]{4}\)$" camp_a.txt ||
  fail -l status.txt "status: camp_a's line does not say $camp_a with a masked phone"
if grep -Eq "99965[0-9]{7}" status.txt; then fail -l status.txt "a full phone number in status"; fi
ok "status: one line per campaign, counts and masked examples"

# Every phone with a market: 0, and no warning.
sqlite3 "$SUF_DATABASE" "DELETE FROM attempts WHERE phone LIKE '999%'"
"$SUF" --now "$now" report --out clean 2>clean.log
if grep -q 'no prefix of the market map' clean.log; then
  fail -l clean.log "a warning with no phone lacking a market"
fi
"$SUF" --now "$now" status --campaign camp_a >clean.txt
grep -qx '  phones with no market: 0' clean.txt || fail -l clean.txt "status does not say 0"
ok "no phone without a market: no warning, and status says 0"
echo "report_no_market.sh: ok"
