/*
 * graph.c: one Graph API call at a time, with the send stage's rules (see
 * graph.h).
 *
 * The send loop keeps many requests in flight and schedules retries among
 * them; a management call is one request whose answer decides the next, so
 * here the same pieces (transport, rate limiter, parse, classify, backoff)
 * run in a plain loop that waits.  Every wait is bounded: the poll by the
 * transport's own timeouts and a count of turns, the backoff by
 * backoff_max_ms, the tries by max_tries and retry_budget.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "base/util.h"
#include "meta/graph.h"
#include "send/send.h"
#include "base/banned.h"

/* One turn of the poll waits this long at most. */
#define POLL_MS 100

/* What the transport said of the one request in flight. */
struct outcome {
    bool done;
    struct suf_api_result res;
    char *body;
    size_t len;
};

static void on_reply(void *ctx, const struct suf_reply *r)
{
    struct outcome *o = ctx;
    struct suf_graph *g = r->tag;

    o->done = true;
    o->res.retry_after_ms =
        r->retry_after ? suf_cloudapi_retry_after(r->retry_after, suf_run_now(g->run)) : -1;
    if (r->net != SUF_NET_OK)
        snprintf(o->res.api_error, sizeof(o->res.api_error), "%s",
                 r->net_error ? r->net_error : "transport error");
    suf_cloudapi_parse_graph(&o->res, r->net, r->http_status, r->body, r->len);
    suf_cloudapi_redirect(&o->res, r->location);
    o->body = suf_xstrndup(r->body ? r->body : "", r->len);
    o->len = r->len;
}

static void nap(void *ctx, int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    (void)ctx;
    while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void suf_graph_init(struct suf_graph *g, struct suf_run *run, struct suf_transport *t)
{
    memset(g, 0, sizeof(*g));
    g->run = run;
    g->t = t;
    g->sleep = nap;
    suf_ratelimit_init(&g->rl, run->cfg->graph_rate, NULL, NULL);
}

int suf_graph_open(struct suf_graph *g, struct suf_run *run, struct suf_err *err)
{
    const struct suf_config *cfg = run->cfg;
    const char *base = cfg->base_url ? cfg->base_url : "";
    size_t len = strlen(base);
    char *token = NULL, *url;
    struct suf_transport *t;

    if (suf_send_token(cfg, &token, err))
        return err->status;
    while (len > 0 && base[len - 1] == '/')
        len--;
    url = suf_xstrndup(base, len);
    t = suf_transport_curl_new_capped(cfg, url, token, SUF_GRAPH_MAX_REPLY, err);
    explicit_bzero(token, strlen(token));
    free(token);
    free(url);
    if (!t)
        return err->status ? err->status : SUF_ERR_NETWORK;
    suf_graph_init(g, run, t);
    g->own_transport = 1;
    return SUF_OK;
}

/* One try: waits for the rate limiter, sends, and polls until the reply.
 * `body` is NULL for a GET. */
static int one_try(struct suf_graph *g, const char *path, const char *body, struct outcome *o,
                   struct suf_err *err)
{
    const char *method = body ? "POST" : "GET";
    const struct suf_config *cfg = g->run->cfg;
    struct suf_request req;
    /* libcurl ends a transfer at its own timeouts; this bounds the loop
     * even if a transport never reported */
    int64_t turns = (cfg->connect_timeout_ms + cfg->request_timeout_ms) / POLL_MS + 50;

    while (!suf_ratelimit_take(&g->rl)) {
        if (suf_run_stopping(g->run))
            return suf_err_set(err, SUF_ERR_INTERRUPTED, "%s %s: interrupted", method, path);
        g->sleep(g->sleep_ctx, suf_ratelimit_wait_ms(&g->rl));
    }
    memset(&req, 0, sizeof(req));
    req.body = body ? body : "";
    req.len = body ? strlen(body) : 0;
    req.tag = g;
    req.method = method;
    req.path = path;
    memset(o, 0, sizeof(*o));
    if (g->t->submit(g->t, &req, err))
        return err->status ? err->status : SUF_ERR_INTERNAL;
    g->calls++;
    while (!o->done && turns-- > 0)
        g->t->poll(g->t, POLL_MS, on_reply, o);
    if (!o->done)
        return suf_err_set(err, SUF_ERR_INTERNAL, "%s %s: the transport never answered", method,
                           path);
    return SUF_OK;
}

/* The error of a call that will not succeed, with the reply's redacted
 * words (parse redacted them). */
static int refusal(const char *method, const char *path, const struct outcome *o, int tries,
                   bool gave_up, struct suf_err *err)
{
    const struct suf_api_result *r = &o->res;
    int status = suf_cloudapi_code_token(r->api_code) ? SUF_ERR_CONFIG
                 : gave_up || r->net != SUF_NET_OK    ? SUF_ERR_NETWORK
                                                      : SUF_ERR_INPUT;
    struct suf_buf b = SUF_BUF_INIT;

    if (gave_up)
        suf_buf_addf(&b, "gave up after %d %s; last ", tries, tries == 1 ? "try" : "tries");
    if (r->net != SUF_NET_OK)
        suf_buf_addstr(&b, "no reply");
    else if (r->api_code)
        suf_buf_addf(&b, "HTTP %d, code %ld", r->http_status, r->api_code);
    else
        suf_buf_addf(&b, "HTTP %d", r->http_status);
    suf_err_set(err, status, "%s %s: %s: %s", method, path, suf_buf_str(&b), r->api_error);
    suf_buf_release(&b);
    err->http_status = r->http_status;
    err->api_code = r->api_code;
    return status;
}

/* A successful call's reply, handed to the caller. */
static int take_reply(struct outcome *o, int tries, struct suf_graph_reply *out)
{
    out->body = o->body;
    out->len = o->len;
    out->http_status = o->res.http_status;
    out->tries = tries;
    return SUF_OK;
}

int suf_graph_get(struct suf_graph *g, const char *path, struct suf_graph_reply *out,
                  struct suf_err *err)
{
    const struct suf_config *cfg = g->run->cfg;
    struct outcome o;
    int rc;

    memset(out, 0, sizeof(*out));
    for (int tries = 1;; tries++) {
        enum suf_api_verdict v;
        int64_t delay;

        if ((rc = one_try(g, path, NULL, &o, err)))
            return rc;
        v = suf_cloudapi_classify_graph(&o.res);
        if (v == SUF_API_SENT)
            return take_reply(&o, tries, out);
        free(o.body);
        o.body = NULL;
        if (v == SUF_API_PERMANENT)
            return refusal("GET", path, &o, tries, false, err);
        /* no jitter by default: one client makes a few calls, there is no
         * crowd of retries to spread */
        delay = suf_cloudapi_backoff_ms(tries, cfg->backoff_base_ms, cfg->backoff_max_ms,
                                        o.res.retry_after_ms, g->jitter, g->jitter_ctx);
        if (tries >= cfg->max_tries || g->retries_used >= cfg->retry_budget ||
            delay > cfg->backoff_max_ms)
            return refusal("GET", path, &o, tries, true, err);
        if (suf_run_stopping(g->run))
            return suf_err_set(err, SUF_ERR_INTERRUPTED, "GET %s: interrupted", path);
        suf_debug("GET %s: transient failure (%s); again in %lld ms", path, o.res.api_error,
                  (long long)delay);
        g->retries_used++;
        g->sleep(g->sleep_ctx, delay);
    }
}

int suf_graph_post(struct suf_graph *g, const char *path, const char *body,
                   struct suf_graph_reply *out, struct suf_err *err)
{
    struct outcome o;
    enum suf_api_verdict v;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = one_try(g, path, body, &o, err)))
        return rc;
    v = suf_cloudapi_classify_graph(&o.res);
    if (v == SUF_API_SENT)
        return take_reply(&o, 1, out);
    free(o.body);
    rc = refusal("POST", path, &o, 1, false, err);
    /* not tried again here: the call may have been carried out */
    if (v == SUF_API_RETRY && rc != SUF_ERR_CONFIG)
        rc = err->status = SUF_ERR_NETWORK;
    return rc;
}

