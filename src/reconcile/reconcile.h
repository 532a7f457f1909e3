/*
 * reconcile.h: `suf reconcile`: imported webhook events become the
 * fallback states of DESIGN.md ("Reconcile").
 *
 * What one call does, idempotently (a second call changes nothing):
 *  1. every event still in `event_queue` (the importer queues each new
 *     one), in timestamp order (then import order):
 *     - a status moves its send's delivery forward (sent, delivered, read,
 *       failed; never backwards), keeps the error code and fills the
 *       pricing; a send left `unknown` by a dead run is found by its
 *       biz_opaque_callback_data and resolved to `sent` with the wamid; the
 *       fallback follows (utility delivered, failed; session converted
 *       when its last part is delivered or read, session failed);
 *     - a template quick-reply tap (type "button") whose payload is
 *       `suf:<id>:yes|no`, or whose context.id is a utility message's wamid,
 *       from the fallback's own phone, consents or declines; the held
 *       session parts are then queued for the send stage; a tap from another
 *       phone is counted and ignored; a tap after the consent window only
 *       records late_consent_at;
 *     - a typed consent keyword (config consent_keywords; off when empty)
 *       consents the phone's most recently asked fallback, in its window;
 *     - a stop keyword (config stop_keywords), or error 131050 on any
 *       message, records an opt-out and opts out every fallback of the
 *       phone in every campaign (except converted ones), cancelling their
 *       held and queued sends;
 *     - the event leaves the queue (its row in `events` is not rewritten);
 *  2. time passes: a delivered utility message whose consent window is over
 *     becomes no_response; a consent whose session message was not sent by
 *     consented_at + 24 h - window_margin_minutes becomes window_expired and
 *     its pending sends are cancelled.
 *
 * With run->campaign set, events and fallbacks of other campaigns are left
 * for a later run (events stay queued); opt-outs apply everywhere.
 * Events are processed in chunks, one transaction each: a kill leaves every
 * event either processed with its effects or untouched.  "now" is
 * suf_run_now(run).  Counts: "reconcile.<state>" per transition, and
 * reconcile.events, .late_consents, .wrong_phone_taps, .optouts,
 * .unknown_resolved, .unmatched_statuses, .unrelated_messages, .deferred.
 */
#ifndef SUF_RECONCILE_H
#define SUF_RECONCILE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/context.h"

/* Runs steps 1 and 2 above. */
int suf_reconcile(struct suf_run *run, struct suf_err *err);

/* Parses our quick-reply payload "suf:<fallback id>:yes|no". */
bool suf_reconcile_parse_payload(const char *payload, int64_t *fallback_id, bool *yes);

/* True when `text`, trimmed of white space and final punctuation, equals one
 * of the comma-separated `keywords` (ASCII case-insensitively). */
bool suf_reconcile_keyword(const char *keywords, const char *text);

#endif /* SUF_RECONCILE_H */
