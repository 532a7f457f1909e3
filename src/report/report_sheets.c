/*
 * report_sheets.c: the cells of each worksheet, rendered from a campaign's
 * figures into a sink (report_sink.h).
 *
 * Rules every sheet follows:
 *  - workbooks are in constant-memory mode, so each sheet is written top to
 *    bottom, row by row; totals sit below their data and carry their value,
 *    computed here, beside the formula, so viewers that never recalculate
 *    still show the right figure;
 *  - text that comes from inputs goes through rep_write_text, which always
 *    writes a string: a template called "=HYPERLINK(...)" stays text;
 *  - money is int64 micros up to the sink: a cell's value is a struct
 *    cell_value, and an amount in it (rep_cell_amount, rep_cell_per) reaches
 *    the sink as a struct rep_amount, which the sink shows as it must;
 *  - unknown is not zero: one fallback's amount with an unpriced charge is a
 *    blank, shaded cell; a sum over unpriced charges shows the known part,
 *    shaded, and their count beside it, under "Unpriced charges";
 *  - labels cannot be misread: every money column names its view (policy or
 *    Meta) and the currency, every time is UTC, states and reasons are in
 *    words with their ids beside them;
 *  - every sheet prints landscape, one page wide, its header row on every
 *    page, the campaign and the as-of time atop and page numbers below;
 *  - a format is named (enum rep_fmt); what each looks like is decided once,
 *    in rep_formats_init.
 */
#include <stdlib.h>
#include <string.h>

#include <xlsxwriter/utility.h>

#include "base/amount.h"
#include "base/phone.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "base/util.h"
#include "base/version.h"
#include "money/money.h"
#include "plan/plan.h"
#include "report/report.h"
#include "report/report_sheets.h"
#include "store/fsm.h"
#include "base/banned.h"

#define MAX_CELL_TEXT 32767 /* Excel's limit on a cell's characters */
#define PRINT_PART 100      /* bytes of input text in a print header */

/* A cell's value on its way to the sink: a number, or an amount that stays
 * integer micros until the sink shows it. */
struct cell_value {
    bool is_amount;
    double number;
    struct rep_amount amount;
};

static struct cell_value rep_cell_number(double v)
{
    struct cell_value c = {false, v, {0, 1}};
    return c;
}

static struct cell_value rep_cell_amount(int64_t micros)
{
    struct cell_value c = {true, 0.0, {micros, 1}};
    return c;
}

/* `micros` per `count` (a cost per conversion); 0 when count is 0, as the
 * cell's formula says. */
static struct cell_value rep_cell_per(int64_t micros, int64_t count)
{
    struct cell_value c = {true, 0.0, {count ? micros : 0, count ? count : 1}};
    return c;
}

static double ratio(int64_t num, int64_t den)
{
    return den ? (double)num / (double)den : 0.0;
}

/* --- the sink's operations, on one sheet --------------------------------------- */

static struct rep_sheet add_sheet(const struct rep_sink *sink, const char *name)
{
    struct rep_sheet sh = {sink, sink->ops->add_sheet(sink->self, name)};
    return sh;
}

static void put_text(const struct rep_sheet *ws, uint32_t row, uint16_t col, const char *s,
                     enum rep_fmt fmt)
{
    ws->sink->ops->text(ws->sink->self, ws->ws, row, col, s, fmt);
}

static void put_number(const struct rep_sheet *ws, uint32_t row, uint16_t col, double v,
                       enum rep_fmt fmt)
{
    ws->sink->ops->number(ws->sink->self, ws->ws, row, col, v, fmt);
}

static void put_formula(const struct rep_sheet *ws, uint32_t row, uint16_t col,
                        const char *formula, struct cell_value v, enum rep_fmt fmt)
{
    if (v.is_amount)
        ws->sink->ops->formula_amount(ws->sink->self, ws->ws, row, col, formula, v.amount, fmt);
    else
        ws->sink->ops->formula(ws->sink->self, ws->ws, row, col, formula, v.number, fmt);
}

static void put_blank(const struct rep_sheet *ws, uint32_t row, uint16_t col, enum rep_fmt fmt)
{
    if (ws->sink->ops->blank)
        ws->sink->ops->blank(ws->sink->self, ws->ws, row, col, fmt);
}

static void set_height(const struct rep_sheet *ws, uint32_t row, double points)
{
    if (ws->sink->ops->height)
        ws->sink->ops->height(ws->sink->self, ws->ws, row, points);
}

static void set_width(const struct rep_sheet *ws, uint16_t first, uint16_t last, double width)
{
    ws->sink->ops->width(ws->sink->self, ws->ws, first, last, width);
}

static void freeze(const struct rep_sheet *ws, uint32_t row, uint16_t col)
{
    ws->sink->ops->freeze(ws->sink->self, ws->ws, row, col);
}

static void filter(const struct rep_sheet *ws, uint32_t r1, uint16_t c1, uint32_t r2,
                   uint16_t c2)
{
    ws->sink->ops->filter(ws->sink->self, ws->ws, r1, c1, r2, c2);
}

/* --- text ------------------------------------------------------------------------- */

void rep_write_text(const struct rep_sheet *ws, uint32_t row, uint16_t col, const char *s,
                    enum rep_fmt fmt)
{
    size_t n = strlen(s);
    char *copy = NULL;

    /* Cut on a character boundary, and show bad bytes as '?': the cell
     * must stay valid XML. */
    if (n > MAX_CELL_TEXT || !suf_utf8_valid(s, n))
        s = copy = suf_utf8_scrub(s, MAX_CELL_TEXT);
    put_text(ws, row, col, s, fmt);
    free(copy);
}

/* Appends input text `s` to a print header or footer: cut to PRINT_PART
 * bytes, control characters as spaces, and '&' doubled, since Excel reads
 * "&P", "&Z" and the like as codes (a campaign id stays a campaign id). */
