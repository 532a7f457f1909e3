/*
 * report_sheets.c: the cells of each worksheet.
 *
 * Rules every sheet follows:
 *  - workbooks are in constant-memory mode, so each sheet is written top to
 *    bottom, row by row; totals sit below their data and carry their value,
 *    computed here, beside the formula (worksheet_write_formula_num), so
 *    viewers that never recalculate still show the right figure;
 *  - text that comes from inputs goes through rep_write_text, which always
 *    writes a string: a template called "=HYPERLINK(...)" stays text;
 *  - money is int64 micros up to the cell; rep_cell_amount is the one place
 *    an amount becomes a floating-point number.
 */
#include <stdlib.h>
#include <string.h>

#include "base/amount.h"
#include "base/phone.h"
#include "base/utf8.h"
#include "base/util.h"
#include "base/version.h"
#include "report/report.h"
#include "report/report_priv.h"
#include "base/banned.h"

#define MAX_CELL_TEXT 32767 /* Excel's limit on a cell's characters */

double rep_cell_amount(int64_t micros)
{
    /* The only conversion of money to floating point: a cell value. */
    return (double)micros / (double)SUF_MICROS_PER_UNIT;
}

static double ratio(int64_t num, int64_t den)
{
    return den ? (double)num / (double)den : 0.0;
}

void rep_write_text(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, const char *s,
                    lxw_format *fmt)
{
    size_t n = strlen(s);
    char *copy = NULL;

    /* Cut on a character boundary, and show bad bytes as '?': the cell
     * must stay valid XML. */
    if (n > MAX_CELL_TEXT || !suf_utf8_valid(s, n))
        s = copy = suf_utf8_scrub(s, MAX_CELL_TEXT);
    worksheet_write_string(ws, row, col, s, fmt);
    free(copy);
}

void rep_write_time(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, int64_t t,
                    lxw_format *fmt)
{
    if (t > 0)
        worksheet_write_unixtime(ws, row, col, t, fmt);
}

static void write_money(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, int64_t micros,
                        lxw_format *fmt)
{
    worksheet_write_number(ws, row, col, rep_cell_amount(micros), fmt);
}

static void write_count(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, int64_t n,
                        lxw_format *fmt)
{
    worksheet_write_number(ws, row, col, (double)n, fmt);
}

/* A1-style name of a cell. */
static const char *cell(char *buf, lxw_row_t row, lxw_col_t col)
{
    lxw_rowcol_to_cell(buf, row, col);
    return buf;
}

/* Writes =SUM(col first:last) carrying `value`. */
static void write_sum(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, lxw_row_t first,
                      lxw_row_t last, double value, lxw_format *fmt)
{
    char a[LXW_MAX_CELL_NAME_LENGTH], b[LXW_MAX_CELL_NAME_LENGTH], formula[64];

    if (last < first) {
        worksheet_write_formula_num(ws, row, col, "=0", fmt, 0.0);
        return;
    }
    snprintf(formula, sizeof(formula), "=SUM(%s:%s)", cell(a, first, col), cell(b, last, col));
    worksheet_write_formula_num(ws, row, col, formula, fmt, value);
}

/* Writes =IF(den=0,0,num/den) carrying its value. */
static void write_ratio(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, lxw_row_t nr,
                        lxw_col_t nc, lxw_row_t dr, lxw_col_t dc, double value, lxw_format *fmt)
{
    char n[LXW_MAX_CELL_NAME_LENGTH], d[LXW_MAX_CELL_NAME_LENGTH], formula[96];

    cell(n, nr, nc);
    cell(d, dr, dc);
    snprintf(formula, sizeof(formula), "=IF(%s=0,0,%s/%s)", d, n, d);
    worksheet_write_formula_num(ws, row, col, formula, fmt, value);
}

/* Writes =a+b carrying its value. */
static void write_plus(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, lxw_row_t ar,
                       lxw_col_t ac, lxw_row_t br, lxw_col_t bc, double value, lxw_format *fmt)
{
    char a[LXW_MAX_CELL_NAME_LENGTH], b[LXW_MAX_CELL_NAME_LENGTH], formula[64];

    snprintf(formula, sizeof(formula), "=%s+%s", cell(a, ar, ac), cell(b, br, bc));
    worksheet_write_formula_num(ws, row, col, formula, fmt, value);
}

