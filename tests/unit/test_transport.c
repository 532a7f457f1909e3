/*
 * test_transport.c: the libcurl transport against canned servers on
 * loopback, each checking what reached the server: the `leaving` hook runs
 * after the connection is made and before any byte of the request, and a
 * request it holds back never reaches the server; a redirect is reported,
 * never followed; plain http connects to loopback addresses only and never
 * through a proxy from the environment; a URL of another scheme is refused.
 *
 * The servers are plain sockets served from the test's own loop, between
 * polls of the transport: no thread, and every wait is bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "base/timeutil.h"
#include "send/transport.h"
#include "testutil.h"

#define BODY "{\"messaging_product\":\"whatsapp\",\"to\":\"441000000001\"}"
#define OK_REPLY                                                                         \
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n"    \
    "{\"messages\":[{\"id\":\"wamid.TRANSPORT1\"}]}"

/* A loopback listener: its connections, and the bytes they sent. */
struct server {
    int lfd, cfd, port;
    int conns;
    char got[8192];
    char *owned; /* a reply built at run time, freed at stop */
    size_t len;
    const char *reply; /* sent once a request has come in whole; NULL: never */
    bool replied;
};

static void server_start(struct server *sv, const char *reply)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);

    memset(sv, 0, sizeof(*sv));
    sv->cfd = -1;
    sv->reply = reply;
    sv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CU_ASSERT_FATAL(bind(sv->lfd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CU_ASSERT_FATAL(listen(sv->lfd, 16) == 0);
    CU_ASSERT_FATAL(getsockname(sv->lfd, (struct sockaddr *)&a, &alen) == 0);
    sv->port = ntohs(a.sin_port);
}

/* True once the bytes received hold a whole request (headers and body; a
 * request without Content-Length, a GET, ends with its headers). */
static bool request_complete(const struct server *sv)
{
    const char *end = memmem(sv->got, sv->len, "\r\n\r\n", 4);
    const char *cl = memmem(sv->got, sv->len, "Content-Length: ", 16);

    if (end && !cl)
        return true;
    return end && cl &&
           (size_t)(end + 4 - sv->got) + strtoul(cl + 16, NULL, 10) <= sv->len;
}

/* Accepts, reads what has come, and answers a whole request; never blocks. */
static void server_step(struct server *sv)
{
    int fd;
    ssize_t n;

    while ((fd = accept4(sv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        sv->conns++;
        if (sv->cfd >= 0)
            close(sv->cfd);
        sv->cfd = fd;
    }
    if (sv->cfd < 0)
        return;
    while (sv->len < sizeof(sv->got) &&
           (n = read(sv->cfd, sv->got + sv->len, sizeof(sv->got) - sv->len)) > 0)
        sv->len += (size_t)n;
    if (sv->reply && !sv->replied && request_complete(sv)) {
        size_t len = strlen(sv->reply), off = 0;

        /* a large reply fills the socket: write it all, bounded */
        for (int i = 0; i < 2000 && off < len; i++) {
            n = write(sv->cfd, sv->reply + off, len - off);
            if (n > 0)
                off += (size_t)n;
            else
                usleep(1000);
        }
        CU_ASSERT_EQUAL(off, len);
        sv->replied = true;
    }
}

static void server_stop(struct server *sv)
{
    if (sv->cfd >= 0)
        close(sv->cfd);
    close(sv->lfd);
    free(sv->owned);
}

/* What a test saw of its one request. */
struct seen {
    int leaving_calls;
    size_t server_bytes_then; /* what the server had when `leaving` ran */
    bool hold;                /* `leaving` says no */
    struct server *sv;
    bool done;
    struct suf_reply reply;
    char net_error[256], location[256];
};

static bool leaving(void *ctx, void *tag)
{
    struct seen *s = ctx;

    (void)tag;
    server_step(s->sv); /* take in whatever the client may have written */
    s->server_bytes_then = s->sv->len;
    s->leaving_calls++;
    return !s->hold;
}

static void done(void *ctx, const struct suf_reply *r)
{
    struct seen *s = ctx;

    s->done = true;
    s->reply = *r;
    snprintf(s->net_error, sizeof(s->net_error), "%s", r->net_error ? r->net_error : "");
    snprintf(s->location, sizeof(s->location), "%s", r->location ? r->location : "");
    s->reply.net_error = s->reply.location = s->reply.body = NULL;
}

static struct suf_config cfg;

static struct suf_transport *transport(const char *url)
{
    struct suf_err err = SUF_ERR_INIT;
    struct suf_transport *t;

    suf_config_init(&cfg);
    cfg.concurrency = 1;
    cfg.connect_timeout_ms = 2000;
    cfg.request_timeout_ms = 3000;
    t = suf_transport_curl_new(&cfg, url, "transport-test-token", &err);
    if (!t)
        fprintf(stderr, "\ntransport: %s\n", err.msg);
    return t;
}

/* Sends one request and serves `sv` (and `other`, which should get
 * nothing) until it is reported, for at most five seconds. */
static void exchange(struct suf_transport *t, struct seen *s, struct server *sv,
                     struct server *other)
{
    struct suf_request req = {BODY, strlen(BODY), s, leaving, s, NULL, NULL};
    struct suf_err err = SUF_ERR_INIT;

    s->sv = sv;
    CU_ASSERT_EQUAL_FATAL(t->submit(t, &req, &err), SUF_OK);
    for (int i = 0; i < 500 && !s->done; i++) {
        t->poll(t, 10, done, s);
        server_step(sv);
        if (other)
            server_step(other);
    }
    CU_ASSERT_TRUE(s->done);
    for (int i = 0; other && i < 20; i++) { /* a follower would connect by now */
        usleep(5000);
        server_step(other);
    }
}

static char *url_of(const char *host, int port)
{
    static char url[128];

    snprintf(url, sizeof(url), "http://%s:%d/v23.0/1000000001/messages", host, port);
    return url;
}

/* One request to `host` on the port of `sv` (started already), through a
 * transport of its own; `s` (filled by the caller: hold) gets the rest. */
static void round_trip(const char *host, struct server *sv, struct server *other,
                       struct seen *s)
{
    struct suf_transport *t = transport(url_of(host, sv->port));

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    exchange(t, s, sv, other);
    server_step(sv);
    t->close(t);
    suf_config_release(&cfg);
}

static void test_transport__a_request_leaves_only_after_its_leaving_hook(void)
{
    struct server sv;
    struct seen s;

    server_start(&sv, OK_REPLY);
    memset(&s, 0, sizeof(s));
    round_trip("127.0.0.1", &sv, NULL, &s);
    CU_ASSERT_EQUAL(s.leaving_calls, 1);
    CU_ASSERT_EQUAL(sv.conns, 1);            /* connected before the hook ran */
    CU_ASSERT_EQUAL(s.server_bytes_then, 0); /* and not a byte written yet */
    CU_ASSERT_PTR_NOT_NULL(memmem(sv.got, sv.len, BODY, strlen(BODY)));
    CU_ASSERT_EQUAL(s.reply.net, SUF_NET_OK);
    CU_ASSERT_EQUAL(s.reply.http_status, 200);
    CU_ASSERT_FALSE(s.reply.unsent);
    server_stop(&sv);

    /* held back: the connection is made, the request never written */
    server_start(&sv, OK_REPLY);
    memset(&s, 0, sizeof(s));
    s.hold = true;
    round_trip("127.0.0.1", &sv, NULL, &s);
    CU_ASSERT_EQUAL(s.leaving_calls, 1);
    CU_ASSERT_EQUAL(sv.conns, 1);
    CU_ASSERT_EQUAL(sv.len, 0);
    CU_ASSERT_NOT_EQUAL(s.reply.net, SUF_NET_OK);
    CU_ASSERT_TRUE(s.reply.unsent);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.net_error, "held back"));
    server_stop(&sv);
}

static void test_transport__a_redirect_is_reported_never_followed(void)
{
    static const int codes[] = {301, 302, 307, 308};
    struct server sv, trap;
    struct seen s;
    char reply[512], where[160];

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        server_start(&trap, OK_REPLY);
        snprintf(where, sizeof(where), "%s", url_of("127.0.0.1", trap.port));
        snprintf(reply, sizeof(reply),
                 "HTTP/1.1 %d Moved\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n",
                 codes[i], where);
        server_start(&sv, reply);
        memset(&s, 0, sizeof(s));
        round_trip("127.0.0.1", &sv, &trap, &s);
        CU_ASSERT_EQUAL(s.reply.net, SUF_NET_OK);
        CU_ASSERT_EQUAL(s.reply.http_status, codes[i]);
        CU_ASSERT_STRING_EQUAL(s.location, where);
        CU_ASSERT_EQUAL(trap.conns, 0);
        CU_ASSERT_EQUAL(trap.len, 0);
        server_stop(&sv);
        server_stop(&trap);
    }
}

