#!/bin/sh
# What Meta billed, from the API, against the mock Cloud API over loopback
# (tests/mock/mock_pricing.py prices what the mock itself delivered with the
# fixture rate cards):
#  1. six messages go through the mock (five delivered: three utility
#     messages to India, one to the UK, a session message to Brazil; one
#     whose webhook says failed); `suf import billing --from-api` asks the
#     documented field expression, keeps the reply in inbox_billing with the
#     span asked, and stores Meta's volume and cost per day x country x
#     category x pricing type, in exact micros;
#  2. the mock restarted with --credit-line: the same span fetched again
#     replaces the rows, every cost NULL, none 0, and the period says no
#     cost was given;
#  3. a span of 200 days is three requests; `suf run` fetches only when
#     billing_days is set;
#  4. a bad --since is refused before any request; the mock is strict about
#     the expression (an unknown dimension, a bad date: HTTP 400, code 100);
#     a Graph error 100 quoting the token stops the fetch with the token
#     redacted;
#  5. the token is in no log, kept reply, database row or mock log.
set -eu
. "$(dirname "$0")/lib.sh"
. "$SUF_SOURCE_DIR/scripts/pipeline.sh"
scratch_fresh; cd "$SUF_SCRATCH"
keep_going
TOKEN="suf-billing-token-$$"
CLOCK=1795564796 # 2026-11-24T23:59:56Z: the deliveries straddle midnight
NOW=2026-11-26T02:00:00Z
mock_pid=""
cleanup() {
  if [ -n "$mock_pid" ]; then
    kill "$mock_pid" 2>/dev/null || true
    wait "$mock_pid" 2>/dev/null || true
  fi
  mock_pid=""
}
trap cleanup EXIT INT TERM
d=$SUF_SCRATCH/w
mkdir -p "$d/inbox/billing"
( umask 077; printf '%s\n' "$TOKEN" > "$d/token" )

# start_mock [ARGS]: the mock (a fresh one: its deliveries are in memory),
# and suf's config pointing at it.
start_mock() {
  cleanup
  rm -f "$d/port" "$d/mock.jsonl"
  "$PY" "$SUF_SOURCE_DIR/tests/mock/cloudapi.py" --port-file "$d/port" --log "$d/mock.jsonl" \
    --token-file "$d/token" --waba-id 2000000002 --clock "$CLOCK" \
    --pricing-rates "$SUF_SOURCE_DIR/fixtures/rates/USD_2026-07-01.csv" \
    --pricing-rates "$SUF_SOURCE_DIR/fixtures/rates/USD_2026-10-01.csv" "$@" 2> "$d/mock.err" &
  mock_pid=$!
  wait_file "$d/port" "the mock"
  write_config "$d" "$(cat "$d/port")"
  printf '[inbox]\ninbox_billing = %s/inbox/billing\n[api]\nwaba_id = 2000000002\n' "$d" >> "$d/suf.conf"
}

