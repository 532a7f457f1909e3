/*
 * test_report.c: the report's file names (a campaign id is data, never a
 * path), and every sheet of its workbooks, cell by cell, against expected
 * tables.
 *
 * The sheets render through a rep_sink (report_sink.h).  Here a recording
 * sink keeps what each sheet receives, and the golden tests render the
 * store of tests/data/report/fixture.sql as of 2026-11-25T02:00:00Z (and
 * the same store stripped of its rate cards and market map), with
 * the very steps `suf report` takes (rep_render_campaign,
 * rep_render_portfolio), then compare each sheet with its table in
 * tests/data/report/golden/<workbook>/<sheet>.tsv.  A table has one line
 * per cell, sorted by row then column:
 *
 *     ref  kind  format  value  [computed value, for a formula]
 *
 * with kind text, number, formula, datetime or blank (an empty cell with a
 * format), the format's name (the looks of the formats are in
 * golden/formats.tsv), then the sheet's column widths, frozen panes,
 * filter, chart, print settings and row heights, in the order they were
 * set.
 * Tabs, newlines and backslashes in values are written \t, \n and \\;
 * numbers in the fewest digits that read back exactly; times in UTC.  The
 * suf version is written @VERSION@, so a release changes no table; the
 * as-of time is fixed by the run's clock.  golden/<workbook>/workbook.tsv
 * lists the sheets in order, and the one made active, if any.
 *
 * A change to any cell's value, formula or format, or to a sheet's layout,
 * fails the test and prints the first line that differs.  After a change
 * that is meant, regenerate the tables from the build folder:
 *
 *     SUF_GOLDEN_UPDATE=1 SUF_SOURCE_DIR=<source folder> ./test_report
 *
 * and review their diff before committing it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xlsxwriter/utility.h>

#include "base/config.h"
#include "base/context.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "base/version.h"
#include "money/money_builtin.h"
#include "plan/plan.h"
#include "report/report.h"
#include "report/report_csv.h"
#include "report/report_priv.h"
#include "report/report_xlsx.h"
#include "testutil.h"

#define AS_OF INT64_C(1795572000) /* 2026-11-25T02:00:00Z */
#define GOLDEN "tests/data/report/golden"

static int safe_chars(const char *s)
{
    if (s[0] == '.' || !s[0])
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

static void test_report__safe_names_stay_inside_the_folder(void)
{
    static const struct {
        const char *id;
        const char *exact; /* NULL: changed, so hashed */
    } rows[] = {
        {"camp_a", "camp_a"},
        {"Winter-2026.v2", "Winter-2026.v2"},
        {"../../etc/x", NULL},
        {"a/b", NULL},
        {"a_b", "a_b"},
        {"..", NULL},
        {".hidden", NULL},
        {"", NULL},
        {"caf\xc3\xa9", NULL},
        {"x\ny", NULL},
    };
    char out[96], other[96];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        suf_report_safe_name(rows[i].id, out, sizeof(out));
        CU_ASSERT(safe_chars(out));
        CU_ASSERT_PTR_NULL(strstr(out, "/"));
        CU_ASSERT(strcmp(out, ".") && strcmp(out, ".."));
        if (rows[i].exact) {
            CU_ASSERT_STRING_EQUAL(out, rows[i].exact);
        } else {
            CU_ASSERT_PTR_NOT_NULL(strchr(out, '-'));
        }
    }
    /* Ids that sanitise alike still get different names. */
    suf_report_safe_name("a/b", out, sizeof(out));
    suf_report_safe_name("a_b", other, sizeof(other));
    CU_ASSERT_STRING_NOT_EQUAL(out, other);
    suf_report_safe_name("a/b", other, sizeof(other));
    CU_ASSERT_STRING_EQUAL(out, other); /* deterministic */
}

static void test_report__long_ids_are_cut_and_kept_apart(void)
{
    char a[400], b[400], oa[96], ob[96];

    memset(a, 'L', sizeof(a) - 1);
    a[sizeof(a) - 1] = '\0';
    memcpy(b, a, sizeof(b));
    b[300] = 'M';
    suf_report_safe_name(a, oa, sizeof(oa));
    suf_report_safe_name(b, ob, sizeof(ob));
    CU_ASSERT(strlen(oa) <= 89);
    CU_ASSERT(safe_chars(oa));
    CU_ASSERT_STRING_NOT_EQUAL(oa, ob);
}

/* --- the recording sink ---------------------------------------------------------- */

#define REC_SHEETS 16

/* One cell, as its table line. */
struct rec_cell {
    uint32_t row;
    uint16_t col;
    int seq; /* call order: keeps two writes of one cell in order */
    char *line;
};

struct rec_sheet {
    char name[32];
    struct rec_cell *cells;
    int ncells;
    struct suf_buf layout; /* widths, panes, filter, chart: lines in call order */
    uint32_t next_row;     /* the lowest row a cell may still be written to */
    int rows_back;         /* cells written above a later row: lost in constant memory */
};

struct rec_book {
    const struct rep_format_spec *spec;
    struct rec_sheet sheets[REC_SHEETS];
    int nsheets;
    const struct rec_sheet *active;
    int seq;
};

static void rec_init(struct rec_book *b, const struct rep_format_spec *spec)
{
    memset(b, 0, sizeof(*b));
    b->spec = spec;
}

static void rec_release(struct rec_book *b)
{
    for (int i = 0; i < b->nsheets; i++) {
        for (int k = 0; k < b->sheets[i].ncells; k++)
            free(b->sheets[i].cells[k].line);
        free(b->sheets[i].cells);
        suf_buf_release(&b->sheets[i].layout);
    }
    memset(b, 0, sizeof(*b));
}

/* Adds s to b with tabs, newlines, other control bytes and backslashes
 * escaped, and the suf version as @VERSION@. */
static void add_escaped(struct suf_buf *b, const char *s)
{
    if (!strcmp(s, SUF_VERSION)) {
        suf_buf_addstr(b, "@VERSION@");
        return;
    }
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch == '\\')
            suf_buf_addstr(b, "\\\\");
        else if (ch == '\t')
            suf_buf_addstr(b, "\\t");
        else if (ch == '\n')
            suf_buf_addstr(b, "\\n");
        else if (ch < 0x20 || ch == 0x7f)
            suf_buf_addf(b, "\\x%02x", ch);
        else
            suf_buf_addch(b, (char)ch);
    }
}

/* v in the fewest significant digits that read back as exactly v (a whole
 * number in full). */
static void add_number(struct suf_buf *b, double v)
{
    char buf[40];

    if (v == (double)(int64_t)v && v > -1e15 && v < 1e15) {
        suf_buf_addf(b, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, v);
        if (!memcmp(&(double){strtod(buf, NULL)}, &v, sizeof(v)))
            break;
    }
    suf_buf_addstr(b, buf);
}

