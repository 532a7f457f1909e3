#!/bin/sh
# purge.sh: `suf purge` and the retention stage of `suf run` on the whole
# pipeline.  Two nights on the fixtures against the mock Cloud API (as
# `make demo`), the workbooks, then everything purged: the workbooks written
# again have the same cells (only the Fallbacks sheets' phones change), and
# no phone, name or message text of a customer is left in any table, nor,
# after --vacuum, in the database file: the opt-outs are kept under a
# pseudonym, and come back when the number does.  Then the nightly run with retention_days does the same, and
# the command's refusals.
set -u
. "$(dirname "$0")/lib.sh"
. "$SUF_SOURCE_DIR/scripts/pipeline.sh"
keep_going
D=$SUF_SCRATCH
NIGHT1=2026-11-24T02:00:00Z NIGHT1_EPOCH=1795485600
NIGHT2=2026-11-25T02:00:00Z NIGHT2_EPOCH=1795572000
LATER=2027-03-01T02:00:00Z

suf() { "$SUF" -c "$D/suf.conf" "$@"; }
dump() { sqlite3 "$1" .dump; }

# --- two nights, as the demo runs them ---------------------------------------
pipeline_setup "$D"
# A row the import rejects: its raw text keeps a phone and a name.
printf '%s\n' "campaign_id,message_id,phone,customer_name,template_name,status,sent_at" \
  "camp_s1,wamid.bad.1,447700955555,Zaineb Quraishi,promo_s1_text,lost,2026-11-20T10:00:00Z" \
  >"$D/inbox/deliveries/late.csv"
mock_start "$D" "$NIGHT1_EPOCH"
suf -q init
suf -q import markets "$SUF_SOURCE_DIR/fixtures/markets.csv"
suf -q --now "$NIGHT1" run >"$D/night1.out" 2>&1
mock_stop "$D"
# One customer also writes STOP: an opt-out to keep.
stop=$(sqlite3 "$D/suf.db" "SELECT f.phone FROM fallbacks f JOIN sends s ON s.fallback_id = f.id
  WHERE s.kind = 'u' AND s.state = 'sent' ORDER BY f.id LIMIT 1")
$PY - "$stop" $((NIGHT1_EPOCH + 600)) >"$D/inbox/events/stop.jsonl" <<'PY'
import json, sys
phone, ts = sys.argv[1], sys.argv[2]
print(json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
    "field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": "1000000001"},
        "contacts": [{"profile": {"name": "Stop Person"}, "wa_id": phone}],
        "messages": [{"from": phone, "id": "wamid.purge.stop", "timestamp": ts,
                      "type": "text", "text": {"body": "STOP"}}]}}]}]}))
PY
customers "$D" --statuses "$D/inbox/events" --seed 7 --consent 0.7 --decline 0.1 --stop 0.05 \
  --forward 0.05 --since "$NIGHT1_EPOCH" --until "$NIGHT2_EPOCH" \
  --out "$D/inbox/events/customers.jsonl" >/dev/null
mock_start "$D" "$NIGHT2_EPOCH"
suf -q --now "$NIGHT2" run >"$D/night2.out" 2>&1
mock_stop "$D"
db=$D/suf.db
[ "$(sqlite3 "$db" "SELECT count(*) FROM fallbacks WHERE state = 'converted'")" -gt 0 ] ||
  fail -x -l "$D/night2.out" "the pipeline converted nothing"

# The plan as of the purge's day first: outcomes that depend on the day
# (a campaign past valid_until) change with it, not with the purge.
suf -q --now "$LATER" plan 2>/dev/null

