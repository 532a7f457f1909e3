#!/bin/sh
# Crash consistency: `suf run` over a generated campaign (20,000 recipients
# by default) killed with SIGKILL at random moments, then rerun to
# completion, over two nights with customers answering in between.
#
# A reference trial without kills measures how long each stage takes; trial
# k then aims its kills at stage k mod 7 of each night: it waits for the
# stage before it to finish (read from the log as the run writes it), then
# kills at a random moment within the stage's measured duration, so the kills
# cover every stage that takes any time at all.
# After every kill the database must pass PRAGMA integrity_check; after
# every trial crash_check.py checks the invariants against the mock's
# request log and the inputs.
#
# SUF_CRASH_TRIALS (default 10; 50 with SUF_SOAK), SUF_CRASH_RECIPIENTS
# (20000), SUF_CRASH_SEED (random; printed, to replay a run).
set -eu
. "$(dirname "$0")/lib.sh"
. "$SUF_SOURCE_DIR/scripts/pipeline.sh"
TRIALS=${SUF_CRASH_TRIALS:-$([ -n "${SUF_SOAK:-}" ] && echo 50 || echo 10)}
RECIPIENTS=${SUF_CRASH_RECIPIENTS:-20000}
SEED=${SUF_CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
N1=2026-11-24T02:00:00Z N1_EPOCH=1795485600
N2=2026-11-25T02:00:00Z N2_EPOCH=1795572000
STAGES="import reconcile session plan utility events report"
scratch_fresh
echo "crash: $TRIALS trials, $RECIPIENTS recipients, seed $SEED"
$PY "$E2E_DIR/crash_gen.py" "$SUF_SCRATCH/big.csv" "$SUF_SCRATCH/expected.json" \
  "$RECIPIENTS"

integrity() {
  r=$(sqlite3 "$1/suf.db" "PRAGMA integrity_check")
  [ "$r" = ok ] || fail "integrity_check after a kill: $r"
}

# The stage a killed run was in: the one after the last finished.
stage_hit() {
  last=$(sed -n 's/^suf: info: stage \([a-z]*\): .*/\1/p' "$1" | tail -1)
  if [ -z "$last" ]; then echo import; return; fi
  echo $STAGES | tr ' ' '\n' | awk -v l="$last" 'f { print; exit } $0 == l { f = 1 } END { if (!f) print "?" }' \
    | grep . || echo "after-report"
}

# run_night D NOW LOG STAGE DELAY_MS: one night; unless STAGE is "-", waits
# for the stage before STAGE to finish, then kills the run DELAY_MS later
# with SIGKILL, checks the store, and reruns to completion.
run_night() {
  d=$1 now=$2 log=$3 stage=$4 delay_ms=$5
  if [ "$stage" != - ]; then
    "$SUF" -c "$d/suf.conf" --now "$now" run < /dev/null > "$log.killed" 2>&1 &
    pid=$!
    prev=$(echo $STAGES | tr ' ' '\n' | awk -v s="$stage" '$0 == s { print p; exit } { p = $0 }')
    if [ -n "$prev" ]; then
      i=0
      until grep -q "^suf: info: stage $prev: " "$log.killed" 2>/dev/null; do
        i=$((i + 1))
        kill -0 $pid 2>/dev/null || break
        [ $i -le 1200 ] || break
        sleep 0.05
      done
    fi
    sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
    kill -KILL $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    integrity "$d"
    echo "$(stage_hit "$log.killed")" >> "$SUF_SCRATCH/hits"
  fi
  set +e
  "$SUF" -c "$d/suf.conf" --now "$now" run < /dev/null > "$log" 2>&1
  rc=$?
  set -e
  case $rc in 0|69) ;; *) tail -20 "$log"; fail "rerun after a kill exited $rc";; esac
  integrity "$d"
}

