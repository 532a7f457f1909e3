/*
 * report_tee.h: one sink that feeds two (see report_sink.h).
 *
 * `suf report --csv` renders each workbook once, into a tee of the
 * workbook's sink and the CSV sink: the figures are read and costed once,
 * and both outputs receive the very same calls, so the CSV tables are the
 * workbook's tables, cell for cell.
 *
 * Steps for a caller:
 *  1. t = rep_tee_new(a, b): both sinks must outlive t;
 *  2. sink = rep_tee_sink(t), and render through it;
 *  3. rep_tee_free(t); closing a and b is the caller's.
 */
#ifndef SUF_REPORT_TEE_H
#define SUF_REPORT_TEE_H

#include "report/report_sink.h"

struct rep_tee; /* opaque */

/* A sink passing every call to `a`, then to `b`. */
struct rep_tee *rep_tee_new(const struct rep_sink *a, const struct rep_sink *b);
/* The sink of `t`; valid until rep_tee_free(t). */
struct rep_sink rep_tee_sink(struct rep_tee *t);
/* Frees `t` and its sheets' handles; accepts NULL. */
void rep_tee_free(struct rep_tee *t);

#endif /* SUF_REPORT_TEE_H */
