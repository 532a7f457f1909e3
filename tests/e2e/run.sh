#!/bin/sh
# `suf run` driven the way cron drives it: no terminal, nothing in the
# environment but the config (the token comes from its file).  Checks the
# first run, a rerun (nothing new sent: the mock's request log proves it), a
# single-campaign rerun, a dry run (the store unchanged), the lock held by
# another process (exit 75, nothing touched), SIGTERM mid-send then a rerun
# (no loss, no duplicates).
set -eu
. "$(dirname "$0")/lib.sh"
. "$SUF_SOURCE_DIR/scripts/pipeline.sh"
D=$SUF_SCRATCH
NIGHT1=2026-11-24T02:00:00Z
NIGHT1_EPOCH=1795485600

# Like cron: empty environment, stdin closed, output to a file.
cron_suf() {
  env -i PATH=/usr/bin:/bin HOME=/nonexistent "$SUF" -c "$D/suf.conf" "$@" </dev/null
}
dump() { sqlite3 "$D/suf.db" .dump | grep -v '^INSERT INTO runs ' | sha256sum; }
posted() {
  if [ -f "$D/mock-requests.jsonl" ]; then grep -c '"accepted": *true' "$D/mock-requests.jsonl" || true
  else echo 0; fi
}
dup_callbacks() {
  $PY - "$D/mock-requests.jsonl" <<'PY'
import json, sys, collections
seen = collections.Counter(json.loads(l)["callback"] for l in open(sys.argv[1])
                           if json.loads(l).get("accepted"))
dups = [cb for cb, n in seen.items() if n > 1]
print(len(dups))
PY
}

pipeline_setup "$D"
mock_start "$D" "$NIGHT1_EPOCH"
"$SUF" -c "$D/suf.conf" -q init
"$SUF" -c "$D/suf.conf" -q import markets "$SUF_SOURCE_DIR/fixtures/markets.csv"

# 1. The lock held by another process: exit 75, nothing touched, and with
#    --quiet-if-locked nothing printed.
before=$(dump)
flock "$D/suf.db.lock" sleep 3 &
locker=$!
sleep 0.5
set +e
cron_suf --now $NIGHT1 run > "$D/locked.out" 2>&1; rc=$?
cron_suf --now $NIGHT1 run --skip report --quiet-if-locked > "$D/quiet.out" 2>&1; rcq=$?
set -e
wait $locker
[ $rc -eq 75 ] || fail "locked run exited $rc, want 75"
[ $rcq -eq 75 ] || fail "quiet locked run exited $rcq, want 75"
[ ! -s "$D/quiet.out" ] || fail "--quiet-if-locked printed: $(cat "$D/quiet.out")"
grep -q "another suf command is running" "$D/locked.out" || fail "locked run did not say why"
[ "$(dump)" = "$before" ] || fail "a locked run changed the store"

# 1b. An unknown --campaign: exit 66 before any stage, so the inbox is not
#     imported and the store is as it was.
before=$(dump)
set +e
cron_suf --now $NIGHT1 run --campaign NO-SUCH-CAMPAIGN > "$D/nocamp.out" 2>&1; rc=$?
set -e
[ $rc -eq 66 ] || fail -l "$D/nocamp.out" "run with an unknown campaign exited $rc, want 66"
grep -q "campaign 'NO-SUCH-CAMPAIGN' not found" "$D/nocamp.out" ||
  fail -l "$D/nocamp.out" "run with an unknown campaign did not name it"
! grep -Eq "stage [a-z]+:" "$D/nocamp.out" || fail -l "$D/nocamp.out" "run with an unknown campaign ran a stage"
[ "$(dump)" = "$before" ] || fail "run with an unknown campaign changed the store"

