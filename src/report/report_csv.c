/*
 * report_csv.c: the report's sink into CSV files (see report_csv.h).
 *
 * A sheet is a file.  Cells arrive row by row, top down, but not always
 * left to right, so each sheet holds the row in hand, one field buffer per
 * column, and writes it as a record when a later row starts or the sink
 * closes: memory stays one row per sheet, whatever the number of rows.
 * Calls for different sheets may interleave (the Fallbacks sheets stream
 * while the summary sheets wait for their totals), so every sheet's file
 * stays open until the end.
 *
 * Layout calls (freeze, filter, chart, activate) have no CSV form and are
 * dropped; a column width only says that the column exists.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/amount.h"
#include "base/timeutil.h"
#include "report/report_csv.h"
#include "base/banned.h"

/* Columns a sheet may have: Excel's limit, so a workbook's sheet always
 * fits. */
#define MAX_COLS 16384

struct csv_sheet {
    char *path;
    FILE *f;
    struct suf_buf *fields; /* the row in hand, by column; [ncols] */
    bool *set;              /* which of them hold a cell */
    uint32_t ncols;         /* fields per record: the widest column so far */
    uint32_t row;           /* the row in hand */
    bool holding;           /* a cell of `row` is held */
    uint32_t next;          /* the next record to write */
    const char *why;        /* the first failure, NULL while none (static) */
};

struct rep_csv {
    char *dir;
    mode_t mode;
    struct csv_sheet **sheets;
    int nsheets;
};

/* --- formatting ------------------------------------------------------------ */

void rep_csv_field(struct suf_buf *b, const char *s)
{
    if (!s[strcspn(s, ",\"\r\n")]) {
        suf_buf_addstr(b, s);
        return;
    }
    suf_buf_addch(b, '"');
    for (; *s; s++) {
        if (*s == '"')
            suf_buf_addch(b, '"');
        suf_buf_addch(b, *s);
    }
    suf_buf_addch(b, '"');
}

char *rep_csv_amount(struct rep_amount a, char *buf, size_t size)
{
    int64_t per = a.per > 0 ? a.per : 1;
    int64_t q = a.micros / per, r = a.micros % per;

    /* Half away from zero: |r| >= per - |r| is 2|r| >= per, without the
     * overflow of 2|r|. */
    if (r < 0)
        r = -r;
    if (r >= per - r)
        q += a.micros < 0 ? -1 : 1;
    return suf_amount_format(q, buf, size);
}

char *rep_csv_file_name(const char *sheet, char *out, size_t size)
{
    size_t o = 0;

    for (; *sheet && o + 5 < size; sheet++) {
        char ch = *sheet;

        if (ch >= 'A' && ch <= 'Z')
            out[o++] = (char)(ch - 'A' + 'a');
        else if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
            out[o++] = ch;
        else if (o && out[o - 1] != '_')
            out[o++] = '_';
    }
    while (o && out[o - 1] == '_')
        o--;
    if (!o && size > 6)
        out[o++] = '_';
    snprintf(out + o, size - o, ".csv");
    return out;
}

/* v as a workbook cell holds it: 16 significant digits, as libxlsxwriter
 * writes a number (so 1/3 is 0.3333333333333333 in both); a whole number in
 * full. */
static void add_number(struct suf_buf *b, double v)
{
    if (!isfinite(v))
        return; /* no number at all: an empty field, not "nan" */
    if (v > -1e15 && v < 1e15 && v == (double)(int64_t)v)
        suf_buf_addf(b, "%.0f", v == 0.0 ? 0.0 : v);
    else
        suf_buf_addf(b, "%.16g", v);
}

/* --- a sheet's rows -------------------------------------------------------- */

static void sheet_fail(struct csv_sheet *sh, const char *why)
{
    if (!sh->why)
        sh->why = why;
}

static void put(struct csv_sheet *sh, const char *s, size_t n)
{
    if (!sh->why && n && fwrite(s, 1, n, sh->f) != n)
        sheet_fail(sh, strerror(errno ? errno : EIO));
}