# What a customer gave: phones (attempts, events, the forwarded taps), the
# names, and what was written to them, as the store has them now.
sqlite3 -batch -noheader "$db" >"$D/phones" <<'SQL'
SELECT phone FROM attempts UNION SELECT from_phone FROM events WHERE from_phone IS NOT NULL
UNION SELECT recipient FROM events WHERE recipient IS NOT NULL;
SQL
echo 447700955555 >>"$D/phones"
sqlite3 -batch -noheader "$db" "SELECT phone FROM optouts" >"$D/optouts"
sqlite3 -batch -noheader "$db" >"$D/names" <<'SQL'
SELECT customer_name FROM attempts WHERE customer_name <> ''
UNION SELECT profile_name FROM events WHERE profile_name <> ''
UNION SELECT 'Zaineb Quraishi';
SQL
# The first line of each text written to a customer (a line holds no
# newline; one with a quote would read differently in a dump).
sqlite3 -batch -noheader "$db" >"$D/texts" <<'SQL'
WITH t(v) AS (SELECT text FROM attempts
  UNION SELECT json_extract(body, '$.text.body') FROM sends WHERE body <> ''
  UNION SELECT json_extract(body, '$.interactive.body.text') FROM sends WHERE body <> ''
  UNION SELECT json_extract(body, '$.image.caption') FROM sends WHERE body <> ''),
l(v) AS (SELECT substr(v, 1, instr(v || char(10), char(10)) - 1) FROM t)
SELECT DISTINCT v FROM l WHERE length(v) > 20 AND instr(v, char(39)) = 0;
SQL
[ -s "$D/phones" ] && [ -s "$D/names" ] && [ -s "$D/texts" ] && [ -s "$D/optouts" ] ||
  fail -x "the pipeline left no phones, names, texts or opt-outs to purge"
cp "$db" "$D/before.db"
dump "$db" >"$D/before.dump"
# The values to look for: phones of E.164 length (a shorter, invalid one is
# looked for as a whole SQL value, since it can be part of anything), but
# not the opt-outs, and names but those the template catalog uses as its
# examples (business data, not a customer's).
grep -vxF -f "$D/optouts" "$D/phones" | awk 'length($0) >= 8' >"$D/purgeable"
grep -vxF -f "$D/optouts" "$D/phones" | awk 'length($0) < 8 { print "'"'"'" $0 "'"'"'" }' \
  >"$D/short"
grep '^INSERT INTO templates ' "$D/before.dump" >"$D/catalog"
while IFS= read -r v; do
  grep -qF -- "$v" "$D/catalog" || printf '%s\n' "$v"
done <"$D/names" >"$D/own-names"
cat "$D/purgeable" "$D/own-names" "$D/texts" >"$D/values"
cat "$D/values" "$D/short" >"$D/dump-values"

# left_in LIST FILE: the lines of LIST found in FILE (a dump or the
# database file itself), as text or as the hex of a blob (rejects.raw).
left_in() {
  while IFS= read -r v; do
    [ -n "$v" ] || continue
    hex=$(printf '%s' "$v" | od -An -tx1 | tr -d ' \n')
    if grep -aqF -e "$v" -e "$hex" "$2"; then printf '%s\n' "$v"; fi
  done <"$1"
  return 0
}
[ "$(left_in "$D/dump-values" "$D/before.dump" | wc -l)" -eq "$(wc -l <"$D/dump-values")" ] &&
  ok "before the purge: $(wc -l <"$D/purgeable") phones, $(wc -l <"$D/own-names") names and $(wc -l <"$D/texts") texts in the tables" ||
  fail "the values looked for are not all in the tables before the purge"

