#!/bin/sh
# report_split.sh (slow): a campaign with just over Excel's 1,048,575 data
# rows of fallbacks continues on 'Fallbacks (2)'.  The store is generated
# with a recursive CTE; the workbook is checked from its XML parts (sheet
# names, and each sheet's <dimension ref>), never row by row.
set -eu
. "$(dirname "$0")/lib.sh"
n=${SUF_SPLIT_ROWS:-1048580}
scratch_fresh
cd "$SUF_SCRATCH"
export SUF_CONFIG=/dev/null SUF_DATABASE="$SUF_SCRATCH/suf.db"
"$SUF" -q init
"$SUF" -q import markets "$SUF_SOURCE_DIR/fixtures/markets.csv"
"$SUF" -q import rates "$SUF_SOURCE_DIR/fixtures/rates"
sqlite3 "$SUF_DATABASE" <<SQL
BEGIN;
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $n)
INSERT INTO fallbacks (id, campaign_id, phone, attempt_id, template_name, scenario, state,
                       state_at, created_at, utility_sent_at, utility_delivered_at)
SELECT i, 'big', printf('91%010d', i), i, 'winter_sale', 'S' || (1 + i % 8), 'utility_delivered',
       1795600000 + i, 1795500000 + i, 1795500060 + i, 1795500120 + i FROM k;
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $n)
INSERT INTO sends (fallback_id, kind, part, n, callback, body, state, delivery, delivered_at, sent_at)
SELECT i, 'u', 1, 1, 'suf:' || i || ':u1', '{}', 'sent', 'delivered', 1795500120 + i, 1795500060 + i FROM k;
COMMIT;
SQL
"$SUF" -q --now 2026-11-25T02:00:00Z report --out reports
$PY "$E2E_DIR/check_report.py" split reports "$n"
echo "report_split.sh: ok"