static void add_ref(struct suf_buf *b, uint32_t row, uint16_t col)
{
    char ref[LXW_MAX_CELL_NAME_LENGTH];

    lxw_rowcol_to_cell(ref, row, col);
    suf_buf_addstr(b, ref);
}

/* Starts the line of a cell: "ref\tkind\tformat\t". */
static struct suf_buf cell_start(struct rec_book *book, struct rec_sheet *sh, uint32_t row,
                                 uint16_t col, const char *kind, enum rep_fmt fmt)
{
    struct suf_buf b = SUF_BUF_INIT;

    if (row < sh->next_row)
        sh->rows_back++;
    else
        sh->next_row = row;
    add_ref(&b, row, col);
    suf_buf_addf(&b, "\t%s\t%s\t", kind, book->spec[fmt].name);
    return b;
}

static void cell_end(struct rec_book *book, struct rec_sheet *sh, uint32_t row, uint16_t col,
                     struct suf_buf *b)
{
    struct rec_cell *c;

    sh->cells = suf_xrealloc(sh->cells, (size_t)(sh->ncells + 1) * sizeof(*sh->cells));
    c = &sh->cells[sh->ncells++];
    c->row = row;
    c->col = col;
    c->seq = book->seq++;
    c->line = suf_buf_detach(b);
}

static void *rec_add_sheet(void *self, const char *name)
{
    struct rec_book *book = self;
    struct rec_sheet *sh;

    CU_ASSERT_FATAL(book->nsheets < REC_SHEETS);
    sh = &book->sheets[book->nsheets++];
    suf_strlcpy(sh->name, name, sizeof(sh->name));
    return sh;
}

static void rec_text(void *self, void *ws, uint32_t row, uint16_t col, const char *s,
                     enum rep_fmt fmt)
{
    struct suf_buf b = cell_start(self, ws, row, col, "text", fmt);

    add_escaped(&b, s);
    cell_end(self, ws, row, col, &b);
}

/* Money formats carry micros (struct rep_amount) to the sink: a number or
 * formula of such a format came through a double, which the CSV sink could
 * only round. */
static bool money_format(enum rep_fmt fmt)
{
    return fmt == REP_FMT_MONEY || fmt == REP_FMT_MONEY_TOTAL || fmt == REP_FMT_RATE ||
           fmt == REP_FMT_RATE_TOTAL || fmt == REP_FMT_UNPRICED || fmt == REP_FMT_UNPRICED_TOTAL;
}

static void rec_number(void *self, void *ws, uint32_t row, uint16_t col, double v,
                       enum rep_fmt fmt)
{
    struct suf_buf b = cell_start(self, ws, row, col, "number", fmt);

    CU_ASSERT(!money_format(fmt));

    add_number(&b, v);
    cell_end(self, ws, row, col, &b);
}

static void rec_formula(void *self, void *ws, uint32_t row, uint16_t col, const char *formula,
                        double value, enum rep_fmt fmt)
{
    struct suf_buf b = cell_start(self, ws, row, col, "formula", fmt);

    CU_ASSERT(!money_format(fmt));
    add_escaped(&b, formula);
    suf_buf_addch(&b, '\t');
    add_number(&b, value);
    cell_end(self, ws, row, col, &b);
}

static void rec_datetime(void *self, void *ws, uint32_t row, uint16_t col, int64_t t,
                         enum rep_fmt fmt)
{
    struct suf_buf b = cell_start(self, ws, row, col, "datetime", fmt);
    char when[32];

    suf_buf_addstr(&b, suf_time_format(t, when, sizeof(when)));
    cell_end(self, ws, row, col, &b);
}

/* An amount is recorded as the number the workbook's cell holds. */
static void rec_amount(void *self, void *ws, uint32_t row, uint16_t col, struct rep_amount a,
                       enum rep_fmt fmt)
{
    struct suf_buf b = cell_start(self, ws, row, col, "number", fmt);

    CU_ASSERT(a.per > 0);
    add_number(&b, rep_amount_value(a));
    cell_end(self, ws, row, col, &b);
}

static void rec_formula_amount(void *self, void *ws, uint32_t row, uint16_t col,
                               const char *formula, struct rep_amount a, enum rep_fmt fmt)
{
    struct suf_buf b = cell_start(self, ws, row, col, "formula", fmt);

    CU_ASSERT(a.per > 0);
    add_escaped(&b, formula);
    suf_buf_addch(&b, '\t');
    add_number(&b, rep_amount_value(a));
    cell_end(self, ws, row, col, &b);
}

static void rec_width(void *self, void *ws, uint16_t first, uint16_t last, double width)
{
    struct rec_sheet *sh = ws;
    char a[LXW_MAX_CELL_NAME_LENGTH], z[LXW_MAX_CELL_NAME_LENGTH];

    (void)self;
    lxw_rowcol_to_cell(a, 0, first);
    lxw_rowcol_to_cell(z, 0, last);
    a[strcspn(a, "0123456789")] = '\0';
    z[strcspn(z, "0123456789")] = '\0';
    suf_buf_addf(&sh->layout, "%s:%s\twidth\t\t", a, z);
    add_number(&sh->layout, width);
    suf_buf_addch(&sh->layout, '\n');
}

static void rec_freeze(void *self, void *ws, uint32_t row, uint16_t col)
{
    struct rec_sheet *sh = ws;

    (void)self;
    add_ref(&sh->layout, row, col);
    suf_buf_addstr(&sh->layout, "\tfreeze\n");
}

static void rec_filter(void *self, void *ws, uint32_t r1, uint16_t c1, uint32_t r2, uint16_t c2)
{
    struct rec_sheet *sh = ws;

    (void)self;
    add_ref(&sh->layout, r1, c1);
    suf_buf_addch(&sh->layout, ':');
    add_ref(&sh->layout, r2, c2);
    suf_buf_addstr(&sh->layout, "\tfilter\n");
}

static void rec_chart(void *self, void *ws, uint32_t row, uint16_t col, const struct rep_chart *ch)
{
    struct rec_sheet *sh = ws;

    (void)self;
    add_ref(&sh->layout, row, col);
    suf_buf_addf(&sh->layout, "\tchart\tcolumn\t%s\t%s\t%s\t%s\t%s\t", ch->title,
                 ch->series_name, ch->categories, ch->values, ch->x_title ? ch->x_title : "");
    add_number(&sh->layout, ch->x_scale);
    suf_buf_addch(&sh->layout, 'x');
    add_number(&sh->layout, ch->y_scale);
    suf_buf_addch(&sh->layout, '\n');
}

