/*
 * test_report.c: the report's file names (a campaign id is data, never a
 * path), and every sheet of its workbooks, cell by cell, against expected
 * tables.
 *
 * The sheets render through a rep_sink (report_sink.h).  Here a recording
 * sink keeps what each sheet receives, and the golden tests render the
 * store of tests/data/report/fixture.sql as of 2026-11-25T02:00:00Z, with
 * the very steps `suf report` takes (rep_render_campaign,
 * rep_render_portfolio), then compare each sheet with its table in
 * tests/data/report/golden/<workbook>/<sheet>.tsv.  A table has one line
 * per cell, sorted by row then column:
 *
 *     ref  kind  format  value  [computed value, for a formula]
 *
 * with kind text, number, formula or datetime, the format's name (the
 * looks of the formats are in golden/formats.tsv), then the sheet's column
 * widths, frozen panes, filter and chart, in the order they were set.
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
#include "report/report.h"
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

static void rec_number(void *self, void *ws, uint32_t row, uint16_t col, double v,
                       enum rep_fmt fmt)
{
    struct suf_buf b = cell_start(self, ws, row, col, "number", fmt);

    add_number(&b, v);
    cell_end(self, ws, row, col, &b);
}

static void rec_formula(void *self, void *ws, uint32_t row, uint16_t col, const char *formula,
                        double value, enum rep_fmt fmt)
{
    struct suf_buf b = cell_start(self, ws, row, col, "formula", fmt);

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
    suf_buf_addf(&sh->layout, "\tchart\tcolumn\t%s\t%s\t%s\t%s\t", ch->title, ch->series_name,
                 ch->categories, ch->values);
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

static const struct rep_sink_ops rec_ops = {
    rec_add_sheet, rec_text,   rec_number, rec_formula, rec_datetime,
    rec_width,     rec_freeze, rec_filter, rec_chart,   rec_activate,
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

/* "By market" -> "by_market", "Fallbacks (2)" -> "fallbacks_2". */
static void table_name(const char *sheet, char *out, size_t size)
{
    size_t o = 0;

    for (; *sheet && o + 1 < size; sheet++) {
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
    out[o] = '\0';
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

static void fixture_release(void)
{
    if (!made)
        return;
    rep_ctx_release(&ctx);
    suf_store_close(&st);
    json_decref(run.counts);
    suf_config_release(&cfg);
}

/* Renders campaign `id` into a recording; fills c. */
static void render_campaign(const char *id, struct rep_campaign *c, struct rec_book *book,
                            int64_t rows_per_sheet)
{
    struct rep_sink sink = {&rec_ops, book};
    struct suf_err err = SUF_ERR_INIT;

    rec_init(book, formats.spec);
    rep_campaign_init(c, &ctx, id);
    rep_place_campaign(&ctx, c);
    CU_ASSERT_EQUAL(rep_render_campaign(&ctx, c, &sink, rows_per_sheet, &err), SUF_OK);
}

static void test_report__campaign_sheets_match_golden(void)
{
    static const char *const ids[] = {"camp_a", "b/x"};

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

static void test_report__fallbacks_continue_on_a_new_sheet(void)
{
    struct rep_campaign c;
    struct rec_book book;

    fixture();
    render_campaign("camp_a", &c, &book, 2);
    CU_ASSERT_STRING_EQUAL(book.sheets[6].name, "Fallbacks (3)");
    check_book(&book, "camp_a_split", "Fallbacks");
    rec_release(&book);
    rep_campaign_release(&c);
}

static void test_report__portfolio_sheets_match_golden(void)
{
    struct rep_campaign *cs[4];
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
    CU_ASSERT_EQUAL(n, 2);
    rec_init(&book, formats.spec);
    sink = (struct rep_sink){&rec_ops, &book};
    rep_render_portfolio(&ctx, &sink, cs, n);
    check_book(&book, "portfolio", "");
    rec_release(&book);
    for (int i = 0; i < n; i++) {
        rep_campaign_release(cs[i]);
        free(cs[i]);
    }
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
        {"portfolio sheets match golden", test_report__portfolio_sheets_match_golden},
        {"formats match golden", test_report__formats_match_golden},
        {"workbook file is written", test_report__workbook_file_is_written},
        {"full disk is one suf error", test_report__full_disk_is_one_suf_error},
        {NULL, NULL},
    };
    int rc = suf_test_main("report", tests);

    fixture_release();
    return rc;
}
