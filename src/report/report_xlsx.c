/*
 * report_xlsx.c: the report's sink into an .xlsx file (see report_xlsx.h).
 *
 * Each operation of report_sink.h is one libxlsxwriter call; the formats
 * are made once, in the order of enum rep_fmt, from the specs the sheets
 * give.  The workbook is in constant-memory mode: a worksheet keeps one row
 * in memory and the rest in a temporary file in `tmpdir`, which is the
 * workbook's own folder so that the final rename stays on one file system.
 */
#include <stdlib.h>
#include <string.h>

#include <xlsxwriter.h>

#include "base/util.h"
#include "base/version.h"
#include "report/report_xlsx.h"
#include "base/banned.h"

struct rep_xlsx {
    lxw_workbook *wb;
    lxw_format *fmt[REP_NFMT]; /* REP_FMT_NONE: NULL */
    char *tmpdir;
};

static lxw_format *add_format(lxw_workbook *wb, const struct rep_format_spec *s)
{
    lxw_format *f = workbook_add_format(wb);

    if (s->bold)
        format_set_bold(f);
    if (s->font_size)
        format_set_font_size(f, s->font_size);
    if (s->wrap)
        format_set_text_wrap(f);
    if (s->rule_below)
        format_set_bottom(f, LXW_BORDER_THIN);
    if (s->rule_above)
        format_set_top(f, LXW_BORDER_THIN);
    if (s->bg_color)
        format_set_bg_color(f, (lxw_color_t)s->bg_color);
    if (s->align_top)
        format_set_align(f, LXW_ALIGN_VERTICAL_TOP);
    if (s->num_format)
        format_set_num_format(f, s->num_format);
    return f;
}

struct rep_xlsx *rep_xlsx_open(const char *path, const char *tmpdir, const char *title,
                               int64_t created, const struct rep_format_spec *specs)
{
    struct rep_xlsx *x = suf_xcalloc(1, sizeof(*x));
    lxw_workbook_options opt = {.constant_memory = LXW_TRUE, .use_zip64 = 0};
    char title_buf[256], author[64], comments[64];
    lxw_doc_properties props;

    x->tmpdir = suf_xstrdup(tmpdir);
    opt.tmpdir = x->tmpdir;
    x->wb = workbook_new_opt(path, &opt);
    if (!x->wb) {
        rep_xlsx_discard(x);
        return NULL;
    }
    /* libxlsxwriter copies these; its struct just is not const.  The
     * creation date is the as-of time, so two runs differ in nothing. */
    suf_strlcpy(title_buf, title, sizeof(title_buf));
    suf_strlcpy(author, "suf " SUF_VERSION, sizeof(author));
    suf_strlcpy(comments, "Smart Utility Fallback report", sizeof(comments));
    memset(&props, 0, sizeof(props));
    props.title = title_buf;
    props.author = author;
    props.comments = comments;
    props.created = (time_t)created;
    workbook_set_properties(x->wb, &props);
    for (int i = REP_FMT_NONE + 1; i < REP_NFMT; i++)
        x->fmt[i] = add_format(x->wb, &specs[i]);
    return x;
}

int rep_xlsx_close(struct rep_xlsx *x, const char *name, struct suf_err *err)
{
    lxw_error e = workbook_close(x->wb);

    x->wb = NULL;
    rep_xlsx_discard(x);
    if (e != LXW_NO_ERROR)
        return suf_err_at(err, SUF_ERR_IO, name, 0, "cannot write workbook: %s",
                          lxw_strerror(e));
    return SUF_OK;
}

void rep_xlsx_discard(struct rep_xlsx *x)
{
    if (!x)
        return;
    if (x->wb)
        workbook_close(x->wb); /* the only way to free it; the caller removes the file */
    free(x->tmpdir);
    free(x);
}

/* --- the operations ---------------------------------------------------------- */

static void *add_sheet(void *self, const char *name)
{
    struct rep_xlsx *x = self;

    return workbook_add_worksheet(x->wb, name);
}