static void rec_activate(void *self, void *ws)
{
    struct rec_book *book = self;

    book->active = ws;
}

static void rec_blank(void *self, void *ws, uint32_t row, uint16_t col, enum rep_fmt fmt)
{
    struct suf_buf b = cell_start(self, ws, row, col, "blank", fmt);

    cell_end(self, ws, row, col, &b);
}

static void rec_print(void *self, void *ws, const struct rep_print *p)
{
    struct rec_sheet *sh = ws;

    (void)self;
    suf_buf_addf(&sh->layout, "print\t%s\tfit %ux%u\trepeat %u:%u\t",
                 p->landscape ? "landscape" : "portrait", (unsigned)p->fit_wide,
                 (unsigned)p->fit_tall, (unsigned)p->repeat_first + 1,
                 (unsigned)p->repeat_last + 1);
    add_escaped(&sh->layout, p->header ? p->header : "");
    suf_buf_addch(&sh->layout, '\t');
    add_escaped(&sh->layout, p->footer ? p->footer : "");
    suf_buf_addch(&sh->layout, '\n');
}

static void rec_height(void *self, void *ws, uint32_t row, double points)
{
    struct rec_sheet *sh = ws;

    (void)self;
    suf_buf_addf(&sh->layout, "%u:%u\theight\t\t", (unsigned)row + 1, (unsigned)row + 1);
    add_number(&sh->layout, points);
    suf_buf_addch(&sh->layout, '\n');
}

static const struct rep_sink_ops rec_ops = {
    rec_add_sheet, rec_text,   rec_number, rec_formula,        rec_datetime, rec_width,
    rec_freeze,    rec_filter, rec_chart,  rec_activate,       rec_amount,   rec_formula_amount,
    rec_blank,     rec_print,  rec_height,
};

/* --- tables ---------------------------------------------------------------------- */

static int cmp_cell(const void *a, const void *b)
{
    const struct rec_cell *x = a, *y = b;

    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq - y->seq;
}

/* The table of one sheet (the caller frees it). */
static char *sheet_table(struct rec_sheet *sh)
{
    struct suf_buf b = SUF_BUF_INIT;

    qsort(sh->cells, (size_t)sh->ncells, sizeof(*sh->cells), cmp_cell);
    for (int i = 0; i < sh->ncells; i++) {
        suf_buf_addstr(&b, sh->cells[i].line);
        suf_buf_addch(&b, '\n');
    }
    suf_buf_addstr(&b, suf_buf_str(&sh->layout));
    return suf_buf_detach(&b);
}

/* "By market" -> "by_market", "Fallbacks (2)" -> "fallbacks_2": a sheet's
 * CSV file name (report_csv.h), without ".csv". */
static void table_name(const char *sheet, char *out, size_t size)
{
    size_t n = strlen(rep_csv_file_name(sheet, out, size));

    if (n >= 4)
        out[n - 4] = '\0';
}

static char *read_text(const char *path)
{
    struct suf_buf b = SUF_BUF_INIT;
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n;

    if (!f)
        return NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        suf_buf_add(&b, chunk, n);
    fclose(f);
    return suf_buf_detach(&b);
}

static bool updating(void)
{
    const char *v = getenv("SUF_GOLDEN_UPDATE");
    return v && *v && strcmp(v, "0");
}

/* Prints where `got` first differs from `want`, line by line. */
static void show_difference(const char *rel, const char *want, const char *got)
{
    int line = 1;

    while (*want && *got) {
        size_t a = strcspn(want, "\n"), b = strcspn(got, "\n");

        if (a != b || memcmp(want, got, a)) {
            fprintf(stderr, "\n%s:%d:\n  expected: %.*s\n  got:      %.*s\n", rel, line, (int)a,
                    want, (int)b, got);
            return;
        }
        want += a + (want[a] == '\n');
        got += b + (got[b] == '\n');
        line++;
    }
    fprintf(stderr, "\n%s:%d: expected %s\n", rel, line,
            *want ? "more lines" : "no more lines, got more");
}

/* Compares `got` with the table `rel` (under the source folder), or
 * writes it there when SUF_GOLDEN_UPDATE is set. */
static void check_table(const char *rel, const char *got)
{
    char path[1024];
    char *want;

    snprintf(path, sizeof(path), "%s", suf_test_source(rel));
    if (updating()) {
        FILE *f;

        for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
            *s = '\0';
            if (mkdir(path, 0755) != 0 && errno != EEXIST)
                fprintf(stderr, "cannot create %s: %s\n", path, strerror(errno));
            *s = '/';
        }
        f = fopen(path, "wb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        fputs(got, f);
        CU_ASSERT_EQUAL(fclose(f), 0);
        return;
    }
    want = read_text(path);
    if (!want) {
        fprintf(stderr, "\n%s: missing (SUF_GOLDEN_UPDATE=1 writes it)\n", rel);
        CU_FAIL("expected table missing");
        return;
    }
    if (strcmp(want, got)) {
        show_difference(rel, want, got);
        CU_FAIL("sheet differs from its expected table");
    }
    free(want);
}

/* Checks the sheets of `book` whose names start with `only` ("" for all)
 * against golden/<dir>/, and the workbook's list of sheets. */
static void check_book(struct rec_book *book, const char *dir, const char *only)
{
    struct suf_buf list = SUF_BUF_INIT;
    char rel[512], name[64];

    for (int i = 0; i < book->nsheets; i++) {
        struct rec_sheet *sh = &book->sheets[i];

        suf_buf_addf(&list, "sheet\t%s\n", sh->name);
        CU_ASSERT_EQUAL(sh->rows_back, 0); /* constant memory: rows go down only */
        if (strncmp(sh->name, only, strlen(only)))
            continue;
        table_name(sh->name, name, sizeof(name));
        snprintf(rel, sizeof(rel), GOLDEN "/%s/%s.tsv", dir, name);
        {
            char *table = sheet_table(sh);
            check_table(rel, table);
            free(table);
        }
    }
    if (book->active)
        suf_buf_addf(&list, "active\t%s\n", book->active->name);
    snprintf(rel, sizeof(rel), GOLDEN "/%s/workbook.tsv", dir);
    check_table(rel, suf_buf_str(&list));
    suf_buf_release(&list);
}

/* --- the fixture ----------------------------------------------------------------- */

static struct suf_config cfg;
static struct suf_store st = SUF_STORE_INIT;
static struct suf_run run;
static struct rep_ctx ctx;
static struct rep_formats formats;
static bool made;

