/*
 * rates.c: the `rates` and `markets` import kinds (see rates.h).
 *
 * Both read CSV with libcsv.  The file is fed to the parser one physical
 * line at a time, so every record knows the line it started on and its raw
 * text for `rejects`, even when a quoted cell spans lines (Meta's header
 * does).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "suf/amount.h"
#include "suf/log.h"
#include "suf/money.h"
#include "suf/rates.h"
#include "suf/util.h"
#include "suf/banned.h"

#define MAX_FIELDS 64

/* --- a line-tracking record reader over libcsv ---------------------------- */

struct record {
    char *f[MAX_FIELDS];
    size_t n;
    int64_t line; /* physical line the record starts on */
};

struct reader {
    struct csv_parser p;
    FILE *in;
    const char *path;
    struct record cur;    /* being filled by the callbacks */
    struct record ready;  /* the last finished record */
    bool have_ready;
    bool overflow;        /* the record had more than MAX_FIELDS cells */
    int64_t lineno;       /* lines fed so far */
    int64_t start;        /* first non-blank line of the record in progress */
    struct suf_buf raw;   /* raw text of the record in progress */
    struct suf_buf done_raw;
    char *line;
    size_t linecap;
    bool eof;
};

static void record_clear(struct record *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->f[i]);
    r->n = 0;
}

static void on_field(void *s, size_t len, void *data)
{
    struct reader *rd = data;

    if (rd->cur.n >= MAX_FIELDS) {
        rd->overflow = true;
        return;
    }
    rd->cur.f[rd->cur.n++] = s ? suf_xstrndup(s, len) : suf_xstrdup("");
}

static void on_record(int c, void *data)
{
    struct reader *rd = data;

    (void)c;
    record_clear(&rd->ready);
    rd->ready = rd->cur;
    rd->ready.line = rd->start ? rd->start : rd->lineno;
    rd->cur.n = 0;
    rd->have_ready = true;
    suf_buf_reset(&rd->done_raw);
    suf_buf_add(&rd->done_raw, rd->raw.buf ? rd->raw.buf : "", rd->raw.len);
    suf_buf_reset(&rd->raw);
    rd->start = 0;
}

static void reader_init(struct reader *rd, FILE *in, const char *path)
{
    memset(rd, 0, sizeof(*rd));
    csv_init(&rd->p, 0);
    rd->in = in;
    rd->path = path;
}

static void reader_release(struct reader *rd)
{
    csv_free(&rd->p);
    record_clear(&rd->cur);
    record_clear(&rd->ready);
    suf_buf_release(&rd->raw);
    suf_buf_release(&rd->done_raw);
    free(rd->line);
}

/* Reads the next record into rd->ready. Returns 1 for a record, 0 at the
 * end, or a negative value on a read error. */
static int reader_next(struct reader *rd)
{
    rd->have_ready = false;
    rd->overflow = false;
    while (!rd->have_ready) {
        ssize_t n;

        if (rd->eof)
            return 0;
        n = getline(&rd->line, &rd->linecap, rd->in);
        if (n < 0) {
            if (ferror(rd->in))
                return -1;
            rd->eof = true;
            csv_fini(&rd->p, on_field, on_record, rd);
            continue;
        }
        rd->lineno++;
        if (!rd->start && !(n == 1 && rd->line[0] == '\n') &&
            !(n == 2 && rd->line[0] == '\r' && rd->line[1] == '\n'))
            rd->start = rd->lineno;
        suf_buf_add(&rd->raw, rd->line, (size_t)n);
        if (csv_parse(&rd->p, rd->line, (size_t)n, on_field, on_record, rd) != (size_t)n)
            return -1; /* only out of memory in non-strict mode */
    }
    return 1;
}

/* --- header names ----------------------------------------------------------- */

/* Lowercase letters and digits only, up to a "(" remark: "Authentication-\n
 * International" is "authenticationinternational". */
static void fold_name(const char *s, char *out, size_t size)
{
    size_t n = 0;

    for (; *s && *s != '(' && n + 1 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c))
            out[n++] = (char)tolower(c);
    }
    out[n] = '\0';
}