# same_cells A B WHEN [SKIP]: every workbook under B has the cells of its
# twin under A, but the Fallbacks sheets' phones, which must all differ,
# and the sheet named SKIP.
same_cells() {
  if $PY - "$1" "$2" "${4:-}" <<'PY'; then ok "every workbook has the same cells $3"; else fail "a workbook changed $3"; fi
import os, sys, openpyxl
a, b, skip = sys.argv[1], sys.argv[2], sys.argv[3]
files = lambda r: sorted(os.path.relpath(os.path.join(d, f), r)
                         for d, _, fs in os.walk(r) for f in fs if f.endswith(".xlsx"))
bad, cells, phones = [], 0, 0
if files(a) != files(b) or not files(a):
    bad.append("files differ: %r vs %r" % (files(a), files(b)))
for rel in files(a):
    wa = openpyxl.load_workbook(os.path.join(a, rel), data_only=True)
    wb = openpyxl.load_workbook(os.path.join(b, rel), data_only=True)
    if wa.sheetnames != wb.sheetnames:
        bad.append("%s: sheets differ" % rel)
        continue
    for name in wa.sheetnames:
        if name == skip:
            continue
        ra = [list(r) for r in wa[name].iter_rows(values_only=True)]
        rb = [list(r) for r in wb[name].iter_rows(values_only=True)]
        if len(ra) != len(rb):
            bad.append("%s/%s: %d rows, then %d" % (rel, name, len(ra), len(rb)))
            continue
        # The lists of people (Fallbacks, Excluded and Waiting recipients)
        # show the phone, masked: the one cell a purge changes, and must
        # change.  The recipient lists run in phone order, so a pseudonym
        # may move its row: compare those lists as sorted rows, phone aside.
        lists = ("Fallbacks", "Excluded recipients", "Waiting recipients")
        pc = ra[0].index("Phone") if name.startswith(lists) and ra and "Phone" in ra[0] else -1
        if pc >= 0 and not name.startswith("Fallbacks"):
            key = lambda r: [repr(c) for k, c in enumerate(r) if k != pc]
            ra = ra[:1] + sorted(ra[1:], key=key)
            rb = rb[:1] + sorted(rb[1:], key=key)
            for x, y in zip(ra[1:], rb[1:]):
                x[pc], y[pc] = ("old", "new") if x[pc] != y[pc] else (x[pc], y[pc])
        for i, (x, y) in enumerate(zip(ra, rb)):
            for j, (u, v) in enumerate(zip(x, y)):
                if j == pc and i > 0:
                    phones += 1
                    if u == v:
                        bad.append("%s/%s row %d: the phone %r did not change" % (rel, name, i, u))
                elif u != v:
                    bad.append("%s/%s row %d col %d: %r, then %r" % (rel, name, i, j, u, v))
                elif isinstance(u, (int, float)):
                    cells += 1
print("compared %d numeric cells of %d workbooks; %d phones changed" % (cells, len(files(a)), phones))
print("\n".join(bad[:20]))
sys.exit(1 if bad or not cells or not phones else 0)
PY
}

# --- 1. the workbooks before, the purge, the workbooks after -----------------
suf -q --now "$LATER" report --out "$D/before" 2>"$D/report-before.err" ||
  fail -l "$D/report-before.err" "report before the purge failed"
suf --now "$LATER" purge --before "$LATER" >"$D/purge.out" 2>&1 ||
  fail -l "$D/purge.out" "purge failed"
grep -q "suf: info: purge: before 2027-03-01T02:00:00Z: [1-9][0-9]* recipients .*, [1-9][0-9]* events, [1-9][0-9]* rejected rows" "$D/purge.out" &&
  ok "purge said what it did: $(sed -n 's/.*purge: before [^:]*:[^:]*:[^:]*: //p' "$D/purge.out")" ||
  fail -l "$D/purge.out" "purge did not say what it did"
suf -q --now "$LATER" report --out "$D/after" 2>"$D/report-after.err" ||
  fail -l "$D/report-after.err" "report after the purge failed"
same_cells "$D/before" "$D/after" "after the purge"

dump "$db" >"$D/after.dump"
left=$(left_in "$D/dump-values" "$D/after.dump")
[ -z "$left" ] && ok "no phone, name or text of a customer is in any table after the purge" ||
  fail "still in the tables after the purge: $(echo "$left" | head -5 | tr '\n' ' ')"
# The opt-outs are kept, each under a pseudonym, and their phones are in no
# table.
n_opt=$(wc -l <"$D/optouts")
[ "$(sqlite3 "$db" "SELECT count(*) FROM optouts WHERE phone GLOB '#*'")" -eq "$n_opt" ] &&
  [ "$(grep -cF -f "$D/optouts" "$D/after.dump")" -eq 0 ] &&
  ok "the $n_opt opt-outs are kept, under a pseudonym, and their phones are gone" ||
  fail "opt-outs: $(sqlite3 "$db" "SELECT phone FROM optouts" | head -3 | tr '\n' ' ')"