static void add_print_text(struct suf_buf *out, const char *s)
{
    char *clean = suf_utf8_scrub(s, PRINT_PART);

    for (const char *p = clean; *p; p++) {
        if (*p == '&')
            suf_buf_addstr(out, "&&");
        else
            suf_buf_addch(out, (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p);
    }
    free(clean);
}

/* --- cells ------------------------------------------------------------------------ */

/* A date cell of `t`, or nothing when t <= 0. */
static void rep_write_time(const struct rep_sheet *ws, uint32_t row, uint16_t col, int64_t t,
                           enum rep_fmt fmt)
{
    if (t > 0)
        ws->sink->ops->datetime(ws->sink->self, ws->ws, row, col, t, fmt);
}

/* A rate card's effective day as a date cell. */
static void write_day(const struct rep_sheet *ws, uint32_t row, uint16_t col, int32_t day)
{
    rep_write_time(ws, row, col, (int64_t)day * 86400, REP_FMT_DATE);
}

static void write_money(const struct rep_sheet *ws, uint32_t row, uint16_t col, int64_t micros,
                        enum rep_fmt fmt)
{
    struct rep_amount a = {micros, 1};

    ws->sink->ops->amount(ws->sink->self, ws->ws, row, col, a, fmt);
}

static void write_count(const struct rep_sheet *ws, uint32_t row, uint16_t col, int64_t n,
                        enum rep_fmt fmt)
{
    put_number(ws, row, col, (double)n, fmt);
}

/* How many charges are unpriced, shaded when any is. */
static void write_unpriced(const struct rep_sheet *ws, uint32_t row, uint16_t col, int64_t n)
{
    write_count(ws, row, col, n, n ? REP_FMT_UNPRICED_COUNT : REP_FMT_COUNT);
}

/* One fallback's amount: blank and shaded when a charge in it is unpriced,
 * since what it would show is unknown. */
static void write_own_amount(const struct rep_sheet *ws, uint32_t row, uint16_t col,
                             int64_t micros, int64_t unpriced)
{
    if (unpriced)
        put_blank(ws, row, col, REP_FMT_UNPRICED);
    else
        write_money(ws, row, col, micros, REP_FMT_MONEY);
}

/* Whether an amount is wholly unknown: it has charges, and none of them
 * has a rate.  Its known part (nothing) would read as a zero. */
static bool unknown(const struct rep_money *m)
{
    return m->unpriced && m->unpriced == m->charges;
}

/* The sum of `m`'s charges in one view (`micros`): blank when wholly
 * unknown, else its known part, shaded when some charges are unpriced
 * (their count goes beside it). */
static void write_known_sum(const struct rep_sheet *ws, uint32_t row, uint16_t col,
                            int64_t micros, const struct rep_money *m)
{
    if (unknown(m))
        put_blank(ws, row, col, REP_FMT_UNPRICED);
    else
        write_money(ws, row, col, micros, m->unpriced ? REP_FMT_UNPRICED : REP_FMT_MONEY);
}

/* The format of a sum of `m`'s charges: a total row's or a data row's. */
static enum rep_fmt sum_fmt(const struct rep_money *m, bool total)
{
    if (total)
        return m->unpriced ? REP_FMT_UNPRICED_TOTAL : REP_FMT_MONEY_TOTAL;
    return m->unpriced ? REP_FMT_UNPRICED : REP_FMT_MONEY;
}

/* A1-style name of a cell. */
static const char *cell(char *buf, uint32_t row, uint16_t col)
{
    lxw_rowcol_to_cell(buf, row, col);
    return buf;
}

/* Writes =SUM(col first:last) carrying `value`. */
static void write_sum(const struct rep_sheet *ws, uint32_t row, uint16_t col, uint32_t first,
                      uint32_t last, struct cell_value value, enum rep_fmt fmt)
{
    char a[LXW_MAX_CELL_NAME_LENGTH], b[LXW_MAX_CELL_NAME_LENGTH], formula[64];

    if (last < first) {
        put_formula(ws, row, col, "=0", value, fmt);
        return;
    }
    snprintf(formula, sizeof(formula), "=SUM(%s:%s)", cell(a, first, col), cell(b, last, col));
    put_formula(ws, row, col, formula, value, fmt);
}

/* Writes =SUMIF(key first:last,"match",col first:last) carrying `value`. */
static void write_sumif(const struct rep_sheet *ws, uint32_t row, uint16_t col, uint16_t key,
                        const char *match, uint32_t first, uint32_t last,
                        struct cell_value value, enum rep_fmt fmt)
{
    char a[LXW_MAX_CELL_NAME_LENGTH], b[LXW_MAX_CELL_NAME_LENGTH];
    char c[LXW_MAX_CELL_NAME_LENGTH], d[LXW_MAX_CELL_NAME_LENGTH], formula[128];

    if (last < first) {
        put_formula(ws, row, col, "=0", value, fmt);
        return;
    }
    snprintf(formula, sizeof(formula), "=SUMIF(%s:%s,\"%s\",%s:%s)", cell(a, first, key),
             cell(b, last, key), match, cell(c, first, col), cell(d, last, col));
    put_formula(ws, row, col, formula, value, fmt);
}

/* Writes =IF(den=0,0,num/den) carrying its value. */
static void write_ratio(const struct rep_sheet *ws, uint32_t row, uint16_t col, uint32_t nr,
                        uint16_t nc, uint32_t dr, uint16_t dc, struct cell_value value,
                        enum rep_fmt fmt)
{
    char n[LXW_MAX_CELL_NAME_LENGTH], d[LXW_MAX_CELL_NAME_LENGTH], formula[96];

    cell(n, nr, nc);
    cell(d, dr, dc);
    snprintf(formula, sizeof(formula), "=IF(%s=0,0,%s/%s)", d, n, d);
    put_formula(ws, row, col, formula, value, fmt);
}

/* Writes =a+b carrying its value. */
static void write_plus(const struct rep_sheet *ws, uint32_t row, uint16_t col, uint32_t ar,
                       uint16_t ac, uint32_t br, uint16_t bc, struct cell_value value,
                       enum rep_fmt fmt)
{
    char a[LXW_MAX_CELL_NAME_LENGTH], b[LXW_MAX_CELL_NAME_LENGTH], formula[64];

    snprintf(formula, sizeof(formula), "=%s+%s", cell(a, ar, ac), cell(b, br, bc));
    put_formula(ws, row, col, formula, value, fmt);
}

/* Writes =a+b over amounts, carrying `micros`, the sum of `m`'s charges in
 * one view: blank when wholly unknown. */
static void write_plus_money(const struct rep_sheet *ws, uint32_t row, uint16_t col, uint32_t ar,
                             uint16_t ac, uint32_t br, uint16_t bc, int64_t micros,
                             const struct rep_money *m, bool total)
{
    if (unknown(m))
        put_blank(ws, row, col, sum_fmt(m, total));
    else
        write_plus(ws, row, col, ar, ac, br, bc, rep_cell_amount(micros), sum_fmt(m, total));
}

/* Writes =SUM() of a column of amounts on a totals row, as write_plus_money. */
static void write_sum_money(const struct rep_sheet *ws, uint32_t row, uint16_t col,
                            uint32_t first, uint32_t last, int64_t micros,
                            const struct rep_money *m)
{
    if (unknown(m))
        put_blank(ws, row, col, sum_fmt(m, true));
    else
        write_sum(ws, row, col, first, last, rep_cell_amount(micros), sum_fmt(m, true));
}

/* Writes =a*b carrying its value. */
static void write_times(const struct rep_sheet *ws, uint32_t row, uint16_t col, uint32_t ar,
                        uint16_t ac, uint32_t br, uint16_t bc, struct cell_value value,
                        enum rep_fmt fmt)
{
    char a[LXW_MAX_CELL_NAME_LENGTH], b[LXW_MAX_CELL_NAME_LENGTH], formula[64];

    snprintf(formula, sizeof(formula), "=%s*%s", cell(a, ar, ac), cell(b, br, bc));
    put_formula(ws, row, col, formula, value, fmt);
}

/* The lines `s` takes once wrapped at spaces in a column `width` wide (a
 * width counts characters, less a margin). */
static int wrapped_lines(const char *s, double width)
{
    size_t cap = width > 2 ? (size_t)width - 1 : 1, line = 0;
    int lines = 1;

    while (*s) {
        size_t word = strcspn(s, " ");

        if (line && line + 1 + word > cap) {
            lines++;
            line = 0;
        }
        line += (line ? 1 : 0) + word;
        s += word;
        s += strspn(s, " ");
    }
    return lines;
}

static const char *col_name(char *buf, size_t size, const struct rep_col *col,
                            const char *currency)
{
    if (col->view)
        snprintf(buf, size, "%s (%s, %s)", col->name, col->view, currency);
    else
        suf_strlcpy(buf, col->name, size);
    return buf;
}

/* A header row: its names in the header format, its height enough for
 * the longest wrapped name (so no name hides under the first data row),
 * and, when `set` is true, the columns' widths. */
static void header_cols(const struct rep_sheet *ws, uint32_t row, const struct rep_col *cols,
                        int n, const char *currency, bool set)
{
    char name[128];
    int lines = 1;

    for (int i = 0; i < n; i++) {
        int l = wrapped_lines(col_name(name, sizeof(name), &cols[i], currency), cols[i].width);
        lines = l > lines ? l : lines;
    }
    if (lines > 1)
        set_height(ws, row, 15.0 * lines);
    for (int i = 0; i < n; i++) {
        put_text(ws, row, (uint16_t)i, col_name(name, sizeof(name), &cols[i], currency),
                 REP_FMT_HEADER);
        if (set)
            set_width(ws, (uint16_t)i, (uint16_t)i, cols[i].width);
    }
}

/* Landscape, one page wide, rows first..last atop every page, `header`
 * atop and the sheet's name and page numbers below. */
static void print_setup(const struct rep_sheet *ws, const char *header, uint32_t first,
                        uint32_t last)
{
    struct rep_print p;

    if (!ws->sink->ops->print)
        return;
    memset(&p, 0, sizeof(p));
    p.landscape = true;
    p.fit_wide = 1;
    p.fit_tall = 0;
    p.repeat_first = first;
    p.repeat_last = last;
    p.header = header;
    p.footer = "&L&A&RPage &P of &N";
    ws->sink->ops->print(ws->sink->self, ws->ws, &p);
}

/* The print header of a workbook: `what` on the left (input text, made
 * safe), the as-of time on the right.  Fits Excel's 255 characters. */
static void print_header(char *out, size_t size, const char *what, const char *name,
                         const struct rep_ctx *ctx)
{
    struct suf_buf b = SUF_BUF_INIT;
    char when[32];

    suf_buf_addstr(&b, "&L");
    add_print_text(&b, what);
    if (name && *name) {
        suf_buf_addstr(&b, ": ");
        add_print_text(&b, name);
    }
    suf_time_format(ctx->as_of, when, sizeof(when));
    when[10] = ' ';
    when[19] = '\0';
    suf_buf_addf(&b, "&RAs of %s UTC", when);
    suf_strlcpy(out, suf_buf_str(&b), size);
    suf_buf_release(&b);
}

/* --- formats --------------------------------------------------------------------- */

#define UNPRICED_BG 0xFCE4D6 /* light orange: "look here" without alarm */

/* The look of each format; amounts and rates take the currency's number
 * format, set by rep_formats_init. */
static const struct rep_format_spec format_specs[REP_NFMT] = {
    [REP_FMT_NONE] = {.name = "none"},
    [REP_FMT_TITLE] = {.name = "title", .bold = true, .font_size = 14},
    [REP_FMT_HEADER] = {.name = "header", .bold = true, .wrap = true, .align_top = true,
                        .rule_below = true, .bg_color = 0xDDEBF7},
    [REP_FMT_BOLD] = {.name = "bold", .bold = true},
    [REP_FMT_COUNT] = {.name = "count", .num_format = "#,##0"},
    [REP_FMT_COUNT_TOTAL] = {.name = "count_total", .bold = true, .rule_above = true,
                             .num_format = "#,##0"},
    [REP_FMT_MONEY] = {.name = "money"},
    [REP_FMT_MONEY_TOTAL] = {.name = "money_total", .bold = true, .rule_above = true},
    [REP_FMT_RATE] = {.name = "rate"},
    [REP_FMT_PCT] = {.name = "pct", .num_format = "0.0%"},
    [REP_FMT_DATETIME] = {.name = "datetime", .num_format = "yyyy-mm-dd hh:mm:ss"},
    [REP_FMT_DATE] = {.name = "date", .num_format = "yyyy-mm-dd"},
    [REP_FMT_RATE_TOTAL] = {.name = "rate_total", .bold = true, .rule_above = true},
    [REP_FMT_UNPRICED] = {.name = "unpriced", .bg_color = UNPRICED_BG},
    [REP_FMT_UNPRICED_TOTAL] = {.name = "unpriced_total", .bold = true, .rule_above = true,
                                .bg_color = UNPRICED_BG},
    [REP_FMT_UNPRICED_COUNT] = {.name = "unpriced_count", .bold = true, .bg_color = UNPRICED_BG,
                                .num_format = "#,##0"},
    [REP_FMT_BANNER] = {.name = "banner", .bold = true, .font_size = 12,
                        .bg_color = UNPRICED_BG},
};

void rep_formats_init(struct rep_formats *f, const char *currency)
{
    bool ok = strlen(currency) == 3;

    /* "#,##0.0000 "USD"": the code only when it is three capitals (it is
     * config, but it still lands in the file).  Per-unit figures have six
     * decimals: a rate of 0.03588 must not read 0.0359. */
    for (int i = 0; ok && i < 3; i++)
        ok = currency[i] >= 'A' && currency[i] <= 'Z';
    snprintf(f->money_format, sizeof(f->money_format),
             ok ? "#,##0.0000 \"%s\"" : "#,##0.0000%s", ok ? currency : "");
    snprintf(f->rate_format, sizeof(f->rate_format),
             ok ? "#,##0.000000 \"%s\"" : "#,##0.000000%s", ok ? currency : "");
    memcpy(f->spec, format_specs, sizeof(f->spec));
    f->spec[REP_FMT_MONEY].num_format = f->money_format;
    f->spec[REP_FMT_MONEY_TOTAL].num_format = f->money_format;
    f->spec[REP_FMT_UNPRICED].num_format = f->money_format;
    f->spec[REP_FMT_UNPRICED_TOTAL].num_format = f->money_format;
    f->spec[REP_FMT_RATE].num_format = f->rate_format;
    f->spec[REP_FMT_RATE_TOTAL].num_format = f->rate_format;
}

/* --- words ------------------------------------------------------------------------- */

static const char *const state_words[SUF_FB_STATE_COUNT] = {
    [SUF_FB_PENDING] = "Waiting for the permission message",
    [SUF_FB_FAILED] = "Failed before sending",
    [SUF_FB_UTILITY_SENT] = "Permission message sent",
    [SUF_FB_UTILITY_FAILED] = "Permission message failed",
    [SUF_FB_UTILITY_DELIVERED] = "Permission delivered, awaiting consent",
    [SUF_FB_DECLINED] = "Declined",
    [SUF_FB_NO_RESPONSE] = "No answer in time",
    [SUF_FB_CONSENTED] = "Consented, content not sent yet",
    [SUF_FB_WINDOW_EXPIRED] = "Consented, but the window closed",
    [SUF_FB_SESSION_SENT] = "Content sent, not delivered yet",
    [SUF_FB_SESSION_FAILED] = "Content failed",
    [SUF_FB_CONVERTED] = "Converted: content delivered",
    [SUF_FB_OPTED_OUT] = "Opted out",
    [SUF_FB_BLOCKED] = "Held back: its campaign may not send now",
    [SUF_FB_CANCELLED] = "Cancelled by the operator",
};

const char *rep_state_words(const char *id)
{
    enum suf_fb_state st;

    return suf_fsm_state_parse(id, &st) ? state_words[st] : "Unknown state";
}

static const char *const kind_words[] = {"broadcast", "utility", "session"};

/* What a row of rates applied is billed as, in words. */
static const char *billed_as_words(int billed_as)
{
    return billed_as == REP_NOT_BILLABLE ? "not billable (webhook)" : suf_category_name(billed_as);
}

/* --- the lists: one row per recipient or fallback ------------------------ */

/* Starts the next sheet of list `l`: its name, header row and frozen pane. */
static void list_new_sheet(struct rep_book *b, struct rep_list *l)
{
    char name[32];

    l->sheets++;
    if (l->sheets == 1)
        suf_strlcpy(name, l->name, sizeof(name));
    else
        snprintf(name, sizeof(name), "%s (%d)", l->name, l->sheets);
    l->sheet = add_sheet(b->sink, name);
    header_cols(&l->sheet, 0, l->cols, l->ncols, suf_money_currency(b->ctx->money), true);
    freeze(&l->sheet, 1, 0);
    print_setup(&l->sheet, b->print_header, 0, 0);
    l->row = 1;
}

static void list_close_sheet(struct rep_list *l)
{
    filter(&l->sheet, 0, 0, l->row > 1 ? l->row - 1 : 0, (uint16_t)(l->ncols - 1));
}

/* Closes list `l` for good, started first if no row came: an empty list is
 * still a sheet with its header. */
static void list_finish(struct rep_book *b, struct rep_list *l)
{
    if (l->done)
        return;
    if (!l->sheets)
        list_new_sheet(b, l);
    list_close_sheet(l);
    l->done = true;
}

/* The row for the next entry of list `l`, on a new sheet past
 * rows_per_sheet; the lists before `l` are finished first, so the sheets
 * keep their order. */
static uint32_t list_row(struct rep_book *b, struct rep_list *l)
{
    struct rep_list *const order[] = {&b->excluded, &b->waiting, &b->fallbacks};

    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && order[i] != l; i++)
        list_finish(b, order[i]);
    if (!l->sheets) {
        list_new_sheet(b, l);
    } else if ((int64_t)l->row > b->rows_per_sheet) {
        list_close_sheet(l);
        list_new_sheet(b, l);
    }
    return l->row++;
}