static void header_row(lxw_worksheet *ws, lxw_row_t row, const struct rep_formats *f,
                       const char *const *names, const double *widths, int n)
{
    for (int i = 0; i < n; i++) {
        worksheet_write_string(ws, row, (lxw_col_t)i, names[i], f->header);
        if (widths)
            worksheet_set_column(ws, (lxw_col_t)i, (lxw_col_t)i, widths[i], NULL);
    }
}

void rep_formats_add(lxw_workbook *wb, const struct rep_ctx *ctx, struct rep_formats *f)
{
    f->title = workbook_add_format(wb);
    format_set_bold(f->title);
    format_set_font_size(f->title, 14);
    f->header = workbook_add_format(wb);
    format_set_bold(f->header);
    format_set_text_wrap(f->header);
    format_set_bottom(f->header, LXW_BORDER_THIN);
    format_set_bg_color(f->header, 0xDDEBF7);
    format_set_align(f->header, LXW_ALIGN_VERTICAL_TOP);
    f->bold = workbook_add_format(wb);
    format_set_bold(f->bold);
    f->text = NULL;
    f->count = workbook_add_format(wb);
    format_set_num_format(f->count, "#,##0");
    f->count_total = workbook_add_format(wb);
    format_set_num_format(f->count_total, "#,##0");
    format_set_bold(f->count_total);
    format_set_top(f->count_total, LXW_BORDER_THIN);
    f->money = workbook_add_format(wb);
    format_set_num_format(f->money, ctx->money_format);
    f->money_total = workbook_add_format(wb);
    format_set_num_format(f->money_total, ctx->money_format);
    format_set_bold(f->money_total);
    format_set_top(f->money_total, LXW_BORDER_THIN);
    f->rate = workbook_add_format(wb);
    format_set_num_format(f->rate, ctx->rate_format);
    f->pct = workbook_add_format(wb);
    format_set_num_format(f->pct, "0.0%");
    f->datetime = workbook_add_format(wb);
    format_set_num_format(f->datetime, "yyyy-mm-dd hh:mm:ss");
}

/* --- Fallbacks ----------------------------------------------------------- */

static const char *const fb_cols[] = {
    "Fallback", "Phone", "Market", "Scenario", "Template", "State", "Created",
    "Utility sent", "Utility delivered", "Consented", "Declined", "Session sent", "Converted",
    "State since", "Utility cost (policy)", "Session cost (policy)", "Total (policy)",
    "Total (Meta)", "Priced from", "Resends",
};
static const double fb_widths[] = {10, 17, 24, 9, 24, 17, 19, 19, 19, 19, 19, 19, 19,
                                   19, 15, 15, 15, 15, 11, 9};
#define FB_NCOLS ((int)(sizeof(fb_cols) / sizeof(fb_cols[0])))

static void fb_new_sheet(struct rep_fb_writer *w)
{
    char name[32];

    w->sheets++;
    if (w->sheets == 1)
        suf_strlcpy(name, "Fallbacks", sizeof(name));
    else
        snprintf(name, sizeof(name), "Fallbacks (%d)", w->sheets);
    w->ws = workbook_add_worksheet(w->wb, name);
    header_row(w->ws, 0, w->f, fb_cols, fb_widths, FB_NCOLS);
    worksheet_freeze_panes(w->ws, 1, 0);
    w->row = 1;
}

void rep_fb_writer_begin(struct rep_fb_writer *w)
{
    w->sheets = 0;
    if (w->rows_per_sheet <= 0)
        w->rows_per_sheet = SUF_REPORT_ROWS_PER_SHEET;
    fb_new_sheet(w);
}

static void fb_close_sheet(struct rep_fb_writer *w)
{
    worksheet_autofilter(w->ws, 0, 0, w->row > 1 ? w->row - 1 : 0, (lxw_col_t)(FB_NCOLS - 1));
}