# Every table keeps its rows.
for t in attempts recipients fallbacks sends events optouts rejects runs; do
  n0=$(sqlite3 "$D/before.db" "SELECT count(*) FROM $t")
  n1=$(sqlite3 "$db" "SELECT count(*) FROM $t")
  [ "$t" = runs ] && n0=$((n0 + 3)) # two reports and the purge
  [ "$n0" = "$n1" ] || fail "$t had $n0 rows, then $n1"
done
ok "every table keeps its rows"
[ "$(sqlite3 "$db" "SELECT count(*) FROM sends WHERE body <> '' OR state IN ('held', 'queued',
  'in_flight', 'unknown')")" = 0 ] &&
  ok "no request body is kept and no message is left to send" ||
  fail "sends kept a body or a message to send"

# A second purge finds nothing left to do.
cp "$D/after.dump" "$D/after1.dump"
suf --now "$LATER" purge --before "$LATER" >"$D/purge2.out" 2>&1 || fail -l "$D/purge2.out" "purge again failed"
grep -q "purge: before [^:]*:[^:]*:[^:]*: 0 recipients (0 attempts, 0 fallbacks, 0 sends, 0 of them cancelled unsent), 0 events, 0 rejected rows, [0-9]* runs" "$D/purge2.out" &&
  [ "$(dump "$db" | grep -v '^INSERT INTO runs ' | sha256sum)" = \
    "$(grep -v '^INSERT INTO runs ' "$D/after1.dump" | sha256sum)" ] &&
  ok "a second purge changes nothing" || fail -l "$D/purge2.out" "a second purge changed something"

# A corrected export of the purged attempts (the same rows, CRLF: new
# bytes), imported and planned after the purge, brings no phone back and no
# recipient twice.
sed 's/$/\r/' "$SUF_SOURCE_DIR/fixtures/deliveries.csv" >"$D/corrected.csv"
suf -q --now "$LATER" import deliveries "$D/corrected.csv" >"$D/corrected.out" 2>&1 ||
  fail -l "$D/corrected.out" "import of the corrected export failed"
suf -q --now "$LATER" plan 2>/dev/null
suf -q --now "$LATER" report --out "$D/again" 2>"$D/report-again.err" ||
  fail -l "$D/report-again.err" "report after the new import failed"
# (The Inputs sheets name the new file.)
same_cells "$D/before" "$D/again" "after an old export is imported again" Inputs
dump "$db" >"$D/again.dump"
left=$(left_in "$D/dump-values" "$D/again.dump")
[ -z "$left" ] && ok "the export imported again brought no phone, name or text back" ||
  fail "back in the tables after the import: $(echo "$left" | head -5 | tr '\n' ' ')"

# --- 2. the database file itself, after --vacuum --------------------------------
suf --now "$LATER" purge --before "$LATER" --vacuum >"$D/vacuum.out" 2>&1 ||
  fail -l "$D/vacuum.out" "purge --vacuum failed"
[ ! -s "$db-wal" ] || fail "the write-ahead log still holds $(stat -c %s "$db-wal") bytes"
left=$(left_in "$D/values" "$db")
[ -z "$left" ] && ok "no phone, name or text of a customer is in the database file" ||
  fail "still in the database file after --vacuum: $(echo "$left" | head -5 | tr '\n' ' ')"

# --- 2b. an opted-out number that comes back is still opted out ------------------
# Its opt-out is kept only as a pseudonym now; a new export with the number
# (capped, retries long over) must still plan it as excluded: opted_out.
back=$(head -1 "$D/optouts")
{
  head -1 "$SUF_SOURCE_DIR/fixtures/deliveries.csv"
  echo "camp_winter,Winter sale wave 1,wamid.back.1,+$back,,promo_s1_text,en_US,failed,131049,capped,1,2027-02-20T10:00:00Z,x,y,,,,,"
} >"$D/back.csv"
suf -q --now "$LATER" import deliveries "$D/back.csv" >"$D/back.out" 2>&1 ||
  fail -l "$D/back.out" "import of the export that brings an opted-out number back failed"