/* A phone as the report shows it: masked as configured, or in full. */
static const char *shown_phone(const struct suf_config *cfg, const char *digits, char *out,
                               size_t size)
{
    if (cfg->mask_phones)
        return suf_phone_mask(digits, (int)cfg->mask_keep_first, (int)cfg->mask_keep_last, out,
                              size);
    snprintf(out, size, "+%s", digits);
    return out;
}

/* --- Fallbacks ----------------------------------------------------------- */

enum {
    FB_COST = 15, /* the first amount column */
    FB_NCOLS = 23
};

static const struct rep_col fb_cols[FB_NCOLS] = {
    {"Fallback", NULL, 10},
    {"Phone", NULL, 17},
    {"Market", NULL, 22},
    {"Scenario", NULL, 9},
    {"Template", NULL, 22},
    {"State", NULL, 26},
    {"State id", NULL, 17},
    {"Created (UTC)", NULL, 19},
    {"Utility sent (UTC)", NULL, 19},
    {"Utility delivered (UTC)", NULL, 19},
    {"Consented (UTC)", NULL, 19},
    {"Declined (UTC)", NULL, 19},
    {"Session sent (UTC)", NULL, 19},
    {"Converted (UTC)", NULL, 19},
    {"State since (UTC)", NULL, 19},
    {"Utility cost", "policy", 15},
    {"Session cost", "policy", 15},
    {"Total", "policy", 15},
    {"Total", "Meta", 15},
    {"Priced from", NULL, 15},
    {"Unpriced charges", NULL, 10},
    {"Resends", NULL, 9},
    {"Held back because", NULL, 48}, /* blocked or cancelled: why */
};
#define NCOLS(cols) ((int)(sizeof(cols) / sizeof(cols[0])))

/* Where a fallback's charges were priced from: the webhook's pricing, the
 * card on the delivery day (estimated), both, or not at all. */
static const char *priced_from(const struct rep_fallback *fb)
{
    int64_t unpriced = fb->utility.unpriced + fb->session.unpriced;

    if (!fb->charges)
        return NULL;
    if (unpriced == fb->charges)
        return "unpriced";
    if (unpriced)
        return "partly unpriced";
    return fb->from_webhook == fb->charges ? "webhook" : fb->from_webhook ? "mixed" : "estimated";
}

int rep_book_fallback(void *book, const struct rep_fallback *fb, struct suf_err *err)
{
    struct rep_book *b = book;
    const struct suf_config *cfg = b->ctx->run->cfg;
    char phone[SUF_PHONE_MAX + 8];
    const struct rep_sheet *ws;
    const char *from = priced_from(fb);
    int64_t unpriced = fb->utility.unpriced + fb->session.unpriced;
    uint32_t r;
    const int64_t times[] = {fb->created_at, fb->utility_sent_at, fb->utility_delivered_at,
                             fb->consented_at, fb->declined_at, fb->session_sent_at,
                             fb->converted_at, fb->state_at};

    (void)err;
    r = list_row(b, &b->fallbacks);
    ws = &b->fallbacks.sheet;
    put_number(ws, r, 0, (double)fb->id, REP_FMT_NONE);
    rep_write_text(ws, r, 1, shown_phone(cfg, fb->phone, phone, sizeof(phone)), REP_FMT_NONE);
    rep_write_text(ws, r, 2, suf_money_market_name(b->ctx->money, fb->market), REP_FMT_NONE);
    rep_write_text(ws, r, 3, fb->scenario, REP_FMT_NONE);
    rep_write_text(ws, r, 4, fb->template_name, REP_FMT_NONE);
    put_text(ws, r, 5, rep_state_words(fb->state), REP_FMT_NONE);
    rep_write_text(ws, r, 6, fb->state, REP_FMT_NONE);
    for (int i = 0; i < 8; i++)
        rep_write_time(ws, r, (uint16_t)(7 + i), times[i], REP_FMT_DATETIME);
    write_own_amount(ws, r, FB_COST, fb->utility.policy, fb->utility.unpriced);
    write_own_amount(ws, r, FB_COST + 1, fb->session.policy, fb->session.unpriced);
    write_own_amount(ws, r, FB_COST + 2, fb->utility.policy + fb->session.policy, unpriced);
    write_own_amount(ws, r, FB_COST + 3, fb->utility.meta + fb->session.meta, unpriced);
    if (from)
        put_text(ws, r, FB_COST + 4, from, unpriced ? REP_FMT_UNPRICED_COUNT : REP_FMT_NONE);
    if (unpriced)
        write_unpriced(ws, r, FB_COST + 5, unpriced);
    put_number(ws, r, FB_COST + 6, (double)fb->resends, REP_FMT_COUNT);
    if (fb->held_why)
        rep_write_text(ws, r, FB_COST + 7, fb->held_why, REP_FMT_NONE);
    return SUF_OK;
}

/* --- Excluded recipients, Waiting recipients ----------------------------- */

/* Plan's reasons in words, by enum suf_reason. */
static const char *const reason_words[SUF_REASON_COUNT] = {
    [SUF_REASON_FALLBACK_OFF] = "Fallback is off for the campaign",
    [SUF_REASON_FALLBACK_NOT_ENABLED] =
        "Fallback is not enabled (no campaign setting; default off)",
    [SUF_REASON_CAMPAIGN_EXPIRED] = "The campaign is past its valid-until time",
    [SUF_REASON_UNKNOWN_TEMPLATE] = "The broadcast's template is not in the catalog",
    [SUF_REASON_NOT_MARKETING] = "The broadcast's template is not a marketing template",
    [SUF_REASON_UNSUPPORTED_TEMPLATE] = "The template cannot be sent as a session message",
    [SUF_REASON_OPTED_OUT] = "The customer opted out (STOP or error 131050)",
    [SUF_REASON_UNDELIVERABLE] = "Not a WhatsApp user (error 131026)",
    [SUF_REASON_INELIGIBLE_ERROR] = "The broadcast's error is not one a fallback recovers",
    [SUF_REASON_INVALID_PHONE] = "The phone number is not valid",
    [SUF_REASON_MISSING_CONTENT] = "The export lacks a value the message needs",
    [SUF_REASON_CAMPAIGN_CANCELLED] = "The campaign was cancelled by the operator",
};

const char *rep_reason_words(const char *reason)
{
    for (int i = SUF_REASON_NONE + 1; i < SUF_REASON_COUNT; i++)
        if (!strcmp(reason, suf_plan_reason_name((enum suf_reason)i)))
            return reason_words[i];
    return "A reason this version of suf does not have";
}

static const struct rep_col excluded_cols[] = {
    {"Phone", NULL, 17},     {"Market", NULL, 24},     {"Reason", NULL, 48},
    {"Reason id", NULL, 20}, {"Error code", NULL, 10}, {"Template", NULL, 24},
    {"Detail", NULL, 48},    {"Attempts", NULL, 9},    {"Last attempt (UTC)", NULL, 19},
};

static const struct rep_col waiting_cols[] = {
    {"Phone", NULL, 17},
    {"Market", NULL, 24},
    {"Waiting for", NULL, 40},
    {"Outcome id", NULL, 18},
    {"Attempts", NULL, 9},
    {"Attempts allowed", NULL, 9},
    {"Last attempt (UTC)", NULL, 19},
    {"Eligible from (UTC)", NULL, 19},
    {"Error code", NULL, 10},
    {"Template", NULL, 24},
    {"Detail", NULL, 48},
};

/* A text cell from inputs, or no cell at all for "": a blank, not an empty
 * string, is what a filter calls "(Blanks)". */
static void write_text_or_blank(const struct rep_sheet *ws, uint32_t r, uint16_t col,
                                const char *s)
{
    if (*s)
        rep_write_text(ws, r, col, s, REP_FMT_NONE);
}

/* The cells both lists open with: phone and market. */
static void left_out_start(const struct rep_book *b, const struct rep_sheet *ws, uint32_t r,
                           const struct rep_left_out *x)
{
    char phone[SUF_PHONE_MAX + 8];

    rep_write_text(ws, r, 0, shown_phone(b->ctx->run->cfg, x->phone, phone, sizeof(phone)),
                   REP_FMT_NONE);
    rep_write_text(ws, r, 1, suf_money_market_name(b->ctx->money, x->market), REP_FMT_NONE);
}

