#!/bin/sh
# plan.sh: `suf plan` on the shared fixtures, night 1 and night 2.
#
# The expected outcome of every recipient is computed here independently,
# by plan_expect.py reading fixtures/deliveries.csv, templates*.json and
# campaigns.csv directly (DESIGN.md's rules, written again in Python), and
# compared row by row with what suf stored.  Also checked: the outcome
# counts add up to the recipients on every fixture (the messy exports too),
# a fallback keeps its id, scenario and bodies from night 1 to night 2, a
# rerun changes nothing, and --explain writes nothing.
set -eu
. "$(dirname "$0")/lib.sh"
fx="$SUF_SOURCE_DIR/fixtures"
scratch_fresh
cd "$SUF_SCRATCH"
night1=2026-11-24T02:00:00Z
night2=2026-11-25T02:00:00Z

# The fixtures are written by other areas; wait for them, boundedly.
for i in $(seq 1 60); do
  [ -f "$fx/deliveries.csv" ] && [ -f "$fx/templates.json" ] && [ -f "$fx/campaigns.csv" ] && break
  sleep 5
done
[ -f "$fx/deliveries.csv" ] || fail "fixtures/deliveries.csv is missing"

printf '[general]\ndatabase = %s/suf.db\n' "$PWD" > suf.conf
suf() { "$SUF" -q -c suf.conf "$@"; }
suf init
suf import templates "$fx"/templates*.json
suf import campaigns "$fx/campaigns.csv"
suf import deliveries "$fx/deliveries.csv"

# The stored outcomes, one line per recipient, as plan_expect.py prints them.
stored() {
  $PY - "$PWD/suf.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
q = """SELECT r.campaign_id, r.phone, r.outcome, r.reason, f.scenario
       FROM recipients r LEFT JOIN fallbacks f USING (campaign_id, phone)
       ORDER BY r.campaign_id, r.phone"""
lines = [f"{c}|{p}|{o}{':' + r if r else ''}{' ' + s if s else ''}" for c, p, o, r, s in db.execute(q)]
print("\n".join(sorted(lines)))
EOF
}

# Every recipient has one outcome, and the run's counts add up to them.
check_invariant() {
  $PY - "$1" <<'EOF'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
recipients = db.execute("SELECT count(*) FROM (SELECT DISTINCT campaign_id, phone FROM attempts)").fetchone()[0]
rows = db.execute("SELECT count(*) FROM recipients").fetchone()[0]
counts = json.loads(db.execute("SELECT counts FROM runs WHERE command = 'plan' ORDER BY id DESC LIMIT 1").fetchone()[0] or "{}")
outcomes = ["delivered", "recovered_by_retry", "in_flight", "awaiting_retries", "excluded", "fallback"]
total = sum(counts.get("plan." + o, 0) for o in outcomes)
reasons = sum(v for k, v in counts.items() if k.startswith("plan.excluded."))
ok = rows == recipients == total and reasons == counts.get("plan.excluded", 0)
print(f"{sys.argv[1]}: {recipients} recipients, {rows} outcomes stored, counts add up to {total}")
sys.exit(0 if ok else 1)
EOF
}

dump() {
  $PY - "$PWD/suf.db" "$1" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
with open(sys.argv[2], "w") as out:
    for t, order in (("recipients", "campaign_id, phone"), ("fallbacks", "id"), ("sends", "id")):
        for row in db.execute(f"SELECT * FROM {t} ORDER BY {order}"):
            out.write(t + "|" + "|".join(map(str, row)) + "\n")
EOF
}

# Night 1.
suf --now $night1 plan
stored > got1.txt
$PY "$E2E_DIR/plan_expect.py" "$fx" $night1 > want1.txt
diff -u want1.txt got1.txt || fail "night 1: stored outcomes differ from the independent computation"
check_invariant "$PWD/suf.db" || fail "night 1: outcome counts do not add up"
echo "night 1: $(wc -l < got1.txt) recipients as expected"

# --explain reads only, and shows the rule, the scenario and the bodies.
dump before-explain.txt
suf --now $night1 plan --explain '+44 7700 900023' --campaign camp_winter > explain.txt
dump after-explain.txt
cmp -s before-explain.txt after-explain.txt || fail "--explain changed the database"
grep -q 'rule now .*: fallback' explain.txt || fail "--explain: no rule line"
grep -q 'scenario S3' explain.txt || fail "--explain: no scenario"
grep -q '"type": "interactive"' explain.txt || fail "--explain: no session body"
grep -q '"name": "fallback_permission"' explain.txt || fail "--explain: no utility body"
if suf --now $night1 plan --explain 440000000000 --campaign camp_winter > /dev/null 2>&1; then
  fail "--explain of an unknown phone succeeded"
fi

