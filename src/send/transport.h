/*
 * transport.h: how a request body reaches the Cloud API, as a struct of
 * function pointers, so the send loop does not know or care whether it talks
 * to libcurl, to an outbox file (--dry-run) or to a unit test.
 *
 * Implementations:
 *  - suf_transport_curl_new(): libcurl's multi interface; many transfers at
 *    once, connections reused, HTTP/2 when the server offers it over TLS,
 *    connect and total timeouts, TLS verification always on; https only,
 *    plain http only to a loopback address (never through a proxy); no
 *    redirect is ever followed;
 *  - suf_transport_record_new(): no network at all; appends each body as
 *    one line to an outbox (when given) and keeps a copy (and the method
 *    and path of a request that names them), and answers with a
 *    canned reply (a synthetic success unless a responder says otherwise).
 *
 * Invariants:
 *  - submit() never blocks on the network; each submitted request is
 *    reported exactly once by a later poll(), whatever happened to it;
 *  - a request's `leaving` hook runs, inside poll(), before the first byte
 *    of that request is written (after its connection is made): a request
 *    for which it never ran provably never left the process;
 *  - the request body and `tag` belong to the caller and must stay valid
 *    until that report;
 *  - the reply passed to the callback lives only during the callback;
 *  - poll() waits at most its timeout, and less after a wakeup().
 *
 * The caller's steps:
 *  1. t = suf_transport_..._new(...);
 *  2. t->submit(t, &req, &err) for up to the concurrency it wants;
 *  3. t->poll(t, timeout_ms, done, ctx) until every request was reported;
 *  4. t->close(t) (frees t).
 */
#ifndef SUF_TRANSPORT_H
#define SUF_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/config.h"
#include "base/status.h"
#include "send/cloudapi.h"

/*
 * Called right before a request starts to go out: its connection is made,
 * none of its bytes is written yet (libcurl: CURLOPT_PREREQFUNCTION).  It
 * may run more than once for one request (libcurl replays a request whose
 * reused connection turned out dead).  Returning false holds the request
 * back: it never leaves, and is reported as a transport failure with
 * `unsent` set.
 */
typedef bool (*suf_transport_leaving_fn)(void *ctx, void *tag);

struct suf_request {
    const char *body; /* JSON, owned by the caller; "" with len 0 for a GET */
    size_t len;
    void *tag;        /* handed back with the reply */
    suf_transport_leaving_fn leaving; /* may be NULL */
    void *leaving_ctx;
    /* Both NULL for the messages endpoint: POST to the transport's URL.
     * Else "GET" or "POST" to the transport's URL with `path` (a path and
     * query the caller built, starting with '/') appended: a request names
     * a path, never a whole URL, so a link in a reply cannot send the token
     * anywhere but the transport's host.  Last in the struct, so that a
     * positional initialiser of the fields above leaves them NULL. */
    const char *method;
    const char *path;
};

struct suf_reply {
    void *tag;
    enum suf_net_outcome net;
    int http_status;           /* 0 when no reply arrived */
    const char *body;          /* the reply body, NUL-terminated ("" when none) */
    size_t len;
    const char *retry_after;   /* the Retry-After header value, or NULL */
    const char *location;      /* where a 3xx reply points (never followed), or NULL */
    const char *net_error;     /* transport error text when net != SUF_NET_OK */
    /* The request never started to go out (no connection, or `leaving`
     * said no).  A recording transport's responder sets it to play a
     * connection that could not be made: `leaving` is then not called. */
    bool unsent;
};

typedef void (*suf_transport_done_fn)(void *ctx, const struct suf_reply *reply);

struct suf_transport {
    /* Queues one request; SUF_ERR_INTERNAL only on a broken transport. */
    int (*submit)(struct suf_transport *t, const struct suf_request *req, struct suf_err *err);
    /* Waits at most `timeout_ms` for progress and reports every finished
     * request through `done`; returns how many requests are still pending. */
    size_t (*poll)(struct suf_transport *t, int timeout_ms, suf_transport_done_fn done,
                   void *ctx);
    /* Makes the poll() that is waiting return at once, or else the next
     * one (a wake-up is kept until a poll takes it).  The one member that
     * any thread may call, between new and close: a thread that has work
     * for the polling one (the send stage's writer) wakes it instead of
     * letting it sleep out its timeout. */
    void (*wakeup)(struct suf_transport *t);
    /* Frees the transport; pending requests are abandoned unreported. */
    void (*close)(struct suf_transport *t);
    const char *name; /* "curl", "record": for log lines */
};

/* Replies larger than this are cut (a failed transfer): a Cloud API reply
 * is a few hundred bytes, and a runaway proxy page must not eat memory. */
#define SUF_TRANSPORT_MAX_REPLY (64 * 1024)

/*
 * The libcurl transport for `url` with the bearer `token` (copied, wiped at
 * close; never logged), cfg->concurrency transfers at once, and
 * cfg->connect_timeout_ms / cfg->request_timeout_ms; replies are capped at
 * SUF_TRANSPORT_MAX_REPLY bytes.  `url` is https, or
 * plain http for a loopback host (the config's rule for base_url): then
 * every connection must also go to a loopback address, and proxies are
 * never used, since the token would cross them in clear.  Returns NULL and
 * fills `err` when the URL has another scheme or libcurl cannot be set up.
 */
struct suf_transport *suf_transport_curl_new(const struct suf_config *cfg, const char *url,
                                             const char *token, struct suf_err *err);

/* As suf_transport_curl_new, with replies capped at `max_reply` bytes
 * instead (a catalog page of a hundred templates is larger than a send's
 * cap). */
struct suf_transport *suf_transport_curl_new_capped(const struct suf_config *cfg,
                                                    const char *url, const char *token,
                                                    size_t max_reply, struct suf_err *err);

/* A canned reply for the recording transport: called once per request with
 * its body and its 0-based sequence number; fills `reply` (the strings must
 * outlive the call: static text is the usual choice). */
typedef void (*suf_record_respond_fn)(void *ctx, const char *body, size_t seq,
                                      struct suf_reply *reply);

/*
 * The recording transport.  `outbox` (may be NULL; not closed by us) gets
 * each body as one line, byte for byte, flushed as it goes.  `respond` (may
 * be NULL: every request then gets HTTP 200 and a synthetic wamid
 * "wamid.dryrun.<seq>") shapes the replies.  In poll, each request's reply
 * is asked of `respond` first, then its `leaving` hook runs (unless the
 * reply says `unsent`), then it is reported.  Nothing is sent, no token is
 * involved.
 */
struct suf_transport *suf_transport_record_new(FILE *outbox, suf_record_respond_fn respond,
                                               void *ctx);

/* The bodies a recording transport received, in submit order (tests). */
const char *suf_transport_record_body(struct suf_transport *t, size_t i);
/* "METHOD path" of request `i` when it named a path ("GET /v1/x?a=1"), else
 * NULL (a messages request); a responder finds it by its sequence number. */
const char *suf_transport_record_path(struct suf_transport *t, size_t i);
size_t suf_transport_record_count(struct suf_transport *t);

#endif /* SUF_TRANSPORT_H */
