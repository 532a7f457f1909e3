/*
 * purge.h: removing customers' personal data older than a cutoff, while
 * every count and cost the workbooks show stays the same.
 *
 * What is personal, and what becomes of it (store.c has the schema):
 *  - the phone of a recipient, in attempts, recipients and fallbacks, and
 *    the phones of webhook events (events.recipient, events.from_phone):
 *    replaced by a pseudonym (below), so the rows of one recipient still
 *    belong together and still cost the same;
 *  - names and message content: attempts.customer_name, text, vars,
 *    header_media_url, url_suffixes and button_payloads; events.text,
 *    payload and profile_name; the request bodies in sends.body and the
 *    API's error text in sends.api_error: removed;
 *  - rejected input rows (rejects.raw): removed; their reason keeps its
 *    words but loses what it quoted from the input;
 *  - the arguments and error text of old runs (runs.args, runs.message,
 *    which can name a phone, as `plan --explain PHONE` does): removed.
 * Opt-outs (table optouts) keep their phone: suf must go on matching it to
 * refuse a phone that opted out, and its readers compare phones as they
 * are.  Templates, campaigns, rate cards, file records and every count,
 * state, time and price stay.
 *
 * The unit is the recipient (campaign, phone) with its attempts and its
 * fallback: it is purged whole once its latest attempt, its fallback's
 * creation and its fallback's latest state change are all before the
 * cutoff, so a recipient is never split between a phone and a pseudonym.
 * A recipient still awaiting the broadcast's retries is kept (its outcome
 * is not decided yet), and so are recipients the plan has not seen.  A
 * purged fallback's messages that had not gone out (held, queued, in
 * flight or unknown) are cancelled: without a phone nothing may send them.
 * Events are purged by their own time once reconcile has taken them.
 *
 * A purged attempt stays purged: an export imported again later (a
 * corrected one) updates its status and times but not its phone or
 * content (the trigger attempts_stay_purged, made by the first purge), so
 * its recipient is not split, nor given a second fallback.
 *
 * The pseudonym of a phone is the longest calling-code prefix of the market
 * map that starts it, up to 6 digits (so it still falls in its market, and
 * prices the same), "#", and 32 hex digits of HMAC-SHA256(key, phone):
 * "44#9f86d081884c7d659a2feaa0c55ad015".  The key is 32 random bytes made
 * at the first purge and kept in the table pseudonym_key of the same
 * database (created by the first purge; no migration), so a phone gets
 * the same pseudonym at every purge and rows purged on different days
 * still link.  Where that pseudonym is taken in the same campaign (the
 * customer came back after an earlier purge), ":2", ":3"... keep the two
 * recipients apart.  A pseudonym holds no digit run of a phone beyond its
 * prefix, and a re-plan refuses to build a message to it.
 *
 * Steps: suf_purge(run, cutoff, &counts, &err) with the store open and
 * locked; it commits in batches, so an interrupted purge keeps what it did
 * and the next one goes on.  It can be run again at any time: what is
 * already purged is left as it is.
 */
#ifndef SUF_PURGE_H
#define SUF_PURGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/context.h"
#include "base/status.h"

#define SUF_PURGE_KEY_BYTES 32
/* A prefix (at most 15 digits), "#", 32 hex digits, ":n" and a NUL. */
#define SUF_PSEUDONYM_MAX 64
/* retention_days below this (but not 0) is refused: a week covers Meta's
 * redelivery of webhooks, the consent window and the session window, so
 * nothing a live fallback still needs is purged. */
#define SUF_PURGE_MIN_RETENTION_DAYS 7

/* What a purge did (each also counted in the run as "purge.<name>"). */
struct suf_purge_counts {
    int64_t recipients;   /* recipients whose phone became a pseudonym */
    int64_t attempts;     /* their attempts */
    int64_t fallbacks;    /* their fallbacks */
    int64_t sends;        /* sends whose body was removed */
    int64_t cancelled;    /* of those, messages that had not gone out */
    int64_t events;       /* webhook events */
    int64_t rejects;      /* rejected rows */
    int64_t runs;         /* runs whose arguments and message were removed */
    int64_t optouts;      /* opt-outs now kept under a pseudonym */
    int64_t kept_waiting; /* older than the cutoff, but awaiting retries */
};

/*
 * Writes into out[size] the pseudonym of `phone`: its first `keep` bytes
 * (its calling-code prefix), "#" and the first 32 hex digits of
 * HMAC-SHA256(key, phone).  SUF_ERR_INTERNAL when `size` is too small
 * (SUF_PSEUDONYM_MAX always fits) or libcrypto fails.
 */
int suf_purge_pseudonym(const unsigned char key[SUF_PURGE_KEY_BYTES], const char *phone,
                        size_t keep, char *out, size_t size);

/* True for NULL and for a pseudonym ("<digits>#<32 hex>" with an optional
 * ":<n>"); false for anything else, a phone included. */
bool suf_purge_is_pseudonym(const char *s);

/* The market prefixes a pseudonym may keep when the store has no imported
 * map: suf's built-in map, which the store does not know (it is money's).
 * The strings stay the caller's. */
struct suf_purge_map {
    const char *const *prefixes;
    size_t n;
};

/*
 * Purges what is older than `cutoff` (epoch seconds, which must not be
 * after the run's now) in run->store, and fills *counts.  `map` (may be
 * NULL) gives the prefixes to keep when no map was imported.  Commits in
 * batches; stops early, keeping what it committed, when the run is
 * stopping.  The current run's own row is left alone.  Opt-outs older than
 * the cutoff are kept under a pseudonym of the whole phone, which
 * suf_purge_relink_optouts() finds again.
 */
int suf_purge(struct suf_run *run, int64_t cutoff, const struct suf_purge_map *map,
              struct suf_purge_counts *counts, struct suf_err *err);

/*
 * An opt-out outlives its phone: a phone of `attempts` whose opt-out was
 * purged (kept as a pseudonym) is an opt-out again, under the phone, with
 * the old one's time and source.  Plan calls this before it decides, so a
 * number that comes back in a later export still opted out is excluded.
 * Costs two look-ups on a store without such opt-outs.  *relinked gets how
 * many came back.
 */
int suf_purge_relink_optouts(struct suf_run *run, int64_t *relinked, struct suf_err *err);

/* VACUUM: rewrites the database file so that no freed page keeps old
 * bytes.  It needs as much free disk as the database takes. */
int suf_purge_vacuum(struct suf_run *run, struct suf_err *err);

#endif /* SUF_PURGE_H */
