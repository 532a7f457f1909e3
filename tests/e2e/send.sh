#!/bin/sh
# End-to-end: the real `suf send` against the mock Cloud API on loopback.
#
#  1. every fault class (throttling, 5xx, stalls, resets, malformed replies,
#     replies without a wamid, permanent API errors, opt-outs, blocked
#     permission templates, closed windows, S8 part order), final states
#     checked against what the fixtures' phones ask the mock to do; a rerun
#     sends nothing twice; the token file rules;
#  1b. max_utility_cost_per_run: with the fixtures' rate cards and market
#     map, utility sends stop before the first whose estimated price would
#     pass the cap (recomputed from the fixture files); with no rate card of
#     the currency, no utility message goes at all;
#  2. a dry run changes nothing, and its outbox is byte for byte what a real
#     send then posts;
#  3. kill -9 in the middle of a send, rerun: nothing both sent and re-sent,
#     nothing lost; only rows whose request reached the mock wait as
#     'unknown', the rest of those in flight are queued again, and without a
#     throughput the claims follow the rate measured (a quarter second's
#     worth, far below the 256 of old); after the webhooks are reconciled
#     and the re-send delay has passed, every fallback's utility message was
#     accepted exactly once;
#  4. a marker token is in no log line, outbox, reject or database column.
set -eu
. "$(dirname "$0")/lib.sh"
scratch_fresh
work=$SUF_SCRATCH
NOW=2026-11-24T02:00:00Z
NOW_S=$(date -u -d "$NOW" +%s)
SOON=2026-11-24T02:05:00Z  # the deferred retries are due again
LATER=2026-11-25T03:00:00Z # past unknown_resend_after_hours (24)
MARKER="suf-MARKER-token-$$-$NOW_S"
MAX_TRIES=3
mock_pids=""

