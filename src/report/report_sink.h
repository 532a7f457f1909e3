/*
 * report_sink.h: where the report's cells go.
 *
 * The sheets (report_sheets.c) put every cell, column width, frozen pane,
 * filter, chart and print setting of a workbook through a struct rep_sink, a struct of
 * function pointers: report_xlsx.c writes them into an .xlsx file with
 * libxlsxwriter, and the unit tests record them to compare each sheet with
 * an expected table.  The rendering code is the same for both, so what the
 * tests check is what a workbook holds.
 *
 * Invariants:
 *  - a sink is told the formats once, when it is made, as a table indexed by
 *    enum rep_fmt; every later call names a format by that enum;
 *  - each sheet's rows arrive top down (libxlsxwriter's constant-memory
 *    mode writes a row for good once a later one starts); calls for
 *    different sheets may interleave;
 *  - a sink copies every string before the call returns;
 *  - times are seconds since the epoch, UTC; a formula comes with the value
 *    it computes, which viewers that never recalculate show;
 *  - money arrives as int64 micros (struct rep_amount, through `amount` and
 *    `formula_amount`), never as a double: each sink decides how to show it,
 *    so a CSV file can write the exact decimal a workbook cell rounds.
 */
#ifndef SUF_REPORT_SINK_H
#define SUF_REPORT_SINK_H

#include <stdbool.h>
#include <stdint.h>

#include "base/amount.h"

/* The report's cell formats.  A format's look is its rep_format_spec. */
enum rep_fmt {
    REP_FMT_NONE,        /* the default look: no format at all */
    REP_FMT_TITLE,       /* the campaign on the Summary's first row */
    REP_FMT_HEADER,      /* a table's header row */
    REP_FMT_BOLD,        /* a label, a total's caption */
    REP_FMT_COUNT,       /* a count */
    REP_FMT_COUNT_TOTAL, /* the total of counts */
    REP_FMT_MONEY,       /* an amount of the report's currency */
    REP_FMT_MONEY_TOTAL, /* the total of amounts */
    REP_FMT_RATE,        /* a per-unit amount: a rate, a cost per conversion */
    REP_FMT_PCT,         /* a ratio, shown as a percentage */
    REP_FMT_DATETIME,    /* a time, UTC */
    REP_FMT_DATE,        /* a UTC day: a rate card's effective date */
    REP_FMT_RATE_TOTAL,  /* a per-unit amount on a totals row */
    REP_FMT_UNPRICED,    /* an amount with unpriced charges: blank, or the
                          * known part of a sum */
    REP_FMT_UNPRICED_TOTAL, /* the same, on a totals row */
    REP_FMT_UNPRICED_COUNT, /* how many charges are unpriced, when any */
    REP_FMT_BANNER,      /* the Summary's warning line */
    REP_NFMT             /* number of formats; not a format */
};

/* What a format looks like.  Zero is "as the default". */
struct rep_format_spec {
    const char *name;       /* "money_total": how tests and readers name it */
    bool bold;
    int font_size;          /* points */
    bool wrap;              /* wrap text in the cell */
    bool align_top;         /* vertical alignment at the top */
    bool rule_above;        /* a thin border above */
    bool rule_below;        /* a thin border below */
    uint32_t bg_color;      /* 0xRRGGBB; 0 is none */
    const char *num_format; /* Excel's number format; NULL is General */
};

/*
 * An amount of the report's currency: `micros` millionths of a unit divided
 * by `per` (> 0).  `per` is 1 for an amount, and a count for a per-unit
 * figure such as the cost per conversion, which is then exact until a sink
 * rounds it.
 */
struct rep_amount {
    int64_t micros;
    int64_t per;
};

/* The amount as a cell's floating-point number: the one place money becomes
 * a double (the workbook sink and the tests' recording sink show it so). */
static inline double rep_amount_value(struct rep_amount a)
{
    return (double)a.micros / (double)SUF_MICROS_PER_UNIT / (double)a.per;
}