# --explain takes no lock and leaves no trace: it works while a run holds
# the lock, and adds no row to runs.
runs_before=$($PY -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM runs').fetchone()[0])" "$PWD/suf.db")
flock suf.db.lock sleep 3 &
locker=$!
sleep 0.5
rc=0
suf --now $night1 plan --explain '+44 7700 900023' --campaign camp_winter > locked.txt 2>&1 || rc=$?
rcl=0
suf --now $night1 plan --explain --campaign camp_winter --list > /dev/null 2>&1 || rcl=$?
wait $locker
[ $rc -eq 0 ] || fail -l locked.txt "--explain during a held lock exited $rc, want 0"
[ $rcl -eq 0 ] || fail "--explain --list during a held lock exited $rcl, want 0"
runs_after=$($PY -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM runs').fetchone()[0])" "$PWD/suf.db")
[ "$runs_before" = "$runs_after" ] || fail "--explain added a row to runs ($runs_before, then $runs_after)"

# The list form: one row per recipient of the campaign, as stored.
suf plan --explain --campaign camp_winter --list --csv > list.csv
suf plan --explain --campaign camp_winter --list > list.txt
$PY - "$PWD/suf.db" list.csv list.txt <<'EOF2' || fail "--explain --list differs from the recipients table"
import csv, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
q = """SELECT r.phone, r.outcome, coalesce(r.reason, ''), coalesce(f.scenario, ''),
              coalesce(r.detail, '')
       FROM recipients r LEFT JOIN fallbacks f USING (campaign_id, phone)
       WHERE r.campaign_id = 'camp_winter' ORDER BY r.phone"""
want = [list(map(str, r)) for r in db.execute(q)]
with open(sys.argv[2], newline="") as f:
    rows = list(csv.reader(f))
assert rows[0] == ["phone", "outcome", "reason", "scenario", "detail"], rows[0]
assert rows[1:] == want, (rows[1:], want)
assert len(want) > 0 and any(w[1] == "fallback" for w in want) and any(w[2] for w in want)
table = open(sys.argv[3]).read().splitlines()
assert len(table) == len(want) + 1, (len(table), len(want))
for line, w in zip(table[1:], want):
    assert line.split()[:4] == [w[0], w[1], w[2] or "-", w[3] or "-"], (line, w)
print(f"--explain --list: {len(want)} recipients as stored")
EOF2
if suf plan --explain --campaign no_such_campaign --list > /dev/null 2>&1; then
  fail "--explain --list of an unknown campaign succeeded"
fi

# Night 2: waiting recipients move on; night 1's fallbacks stay as they were.
$PY - "$PWD/suf.db" > fallbacks1.txt <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for row in db.execute("SELECT f.id, f.campaign_id, f.phone, f.scenario, s.callback, s.body FROM fallbacks f JOIN sends s ON s.fallback_id = f.id ORDER BY s.id"):
    print("|".join(map(str, row)))
EOF
suf --now $night2 plan
stored > got2.txt
$PY "$E2E_DIR/plan_expect.py" "$fx" $night2 > want2.txt
diff -u want2.txt got2.txt || fail "night 2: stored outcomes differ from the independent computation"
check_invariant "$PWD/suf.db" || fail "night 2: outcome counts do not add up"
$PY - "$PWD/suf.db" > fallbacks2.txt <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for row in db.execute("SELECT f.id, f.campaign_id, f.phone, f.scenario, s.callback, s.body FROM fallbacks f JOIN sends s ON s.fallback_id = f.id ORDER BY s.id"):
    print("|".join(map(str, row)))
EOF
head -n "$(wc -l < fallbacks1.txt)" fallbacks2.txt | cmp -s - fallbacks1.txt ||
  fail "night 2 changed a fallback of night 1"
moved=$(diff got1.txt got2.txt | grep -c '^>' || true)
echo "night 2: $moved recipients moved on"
[ "$moved" -gt 0 ] || fail "night 2 moved nobody"

# A rerun changes nothing.
dump run1.txt
suf --now $night2 plan
dump run2.txt
cmp -s run1.txt run2.txt || { diff run1.txt run2.txt | head; fail "a second plan changed the database"; }

# One campaign only.
suf --now $night2 plan --campaign camp_s1
if suf --now $night2 plan --campaign no_such_campaign 2>/dev/null; then
  fail "plan --campaign of an unknown campaign succeeded"
fi

# The messy exports: whatever imports, every recipient has one outcome.
if [ -d "$fx/messy" ]; then
  printf '[general]\ndatabase = %s/messy.db\n' "$PWD" > messy.conf
  "$SUF" -q -c messy.conf init
  "$SUF" -q -c messy.conf import templates "$fx"/templates*.json
  for f in "$fx"/messy/*.csv; do
    "$SUF" -q -c messy.conf import deliveries "$f" || true # the rejects are expected
  done
  "$SUF" -q -c messy.conf --now $night1 plan
  check_invariant "$PWD/messy.db" || fail "messy: outcome counts do not add up"
fi
echo "plan e2e: ok"
