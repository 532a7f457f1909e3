/*
 * report_csv.h: the report's sink into CSV files, one per sheet, for BI
 * tools (see report_sink.h).  The sheets render into it through the same
 * code as into a workbook, so the two cannot say different things.
 *
 * Invariants of what it writes:
 *  - UTF-8 with no byte-order mark, RFC 4180: fields separated by commas,
 *    records ended by CRLF, a field that holds a comma, a double quote, a CR
 *    or an LF quoted, its double quotes doubled; nothing else is quoted;
 *  - every record of a file has as many fields as the sheet's widest column
 *    (its column widths, or its cells), empty fields padding the short rows
 *    and the empty rows between a sheet's tables;
 *  - a formula is written as its value, never as a formula;
 *  - an amount is a decimal with six places made from its integer micros,
 *    never through a double ("0.011300"); a per-unit amount (a cost per
 *    conversion) is rounded to the micro half away from zero, as a
 *    spreadsheet shows it;
 *  - a time is ISO 8601 in UTC ("2026-11-25T02:00:00Z"); a number (a count,
 *    a percentage as a fraction) is written as a workbook cell holds it, in
 *    16 significant digits at most ("3", "0.25", "0.3333333333333333");
 *  - text is written as it comes (the sheets have made it valid UTF-8);
 *  - the sheet "By market" is the file by_market.csv, "Fallbacks (2)" is
 *    fallbacks_2.csv; a file is created new (never over another one) with
 *    the mode given, less the umask.
 *
 * Steps for a caller:
 *  1. c = rep_csv_open(dir, mode): `dir` must exist;
 *  2. sink = rep_csv_sink(c), and render through it; each sheet added is a
 *     file in `dir`;
 *  3. rep_csv_close(c, &err) writes what is still held, syncs and closes
 *     every file and frees c: SUF_ERR_IO naming the first file that failed;
 *     or rep_csv_discard(c) frees c after a failure.  Removing the files
 *     is the caller's either way.
 */
#ifndef SUF_REPORT_CSV_H
#define SUF_REPORT_CSV_H

#include <stddef.h>
#include <sys/types.h>

#include "base/status.h"
#include "base/util.h"
#include "report/report_sink.h"

struct rep_csv; /* opaque */

/* A new CSV sink writing into the folder `dir` (copied). */
struct rep_csv *rep_csv_open(const char *dir, mode_t mode);
/* The sink writing into `c`; valid until `c` is closed or discarded. */
struct rep_sink rep_csv_sink(struct rep_csv *c);
/* Finishes every file and frees `c`; see the steps above. */
int rep_csv_close(struct rep_csv *c, struct suf_err *err);
/* Frees `c` without finishing its files; accepts NULL. */
void rep_csv_discard(struct rep_csv *c);

/* Adds `s` to `b` as one RFC 4180 field: as it is, or quoted when it holds
 * a comma, a double quote, a CR or an LF. */
void rep_csv_field(struct suf_buf *b, const char *s);
/* Writes `a` as a decimal with six places into buf (size >= 24): see the
 * invariants above. */
char *rep_csv_amount(struct rep_amount a, char *buf, size_t size);
/* Writes the file name of the sheet `sheet` ("by_market.csv") into out. */
char *rep_csv_file_name(const char *sheet, char *out, size_t size);

#endif /* SUF_REPORT_CSV_H */
