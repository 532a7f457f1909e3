#!/bin/sh
# e2e import: runs the real suf binary on the fixtures: init, import
# deliveries and campaigns, `suf status`, the rejects table (read with the
# sqlite3 shell), re-imports, hard errors, and the exit codes of the reject
# ratio.  Expected values are computed here from the fixture files (Python's
# csv module) and from fixtures/README.md, not taken from suf.
#
# Env: SUF (the binary), SUF_SOURCE_DIR (the tree), SUF_SCRATCH (a folder).
set -eu
. "$(dirname "$0")/lib.sh"
keep_going
fx="$SUF_SOURCE_DIR/fixtures"
scratch_fresh
cd "$SUF_SCRATCH"
db="$SUF_SCRATCH/suf.db"
unset SUF_CONFIG

suf() { "$SUF" --db "$db" --now 2026-11-24T02:00:00Z "$@"; }
# run_rc CMD...: runs, keeps stderr in err.txt, prints the exit status
run_rc() { set +e; "$@" >out.txt 2>err.txt; echo $?; set -e; }
sql() { sqlite3 -batch -noheader "$db" "$1"; }

check "init" 0 "$(run_rc suf init)"

# --- the clean export --------------------------------------------------
check "import deliveries exits 0" 0 "$(run_rc suf import deliveries "$fx/deliveries.csv")"
$PY - "$fx/deliveries.csv" >expected.txt <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='', encoding='utf-8')))
camps = {}
for r in rows:
    c = camps.setdefault(r['campaign_id'], [0, set()])
    c[0] += 1
    c[1].add(r['phone'])
print(len(rows))
for k in sorted(camps):
    print("%s %d %d" % (k, camps[k][0], len(camps[k][1])))
EOF
want_rows=$(head -1 expected.txt)
check "attempts stored" "$want_rows" "$(sql 'SELECT count(*) FROM attempts')"
check "no rejects" 0 "$(sql 'SELECT count(*) FROM rejects')"
check "file rows recorded" "$want_rows" "$(sql "SELECT rows FROM files WHERE kind = 'deliveries'")"

check "import campaigns exits 0" 0 "$(run_rc suf import campaigns "$fx/campaigns.csv")"
want_camps=$(($(wc -l <"$fx/campaigns.csv") - 1))
check "campaign settings stored" "$want_camps" "$(sql 'SELECT count(*) FROM campaigns')"
check "fallback off stored" 0 "$(sql "SELECT fallback FROM campaigns WHERE campaign_id = 'camp_off'")"

# `suf status`: per campaign "attempts N, recipients M", as the fixture says
"$SUF" --db "$db" status >status.txt
tail -n +2 expected.txt | while read -r camp n rcpt; do
  got=$(awk -v c="campaign $camp" 'index($0, c) == 1 && (length($0) == length(c) || substr($0, length(c) + 1, 1) == " ") { getline; print; exit }' status.txt |
        sed -n 's/^ *attempts \([0-9]*\), recipients \([0-9]*\).*/\1 \2/p')
  [ "$got" = "$n $rcpt" ] || echo "status $camp: got '$got', want '$n $rcpt'"
done >status-diff.txt
if [ -s status-diff.txt ]; then fail "suf status per campaign: $(cat status-diff.txt)"; else echo "ok: suf status per campaign"; fi
check "status shows no rejects" 1 "$(grep -c '^rejected rows: 0$' status.txt)"

# --- re-import: a no-op that says so ------------------------------------
check "re-import exits 0" 0 "$(run_rc suf import deliveries "$fx/deliveries.csv")"
check "re-import says imported before" 1 "$(grep -c 'imported before' err.txt)"
check "re-import adds nothing" "$want_rows" "$(sql 'SELECT count(*) FROM attempts')"
check "one file row" 1 "$(sql "SELECT count(*) FROM files WHERE kind = 'deliveries'")"

# --- the messy exports: rejects row by row, exit 65 ---------------------
check "messy import exits 65" 65 "$(run_rc suf import deliveries "$fx/messy")"
grep -q "ignored column(s) 'Internal Notes'" err.txt || fail "no warning for the unknown column"
want_lines=$(sed -n 's/^| \([0-9]*\) | [^|]* | rejected: .*/\1/p' "$fx/README.md" | tr '\n' ' ')
got_lines=$(sql "SELECT line FROM rejects WHERE file LIKE '%deliveries-messy.csv' ORDER BY line" | tr '\n' ' ')
check "messy reject lines (README table)" "$want_lines" "$got_lines"
for reason in "missing required field 'message_id'" "unknown status 'bounced'" \
              "phone 'call me' is not a number" "looks like Excel scientific notation" \
              "unparseable time 'yesterday'" "invalid UTF-8" "wrong number of fields" \
              "field over 64 KiB"; do
  n=$(sql "SELECT count(*) FROM rejects WHERE instr(reason, '$(printf %s "$reason" | sed "s/'/''/g")') > 0")
  check "a reject says: $reason" 1 "$n"
done
# the raw text of a reject is the line as it is in the file
want_raw=$(sed -n '7p' "$fx/messy/deliveries-messy.csv" | tr -d '\r')
check "raw text of line 7" "$want_raw" "$(sql "SELECT CAST(raw AS TEXT) FROM rejects WHERE line = 7 AND file LIKE '%messy.csv'")"
check "upserted, not duplicated" "1 read" "$(sql "SELECT count(*) || ' ' || max(status) FROM attempts WHERE message_id = 'wamid.m.12'")"
"$SUF" --db "$db" status >status2.txt
total_rejects=$(sql 'SELECT count(*) FROM rejects')
check "status counts rejects" 1 "$(grep -c "^rejected rows: $total_rejects\$" status2.txt)"

