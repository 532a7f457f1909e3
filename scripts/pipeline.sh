# pipeline.sh: shell functions shared by the demo and the end-to-end tests
# that drive the whole pipeline against the mock Cloud API.  Source it with
# SUF (the binary) and SUF_SOURCE_DIR (the tree) set.
#
#   pipeline_setup DIR [api]
#                           a fresh working folder: inbox folders holding the
#                           fixtures, a 0600 token, an empty database.  With
#                           "api" suf talks to the mock as to Meta's Graph
#                           API: waba_id is set, the template catalog is the
#                           mock's (not copied into the inbox; without
#                           fallback_permission, which the mock approves as
#                           soon as suf creates it), and the mock bills what
#                           it delivered with the fixtures' rate cards and
#                           market map, the ones suf imports
#   mock_start DIR CLOCK    starts tests/mock/cloudapi.py on a free loopback
#                           port (status webhooks timed from CLOCK, epoch s)
#                           and writes DIR/suf.conf pointing at it; with
#                           "api", the mock also bills what its earlier runs
#                           in DIR delivered, and keeps their catalog
#   mock_stop DIR           stops it (also on exit, through a trap)
#   receiver_start DIR      starts `suf receive` on a free loopback port, its
#                           inbox the events folder; from then on the mock
#                           (started after it) and `customers --post` post
#                           their webhooks to it, signed, instead of writing
#                           files
#   receiver_stop DIR       stops it (SIGTERM: it flushes, then exits)
#   customers DIR ARGS...   taps, declines and STOPs for the utility messages
#                           the mock received (tests/mock/customers.py)

PY=/usr/bin/python3
# The WhatsApp Business Account of "api" mode (the mock's default); empty
# otherwise.
PIPELINE_WABA_ID=

pipeline_setup() {
  d=$1
  PIPELINE_WABA_ID=
  [ "${2:-}" != api ] || PIPELINE_WABA_ID=2000000002
  rm -rf "$d"
  mkdir -p "$d/inbox/deliveries" "$d/inbox/templates" "$d/inbox/campaigns" \
           "$d/inbox/rates" "$d/inbox/events" "$d/inbox/billing" "$d/reports" "$d/outbox"
  cp "$SUF_SOURCE_DIR/fixtures/deliveries.csv" "$d/inbox/deliveries/"
  [ -n "$PIPELINE_WABA_ID" ] || cp "$SUF_SOURCE_DIR"/fixtures/templates*.json "$d/inbox/templates/"
  cp "$SUF_SOURCE_DIR/fixtures/campaigns.csv" "$d/inbox/campaigns/"
  cp "$SUF_SOURCE_DIR"/fixtures/rates/*.csv "$d/inbox/rates/"
  ( umask 077; printf '%s\n' "${SUF_DEMO_TOKEN:-demo-token-not-secret}" > "$d/token" )
  write_config "$d" 9
}

write_config() {
  d=$1 port=$2
  cat > "$d/suf.conf" <<CONF
# Written by scripts/pipeline.sh for a run against the mock Cloud API.
[general]
database = $d/suf.db
reports_dir = $d/reports
outbox_dir = $d/outbox
[inbox]
inbox_deliveries = $d/inbox/deliveries
inbox_templates = $d/inbox/templates
inbox_events = $d/inbox/events
inbox_campaigns = $d/inbox/campaigns
inbox_rates = $d/inbox/rates
# the fixtures were copied in a moment ago: take them at once
inbox_settle_seconds = 0
[api]
base_url = http://127.0.0.1:$port
phone_number_id = 1000000001
token_file = $d/token
throughput = ${SUF_DEMO_THROUGHPUT:-0}
connect_timeout_ms = 2000
request_timeout_ms = 5000
backoff_base_ms = 50
backoff_max_ms = 500
CONF
  if [ -n "$PIPELINE_WABA_ID" ]; then
    printf '[inbox]\ninbox_billing = %s/inbox/billing\n[api]\nwaba_id = %s\n' \
      "$d" "$PIPELINE_WABA_ID" >> "$d/suf.conf"
  fi
  if [ -f "$d/app_secret" ]; then receive_config "$d" >> "$d/suf.conf"; fi
}

receive_config() {
  printf '[receive]\napp_secret_file = %s/app_secret\nverify_token_file = %s/verify_token\n' "$1" "$1"
}

mock_start() {
  d=$1 clock=$2
  rm -f "$d/mock.port"
  if [ -n "${RECEIVER_URL:-}" ]; then
    set -- --post-events "$RECEIVER_URL" --app-secret-file "$d/app_secret"
  else
    set -- --events "$d/inbox/events/status-$clock.jsonl"
  fi
  if [ -n "$PIPELINE_WABA_ID" ]; then
    # The fixtures' catalog but for the permission template, which suf
    # creates (templates ensure-permission) and the mock's Meta approves at
    # once; the catalog, created template and all, outlives a restart.
    [ -s "$d/mock-catalog.json" ] || "$PY" - "$SUF_SOURCE_DIR/fixtures/templates.json" \
      "$d/mock-catalog.json" <<'PY'
import json, sys
page = json.load(open(sys.argv[1], encoding="utf-8"))
page["data"] = [t for t in page["data"] if t["name"] != "fallback_permission"]
json.dump(page, open(sys.argv[2], "w", encoding="utf-8"))
PY
    set -- "$@" --waba-id "$PIPELINE_WABA_ID" --approve-created \
      --catalog "$d/mock-catalog.json" \
      --catalog "$SUF_SOURCE_DIR/fixtures/templates-page2.json" \
      --catalog-state "$d/mock-catalog-state.json" \
      --pricing-markets "$SUF_SOURCE_DIR/fixtures/markets.csv"
    for f in "$d"/inbox/rates/*.csv; do set -- "$@" --pricing-rates "$f"; done
    # The mock keeps what it delivered in memory: each earlier run's part
    # of the request log, with its clock, is billed too.
    for f in "$d"/mock-run-*.jsonl; do
      [ -e "$f" ] || continue
      c=${f##*/mock-run-}
      set -- "$@" --pricing-earlier "${c%.jsonl}" "$f"
    done
    if [ -f "$d/mock-requests.jsonl" ]; then wc -l < "$d/mock-requests.jsonl"; else echo 0; fi \
      > "$d/mock.from"
    echo "$clock" > "$d/mock.clock"
  fi
  "$PY" "$SUF_SOURCE_DIR/tests/mock/cloudapi.py" --port-file "$d/mock.port" \
    --log "$d/mock-requests.jsonl" "$@" \
    --token-file "$d/token" --clock "$clock" --stall-seconds 1 \
    > "$d/mock.log" 2>&1 &
  echo $! > "$d/mock.pid"
  i=0
  while [ ! -s "$d/mock.port" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then echo "mock Cloud API did not start" >&2; cat "$d/mock.log" >&2; return 1; fi
    sleep 0.1
  done
  write_config "$d" "$(cat "$d/mock.port")"
  trap 'mock_stop "'"$d"'"; receiver_stop "'"$d"'"' EXIT
}