int rep_book_excluded(void *book, const struct rep_left_out *x, struct suf_err *err)
{
    struct rep_book *b = book;
    uint32_t r = list_row(b, &b->excluded);
    const struct rep_sheet *ws = &b->excluded.sheet;

    (void)err;
    left_out_start(b, ws, r, x);
    put_text(ws, r, 2, rep_reason_words(x->reason), REP_FMT_NONE);
    rep_write_text(ws, r, 3, x->reason, REP_FMT_NONE);
    if (x->has_error)
        put_number(ws, r, 4, (double)x->error_code, REP_FMT_NONE);
    write_text_or_blank(ws, r, 5, x->template_name);
    write_text_or_blank(ws, r, 6, x->detail);
    write_count(ws, r, 7, x->attempts, REP_FMT_COUNT);
    rep_write_time(ws, r, 8, x->last_attempt_at, REP_FMT_DATETIME);
    return SUF_OK;
}

int rep_book_waiting(void *book, const struct rep_left_out *x, struct suf_err *err)
{
    struct rep_book *b = book;
    uint32_t r = list_row(b, &b->waiting);
    const struct rep_sheet *ws = &b->waiting.sheet;
    bool in_flight = !strcmp(x->outcome, "in_flight");

    (void)err;
    left_out_start(b, ws, r, x);
    put_text(ws, r, 2,
             in_flight ? "The latest attempt's final status (decided at the run after it)"
                       : "The broadcast's own auto-retries",
             REP_FMT_NONE);
    rep_write_text(ws, r, 3, x->outcome, REP_FMT_NONE);
    write_count(ws, r, 4, x->attempts, REP_FMT_COUNT);
    write_count(ws, r, 5, x->max_attempts, REP_FMT_COUNT);
    rep_write_time(ws, r, 6, x->last_attempt_at, REP_FMT_DATETIME);
    rep_write_time(ws, r, 7, x->eligible_at, REP_FMT_DATETIME);
    if (x->has_error)
        put_number(ws, r, 8, (double)x->error_code, REP_FMT_NONE);
    write_text_or_blank(ws, r, 9, x->template_name);
    write_text_or_blank(ws, r, 10, x->detail);
    return SUF_OK;
}

/* --- Summary -------------------------------------------------------------- */

/* The Summary lists the states in the order a fallback meets them, which is
 * not the state machine's enum order: finance reads the list top down. */
static const enum suf_fb_state state_order[] = {
    SUF_FB_PENDING, SUF_FB_UTILITY_SENT, SUF_FB_UTILITY_DELIVERED, SUF_FB_UTILITY_FAILED,
    SUF_FB_CONSENTED, SUF_FB_DECLINED, SUF_FB_NO_RESPONSE, SUF_FB_SESSION_SENT,
    SUF_FB_CONVERTED, SUF_FB_SESSION_FAILED, SUF_FB_WINDOW_EXPIRED, SUF_FB_OPTED_OUT,
    SUF_FB_FAILED,    SUF_FB_BLOCKED,       SUF_FB_CANCELLED,
};
_Static_assert(sizeof(state_order) / sizeof(state_order[0]) == SUF_FB_STATE_COUNT,
               "every state of the machine has its row on the Summary");

/* The Summary's columns: its tables share them. */
static const double summary_widths[] = {46, 22, 22, 17, 10, 52};

static const char *const funnel_names[REP_NFUNNEL] = {
    [REP_RECIPIENTS] = "Recipients",
    [REP_FAILED] = "Failed after retries",
    [REP_FALLBACKS] = "Fallbacks",
    [REP_UTILITY_SENT] = "Utility sent",
    [REP_UTILITY_DELIVERED] = "Utility delivered",
    [REP_CONSENTED] = "Consented",
    [REP_SESSION_SENT] = "Session sent",
    [REP_CONVERTED] = "Converted",
};

/* The Inputs sheets' first table; their columns are wider than it needs. */
static const struct rep_col item_cols[] = {{"Item", NULL, 34}, {"Value", NULL, 30}};

static void key_value(const struct rep_sheet *ws, uint32_t r, const char *key,
                      const char *value)
{
    put_text(ws, r, 0, key, REP_FMT_BOLD);
    rep_write_text(ws, r, 1, value, REP_FMT_NONE);
}

/* The row of the phones that no prefix of the market map matches: their
 * count, and one of them with what became of them. */
static void no_market_row(const struct rep_sheet *ws, uint32_t r, const struct rep_ctx *ctx,
                          const struct rep_campaign *c)
{
    char phone[SUF_PHONE_MAX + 8], note[160];

    put_text(ws, r, 0, "Phones with no market", REP_FMT_BOLD);
    write_count(ws, r, 1, c->no_market, REP_FMT_COUNT);
    if (!c->no_market_example)
        return;
    snprintf(note, sizeof(note), "e.g. %s: no prefix of the market map matches; %s",
             shown_phone(ctx->run->cfg, c->no_market_example, phone, sizeof(phone)),
             suf_money_market_id(ctx->money, "Other") >= 0 ? "priced as Other"
                                                           : "no market, so no rate");
    rep_write_text(ws, r, 2, note, REP_FMT_NONE);
}

/* The billing policy, one row each from row `r`; returns the next row. */
static uint32_t policy_rows(const struct rep_sheet *ws, uint32_t r, const struct rep_ctx *ctx)
{
    key_value(ws, r++, "Utility message billed as (policy)",
              suf_category_name(ctx->bill.utility_as));
    key_value(ws, r++, "Session message billed as (policy)",
              suf_category_name(ctx->bill.session_as));
    key_value(ws, r++, "Session billing (policy)",
              ctx->bill.per_conversion ? "per_conversion" : "per_message");
    return r;
}

/* How phones are masked, in words, into buf. */
static const char *phones_words(const struct suf_config *cfg, char *buf, size_t size)
{
    if (cfg->mask_phones)
        snprintf(buf, size, "masked, keeping the first %lld and last %lld digits",
                 (long long)cfg->mask_keep_first, (long long)cfg->mask_keep_last);
    else
        suf_strlcpy(buf, "not masked", size);
    return buf;
}

/* The block that says how to read the figures, from row `r`. */
static uint32_t how_to_read(const struct rep_sheet *ws, uint32_t r, const struct rep_ctx *ctx)
{
    char line[512], phones[128];

    put_text(ws, r++, 0, "How to read this", REP_FMT_HEADER);
    snprintf(line, sizeof(line),
             "Policy view: what the billing policy charges: utility messages as %s, session "
             "messages as %s, %s.",
             suf_category_name(ctx->bill.utility_as), suf_category_name(ctx->bill.session_as),
             ctx->bill.per_conversion ? "once per conversion (per_conversion)"
                                      : "every message (per_message)");
    put_text(ws, r++, 0, line, REP_FMT_NONE);
    put_text(ws, r++, 0,
             "Meta's view: what Meta bills: utility templates at the Utility rate; session "
             "messages at the Service rate from 2026-10-01 (Utility where Service is n/a), "
             "nothing before; a status webhook's pricing wins where present.",
             REP_FMT_NONE);
    put_text(ws, r++, 0,
             "Rate cards: a message is priced with the card in effect on the UTC day it was "
             "delivered, for its phone's market on that day; By market lists every rate "
             "applied.",
             REP_FMT_NONE);
    put_text(ws, r++, 0,
             "Unpriced: a charge with no rate (no card for its day, or n/a) is never counted as "
             "0: its cell is blank and shaded, and totals count it under Unpriced charges.",
             REP_FMT_NONE);
    snprintf(line, sizeof(line), "Phones: %s. Times and dates: UTC.",
             phones_words(ctx->run->cfg, phones, sizeof(phones)));
    put_text(ws, r++, 0, line, REP_FMT_NONE);
    return r;
}

/* The costs table of the Summary from row `r`, the converted count in
 * (conv_row, 1); returns the next row. */
static uint32_t summary_costs(const struct rep_sheet *ws, uint32_t r, uint32_t conv_row,
                              const struct rep_ctx *ctx, const struct rep_campaign *c)
{
    static const struct rep_col cols[] = {
        {"Costs", NULL, 46},         {"Amount", "policy", 22}, {"Amount", "Meta", 22},
        {"Unpriced charges", NULL, 17}, {"Count", NULL, 10},   {"What the count is", NULL, 52},
    };
    const struct {
        const char *label, *counted;
        const struct rep_money *m;
        int64_t n;
    } rows[] = {
        {"Original campaign (delivered broadcast)", "broadcast messages delivered", &c->broadcast,
         c->broadcast_delivered},
        {"Utility permission messages", "utility messages delivered", &c->utility,
         c->utility_delivered_msgs},
        {"Session messages", "session messages delivered, each part", &c->session,
         c->session_delivered_msgs},
    };
    int64_t converted = c->funnel[REP_CONVERTED];
    struct rep_money fb = c->utility, all;
    uint32_t c0;

    rep_money_add(&fb, &c->session);
    all = fb;
    rep_money_add(&all, &c->broadcast);
    header_cols(ws, r++, cols, 6, suf_money_currency(ctx->money), false);
    c0 = r;
    for (int i = 0; i < 3; i++, r++) {
        put_text(ws, r, 0, rows[i].label, REP_FMT_NONE);
        write_known_sum(ws, r, 1, rows[i].m->policy, rows[i].m);
        write_known_sum(ws, r, 2, rows[i].m->meta, rows[i].m);
        write_unpriced(ws, r, 3, rows[i].m->unpriced);
        write_count(ws, r, 4, rows[i].n, REP_FMT_COUNT);
        put_text(ws, r, 5, rows[i].counted, REP_FMT_NONE);
    }
    put_text(ws, r, 0, "Fallback total (utility + session)", REP_FMT_BOLD);
    write_plus_money(ws, r, 1, c0 + 1, 1, c0 + 2, 1, fb.policy, &fb, true);
    write_plus_money(ws, r, 2, c0 + 1, 2, c0 + 2, 2, fb.meta, &fb, true);
    write_plus(ws, r, 3, c0 + 1, 3, c0 + 2, 3, rep_cell_number((double)fb.unpriced),
               fb.unpriced ? REP_FMT_UNPRICED_COUNT : REP_FMT_COUNT_TOTAL);
    r++;
    /* Per conversion, an unknown part of the numerator makes the whole
     * figure unknown: it stays blank rather than look cheaper. */
    put_text(ws, r, 0, "Fallback cost per conversion", REP_FMT_BOLD);
    for (uint16_t v = 1; v <= 2; v++) {
        if (fb.unpriced)
            put_blank(ws, r, v, REP_FMT_UNPRICED);
        else
            write_ratio(ws, r, v, r - 1, v, conv_row, 1,
                        rep_cell_per(v == 1 ? fb.policy : fb.meta, converted), REP_FMT_RATE);
    }
    write_unpriced(ws, r, 3, fb.unpriced);
    write_count(ws, r, 4, converted, REP_FMT_COUNT);
    put_text(ws, r, 5, "conversions (fallbacks whose content was delivered); the fallback total "
                       "of every fallback is divided by them",
             REP_FMT_NONE);
    r++;
    put_text(ws, r, 0, "Campaign and fallback total", REP_FMT_BOLD);
    write_plus_money(ws, r, 1, c0, 1, c0 + 3, 1, all.policy, &all, true);
    write_plus_money(ws, r, 2, c0, 2, c0 + 3, 2, all.meta, &all, true);
    write_plus(ws, r, 3, c0, 3, c0 + 3, 3, rep_cell_number((double)all.unpriced),
               all.unpriced ? REP_FMT_UNPRICED_COUNT : REP_FMT_COUNT_TOTAL);
    return r + 1;
}

