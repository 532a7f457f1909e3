/*
 * send.h: the send stage: queued `sends` rows go to the Cloud API, session
 * messages first, exactly once as far as the API allows.
 *
 * Rows come from the plan stage (kind 'u', the utility permission template,
 * state 'queued') and from reconcile (kind 's', the session parts, 'held'
 * until a consent queues them).  Each row carries its exact JSON body and
 * callback data "suf:<fallback>:<u|s><n>"; this stage never rebuilds a body,
 * except to give a re-send its new callback data.
 *
 * A send row moves queued -> in_flight -> sent | failed, or back to queued
 * (with next_try_at) after a transient failure.  Invariants:
 *  - in_flight (tries + 1, in_flight_at, run_id) is committed before the
 *    request leaves; the outcome is committed after it returns (both in
 *    groups);
 *  - right before the request's first byte is written, its departure is
 *    noted in the departure log (send_db.h), then recorded as left_at;
 *  - a row found in_flight when the stage starts belongs to a run that
 *    died.  If its request of that try provably never left (no left_at,
 *    and the log of its run does not name it) it is queued again, its try
 *    undone.  Otherwise it may have reached the API: it becomes 'unknown',
 *    is never sent again as it is, and only when still unresolved (no
 *    webhook moved it) after unknown_resend_after_hours gets a NEW row
 *    (n + 1, resend_of, new callback data); the old row stays 'unknown';
 *  - part 2 of a session goes only after part 1 is 'sent'; no session part
 *    goes at or past consented_at + 24 h - window_margin (the fallback
 *    becomes window_expired and its queued parts 'cancelled');
 *  - no utility message goes for a campaign whose permission template is
 *    not in the catalog as APPROVED and UTILITY; the run says why;
 *  - phones in `optouts` get nothing: their queued rows are cancelled;
 *  - utility messages stop cleanly at the first that would pass a cap:
 *    --limit / max_utility_per_run (a count) or max_utility_cost_per_run
 *    (the sum of their estimated prices: the Utility rate of the phone's
 *    market on the rate card in effect on the day of "now", in
 *    cfg->currency); under a cost cap a message of unknown price is not
 *    sent (it stays queued) and is counted; the rest stay queued;
 *  - a dry run changes no state at all: the whole stage runs inside one
 *    transaction that is rolled back, with the recording transport writing
 *    the outbox; so the outbox holds exactly the bodies a real send would
 *    post, byte for byte as stored.
 *
 * Counts (suf_run_count): send.sent, send.sent_session, send.sent_utility,
 * send.failed, send.retried, send.deferred, send.unknown, send.requeued, send.resent,
 * send.cancelled_optout, send.window_expired, send.campaigns_blocked,
 * send.left_by_limit, send.left_by_cost_cap, send.left_unpriced.
 */
#ifndef SUF_SEND_H
#define SUF_SEND_H

#include <stdint.h>

#include "base/context.h"
#include "send/cloudapi.h"
#include "send/ratelimit.h"
#include "send/transport.h"

enum suf_send_what {
    SUF_SEND_SESSION = 1, /* queued session parts */
    SUF_SEND_UTILITY = 2, /* queued utility permission templates */
    SUF_SEND_ALL = 3,
};

/* Called about once a minute during a long utility send (not in a dry run),
 * with no transaction open: `suf run` imports events and reconciles here,
 * so new consents are sent before the next utility batch. */
typedef int (*suf_send_between_fn)(struct suf_run *run, void *ctx, struct suf_err *err);

struct suf_send_opts {
    int what;              /* enum suf_send_what bits */
    int64_t limit;         /* --limit: utility messages at most; < 0 = none */
    suf_jitter_fn jitter;  /* NULL: a random source */
    void *jitter_ctx;
    suf_clock_ns_fn clock; /* the rate limiter's clock; NULL: monotonic */
    void *clock_ctx;
    suf_send_between_fn between; /* may be NULL */
    void *between_ctx;
    int batch;             /* rows fetched at a time; 0 = default */
};

/* Fills the defaults: everything, no limit, random jitter, real clock. */
void suf_send_opts_init(struct suf_send_opts *o);

/*
 * Runs the stage with the transport the run calls for: in a dry run the
 * recording transport writing "<outbox_dir>/send_<as-of>_run<id>.jsonl";
 * otherwise libcurl, opened only when there is something to send, with the
 * token from SUF_ACCESS_TOKEN or token_file (suf_config_secret).
 * Returns a hard failure (database, configuration, token); permanent send
 * failures are recorded with suf_run_soft_fail(SUF_ERR_SEND).
 */
int suf_send_run(struct suf_run *run, const struct suf_send_opts *o, struct suf_err *err);

/* As suf_send_run, through a transport the caller owns (tests); the
 * transport is used as is, also in a dry run. */
int suf_send_with(struct suf_run *run, struct suf_transport *t, const struct suf_send_opts *o,
                  struct suf_err *err);

/*
 * Reads the access token (SUF_ACCESS_TOKEN, else token_file) into `*token`
 * (the caller wipes and frees it) and registers it, and the receiver's
 * secrets when they can be read, with the redactor: no API reply stores or
 * prints any of them.  SUF_ERR_CONFIG when there is no token.
 */
int suf_send_token(const struct suf_config *cfg, char **token, struct suf_err *err);

#endif /* SUF_SEND_H */