int rep_fb_writer_row(void *user, const struct rep_fallback *fb, struct suf_err *err)
{
    struct rep_fb_writer *w = user;
    const struct suf_config *cfg = w->ctx->run->cfg;
    const struct rep_formats *f = w->f;
    char phone[SUF_PHONE_MAX + 8];
    lxw_worksheet *ws;
    lxw_row_t r;
    const int64_t times[] = {fb->created_at, fb->utility_sent_at, fb->utility_delivered_at,
                             fb->consented_at, fb->declined_at, fb->session_sent_at,
                             fb->converted_at, fb->state_at};

    (void)err;
    if ((int64_t)w->row > w->rows_per_sheet) {
        fb_close_sheet(w);
        fb_new_sheet(w);
    }
    ws = w->ws;
    r = w->row++;
    if (cfg->mask_phones)
        suf_phone_mask(fb->phone, (int)cfg->mask_keep_first, (int)cfg->mask_keep_last, phone,
                       sizeof(phone));
    else
        snprintf(phone, sizeof(phone), "+%s", fb->phone);
    worksheet_write_number(ws, r, 0, (double)fb->id, NULL);
    rep_write_text(ws, r, 1, phone, NULL);
    rep_write_text(ws, r, 2, suf_money_market_name(w->ctx->money, fb->market), NULL);
    rep_write_text(ws, r, 3, fb->scenario, NULL);
    rep_write_text(ws, r, 4, fb->template_name, NULL);
    rep_write_text(ws, r, 5, fb->state, NULL);
    for (int i = 0; i < 8; i++)
        rep_write_time(ws, r, (lxw_col_t)(6 + i), times[i], f->datetime);
    write_money(ws, r, 14, fb->utility.policy, f->money);
    write_money(ws, r, 15, fb->session.policy, f->money);
    write_money(ws, r, 16, fb->utility.policy + fb->session.policy, f->money);
    write_money(ws, r, 17, fb->utility.meta + fb->session.meta, f->money);
    if (fb->charges)
        worksheet_write_string(ws, r, 18,
                               fb->from_webhook == fb->charges ? "webhook"
                               : fb->from_webhook             ? "mixed"
                                                              : "estimated",
                               NULL);
    worksheet_write_number(ws, r, 19, (double)fb->resends, f->count);
    return SUF_OK;
}

void rep_fb_writer_end(struct rep_fb_writer *w)
{
    fb_close_sheet(w);
}

/* --- Summary -------------------------------------------------------------- */

static void key_value(lxw_worksheet *ws, lxw_row_t r, const char *key, const char *value,
                      const struct rep_formats *f)
{
    worksheet_write_string(ws, r, 0, key, f->bold);
    rep_write_text(ws, r, 1, value, NULL);
}

