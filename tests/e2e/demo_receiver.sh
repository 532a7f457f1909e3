#!/bin/sh
# e2e: the demo with `suf receive` between the mock and suf
# (SUF_DEMO_RECEIVER=1) gives exactly the funnel of the demo that writes the
# webhooks to files, and every webhook went through the receiver: the events
# folder holds only the receiver's files, with as many lines as the file
# mode wrote, and the receiver counted each post once.
set -eu
. "$(dirname "$0")/lib.sh"
keep_going
scratch_fresh
S=$SUF_SCRATCH

SUF_DEMO_DIR=$S/files "$SUF_SOURCE_DIR/scripts/demo" "$SUF" > "$S/files.out" 2>&1 ||
  fail -l "$S/files.out" "the demo with files failed"
SUF_DEMO_DIR=$S/receiver SUF_DEMO_RECEIVER=1 "$SUF_SOURCE_DIR/scripts/demo" "$SUF" \
  > "$S/receiver.out" 2>&1 || fail -l "$S/receiver.out" "the demo with the receiver failed"

# The funnel and the states, with the folder names taken out.
funnel() { sed -n '/^== the funnel/,/^== workbooks/p' "$S/$1.out"; }
funnel files > "$S/files.funnel"
funnel receiver > "$S/receiver.funnel"
if diff -u "$S/files.funnel" "$S/receiver.funnel"; then
  echo "ok: the same funnel with and without the receiver"
else
  fail "the funnels differ"
fi
consented=$(sed -n 's/^ *consented: //p' "$S/receiver.funnel")
[ "${consented:-0}" -gt 0 ] && echo "ok: $consented consents came through the receiver" ||
  fail "no consent came through the receiver"

# Every webhook went through the receiver.
ev=$S/receiver/inbox/events
others=$(find "$ev" -type f ! -name 'events-*.jsonl' | wc -l | tr -d ' ')
check "only the receiver's files in the events folder" 0 "$others"
file_lines=$(cat "$S"/files/inbox/events/*.jsonl | wc -l | tr -d ' ')
recv_lines=$(cat "$ev"/events-*.jsonl | wc -l | tr -d ' ')
check "the receiver wrote every webhook the file mode wrote" "$file_lines" "$recv_lines"
counted=$(sed -n 's/.*receive: stopped; \([0-9]*\) events.*/\1/p' "$S/receiver/receiver.log")
check "the receiver counted each post once" "$recv_lines" "$counted"
$PY - "$ev" <<'PY' && echo "ok: every line the receiver wrote is a whole JSON object" || fail "a line is not JSON"
import glob, json, os, sys
for path in glob.glob(os.path.join(sys.argv[1], "events-*.jsonl")):
    with open(path, encoding="utf-8") as f:
        for line in f:
            assert isinstance(json.loads(line), dict)
PY

finish demo_receiver