/* The store of fixture.sql and the report's context on it, made once. */
static void fixture(void)
{
    struct suf_err err = SUF_ERR_INIT;
    char *sql;

    if (made)
        return;
    made = true;
    suf_config_init(&cfg);
    suf_test_store(&st, "report.db");
    sql = read_text(suf_test_source("tests/data/report/fixture.sql"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(sql);
    if (suf_store_exec(&st, sql, &err))
        fprintf(stderr, "fixture.sql: %s\n", err.msg);
    free(sql);
    run.cfg = &cfg;
    run.store = &st;
    suf_clock_init(&run.clock, AS_OF);
    CU_ASSERT_EQUAL_FATAL(rep_ctx_init(&ctx, &run, &err), SUF_OK);
    rep_formats_init(&formats, suf_money_currency(ctx.money));
}

/* The same store with no rate card and no market map: every charge is
 * unpriced. */
static struct suf_store bare_st = SUF_STORE_INIT;
static struct suf_run bare_run;
static struct rep_ctx bare_ctx;
static bool bare_made;

static void fixture_bare(void)
{
    struct suf_err err = SUF_ERR_INIT;
    char *sql;

    fixture();
    if (bare_made)
        return;
    bare_made = true;
    suf_test_store(&bare_st, "report-bare.db");
    sql = read_text(suf_test_source("tests/data/report/fixture.sql"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(sql);
    if (suf_store_exec(&bare_st, sql, &err) ||
        suf_store_exec(&bare_st, "DELETE FROM rates; DELETE FROM rate_cards; DELETE FROM markets",
                       &err))
        fprintf(stderr, "fixture.sql: %s\n", err.msg);
    free(sql);
    bare_run.cfg = &cfg;
    bare_run.store = &bare_st;
    suf_clock_init(&bare_run.clock, AS_OF);
    CU_ASSERT_EQUAL_FATAL(rep_ctx_init(&bare_ctx, &bare_run, &err), SUF_OK);
}

static void fixture_release(void)
{
    if (bare_made) {
        rep_ctx_release(&bare_ctx);
        suf_store_close(&bare_st);
        json_decref(bare_run.counts);
    }
    if (!made)
        return;
    rep_ctx_release(&ctx);
    suf_store_close(&st);
    json_decref(run.counts);
    suf_config_release(&cfg);
}

/* Renders campaign `id` of the store behind `cx` into a recording; fills c. */
static void render_campaign_in(struct rep_ctx *cx, const char *id, struct rep_campaign *c,
                               struct rec_book *book, int64_t rows_per_sheet)
{
    struct rep_sink sink = {&rec_ops, book};
    struct suf_err err = SUF_ERR_INIT;

    rec_init(book, formats.spec);
    rep_campaign_init(c, cx, id);
    rep_place_campaign(cx, c);
    CU_ASSERT_EQUAL(rep_render_campaign(cx, c, &sink, rows_per_sheet, &err), SUF_OK);
}

static void render_campaign(const char *id, struct rep_campaign *c, struct rec_book *book,
                            int64_t rows_per_sheet)
{
    render_campaign_in(&ctx, id, c, book, rows_per_sheet);
}

/* The recorded line of cell `ref` on sheet `name` ("kind\tformat\tvalue"
 * after the ref), or NULL when the cell was never written. */
static const char *cell_of(const struct rec_book *book, const char *name, const char *ref)
{
    size_t n = strlen(ref);

    for (int i = 0; i < book->nsheets; i++) {
        const struct rec_sheet *sh = &book->sheets[i];

        if (strcmp(sh->name, name))
            continue;
        for (int k = 0; k < sh->ncells; k++)
            if (!strncmp(sh->cells[k].line, ref, n) && sh->cells[k].line[n] == '\t')
                return sh->cells[k].line + n + 1;
    }
    return NULL;
}

/* Whether cell `ref` of sheet `name` is `kind`, in `format`, and (unless
 * NULL) starts with `value`. */
static bool cell_is(const struct rec_book *book, const char *name, const char *ref,
                    const char *kind, const char *format, const char *value)
{
    const char *line = cell_of(book, name, ref);
    char want[256];

    snprintf(want, sizeof(want), "%s\t%s\t%s", kind, format, value ? value : "");
    if (line && !strncmp(line, want, strlen(want)))
        return true;
    fprintf(stderr, "\n%s!%s: %s, expected %s\n", name, ref, line ? line : "(none)", want);
    return false;
}

/* The number a cell holds (a formula's computed value), into *v. */
static bool cell_number(const struct rec_book *book, const char *name, const char *ref,
                        double *v)
{
    const char *line = cell_of(book, name, ref), *p;

    if (!line || (strncmp(line, "number\t", 7) && strncmp(line, "formula\t", 8)))
        return false;
    p = strrchr(line, '\t');
    *v = strtod(p + 1, NULL);
    return true;
}

static int64_t micros_of(double v)
{
    return (int64_t)(v * 1e6 + (v < 0 ? -0.5 : 0.5));
}

static void test_report__campaign_sheets_match_golden(void)
{
    static const char *const ids[] = {"camp_a", "b/x", "camp_mid"};

    fixture();
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct rep_campaign c;
        struct rec_book book;

        render_campaign(ids[i], &c, &book, 0);
        check_book(&book, c.safe, "");
        rec_release(&book);
        rep_campaign_release(&c);
    }
}

/* Whether `book` has a sheet called `name`. */
static bool has_sheet(const struct rec_book *book, const char *name)
{
    for (int i = 0; i < book->nsheets; i++)
        if (!strcmp(book->sheets[i].name, name))
            return true;
    return false;
}

static void test_report__fallbacks_continue_on_a_new_sheet(void)
{
    struct rep_campaign c;
    struct rec_book book;

    fixture();
    render_campaign("camp_a", &c, &book, 2);
    CU_ASSERT(has_sheet(&book, "Fallbacks (3)"));
    check_book(&book, "camp_a_split", "Fallbacks");
    rec_release(&book);
    rep_campaign_release(&c);
}

/* The excluded recipients split like the fallbacks (3 rows, 2 a sheet),
 * and the waiting ones (2 rows) fill one sheet; every list keeps its
 * place in the workbook. */
static void test_report__left_out_lists_continue_on_a_new_sheet(void)
{
    struct rep_campaign c;
    struct rec_book book;

    fixture();
    render_campaign("camp_a", &c, &book, 2);
    CU_ASSERT(has_sheet(&book, "Excluded recipients (2)"));
    CU_ASSERT(!has_sheet(&book, "Excluded recipients (3)"));
    CU_ASSERT(!has_sheet(&book, "Waiting recipients (2)"));
    check_book(&book, "camp_a_split", "Excluded recipients");
    check_book(&book, "camp_a_split", "Waiting recipients");
    rec_release(&book);
    rep_campaign_release(&c);
}

/* Every reason plan has is in words; a reason it does not have says so. */
/* Counts the fallbacks handed over, and the sorts of every statement live
 * meanwhile: the report's scan among them. */
struct sort_probe {
    sqlite3 *db;
    int fallbacks, sorts;
};

static int probe_sorts(void *user, const struct rep_fallback *fb, struct suf_err *err)
{
    struct sort_probe *p = user;

    (void)fb;
    (void)err;
    p->fallbacks++;
    for (sqlite3_stmt *s = sqlite3_next_stmt(p->db, NULL); s; s = sqlite3_next_stmt(p->db, s))
        p->sorts += sqlite3_stmt_status(s, SQLITE_STMTSTATUS_SORT, 0);
    return 0;
}

/* A campaign among others is read in id order without a sort, which would
 * hold all its rows in memory before the first came out. */
static void test_report__fallbacks_are_read_without_a_sort(void)
{
    struct sort_probe probe = {0};
    struct rep_campaign c;
    struct suf_err err = SUF_ERR_INIT;

    fixture();
    probe.db = st.db;
    rep_campaign_init(&c, &ctx, "camp_a");
    CU_ASSERT_EQUAL(rep_scan_fallbacks(&ctx, &c, probe_sorts, &probe, &err), SUF_OK);
    CU_ASSERT(probe.fallbacks > 1);
    CU_ASSERT_EQUAL(probe.sorts, 0);
    rep_campaign_release(&c);
}

static void test_report__every_reason_has_words(void)
{
    const char *unknown = rep_reason_words("no_such_reason");

    CU_ASSERT_PTR_NOT_NULL_FATAL(unknown);
    for (int i = SUF_REASON_NONE + 1; i < SUF_REASON_COUNT; i++) {
        const char *w = rep_reason_words(suf_plan_reason_name((enum suf_reason)i));

        CU_ASSERT_PTR_NOT_NULL_FATAL(w);
        CU_ASSERT(*w && strcmp(w, unknown));
    }
}

static void test_report__portfolio_sheets_match_golden(void)
{
    struct rep_campaign *cs[4];
    struct rep_billed mb;
    struct rep_sink sink;
    struct rec_book book;
    struct suf_err err = SUF_ERR_INIT;
    char *id = NULL;
    int n = 0, len = 0;

    fixture();
    /* The campaigns in the driver's order, each trimmed as it leaves them. */
    CU_ASSERT_EQUAL(rep_next_campaign(&ctx, "", 0, &id, &len, &err), SUF_OK);
    while (id && n < 4) {
        struct rec_book one;
        char *next = NULL;
        int next_len = 0;

        cs[n] = suf_xmalloc(sizeof(*cs[n]));
        render_campaign(id, cs[n], &one, 0);
        rec_release(&one);
        rep_campaign_trim(cs[n++]);
        CU_ASSERT_EQUAL(rep_next_campaign(&ctx, id, len, &next, &next_len, &err), SUF_OK);
        free(id);
        id = next;
        len = next_len;
    }
    free(id);
    CU_ASSERT_EQUAL(n, 3);
    /* The account's own number, as an operator may write it. */
    free(cfg.meta_phone_number);
    cfg.meta_phone_number = suf_xstrdup("+1 555 000 1111");
    CU_ASSERT_EQUAL(rep_scan_meta_billed(&ctx, &mb, &err), SUF_OK);
    rec_init(&book, formats.spec);
    sink = (struct rep_sink){&rec_ops, &book};
    rep_render_portfolio(&ctx, &sink, cs, n, &mb);
    check_book(&book, "portfolio", "");
    rec_release(&book);
    rep_billed_release(&mb);
    free(cfg.meta_phone_number);
    cfg.meta_phone_number = suf_xstrdup("");
    for (int i = 0; i < n; i++) {
        rep_campaign_release(cs[i]);
        free(cs[i]);
    }
}

/* With no rate card and no market map imported (the built-in map places
 * the phones), every charge is unpriced: its
 * cells are blank and shaded, the Summary opens with a banner, totals show
 * the known part with the count beside it, and no cost reads 0. */
static void test_report__unpriced_charges_are_blank_never_zero(void)
{
    struct rep_campaign c;
    struct rec_book book;

    fixture_bare();
    render_campaign_in(&bare_ctx, "camp_a", &c, &book, 0);
    check_book(&book, "camp_a_unpriced", "");
    CU_ASSERT_EQUAL(c.charges_unpriced, 12);
    CU_ASSERT_EQUAL(c.charges_webhook + c.charges_estimated, 0);
    CU_ASSERT(cell_is(&book, "Summary", "A1", "text", "banner", "Unpriced: 12 of 12 charges"));
    /* Fallback 1: two charges, once "priced from: webhook". */
    for (const char *const *ref = (const char *const[]){"P2", "Q2", "R2", "S2", NULL}; *ref;
         ref++)
        CU_ASSERT(cell_is(&book, "Fallbacks", *ref, "blank", "unpriced", NULL));
    CU_ASSERT(cell_is(&book, "Fallbacks", "T2", "text", "unpriced_count", "unpriced"));
    CU_ASSERT(cell_is(&book, "Fallbacks", "U2", "number", "unpriced_count", "2"));
    /* Fallback 5 has no charge at all: nothing unknown, a true zero. */
    CU_ASSERT(cell_is(&book, "Fallbacks", "P6", "number", "money", "0"));
    CU_ASSERT_PTR_NULL(cell_of(&book, "Fallbacks", "U6"));
    /* The costs: nothing is known, so nothing reads 0; the count beside. */
    CU_ASSERT(cell_is(&book, "Summary", "A37", "text", "none", "Utility permission messages"));
    CU_ASSERT(cell_is(&book, "Summary", "B37", "blank", "unpriced", NULL));
    CU_ASSERT(cell_is(&book, "Summary", "C37", "blank", "unpriced", NULL));
    CU_ASSERT(cell_is(&book, "Summary", "D37", "number", "unpriced_count", "6"));
    CU_ASSERT(cell_is(&book, "Summary", "B39", "blank", "unpriced_total", NULL));
    CU_ASSERT(cell_is(&book, "Summary", "B40", "blank", "unpriced", NULL));
    /* Every row of rates applied is unpriced: no rate, no cost. */
    CU_ASSERT(cell_is(&book, "By market", "A19", "text", "bold", "Total, policy view"));
    CU_ASSERT(cell_is(&book, "By market", "H19", "blank", "unpriced_total", NULL));
    for (int r = 2; r <= 18; r++) {
        char g[16], j[16];

        snprintf(g, sizeof(g), "G%d", r);
        snprintf(j, sizeof(j), "J%d", r);
        CU_ASSERT(cell_is(&book, "By market", g, "blank", "unpriced", NULL));
        CU_ASSERT(cell_is(&book, "By market", j, "number", "unpriced_count", NULL));
    }
    rec_release(&book);
    rep_campaign_release(&c);
}

/* Each row of By market is its messages times its rate, in the view it
 * names; a card that changes mid-campaign gives a row per card. */
static void test_report__by_market_rows_are_messages_times_rate(void)
{
    static const char *const ids[] = {"camp_a", "b/x", "camp_mid"};

    fixture();
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct rep_campaign c;
        struct rec_book book;
        int rows = 0;

        render_campaign(ids[i], &c, &book, 0);
        for (int r = 2;; r++) {
            char ref[4][16];
            const char *a;
            double n = 0, rate = 0, cost = 0; /* set by cell_number, or the test stops */

            snprintf(ref[0], sizeof(ref[0]), "A%d", r);
            a = cell_of(&book, "By market", ref[0]);
            if (!a || strstr(a, "Total"))
                break;
            snprintf(ref[1], sizeof(ref[1]), "F%d", r);
            snprintf(ref[2], sizeof(ref[2]), "G%d", r);
            CU_ASSERT_FATAL(cell_number(&book, "By market", ref[1], &n));
            if (!cell_number(&book, "By market", ref[2], &rate))
                continue; /* unpriced: no rate, no cost */
            snprintf(ref[3], sizeof(ref[3]), "H%d", r);
            if (!cell_number(&book, "By market", ref[3], &cost)) {
                snprintf(ref[3], sizeof(ref[3]), "I%d", r);
                CU_ASSERT_FATAL(cell_number(&book, "By market", ref[3], &cost));
            }
            CU_ASSERT_EQUAL(micros_of(cost), (int64_t)n * micros_of(rate));
            rows++;
        }
        CU_ASSERT(rows > 0);
        if (!strcmp(ids[i], "camp_mid")) {
            /* The India broadcasts: two on each card, each at its own rate. */
            CU_ASSERT(cell_is(&book, "By market", "A6", "text", "none", "India"));
            CU_ASSERT(cell_is(&book, "By market", "B6", "datetime", "date", "2026-10-01"));
            CU_ASSERT(cell_is(&book, "By market", "D6", "text", "none", "broadcast"));
            CU_ASSERT(cell_is(&book, "By market", "F6", "number", "count", "2"));
            CU_ASSERT(cell_is(&book, "By market", "G6", "number", "rate", "0.0118"));
            CU_ASSERT(cell_is(&book, "By market", "A10", "text", "none", "India"));
            CU_ASSERT(cell_is(&book, "By market", "B10", "datetime", "date", "2026-11-22"));
            CU_ASSERT(cell_is(&book, "By market", "D10", "text", "none", "broadcast"));
            CU_ASSERT(cell_is(&book, "By market", "F10", "number", "count", "2"));
            CU_ASSERT(cell_is(&book, "By market", "G10", "number", "rate", "0.013"));
            /* Fallback 8 is charged in Bangladesh, its recipient counted in
             * Rest of Asia Pacific: each on its own day. */
            CU_ASSERT(cell_is(&book, "By market", "A2", "text", "none", "Bangladesh"));
            CU_ASSERT(cell_is(&book, "Fallbacks", "C2", "text", "none", "Bangladesh"));
        }
        rec_release(&book);
        rep_campaign_release(&c);
    }
}

/* A campaign id is data in a print header too: Excel's codes ("&P",
 * "&Z"...) are escaped, bad bytes shown as '?', and the header stays within
 * Excel's 255 characters. */
static void test_report__print_header_is_safe(void)
{
    struct rep_campaign c;
    struct rec_book book;
    struct rep_sink sink = {&rec_ops, &book};
    struct rep_book b;
    char name[400], id[] = "R&D &Z\nx";
    const struct rep_left_out excluded = {.phone = "447700900123", .outcome = "excluded",
                                          .reason = "opted_out", .detail = "",
                                          .template_name = "", .market = -1};
    const char *p, *h;

    fixture();
    memset(name, 'N', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    name[0] = '\xff';
    memset(&c, 0, sizeof(c));
    c.id = id;
    c.name = name;
    rec_init(&book, formats.spec);
    rep_book_begin(&b, &ctx, &c, &sink, 0);
    /* A list's sheet starts with its first row, with its print setup. */
    CU_ASSERT_EQUAL(rep_book_excluded(&b, &excluded, NULL), SUF_OK);
    CU_ASSERT_EQUAL_FATAL(book.nsheets, 5);
    p = strstr(suf_buf_str(&book.sheets[4].layout), "print\tlandscape\tfit 1x0\trepeat 1:1\t");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    h = strchr(p, '\t');
    for (int k = 0; k < 3; k++)
        h = strchr(h + 1, '\t');
    h++;
    CU_ASSERT(!strncmp(h, "&LR&&D &&Z x: ?NNN", 18));
    CU_ASSERT(strcspn(h, "\t") <= 255);
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "&RAs of 2026-11-25 02:00:00 UTC\t&L&A&RPage &P of &N\n"));
    rec_release(&book);
}

static void test_report__formats_match_golden(void)
{
    struct suf_buf b = SUF_BUF_INIT;

    fixture();
    suf_buf_addstr(&b, "format\tbold\tfont_size\twrap\talign_top\trule_above\trule_below\t"
                       "bg_color\tnum_format\n");
    for (int i = 0; i < REP_NFMT; i++) {
        const struct rep_format_spec *s = &formats.spec[i];

        suf_buf_addf(&b, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%06X\t", s->name, s->bold, s->font_size,
                     s->wrap, s->align_top, s->rule_above, s->rule_below, (unsigned)s->bg_color);
        add_escaped(&b, s->num_format ? s->num_format : "General");
        suf_buf_addch(&b, '\n');
    }
    check_table(GOLDEN "/formats.tsv", suf_buf_str(&b));
    suf_buf_release(&b);
}

/* The fixture imported its market map, and Inputs names that file.  A
 * store where `suf import markets` never ran prices with the map built
 * into suf, and Inputs says so, with the map's version. */
static void test_report__inputs_name_the_built_in_map(void)
{
    struct suf_config cfg2;
    struct suf_store st2 = SUF_STORE_INIT;
    struct suf_run run2;
    struct rep_ctx ctx2;
    struct rec_book book;
    struct rep_sink sink = {&rec_ops, &book};
    struct suf_err err = SUF_ERR_INIT;
    char want[160];
    int found = 0;

    fixture();
    suf_config_init(&cfg2);
    suf_test_store(&st2, "builtin.db");
    memset(&run2, 0, sizeof(run2));
    run2.cfg = &cfg2;
    run2.store = &st2;
    suf_clock_init(&run2.clock, AS_OF);
    CU_ASSERT_EQUAL_FATAL(rep_ctx_init(&ctx2, &run2, &err), SUF_OK);
    rec_init(&book, formats.spec);
    rep_render_portfolio(&ctx2, &sink, NULL, 0, NULL);
    snprintf(want, sizeof(want), "\ttext\tnone\tbuilt-in (fixtures/markets.csv), SHA-256 %s",
             suf_money_builtin_map_sha256);
    for (int i = 0; i < book.nsheets; i++) {
        for (int k = 0; !strcmp(book.sheets[i].name, "Inputs") && k < book.sheets[i].ncells;
             k++) {
            const char *line = book.sheets[i].cells[k].line;
            size_t n = strlen(line), w = strlen(want);

            found += n >= w && !strcmp(line + n - w, want);
        }
    }
    CU_ASSERT_EQUAL(found, 1);
    rec_release(&book);
    rep_ctx_release(&ctx2);
    suf_store_close(&st2);
    json_decref(run2.counts);
    suf_config_release(&cfg2);
}

/* The same rendering into the libxlsxwriter sink gives a complete file
 * (what its cells hold, e2e_report reads back). */
static void test_report__workbook_file_is_written(void)
{
    char path[1024], head[2] = {0, 0};
    struct suf_err err = SUF_ERR_INIT;
    struct rep_campaign c;
    struct rep_xlsx *x;
    struct rep_sink sink;
    FILE *f;

    fixture();
    snprintf(path, sizeof(path), "%s", suf_test_path("camp_a.xlsx"));
    x = rep_xlsx_open(path, suf_test_scratch(), "suf report: camp_a", AS_OF, formats.spec);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    sink = rep_xlsx_sink(x);
    rep_campaign_init(&c, &ctx, "camp_a");
    CU_ASSERT_EQUAL(rep_render_campaign(&ctx, &c, &sink, 2, &err), SUF_OK);
    CU_ASSERT_EQUAL(rep_xlsx_close(x, path, &err), SUF_OK);
    f = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fread(head, 1, 2, f), 2);
    CU_ASSERT(head[0] == 'P' && head[1] == 'K'); /* a zip archive */
    fclose(f);
    rep_campaign_release(&c);
}