void rep_sheet_summary(lxw_workbook *wb, lxw_worksheet *ws, const struct rep_ctx *ctx,
                       const struct rep_formats *f, const struct rep_campaign *c)
{
    static const char *const funnel_cols[] = {"Funnel", "Count", "% of previous step",
                                              "% of recipients"};
    static const char *const cost_cols[] = {"Costs", "Policy", "Meta", "Messages"};
    lxw_row_t r = 0, f0, s0, c0, conv_row;
    char range_a[64], range_b[64];
    int64_t states_total = 0;
    lxw_chart *chart;
    lxw_chart_series *series;

    worksheet_set_column(ws, 0, 0, 34, NULL);
    worksheet_set_column(ws, 1, 3, 18, NULL);
    worksheet_write_string(ws, r, 0, "Campaign", f->title);
    rep_write_text(ws, r, 1, c->id, f->title);
    rep_write_text(ws, r, 2, c->name, f->bold);
    r++;
    worksheet_write_string(ws, r, 0, "As of (UTC)", f->bold);
    rep_write_time(ws, r, 1, ctx->as_of, f->datetime);
    r++;
    key_value(ws, r++, "Currency", suf_money_currency(ctx->money), f);
    r++;
    header_row(ws, r++, f, funnel_cols, NULL, 4);
    f0 = r;
    for (int i = 0; i < REP_NFUNNEL; i++, r++) {
        worksheet_write_string(ws, r, 0, rep_funnel_names[i], NULL);
        write_count(ws, r, 1, c->funnel[i], f->count);
        if (i > 0) {
            write_ratio(ws, r, 2, r, 1, r - 1, 1, ratio(c->funnel[i], c->funnel[i - 1]), f->pct);
            write_ratio(ws, r, 3, r, 1, f0, 1, ratio(c->funnel[i], c->funnel[0]), f->pct);
        }
    }
    conv_row = r - 1;
    r++;
    worksheet_write_string(ws, r, 0, "Fallbacks by state", f->header);
    worksheet_write_string(ws, r++, 1, "Count", f->header);
    s0 = r;
    for (int i = 0; i <= REP_NSTATES; i++) {
        if (i == REP_NSTATES && !c->states[i])
            break;
        worksheet_write_string(ws, r, 0,
                               i == REP_NSTATES ? "other"
                               : !strcmp(rep_states[i], "utility_delivered")
                                   ? "utility_delivered (awaiting consent)"
                                   : rep_states[i],
                               NULL);
        write_count(ws, r++, 1, c->states[i], f->count);
        states_total += c->states[i];
    }
    worksheet_write_string(ws, r, 0, "Total", f->bold);
    write_sum(ws, r, 1, s0, r - 1, (double)states_total, f->count_total);
    r += 2;
    header_row(ws, r++, f, cost_cols, NULL, 4);
    c0 = r;
    worksheet_write_string(ws, r, 0, "Original campaign (delivered broadcast)", NULL);
    write_money(ws, r, 1, c->broadcast, f->money);
    write_money(ws, r, 2, c->broadcast, f->money);
    write_count(ws, r++, 3, c->broadcast_delivered, f->count);
    worksheet_write_string(ws, r, 0, "Utility permission messages", NULL);
    write_money(ws, r, 1, c->utility.policy, f->money);
    write_money(ws, r, 2, c->utility.meta, f->money);
    write_count(ws, r++, 3, c->utility_delivered_msgs, f->count);
    worksheet_write_string(ws, r, 0, "Session messages", NULL);
    write_money(ws, r, 1, c->session.policy, f->money);
    write_money(ws, r, 2, c->session.meta, f->money);
    write_count(ws, r++, 3, c->session_delivered_msgs, f->count);
    worksheet_write_string(ws, r, 0, "Fallback total", f->bold);
    write_plus(ws, r, 1, c0 + 1, 1, c0 + 2, 1,
               rep_cell_amount(c->utility.policy + c->session.policy), f->money_total);
    write_plus(ws, r, 2, c0 + 1, 2, c0 + 2, 2, rep_cell_amount(c->utility.meta + c->session.meta),
               f->money_total);
    r++;
    worksheet_write_string(ws, r, 0, "Cost per conversion", f->bold);
    write_ratio(ws, r, 1, r - 1, 1, conv_row, 1,
                c->funnel[REP_NFUNNEL - 1]
                    ? rep_cell_amount(c->utility.policy + c->session.policy) /
                          (double)c->funnel[REP_NFUNNEL - 1]
                    : 0.0,
                f->money);
    write_ratio(ws, r, 2, r - 1, 2, conv_row, 1,
                c->funnel[REP_NFUNNEL - 1]
                    ? rep_cell_amount(c->utility.meta + c->session.meta) /
                          (double)c->funnel[REP_NFUNNEL - 1]
                    : 0.0,
                f->money);
    r++;
    worksheet_write_string(ws, r, 0, "Campaign and fallback total", f->bold);
    write_plus(ws, r, 1, c0, 1, c0 + 3, 1,
               rep_cell_amount(c->broadcast + c->utility.policy + c->session.policy),
               f->money_total);
    write_plus(ws, r, 2, c0, 2, c0 + 3, 2,
               rep_cell_amount(c->broadcast + c->utility.meta + c->session.meta), f->money_total);
    r += 2;
    worksheet_write_string(ws, r++, 0, "Billing", f->header);
    key_value(ws, r++, "Utility message billed as (policy)",
              suf_category_name(ctx->bill.utility_as), f);
    key_value(ws, r++, "Session message billed as (policy)",
              suf_category_name(ctx->bill.session_as), f);
    key_value(ws, r++, "Session billing (policy)",
              ctx->bill.per_conversion ? "per_conversion" : "per_message", f);
    key_value(ws, r++, "Meta's view",
              "utility templates at Utility; session messages at Service from 2026-10-01 "
              "(Utility where n/a), free before; webhook pricing wins where present",
              f);
    worksheet_write_string(ws, r, 0, "Charges priced from webhook pricing", f->bold);
    write_count(ws, r++, 1, c->charges_webhook, f->count);
    worksheet_write_string(ws, r, 0, "Charges estimated from delivery", f->bold);
    write_count(ws, r++, 1, c->charges_estimated, f->count);
    worksheet_write_string(ws, r, 0, "Charges without a rate (counted as 0)", f->bold);
    write_count(ws, r++, 1, c->charges_unpriced, f->count);
    worksheet_write_string(ws, r, 0, "Resends after unknown outcomes", f->bold);
    write_count(ws, r++, 1, c->resends, f->count);
    worksheet_freeze_panes(ws, 1, 0);

    chart = workbook_add_chart(wb, LXW_CHART_COLUMN);
    snprintf(range_a, sizeof(range_a), "=Summary!$A$%u:$A$%u", (unsigned)f0 + 1,
             (unsigned)f0 + REP_NFUNNEL);
    snprintf(range_b, sizeof(range_b), "=Summary!$B$%u:$B$%u", (unsigned)f0 + 1,
             (unsigned)f0 + REP_NFUNNEL);
    series = chart_add_series(chart, range_a, range_b);
    chart_series_set_name(series, "Funnel");
    chart_series_set_labels(series);
    chart_title_set_name(chart, "Funnel");
    chart_legend_set_position(chart, LXW_CHART_LEGEND_NONE);
    {
        lxw_chart_options opt = {0};
        opt.x_scale = 1.4;
        opt.y_scale = 1.3;
        worksheet_insert_chart_opt(ws, 4, 5, chart, &opt);
    }
}