cleanup() {
  for p in $mock_pids; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

# start_mock DIR [ARGS]: the mock, expecting $MARKER; sets $port.
start_mock() {
  md=$1
  shift
  printf '%s\n' "$MARKER" >"$md/expected.token"
  "$PY" "$SUF_SOURCE_DIR/tests/mock/cloudapi.py" --port-file "$md/port" --log "$md/mock.jsonl" \
    --events "$md/events.jsonl" --token-file "$md/expected.token" --stall-seconds 3 \
    --clock "$NOW_S" "$@" &
  mock_pids="$mock_pids $!"
  wait_file "$md/port" "the mock"
  port=$(cat "$md/port")
}

# make_db DIR THROUGHPUT SCENARIO [ARGS]: config, database and fixture rows.
make_db() {
  d=$1 tp=$2
  shift 2
  cat >"$d/suf.conf" <<EOF
[general]
database = $d/suf.db
outbox_dir = $d/outbox
[api]
base_url = http://127.0.0.1:$port
phone_number_id = 1000000001
throughput = $tp
concurrency = 4
connect_timeout_ms = 1000
request_timeout_ms = 1000
backoff_base_ms = 50
backoff_max_ms = 1500
max_tries = $MAX_TRIES
EOF
  "$SUF" -c "$d/suf.conf" init 2>>"$d/stderr.log"
  "$PY" "$E2E_DIR/send_setup.py" "$d/suf.db" "$NOW_S" "$@" >"$d/cases.jsonl"
}

# suf_send DIR [ARGS]: one run with the marker token; sets $rc.
suf_send() {
  d=$1
  shift
  rc=0
  SUF_ACCESS_TOKEN="$MARKER" "$SUF" -c "$d/suf.conf" --now "$NOW" send "$@" \
    2>>"$d/stderr.log" || rc=$?
}

lines() {
  if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# --- 1. every fault class ----------------------------------------------------
f=$work/faults
mkdir -p "$f"
start_mock "$f"
make_db "$f" 0 faults
suf_send "$f"
[ "$rc" -ne 0 ] || fail "permanent failures must give a non-zero exit"
grep -q "failed permanently" "$f/stderr.log" || fail "no word of the permanent failures"
grep -q "permission template 'fallback_permission_paused' (en_US) is PAUSED" "$f/stderr.log" ||
  fail "the paused permission template was not reported"
"$PY" "$E2E_DIR/send_check.py" faults "$f/suf.db" "$f/mock.jsonl" "$f/cases.jsonl" "$MAX_TRIES" ||
  fail "fault classes"
echo "ok: every fault class ends in its state"

# A token file readable by others is refused, and nothing is posted.
before=$(lines "$f/mock.jsonl")
printf '%s\n' "$MARKER" >"$f/token"
chmod 644 "$f/token"
echo "token_file = $f/token" >>"$f/suf.conf"
rc=0
"$SUF" -c "$f/suf.conf" --now "$SOON" send 2>>"$f/stderr.log" || rc=$?
[ "$rc" -ne 0 ] || fail "a group-readable token file was accepted"
grep -q "readable by group or others" "$f/stderr.log" || fail "no word of the unsafe token file"
[ "$(lines "$f/mock.jsonl")" -eq "$before" ] || fail "requests left with an unsafe token file"

# Under systemd's $CREDENTIALS_DIRECTORY the same mode is fine.  The rerun
# only retries what is still queued: the always-failing phones.
mkdir -p "$f/creds"
mv "$f/token" "$f/creds/token"
sed -i "s|^token_file = .*|token_file = $f/creds/token|" "$f/suf.conf"
rc=0
CREDENTIALS_DIRECTORY="$f/creds" "$SUF" -c "$f/suf.conf" --now "$SOON" send \
  2>>"$f/stderr.log" || rc=$?
[ "$rc" -eq 0 ] || fail "the rerun failed ($rc)"
"$PY" - "$f/mock.jsonl" "$before" <<'EOF' || fail "the rerun posted something it should not"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")][int(sys.argv[2]):]
bad = [r["to"] for r in rows if r["to"][-3:] not in ("051", "065")]
sys.exit(1 if bad or not rows else 0)
EOF
"$PY" "$E2E_DIR/send_check.py" once "$f/suf.db" "$f/mock.jsonl" || fail "rerun sent twice"
echo "ok: a rerun retries only what is still pending; token file rules hold"

# --- 1b. the cost cap ------------------------------------------------------------
c=$work/cost
mkdir -p "$c"
start_mock "$c"
make_db "$c" 0 costcap 42
"$SUF" -c "$c/suf.conf" import markets "$SUF_SOURCE_DIR/fixtures/markets.csv" 2>>"$c/stderr.log" ||
  fail "importing the market map failed"
"$SUF" -c "$c/suf.conf" import rates "$SUF_SOURCE_DIR/fixtures/rates" 2>>"$c/stderr.log" ||
  fail "importing the rate cards failed"
cp "$c/suf.conf" "$c/suf.conf.base"
# No EUR rate card: no price is known, so nothing can be shown to fit.
printf '[utility]\nmax_utility_cost_per_run = 0.15\n[billing]\ncurrency = EUR\n' >>"$c/suf.conf"
suf_send "$c"
[ "$rc" -eq 0 ] || fail "the send under a cost cap without prices failed ($rc)"
grep -q "42 utility messages (the first: send 1) have no known EUR utility rate" \
  "$c/stderr.log" || fail "no word of the unpriced utility messages"
"$PY" "$E2E_DIR/send_check.py" costcap "$c/suf.db" "$c/mock.jsonl" "$SUF_SOURCE_DIR/fixtures" "$NOW_S" 0.15 \
  EUR unpriced || fail "cost cap without prices"
cp "$c/suf.conf.base" "$c/suf.conf"
printf '[utility]\nmax_utility_cost_per_run = 0.15\n' >>"$c/suf.conf"
suf_send "$c"
[ "$rc" -eq 0 ] || fail "the send under a cost cap failed ($rc)"
grep -q "max_utility_cost_per_run (0.150000 USD) reached" "$c/stderr.log" ||
  fail "no word of the cost cap"
"$PY" "$E2E_DIR/send_check.py" costcap "$c/suf.db" "$c/mock.jsonl" "$SUF_SOURCE_DIR/fixtures" "$NOW_S" 0.15 \
  USD || fail "cost cap"
echo "ok: the cost cap stops utility sends before the first that would pass it"

# --- 2. dry run ----------------------------------------------------------------
d=$work/dry
mkdir -p "$d"
start_mock "$d"
make_db "$d" 0 clean 300
sqlite3 "$d/suf.db" .dump >"$d/before.sql"
suf_send "$d" --dry-run
[ "$rc" -eq 0 ] || fail "dry run failed ($rc)"
sqlite3 "$d/suf.db" .dump >"$d/after.sql"
# the runs table records the command itself; everything else must be equal
grep -v '^INSERT INTO runs' "$d/before.sql" >"$d/b"
grep -v '^INSERT INTO runs' "$d/after.sql" >"$d/a"
cmp -s "$d/a" "$d/b" || fail "the dry run changed the database"
[ "$(lines "$d/mock.jsonl")" -eq 0 ] || fail "the dry run posted requests"
set -- "$d"/outbox/*.jsonl
[ $# -eq 1 ] && [ -f "$1" ] || fail "one outbox file expected"
outbox=$1
suf_send "$d"
[ "$rc" -eq 0 ] || fail "the real send after the dry run failed ($rc)"
"$PY" "$E2E_DIR/send_check.py" outbox "$outbox" "$d/mock.jsonl" "$d/suf.db" || fail "outbox"
echo "ok: dry run changes nothing; its outbox is what a real send posts"

# --- 3. kill -9 mid-send --------------------------------------------------------
k=$work/kill
mkdir -p "$k"
# Replies take 20 ms after the mock accepted a message, so a kill almost
# always finds requests in flight, some of them accepted by the API.
start_mock "$k" --delay-ms 20
make_db "$k" 0 bulk 2000
SUF_ACCESS_TOKEN="$MARKER" "$SUF" -c "$k/suf.conf" --now "$NOW" send 2>>"$k/stderr.log" &
pid=$!
i=0
while [ "$(lines "$k/mock.jsonl")" -lt 600 ]; do
  i=$((i + 1))
  [ $i -le 200 ] || fail "the send did not get going"
  sleep 0.05
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
inflight=$(sqlite3 "$k/suf.db" "SELECT COUNT(*) FROM sends WHERE state = 'in_flight'")
[ "$inflight" -gt 0 ] || fail "the kill found nothing in flight; the test proves nothing"
# about 200 a second (4 slots, 20 ms each): a quarter second is some 50
[ "$inflight" -le 100 ] || fail "$inflight rows claimed at once without a throughput"
suf_send "$k"
[ "$rc" -eq 0 ] || fail "the rerun after kill -9 failed ($rc)"
unknown=$(sqlite3 "$k/suf.db" "SELECT COUNT(*) FROM sends WHERE state = 'unknown'")
requeued=$(sed -n 's/.* \([0-9]*\) sends were in flight when a run died but provably never left.*/\1/p' \
  "$k/stderr.log")
[ $((unknown + ${requeued:-0})) -eq "$inflight" ] ||
  fail "$inflight rows were in flight; $unknown are unknown and ${requeued:-0} were queued again"
"$PY" "$E2E_DIR/send_check.py" settled "$k/suf.db" "$k/mock.jsonl" || fail "after kill -9"
# The webhooks resolve the unknown rows the API had accepted; the rest are
# re-sent once the delay has passed.
"$SUF" -c "$k/suf.conf" --now "$NOW" import events "$k/events.jsonl" 2>>"$k/stderr.log" ||
  fail "importing the events failed"
"$SUF" -c "$k/suf.conf" --now "$NOW" reconcile 2>>"$k/stderr.log" || fail "reconcile failed"
rc=0
SUF_ACCESS_TOKEN="$MARKER" "$SUF" -c "$k/suf.conf" --now "$LATER" send 2>>"$k/stderr.log" || rc=$?
[ "$rc" -eq 0 ] || fail "the late send failed ($rc)"
"$PY" "$E2E_DIR/send_check.py" exactly_once "$k/suf.db" "$k/mock.jsonl" || fail "exactly once"
echo "ok: kill -9 ($inflight in flight, $unknown unknown): nothing sent twice, nothing lost"

# --- 4. the token is nowhere ------------------------------------------------------
for db in "$f/suf.db" "$d/suf.db" "$k/suf.db"; do
  sqlite3 "$db" "SELECT COUNT(*) FROM rejects" >/dev/null
done
"$PY" "$E2E_DIR/send_check.py" clean "$f/suf.db" "$MARKER" "$f/stderr.log" "$d/stderr.log" \
  "$k/stderr.log" "$f/mock.jsonl" "$d/mock.jsonl" "$k/mock.jsonl" "$outbox" "$f/events.jsonl" ||
  fail "token leak"
"$PY" "$E2E_DIR/send_check.py" clean "$d/suf.db" "$MARKER" "$outbox" || fail "token leak"
"$PY" "$E2E_DIR/send_check.py" clean "$k/suf.db" "$MARKER" "$k/events.jsonl" || fail "token leak"
echo "ok: send e2e"
