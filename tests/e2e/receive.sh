#!/bin/sh
# e2e: `suf receive` on loopback, driven with curl and receive_client.py.
#
# The handshake (good and bad), signed, unsigned and wrongly signed bodies,
# a replay, oversized bodies (Content-Length and chunked), the reason each
# refusal gives (and that it echoes nothing of the request), a slow client,
# 1,000 concurrent posts (each on disk exactly once), --on-consent started
# once for a burst, secrets kept out of the log, a bounded connection count,
# SIGTERM, a SIGKILL under load (every body that got a 200 is on disk
# whole), and a full disk under the inbox (a small tmpfs: skipped, with a
# message, where mounting is not permitted).  Expected values are computed
# here (signatures with Python's hmac, hashes with sha256sum), never taken
# from suf.  Every wait is bounded.
set -eu
. "$(dirname "$0")/lib.sh"
keep_going
scratch_fresh
S=$SUF_SCRATCH
CLIENT="$E2E_DIR/receive_client.py"
TOKEN=e2e-verify-token-4f1c
SECRET=e2e-app-secret-9d27ab
export SUF_VERIFY_TOKEN=$TOKEN SUF_APP_SECRET=$SECRET
INBOX=$S/inbox
pid=
mounted=

cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  [ -n "$mounted" ] && { umount "$mounted" 2>/dev/null || umount -l "$mounted" 2>/dev/null; }
  true
}
trap cleanup EXIT

cat >"$S/suf.conf" <<EOF
[general]
database = $S/unused.sqlite
[receive]
receive_inbox = $INBOX
max_body_bytes = 4096
connection_timeout_s = 2
max_connections = 128
on_consent_debounce_ms = 500
EOF

# listening LOG: sets port from the receiver's LOG; false until it is there
# (the log itself may not exist yet).
listening() { port=$(sed -n 's/.*listening on .*(port \([0-9]*\)).*/\1/p' "$1" 2>/dev/null); [ -n "$port" ]; }

# start LOG [ARGS...]: starts the receiver on a free port; sets pid and port.
start() {
  log=$1; shift
  "$SUF" -c "$S/suf.conf" receive --listen 127.0.0.1:0 "$@" 2>"$log" &
  pid=$!
  wait_for 100 0.05 listening "$log" || fail -x -l "$log" "the receiver did not start"
}

# stop_term: SIGTERM, then waits (a watchdog kills it after 10 s); sets st.
stop_term() {
  kill -TERM "$pid"
  ( sleep 10; kill -9 "$pid" 2>/dev/null ) &
  dog=$!
  st=0; wait "$pid" || st=$?
  kill "$dog" 2>/dev/null || true
  pid=
}

# hmac_hex KEY BODY: the hex HMAC-SHA256, computed independently of suf.
hmac_hex() {
  $PY -c 'import hashlib, hmac, sys; print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())' "$1" "$2"
}
sig() { hmac_hex "$SECRET" "$1"; }
lines() { cat "$INBOX"/events-*.jsonl 2>/dev/null | wc -l | tr -d ' '; }
code() { curl -s -o "$S/resp" -w '%{http_code}' --max-time 10 "$@"; }

# --- a missing inbox or secret stops it at start --------------------------
printf '[general]\ndatabase = %s/x.sqlite\n' "$S" >"$S/noinbox.conf"
st=0; "$SUF" -c "$S/noinbox.conf" receive --listen 127.0.0.1:0 2>"$S/noinbox.log" || st=$?
check "no inbox configured is a config error (exit 78)" 78 "$st"
st=0; env -u SUF_APP_SECRET "$SUF" -c "$S/suf.conf" receive --listen 127.0.0.1:0 2>"$S/nosecret.log" || st=$?
check "no app secret is a config error (exit 78)" 78 "$st"
printf 'filesecret-123456\n' >"$S/secret.txt"; chmod 644 "$S/secret.txt"
sed "s#^\[receive\]#[receive]\napp_secret_file = $S/secret.txt#" "$S/suf.conf" >"$S/badperm.conf"
st=0; env -u SUF_APP_SECRET "$SUF" -c "$S/badperm.conf" receive --listen 127.0.0.1:0 2>"$S/badperm.log" || st=$?
[ "$st" -ne 0 ] && grep -q "readable by group or others" "$S/badperm.log" &&
  echo "ok: a group-readable secret file is refused" || fail "group-readable secret file accepted ($st)"

