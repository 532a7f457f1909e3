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
 *  - a format is named (enum rep_fmt); what each looks like is decided once,
 *    in rep_formats_init.
 */
#include <stdlib.h>
#include <string.h>

#include <xlsxwriter/utility.h>

#include "base/amount.h"
#include "base/phone.h"
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

/* --- cells ------------------------------------------------------------------------ */

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

/* A date cell of `t`, or nothing when t <= 0. */
static void rep_write_time(const struct rep_sheet *ws, uint32_t row, uint16_t col, int64_t t,
                           enum rep_fmt fmt)
{
    if (t > 0)
        ws->sink->ops->datetime(ws->sink->self, ws->ws, row, col, t, fmt);
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

static void header_row(const struct rep_sheet *ws, uint32_t row,
                       const char *const *names, const double *widths, int n)
{
    for (int i = 0; i < n; i++) {
        put_text(ws, row, (uint16_t)i, names[i], REP_FMT_HEADER);
        if (widths)
            set_width(ws, (uint16_t)i, (uint16_t)i, widths[i]);
    }
}

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
};

void rep_formats_init(struct rep_formats *f, const char *currency)
{
    bool ok = strlen(currency) == 3;

    /* "#,##0.0000 "USD"": the code only when it is three capitals (it is
     * config, but it still lands in the file). */
    for (int i = 0; ok && i < 3; i++)
        ok = currency[i] >= 'A' && currency[i] <= 'Z';
    snprintf(f->money_format, sizeof(f->money_format),
             ok ? "#,##0.0000 \"%s\"" : "#,##0.0000%s", ok ? currency : "");
    memcpy(f->spec, format_specs, sizeof(f->spec));
    f->spec[REP_FMT_MONEY].num_format = f->money_format;
    f->spec[REP_FMT_MONEY_TOTAL].num_format = f->money_format;
    f->spec[REP_FMT_RATE].num_format = f->money_format;
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
    header_row(&l->sheet, 0, l->cols, l->widths, l->ncols);
    freeze(&l->sheet, 1, 0);
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

static const char *const fb_cols[] = {
    "Fallback", "Phone", "Market", "Scenario", "Template", "State", "Created",
    "Utility sent", "Utility delivered", "Consented", "Declined", "Session sent", "Converted",
    "State since", "Utility cost (policy)", "Session cost (policy)", "Total (policy)",
    "Total (Meta)", "Priced from", "Resends",
};
static const double fb_widths[] = {10, 17, 24, 9, 24, 17, 19, 19, 19, 19, 19, 19, 19,
                                   19, 15, 15, 15, 15, 11, 9};
#define NCOLS(cols) ((int)(sizeof(cols) / sizeof(cols[0])))

int rep_book_fallback(void *book, const struct rep_fallback *fb, struct suf_err *err)
{
    struct rep_book *b = book;
    const struct suf_config *cfg = b->ctx->run->cfg;
    char phone[SUF_PHONE_MAX + 8];
    const struct rep_sheet *ws;
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
    rep_write_text(ws, r, 5, fb->state, REP_FMT_NONE);
    for (int i = 0; i < 8; i++)
        rep_write_time(ws, r, (uint16_t)(6 + i), times[i], REP_FMT_DATETIME);
    write_money(ws, r, 14, fb->utility.policy, REP_FMT_MONEY);
    write_money(ws, r, 15, fb->session.policy, REP_FMT_MONEY);
    write_money(ws, r, 16, fb->utility.policy + fb->session.policy, REP_FMT_MONEY);
    write_money(ws, r, 17, fb->utility.meta + fb->session.meta, REP_FMT_MONEY);
    if (fb->charges)
        put_text(ws, r, 18,
                 fb->from_webhook == fb->charges ? "webhook"
                 : fb->from_webhook             ? "mixed"
                                                : "estimated",
                 REP_FMT_NONE);
    put_number(ws, r, 19, (double)fb->resends, REP_FMT_COUNT);
    return SUF_OK;
}

/* --- Excluded recipients, Waiting recipients ----------------------------- */

/* Plan's reasons in words, by enum suf_reason. */
static const char *const reason_words[SUF_REASON_COUNT] = {
    [SUF_REASON_FALLBACK_OFF] = "Fallback is off for the campaign",
    [SUF_REASON_CAMPAIGN_EXPIRED] = "The campaign is past its valid-until time",
    [SUF_REASON_UNKNOWN_TEMPLATE] = "The broadcast's template is not in the catalog",
    [SUF_REASON_NOT_MARKETING] = "The broadcast's template is not a marketing template",
    [SUF_REASON_UNSUPPORTED_TEMPLATE] = "The template cannot be sent as a session message",
    [SUF_REASON_OPTED_OUT] = "The customer opted out (STOP or error 131050)",
    [SUF_REASON_UNDELIVERABLE] = "Not a WhatsApp user (error 131026)",
    [SUF_REASON_INELIGIBLE_ERROR] = "The broadcast's error is not one a fallback recovers",
    [SUF_REASON_INVALID_PHONE] = "The phone number is not valid",
    [SUF_REASON_MISSING_CONTENT] = "The export lacks a value the message needs",
};

const char *rep_reason_words(const char *reason)
{
    for (int i = SUF_REASON_NONE + 1; i < SUF_REASON_COUNT; i++)
        if (!strcmp(reason, suf_plan_reason_name((enum suf_reason)i)))
            return reason_words[i];
    return "A reason this version of suf does not have";
}

static const char *const excluded_cols[] = {
    "Phone", "Market", "Reason", "Reason id", "Error code", "Template", "Detail",
    "Attempts", "Last attempt (UTC)",
};
static const double excluded_widths[] = {17, 24, 48, 20, 10, 24, 48, 9, 19};

static const char *const waiting_cols[] = {
    "Phone", "Market", "Waiting for", "Outcome id", "Attempts", "Attempts allowed",
    "Last attempt (UTC)", "Eligible from (UTC)", "Error code", "Template", "Detail",
};
static const double waiting_widths[] = {17, 24, 40, 18, 9, 9, 19, 19, 10, 24, 48};
_Static_assert(NCOLS(excluded_widths) == NCOLS(excluded_cols) &&
                   NCOLS(waiting_widths) == NCOLS(waiting_cols),
               "every column of a list has its width");

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
    SUF_FB_FAILED,
};
_Static_assert(sizeof(state_order) / sizeof(state_order[0]) == SUF_FB_STATE_COUNT,
               "every state of the machine has its row on the Summary");

