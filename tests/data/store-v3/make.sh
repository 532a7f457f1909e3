#!/bin/sh
# make.sh SUF OUT.sql: writes a store of schema version 3 (the layout of the
# release before plan stored decisions instead of requests), with rows in
# every send state, as SQL text.  SUF must be a binary of that release: it
# plans the fixtures, so the queued utility rows and the held session parts
# carry the bodies it built; the SQL below then moves some of them on the
# way its send stage and reconcile would have (sent, failed, in flight when
# a run died, unknown, cancelled, consented with its part queued, a session
# part sent).  tests/e2e/old_store.sh runs the current binary on the result.
set -eu
suf=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
fx=$here/../../../fixtures
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '[general]\ndatabase = %s/suf.db\n[plan]\nfallback = on\n' "$work" > "$work/suf.conf"
mkdir "$work/in"
cp "$fx"/templates*.json "$fx/campaigns.csv" "$fx/deliveries.csv" "$work/in/"
"$suf" -q -c "$work/suf.conf" init
"$suf" -q -c "$work/suf.conf" import templates "$work"/in/templates*.json
"$suf" -q -c "$work/suf.conf" import campaigns "$work/in/campaigns.csv"
"$suf" -q -c "$work/suf.conf" import deliveries "$work/in/deliveries.csv" || true
"$suf" -q -c "$work/suf.conf" --now 2026-11-24T02:00:00Z plan 2>/dev/null
[ "$(sqlite3 "$work/suf.db" 'PRAGMA user_version')" = 3 ] || { echo "not a version 3 store" >&2; exit 1; }
# 1795485600 is 2026-11-24T02:00:00Z.
sqlite3 "$work/suf.db" <<'SQL'
UPDATE sends SET state = 'sent', tries = 1, wamid = 'wamid.old.u3', http_status = 200,
  in_flight_at = 1795485600, sent_at = 1795485601, updated_at = 1795485601, run_id = 1
  WHERE fallback_id = 3 AND kind = 'u';
UPDATE fallbacks SET state = 'utility_sent', state_at = 1795485601, utility_sent_at = 1795485601
  WHERE id = 3;
UPDATE sends SET state = 'failed', tries = 1, http_status = 400, api_code = 131049,
  api_error = 'message failed to send', in_flight_at = 1795485600, updated_at = 1795485601,
  run_id = 1 WHERE fallback_id = 4 AND kind = 'u';
UPDATE fallbacks SET state = 'utility_failed', state_at = 1795485601, closed_at = 1795485601,
  error_code = 131049 WHERE id = 4;
UPDATE sends SET state = 'in_flight', tries = 1, in_flight_at = 1795485600, left_at = 1795485600,
  updated_at = 1795485600, run_id = 1 WHERE fallback_id = 5 AND kind = 'u';
UPDATE sends SET state = 'unknown', tries = 1, in_flight_at = 1795312800, left_at = 1795312800,
  updated_at = 1795312800, run_id = 1 WHERE fallback_id = 6 AND kind = 'u';
UPDATE sends SET state = 'cancelled', updated_at = 1795485600 WHERE fallback_id = 7;
UPDATE fallbacks SET state = 'opted_out', state_at = 1795485600, closed_at = 1795485600 WHERE id = 7;
INSERT INTO optouts (phone, at, source, campaign_id)
  SELECT phone, 1795485600, 'stop', campaign_id FROM fallbacks WHERE id = 7;
UPDATE sends SET state = 'sent', tries = 1, wamid = 'wamid.old.u10', http_status = 200,
  in_flight_at = 1795485600, sent_at = 1795485601, updated_at = 1795485601, run_id = 1,
  delivery = 'delivered', delivered_at = 1795485605 WHERE fallback_id = 10 AND kind = 'u';
UPDATE sends SET state = 'queued', queued_at = 1795485900, updated_at = 1795485900
  WHERE fallback_id = 10 AND kind = 's';
UPDATE fallbacks SET state = 'consented', state_at = 1795485900, utility_sent_at = 1795485601,
  utility_delivered_at = 1795485605, consented_at = 1795485900, consent_source = 'button'
  WHERE id = 10;
UPDATE sends SET state = 'sent', tries = 1, wamid = 'wamid.old.u14', http_status = 200,
  in_flight_at = 1795485600, sent_at = 1795485601, updated_at = 1795485601, run_id = 1,
  delivery = 'delivered', delivered_at = 1795485605 WHERE fallback_id = 14 AND kind = 'u';
UPDATE sends SET state = 'sent', tries = 1, wamid = 'wamid.old.s14', http_status = 200,
  in_flight_at = 1795485960, sent_at = 1795485961, updated_at = 1795485961, run_id = 1
  WHERE fallback_id = 14 AND kind = 's';
UPDATE fallbacks SET state = 'session_sent', state_at = 1795485961, utility_sent_at = 1795485601,
  utility_delivered_at = 1795485605, consented_at = 1795485900, consent_source = 'button',
  session_sent_at = 1795485961 WHERE id = 14;
SQL
# The scratch folder's name, in runs and files, made one of no machine.
{ sqlite3 "$work/suf.db" .dump; echo "PRAGMA user_version = 3;"; } | sed "s|$work/|/srv/suf/|g" > "$out"
