#!/bin/sh
# uses_lib.sh: every end-to-end shell script in tests/e2e sources lib.sh and
# defines no fail() or check() of its own, so that a failed check reads and
# counts the same in every script.
set -eu
. "$(dirname "$0")/lib.sh"
keep_going
n=0
for f in "$E2E_DIR"/*.sh; do
  name=$(basename "$f")
  [ "$name" != lib.sh ] || continue
  n=$((n + 1))
  grep -qx '\. "$(dirname "$0")/lib\.sh"' "$f" || fail "$name does not source lib.sh"
  if grep -nE '^[[:space:]]*(function[[:space:]]+(fail|check)([^[:alnum:]_]|$)|(fail|check)[[:space:]]*\(\))' "$f"; then
    fail "$name defines its own fail or check (the lines above)"
  fi
done
[ "$n" -gt 10 ] || fail "only $n scripts in $E2E_DIR"
[ "$fails" -ne 0 ] || ok "$n scripts source lib.sh and define no fail or check"
finish uses_lib
