#!/bin/sh
# The command line a user meets: --version, --help everywhere, usage errors
# with their exit codes, status reading without a lock, and the generated
# man page and sample config listing every command and every key.
set -eu
. "$(dirname "$0")/lib.sh"
scratch_fresh; cd "$SUF_SCRATCH"
expect_exit() {
  want=$1; shift
  set +e; "$@" > out 2> err; rc=$?; set -e
  [ $rc -eq "$want" ] || fail -l out -l err "'$*' exited $rc, want $want"
}

"$SUF" --version | grep -Eq '^suf [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version"
"$SUF" --help > help
for c in init import plan send reconcile report run status receive; do
  grep -q "^  $c " help || fail "--help does not list '$c'"
  "$SUF" "$c" --help > chelp || fail "'$c --help' failed"
  grep -q "usage: suf $c" chelp || fail "'$c --help' shows no usage"
done
expect_exit 64 "$SUF"
expect_exit 64 "$SUF" frobnicate
grep -q "unknown command 'frobnicate'" err || fail "unknown command message"
expect_exit 64 "$SUF" --db x.db --now yesterday status
grep -q -- "--now 'yesterday'" err || fail "bad --now message"
# Only init creates a database: every other command on a missing one exits
# 66, names the path, and leaves no file behind (no database, lock or WAL).
for c in status plan send reconcile report run "import deliveries none.csv"; do
  # shellcheck disable=SC2086 # $c is a command and its arguments
  expect_exit 66 "$SUF" --db missing.db $c
  grep -q "no database at 'missing.db' (run 'suf init' first)" err || fail -l err "'$c' on a missing database"
  for f in missing.db*; do [ ! -e "$f" ] || fail "'$c' on a missing database created '$f'"; done
done
expect_exit 78 env SUF_THROUGHPUT=5000 "$SUF" --db x.db status
grep -q "SUF_THROUGHPUT" err || fail "a bad environment override is not named"
"$SUF" --db x.db -q init
"$SUF" --db x.db -q init --sample sample.conf
expect_exit 64 "$SUF" --db x.db import nonsense file
# A dry run is refused where it would be taken and ignored.
for c in report status; do
  expect_exit 64 "$SUF" --db x.db $c --dry-run
  grep -q -- "$c: --dry-run is not an option of $c" err || fail -l err "'$c --dry-run' is not refused"
done
[ "$(stat -c %a x.db)" = 600 ] || fail "the database is not 0600"
# status only reads: it works while a writer holds the lock, and records no run.
flock x.db.lock sleep 2 &
sleep 0.3
"$SUF" --db x.db status > status.out || fail "status failed while the lock was held"
wait
[ "$(sqlite3 x.db "SELECT count(*) FROM runs WHERE command = 'status'")" -eq 0 ] || fail "status recorded a run"
# Every key of the sample is a key the config accepts, and the man page
# (generated at build time next to the binary) lists every key and command.
man=$(dirname "$SUF")/suf.1
[ -f "$man" ] || fail "no generated man page next to the binary"
for key in $(sed -n 's/^#\([a-z_0-9]*\) = .*/\1/p' sample.conf); do
  grep -q "^\.B $key\$" "$man" || fail "man page lacks key '$key'"
done
for c in init import plan send reconcile report run status receive; do
  grep -q "^\.B $c" "$man" || fail "man page lacks command '$c'"
done
for r in fallback_off fallback_not_enabled campaign_expired unknown_template not_marketing \
         unsupported_template opted_out undeliverable ineligible_error invalid_phone missing_content; do
  grep -q "^\.B $r\$" "$man" || fail "man page lacks exclusion rule '$r'"
done
cp sample.conf edited.conf
sed -i 's/^#throughput = 80/throughput = 1000/' edited.conf
"$SUF" -c edited.conf --db x.db status > /dev/null || fail "the sample, uncommented, is not a valid config"
# A relative path in a config file is taken from the config's folder, not
# the current one: init run elsewhere creates conf/rel.db, a run from a third
# folder imports conf/inbox, and --db stays relative to the current folder.
mkdir -p conf/inbox elsewhere
cp "$SUF_SOURCE_DIR/fixtures/campaigns.csv" conf/inbox/
printf '[general]\ndatabase = rel.db\n[inbox]\ninbox_campaigns = inbox\ninbox_settle_seconds = 0\n' > conf/suf.conf
(cd elsewhere && "$SUF" -c ../conf/suf.conf -q init) || fail "init with a relative database path"
[ -f conf/rel.db ] || fail "a relative database path was not taken from the config's folder"
[ ! -e elsewhere/rel.db ] || fail "a relative database path was taken from the current folder"
(cd / && "$SUF" -c "$SUF_SCRATCH/conf/suf.conf" -q run --skip reconcile,session,plan,utility,events,report) ||
  fail "run from another folder with relative config paths"
[ "$(sqlite3 conf/rel.db "SELECT count(*) FROM files WHERE kind = 'campaigns'")" -eq 1 ] ||
  fail "a relative inbox folder was not taken from the config's folder"
(cd elsewhere && "$SUF" -c ../conf/suf.conf --db here.db -q init) || fail "init with --db"
[ -f elsewhere/here.db ] || fail "--db was not taken from the current folder"
# The demo's last hint is a command that runs as printed, from where
# `make demo` starts it (the binary given relative to the current folder),
# with no suf on PATH.
bindir=$(dirname "$SUF")
(cd "$bindir/.." && SUF_DEMO_DIR="$SUF_SCRATCH/demo" "$SUF_SOURCE_DIR/scripts/demo" \
  "$(basename "$bindir")/suf" > "$SUF_SCRATCH/demo.out" 2>&1) || fail -l demo.out "the demo failed"
hint=$(sed -n 's/.*: try  //p' demo.out)
[ -n "$hint" ] || fail -l demo.out "the demo gave no hint"
(cd "$bindir/.." && env PATH=/usr/bin:/bin sh -c "$hint" > "$SUF_SCRATCH/hint.out" 2>&1) ||
  fail -l hint.out "the demo's hint '$hint' does not run"
grep -q "^campaign " hint.out || fail -l hint.out "the demo's hint shows no status"
echo "cli: ok"
