/*
 * report_sheets.h: the workbooks' sheets, rendered from the figures of
 * report_data.h into any sink (report_sink.h).
 *
 * A campaign's workbook has, in reading order: Summary, By market, By
 * scenario, Exclusions, Excluded recipients, Waiting recipients, Fallbacks
 * and Inputs.  The three lists continue on "Fallbacks (2)"... past
 * rows_per_sheet data rows.  The portfolio's has Campaigns, Meta billed vs
 * estimate (when Meta's billing was imported) and Inputs.
 * Rendering reads the figures and writes cells; it reads no store.
 *
 * Steps for a campaign's workbook (constant-memory mode fills each sheet
 * top down, and the summary sheets need the totals, so the order is fixed):
 *  1. rep_formats_init(&f, currency), and make the sink with f.spec;
 *  2. rep_book_begin(&b, ctx, c, sink, rows): adds the sheets before the
 *     lists;
 *  3. rep_scan_left_out(ctx, c, REP_LEFT_EXCLUDED, rep_book_excluded, &b,
 *     err), then the same with REP_LEFT_WAITING and rep_book_waiting, then
 *     rep_scan_fallbacks(ctx, c, rep_book_fallback, &b, err): one row each;
 *     a list starts with its first row, or when a later one does;
 *  4. rep_book_finish(&b, c): adds Inputs and fills it and the summary
 *     sheets.
 */
#ifndef SUF_REPORT_SHEETS_H
#define SUF_REPORT_SHEETS_H

#include <stdbool.h>
#include <stdint.h>

#include "report/report_data.h"
#include "report/report_sink.h"

/* The look of every format, for the report's currency. */
struct rep_formats {
    struct rep_format_spec spec[REP_NFMT];
    char money_format[64]; /* the number format of amounts */
    char rate_format[64];  /* ... and of per-unit figures: six decimals */
};

/* Fills f; its specs point into f, so f must outlive the sink made of them. */
void rep_formats_init(struct rep_formats *f, const char *currency);

/*
 * A table's column: its name, and for an amount whose view it is ("policy",
 * "Meta", "both views"...), which the header shows with the currency:
 * "Total (policy, USD)".
 */
struct rep_col {
    const char *name;
    const char *view; /* NULL: not an amount */
    double width;     /* the column's width, in characters */
};

/* A list of one row per recipient or fallback, which continues on a new
 * sheet ("Fallbacks (2)"...) past the book's rows_per_sheet data rows.  Each
 * of its sheets has the header row, frozen, and a filter over its rows. */
struct rep_list {
    const char *name;         /* of its first sheet */
    const struct rep_col *cols; /* the header row */
    int ncols;
    struct rep_sheet sheet;   /* the sheet being written */
    int sheets;               /* sheets so far; 0 before the first row */
    uint32_t row;             /* the next data row of `sheet` */
    bool done;                /* its last sheet is closed */
};

/* A campaign's workbook being rendered. */
struct rep_book {
    const struct rep_ctx *ctx;
    const struct rep_sink *sink;
    struct rep_sheet summary, markets, scenarios, exclusions;
    struct rep_list excluded, waiting, fallbacks; /* in this order */
    int64_t rows_per_sheet;                       /* data rows per list sheet */
    char print_header[256]; /* atop every printed page: campaign, as-of */
};

/* Starts the workbook of campaign `c` (its id and name read) in `sink`;
 * rows_per_sheet <= 0 means SUF_REPORT_ROWS_PER_SHEET.  ctx and sink must
 * outlive b. */
void rep_book_begin(struct rep_book *b, const struct rep_ctx *ctx, const struct rep_campaign *c,
                    const struct rep_sink *sink, int64_t rows_per_sheet);
/* rep_left_fns: one row of Excluded recipients, of Waiting recipients. */
int rep_book_excluded(void *book, const struct rep_left_out *r, struct suf_err *err);
int rep_book_waiting(void *book, const struct rep_left_out *r, struct suf_err *err);
/* A rep_fallback_fn: writes one Fallbacks row into the book `book`. */
int rep_book_fallback(void *book, const struct rep_fallback *fb, struct suf_err *err);
/* Writes the rest, from the campaign's completed figures. */
void rep_book_finish(struct rep_book *b, const struct rep_campaign *c);

/* The portfolio's sheets: one row per campaign of cs (n of them), totals,
 * then, when `mb` has rows, "Meta billed vs estimate" (one row per bucket,
 * market and category, a note atop), then the run's inputs (which say when
 * no billing was imported).  mb may be NULL. */
void rep_render_portfolio(const struct rep_ctx *ctx, const struct rep_sink *sink,
                          struct rep_campaign *const *cs, int n, const struct rep_billed *mb);

/* A fallback state ("utility_delivered") in words, for a reader; unknown
 * states are "Unknown state".  Static text. */
const char *rep_state_words(const char *id);
/* An exclusion reason in words ("The customer opted out (STOP or error
 * 131050)") from its id ("opted_out"); a reason plan does not have gets
 * words that say so.  Static text. */
const char *rep_reason_words(const char *reason);

/* A string cell of text that comes from inputs: cut to Excel's limit on a
 * character boundary, invalid UTF-8 shown as '?', never read as a formula. */
void rep_write_text(const struct rep_sheet *ws, uint32_t row, uint16_t col, const char *s,
                    enum rep_fmt fmt);
#endif /* SUF_REPORT_SHEETS_H */
