#!/bin/sh
# reconcile.sh: the whole fallback loop with the real binary and the mock
# Cloud API: import the shared fixtures, plan, send the utility messages,
# let simulated customers answer (tests/mock/customers.py), import the
# events, reconcile, send the session messages, import their statuses,
# reconcile, over four passes:
#
#   night 1   2026-11-24T02:00Z  plan + utility messages
#   light     night 1 + 2 h      the frequent light run: early consents
#   night 2   2026-11-25T02:00Z  the rest of the first day's consents;
#                                those older than 23.5 h are window_expired
#   night 5   2026-11-28T02:00Z  every consent window is over: no_response,
#                                late consents
#
# reconcile_expect.py then computes each fallback's final state on its own,
# from the mock's request log, the status webhooks it wrote and the
# customers' decisions, and compares it with what suf stored, fallback by
# fallback, and the counts per state.  A second reconcile must change
# nothing, and no session message may have gone to anyone who did not
# consent in time.
set -eu
. "$(dirname "$0")/lib.sh"

# The fixtures and the upstream stages are written by other areas; wait
# for them, boundedly.
for i in $(seq 1 60); do
  [ -f "$SUF_SOURCE_DIR/fixtures/deliveries.csv" ] && [ -f "$SUF_SOURCE_DIR/scripts/pipeline.sh" ] \
    && [ -f "$SUF_SOURCE_DIR/tests/mock/cloudapi.py" ] && break
  sleep 5
done
. "$SUF_SOURCE_DIR/scripts/pipeline.sh"

d=$SUF_SCRATCH
pipeline_setup "$d"
epoch() { date -u -d "$1" +%s; }
night1=$(epoch 2026-11-24T02:00:00Z)
light=$((night1 + 2 * 3600))
night2=$(epoch 2026-11-25T02:00:00Z)
night5=$(epoch 2026-11-28T02:00:00Z)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
ev="$d/inbox/events"
seed=${SUF_CUSTOMER_SEED:-21}

suf_at() { at=$1; shift; "$SUF" -q -c "$d/suf.conf" --now "$(iso "$at")" "$@"; }

# Send, tolerating the permanent failures the fixtures provoke on purpose
# (exit 69 from sysexits: EX_UNAVAILABLE is what a failed send maps to).
send_at() {
  suf_at "$1" send || { rc=$?; [ $rc -eq 69 ] || [ $rc -eq 1 ] || fail "send exited $rc"; }
}

customers_until() {
  customers "$d" --statuses "$ev" --out "$ev/customers.jsonl" --seed "$seed" \
    --since "$1" --until "$2" --decisions "$d/decisions.jsonl" --timeout 10
}

# One pass: a fresh mock whose webhooks are timed from the pass, then
# events in, reconcile, session (and utility) sends out, their statuses in,
# reconcile again.
pass() {
  t=$1
  mock_stop "$d"
  mock_start "$d" "$t"
  suf_at "$t" import events "$ev"
  suf_at "$t" reconcile
  send_at "$t"
  suf_at "$t" import events "$ev"
  suf_at "$t" reconcile
}

"$SUF" -q -c "$d/suf.conf" init
suf_at "$night1" import templates "$d/inbox/templates"
suf_at "$night1" import campaigns "$d/inbox/campaigns"
suf_at "$night1" import deliveries "$d/inbox/deliveries"
suf_at "$night1" plan

pass "$night1"
customers_until 0 "$light"
pass "$light"
customers_until "$light" "$night2"
pass "$night2"
customers_until "$night2" "$night5"
pass "$night5"

# Idempotence: one more reconcile at the same time changes nothing.
snap() {
  $PY - "$d/suf.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for q in ("SELECT * FROM fallbacks ORDER BY id", "SELECT * FROM sends ORDER BY id",
          "SELECT * FROM optouts ORDER BY phone",
          "SELECT id, id IN (SELECT id FROM event_queue) FROM events ORDER BY id"):
    for row in db.execute(q):
        print(row)
EOF
}
snap > "$d/before.txt"
suf_at "$night5" reconcile
snap > "$d/after.txt"
cmp -s "$d/before.txt" "$d/after.txt" || { diff "$d/before.txt" "$d/after.txt" | head; fail "a second reconcile changed the store"; }

$PY "$E2E_DIR/reconcile_expect.py" --db "$d/suf.db" --requests "$d/mock-requests.jsonl" \
  --statuses "$ev" --decisions "$d/decisions.jsonl" \
  --passes "$night1,$light,$night2,$night5" --margin-minutes 30 --wait-hours 72 \
  || fail "final states differ from the expected ones"
echo "ok"
