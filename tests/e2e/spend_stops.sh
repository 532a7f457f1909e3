#!/bin/sh
# Spend stops when a campaign does.  Plans the fixtures, then: a campaign
# switched off after planning sends nothing (dry run and real), its
# fallbacks are blocked with the reason and status says so, and switching
# it back on sends them; a campaign whose valid_until is too near for a
# consent window is not started; a PAUSED permission template blocks and an
# APPROVED one resumes; `suf cancel` stops a campaign, says how many
# fallbacks it stopped, and a later plan and send do nothing for it.
set -eu
. "$(dirname "$0")/lib.sh"
. "$SUF_SOURCE_DIR/scripts/pipeline.sh"
keep_going
scratch_fresh
D=$SUF_SCRATCH
NOW=2026-11-24T02:00:00Z
NOW_EPOCH=1795485600

q() { sqlite3 "$D/suf.db" "$1"; }
suf() { "$SUF" -c "$D/suf.conf" --now "$NOW" "$@"; }
# campaigns SED-ARGS...: the fixture's settings with these edits, imported.
S1_OFF='s/^camp_s1,Black Friday teaser,on,/camp_s1,Black Friday teaser,off,/'
S8_SHORT='s/^camp_s8,Gift guide,true,1,,,,/camp_s8,Gift guide,true,1,,2026-11-25T02:00:00Z,,/'
campaigns() {
  sed "$@" "$SUF_SOURCE_DIR/fixtures/campaigns.csv" > "$D/campaigns.csv"
  suf -q import campaigns "$D/campaigns.csv" || fail "import campaigns failed"
}
# sent CAMPAIGN: its utility messages accepted by the API.
sent() {
  q "SELECT count(*) FROM sends s JOIN fallbacks f ON f.id = s.fallback_id
     WHERE f.campaign_id = '$1' AND s.kind = 'u' AND s.state = 'sent'"
}
# posted CAMPAIGN: its utility messages in the last dry run's outbox.
posted() {
  ids=$(q "SELECT group_concat(id, '|') FROM fallbacks WHERE campaign_id = '$1'")
  cat "$D"/outbox/*.jsonl 2>/dev/null | grep -cE "\"suf:($ids):u1\"" || true
}
state_of() { q "SELECT group_concat(DISTINCT state) FROM fallbacks WHERE campaign_id = '$1'"; }

pipeline_setup "$D"
mock_start "$D" "$NOW_EPOCH"
printf '[plan]\nfallback = on\n' >> "$D/suf.conf"
suf -q init
suf -q import markets "$SUF_SOURCE_DIR/fixtures/markets.csv"
suf -q run --skip reconcile,session,utility,events,report || fail "import and plan failed"
check "camp_s1 is planned" "pending" "$(state_of camp_s1)"

# 1. Switched off after planning: nothing goes, in a dry run or for real.
#    camp_s8 now ends in 24 h, before a consent window (72 h) could close.
campaigns -e "$S1_OFF" -e "$S8_SHORT"
suf send --dry-run --campaign camp_s1 2> "$D/dry.log" || fail -l "$D/dry.log" "send --dry-run failed"
check "a dry run posts nothing for a campaign switched off" 0 "$(posted camp_s1)"
grep -q "campaign 'camp_s1': fallback is switched off for the campaign" "$D/dry.log" ||
  fail -l "$D/dry.log" "the dry run does not say why camp_s1 sends nothing"
suf send 2> "$D/send1.log" || fail -l "$D/send1.log" "send failed"
check "send sends nothing for a campaign switched off" 0 "$(sent camp_s1)"
check "its fallbacks are blocked" "blocked" "$(state_of camp_s1)"
check "with the reason" "campaign_off" \
  "$(q "SELECT group_concat(DISTINCT reason) FROM fallbacks WHERE campaign_id = 'camp_s1'")"
[ "$(sent camp_winter)" -gt 0 ] || fail "the other campaigns were not sent"
suf status --campaign camp_s1 > "$D/status1.txt" || fail "status failed"
grep -q "blocked: 2 fallbacks (campaign_off: fallback is switched off for the campaign)" \
  "$D/status1.txt" || fail -l "$D/status1.txt" "status does not show camp_s1 blocked and why"
suf status --campaign camp_s1 --json > "$D/status1.json"
$PY - "$D/status1.json" <<'PY' || fail -l "$D/status1.json" "status --json does not show the block"
import json, sys
c = json.load(open(sys.argv[1]))["campaigns"][0]
held = c["held"]
assert held == [{"state": "blocked", "reason": "campaign_off",
                 "detail": "fallback is switched off for the campaign", "fallbacks": 2}], held
PY

suf run --skip import,reconcile,session,plan,utility,events,report,retention 2> "$D/run1.log" ||
  fail -l "$D/run1.log" "run failed"
grep -q "summary: attention: campaign 'camp_s1': 2 fallbacks blocked: fallback is switched off" \
  "$D/run1.log" || fail -l "$D/run1.log" "the run's summary does not list camp_s1 as blocked"

# 2. Switched back on: pending again, and sent.
campaigns -e "$S8_SHORT"
suf send 2> "$D/send2.log" || fail -l "$D/send2.log" "send failed"
grep -q "campaign 'camp_s1': 2 blocked fallbacks are pending again" "$D/send2.log" ||
  fail -l "$D/send2.log" "switched back on, camp_s1's fallbacks are not pending again"
# (the mock defers one phone's first tries: it waits for the next run)
[ "$(sent camp_s1)" -ge 1 ] || fail "switched back on, camp_s1 sends nothing"
check "and none is blocked any more" 0 \
  "$(q "SELECT count(*) FROM fallbacks WHERE campaign_id = 'camp_s1' AND state = 'blocked'")"

# 3. valid_until too near for the consent window (72 h): not started.
check "a campaign ending before a consent window could close sends nothing" 0 "$(sent camp_s8)"
check "its fallbacks are blocked for it" "window_too_short" \
  "$(q "SELECT group_concat(DISTINCT reason) FROM fallbacks WHERE campaign_id = 'camp_s8'")"

# 4. A PAUSED permission template blocks; APPROVED again, it resumes.
check "camp_paused is blocked" "template_unusable" \
  "$(q "SELECT group_concat(DISTINCT reason) FROM fallbacks WHERE campaign_id = 'camp_paused'")"
q "SELECT reason_detail FROM fallbacks WHERE campaign_id = 'camp_paused'" |
  grep -q "permission template 'fallback_permission_paused' (en_US) is PAUSED, not APPROVED" ||
  fail "the block of camp_paused does not name its template and status"
sed 's/"PAUSED"/"APPROVED"/' "$SUF_SOURCE_DIR/fixtures/templates.json" > "$D/templates.json"
grep -q '"APPROVED"' "$D/templates.json"
suf -q import templates "$D/templates.json" || fail "import templates failed"
suf send 2> "$D/send4.log" || fail -l "$D/send4.log" "send failed"
check "approved again, camp_paused is sent" 1 "$(sent camp_paused)"

# 5. suf cancel: counts, stops, and later plan and send do nothing for it.
pending_s8=$(q "SELECT count(*) FROM fallbacks WHERE campaign_id = 'camp_s8'")
suf cancel --campaign camp_s8 --dry-run > "$D/cancel-dry.txt" || fail "cancel --dry-run failed"
check "cancel --dry-run says what it would stop" \
  "would cancel $pending_s8 fallbacks of campaign 'camp_s8' (dry run: nothing changed)" \
  "$(cat "$D/cancel-dry.txt")"
check "and stops nothing" "blocked" "$(state_of camp_s8)"
suf cancel --campaign camp_s8 > "$D/cancel.txt" || fail "cancel failed"
check "cancel says how many it stopped" "cancelled $pending_s8 fallbacks of campaign 'camp_s8'" \
  "$(cat "$D/cancel.txt")"
check "they are cancelled" "cancelled" "$(state_of camp_s8)"
check "with their messages" 0 \
  "$(q "SELECT count(*) FROM sends s JOIN fallbacks f ON f.id = s.fallback_id
        WHERE f.campaign_id = 'camp_s8' AND s.state IN ('queued', 'held')")"
check "cancel (and its dry run) is recorded in runs" 2 \
  "$(q "SELECT count(*) FROM runs WHERE command = 'cancel'")"
campaigns -e 's/^x//'
suf -q plan --campaign camp_s8 || fail "plan failed"
suf send --campaign camp_s8 2> "$D/send5.log" || fail -l "$D/send5.log" "send failed"
check "a later plan and send do nothing for it" "0 cancelled" \
  "$(echo "$(sent camp_s8) $(state_of camp_s8)")"
suf status --campaign camp_s8 > "$D/status5.txt"
grep -q "stopped: cancelled: cancelled by the operator" "$D/status5.txt" ||
  fail -l "$D/status5.txt" "status does not say that camp_s8 was cancelled"
rc=0; suf cancel --campaign no_such_campaign 2> "$D/cancel-unknown.txt" || rc=$?
check "cancel of an unknown campaign exits 66" 66 "$rc"
finish spend_stops