/* --- the CSV sink ------------------------------------------------------------------ */

static void test_report__csv_fields_follow_rfc4180(void)
{
    static const struct {
        const char *in, *want;
    } rows[] = {
        {"plain", "plain"},
        {"", ""},
        {" spaced ", " spaced "},
        {"caf\xc3\xa9", "caf\xc3\xa9"},
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"\"", "\"\"\"\""},
        {"line\nbreak", "\"line\nbreak\""},
        {"cr\rlf\r\n", "\"cr\rlf\r\n\""},
        {"tab\tstays", "tab\tstays"},
        {"=SUM(A1:A2)", "=SUM(A1:A2)"},
        {"=HYPERLINK(\"http://x\",\"y\")", "\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_buf b = SUF_BUF_INIT;

        rep_csv_field(&b, rows[i].in);
        CU_ASSERT_STRING_EQUAL(suf_buf_str(&b), rows[i].want);
        suf_buf_release(&b);
    }
}

static void test_report__csv_amounts_have_six_places_from_micros(void)
{
    static const struct {
        int64_t micros, per;
        const char *want;
    } rows[] = {
        {0, 1, "0.000000"},
        {11300, 1, "0.011300"},
        {1234567890, 1, "1234.567890"},
        {-5, 1, "-0.000005"},
        /* past 2^53: a double would have lost the last digits */
        {INT64_C(9007199254740993), 1, "9007199254.740993"},
        {INT64_MAX, 1, "9223372036854.775807"},
        /* per-unit figures: rounded to the micro, half away from zero */
        {71766, 2, "0.035883"},
        {10, 3, "0.000003"},
        {20, 3, "0.000007"},
        {5, 2, "0.000003"},
        {7, 2, "0.000004"},
        {-5, 2, "-0.000003"},
        {1, 3, "0.000000"},
        {0, 7, "0.000000"},
        {INT64_MAX, INT64_MAX, "0.000001"},
    };
    char buf[32];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct rep_amount a = {rows[i].micros, rows[i].per};

        CU_ASSERT_STRING_EQUAL(rep_csv_amount(a, buf, sizeof(buf)), rows[i].want);
    }
}