/* Makes room for `cols` fields in every record from here on. */
static bool widen(struct csv_sheet *sh, uint32_t cols)
{
    if (cols > MAX_COLS) {
        sheet_fail(sh, "a cell past the last column a sheet may have");
        return false;
    }
    if (cols <= sh->ncols)
        return true;
    sh->fields = suf_xrealloc(sh->fields, cols * sizeof(*sh->fields));
    sh->set = suf_xrealloc(sh->set, cols * sizeof(*sh->set));
    for (uint32_t i = sh->ncols; i < cols; i++) {
        suf_buf_init(&sh->fields[i]);
        sh->set[i] = false;
    }
    sh->ncols = cols;
    return true;
}

/* Writes `n` records of empty fields. */
static void put_empty(struct csv_sheet *sh, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++) {
        for (uint32_t i = 1; i < sh->ncols; i++)
            put(sh, ",", 1);
        put(sh, "\r\n", 2);
    }
}

/* Writes the row in hand, after the empty rows above it. */
static void flush_row(struct csv_sheet *sh)
{
    if (!sh->holding)
        return;
    put_empty(sh, sh->row - sh->next);
    for (uint32_t i = 0; i < sh->ncols; i++) {
        if (i)
            put(sh, ",", 1);
        if (sh->set[i])
            put(sh, sh->fields[i].buf, sh->fields[i].len);
        suf_buf_reset(&sh->fields[i]);
        sh->set[i] = false;
    }
    put(sh, "\r\n", 2);
    sh->next = sh->row + 1;
    sh->holding = false;
}

/* The field buffer of cell (row, col), emptied; NULL when the cell cannot
 * be written (the sheet then fails at close). */
static struct suf_buf *cell(struct csv_sheet *sh, uint32_t row, uint16_t col)
{
    if (sh->holding && row < sh->row) {
        /* Rows go down only (report_sink.h): one above the row in hand
         * would have to be written out of place. */
        sheet_fail(sh, "a cell above a row already written");
        return NULL;
    }
    if (sh->holding && row > sh->row)
        flush_row(sh);
    if (!widen(sh, (uint32_t)col + 1))
        return NULL;
    sh->row = row;
    sh->holding = true;
    sh->set[col] = true;
    suf_buf_reset(&sh->fields[col]);
    return &sh->fields[col];
}

static void sheet_free(struct csv_sheet *sh)
{
    if (!sh)
        return;
    if (sh->f)
        fclose(sh->f);
    for (uint32_t i = 0; i < sh->ncols; i++)
        suf_buf_release(&sh->fields[i]);
    free(sh->fields);
    free(sh->set);
    free(sh->path);
    free(sh);
}

/* --- the operations -------------------------------------------------------- */