int suf_rates_column(const char *header_cell)
{
    static const struct {
        const char *name;
        int col;
    } names[] = {
        {"market", SUF_RATES_COL_MARKET},
        {"currency", SUF_RATES_COL_CURRENCY},
        {"marketing", SUF_RATES_COL_MARKETING},
        {"utility", SUF_RATES_COL_UTILITY},
        {"authentication", SUF_RATES_COL_AUTHENTICATION},
        {"authenticationinternational", SUF_RATES_COL_AUTHENTICATION_INTL},
        {"authenticationintl", SUF_RATES_COL_AUTHENTICATION_INTL},
        {"service", SUF_RATES_COL_SERVICE},
    };
    char folded[128];

    fold_name(header_cell ? header_cell : "", folded, sizeof(folded));
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(folded, names[i].name))
            return names[i].col;
    return SUF_RATES_COL_NONE;
}

int suf_rates_date_from_name(const char *path, char out[11])
{
    const char *base = strrchr(path, '/');

    base = base ? base + 1 : path;
    for (const char *p = base; strlen(p) >= 10; p++) {
        char cand[11];
        int32_t day;

        memcpy(cand, p, 10);
        cand[10] = '\0';
        if (suf_day_parse(cand, &day) == SUF_OK) {
            memcpy(out, cand, 11);
            return SUF_OK;
        }
    }
    return SUF_ERR_NOTFOUND;
}

/* "USD" from "USD_2026-10-01.csv", into out[4]; false when the name does not
 * start with three capitals and a separator. */
static bool currency_from_name(const char *path, char out[4])
{
    const char *base = strrchr(path, '/');

    base = base ? base + 1 : path;
    for (int i = 0; i < 3; i++)
        if (!isupper((unsigned char)base[i]))
            return false;
    if (base[3] != '_' && base[3] != '-' && base[3] != ' ')
        return false;
    memcpy(out, base, 3);
    out[3] = '\0';
    return true;
}

static bool valid_currency(const char *c)
{
    if (strlen(c) != 3)
        return false;
    for (int i = 0; i < 3; i++)
        if (!isupper((unsigned char)c[i]))
            return false;
    return true;
}

/* Copies a cell with white space runs (newlines too) collapsed to one space
 * and trimmed. */
static void collapse(const char *s, char *out, size_t size)
{
    size_t n = 0;
    bool space = false;

    for (; *s && n + 1 < size; s++) {
        if (isspace((unsigned char)*s)) {
            space = n > 0;
            continue;
        }
        if (space && n + 2 < size)
            out[n++] = ' ';
        space = false;
        out[n++] = *s;
    }
    out[n] = '\0';
}

static bool is_na(const char *s)
{
    char t[16];

    collapse(s, t, sizeof(t));
    return !strcmp(t, "") || suf_streq_fold(t, "n/a") || suf_streq_fold(t, "na") ||
           !strcmp(t, "-");
}

static bool is_blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

/* --- rate cards -------------------------------------------------------------- */

struct card_import {
    struct suf_import_file *f;
    int cols[SUF_RATES_NCOLS]; /* cell index of each column, -1 absent */
    char currency[16];
    int64_t card_id;
    sqlite3_stmt *ins;
};

static bool is_header(const struct record *r, int cols[SUF_RATES_NCOLS])
{
    for (int i = 0; i < SUF_RATES_NCOLS; i++)
        cols[i] = -1;
    if (r->n < 2 || suf_rates_column(r->f[0]) != SUF_RATES_COL_MARKET)
        return false;
    for (size_t i = 0; i < r->n; i++) {
        int c = suf_rates_column(r->f[i]);
        if (c >= 0 && cols[c] < 0)
            cols[c] = (int)i;
    }
    return cols[SUF_RATES_COL_UTILITY] >= 0 || cols[SUF_RATES_COL_MARKETING] >= 0;
}

/* Creates the card, or empties the existing card of the same currency and
 * date (a corrected file replaces it). */
