#!/bin/sh
# The README's exit codes are the program's: its table lists exactly the
# codes of the status table (`suf --exit-codes`), each with its sysexits
# name, and the codes the README gives for the errors an operator meets
# most (no database, no access token, a missing or unsafe token file) are
# the codes suf exits with.
set -eu
. "$(dirname "$0")/lib.sh"
. "$SUF_SOURCE_DIR/scripts/pipeline.sh"
keep_going
scratch_fresh
D=$SUF_SCRATCH
README=$SUF_SOURCE_DIR/README.md

# "CODE NAME" for each row of the README's exit-code table, and of the
# program's table; 0 and 130 have no sysexits name.
sed -n '/^## Exit codes/,/^## /p' "$README" |
  sed -n 's/^| \([0-9][0-9]*\) | *\([A-Z_]*\) *|.*/\1 \2/p' | sed 's/ $//' | sort -u > "$D/readme.codes"
"$SUF" --exit-codes | awk -F'\t' '{print $1 " " $2}' | sed 's/ $//' | sort -u > "$D/program.codes"
[ -s "$D/readme.codes" ] || fail "no exit-code table found in the README"
[ -s "$D/program.codes" ] || fail "suf --exit-codes printed nothing"
if diff -u "$D/program.codes" "$D/readme.codes" > "$D/codes.diff"; then
  ok "the README's exit-code table has the program's codes and names"
else
  fail -l "$D/codes.diff" "the README's exit-code table and the program's differ (- program, + README)"
fi

# The code the README's troubleshooting gives after a message: the first
# "(exit N" in the paragraph that quotes it.
readme_exit() {
  $PY - "$README" "$1" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
section = text.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
for para in re.split(r"\n(?=\d+\. )", section):
    if sys.argv[2] in para:
        m = re.search(r"\(exit\s+(\d+)", para)
        print(m.group(1) if m else "none")
        break
else:
    print("missing")
PY
}
# exit_of CMD...: runs CMD, its output in $D/out, and prints its exit code.
exit_of() {
  set +e; "$@" > "$D/out" 2>&1; echo $?; set -e
}

pipeline_setup "$D"
"$SUF" -c "$D/suf.conf" -q init
"$SUF" -c "$D/suf.conf" -q import markets "$SUF_SOURCE_DIR/fixtures/markets.csv"
# Import and plan, so that the send stage has utility messages to send.
"$SUF" -c "$D/suf.conf" -q --now 2026-11-24T02:00:00Z run \
  --skip reconcile,session,utility,events,report || fail "import and plan failed"
# send [VAR=VALUE...]: the send stage with no SUF_ACCESS_TOKEN; prints its exit code.
send() {
  exit_of env -u SUF_ACCESS_TOKEN "$@" "$SUF" -c "$D/suf.conf" -q --now 2026-11-24T02:00:00Z send
}

sends_before=$(sqlite3 "$D/suf.db" "SELECT kind, state, count(*) FROM sends GROUP BY 1, 2")
echo "$sends_before" | grep -q '^u|queued|[1-9]' || fail "no utility message is queued to send"

rc=$(exit_of "$SUF" --db "$D/none.db" plan)
check "no database: the exit code" "$(readme_exit "no database at")" "$rc"
grep -q "no database at '$D/none.db' (run 'suf init' first)" "$D/out" || fail -l "$D/out" "no database: the message"

rc=$(send SUF_TOKEN_FILE=)
check "no access token: the exit code" "$(readme_exit "no access token")" "$rc"
grep -q "no access token: set SUF_ACCESS_TOKEN or the token_file key" "$D/out" ||
  fail -l "$D/out" "no access token: the message"

rc=$(send SUF_TOKEN_FILE="$D/no-such-token")
check "a missing token file: the exit code" 66 "$rc"
grep -q "no-such-token: cannot read secret file" "$D/out" || fail -l "$D/out" "a missing token file: the message"
grep -q "^| 66 |.*a secret file" "$README" || fail "the README's exit 66 does not name a missing secret file"

chmod 644 "$D/token"
rc=$(send)
chmod 600 "$D/token"
check "a token file others can read: the exit code" "$(readme_exit "secret file is readable by group or others")" "$rc"
grep -q "^| $rc |.*secret file is readable by group or others" "$README" ||
  fail "the README's exit $rc does not name a secret file others can read"

sends=$(sqlite3 "$D/suf.db" "SELECT kind, state, count(*) FROM sends GROUP BY 1, 2")
[ "$sends" = "$sends_before" ] || fail "the sends changed without a token: $sends_before -> $sends"
finish readme_exit_codes
