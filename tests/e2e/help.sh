#!/bin/sh
# The help a user reads: every option a command parses has a line of its
# own in `suf COMMAND --help`, `suf --help` explains every global option and
# names the default config, and the generated man page has the sections a
# user looks for (input formats, states, reasons, exit codes, files and
# environment) with what the sources define in them.  The lists come from
# the sources, so an option, state, reason or exit code added without its
# help fails here.
set -eu
. "$(dirname "$0")/lib.sh"
scratch_fresh; cd "$SUF_SCRATCH"
keep_going
src=$SUF_SOURCE_DIR/src

# The options a source parses: its string literals that start with "--".
options_of() {
  grep -o '"--[a-z][a-z-]*' "$1" | sed 's/^"//' | sort -u
}

"$SUF" --help > help
cmds=$(sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p' help)
[ -n "$cmds" ] || fail -l help "--help lists no command"
for c in $cmds; do
  [ -f "$src/cli/cmd_$c.c" ] || fail "no source src/cli/cmd_$c.c for command '$c'"
  opts=$(options_of "$src/cli/cmd_$c.c")
  # The shared options (cli_args.c) count for each command that calls their
  # parser, except where the command refuses one ("--dry-run is not ..."),
  # or passes no limit (--limit is then refused).
  if grep -q 'suf_cli_common_opts(' "$src/cli/cmd_$c.c"; then
    for o in $(options_of "$src/cli/cli_args.c"); do
      grep -q -- "$o is not" "$src/cli/cmd_$c.c" && continue
      [ "$o" = --limit ] && ! grep -q 'suf_cli_common_opts(.*&limit' "$src/cli/cmd_$c.c" && continue
      opts="$opts $o"
    done
  fi
  "$SUF" "$c" --help > "help.$c" || fail "'$c --help' failed"
  for o in $opts; do
    # One line of the options list: the option first, then what it does.
    grep -Eq -- "^  $o([ =,]|\$).*[a-z]" "help.$c" ||
      fail -l "help.$c" "'suf $c --help' has no line for '$o'"
  done
done

# Global options: each long option of the dispatcher's table, and each
# short one, has its line; the default config path is named.
longs=$(grep -o '{"[a-z][a-z-]*", *[a-z]*_argument' "$src/cli/cli.c" | sed 's/{"\([^"]*\)".*/\1/' | sort -u)
[ -n "$longs" ] || fail "found no global option in cli.c"
for o in $longs; do
  grep -Eq -- "^  (-[a-zA-Z], )?--$o([ =,]|\$).*[a-z]" help || fail -l help "'suf --help' has no line for '--$o'"
done
shorts=$(sed -n 's/.*getopt_long(argc, argv, "+\([a-zA-Z:]*\)".*/\1/p' "$src/cli/cli.c" | tr -d ':' | fold -w1)
[ -n "$shorts" ] || fail "found no short global option in cli.c"
for o in $shorts; do
  grep -Eq -- "^  -${o}[ ,]" help || fail -l help "'suf --help' has no line for '-$o'"
done
conf=$(sed -n 's/^default config: //p' help)
[ -n "$conf" ] || fail -l help "'suf --help' does not name the default config"

# The man page, generated at build time next to the binary.
man=$(dirname "$SUF")/suf.1
[ -f "$man" ] || fail -x "no generated man page next to the binary"
for s in "INPUT FORMATS" "CAMPAIGN SETTINGS" "FALLBACK STATES" "EXCLUSION REASONS" "EXIT STATUS" \
         "FILES" "ENVIRONMENT"; do
  grep -q "^\.SH $s\$" "$man" || fail "man page has no section '$s'"
done
# Text of one section, from its .SH line to the next.
section() {
  awk -v s=".SH $1" '$0 == s { on = 1; next } /^\.SH / { on = 0 } on' "$man"
}
section "EXIT STATUS" > man.exit
for code in $("$SUF" --exit-codes | cut -f1 | sort -un); do
  grep -Eq "^\.B $code( |\$)" man.exit || fail -l man.exit "man page's exit status lacks $code"
done
section "FALLBACK STATES" > man.states
for st in $(sed -n 's/^ *\[SUF_FB_[A-Z_]*\] = "\([a-z_]*\)",$/\1/p' "$src/store/fsm.c"); do
  grep -q "^\.B $st\$" man.states || fail "man page lacks fallback state '$st'"
done
section "EXCLUSION REASONS" > man.reasons
reasons=$(sed -n '/reason_names\[/,/};/s/^ *"\([a-z_]*\)",$/\1/p' "$src/plan/plan_rules.c")
[ -n "$reasons" ] || fail "found no exclusion reason in plan_rules.c"
for r in $reasons; do
  grep -q "^\.B $r\$" man.reasons || fail "man page lacks exclusion reason '$r'"
done
# Every column name and alias of the delivery export, and every column of
# the campaign settings.
section "INPUT FORMATS" > man.inputs
for a in $(sed -n '/^static const struct colspec cols/,/^};/p' "$src/import/import_deliveries.c" |
           grep -o '"[a-z_]*"' | tr -d '"'); do
  grep -qxF ".B $a" man.inputs || grep -qF "\\fB$a\\fR" man.inputs ||
    fail "man page's input formats lack delivery column '$a'"
done
section "CAMPAIGN SETTINGS" > man.campaigns
for k in $(sed -n '/^static const char \*const header\[NKEYS\]/,/};/p' "$src/import/import_campaigns.c" |
           grep -o '"[a-z_]*"' | tr -d '"'); do
  grep -qxF ".B $k" man.campaigns || fail "man page's campaign settings lack '$k'"
done
section "ENVIRONMENT" > man.env
for v in SUF_CONFIG '^\.BI SUF_ KEY$' SUF_ACCESS_TOKEN CREDENTIALS_DIRECTORY SQLITE_TMPDIR TMPDIR; do
  grep -q "$v" man.env || fail "man page's environment lacks $v"
done
section "FILES" > man.files
grep -qF "$conf" man.files || fail -l man.files "man page's files do not name the default config '$conf'"
grep -q 'departures' man.files || fail "man page's files lack the departures file"
if [ "$conf" != /etc/suf/suf.conf ] && grep -Eq '(^|[^a-z])/etc/suf/suf\.conf' "$man"; then
  fail "man page names /etc/suf/suf.conf, but the default config is '$conf'"
fi
finish help