static void sheet_summary(const struct rep_sheet *ws, const struct rep_book *b,
                          const struct rep_campaign *c)
{
    static const struct rep_col funnel_cols[] = {
        {"Funnel", NULL, 46}, {"Count", NULL, 22}, {"% of previous step", NULL, 22},
        {"% of recipients", NULL, 17}};
    static const struct rep_col state_cols[] = {
        {"Fallback state", NULL, 46}, {"State id", NULL, 22}, {"Count", NULL, 22}};
    const struct rep_ctx *ctx = b->ctx;
    uint32_t r = 0, f0, s0, top;
    char range_a[64], range_b[64];
    int64_t states_total = 0;
    struct rep_chart chart;

    for (int i = 0; i < 6; i++)
        set_width(ws, (uint16_t)i, (uint16_t)i, summary_widths[i]);
    if (c->charges_unpriced) {
        char banner[256];
        int64_t all = c->charges_unpriced + c->charges_webhook + c->charges_estimated;

        snprintf(banner, sizeof(banner),
                 "Unpriced: %lld of %lld charges have no rate (no rate card for their day, or "
                 "n/a for their market and category). Their cells are blank; totals leave them "
                 "out and count them beside.",
                 (long long)c->charges_unpriced, (long long)all);
        put_text(ws, r++, 0, banner, REP_FMT_BANNER);
    }
    top = r;
    put_text(ws, r, 0, "Campaign", REP_FMT_TITLE);
    rep_write_text(ws, r, 1, c->id, REP_FMT_TITLE);
    rep_write_text(ws, r, 2, c->name, REP_FMT_BOLD);
    r++;
    put_text(ws, r, 0, "As of (UTC)", REP_FMT_BOLD);
    rep_write_time(ws, r, 1, ctx->as_of, REP_FMT_DATETIME);
    r++;
    key_value(ws, r++, "Currency", suf_money_currency(ctx->money));
    r++;
    header_cols(ws, r++, funnel_cols, 4, "", false);
    f0 = r;
    for (int i = 0; i < REP_NFUNNEL; i++, r++) {
        put_text(ws, r, 0, funnel_names[i], REP_FMT_NONE);
        write_count(ws, r, 1, c->funnel[i], REP_FMT_COUNT);
        if (i > 0) {
            write_ratio(ws, r, 2, r, 1, r - 1, 1,
                        rep_cell_number(ratio(c->funnel[i], c->funnel[i - 1])), REP_FMT_PCT);
            write_ratio(ws, r, 3, r, 1, f0, 1, rep_cell_number(ratio(c->funnel[i], c->funnel[0])),
                        REP_FMT_PCT);
        }
    }
    r++;
    header_cols(ws, r++, state_cols, 3, "", false);
    s0 = r;
    for (int i = 0; i <= SUF_FB_STATE_COUNT; i++) {
        int st = i < SUF_FB_STATE_COUNT ? (int)state_order[i] : SUF_FB_STATE_COUNT;

        if (st == SUF_FB_STATE_COUNT && !c->states[st])
            break;
        put_text(ws, r, 0, st == SUF_FB_STATE_COUNT ? "Other, unknown states" : state_words[st],
                 REP_FMT_NONE);
        put_text(ws, r, 1,
                 st == SUF_FB_STATE_COUNT ? "other" : suf_fsm_state_name((enum suf_fb_state)st),
                 REP_FMT_NONE);
        write_count(ws, r++, 2, c->states[st], REP_FMT_COUNT);
        states_total += c->states[st];
    }
    put_text(ws, r, 0, "Total", REP_FMT_BOLD);
    write_sum(ws, r, 2, s0, r - 1, rep_cell_number((double)states_total), REP_FMT_COUNT_TOTAL);
    r += 2;
    r = summary_costs(ws, r, f0 + REP_CONVERTED, ctx, c);
    r++;
    put_text(ws, r++, 0, "Billing", REP_FMT_HEADER);
    r = policy_rows(ws, r, ctx);
    key_value(ws, r++, "Session billing rule (policy)",
              ctx->bill.per_conversion
                  ? "a fallback's session is billed once, when the fallback converts; one "
                    "whose session was delivered only in part (an S8 whose second part "
                    "failed) is not a conversion: the policy does not bill its session and "
                    "the cost per conversion does not count it; Meta's view does (below)"
                  : "every delivered session part is billed, converted or not");
    key_value(ws, r++, "Meta's view",
              "webhook pricing (billable, category) wins where present, before 2026-10-01 "
              "too; otherwise utility templates at Utility, session messages at Service "
              "from 2026-10-01 (Utility where n/a) and free before");
    put_text(ws, r, 0, "Charges priced from webhook pricing", REP_FMT_BOLD);
    write_count(ws, r++, 1, c->charges_webhook, REP_FMT_COUNT);
    put_text(ws, r, 0, "Charges priced from the rate card (estimated)", REP_FMT_BOLD);
    write_count(ws, r++, 1, c->charges_estimated, REP_FMT_COUNT);
    put_text(ws, r, 0, "Charges without a rate (unpriced)", REP_FMT_BOLD);
    write_unpriced(ws, r++, 1, c->charges_unpriced);
    put_text(ws, r, 0, "Resends after unknown outcomes", REP_FMT_BOLD);
    write_count(ws, r++, 1, c->resends, REP_FMT_COUNT);
    put_text(ws, r, 0, "Fallbacks with a session delivered, not converted", REP_FMT_BOLD);
    write_count(ws, r++, 1, c->unconverted_sessions, REP_FMT_COUNT);
    put_text(ws, r, 0, "Their session cost (Meta)", REP_FMT_BOLD);
    write_known_sum(ws, r, 1, c->unconverted_session.meta, &c->unconverted_session);
    if (c->unconverted_session.unpriced) {
        char note[96];

        snprintf(note, sizeof(note), "%lld of their charges have no rate",
                 (long long)c->unconverted_session.unpriced);
        put_text(ws, r, 2, note, REP_FMT_UNPRICED);
    }
    r++;
    no_market_row(ws, r++, ctx, c);
    r++;
    how_to_read(ws, r, ctx);
    freeze(ws, top + 1, 0);
    print_setup(ws, b->print_header, 0, top);

    snprintf(range_a, sizeof(range_a), "=Summary!$A$%u:$A$%u", (unsigned)f0 + 1,
             (unsigned)f0 + REP_NFUNNEL);
    snprintf(range_b, sizeof(range_b), "=Summary!$B$%u:$B$%u", (unsigned)f0 + 1,
             (unsigned)f0 + REP_NFUNNEL);
    chart.title = "Fallback funnel";
    chart.series_name = "Funnel";
    chart.categories = range_a;
    chart.values = range_b;
    chart.x_title = "Step of the funnel";
    chart.x_scale = 1.4;
    chart.y_scale = 1.3;
    ws->sink->ops->chart(ws->sink->self, ws->ws, f0 - 1, 5, &chart);
}

/* --- By market ------------------------------------------------------------ */

enum { RT_MARKET, RT_CARD, RT_VIEW, RT_KIND, RT_BILLED, RT_N, RT_RATE, RT_POLICY, RT_META,
       RT_UNPRICED, RT_NCOLS };

/* The rates applied: one row per market, card, view, message and category,
 * each its messages times its rate.  Returns the next free row. */
static uint32_t rates_table(const struct rep_sheet *ws, const struct rep_ctx *ctx,
                            const struct rep_campaign *c)
{
    static const struct rep_col cols[RT_NCOLS] = {
        {"Market (on the delivery day)", NULL, 28},
        {"Rate card (effective, UTC)", NULL, 13},
        {"View", NULL, 8},
        {"Message", NULL, 11},
        {"Billed as", NULL, 20},
        {"Messages", NULL, 11},
        {"Rate", "per message", 19},
        {"Cost", "policy", 17},
        {"Cost", "Meta", 17},
        {"Unpriced charges", NULL, 11},
    };
    static const char *const views[] = {"policy", "Meta"};
    struct rep_money tot[2]; /* per view: the cost in .policy */
    uint32_t r = 1, last;

    memset(tot, 0, sizeof(tot));

    header_cols(ws, 0, cols, RT_NCOLS, suf_money_currency(ctx->money), true);
    for (int i = 0; i < c->nrates; i++, r++) {
        const struct rep_rate_row *x = &c->rates[i];
        const struct suf_money_card *cd = suf_money_card(ctx->money, x->card);
        uint16_t cost_col = x->view == REP_VIEW_POLICY ? RT_POLICY : RT_META;

        rep_write_text(ws, r, RT_MARKET, suf_money_market_name(ctx->money, x->market),
                       REP_FMT_NONE);
        if (cd)
            write_day(ws, r, RT_CARD, cd->effective);
        else
            put_text(ws, r, RT_CARD, "none", REP_FMT_UNPRICED_COUNT);
        put_text(ws, r, RT_VIEW, views[x->view], REP_FMT_NONE);
        put_text(ws, r, RT_KIND, kind_words[x->kind], REP_FMT_NONE);
        put_text(ws, r, RT_BILLED, billed_as_words(x->billed_as), REP_FMT_NONE);
        write_count(ws, r, RT_N, x->messages, REP_FMT_COUNT);
        tot[x->view].charges += x->messages;
        if (x->unpriced) {
            put_blank(ws, r, RT_RATE, REP_FMT_UNPRICED);
            put_blank(ws, r, cost_col, REP_FMT_UNPRICED);
            write_unpriced(ws, r, RT_UNPRICED, x->messages);
            tot[x->view].unpriced += x->messages;
        } else {
            write_money(ws, r, RT_RATE, x->rate, REP_FMT_RATE);
            write_times(ws, r, cost_col, r, RT_N, r, RT_RATE,
                        rep_cell_amount(x->rate * x->messages), REP_FMT_MONEY);
            tot[x->view].policy += x->rate * x->messages;
        }
    }
    last = r - 1;
    filter(ws, 0, 0, last, RT_NCOLS - 1);
    for (int v = 0; v < 2; v++, r++) {
        put_text(ws, r, 0, v == REP_VIEW_POLICY ? "Total, policy view" : "Total, Meta's view",
                 REP_FMT_BOLD);
        write_sumif(ws, r, RT_N, RT_VIEW, views[v], 1, last,
                    rep_cell_number((double)tot[v].charges), REP_FMT_COUNT_TOTAL);
        write_sum_money(ws, r, v == REP_VIEW_POLICY ? RT_POLICY : RT_META, 1, last,
                        tot[v].policy, &tot[v]);
        write_sumif(ws, r, RT_UNPRICED, RT_VIEW, views[v], 1, last,
                    rep_cell_number((double)tot[v].unpriced),
                    tot[v].unpriced ? REP_FMT_UNPRICED_COUNT : REP_FMT_COUNT_TOTAL);
    }
    return r;
}

