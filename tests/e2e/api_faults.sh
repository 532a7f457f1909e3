#!/bin/sh
# API faults the mock Cloud API cannot play (tests/e2e/send.sh covers 429
# storms with Retry-After, 5xx, stalls, resets mid-body, malformed JSON and
# a 200 without a wamid): a server that accepts and never answers, and an
# HTTP/1.1 server that closes every kept-alive connection after one answer.
# Each run must end, within a bounded time, in the documented states, with
# no request lost and none duplicated.
set -eu
. "$(dirname "$0")/lib.sh"
. "$SUF_SOURCE_DIR/scripts/pipeline.sh"
D=$SUF_SCRATCH
pipeline_setup "$D"
"$SUF" -c "$D/suf.conf" -q init
"$SUF" -c "$D/suf.conf" -q --now 2026-11-24T02:00:00Z run --skip utility,events,report
cp "$D/suf.db" "$D/planned.db"
queued=$(sqlite3 "$D/suf.db" "SELECT count(*) FROM sends s JOIN fallbacks f ON f.id = s.fallback_id
  WHERE s.kind = 'u' AND s.state = 'queued' AND f.campaign_id NOT IN ('camp_paused', 'camp_recat')")
[ "$queued" -gt 5 ] || fail "the fixtures planned only $queued utility messages"

start() {
  rm -f "$D/bad.port" "$D/bad.log"
  $PY "$SUF_SOURCE_DIR/tests/mock/badserver.py" "$1" "$D/bad.port" "$D/bad.log" &
  bad=$!
  wait_file "$D/bad.port" "badserver $1"
  write_config "$D" "$(cat "$D/bad.port")"
  # The [api] section already sets both timeouts: a key set twice is refused.
  sed -i -e 's/^request_timeout_ms = .*/request_timeout_ms = 1500/' \
    -e 's/^connect_timeout_ms = .*/connect_timeout_ms = 1000/' "$D/suf.conf"
  cat >> "$D/suf.conf" <<CONF
max_tries = 2
retry_budget = 50
CONF
  "$SUF" -c "$D/suf.conf" status >/dev/null 2>"$D/config.err" ||
    fail -l "$D/config.err" "the config of the $1 server does not load"
}
stop() { kill $bad 2>/dev/null || true; wait $bad 2>/dev/null || true; }
trap stop EXIT

# 1. Accepts and never answers: every request times out; the run ends in
#    bounded time and every message is still queued for the next run (a
#    timeout may or may not have reached the API: it is retried, not lost).
start blackhole
t0=$(date +%s)
set +e
timeout 120 "$SUF" -c "$D/suf.conf" --now 2026-11-24T02:00:00Z send > "$D/blackhole.out" 2>&1
rc=$?
set -e
t1=$(date +%s)
stop
[ $rc -ne 124 ] || fail "suf send did not end against a server that never answers"
[ $((t1 - t0)) -le 90 ] || fail "suf send took $((t1 - t0)) s against a silent server"
left=$(sqlite3 "$D/suf.db" "SELECT count(*) FROM sends WHERE kind = 'u' AND state = 'queued'")
[ "$left" -ge "$queued" ] || fail "timeouts lost messages: $left queued of $queued"
[ "$(sqlite3 "$D/suf.db" "SELECT count(*) FROM sends WHERE state IN ('in_flight', 'sent')")" -eq 0 ] \
  || fail "a timed-out request was recorded as sent or left in flight"
echo "blackhole: ended after $((t1 - t0)) s with exit $rc; $left messages queued for the next run"

# 2. Keep-alive closed by the server after every answer: libcurl must notice
#    and reconnect; every message is sent exactly once.
cp "$D/planned.db" "$D/suf.db"; rm -f "$D/suf.db-wal" "$D/suf.db-shm"
start oneshot
set +e
timeout 120 "$SUF" -c "$D/suf.conf" --now 2026-11-24T02:00:00Z send > "$D/oneshot.out" 2>&1
rc=$?
set -e
stop
[ $rc -eq 0 ] || fail -l "$D/oneshot.out" "send against a closing server exited $rc"
sent=$(sqlite3 "$D/suf.db" "SELECT count(*) FROM sends WHERE kind = 'u' AND state = 'sent'")
[ "$sent" -eq "$queued" ] || fail "$sent of $queued sent against a closing server"
$PY - "$D/bad.log" "$queued" <<'PY' || fail "a request was lost or duplicated"
import json, sys
cbs = [json.loads(json.loads(l)["body"])["biz_opaque_callback_data"] for l in open(sys.argv[1])]
assert len(cbs) == len(set(cbs)), "duplicated: %s" % [c for c in cbs if cbs.count(c) > 1][:3]
assert len(cbs) == int(sys.argv[2]), "%d posted, %s queued" % (len(cbs), sys.argv[2])
PY
echo "oneshot: $sent sent exactly once over connections the server kept closing"