static void test_transport__plain_http_connects_to_loopback_only(void)
{
    struct server sv;
    struct seen s;

    /* 0.0.0.0 reaches this machine's listeners, yet is not a loopback
     * address: the rule is about the address, not about where it lands */
    server_start(&sv, OK_REPLY);
    memset(&s, 0, sizeof(s));
    round_trip("0.0.0.0", &sv, NULL, &s);
    CU_ASSERT_EQUAL(sv.conns, 0);
    CU_ASSERT_EQUAL(s.leaving_calls, 0);
    CU_ASSERT_EQUAL(s.reply.net, SUF_NET_CONNECT);
    CU_ASSERT_TRUE(s.reply.unsent);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.net_error, "only to a loopback address"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s.net_error, "0.0.0.0"));
    server_stop(&sv);
}

static void test_transport__plain_http_never_goes_through_a_proxy(void)
{
    static const char *const vars[] = {"http_proxy", "HTTPS_PROXY", "ALL_PROXY"};
    struct server sv, proxy;
    struct seen s;
    char purl[64];

    server_start(&proxy, OK_REPLY);
    snprintf(purl, sizeof(purl), "http://127.0.0.1:%d", proxy.port);
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        setenv(vars[i], purl, 1);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    server_start(&sv, OK_REPLY);
    memset(&s, 0, sizeof(s));
    round_trip("127.0.0.1", &sv, &proxy, &s);
    CU_ASSERT_EQUAL(s.reply.http_status, 200);
    CU_ASSERT_EQUAL(proxy.conns, 0);
    CU_ASSERT_PTR_NULL(memmem(proxy.got, proxy.len, "transport-test-token", 20));
    CU_ASSERT_EQUAL(sv.conns, 1);
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    server_stop(&sv);
    server_stop(&proxy);
}