/* --- By market ------------------------------------------------------------ */

void rep_sheet_markets(lxw_worksheet *ws, const struct rep_ctx *ctx,
                       const struct rep_formats *f, const struct rep_campaign *c)
{
    static const char *const cols[] = {
        "Market", "Recipients", "Failed after retries", "Fallbacks", "Utility delivered",
        "Converted", "Broadcast delivered", "Rate card", "Marketing rate", "Utility rate",
        "Service rate", "Broadcast cost", "Utility cost (policy)", "Session cost (policy)",
        "Fallback total (policy)", "Utility cost (Meta)", "Session cost (Meta)",
        "Fallback total (Meta)",
    };
    static const double widths[] = {30, 11, 11, 11, 11, 11, 11, 11, 14, 14, 14,
                                    15, 15, 15, 15, 15, 15, 15};
    int nm = suf_money_nmarkets(ctx->money);
    int card = suf_money_card_for(ctx->money, ctx->as_of_day);
    const struct suf_money_card *cd = suf_money_card(ctx->money, card);
    lxw_row_t r = 1, first = 1;
    struct rep_market tot;
    const int rate_cats[] = {SUF_CAT_MARKETING, SUF_CAT_UTILITY, SUF_CAT_SERVICE};

    memset(&tot, 0, sizeof(tot));
    header_row(ws, 0, f, cols, widths, 18);
    worksheet_freeze_panes(ws, 1, 1);
    for (int m = 0; m <= nm; m++) {
        const struct rep_market *x = &c->markets[m];

        if (!x->recipients && !x->fallbacks && !x->broadcast_delivered)
            continue;
        rep_write_text(ws, r, 0, m == nm ? "Unknown" : suf_money_market_name(ctx->money, m),
                       NULL);
        write_count(ws, r, 1, x->recipients, f->count);
        write_count(ws, r, 2, x->failed, f->count);
        write_count(ws, r, 3, x->fallbacks, f->count);
        write_count(ws, r, 4, x->utility_delivered, f->count);
        write_count(ws, r, 5, x->converted, f->count);
        write_count(ws, r, 6, x->broadcast_delivered, f->count);
        if (cd)
            worksheet_write_string(ws, r, 7, cd->date, NULL);
        for (int i = 0; i < 3; i++) {
            int64_t v;
            if (m < nm && suf_money_card_rate(ctx->money, card, m, rate_cats[i], &v))
                write_money(ws, r, (lxw_col_t)(8 + i), v, f->rate);
            else
                worksheet_write_string(ws, r, (lxw_col_t)(8 + i), "n/a", NULL);
        }
        write_money(ws, r, 11, x->broadcast, f->money);
        write_money(ws, r, 12, x->utility.policy, f->money);
        write_money(ws, r, 13, x->session.policy, f->money);
        write_plus(ws, r, 14, r, 12, r, 13, rep_cell_amount(x->utility.policy + x->session.policy),
                   f->money);
        write_money(ws, r, 15, x->utility.meta, f->money);
        write_money(ws, r, 16, x->session.meta, f->money);
        write_plus(ws, r, 17, r, 15, r, 16, rep_cell_amount(x->utility.meta + x->session.meta),
                   f->money);
        tot.recipients += x->recipients;
        tot.failed += x->failed;
        tot.fallbacks += x->fallbacks;
        tot.utility_delivered += x->utility_delivered;
        tot.converted += x->converted;
        tot.broadcast_delivered += x->broadcast_delivered;
        tot.broadcast += x->broadcast;
        tot.utility.policy += x->utility.policy;
        tot.session.policy += x->session.policy;
        tot.utility.meta += x->utility.meta;
        tot.session.meta += x->session.meta;
        r++;
    }
    worksheet_autofilter(ws, 0, 0, r > first ? r - 1 : 0, 17);
    worksheet_write_string(ws, r, 0, "Total", f->bold);
    {
        const int64_t counts[] = {tot.recipients, tot.failed, tot.fallbacks,
                                  tot.utility_delivered, tot.converted, tot.broadcast_delivered};
        const int64_t money[] = {tot.broadcast, tot.utility.policy, tot.session.policy,
                                 tot.utility.policy + tot.session.policy, tot.utility.meta,
                                 tot.session.meta, tot.utility.meta + tot.session.meta};
        for (int i = 0; i < 6; i++)
            write_sum(ws, r, (lxw_col_t)(1 + i), first, r - 1, (double)counts[i],
                      f->count_total);
        for (int i = 0; i < 7; i++)
            write_sum(ws, r, (lxw_col_t)(11 + i), first, r - 1, rep_cell_amount(money[i]),
                      f->money_total);
    }
}

