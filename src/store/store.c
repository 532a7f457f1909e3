/*
 * store.c: opening, migrating and locking the SQLite store (see store.h).
 *
 * The schema lives here as a list of migrations; migration N brings
 * user_version from N-1 to N inside one transaction.  Never edit a released
 * migration: add the next one.
 *
 * Tables (times: INTEGER UTC seconds; money: INTEGER micro-units):
 *  runs        one row per writing command: start, end, as-of time, args,
 *              counts (JSON), status and exit code.
 *  files       every imported input file, by kind and SHA-256 (re-import of
 *              the same bytes is a no-op), with its row and reject counts.
 *  rejects     input rows that could not be used: file, physical line,
 *              reason, raw text.
 *  campaigns   campaign settings; a NULL column takes the config default.
 *  attempts    one row per send attempt of a broadcast message, unique by
 *              (message_id, campaign_id) (index attempts_key); phone is E.164
 *              digits.
 *  templates   Meta's message_templates entries, whole JSON kept, unique by
 *              (name, language); live_status/category/reason/at: the
 *              template's state as last heard (catalog or webhook).
 *  template_events  template webhooks (status, category changes), history.
 *  recipients  the plan's outcome for each (campaign_id, phone).
 *  fallbacks   one per recipient whose outcome is `fallback`; its scenario is
 *              fixed at creation; `state` follows DESIGN.md's machine.
 *  fallback_inputs  what a fallback's messages are built from, frozen when
 *              it is planned: its template_versions row, its
 *              message_settings row and the attempt's values.
 *  template_versions  catalog entries as planned fallbacks use them,
 *              immutable, unique by the SHA-256 of their JSON.
 *  message_settings   the permission template's settings (name, language,
 *              body parameters, "no" button, list label) fallbacks use.
 *  sends       every message suf sends or will send: the utility template
 *              (kind 'u') and the session parts (kind 's'), with the exact
 *              request body, its callback data `suf:<fallback>:<kind><n>`,
 *              the transport state and the webhook-reported delivery state.
 *              Plan queues the utility row with an empty body; the bytes
 *              are built and stored when the row is claimed (in the same
 *              transaction that marks it in_flight).  Session parts are
 *              inserted, built, when the customer consents ('held' is a
 *              state of rows stored by an earlier release only).
 *  events      webhook statuses and inbound messages, deduplicated.
 *  event_queue the events not yet reconciled, by (ts, id).
 *  event_files how far each events log has been read.
 *  optouts     phones that opted out (STOP or 131050), for every campaign.
 *  rate_cards, rates, markets   Meta's prices and the calling-code map.
 *  meta_billing, meta_billing_periods   what Meta billed (pricing_analytics)
 *              per bucket and dimensions, and the spans fetched.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "store/store.h"
#include "base/banned.h"

static const char *const migrations[] = {
    /* 1: the first schema. */
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  command TEXT NOT NULL,"
    "  args TEXT,"
    "  started_at INTEGER NOT NULL,"
    "  ended_at INTEGER,"
    "  as_of INTEGER NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'running',"
    "  exit_code INTEGER,"
    "  counts TEXT,"
    "  message TEXT);"
    "CREATE TABLE files ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  size INTEGER,"
    "  rows INTEGER NOT NULL DEFAULT 0,"
    "  rejects INTEGER NOT NULL DEFAULT 0,"
    "  imported_at INTEGER NOT NULL,"
    "  run_id INTEGER,"
    "  UNIQUE (kind, sha256));"
    "CREATE TABLE rejects ("
    "  id INTEGER PRIMARY KEY,"
    "  file_id INTEGER,"
    "  file TEXT NOT NULL,"
    "  line INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  raw TEXT,"
    "  run_id INTEGER);"
    "CREATE INDEX rejects_file ON rejects (file_id);"
    "CREATE TABLE campaigns ("
    "  campaign_id TEXT PRIMARY KEY,"
    "  name TEXT,"
    "  fallback INTEGER,"
    "  max_auto_retries INTEGER,"
    "  retry_interval_hours INTEGER,"
    "  valid_until INTEGER,"
    "  utility_template TEXT,"
    "  utility_language TEXT,"
    "  file_id INTEGER,"
    "  updated_at INTEGER);"
    "CREATE TABLE attempts ("
    "  id INTEGER PRIMARY KEY,"
    "  campaign_id TEXT NOT NULL,"
    "  message_id TEXT NOT NULL,"
    "  phone TEXT NOT NULL,"
    "  phone_valid INTEGER NOT NULL DEFAULT 1,"
    "  campaign_name TEXT,"
    "  template_name TEXT NOT NULL,"
    "  template_language TEXT,"
    "  status TEXT NOT NULL," /* sent, delivered, read, failed, pending (accepted, queued) */
    "  error_code INTEGER,"
    "  error_title TEXT,"
    "  attempt INTEGER NOT NULL DEFAULT 1,"
    "  sent_at INTEGER NOT NULL,"
    "  text TEXT,"
    "  vars TEXT,"            /* JSON array of the body's {{n}} values */
    "  header_media_url TEXT,"
    "  url_suffixes TEXT,"    /* JSON array, index = URL button order */
    "  button_payloads TEXT," /* JSON array, index = quick-reply order */
    "  customer_name TEXT,"
    "  file_id INTEGER,"
    "  line INTEGER,"
    "  UNIQUE (campaign_id, message_id));"
    "CREATE INDEX attempts_recipient ON attempts (campaign_id, phone, attempt, sent_at);"
    "CREATE TABLE templates ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  language TEXT NOT NULL,"
    "  status TEXT,"
    "  category TEXT,"
    "  meta_id TEXT,"
    "  json TEXT NOT NULL,"
    "  file_id INTEGER,"
    "  updated_at INTEGER,"
    "  UNIQUE (name, language));"
    "CREATE TABLE recipients ("
    "  campaign_id TEXT NOT NULL,"
    "  phone TEXT NOT NULL,"
    "  outcome TEXT NOT NULL,"
    "  reason TEXT,"
    "  detail TEXT," /* why the deciding rule said no, where it has more to say */
    "  attempts INTEGER NOT NULL,"
    "  last_attempt_id INTEGER,"
    "  last_attempt_at INTEGER,"
    "  decided_at INTEGER,"
    "  PRIMARY KEY (campaign_id, phone)) WITHOUT ROWID;"
    "CREATE TABLE fallbacks ("
    "  id INTEGER PRIMARY KEY,"
    "  campaign_id TEXT NOT NULL,"
    "  phone TEXT NOT NULL,"
    "  attempt_id INTEGER NOT NULL,"
    "  template_name TEXT NOT NULL,"
    "  template_language TEXT,"
    "  scenario TEXT NOT NULL," /* S1..S8 */
    "  state TEXT NOT NULL,"
    "  state_at INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  utility_sent_at INTEGER,"
    "  utility_delivered_at INTEGER,"
    "  consented_at INTEGER,"
    "  consent_source TEXT,"
    "  late_consent_at INTEGER,"
    "  declined_at INTEGER,"
    "  session_sent_at INTEGER,"
    "  converted_at INTEGER,"
    "  closed_at INTEGER,"
    "  error_code INTEGER,"
    "  UNIQUE (campaign_id, phone));"
    "CREATE INDEX fallbacks_state ON fallbacks (state);"
    "CREATE INDEX fallbacks_phone ON fallbacks (phone);"
    "CREATE TABLE sends ("
    "  id INTEGER PRIMARY KEY,"
    "  fallback_id INTEGER NOT NULL,"
    "  kind TEXT NOT NULL," /* 'u' utility template, 's' session part */
    "  part INTEGER NOT NULL DEFAULT 1,"
    "  n INTEGER NOT NULL," /* the <n> of the callback data */
    "  callback TEXT NOT NULL UNIQUE,"
    "  body TEXT NOT NULL,"
    /* held (session content waiting for consent), queued, in_flight, sent,
     * failed, unknown (its run died mid-request), cancelled */
    "  state TEXT NOT NULL,"
    "  tries INTEGER NOT NULL DEFAULT 0,"
    "  next_try_at INTEGER,"
    "  http_status INTEGER,"
    "  api_code INTEGER,"
    "  api_error TEXT,"
    "  wamid TEXT,"
    "  queued_at INTEGER,"
    "  in_flight_at INTEGER,"
    "  sent_at INTEGER,"
    "  updated_at INTEGER,"
    "  resend_of INTEGER,"
    "  delivery TEXT," /* from webhooks: sent, delivered, read, failed */
    "  delivered_at INTEGER,"
    "  read_at INTEGER,"
    "  failed_at INTEGER,"
    "  error_code INTEGER,"
    "  pricing_billable INTEGER,"
    "  pricing_model TEXT,"
    "  pricing_type TEXT,"
    "  pricing_category TEXT,"
    "  run_id INTEGER," /* the run that last put it in flight */
    "  UNIQUE (fallback_id, kind, n));"
    "CREATE INDEX sends_state ON sends (state, kind);"
    "CREATE INDEX sends_wamid ON sends (wamid) WHERE wamid IS NOT NULL;"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  dedupe TEXT NOT NULL UNIQUE,"
    "  kind TEXT NOT NULL," /* status, message */
    "  wamid TEXT,"
    "  status TEXT,"
    "  ts INTEGER,"
    "  recipient TEXT,"
    "  callback TEXT,"
    "  error_code INTEGER,"
    "  error_title TEXT,"
    "  pricing_billable INTEGER,"
    "  pricing_model TEXT,"
    "  pricing_type TEXT,"
    "  pricing_category TEXT,"
    "  from_phone TEXT,"
    "  context_id TEXT,"
    "  msg_type TEXT,"
    "  payload TEXT,"
    "  text TEXT,"
    "  profile_name TEXT,"
    "  file_id INTEGER,"
    "  line INTEGER,"
    "  processed INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX events_unprocessed ON events (ts) WHERE processed = 0;"
    "CREATE TABLE event_files ("
    "  path TEXT PRIMARY KEY,"
    "  dev INTEGER,"
    "  ino INTEGER,"
    "  size INTEGER,"
    "  offset INTEGER NOT NULL DEFAULT 0,"
    "  lines INTEGER NOT NULL DEFAULT 0,"
    "  head_sha256 TEXT,"
    "  updated_at INTEGER);"
    "CREATE TABLE optouts ("
    "  phone TEXT PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  source TEXT NOT NULL,"
    "  campaign_id TEXT);"
    "CREATE TABLE rate_cards ("
    "  id INTEGER PRIMARY KEY,"
    "  currency TEXT NOT NULL,"
    "  effective TEXT NOT NULL," /* YYYY-MM-DD */
    "  file_id INTEGER,"
    "  UNIQUE (currency, effective));"
    "CREATE TABLE rates ("
    "  card_id INTEGER NOT NULL,"
    "  market TEXT NOT NULL,"
    "  marketing INTEGER,"
    "  utility INTEGER,"
    "  authentication INTEGER,"
    "  authentication_intl INTEGER,"
    "  service INTEGER,"
    "  PRIMARY KEY (card_id, market)) WITHOUT ROWID;"
    "CREATE TABLE markets ("
    "  prefix TEXT NOT NULL,"
    "  since TEXT NOT NULL DEFAULT '',"
    "  market TEXT NOT NULL,"
    "  PRIMARY KEY (prefix, since)) WITHOUT ROWID;",
    /* 2: what made import and reconcile faster.
     *  - attempts: the dedupe key becomes a named index rather than a
     *    table constraint, so that a bulk import can drop it and build it
     *    again by sorting (attempts_load.c).  message_id comes first: it
     *    all but decides a comparison on its own, where campaign_id rarely
     *    does, which makes sorting and seeking on the key cheaper (no query
     *    reads it by campaign alone: attempts_recipient serves those).  A
     *    constraint cannot be dropped, so the table is made again.
     *  - fallbacks: the states whose rows are looked up by state
     *    (reconcile's time sweep, the send stage's expiry) get a partial
     *    index each, so that the far more frequent moves between other
     *    states write no index.
     *  - events: an event's identity, to store each once (Meta
     *    redelivers), is an index over wamid + kind + status + callback
     *    data (id for a message) instead of a column copying them into each
     *    row (x'00': absent callback data differs from an empty one); the
     *    events reconcile has not taken yet wait in event_queue, in the
     *    order it takes them, instead of a flag on each row.  A UNIQUE
     *    column cannot be dropped, so the table is made again. */
    "CREATE TABLE attempts_v2 ("
    "  id INTEGER PRIMARY KEY,"
    "  campaign_id TEXT NOT NULL,"
    "  message_id TEXT NOT NULL,"
    "  phone TEXT NOT NULL,"
    "  phone_valid INTEGER NOT NULL DEFAULT 1,"
    "  campaign_name TEXT,"
    "  template_name TEXT NOT NULL,"
    "  template_language TEXT,"
    "  status TEXT NOT NULL,"
    "  error_code INTEGER,"
    "  error_title TEXT,"
    "  attempt INTEGER NOT NULL DEFAULT 1,"
    "  sent_at INTEGER NOT NULL,"
    "  text TEXT,"
    "  vars TEXT,"
    "  header_media_url TEXT,"
    "  url_suffixes TEXT,"
    "  button_payloads TEXT,"
    "  customer_name TEXT,"
    "  file_id INTEGER,"
    "  line INTEGER);"
    "INSERT INTO attempts_v2 SELECT * FROM attempts;"
    "DROP TABLE attempts;"
    "ALTER TABLE attempts_v2 RENAME TO attempts;"
    "CREATE UNIQUE INDEX attempts_key ON attempts (message_id, campaign_id);"
    "CREATE INDEX attempts_recipient ON attempts (campaign_id, phone, attempt, sent_at);"
    "DROP INDEX IF EXISTS fallbacks_state;"
    "CREATE INDEX IF NOT EXISTS fallbacks_delivered ON fallbacks (state) WHERE state = 'utility_delivered';"
    "CREATE INDEX IF NOT EXISTS fallbacks_consented ON fallbacks (state) WHERE state = 'consented';"
    "CREATE INDEX IF NOT EXISTS fallbacks_expired ON fallbacks (state) WHERE state = 'window_expired';"
    "CREATE TABLE events_v2 ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  wamid TEXT,"
    "  status TEXT,"
    "  ts INTEGER,"
    "  recipient TEXT,"
    "  callback TEXT,"
    "  error_code INTEGER,"
    "  error_title TEXT,"
    "  pricing_billable INTEGER,"
    "  pricing_model TEXT,"
    "  pricing_type TEXT,"
    "  pricing_category TEXT,"
    "  from_phone TEXT,"
    "  context_id TEXT,"
    "  msg_type TEXT,"
    "  payload TEXT,"
    "  text TEXT,"
    "  profile_name TEXT,"
    "  file_id INTEGER,"
    "  line INTEGER);"
    "CREATE UNIQUE INDEX events_identity ON events_v2 "
    "  (wamid, kind, coalesce(status, ''), coalesce(callback, x'00'));"
    "INSERT OR IGNORE INTO events_v2 SELECT id, kind, wamid, status, ts, recipient, callback, "
    "  error_code, error_title, pricing_billable, pricing_model, pricing_type, "
    "  pricing_category, from_phone, context_id, msg_type, payload, text, profile_name, "
    "  file_id, line FROM events ORDER BY id;"
    "CREATE TABLE event_queue ("
    "  ts INTEGER NOT NULL,"
    "  id INTEGER NOT NULL,"
    "  PRIMARY KEY (ts, id)) WITHOUT ROWID;"
    "INSERT INTO event_queue (ts, id) SELECT coalesce(ts, 0), id FROM events "
    "  WHERE processed = 0 AND id IN (SELECT id FROM events_v2);"
    "DROP TABLE events;"
    "ALTER TABLE events_v2 RENAME TO events;",
    /* 3: when the request of a send's current try started to go out (the
     * send stage's pre-request mark): a row a dead run left in flight
     * without it never reached the API, and is queued again instead of
     * waiting as 'unknown'. */
    "ALTER TABLE sends ADD COLUMN left_at INTEGER;",
    /* 4: plan stores decisions, not requests.  A fallback keeps the frozen
     * inputs of its messages (fallback_inputs): the version of the
     * marketing template they are built from (template_versions, by the
     * SHA-256 of its catalog JSON, so a later catalog import cannot change
     * a planned message), the permission template's settings
     * (message_settings, shared by every fallback planned with the same
     * ones), and the attempt's values, copied (an import may update the
     * attempt).  The bytes of a message are built from these when it is
     * claimed (the utility template) or when the customer consents (the
     * session parts) and stored in its sends row then; plan's utility row
     * waits 'queued' with an empty body until its claim.  Rows of an
     * earlier release keep the bodies they were stored with. */
    "CREATE TABLE template_versions ("
    "  id INTEGER PRIMARY KEY,"
    "  sha256 TEXT NOT NULL UNIQUE,"
    "  json TEXT NOT NULL);"
    "CREATE TABLE message_settings ("
    "  id INTEGER PRIMARY KEY,"
    "  utility_template TEXT NOT NULL,"
    "  utility_language TEXT NOT NULL,"
    "  utility_params TEXT NOT NULL,"
    "  utility_no_button INTEGER NOT NULL,"
    "  list_button_label TEXT NOT NULL,"
    "  UNIQUE (utility_template, utility_language, utility_params, utility_no_button,"
    "          list_button_label));"
    "CREATE TABLE fallback_inputs ("
    "  fallback_id INTEGER PRIMARY KEY,"
    "  template_version INTEGER NOT NULL,"
    "  settings INTEGER NOT NULL,"
    "  campaign_name TEXT NOT NULL," /* as the permission message names the campaign */
    "  text TEXT,"
    "  vars TEXT,"
    "  header_media_url TEXT,"
    "  url_suffixes TEXT,"
    "  button_payloads TEXT,"
    "  customer_name TEXT);"
    /* plan's scan reads a campaign's attempts in (phone, attempt, sent_at,
     * id) order and, of each, its status, error code and phone check: the
     * recipient index carries them, so the scan reads the index alone and
     * never seeks into the table (bench/bench-plan prints what this costs
     * the import) */
    "DROP INDEX attempts_recipient;"
    "CREATE INDEX attempts_recipient ON attempts (campaign_id, phone, attempt, sent_at, id, "
    "status, error_code, phone_valid);",
    /* 5: spend stops when a campaign does.  A fallback held back (blocked)
     * or stopped (cancelled) says why: a reason code and the words for
     * the operator.  A campaign the operator cancelled is kept apart from
     * its settings, which an import replaces, so that plan never starts it
     * again. */
    "ALTER TABLE fallbacks ADD COLUMN reason TEXT;"
    "ALTER TABLE fallbacks ADD COLUMN reason_detail TEXT;"
    "CREATE TABLE campaign_cancels ("
    "  campaign_id TEXT PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  run_id INTEGER) WITHOUT ROWID;",
    /* 6: what Meta billed (import billing, billing.h).  A data point of a
     * pricing_analytics response is one row, keyed by its bucket and its
     * dimensions ('' when the file was not broken down by one); cost is
     * NULL when Meta gave none (an account on a partner's credit line),
     * never 0.  meta_billing_periods keeps the span each file covered, so
     * a bucket inside one with no rows reads "Meta had nothing" and a
     * bucket outside all of them reads "not fetched". */
    "CREATE TABLE meta_billing ("
    "  id INTEGER PRIMARY KEY,"
    "  waba_id TEXT NOT NULL DEFAULT '',"
    "  bucket_start INTEGER NOT NULL,"
    "  bucket_end INTEGER NOT NULL,"
    "  country TEXT NOT NULL DEFAULT '',"
    "  phone_number TEXT NOT NULL DEFAULT '',"
    "  pricing_category TEXT NOT NULL DEFAULT '',"
    "  pricing_type TEXT NOT NULL DEFAULT '',"
    "  tier TEXT NOT NULL DEFAULT '',"
    "  volume INTEGER NOT NULL,"
    "  cost INTEGER,"
    "  currency TEXT,"
    "  file_id INTEGER,"
    "  UNIQUE (waba_id, bucket_start, bucket_end, country, phone_number, pricing_category,"
    "          pricing_type, tier));"
    "CREATE TABLE meta_billing_periods ("
    "  waba_id TEXT NOT NULL DEFAULT '',"
    "  since INTEGER NOT NULL,"
    "  until INTEGER NOT NULL,"
    "  currency TEXT,"
    "  cost_given INTEGER NOT NULL,"
    "  file_id INTEGER,"
    "  imported_at INTEGER NOT NULL,"
    "  PRIMARY KEY (waba_id, since, until)) WITHOUT ROWID;",
    /* 7: talking to Meta directly.  A template's live state (live_*), set
     * by the catalog import and by newer template webhooks, and the
     * history of those webhooks (message_template_status_update: kind
     * 'status'; template_category_update: kind 'category'). */
    "CREATE TABLE template_events ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  waba_id TEXT,"
    "  meta_id TEXT,"
    "  name TEXT NOT NULL,"
    "  language TEXT NOT NULL,"
    "  event TEXT,"
    "  reason TEXT,"
    "  category TEXT,"
    "  previous_category TEXT,"
    "  new_category TEXT,"
    "  correct_category TEXT,"
    "  effective_at INTEGER,"
    "  detail TEXT,"
    "  ts INTEGER NOT NULL,"
    "  file_id INTEGER,"
    "  line INTEGER);"
    "CREATE UNIQUE INDEX template_events_identity ON template_events"
    "  (coalesce(meta_id, name || '/' || language), kind, coalesce(event, new_category, ''),"
    "   coalesce(correct_category, ''), ts);"
    "ALTER TABLE templates ADD COLUMN live_status TEXT;"
    "ALTER TABLE templates ADD COLUMN live_category TEXT;"
    "ALTER TABLE templates ADD COLUMN live_reason TEXT;"
    "ALTER TABLE templates ADD COLUMN live_at INTEGER;",
    /* 8: the report reads a campaign's fallbacks in id order: this index
     * hands them over in that order (its entries end in the rowid), so a
     * campaign among many is neither sorted nor read whole-table. */
    "CREATE INDEX fallbacks_campaign ON fallbacks (campaign_id);",
};

