/*
 * transport_curl.c: the libcurl transport (see transport.h).
 *
 * libcurl's multi interface runs many transfers on one thread.  Connections
 * live in the multi handle's cache and are reused; HTTP/2 is asked for over
 * TLS (CURL_HTTP_VERSION_2TLS) and multiplexed when the server agrees;
 * plain-HTTP test servers get keep-alive HTTP/1.1.  TLS peer and host
 * verification are set explicitly on every handle and no option turns them
 * off.  The bearer token is in one header list; it is never logged
 * (CURLOPT_VERBOSE is never set) and is wiped at close.
 *
 * Where the token may go is set here too, and a handle whose options
 * libcurl refuses is never used: the protocols are https, plus http only
 * when the URL is plain http (which the config allows for loopback hosts
 * only); then proxies are off and the socket callback lets libcurl connect
 * to loopback addresses only.  Redirects are never followed: following is
 * off, the redirect limit is 0, and a redirect could only go to https (the
 * narrowest list libcurl takes: it refuses an empty one).  A 3xx reply is
 * reported as it is, with the place it points to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "base/util.h"
#include "send/transport.h"
#include "send/transport_curl.h"
#include "base/banned.h"

struct curlt {
    struct suf_transport t; /* first: the public face */
    CURLM *multi;
    struct curl_slist *headers;
    char *url;
    bool plain; /* http://, to a loopback host */
    long connect_ms, total_ms;
    size_t max_reply;
    struct suf_xfer *free_list;
    struct suf_xfer **all; /* every xfer made, for close */
    size_t nall, aall;
    size_t pending;
};

static int curl_ready(struct suf_err *err)
{
    static int done;

    if (!done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return suf_err_set(err, SUF_ERR_NETWORK, "cannot initialise libcurl");
        done = 1;
    }
    return SUF_OK;
}

/* Sets the options where libcurl's refusal must stop us: those that say
 * where the token may go. */
static int set_guards(struct curlt *c, CURL *e, struct suf_xfer *x, struct suf_err *err)
{
    CURLcode rc =
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, c->plain ? "http,https" : "https");

    if (!rc)
        rc = curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    if (!rc)
        rc = curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    if (!rc)
        rc = curl_easy_setopt(e, CURLOPT_MAXREDIRS, 0L);
    if (!rc)
        rc = curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    if (!rc)
        rc = curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!rc)
        rc = curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, suf_curl_prereq_cb);
    if (!rc)
        rc = curl_easy_setopt(e, CURLOPT_PREREQDATA, x);
    if (!rc && c->plain)
        rc = curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    if (!rc && c->plain)
        rc = curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, suf_curl_loopback_socket_cb);
    if (!rc && c->plain)
        rc = curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x);
    if (rc)
        return suf_err_set(err, SUF_ERR_NETWORK,
                           "libcurl refused a transport setting: %s",
                           curl_easy_strerror(rc));
    return SUF_OK;
}

/* A new easy handle with everything that does not change per request. */
static struct suf_xfer *xfer_new(struct curlt *c, struct suf_err *err)
{
    struct suf_xfer *x = suf_xcalloc(1, sizeof(*x));
    CURL *e = curl_easy_init();

    if (!e) {
        free(x);
        suf_err_set(err, SUF_ERR_INTERNAL, "cannot create a libcurl handle");
        return NULL;
    }
    x->easy = e;
    x->max_reply = c->max_reply;
    if (set_guards(c, e, x, err)) {
        curl_easy_cleanup(e);
        free(x);
        return NULL;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->total_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, suf_curl_write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, suf_curl_header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "suf");
    if (c->nall == c->aall) {
        c->aall = c->aall ? 2 * c->aall : 32;
        c->all = suf_xrealloc(c->all, c->aall * sizeof(*c->all));
    }
    c->all[c->nall++] = x;
    return x;
}

/*
 * The request's URL and method on its handle.  A path is appended to the
 * transport's URL only when it starts with '/': "@host/..." would make the
 * text after the '@' the host, and the token would go there.
 */
static int set_target(struct curlt *c, struct suf_xfer *x, const struct suf_request *req,
                      struct suf_err *err)
{
    bool get = req->method && !strcmp(req->method, "GET");
    CURLcode rc;