suf -q --now "$LATER" plan >>"$D/back.out" 2>&1 || fail -l "$D/back.out" "plan failed"
got=$(sqlite3 "$db" "SELECT outcome || ':' || coalesce(reason, '') FROM recipients
  WHERE campaign_id = 'camp_winter' AND phone = '$back'")
[ "$got" = "excluded:opted_out" ] &&
  ok "an opted-out number back in a new export is still opted out" ||
  fail "an opted-out number back in a new export was planned '$got'"

# --- 3. the nightly run with retention_days --------------------------------------
cp "$D/before.db" "$D/night.db"
stages=import,reconcile,session,plan,utility,events,report
SUF_RETENTION_DAYS=30 suf --db "$D/night.db" --now "$LATER" run --skip "$stages" \
  >"$D/night.out" 2>&1 || fail -l "$D/night.out" "the run with retention_days failed"
grep -q "stage retention: done .*purge.recipients [1-9]" "$D/night.out" &&
  ok "the run's retention stage purged" || fail -l "$D/night.out" "no retention stage in the run"
dump "$D/night.db" >"$D/night.dump"
left=$(left_in "$D/dump-values" "$D/night.dump")
[ -z "$left" ] && ok "retention_days = 30: nothing of a customer older than 30 days is left" ||
  fail "left by the retention stage: $(echo "$left" | head -5 | tr '\n' ' ')"
# 30 days before NIGHT2 nothing was old yet: the same run keeps everything.
cp "$D/before.db" "$D/early.db"
SUF_RETENTION_DAYS=30 suf --db "$D/early.db" --now "$NIGHT2" run --skip "$stages" \
  >"$D/early.out" 2>&1 || fail -l "$D/early.out" "the early run failed"
[ "$(dump "$D/early.db" | grep -v -e '^INSERT INTO runs ' -e pseudonym_key -e attempts_stay_purged |
  sha256sum)" = \
  "$(dump "$D/before.db" | grep -v '^INSERT INTO runs ' | sha256sum)" ] &&
  ok "retention_days = 30 purges nothing younger" || fail -l "$D/early.out" "a run purged young data"
cp "$D/before.db" "$D/off.db"
suf --db "$D/off.db" --now "$LATER" run --skip "$stages" >"$D/off.out" 2>&1 ||
  fail -l "$D/off.out" "the run without retention_days failed"
! dump "$D/off.db" | grep -q pseudonym_key &&
  [ "$(sqlite3 "$D/off.db" "SELECT count(*) FROM recipients WHERE phone LIKE '%#%'")" = 0 ] &&
  ok "retention_days = 0 (the default) keeps everything" || fail "the default purged"
SUF_RETENTION_DAYS=3 suf --db "$D/off.db" --now "$LATER" run --skip "$stages" >"$D/three.out" 2>&1
rc=$?
[ "$rc" = 78 ] && grep -q "retention_days 3 is less than 7 (0 keeps everything)" "$D/three.out" &&
  ok "retention_days = 3 is refused with exit 78" || fail -l "$D/three.out" "retention_days 3: exit $rc"

# --- 4. what the command refuses --------------------------------------------------
refused() { # WANT_EXIT TEXT ARGS...
  want=$1 text=$2
  shift 2
  suf --db "$D/off.db" --now "$LATER" purge "$@" >"$D/refused.out" 2>&1
  rc=$?
  [ "$rc" = "$want" ] && grep -qF -- "$text" "$D/refused.out" &&
    ok "purge $*: exit $rc, '$text'" || fail -l "$D/refused.out" "purge $*: exit $rc"
}
refused 64 "purge: --before DATE is required"
refused 64 "purge: --before 'soon': " --before soon
refused 64 "the cutoff '2027-03-02T00:00:00Z' is later than now" --before 2027-03-02
refused 64 "purge: unexpected argument '--campaign'" --before 2027-01-01 --campaign x
"$SUF" purge --help | grep -q "usage: suf purge --before DATE \[--vacuum\]" &&
  ok "purge --help" || fail "purge --help"
finish purge
