/*
 * import_templates.c: the `templates` import kind (see templates.h).
 *
 * A catalog page is small (Meta pages hold at most a few hundred entries),
 * so it is loaded whole with jansson, behind a size cap that keeps a wrong
 * file from eating memory.  Every entry is kept as Meta sent it (compact
 * JSON): what the plan and the builders make of it can change without
 * re-importing anything.  The entry's status and category (and its
 * rejected_reason) are also its live state (templates.live_*), as of the
 * page's time (when it was saved, not after the run's time): the newest
 * word on the template until a later webhook says more, and no word at all
 * when a webhook newer than the page already spoke.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "base/log.h"
#include "base/util.h"
#include "import/templates.h"
#include "store/store.h"
#include "base/banned.h"

static const char *member(const json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));

    return v && *v ? v : NULL;
}

static int reject_entry(struct suf_import_file *f, size_t index, const json_t *entry,
                        const char *what, struct suf_err *err)
{
    char reason[160];
    char *raw = json_dumps(entry, JSON_COMPACT | JSON_ENCODE_ANY);
    int rc;

    snprintf(reason, sizeof(reason), "template data[%zu] %s", index, what);
    rc = suf_import_reject(f, 0, reason, raw ? raw : "", raw ? strlen(raw) : 0, err);
    free(raw);
    return rc;
}

static int upsert(struct suf_import_file *f, sqlite3_stmt *s, const json_t *entry,
                  int64_t as_of, struct suf_err *err)
{
    char *json = json_dumps(entry, JSON_COMPACT);
    int rc = SUF_OK;

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (!json)
        return suf_err_at(err, SUF_ERR_INTERNAL, f->path, 0, "cannot re-serialise an entry");
    if (suf_bind_text(s, 1, member(entry, "name")) ||
        suf_bind_text(s, 2, member(entry, "language")) ||
        suf_bind_text(s, 3, member(entry, "status")) ||
        suf_bind_text(s, 4, member(entry, "category")) ||
        suf_bind_text(s, 5, member(entry, "id")) || suf_bind_text(s, 6, json) ||
        sqlite3_bind_int64(s, 7, f->file_id) != SQLITE_OK ||
        sqlite3_bind_int64(s, 8, suf_run_now(f->run)) != SQLITE_OK ||
        suf_bind_text(s, 9, member(entry, "rejected_reason")) ||
        sqlite3_bind_int64(s, 10, as_of) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
        rc = suf_store_fail(f->run->store, err, "store template");
    free(json);
    return rc;
}

/* The page says no less recent a word than the template's live state. */
#define FRESHER "live_at IS NULL OR live_at <= excluded.live_at"

static int import_entries(struct suf_import_file *f, const json_t *data, int64_t as_of,
                          struct suf_err *err)
{
    static const char sql[] =
        "INSERT INTO templates (name, language, status, category, meta_id, json, file_id,"
        " updated_at, live_status, live_category, live_reason, live_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?3, ?4, ?9, ?10)"
        " ON CONFLICT (name, language) DO UPDATE SET status = excluded.status,"
        " category = excluded.category, meta_id = excluded.meta_id, json = excluded.json,"
        " file_id = excluded.file_id, updated_at = excluded.updated_at,"
        /* the live state only when the page is not older than it: a page
         * saved before a webhook paused the template must not approve it */
        " live_status = iif(" FRESHER ", excluded.live_status, live_status),"
        " live_category = iif(" FRESHER ", excluded.live_category, live_category),"
        " live_reason = iif(" FRESHER ", excluded.live_reason, live_reason),"
        " live_at = iif(" FRESHER ", excluded.live_at, live_at)";
    sqlite3_stmt *s = suf_store_prepare(f->run->store, sql, err);
    const json_t *entry;
    size_t i;
    int rc = SUF_OK;

    if (!s)
        return err ? err->status : SUF_ERR_DB;
    json_array_foreach(data, i, entry) {
        f->rows++;
        if (!json_is_object(entry))
            rc = reject_entry(f, i, entry, "is not an object", err);
        else if (!member(entry, "name"))
            rc = reject_entry(f, i, entry, "has no 'name'", err);
        else if (!member(entry, "language"))
            rc = reject_entry(f, i, entry, "has no 'language'", err);
        else
            rc = upsert(f, s, entry, as_of, err);
        if (rc)
            break;
    }
    sqlite3_finalize(s);
    return rc;
}

/* A page saved by hand, or one the meta stage fetched (`api`): the same
 * import, but a fetched page is not told to fetch its next page. */
static int import_catalog(struct suf_import_file *f, FILE *in, bool api, struct suf_err *err)
{
    struct stat sb;
    json_error_t jerr;
    json_t *root, *data;
    int64_t as_of;
    int rc;

    if (fstat(fileno(in), &sb) == 0 && sb.st_size > SUF_TEMPLATES_MAX_BYTES)
        return suf_err_at(err, SUF_ERR_INPUT, f->path, 0,
                          "template catalog of %lld bytes is over the %ld-byte limit",
                          (long long)sb.st_size, SUF_TEMPLATES_MAX_BYTES);
    root = json_loadf(in, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return suf_err_at(err, SUF_ERR_INPUT, f->path, jerr.line > 0 ? jerr.line : 0,
                          "not a template catalog: %s (column %d)", jerr.text, jerr.column);
    data = json_object_get(root, "data");
    if (!json_is_array(data)) {
        json_decref(root);
        return suf_err_at(err, SUF_ERR_INPUT, f->path, 0,
                          "not a template catalog: no \"data\" array");
    }
    /* What the page says is as of when it was saved (a fetched page: now),
     * never later than the run's time */
    as_of = suf_run_now(f->run);
    if (fstat(fileno(in), &sb) == 0 && (int64_t)sb.st_mtime < as_of)
        as_of = (int64_t)sb.st_mtime;
    rc = import_entries(f, data, as_of, err);
    if (!rc && !api && json_is_string(json_object_get(json_object_get(root, "paging"), "next")))
        suf_info("%s: the catalog has more pages (paging.next); import them too", f->path);
    json_decref(root);
    return rc;
}

int suf_import_templates(struct suf_import_file *f, FILE *in, struct suf_err *err)
{
    return import_catalog(f, in, false, err);
}

int suf_import_templates_api(struct suf_import_file *f, FILE *in, struct suf_err *err)
{
    return import_catalog(f, in, true, err);
}
