/*
 * report_xlsx.c: the report's sink into an .xlsx file (see report_xlsx.h).
 *
 * Each operation of report_sink.h is one libxlsxwriter call; the formats
 * are made once, in the order of enum rep_fmt, from the specs the sheets
 * give.  The workbook is in constant-memory mode: a worksheet keeps one row
 * in memory and the rest in a temporary file in `tmpdir`, which is the
 * workbook's own folder so that the final rename stays on one file system.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "base/log.h"
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

/* --- closing: where libxlsxwriter writes the file, and prints why not ------ */

/*
 * workbook_close() says why it failed only on stderr, in the library's own
 * format ("[ERROR] workbook_close(): Zip ZIP_ERRNO error while creating
 * xlsx file '...'. System error = No space left on device"), and the
 * library has no switch for that.  Around the call, fd 2 goes into a pipe;
 * afterwards the lines are read back and become suf's error, or its debug
 * log.  A pipe needs no disk, which may be the full one; both its ends are
 * non-blocking, so a library that prints more than the pipe holds loses
 * the rest instead of hanging.  Lines that are not the library's (another
 * thread's) go back to stderr as they were.
 */
struct capture {
    int saved; /* the real fd 2, -1 when nothing is captured */
    int rd;    /* the pipe's read end */
};

static void capture_begin(struct capture *c)
{
    int p[2];

    c->saved = c->rd = -1;
    fflush(stderr);
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
        return; /* then the library prints as it would */
    c->saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (c->saved < 0 || dup2(p[1], STDERR_FILENO) < 0) {
        if (c->saved >= 0)
            close(c->saved);
        c->saved = -1;
        close(p[0]);
        close(p[1]);
        return;
    }
    close(p[1]);
    c->rd = p[0];
}

/* Gives fd 2 back and appends what was printed meanwhile to `out`. */
static void capture_end(struct capture *c, struct suf_buf *out)
{
    char chunk[4096];
    ssize_t n;

    if (c->saved < 0)
        return;
    fflush(stderr);
    dup2(c->saved, STDERR_FILENO); /* closes the pipe's last write end */
    close(c->saved);
    clearerr(stderr); /* a write the full pipe refused set it */
    while ((n = read(c->rd, chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR))
        if (n > 0)
            suf_buf_add(out, chunk, (size_t)n);
    close(c->rd);
}

/* The message of one of the library's lines ("[ERROR][file:12]: text",
 * "[ERROR] fn(): text", "[WARNING]: text"), or NULL for another line. */
static const char *lib_message(const char *line)
{
    const char *p;

    if (strncmp(line, "[ERROR]", 7) && strncmp(line, "[WARNING]", 9))
        return NULL;
    p = strstr(line, ": ");
    return p ? p + 2 : line;
}

/* Writes `s` as suf's messages read: a lowercase first letter and no final
 * full stop. */
static void as_reason(const char *s, char *out, size_t size)
{
    size_t n;

    suf_strlcpy(out, s, size);
    n = strlen(out);
    while (n && (out[n - 1] == '.' || isspace((unsigned char)out[n - 1])))
        out[--n] = '\0';
    if (out[0] && isupper((unsigned char)out[0]) && !isupper((unsigned char)out[1]))
        out[0] = (char)tolower((unsigned char)out[0]);
}

/*
 * Sorts out what the library printed while closing: its last error's
 * reason (the system's "System error = ..." where it gives one, which is
 * what a user can act on) goes to `reason` (left alone when there is none);
 * every line of the library goes to the debug log with `name` (may be
 * NULL); other lines go back to stderr.
 */
static void sort_printed(char *text, const char *name, char *reason, size_t size)
{
    char *save = NULL;

    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        const char *msg = lib_message(line), *sys;

        if (!msg) {
            fprintf(stderr, "%s\n", line);
            continue;
        }
        if (name)
            suf_debug("report: '%s': libxlsxwriter: %s", name, msg);
        else
            suf_debug("report: libxlsxwriter: %s", msg);
        if (strncmp(line, "[ERROR]", 7))
            continue;
        sys = strstr(msg, "System error = ");
        as_reason(sys ? sys + 15 : msg, reason, size);
    }
}

/* workbook_close(), its printing captured; *reason gets why it failed. */
static lxw_error close_quietly(lxw_workbook *wb, const char *name, char *reason,
                               size_t size)
{
    struct suf_buf printed = SUF_BUF_INIT;
    struct capture c;
    lxw_error e;

    capture_begin(&c);
    e = workbook_close(wb);
    capture_end(&c, &printed);
    as_reason(lxw_strerror(e), reason, size);
    if (printed.len)
        sort_printed(printed.buf, name, reason, size);
    suf_buf_release(&printed);
    return e;
}

int rep_xlsx_close(struct rep_xlsx *x, const char *name, struct suf_err *err)
{
    char reason[256];
    lxw_error e = close_quietly(x->wb, name, reason, sizeof(reason));

    x->wb = NULL;
    rep_xlsx_discard(x);
    if (e != LXW_NO_ERROR)
        return suf_err_at(err, SUF_ERR_IO, name, 0, "cannot write workbook: %s", reason);
    return SUF_OK;
}

void rep_xlsx_discard(struct rep_xlsx *x)
{
    char reason[256];

    if (!x)
        return;
    /* The only way to free it, which writes what it can; the caller has
     * its own error and removes the file. */
    if (x->wb)
        close_quietly(x->wb, NULL, reason, sizeof(reason));
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

static void amount(void *self, void *ws, uint32_t row, uint16_t col, struct rep_amount a,
                   enum rep_fmt fmt)
{
    number(self, ws, row, col, rep_amount_value(a), fmt);
}

static void formula_amount(void *self, void *ws, uint32_t row, uint16_t col, const char *f,
                           struct rep_amount a, enum rep_fmt fmt)
{
    formula(self, ws, row, col, f, rep_amount_value(a), fmt);
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
    add_sheet, text,   number,         formula, datetime, width, freeze, filter, chart,
    activate,  amount, formula_amount, blank,   print,    height,
};

struct rep_sink rep_xlsx_sink(struct rep_xlsx *x)
{
    struct rep_sink s = {&xlsx_ops, x};
    return s;
}
