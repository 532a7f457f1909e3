#!/bin/sh
# progress.sh: the progress line of each long stage, as an operator sees it.
#
# Each stage runs on a pseudo-terminal (pty_run.py, bounded): import by
# bytes, plan by recipients, send --dry-run by messages, reconcile by
# events and report by fallbacks each draw a line with its counts, and the
# log lines around it stay whole.  With stderr a pipe nothing but the log
# lines arrives (no carriage return, no escape), --no-progress and -q draw
# nothing on a terminal, and --progress draws on a pipe and with -q.
set -eu
. "$(dirname "$0")/lib.sh"
fx="$SUF_SOURCE_DIR/fixtures"
scratch_fresh
cd "$SUF_SCRATCH"
keep_going
now=2026-11-24T02:00:00Z

# A database with the templates and campaigns in, in folder $1.
fresh() {
  mkdir -p "$1"
  printf '[general]\ndatabase = %s/suf.db\noutbox_dir = %s/outbox\n' "$PWD/$1" "$PWD/$1" > "$1/suf.conf"
  "$SUF" -q -c "$1/suf.conf" init
  "$SUF" -q -c "$1/suf.conf" import templates "$fx"/templates*.json
  "$SUF" -q -c "$1/suf.conf" import campaigns "$fx/campaigns.csv"
}

# tty DIR NAME ARGS...: suf ARGS on a terminal; what it drew in DIR/NAME.
tty() {
  _d=$1 _n=$2
  shift 2
  $PY "$E2E_DIR/pty_run.py" "$_d/$_n" 60 "$SUF" -c "$_d/suf.conf" --now $now "$@" ||
    fail -l "$_d/$_n" "'suf $*' on a terminal failed ($?)"
}

# piped DIR NAME ARGS...: suf ARGS with stderr a pipe; its stderr in DIR/NAME.
piped() {
  _d=$1 _n=$2
  shift 2
  { timeout 60 "$SUF" -c "$_d/suf.conf" --now $now "$@" 2>&1 >/dev/null || echo "exit $?"; } |
    cat > "$_d/$_n"
}

# has FILE REGEX WHAT: FILE (bytes) matches the Python regex REGEX.
has() {
  $PY - "$1" "$2" <<'PY' || fail -l "$1" "$3"
import re, sys
sys.exit(0 if re.search(sys.argv[2].encode(), open(sys.argv[1], "rb").read()) else 1)
PY
}
hasnt() {
  $PY - "$1" "$2" <<'PY' || fail -l "$1" "$3"
import re, sys
sys.exit(1 if re.search(sys.argv[2].encode(), open(sys.argv[1], "rb").read()) else 0)
PY
}

# passed MSG: ok MSG when no check failed since the last one.
_seen=0
passed() {
  [ "$fails" -eq "$_seen" ] && ok "$1"
  _seen=$fails
}

# No log line is garbled: each starts a line, or follows the bar's erase.
whole_lines() {
  $PY - "$1" <<'PY' || fail -l "$1" "$2: a log line shares a line with the bar"
import sys
data = open(sys.argv[1], "rb").read()
i = data.find(b"suf: ")
while i >= 0:
    if i > 0 and not data[:i].endswith((b"\n", b"\r\x1b[K")):
        sys.exit(1)
    i = data.find(b"suf: ", i + 1)
PY
}

# --- 1. on a terminal, each stage draws its line ----------------------------
fresh t
tty t import.out import deliveries "$fx/deliveries.csv"
size=$(wc -c < "$fx/deliveries.csv")
kb=$(awk -v s="$size" 'BEGIN { printf "%.1f kB", s / 1000 }')
has t/import.out "\rdeliveries \[[=> ]{20}\] [0-9.]+ k?B/$kb [0-9.]+ [kMG]?B/s ETA [0-9?]" \
  "import draws no line by bytes (of $kb) on a terminal"
whole_lines t/import.out import
tty t plan.out plan
has t/plan.out '\rplan \[[=> ]{20}\] [0-9]+/8 [0-9]+/s ETA ' "plan draws no line of recipients (camp_s1's 8)"
whole_lines t/plan.out plan
tty t send.out send --dry-run
has t/send.out '\rsend \[[=> ]{20}\] [0-9]+/[1-9][0-9]* [0-9]+/s ETA ' "send --dry-run draws no line of messages"
whole_lines t/send.out send
"$SUF" -q -c t/suf.conf import events "$SUF_SOURCE_DIR/tests/data/events/statuses.jsonl"
tty t reconcile.out reconcile
has t/reconcile.out '\rreconcile \[[=> ]{20}\] [1-9][0-9]*/[1-9][0-9]* [0-9]+/s ETA ' \
  "reconcile draws no line of events"
tty t report.out report --out t/reports
has t/report.out '\rreport \[[=> ]{20}\] [1-9][0-9]*/[1-9][0-9]* [0-9]+/s ETA ' \
  "report draws no line of fallbacks"
whole_lines t/report.out report
# every line drawn is erased before the command ends: what is drawn after
# the last newline and the last carriage return is nothing, or an erase
for f in import plan send reconcile report; do
  $PY - "t/$f.out" <<'PY' || fail -l "t/$f.out" "$f leaves its line on the terminal"
import sys
data = open(sys.argv[1], "rb").read()
sys.exit(0 if data.rsplit(b"\n", 1)[-1].rsplit(b"\r", 1)[-1] in (b"", b"\x1b[K") else 1)
PY
done
passed "on a terminal: import, plan, send --dry-run, reconcile and report draw their line"

# --- 2. stderr a pipe: no carriage return, no escape -------------------------
fresh p
piped p import.err import deliveries "$fx/deliveries.csv"
piped p plan.err plan
piped p send.err send --dry-run
for f in import plan send; do
  grep -q 'suf: info' "p/$f.err" || fail -l "p/$f.err" "$f printed no log line to the pipe"
  hasnt "p/$f.err" '[\r\x1b]' "$f wrote a carriage return or an escape to a pipe"
  hasnt "p/$f.err" '^exit ' "$f failed on a pipe"
done
passed "stderr a pipe: no control character"

# --- 3. --no-progress and -q on a terminal: nothing drawn --------------------
fresh n
tty n import.out --no-progress import deliveries "$fx/deliveries.csv"
tty n plan.out --no-progress plan
tty n send.out -q send --dry-run
for f in import plan send; do
  hasnt "n/$f.out" '\x1b\[K|\[[=> ]{20}\]' "$f drew a line on a terminal with --no-progress or -q"
done
grep -q 'suf: .*info' n/plan.out || fail -l n/plan.out "--no-progress also silenced the log"
passed "--no-progress and -q draw nothing on a terminal"

# --- 4. --progress: drawn on a pipe, and on a terminal with -q ---------------
fresh o
piped o import.err --progress import deliveries "$fx/deliveries.csv"
has o/import.err '\rdeliveries \[[=> ]{20}\] ' "--progress draws no line on a pipe"
piped o plan.err --progress plan
has o/plan.err '\rplan \[[=> ]{20}\] [0-9]+/8 ' "--progress draws no plan line on a pipe"
tty o send.out -q --progress send --dry-run
has o/send.out '\rsend \[[=> ]{20}\] ' "-q --progress draws no line on a terminal"
passed "--progress draws on a pipe and with -q"

finish progress
