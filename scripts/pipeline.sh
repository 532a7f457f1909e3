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
}

mock_start() {
  d=$1 clock=$2
  rm -f "$d/mock.port"
  "$PY" "$SUF_SOURCE_DIR/tests/mock/cloudapi.py" --port-file "$d/mock.port" \
    --log "$d/mock-requests.jsonl" --events "$d/inbox/events/status-$clock.jsonl" \
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
  trap 'mock_stop "'"$d"'"' EXIT
}

mock_stop() {
  d=$1
  if [ -s "$d/mock.pid" ]; then
    kill "$(cat "$d/mock.pid")" 2>/dev/null || true
    wait "$(cat "$d/mock.pid")" 2>/dev/null || true
    rm -f "$d/mock.pid"
  fi
}

customers() {
  d=$1; shift
  "$PY" "$SUF_SOURCE_DIR/tests/mock/customers.py" --requests "$d/mock-requests.jsonl" "$@"
}