/* The funnel's counts per market, below the rates, from row `r`. */
static void markets_table(const struct rep_sheet *ws, uint32_t r, const struct rep_ctx *ctx,
                          const struct rep_campaign *c)
{
    /* Under the rates' columns, whose widths stand. */
    static const struct rep_col cols[] = {
        {"Market (on the day of each event)", NULL, 28}, {"Recipients", NULL, 13},
        {"Failed after retries", NULL, 8}, {"Fallbacks", NULL, 11},
        {"Utility delivered", NULL, 20},  {"Converted", NULL, 11},
        {"Broadcast delivered", NULL, 19},
    };
    int nm = suf_money_nmarkets(ctx->money);
    uint32_t first;
    int64_t tot[6] = {0, 0, 0, 0, 0, 0};

    header_cols(ws, r++, cols, 7, "", false);
    first = r;
    for (int m = 0; m <= nm; m++) {
        const struct rep_market *x = &c->markets[m];
        const int64_t v[6] = {x->recipients, x->failed, x->fallbacks, x->utility_delivered,
                              x->converted, x->broadcast_delivered};

        if (!x->recipients && !x->fallbacks && !x->broadcast_delivered)
            continue;
        rep_write_text(ws, r, 0, suf_money_market_name(ctx->money, m == nm ? -1 : m),
                       REP_FMT_NONE);
        for (int k = 0; k < 6; k++) {
            write_count(ws, r, (uint16_t)(1 + k), v[k], REP_FMT_COUNT);
            tot[k] += v[k];
        }
        r++;
    }
    put_text(ws, r, 0, "Total", REP_FMT_BOLD);
    for (int k = 0; k < 6; k++)
        write_sum(ws, r, (uint16_t)(1 + k), first, r - 1, rep_cell_number((double)tot[k]),
                  REP_FMT_COUNT_TOTAL);
}

static void sheet_markets(const struct rep_sheet *ws, const struct rep_book *b,
                          const struct rep_campaign *c)
{
    uint32_t r = rates_table(ws, b->ctx, c);

    markets_table(ws, r + 1, b->ctx, c);
    freeze(ws, 1, 1);
    print_setup(ws, b->print_header, 0, 0);
}

/* --- By scenario ------------------------------------------------------------ */

static void sheet_scenarios(const struct rep_sheet *ws, const struct rep_book *b,
                            const struct rep_campaign *c)
{
    static const struct rep_col cols[] = {
        {"Scenario", NULL, 11},       {"Fallbacks", NULL, 11},
        {"Utility sent", NULL, 11},   {"Utility delivered", NULL, 11},
        {"Consented", NULL, 11},      {"Session sent", NULL, 11},
        {"Converted", NULL, 11},      {"Conversion rate", NULL, 12},
        {"Utility cost", "policy", 15}, {"Session cost", "policy", 15},
        {"Total", "policy", 15},      {"Total", "Meta", 15},
        {"Unpriced charges", NULL, 11},
    };
    uint32_t r = 1;
    int64_t t[6] = {0, 0, 0, 0, 0, 0};
    struct rep_money tu, ts, tt;

    memset(&tu, 0, sizeof(tu));
    memset(&ts, 0, sizeof(ts));
    header_cols(ws, 0, cols, 13, suf_money_currency(b->ctx->money), true);
    freeze(ws, 1, 1);
    print_setup(ws, b->print_header, 0, 0);
    for (int i = 0; i <= REP_NSCEN; i++) {
        const struct rep_scenario *s = &c->scen[i];
        const int64_t v[6] = {s->fallbacks, s->utility_sent, s->utility_delivered,
                              s->consented, s->session_sent, s->converted};
        struct rep_money both = s->utility;
        char name[8];

        if (i == REP_NSCEN && !s->fallbacks)
            break;
        rep_money_add(&both, &s->session);
        snprintf(name, sizeof(name), i == REP_NSCEN ? "other" : "S%d", i + 1);
        put_text(ws, r, 0, name, REP_FMT_NONE);
        for (int k = 0; k < 6; k++) {
            write_count(ws, r, (uint16_t)(1 + k), v[k], REP_FMT_COUNT);
            t[k] += v[k];
        }
        write_ratio(ws, r, 7, r, 6, r, 1, rep_cell_number(ratio(s->converted, s->fallbacks)),
                    REP_FMT_PCT);
        write_known_sum(ws, r, 8, s->utility.policy, &s->utility);
        write_known_sum(ws, r, 9, s->session.policy, &s->session);
        write_plus_money(ws, r, 10, r, 8, r, 9, both.policy, &both, false);
        write_known_sum(ws, r, 11, both.meta, &both);
        write_unpriced(ws, r, 12, both.unpriced);
        rep_money_add(&tu, &s->utility);
        rep_money_add(&ts, &s->session);
        r++;
    }
    tt = tu;
    rep_money_add(&tt, &ts);
    filter(ws, 0, 0, r - 1, 12);
    put_text(ws, r, 0, "Total", REP_FMT_BOLD);
    for (int k = 0; k < 6; k++)
        write_sum(ws, r, (uint16_t)(1 + k), 1, r - 1, rep_cell_number((double)t[k]),
                  REP_FMT_COUNT_TOTAL);
    write_ratio(ws, r, 7, r, 6, r, 1, rep_cell_number(ratio(t[5], t[0])), REP_FMT_PCT);
    write_sum_money(ws, r, 8, 1, r - 1, tu.policy, &tu);
    write_sum_money(ws, r, 9, 1, r - 1, ts.policy, &ts);
    write_sum_money(ws, r, 10, 1, r - 1, tt.policy, &tt);
    write_sum_money(ws, r, 11, 1, r - 1, tt.meta, &tt);
    write_sum(ws, r, 12, 1, r - 1, rep_cell_number((double)tt.unpriced),
              tt.unpriced ? REP_FMT_UNPRICED_COUNT : REP_FMT_COUNT_TOTAL);
}

/* --- Exclusions ------------------------------------------------------------- */

static void sheet_exclusions(const struct rep_sheet *ws, const struct rep_book *b,
                             const struct rep_campaign *c)
{
    static const struct rep_col cols[] = {
        {"Reason", NULL, 44}, {"Reason id", NULL, 22}, {"Recipients", NULL, 12},
        {"Share of exclusions", NULL, 12}};
    int64_t total = 0;
    uint32_t r = 1;

    header_cols(ws, 0, cols, 4, "", true);
    freeze(ws, 1, 0);
    print_setup(ws, b->print_header, 0, 0);
    for (int i = 0; i < c->nreasons; i++)
        total += c->reasons[i].count;
    for (int i = 0; i < c->nreasons; i++, r++) {
        put_text(ws, r, 0, rep_reason_words(c->reasons[i].reason), REP_FMT_NONE);
        rep_write_text(ws, r, 1, c->reasons[i].reason, REP_FMT_NONE);
        write_count(ws, r, 2, c->reasons[i].count, REP_FMT_COUNT);
        write_ratio(ws, r, 3, r, 2, (uint32_t)(c->nreasons + 1), 2,
                    rep_cell_number(ratio(c->reasons[i].count, total)), REP_FMT_PCT);
    }
    filter(ws, 0, 0, r - 1, 3);
    put_text(ws, r, 0, "Total", REP_FMT_BOLD);
    write_sum(ws, r, 2, 1, r - 1, rep_cell_number((double)total), REP_FMT_COUNT_TOTAL);
}

/* --- Inputs ------------------------------------------------------------------ */

/* The rows Inputs and the portfolio's Inputs share, from row `r`: the as-of
 * time, the version and the billing policy.  Returns the next row. */
static uint32_t run_rows(const struct rep_sheet *ws, uint32_t r, const struct rep_ctx *ctx)
{
    put_text(ws, r, 0, "As of (UTC)", REP_FMT_BOLD);
    rep_write_time(ws, r++, 1, ctx->as_of, REP_FMT_DATETIME);
    key_value(ws, r++, "suf version", SUF_VERSION);
    key_value(ws, r++, "Currency", suf_money_currency(ctx->money));
    key_value(ws, r++, "Market map", ctx->market_map);
    return policy_rows(ws, r, ctx);
}

static void sheet_inputs(const struct rep_sheet *ws, const struct rep_book *b,
                         const struct rep_campaign *c)
{
    static const struct rep_col file_cols[] = {
        {"Kind", NULL, 34}, {"File", NULL, 48},   {"SHA-256", NULL, 66},
        {"Rows", NULL, 10}, {"Rejects", NULL, 10}, {"Imported at (UTC)", NULL, 19}};
    static const struct rep_col card_cols[] = {
        {"Rate card", NULL, 34}, {"Effective (UTC day)", NULL, 48}, {"Currency", NULL, 66},
        {"Charges priced", NULL, 10}};
    const struct rep_ctx *ctx = b->ctx;
    char buf[128];
    uint32_t r = 0, first;

    header_cols(ws, r++, item_cols, 2, "", false);
    for (int i = 0; i < 6; i++)
        set_width(ws, (uint16_t)i, (uint16_t)i, file_cols[i].width);
    freeze(ws, 1, 0);
    print_setup(ws, b->print_header, 0, 0);
    key_value(ws, r++, "Campaign", c->id);
    key_value(ws, r++, "Campaign name", c->name);
    r = run_rows(ws, r, ctx);
    key_value(ws, r++, "Rate card rule", "the card in effect on the UTC day of delivery");
    key_value(ws, r++, "Phones", phones_words(ctx->run->cfg, buf, sizeof(buf)));
    no_market_row(ws, r++, ctx, c);
    r++;
    header_cols(ws, r++, card_cols, 4, "", false);
    for (int i = 0; i < suf_money_ncards(ctx->money); i++) {
        const struct suf_money_card *cd = suf_money_card(ctx->money, i);

        if (!c->card_charges[i])
            continue;
        snprintf(buf, sizeof(buf), "%s %s", suf_money_currency(ctx->money), cd->date);
        put_text(ws, r, 0, buf, REP_FMT_NONE);
        write_day(ws, r, 1, cd->effective);
        put_text(ws, r, 2, suf_money_currency(ctx->money), REP_FMT_NONE);
        write_count(ws, r++, 3, c->card_charges[i], REP_FMT_COUNT);
    }
    r++;
    header_cols(ws, r++, file_cols, 6, "", false);
    first = r - 1;
    for (int i = 0; i < c->nfiles; i++, r++) {
        const struct rep_file *fl = &c->files[i];

        rep_write_text(ws, r, 0, fl->kind, REP_FMT_NONE);
        rep_write_text(ws, r, 1, fl->path, REP_FMT_NONE);
        rep_write_text(ws, r, 2, fl->sha256, REP_FMT_NONE);
        write_count(ws, r, 3, fl->rows, REP_FMT_COUNT);
        write_count(ws, r, 4, fl->rejects, REP_FMT_COUNT);
        rep_write_time(ws, r, 5, fl->imported_at, REP_FMT_DATETIME);
    }
    filter(ws, first, 0, r > first + 1 ? r - 1 : first, 5);
}

