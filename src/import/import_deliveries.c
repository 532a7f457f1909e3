/*
 * import_deliveries.c: broadcast delivery exports into `attempts`.
 *
 * Each row of an export is one send attempt of one broadcast message.  The
 * columns are found by header name through the alias table below (DESIGN.md,
 * Inputs, 1), so exports from different tools import without editing.  A row
 * that cannot be used goes to `rejects` with its line, reason and raw text,
 * and the import goes on.  A file whose header is unusable (binary, empty,
 * required columns missing) is a hard error: nothing of it is kept.
 *
 * What a stored attempt holds (the contract with the plan):
 *  - phone: E.164 digits.  A number that is a number but cannot be E.164
 *    (too short or too long) is kept with phone_valid = 0 and its digits, so
 *    the plan can exclude the recipient as invalid_phone; anything else that
 *    is not a phone is rejected;
 *  - status: sent, delivered, read, failed or pending (accepted, queued and
 *    pending all mean in flight);
 *  - attempt: the export's number, or 0 when the export has none (the plan
 *    then orders attempts by sent_at);
 *  - vars, url_suffixes, button_payloads: JSON arrays indexed from 0 for
 *    {{1}}, URL button 1, quick reply 1; an empty cell is null (a value the
 *    export does not have); trailing nulls dropped; NULL when all are empty.
 * An attempt seen again (same campaign_id and message_id), in this file or
 * another, updates the stored row: rows are never duplicated.  How the rows
 * go in (upserts, or a bulk load with the indexes built afterwards) is
 * attempts_load.c's business.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/log.h"
#include "base/phone.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/util.h"
#include "import/attempts_load.h"
#include "import/csvread.h"
#include "import/import.h"
#include "base/banned.h"

enum col {
    C_CAMPAIGN_ID,
    C_CAMPAIGN_NAME,
    C_MESSAGE_ID,
    C_PHONE,
    C_TEMPLATE,
    C_LANGUAGE,
    C_STATUS,
    C_ERROR_CODE,
    C_ERROR_TITLE,
    C_ATTEMPT,
    C_SENT_AT,
    C_TEXT,
    C_PARAMS,
    C_MEDIA,
    C_BUTTON_PARAM,
    C_CUSTOMER_NAME,
    NCOLS
};

struct colspec {
    bool required;
    const char *const names[8]; /* header keys (see suf_csv_header_key); [0] is ours */
};

static const struct colspec cols[NCOLS] = {
    [C_CAMPAIGN_ID] = {true, {"campaign_id", "campaign", "broadcast_id", "broadcast", NULL}},
    [C_CAMPAIGN_NAME] = {false, {"campaign_name", "broadcast_name", NULL}},
    [C_MESSAGE_ID] = {true, {"message_id", "wamid", "whatsapp_message_id", "msg_id", NULL}},
    [C_PHONE] = {true, {"phone", "customer_phone", "to", "recipient", "wa_id", "mobile",
                        "phone_number", NULL}},
    [C_TEMPLATE] = {true, {"template_name", "template", NULL}},
    [C_LANGUAGE] = {false, {"template_language", "language", "lang", NULL}},
    [C_STATUS] = {true, {"status", "message_state", "state", "message_status", NULL}},
    [C_ERROR_CODE] = {false, {"error_code", "failure_code", NULL}},
    [C_ERROR_TITLE] = {false, {"error_title", "failure_reason", "error", NULL}},
    [C_ATTEMPT] = {false, {"attempt", "retry", "attempt_no", NULL}},
    [C_SENT_AT] = {true, {"sent_at", "timestamp", "message_sent_time", "sent_time", NULL}},
    [C_TEXT] = {false, {"text", "message_text", "rendered_body", NULL}},
    [C_PARAMS] = {false, {"params", "variables", NULL}},
    [C_MEDIA] = {false, {"header_media_url", "media_url", NULL}},
    [C_BUTTON_PARAM] = {false, {"button_param", NULL}},
    [C_CUSTOMER_NAME] = {false, {"customer_name", "name", "profile_name", NULL}},
};