/* --- By scenario ------------------------------------------------------------ */

void rep_sheet_scenarios(lxw_worksheet *ws, const struct rep_formats *f,
                         const struct rep_campaign *c)
{
    static const char *const cols[] = {
        "Scenario", "Fallbacks", "Utility sent", "Utility delivered", "Consented",
        "Session sent", "Converted", "Conversion rate", "Utility cost (policy)",
        "Session cost (policy)", "Total (policy)", "Total (Meta)",
    };
    static const double widths[] = {11, 11, 11, 11, 11, 11, 11, 12, 15, 15, 15, 15};
    lxw_row_t r = 1;
    int64_t t[6] = {0, 0, 0, 0, 0, 0};
    struct rep_money tu = {0, 0}, ts = {0, 0};

    header_row(ws, 0, f, cols, widths, 12);
    worksheet_freeze_panes(ws, 1, 1);
    for (int i = 0; i <= REP_NSCEN; i++) {
        const struct rep_scenario *s = &c->scen[i];
        const int64_t v[6] = {s->fallbacks, s->utility_sent, s->utility_delivered,
                              s->consented, s->session_sent, s->converted};
        char name[8];

        if (i == REP_NSCEN && !s->fallbacks)
            break;
        snprintf(name, sizeof(name), i == REP_NSCEN ? "other" : "S%d", i + 1);
        worksheet_write_string(ws, r, 0, name, NULL);
        for (int k = 0; k < 6; k++) {
            write_count(ws, r, (lxw_col_t)(1 + k), v[k], f->count);
            t[k] += v[k];
        }
        write_ratio(ws, r, 7, r, 6, r, 1, ratio(s->converted, s->fallbacks), f->pct);
        write_money(ws, r, 8, s->utility.policy, f->money);
        write_money(ws, r, 9, s->session.policy, f->money);
        write_plus(ws, r, 10, r, 8, r, 9, rep_cell_amount(s->utility.policy + s->session.policy),
                   f->money);
        write_money(ws, r, 11, s->utility.meta + s->session.meta, f->money);
        tu.policy += s->utility.policy;
        tu.meta += s->utility.meta;
        ts.policy += s->session.policy;
        ts.meta += s->session.meta;
        r++;
    }
    worksheet_autofilter(ws, 0, 0, r - 1, 11);
    worksheet_write_string(ws, r, 0, "Total", f->bold);
    for (int k = 0; k < 6; k++)
        write_sum(ws, r, (lxw_col_t)(1 + k), 1, r - 1, (double)t[k], f->count_total);
    write_ratio(ws, r, 7, r, 6, r, 1, ratio(t[5], t[0]), f->pct);
    write_sum(ws, r, 8, 1, r - 1, rep_cell_amount(tu.policy), f->money_total);
    write_sum(ws, r, 9, 1, r - 1, rep_cell_amount(ts.policy), f->money_total);
    write_sum(ws, r, 10, 1, r - 1, rep_cell_amount(tu.policy + ts.policy), f->money_total);
    write_sum(ws, r, 11, 1, r - 1, rep_cell_amount(tu.meta + ts.meta), f->money_total);
}

