#!/bin/sh
# End-to-end: a utility row that plan queued without its bytes gets them
# built when the send claims it, on the writer's thread; when they cannot
# be built (its fallback's phone was damaged after the plan), the row is set
# aside and said so, stays queued with no bytes, and takes no share of
# --limit: the rows after it are sent in its place, each with the bytes
# stored by its in_flight mark.
set -eu
. "$(dirname "$0")/lib.sh"
. "$SUF_SOURCE_DIR/scripts/pipeline.sh"
D=$SUF_SCRATCH
NIGHT1=2026-11-24T02:00:00Z
NIGHT1_EPOCH=1795485600

pipeline_setup "$D"
mock_start "$D" "$NIGHT1_EPOCH"
printf '[plan]\nfallback = on\n' >> "$D/suf.conf"
suf() { "$SUF" -c "$D/suf.conf" "$@"; }
q() { sqlite3 "$D/suf.db" "$1"; }

suf -q init
suf -q import templates "$D"/inbox/templates/*.json
suf -q import campaigns "$D/inbox/campaigns/campaigns.csv"
suf -q import deliveries "$D/inbox/deliveries/deliveries.csv" || true
suf -q --now $NIGHT1 plan
planned=$(q "SELECT COUNT(*) FROM sends WHERE kind = 'u' AND state = 'queued' AND body = ''")
[ "$planned" -ge 4 ] || fail "plan queued $planned utility rows without their bytes, want 4 or more"

# the first row of a campaign whose permission template may be sent
bad=$(q "SELECT s.id FROM sends s JOIN fallbacks f ON f.id = s.fallback_id WHERE s.kind = 'u'
  AND s.state = 'queued' AND s.body = '' AND f.campaign_id NOT IN ('camp_paused', 'camp_recat')
  ORDER BY s.id LIMIT 1")
q "UPDATE fallbacks SET phone = 'not-a-phone' WHERE id = (SELECT fallback_id FROM sends WHERE id = $bad)"

suf --now $NIGHT1 send --limit 3 > "$D/send.out" 2>&1 || true
grep -q "send $bad: its utility message cannot be built: .*malformed recipient phone" "$D/send.out" ||
  fail "the unbuildable row was not named: $(cat "$D/send.out")"
check "the unbuildable row stays queued without bytes" "queued||" \
  "$(q "SELECT state || '|' || body || '|' || COALESCE(run_id, '') FROM sends WHERE id = $bad")"
# (the mock answers some requests with transient failures: tried, not all sent)
check "--limit 3 tries three other rows" 3 \
  "$(q "SELECT COUNT(*) FROM sends WHERE kind = 'u' AND run_id IS NOT NULL AND id <> $bad")"
check "every row tried stored its bytes" 3 \
  "$(q "SELECT COUNT(*) FROM sends WHERE kind = 'u' AND run_id IS NOT NULL AND body LIKE '{%'")"
"$PY" - "$D/mock-requests.jsonl" "$D/suf.db" <<'PY' || fail "the bytes posted are not the bytes stored"
import json, sqlite3, sys
sent = [json.loads(l) for l in open(sys.argv[1])]
sent = [r for r in sent if r.get("accepted")]
db = sqlite3.connect(sys.argv[2])
assert 1 <= len(sent) <= 3, len(sent)
for r in sent:
    (body,) = db.execute("SELECT body FROM sends WHERE callback = ?", (r["callback"],)).fetchone()
    assert body == r["body"], (body, r["body"])
PY
finish send_unbuildable