/* Sends `req` and serves `sv` until it is reported (five seconds at most). */
static void exchange_req(struct suf_transport *t, struct suf_request *req, struct seen *s,
                         struct server *sv)
{
    struct suf_err err = SUF_ERR_INIT;

    s->sv = sv;
    req->tag = s;
    CU_ASSERT_EQUAL_FATAL(t->submit(t, req, &err), SUF_OK);
    for (int i = 0; i < 500 && !s->done; i++) {
        t->poll(t, 10, done, s);
        server_step(sv);
    }
    CU_ASSERT_TRUE(s->done);
}

static void test_transport__a_get_goes_to_its_path_below_the_base(void)
{
    struct suf_request get = {"", 0, NULL, NULL, NULL, "GET",
                              "/v23.0/2000000002/message_templates?limit=2&after=QQ%3D%3D"};
    struct suf_request post = {BODY, strlen(BODY), NULL, NULL, NULL, NULL, NULL};
    struct suf_err err = SUF_ERR_INIT;
    struct server sv;
    struct seen s;
    char base[64];
    struct suf_transport *t;

    server_start(&sv, OK_REPLY);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", sv.port);
    t = transport(base);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    memset(&s, 0, sizeof(s));
    exchange_req(t, &get, &s, &sv);
    CU_ASSERT_EQUAL(s.reply.http_status, 200);
    CU_ASSERT_EQUAL(strncmp(sv.got, "GET /v23.0/2000000002/message_templates?limit=2&after="
                                    "QQ%3D%3D HTTP/1.1\r\n", 73), 0);
    CU_ASSERT_PTR_NOT_NULL(memmem(sv.got, sv.len, "Bearer transport-test-token", 27));
    CU_ASSERT_PTR_NULL(memmem(sv.got, sv.len, "Content-Length", 14));

    /* a path that does not start with '/' could name another host */
    get.path = "@127.0.0.2/x";
    CU_ASSERT_EQUAL(t->submit(t, &get, &err), SUF_ERR_INTERNAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "does not start with '/'"));
    /* the same handle again, for a messages request: a POST to the base */
    sv.len = 0;
    sv.replied = false;
    memset(&s, 0, sizeof(s));
    exchange_req(t, &post, &s, &sv);
    CU_ASSERT_EQUAL(s.reply.http_status, 200);
    CU_ASSERT_EQUAL(strncmp(sv.got, "POST / HTTP/1.1\r\n", 17), 0);
    CU_ASSERT_PTR_NOT_NULL(memmem(sv.got, sv.len, BODY, strlen(BODY)));
    t->close(t);
    suf_config_release(&cfg);
    server_stop(&sv);
}

/* A reply of `size` bytes of body, as an HTTP response (caller frees). */
static char *big_reply(size_t size)
{
    char head[128];
    int h = snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     size);
    char *r = malloc((size_t)h + size + 1);

    memcpy(r, head, (size_t)h);
    memset(r + h, ' ', size);
    r[h + size] = '\0';
    return r;
}

