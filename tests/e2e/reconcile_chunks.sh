#!/bin/sh
# reconcile_chunks.sh: statuses of the same message on both sides of every
# chunk boundary of `suf reconcile`.  Reconcile reads its events in chunks,
# loading the next chunk while it applies the current one, so a row loaded
# with the next chunk may predate what the current one wrote; it must never
# be used as it was.  Each of N utility messages gets sent, delivered and read
# at consecutive times, and 1 in 7 a "yes" tap right after; the times
# interleave the fallbacks so that every boundary splits some message's
# statuses.  Expected values follow from the generated times alone: delivery
# "read", delivered_at the "delivered" time, utility_delivered_at the same,
# consented_at the tap's time.
#
# SUF_RECONCILE_CHUNKS_N (default 25000 fallbacks, about 80,000 events).
set -eu
. "$(dirname "$0")/lib.sh"
n=${SUF_RECONCILE_CHUNKS_N:-25000}
t0=1795485600
scratch_fresh
cd "$SUF_SCRATCH"
printf '[general]\ndatabase = %s/run.db\n' "$PWD" > suf.conf
"$SUF" -q -c suf.conf init
sqlite3 run.db > /dev/null <<EOF2
BEGIN;
INSERT INTO campaigns (campaign_id, name) VALUES ('camp_a', 'A');
WITH RECURSIVE i(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM i WHERE k < $n)
INSERT INTO fallbacks (id, campaign_id, phone, attempt_id, template_name, scenario, state,
                       state_at, created_at, utility_sent_at)
SELECT k, 'camp_a', printf('91%010d', k), k, 'winter_sale', 'S3', 'utility_sent', $t0, $t0, $t0
FROM i;
INSERT INTO sends (fallback_id, kind, part, n, callback, body, state, wamid, sent_at, queued_at)
SELECT id, 'u', 1, 1, 'suf:' || id || ':u1', '{}', 'sent', 'wamid.C' || id, $t0, $t0
FROM fallbacks;
INSERT INTO sends (fallback_id, kind, part, n, callback, body, state)
SELECT id, 's', 1, 1, 'suf:' || id || ':s1', '{}', 'held' FROM fallbacks;
COMMIT;
EOF2

# Fallback i's events at t0 + 10 + 4 * (i // 3) + step (step 0 sent, 1
# delivered, 2 read, 3 tap), written fallback after fallback: three
# fallbacks share each time slot, so queue order (ts, id) interleaves them.
$PY - "$n" "$t0" > events.jsonl <<'EOF2'
import sys
n, t0 = int(sys.argv[1]), int(sys.argv[2])
head = ('{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":'
        '{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001234",'
        '"phone_number_id":"1"},')
tail = '},"field":"messages"}]}]}'
for i in range(1, n + 1):
    base = t0 + 10 + 4 * (i // 3)
    for step, st in enumerate(["sent", "delivered", "read"]):
        print(head + '"statuses":[{"id":"wamid.C%d","status":"%s","timestamp":"%d",'
              '"recipient_id":"91%010d","biz_opaque_callback_data":"suf:%d:u1"}]'
              % (i, st, base + step, i, i) + tail)
    if i % 7 == 0:
        print(head + '"contacts":[{"profile":{"name":"C"},"wa_id":"91%010d"}],"messages":[{'
              '"context":{"from":"15550001234","id":"wamid.C%d"},"type":"button",'
              '"button":{"payload":"suf:%d:yes","text":"Yes"},"from":"91%010d",'
              '"id":"wamid.IN%d","timestamp":"%d"}]' % (i, i, i, i, i, base + 3) + tail)
EOF2
"$SUF" -q -c suf.conf --now 2026-11-24T14:00:00Z import events events.jsonl
"$SUF" -q -c suf.conf --now 2026-11-24T14:00:00Z reconcile

# no_rows NAME SQL: SQL counts the rows that break a rule; it must be 0.
no_rows() {
  bad=$(sqlite3 run.db "$2")
  [ "$bad" = 0 ] || fail "$1: $bad rows"
}
no_rows "utility sends not read, or with other times" "
  SELECT count(*) FROM sends s WHERE s.kind = 'u' AND NOT (
    s.delivery = 'read'
    AND s.sent_at = $t0
    AND s.delivered_at = $t0 + 10 + 4 * (s.fallback_id / 3) + 1
    AND s.read_at = $t0 + 10 + 4 * (s.fallback_id / 3) + 2)"
no_rows "fallbacks in another state or with other times" "
  SELECT count(*) FROM fallbacks f WHERE NOT (
    f.utility_delivered_at = $t0 + 10 + 4 * (f.id / 3) + 1
    AND CASE WHEN f.id % 7 = 0
        THEN f.state = 'consented' AND f.consented_at = $t0 + 10 + 4 * (f.id / 3) + 3
        ELSE f.state = 'utility_delivered' AND f.consented_at IS NULL END)"
no_rows "session parts not queued exactly for the consents" "
  SELECT count(*) FROM sends s JOIN fallbacks f ON f.id = s.fallback_id WHERE s.kind = 's'
    AND (s.state = 'queued') <> (f.id % 7 = 0)"
no_rows "events left in the queue" "SELECT count(*) FROM event_queue"
# Idempotent: a second reconcile changes nothing.
before=$(sqlite3 run.db "SELECT sha3_query('SELECT * FROM fallbacks ORDER BY id; SELECT * FROM sends ORDER BY id')")
"$SUF" -q -c suf.conf --now 2026-11-24T14:00:00Z reconcile
after=$(sqlite3 run.db "SELECT sha3_query('SELECT * FROM fallbacks ORDER BY id; SELECT * FROM sends ORDER BY id')")
[ "$before" = "$after" ] || fail "a second reconcile changed the store"
echo "reconcile_chunks: OK ($n fallbacks, $(wc -l < events.jsonl) events)"