start "$S/run1.log" --on-consent "echo run >> '$S/consent.log'"
base="http://127.0.0.1:$port/webhook"

# --- handshake -------------------------------------------------------------
check "handshake good: 200" 200 "$(code "$base?hub.mode=subscribe&hub.verify_token=$TOKEN&hub.challenge=1158201444")"
check "handshake good: echoes the challenge" 1158201444 "$(cat "$S/resp")"
check "handshake wrong token: 403" 403 "$(code "$base?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158201444")"
check "handshake wrong mode: 403" 403 "$(code "$base?hub.mode=unsubscribe&hub.verify_token=$TOKEN&hub.challenge=1")"
check "handshake no challenge: 403" 403 "$(code "$base?hub.mode=subscribe&hub.verify_token=$TOKEN")"
check "handshake nothing: 403" 403 "$(code "$base")"
check "PUT: 405" 405 "$(code -X PUT --data x "$base")"

# --- signatures ------------------------------------------------------------
B1='{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.ONE","status":"read","timestamp":"1795485600","recipient_id":"447700900023"}]}}]}]}'
check "signed body: 200" 200 "$(code -H "X-Hub-Signature-256: sha256=$(sig "$B1")" --data-binary "$B1" "$base")"
check "one line on disk" 1 "$(lines)"
check "the line is the body, byte for byte" 1 "$(cat "$INBOX"/events-*.jsonl | grep -cxF "$B1")"
check "unsigned body: 401" 401 "$(code --data-binary "$B1" "$base")"
check "wrongly signed body: 401" 401 "$(code -H "X-Hub-Signature-256: sha256=$(hmac_hex wrong-secret "$B1")" --data-binary "$B1" "$base")"
check "sha1 prefix: 401" 401 "$(code -H "X-Hub-Signature-256: sha1=$(sig "$B1")" --data-binary "$B1" "$base")"
check "signature of another body: 401" 401 "$(code -H "X-Hub-Signature-256: sha256=$(sig "$B1")" --data-binary "$B1 " "$base")"
NJ='not json at all'
check "signed non-JSON: 400" 400 "$(code -H "X-Hub-Signature-256: sha256=$(sig "$NJ")" --data-binary "$NJ" "$base")"
check "nothing written for refused bodies" 1 "$(lines)"
check "replayed body: 200 again" 200 "$(code -H "X-Hub-Signature-256: sha256=$(sig "$B1")" --data-binary "$B1" "$base")"
check "the replay is on disk too (import deduplicates)" 2 "$(lines)"
ML=$(printf '{\n "object": "whatsapp_business_account",\n "entry": []\n}')
check "multi-line body: 200" 200 "$(code -H "X-Hub-Signature-256: sha256=$(sig "$ML")" --data-binary "$ML" "$base")"
check "multi-line body stored as one line" 3 "$(lines)"
check "the stored line is the same JSON" "$(printf '%s' "$ML" | jq -cS .)" "$(cat "$INBOX"/events-*.jsonl | jq -cS 'select(.entry == [])')"