#define MAX_VARS 32
#define MAX_SUFFIXES 2
#define MAX_PAYLOADS 10

/* Numbered columns: prefix, and where they go. */
enum numbered { N_VAR, N_SUFFIX, N_PAYLOAD };
static const struct {
    const char *prefix;
    enum numbered kind;
} numbered_cols[] = {
    {"var", N_VAR},           {"body", N_VAR},
    {"variable", N_VAR},      {"url_suffix", N_SUFFIX},
    {"button_payload", N_PAYLOAD}, {"qr_payload", N_PAYLOAD},
};

struct dctx {
    struct suf_import_file *f;
    struct suf_err *err;
    struct suf_attempts_load load;
    int col[NCOLS];              /* field index of each column, -1 when absent */
    int var[MAX_VARS + 1];       /* field index of var<n>, -1 when absent */
    int suffix[MAX_SUFFIXES + 1];
    int payload[MAX_PAYLOADS + 1];
    int nvar; /* highest var<n> present */
    struct suf_buf vars, suffixes, payloads; /* a row's JSON texts, reused */
};

static bool blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* A cell, trimmed (in place), or NULL when the column is absent or the cell
 * empty.  Most cells need no trimming, which their ends tell without a scan;
 * a NUL at the old end means an earlier call trimmed it already. */
static char *cell(const struct suf_csv_record *rec, int idx)
{
    char *s;
    size_t len;

    if (idx < 0 || (size_t)idx >= rec->nfields)
        return NULL;
    s = rec->fields[idx];
    len = rec->lens[idx];
    if (!len)
        return NULL;
    if (blank(s[0]) || blank(s[len - 1]) || !s[len - 1])
        s = suf_trim(s);
    return *s ? s : NULL;
}

/* Shortens a value for a message: at most 40 bytes, on a UTF-8 boundary. */
static const char *shown(const char *v, char *buf, size_t size)
{
    size_t n = suf_strlcpy(buf, v, size);

    if (n >= size)
        memcpy(buf + suf_utf8_floor(buf, size - 4), "...", 4);
    return buf;
}

static void map_numbered(struct dctx *c, const char *name, int i, bool *used)
{
    for (size_t k = 0; k < sizeof(numbered_cols) / sizeof(numbered_cols[0]); k++) {
        int n;

        if (!suf_csv_header_numbered(name, numbered_cols[k].prefix, &n))
            continue;
        if (numbered_cols[k].kind == N_VAR && n <= MAX_VARS && c->var[n] < 0) {
            c->var[n] = i;
            if (n > c->nvar)
                c->nvar = n;
            *used = true;
        } else if (numbered_cols[k].kind == N_SUFFIX && n <= MAX_SUFFIXES && c->suffix[n] < 0) {
            c->suffix[n] = i;
            *used = true;
        } else if (numbered_cols[k].kind == N_PAYLOAD && n <= MAX_PAYLOADS &&
                   c->payload[n] < 0) {
            c->payload[n] = i;
            *used = true;
        }
        return;
    }
}

