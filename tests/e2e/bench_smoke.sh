#!/bin/sh
# e2e: every benchmark still runs to its verdict.  `make bench` is the
# evidence behind the performance figures, and nothing else runs it, so a
# change that breaks a bench script (a renamed table, a new option, a moved
# file) would go unnoticed until someone measures.  Here each bench runs at
# a tiny size, as few times as it allows, and must print its header and its
# target line; what it measures is not checked (timings never go in tests,
# and at this size fixed costs dominate, so verdicts mean nothing).
#
# A bench exits non-zero when it could not measure, and also on a missed
# target, which a tiny run on a busy machine may give (bench send's
# throughput ratio does), so neither the exit status nor bench/run's
# "bench NAME: FAILED" line is what this test reads: a bench that breaks
# stops before its target line, and the checks a bench makes of its own
# results print the lines the last grep looks for.
set -eu
. "$(dirname "$0")/lib.sh"
keep_going
scratch_fresh
S=$SUF_SCRATCH

SUF_BENCH_DIR=$S BENCH_ROWS=3000 BENCH_RUNS=1 SUF_BENCH_PLAN_ROWS=3000 \
  SUF_BENCH_RECONCILE_LINES=4000 SUF_BENCH_RECONCILE_FALLBACKS=2000 \
  SUF_BENCH_SEND_N=300 SUF_BENCH_SEND_RUNS=1 SUF_BENCH_RECEIVE_N=500 SUF_BENCH_RECEIVE_RUNS=1 \
  "$SUF_SOURCE_DIR/bench/run" "$(dirname "$SUF")" > "$S/bench.out" 2>&1 || true

# section NAME: the lines bench NAME printed.
section() { awk -v h="== bench $1" '$0 == h { on = 1; next } /^== bench / { on = 0 } on' "$S/bench.out"; }

for b in "$SUF_SOURCE_DIR"/bench/bench-*; do
  name=$(basename "$b" | sed 's/^bench-//')
  if ! grep -qx "== bench $name" "$S/bench.out"; then
    fail "bench $name did not start"
  elif section "$name" | grep -q 'target'; then
    echo "ok: bench $name ran to its target line"
  else
    fail "bench $name stopped before its target line:"
    section "$name" | tail -15
  fi
done
# The night at two sizes: one line per stage, each with both verdicts, and
# the database size per million rows.
SUF_BENCH_DIR=$S BENCH_STAGE_LIMIT=120 "$SUF_SOURCE_DIR/bench/bench-run" --scale --small 2000 \
  --big 4000 --no-targets > "$S/scale.out" 2>&1 || true
for st in import plan send events reconcile report; do
  grep -Eq "^  $st( +[0-9.]+){6} +(PASS|FAIL)( +[0-9.]+){3} +(PASS|FAIL)\$" "$S/scale.out" ||
    fail "bench-run --scale: no line for stage $st"
done
grep -q '^  database per million export rows: after plan [0-9.]* MB' "$S/scale.out" ||
  fail "bench-run --scale: no database size"
grep -Eq '^scale: (PASS|FAIL)$' "$S/scale.out" || { fail "bench-run --scale: no verdict"; tail -15 "$S/scale.out"; }
# The table of every stage's own target, from what bench/run printed above.
"$SUF_SOURCE_DIR/bench/bench-run" --targets-from "$S/bench.out" > "$S/targets.out" 2>&1 || true
for st in import plan send reconcile report receive run; do
  grep -Eq "^  $st +\|.*\| (MET|NOT MET|MISSED)\$" "$S/targets.out" ||
    { fail "bench-run --targets-from: no target of stage $st"; cat "$S/targets.out"; }
done
# One line per target: plan's comes from its TARGET line alone, not from
# every line of its output that starts with a ratio.
n=$(grep -Ec '^  plan +\|' "$S/targets.out" || true)
[ "$n" = 1 ] || { fail "bench-run --targets-from: $n lines for plan, want 1"; cat "$S/targets.out"; }
# The checks a bench makes of its own results (rows lost, bodies altered).
if grep -E 'rows lost|not a body sent|FAILED' "$S/bench.out" | grep -v -E '^bench [a-z]+: FAILED$'; then
  fail "a bench reported a broken result"
fi

finish bench_smoke