static void test_report__csv_file_names_come_from_sheets(void)
{
    static const struct {
        const char *sheet, *want;
    } rows[] = {
        {"Summary", "summary.csv"},
        {"By market", "by_market.csv"},
        {"Fallbacks (2)", "fallbacks_2.csv"},
        {"Excluded recipients (12)", "excluded_recipients_12.csv"},
        {"../x", "x.csv"},
        {"", "_.csv"},
    };
    char out[64];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        CU_ASSERT_STRING_EQUAL(rep_csv_file_name(rows[i].sheet, out, sizeof(out)), rows[i].want);
}

/* The sink's records: padded to the widest column, empty rows kept, cells
 * of a row in any order, values instead of formulas, ISO times, CRLF. */
static void test_report__csv_sink_writes_records(void)
{
    struct suf_err err = SUF_ERR_INIT;
    struct rep_csv *c;
    struct rep_sink sink;
    const struct rep_sink_ops *op;
    void *ws, *other;
    char dir[1024], path[1100];
    char *got;
    struct rep_amount cost = {1250000, 1}, per = {71766, 2};
    struct stat sb;

    snprintf(dir, sizeof(dir), "%s", suf_test_path("csv_records"));
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
    c = rep_csv_open(dir, 0640);
    sink = rep_csv_sink(c);
    op = sink.ops;
    ws = op->add_sheet(c, "By market");
    other = op->add_sheet(c, "Fallbacks (2)");
    op->width(c, ws, 0, 3, 12);
    op->text(c, ws, 0, 0, "Market", REP_FMT_HEADER);
    op->text(c, ws, 0, 1, "Cost, policy", REP_FMT_HEADER);
    op->freeze(c, ws, 1, 0);
    op->text(c, other, 0, 0, "Fallback", REP_FMT_HEADER); /* sheets interleave */
    op->text(c, ws, 2, 2, "later column first", REP_FMT_NONE);
    op->text(c, ws, 2, 0, "India", REP_FMT_NONE);
    op->amount(c, ws, 2, 1, cost, REP_FMT_MONEY);
    op->datetime(c, ws, 3, 0, INT64_C(1795572000), REP_FMT_DATETIME);
    op->formula(c, ws, 3, 1, "=IF(B2=0,0,B3/B2)", 0.25, REP_FMT_PCT);
    op->formula_amount(c, ws, 3, 2, "=IF(H3=0,0,L3/H3)", per, REP_FMT_MONEY);
    op->number(c, ws, 3, 3, 3.0, REP_FMT_COUNT);
    op->number(c, ws, 4, 0, 1.0 / 3.0, REP_FMT_PCT);
    op->number(c, ws, 4, 1, -0.0, REP_FMT_COUNT);
    op->number(c, ws, 4, 2, 1e-7, REP_FMT_PCT);
    op->filter(c, ws, 0, 0, 3, 3);
    op->activate(c, ws);
    CU_ASSERT_EQUAL(rep_csv_close(c, &err), SUF_OK);

    snprintf(path, sizeof(path), "%s/by_market.csv", dir);
    got = read_text(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, "Market,\"Cost, policy\",,\r\n"
                                ",,,\r\n"
                                "India,1.250000,later column first,\r\n"
                                "2026-11-25T02:00:00Z,0.25,0.035883,3\r\n"
                                "0.3333333333333333,0,1e-07,\r\n");
    free(got);
    CU_ASSERT_EQUAL(stat(path, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0077 & ~0040, 0); /* 0640 less the umask */
    snprintf(path, sizeof(path), "%s/fallbacks_2.csv", dir);
    got = read_text(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, "Fallback\r\n");
    free(got);
}

/* A sink that cannot write a file says which, and why. */
static void test_report__csv_sink_failures_name_the_file(void)
{
    struct suf_err err = SUF_ERR_INIT;
    struct rep_csv *c;
    void *ws;
    char dir[1024];

    /* A cell above a row already written. */
    snprintf(dir, sizeof(dir), "%s", suf_test_path("csv_upward"));
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
    c = rep_csv_open(dir, 0640);
    ws = rep_csv_sink(c).ops->add_sheet(c, "Summary");
    rep_csv_sink(c).ops->text(c, ws, 3, 0, "below", REP_FMT_NONE);
    rep_csv_sink(c).ops->text(c, ws, 1, 0, "above", REP_FMT_NONE);
    CU_ASSERT_EQUAL(rep_csv_close(c, &err), SUF_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "summary.csv: cannot write CSV file: a cell above"));

    /* Two sheets of one file: never one file for both. */
    suf_err_clear(&err);
    c = rep_csv_open(dir, 0640);
    rep_csv_sink(c).ops->add_sheet(c, "Inputs");
    rep_csv_sink(c).ops->add_sheet(c, "inputs");
    CU_ASSERT_EQUAL(rep_csv_close(c, &err), SUF_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "inputs.csv: cannot write CSV file: File exists"));

    /* A folder that is not there. */
    suf_err_clear(&err);
    c = rep_csv_open(suf_test_path("csv_missing/sub"), 0640);
    rep_csv_sink(c).ops->add_sheet(c, "Summary");
    CU_ASSERT_EQUAL(rep_csv_close(c, &err), SUF_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "No such file or directory"));
}

