#!/bin/sh
# enabled.sh: Smart Utility Fallback applies to a campaign when it is
# enabled.  With the config `suf init --sample` writes ([plan] fallback off,
# its default) and no campaign settings, import and plan give no fallback:
# each failed recipient is excluded:fallback_not_enabled, and --explain,
# --list, status and the run summary say why and how to turn it on.  A
# campaign whose settings say off stays fallback_off.  Switching the key on
# gives the other campaigns their fallbacks.
set -eu
. "$(dirname "$0")/lib.sh"
night1=2026-11-24T02:00:00Z fx=$SUF_SOURCE_DIR/fixtures
hint='set fallback to on in its campaign settings, or [plan] fallback = on'
scratch_fresh
cd "$SUF_SCRATCH"

"$SUF" init --sample suf.conf || fail "init --sample"
grep -q '^#fallback = off$' suf.conf || fail -l suf.conf "the sample does not show '#fallback = off'"
grep -B1 '^#fallback = off$' suf.conf | grep -q 'paid utility message per failed recipient' ||
  fail -l suf.conf "the sample does not say what fallback on costs"
ok "the sample shows fallback off and its cost"

suf() { "$SUF" -q -c suf.conf --db suf.db --now $night1 "$@"; }
count() { sqlite3 suf.db "$1"; }
suf init
suf import templates "$fx"/templates*.json
suf import deliveries "$fx/deliveries.csv"
# One campaign is switched off on purpose: its reason stays fallback_off.
head -1 "$fx/campaigns.csv" > settings.csv
printf 'camp_off,Loyalty,off,,,,,\n' >> settings.csv
suf import campaigns settings.csv
suf plan

check "no fallback with the default config" 0 "$(count 'SELECT count(*) FROM fallbacks')"
check "no send with the default config" 0 "$(count 'SELECT count(*) FROM sends')"
not_enabled=$(count "SELECT count(*) FROM recipients WHERE reason = 'fallback_not_enabled'")
[ "$not_enabled" -gt 0 ] || fail "no recipient is excluded:fallback_not_enabled"
check "camp_off is fallback_off, not not_enabled" "excluded|fallback_off" \
  "$(count "SELECT outcome || '|' || reason FROM recipients WHERE phone = '919812300077'")"
check "only camp_off's recipient is fallback_off" 1 \
  "$(count "SELECT count(*) FROM recipients WHERE reason = 'fallback_off'")"

suf plan --explain '+91 98123 44567' --campaign camp_s1 > explain.txt
grep "^rule now (as of $night1): excluded:fallback_not_enabled: " explain.txt | grep -qF "$hint" ||
  fail -l explain.txt "explain does not name fallback_not_enabled with the hint"
grep -q "^stored outcome: excluded:fallback_not_enabled: " explain.txt ||
  fail -l explain.txt "explain does not show the stored reason"
ok "explain names fallback_not_enabled and how to turn it on"
suf plan --explain --campaign camp_s1 --list > list.txt
grep "^919812344567 *excluded *fallback_not_enabled " list.txt | grep -qF "$hint" ||
  fail -l list.txt "--list does not name fallback_not_enabled with the hint"
ok "--list names fallback_not_enabled and how to turn it on"

"$SUF" -c suf.conf --db suf.db --now $night1 status > status.txt
grep -q "^  stopped: not_enabled: fallback is not enabled for this campaign" status.txt ||
  fail -l status.txt "status does not say camp_s1 is not enabled"
grep -A3 '^campaign camp_off' status.txt | grep -q "^  stopped: off: fallback is off" ||
  fail -l status.txt "status does not say camp_off is off"
"$SUF" -c suf.conf --db suf.db --now $night1 status --json --campaign camp_s1 > status.json
$PY - status.json <<'EOF' || fail -l status.json "status --json: camp_s1 is not stopped as not_enabled"
import json, sys
c = json.load(open(sys.argv[1]))["campaigns"][0]
assert c["id"] == "camp_s1" and c["stopped"] == "not_enabled" and not c["fallback"], c
assert "[plan] fallback = on" in c["stopped_reason"], c
EOF
ok "status says not enabled"
"$SUF" -c suf.conf --db suf.db --now $night1 run --dry-run > run.log 2>&1 || true
grep -q "summary: attention: $not_enabled failed recipients of 15 campaigns get no fallback: it is not enabled for 'camp_carousel', .*, \.\.\. (set fallback to on" run.log ||
  fail -l run.log "the run summary does not name camp_s1 as not enabled"
ok "the run summary says not enabled"

# The key on: every campaign without a setting gets its fallbacks.
sed -i 's/^#fallback = off$/fallback = on/' suf.conf
suf plan
check "no recipient is left not enabled with the key on" 0 \
  "$(count "SELECT count(*) FROM recipients WHERE reason = 'fallback_not_enabled'")"
fallbacks=$(count 'SELECT count(*) FROM fallbacks')
[ "$fallbacks" -gt 0 ] || fail "no fallback with [plan] fallback = on"
check "camp_s1's recipient gets a fallback with the key on" fallback \
  "$(count "SELECT outcome FROM recipients WHERE campaign_id = 'camp_s1' AND phone = '919812344567'")"
check "camp_off stays fallback_off with the key on" "excluded|fallback_off" \
  "$(count "SELECT outcome || '|' || reason FROM recipients WHERE phone = '919812300077'")"
echo "enabled: ok ($not_enabled not enabled with the key off; $fallbacks fallbacks with it on)"
