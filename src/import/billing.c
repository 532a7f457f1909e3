/*
 * billing.c: the `billing` import kind (see billing.h).
 *
 * A pricing_analytics response is small (one point per bucket and
 * combination of dimensions), so it is loaded whole with jansson, behind a
 * size cap.  The points are checked first and the good ones kept in memory:
 * only then is the span they cover known, and the rows of that span can be
 * replaced by the file's in one go.
 *
 * Costs: jansson turns a JSON number into a double and keeps no text.  The
 * text is recovered as the shortest decimal that reads back as the same
 * double, which is what Meta's serialiser (and any JSON writer of a double)
 * wrote; that text is then parsed as an exact decimal into micros with
 * integers alone (suf_amount_parse).  So 0.0353 is 35300 micros, and a cost
 * with a seventh decimal is refused, not rounded.
 *
 * NEEDSWORK: a hand-written number of 16 or more significant digits whose
 * double is also the double of a shorter decimal (0.03530000000000001)
 * reads as that shorter decimal: a double cannot tell them apart.  No JSON
 * writer of a double produces such text.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/amount.h"
#include "base/log.h"
#include "base/util.h"
#include "import/billing.h"
#include "store/store.h"
#include "base/banned.h"

/* No granularity of pricing_analytics (half hour, day, month) is longer. */
#define MAX_BUCKET_SECONDS (32 * 86400)

/* The dimensions a data point may carry, in the order of the columns. */
enum { DIM_COUNTRY, DIM_PHONE, DIM_CATEGORY, DIM_TYPE, DIM_TIER, NDIMS };

