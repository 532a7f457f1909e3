#!/bin/sh
# The permission template, provisioned and watched, against the mock Cloud
# API over loopback (tests/mock/mock_permission.py; its control endpoint
# plays Meta's review by emitting the template webhooks):
#  1. `suf templates ensure-permission --dry-run` looks up and posts
#     nothing; ensure-permission creates the missing fallback_permission
#     (one POST: UTILITY, POSITIONAL, the body with its example, two quick
#     replies), prints its id and PENDING, keeps and imports what Meta said;
#     a second ensure posts nothing; --language adds a language;
#  2. PENDING: `suf run` sends no utility message with it; the APPROVED
#     webhook: the next run sends; a PAUSED webhook: the next run sends
#     nothing, and the log and `suf status` say PAUSED and since when;
#     APPROVED again: sends resume; re-categorised to MARKETING: blocked
#     again; a category notice only warns;
#  3. a creation whose reply is lost is looked up, not posted again;
#  4. the mock refuses a duplicate and a bad name as Meta does;
#  5. a token error on the lookup stops, redacted; the token is nowhere:
#     logs, outputs, inbox, database, the mock's log.
set -eu
. "$(dirname "$0")/lib.sh"
. "$SUF_SOURCE_DIR/scripts/pipeline.sh"
scratch_fresh
keep_going
NOW=2026-11-24T02:00:00Z
NOW_EPOCH=1795485600
TOKEN="suf-permission-token-$$"
export SUF_DEMO_TOKEN=$TOKEN
mock_pid=""
cleanup() { [ -z "$mock_pid" ] || kill "$mock_pid" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# setup NAME [MOCK ARGS]: the pipeline's folder and config, the catalog
# served by the mock without fallback_permission, the mock started.
setup() {
  D=$SUF_SCRATCH/$1
  shift
  cleanup
  pipeline_setup "$D"
  rm -f "$D"/inbox/templates/*.json
  "$PY" - "$SUF_SOURCE_DIR/fixtures/templates.json" "$D/catalog.json" <<'PY'
import json, sys
page = json.load(open(sys.argv[1]))
page["data"] = [t for t in page["data"] if t["name"] != "fallback_permission"]
json.dump(page, open(sys.argv[2], "w"))
PY
  "$PY" "$SUF_SOURCE_DIR/tests/mock/cloudapi.py" --port-file "$D/mock.port" \
    --log "$D/mock-requests.jsonl" --events "$D/inbox/events/status-$NOW_EPOCH.jsonl" \
    --token-file "$D/token" --clock "$NOW_EPOCH" --waba-id 2000000002 \
    --catalog "$D/catalog.json" --catalog "$SUF_SOURCE_DIR/fixtures/templates-page2.json" \
    --control-port-file "$D/control.port" "$@" 2> "$D/mock.err" &
  mock_pid=$!
  wait_file "$D/mock.port" "the mock"
  wait_file "$D/control.port" "the mock's control endpoint"
  write_config "$D" "$(cat "$D/mock.port")"
  printf '[plan]\nfallback = on\n[api]\nwaba_id = 2000000002\n[utility]\nmax_utility_per_run = 1\n' \
    >> "$D/suf.conf"
  suf -q init || fail -x "init failed in $D"
  suf -q import markets "$SUF_SOURCE_DIR/fixtures/markets.csv" || fail -x "import markets failed"
}

suf() { "$SUF" -c "$D/suf.conf" --now "$NOW" "$@"; }
q() { sqlite3 "$D/suf.db" "$1"; }
# posts: the template creations the mock was asked for.
posts() {
  "$PY" -c 'import json,sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get("method") == "POST"
          and json.loads(l).get("path", "").endswith("/message_templates")))' "$D/mock-requests.jsonl"
}
# tried: utility messages with fallback_permission the mock was asked to
# send (a fixture phone may be throttled: asked counts, not accepted).
tried() {
  "$PY" -c 'import json,sys
print(sum(1 for l in open(sys.argv[1]) if "\"fallback_permission\"" in (json.loads(l).get("body") or "")))' \
    "$D/mock-requests.jsonl"
}
# more NAME BEFORE: the run asked for more utility messages than BEFORE.
more() { if [ "$(tried)" -gt "$2" ]; then ok "$1"; else fail "$1: still $2 utility messages"; fi; }
# queued: utility messages still to send with fallback_permission (so that
# "sends nothing" can fail).
queued() {
  q "SELECT count(*) FROM sends s JOIN fallbacks f ON f.id = s.fallback_id
     LEFT JOIN campaigns c ON c.campaign_id = f.campaign_id
     WHERE s.kind = 'u' AND s.state = 'queued'
     AND coalesce(nullif(c.utility_template, ''), 'fallback_permission') = 'fallback_permission'"
}
# control WHAT JSON: a change by Meta's review, through the mock.
control() {
  curl -sS --max-time 5 -o "$D/control.out" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d "$2" "http://127.0.0.1:$(cat "$D/control.port")/$1" > "$D/control.code" 2>&1 || true
  check "control $1 $2" 200 "$(cat "$D/control.code")"
}
PERM='{"name":"fallback_permission","language":"en_US"'
# run N: `suf run` (no report), its log in $D/runN.log.
run() {
  suf run --skip report,retention 2> "$D/run$1.log" || fail -l "$D/run$1.log" "run $1 failed"
}

# 1. ensure
setup main
run 0 # imports and plans: the campaigns are known
suf templates ensure-permission --dry-run > "$D/dry.out" 2> "$D/dry.err" ||
  fail -l "$D/dry.err" "ensure --dry-run failed"
check "a dry run posts nothing" 0 "$(posts)"
grep -qx "fallback_permission (en_US): would create" "$D/dry.out" ||
  fail -l "$D/dry.out" "the dry run does not say it would create fallback_permission"
grep -q "^fallback_permission_paused (en_US): id [0-9]*, PAUSED, UTILITY, exists$" "$D/dry.out" ||
  fail -l "$D/dry.out" "the dry run does not report the existing paused template"

suf templates ensure-permission > "$D/ensure1.out" 2> "$D/ensure1.err" ||
  fail -l "$D/ensure1.err" "ensure failed"
check "ensure posts once" 1 "$(posts)"
grep -q "^fallback_permission (en_US): id [0-9]*, PENDING, UTILITY, created$" "$D/ensure1.out" ||
  fail -l "$D/ensure1.out" "ensure does not print the created template"
grep -q "^permission_recategorised (en_US): id [0-9]*, APPROVED, MARKETING, exists$" "$D/ensure1.out" ||
  fail -l "$D/ensure1.out" "ensure does not report the re-categorised template as Meta has it"
"$PY" - "$D/mock-requests.jsonl" <<'PY' || fail "the creation request is not the permission template"
import json, sys
post = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l).get("method") == "POST"
        and json.loads(l)["path"].endswith("/message_templates")][0]
assert post["path"] == "/v23.0/2000000002/message_templates" and post["status"] == 200, post
PY
check "the catalog row is Meta's reply: PENDING" "PENDING|UTILITY|PENDING" \
  "$(q "SELECT status || '|' || live_category || '|' || live_status FROM templates WHERE name = 'fallback_permission'")"
check "the row keeps what was created" "POSITIONAL|[[\"Winter sale\"]]|No thanks" \
  "$(q "SELECT json_extract(json, '\$.parameter_format') || '|' || json_extract(json, '\$.components[0].example.body_text') || '|' || json_extract(json, '\$.components[1].buttons[1].text') FROM templates WHERE name = 'fallback_permission'")"
[ "$(find "$D/inbox/templates" -name 'api-2000000002-run*-permission*.json' | wc -l)" -ge 2 ] ||
  fail "what Meta said is not kept in the templates inbox"

suf templates ensure-permission > "$D/ensure2.out" 2> "$D/ensure2.err" ||
  fail -l "$D/ensure2.err" "the second ensure failed"
check "a second ensure posts nothing" 1 "$(posts)"
grep -q "^fallback_permission (en_US): id [0-9]*, PENDING, UTILITY, exists$" "$D/ensure2.out" ||
  fail -l "$D/ensure2.out" "the second ensure does not find the template"
suf templates ensure-permission --campaign camp_winter --language pt-BR > "$D/ensure3.out" \
  2> "$D/ensure3.err" || fail -l "$D/ensure3.err" "ensure --language failed"
check "--language creates that language only" 2 "$(posts)"
grep -q "^fallback_permission (pt_BR): id [0-9]*, PENDING, UTILITY, created$" "$D/ensure3.out" ||
  fail -l "$D/ensure3.out" "ensure --language does not create pt_BR"
check "--campaign: that campaign's template alone" 2 "$(wc -l < "$D/ensure3.out" | tr -d ' ')"

# 2. watched
run 1
check "PENDING: no utility message" 0 "$(tried)"
grep -q "permission template 'fallback_permission' (en_US) is PENDING, not APPROVED" "$D/run1.log" ||
  fail -l "$D/run1.log" "the run does not say the template is PENDING"

control template_status "$PERM,\"event\":\"APPROVED\",\"reason\":\"NONE\"}"
run 2
more "APPROVED by webhook: the run sends" 0
check "the webhook is in the history" 1 \
  "$(q "SELECT count(*) FROM template_events WHERE name = 'fallback_permission' AND language = 'en_US' AND event = 'APPROVED'")"

control template_status "$PERM,\"event\":\"PAUSED\",\"reason\":\"NONE\",\"title\":\"FIRST_PAUSE\"}"
[ "$(queued)" -gt 0 ] || fail "no utility message left to send: the pause proves nothing"
n=$(tried)
run 3
check "PAUSED: the run sends nothing" "$n" "$(tried)"
grep -q "campaign 'camp_winter': permission template 'fallback_permission' (en_US) is PAUSED, not APPROVED (since 2026-11-24T02:00:20Z; FIRST_PAUSE: set by a test)" \
  "$D/run3.log" || fail -l "$D/run3.log" "the log does not say PAUSED and since when"
suf status --campaign camp_winter > "$D/status3.txt" || fail "status failed"
grep -q "blocked: [0-9]* fallbacks\{0,1\} (template_unusable: permission template 'fallback_permission' (en_US) is PAUSED, not APPROVED (since 2026-11-24T02:00:20Z" \
  "$D/status3.txt" || fail -l "$D/status3.txt" "status does not say PAUSED"

control template_status "$PERM,\"event\":\"APPROVED\",\"reason\":\"NONE\",\"title\":\"UNPAUSE\"}"
run 4
more "APPROVED again: sends resume" "$n"
grep -q "blocked fallbacks are pending again" "$D/run4.log" ||
  fail -l "$D/run4.log" "the run does not say the blocked fallbacks are pending again"

control template_category "$PERM,\"new_category\":\"MARKETING\",\"notice\":true}"
n=$(tried)
run 5
more "a category notice does not block" "$n"
grep -q "template 'fallback_permission' (en_US): Meta will change its category from UTILITY to MARKETING at 2026-11-25T02:00:00Z" \
  "$D/run5.log" || fail -l "$D/run5.log" "the notice is not told"
control template_category "$PERM,\"new_category\":\"MARKETING\"}"
[ "$(queued)" -gt 0 ] || fail "no utility message left to send: the category change proves nothing"
n=$(tried)
run 6
check "re-categorised: the run sends nothing" "$n" "$(tried)"
grep -q "permission template 'fallback_permission' (en_US) is in category MARKETING, not UTILITY (re-categorised?) (since 2026-11-24T02:00:50Z)" \
  "$D/run6.log" || fail -l "$D/run6.log" "the log does not say MARKETING"
# the run's catalog stage fetched the catalog again each time: a page older
# than the webhooks did not undo them
check "the catalog was fetched in each run" 7 \
  "$(grep -l "stage catalog: done" "$D"/run*.log | wc -l | tr -d ' ')"

# 3. a lost reply is looked up, not posted again
setup lost --create-reply-lost 1
suf templates ensure-permission > "$D/ensure.out" 2> "$D/ensure.err" ||
  fail -l "$D/ensure.err" "ensure with a lost reply failed"
check "a lost reply: one POST" 1 "$(posts)"
grep -q "^fallback_permission (en_US): id [0-9]*, PENDING, UTILITY, adopted$" "$D/ensure.out" ||
  fail -l "$D/ensure.out" "the template made by the lost POST is not adopted"
grep -q "it may have been created: looking again" "$D/ensure.err" ||
  fail -l "$D/ensure.err" "the lost reply is not told"

# 4. the mock refuses as Meta does
mock_post() {
  curl -sS --max-time 5 -o "$D/post.out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d "$1" \
    "http://127.0.0.1:$(cat "$D/mock.port")/v23.0/2000000002/message_templates" 2>/dev/null || true
}
BODY='"category":"UTILITY","components":[{"type":"BODY","text":"Hi {{1}}, yes?","example":{"body_text":[["a"]]}}]}'
check "a duplicate is refused" 400 "$(mock_post "{\"name\":\"fallback_permission\",\"language\":\"en_US\",$BODY")"
grep -q '"error_subcode": 2388024' "$D/post.out" || fail -l "$D/post.out" "no duplicate subcode"
check "a bad name is refused" 400 "$(mock_post "{\"name\":\"Bad-Name\",\"language\":\"en_US\",$BODY")"
check "a body without its example is refused" 400 \
  "$(mock_post '{"name":"x1","language":"en_US","category":"UTILITY","components":[{"type":"BODY","text":"Hi {{1}}, yes?"}]}')"
check "a good one is taken" 200 "$(mock_post "{\"name\":\"x2\",\"language\":\"en_US\",$BODY")"

# 5. a token error on the lookup, and the token nowhere
setup token --templates-token-error-at 1
rc=0; suf templates ensure-permission > "$D/ensure.out" 2> "$D/ensure.err" || rc=$?
check "a refused token: exit" 78 "$rc"
grep -q "code 190: Malformed access token \[redacted\]" "$D/ensure.err" ||
  fail -l "$D/ensure.err" "no redacted token error"
check "a refused token: nothing created" 0 "$(posts)"
for d in "$SUF_SCRATCH"/main "$SUF_SCRATCH"/lost "$SUF_SCRATCH"/token; do
  sqlite3 "$d/suf.db" .dump > "$d/dump.sql"
  ! grep -q -- "$TOKEN" "$d/dump.sql" || fail "the token is in the database of $d"
  ! grep -rq -- "$TOKEN" "$d"/*.log "$d"/*.out "$d"/*.err "$d/inbox" "$d/outbox" \
    "$d/mock-requests.jsonl" 2>/dev/null || fail "the token is in a log, an output or the inbox of $d"
done
finish permission
