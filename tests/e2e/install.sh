#!/bin/sh
# An install as an operator or a package makes it, checked before anything
# runs it:
#
#  1. `cmake --install` of this build into a DESTDIR puts every file where
#     it belongs: the binary, the man page, the sample config in the folder
#     the binary reads by default, the market map, the docs and the units;
#  2. the installed units pass `systemd-analyze verify` in that DESTDIR as
#     root, so their ExecStart must be the installed binary;
#  3. the installed binary answers --version and writes a sample config on a
#     fresh machine, with no database and no folder for one;
#  4. a build configured for another prefix reads the config of that prefix
#     when neither -c nor SUF_CONFIG names one, and its units run it.
set -eu
. "$(dirname "$0")/lib.sh"
scratch_fresh
cd "$SUF_SCRATCH"
build=$(dirname "$SUF")
[ -f "$build/CMakeCache.txt" ] || fail "no CMakeCache.txt beside $SUF: install.sh needs the build tree"
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
# The default config path the binary was compiled with (base/version.h).
conf=$(sed -n 's/^#define SUF_DEFAULT_CONFIG "\(.*\)"$/\1/p' "$build/src/base/version.h")
[ -n "$prefix" ] && [ -n "$conf" ] || fail "cannot read the build's prefix or default config"

# systemd's own unit library, which verify needs under the root it checks
# (sysinit.target and the like), copied there after the file list is taken.
units_lib=/usr/lib/systemd/system
[ -d "$units_lib" ] || units_lib=/lib/systemd/system
[ -f "$units_lib/sysinit.target" ] || fail "systemd's units are not installed (scripts/install-deps)"