    if (req->method && !get && strcmp(req->method, "POST"))
        return suf_err_set(err, SUF_ERR_INTERNAL, "unknown request method '%s'", req->method);
    if (req->path) {
        char *url;

        if (req->path[0] != '/')
            return suf_err_set(err, SUF_ERR_INTERNAL,
                               "request path '%s' does not start with '/'", req->path);
        url = suf_xasprintf("%s%s", c->url, req->path);
        rc = curl_easy_setopt(x->easy, CURLOPT_URL, url); /* libcurl copies it */
        free(url);
    } else {
        rc = curl_easy_setopt(x->easy, CURLOPT_URL, c->url);
    }
    if (rc)
        return suf_err_set(err, SUF_ERR_INTERNAL, "libcurl refused the request URL: %s",
                           curl_easy_strerror(rc));
    if (get)
        return curl_easy_setopt(x->easy, CURLOPT_HTTPGET, 1L) ? SUF_ERR_INTERNAL : SUF_OK;
    curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
    return SUF_OK;
}

static int curl_submit(struct suf_transport *t, const struct suf_request *req,
                       struct suf_err *err)
{
    struct curlt *c = (struct curlt *)t;
    struct suf_xfer *x = c->free_list;

    if (x)
        c->free_list = x->next_free;
    else if (!(x = xfer_new(c, err)))
        return err->status;
    x->next_free = NULL;
    x->tag = req->tag;
    x->leaving = req->leaving;
    x->leaving_ctx = req->leaving_ctx;
    x->left = x->held = false;
    x->refused[0] = '\0';
    x->retry_after[0] = '\0';
    x->errbuf[0] = '\0';
    suf_buf_reset(&x->reply);
    if (set_target(c, x, req, err)) {
        x->next_free = c->free_list;
        c->free_list = x;
        return err->status ? err->status : SUF_ERR_INTERNAL;
    }
    if (curl_multi_add_handle(c->multi, x->easy) != CURLM_OK) {
        x->next_free = c->free_list;
        c->free_list = x;
        return suf_err_set(err, SUF_ERR_INTERNAL, "cannot queue a libcurl transfer");
    }
    c->pending++;
    return SUF_OK;
}

static enum suf_net_outcome net_outcome(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK:
        return SUF_NET_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return SUF_NET_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return SUF_NET_CONNECT;
    default:
        return SUF_NET_OTHER;
    }
}

/* The words for a failed transfer: ours when a guard of ours stopped it. */
static const char *failure_text(struct suf_xfer *x, CURLcode rc)
{
    if (x->held)
        return "held back before it left: its departure could not be noted";
    if (x->refused[0]) {
        snprintf(x->errbuf, sizeof(x->errbuf),
                 "plain http goes only to a loopback address; refused to connect to %s",
                 x->refused);
        return x->errbuf;
    }
    return x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
}

static void report(struct curlt *c, CURLMsg *m, suf_transport_done_fn done, void *ctx)
{
    struct suf_xfer *x = NULL;
    struct suf_reply r;
    long status = 0;
    char *location = NULL;

    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(m->easy_handle, CURLINFO_REDIRECT_URL, &location);
    memset(&r, 0, sizeof(r));
    r.tag = x->tag;
    r.net = net_outcome(m->data.result);
    r.http_status = r.net == SUF_NET_OK ? (int)status : 0;
    r.body = suf_buf_str(&x->reply);
    r.len = x->reply.len;
    r.retry_after = x->retry_after[0] ? x->retry_after : NULL;
    r.location = r.http_status >= 300 && r.http_status < 400 ? location : NULL;
    r.net_error = r.net == SUF_NET_OK ? NULL : failure_text(x, m->data.result);
    r.unsent = !x->left;
    c->pending--;
    done(ctx, &r);
    /* the location belongs to the handle: only now may it be reused */
    curl_multi_remove_handle(c->multi, m->easy_handle);
    x->next_free = c->free_list;
    c->free_list = x;
}

static size_t drain(struct curlt *c, suf_transport_done_fn done, void *ctx)
{
    CURLMsg *m;
    int left;
    size_t n = 0;

    while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (m->msg == CURLMSG_DONE) {
            report(c, m, done, ctx);
            n++;
        }
    }
    return n;
}

static size_t curl_poll(struct suf_transport *t, int timeout_ms, suf_transport_done_fn done,
                        void *ctx)
{
    struct curlt *c = (struct curlt *)t;
    int running = 0;

    curl_multi_perform(c->multi, &running);
    if (drain(c, done, ctx) == 0 && c->pending > 0) {
        curl_multi_poll(c->multi, NULL, 0, timeout_ms, NULL);
        curl_multi_perform(c->multi, &running);
        drain(c, done, ctx);
    }
    return c->pending;
}

