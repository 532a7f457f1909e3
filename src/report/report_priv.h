/*
 * report_priv.h: the steps of report.c that the unit tests drive, so that
 * they check the very sequence `suf report` follows.  Not a public
 * interface.
 *
 * The report's files and what each does:
 *  - report.c: the driver: which campaigns, file names, writing safely;
 *  - report_data.c (report_data.h): the figures, read from the store and
 *    costed; no cells;
 *  - report_sheets.c (report_sheets.h): the cells, rendered from the
 *    figures into a sink;
 *  - report_xlsx.c (report_xlsx.h): the sink that writes an .xlsx file;
 *  - report_csv.c (report_csv.h): the sink that writes CSV files;
 *  - report_tee.c (report_tee.h): the sink that feeds both at once.
 * Calls go one way, down that list, and back only through function
 * pointers (a rep_fallback_fn, a rep_sink).
 */
#ifndef SUF_REPORT_PRIV_H
#define SUF_REPORT_PRIV_H

#include <stdint.h>

#include "report/report_data.h"
#include "report/report_sheets.h"
#include "report/report_sink.h"

/* Sets c->safe and c->relpath, the workbook's place under the reports
 * folder. */
void rep_place_campaign(const struct rep_ctx *ctx, struct rep_campaign *c);

/* Reads campaign `c` (rep_campaign_init'ed) and renders its workbook into
 * `sink`, with at most rows_per_sheet rows per sheet of a list (<= 0:
 * SUF_REPORT_ROWS_PER_SHEET).  On return c holds the campaign's figures. */
int rep_render_campaign(struct rep_ctx *ctx, struct rep_campaign *c, const struct rep_sink *sink,
                        int64_t rows_per_sheet, struct suf_err *err);

#endif /* SUF_REPORT_PRIV_H */