/* --- the portfolio ------------------------------------------------------------ */

enum { PF_BROADCAST = 8, PF_UNPRICED = 13, PF_PER_CONV = 14, PF_NCOLS = 16 };

static void sheet_portfolio(const struct rep_sheet *ws, const struct rep_ctx *ctx,
                            const char *header, struct rep_campaign *const *cs, int n)
{
    static const struct rep_col cols[PF_NCOLS] = {
        {"Campaign", NULL, 24},
        {"Name", NULL, 28},
        {"Recipients", NULL, 11},
        {"Failed after retries", NULL, 11},
        {"Fallbacks", NULL, 11},
        {"Utility delivered", NULL, 11},
        {"Consented", NULL, 11},
        {"Converted", NULL, 11},
        {"Broadcast cost", "both views", 15},
        {"Utility cost", "policy", 15},
        {"Session cost", "policy", 15},
        {"Fallback total", "policy", 15},
        {"Fallback total", "Meta", 15},
        {"Unpriced charges", NULL, 11},
        {"Fallback cost per conversion", "policy", 17},
        {"Workbook", NULL, 48},
    };
    static const enum rep_funnel steps[] = {REP_RECIPIENTS,        REP_FAILED,
                                            REP_FALLBACKS,         REP_UTILITY_DELIVERED,
                                            REP_CONSENTED,         REP_CONVERTED};
    int64_t tc[6] = {0, 0, 0, 0, 0, 0};
    struct rep_money tb, tu, ts, tf, tall;
    uint32_t r = 1;

    memset(&tb, 0, sizeof(tb));
    memset(&tu, 0, sizeof(tu));
    memset(&ts, 0, sizeof(ts));
    header_cols(ws, 0, cols, PF_NCOLS, suf_money_currency(ctx->money), true);
    freeze(ws, 1, 1);
    print_setup(ws, header, 0, 0);
    for (int i = 0; i < n; i++, r++) {
        const struct rep_campaign *c = cs[i];
        struct rep_money fb = c->utility;
        int64_t converted = c->funnel[REP_CONVERTED];

        rep_money_add(&fb, &c->session);
        rep_write_text(ws, r, 0, c->id, REP_FMT_NONE);
        rep_write_text(ws, r, 1, c->name, REP_FMT_NONE);
        for (int k = 0; k < 6; k++) {
            write_count(ws, r, (uint16_t)(2 + k), c->funnel[steps[k]], REP_FMT_COUNT);
            tc[k] += c->funnel[steps[k]];
        }
        write_known_sum(ws, r, PF_BROADCAST, c->broadcast.policy, &c->broadcast);
        write_known_sum(ws, r, 9, c->utility.policy, &c->utility);
        write_known_sum(ws, r, 10, c->session.policy, &c->session);
        write_plus_money(ws, r, 11, r, 9, r, 10, fb.policy, &fb, false);
        write_known_sum(ws, r, 12, fb.meta, &fb);
        write_unpriced(ws, r, PF_UNPRICED, c->charges_unpriced);
        if (fb.unpriced)
            put_blank(ws, r, PF_PER_CONV, REP_FMT_UNPRICED);
        else
            write_ratio(ws, r, PF_PER_CONV, r, 11, r, 7, rep_cell_per(fb.policy, converted),
                        REP_FMT_RATE);
        rep_write_text(ws, r, 15, c->relpath ? c->relpath : "", REP_FMT_NONE);
        rep_money_add(&tb, &c->broadcast);
        rep_money_add(&tu, &c->utility);
        rep_money_add(&ts, &c->session);
    }
    tf = tu;
    rep_money_add(&tf, &ts);
    tall = tf;
    rep_money_add(&tall, &tb);
    filter(ws, 0, 0, r > 1 ? r - 1 : 0, PF_NCOLS - 1);
    put_text(ws, r, 0, "Total", REP_FMT_BOLD);
    for (int k = 0; k < 6; k++)
        write_sum(ws, r, (uint16_t)(2 + k), 1, r - 1, rep_cell_number((double)tc[k]),
                  REP_FMT_COUNT_TOTAL);
    write_sum_money(ws, r, PF_BROADCAST, 1, r - 1, tb.policy, &tb);
    write_sum_money(ws, r, 9, 1, r - 1, tu.policy, &tu);
    write_sum_money(ws, r, 10, 1, r - 1, ts.policy, &ts);
    write_sum_money(ws, r, 11, 1, r - 1, tf.policy, &tf);
    write_sum_money(ws, r, 12, 1, r - 1, tf.meta, &tf);
    write_sum(ws, r, PF_UNPRICED, 1, r - 1, rep_cell_number((double)tall.unpriced),
              tall.unpriced ? REP_FMT_UNPRICED_COUNT : REP_FMT_COUNT_TOTAL);
    if (tf.unpriced)
        put_blank(ws, r, PF_PER_CONV, REP_FMT_UNPRICED_TOTAL);
    else
        write_ratio(ws, r, PF_PER_CONV, r, 11, r, 7, rep_cell_per(tf.policy, tc[5]),
                    REP_FMT_RATE_TOTAL);
}

/* --- Meta billed vs estimate ----------------------------------------------------- */

enum { MB_DAY, MB_END, MB_MARKET, MB_CAT, MB_VOL, MB_COST, MB_SENT, MB_SENT_COST, MB_BC,
       MB_BC_COST, MB_OTHER, MB_DIFF, MB_FLAG, MB_NCOLS };

static const struct rep_col billed_cols[MB_NCOLS] = {
    {"Day: Meta's bucket from (UTC)", NULL, 19},
    {"Bucket to (UTC)", NULL, 19},
    {"Market", NULL, 24},
    {"Category", NULL, 16},
    {"Meta: messages", NULL, 11},
    {"Meta: cost", "Meta", 15},
    {"suf sent: messages", NULL, 11},
    {"suf sent: cost", "Meta view", 15},
    {"Broadcasts: messages", NULL, 11},
    {"Broadcasts: cost", "Meta view", 15},
    {"Other traffic = difference (messages)", NULL, 14},
    {"Difference: cost", "Meta view", 15},
    {"Flag", NULL, 48},
};

/* Writes =a-b-c of one row's columns, carrying `value`. */
static void write_less(const struct rep_sheet *ws, uint32_t row, uint16_t col, uint16_t a,
                       uint16_t b, uint16_t c, struct cell_value value, enum rep_fmt fmt)
{
    char x[LXW_MAX_CELL_NAME_LENGTH], y[LXW_MAX_CELL_NAME_LENGTH], z[LXW_MAX_CELL_NAME_LENGTH];
    char formula[64];

    snprintf(formula, sizeof(formula), "=%s-%s-%s", cell(x, row, a), cell(y, row, b),
             cell(z, row, c));
    put_formula(ws, row, col, formula, value, fmt);
}

/* A time as the note says it: "2026-11-20 00:00 UTC". */
static const char *note_time(int64_t t, char *buf, size_t size)
{
    char iso[32];

    suf_time_format(t, iso, sizeof(iso));
    snprintf(buf, size, "%.10s %.5s UTC", iso, iso + 11);
    return buf;
}

/* The spans as "from A to B, from C to D", into out. */
static void spans_words(struct suf_buf *out, const struct rep_span *sp, int n)
{
    char a[40], b[40];

    for (int i = 0; i < n; i++)
        suf_buf_addf(out, "%sfrom %s to %s", i ? ", " : "", note_time(sp[i].start, a, sizeof(a)),
                     note_time(sp[i].end, b, sizeof(b)));
}

/* The note atop the sheet, one line a row from row 1; returns the next row. */
static uint32_t billed_note(const struct rep_sheet *ws, const struct rep_ctx *ctx,
                            const struct rep_billed *mb)
{
    const struct suf_config *cfg = ctx->run->cfg;
    struct suf_buf b = SUF_BUF_INIT;
    char min[32];
    uint32_t r = 1;

#define NOTE_LINE()                                                  \
    do {                                                             \
        rep_write_text(ws, r++, 0, suf_buf_str(&b), REP_FMT_NONE);   \
        suf_buf_reset(&b);                                           \
    } while (0)
    suf_buf_addstr(&b, "Compared: Meta's own figures (pricing_analytics, approximate by Meta's "
                       "own words) beside suf's messages in the same bucket, market and "
                       "category: its utility and session messages, and the broadcasts it "
                       "imported (Meta billed them, suf did not send them), each placed by its "
                       "delivery time, when Meta bills it, and costed in Meta's view.");
    NOTE_LINE();
    suf_buf_addstr(&b, "Only the days Meta's billing covers and the categories and countries "
                       "suf knows are compared; a row of any other is shown, not compared. "
                       "\"not given\": Meta gave no cost for it (an account on a partner's "
                       "credit line), never 0; totals add the costs given.");
    NOTE_LINE();
    if (!mb->phone_dimension)
        suf_buf_addstr(&b, "Meta's figures are the whole account's: messages of its other "
                           "business numbers are other traffic.");
    else if (cfg->meta_phone_number && *cfg->meta_phone_number)
        suf_buf_addf(&b, "Other business numbers' traffic is left out (not %s): %lld messages.",
                     cfg->meta_phone_number, (long long)mb->other_numbers);
    else
        suf_buf_addstr(&b, "Meta broke its figures down by business number, but "
                           "[report] meta_phone_number is not set: every number is compared, "
                           "and the others' messages are other traffic.");
    NOTE_LINE();
    suf_buf_addf(&b, "Left out on both sides, as Meta does not charge them: %lld of Meta's "
                     "messages of a FREE pricing type, %lld of suf's that a webhook said were "
                     "not billable.",
                 (long long)mb->meta_free, (long long)mb->suf_free);
    NOTE_LINE();
    suf_buf_addstr(&b, "Fetched: ");
    spans_words(&b, mb->fetched, mb->nfetched);
    suf_buf_addstr(&b, mb->nfetched ? ". Not fetched: every other day" : "nothing on record");
    if (mb->ngaps) {
        suf_buf_addstr(&b, ", among them ");
        spans_words(&b, mb->gaps, mb->ngaps);
    }
    suf_buf_addf(&b, ". suf's billed messages not compared: %lld on days not fetched, %lld in a "
                     "fetched span but in none of Meta's buckets.",
                 (long long)mb->not_fetched, (long long)mb->between);
    NOTE_LINE();
    if (mb->currency_differs) {
        suf_buf_addf(&b, "Meta billed in %s, suf estimates in %s: costs are not compared.",
                     mb->currency, suf_money_currency(ctx->money));
        NOTE_LINE();
    }
    suf_amount_format(cfg->meta_diff_min, min, sizeof(min));
    suf_buf_addf(&b, "Flagged: a message difference above %g%% of Meta's messages; a cost "
                     "difference above %g%% of Meta's cost and above %s %s "
                     "([report] meta_diff_threshold, meta_diff_min). Other traffic below 0: "
                     "suf counts more than Meta.",
                 cfg->meta_diff_threshold * 100, cfg->meta_diff_threshold * 100, min,
                 suf_money_currency(ctx->money));
    NOTE_LINE();
#undef NOTE_LINE
    suf_buf_release(&b);
    return r;
}

