#!/bin/sh
# status.sh: `suf status` after a night's run on the shared fixtures.
#
# Checks, against the fixture and the store: per campaign the settings that
# stop it (camp_off is off, camp_expired expired, with the reason), the
# fallbacks by state, the cost so far in both views (equal to the report's
# Summary sheet), the sends queued, deferred and `unknown`, the consents
# waiting with their deadlines (delivery + consent_wait_hours); that the
# text and --json forms carry the same content, and the --json shape that
# README.md documents; and that --runs is a table, not raw JSON.
set -eu
. "$(dirname "$0")/lib.sh"
. "$SUF_SOURCE_DIR/scripts/pipeline.sh"
D=$SUF_SCRATCH
NIGHT1=2026-11-24T02:00:00Z
NIGHT1_EPOCH=1795485600
suf() { "$SUF" -c "$D/suf.conf" "$@" </dev/null; }

pipeline_setup "$D"
mock_start "$D" "$NIGHT1_EPOCH"
suf -q init
suf -q import markets "$SUF_SOURCE_DIR/fixtures/markets.csv"
suf --now $NIGHT1 run > "$D/night1.out" 2>&1 || true
mock_stop "$D"
grep -q "stage report: done" "$D/night1.out" || fail -l "$D/night1.out" "night 1 did not finish"
suf -q --now $NIGHT1 report --csv --out "$D/csvrep" > /dev/null 2>&1 ||
  fail "report --csv failed"

# A send its run left mid-request: status must show it as unknown.
sqlite3 "$D/suf.db" "UPDATE sends SET state = 'unknown' WHERE id = (SELECT min(s.id) FROM sends s
  JOIN fallbacks f ON f.id = s.fallback_id WHERE f.campaign_id = 'camp_winter' AND s.kind = 'u')"

suf --now $NIGHT1 status --json --runs > "$D/status.json" || fail "status --json failed"
suf --now $NIGHT1 status --runs > "$D/status.txt" || fail "status failed"

$PY - "$D/suf.db" "$D/status.json" "$D/status.txt" "$D/csvrep" "$NIGHT1_EPOCH" <<'PY' || fail "status differs from the store or the fixture"
import csv, glob, json, sqlite3, sys, datetime
db = sqlite3.connect(sys.argv[1])
st = json.load(open(sys.argv[2]))
text = open(sys.argv[3]).read()
now = int(sys.argv[5])
def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

# The documented shape.
assert set(st) == {"as_of", "campaigns", "rejects", "runs"}, sorted(st)
assert st["as_of"] == iso(now)
keys = {"id", "name", "attempts", "recipients", "planned", "attempt_statuses", "outcomes",
        "fallbacks", "fallback", "valid_until", "stopped", "stopped_reason", "held", "cost",
        "charges_unpriced", "sends", "consents_waiting", "no_market", "no_market_example"}
camps = {c["id"]: c for c in st["campaigns"]}
for c in st["campaigns"]:
    assert set(c) == keys, (c["id"], sorted(set(c) ^ keys))
    assert set(c["cost"]) == {"currency", "policy", "meta"}
    assert set(c["sends"]) == {"queued", "deferred", "blocked", "unknown"}
    assert set(c["consents_waiting"]) == {"count", "earliest"}
want_ids = sorted(r[0] for r in db.execute(
    "SELECT campaign_id FROM attempts UNION SELECT campaign_id FROM campaigns"))
assert sorted(camps) == want_ids, (sorted(camps), want_ids)

# The fixture's stopped campaigns, and no other.
assert camps["camp_off"]["stopped"] == "off", camps["camp_off"]
assert camps["camp_expired"]["stopped"] == "expired", camps["camp_expired"]
assert "2026-11-22T00:00:00Z" in camps["camp_expired"]["stopped_reason"]
assert [i for i, c in camps.items() if c["stopped"]] == ["camp_expired", "camp_off"]
assert "  stopped: off: fallback is off for this campaign" in text
assert "  stopped: expired: valid_until 2026-11-22T00:00:00Z has passed" in text