#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))
_Static_assert(NMIGRATIONS == SUF_SCHEMA_VERSION, "one migration per schema version");

int suf_store_fail(struct suf_store *st, struct suf_err *err, const char *what)
{
    const char *msg = st && st->db ? sqlite3_errmsg(st->db) : "no database";
    int code = st && st->db ? sqlite3_errcode(st->db) : 0;
    int status = code == SQLITE_FULL || code == SQLITE_IOERR ? SUF_ERR_IO : SUF_ERR_DB;

    if (code == SQLITE_READONLY || code == SQLITE_CANTOPEN || code == SQLITE_PERM)
        status = SUF_ERR_CANTCREAT;
    return suf_err_at(err, status, st && st->path ? st->path : "", 0, "%s: %s", what, msg);
}

int suf_store_exec(struct suf_store *st, const char *sql, struct suf_err *err)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return suf_store_fail(st, err, "sql");
    return SUF_OK;
}

sqlite3_stmt *suf_store_prepare(struct suf_store *st, const char *sql, struct suf_err *err)
{
    sqlite3_stmt *s = NULL;

    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        suf_store_fail(st, err, "prepare");
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

int suf_store_begin(struct suf_store *st, struct suf_err *err)
{
    return suf_store_exec(st, "BEGIN IMMEDIATE", err);
}

int suf_store_commit(struct suf_store *st, struct suf_err *err)
{
    return suf_store_exec(st, "COMMIT", err);
}

void suf_store_rollback(struct suf_store *st)
{
    if (st->db && !sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

int suf_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(s, i);
}

int suf_bind_text_static(sqlite3_stmt *s, int i, const char *v)
{
    return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

int suf_bind_int64_or_null(sqlite3_stmt *s, int i, int64_t v, bool is_null)
{
    return is_null ? sqlite3_bind_null(s, i) : sqlite3_bind_int64(s, i, v);
}

int suf_store_scalar(struct suf_store *st, const char *sql, const char *param, int64_t *out,
                     struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(st, sql, err);
    int rc;

    if (!s)
        return SUF_ERR_DB;
    if (param)
        suf_bind_text(s, 1, param);
    rc = sqlite3_step(s);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return suf_store_fail(st, err, "query");
    return SUF_OK;
}

/*
 * Version 1 was released twice: the later one already had attempts_key,
 * events_identity and event_queue (written into migration 1 in place, which
 * the rule above forbids).  Before migration 2, a store of that layout is
 * brought back to the first one's events table (a processed flag, no queue
 * and no identity index), so that one migration serves both; the rest of
 * migration 2 works on either.
 */
static const char v1_events_as_first_sql[] =
    "ALTER TABLE events ADD COLUMN processed INTEGER NOT NULL DEFAULT 1;"
    "UPDATE events SET processed = 0 WHERE id IN (SELECT id FROM event_queue);"
    "DROP TABLE event_queue;"
    "DROP INDEX events_identity;";

static int v1_align(struct suf_store *st, struct suf_err *err)
{
    int64_t first = 0;
    int rc = suf_store_scalar(st,
                              "SELECT count(*) FROM pragma_table_info('events') "
                              "WHERE name = 'processed'",
                              NULL, &first, err);

    if (rc || first)
        return rc;
    return suf_store_exec(st, v1_events_as_first_sql, err);
}

static int migrate(struct suf_store *st, struct suf_err *err)
{
    int64_t version;
    int rc;

    rc = suf_store_scalar(st, "PRAGMA user_version", NULL, &version, err);
    if (rc)
        return rc;
    if (version > SUF_SCHEMA_VERSION)
        return suf_err_at(err, SUF_ERR_DB, st->path, 0,
                          "database schema version %lld is newer than this suf (%d); upgrade suf",
                          (long long)version, SUF_SCHEMA_VERSION);
    while (version < SUF_SCHEMA_VERSION) {
        char pragma[64];

        if ((rc = suf_store_begin(st, err)))
            return rc;
        if ((version == 1 && (rc = v1_align(st, err))) ||
            (rc = suf_store_exec(st, migrations[version], err))) {
            suf_store_rollback(st);
            return rc;
        }
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %lld", (long long)version + 1);
        if ((rc = suf_store_exec(st, pragma, err)) || (rc = suf_store_commit(st, err))) {
            suf_store_rollback(st);
            return rc;
        }
        version++;
    }
    return SUF_OK;
}

bool suf_store_is_wal(struct suf_store *st)
{
    sqlite3_stmt *s;
    bool wal = false;

    if (!st->path || sqlite3_prepare_v2(st->db, "PRAGMA journal_mode", -1, &s, NULL) != SQLITE_OK)
        return false;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        wal = !strcmp((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    return wal;
}

void suf_store_library_init(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* The error for a database file stat(2) could not find, errno still set. */
static int no_database(const char *path, struct suf_err *err)
{
    if (errno == ENOENT)
        return suf_err_set(err, SUF_ERR_NOINPUT,
                           "no database at '%s' (run 'suf init' first)", path);
    return suf_err_at(err, SUF_ERR_NOINPUT, path, 0, "cannot open database: %s",
                      strerror(errno));
}

int suf_store_open(struct suf_store *st, const char *path, int flags, struct suf_err *err)
{
    int oflags, rc;
    struct stat sb;

    st->db = NULL;
    st->lock_fd = -1;
    st->path = suf_xstrdup(path);
    /* Without SUF_STORE_CREATE a missing file is refused before the lock is
     * taken, so not even <database>.lock is left behind by a mistyped path;
     * the second look covers a file removed while we waited for the lock. */
    if (!(flags & SUF_STORE_CREATE) && stat(path, &sb) != 0) {
        rc = no_database(path, err);
        goto fail;
    }
    if ((flags & SUF_STORE_LOCK) && (rc = suf_store_lock(st, err)))
        goto fail;
    if (stat(path, &sb) != 0) {
        if (!(flags & SUF_STORE_CREATE) || errno != ENOENT) {
            rc = no_database(path, err);
            goto fail;
        }
        /* Create the file ourselves so it is 0600 whatever the umask; SQLite
         * gives the -wal and -shm files the same mode. */
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) {
            rc = suf_err_at(err, SUF_ERR_CANTCREAT, path, 0, "cannot create database: %s",
                            strerror(errno));
            goto fail;
        }
        if (fd >= 0)
            close(fd);
    }
    oflags = flags & SUF_STORE_READONLY ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (sqlite3_open_v2(path, &st->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rc = suf_store_fail(st, err, "cannot open database");
        goto fail;
    }
    sqlite3_extended_result_codes(st->db, 0);
    sqlite3_busy_timeout(st->db, 10000);
    if (!(flags & SUF_STORE_READONLY)) {
        if ((rc = suf_store_exec(st, "PRAGMA journal_mode = WAL", err)) ||
            (rc = suf_store_exec(st, "PRAGMA synchronous = NORMAL", err)))
            goto fail;
    }
    if ((rc = suf_store_exec(st, "PRAGMA foreign_keys = ON", err)) ||
        (rc = suf_store_exec(st, "PRAGMA temp_store = MEMORY", err)))
        goto fail;
    if (flags & SUF_STORE_READONLY) {
        int64_t version;
        if ((rc = suf_store_scalar(st, "PRAGMA user_version", NULL, &version, err)))
            goto fail;
        if (version != SUF_SCHEMA_VERSION) {
            rc = suf_err_at(err, SUF_ERR_DB, path, 0,
                            "database schema version %lld, this suf needs %d (run a writing "
                            "command to migrate)",
                            (long long)version, SUF_SCHEMA_VERSION);
            goto fail;
        }
        return SUF_OK;
    }
    if ((rc = migrate(st, err)))
        goto fail;
    return SUF_OK;
fail:
    suf_store_close(st);
    return rc;
}

int suf_store_lock(struct suf_store *st, struct suf_err *err)
{
    char *lockpath = suf_xasprintf("%s.lock", st->path);
    int fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0) {
        int rc = suf_err_at(err, SUF_ERR_CANTCREAT, lockpath, 0, "cannot open lock file: %s",
                            strerror(errno));
        free(lockpath);
        return rc;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int rc = errno == EWOULDBLOCK
                     ? suf_err_at(err, SUF_ERR_LOCKED, lockpath, 0,
                                  "another suf command is running; try again later")
                     : suf_err_at(err, SUF_ERR_IO, lockpath, 0, "cannot lock: %s",
                                  strerror(errno));
        close(fd);
        free(lockpath);
        return rc;
    }
    free(lockpath);
    st->lock_fd = fd;
    return SUF_OK;
}

void suf_store_close(struct suf_store *st)
{
    if (st->db) {
        sqlite3_stmt *s;
        while ((s = sqlite3_next_stmt(st->db, NULL)) != NULL)
            sqlite3_finalize(s);
        sqlite3_close(st->db);
        st->db = NULL;
    }
    if (st->lock_fd >= 0) {
        close(st->lock_fd);
        st->lock_fd = -1;
    }
    free(st->path);
    st->path = NULL;
}

int suf_store_file_register(struct suf_store *st, const char *kind, const char *path,
                            const char *sha256, int64_t size, int64_t run_id, int64_t now,
                            int64_t *file_id, bool *seen, struct suf_err *err)
{
    sqlite3_stmt *s;
    int rc;

    s = suf_store_prepare(st, "SELECT id FROM files WHERE kind = ?1 AND sha256 = ?2", err);
    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, kind);
    suf_bind_text(s, 2, sha256);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *file_id = sqlite3_column_int64(s, 0);
        *seen = true;
        sqlite3_finalize(s);
        return SUF_OK;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return suf_store_fail(st, err, "files");
    *seen = false;
    s = suf_store_prepare(st,
                          "INSERT INTO files (kind, path, sha256, size, imported_at, run_id) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                          err);
    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, kind);
    suf_bind_text(s, 2, path);
    suf_bind_text(s, 3, sha256);
    sqlite3_bind_int64(s, 4, size);
    sqlite3_bind_int64(s, 5, now);
    suf_bind_int64_or_null(s, 6, run_id, run_id <= 0);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return suf_store_fail(st, err, "files");
    *file_id = sqlite3_last_insert_rowid(st->db);
    return SUF_OK;
}

int suf_store_file_counts(struct suf_store *st, int64_t file_id, int64_t rows, int64_t rejects,
                          struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(st, "UPDATE files SET rows = ?1, rejects = ?2 WHERE id = ?3",
                                        err);
    int rc;

    if (!s)
        return SUF_ERR_DB;
    sqlite3_bind_int64(s, 1, rows);
    sqlite3_bind_int64(s, 2, rejects);
    sqlite3_bind_int64(s, 3, file_id);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(st, err, "files");
}

int suf_store_reject(struct suf_store *st, int64_t file_id, const char *file, int64_t line,
                     const char *reason, const char *raw, size_t rawlen, int64_t run_id,
                     struct suf_err *err)
{
    static const size_t cap = 65536;
    sqlite3_stmt *s = suf_store_prepare(st,
                                        "INSERT INTO rejects (file_id, file, line, reason, raw, run_id) "
                                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                        err);
    int rc;

    if (!s)
        return SUF_ERR_DB;
    suf_bind_int64_or_null(s, 1, file_id, file_id <= 0);
    suf_bind_text(s, 2, file);
    sqlite3_bind_int64(s, 3, line);
    suf_bind_text(s, 4, reason);
    /* Raw text may be binary or invalid UTF-8: keep it as a blob, capped. */
    if (raw)
        sqlite3_bind_blob(s, 5, raw, (int)(rawlen < cap ? rawlen : cap), SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, 5);
    suf_bind_int64_or_null(s, 6, run_id, run_id <= 0);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(st, err, "rejects");
}

int suf_store_run_begin(struct suf_store *st, const char *command, const char *args,
                        int64_t started_at, int64_t as_of, int64_t *run_id, struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(st,
                                        "INSERT INTO runs (command, args, started_at, as_of) "
                                        "VALUES (?1, ?2, ?3, ?4)",
                                        err);
    int rc;

    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, command);
    suf_bind_text(s, 2, args);
    sqlite3_bind_int64(s, 3, started_at);
    sqlite3_bind_int64(s, 4, as_of);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return suf_store_fail(st, err, "runs");
    *run_id = sqlite3_last_insert_rowid(st->db);
    return SUF_OK;
}

int suf_store_run_end(struct suf_store *st, int64_t run_id, int64_t ended_at, const char *status,
                      int exit_code, const char *counts_json, const char *message,
                      struct suf_err *err)
{
    sqlite3_stmt *s;
    int rc;

    suf_store_rollback(st); /* never commit half a unit of work with the run row */
    s = suf_store_prepare(st,
                          "UPDATE runs SET ended_at = ?1, status = ?2, exit_code = ?3, "
                          "counts = ?4, message = ?5 WHERE id = ?6",
                          err);
    if (!s)
        return SUF_ERR_DB;
    sqlite3_bind_int64(s, 1, ended_at);
    suf_bind_text(s, 2, status);
    sqlite3_bind_int(s, 3, exit_code);
    suf_bind_text(s, 4, counts_json);
    suf_bind_text(s, 5, message);
    sqlite3_bind_int64(s, 6, run_id);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(st, err, "runs");
}