static bool is_country(const char *s)
{
    return strlen(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

static bool is_digits(const char *s, size_t max)
{
    size_t n = strspn(s, "0123456789");

    return n > 0 && n <= max && !s[n];
}

static bool is_phone(const char *s)
{
    return is_digits(s, 20);
}

/* An upper-case enum value such as UTILITY or FREE_CUSTOMER_SERVICE: Meta
 * adds values (MARKETING_LITE), so any such word is taken, and the report
 * shows one it does not know as its own row. */
static bool is_word(const char *s)
{
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");

    return n > 0 && n <= 64 && !s[n];
}

/* "<lower>:<upper>", the upper bound a number or MAX ("0:750000", "0:MAX"). */
static bool is_tier(const char *s)
{
    const char *colon = strchr(s, ':');
    char lower[24];

    if (!colon || (size_t)(colon - s) >= sizeof(lower))
        return false;
    memcpy(lower, s, (size_t)(colon - s));
    lower[colon - s] = '\0';
    return is_digits(lower, 20) && (is_digits(colon + 1, 20) || !strcmp(colon + 1, "MAX"));
}

static const struct dimension {
    const char *key;
    bool (*valid)(const char *);
    const char *what; /* what a valid value is, for the reason */
} dims[NDIMS] = {
    {"country", is_country, "a two-letter country code"},
    {"phone_number", is_phone, "a phone number in digits"},
    {"pricing_category", is_word, "an upper-case pricing category such as UTILITY"},
    {"pricing_type", is_word, "an upper-case pricing type such as REGULAR"},
    {"tier", is_tier, "a tier such as 0:750000 or 0:MAX"},
};

/* One checked data point; `dim` points into the parsed JSON. */
struct point {
    int64_t start, end, volume, cost;
    bool cost_given;
    const char *dim[NDIMS];
    size_t group, index;
    const json_t *json;
};

/* The file's envelope: the account, its currency, the points' array, and
 * the span asked when the file says (a reply kept by the API fetch). */
struct response {
    const char *waba_id;  /* "" when the file does not say */
    const char *currency; /* NULL when the file does not say */
    const json_t *data;
    bool asked;
    int64_t since, until; /* the span asked, when `asked` */
};

/* The shortest decimal text that reads back as `d` (see the top). */
static void shortest_text(double d, char *buf, size_t size)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

int suf_billing_cost(const json_t *cost, int64_t *micros, bool *given, char *why, size_t whysize)
{
    char text[64];
    double d;

    *given = false;
    if (!cost || json_is_null(cost))
        return SUF_OK;
    if (json_is_integer(cost)) {
        json_int_t v = json_integer_value(cost);

        if (v < 0 || v > INT64_MAX / SUF_MICROS_PER_UNIT) {
            snprintf(why, whysize, "cost '%lld' is %s", (long long)v,
                     v < 0 ? "negative" : "too large");
            return SUF_ERR_INPUT;
        }
        *micros = (int64_t)v * SUF_MICROS_PER_UNIT;
        *given = true;
        return SUF_OK;
    }
    if (!json_is_real(cost)) {
        snprintf(why, whysize, "cost is not a number");
        return SUF_ERR_INPUT;
    }
    d = json_real_value(cost);
    shortest_text(d, text, sizeof(text));
    if (!isfinite(d) || d < 0 || d >= 9e12) {
        snprintf(why, whysize, "cost '%s' is %s", text, d < 0 ? "negative" : "too large");
        return SUF_ERR_INPUT;
    }
    for (int places = 0; places <= 6; places++) {
        snprintf(text, sizeof(text), "%.*f", places, d);
        if (strtod(text, NULL) == d && suf_amount_parse(text, micros) == SUF_OK) {
            *given = true;
            return SUF_OK;
        }
    }
    shortest_text(d, text, sizeof(text));
    snprintf(why, whysize, "cost '%s' has more than 6 decimals", text);
    return SUF_ERR_INPUT;
}

/* A unix time field of a point: a non-negative JSON integer. */
static int time_field(const json_t *p, const char *key, int64_t *out, char *why, size_t size)
{
    const json_t *v = json_object_get(p, key);

    if (!v) {
        snprintf(why, size, "has no '%s'", key);
        return SUF_ERR_INPUT;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(why, size, "'%s' is not a unix time in whole seconds", key);
        return SUF_ERR_INPUT;
    }
    *out = (int64_t)json_integer_value(v);
    return SUF_OK;
}

static int check_volume(const json_t *p, int64_t *out, char *why, size_t size)
{
    const json_t *v = json_object_get(p, "volume");
    char *text;

    if (!v) {
        snprintf(why, size, "has no 'volume'");
        return SUF_ERR_INPUT;
    }
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (int64_t)json_integer_value(v);
        return SUF_OK;
    }
    text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(why, size, "volume '%.40s' is not a non-negative integer", text ? text : "?");
    free(text);
    return SUF_ERR_INPUT;
}

/* Every member is a metric, the bucket, or a known dimension with a valid
 * value; a field suf does not know could be a dimension it would merge. */
static int check_dimensions(const json_t *p, struct point *pt, char *why, size_t size)
{
    const char *key;
    const json_t *v;

    json_object_foreach((json_t *)(uintptr_t)p, key, v) {
        size_t d;

        if (!strcmp(key, "start") || !strcmp(key, "end") || !strcmp(key, "volume") ||
            !strcmp(key, "cost"))
            continue;
        for (d = 0; d < NDIMS && strcmp(key, dims[d].key); d++)
            ;
        if (d == NDIMS) {
            snprintf(why, size, "unknown dimension '%.40s'", key);
            return SUF_ERR_INPUT;
        }
        if (!json_is_string(v) || !dims[d].valid(json_string_value(v))) {
            char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

            snprintf(why, size, "%s '%.40s' is not %s", key, text ? text : "?", dims[d].what);
            free(text);
            return SUF_ERR_INPUT;
        }
        pt->dim[d] = json_string_value(v);
    }
    return SUF_OK;
}

/* Fills `pt` from the data point `p`, or writes why it is not usable. */
static int check_point(const json_t *p, struct point *pt, char *why, size_t size)
{
    for (size_t d = 0; d < NDIMS; d++)
        pt->dim[d] = "";
    if (!json_is_object(p)) {
        snprintf(why, size, "is not an object");
        return SUF_ERR_INPUT;
    }
    if (time_field(p, "start", &pt->start, why, size) ||
        time_field(p, "end", &pt->end, why, size))
        return SUF_ERR_INPUT;
    if (pt->start >= pt->end) {
        snprintf(why, size, "start %lld is not before end %lld", (long long)pt->start,
                 (long long)pt->end);
        return SUF_ERR_INPUT;
    }
    if (pt->end - pt->start > MAX_BUCKET_SECONDS) {
        snprintf(why, size, "bucket of %lld seconds is longer than a month",
                 (long long)(pt->end - pt->start));
        return SUF_ERR_INPUT;
    }
    if (check_volume(p, &pt->volume, why, size))
        return SUF_ERR_INPUT;
    if (suf_billing_cost(json_object_get(p, "cost"), &pt->cost, &pt->cost_given, why, size))
        return SUF_ERR_INPUT;
    return check_dimensions(p, pt, why, size);
}

static int reject_at(struct suf_import_file *f, size_t group, size_t index, bool in_group,
                     const json_t *what, const char *reason, struct suf_err *err)
{
    char text[320];
    char *raw = json_dumps(what, JSON_COMPACT | JSON_ENCODE_ANY);
    int rc;

    if (in_group)
        snprintf(text, sizeof(text), "data[%zu].data_points[%zu]: %s", group, index, reason);
    else
        snprintf(text, sizeof(text), "data[%zu]: %s", group, reason);
    rc = suf_import_reject(f, 0, text, raw ? raw : "", raw ? strlen(raw) : 0, err);
    free(raw);
    return rc;
}

/* Checks every point of every group; the good ones go to *out (the caller
 * frees it), the bad ones to `rejects`. */
static int collect(struct suf_import_file *f, const json_t *data, struct point **out,
                   size_t *n, struct suf_err *err)
{
    const json_t *group, *p;
    size_t g, i, alloc = 0;
    char why[256];
    int rc = SUF_OK;

    *out = NULL;
    *n = 0;
    json_array_foreach(data, g, group) {
        const json_t *points = json_object_get(group, "data_points");

        if (!json_is_array(points)) {
            f->rows++;
            rc = reject_at(f, g, 0, false, group, "has no \"data_points\" array", err);
            if (rc)
                return rc;
            continue;
        }
        json_array_foreach(points, i, p) {
            struct point pt;

            f->rows++;
            memset(&pt, 0, sizeof(pt));
            if (check_point(p, &pt, why, sizeof(why))) {
                if ((rc = reject_at(f, g, i, true, p, why, err)))
                    return rc;
                continue;
            }
            pt.group = g;
            pt.index = i;
            pt.json = p;
            if (*n == alloc) {
                alloc = alloc ? 2 * alloc : 64;
                *out = suf_xrealloc(*out, alloc * sizeof(**out));
            }
            (*out)[(*n)++] = pt;
        }
    }
    return rc;
}

/* Removes the account's rows inside [since, until): the file replaces them. */
static int clear_span(struct suf_import_file *f, const struct response *r, int64_t since,
                      int64_t until, struct suf_err *err)
{
    static const char sql[] = "DELETE FROM meta_billing WHERE waba_id = ?1"
                              " AND bucket_start >= ?2 AND bucket_end <= ?3";
    sqlite3_stmt *s = suf_store_prepare(f->run->store, sql, err);
    int rc = SUF_OK;

    if (!s)
        return err ? err->status : SUF_ERR_DB;
    if (suf_bind_text(s, 1, r->waba_id) || sqlite3_bind_int64(s, 2, since) != SQLITE_OK ||
        sqlite3_bind_int64(s, 3, until) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
        rc = suf_store_fail(f->run->store, err, "clear billed span");
    sqlite3_finalize(s);
    return rc;
}

/* Inserts one point; *dup is set when an earlier point of the file had the
 * same bucket and dimensions (nothing else can be there: clear_span ran). */
static int insert_point(struct suf_import_file *f, sqlite3_stmt *s, const struct response *r,
                        const struct point *pt, bool *dup, struct suf_err *err)
{
    int bad;

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    bad = suf_bind_text(s, 1, r->waba_id) || sqlite3_bind_int64(s, 2, pt->start) ||
          sqlite3_bind_int64(s, 3, pt->end);
    for (int d = 0; d < NDIMS && !bad; d++)
        bad = suf_bind_text(s, 4 + d, pt->dim[d]);
    if (bad || sqlite3_bind_int64(s, 9, pt->volume) ||
        suf_bind_int64_or_null(s, 10, pt->cost, !pt->cost_given) ||
        suf_bind_text(s, 11, r->currency) || sqlite3_bind_int64(s, 12, f->file_id) ||
        sqlite3_step(s) != SQLITE_DONE)
        return suf_store_fail(f->run->store, err, "store billed point");
    *dup = sqlite3_changes(f->run->store->db) == 0;
    return SUF_OK;
}

static int record_period(struct suf_import_file *f, const struct response *r, int64_t since,
                         int64_t until, bool cost_given, struct suf_err *err)
{
    static const char sql[] =
        "INSERT INTO meta_billing_periods (waba_id, since, until, currency, cost_given,"
        " file_id, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        " ON CONFLICT (waba_id, since, until) DO UPDATE SET currency = excluded.currency,"
        " cost_given = excluded.cost_given, file_id = excluded.file_id,"
        " imported_at = excluded.imported_at";
    sqlite3_stmt *s = suf_store_prepare(f->run->store, sql, err);
    int rc = SUF_OK;

    if (!s)
        return err ? err->status : SUF_ERR_DB;
    if (suf_bind_text(s, 1, r->waba_id) || sqlite3_bind_int64(s, 2, since) ||
        sqlite3_bind_int64(s, 3, until) || suf_bind_text(s, 4, r->currency) ||
        sqlite3_bind_int(s, 5, cost_given) || sqlite3_bind_int64(s, 6, f->file_id) ||
        sqlite3_bind_int64(s, 7, suf_run_now(f->run)) || sqlite3_step(s) != SQLITE_DONE)
        rc = suf_store_fail(f->run->store, err, "store billed period");
    sqlite3_finalize(s);
    return rc;
}

/* Replaces the span asked and the span the good points cover (either may
 * be missing, not both) with the points, and records it. */
static int store_points(struct suf_import_file *f, const struct response *r,
                        const struct point *pts, size_t n, struct suf_err *err)
{
    static const char sql[] =
        "INSERT INTO meta_billing (waba_id, bucket_start, bucket_end, country, phone_number,"
        " pricing_category, pricing_type, tier, volume, cost, currency, file_id)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        " ON CONFLICT DO NOTHING";
    int64_t since = r->asked ? r->since : pts[0].start, until = r->asked ? r->until : pts[0].end;
    bool all_cost = true, dup = false;
    sqlite3_stmt *s;
    int rc;

    /* Meta's days may be the account's, not UTC's: a bucket can start before
     * the span asked, and it is then covered too */
    for (size_t i = 0; i < n; i++) {
        since = pts[i].start < since ? pts[i].start : since;
        until = pts[i].end > until ? pts[i].end : until;
    }
    if ((rc = clear_span(f, r, since, until, err)))
        return rc;
    if (!(s = suf_store_prepare(f->run->store, sql, err)))
        return err ? err->status : SUF_ERR_DB;
    for (size_t i = 0; i < n && !rc; i++) {
        rc = insert_point(f, s, r, &pts[i], &dup, err);
        if (!rc && dup)
            rc = reject_at(f, pts[i].group, pts[i].index, true, pts[i].json,
                           "repeats the bucket and dimensions of an earlier data point", err);
        else if (!rc)
            all_cost = all_cost && pts[i].cost_given;
    }
    sqlite3_finalize(s);
    if (!rc)
        rc = record_period(f, r, since, until, all_cost, err);
    return rc;
}

/* The span asked, {"since": S, "until": U} in unix seconds, when the file
 * carries one. */
static int read_asked(struct suf_import_file *f, const json_t *asked, struct response *r,
                      struct suf_err *err)
{
    const json_t *since = json_object_get(asked, "since"), *until = json_object_get(asked, "until");

    if (!asked)
        return SUF_OK;
    if (!json_is_object(asked) || json_object_size(asked) != 2 || !json_is_integer(since) ||
        !json_is_integer(until) || json_integer_value(since) < 0 ||
        json_integer_value(since) >= json_integer_value(until))
        return suf_err_at(err, SUF_ERR_INPUT, f->path, 0,
                          "\"asked\" is not a span {\"since\": S, \"until\": U} in unix "
                          "seconds with S before U");
    r->asked = true;
    r->since = (int64_t)json_integer_value(since);
    r->until = (int64_t)json_integer_value(until);
    return SUF_OK;
}

/* Finds the envelope's parts, or says why the file is not a response. */
static int read_envelope(struct suf_import_file *f, const json_t *root, struct response *r,
                         struct suf_err *err)
{
    const json_t *pa = json_object_get(root, "pricing_analytics");
    const json_t *id = json_object_get(root, "id"), *cur = json_object_get(root, "currency");

    if (!json_is_object(root))
        return suf_err_at(err, SUF_ERR_INPUT, f->path, 0,
                          "not a pricing_analytics response: not a JSON object");
    if (pa && !json_is_object(pa))
        return suf_err_at(err, SUF_ERR_INPUT, f->path, 0,
                          "not a pricing_analytics response: \"pricing_analytics\" is not an "
                          "object");
    if (!pa)
        pa = root;
    r->data = json_object_get(pa, "data");
    if (!json_is_array(r->data))
        return suf_err_at(err, SUF_ERR_INPUT, f->path, 0,
                          "not a pricing_analytics response: no \"data\" array");
    if (json_object_get(json_object_get(pa, "paging"), "next"))
        return suf_err_at(err, SUF_ERR_INPUT, f->path, 0,
                          "the response has more pages (paging.next), which suf does not "
                          "follow: fetch shorter periods");
    if (id && !(json_is_string(id) && is_digits(json_string_value(id), 32)))
        return suf_err_at(err, SUF_ERR_INPUT, f->path, 0,
                          "\"id\" is not an account id in digits");
    if (cur && !(json_is_string(cur) && strlen(json_string_value(cur)) == 3 &&
                 is_word(json_string_value(cur))))
        return suf_err_at(err, SUF_ERR_INPUT, f->path, 0,
                          "\"currency\" is not a currency code such as USD");
    r->waba_id = id ? json_string_value(id) : "";
    r->currency = cur ? json_string_value(cur) : NULL;
    return read_asked(f, json_object_get(root, "asked"), r, err);
}

int suf_import_billing(struct suf_import_file *f, FILE *in, struct suf_err *err)
{
    struct response r = {"", NULL, NULL, false, 0, 0};
    struct point *pts = NULL;
    json_error_t jerr;
    json_t *root;
    size_t n = 0;
    int rc;

    if (f->size > SUF_BILLING_MAX_BYTES)
        return suf_err_at(err, SUF_ERR_INPUT, f->path, 0,
                          "billing file of %lld bytes is over the %ld-byte limit",
                          (long long)f->size, SUF_BILLING_MAX_BYTES);
    root = json_loadf(in, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return suf_err_at(err, SUF_ERR_INPUT, f->path, jerr.line > 0 ? jerr.line : 0,
                          "not a pricing_analytics response: %s (column %d)", jerr.text,
                          jerr.column);
    rc = read_envelope(f, root, &r, err);
    if (!rc)
        rc = collect(f, r.data, &pts, &n, err);
    /* a span asked with no data point at all is Meta saying "nothing":
     * recorded; rejects alone say nothing sure */
    if (!rc && (n || (r.asked && !f->rejects)))
        rc = store_points(f, &r, pts, n, err);
    else if (!rc)
        suf_info("%s: no usable data point: nothing stored, no period recorded", f->path);
    free(pts);
    json_decref(root);
    return rc;
}
