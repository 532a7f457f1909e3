#!/bin/sh
# events_kill.sh: `suf import events` killed with SIGKILL mid-file, then run
# again, must leave exactly what one uninterrupted import leaves: the same
# events with the same line numbers, each reject once with its line number,
# and the file's offset and line count at its end.
#
# The log (generated here) holds statuses, taps, redelivered duplicates,
# lines that are not JSON and lines that are not webhooks, spread over many
# commit batches.  Each trial kills an import at a random moment (several
# times over), checks PRAGMA integrity_check after each kill, then imports
# to the end and compares with a reference store that was never killed.
#
# SUF_EVENTS_KILL_TRIALS (default 3), SUF_EVENTS_KILL_LINES (100000).
set -eu
. "$(dirname "$0")/lib.sh"
trials=${SUF_EVENTS_KILL_TRIALS:-3}
lines=${SUF_EVENTS_KILL_LINES:-100000}
scratch_fresh
cd "$SUF_SCRATCH"

$PY - "$lines" > events.jsonl <<'PYEOF'
import random, sys
n = int(sys.argv[1])
rnd = random.Random(5)
head = ('{"object":"whatsapp_business_account","entry":[{"id":"2000000002","changes":[{"value":'
        '{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001234",'
        '"phone_number_id":"1000000001"},')
tail = '},"field":"messages"}]}]}'
for k in range(n):
    i = rnd.randrange(1, n // 2)
    r = rnd.random()
    if r < 0.01:
        print('{"not json')
    elif r < 0.02:
        print('{"object":"page","entry":[]}')
    elif r < 0.03:
        print('')
    elif r < 0.85:
        st = rnd.choice(["sent", "delivered", "read", "failed"])
        print(head + '"statuses":[{"id":"wamid.K%08d","status":"%s","timestamp":"%d",'
              '"recipient_id":"91%010d","biz_opaque_callback_data":"suf:%d:u1"}]'
              % (i, st, 1795485600 + k, i, i) + tail)
    else:
        print(head + '"contacts":[{"profile":{"name":"C %d"},"wa_id":"91%010d"}],"messages":[{'
              '"context":{"from":"15550001234","id":"wamid.K%08d"},"type":"button",'
              '"button":{"payload":"suf:%d:yes","text":"Yes"},"from":"91%010d",'
              '"id":"wamid.IN%08d","timestamp":"%d"}]' % (i, i, i, i, i, i, 1795485600 + k)
              + tail)
PYEOF
total=$(wc -l < events.jsonl)
size=$(wc -c < events.jsonl)

# dump DB: what an import leaves, in a canonical order
dump() {
  sqlite3 "$1" "SELECT kind, wamid, status, callback, ts, from_phone, payload, line FROM events
                ORDER BY wamid, kind, status, callback;
                SELECT 'reject', line, reason FROM rejects ORDER BY line, reason;
                SELECT 'queue', count(*) FROM event_queue;
                SELECT 'file', offset, lines FROM event_files;"
}
conf() { printf '[general]\ndatabase = %s/%s.db\n' "$PWD" "$1" > "$1.conf"; }
imp() { "$SUF" -q -c "$1.conf" import events events.jsonl 2> "$1.log"; }

conf ref
"$SUF" -q -c ref.conf init
imp ref || [ $? -eq 65 ] || fail "the reference import failed"
dump ref.db > ref.txt
grep -q "^file|$size|$total\$" ref.txt || fail "reference: offset and lines are not the file's end"
[ "$(grep -c '^reject|' ref.txt)" -gt 0 ] || fail "reference: no rejects to compare"

# A second clean import, timed: the kills fall within its duration.
conf ref2
"$SUF" -q -c ref2.conf init
t0=$(date +%s%3N); imp ref2 || [ $? -eq 65 ] || fail "the second reference import failed"
t1=$(date +%s%3N)
span=$((t1 - t0)); [ "$span" -gt 20 ] || span=20
dump ref2.db > ref2.txt
cmp -s ref.txt ref2.txt || fail "two clean imports differ"

for t in $(seq 1 "$trials"); do
  name=t$t
  conf "$name"
  rm -f "$name.db" "$name.db-wal" "$name.db-shm"
  "$SUF" -q -c "$name.conf" init
  kills=0
  for k in 1 2 3; do
    # each run goes on from the last commit: aim earlier each time
    delay=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % (span / k) ))
    "$SUF" -q -c "$name.conf" import events events.jsonl > /dev/null 2>&1 &
    pid=$!
    $PY -c "import time; time.sleep($delay / 1000)"
    if kill -KILL $pid 2>/dev/null; then kills=$((kills + 1)); fi
    wait $pid 2>/dev/null || true
    r=$(sqlite3 "$name.db" "PRAGMA integrity_check")
    [ "$r" = ok ] || fail "trial $t: integrity_check after a kill: $r"
  done
  imp "$name" || [ $? -eq 65 ] || fail "trial $t: the final import failed"
  dump "$name.db" > "$name.txt"
  cmp -s ref.txt "$name.txt" || { diff ref.txt "$name.txt" | head -20 >&2; fail "trial $t: differs from the import never killed"; }
  echo "trial $t: $kills kills, same events, rejects and offset as one import"
done
echo "events_kill: OK ($trials trials, $total lines)"
