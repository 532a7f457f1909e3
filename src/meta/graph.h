/*
 * graph.h: one Graph API call at a time, with the send stage's rules.
 *
 * The meta stage talks to Meta's management endpoints (the template
 * catalog today) through the same transport, rate limiter, retry decision
 * and backoff as the send stage (send/transport.h, send/ratelimit.h,
 * send/cloudapi.h), one request at a time: management calls are few, and
 * each answer decides the next request (a catalog page names the next
 * cursor).
 *
 * Invariants:
 *  - a request names a path below base_url that suf built ("/v23.0/<waba>/
 *    message_templates?..."), never a URL taken from a reply: the token goes
 *    to base_url's host and nowhere else;
 *  - calls go at most cfg->graph_rate per second (0: no limit);
 *  - a transient failure (no reply, 429, 5xx, a retryable code, Graph's
 *    is_transient) is tried again after suf_cloudapi_backoff_ms(), with
 *    Retry-After as a floor, while tries < max_tries, the retries of this
 *    client < retry_budget and the delay <= backoff_max_ms; every wait is
 *    bounded, and a stop requested by a signal ends it;
 *  - every text of an error comes from suf_cloudapi_parse_graph(), with each
 *    registered secret redacted (a code 190 reply may quote the token).
 *
 * The caller's steps:
 *  1. suf_graph_open(&g, run, err) (libcurl, the token from SUF_ACCESS_TOKEN
 *     or token_file), or suf_graph_init(&g, run, transport) in tests;
 *  2. suf_graph_get(&g, path, &reply, err) for each call (suf_graph_post
 *     for a call that creates something: one try only); the reply's body
 *     is the caller's, freed with suf_graph_reply_release();
 *  3. suf_graph_close(&g).
 */
#ifndef SUF_GRAPH_H
#define SUF_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/context.h"
#include "send/cloudapi.h"
#include "send/ratelimit.h"
#include "send/transport.h"

/* Replies of Graph calls are capped here: a catalog page of a few hundred
 * templates with their components is far above a send reply's cap. */
#define SUF_GRAPH_MAX_REPLY (16L * 1024 * 1024)

/* Waits `ms` milliseconds (tests pass one that only counts). */
typedef void (*suf_graph_sleep_fn)(void *ctx, int64_t ms);

struct suf_graph {
    struct suf_run *run;
    struct suf_transport *t;
    int own_transport;
    struct suf_ratelimit rl;
    suf_jitter_fn jitter; /* NULL: a random source */
    void *jitter_ctx;
    suf_graph_sleep_fn sleep; /* NULL: nanosleep */
    void *sleep_ctx;
    int64_t calls;        /* requests submitted, tries included */
    int64_t retries_used; /* of cfg->retry_budget */
};

/* A successful call: HTTP 2xx with a JSON object that carries no error. */
struct suf_graph_reply {
    char *body; /* NUL-terminated, owned: suf_graph_reply_release frees it */
    size_t len;
    int http_status;
    int tries;
};

/* Sets up a client over `t` (the caller's, not closed by the client). */
void suf_graph_init(struct suf_graph *g, struct suf_run *run, struct suf_transport *t);

/*
 * Sets up a client over libcurl to cfg->base_url, with the access token
 * (SUF_ACCESS_TOKEN, else token_file; registered with the redactor, as are
 * the receiver's secrets when readable).  SUF_ERR_CONFIG without a token.
 */
int suf_graph_open(struct suf_graph *g, struct suf_run *run, struct suf_err *err);

/*
 * GETs `path` (built by the caller, starting with "/"; never a URL from a
 * reply), with the rate limit and the retries above.  On success fills
 * `out`.  Else fills `err` with the path and the reply's redacted words:
 *  - SUF_ERR_CONFIG when the token was refused (code 190): every later call
 *    would fail alike;
 *  - SUF_ERR_NETWORK when the API could not be reached, or a transient
 *    failure outlived the tries (max_tries, retry_budget, backoff_max_ms);
 *  - SUF_ERR_INPUT for any other refusal (the HTTP status and API code in
 *    err->http_status and err->api_code);
 *  - SUF_ERR_INTERRUPTED when a signal asked to stop.
 */
int suf_graph_get(struct suf_graph *g, const char *path, struct suf_graph_reply *out,
                  struct suf_err *err);

/*
 * POSTs `body` (JSON) to `path`, ONCE, with the rate limit: a POST that
 * creates something is not idempotent, and one whose reply was lost may
 * have been carried out, so the caller looks again before it tries again.
 * The errors of suf_graph_get, except that SUF_ERR_NETWORK now means "may
 * or may not have been done": no reply, or a failure that would have been
 * retried.
 */
int suf_graph_post(struct suf_graph *g, const char *path, const char *body,
                   struct suf_graph_reply *out, struct suf_err *err);

void suf_graph_reply_release(struct suf_graph_reply *r);

/* Closes the transport when the client opened it. */
void suf_graph_close(struct suf_graph *g);

/*
 * Keeps a reply for audit: writes `len` bytes of `body` to `final` (a file
 * in `dir`) through a synced temporary dot file in `dir` and a rename, so a
 * reader never sees half of it.  `what` names it in errors ("a catalog
 * page"): SUF_ERR_CANTCREAT or SUF_ERR_IO, the temporary file removed.
 */
int suf_graph_keep(const char *dir, const char *final, const char *body, size_t len,
                   const char *what, struct suf_err *err);

/*
 * Before a fetch that keeps its replies in the inbox folder `dir` (the
 * config key `key`): SUF_ERR_CONFIG when waba_id is not set ("cannot read
 * <what>") or `dir` is not ("<kept> are kept there"); the folder is
 * created when missing (SUF_ERR_CANTCREAT when it cannot be).
 */
int suf_graph_check_inbox(const struct suf_config *cfg, const char *key, const char *dir,
                          const char *what, const char *kept, struct suf_err *err);

/* True when `body` (NUL-terminated) holds a secret the log redactor knows:
 * such a reply (one that quotes the token) is written nowhere. */
bool suf_graph_quotes_secret(const char *body);

#endif /* SUF_GRAPH_H */