/* A full disk, without mounting one: /dev/full fails every write with
 * ENOSPC.  libxlsxwriter prints its own "[ERROR] workbook_close(): ..."
 * lines to stderr; none may reach it, and the error names the workbook and
 * the reason, as suf's other errors do. */
static void test_report__full_disk_is_one_suf_error(void)
{
    const char *name = "reports/camp_a/camp_a_2026-11-25.xlsx";
    struct suf_err err = SUF_ERR_INIT;
    struct rep_campaign c;
    struct rep_xlsx *x;
    struct rep_sink sink;
    char said[8192];
    int saved, fd, rc;
    ssize_t n;

    CU_ASSERT_EQUAL_FATAL(access("/dev/full", W_OK), 0);
    fixture();
    x = rep_xlsx_open("/dev/full", suf_test_scratch(), "suf report: camp_a", AS_OF, formats.spec);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    sink = rep_xlsx_sink(x);
    rep_campaign_init(&c, &ctx, "camp_a");
    CU_ASSERT_EQUAL(rep_render_campaign(&ctx, &c, &sink, 2, &err), SUF_OK);
    fflush(stderr);
    saved = dup(2);
    fd = open(suf_test_path("stderr.txt"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CU_ASSERT_FATAL(saved >= 0 && fd >= 0 && dup2(fd, 2) == 2);
    rc = rep_xlsx_close(x, name, &err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    n = pread(fd, said, sizeof(said) - 1, 0);
    close(fd);
    said[n > 0 ? n : 0] = '\0';
    CU_ASSERT_EQUAL(rc, SUF_ERR_IO);
    CU_ASSERT_STRING_EQUAL(err.msg, "reports/camp_a/camp_a_2026-11-25.xlsx: cannot write "
                                    "workbook: no space left on device");
    CU_ASSERT_PTR_NULL(strstr(said, "[ERROR]"));
    if (strstr(said, "[ERROR]"))
        fprintf(stderr, "printed while closing: %s\n", said);
    rep_campaign_release(&c);
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"safe names stay inside the folder", test_report__safe_names_stay_inside_the_folder},
        {"long ids are cut and kept apart", test_report__long_ids_are_cut_and_kept_apart},
        {"campaign sheets match golden", test_report__campaign_sheets_match_golden},
        {"fallbacks continue on a new sheet", test_report__fallbacks_continue_on_a_new_sheet},
        {"left out lists continue on a new sheet",
         test_report__left_out_lists_continue_on_a_new_sheet},
        {"every reason has words", test_report__every_reason_has_words},
        {"fallbacks are read without a sort", test_report__fallbacks_are_read_without_a_sort},
        {"portfolio sheets match golden", test_report__portfolio_sheets_match_golden},
        {"formats match golden", test_report__formats_match_golden},
        {"unpriced charges are blank, never zero",
         test_report__unpriced_charges_are_blank_never_zero},
        {"by market rows are messages times rate",
         test_report__by_market_rows_are_messages_times_rate},
        {"print header is safe", test_report__print_header_is_safe},
        {"workbook file is written", test_report__workbook_file_is_written},
        {"inputs name the built-in map", test_report__inputs_name_the_built_in_map},
        {"csv fields follow rfc4180", test_report__csv_fields_follow_rfc4180},
        {"csv amounts have six places from micros",
         test_report__csv_amounts_have_six_places_from_micros},
        {"csv file names come from sheets", test_report__csv_file_names_come_from_sheets},
        {"csv sink writes records", test_report__csv_sink_writes_records},
        {"csv sink failures name the file", test_report__csv_sink_failures_name_the_file},
        {"full disk is one suf error", test_report__full_disk_is_one_suf_error},
        {NULL, NULL},
    };
    int rc = suf_test_main("report", tests);

    fixture_release();
    return rc;
}