static const char *const item_cols[] = {"Item", "Value"};

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

static void sheet_summary(const struct rep_sheet *ws, const struct rep_ctx *ctx,
                          const struct rep_campaign *c)
{
    static const char *const funnel_cols[] = {"Funnel", "Count", "% of previous step",
                                              "% of recipients"};
    static const char *const cost_cols[] = {"Costs", "Policy", "Meta", "Messages"};
    uint32_t r = 0, f0, s0, c0, conv_row;
    char range_a[64], range_b[64];
    int64_t states_total = 0;
    int64_t converted = c->funnel[REP_CONVERTED];
    struct rep_chart chart;

    set_width(ws, 0, 0, 34);
    set_width(ws, 1, 3, 18);
    put_text(ws, r, 0, "Campaign", REP_FMT_TITLE);
    rep_write_text(ws, r, 1, c->id, REP_FMT_TITLE);
    rep_write_text(ws, r, 2, c->name, REP_FMT_BOLD);
    r++;
    put_text(ws, r, 0, "As of (UTC)", REP_FMT_BOLD);
    rep_write_time(ws, r, 1, ctx->as_of, REP_FMT_DATETIME);
    r++;
    key_value(ws, r++, "Currency", suf_money_currency(ctx->money));
    r++;
    header_row(ws, r++, funnel_cols, NULL, 4);
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
    conv_row = r - 1;
    r++;
    put_text(ws, r, 0, "Fallbacks by state", REP_FMT_HEADER);
    put_text(ws, r++, 1, "Count", REP_FMT_HEADER);
    s0 = r;
    for (int i = 0; i <= SUF_FB_STATE_COUNT; i++) {
        int st = i < SUF_FB_STATE_COUNT ? (int)state_order[i] : SUF_FB_STATE_COUNT;

        if (st == SUF_FB_STATE_COUNT && !c->states[st])
            break;
        put_text(ws, r, 0,
                 st == SUF_FB_STATE_COUNT         ? "other"
                 : st == SUF_FB_UTILITY_DELIVERED ? "utility_delivered (awaiting consent)"
                                                  : suf_fsm_state_name((enum suf_fb_state)st),
                 REP_FMT_NONE);
        write_count(ws, r++, 1, c->states[st], REP_FMT_COUNT);
        states_total += c->states[st];
    }
    put_text(ws, r, 0, "Total", REP_FMT_BOLD);
    write_sum(ws, r, 1, s0, r - 1, rep_cell_number((double)states_total), REP_FMT_COUNT_TOTAL);
    r += 2;
    header_row(ws, r++, cost_cols, NULL, 4);
    c0 = r;
    put_text(ws, r, 0, "Original campaign (delivered broadcast)", REP_FMT_NONE);
    write_money(ws, r, 1, c->broadcast, REP_FMT_MONEY);
    write_money(ws, r, 2, c->broadcast, REP_FMT_MONEY);
    write_count(ws, r++, 3, c->broadcast_delivered, REP_FMT_COUNT);
    put_text(ws, r, 0, "Utility permission messages", REP_FMT_NONE);
    write_money(ws, r, 1, c->utility.policy, REP_FMT_MONEY);
    write_money(ws, r, 2, c->utility.meta, REP_FMT_MONEY);
    write_count(ws, r++, 3, c->utility_delivered_msgs, REP_FMT_COUNT);
    put_text(ws, r, 0, "Session messages", REP_FMT_NONE);
    write_money(ws, r, 1, c->session.policy, REP_FMT_MONEY);
    write_money(ws, r, 2, c->session.meta, REP_FMT_MONEY);
    write_count(ws, r++, 3, c->session_delivered_msgs, REP_FMT_COUNT);
    put_text(ws, r, 0, "Fallback total", REP_FMT_BOLD);
    write_plus(ws, r, 1, c0 + 1, 1, c0 + 2, 1,
               rep_cell_amount(c->utility.policy + c->session.policy), REP_FMT_MONEY_TOTAL);
    write_plus(ws, r, 2, c0 + 1, 2, c0 + 2, 2,
               rep_cell_amount(c->utility.meta + c->session.meta), REP_FMT_MONEY_TOTAL);
    r++;
    put_text(ws, r, 0, "Cost per conversion", REP_FMT_BOLD);
    write_ratio(ws, r, 1, r - 1, 1, conv_row, 1,
                rep_cell_per(c->utility.policy + c->session.policy, converted), REP_FMT_MONEY);
    write_ratio(ws, r, 2, r - 1, 2, conv_row, 1,
                rep_cell_per(c->utility.meta + c->session.meta, converted), REP_FMT_MONEY);
    r++;
    put_text(ws, r, 0, "Campaign and fallback total", REP_FMT_BOLD);
    write_plus(ws, r, 1, c0, 1, c0 + 3, 1,
               rep_cell_amount(c->broadcast + c->utility.policy + c->session.policy),
               REP_FMT_MONEY_TOTAL);
    write_plus(ws, r, 2, c0, 2, c0 + 3, 2,
               rep_cell_amount(c->broadcast + c->utility.meta + c->session.meta),
               REP_FMT_MONEY_TOTAL);
    r += 2;
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
    put_text(ws, r, 0, "Charges estimated from delivery", REP_FMT_BOLD);
    write_count(ws, r++, 1, c->charges_estimated, REP_FMT_COUNT);
    put_text(ws, r, 0, "Charges without a rate (counted as 0)", REP_FMT_BOLD);
    write_count(ws, r++, 1, c->charges_unpriced, REP_FMT_COUNT);
    put_text(ws, r, 0, "Resends after unknown outcomes", REP_FMT_BOLD);
    write_count(ws, r++, 1, c->resends, REP_FMT_COUNT);
    put_text(ws, r, 0, "Fallbacks with a session delivered, not converted", REP_FMT_BOLD);
    write_count(ws, r++, 1, c->unconverted_sessions, REP_FMT_COUNT);
    put_text(ws, r, 0, "Their session cost (Meta)", REP_FMT_BOLD);
    write_money(ws, r++, 1, c->unconverted_session_meta, REP_FMT_MONEY);
    no_market_row(ws, r++, ctx, c);
    freeze(ws, 1, 0);

    snprintf(range_a, sizeof(range_a), "=Summary!$A$%u:$A$%u", (unsigned)f0 + 1,
             (unsigned)f0 + REP_NFUNNEL);
    snprintf(range_b, sizeof(range_b), "=Summary!$B$%u:$B$%u", (unsigned)f0 + 1,
             (unsigned)f0 + REP_NFUNNEL);
    chart.title = "Funnel";
    chart.series_name = "Funnel";
    chart.categories = range_a;
    chart.values = range_b;
    chart.x_scale = 1.4;
    chart.y_scale = 1.3;
    ws->sink->ops->chart(ws->sink->self, ws->ws, 4, 5, &chart);
}

