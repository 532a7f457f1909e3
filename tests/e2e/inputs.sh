#!/bin/sh
# e2e inputs: what suf does with inputs that are not plain, settled files.
#  - a FIFO, a device or a socket named as input is refused at once (exit
#    66, the path and what it is), for a hashed kind and for events; every
#    command runs under `timeout`, so a blocking open fails the check
#    instead of hanging the suite;
#  - a symbolic link in a folder of inputs (here a link to a file outside
#    the events inbox) is skipped with one warning, by `suf import events
#    DIR` and by `suf run`: none of its lines reach `events` or `rejects`;
#  - a file in an inbox modified a moment ago (by the machine's clock, set
#    with touch -d; --now plays no part) is left for the next run, which
#    takes it.
#
# Env: SUF (the binary), SUF_SOURCE_DIR (the tree), SUF_SCRATCH (a folder).
set -eu
. "$(dirname "$0")/lib.sh"
keep_going
scratch_fresh
cd "$SUF_SCRATCH"
db="$SUF_SCRATCH/suf.db"
unset SUF_CONFIG

# bounded: a command that blocks gets SIGTERM after 10 s and SIGKILL 2 s later
# (a blocked open may outlive SIGTERM)
suf() { timeout -k 2 10 "$SUF" --db "$db" --now 2026-11-24T02:00:00Z "$@"; }
# run_rc CMD...: runs, keeps stderr in err.txt, prints the exit status
run_rc() { set +e; "$@" >out.txt 2>err.txt; echo $?; set -e; }
sql() { sqlite3 -batch -noheader "$db" "$1"; }

check "init" 0 "$(run_rc suf init)"