/* The words of a row's flags, into out. */
static const char *billed_flags(const struct rep_billed_row *row, char *out, size_t size)
{
    const char *sep = "";
    size_t n = 0;

    out[0] = '\0';
    if (!row->compared) {
        suf_strlcpy(out, "not compared: suf does not know this market or category", size);
        return out;
    }
    if (row->other < 0) {
        n += (size_t)snprintf(out + n, size - n, "suf counts more than Meta");
        sep = "; ";
    }
    if (row->flag_count && n < size) {
        n += (size_t)snprintf(out + n, size - n, "%smessages differ", sep);
        sep = "; ";
    }
    if (row->flag_cost && n < size)
        snprintf(out + n, size - n, "%scost differs", sep);
    return out;
}

/* A cost of Meta's, or of the difference: "not given" as text where Meta
 * gave none, blank where suf could not price, else the amount. */
static void billed_cost(const struct rep_sheet *ws, uint32_t r, uint16_t col,
                        const struct rep_billed_row *row, bool difference)
{
    if (!row->meta_cost_given)
        put_text(ws, r, col, "not given", REP_FMT_UNPRICED);
    else if (!difference)
        write_money(ws, r, col, row->meta_cost, REP_FMT_MONEY);
    else if (!row->diff_known)
        put_blank(ws, r, col, REP_FMT_UNPRICED);
    else
        write_less(ws, r, col, MB_COST, MB_SENT_COST, MB_BC_COST, rep_cell_amount(row->diff),
                   REP_FMT_MONEY);
}

static void sheet_meta_billed(const struct rep_sheet *ws, const struct rep_ctx *ctx,
                              const char *header, const struct rep_billed *mb)
{
    int64_t counts[4] = {0, 0, 0, 0}, meta = 0, diff = 0;
    struct rep_money sent, bc;
    bool meta_partial = false, diff_partial = false;
    uint32_t r, first, head;
    char flags[160];

    memset(&sent, 0, sizeof(sent));
    memset(&bc, 0, sizeof(bc));
    put_text(ws, 0, 0, "Meta billed vs estimate", REP_FMT_TITLE);
    head = billed_note(ws, ctx, mb) + 1;
    header_cols(ws, head, billed_cols, MB_NCOLS, suf_money_currency(ctx->money), true);
    freeze(ws, head + 1, 0);
    print_setup(ws, header, head, head);
    first = r = head + 1;
    for (int i = 0; i < mb->nrows; i++, r++) {
        const struct rep_billed_row *row = &mb->rows[i];

        rep_write_time(ws, r, MB_DAY, row->start, REP_FMT_DATETIME);
        rep_write_time(ws, r, MB_END, row->end, REP_FMT_DATETIME);
        rep_write_text(ws, r, MB_MARKET, row->market, REP_FMT_NONE);
        rep_write_text(ws, r, MB_CAT, row->category, REP_FMT_NONE);
        write_count(ws, r, MB_VOL, row->meta_volume, REP_FMT_COUNT);
        billed_cost(ws, r, MB_COST, row, false);
        write_count(ws, r, MB_SENT, row->sent.charges, REP_FMT_COUNT);
        write_known_sum(ws, r, MB_SENT_COST, row->sent.meta, &row->sent);
        write_count(ws, r, MB_BC, row->broadcast.charges, REP_FMT_COUNT);
        write_known_sum(ws, r, MB_BC_COST, row->broadcast.meta, &row->broadcast);
        write_less(ws, r, MB_OTHER, MB_VOL, MB_SENT, MB_BC, rep_cell_number((double)row->other),
                   REP_FMT_COUNT);
        billed_cost(ws, r, MB_DIFF, row, true);
        rep_write_text(ws, r, MB_FLAG, billed_flags(row, flags, sizeof(flags)), REP_FMT_NONE);
        counts[0] += row->meta_volume;
        counts[1] += row->sent.charges;
        counts[2] += row->broadcast.charges;
        counts[3] += row->other;
        if (row->meta_cost_given)
            meta += row->meta_cost;
        meta_partial |= !row->meta_cost_given;
        if (row->diff_known)
            diff += row->diff;
        diff_partial |= !row->diff_known;
        rep_money_add(&sent, &row->sent);
        rep_money_add(&bc, &row->broadcast);
    }
    filter(ws, head, 0, r > first ? r - 1 : head, MB_NCOLS - 1);
    put_text(ws, r, 0, "Total", REP_FMT_BOLD);
    write_sum(ws, r, MB_VOL, first, r - 1, rep_cell_number((double)counts[0]),
              REP_FMT_COUNT_TOTAL);
    write_sum(ws, r, MB_COST, first, r - 1, rep_cell_amount(meta),
              meta_partial ? REP_FMT_UNPRICED_TOTAL : REP_FMT_MONEY_TOTAL);
    write_sum(ws, r, MB_SENT, first, r - 1, rep_cell_number((double)counts[1]),
              REP_FMT_COUNT_TOTAL);
    write_sum(ws, r, MB_SENT_COST, first, r - 1, rep_cell_amount(sent.meta), sum_fmt(&sent, true));
    write_sum(ws, r, MB_BC, first, r - 1, rep_cell_number((double)counts[2]),
              REP_FMT_COUNT_TOTAL);
    write_sum(ws, r, MB_BC_COST, first, r - 1, rep_cell_amount(bc.meta), sum_fmt(&bc, true));
    write_sum(ws, r, MB_OTHER, first, r - 1, rep_cell_number((double)counts[3]),
              REP_FMT_COUNT_TOTAL);
    write_sum(ws, r, MB_DIFF, first, r - 1, rep_cell_amount(diff),
              diff_partial ? REP_FMT_UNPRICED_TOTAL : REP_FMT_MONEY_TOTAL);
}

static void sheet_portfolio_inputs(const struct rep_sheet *ws, const struct rep_ctx *ctx,
                                   const char *header, const struct rep_billed *mb)
{
    char buf[160];
    uint32_t r;

    set_width(ws, 0, 0, 36);
    set_width(ws, 1, 1, 30);
    header_cols(ws, 0, item_cols, 2, "", false);
    r = run_rows(ws, 1, ctx);
    if (mb && mb->nrows)
        snprintf(buf, sizeof(buf), "%d rows beside suf's estimate: see Meta billed vs estimate",
                 mb->nrows);
    else
        suf_strlcpy(buf, "none imported (suf import billing FILE): no Meta billed vs estimate",
                    sizeof(buf));
    key_value(ws, r, "Meta billing", buf);
    freeze(ws, 1, 0);
    print_setup(ws, header, 0, 0);
}

void rep_render_portfolio(const struct rep_ctx *ctx, const struct rep_sink *sink,
                          struct rep_campaign *const *cs, int n, const struct rep_billed *mb)
{
    struct rep_sheet campaigns = add_sheet(sink, "Campaigns");
    struct rep_sheet billed, inputs;
    char header[256];

    print_header(header, sizeof(header), "Portfolio", NULL, ctx);
    sheet_portfolio(&campaigns, ctx, header, cs, n);
    if (mb && mb->nrows) {
        billed = add_sheet(sink, "Meta billed vs estimate");
        sheet_meta_billed(&billed, ctx, header, mb);
    }
    inputs = add_sheet(sink, "Inputs");
    sheet_portfolio_inputs(&inputs, ctx, header, mb);
}

/* --- a campaign's workbook ------------------------------------------------------ */

void rep_book_begin(struct rep_book *b, const struct rep_ctx *ctx, const struct rep_campaign *c,
                    const struct rep_sink *sink, int64_t rows_per_sheet)
{
    memset(b, 0, sizeof(*b));
    b->ctx = ctx;
    b->sink = sink;
    b->rows_per_sheet = rows_per_sheet > 0 ? rows_per_sheet : SUF_REPORT_ROWS_PER_SHEET;
    print_header(b->print_header, sizeof(b->print_header), c->id, c->name, ctx);
    b->summary = add_sheet(sink, "Summary");
    b->markets = add_sheet(sink, "By market");
    b->scenarios = add_sheet(sink, "By scenario");
    b->exclusions = add_sheet(sink, "Exclusions");
    b->excluded = (struct rep_list){.name = "Excluded recipients", .cols = excluded_cols,
                                    .ncols = NCOLS(excluded_cols)};
    b->waiting = (struct rep_list){.name = "Waiting recipients", .cols = waiting_cols,
                                   .ncols = NCOLS(waiting_cols)};
    b->fallbacks =
        (struct rep_list){.name = "Fallbacks", .cols = fb_cols, .ncols = NCOLS(fb_cols)};
}

void rep_book_finish(struct rep_book *b, const struct rep_campaign *c)
{
    struct rep_sheet inputs;

    list_finish(b, &b->excluded);
    list_finish(b, &b->waiting);
    list_finish(b, &b->fallbacks);
    inputs = add_sheet(b->sink, "Inputs");
    sheet_inputs(&inputs, b, c);
    sheet_summary(&b->summary, b, c);
    sheet_markets(&b->markets, b, c);
    sheet_scenarios(&b->scenarios, b, c);
    sheet_exclusions(&b->exclusions, b, c);
    b->sink->ops->activate(b->sink->self, b->summary.ws);
}
