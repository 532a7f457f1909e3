/*
 * report_xlsx.h: the report's sink into an .xlsx file, through
 * libxlsxwriter in constant-memory mode (see report_sink.h).
 *
 * Steps for a caller:
 *  1. x = rep_xlsx_open(path, ...): NULL when the file cannot be created;
 *  2. sink = rep_xlsx_sink(x), and render through it;
 *  3. rep_xlsx_close(x, ...) writes the file and frees x, or
 *     rep_xlsx_discard(x) frees x after a failure; either way x is gone,
 *     and removing a half-written file is the caller's.
 */
#ifndef SUF_REPORT_XLSX_H
#define SUF_REPORT_XLSX_H

#include <stdint.h>

#include "base/status.h"
#include "report/report_sink.h"

struct rep_xlsx; /* opaque */

/*
 * A new workbook to be written at `path`, its temporary files in `tmpdir`,
 * its formats from `specs` (REP_NFMT of them, indexed by enum rep_fmt).  The
 * document's title is `title` and its creation date `created`, so two runs
 * with the same clock write the same file.  The caller keeps nothing: every
 * string is copied.
 */
struct rep_xlsx *rep_xlsx_open(const char *path, const char *tmpdir, const char *title,
                               int64_t created, const struct rep_format_spec *specs);
/* The sink writing into `x`; valid until `x` is closed or discarded. */
struct rep_sink rep_xlsx_sink(struct rep_xlsx *x);
/* Writes the file and frees `x`; SUF_ERR_IO naming `name` when it fails. */
int rep_xlsx_close(struct rep_xlsx *x, const char *name, struct suf_err *err);
/* Frees `x` without finishing the file; accepts NULL. */
void rep_xlsx_discard(struct rep_xlsx *x);

#endif /* SUF_REPORT_XLSX_H */
