#!/bin/sh
# report_pipeline.sh: the workbooks after the real pipeline's first stages.
# The shared fixtures go in through `suf import` (templates, campaigns,
# deliveries, markets, rates) and `suf plan` decides every recipient; the
# report's funnel head, exclusions and broadcast costs are then checked
# against the store's rows, priced independently from the fixture cards, and
# the CSV tables ([report] csv_export) against the workbooks, cell for cell.
set -eu
. "$(dirname "$0")/lib.sh"
fx="$SUF_SOURCE_DIR/fixtures"
now=2026-11-24T02:00:00Z
scratch_fresh
cd "$SUF_SCRATCH"
export SUF_CONFIG=/dev/null SUF_DATABASE="$SUF_SCRATCH/suf.db"
"$SUF" -q init
"$SUF" -q import templates "$fx/templates.json" "$fx/templates-page2.json"
"$SUF" -q import campaigns "$fx/campaigns.csv"
"$SUF" -q import deliveries "$fx/deliveries.csv"
"$SUF" -q import markets "$fx/markets.csv"
"$SUF" -q import rates "$fx/rates"
"$SUF" -q --now "$now" plan 2>/dev/null # refused permission templates log errors
SUF_CSV_EXPORT=on "$SUF" -q --now "$now" report --out reports
$PY "$E2E_DIR/check_report.py" pipeline "$fx" "$SUF_DATABASE" reports "$now"
$PY "$E2E_DIR/check_report.py" csv reports
echo "report_pipeline.sh: ok"