/* A column chart of one series, with its values as labels and no legend. */
struct rep_chart {
    const char *title;
    const char *series_name;
    const char *categories; /* "=Summary!$A$6:$A$13" */
    const char *values;     /* "=Summary!$B$6:$B$13" */
    const char *x_title;    /* the category axis's title */
    double x_scale, y_scale;
};

/* How a sheet prints. */
struct rep_print {
    bool landscape;
    uint16_t fit_wide, fit_tall; /* pages; 0 is "as many as it takes" */
    uint32_t repeat_first, repeat_last; /* rows printed atop every page */
    const char *header, *footer; /* Excel's codes (&L, &P...); a literal '&'
                                    is "&&", at most 255 characters */
};

/*
 * The operations of a sink.  `self` is the sink's own state; `ws` is what
 * add_sheet returned for the sheet.  Rows and columns count from 0.
 */
struct rep_sink_ops {
    /* Adds the worksheet `name` (at most 31 characters) after the others;
     * returns its handle. */
    void *(*add_sheet)(void *self, const char *name);
    /* A string cell, written as a string even when it looks like a formula
     * or a number. */
    void (*text)(void *self, void *ws, uint32_t row, uint16_t col, const char *s,
                 enum rep_fmt fmt);
    void (*number)(void *self, void *ws, uint32_t row, uint16_t col, double v,
                   enum rep_fmt fmt);
    /* `formula` ("=SUM(B2:B9)") carrying `value`. */
    void (*formula)(void *self, void *ws, uint32_t row, uint16_t col, const char *formula,
                    double value, enum rep_fmt fmt);
    /* A date and time cell of `t` (> 0). */
    void (*datetime)(void *self, void *ws, uint32_t row, uint16_t col, int64_t t,
                     enum rep_fmt fmt);
    /* The width of columns first..last, in characters. */
    void (*width)(void *self, void *ws, uint16_t first, uint16_t last, double width);
    /* Freezes the rows above `row` and the columns left of `col`. */
    void (*freeze)(void *self, void *ws, uint32_t row, uint16_t col);
    /* A filter over the table from (r1, c1) to (r2, c2). */
    void (*filter)(void *self, void *ws, uint32_t r1, uint16_t c1, uint32_t r2, uint16_t c2);
    /* Inserts `chart` with its top left corner in cell (row, col). */
    void (*chart)(void *self, void *ws, uint32_t row, uint16_t col, const struct rep_chart *chart);
    /* Makes `ws` the sheet a reader sees on opening the workbook. */
    void (*activate)(void *self, void *ws);
    /* An amount cell (money and rates: the formats money, money_total,
     * rate, rate_total, unpriced and unpriced_total come with a value only
     * through these two, or as a blank). */
    void (*amount)(void *self, void *ws, uint32_t row, uint16_t col, struct rep_amount a,
                   enum rep_fmt fmt);
    /* `formula` carrying the amount `a`. */
    void (*formula_amount)(void *self, void *ws, uint32_t row, uint16_t col,
                           const char *formula, struct rep_amount a, enum rep_fmt fmt);
    /* An empty cell with a format (a blank shaded as unpriced).  Optional:
     * a sink with no looks (NULL) leaves the cell out. */
    void (*blank)(void *self, void *ws, uint32_t row, uint16_t col, enum rep_fmt fmt);
    /* How `ws` prints.  Optional: NULL for a sink that never prints. */
    void (*print)(void *self, void *ws, const struct rep_print *p);
    /* The height of `row`, in points, set before its first cell (a header
     * whose names wrap).  Optional: NULL for a sink with no looks. */
    void (*height)(void *self, void *ws, uint32_t row, double points);
};

struct rep_sink {
    const struct rep_sink_ops *ops;
    void *self;
};

/* One sheet of a sink: what the sheets' code writes to. */
struct rep_sheet {
    const struct rep_sink *sink;
    void *ws;
};

#endif /* SUF_REPORT_SINK_H */