# trial K STAGE DELAY1_MS DELAY2_MS
trial() {
  k=$1 d=$SUF_SCRATCH/t$1
  pipeline_setup "$d"
  rm -f "$d"/inbox/deliveries/*
  cp "$SUF_SCRATCH/big.csv" "$d/inbox/deliveries/"
  # Fallback is enabled per campaign: the generated one says so.
  printf 'camp_big,Big crash campaign,on,,,,,\n' >> "$d/inbox/campaigns/campaigns.csv"
  mock_start "$d" $N1_EPOCH
  printf 'unknown_resend_after_hours = 1\n' >> "$d/suf.conf"
  "$SUF" -c "$d/suf.conf" -q init
  "$SUF" -c "$d/suf.conf" -q import markets "$SUF_SOURCE_DIR/fixtures/markets.csv"
  t0=$(date +%s%N)
  run_night "$d" $N1 "$d/night1.log" "$2" "$3"
  t1=$(date +%s%N)
  mock_stop "$d"
  customers "$d" --statuses "$d/inbox/events" --out "$d/inbox/events/customers.jsonl" \
    --decisions "$d/decisions.jsonl" --seed $((SEED % 1000 + k)) --consent 0.5 --decline 0.1 \
    --stop 0.05 --forward 0.05 --since $N1_EPOCH --until $N2_EPOCH 2>/dev/null
  mock_start "$d" $N2_EPOCH
  printf 'unknown_resend_after_hours = 1\n' >> "$d/suf.conf"
  t2=$(date +%s%N)
  run_night "$d" $N2 "$d/night2.log" "$2" "$4"
  t3=$(date +%s%N)
  mock_stop "$d"
  $PY "$E2E_DIR/crash_check.py" "$d/suf.db" "$d/mock-requests.jsonl" \
    "$d/decisions.jsonl" "$SUF_SCRATCH/expected.json" \
    "$d/reports/camp_big/camp_big_2026-11-25.xlsx" $N1_EPOCH $N2_EPOCH \
    || fail "trial $k (kills in stage $2 after ${3} ms and ${4} ms, seed $SEED)"
  echo "$(( (t1 - t0) / 1000000 )) $(( (t3 - t2) / 1000000 ))" > "$d/ms"
}

# The reference trial: no kills; its logs give each stage's duration.
trial 0 - 0 0
plan=$($PY - "$SUF_SCRATCH/t0/night1.log" "$SUF_SCRATCH/t0/night2.log" "$TRIALS" "$SEED" <<'PY'
import random, re, sys
stages = "import reconcile session plan utility events report".split()
def durations(path):
    out = {}
    for line in open(path):
        m = re.match(r"suf: info: stage (\w+): \w+ in (\d+)\.(\d+) s", line)
        if m:
            out[m.group(1)] = int(m.group(2)) * 1000 + int(m.group(3)) * 10
    return out
n1, n2 = durations(sys.argv[1]), durations(sys.argv[2])
rnd = random.Random(int(sys.argv[4]))
for k in range(1, int(sys.argv[3]) + 1):
    st = stages[(k - 1) % len(stages)]
    # at most 60% into the stage: a run a little faster than the reference
    # must still be inside it when the kill comes
    print(k, st, int(rnd.random() * 0.6 * n1.get(st, 0)), int(rnd.random() * 0.6 * n2.get(st, 0)))
PY
)
echo "$plan" | while read -r k st a b; do
  trial "$k" "$st" "$a" "$b"
  rm -rf "$SUF_SCRATCH/t$k"
done
echo "crash: $TRIALS trials, $((TRIALS * 2)) SIGKILLs, stages hit:"
sort "$SUF_SCRATCH/hits" | uniq -c | sed 's/^/  /'
for st in import plan utility; do
  grep -qx "$st" "$SUF_SCRATCH/hits" || [ "$TRIALS" -lt 7 ] || fail "no kill landed in stage $st"
done
echo "crash: nothing lost, nothing sent twice"