/* --- Exclusions ------------------------------------------------------------- */

void rep_sheet_exclusions(lxw_worksheet *ws, const struct rep_formats *f,
                          const struct rep_campaign *c)
{
    static const char *const cols[] = {"Reason", "Recipients", "Share of exclusions"};
    static const double widths[] = {26, 12, 12};
    int64_t total = 0;
    lxw_row_t r = 1;

    header_row(ws, 0, f, cols, widths, 3);
    worksheet_freeze_panes(ws, 1, 0);
    for (int i = 0; i < c->nreasons; i++)
        total += c->reasons[i].count;
    for (int i = 0; i < c->nreasons; i++, r++) {
        rep_write_text(ws, r, 0, c->reasons[i].reason, NULL);
        write_count(ws, r, 1, c->reasons[i].count, f->count);
        write_ratio(ws, r, 2, r, 1, (lxw_row_t)(c->nreasons + 1), 1,
                    ratio(c->reasons[i].count, total), f->pct);
    }
    worksheet_autofilter(ws, 0, 0, r - 1, 2);
    worksheet_write_string(ws, r, 0, "Total", f->bold);
    write_sum(ws, r, 1, 1, r - 1, (double)total, f->count_total);
}

/* --- Inputs ------------------------------------------------------------------ */

int rep_sheet_inputs(lxw_worksheet *ws, struct rep_ctx *ctx, const struct rep_formats *f,
                     const struct rep_campaign *c, struct suf_err *err)
{
    static const char *const file_cols[] = {"Kind", "File", "SHA-256", "Rows", "Rejects",
                                            "Imported at"};
    static const double widths[] = {34, 48, 66, 10, 10, 19};
    static const char *const card_cols[] = {"Rate card", "Effective", "Currency",
                                            "Charges priced"};
    const struct suf_config *cfg = ctx->run->cfg;
    char buf[128];
    lxw_row_t r = 0, first;
    int rc;

    header_row(ws, r++, f, (const char *const[]){"Item", "Value"}, NULL, 2);
    for (int i = 0; i < 6; i++)
        worksheet_set_column(ws, (lxw_col_t)i, (lxw_col_t)i, widths[i], NULL);
    worksheet_freeze_panes(ws, 1, 0);
    key_value(ws, r++, "Campaign", c->id, f);
    key_value(ws, r++, "Campaign name", c->name, f);
    worksheet_write_string(ws, r, 0, "As of (UTC)", f->bold);
    rep_write_time(ws, r++, 1, ctx->as_of, f->datetime);
    key_value(ws, r++, "suf version", SUF_VERSION, f);
    key_value(ws, r++, "Currency", suf_money_currency(ctx->money), f);
    key_value(ws, r++, "Utility message billed as (policy)",
              suf_category_name(ctx->bill.utility_as), f);
    key_value(ws, r++, "Session message billed as (policy)",
              suf_category_name(ctx->bill.session_as), f);
    key_value(ws, r++, "Session billing (policy)",
              ctx->bill.per_conversion ? "per_conversion" : "per_message", f);
    key_value(ws, r++, "Rate card rule", "the card in effect on the UTC day of delivery", f);
    if (cfg->mask_phones)
        snprintf(buf, sizeof(buf), "masked, keeping the first %lld and last %lld digits",
                 (long long)cfg->mask_keep_first, (long long)cfg->mask_keep_last);
    else
        suf_strlcpy(buf, "not masked", sizeof(buf));
    key_value(ws, r++, "Phones", buf, f);
    r++;
    header_row(ws, r++, f, card_cols, NULL, 4);
    for (int i = 0; i < suf_money_ncards(ctx->money); i++) {
        const struct suf_money_card *cd = suf_money_card(ctx->money, i);

        if (!c->card_charges[i])
            continue;
        snprintf(buf, sizeof(buf), "%s %s", suf_money_currency(ctx->money), cd->date);
        worksheet_write_string(ws, r, 0, buf, NULL);
        worksheet_write_string(ws, r, 1, cd->date, NULL);
        worksheet_write_string(ws, r, 2, suf_money_currency(ctx->money), NULL);
        write_count(ws, r++, 3, c->card_charges[i], f->count);
    }
    r++;
    header_row(ws, r++, f, file_cols, NULL, 6);
    first = r - 1;
    if ((rc = rep_scan_files(ctx, c, ws, f, &r, err)))
        return rc;
    worksheet_autofilter(ws, first, 0, r > first + 1 ? r - 1 : first, 5);
    return SUF_OK;
}