static int open_card(struct card_import *ci, const char *effective, struct suf_err *err)
{
    struct suf_store *st = ci->f->run->store;
    sqlite3_stmt *s;
    int rc;

    s = suf_store_prepare(st, "SELECT id FROM rate_cards WHERE currency = ?1 AND effective = ?2",
                          err);
    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, ci->currency);
    suf_bind_text(s, 2, effective);
    rc = sqlite3_step(s);
    ci->card_id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return suf_store_fail(st, err, "rate_cards");
    if (ci->card_id) {
        suf_warn("%s: replaces the %s rate card effective %s", ci->f->path, ci->currency,
                 effective);
        s = suf_store_prepare(st, "DELETE FROM rates WHERE card_id = ?1", err);
        if (!s)
            return SUF_ERR_DB;
        sqlite3_bind_int64(s, 1, ci->card_id);
        rc = sqlite3_step(s);
        sqlite3_finalize(s);
        if (rc != SQLITE_DONE)
            return suf_store_fail(st, err, "rates");
        s = suf_store_prepare(st, "UPDATE rate_cards SET file_id = ?1 WHERE id = ?2", err);
        if (!s)
            return SUF_ERR_DB;
        sqlite3_bind_int64(s, 1, ci->f->file_id);
        sqlite3_bind_int64(s, 2, ci->card_id);
    } else {
        s = suf_store_prepare(
            st, "INSERT INTO rate_cards (currency, effective, file_id) VALUES (?1, ?2, ?3)", err);
        if (!s)
            return SUF_ERR_DB;
        suf_bind_text(s, 1, ci->currency);
        suf_bind_text(s, 2, effective);
        sqlite3_bind_int64(s, 3, ci->f->file_id);
    }
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return suf_store_fail(st, err, "rate_cards");
    if (!ci->card_id)
        ci->card_id = sqlite3_last_insert_rowid(st->db);
    return SUF_OK;
}

static const char *cell(const struct record *r, int idx)
{
    return idx >= 0 && (size_t)idx < r->n ? r->f[idx] : "";
}

/* Stores one rate row, or rejects it. */
static int card_row(struct card_import *ci, struct reader *rd, struct suf_err *err)
{
    static const int amount_cols[] = {SUF_RATES_COL_MARKETING, SUF_RATES_COL_UTILITY,
                                      SUF_RATES_COL_AUTHENTICATION,
                                      SUF_RATES_COL_AUTHENTICATION_INTL, SUF_RATES_COL_SERVICE};
    const struct record *r = &rd->ready;
    char market[128], reason[256];
    bool any = false;
    int rc;

    collapse(cell(r, ci->cols[SUF_RATES_COL_MARKET]), market, sizeof(market));
    for (size_t i = 0; i < 5; i++)
        any |= !is_blank(cell(r, ci->cols[amount_cols[i]]));
    if (!any)
        return SUF_OK; /* a note row among the rates */
    ci->f->rows++;
    if (!*market)
        return suf_import_reject(ci->f, r->line, "rate row without a market", rd->done_raw.buf,
                                 rd->done_raw.len, err);
    if (ci->cols[SUF_RATES_COL_CURRENCY] >= 0) {
        char cur[16];
        collapse(cell(r, ci->cols[SUF_RATES_COL_CURRENCY]), cur, sizeof(cur));
        if (*cur && strcmp(cur, ci->currency)) {
            snprintf(reason, sizeof(reason), "market '%s': currency '%s' is not the card's '%s'",
                     market, cur, ci->currency);
            return suf_import_reject(ci->f, r->line, reason, rd->done_raw.buf, rd->done_raw.len,
                                     err);
        }
    }
    sqlite3_reset(ci->ins);
    sqlite3_bind_int64(ci->ins, 1, ci->card_id);
    suf_bind_text(ci->ins, 2, market);
    for (size_t i = 0; i < 5; i++) {
        const char *v = cell(r, ci->cols[amount_cols[i]]);
        int64_t micros;

        if (ci->cols[amount_cols[i]] < 0 || is_na(v)) {
            sqlite3_bind_null(ci->ins, 3 + (int)i);
            continue;
        }
        if (suf_amount_parse(v, &micros)) {
            char shown[64];
            collapse(v, shown, sizeof(shown));
            snprintf(reason, sizeof(reason), "market '%s': %s rate '%s' is not an amount",
                     market, suf_category_name((int)i), shown);
            return suf_import_reject(ci->f, r->line, reason, rd->done_raw.buf, rd->done_raw.len,
                                     err);
        }
        sqlite3_bind_int64(ci->ins, 3 + (int)i, micros);
    }
    rc = sqlite3_step(ci->ins);
    if (rc == SQLITE_CONSTRAINT) {
        snprintf(reason, sizeof(reason), "market '%s' appears twice", market);
        return suf_import_reject(ci->f, r->line, reason, rd->done_raw.buf, rd->done_raw.len, err);
    }
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(ci->f->run->store, err, "rates");
}