static void *add_sheet(void *self, const char *name)
{
    struct rep_csv *c = self;
    struct csv_sheet *sh = suf_xcalloc(1, sizeof(*sh));
    char file[64];
    int fd;

    sh->path =
        suf_xasprintf("%s/%s", c->dir, rep_csv_file_name(name, file, sizeof(file)));
    /* O_EXCL: two sheets of one name, or a file left there, fail the sink
     * instead of sharing a file. */
    fd = open(sh->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, c->mode);
    if (fd < 0 || !(sh->f = fdopen(fd, "wb"))) {
        sheet_fail(sh, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    c->sheets = suf_xrealloc(c->sheets, (size_t)(c->nsheets + 1) * sizeof(*c->sheets));
    c->sheets[c->nsheets++] = sh;
    return sh;
}

static void text(void *self, void *ws, uint32_t row, uint16_t col, const char *s,
                 enum rep_fmt fmt)
{
    struct suf_buf *b = cell(ws, row, col);

    (void)self;
    (void)fmt;
    if (b)
        rep_csv_field(b, s);
}

static void number(void *self, void *ws, uint32_t row, uint16_t col, double v,
                   enum rep_fmt fmt)
{
    struct suf_buf *b = cell(ws, row, col);

    (void)self;
    (void)fmt;
    if (b)
        add_number(b, v);
}

static void formula(void *self, void *ws, uint32_t row, uint16_t col, const char *f,
                    double v, enum rep_fmt fmt)
{
    (void)f; /* a formula's value, never the formula: CSV readers evaluate none */
    number(self, ws, row, col, v, fmt);
}

static void datetime(void *self, void *ws, uint32_t row, uint16_t col, int64_t t,
                     enum rep_fmt fmt)
{
    struct suf_buf *b = cell(ws, row, col);
    char when[32];

    (void)self;
    (void)fmt;
    if (b)
        suf_buf_addstr(b, suf_time_format(t, when, sizeof(when)));
}

static void amount(void *self, void *ws, uint32_t row, uint16_t col, struct rep_amount a,
                   enum rep_fmt fmt)
{
    struct suf_buf *b = cell(ws, row, col);
    char buf[32];

    (void)self;
    (void)fmt;
    if (b)
        suf_buf_addstr(b, rep_csv_amount(a, buf, sizeof(buf)));
}

static void formula_amount(void *self, void *ws, uint32_t row, uint16_t col,
                           const char *f, struct rep_amount a, enum rep_fmt fmt)
{
    (void)f;
    amount(self, ws, row, col, a, fmt);
}

static void width(void *self, void *ws, uint16_t first, uint16_t last, double w)
{
    (void)self;
    (void)first;
    (void)w;
    widen(ws, (uint32_t)last + 1);
}

static void freeze(void *self, void *ws, uint32_t row, uint16_t col)
{
    (void)self;
    (void)ws;
    (void)row;
    (void)col;
}

static void filter(void *self, void *ws, uint32_t r1, uint16_t c1, uint32_t r2,
                   uint16_t c2)
{
    (void)self;
    (void)ws;
    (void)r1;
    (void)c1;
    (void)r2;
    (void)c2;
}

static void chart(void *self, void *ws, uint32_t row, uint16_t col,
                  const struct rep_chart *ch)
{
    (void)self;
    (void)ws;
    (void)row;
    (void)col;
    (void)ch;
}

static void activate(void *self, void *ws)
{
    (void)self;
    (void)ws;
}

/* A blank is an empty field, but the field is there: a shaded blank in the
 * last column still counts toward the sheet's width, as in the workbook. */
static void blank(void *self, void *ws, uint32_t row, uint16_t col, enum rep_fmt fmt)
{
    (void)self;
    (void)fmt;
    cell(ws, row, col);
}

/* A CSV file neither prints nor has row heights: print and height are
 * NULL, which the sheets allow. */
static const struct rep_sink_ops csv_ops = {
    add_sheet, text,   number,         formula, datetime, width, freeze, filter,
    chart,     activate, amount, formula_amount, blank,  NULL,  NULL,
};

/* --- the sink -------------------------------------------------------------- */

struct rep_csv *rep_csv_open(const char *dir, mode_t mode)
{
    struct rep_csv *c = suf_xcalloc(1, sizeof(*c));

    c->dir = suf_xstrdup(dir);
    c->mode = mode;
    return c;
}

struct rep_sink rep_csv_sink(struct rep_csv *c)
{
    struct rep_sink s = {&csv_ops, c};
    return s;
}

/* Writes what sh holds and closes its file durably. */
static void sheet_finish(struct csv_sheet *sh)
{
    FILE *f = sh->f;

    if (!f)
        return;
    flush_row(sh);
    sh->f = NULL;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        sheet_fail(sh, strerror(errno));
    if (fclose(f) != 0)
        sheet_fail(sh, strerror(errno));
}

int rep_csv_close(struct rep_csv *c, struct suf_err *err)
{
    int rc = SUF_OK;

    for (int i = 0; i < c->nsheets; i++) {
        struct csv_sheet *sh = c->sheets[i];

        sheet_finish(sh);
        if (sh->why && !rc)
            rc = suf_err_at(err, SUF_ERR_IO, sh->path, 0, "cannot write CSV file: %s",
                            sh->why);
    }
    rep_csv_discard(c);
    return rc;
}

void rep_csv_discard(struct rep_csv *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->nsheets; i++)
        sheet_free(c->sheets[i]);
    free(c->sheets);
    free(c->dir);
    free(c);
}