/* --- By market ------------------------------------------------------------ */

static void sheet_markets(const struct rep_sheet *ws, const struct rep_ctx *ctx,
                          const struct rep_campaign *c)
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
    uint32_t r = 1, first = 1;
    struct rep_market tot;
    const int rate_cats[] = {SUF_CAT_MARKETING, SUF_CAT_UTILITY, SUF_CAT_SERVICE};

    memset(&tot, 0, sizeof(tot));
    header_row(ws, 0, cols, widths, 18);
    freeze(ws, 1, 1);
    for (int m = 0; m <= nm; m++) {
        const struct rep_market *x = &c->markets[m];

        if (!x->recipients && !x->fallbacks && !x->broadcast_delivered)
            continue;
        rep_write_text(ws, r, 0, m == nm ? "Unknown" : suf_money_market_name(ctx->money, m),
                       REP_FMT_NONE);
        write_count(ws, r, 1, x->recipients, REP_FMT_COUNT);
        write_count(ws, r, 2, x->failed, REP_FMT_COUNT);
        write_count(ws, r, 3, x->fallbacks, REP_FMT_COUNT);
        write_count(ws, r, 4, x->utility_delivered, REP_FMT_COUNT);
        write_count(ws, r, 5, x->converted, REP_FMT_COUNT);
        write_count(ws, r, 6, x->broadcast_delivered, REP_FMT_COUNT);
        if (cd)
            put_text(ws, r, 7, cd->date, REP_FMT_NONE);
        for (int i = 0; i < 3; i++) {
            int64_t v;
            if (m < nm && suf_money_card_rate(ctx->money, card, m, rate_cats[i], &v))
                write_money(ws, r, (uint16_t)(8 + i), v, REP_FMT_RATE);
            else
                put_text(ws, r, (uint16_t)(8 + i), "n/a", REP_FMT_NONE);
        }
        write_money(ws, r, 11, x->broadcast, REP_FMT_MONEY);
        write_money(ws, r, 12, x->utility.policy, REP_FMT_MONEY);
        write_money(ws, r, 13, x->session.policy, REP_FMT_MONEY);
        write_plus(ws, r, 14, r, 12, r, 13,
                   rep_cell_amount(x->utility.policy + x->session.policy), REP_FMT_MONEY);
        write_money(ws, r, 15, x->utility.meta, REP_FMT_MONEY);
        write_money(ws, r, 16, x->session.meta, REP_FMT_MONEY);
        write_plus(ws, r, 17, r, 15, r, 16, rep_cell_amount(x->utility.meta + x->session.meta),
                   REP_FMT_MONEY);
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
    filter(ws, 0, 0, r > first ? r - 1 : 0, 17);
    put_text(ws, r, 0, "Total", REP_FMT_BOLD);
    {
        const int64_t counts[] = {tot.recipients, tot.failed, tot.fallbacks,
                                  tot.utility_delivered, tot.converted, tot.broadcast_delivered};
        const int64_t money[] = {tot.broadcast, tot.utility.policy, tot.session.policy,
                                 tot.utility.policy + tot.session.policy, tot.utility.meta,
                                 tot.session.meta, tot.utility.meta + tot.session.meta};
        for (int i = 0; i < 6; i++)
            write_sum(ws, r, (uint16_t)(1 + i), first, r - 1, rep_cell_number((double)counts[i]),
                      REP_FMT_COUNT_TOTAL);
        for (int i = 0; i < 7; i++)
            write_sum(ws, r, (uint16_t)(11 + i), first, r - 1, rep_cell_amount(money[i]),
                      REP_FMT_MONEY_TOTAL);
    }
}