/* The effective date and currency of the card, from the options or the
 * file name. */
static int card_identity(struct suf_import_file *f, char effective[11], char currency[16],
                         struct suf_err *err)
{
    const struct suf_import_opts *o = f->opts;
    char cur[4];
    int32_t day;

    if (o && o->effective) {
        if (suf_day_parse(o->effective, &day))
            return suf_err_set(err, SUF_ERR_USAGE, "--effective '%s' is not a YYYY-MM-DD date",
                               o->effective);
        suf_strlcpy(effective, o->effective, 11);
    } else if (suf_rates_date_from_name(f->path, effective)) {
        return suf_err_set(err, SUF_ERR_USAGE,
                           "%s: no effective date: give --effective YYYY-MM-DD or name the file "
                           "like USD_2026-10-01.csv",
                           f->path);
    }
    if (o && o->currency)
        suf_strlcpy(currency, o->currency, 16);
    else if (currency_from_name(f->path, cur))
        suf_strlcpy(currency, cur, 16);
    else
        suf_strlcpy(currency, f->run->cfg->currency, 16);
    if (!valid_currency(currency))
        return suf_err_set(err, SUF_ERR_USAGE, "currency '%s' is not a three-letter code",
                           currency);
    suf_day_parse(effective, &day);
    {
        int y, m, d;
        if (sscanf(effective, "%4d-%2d-%2d", &y, &m, &d) == 3 && (d != 1 || (m - 1) % 3))
            suf_warn("%s: effective %s is not the first day of a quarter, when Meta changes "
                     "rates",
                     f->path, effective);
    }
    return SUF_OK;
}

