/*
 * rates.c: the `rates` and `markets` import kinds (see rates.h).
 *
 * Both read CSV through the import area's reader (csvread.h), which gives
 * every record with the line it started on, its raw text for `rejects`, a
 * 64 KiB cap on a field and a UTF-8 check, even when a quoted cell spans
 * lines (Meta's header does).  A record the reader marks bad is rejected
 * here with the reader's reason; nothing is ever cut to fit a buffer: a cell
 * too long for its purpose rejects its row.
 */
#include <ctype.h>
#include <string.h>

#include "base/amount.h"
#include "base/log.h"
#include "base/util.h"
#include "import/csvread.h"
#include "import/rates.h"
#include "money/money.h"
#include "base/banned.h"

/* How much of a bad cell a reject reason quotes, in bytes. */
#define SHOWN_MAX 40

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
 * and trimmed, into out[size].  Returns false, with out holding a cut copy,
 * when the folded cell does not fit: callers reject rather than keep it. */
static bool collapse(const char *s, char *out, size_t size)
{
    size_t n = 0;
    bool space = false;

    for (; *s; s++) {
        if (isspace((unsigned char)*s)) {
            space = n > 0;
            continue;
        }
        if (n + (space ? 2 : 1) >= size) {
            out[n] = '\0';
            return false;
        }
        if (space)
            out[n++] = ' ';
        space = false;
        out[n++] = *s;
    }
    out[n] = '\0';
    return true;
}

/* A cell as a reject reason quotes it: folded, and when long cut after
 * SHOWN_MAX bytes on a character boundary (the cell is valid UTF-8) with
 * "..." to say so.  out must hold SHOWN_MAX + 4 bytes. */
static const char *shown(const char *s, char out[SHOWN_MAX + 4])
{
    size_t n;

    if (collapse(s, out, SHOWN_MAX + 1))
        return out;
    n = strlen(out);
    if (n > 0) {
        /* Drop the last character when the cut left it incomplete. */
        size_t k = n - 1, need;
        unsigned char lead;

        while (k > 0 && ((unsigned char)out[k] & 0xC0) == 0x80)
            k--;
        lead = (unsigned char)out[k];
        need = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        if (n - k < need)
            n = k;
    }
    memcpy(out + n, "...", 4);
    return out;
}