mock_stop() {
  d=$1
  if [ -s "$d/mock.pid" ]; then
    kill "$(cat "$d/mock.pid")" 2>/dev/null || true
    wait "$(cat "$d/mock.pid")" 2>/dev/null || true
    rm -f "$d/mock.pid"
  fi
  if [ -s "$d/mock.clock" ]; then
    tail -n "+$(($(cat "$d/mock.from") + 1))" "$d/mock-requests.jsonl" \
      > "$d/mock-run-$(cat "$d/mock.clock").jsonl" 2>/dev/null || true
    rm -f "$d/mock.clock" "$d/mock.from"
  fi
}

receiver_start() {
  d=$1
  ( umask 077
    printf '%s\n' "${SUF_DEMO_APP_SECRET:-demo-app-secret-not-secret}" > "$d/app_secret"
    printf '%s\n' "${SUF_DEMO_VERIFY_TOKEN:-demo-verify-token}" > "$d/verify_token" )
  grep -q '^\[receive\]' "$d/suf.conf" || receive_config "$d" >> "$d/suf.conf"
  "$SUF" -c "$d/suf.conf" receive --listen 127.0.0.1:0 2> "$d/receiver.log" &
  echo $! > "$d/receiver.pid"
  port= i=0
  while [ -z "$port" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then echo "suf receive did not start" >&2; cat "$d/receiver.log" >&2; return 1; fi
    sleep 0.1
    port=$(sed -n 's/.*listening on .*(port \([0-9]*\)).*/\1/p' "$d/receiver.log")
  done
  RECEIVER_URL=http://127.0.0.1:$port/webhook
  trap 'mock_stop "'"$d"'"; receiver_stop "'"$d"'"' EXIT
}

receiver_stop() {
  d=$1
  if [ -s "$d/receiver.pid" ]; then
    kill -TERM "$(cat "$d/receiver.pid")" 2>/dev/null || true
    wait "$(cat "$d/receiver.pid")" 2>/dev/null || true
    rm -f "$d/receiver.pid"
  fi
}

customers() {
  d=$1; shift
  "$PY" "$SUF_SOURCE_DIR/tests/mock/customers.py" --requests "$d/mock-requests.jsonl" "$@"
}