/* Maps the header to columns; a hard error when it is not a usable header. */
static int map_header(struct dctx *c, const struct suf_csv_record *rec)
{
    struct suf_buf ignored = SUF_BUF_INIT, missing = SUF_BUF_INIT;
    int nmatched = 0, rc = SUF_OK;

    if (rec->error)
        return suf_err_at(c->err, SUF_ERR_INPUT, c->f->path, rec->line,
                          "not a delivery export: no usable header (%s)", rec->error);
    for (size_t i = 0; i < rec->nfields; i++) {
        const char *name = rec->fields[i];
        bool used = false;

        for (int k = 0; k < NCOLS && !used; k++)
            if (suf_csv_header_find(name, cols[k].names) >= 0 && c->col[k] < 0) {
                c->col[k] = (int)i;
                used = true;
            }
        if (!used)
            map_numbered(c, name, (int)i, &used);
        if (used)
            nmatched++;
        else
            suf_buf_addf(&ignored, "%s'%s'", ignored.len ? ", " : "", name);
    }
    if (c->col[C_BUTTON_PARAM] >= 0 && c->suffix[1] < 0)
        c->suffix[1] = c->col[C_BUTTON_PARAM];
    for (int k = 0; k < NCOLS; k++)
        if (cols[k].required && c->col[k] < 0)
            suf_buf_addf(&missing, "%s'%s'", missing.len ? ", " : "", cols[k].names[0]);
    if (!nmatched)
        rc = suf_err_at(c->err, SUF_ERR_INPUT, c->f->path, rec->line,
                        "not a delivery export: no usable header");
    else if (missing.len)
        rc = suf_err_at(c->err, SUF_ERR_INPUT, c->f->path, rec->line,
                        "not a delivery export: the header lacks the required column(s) %s",
                        missing.buf);
    else if (ignored.len)
        suf_warn("%s: ignored column(s) %s", c->f->path, ignored.buf);
    suf_buf_release(&ignored);
    suf_buf_release(&missing);
    return rc;
}

/* sent, delivered, read, failed, pending; NULL for anything else. */
static const char *norm_status(const char *s)
{
    static const char *const keep[] = {"sent", "delivered", "read", "failed", NULL};
    static const char *const in_flight[] = {"accepted", "queued", "pending", NULL};

    for (int i = 0; keep[i]; i++)
        if (suf_streq_fold(s, keep[i]))
            return keep[i];
    for (int i = 0; in_flight[i]; i++)
        if (suf_streq_fold(s, in_flight[i]))
            return "pending";
    return NULL;
}

/* The compact text of `a` into `out` (reused from row to row, so a row
 * costs no allocation for its text); consumes `a`.  Returns out's string. */
static const char *dump_into(json_t *a, struct suf_buf *out)
{
    size_t need = json_dumpb(a, out->buf, out->alloc, JSON_COMPACT);

    if (need >= out->alloc) {
        out->len = 0;
        suf_buf_grow(out, need);
        need = json_dumpb(a, out->buf, out->alloc, JSON_COMPACT);
    }
    json_decref(a);
    out->len = need;
    out->buf[need] = '\0';
    return out->buf;
}

/* Builds a JSON array text from cells idx[1..n] into `out`; NULL when every
 * cell is empty.  The cells are valid UTF-8 already (the reader checks), so
 * jansson need not check them again. */
static const char *cells_array(const struct suf_csv_record *rec, const int *idx, int n,
                               struct suf_buf *out)
{
    json_t *a;
    int last = 0;

    for (int i = 1; i <= n; i++)
        if (cell(rec, idx[i]))
            last = i;
    if (!last)
        return NULL;
    a = json_array();
    for (int i = 1; i <= last; i++) {
        const char *v = cell(rec, idx[i]);
        json_array_append_new(a, v ? json_stringn_nocheck(v, strlen(v)) : json_null());
    }
    return dump_into(a, out);
}

/* A `params` cell: a JSON array of strings (numbers become their text),
 * written into `out`; *text is NULL for an empty array. */
static int params_array(const char *v, struct suf_buf *out, const char **text)
{
    json_t *a = json_loads(v, JSON_DECODE_ANY, NULL), *x, *norm;
    size_t i;

    *text = NULL;
    if (!a || !json_is_array(a)) {
        json_decref(a);
        return SUF_ERR_INPUT;
    }
    norm = json_array();
    json_array_foreach(a, i, x) {
        if (json_is_string(x) || json_is_null(x)) {
            json_array_append(norm, x);
        } else if (json_is_integer(x)) {
            char num[32];
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(x));
            json_array_append_new(norm, json_string(num));
        } else {
            json_decref(norm);
            json_decref(a);
            return SUF_ERR_INPUT;
        }
    }
    json_decref(a);
    if (!json_array_size(norm)) {
        json_decref(norm);
        return SUF_OK;
    }
    *text = dump_into(norm, out);
    return SUF_OK;
}

/* The parsed values of one row; the JSON texts point into the context's
 * buffers. */