# --- not regular files, named ---------------------------------------------
mkfifo fifo.csv fifo.jsonl
$PY -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' sock.csv
for kind_path in deliveries:fifo.csv events:fifo.jsonl rates:fifo.csv; do
  kind=${kind_path%%:*} path=${kind_path#*:}
  check "$kind: a FIFO exits 66 at once" 66 "$(run_rc suf import "$kind" "$path")"
  grep -q "^suf: error: $path: is a FIFO, not a regular file$" err.txt ||
    fail -l err.txt "$kind: the FIFO is not named as one"
done
check "a socket exits 66" 66 "$(run_rc suf import deliveries sock.csv)"
grep -q "sock.csv: is a socket, not a regular file" err.txt || fail -l err.txt "the socket is not named"
check "a device exits 66" 66 "$(run_rc suf import templates /dev/null)"
grep -q "/dev/null: is a character device, not a regular file" err.txt ||
  fail -l err.txt "the device is not named"
check "nothing recorded" 0 "$(sql 'SELECT count(*) FROM files')"
check "the lock is free after them" 0 "$(run_rc suf import deliveries "$SUF_SOURCE_DIR/fixtures/deliveries.csv")"

# --- a link in an events folder ------------------------------------------
# The link points at a file outside the inbox whose lines look like a
# system file's; the real log beside it has two status events.
mkdir -p inbox/events secret
i=0
while [ $i -lt 24 ]; do echo "user$i:x:$i:$i::/home/user$i:/bin/sh"; i=$((i + 1)); done >secret/passwd
chmod 600 secret/passwd
hook='{"object":"whatsapp_business_account","entry":[{"id":"2","changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.L%d","status":"delivered","timestamp":"1795485600","recipient_id":"919812300001"}]}}]}]}\n'
printf "$hook$hook" 1 2 >inbox/events/a-real.jsonl
ln -s "$SUF_SCRATCH/secret/passwd" inbox/events/b-link.jsonl
check "import events DIR exits 0" 0 "$(run_rc suf import events inbox/events)"
check "one warning for the link" 1 "$(grep -c 'b-link.jsonl: skipped: a symbolic link' err.txt)"
check "the real log's events" 2 "$(sql 'SELECT count(*) FROM events')"
check "no rejects from the link" 0 "$(sql 'SELECT count(*) FROM rejects')"
check "no line of the linked file stored" 0 \
  "$(sql "SELECT count(*) FROM rejects WHERE CAST(raw AS TEXT) LIKE '%/bin/sh%'")"
check "no event file row for the link" 0 "$(sql "SELECT count(*) FROM event_files WHERE path LIKE '%passwd%' OR path LIKE '%b-link%'")"

# the same folder as `suf run`'s events inbox, with a deliveries inbox that
# holds a link too
mkdir -p inbox/deliveries
ln -s "$SUF_SCRATCH/secret/passwd" inbox/deliveries/link.csv
cat >suf.conf <<EOF
[general]
database = $db
reports_dir = $SUF_SCRATCH/reports
[inbox]
inbox_deliveries = $SUF_SCRATCH/inbox/deliveries
inbox_events = $SUF_SCRATCH/inbox/events
EOF
runsuf() {
  timeout -k 2 20 "$SUF" -c suf.conf --now 2026-11-24T02:00:00Z run \
    --skip reconcile,session,plan,utility,events,report
}
check "run with links in its inboxes exits 0" 0 "$(run_rc runsuf)"
check "run: one warning for the events link" 1 "$(grep -c 'b-link.jsonl: skipped: a symbolic link' err.txt)"
check "run: one warning for the deliveries link" 1 "$(grep -c 'link.csv: skipped: a symbolic link' err.txt)"
check "run: still no rejects" 0 "$(sql 'SELECT count(*) FROM rejects')"
check "run: still the real log's events only" 2 "$(sql 'SELECT count(*) FROM events')"
rm inbox/deliveries/link.csv

# --- a file still being written is left for the next run -----------------
# Modification times are the machine's: set with touch -d relative to the
# real now (the --now above is in 2026 and plays no part).
printf 'campaign_id,message_id,phone,template_name,status,sent_at\ns,w1,+919812300001,t,failed,2026-11-20T10:00:00Z\n' \
  >inbox/deliveries/a-settled.csv
printf 'campaign_id,message_id,phone,template_name,status,sent_at\ns,w2,+919812300002,t,failed,2026-11-20T10:00:00Z\n' \
  >inbox/deliveries/b-fresh.csv
touch -d '-1 minute' inbox/deliveries/a-settled.csv
touch -d '-1 second' inbox/deliveries/b-fresh.csv
check "run with a fresh file exits 0" 0 "$(run_rc runsuf)"
check "the settled file imported" 1 "$(sql "SELECT count(*) FROM attempts WHERE campaign_id = 's'")"
check "the fresh file not recorded" 0 "$(sql "SELECT count(*) FROM files WHERE path LIKE '%b-fresh.csv'")"
grep -q "b-fresh.csv: modified less than 5 s ago, left for the next run" err.txt ||
  fail -l err.txt "the fresh file is not said to wait"
grep -q "deliveries.unsettled_files 1" err.txt || fail -l err.txt "no count of files left to settle"
# the same with `suf import deliveries DIR`: a folder scan too
check "import DIR with a fresh file exits 0" 0 "$(run_rc suf import deliveries inbox/deliveries)"
check "import DIR: the fresh file still not recorded" 0 \
  "$(sql "SELECT count(*) FROM files WHERE path LIKE '%b-fresh.csv'")"
# once settled, the next run takes it
touch -d '-10 seconds' inbox/deliveries/b-fresh.csv
check "the next run exits 0" 0 "$(run_rc runsuf)"
check "the next run takes it" 2 "$(sql "SELECT count(*) FROM attempts WHERE campaign_id = 's'")"
# with inbox_settle_seconds = 0, a file written this instant is taken
printf 'campaign_id,message_id,phone,template_name,status,sent_at\ns,w3,+919812300003,t,failed,2026-11-20T10:00:00Z\n' \
  >inbox/deliveries/c-now.csv
check "settle 0: the run exits 0" 0 "$(SUF_INBOX_SETTLE_SECONDS=0 run_rc runsuf)"
check "settle 0: a fresh file is taken" 3 "$(sql "SELECT count(*) FROM attempts WHERE campaign_id = 's'")"

finish inputs
