#!/bin/sh
# report_meta_billed.sh: the portfolio's "Meta billed vs estimate" end to
# end.  The generated store of report.sh, then Meta's billing imported
# through the real binary (a file with cost and a credit-line day without,
# and one bucket of an account zone off midnight UTC); the sheet is read
# back with openpyxl and every cost cell, difference and total is checked
# in Decimal against the database.  Without billing, Inputs says so and the
# sheet is not written.
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

# No billing yet: no sheet, and Inputs says why.
"$SUF" -q --now "$now" report --out none 2>none.log || fail "report failed: $(cat none.log)"
$PY - none/portfolio_2026-11-25.xlsx <<'PY' || fail "a portfolio without billing"
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1], data_only=True)
assert "Meta billed vs estimate" not in wb.sheetnames, wb.sheetnames
rows = {r[0]: r[1] for r in wb["Inputs"].iter_rows(values_only=True) if r and r[0]}
assert str(rows.get("Meta billing", "")).startswith("none imported"), rows.get("Meta billing")
PY

mkdir -p billing
$PY "$E2E_DIR/check_report.py" billing "$SUF_DATABASE" billing
"$SUF" -q import billing billing/utc.json billing/zone.json 2>import.log ||
    fail "billing import failed: $(cat import.log)"
test "$(sqlite3 "$SUF_DATABASE" 'SELECT count(*) FROM meta_billing WHERE cost IS NULL')" -gt 0 ||
    fail "the credit-line day has no row without cost"
"$SUF" -q --now "$now" report --out box 2>report.log || fail "report failed: $(cat report.log)"
$PY "$E2E_DIR/check_report.py" billed "$fx" "$SUF_DATABASE" box "$now"
