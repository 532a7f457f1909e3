#!/bin/sh
# The schedules as an operator installs them: every systemd unit passes
# `systemd-analyze verify`, every crontab line parses, and each unit's
# ExecStart command line (and each cron command) runs against demo data the
# way the scheduler would run it: no terminal, no environment beyond the
# config and the token.
set -eu
. "$(dirname "$0")/lib.sh"
scratch_fresh; mkdir -p "$SUF_SCRATCH/units"
cd "$SUF_SCRATCH"

# 1. systemd-analyze verify, with the units' templates configured for this
#    build's binary (install.sh checks the units as installed).
for f in "$SUF_SOURCE_DIR"/schedules/*.service.in "$SUF_SOURCE_DIR"/schedules/*.timer; do
  sed -e "s|@CMAKE_INSTALL_FULL_BINDIR@/suf|$SUF|g" -e "s|@CMAKE_INSTALL_FULL_SYSCONFDIR@|/etc|g" \
    "$f" > "units/$(basename "$f" .in)"
done
grep -l '@[A-Z_]*@' units/* && fail "a unit template has a placeholder left"
cp units/suf@.service units/suf@camp_winter.service
(cd units && systemd-analyze verify --man=no ./suf.service ./suf.timer ./suf-light.service \
   ./suf-light.timer ./suf-receive.service ./suf@camp_winter.service) > verify.log 2>&1 \
  || fail -l verify.log "systemd-analyze verify"
[ -s verify.log ] && fail -l verify.log "systemd-analyze verify printed warnings"
grep -q '^Persistent=true' units/suf.timer || fail "suf.timer is not Persistent"
for u in suf.service suf-light.service suf@.service suf-receive.service; do
  for opt in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes User=suf LoadCredential=token:; do
    grep -q "^$opt" "units/$u" || fail "$u lacks $opt"
  done
done

# 2. The crontab: environment lines or five valid time fields and a command.
$PY - "$SUF_SOURCE_DIR/schedules/crontab.in" > cron.cmds <<'PY'
import re, sys
ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
def field_ok(f, lo, hi):
    for part in f.split(","):
        m = re.fullmatch(r"(\*|\d+(?:-\d+)?)(?:/(\d+))?", part)
        if not m:
            return False
        base, step = m.group(1), m.group(2)
        if step is not None and int(step) < 1:
            return False
        if base != "*":
            nums = [int(x) for x in base.split("-")]
            if any(n < lo or n > hi for n in nums) or nums != sorted(nums):
                return False
    return True
n = 0
for lineno, line in enumerate(open(sys.argv[1]), 1):
    line = line.strip()
    if not line or line.startswith("#") or re.match(r"^[A-Z_]+=", line):
        continue
    f = line.split(None, 5)
    if len(f) < 6 or not all(field_ok(f[i], *ranges[i]) for i in range(5)):
        sys.exit(f"crontab:{lineno}: not a valid cron line: {line}")
    print(f[5]); n += 1
if n != 2:
    sys.exit(f"crontab: expected 2 jobs, found {n}")
PY
grep -qx 'suf run' cron.cmds || fail "no nightly 'suf run' in crontab"
grep -qx 'suf run --skip report --quiet-if-locked' cron.cmds || fail "no light run in crontab"
# 3. Each unit's ExecStart, as systemd would run it: the unit's Environment=
#    lines (with %d the credentials folder, %I the instance), the token
#    handed over through $CREDENTIALS_DIRECTORY (mode 0644 there: systemd
#    protects that folder itself, so suf accepts it), no terminal.
. "$SUF_SOURCE_DIR/scripts/pipeline.sh"
D=$SUF_SCRATCH/data
pipeline_setup "$D"
mock_start "$D" 1795485600
"$SUF" -c "$D/suf.conf" -q init
"$SUF" -c "$D/suf.conf" -q import markets "$SUF_SOURCE_DIR/fixtures/markets.csv"
sed -i '/^token_file/d' "$D/suf.conf"
creds=$SUF_SCRATCH/credentials; mkdir -p "$creds"
cp "$D/token" "$creds/token"; printf 'verify-me\n' > "$creds/verify_token"
printf 'app-secret\n' > "$creds/app_secret"; chmod 0644 "$creds"/*
unit_env() {
  sed -n 's/^Environment=//p' "units/$1" | sed -e "s|%d|$creds|g" -e "s|%I|$2|g" \
    | grep -v '^SUF_CONFIG='
}
unit_exec() {
  sed -n 's/^ExecStart=//p' "units/$1" | sed -e "s|%I|$2|g"
}
for u in suf.service suf-light.service suf@.service; do
  cmd=$(unit_exec "$u" camp_winter | sed 's|^\([^ ]*\) |\1 --now 2026-11-24T02:00:00Z |')
  set +e
  # shellcheck disable=SC2046
  env -i PATH=/usr/bin:/bin SUF_CONFIG="$D/suf.conf" CREDENTIALS_DIRECTORY="$creds" \
    $(unit_env "$u" camp_winter) sh -c "$cmd" \
    < /dev/null > "$SUF_SCRATCH/$u.log" 2>&1
  rc=$?
  set -e
  # 0, or 69 for the fixture's permanently failing phones; never a crash,
  # a config or permission error.
  case $rc in 0|69) ;; *) fail -l "$SUF_SCRATCH/$u.log" "$u ExecStart exited $rc";; esac
  grep -q "stage " "$SUF_SCRATCH/$u.log" || fail "$u ExecStart ran no stage"
done
grep -q "stage report" "$SUF_SCRATCH/suf-light.service.log" && fail "the light run wrote reports"
grep -q "camp_s1" "$SUF_SCRATCH/suf@.service.log" && fail "suf@camp_winter touched another campaign"
[ "$(sqlite3 "$D/suf.db" "SELECT count(*) FROM sends WHERE state = 'sent'")" -gt 0 ] \
  || fail "the units' runs sent nothing"
# The receiver's ExecStart: it starts, answers the handshake, stops on SIGTERM.
cmd=$(unit_exec suf-receive.service "" | sed 's/127.0.0.1:8787/127.0.0.1:0/')
port=$(free_port)
cmd=$(echo "$cmd" | sed "s/127.0.0.1:0/127.0.0.1:$port/")
env -i PATH=/usr/bin:/bin SUF_CONFIG="$D/suf.conf" CREDENTIALS_DIRECTORY="$creds" \
  $(unit_env suf-receive.service "") sh -c "exec $cmd" < /dev/null > "$SUF_SCRATCH/receive.log" 2>&1 &
rpid=$!
ok=0
for i in $(seq 1 50); do
  if curl -s -o "$SUF_SCRATCH/challenge" "http://127.0.0.1:$port/?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42"; then
    ok=1; break
  fi
  sleep 0.1
done
kill -TERM $rpid; wait $rpid || true
[ $ok -eq 1 ] || fail -l "$SUF_SCRATCH/receive.log" "the receiver's ExecStart did not listen"
[ "$(cat "$SUF_SCRATCH/challenge")" = 42 ] || fail "the receiver's handshake answered '$(cat "$SUF_SCRATCH/challenge")'"
echo "schedules: units verified, crontab parsed, every ExecStart ran"
