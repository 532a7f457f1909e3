/*
 * meta_billing.h: what Meta billed, fetched from the API.
 *
 * `suf import billing --from-api --since DATE [--until DATE]` (and the
 * `billing` stage of `suf run` when billing_days is set) reads
 *   GET /{api_version}/{waba_id}?fields=currency,pricing_analytics.start(S)
 *       .end(E).granularity(DAILY).dimensions([PRICING_CATEGORY,
 *       PRICING_TYPE,COUNTRY,PHONE])
 * (the fields value URL-encoded), and each reply goes through the billing
 * file import (import/billing.h), exactly as a response saved by hand:
 *  1. the span [since, until) is cut into windows of at most
 *     SUF_META_BILLING_WINDOW_DAYS days, one request each (Meta documents no
 *     limit per request; shorter requests keep each reply small);
 *  2. each reply is fetched (graph.h: rate limit, retries, redaction) and
 *     checked: a JSON object with a "pricing_analytics" object holding a
 *     "data" array, no pricing_analytics.paging.next (Meta documents no
 *     paging here: a reply that says there is more is refused, not cut
 *     short), an "id" that is the account asked (a Graph node read always
 *     names its node: the import stores the rows under it); a reply that
 *     fails is an error naming its window, and nothing of it is kept;
 *  3. a reply that holds a registered secret is an error, written nowhere;
 *  4. it is kept in inbox_billing as "api-<waba>-<since>-<until>-run<id>
 *     .json" (temporary dot file, synced, renamed), with the span asked
 *     added in front as "asked": {"since": S, "until": U};
 *  5. it is imported from that file with suf_import_path and the billing
 *     kind: the period recorded is the span asked.
 * Windows before a failing one stay imported, each whole.
 *
 * Spans: Meta keeps pricing analytics for a year, so a since more than
 * SUF_META_BILLING_LOOKBACK_DAYS days before now is refused; an until
 * after now is brought back to now (the log says so): a day not over yet
 * would be recorded as fetched.
 */
#ifndef SUF_META_BILLING_H
#define SUF_META_BILLING_H

#include <stdint.h>

#include "base/context.h"
#include "meta/graph.h"

/* Days a request asks at most. */
#define SUF_META_BILLING_WINDOW_DAYS 90

/* Meta keeps pricing analytics this long (a year, a leap day included). */
#define SUF_META_BILLING_LOOKBACK_DAYS 366

/* The dimensions suf asks, in the order it asks them. */
#define SUF_META_BILLING_DIMENSIONS "PRICING_CATEGORY,PRICING_TYPE,COUNTRY,PHONE"

/*
 * The request for [since, until) of cfg->waba_id: a path below base_url,
 * the fields value URL-encoded.  The caller frees it; NULL only when
 * libcurl is out of memory.
 */
char *suf_meta_billing_path(const struct suf_config *cfg, int64_t since, int64_t until);

/*
 * Reads --since and --until: an ISO day ("2026-11-24", midnight UTC, not
 * the input zone: Meta's days are not the operator's) or a time
 * suf_time_parse() takes (with a zone, or epoch seconds).  `until_text`
 * NULL means now.  Fills [*since, *until) or returns SUF_ERR_USAGE naming
 * the option and the reason (unreadable, since not before until, since
 * more than a year back); an until after now becomes now.
 */
int suf_meta_billing_span(struct suf_run *run, const char *since_text, const char *until_text,
                          int64_t *since, int64_t *until, struct suf_err *err);

/*
 * Fetches [since, until) of cfg->waba_id through `g` and imports it (the
 * steps above).  `windows` (may be NULL) gets the number of windows
 * imported.  SUF_ERR_CONFIG when waba_id or inbox_billing is not set; the
 * errors of suf_graph_get; SUF_ERR_INPUT for a reply that fails the check
 * or quotes a secret; SUF_ERR_CANTCREAT/IO when a reply cannot be kept;
 * the import's errors.
 */
int suf_meta_billing_fetch(struct suf_run *run, struct suf_graph *g, int64_t since,
                           int64_t until, int *windows, struct suf_err *err);

/* suf_meta_billing_fetch over a libcurl client opened for it. */
int suf_meta_billing_run(struct suf_run *run, int64_t since, int64_t until,
                         struct suf_err *err);

#endif /* SUF_META_BILLING_H */