/* --- the portfolio ------------------------------------------------------------ */

void rep_sheet_portfolio(lxw_worksheet *ws, const struct rep_ctx *ctx,
                         const struct rep_formats *f, struct rep_campaign *const *cs, int n)
{
    static const char *const cols[] = {
        "Campaign", "Name", "Recipients", "Failed after retries", "Fallbacks",
        "Utility delivered", "Consented", "Converted", "Broadcast cost", "Utility (policy)",
        "Session (policy)", "Fallback total (policy)", "Fallback total (Meta)",
        "Cost per conversion (policy)", "Workbook",
    };
    static const double widths[] = {24, 28, 11, 11, 11, 11, 11, 11, 15, 15, 15, 15, 15, 15, 48};
    static const int fidx[] = {0, 1, 2, 4, 5, 7};
    int64_t tc[6] = {0, 0, 0, 0, 0, 0}, tb = 0;
    struct rep_money tu = {0, 0}, ts = {0, 0};
    lxw_row_t r = 1;

    (void)ctx;
    header_row(ws, 0, f, cols, widths, 15);
    worksheet_freeze_panes(ws, 1, 1);
    for (int i = 0; i < n; i++, r++) {
        const struct rep_campaign *c = cs[i];
        int64_t fb_policy = c->utility.policy + c->session.policy;

        rep_write_text(ws, r, 0, c->id, NULL);
        rep_write_text(ws, r, 1, c->name, NULL);
        for (int k = 0; k < 6; k++) {
            write_count(ws, r, (lxw_col_t)(2 + k), c->funnel[fidx[k]], f->count);
            tc[k] += c->funnel[fidx[k]];
        }
        write_money(ws, r, 8, c->broadcast, f->money);
        write_money(ws, r, 9, c->utility.policy, f->money);
        write_money(ws, r, 10, c->session.policy, f->money);
        write_plus(ws, r, 11, r, 9, r, 10, rep_cell_amount(fb_policy), f->money);
        write_money(ws, r, 12, c->utility.meta + c->session.meta, f->money);
        write_ratio(ws, r, 13, r, 11, r, 7,
                    c->funnel[7] ? rep_cell_amount(fb_policy) / (double)c->funnel[7] : 0.0,
                    f->money);
        rep_write_text(ws, r, 14, c->relpath ? c->relpath : "", NULL);
        tb += c->broadcast;
        tu.policy += c->utility.policy;
        tu.meta += c->utility.meta;
        ts.policy += c->session.policy;
        ts.meta += c->session.meta;
    }
    worksheet_autofilter(ws, 0, 0, r > 1 ? r - 1 : 0, 14);
    worksheet_write_string(ws, r, 0, "Total", f->bold);
    for (int k = 0; k < 6; k++)
        write_sum(ws, r, (lxw_col_t)(2 + k), 1, r - 1, (double)tc[k], f->count_total);
    write_sum(ws, r, 8, 1, r - 1, rep_cell_amount(tb), f->money_total);
    write_sum(ws, r, 9, 1, r - 1, rep_cell_amount(tu.policy), f->money_total);
    write_sum(ws, r, 10, 1, r - 1, rep_cell_amount(ts.policy), f->money_total);
    write_sum(ws, r, 11, 1, r - 1, rep_cell_amount(tu.policy + ts.policy), f->money_total);
    write_sum(ws, r, 12, 1, r - 1, rep_cell_amount(tu.meta + ts.meta), f->money_total);
    write_ratio(ws, r, 13, r, 11, r, 7,
                tc[5] ? rep_cell_amount(tu.policy + ts.policy) / (double)tc[5] : 0.0,
                f->money_total);
}