# --- reject ratio: within 1 % exits 0, above exits 65 -------------------
gen() { # gen FILE GOOD BAD
  $PY - "$@" <<'EOF'
import sys
f, good, bad = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(f, 'w') as o:
    o.write("campaign_id,message_id,phone,template_name,status,sent_at\n")
    for i in range(good + bad):
        o.write("ratio,%s-%d,+91981%07d,promo_s1_text,%s,2026-11-20T10:00:00Z\n"
                % (f.split('/')[-1], i, i, "failed" if i < good else "bounced"))
EOF
}
gen "$SUF_SCRATCH/under.csv" 199 1
gen "$SUF_SCRATCH/over.csv" 97 3
check "1 reject in 200 exits 0" 0 "$(run_rc suf import deliveries "$SUF_SCRATCH/under.csv")"
grep -q "1 of 200 rows rejected" err.txt || fail "no warning for 1 of 200 rejected"
check "3 rejects in 100 exit 65" 65 "$(run_rc suf import deliveries "$SUF_SCRATCH/over.csv")"
check "good rows of a bad file still import" 97 "$(sql "SELECT count(*) FROM attempts WHERE message_id LIKE 'over.csv-%'")"

# --- hard errors name the file; the other files still import ------------
mkdir -p hard
printf '\177ELF\002\001\001\000\000\000\377\376\n\000\000' >hard/a-binary.csv
printf 'foo,bar\n1,2\n' >hard/b-noheader.csv
printf 'campaign_id,message_id,phone,template_name,status,sent_at\nhard,w1,+919812399001,t,failed,2026-11-20T10:00:00Z\n' >hard/c-good.csv
# written a moment ago: settled for the folder scan (inbox_settle_seconds)
touch -d '-1 minute' hard/*
rc=$(run_rc suf import deliveries hard)
check "hard errors exit 65" 65 "$rc"
grep -q "a-binary.csv" err.txt || fail "binary file not named"
grep -q "b-noheader.csv" err.txt || fail "header-less file not named"
check "the good file still imported" 1 "$(sql "SELECT count(*) FROM attempts WHERE campaign_id = 'hard'")"
check "campaigns with a wrong header exit 65" 65 "$(run_rc suf import campaigns "$fx/deliveries.csv")"
check "missing file exits 66" 66 "$(run_rc suf import deliveries "$SUF_SCRATCH/none.csv")"

# --- a killed bulk import leaves the database as it was -----------------
# A large file into a small table is loaded in bulk: the indexes of
# attempts are dropped inside the file's transaction and built again at its
# end.  SIGKILL in the middle (once rows are being written: the WAL grows)
# must leave the rows, the indexes and the files as before.
kdb="$SUF_SCRATCH/kill.db"
ksuf() { "$SUF" --db "$kdb" --now 2026-11-24T02:00:00Z "$@"; }
check "kill: init" 0 "$(run_rc ksuf init)"
check "kill: a first file" 0 "$(run_rc ksuf import deliveries "$fx/deliveries.csv")"
$PY - "$SUF_SCRATCH/big.csv" 150000 <<'EOF'
import sys
with open(sys.argv[1], 'w') as o:
    o.write("campaign_id,message_id,phone,template_name,status,sent_at,var1,text\n")
    for i in range(int(sys.argv[2])):
        o.write("big%d,wamid.big.%07d,+91981%07d,promo_s1_text,failed,2026-11-20T10:00:00Z,"
                "Asha,\"Hi Asha, our winter sale is live, with a long enough body.\"\n"
                % (i % 7, (i * 7919) % 1000003, i))
EOF
indexes_sql="SELECT group_concat(name) FROM (SELECT name FROM sqlite_schema
  WHERE tbl_name = 'attempts' AND type = 'index' ORDER BY name)"
kstate() {
  sqlite3 -batch -noheader "$kdb" "SELECT (SELECT count(*) FROM attempts),
    (SELECT sum(id) FROM attempts), (SELECT count(*) FROM files), ($indexes_sql)"
}
before=$(kstate)
"$SUF" --db "$kdb" -q import deliveries "$SUF_SCRATCH/big.csv" >/dev/null 2>&1 &
kpid=$!
i=0
while [ $i -lt 600 ] && kill -0 $kpid 2>/dev/null; do
  [ "$(stat -c %s "$kdb-wal" 2>/dev/null || echo 0)" -gt 4000000 ] && break
  i=$((i + 1))
  sleep 0.05
done
if kill -KILL $kpid 2>/dev/null; then
  wait $kpid 2>/dev/null || true
  check "kill: integrity after the kill" ok "$(sqlite3 "$kdb" 'PRAGMA integrity_check')"
  check "kill: rows, files and indexes as before" "$before" "$(kstate)"
else
  fail "kill: the import ended before it could be killed"
fi
check "kill: the rerun imports" 0 "$(run_rc ksuf import deliveries "$SUF_SCRATCH/big.csv")"
check "kill: every row after the rerun" \
  "$((want_rows + 150000))" "$(sqlite3 "$kdb" 'SELECT count(*) FROM attempts')"
check "kill: indexes after the rerun" "attempts_key,attempts_recipient" \
  "$(sqlite3 "$kdb" "$indexes_sql")"

finish import
