#!/bin/sh
# End-to-end: a store of the release before plan stored decisions instead
# of requests (schema version 3: every request built at plan time and
# stored whole) keeps working with this binary.  tests/data/store-v3/rows.sql
# was made by that release (tests/data/store-v3/make.sh) and has sends rows
# in every state: queued, held, in flight when its run died, unknown, sent,
# failed, cancelled, and a consented fallback's part queued.
#  - the store migrates at open;
#  - the requests it stored go out exactly as stored: the queued utility
#    rows, the queued session part, and the held parts once their customers
#    consent (queued as they are: no part is built again);
#  - the row a dead run left in flight becomes unknown; an unknown row is
#    sent again, after unknown_resend_after_hours, with its stored body (its
#    callback's number the next); sent, failed and cancelled rows are left
#    alone.
set -eu
. "$(dirname "$0")/lib.sh"
. "$SUF_SOURCE_DIR/scripts/pipeline.sh"
D=$SUF_SCRATCH
NIGHT1=2026-11-24T02:00:00Z
NIGHT1_EPOCH=1795485600
HOUR6=2026-11-24T08:00:00Z
HOUR6_EPOCH=$((NIGHT1_EPOCH + 6 * 3600))

pipeline_setup "$D"
mock_start "$D" "$NIGHT1_EPOCH"
printf '[plan]\nfallback = on\n' >> "$D/suf.conf"
suf() { "$SUF" -c "$D/suf.conf" "$@"; }

rm -f "$D/suf.db"
sqlite3 "$D/suf.db" < "$SUF_SOURCE_DIR/tests/data/store-v3/rows.sql"
[ "$(sqlite3 "$D/suf.db" 'PRAGMA user_version')" = 3 ] || fail "the fixture is not a version 3 store"
sqlite3 -json "$D/suf.db" "SELECT id, fallback_id, kind, n, state, callback, body FROM sends
  ORDER BY id" > "$D/before.json"

suf --now $NIGHT1 send > "$D/send1.out" 2>&1 || true
[ "$(sqlite3 "$D/suf.db" 'PRAGMA user_version')" -ge 4 ] || fail -l "$D/send1.out" "the store was not migrated"
customers "$D" --statuses "$D/inbox/events" --consent 1 --decline 0 --stop 0 --forward 0 \
  --until "$HOUR6_EPOCH" --out "$D/inbox/events/customers.jsonl" > /dev/null
suf -q --now $HOUR6 import events "$D/inbox/events" > /dev/null 2>&1 || true
suf -q --now $HOUR6 reconcile
suf --now $HOUR6 send > "$D/send2.out" 2>&1 || true
# A day later: the old unknown row is past unknown_resend_after_hours.
suf --now 2026-11-25T08:00:00Z send > "$D/send3.out" 2>&1 || true

"$PY" - "$D/before.json" "$D/mock-requests.jsonl" "$D/suf.db" <<'PY' || fail "the old store's requests did not go out as stored"
import json, sqlite3, sys
before = {r["id"]: r for r in json.load(open(sys.argv[1]))}
by_cb = {r["callback"]: r for r in before.values()}
sent = [json.loads(l) for l in open(sys.argv[2])]
db = sqlite3.connect(sys.argv[3])
after = {r[0]: r for r in db.execute("SELECT id, fallback_id, kind, n, state, callback, body, "
                                      "resend_of FROM sends ORDER BY id")}
assert db.execute("SELECT count(*) FROM fallback_inputs").fetchone()[0] == 0
# Every request the mock received was stored by the old release, byte for
# byte (a resend: its body with the next callback number).
seen = {"queued u": 0, "queued s": 0, "held s": 0, "resend": 0}
for r in sent:
    cb = r["callback"]
    if cb in by_cb:
        old = by_cb[cb]
        assert r["body"] == old["body"], f"{cb}: sent {r['body']!r}, stored {old['body']!r}"
        assert old["state"] in ("queued", "held"), (cb, old["state"])
        seen[f"{old['state']} {old['kind']}"] += 1
    else:
        row = next(a for a in after.values() if a[5] == cb)
        orig = before[row[7]]
        want = json.loads(orig["body"])
        want["biz_opaque_callback_data"] = cb
        assert json.loads(r["body"]) == want, f"{cb}: a resend of {orig['callback']} changed"
        seen["resend"] += 1
assert seen["queued u"] > 0 and seen["queued s"] > 0 and seen["held s"] > 0, seen
# the old unknown row, and the dead run's row once unknown for a day (a
# request may be logged more than once: the mock's faults are retried)
resent = {next(a for a in after.values() if a[5] == r["callback"])[7] for r in sent
          if r["callback"] not in by_cb}
assert {before[i]["state"] for i in resent} == {"unknown", "in_flight"}, resent
# Bodies stored by the old release are never changed, and no part was
# built again beside them.
for i, old in before.items():
    assert after[i][6] == old["body"], f"send {i}: its stored body changed"
new = [a for a in after.values() if a[0] not in before]
assert all(a[7] is not None for a in new), f"rows other than resends were added: {new}"
# The dead run's row became unknown; sent, failed and cancelled stayed.
st = {old["callback"]: after[i][4] for i, old in before.items()}
dead = next(o for o in before.values() if o["state"] == "in_flight")
assert st[dead["callback"]] == "unknown", st[dead["callback"]]
assert dead["callback"] not in {r["callback"] for r in sent}, "the dead run's row was sent again as it was"
for o in before.values():
    if o["state"] in ("sent", "failed", "cancelled"):
        assert st[o["callback"]] == o["state"], (o["callback"], st[o["callback"]])
        assert o["callback"] not in {r["callback"] for r in sent}, o["callback"]
print(f"sent as stored: {seen}")
PY
ok "a version 3 store's requests go out as it stored them"
