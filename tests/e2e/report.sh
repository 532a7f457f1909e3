#!/bin/sh
# report.sh: `suf report` end to end.  Rate cards and the market map go in
# through the real binary; the plan/send/reconcile tables are filled with the
# sqlite3 shell from a generated data set (check_report.py gen), so every
# state, scenario, exclusion, market and pricing source is present.  The
# workbooks are then read back with openpyxl and every figure is checked
# against values computed from the fixtures, and the CSV tables against the
# workbooks; a second run with the same --now must give the same cell
# values; a second policy must change the money as computed; a store with
# no rate card shows its charges unpriced.  Then Meta's billing is imported
# through the real binary (a file with cost and a credit-line day without,
# and a bucket of an account zone off midnight UTC), and the portfolio's
# "Meta billed vs estimate" is checked in Decimal against the database;
# before that import, the sheet is absent and Inputs says why.
set -eu
. "$(dirname "$0")/lib.sh"
fx="$SUF_SOURCE_DIR/fixtures"
now=2026-11-25T02:00:00Z
scratch_fresh
cd "$SUF_SCRATCH"
export SUF_CONFIG=/dev/null SUF_DATABASE="$SUF_SCRATCH/suf.db" SUF_UMASK=0027
unset SUF_REPORTS_DIR SUF_SESSION_BILLING SUF_SESSION_BILLED_AS SUF_UTILITY_BILLED_AS

"$SUF" -q init
"$SUF" -q import markets "$fx/markets.csv"
"$SUF" -q import rates "$fx/rates/USD_2026-07-01.csv" "$fx/rates/USD_2026-10-01.csv"
$PY "$E2E_DIR/check_report.py" gen data.sql
sqlite3 "$SUF_DATABASE" < data.sql

mkdir -p box
"$SUF" -q --now "$now" report --out box/reports --csv 2>report.log ||
    fail "report failed: $(cat report.log)"
$PY "$E2E_DIR/check_report.py" check "$fx" box/reports "$now"
$PY "$E2E_DIR/check_report.py" warnings report.log box/reports "$now"
# The CSV tables: the workbooks' own, cell for cell.
$PY "$E2E_DIR/check_report.py" csv box/reports

# No billing imported: no "Meta billed vs estimate", and Inputs says why.
$PY - box/reports/portfolio_2026-11-25.xlsx <<'PY' || fail "a portfolio without billing"
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1], data_only=True)
assert "Meta billed vs estimate" not in wb.sheetnames, wb.sheetnames
rows = {r[0]: r[1] for r in wb["Inputs"].iter_rows(values_only=True) if r and r[0]}
assert str(rows.get("Meta billing", "")).startswith("none imported"), rows.get("Meta billing")
PY

# Determinism: the same store and --now give the same cell values, and the
# same CSV bytes.
"$SUF" -q --now "$now" report --out again --csv
$PY "$E2E_DIR/check_report.py" same box/reports again

# A single campaign, and one that does not exist.
"$SUF" -q --now "$now" report --campaign camp_a --out one
test "$(find one -name '*.xlsx' | wc -l)" -eq 1
if "$SUF" -q --now "$now" report --campaign no_such_campaign --out none 2>/dev/null; then
  fail "an unknown campaign must be an error"
fi

# Another policy: utility billed as marketing, sessions per message at
# Meta's service price.
SUF_UTILITY_BILLED_AS=marketing SUF_SESSION_BILLED_AS=service SUF_SESSION_BILLING=per_message \
  "$SUF" -q --now "$now" report --out policy
$PY "$E2E_DIR/check_report.py" check "$fx" policy "$now" --policy marketing,service,per_message

# Unknown is not zero: with no rate card and no market map, every charge is
# unpriced, shown blank and flagged, warned of once per campaign, and the
# report still succeeds.
export SUF_DATABASE="$SUF_SCRATCH/bare.db"
"$SUF" -q init
sqlite3 "$SUF_DATABASE" < data.sql
"$SUF" -q --now "$now" report --out bare 2>bare.log || fail "report without rates failed: $(cat bare.log)"
grep -q "no USD rate card imported; every charge is unpriced" bare.log || fail "no word of the missing card"
$PY "$E2E_DIR/check_report.py" check "$fx" bare "$now" --bare
$PY "$E2E_DIR/check_report.py" warnings bare.log bare "$now"
echo "report.sh: ok"

# What Meta billed, beside suf's estimate.
export SUF_DATABASE="$SUF_SCRATCH/suf.db"
mkdir -p billing
$PY "$E2E_DIR/check_report.py" billing "$SUF_DATABASE" billing
"$SUF" -q import billing billing/utc.json billing/zone.json 2>import.log ||
    fail "billing import failed: $(cat import.log)"
test "$(sqlite3 "$SUF_DATABASE" 'SELECT count(*) FROM meta_billing WHERE cost IS NULL')" -gt 0 ||
    fail "the credit-line day has no row without cost"
"$SUF" -q --now "$now" report --out billed 2>billed.log || fail "report failed: $(cat billed.log)"
$PY "$E2E_DIR/check_report.py" billed "$fx" "$SUF_DATABASE" billed "$now"
