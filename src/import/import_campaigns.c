/*
 * import_campaigns.c: campaign settings (CSV) into `campaigns`.
 *
 * The header is exactly DESIGN.md's (case-insensitive):
 *   campaign_id,name,fallback,max_auto_retries,retry_interval_hours,
 *   valid_until,utility_template,utility_language
 * An empty cell is stored as NULL and means "the config default", like a
 * campaign with no row.  fallback takes on/off, true/false, yes/no or 1/0;
 * valid_until any time suf_time_parse reads.  A row for a campaign seen
 * before replaces its settings.  Bad rows go to `rejects`; a file with
 * another header is a hard error and nothing of it is kept.
 */
#include <string.h>

#include "base/timeutil.h"
#include "base/util.h"
#include "import/csvread.h"
#include "import/import.h"
#include "store/store.h"
#include "base/banned.h"

enum { K_ID, K_NAME, K_FALLBACK, K_RETRIES, K_INTERVAL, K_VALID, K_TEMPLATE, K_LANGUAGE, NKEYS };

static const char *const header[NKEYS] = {
    "campaign_id",      "name",     "fallback",         "max_auto_retries", "retry_interval_hours",
    "valid_until",      "utility_template", "utility_language"};

static const char upsert_sql[] =
    "INSERT INTO campaigns (campaign_id, name, fallback, max_auto_retries, "
    "  retry_interval_hours, valid_until, utility_template, utility_language, file_id, "
    "  updated_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
    "ON CONFLICT (campaign_id) DO UPDATE SET name = excluded.name, "
    "  fallback = excluded.fallback, max_auto_retries = excluded.max_auto_retries, "
    "  retry_interval_hours = excluded.retry_interval_hours, "
    "  valid_until = excluded.valid_until, utility_template = excluded.utility_template, "
    "  utility_language = excluded.utility_language, file_id = excluded.file_id, "
    "  updated_at = excluded.updated_at";

struct cctx {
    struct suf_import_file *f;
    struct suf_err *err;
    sqlite3_stmt *upsert;
    bool header_seen;
};

struct settings {
    const char *v[NKEYS];
    int fallback; /* -1: default */
    int64_t retries, interval, valid_until;
};

static const char *value(const struct suf_csv_record *rec, int k)
{
    char *s = suf_trim(rec->fields[k]);
    return *s ? s : NULL;
}

/* on/off, true/false, yes/no, 1/0 (any case); -1 for anything else. */
static int parse_bool(const char *s)
{
    static const char *const yes[] = {"on", "true", "yes", "1", NULL};
    static const char *const no[] = {"off", "false", "no", "0", NULL};

    for (int i = 0; yes[i]; i++) {
        if (suf_streq_fold(s, yes[i]))
            return 1;
        if (suf_streq_fold(s, no[i]))
            return 0;
    }
    return -1;
}

static int parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    return suf_parse_i64(s, out) || *out < lo || *out > hi ? SUF_ERR_INPUT : SUF_OK;
}

static int parse_settings(const struct suf_csv_record *rec, struct settings *st, char *why,
                          size_t wsize)
{
    const char *reason = NULL;

    if (rec->error) {
        suf_csv_reason(rec, why, wsize);
        return SUF_ERR_INPUT;
    }
    for (int k = 0; k < NKEYS; k++)
        st->v[k] = value(rec, k);
    if (!st->v[K_ID]) {
        snprintf(why, wsize, "missing required field 'campaign_id'");
        return SUF_ERR_INPUT;
    }
    st->fallback = -1;
    if (st->v[K_FALLBACK] && (st->fallback = parse_bool(st->v[K_FALLBACK])) < 0) {
        snprintf(why, wsize, "fallback '%.40s' is not on/off, true/false, yes/no or 1/0",
                 st->v[K_FALLBACK]);
        return SUF_ERR_INPUT;
    }
    if (st->v[K_RETRIES] && parse_int(st->v[K_RETRIES], 0, 10, &st->retries)) {
        snprintf(why, wsize, "max_auto_retries '%.40s' is not a number from 0 to 10",
                 st->v[K_RETRIES]);
        return SUF_ERR_INPUT;
    }
    if (st->v[K_INTERVAL] && parse_int(st->v[K_INTERVAL], 0, 720, &st->interval)) {
        snprintf(why, wsize, "retry_interval_hours '%.40s' is not a number from 0 to 720",
                 st->v[K_INTERVAL]);
        return SUF_ERR_INPUT;
    }
    if (st->v[K_VALID] && suf_time_parse(st->v[K_VALID], &st->valid_until, &reason)) {
        snprintf(why, wsize, "unparseable time '%.40s' in valid_until: %s", st->v[K_VALID],
                 reason);
        return SUF_ERR_INPUT;
    }
    return SUF_OK;
}

static int store_settings(struct cctx *c, const struct settings *st)
{
    sqlite3_stmt *s = c->upsert;
    int rc;

    suf_bind_text(s, 1, st->v[K_ID]);
    suf_bind_text(s, 2, st->v[K_NAME]);
    suf_bind_int64_or_null(s, 3, st->fallback, st->fallback < 0);
    suf_bind_int64_or_null(s, 4, st->retries, !st->v[K_RETRIES]);
    suf_bind_int64_or_null(s, 5, st->interval, !st->v[K_INTERVAL]);
    suf_bind_int64_or_null(s, 6, st->valid_until, !st->v[K_VALID]);
    suf_bind_text(s, 7, st->v[K_TEMPLATE]);
    suf_bind_text(s, 8, st->v[K_LANGUAGE]);
    sqlite3_bind_int64(s, 9, c->f->file_id);
    sqlite3_bind_int64(s, 10, suf_run_now(c->f->run));
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(c->f->run->store, c->err, "campaigns");
}

static int check_header(struct cctx *c, const struct suf_csv_record *rec)
{
    bool ok = !rec->error && rec->nfields == NKEYS;

    for (int k = 0; ok && k < NKEYS; k++)
        ok = suf_streq_fold(suf_trim(rec->fields[k]), header[k]);
    if (!ok)
        return suf_err_at(c->err, SUF_ERR_INPUT, c->f->path, rec->line,
                          "not a campaign settings file: the header must be "
                          "'campaign_id,name,fallback,max_auto_retries,retry_interval_hours,"
                          "valid_until,utility_template,utility_language'");
    c->header_seen = true;
    return SUF_OK;
}

static int on_record(void *vc, const struct suf_csv_record *rec)
{
    struct cctx *c = vc;
    struct settings st;
    char why[256];

    if (rec->index == 0)
        return check_header(c, rec);
    c->f->rows++;
    memset(&st, 0, sizeof(st));
    if (parse_settings(rec, &st, why, sizeof(why)))
        return suf_import_reject(c->f, rec->line, why, rec->raw, rec->rawlen, c->err);
    return store_settings(c, &st);
}

int suf_import_campaigns(struct suf_import_file *f, FILE *in, struct suf_err *err)
{
    struct suf_csv_opts opts = SUF_CSV_OPTS_INIT;
    struct cctx c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.f = f;
    c.err = err;
    c.upsert = suf_store_prepare(f->run->store, upsert_sql, err);
    if (!c.upsert)
        return SUF_ERR_DB;
    rc = suf_csv_read(in, f->path, &opts, on_record, &c, err);
    if (!rc && !c.header_seen)
        rc = suf_err_at(err, SUF_ERR_INPUT, f->path, 0,
                        "not a campaign settings file: empty file");
    sqlite3_finalize(c.upsert);
    return rc;
}