/* --- By scenario ------------------------------------------------------------ */

static void sheet_scenarios(const struct rep_sheet *ws, const struct rep_campaign *c)
{
    static const char *const cols[] = {
        "Scenario", "Fallbacks", "Utility sent", "Utility delivered", "Consented",
        "Session sent", "Converted", "Conversion rate", "Utility cost (policy)",
        "Session cost (policy)", "Total (policy)", "Total (Meta)",
    };
    static const double widths[] = {11, 11, 11, 11, 11, 11, 11, 12, 15, 15, 15, 15};
    uint32_t r = 1;
    int64_t t[6] = {0, 0, 0, 0, 0, 0};
    struct rep_money tu = {0, 0}, ts = {0, 0};

    header_row(ws, 0, cols, widths, 12);
    freeze(ws, 1, 1);
    for (int i = 0; i <= REP_NSCEN; i++) {
        const struct rep_scenario *s = &c->scen[i];
        const int64_t v[6] = {s->fallbacks, s->utility_sent, s->utility_delivered,
                              s->consented, s->session_sent, s->converted};
        char name[8];

        if (i == REP_NSCEN && !s->fallbacks)
            break;
        snprintf(name, sizeof(name), i == REP_NSCEN ? "other" : "S%d", i + 1);
        put_text(ws, r, 0, name, REP_FMT_NONE);
        for (int k = 0; k < 6; k++) {
            write_count(ws, r, (uint16_t)(1 + k), v[k], REP_FMT_COUNT);
            t[k] += v[k];
        }
        write_ratio(ws, r, 7, r, 6, r, 1, rep_cell_number(ratio(s->converted, s->fallbacks)),
                    REP_FMT_PCT);
        write_money(ws, r, 8, s->utility.policy, REP_FMT_MONEY);
        write_money(ws, r, 9, s->session.policy, REP_FMT_MONEY);
        write_plus(ws, r, 10, r, 8, r, 9,
                   rep_cell_amount(s->utility.policy + s->session.policy), REP_FMT_MONEY);
        write_money(ws, r, 11, s->utility.meta + s->session.meta, REP_FMT_MONEY);
        tu.policy += s->utility.policy;
        tu.meta += s->utility.meta;
        ts.policy += s->session.policy;
        ts.meta += s->session.meta;
        r++;
    }
    filter(ws, 0, 0, r - 1, 11);
    put_text(ws, r, 0, "Total", REP_FMT_BOLD);
    for (int k = 0; k < 6; k++)
        write_sum(ws, r, (uint16_t)(1 + k), 1, r - 1, rep_cell_number((double)t[k]),
                  REP_FMT_COUNT_TOTAL);
    write_ratio(ws, r, 7, r, 6, r, 1, rep_cell_number(ratio(t[5], t[0])), REP_FMT_PCT);
    write_sum(ws, r, 8, 1, r - 1, rep_cell_amount(tu.policy), REP_FMT_MONEY_TOTAL);
    write_sum(ws, r, 9, 1, r - 1, rep_cell_amount(ts.policy), REP_FMT_MONEY_TOTAL);
    write_sum(ws, r, 10, 1, r - 1, rep_cell_amount(tu.policy + ts.policy),
              REP_FMT_MONEY_TOTAL);
    write_sum(ws, r, 11, 1, r - 1, rep_cell_amount(tu.meta + ts.meta), REP_FMT_MONEY_TOTAL);
}