static bool is_na(const char *s)
{
    char t[16];

    if (!collapse(s, t, sizeof(t)))
        return false;
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

static const char *cell(const struct suf_csv_record *r, int idx)
{
    return idx >= 0 && (size_t)idx < r->nfields ? r->fields[idx] : "";
}

static int reject(struct suf_import_file *f, const struct suf_csv_record *r, const char *reason,
                  struct suf_err *err)
{
    return suf_import_reject(f, r->line, reason, r->raw, r->rawlen, err);
}

/* --- rate cards -------------------------------------------------------------- */

/* The rate columns, in the order of the rates table and suf_category_name(). */
static const int amount_cols[] = {SUF_RATES_COL_MARKETING, SUF_RATES_COL_UTILITY,
                                  SUF_RATES_COL_AUTHENTICATION, SUF_RATES_COL_AUTHENTICATION_INTL,
                                  SUF_RATES_COL_SERVICE};
#define NAMOUNTS (sizeof(amount_cols) / sizeof(amount_cols[0]))

struct card_import {
    struct suf_import_file *f;
    struct suf_err *err;
    const char *effective;
    int cols[SUF_RATES_NCOLS]; /* cell index of each column, -1 absent */
    char currency[16];
    int64_t card_id;
    sqlite3_stmt *ins;
    bool header;         /* the header was found: the rows follow */
    int64_t bad_line;    /* the first unreadable record before the header */
    const char *bad_why; /* its reason, NULL when none */
};

static bool is_header(const struct suf_csv_record *r, int cols[SUF_RATES_NCOLS])
{
    for (int i = 0; i < SUF_RATES_NCOLS; i++)
        cols[i] = -1;
    if (r->error || r->nfields < 2 || suf_rates_column(r->fields[0]) != SUF_RATES_COL_MARKET)
        return false;
    for (size_t i = 0; i < r->nfields; i++) {
        int c = suf_rates_column(r->fields[i]);
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

/* Binds the five rate cells of a row to ci->ins, or returns the reason the
 * row is rejected in reason[size]. */
static bool bind_amounts(struct card_import *ci, const struct suf_csv_record *r,
                         const char *market, char *reason, size_t size)
{

    for (size_t i = 0; i < NAMOUNTS; i++) {
        const char *v = cell(r, ci->cols[amount_cols[i]]);
        char quoted[SHOWN_MAX + 4];
        int64_t micros;

        if (ci->cols[amount_cols[i]] < 0 || is_na(v)) {
            sqlite3_bind_null(ci->ins, 3 + (int)i);
            continue;
        }
        if (suf_amount_parse(v, &micros)) {
            snprintf(reason, size, "market '%s': %s rate '%s' is not an amount", market,
                     suf_category_name((int)i), shown(v, quoted));
            return false;
        }
        sqlite3_bind_int64(ci->ins, 3 + (int)i, micros);
    }
    return true;
}

/* Stores one rate row, skips a note, or rejects the row. */
static int card_row(struct card_import *ci, const struct suf_csv_record *r)
{
    char market[SUF_RATES_MARKET_MAX + 1], reason[512], quoted[SHOWN_MAX + 4];
    bool any = false;
    int rc;

    if (r->error) {
        ci->f->rows++;
        return reject(ci->f, r, r->error, ci->err);
    }
    for (size_t i = 0; i < NAMOUNTS; i++)
        any |= !is_blank(cell(r, ci->cols[amount_cols[i]]));
    if (!any)
        return SUF_OK; /* a note row among the rates */
    ci->f->rows++;
    if (!collapse(cell(r, ci->cols[SUF_RATES_COL_MARKET]), market, sizeof(market))) {
        snprintf(reason, sizeof(reason), "market name '%s' is over %d bytes",
                 shown(market, quoted), SUF_RATES_MARKET_MAX);
        return reject(ci->f, r, reason, ci->err);
    }
    if (!*market)
        return reject(ci->f, r, "rate row without a market", ci->err);
    if (ci->cols[SUF_RATES_COL_CURRENCY] >= 0) {
        const char *cur = cell(r, ci->cols[SUF_RATES_COL_CURRENCY]);
        char folded[16];

        if (!collapse(cur, folded, sizeof(folded)) || (*folded && strcmp(folded, ci->currency))) {
            snprintf(reason, sizeof(reason), "market '%s': currency '%s' is not the card's '%s'",
                     market, shown(cur, quoted), ci->currency);
            return reject(ci->f, r, reason, ci->err);
        }
    }
    sqlite3_reset(ci->ins);
    sqlite3_bind_int64(ci->ins, 1, ci->card_id);
    suf_bind_text(ci->ins, 2, market);
    if (!bind_amounts(ci, r, market, reason, sizeof(reason)))
        return reject(ci->f, r, reason, ci->err);
    rc = sqlite3_step(ci->ins);
    if (rc == SQLITE_CONSTRAINT) {
        snprintf(reason, sizeof(reason), "market '%s' appears twice", market);
        return reject(ci->f, r, reason, ci->err);
    }
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(ci->f->run->store, ci->err, "rates");
}

/* Before the header: a note row is skipped; the header opens the card. */
static int card_header(struct card_import *ci, const struct suf_csv_record *r)
{
    int rc;

    if (!is_header(r, ci->cols)) {
        if (r->error && !ci->bad_why) {
            ci->bad_line = r->line;
            ci->bad_why = r->error;
        }
        return SUF_OK;
    }
    ci->header = true;
    if ((rc = open_card(ci, ci->effective, ci->err)))
        return rc;
    ci->ins = suf_store_prepare(ci->f->run->store,
                                "INSERT INTO rates (card_id, market, marketing, utility, "
                                "authentication, authentication_intl, service) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                                ci->err);
    return ci->ins ? SUF_OK : SUF_ERR_DB;
}

static int card_record(void *vci, const struct suf_csv_record *r)
{
    struct card_import *ci = vci;

    return ci->header ? card_row(ci, r) : card_header(ci, r);
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
    struct suf_csv_opts opts = SUF_CSV_OPTS_INIT;
    struct card_import ci;
    char effective[11];
    int rc;

    memset(&ci, 0, sizeof(ci));
    ci.f = f;
    ci.err = err;
    ci.effective = effective;
    if ((rc = card_identity(f, effective, ci.currency, err)))
        return rc;
    opts.fixed_width = false; /* notes and rows have their own widths */
    rc = suf_csv_read(in, f->path, &opts, card_record, &ci, err);
    if (rc)
        goto out;
    if (!ci.header) {
        char why[128] = "";

        if (ci.bad_why)
            snprintf(why, sizeof(why), " (line %lld: %s)", (long long)ci.bad_line, ci.bad_why);
        rc = suf_err_at(err, SUF_ERR_INPUT, f->path, 0,
                        "no header row starting with 'Market' and naming a Utility or "
                        "Marketing column: not a rate card%s",
                        why);
        goto out;
    }
    suf_info("%s: %s rate card effective %s", f->path, ci.currency, effective);
out:
    sqlite3_finalize(ci.ins);
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

struct map_import {
    struct suf_import_file *f;
    struct suf_err *err;
    int cols[MCOL_N];
    sqlite3_stmt *ins;
    int64_t stored;
    int64_t first_bad_line; /* 0: none rejected */
    char first_bad[512];
};

/* Rejects a map row, keeping the first reason for the error of a map
 * that has no usable row at all. */
static int map_reject(struct map_import *mi, const struct suf_csv_record *r, const char *reason)
{
    if (!mi->first_bad_line) {
        mi->first_bad_line = r->line;
        suf_strlcpy(mi->first_bad, reason, sizeof(mi->first_bad));
    }
    return reject(mi->f, r, reason, mi->err);
}

/* The header names the columns; a map replaces the previous one whole. */
static int map_header(struct map_import *mi, const struct suf_csv_record *r)
{
    for (size_t i = 0; !r->error && i < r->nfields; i++) {
        int c = market_col(r->fields[i]);
        if (c >= 0 && mi->cols[c] < 0)
            mi->cols[c] = (int)i;
    }
    if (r->error || mi->cols[MCOL_PREFIX] < 0 || mi->cols[MCOL_MARKET] < 0)
        return suf_err_at(mi->err, SUF_ERR_INPUT, mi->f->path, r->line,
                          "not a market map: the header must be 'prefix,market[,since]'%s%s%s",
                          r->error ? " (" : "", r->error ? r->error : "", r->error ? ")" : "");
    if (suf_store_exec(mi->f->run->store, "DELETE FROM markets", mi->err))
        return SUF_ERR_DB;
    mi->ins = suf_store_prepare(mi->f->run->store,
                                "INSERT INTO markets (prefix, since, market) VALUES (?1, ?2, ?3)",
                                mi->err);
    return mi->ins ? SUF_OK : SUF_ERR_DB;
}

/* Stores one map row, or rejects it. */
static int map_row(struct map_import *mi, const struct suf_csv_record *r)
{
    char prefix[32], market[SUF_RATES_MARKET_MAX + 1], since[32], reason[512];
    char quoted[SHOWN_MAX + 4];
    const char *cell_since = cell(r, mi->cols[MCOL_SINCE]);
    int32_t day;
    int rc;

    if (!r->error && r->nfields == 1 && is_blank(r->fields[0]))
        return SUF_OK;
    mi->f->rows++;
    if (r->error)
        return map_reject(mi, r, r->error);
    if (!prefix_digits(cell(r, mi->cols[MCOL_PREFIX]), prefix, sizeof(prefix))) {
        snprintf(reason, sizeof(reason), "prefix '%s' is not a calling code",
                 shown(cell(r, mi->cols[MCOL_PREFIX]), quoted));
        return map_reject(mi, r, reason);
    }
    if (!collapse(cell(r, mi->cols[MCOL_MARKET]), market, sizeof(market))) {
        snprintf(reason, sizeof(reason), "prefix '%s': market name '%s' is over %d bytes",
                 prefix, shown(market, quoted), SUF_RATES_MARKET_MAX);
        return map_reject(mi, r, reason);
    }
    if (!*market) {
        snprintf(reason, sizeof(reason), "prefix '%s' has no market", prefix);
        return map_reject(mi, r, reason);
    }
    if (!collapse(cell_since, since, sizeof(since)) || (*since && suf_day_parse(since, &day))) {
        snprintf(reason, sizeof(reason), "since '%s' is not a YYYY-MM-DD date",
                 shown(cell_since, quoted));
        return map_reject(mi, r, reason);
    }
    sqlite3_reset(mi->ins);
    suf_bind_text(mi->ins, 1, prefix);
    suf_bind_text(mi->ins, 2, since);
    suf_bind_text(mi->ins, 3, market);
    rc = sqlite3_step(mi->ins);
    if (rc == SQLITE_CONSTRAINT) {
        snprintf(reason, sizeof(reason), "prefix '%s' since '%s' appears twice", prefix, since);
        return map_reject(mi, r, reason);
    }
    if (rc != SQLITE_DONE)
        return suf_store_fail(mi->f->run->store, mi->err, "markets");
    mi->stored++;
    return SUF_OK;
}

static int map_record(void *vmi, const struct suf_csv_record *r)
{
    struct map_import *mi = vmi;

    return r->index == 0 ? map_header(mi, r) : map_row(mi, r);
}

int suf_import_markets(struct suf_import_file *f, FILE *in, struct suf_err *err)
{
    struct suf_csv_opts opts = SUF_CSV_OPTS_INIT;
    struct map_import mi = {f, err, {-1, -1, -1}, NULL, 0, 0, ""};
    int rc;

    opts.fixed_width = false; /* `since` may be left off a row */
    rc = suf_csv_read(in, f->path, &opts, map_record, &mi, err);
    /* An empty map would price every phone as "Other": it is refused, and
     * the import's rollback keeps the map in use (the store's, or the
     * built-in one). */
    if (!rc && !mi.ins)
        rc = suf_err_at(err, SUF_ERR_INPUT, f->path, 1,
                        "not a market map: the header must be 'prefix,market[,since]'");
    else if (!rc && !mi.stored && mi.first_bad_line)
        rc = suf_err_at(err, SUF_ERR_INPUT, f->path, 0,
                        "no usable market row (line %lld: %s): the map in use is kept",
                        (long long)mi.first_bad_line, mi.first_bad);
    else if (!rc && !mi.stored)
        rc = suf_err_at(err, SUF_ERR_INPUT, f->path, 0,
                        "no market rows after the header: the map in use is kept");
    sqlite3_finalize(mi.ins);
    return rc;
}