static void test_transport__the_reply_cap_is_the_transports(void)
{
    struct suf_request get = {"", 0, NULL, NULL, NULL, "GET", "/page"};
    struct suf_err err = SUF_ERR_INIT;
    size_t size = SUF_TRANSPORT_MAX_REPLY + 1000;
    struct server sv;
    struct seen s;
    char base[64];
    struct suf_transport *t;

    /* the default cap: a larger reply is a failed transfer */
    server_start(&sv, NULL);
    sv.reply = sv.owned = big_reply(size);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", sv.port);
    t = transport(base);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    memset(&s, 0, sizeof(s));
    exchange_req(t, &get, &s, &sv);
    CU_ASSERT_NOT_EQUAL(s.reply.net, SUF_NET_OK);
    t->close(t);
    server_stop(&sv);

    /* a larger cap takes it whole */
    server_start(&sv, NULL);
    sv.reply = sv.owned = big_reply(size);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", sv.port);
    t = suf_transport_curl_new_capped(&cfg, base, "tok", 4 * SUF_TRANSPORT_MAX_REPLY, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    memset(&s, 0, sizeof(s));
    exchange_req(t, &get, &s, &sv);
    CU_ASSERT_EQUAL(s.reply.net, SUF_NET_OK);
    CU_ASSERT_EQUAL(s.reply.len, size);
    t->close(t);
    suf_config_release(&cfg);
    server_stop(&sv);
}

static void test_transport__only_https_and_plain_http_urls(void)
{
    static const char *const bad[] = {"ftp://127.0.0.1:21/x", "file:///etc/passwd",
                                      "gopher://127.0.0.1/", "not a url"};
    struct suf_err err = SUF_ERR_INIT;

    suf_config_init(&cfg);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct suf_transport *t = suf_transport_curl_new(&cfg, bad[i], "tok", &err);

        CU_ASSERT_PTR_NULL(t);
        if (t)
            t->close(t);
        CU_ASSERT_EQUAL(err.status, SUF_ERR_CONFIG);
    }
    suf_config_release(&cfg);
}

static void *wake_later(void *arg)
{
    struct suf_transport *t = arg;
    struct timespec ts = {0, 30 * 1000000L};

    nanosleep(&ts, NULL);
    t->wakeup(t);
    return NULL;
}

/* Waits in poll for at most 2 s; returns how long it took, in ms. */
static int64_t timed_poll(struct suf_transport *t, struct seen *s)
{
    int64_t t0 = suf_monotonic_ms();

    t->poll(t, 2000, done, s);
    return suf_monotonic_ms() - t0;
}

/* The send stage's writer wakes the sending thread when a job is done: a
 * wakeup from another thread ends a poll waiting for a reply that does not
 * come, and one made while no poll waits ends the next poll.  The request
 * gets long timeouts, and libcurl's first timers after a connection are
 * let run out first, so that nothing but the wakeup ends the polls early;
 * each poll waits 2 s at most. */
static void test_transport__a_wakeup_ends_a_waiting_poll(void)
{
    struct server sv;
    struct seen s;
    struct suf_transport *t;
    struct suf_request req = {BODY, strlen(BODY), &s, leaving, &s, NULL, NULL};
    struct suf_err err = SUF_ERR_INIT;
    pthread_t th;
    int64_t t0, took;

    server_start(&sv, NULL); /* takes the request, never replies */
    memset(&s, 0, sizeof(s));
    s.sv = &sv;
    suf_config_init(&cfg);
    cfg.concurrency = 1;
    cfg.connect_timeout_ms = 30000;
    cfg.request_timeout_ms = 30000;
    t = suf_transport_curl_new(&cfg, url_of("127.0.0.1", sv.port), "transport-test-token", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL_FATAL(t->submit(t, &req, &err), SUF_OK);
    t0 = suf_monotonic_ms();
    while (suf_monotonic_ms() - t0 < 500)
        t->poll(t, 10, done, &s);
    CU_ASSERT_EQUAL_FATAL(s.leaving_calls, 1);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, wake_later, t), 0);
    took = timed_poll(t, &s);
    pthread_join(th, NULL);
    CU_ASSERT(took < 1000);
    t->wakeup(t);
    took = timed_poll(t, &s);
    CU_ASSERT(took < 1000);
    CU_ASSERT_FALSE(s.done);
    t->close(t);
    server_stop(&sv);
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"a request leaves only after its leaving hook",
         test_transport__a_request_leaves_only_after_its_leaving_hook},
        {"a redirect is reported, never followed",
         test_transport__a_redirect_is_reported_never_followed},
        {"plain http connects to loopback only",
         test_transport__plain_http_connects_to_loopback_only},
        {"plain http never goes through a proxy",
         test_transport__plain_http_never_goes_through_a_proxy},
        {"a GET goes to its path below the base",
         test_transport__a_get_goes_to_its_path_below_the_base},
        {"the reply cap is the transport's", test_transport__the_reply_cap_is_the_transports},
        {"only https and plain http URLs",
         test_transport__only_https_and_plain_http_urls},
        {"a wakeup ends a waiting poll", test_transport__a_wakeup_ends_a_waiting_poll},
        {NULL, NULL},
    };
    return suf_test_main("transport", tests);
}