# 2. A dry run: every stage runs, the outbox shows what would be sent, and
#    the store is exactly as it was.
before=$(dump)
cron_suf --now $NIGHT1 run --dry-run > "$D/dry.out" 2>&1 || true
[ "$(dump)" = "$before" ] || fail "a dry run changed the store"
[ "$(posted)" -eq 0 ] || fail "a dry run posted to the API"
cat "$D"/outbox/*.jsonl > "$D/outbox.all" 2>/dev/null || true
[ -s "$D/outbox.all" ] || fail "a dry run wrote no outbox"
! grep -q "demo-token" "$D/outbox.all" "$D/dry.out" || fail "the token leaked in a dry run"

# 3. The first run.
cron_suf --now $NIGHT1 run > "$D/night1.out" 2>&1 || true
grep -q "stage report: done" "$D/night1.out" || fail -l "$D/night1.out" "night 1 did not finish"
n_utility=$(sqlite3 "$D/suf.db" "SELECT count(*) FROM sends WHERE kind = 'u' AND state = 'sent'")
[ "$n_utility" -gt 0 ] || fail "night 1 sent no utility message"
[ "$(posted)" -ge "$n_utility" ] || fail "the mock saw fewer posts than sends recorded"
[ "$(dup_callbacks)" -eq 0 ] || fail "a message was posted twice"
# The outbox of the dry run equals what the real run posted, body for body.
$PY - "$D/outbox.all" "$D/mock-requests.jsonl" <<'PY' || fail "dry-run outbox differs from real posts"
import json, sys
dry = [l.rstrip("\n") for l in open(sys.argv[1]) if l.strip()]
real = [json.loads(l)["body"] for l in open(sys.argv[2])]
utility = lambda b: json.loads(b)["type"] == "template"
# The real run may post a body more than once (retries after 429 or 5xx);
# the set of distinct bodies must be the same, byte for byte.
assert len(set(dry)) == len(dry), "the outbox repeats a body"
assert set(filter(utility, dry)) == set(filter(utility, real)), "utility bodies differ"
PY

# 4. A rerun as of the same night sends nothing new.
n=$(posted)
cron_suf --now $NIGHT1 run > "$D/rerun.out" 2>&1 || true
[ "$(posted)" -eq "$n" ] || fail "a rerun posted $(( $(posted) - n )) more messages"

# 5. A single-campaign rerun: nothing sent, its workbook rewritten with the
#    same figures.
wb="$D/reports/camp_winter/camp_winter_2026-11-24.xlsx"
[ -f "$wb" ] || fail "no workbook for camp_winter"
cp "$wb" "$D/winter-before.xlsx"
cron_suf --now $NIGHT1 run --campaign camp_winter > "$D/one.out" 2>&1 || true
[ "$(posted)" -eq "$n" ] || fail "a single-campaign rerun posted messages"
grep -q "camp_s1" "$D/one.out" && fail "a single-campaign run touched another campaign"
$PY - "$D/winter-before.xlsx" "$wb" <<'PY' || fail "the rerun's workbook differs"
import sys, openpyxl
def cells(p):
    wb = openpyxl.load_workbook(p)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb}
assert cells(sys.argv[1]) == cells(sys.argv[2])
PY

# 6. SIGTERM in the middle of a slow send, then a rerun: nothing lost, nothing
#    twice.  A fresh folder, a throttled sender so the send takes seconds.
D2=$D/term; mkdir -p "$D2"
mock_stop "$D"
D=$D2
SUF_DEMO_THROUGHPUT=4 pipeline_setup "$D"
SUF_DEMO_THROUGHPUT=4 mock_start "$D" "$NIGHT1_EPOCH"
"$SUF" -c "$D/suf.conf" -q init
env -i PATH=/usr/bin:/bin HOME=/nonexistent "$SUF" -c "$D/suf.conf" --now $NIGHT1 \
  run --skip report < /dev/null > "$D/term.out" 2>&1 &
pid=$!
i=0
until [ "$(posted)" -ge 2 ] || [ $i -gt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -TERM $pid
set +e; wait $pid; rc=$?; set -e
[ $rc -eq 130 ] || fail -l "$D/term.out" "SIGTERM run exited $rc, want 130"
[ "$(sqlite3 "$D/suf.db" "SELECT status FROM runs ORDER BY id DESC LIMIT 1")" = interrupted ] \
  || fail "the interrupted run is not recorded as interrupted"
[ "$(sqlite3 "$D/suf.db" "SELECT count(*) FROM sends WHERE state = 'in_flight'")" -eq 0 ] \
  || fail "SIGTERM left sends in flight"
# Rerun until no utility message is left untried (the fixture has phones the
# mock always throttles: those stay queued with their last error, retried
# each run, which is not a loss), at most four times.
queued() {
  sqlite3 "$D/suf.db" "SELECT count(*) FROM sends s JOIN fallbacks f ON f.id = s.fallback_id
    WHERE s.kind = 'u' AND (s.state = 'in_flight' OR (s.state = 'queued' AND s.tries = 0))
      AND f.campaign_id NOT IN ('camp_paused', 'camp_recat')"
}
i=0
while [ "$(queued)" -gt 0 ] && [ $i -lt 4 ]; do
  i=$((i + 1))
  cron_suf --now 2026-11-24T0$((2 + i)):00:00Z run --skip report > "$D/after$i.out" 2>&1 || true
done
[ "$(queued)" -eq 0 ] || fail "$(queued) utility messages were never sent after SIGTERM"
[ "$(dup_callbacks)" -eq 0 ] || fail "a message was posted twice after SIGTERM"
# Every fallback outside the two blocked campaigns had its utility message
# accepted exactly once, or failed permanently; none is missing.
missing=$(sqlite3 "$D/suf.db" "SELECT count(*) FROM fallbacks f
  WHERE f.campaign_id NOT IN ('camp_paused', 'camp_recat')
    AND NOT EXISTS (SELECT 1 FROM sends s WHERE s.fallback_id = f.id AND s.kind = 'u'
                    AND (s.state IN ('sent', 'failed')
                         OR (s.state = 'queued' AND s.api_code IN (130429, 131056))))")
[ "$missing" -eq 0 ] || fail "$missing fallbacks lost their utility message after SIGTERM"
accepted=$($PY - "$D/mock-requests.jsonl" <<'PY'
import json, sys
print(len({json.loads(l)["callback"] for l in open(sys.argv[1]) if json.loads(l).get("accepted")
           and json.loads(l)["type"] == "template"}))
PY
)
sent=$(sqlite3 "$D/suf.db" "SELECT count(*) FROM sends WHERE kind = 'u' AND state = 'sent'")
[ "$accepted" -eq "$sent" ] || fail "the mock accepted $accepted utility messages, the store says $sent sent"
echo "run: lock, dry run, first run, rerun, single campaign, SIGTERM: ok"

# 7. The summary at the end of each run: what each stage did, this run's
#    funnel and cost, what needs attention, the workbooks written.  The
#    first store saw night 1, the rerun and the camp_winter run (the dry run
#    worked on a snapshot): their funnels and costs add up to the store's
#    totals, and to what `suf status` says the campaigns cost so far.
D=$SUF_SCRATCH
"$SUF" -c "$D/suf.conf" --now $NIGHT1 status --json > "$D/status-end.json"
$PY - "$D/suf.db" "$D/status-end.json" "$D/reports" "$D/night1.out" "$D/rerun.out" "$D/one.out" "$D/dry.out" <<'PY' || fail "the run summaries are wrong"
import glob, json, re, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
status = json.load(open(sys.argv[2]))
names = ["fallbacks planned", "utility sent", "delivered", "consented", "session sent", "converted"]
def summary(path):
    text = open(path).read()
    lines = [l.split("summary: ", 1)[1] for l in text.splitlines() if "suf: info: summary: " in l]
    assert lines, f"{path}: no summary"
    s = {"lines": lines}
    st = next(l for l in lines if l.startswith("stages: "))
    s["stages"] = dict(p.split(" ", 1) for p in st[len("stages: "):].split(", "))
    fun = next(l for l in lines if l.startswith("this run: "))
    s["funnel"] = {k: int(v) for k, v in re.findall(r"([a-z ]+?) (\d+)(?:, |$)", fun[len("this run: "):])}
    cost = next(l for l in lines if l.startswith("this run's cost: "))
    m = re.fullmatch(r"this run's cost: (-?\d+\.\d{6}) USD \(policy\), (-?\d+\.\d{6}) USD \(Meta\)", cost)
    assert m, cost
    s["cost"] = (round(float(m[1]) * 1e6), round(float(m[2]) * 1e6))
    s["attention"] = [l for l in lines if l.startswith("attention: ")]
    s["workbooks"] = next(l for l in lines if l.startswith("workbooks: "))
    return s
n1, rr, one, dry = (summary(p) for p in sys.argv[4:8])
for s in (n1, rr, one, dry):
    assert list(s["funnel"]) == names, s["funnel"]
assert n1["stages"] == {"catalog": "skipped", "billing": "skipped", **{k: "ok" for k in ["import", "reconcile", "session", "plan", "utility", "events", "report", "retention"]}}, n1["stages"]
assert dry["stages"]["report"] in ("skipped", "ok"), dry["stages"]
# Night 1 planned every fallback of the store; the reruns planned none.
total = db.execute("SELECT count(*), sum(utility_sent_at > 0), sum(utility_delivered_at > 0), "
                   "sum(consented_at > 0), sum(session_sent_at > 0), sum(converted_at > 0) "
                   "FROM fallbacks").fetchone()
assert n1["funnel"]["fallbacks planned"] == total[0] > 0, (n1["funnel"], total)
assert rr["funnel"]["fallbacks planned"] == one["funnel"]["fallbacks planned"] == 0
for i, k in enumerate(names):
    got = n1["funnel"][k] + rr["funnel"][k] + one["funnel"][k]
    assert got == (total[i] or 0), (k, got, total[i])
assert n1["funnel"]["utility sent"] > 0
# The costs add up to what status says the campaigns cost so far.
pol = sum(round(float(c["cost"]["policy"]) * 1e6) for c in status["campaigns"])
meta = sum(round(float(c["cost"]["meta"]) * 1e6) for c in status["campaigns"])
assert n1["cost"][0] + rr["cost"][0] + one["cost"][0] == pol > 0, (n1["cost"], pol)
assert n1["cost"][1] + rr["cost"][1] + one["cost"][1] == meta, (n1["cost"], meta)
# Attention, for the camp_winter run: its sends still queued, as stored.
q = db.execute("SELECT count(*) FROM sends s JOIN fallbacks f ON f.id = s.fallback_id "
               "WHERE s.state = 'queued' AND f.campaign_id = 'camp_winter'").fetchone()[0]
winter = [l for l in one["attention"] if "still queued" in l]
assert (len(winter) == 1 and f"'camp_winter': {q} sends still queued" in winter[0]) if q else not winter, (q, winter)
# Night 1 leaves queued sends of the refused templates: named.
for c in ("camp_paused", "camp_recat"):
    assert any(f"campaign '{c}':" in l for l in n1["attention"]), (c, n1["attention"])
# Workbooks: night 1 wrote every one in the reports folder; a dry run none.
books = len(glob.glob(sys.argv[3] + "/*.xlsx") + glob.glob(sys.argv[3] + "/*/*.xlsx"))
assert n1["workbooks"] == f"workbooks: {books} written in {sys.argv[3]}", (n1["workbooks"], books)
assert dry["workbooks"] == "workbooks: none written", dry["workbooks"]
print(f"summaries: night 1 planned {total[0]}, sent {n1['funnel']['utility sent']}, {books} workbooks")
PY
echo "run: end-of-run summary: ok"
