# lib.sh: what the end-to-end shell scripts in tests/e2e share.  Every one
# of them sources it right after `set -eu` (or `set -u`):
#
#   . "$(dirname "$0")/lib.sh"
#
# CTest (suf_add_e2e in cmake/SufHelpers.cmake) sets SUF (the binary),
# SUF_SOURCE_DIR (the tree) and SUF_SCRATCH (a scratch folder of the test's
# own).  By hand, from the top of the tree, any of them may be left out:
#
#   SUF=build/suf tests/e2e/import.sh
#   tests/e2e/import.sh                   the binary defaults to build/suf
#   SUF_SCRATCH=out/plan tests/e2e/plan.sh
#
# SUF_SOURCE_DIR defaults to the tree this file is in, SUF to its build/suf,
# SUF_SCRATCH to a new temporary folder, named on stderr and kept (as CTest's
# are) to look into after a failure.  The three are made absolute, since
# most scripts cd into their scratch folder, and exported, as CTest does.
# The scripts empty their scratch folder: lib.sh refuses / and any folder
# that holds the tree.
#
# A script stops at its first failed check (fail exits), or calls keep_going
# to run every check and then finish to give the verdict.
#
# POSIX sh: the scripts run under /bin/sh.  Names a script may use: SUF,
# SUF_SOURCE_DIR, SUF_SCRATCH, E2E_DIR, PY and fails; the functions below.
# The library's own variables start with _lib_.

# _lib_abs PATH: PATH made absolute when its folder exists, else as it is.
_lib_abs() { (cd "$(dirname "$1")" 2>/dev/null && printf '%s/%s\n' "$(pwd)" "$(basename "$1")") || echo "$1"; }

E2E_DIR=$(cd "$(dirname "$0")" && pwd)
SUF_SOURCE_DIR=$(cd "${SUF_SOURCE_DIR:-$E2E_DIR/../..}" && pwd)
E2E_DIR=$SUF_SOURCE_DIR/tests/e2e
SUF=$(_lib_abs "${SUF:-$SUF_SOURCE_DIR/build/suf}")
[ -x "$SUF" ] || { echo "FAIL: no suf binary at $SUF: build it, or set SUF" >&2; exit 1; }
if [ -z "${SUF_SCRATCH:-}" ]; then
  SUF_SCRATCH=$(mktemp -d)
  echo "scratch folder: $SUF_SCRATCH" >&2
fi
mkdir -p "$SUF_SCRATCH"
SUF_SCRATCH=$(cd "$SUF_SCRATCH" && pwd)
# The scripts empty SUF_SCRATCH: never / or a folder holding the tree.
case $SUF_SOURCE_DIR/ in
"${SUF_SCRATCH%/}"/*) echo "FAIL: SUF_SCRATCH ($SUF_SCRATCH) holds the source tree" >&2; exit 1 ;;
esac
export SUF SUF_SOURCE_DIR SUF_SCRATCH
PY=/usr/bin/python3
fails=0
_lib_keep_going=

# ok MSG: reports a check that passed.
ok() { echo "ok: $*"; }

# fail [-l FILE]... [-x] MSG: FILEs then "FAIL: MSG" to stderr; exit 1 (keep_going: count, unless -x).
fail() {
  _lib_exit=
  while :; do
    case ${1-} in
    -l) cat "$2" >&2 2>/dev/null || true; shift 2 ;;
    -x) _lib_exit=1; shift ;;
    *) break ;;
    esac
  done
  echo "FAIL: $*" >&2
  if [ -z "$_lib_keep_going" ] || [ -n "$_lib_exit" ]; then exit 1; fi
  fails=$((fails + 1))
}

# check NAME WANT GOT: ok when GOT is WANT, as strings; fail otherwise.
check() {
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi
}

# keep_going: from here on fail counts instead of exiting; finish decides.
keep_going() { _lib_keep_going=1; }

# finish NAME: after keep_going, exits 1 if any check failed, else says all passed.
finish() {
  if [ "$fails" -ne 0 ]; then
    echo "$1: $fails check(s) failed; scratch folder $SUF_SCRATCH" >&2
    exit 1
  fi
  echo "$1: all checks passed"
}

# scratch_fresh: SUF_SCRATCH emptied, for a clean start.
scratch_fresh() {
  rm -rf "$SUF_SCRATCH"
  mkdir -p "$SUF_SCRATCH"
}

# wait_for TRIES SECONDS CMD...: CMD until it succeeds, retried TRIES times SECONDS apart; else false.
wait_for() {
  _lib_n=$1 _lib_s=$2
  shift 2
  while ! "$@"; do
    [ "$_lib_n" -gt 0 ] || return 1
    _lib_n=$((_lib_n - 1))
    sleep "$_lib_s"
  done
}

# wait_file FILE WHAT: fails "WHAT did not start" unless FILE (a port file) is written within 10 s.
wait_file() { wait_for 100 0.1 test -s "$1" || fail -x "$2 did not start"; }

# free_port: a TCP port free on loopback at the time of asking.
free_port() {
  $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
