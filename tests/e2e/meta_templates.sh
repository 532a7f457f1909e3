#!/bin/sh
# The template catalog from the API, against the mock Cloud API over
# loopback (tests/mock/mock_templates.py serves the 20 templates of the two
# fixture pages, 7 a page, so three pages):
#  1. `suf import templates --from-api` asks the three pages with suf's own
#     path and cursor (never the `next` URL, which points elsewhere), keeps
#     three files in the templates inbox and imports 20 templates; a second
#     fetch imports nothing new (same pages, same hashes);
#  2. `suf run` with waba_id set runs its catalog stage first and says so;
#     without waba_id the summary says the stage was skipped; a waba_id
#     that is not digits is a config error;
#  3. a cursor loop is refused; a 429 on page 2 is waited out and page 2 is
#     asked again with the same cursor; a malformed page 2 stores nothing
#     of itself (page 1 stays, whole); a token error quoting the token stops
#     the fetch, and the token is in no log line, file or database row.
set -eu
. "$(dirname "$0")/lib.sh"
. "$SUF_SOURCE_DIR/scripts/pipeline.sh"
scratch_fresh; cd "$SUF_SCRATCH"
keep_going
TOKEN="suf-catalog-token-$$"
mock_pid=""
cleanup() { [ -z "$mock_pid" ] || kill "$mock_pid" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# setup DIR [MOCK ARGS]: a fresh folder, the mock started with ARGS, a config.
setup() {
  d=$SUF_SCRATCH/$1
  shift
  cleanup
  mkdir -p "$d/inbox/templates"
  ( umask 077; printf '%s\n' "$TOKEN" > "$d/token" )
  "$PY" "$SUF_SOURCE_DIR/tests/mock/cloudapi.py" --port-file "$d/port" --log "$d/mock.jsonl" \
    --token-file "$d/token" --waba-id 2000000002 \
    --catalog "$SUF_SOURCE_DIR/fixtures/templates.json" \
    --catalog "$SUF_SOURCE_DIR/fixtures/templates-page2.json" "$@" 2> "$d/mock.err" &
  mock_pid=$!
  wait_file "$d/port" "the mock"
  # the pipeline's config, with the catalog's keys, and room for the mock's
  # Retry-After of one second
  write_config "$d" "$(cat "$d/port")"
  sed -i 's/^backoff_max_ms = .*/backoff_max_ms = 3000/' "$d/suf.conf"
  printf '[api]\nwaba_id = 2000000002\npage_size = 7\n' >> "$d/suf.conf"
  "$SUF" -c "$d/suf.conf" init > /dev/null 2>&1 || fail "init failed in $d"
}

q() { sqlite3 "$d/suf.db" "$1"; }
pages_kept() { find "$d/inbox/templates" -name 'api-*.json' | wc -l | tr -d ' '; }
# The paths the mock was asked for, one a line.
asked() { "$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("method") == "GET": print(r["status"], r["path"])' "$d/mock.jsonl"; }

# 1. three pages
setup ok
"$SUF" -c "$d/suf.conf" import templates --from-api 2> "$d/err1" || fail -l "$d/err1" "the fetch failed"
check "pages asked" 3 "$(asked | wc -l | tr -d ' ')"
F="fields=id,name,language,status,category,parameter_format,components,rejected_reason,quality_score,previous_category"
check "page 1's request" "200 /v23.0/2000000002/message_templates?$F&limit=7" "$(asked | sed -n 1p)"
check "page 2 asked with page 1's cursor" "200 /v23.0/2000000002/message_templates?$F&limit=7&after=aWR4Ojc%3D" "$(asked | sed -n 2p)"
check "page 3 asked with page 2's cursor" "200 /v23.0/2000000002/message_templates?$F&limit=7&after=aWR4OjE0" "$(asked | sed -n 3p)"
check "pages kept in the inbox" 3 "$(pages_kept)"
check "templates imported" 20 "$(q 'SELECT count(*) FROM templates')"
check "live state set" 20 "$(q "SELECT count(*) FROM templates WHERE live_status = status AND live_at IS NOT NULL")"
check "files imported" 3 "$(q "SELECT count(*) FROM files WHERE kind = 'templates'")"
grep -q "catalog: 3 pages of WhatsApp Business Account 2000000002 fetched and imported" "$d/err1" ||
  fail -l "$d/err1" "no line says the catalog was fetched"
grep -q "more pages" "$d/err1" && fail -l "$d/err1" "a fetched page was told to import its next page"
"$SUF" -c "$d/suf.conf" import templates --from-api 2> "$d/err2" || fail -l "$d/err2" "the second fetch failed"
check "a second fetch imports nothing new" 3 "$(q "SELECT count(*) FROM files WHERE kind = 'templates'")"
check "templates after the second fetch" 20 "$(q 'SELECT count(*) FROM templates')"

# 2. suf run: the catalog stage, then the import stage skips the kept pages
"$SUF" -c "$d/suf.conf" run --skip report,retention 2> "$d/run" || fail -l "$d/run" "suf run failed"
grep -q "stage catalog: done" "$d/run" || fail -l "$d/run" "no catalog stage in the run"
grep -q "summary: stages: catalog ok, import ok" "$d/run" || fail -l "$d/run" "the summary does not say catalog ok"
check "the run's import stage added no file" 3 "$(q "SELECT count(*) FROM files WHERE kind = 'templates'")"
sed -i '/^waba_id/d' "$d/suf.conf"
"$SUF" -c "$d/suf.conf" run --skip report,retention 2> "$d/run2" || fail -l "$d/run2" "suf run without waba_id failed"
grep -q "catalog: no waba_id in the config" "$d/run2" || fail -l "$d/run2" "no line says the catalog stage is off"
grep -q "summary: stages: catalog skipped" "$d/run2" || fail -l "$d/run2" "the summary does not say catalog skipped"
check "no request without waba_id" 9 "$(asked | wc -l | tr -d ' ')"
printf '[api]\nwaba_id = 2000x02\n' >> "$d/suf.conf"
rc=0; "$SUF" -c "$d/suf.conf" import templates --from-api 2> "$d/err3" || rc=$?
check "a waba_id that is not digits: exit" 78 "$rc"
grep -q "waba_id '2000x02' is not a WhatsApp Business Account id (digits)" "$d/err3" ||
  fail -l "$d/err3" "no error names the bad waba_id"

# 3a. a cursor loop
setup loop --templates-loop
if "$SUF" -c "$d/suf.conf" import templates --from-api 2> "$d/err"; then fail "a cursor loop was taken"; fi
grep -q "catalog paging repeats cursor 'aWR4Ojc=' at page 2" "$d/err" || fail -l "$d/err" "no cursor-loop error"
check "loop: requests" 2 "$(asked | wc -l | tr -d ' ')"
check "loop: page 1 kept" 7 "$(q 'SELECT count(*) FROM templates')"
check "loop: pages kept" 1 "$(pages_kept)"

# 3b. a 429 in the middle of paging
setup throttled --templates-429-at 2
"$SUF" -c "$d/suf.conf" import templates --from-api 2> "$d/err" || fail -l "$d/err" "a 429 stopped the fetch"
check "429: requests" 4 "$(asked | wc -l | tr -d ' ')"
check "429: page 2 throttled then asked again" "429 200" "$(asked | sed -n '2p;3p' | cut -d' ' -f1 | tr '\n' ' ' | sed 's/ $//')"
check "429: the same cursor asked again" "$(asked | sed -n 2p | cut -d' ' -f2)" "$(asked | sed -n 3p | cut -d' ' -f2)"
check "429: templates" 20 "$(q 'SELECT count(*) FROM templates')"

# 3c. a malformed page
setup malformed --templates-malformed-at 2
if "$SUF" -c "$d/suf.conf" import templates --from-api 2> "$d/err"; then fail "a malformed page was taken"; fi
grep -q 'catalog page 2: no "data" array' "$d/err" || fail -l "$d/err" "no malformed-page error"
check "malformed: page 1 only" 7 "$(q 'SELECT count(*) FROM templates')"
check "malformed: files" 1 "$(q "SELECT count(*) FROM files WHERE kind = 'templates'")"
check "malformed: pages kept" 1 "$(pages_kept)"

# 3d. a token error that quotes the token
setup token --templates-token-error-at 2
if "$SUF" -c "$d/suf.conf" import templates --from-api 2> "$d/err"; then fail "a token error was taken"; fi
grep -q "code 190: Malformed access token \[redacted\]" "$d/err" || fail -l "$d/err" "no redacted token error"
check "token: no retry of a refused token" 2 "$(asked | wc -l | tr -d ' ')"
grep -rq "$TOKEN" "$d/err" "$d/inbox" "$d/mock.jsonl" && fail "the token is in a log, a kept page or the mock's log"
sqlite3 "$d/suf.db" .dump | grep -q "$TOKEN" && fail "the token is in the database"
check "token: page 1 kept" 7 "$(q 'SELECT count(*) FROM templates')"

finish meta_templates
