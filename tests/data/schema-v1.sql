-- The store exactly as schema version 1 made it (src/store/store.c, migration 1),
-- with its events; schema-v1-rows.sql adds the rows of the other tables.
-- The test "store: version 1 migrates with its data" opens it with the
-- current suf and checks that every row survives the migrations.  Never
-- edit: a released schema does not change.
CREATE TABLE runs (  id INTEGER PRIMARY KEY,  command TEXT NOT NULL,  args TEXT,  started_at INTEGER NOT NULL,  ended_at INTEGER,  as_of INTEGER NOT NULL,  status TEXT NOT NULL DEFAULT 'running',  exit_code INTEGER,  counts TEXT,  message TEXT);
CREATE TABLE files (  id INTEGER PRIMARY KEY,  kind TEXT NOT NULL,  path TEXT NOT NULL,  sha256 TEXT NOT NULL,  size INTEGER,  rows INTEGER NOT NULL DEFAULT 0,  rejects INTEGER NOT NULL DEFAULT 0,  imported_at INTEGER NOT NULL,  run_id INTEGER,  UNIQUE (kind, sha256));
CREATE TABLE rejects (  id INTEGER PRIMARY KEY,  file_id INTEGER,  file TEXT NOT NULL,  line INTEGER NOT NULL,  reason TEXT NOT NULL,  raw TEXT,  run_id INTEGER);
CREATE INDEX rejects_file ON rejects (file_id);
CREATE TABLE campaigns (  campaign_id TEXT PRIMARY KEY,  name TEXT,  fallback INTEGER,  max_auto_retries INTEGER,  retry_interval_hours INTEGER,  valid_until INTEGER,  utility_template TEXT,  utility_language TEXT,  file_id INTEGER,  updated_at INTEGER);
CREATE TABLE attempts (  id INTEGER PRIMARY KEY,  campaign_id TEXT NOT NULL,  message_id TEXT NOT NULL,  phone TEXT NOT NULL,  phone_valid INTEGER NOT NULL DEFAULT 1,  campaign_name TEXT,  template_name TEXT NOT NULL,  template_language TEXT,  status TEXT NOT NULL,  error_code INTEGER,  error_title TEXT,  attempt INTEGER NOT NULL DEFAULT 1,  sent_at INTEGER NOT NULL,  text TEXT,  vars TEXT,  header_media_url TEXT,  url_suffixes TEXT,  button_payloads TEXT,  customer_name TEXT,  file_id INTEGER,  line INTEGER,  UNIQUE (campaign_id, message_id));
CREATE INDEX attempts_recipient ON attempts (campaign_id, phone, attempt, sent_at);
CREATE TABLE templates (  id INTEGER PRIMARY KEY,  name TEXT NOT NULL,  language TEXT NOT NULL,  status TEXT,  category TEXT,  meta_id TEXT,  json TEXT NOT NULL,  file_id INTEGER,  updated_at INTEGER,  UNIQUE (name, language));
CREATE TABLE recipients (  campaign_id TEXT NOT NULL,  phone TEXT NOT NULL,  outcome TEXT NOT NULL,  reason TEXT,  detail TEXT,  attempts INTEGER NOT NULL,  last_attempt_id INTEGER,  last_attempt_at INTEGER,  decided_at INTEGER,  PRIMARY KEY (campaign_id, phone)) WITHOUT ROWID;
CREATE TABLE fallbacks (  id INTEGER PRIMARY KEY,  campaign_id TEXT NOT NULL,  phone TEXT NOT NULL,  attempt_id INTEGER NOT NULL,  template_name TEXT NOT NULL,  template_language TEXT,  scenario TEXT NOT NULL,  state TEXT NOT NULL,  state_at INTEGER NOT NULL,  created_at INTEGER NOT NULL,  utility_sent_at INTEGER,  utility_delivered_at INTEGER,  consented_at INTEGER,  consent_source TEXT,  late_consent_at INTEGER,  declined_at INTEGER,  session_sent_at INTEGER,  converted_at INTEGER,  closed_at INTEGER,  error_code INTEGER,  UNIQUE (campaign_id, phone));
CREATE INDEX fallbacks_state ON fallbacks (state);
CREATE INDEX fallbacks_phone ON fallbacks (phone);
CREATE TABLE sends (  id INTEGER PRIMARY KEY,  fallback_id INTEGER NOT NULL,  kind TEXT NOT NULL,  part INTEGER NOT NULL DEFAULT 1,  n INTEGER NOT NULL,  callback TEXT NOT NULL UNIQUE,  body TEXT NOT NULL,  state TEXT NOT NULL,  tries INTEGER NOT NULL DEFAULT 0,  next_try_at INTEGER,  http_status INTEGER,  api_code INTEGER,  api_error TEXT,  wamid TEXT,  queued_at INTEGER,  in_flight_at INTEGER,  sent_at INTEGER,  updated_at INTEGER,  resend_of INTEGER,  delivery TEXT,  delivered_at INTEGER,  read_at INTEGER,  failed_at INTEGER,  error_code INTEGER,  pricing_billable INTEGER,  pricing_model TEXT,  pricing_type TEXT,  pricing_category TEXT,  run_id INTEGER,  UNIQUE (fallback_id, kind, n));
CREATE INDEX sends_state ON sends (state, kind);
CREATE INDEX sends_wamid ON sends (wamid) WHERE wamid IS NOT NULL;
CREATE TABLE events (  id INTEGER PRIMARY KEY,  dedupe TEXT NOT NULL UNIQUE,  kind TEXT NOT NULL,  wamid TEXT,  status TEXT,  ts INTEGER,  recipient TEXT,  callback TEXT,  error_code INTEGER,  error_title TEXT,  pricing_billable INTEGER,  pricing_model TEXT,  pricing_type TEXT,  pricing_category TEXT,  from_phone TEXT,  context_id TEXT,  msg_type TEXT,  payload TEXT,  text TEXT,  profile_name TEXT,  file_id INTEGER,  line INTEGER,  processed INTEGER NOT NULL DEFAULT 0);
CREATE INDEX events_unprocessed ON events (ts) WHERE processed = 0;
CREATE TABLE event_files (  path TEXT PRIMARY KEY,  dev INTEGER,  ino INTEGER,  size INTEGER,  offset INTEGER NOT NULL DEFAULT 0,  lines INTEGER NOT NULL DEFAULT 0,  head_sha256 TEXT,  updated_at INTEGER);
CREATE TABLE optouts (  phone TEXT PRIMARY KEY,  at INTEGER NOT NULL,  source TEXT NOT NULL,  campaign_id TEXT);
CREATE TABLE rate_cards (  id INTEGER PRIMARY KEY,  currency TEXT NOT NULL,  effective TEXT NOT NULL,  file_id INTEGER,  UNIQUE (currency, effective));
CREATE TABLE rates (  card_id INTEGER NOT NULL,  market TEXT NOT NULL,  marketing INTEGER,  utility INTEGER,  authentication INTEGER,  authentication_intl INTEGER,  service INTEGER,  PRIMARY KEY (card_id, market)) WITHOUT ROWID;
CREATE TABLE markets (  prefix TEXT NOT NULL,  since TEXT NOT NULL DEFAULT '',  market TEXT NOT NULL,  PRIMARY KEY (prefix, since)) WITHOUT ROWID;
INSERT INTO events (id, dedupe, kind, wamid, status, ts, callback, processed)
VALUES (10, 's|wamid.U7|delivered', 'status', 'wamid.U7', 'delivered', 1795485600, 'suf:7:u1', 1),
       (11, 's|wamid.U7|read', 'status', 'wamid.U7', 'read', 1795485900, 'suf:7:u1', 0),
       (12, 'm|wamid.IN1', 'message', 'wamid.IN1', NULL, 1795485700, NULL, 0);