# mock_call METHOD PATH [BODY]: one request to the mock, with the token;
# prints the HTTP status and the reply.
mock_call() {
  "$PY" - "$(cat "$d/port")" "$TOKEN" "$@" <<'EOF'
import sys, urllib.request, urllib.error
port, token, method, path = sys.argv[1:5]
body = sys.argv[5].encode() if len(sys.argv) > 5 else None
req = urllib.request.Request("http://127.0.0.1:%s%s" % (port, path), data=body, method=method,
                             headers={"Authorization": "Bearer " + token,
                                      "Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
EOF
}

send_some() {
  # no phone ends in the mock's fault digits (51-57, 61-67), but the one
  # whose webhook says failed (171)
  for m in 'template 919812300011' 'template 919812300012' 'template 447700900013' \
           'text 5511987600014' 'template 447700900171' 'template 919812300015'; do
    set -- $m
    if [ "$1" = template ]; then
      body='{"messaging_product":"whatsapp","to":"'$2'","type":"template","template":{"name":"fallback_permission","language":{"code":"en_US"}}}'
    else
      body='{"messaging_product":"whatsapp","to":"'$2'","type":"text","text":{"body":"hello"}}'
    fi
    mock_call POST /v23.0/1000000001/messages "$body" | grep -q '^200 ' || fail "the mock did not accept a message to $2"
  done
}

suf() { timeout -k 2 60 "$SUF" -c "$d/suf.conf" --now "$NOW" "$@"; }
q() { sqlite3 -batch -noheader "$d/suf.db" "$1"; }
# The decoded `fields` of the GET requests the mock was asked, one a line.
asked() { "$PY" -c 'import json, sys, urllib.parse
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("method") == "GET":
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(r["path"]).query)
        print(r["status"], urllib.parse.urlsplit(r["path"]).path, q.get("fields", [""])[0])' "$d/mock.jsonl"; }

# 1. with cost
start_mock
send_some
suf init > /dev/null 2>&1 || fail "init failed"
suf import billing --from-api --since 2026-11-24 --until 2026-11-26 2> "$d/err1" ||
  fail -l "$d/err1" "the fetch failed"
check "one request" 1 "$(asked | wc -l | tr -d ' ')"
check "the request" "200 /v23.0/2000000002 currency,pricing_analytics.start(1795478400).end(1795651200).granularity(DAILY).dimensions([PRICING_CATEGORY,PRICING_TYPE,COUNTRY,PHONE])" \
  "$(asked | sed -n 1p)"
check "rows: day x country x category x type" \
  "1795478400|IN|UTILITY|REGULAR|15550001234|2|2800|USD
1795564800|BR|SERVICE|REGULAR|15550001234|1|6800|USD
1795564800|GB|UTILITY|REGULAR|15550001234|1|22000|USD
1795564800|IN|UTILITY|REGULAR|15550001234|1|1400|USD" \
  "$(q "SELECT bucket_start, country, pricing_category, pricing_type, phone_number, volume, cost, currency FROM meta_billing ORDER BY 1, 2")"
check "the period asked" "2000000002|1795478400|1795651200|USD|1" \
  "$(q 'SELECT waba_id, since, until, currency, cost_given FROM meta_billing_periods')"
kept=$(find "$d/inbox/billing" -name 'api-2000000002-20261124T000000Z-20261126T000000Z-run*.json')
[ -n "$kept" ] || fail "the reply is not kept in the billing inbox"
grep -q '^{"asked":{"since":1795478400,"until":1795651200},' "$kept" || fail -l "$kept" "the kept reply does not say the span asked"
grep -q '"pricing_analytics"' "$kept" || fail -l "$kept" "the kept reply is not Meta's"
check "the kept file is the one imported" 1 "$(q "SELECT count(*) FROM files WHERE kind = 'billing' AND path = '$kept'")"
grep -q "billing: 2026-11-24T00:00:00Z to 2026-11-26T00:00:00Z of WhatsApp Business Account 2000000002 fetched and imported (1 request)" "$d/err1" ||
  fail -l "$d/err1" "no line says what was fetched"
# the run's import stage sees the kept reply as imported already
suf run --skip catalog,reconcile,session,plan,utility,events,report,retention 2> "$d/run0" || fail -l "$d/run0" "suf run failed"
check "the kept reply is not imported twice" 1 "$(q "SELECT count(*) FROM files WHERE kind = 'billing'")"

# 2. without cost (a partner's credit line): the same span, replaced
start_mock --credit-line
send_some
suf import billing --from-api --since 2026-11-24 --until 2026-11-26 2> "$d/err2" ||
  fail -l "$d/err2" "the credit-line fetch failed"
check "credit line: the rows replaced" "4|5" "$(q 'SELECT count(*), sum(volume) FROM meta_billing')"
check "credit line: every cost NULL" 4 "$(q 'SELECT count(*) FROM meta_billing WHERE cost IS NULL')"
check "credit line: no cost shows as 0" 0 "$(q 'SELECT count(*) FROM meta_billing WHERE cost = 0')"
check "credit line: the period says no cost" "1795478400|1795651200|0" \
  "$(q 'SELECT since, until, cost_given FROM meta_billing_periods')"
check "credit line: two replies kept" 2 "$(find "$d/inbox/billing" -name 'api-*.json' | wc -l | tr -d ' ')"

# 3. 200 days: three windows of at most 90 days; suf run with billing_days
suf import billing --from-api --since 2026-05-10 --until 2026-11-26 2> "$d/err3" ||
  fail -l "$d/err3" "the long fetch failed"
# (the mock's log still has the credit-line fetch of 2.)
check "200 days: three requests" 4 "$(asked | wc -l | tr -d ' ')"
check "200 days: the windows" "start(1778371200).end(1786147200) start(1786147200).end(1793923200) start(1793923200).end(1795651200)" \
  "$(asked | sed -n '2,4s/.*\(start([0-9]*).end([0-9]*)\).*/\1/p' | tr '\n' ' ' | sed 's/ $//')"
check "200 days: the periods" 4 "$(q 'SELECT count(*) FROM meta_billing_periods')"
suf run --skip catalog,reconcile,session,plan,utility,events,report,retention 2> "$d/run1" || fail -l "$d/run1" "suf run failed"
grep -q "stages: .*billing skipped" "$d/run1" || fail -l "$d/run1" "billing_days 0: the run fetched billing"
check "billing_days 0: no request" 4 "$(asked | wc -l | tr -d ' ')"
printf 'billing_days = 2\n' >> "$d/suf.conf"
suf run --skip catalog,reconcile,session,plan,utility,events,report,retention 2> "$d/run2" || fail -l "$d/run2" "suf run failed"
grep -q "stage billing: done" "$d/run2" || fail -l "$d/run2" "billing_days 2: no billing stage"
check "billing_days 2: the last two days and today" "start(1795478400).end(1795658400)" \
  "$(asked | sed -n '5s/.*\(start([0-9]*).end([0-9]*)\).*/\1/p')"
sed -i '/^waba_id/d' "$d/suf.conf"
suf run --skip catalog,reconcile,session,plan,utility,events,report,retention 2> "$d/run3" || fail -l "$d/run3" "suf run failed"
grep -q "warning: billing: billing_days is set, but no waba_id: what Meta billed is not fetched" "$d/run3" ||
  fail -l "$d/run3" "billing_days without waba_id: no warning"
check "billing_days without waba_id: no request" 5 "$(asked | wc -l | tr -d ' ')"
printf 'waba_id = 2000000002\n' >> "$d/suf.conf"

# 4. refusals
rc=0; suf import billing --from-api --since 2026-13-01 2> "$d/err4" || rc=$?
check "a bad --since: exit" 64 "$rc"
grep -q "suf: error: --since '2026-13-01' is not a day (YYYY-MM-DD, UTC) or a time" "$d/err4" ||
  fail -l "$d/err4" "no clear error for a bad --since"
rc=0; suf import billing --from-api --until 2026-11-25 2> "$d/err5" || rc=$?
check "no --since: exit" 64 "$rc"
check "refused before any request" 5 "$(asked | wc -l | tr -d ' ')"
E="/v23.0/2000000002?fields=currency%2Cpricing_analytics.start%281795478400%29.end%281795651200%29.granularity%28DAILY%29"
check "the mock: an unknown dimension" "400 100" \
  "$(mock_call GET "$E.dimensions%28%5BCOUNTRY%2CWEATHER%5D%29" | "$PY" -c 'import json,sys; s,b=sys.stdin.read().split(" ",1); print(s, json.loads(b)["error"]["code"])')"
check "the mock: a bad date" "400 100" \
  "$(mock_call GET "/v23.0/2000000002?fields=pricing_analytics.start%282026-11-24%29.end%281795651200%29.granularity%28DAILY%29" | "$PY" -c 'import json,sys; s,b=sys.stdin.read().split(" ",1); print(s, json.loads(b)["error"]["code"])')"
kept_before=$(find "$d/inbox/billing" -name 'api-*.json' | wc -l | tr -d ' ')
start_mock --pricing-token-error
rc=0; suf import billing --from-api --since 2026-11-24 2> "$d/err6" || rc=$?
check "a Graph error 100: exit" 65 "$rc"
grep -q "HTTP 400, code 100: (#100) Invalid parameter: access_token \[redacted\] cannot read pricing analytics" "$d/err6" ||
  fail -l "$d/err6" "no redacted Graph error"
check "a Graph error: no retry" 1 "$(asked | wc -l | tr -d ' ')"
check "a Graph error: nothing kept" "$kept_before" "$(find "$d/inbox/billing" -name 'api-*.json' | wc -l | tr -d ' ')"

# 5. the token is nowhere
grep -rq -- "$TOKEN" "$d"/err* "$d"/run* "$d/inbox" "$d/mock.jsonl" && fail "the token is in a log, a kept reply or the mock's log"
sqlite3 "$d/suf.db" .dump | grep -q -- "$TOKEN" && fail "the token is in the database"

finish billing_api