wait_s = 72 * 3600
for cid, c in camps.items():
    fb = dict(db.execute("SELECT state, count(*) FROM fallbacks WHERE campaign_id = ? "
                         "GROUP BY state", (cid,)).fetchall())
    assert c["fallbacks"] == fb, (cid, c["fallbacks"], fb)
    q = {"queued": 0, "deferred": 0, "blocked": 0, "unknown": 0}
    for state, nt, fstate in db.execute("SELECT s.state, s.next_try_at, f.state FROM sends s "
                                        "JOIN fallbacks f ON f.id = s.fallback_id "
                                        "WHERE f.campaign_id = ?", (cid,)):
        if state == "queued" and fstate == "blocked":
            q["blocked"] += 1
        elif state == "queued":
            q["deferred" if nt is not None and nt > now else "queued"] += 1
        elif state == "unknown":
            q["unknown"] += 1
    assert c["sends"] == q, (cid, c["sends"], q)
    waiting = sorted((d + wait_s, i) for i, d in db.execute(
        "SELECT id, utility_delivered_at FROM fallbacks WHERE campaign_id = ? "
        "AND state = 'utility_delivered'", (cid,)))
    assert c["consents_waiting"]["count"] == len(waiting), cid
    assert c["consents_waiting"]["earliest"] == [
        {"fallback": i, "deadline": iso(d)} for d, i in waiting[:10]], cid
    line = (f"  sends: queued {q['queued']}, deferred {q['deferred']}, "
            f"blocked {q['blocked']}, unknown {q['unknown']}")
    assert line in text, (cid, line)
    # The cost equals the report's Summary sheet, both views.
    rows = {r[0]: r for r in csv.reader(open(glob.glob(f"{sys.argv[4]}/{cid}/*/summary.csv")[0]))}
    pol = sum(float(rows[k][1]) for k in ("Utility permission messages", "Session messages"))
    meta = sum(float(rows[k][2]) for k in ("Utility permission messages", "Session messages"))
    assert abs(float(c["cost"]["policy"]) - pol) < 1e-9, (cid, c["cost"], pol)
    assert abs(float(c["cost"]["meta"]) - meta) < 1e-9, (cid, c["cost"], meta)
    assert (f"  cost so far: {c['cost']['policy']} USD (policy), {c['cost']['meta']} USD (Meta); "
            f"charges without a price: {c['charges_unpriced']}") in text, cid

# Values the fixture fixes: night 1 leaves camp_winter's three fallbacks
# waiting for a tap, one session made unknown above; something was paid.
w = camps["camp_winter"]
assert w["fallbacks"] == {"utility_delivered": 3}, w["fallbacks"]
assert w["consents_waiting"]["count"] == 3 and w["sends"]["unknown"] == 1, w
assert float(w["cost"]["policy"]) > 0
assert sum(c["sends"]["deferred"] for c in camps.values()) > 0

# --runs: a table with a header, one row per run, no raw JSON.
runs = st["runs"]
assert [r["command"] for r in runs[:3]] == ["report", "run", "import"], runs[:3]
assert set(runs[0]) == {"id", "command", "args", "started", "seconds", "as_of", "status",
                        "exit", "counts", "message"}
lines = text[text.index("last runs"):].splitlines()
assert lines[1].split() == ["run", "start", "duration", "command", "exit", "status", "main",
                            "counts"], lines[1]
r = runs[1]
row = next(l for l in lines if l.startswith(f"  #{r['id']} "))
assert row.split()[1:6] == [r["started"], f"{r['seconds']}s", "run", str(r["exit"]), r["status"]], row
assert f"sent {r['counts']['send.sent']}" in row, row
assert "{" not in "\n".join(lines), "raw JSON in --runs"
print(f"status: {len(camps)} campaigns and {len(runs)} runs as in the store")
PY

# One campaign; an unknown one is an error.
suf --now $NIGHT1 status --campaign camp_winter --json > "$D/one.json"
$PY -c "import json,sys; c=json.load(open(sys.argv[1]))['campaigns']; assert [x['id'] for x in c]==['camp_winter']" "$D/one.json" ||
  fail "status --campaign listed other campaigns"
if suf --now $NIGHT1 status --campaign no_such --json > /dev/null 2>&1; then
  fail "status of an unknown campaign succeeded"
fi
echo "status e2e: ok"