# verify_root ROOT UNITS_DIR: the units of UNITS_DIR enabled under ROOT as the
# README has it (copied to /etc/systemd/system), verified there in full.
verify_root() {
  mkdir -p "$1/etc/systemd/system" "$1/usr/lib/systemd/system"
  # Plain files only: the library's links are absolute, and would point
  # outside ROOT.
  find "$units_lib" -maxdepth 1 -type f -exec cp {} "$1/usr/lib/systemd/system/" \;
  cp "$2"/*.service "$2"/*.timer "$1/etc/systemd/system/"
  cp "$2/suf@.service" "$1/etc/systemd/system/suf@camp_winter.service"
  systemd-analyze verify --man=no --root="$1" suf.service suf.timer suf-light.service \
    suf-light.timer suf-receive.service suf@camp_winter.service > verify.log 2>&1 \
    || fail -l verify.log "systemd-analyze verify under $1"
  [ -s verify.log ] && fail -l verify.log "systemd-analyze verify under $1 printed warnings"
  return 0
}

# 1. The file list of a DESTDIR install.
dest=$SUF_SCRATCH/dest
DESTDIR=$dest cmake --install "$build" --prefix "$prefix" > install.log 2>&1 \
  || fail -l install.log "cmake --install"
(cd "$dest" && find . ! -type d | sed 's|^\./|/|' | sort) > files.got
sort > files.want <<EOF
$prefix/bin/suf
${conf%/suf.conf}/suf.conf.example
$prefix/share/man/man1/suf.1
$prefix/share/suf/markets.csv
$prefix/share/suf/schedules/README.md
$prefix/share/suf/schedules/crontab
$prefix/share/suf/schedules/suf-light.service
$prefix/share/suf/schedules/suf-light.timer
$prefix/share/suf/schedules/suf-receive.service
$prefix/share/suf/schedules/suf.service
$prefix/share/suf/schedules/suf.timer
$prefix/share/suf/schedules/suf@.service
$prefix/share/doc/suf/README.md
$prefix/share/doc/suf/SECURITY.md
$prefix/share/doc/suf/architecture.md
$prefix/share/doc/suf/plan.md
EOF
diff files.want files.got > files.diff || fail -l files.diff "installed files differ from the list (- wanted, + got)"
cmp -s "$SUF_SOURCE_DIR/fixtures/markets.csv" "$dest$prefix/share/suf/markets.csv" \
  || fail "the installed market map is not fixtures/markets.csv"
units=$dest$prefix/share/suf/schedules
grep -l '@[A-Z_]*@' "$units"/* && fail "an installed unit has a placeholder left"
for u in suf.service suf-light.service suf@.service suf-receive.service; do
  grep -q "^ExecStart=$prefix/bin/suf " "$units/$u" || fail "$u does not run $prefix/bin/suf"
  grep -q "^Environment=SUF_CONFIG=$conf\$" "$units/$u" || fail "$u does not read $conf"
done
grep -qx "PATH=$prefix/bin:/usr/bin:/bin" "$units/crontab" || fail "the crontab's PATH does not start at $prefix/bin"
grep -qx "SUF_CONFIG=$conf" "$units/crontab" || fail "the crontab does not read $conf"
grep -q -- "--on-consent \"$prefix/bin/suf run" "$units/suf-receive.service" \
  || fail "suf-receive.service's --on-consent does not run $prefix/bin/suf"

# 2. The installed units, verified against the installed binary.
verify_root "$dest" "$units"

# 3. The installed binary: --version, and a sample on a fresh machine.
"$dest$prefix/bin/suf" --version | grep -Eq '^suf [0-9]+\.[0-9]+\.[0-9]+$' \
  || fail "the installed binary's --version"
set +e
env -u SUF_CONFIG "$dest$prefix/bin/suf" --db "$SUF_SCRATCH/fresh/suf.db" init --sample suf.conf \
  > init.out 2> init.err
rc=$?
set -e
[ $rc -eq 0 ] || fail -l init.err "init --sample with no database folder exited $rc"
grep -q '^#database = ' suf.conf || fail "init --sample wrote no sample"
[ -e "$SUF_SCRATCH/fresh" ] && fail "init --sample created a database folder"
env -u SUF_CONFIG "$dest$prefix/bin/suf" --db "$SUF_SCRATCH/fresh/suf.db" init --sample - \
  > sample.out 2> init.err || fail -l init.err "init --sample - with no database folder"
cmp -s suf.conf sample.out || fail "init --sample - differs from init --sample FILE"
cmp -s suf.conf "$dest${conf%/suf.conf}/suf.conf.example" || fail "the installed sample is not init --sample's"

# 4. Another prefix, here in the scratch folder: the binary reads the
#    config of its sysconfdir, and its units verify with no root given.
other=$SUF_SCRATCH/prefix
cmake -S "$SUF_SOURCE_DIR" -B other-build -DCMAKE_INSTALL_PREFIX="$other" > other.log 2>&1 \
  || fail -l other.log "configure with prefix $other"
cmake --build other-build -j2 --target suf suf_docs > other.log 2>&1 || fail -l other.log "build"
cmake --install other-build > other.log 2>&1 || fail -l other.log "install into $other"
etc=$other/etc/suf
[ -f "$etc/suf.conf.example" ] || fail "the sample is not in $etc"
sed -e "s|^#database = .*|database = $SUF_SCRATCH/state/suf.db|" \
  -e "s|^#reports_dir = .*|reports_dir = $SUF_SCRATCH/state/reports|" \
  -e "s|^#outbox_dir = .*|outbox_dir = $SUF_SCRATCH/state/outbox|" "$etc/suf.conf.example" > "$etc/suf.conf"
mkdir -p state
env -u SUF_CONFIG "$other/bin/suf" -q init > init.out 2>&1 || fail -l init.out "init with $etc/suf.conf"
[ -f state/suf.db ] || fail "suf did not read $etc/suf.conf by default"
printf 'bogus_key = 1\n' >> "$etc/suf.conf"
set +e
env -u SUF_CONFIG "$other/bin/suf" status > status.out 2>&1
rc=$?
set -e
[ $rc -eq 78 ] && grep -q "$etc/suf.conf" status.out \
  || fail -l status.out "a bad $etc/suf.conf was not named (exit $rc)"
grep -q "^ExecStart=$other/bin/suf run\$" "$other/share/suf/schedules/suf.service" \
  || fail "the units of prefix $other do not run its binary"
(cd "$other/share/suf/schedules" && cp suf@.service suf@camp_winter.service \
  && systemd-analyze verify --man=no ./suf.service ./suf.timer ./suf-light.service \
     ./suf-light.timer ./suf-receive.service ./suf@camp_winter.service) > verify.log 2>&1 \
  || fail -l verify.log "systemd-analyze verify of the units of prefix $other"
[ -s verify.log ] && fail -l verify.log "systemd-analyze verify printed warnings"
echo "install: files in place, units verified against the installed binary, default config read"
