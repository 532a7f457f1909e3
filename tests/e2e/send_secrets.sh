#!/bin/sh
# A Cloud API that quotes the secrets it is given (Graph API token errors,
# code 190, can quote the token): the mock refuses every third message with
# HTTP 401, the access token in error.message, the token, the app secret
# and the verify token in error.error_data.details, and all three in a
# WWW-Authenticate header of every reply.  After a dry run, a real run of
# the whole pipeline at -v and a `suf report`, none of the three is in:
#  - any table of the database (sqlite3 .dump);
#  - any log line;
#  - any outbox;
#  - any XML part of any workbook;
# while the refusals are stored (code 190, their text redacted), so the
# check is not passing for want of anything to look at.
set -eu
. "$(dirname "$0")/lib.sh"
. "$SUF_SOURCE_DIR/scripts/pipeline.sh"
D=$SUF_SCRATCH
TOKEN=EAAGtok-$$-5f3a9c1e77
APP_SECRET=appsec-$$-8d2e61b0
VERIFY=vt$$
NOW=2026-11-24T02:00:00Z
export SUF_DEMO_TOKEN=$TOKEN

pipeline_setup "$D"
( umask 077
  printf '%s\n' "$APP_SECRET" > "$D/app_secret"
  printf '%s\n' "$VERIFY" > "$D/verify_token" )
"$PY" "$SUF_SOURCE_DIR/tests/mock/cloudapi.py" --port-file "$D/mock.port" \
  --log "$D/mock-requests.jsonl" --events "$D/inbox/events/status.jsonl" \
  --token-file "$D/token" --clock 1795485600 --echo-token 3 \
  --echo-secret-file "$D/app_secret" --echo-secret-file "$D/verify_token" \
  > "$D/mock.log" 2>&1 &
echo $! > "$D/mock.pid"
trap 'mock_stop "$D"' EXIT
wait_file "$D/mock.port" "the mock Cloud API"
write_config "$D" "$(cat "$D/mock.port")" # with [receive]: the app secret and verify token
grep -q '^app_secret_file' "$D/suf.conf" || fail "the config names no app secret"

run() { "$SUF" -c "$D/suf.conf" -v --now "$NOW" "$@" >> "$D/log" 2>&1 || true; }
run init
run import markets "$SUF_SOURCE_DIR/fixtures/markets.csv"
run run --dry-run
run run
run report
mock_stop "$D"
grep -q "stage report: done" "$D/log" || fail -l "$D/log" "the pipeline did not finish"

refused=$(grep -c '"fault":"echo_token"' "$D/mock-requests.jsonl" || true)
[ "$refused" -gt 0 ] || fail "the mock quoted no secret: the test proves nothing"
stored=$(sqlite3 "$D/suf.db" "SELECT count(*) FROM sends WHERE api_code = 190
  AND api_error = 'Malformed access token [redacted] (the session of [redacted] and [redacted]"\
" and [redacted] has expired)'")
[ "$stored" -eq "$refused" ] ||
  fail "$refused requests refused with code 190, $stored stored with the secrets redacted"
ok "$refused refusals quoting the secrets, stored redacted"

set -- "$D"/outbox/*.jsonl
[ -f "$1" ] || fail "the dry run wrote no outbox"
nwb=$(find "$D/reports" -name '*.xlsx' | wc -l)
[ "$nwb" -gt 0 ] || fail "no workbook was written"
sqlite3 "$D/suf.db" .dump > "$D/dump.sql"
for secret in "$TOKEN" "$APP_SECRET" "$VERIFY"; do
  ! grep -q -- "$secret" "$D/dump.sql" || fail "a secret is in the database: $(grep -m1 -- "$secret" "$D/dump.sql" | cut -c1-100)"
  ! grep -q -- "$secret" "$D/log" || fail "a secret is in the log"
  ! grep -rq -- "$secret" "$D/outbox" || fail "a secret is in an outbox"
  ! grep -q -- "$secret" "$D/mock-requests.jsonl" || fail "a secret is in the mock's request log"
  for wb in $(find "$D/reports" -name '*.xlsx'); do
    ! unzip -p "$wb" | grep -q -- "$secret" || fail "a secret is in $wb"
  done
done
ok "no secret in the database, the log, the outbox or $nwb workbooks"
echo "send_secrets: all checks passed"
