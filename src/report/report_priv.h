/*
 * report_priv.h: what the report's files share (report.c drives,
 * report_data.c reads the store and costs, report_sheets.c writes cells).
 * Not a public interface.
 *
 * One campaign's figures live in struct rep_campaign: the driver fills it
 * by scanning the store once (attempts, recipients, then fallbacks with
 * their sends in id order, each fallback row written to the Fallbacks sheet
 * as it is costed), then the summary sheets are written from it.
 */
#ifndef SUF_REPORT_PRIV_H
#define SUF_REPORT_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <xlsxwriter.h>

#include "base/context.h"
#include "money/money.h"
#include "store/fsm.h"

#define REP_NSCEN 8
#define REP_NFUNNEL 8

extern const char *const rep_funnel_names[REP_NFUNNEL];

/* Both views of an amount, micros. */
struct rep_money {
    int64_t policy;
    int64_t meta;
};

struct rep_market {
    int64_t recipients, failed, fallbacks, utility_delivered, converted, broadcast_delivered;
    int64_t broadcast; /* micros, both views */
    struct rep_money utility, session;
};

struct rep_scenario {
    int64_t fallbacks, utility_sent, utility_delivered, consented, session_sent, converted;
    struct rep_money utility, session;
};

struct rep_reason {
    char *reason;
    int64_t count;
};

struct rep_campaign {
    char *id;
    char *name;
    char safe[96];
    char *relpath; /* the workbook, relative to the reports folder */
    /* the funnel: recipients, failed after retries, fallbacks, utility sent,
     * utility delivered, consented, session sent, converted */
    int64_t funnel[REP_NFUNNEL];
    int64_t states[SUF_FB_STATE_COUNT + 1]; /* by enum suf_fb_state; the last: any other */
    int64_t broadcast_delivered, utility_delivered_msgs, session_delivered_msgs;
    int64_t broadcast; /* micros */
    struct rep_money utility, session;
    int64_t charges_webhook, charges_estimated, charges_unpriced, resends;
    struct rep_reason *reasons; /* plan's, in its order, then any other seen, sorted */
    int nreasons;
    struct rep_market *markets; /* nmarkets + 1: the last is "Unknown" */
    struct rep_scenario scen[REP_NSCEN + 1]; /* the last: any other */
    int64_t *card_charges;                   /* charges priced per card */
};

struct rep_formats {
    lxw_format *title, *header, *bold, *text, *count, *count_total, *money, *money_total,
        *rate, *pct, *datetime;
};

struct rep_ctx {
    struct suf_run *run;
    struct suf_money *money;
    struct suf_billing bill;
    int64_t as_of;
    int32_t as_of_day;
    char as_of_date[11];
    char money_format[64];
    char rate_format[64];
};

/* One fallback, costed, as the Fallbacks sheet shows it. */
struct rep_fallback {
    int64_t id;
    const char *phone, *template_name, *scenario, *state;
    int market;
    int64_t created_at, state_at, utility_sent_at, utility_delivered_at, consented_at,
        declined_at, session_sent_at, converted_at; /* 0: none */
    struct rep_money utility, session;
    int charges, from_webhook, resends;
};

typedef int (*rep_fallback_fn)(void *user, const struct rep_fallback *fb, struct suf_err *err);

/* report_data.c */
void rep_campaign_init(struct rep_campaign *c, const struct rep_ctx *ctx, const char *id);
void rep_campaign_release(struct rep_campaign *c);
int rep_scan_header(struct rep_ctx *ctx, struct rep_campaign *c, struct suf_err *err);
int rep_scan_fallbacks(struct rep_ctx *ctx, struct rep_campaign *c, rep_fallback_fn fn,
                       void *user, struct suf_err *err);
int rep_scan_files(struct rep_ctx *ctx, const struct rep_campaign *c, lxw_worksheet *ws,
                   const struct rep_formats *f, lxw_row_t *row, struct suf_err *err);
int rep_next_campaign(struct rep_ctx *ctx, const char *after, int after_len, char **out,
                      int *out_len, struct suf_err *err);

/* report_sheets.c */
void rep_formats_add(lxw_workbook *wb, const struct rep_ctx *ctx, struct rep_formats *f);
double rep_cell_amount(int64_t micros);
void rep_write_text(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, const char *s,
                    lxw_format *fmt);
void rep_write_time(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, int64_t t,
                    lxw_format *fmt);

struct rep_fb_writer {
    lxw_workbook *wb;
    const struct rep_ctx *ctx;
    const struct rep_formats *f;
    lxw_worksheet *ws;
    int sheets;
    lxw_row_t row; /* next data row of ws */
    int64_t rows_per_sheet;
};
void rep_fb_writer_begin(struct rep_fb_writer *w);
int rep_fb_writer_row(void *user, const struct rep_fallback *fb, struct suf_err *err);
void rep_fb_writer_end(struct rep_fb_writer *w);

void rep_sheet_summary(lxw_workbook *wb, lxw_worksheet *ws, const struct rep_ctx *ctx,
                       const struct rep_formats *f, const struct rep_campaign *c);
void rep_sheet_markets(lxw_worksheet *ws, const struct rep_ctx *ctx,
                       const struct rep_formats *f, const struct rep_campaign *c);
void rep_sheet_scenarios(lxw_worksheet *ws, const struct rep_formats *f,
                         const struct rep_campaign *c);
void rep_sheet_exclusions(lxw_worksheet *ws, const struct rep_formats *f,
                          const struct rep_campaign *c);
int rep_sheet_inputs(lxw_worksheet *ws, struct rep_ctx *ctx, const struct rep_formats *f,
                     const struct rep_campaign *c, struct suf_err *err);
void rep_sheet_portfolio(lxw_worksheet *ws, const struct rep_ctx *ctx,
                         const struct rep_formats *f, struct rep_campaign *const *cs, int n);

#endif /* SUF_REPORT_PRIV_H */