int suf_import_rates(struct suf_import_file *f, FILE *in, struct suf_err *err)
{
    struct card_import ci;
    struct reader rd;
    char effective[11];
    bool header = false;
    int rc, got;

    memset(&ci, 0, sizeof(ci));
    ci.f = f;
    if ((rc = card_identity(f, effective, ci.currency, err)))
        return rc;
    reader_init(&rd, in, f->path);
    while ((got = reader_next(&rd)) > 0) {
        if (!header) {
            if (is_header(&rd.ready, ci.cols)) {
                header = true;
                if ((rc = open_card(&ci, effective, err)))
                    goto out;
                ci.ins = suf_store_prepare(f->run->store,
                                           "INSERT INTO rates (card_id, market, marketing, "
                                           "utility, authentication, authentication_intl, "
                                           "service) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                                           err);
                if (!ci.ins) {
                    rc = SUF_ERR_DB;
                    goto out;
                }
            }
            continue; /* a note row before the header */
        }
        if ((rc = card_row(&ci, &rd, err)))
            goto out;
    }
    if (got < 0) {
        rc = suf_err_at(err, SUF_ERR_IO, f->path, rd.lineno, "cannot read: %s", strerror(errno));
        goto out;
    }
    if (!header) {
        rc = suf_err_at(err, SUF_ERR_INPUT, f->path, 0,
                        "no header row starting with 'Market' and naming a Utility or "
                        "Marketing column: not a rate card");
        goto out;
    }
    suf_info("%s: %s rate card effective %s", f->path, ci.currency, effective);
    rc = SUF_OK;
out:
    sqlite3_finalize(ci.ins);
    reader_release(&rd);
    return rc;
}

/* --- the market map ------------------------------------------------------- */

enum { MCOL_PREFIX, MCOL_MARKET, MCOL_SINCE, MCOL_N };

static int market_col(const char *h)
{
    char folded[64];

    fold_name(h, folded, sizeof(folded));
    if (!strcmp(folded, "prefix") || !strcmp(folded, "callingcode") || !strcmp(folded, "code"))
        return MCOL_PREFIX;
    if (!strcmp(folded, "market"))
        return MCOL_MARKET;
    if (!strcmp(folded, "since") || !strcmp(folded, "effective"))
        return MCOL_SINCE;
    return -1;
}

/* "+1-809" to "1809"; false when anything but digits, "+", "-" or spaces is
 * there, or the result is empty or too long. */
static bool prefix_digits(const char *s, char *out, size_t size)
{
    size_t n = 0;

    for (; *s; s++) {
        if (isdigit((unsigned char)*s)) {
            if (n + 1 >= size)
                return false;
            out[n++] = *s;
        } else if (*s != '+' && *s != '-' && !isspace((unsigned char)*s)) {
            return false;
        }
    }
    out[n] = '\0';
    return n > 0 && n <= 15;
}

static int market_row(struct suf_import_file *f, struct reader *rd, const int cols[MCOL_N],
                      sqlite3_stmt *ins, struct suf_err *err)
{
    const struct record *r = &rd->ready;
    char prefix[32], market[128], since[32], reason[256], shown[64];
    int32_t day;
    int rc;

    if (r->n == 1 && is_blank(r->f[0]))
        return SUF_OK;
    f->rows++;
    collapse(cell(r, cols[MCOL_MARKET]), market, sizeof(market));
    collapse(cell(r, cols[MCOL_SINCE]), since, sizeof(since));
    if (!prefix_digits(cell(r, cols[MCOL_PREFIX]), prefix, sizeof(prefix))) {
        collapse(cell(r, cols[MCOL_PREFIX]), shown, sizeof(shown));
        snprintf(reason, sizeof(reason), "prefix '%s' is not a calling code", shown);
        return suf_import_reject(f, r->line, reason, rd->done_raw.buf, rd->done_raw.len, err);
    }
    if (!*market) {
        snprintf(reason, sizeof(reason), "prefix '%s' has no market", prefix);
        return suf_import_reject(f, r->line, reason, rd->done_raw.buf, rd->done_raw.len, err);
    }
    if (*since && suf_day_parse(since, &day)) {
        snprintf(reason, sizeof(reason), "since '%s' is not a YYYY-MM-DD date", since);
        return suf_import_reject(f, r->line, reason, rd->done_raw.buf, rd->done_raw.len, err);
    }
    sqlite3_reset(ins);
    suf_bind_text(ins, 1, prefix);
    suf_bind_text(ins, 2, since);
    suf_bind_text(ins, 3, market);
    rc = sqlite3_step(ins);
    if (rc == SQLITE_CONSTRAINT) {
        snprintf(reason, sizeof(reason), "prefix '%s' since '%s' appears twice", prefix, since);
        return suf_import_reject(f, r->line, reason, rd->done_raw.buf, rd->done_raw.len, err);
    }
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(f->run->store, err, "markets");
}

int suf_import_markets(struct suf_import_file *f, FILE *in, struct suf_err *err)
{
    struct reader rd;
    sqlite3_stmt *ins = NULL;
    int cols[MCOL_N] = {-1, -1, -1}, rc, got;

    reader_init(&rd, in, f->path);
    got = reader_next(&rd);
    if (got > 0) {
        for (size_t i = 0; i < rd.ready.n; i++) {
            int c = market_col(rd.ready.f[i]);
            if (c >= 0 && cols[c] < 0)
                cols[c] = (int)i;
        }
    }
    if (got <= 0 || cols[MCOL_PREFIX] < 0 || cols[MCOL_MARKET] < 0) {
        rc = suf_err_at(err, SUF_ERR_INPUT, f->path, 1,
                        "not a market map: the header must be 'prefix,market[,since]'");
        goto out;
    }
    /* A map is whole: the new one replaces the old. */
    if ((rc = suf_store_exec(f->run->store, "DELETE FROM markets", err)))
        goto out;
    ins = suf_store_prepare(f->run->store,
                            "INSERT INTO markets (prefix, since, market) VALUES (?1, ?2, ?3)", err);
    if (!ins) {
        rc = SUF_ERR_DB;
        goto out;
    }
    while ((got = reader_next(&rd)) > 0)
        if ((rc = market_row(f, &rd, cols, ins, err)))
            goto out;
    if (got < 0) {
        rc = suf_err_at(err, SUF_ERR_IO, f->path, rd.lineno, "cannot read: %s", strerror(errno));
        goto out;
    }
    rc = SUF_OK;
out:
    sqlite3_finalize(ins);
    reader_release(&rd);
    return rc;
}