/* --- Exclusions ------------------------------------------------------------- */

static void sheet_exclusions(const struct rep_sheet *ws, const struct rep_campaign *c)
{
    static const char *const cols[] = {"Reason", "Recipients", "Share of exclusions"};
    static const double widths[] = {26, 12, 12};
    int64_t total = 0;
    uint32_t r = 1;

    header_row(ws, 0, cols, widths, 3);
    freeze(ws, 1, 0);
    for (int i = 0; i < c->nreasons; i++)
        total += c->reasons[i].count;
    for (int i = 0; i < c->nreasons; i++, r++) {
        rep_write_text(ws, r, 0, c->reasons[i].reason, REP_FMT_NONE);
        write_count(ws, r, 1, c->reasons[i].count, REP_FMT_COUNT);
        write_ratio(ws, r, 2, r, 1, (uint32_t)(c->nreasons + 1), 1,
                    rep_cell_number(ratio(c->reasons[i].count, total)), REP_FMT_PCT);
    }
    filter(ws, 0, 0, r - 1, 2);
    put_text(ws, r, 0, "Total", REP_FMT_BOLD);
    write_sum(ws, r, 1, 1, r - 1, rep_cell_number((double)total), REP_FMT_COUNT_TOTAL);
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

static void sheet_inputs(const struct rep_sheet *ws, const struct rep_ctx *ctx,
                         const struct rep_campaign *c)
{
    static const char *const file_cols[] = {"Kind", "File", "SHA-256", "Rows", "Rejects",
                                            "Imported at"};
    static const double widths[] = {34, 48, 66, 10, 10, 19};
    static const char *const card_cols[] = {"Rate card", "Effective", "Currency",
                                            "Charges priced"};
    const struct suf_config *cfg = ctx->run->cfg;
    char buf[128];
    uint32_t r = 0, first;

    header_row(ws, r++, item_cols, NULL, 2);
    for (int i = 0; i < 6; i++)
        set_width(ws, (uint16_t)i, (uint16_t)i, widths[i]);
    freeze(ws, 1, 0);
    key_value(ws, r++, "Campaign", c->id);
    key_value(ws, r++, "Campaign name", c->name);
    r = run_rows(ws, r, ctx);
    key_value(ws, r++, "Rate card rule", "the card in effect on the UTC day of delivery");
    if (cfg->mask_phones)
        snprintf(buf, sizeof(buf), "masked, keeping the first %lld and last %lld digits",
                 (long long)cfg->mask_keep_first, (long long)cfg->mask_keep_last);
    else
        suf_strlcpy(buf, "not masked", sizeof(buf));
    key_value(ws, r++, "Phones", buf);
    no_market_row(ws, r++, ctx, c);
    r++;
    header_row(ws, r++, card_cols, NULL, 4);
    for (int i = 0; i < suf_money_ncards(ctx->money); i++) {
        const struct suf_money_card *cd = suf_money_card(ctx->money, i);

        if (!c->card_charges[i])
            continue;
        snprintf(buf, sizeof(buf), "%s %s", suf_money_currency(ctx->money), cd->date);
        put_text(ws, r, 0, buf, REP_FMT_NONE);
        put_text(ws, r, 1, cd->date, REP_FMT_NONE);
        put_text(ws, r, 2, suf_money_currency(ctx->money), REP_FMT_NONE);
        write_count(ws, r++, 3, c->card_charges[i], REP_FMT_COUNT);
    }
    r++;
    header_row(ws, r++, file_cols, NULL, 6);
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

static void sheet_portfolio(const struct rep_sheet *ws, struct rep_campaign *const *cs, int n)
{
    static const char *const cols[] = {
        "Campaign", "Name", "Recipients", "Failed after retries", "Fallbacks",
        "Utility delivered", "Consented", "Converted", "Broadcast cost", "Utility (policy)",
        "Session (policy)", "Fallback total (policy)", "Fallback total (Meta)",
        "Cost per conversion (policy)", "Workbook",
    };
    static const double widths[] = {24, 28, 11, 11, 11, 11, 11, 11, 15, 15, 15, 15, 15, 15, 48};
    static const enum rep_funnel steps[] = {REP_RECIPIENTS,        REP_FAILED,
                                            REP_FALLBACKS,         REP_UTILITY_DELIVERED,
                                            REP_CONSENTED,         REP_CONVERTED};
    int64_t tc[6] = {0, 0, 0, 0, 0, 0}, tb = 0;
    struct rep_money tu = {0, 0}, ts = {0, 0};
    uint32_t r = 1;

    header_row(ws, 0, cols, widths, 15);
    freeze(ws, 1, 1);
    for (int i = 0; i < n; i++, r++) {
        const struct rep_campaign *c = cs[i];
        int64_t fb_policy = c->utility.policy + c->session.policy;
        int64_t converted = c->funnel[REP_CONVERTED];

        rep_write_text(ws, r, 0, c->id, REP_FMT_NONE);
        rep_write_text(ws, r, 1, c->name, REP_FMT_NONE);
        for (int k = 0; k < 6; k++) {
            write_count(ws, r, (uint16_t)(2 + k), c->funnel[steps[k]], REP_FMT_COUNT);
            tc[k] += c->funnel[steps[k]];
        }
        write_money(ws, r, 8, c->broadcast, REP_FMT_MONEY);
        write_money(ws, r, 9, c->utility.policy, REP_FMT_MONEY);
        write_money(ws, r, 10, c->session.policy, REP_FMT_MONEY);
        write_plus(ws, r, 11, r, 9, r, 10, rep_cell_amount(fb_policy), REP_FMT_MONEY);
        write_money(ws, r, 12, c->utility.meta + c->session.meta, REP_FMT_MONEY);
        write_ratio(ws, r, 13, r, 11, r, 7, rep_cell_per(fb_policy, converted), REP_FMT_MONEY);
        rep_write_text(ws, r, 14, c->relpath ? c->relpath : "", REP_FMT_NONE);
        tb += c->broadcast;
        tu.policy += c->utility.policy;
        tu.meta += c->utility.meta;
        ts.policy += c->session.policy;
        ts.meta += c->session.meta;
    }
    filter(ws, 0, 0, r > 1 ? r - 1 : 0, 14);
    put_text(ws, r, 0, "Total", REP_FMT_BOLD);
    for (int k = 0; k < 6; k++)
        write_sum(ws, r, (uint16_t)(2 + k), 1, r - 1, rep_cell_number((double)tc[k]),
                  REP_FMT_COUNT_TOTAL);
    write_sum(ws, r, 8, 1, r - 1, rep_cell_amount(tb), REP_FMT_MONEY_TOTAL);
    write_sum(ws, r, 9, 1, r - 1, rep_cell_amount(tu.policy), REP_FMT_MONEY_TOTAL);
    write_sum(ws, r, 10, 1, r - 1, rep_cell_amount(ts.policy), REP_FMT_MONEY_TOTAL);
    write_sum(ws, r, 11, 1, r - 1, rep_cell_amount(tu.policy + ts.policy),
              REP_FMT_MONEY_TOTAL);
    write_sum(ws, r, 12, 1, r - 1, rep_cell_amount(tu.meta + ts.meta), REP_FMT_MONEY_TOTAL);
    write_ratio(ws, r, 13, r, 11, r, 7, rep_cell_per(tu.policy + ts.policy, tc[5]),
                REP_FMT_MONEY_TOTAL);
}

static void sheet_portfolio_inputs(const struct rep_sheet *ws, const struct rep_ctx *ctx)
{
    set_width(ws, 0, 0, 36);
    set_width(ws, 1, 1, 30);
    header_row(ws, 0, item_cols, NULL, 2);
    run_rows(ws, 1, ctx);
    freeze(ws, 1, 0);
}

void rep_render_portfolio(const struct rep_ctx *ctx, const struct rep_sink *sink,
                          struct rep_campaign *const *cs, int n)
{
    struct rep_sheet campaigns = add_sheet(sink, "Campaigns");
    struct rep_sheet inputs = add_sheet(sink, "Inputs");

    sheet_portfolio(&campaigns, cs, n);
    sheet_portfolio_inputs(&inputs, ctx);
}

/* --- a campaign's workbook ------------------------------------------------------ */

void rep_book_begin(struct rep_book *b, const struct rep_ctx *ctx, const struct rep_sink *sink,
                    int64_t rows_per_sheet)
{
    memset(b, 0, sizeof(*b));
    b->ctx = ctx;
    b->sink = sink;
    b->rows_per_sheet = rows_per_sheet > 0 ? rows_per_sheet : SUF_REPORT_ROWS_PER_SHEET;
    b->summary = add_sheet(sink, "Summary");
    b->markets = add_sheet(sink, "By market");
    b->scenarios = add_sheet(sink, "By scenario");
    b->exclusions = add_sheet(sink, "Exclusions");
    b->excluded = (struct rep_list){.name = "Excluded recipients", .cols = excluded_cols,
                                    .widths = excluded_widths, .ncols = NCOLS(excluded_cols)};
    b->waiting = (struct rep_list){.name = "Waiting recipients", .cols = waiting_cols,
                                   .widths = waiting_widths, .ncols = NCOLS(waiting_cols)};
    b->fallbacks = (struct rep_list){.name = "Fallbacks", .cols = fb_cols, .widths = fb_widths,
                                     .ncols = NCOLS(fb_cols)};
}

void rep_book_finish(struct rep_book *b, const struct rep_campaign *c)
{
    struct rep_sheet inputs;

    list_finish(b, &b->excluded);
    list_finish(b, &b->waiting);
    list_finish(b, &b->fallbacks);
    inputs = add_sheet(b->sink, "Inputs");
    sheet_inputs(&inputs, b->ctx, c);
    sheet_summary(&b->summary, b->ctx, c);
    sheet_markets(&b->markets, b->ctx, c);
    sheet_scenarios(&b->scenarios, c);
    sheet_exclusions(&b->exclusions, c);
    b->sink->ops->activate(b->sink->self, b->summary.ws);
}