static void text(void *self, void *ws, uint32_t row, uint16_t col, const char *s,
                 enum rep_fmt fmt)
{
    struct rep_xlsx *x = self;

    worksheet_write_string(ws, row, col, s, x->fmt[fmt]);
}

static void number(void *self, void *ws, uint32_t row, uint16_t col, double v, enum rep_fmt fmt)
{
    struct rep_xlsx *x = self;

    worksheet_write_number(ws, row, col, v, x->fmt[fmt]);
}

static void formula(void *self, void *ws, uint32_t row, uint16_t col, const char *formula,
                    double value, enum rep_fmt fmt)
{
    struct rep_xlsx *x = self;

    worksheet_write_formula_num(ws, row, col, formula, x->fmt[fmt], value);
}

static void datetime(void *self, void *ws, uint32_t row, uint16_t col, int64_t t,
                     enum rep_fmt fmt)
{
    struct rep_xlsx *x = self;

    worksheet_write_unixtime(ws, row, col, t, x->fmt[fmt]);
}

static void width(void *self, void *ws, uint16_t first, uint16_t last, double w)
{
    (void)self;
    worksheet_set_column(ws, first, last, w, NULL);
}

static void freeze(void *self, void *ws, uint32_t row, uint16_t col)
{
    (void)self;
    worksheet_freeze_panes(ws, row, col);
}

static void filter(void *self, void *ws, uint32_t r1, uint16_t c1, uint32_t r2, uint16_t c2)
{
    (void)self;
    worksheet_autofilter(ws, r1, c1, r2, c2);
}

static void chart(void *self, void *ws, uint32_t row, uint16_t col, const struct rep_chart *ch)
{
    struct rep_xlsx *x = self;
    lxw_chart *c = workbook_add_chart(x->wb, LXW_CHART_COLUMN);
    lxw_chart_series *series = chart_add_series(c, ch->categories, ch->values);
    lxw_chart_options opt;

    chart_series_set_name(series, ch->series_name);
    chart_series_set_labels(series);
    chart_title_set_name(c, ch->title);
    if (ch->x_title)
        chart_axis_set_name(c->x_axis, ch->x_title);
    chart_legend_set_position(c, LXW_CHART_LEGEND_NONE);
    memset(&opt, 0, sizeof(opt));
    opt.x_scale = ch->x_scale;
    opt.y_scale = ch->y_scale;
    worksheet_insert_chart_opt(ws, row, col, c, &opt);
}

static void activate(void *self, void *ws)
{
    (void)self;
    worksheet_activate(ws);
}

static void blank(void *self, void *ws, uint32_t row, uint16_t col, enum rep_fmt fmt)
{
    struct rep_xlsx *x = self;

    worksheet_write_blank(ws, row, col, x->fmt[fmt]);
}

static void print(void *self, void *ws, const struct rep_print *p)
{
    (void)self;
    if (p->landscape)
        worksheet_set_landscape(ws);
    else
        worksheet_set_portrait(ws);
    if (p->fit_wide || p->fit_tall)
        worksheet_fit_to_pages(ws, p->fit_wide, p->fit_tall);
    if (p->repeat_first <= p->repeat_last)
        worksheet_repeat_rows(ws, p->repeat_first, p->repeat_last);
    /* The sheets keep both under Excel's 255 characters; libxlsxwriter
     * refuses longer ones, and the sheet then prints without. */
    if (p->header)
        worksheet_set_header(ws, p->header);
    if (p->footer)
        worksheet_set_footer(ws, p->footer);
}

static void height(void *self, void *ws, uint32_t row, double points)
{
    (void)self;
    worksheet_set_row(ws, row, points, NULL);
}

static const struct rep_sink_ops xlsx_ops = {
    add_sheet, text, number, formula, datetime, width, freeze, filter, chart, activate,
    blank, print, height,
};

struct rep_sink rep_xlsx_sink(struct rep_xlsx *x)
{
    struct rep_sink s = {&xlsx_ops, x};
    return s;
}