/* libcurl's own wake-up: curl_multi_wakeup may be called from any thread,
 * and a wake-up made while no curl_multi_poll waits ends the next one. */
static void curl_wakeup(struct suf_transport *t)
{
    curl_multi_wakeup(((struct curlt *)t)->multi);
}

static void wipe_headers(struct curl_slist *h)
{
    for (; h; h = h->next)
        if (h->data)
            explicit_bzero(h->data, strlen(h->data));
}

static void curl_close_t(struct suf_transport *t)
{
    struct curlt *c = (struct curlt *)t;

    if (!c)
        return;
    for (size_t i = 0; i < c->nall; i++) {
        curl_multi_remove_handle(c->multi, c->all[i]->easy);
        curl_easy_cleanup(c->all[i]->easy);
        suf_buf_release(&c->all[i]->reply);
        free(c->all[i]);
    }
    free(c->all);
    if (c->multi)
        curl_multi_cleanup(c->multi);
    wipe_headers(c->headers);
    curl_slist_free_all(c->headers);
    free(c->url);
    free(c);
}

/*
 * Whether `url` is plain http, as libcurl reads it; false for https.  Any
 * other scheme, or no URL at all, is refused: the config lets only those
 * two through, so this is a broken caller, not a user's mistake.
 */
static int url_plain(const char *url, bool *plain, struct suf_err *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL;
    int rc = SUF_OK;

    if (!u || curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
        (strcmp(scheme, "http") && strcmp(scheme, "https")))
        rc = suf_err_set(err, SUF_ERR_CONFIG, "the API URL is not an https:// URL");
    else
        *plain = !strcmp(scheme, "http");
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
}

struct suf_transport *suf_transport_curl_new(const struct suf_config *cfg, const char *url,
                                             const char *token, struct suf_err *err)
{
    return suf_transport_curl_new_capped(cfg, url, token, SUF_TRANSPORT_MAX_REPLY, err);
}

struct suf_transport *suf_transport_curl_new_capped(const struct suf_config *cfg,
                                                    const char *url, const char *token,
                                                    size_t max_reply, struct suf_err *err)
{
    struct curlt *c;
    struct suf_buf auth = SUF_BUF_INIT;
    long conc = cfg->concurrency > 0 ? (long)cfg->concurrency : 1;
    bool plain = false;
    struct suf_xfer *x;

    if (curl_ready(err) || url_plain(url, &plain, err))
        return NULL;
    c = suf_xcalloc(1, sizeof(*c));
    c->plain = plain;
    c->t.submit = curl_submit;
    c->t.wakeup = curl_wakeup;
    c->t.poll = curl_poll;
    c->t.close = curl_close_t;
    c->t.name = "curl";
    c->url = suf_xstrdup(url);
    c->connect_ms = (long)cfg->connect_timeout_ms;
    c->total_ms = (long)cfg->request_timeout_ms;
    c->max_reply = max_reply;
    c->multi = curl_multi_init();
    if (!c->multi) {
        curl_close_t(&c->t);
        suf_err_set(err, SUF_ERR_NETWORK, "cannot initialise libcurl's multi interface");
        return NULL;
    }
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, conc);
    curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, conc);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, conc);
    curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    suf_buf_addstr(&auth, "Authorization: Bearer ");
    suf_buf_addstr(&auth, token ? token : "");
    c->headers = curl_slist_append(c->headers, auth.buf);
    explicit_bzero(auth.buf, auth.len);
    suf_buf_release(&auth);
    c->headers = curl_slist_append(c->headers, "Content-Type: application/json");
    c->headers = curl_slist_append(c->headers, "Accept: application/json");
    c->headers = curl_slist_append(c->headers, "Expect:");
    if (!c->headers) {
        curl_close_t(&c->t);
        suf_err_set(err, SUF_ERR_INTERNAL, "cannot build the request headers");
        return NULL;
    }
    /* one handle now, so that a setting libcurl refuses stops the run
     * before anything is claimed */
    if (!(x = xfer_new(c, err))) {
        curl_close_t(&c->t);
        return NULL;
    }
    c->free_list = x;
    return &c->t;
}
