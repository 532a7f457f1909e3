/*
 * cloudapi.h: what suf knows about the WhatsApp Cloud API's messages
 * endpoint, without any I/O: the request URL, the response parser, the one
 * function that decides whether a failed send may be retried, Retry-After,
 * and the backoff delay.
 *
 * Invariants:
 *  - the decision is made on the API error code first (Meta: "branch on
 *    code, not on the HTTP status"), then on the HTTP status, then on the
 *    transport outcome; a 200 that carries no wamid is never a success;
 *  - every function here is pure (the jitter source is passed in), so the
 *    tests drive them from tables.
 *
 * The caller's steps for one request:
 *  1. url = suf_cloudapi_url(cfg) once per run (caller frees);
 *  2. after the transport reports, suf_cloudapi_parse() the reply into a
 *     struct suf_api_result (caller-owned, fixed-size: nothing to free);
 *  3. suf_cloudapi_classify() says sent, retry or permanent;
 *  4. on retry, suf_cloudapi_backoff_ms() says how long to wait.
 */
#ifndef SUF_CLOUDAPI_H
#define SUF_CLOUDAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"

/* Transport-level outcome of one request, before any HTTP reply. */
enum suf_net_outcome {
    SUF_NET_OK = 0,      /* an HTTP reply arrived (any status) */
    SUF_NET_TIMEOUT,     /* connect or total timeout */
    SUF_NET_CONNECT,     /* could not connect, or the connection broke */
    SUF_NET_OTHER,       /* any other transport failure (TLS, protocol, ...) */
};

/* What one reply said. Strings are NUL-terminated and may be cut. */
struct suf_api_result {
    enum suf_net_outcome net;
    int http_status;        /* 0 when no reply arrived */
    char wamid[160];        /* messages[0].id, "" when absent */
    long api_code;          /* error.code, 0 when none */
    long api_subcode;       /* error.error_subcode, 0 when none */
    bool transient;         /* error.is_transient is true (Graph calls) */
    char api_error[512];    /* "message (details)", or the transport error text */
    int64_t retry_after_ms; /* from the Retry-After header, -1 when absent */
};

enum suf_api_verdict {
    SUF_API_SENT = 0,  /* accepted: the wamid is set */
    SUF_API_RETRY,     /* transient: try again later */
    SUF_API_PERMANENT, /* will fail the same way again: store code and text */
};

/* "{base_url}/{api_version}/{phone_number_id}/messages", a trailing slash of
 * base_url dropped.  The caller frees it. */
char *suf_cloudapi_url(const struct suf_config *cfg);

/*
 * Fills `r` from an HTTP reply: `net`, the status and the body (`body` may
 * be NULL, need not be NUL-terminated).  The wamid comes from
 * messages[0].id; errors from error.code, error.message and
 * error.error_data.details.  A body that is not JSON leaves wamid empty and
 * says so in api_error.  retry_after_ms is left as the caller set it.
 * api_error (also the transport's words the caller put there when `net` is
 * not SUF_NET_OK) and wamid come from outside and are stored: every secret
 * registered with suf_log_secret() is redacted from them, before they are
 * cut to size.
 */
void suf_cloudapi_parse(struct suf_api_result *r, enum suf_net_outcome net, int http_status,
                        const char *body, size_t len);

/*
 * Whether `body` is, byte for byte, the reply the messages endpoint gives
 * every accepted message:
 *   {"messaging_product":"whatsapp","contacts":[{"input":"…","wa_id":"…"}],
 *    "messages":[{"id":"…"}]}
 * (no whitespace; "message_status" may follow the id), each value one or
 * more plain characters (printable ASCII but the quote and the backslash),
 * the id shorter than `size`.  Then the id is copied to `wamid`.  Such a
 * body is valid JSON that jansson reads to the same id and no error (the
 * fuzz target `reply` checks it), so suf_cloudapi_parse takes it without
 * building a tree: about 25,000 instructions a reply, the parse of the one
 * reply that comes back for nearly every send.  Anything else, an error
 * or a reply laid out otherwise, goes to jansson.
 */
bool suf_cloudapi_accepted(const char *body, size_t len, char *wamid, size_t size);

/*
 * As suf_cloudapi_parse, for a reply of a Graph call (the catalog, a
 * template, analytics): there is no wamid to expect, so a 2xx without one
 * is not an error; a reply that is not a JSON object still says so in
 * api_error.  Also reads error.error_subcode, error.is_transient and
 * error.error_user_msg (in api_error when the message has no details).
 */
void suf_cloudapi_parse_graph(struct suf_api_result *r, enum suf_net_outcome net,
                              int http_status, const char *body, size_t len);

/*
 * After suf_cloudapi_parse, for a 3xx reply: api_error says it was a
 * redirect, to `location` (the target libcurl read; may be NULL; redacted
 * and cut like any outside text), and that suf never follows one: the token
 * goes to base_url and nowhere else.  The verdict stays PERMANENT.  Does
 * nothing for any other status.
 */
void suf_cloudapi_redirect(struct suf_api_result *r, const char *location);

/* True for the API codes that mean "transient": 130429 (throughput),
 * 131056 (pair rate), 131000 (unknown), 131016 (service unavailable). */
bool suf_cloudapi_code_retryable(long code);

/*
 * The one decision: sent, retry or permanent, in this order:
 *  - no HTTP reply (timeout, connection error, other transport error): RETRY;
 *  - a 2xx with a wamid and no error code: SENT;
 *  - a retryable API code (130429, 131056, 131000, 131016): RETRY, whatever
 *    the HTTP status (Meta: branch on the code);
 *  - HTTP 429 or 5xx: RETRY, whatever other code the body carries;
 *  - any other API code: PERMANENT;
 *  - a 2xx without a wamid (malformed or empty reply): RETRY: it is not a
 *    success, and a retry carries the same callback data, so webhooks of a
 *    message that did go out still match it;
 *  - any other status: PERMANENT.
 */
enum suf_api_verdict suf_cloudapi_classify(const struct suf_api_result *r);

/*
 * The same decision for a Graph call, which has no wamid: SENT means "the
 * server accepted it" (a 2xx JSON object without an error code, whose
 * content the caller checks); a 2xx that is not a JSON object is RETRY;
 * error.is_transient true is RETRY like a retryable code; the rest is as
 * above.
 */
enum suf_api_verdict suf_cloudapi_classify_graph(const struct suf_api_result *r);

/* True for the codes that mean the token itself is refused (190, Graph's
 * OAuthException): every later call would fail alike, so a caller stops. */
bool suf_cloudapi_code_token(long code);

/*
 * Parses a Retry-After header value: delta-seconds ("3") or an HTTP-date
 * (RFC 9110), relative to `now` (epoch seconds).  Returns milliseconds
 * (0 for a date in the past), or -1 when the value is not understood.
 */
int64_t suf_cloudapi_retry_after(const char *value, int64_t now);

/* A source of random 32-bit values for jitter (tests inject a fixed one). */
typedef uint32_t (*suf_jitter_fn)(void *ctx);

/*
 * The delay before try number `tries`+1, after `tries` (>= 1) failed tries:
 * d = min(max_ms, base_ms * 2^(tries-1)), then "equal jitter": a value in
 * [d/2, d] drawn from `jitter`.  A server's Retry-After (>= 0) is a floor:
 * the result is never below it, even above max_ms.
 */
int64_t suf_cloudapi_backoff_ms(int tries, int64_t base_ms, int64_t max_ms,
                                int64_t retry_after_ms, suf_jitter_fn jitter, void *ctx);

#endif /* SUF_CLOUDAPI_H */