struct row {
    const char *v[NCOLS];
    char phone[SUF_PHONE_MAX + 8];
    bool phone_valid;
    const char *status;
    int64_t error_code, attempt, sent_at;
    const char *vars, *suffixes, *payloads;
};

/* Only digits: what is kept of a number that is not valid E.164. */
static bool digits_only(const char *in, char *out, size_t size)
{
    size_t o = 0;

    for (const char *p = in; *p; p++)
        if (*p >= '0' && *p <= '9') {
            if (o + 1 >= size)
                return false;
            out[o++] = *p;
        }
    out[o] = '\0';
    return o > 0;
}

static int parse_phone(struct dctx *c, struct row *r, char *why, size_t wsize)
{
    const char *v = r->v[C_PHONE];
    enum suf_phone_error e;
    char sv[48];

    r->phone_valid = true;
    e = suf_phone_parse(v, c->f->run->cfg->default_country_code, r->phone);
    if (e == SUF_PHONE_OK)
        return SUF_OK;
    /* A number that E.164 does not allow is still a recipient's: kept,
     * flagged, with its digits, so the plan can say why it is excluded. */
    if ((e == SUF_PHONE_TOO_SHORT || e == SUF_PHONE_TOO_LONG) &&
        digits_only(v, r->phone, sizeof(r->phone))) {
        r->phone_valid = false;
        return SUF_OK;
    }
    snprintf(why, wsize, "phone '%s' %s", shown(v, sv, sizeof(sv)), suf_phone_strerror(e));
    return SUF_ERR_INPUT;
}

/* Parses a data record into `r`; on a bad row writes the reason into why. */
static int parse_row(struct dctx *c, const struct suf_csv_record *rec, struct row *r, char *why,
                     size_t wsize)
{
    const char *reason = NULL;
    char sv[48];

    if (rec->error) {
        suf_csv_reason(rec, why, wsize);
        return SUF_ERR_INPUT;
    }
    for (int k = 0; k < NCOLS; k++) {
        r->v[k] = cell(rec, c->col[k]);
        if (cols[k].required && !r->v[k]) {
            snprintf(why, wsize, "missing required field '%s'", cols[k].names[0]);
            return SUF_ERR_INPUT;
        }
    }
    if (!(r->status = norm_status(r->v[C_STATUS]))) {
        snprintf(why, wsize, "unknown status '%s'", shown(r->v[C_STATUS], sv, sizeof(sv)));
        return SUF_ERR_INPUT;
    }
    if (parse_phone(c, r, why, wsize))
        return SUF_ERR_INPUT;
    if (suf_time_parse(r->v[C_SENT_AT], &r->sent_at, &reason)) {
        snprintf(why, wsize, "unparseable time '%s' in sent_at: %s",
                 shown(r->v[C_SENT_AT], sv, sizeof(sv)), reason);
        return SUF_ERR_INPUT;
    }
    r->attempt = 0;
    if (r->v[C_ATTEMPT] && (suf_parse_i64(r->v[C_ATTEMPT], &r->attempt) || r->attempt < 0 ||
                            r->attempt > 1000)) {
        snprintf(why, wsize, "attempt '%s' is not a number from 0 to 1000",
                 shown(r->v[C_ATTEMPT], sv, sizeof(sv)));
        return SUF_ERR_INPUT;
    }
    if (r->v[C_ERROR_CODE] && suf_parse_i64(r->v[C_ERROR_CODE], &r->error_code)) {
        snprintf(why, wsize, "error_code '%s' is not a number",
                 shown(r->v[C_ERROR_CODE], sv, sizeof(sv)));
        return SUF_ERR_INPUT;
    }
    if (r->v[C_PARAMS] && params_array(r->v[C_PARAMS], &c->vars, &r->vars)) {
        snprintf(why, wsize, "params '%s' is not a JSON array of strings",
                 shown(r->v[C_PARAMS], sv, sizeof(sv)));
        return SUF_ERR_INPUT;
    }
    if (!r->vars)
        r->vars = cells_array(rec, c->var, c->nvar, &c->vars);
    r->suffixes = cells_array(rec, c->suffix, MAX_SUFFIXES, &c->suffixes);
    r->payloads = cells_array(rec, c->payload, MAX_PAYLOADS, &c->payloads);
    return SUF_OK;
}

