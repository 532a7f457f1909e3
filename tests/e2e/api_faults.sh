#!/bin/sh
# API faults the mock Cloud API cannot play (tests/e2e/send.sh covers 429
# storms with Retry-After, 5xx, stalls, resets mid-body, malformed JSON and
# a 200 without a wamid): a server that accepts and never answers, an
# HTTP/1.1 server that closes every kept-alive connection after one answer,
# a server that answers every request with a redirect to another port, and
# a proxy in the environment.  Each run must end, within a bounded time, in
# the documented states, with no request lost and none duplicated, and no
# request may reach the redirect's target or the proxy.
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
  # Short waits for the server that never answers; the others do answer,
  # and a wait cut short on a loaded machine, or a connection attempt
  # dropped by a full accept queue (retried by the kernel after a second),
  # would retry a request.  The [api] section already sets both timeouts,
  # and a key set twice is refused: change them in place.
  case $1 in blackhole) wait_ms=1500 connect_ms=1000 ;; *) wait_ms=10000 connect_ms=5000 ;; esac
  sed -i -e "s/^request_timeout_ms = .*/request_timeout_ms = $wait_ms/" \
    -e "s/^connect_timeout_ms = .*/connect_timeout_ms = $connect_ms/" "$D/suf.conf"
  cat >> "$D/suf.conf" <<CONF
max_tries = 2
retry_budget = 50
CONF
  "$SUF" -c "$D/suf.conf" status >/dev/null 2>"$D/config.err" ||
    fail -l "$D/config.err" "the config of the $1 server does not load"
}
stop() { kill $bad 2>/dev/null || true; wait $bad 2>/dev/null || true; }
# send_against MODE [VAR=VALUE]...: the planned store afresh, then `suf send`
# (with VARs in its environment, at most 120 s) against badserver MODE;
# sets rc, and leaves its output in $D/MODE.out.
send_against() {
  mode=$1
  shift
  cp "$D/planned.db" "$D/suf.db"; rm -f "$D/suf.db-wal" "$D/suf.db-shm"
  start "$mode"
  set +e
  env "$@" timeout 120 "$SUF" -c "$D/suf.conf" --now 2026-11-24T02:00:00Z send \
    > "$D/$mode.out" 2>&1
  rc=$?
  set -e
  stop
}
trap 'stop; stop_proxy' EXIT
stop_proxy() { [ -z "${proxy:-}" ] || { kill $proxy 2>/dev/null || true; wait $proxy 2>/dev/null || true; }; }

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
send_against oneshot
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

# 3. Every request answered with a redirect (301, 302, 307, 308 in turn) to
#    the same path on another port: suf never follows one.  Nothing reaches
#    the other port, and each send fails once, for a reason that says so.
send_against redirect
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail -l "$D/redirect.out" "send against a redirecting server exited $rc"
! grep -q '"trap"' "$D/bad.log" || fail -l "$D/bad.log" "a redirect was followed to the other port"
trap_port=$(cat "$D/bad.port.trap")
failed=$(sqlite3 "$D/suf.db" "SELECT count(*) FROM sends WHERE kind = 'u' AND state = 'failed'
  AND http_status IN (301, 302, 307, 308) AND api_error = 'HTTP ' || http_status
  || ': a redirect to ''http://127.0.0.1:$trap_port/v23.0/1000000001/messages'', which suf never follows'")
[ "$failed" -eq "$queued" ] ||
  fail -l "$D/redirect.out" "$failed of $queued sends failed for the redirect, with its reason"
[ "$(wc -l < "$D/bad.log")" -eq "$queued" ] || fail "a redirected request was tried again"
grep -q "which suf never follows$" "$D/redirect.out" || fail "the log does not say why the sends failed"
echo "redirect: $failed sends failed, not one request followed a redirect"

# 4. A proxy in the environment (http_proxy, HTTPS_PROXY, ALL_PROXY): plain
#    http to loopback never goes through one, since the token would cross
#    it in clear.  Every message goes straight to the server, exactly once.
rm -f "$D/proxy.port" "$D/proxy.log"
$PY "$SUF_SOURCE_DIR/tests/mock/badserver.py" trap "$D/proxy.port" "$D/proxy.log" &
proxy=$!
wait_file "$D/proxy.port" "the proxy trap"
p=http://127.0.0.1:$(cat "$D/proxy.port")
send_against oneshot http_proxy=$p HTTPS_PROXY=$p ALL_PROXY=$p no_proxy= NO_PROXY=
stop_proxy
[ $rc -eq 0 ] || fail -l "$D/oneshot.out" "send with a proxy in the environment exited $rc"
[ ! -s "$D/proxy.log" ] || fail -l "$D/proxy.log" "a request went through the proxy"
sent=$(sqlite3 "$D/suf.db" "SELECT count(*) FROM sends WHERE kind = 'u' AND state = 'sent'")
[ "$sent" -eq "$queued" ] || fail "$sent of $queued sent with a proxy in the environment"
echo "proxy: $sent sent straight to the server, none through the proxy"
