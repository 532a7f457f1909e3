# pipeline.sh: shell functions shared by the demo and the end-to-end tests
# that drive the whole pipeline against the mock Cloud API.  Source it with
# SUF (the binary) and SUF_SOURCE_DIR (the tree) set.
#
#   pipeline_setup DIR      a fresh working folder: inbox folders holding the
#                           fixtures, a 0600 token, an empty database
#   mock_start DIR CLOCK    starts tests/mock/cloudapi.py on a free loopback
#                           port (status webhooks timed from CLOCK, epoch s)
#                           and writes DIR/suf.conf pointing at it
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

pipeline_setup() {
  d=$1
  rm -rf "$d"
  mkdir -p "$d/inbox/deliveries" "$d/inbox/templates" "$d/inbox/campaigns" \
           "$d/inbox/rates" "$d/inbox/events" "$d/reports" "$d/outbox"
  cp "$SUF_SOURCE_DIR/fixtures/deliveries.csv" "$d/inbox/deliveries/"
  cp "$SUF_SOURCE_DIR"/fixtures/templates*.json "$d/inbox/templates/"
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
