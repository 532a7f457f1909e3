#!/bin/sh
# report_csv.sh: the CSV tables beside the workbooks (`suf report --csv`,
# [report] csv_export).  The report test store (check_report.py gen) is
# reported with CSV, and every file is compared with its sheet; then the
# folder's life: off by default, on from the config for `suf run` too, a
# later report of the day replacing the whole folder (a stale table goes),
# a killed run's hidden folder cleaned up, and a folder of something else
# than CSV files never replaced.
set -eu
. "$(dirname "$0")/lib.sh"
fx="$SUF_SOURCE_DIR/fixtures"
now=2026-11-25T02:00:00Z
day=2026-11-25
scratch_fresh
cd "$SUF_SCRATCH"
export SUF_CONFIG=/dev/null SUF_DATABASE="$SUF_SCRATCH/suf.db" SUF_UMASK=0027
unset SUF_REPORTS_DIR SUF_CSV_EXPORT

"$SUF" -q init
"$SUF" -q import markets "$fx/markets.csv"
"$SUF" -q import rates "$fx/rates/USD_2026-07-01.csv" "$fx/rates/USD_2026-10-01.csv"
$PY "$E2E_DIR/check_report.py" gen data.sql
sqlite3 "$SUF_DATABASE" < data.sql

"$SUF" report --help | grep -q -- '--csv' || fail "report --help does not name --csv"

# Off by default: workbooks only.
"$SUF" -q --now "$now" report --out plain
[ -z "$(find plain -name '*.csv')" ] || fail "CSV files written without --csv"
ok "no CSV without --csv"

# --csv: one folder per workbook, one file per sheet, equal to the sheet.
"$SUF" --now "$now" report --out reports --csv 2>log
grep -q "report: reports/camp_a/camp_a_$day/ (CSV tables)" log || fail -l log "no CSV line logged"
test -f "reports/camp_a/camp_a_$day/fallbacks.csv" || fail "no fallbacks.csv"
test -f "reports/portfolio_$day/campaigns.csv" || fail "no portfolio campaigns.csv"
[ "$(stat -c %a "reports/camp_a/camp_a_$day")" = 750 ] || fail "CSV folder mode"
$PY "$E2E_DIR/check_report.py" csv reports
ok "every CSV file equals its sheet"

# A later report of the day replaces the folder whole: a table the new run
# does not write is gone, and no hidden folder is left behind.
printf 'stale\r\n' > "reports/camp_a/camp_a_$day/stale.csv"
mkdir "reports/camp_a/.camp_a_$day.csv.tmp99999"
printf 'half\r\n' > "reports/camp_a/.camp_a_$day.csv.tmp99999/summary.csv"
"$SUF" -q --now "$now" report --out reports --csv
[ ! -e "reports/camp_a/camp_a_$day/stale.csv" ] || fail "a stale table survived the new run"
[ -z "$(find reports -name '.*')" ] || fail "hidden files left: $(find reports -name '.*')"
$PY "$E2E_DIR/check_report.py" csv reports
ok "a later run replaces the folder and cleans a killed run's"

# A folder of the same name that holds anything but CSV files is never
# replaced: the run fails, naming it, and its files stay.
mkdir -p "taken/portfolio_$day"
echo keep > "taken/portfolio_$day/notes.txt"
if "$SUF" -q --now "$now" report --out taken --csv 2>err; then
  fail "a folder of other files was replaced"
fi
grep -q "taken/portfolio_$day: cannot write CSV tables: the name is taken" err ||
  fail -l err "the error does not name the folder"
[ "$(cat "taken/portfolio_$day/notes.txt")" = keep ] || fail "the folder's file was touched"
[ -z "$(find taken -name '.*')" ] || fail "hidden files left: $(find taken -name '.*')"
ok "a folder of other files is left alone"

# The config key: `suf report` and the nightly `suf run` write CSV too.
SUF_CSV_EXPORT=on "$SUF" -q --now "$now" report --out keyed
test -f "keyed/camp_a/camp_a_$day/summary.csv" || fail "csv_export = on wrote no CSV"
SUF_CSV_EXPORT=on SUF_REPORTS_DIR="$SUF_SCRATCH/nightly" "$SUF" -q --now "$now" run \
  --skip import,reconcile,session,plan,utility,events
$PY "$E2E_DIR/check_report.py" csv nightly
ok "csv_export = on: report and run write CSV"
echo "report_csv.sh: ok"