# --- body size -------------------------------------------------------------
BIG=$($PY -c 'print("{\"object\":\"whatsapp_business_account\",\"pad\":\"" + "x" * 5000 + "\"}", end="")')
check "oversized body: 413" 413 "$(code -H "X-Hub-Signature-256: sha256=$(sig "$BIG")" --data-binary "$BIG" "$base")"
st=$($PY "$CLIENT" chunked "$port" "$SECRET" 20000)
case "$st" in 413|closed) echo "ok: oversized chunked body refused ($st)" ;; *) fail "oversized chunked body: $st" ;; esac
st=$($PY "$CLIENT" chunked "$port" "$SECRET" 2000)
check "small chunked body: 200" 200 "$st"
check "only the small chunked body was added" 4 "$(lines)"

# --- what a refusal says ---------------------------------------------------
# A short reason in the body, from a fixed list: never bytes of the request.
# (receive_client.py request prints the status, Retry-After and the body.)
req() { $PY "$CLIENT" request "$port" "$@"; }
MARK=echo-marker-5e1b
tab=$(printf '\t')
check "unsigned body says why" "401${tab}-${tab}missing signature" "$(req POST /webhook "$B1" "Content-Length: ${#B1}")"
check "wrongly signed body says why" "401${tab}-${tab}bad signature" \
  "$(req POST /webhook "$B1" "Content-Length: ${#B1}" "X-Hub-Signature-256: sha256=$(hmac_hex wrong-secret "$B1")")"
NJM="not json $MARK"
check "signed non-JSON says why" "400${tab}-${tab}body is not a JSON object" \
  "$(req POST /webhook "$NJM" "Content-Length: ${#NJM}" "X-Hub-Signature-256: sha256=$(sig "$NJM")")"
check "no Content-Length says why" "411${tab}-${tab}missing content-length" \
  "$(req POST /webhook "" "X-Hub-Signature-256: sha256=$(sig "")")"
check "oversized body says why" "413${tab}-${tab}body too large" "$(req POST /webhook "$MARK" "Content-Length: 5000")"
check "refused handshake says why" "403${tab}-${tab}handshake refused" \
  "$(req GET "/webhook?hub.mode=subscribe&hub.verify_token=$MARK&hub.challenge=1" "")"
check "a bad challenge with the right token: nothing echoed" "403${tab}-${tab}handshake refused" \
  "$(req GET "/webhook?hub.mode=subscribe&hub.verify_token=$TOKEN&hub.challenge=%3C$MARK%3E" "")"
check "PUT says why" "405${tab}-${tab}method not allowed" "$(req PUT /webhook "$MARK" "Content-Length: ${#MARK}")"
check "nothing written for the refusals" 4 "$(lines)"

# --- slow client -----------------------------------------------------------
if $PY "$CLIENT" slow "$port" 2; then echo "ok: slow client timed out"; else fail "slow client kept its connection"; fi
check "still serving after the slow client" 200 "$(code -H "X-Hub-Signature-256: sha256=$(sig "$B1")" --data-binary "$B1" "$base")"

# --- 1,000 concurrent posts ------------------------------------------------
: >"$S/ok-load.txt"
$PY "$CLIENT" load "$port" "$SECRET" 1000 64 "$S/ok-load.txt"
check "1000 concurrent posts all answered 200" 1000 "$(wc -l <"$S/ok-load.txt" | tr -d ' ')"
if $PY "$CLIENT" inbox "$INBOX" "$S/ok-load.txt"; then echo "ok: every body on disk exactly once"; else fail "inbox check after the load"; fi
check "no consent command for status bodies" 0 "$(cat "$S/consent.log" 2>/dev/null | wc -l | tr -d ' ')"

# --- a burst of taps starts one run ----------------------------------------
: >"$S/ok-taps.txt"
$PY "$CLIENT" load "$port" "$SECRET" 20 20 "$S/ok-taps.txt" --tap
for _ in $(seq 1 100); do [ -s "$S/consent.log" ] && break; sleep 0.1; done
sleep 1.5 # three debounce periods: a second run would have started by now
check "--on-consent ran once for a burst of 20 taps" 1 "$(wc -l <"$S/consent.log" | tr -d ' ')"

# --- logging ---------------------------------------------------------------
if grep -qF "$TOKEN" "$S/run1.log" || grep -qF "$SECRET" "$S/run1.log"; then
  fail "a secret is in the log"
else
  echo "ok: no secret in the log"
fi
grep -q "GET /webhook 200 " "$S/run1.log" && ! grep -q "hub\." "$S/run1.log" &&
  echo "ok: handshakes logged without their query" || fail "handshake log line"
h=$(printf '%s' "$B1" | sha256sum | cut -c1-12)
grep -Eq "POST /webhook 200 [0-9]+B [0-9]+ms body=$h" "$S/run1.log" &&
  echo "ok: log line has status, size, latency and body hash" || fail "post log line (want body=$h)"
n=$(grep -c "receive: POST /webhook " "$S/run1.log")
[ "$n" -ge 1030 ] && echo "ok: one log line per request ($n)" || fail "log lines: $n"

# --- SIGTERM ---------------------------------------------------------------
stop_term
check "SIGTERM: clean exit" 0 "$st"
grep -q "receive: stopped;" "$S/run1.log" && echo "ok: shutdown summary logged" || fail "no shutdown summary"
files_before=$(ls "$INBOX" | sort | tail -n 1)

# --- SIGKILL under load ----------------------------------------------------
start "$S/run2.log"
: >"$S/ok-kill.txt"
$PY "$CLIENT" load "$port" "$SECRET" 3000 64 "$S/ok-kill.txt" --offset 100000 >"$S/kill-load.out" 2>&1 &
loadpid=$!
for _ in $(seq 1 200); do
  [ "$(wc -l <"$S/ok-kill.txt")" -ge 300 ] && break
  sleep 0.02
done
kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=
wait "$loadpid" || true
acked=$(wc -l <"$S/ok-kill.txt" | tr -d ' ')
echo "killed with $acked bodies acknowledged"
[ "$acked" -ge 300 ] && [ "$acked" -lt 3000 ] && echo "ok: killed mid-load" || fail "kill timing ($acked acknowledged)"
if $PY "$CLIENT" inbox "$INBOX" "$S/ok-kill.txt"; then echo "ok: every acknowledged body on disk whole"; else fail "bodies lost by SIGKILL"; fi
start "$S/run3.log"
base="http://127.0.0.1:$port/webhook"
check "after a restart: 200" 200 "$(code -H "X-Hub-Signature-256: sha256=$(sig "$B1")" --data-binary "$B1" "$base")"
newest=$(ls "$INBOX" | sort | tail -n 1)
check "the restart's file sorts last" "$newest" "$(sed -n 's#.*writing .*/\(events-[^ ]*\)$#\1#p' "$S/run3.log" | tail -n 1)"
[ "$newest" \> "$files_before" ] && echo "ok: names keep their order across restarts" || fail "file order"
stop_term
check "SIGTERM after restart" 0 "$st"
# --- a bounded connection count --------------------------------------------
sed 's/^max_connections = .*/max_connections = 4/' "$S/suf.conf" >"$S/limit.conf"
"$SUF" -c "$S/limit.conf" receive --listen 127.0.0.1:0 2>"$S/run4.log" &
pid=$!
wait_for 100 0.05 listening "$S/run4.log" || fail -x -l "$S/run4.log" "the receiver did not start"
$PY "$CLIENT" hold "$port" 12 1.5 >"$S/hold.out" &
holdpid=$!
# the clients are connected once hold says so (bounded), then the receiver
# has a moment to accept what it will
for _ in $(seq 1 100); do grep -q "connections open" "$S/hold.out" 2>/dev/null && break; sleep 0.05; done
sleep 0.3
# the receiver's sockets: the listening one and those it accepted
held=$(( $(ls -l "/proc/$pid/fd" | grep -c 'socket:') - 1 ))
echo "connections held by the receiver with 12 clients: $held"
[ "$held" -ge 1 ] && [ "$held" -le 4 ] && echo "ok: at most max_connections accepted" || fail "connection bound: $held"
wait "$holdpid" || true
stop_term
check "SIGTERM with idle connections open" 0 "$st"

for f in "$INBOX"/events-*; do
  m=$(stat -c %a "$f")
  [ "$m" = 640 ] || fail "$f has mode $m"
done

# --- a full disk under the inbox -------------------------------------------
# One file per lane at most, not one per failed batch; 503 with Retry-After
# while it cannot write; the trouble logged once, not once per request; and
# the same receiver storing again once there is room (after Retry-After).
mnt=$S/mnt-full
mkdir -p "$mnt"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=256k,mode=0755 tmpfs "$mnt" 2>/dev/null; then
  mounted=$mnt
  sed "s#^receive_inbox = .*#receive_inbox = $mnt/inbox#" "$S/suf.conf" >"$S/full.conf"
  "$SUF" -c "$S/full.conf" receive --listen 127.0.0.1:0 2>"$S/run5.log" &
  pid=$!
  wait_for 100 0.05 listening "$S/run5.log" || fail -x -l "$S/run5.log" "the receiver did not start"
  base="http://127.0.0.1:$port/webhook"
  # the rest of the disk taken (dd stops at ENOSPC)
  dd if=/dev/zero of="$mnt/filler" bs=4096 2>/dev/null || true
  : >"$S/ok-full.txt"
  $PY "$CLIENT" load "$port" "$SECRET" 300 16 "$S/ok-full.txt" --offset 200000 >"$S/full-load.out"
  check "a full disk: no post answered 200" 0 "$(wc -l <"$S/ok-full.txt" | tr -d ' ')"
  got=$(curl -s -o "$S/resp" -D "$S/head" -w '%{http_code}' --max-time 10 \
    -H "X-Hub-Signature-256: sha256=$(sig "$B1")" --data-binary "$B1" "$base")
  check "a full disk: 503" 503 "$got"
  check "a full disk: Retry-After" "Retry-After: 10" "$(grep -i '^retry-after:' "$S/head" | tr -d '\r')"
  check "a full disk: the body says why" "cannot store the event now" "$(cat "$S/resp")"
  nfiles=$(ls "$mnt/inbox" | wc -l | tr -d ' ')
  echo "files in the full inbox after 301 posts: $nfiles"
  [ "$nfiles" -ge 1 ] && [ "$nfiles" -le 4 ] && ok "a full disk: at most one file per lane" ||
    fail "a full disk: $nfiles files"
  n=$(grep -c "receive: cannot store events: .*No space left on device" "$S/run5.log" || true)
  check "a full disk: logged once, not per request" 1 "$n"
  check "a full disk: no other warning or error" 1 "$(grep -c 'suf: \(warning\|error\):' "$S/run5.log" || true)"
  rm -f "$mnt/filler"
  sleep 10 # Retry-After
  check "room again: 200" 200 "$(code -H "X-Hub-Signature-256: sha256=$(sig "$B1")" --data-binary "$B1" "$base")"
  check "room again: the same files" "$nfiles" "$(ls "$mnt/inbox" | wc -l | tr -d ' ')"
  grep -q "receive: storing events again" "$S/run5.log" && ok "room again: logged" || fail "no recovery line"
  if $PY "$CLIENT" inbox "$mnt/inbox" >"$S/full-inbox.out"; then ok "a full disk: whole lines only"; else fail -l "$S/full-inbox.out" "a full disk: a broken line"; fi
  check "the body stored after the full disk" 1 "$(cat "$mnt/inbox"/events-* | grep -cxF "$B1")"
  stop_term
  check "SIGTERM after the full disk" 0 "$st"
  umount "$mnt" && mounted=
else
  echo "skip: a full disk under the inbox: mounting a tmpfs is not permitted here"
fi

finish receive
