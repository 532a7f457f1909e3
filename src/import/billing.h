/*
 * billing.h: importing what Meta billed (the `billing` kind).
 *
 * The input is the JSON of a pricing_analytics response, as
 * `GET /{WABA-ID}?fields=currency,pricing_analytics.start(..).end(..)...`
 * returns it: {"currency":"USD","pricing_analytics":{"data":[{"data_points":
 * [...]}]},"id":"<WABA-ID>"}; the pricing_analytics object alone
 * ({"data":[...]}) is read too.  Each data point is Meta's volume and cost
 * for one bucket [start, end) and one combination of the dimensions asked
 * (country, phone_number, pricing_category, pricing_type, tier), and becomes
 * one row of `meta_billing`.
 *
 * Invariants:
 *  - a cost becomes integer micros from its decimal text, never rounded: a
 *    cost with more than six decimals is rejected, not stored near enough;
 *  - a cost absent or null is "not given" (accounts billed through a
 *    partner's credit line get volume only) and is stored NULL, never 0;
 *  - the span from the first good bucket's start to the last one's end is
 *    recorded in `meta_billing_periods`, and the rows a file brings replace
 *    every row of the same account inside that span: a later fetch of a
 *    period is Meta's newer word on it;
 *  - a reply kept by `suf import billing --from-api` (meta/meta_billing.h)
 *    carries the span suf asked as a top-level member "asked":
 *    {"since": S, "until": U} (unix seconds, S before U), since a response
 *    does not say what was asked.  Then the span recorded and replaced is
 *    the span asked, widened to any bucket that reaches outside it (Meta's
 *    days may follow the account's time zone), and a reply with no data
 *    point at all records it too: Meta had nothing then.  The member also
 *    makes the replies of two spans differ, so an empty reply is never
 *    skipped as a copy of another span's;
 *  - a bad data point (start not before end, a volume that is not a
 *    non-negative integer, a cost that is not an exact decimal, a field that
 *    is no known dimension) is rejected with its position
 *    ("data[0].data_points[3]") and the reason; the good ones import.
 */
#ifndef SUF_BILLING_H
#define SUF_BILLING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "import/import.h"

/* Files larger than this are refused rather than loaded whole. */
#define SUF_BILLING_MAX_BYTES (64L * 1024 * 1024)

/*
 * Reads one data point's cost.  Returns SUF_OK with *given false when `cost`
 * is NULL (absent) or JSON null; SUF_OK with *given true and *micros set for
 * a non-negative number with at most six decimals; SUF_ERR_INPUT otherwise,
 * with the reason written to `why` (lowercase, the value quoted).
 */
int suf_billing_cost(const json_t *cost, int64_t *micros, bool *given, char *why, size_t whysize);

/*
 * The `billing` kind of suf_import_path().  A file that is not JSON, is too
 * large, has no "data" array, or says there are more pages
 * (pricing_analytics.paging.next) is SUF_ERR_INPUT naming the file, and
 * nothing of it is stored; a bad data point is rejected (suf_import_reject)
 * and the others are imported.
 */
int suf_import_billing(struct suf_import_file *f, FILE *in, struct suf_err *err);

#endif /* SUF_BILLING_H */
