/*
 * report.h: the finance workbooks of `suf report`.
 *
 * For each campaign, reports/<campaign>/<campaign>_<as-of date>.xlsx, and
 * for a run over every campaign, reports/portfolio_<as-of date>.xlsx with
 * one row per campaign and totals.  With CSV (--csv, or [report]
 * csv_export), each workbook's sheets also go, one CSV file per sheet, into
 * a folder beside it named like it: reports/<campaign>/<campaign>_<as-of
 * date>/summary.csv..., reports/portfolio_<as-of date>/campaigns.csv...
 * (report_csv.h says what the files hold).
 *
 * Invariants:
 *  - a campaign id is data, not a path: the folder and file names are made
 *    of [A-Za-z0-9._-] only, never start with a dot, are at most 80 bytes,
 *    and carry a short hash of the id whenever the id had to be changed, so
 *    two ids never share a file and nothing is written outside the reports
 *    folder;
 *  - a workbook is written to a temporary file in its final folder and
 *    renamed into place when complete: a reader never sees half a workbook;
 *    its mode is 0640 less the configured umask; a CSV folder likewise is
 *    written as a hidden temporary folder and renamed into place, replacing
 *    the folder of an earlier run of the same day whole (never a folder
 *    that holds anything but CSV files), so no table of an earlier run is
 *    left among the new ones;
 *  - the as-of time is the run clock's base (`--now`): the same store and
 *    the same --now give the same cell values, and the workbook's creation
 *    date is the as-of time;
 *  - worksheets are written in libxlsxwriter's constant-memory mode, so
 *    memory stays flat whatever the number of fallbacks and recipients; the
 *    Excluded recipients, Waiting recipients and Fallbacks sheets continue
 *    on "Fallbacks (2)"... past 1,048,575 data rows;
 *  - text that comes from inputs is always written as a string, never as a
 *    formula; totals are formulas that carry their computed values.
 */
#ifndef SUF_REPORT_H
#define SUF_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/context.h"

/* Data rows per sheet of a list: Excel's 1,048,576 rows less the header. */
#define SUF_REPORT_ROWS_PER_SHEET 1048575

/* What `suf report` writes. */
struct suf_report_opts {
    const char *out_dir; /* NULL: cfg->reports_dir */
    bool csv;            /* the CSV tables too */
};

/*
 * Writes the workbooks: one campaign when run->campaign is set (no
 * portfolio then), else every campaign and the portfolio.  Counts
 * "report.workbooks", "report.fallbacks" and "report.csv_folders".
 */
int suf_report_write_opts(struct suf_run *run, const struct suf_report_opts *opts,
                          struct suf_err *err);
/* The same into `out_dir` (NULL: cfg->reports_dir), with CSV as
 * cfg->csv_export says: what `suf run` writes.  Either warns once, for the
 * whole run, when phones matched no prefix of the market map (their count
 * and one of them, masked), and counts them in "report.phones_no_market". */
int suf_report_write(struct suf_run *run, const char *out_dir, struct suf_err *err);

/*
 * The phones of campaign `campaign` that no prefix of the market map
 * matches, on the day of the run's clock: their count into *n, and the
 * first of them, masked as in log lines, into `example` ("" when there is
 * none; size >= SUF_PHONE_MAX + 8).  Reads only (`suf status`).
 */
int suf_report_no_market(struct suf_run *run, const char *campaign, int64_t *n, char *example,
                         size_t size, struct suf_err *err);

/*
 * The file-name-safe form of a campaign id into out (size >= 96): see the
 * invariants above.  Deterministic.
 */
char *suf_report_safe_name(const char *id, char *out, size_t size);

#endif /* SUF_REPORT_H */