void suf_graph_reply_release(struct suf_graph_reply *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

void suf_graph_close(struct suf_graph *g)
{
    if (g->own_transport && g->t)
        g->t->close(g->t);
    g->t = NULL;
}

/* The temporary file is a dot file: the inbox lister skips those, so a
 * reader never sees half a reply. */
int suf_graph_keep(const char *dir, const char *final, const char *body, size_t len,
                   const char *what, struct suf_err *err)
{
    const char *base = strrchr(final, '/') ? strrchr(final, '/') + 1 : final;
    char *tmp = suf_xasprintf("%s/.%s.tmp", dir, base);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
    size_t off = 0;
    int rc = SUF_OK;

    if (fd < 0) {
        rc = suf_err_at(err, SUF_ERR_CANTCREAT, tmp, 0, "cannot keep %s: %s", what,
                        strerror(errno));
        free(tmp);
        return rc;
    }
    while (off < len && !rc) {
        ssize_t n = write(fd, body + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rc = suf_err_at(err, SUF_ERR_IO, tmp, 0, "cannot write %s: %s", what,
                            n < 0 ? strerror(errno) : "no progress");
        else
            off += (size_t)n;
    }
    if (!rc && fsync(fd) != 0)
        rc = suf_err_at(err, SUF_ERR_IO, tmp, 0, "cannot sync %s: %s", what, strerror(errno));
    if (close(fd) != 0 && !rc)
        rc = suf_err_at(err, SUF_ERR_IO, tmp, 0, "cannot write %s: %s", what, strerror(errno));
    if (!rc && rename(tmp, final) != 0)
        rc = suf_err_at(err, SUF_ERR_CANTCREAT, final, 0, "cannot keep %s: %s", what,
                        strerror(errno));
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

int suf_graph_check_inbox(const struct suf_config *cfg, const char *key, const char *dir,
                          const char *what, const char *kept, struct suf_err *err)
{
    struct stat sb;

    if (!cfg->waba_id || !*cfg->waba_id)
        return suf_err_set(err, SUF_ERR_CONFIG, "no waba_id in the config: cannot read %s",
                           what);
    if (!dir || !*dir)
        return suf_err_set(err, SUF_ERR_CONFIG, "no %s in the config: %s are kept there", key,
                           kept);
    if (stat(dir, &sb) != 0 && mkdir(dir, 0750) != 0)
        return suf_err_at(err, SUF_ERR_CANTCREAT, dir, 0, "cannot create the %s folder: %s",
                          key, strerror(errno));
    return SUF_OK;
}

bool suf_graph_quotes_secret(const char *body)
{
    char *clean = suf_redact_dup(body);
    bool differs = strcmp(clean, body) != 0;

    free(clean);
    return differs;
}