static int store_row(struct dctx *c, const struct suf_csv_record *rec, const struct row *r)
{
    sqlite3_stmt *s = c->load.insert;

    suf_bind_text_static(s, 1, r->v[C_CAMPAIGN_ID]);
    suf_bind_text_static(s, 2, r->v[C_MESSAGE_ID]);
    suf_bind_text_static(s, 3, r->phone);
    sqlite3_bind_int(s, 4, r->phone_valid);
    suf_bind_text_static(s, 5, r->v[C_CAMPAIGN_NAME]);
    suf_bind_text_static(s, 6, r->v[C_TEMPLATE]);
    suf_bind_text_static(s, 7, r->v[C_LANGUAGE]);
    suf_bind_text_static(s, 8, r->status);
    suf_bind_int64_or_null(s, 9, r->error_code, !r->v[C_ERROR_CODE]);
    suf_bind_text_static(s, 10, r->v[C_ERROR_TITLE]);
    sqlite3_bind_int64(s, 11, r->attempt);
    sqlite3_bind_int64(s, 12, r->sent_at);
    suf_bind_text_static(s, 13, r->v[C_TEXT]);
    suf_bind_text_static(s, 14, r->vars);
    suf_bind_text_static(s, 15, r->v[C_MEDIA]);
    suf_bind_text_static(s, 16, r->suffixes);
    suf_bind_text_static(s, 17, r->payloads);
    suf_bind_text_static(s, 18, r->v[C_CUSTOMER_NAME]);
    sqlite3_bind_int64(s, 19, c->f->file_id);
    sqlite3_bind_int64(s, 20, rec->line);
    return suf_attempts_load_step(&c->load, c->err);
}

static int on_record(void *vc, const struct suf_csv_record *rec)
{
    struct dctx *c = vc;
    struct row r;
    char why[256];
    int rc;

    if (rec->index == 0)
        return map_header(c, rec);
    c->f->rows++;
    suf_import_progress(c->f);
    memset(&r, 0, sizeof(r));
    if (parse_row(c, rec, &r, why, sizeof(why)))
        rc = suf_import_reject(c->f, rec->line, why, rec->raw, rec->rawlen, c->err);
    else
        rc = store_row(c, rec, &r);
    return rc;
}

int suf_import_deliveries_as(struct suf_import_file *f, FILE *in, enum suf_load_mode mode,
                             struct suf_err *err)
{
    struct suf_csv_opts opts = SUF_CSV_OPTS_INIT;
    struct dctx c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.f = f;
    c.err = err;
    for (int k = 0; k < NCOLS; k++)
        c.col[k] = -1;
    for (int k = 0; k <= MAX_VARS; k++)
        c.var[k] = -1;
    for (int k = 0; k <= MAX_SUFFIXES; k++)
        c.suffix[k] = -1;
    for (int k = 0; k <= MAX_PAYLOADS; k++)
        c.payload[k] = -1;
    rc = suf_attempts_load_begin(&c.load, f->run->store, mode, f->size, err);
    if (!rc)
        rc = suf_csv_read(in, f->path, &opts, on_record, &c, err);
    if (!rc && c.col[C_CAMPAIGN_ID] < 0)
        rc = suf_err_at(err, SUF_ERR_INPUT, f->path, 0, "not a delivery export: empty file");
    if (!rc)
        rc = suf_attempts_load_finish(&c.load, err);
    suf_attempts_load_release(&c.load);
    suf_buf_release(&c.vars);
    suf_buf_release(&c.suffixes);
    suf_buf_release(&c.payloads);
    return rc;
}

int suf_import_deliveries(struct suf_import_file *f, FILE *in, struct suf_err *err)
{
    return suf_import_deliveries_as(f, in, SUF_LOAD_AUTO, err);
}
