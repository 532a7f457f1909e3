/*
 * receive_http.c: the receiver's HTTP side, on libmicrohttpd.
 *
 * This file only moves bytes: it collects a request's headers and body,
 * asks receive_check.c what the request deserves, hands accepted lines to
 * the inbox and taps to the consent runner, and answers.  One log line per
 * request is written when MHD reports it complete.
 *
 * Threading: a small pool of epoll threads (one per CPU, at most 8) serves
 * every connection, bounded by max_connections.  An accepted POST never
 * blocks its thread: its line is queued in the inbox and its connection is
 * suspended (MHD_suspend_connection); the inbox's writer thread resumes it
 * once the flush that covers the line is done, and the handler, called
 * again, answers 200 (or 500).  So every request in flight waits on the
 * same flush (group commit) while the threads go on serving, and a burst
 * costs a few thread wake-ups instead of several per request.  Idle and
 * slow connections are closed after connection_timeout_s of inactivity
 * (a suspended connection is waiting on us, not on its client, and MHD does
 * not time it out).
 *
 * Shutdown: suf_receive_stop stops accepting, answers 503 to requests that
 * arrive on open connections from then on, waits until no append is in
 * flight (every suspended connection was resumed), and only then stops
 * MHD, so the writer never resumes a connection MHD has freed.
 *
 * The body cap: a Content-Length over max_body_bytes is answered 413
 * before any of the body is read (MHD then closes the connection).  A
 * chunked body is counted as it comes and dropped once over the cap; it is
 * answered 413 at its end, or the connection is closed once it passes twice
 * the cap.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "suf/hash.h"
#include "suf/log.h"
#include "suf/receive.h"
#include "suf/timeutil.h"
#include "suf/banned.h"

#define PATH_LOG_MAX 120
#define HASH_LOG_LEN 12

enum canned {
    RESP_OK,
    RESP_400,
    RESP_401,
    RESP_403,
    RESP_405,
    RESP_413,
    RESP_500,
    RESP_503,
    RESP_COUNT
};

#define MAX_POOL 8

struct suf_receiver {
    struct MHD_Daemon *daemon;
    const char *verify_token;
    const char *app_secret;
    size_t app_secret_len;
    int64_t cap;
    struct suf_inbox *inbox;
    struct suf_consent *consent;
    struct MHD_Response *canned[RESP_COUNT]; /* shared, reference-counted by MHD */
    unsigned port;

    /* Shutdown.  `stopping` and `in_flight` are atomics, so a request
     * takes no lock on its way; mu and idle only let suf_receive_stop
     * sleep until in_flight reaches zero. */
    pthread_mutex_t mu;
    pthread_cond_t idle;
    bool stopping;
    unsigned in_flight; /* suspended connections waiting for a flush */
};

/* One request's state, from its headers to its log line. */
struct request {
    int64_t t0_ms;
    char method[8];
    char path[PATH_LOG_MAX + 1];
    struct suf_buf body;
    uint64_t received; /* body bytes seen, kept or not */
    bool over_cap;
    int status; /* what was queued; 0 until then */
    const char *why;
    char hash[HASH_LOG_LEN + 1];

    /* While its line is in the inbox: */
    struct suf_receiver *r;
    struct MHD_Connection *conn;
    struct suf_inbox_ticket ticket;
    bool queued;  /* suspended, waiting for the flush */
    bool flushed; /* the flush is done; flush_rc says how it went */
    int flush_rc;
    bool consent;
};

static const struct {
    int status;
    const char *text;
} canned_rows[RESP_COUNT] = {
    {200, ""},
    {400, "bad request\n"},
    {401, "bad signature\n"},
    {403, "forbidden\n"},
    {405, "method not allowed\n"},
    {413, "body too large\n"},
    {500, "could not store the event\n"},
    {503, "shutting down\n"},
};

static struct MHD_Response *canned_for(struct suf_receiver *r, int status)
{
    for (int i = 0; i < RESP_COUNT; i++)
        if (canned_rows[i].status == status)
            return r->canned[i];
    return r->canned[RESP_500];
}

static enum MHD_Result answer(struct MHD_Connection *conn, struct request *q, int status,
                              struct MHD_Response *resp)
{
    q->status = status;
    return MHD_queue_response(conn, (unsigned int)status, resp);
}

static enum MHD_Result answer_canned(struct suf_receiver *r, struct MHD_Connection *conn,
                                     struct request *q, int status)
{
    return answer(conn, q, status, canned_for(r, status));
}

static enum MHD_Result on_get(struct suf_receiver *r, struct MHD_Connection *conn,
                              struct request *q)
{
    const char *mode =
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "hub.mode");
    const char *token =
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "hub.verify_token");
    const char *challenge =
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "hub.challenge");
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (suf_receive_handshake(mode, token, challenge, r->verify_token) != 200) {
        q->why = "handshake refused";
        return answer_canned(r, conn, q, 403);
    }
    resp = MHD_create_response_from_buffer(
        strlen(challenge), (void *)(uintptr_t)challenge, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    ret = answer(conn, q, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

/*
 * The inbox's writer thread, after the flush that covers q's line.  Once
 * the connection is resumed MHD may answer and free q at any moment, so q
 * is not touched after MHD_resume_connection.
 */
/* One append fewer in flight; wakes suf_receive_stop at zero.  Taking mu
 * to broadcast means the wake cannot fall between its check and its wait. */
static void leave_flight(struct suf_receiver *r)
{
    if (__atomic_sub_fetch(&r->in_flight, 1, __ATOMIC_SEQ_CST) == 0) {
        pthread_mutex_lock(&r->mu);
        pthread_cond_broadcast(&r->idle);
        pthread_mutex_unlock(&r->mu);
    }
}

static void on_flushed(void *ctx, int rc)
{
    struct request *q = ctx;
    struct suf_receiver *r = q->r;

    q->flush_rc = rc;
    q->flushed = true;
    MHD_resume_connection(q->conn);
    leave_flight(r);
}

/* Queues q's line and suspends its connection until on_flushed. */
static enum MHD_Result queue_line(struct suf_receiver *r, struct MHD_Connection *conn,
                                  struct request *q, const struct suf_buf *line)
{
    /* In flight first, then the check: suf_receive_stop sets stopping,
     * then reads in_flight, so one of the two sees the other. */
    __atomic_add_fetch(&r->in_flight, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&r->stopping, __ATOMIC_SEQ_CST)) {
        leave_flight(r);
        q->why = "shutting down";
        return answer_canned(r, conn, q, 503);
    }
    q->r = r;
    q->conn = conn;
    q->ticket.done = on_flushed;
    q->ticket.ctx = q;
    q->queued = true;
    MHD_suspend_connection(conn); /* before the submit: a resume must follow it */
    if (suf_inbox_submit(r->inbox, line->buf, line->len, &q->ticket) != SUF_OK)
        on_flushed(q, SUF_ERR_IO);
    return MHD_YES;
}

/* The flush is done: answer. */
static enum MHD_Result on_post_flushed(struct suf_receiver *r,
                                       struct MHD_Connection *conn, struct request *q)
{
    if (q->flush_rc != SUF_OK) {
        q->why = "append failed";
        return answer_canned(r, conn, q, 500);
    }
    if (q->consent)
        suf_consent_tap(r->consent);
    return answer_canned(r, conn, q, 200);
}

/* The whole body is in: check it, then store it (or answer the refusal). */
static enum MHD_Result on_post_done(struct suf_receiver *r, struct MHD_Connection *conn,
                                    struct request *q)
{
    const char *sig;
    struct suf_buf line = SUF_BUF_INIT;
    struct suf_receive_body info;
    char hex[SUF_SHA256_HEX];
    enum MHD_Result ret;
    int status;

    if (q->flushed)
        return on_post_flushed(r, conn, q);
    if (q->queued)
        return MHD_YES; /* not resumed yet; nothing to do */
    if (q->over_cap) {
        q->why = "body too large";
        return answer_canned(r, conn, q, 413);
    }
    suf_sha256_buf(suf_buf_str(&q->body), q->body.len, hex);
    suf_strlcpy(q->hash, hex, sizeof(q->hash));
    sig = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, SUF_RECEIVE_SIG_HEADER);
    status = suf_receive_post(sig, suf_buf_str(&q->body), q->body.len, r->cap,
                              r->app_secret, r->app_secret_len, &line, &info);
    q->why = info.why;
    q->consent = info.consent;
    if (status == 200)
        ret = queue_line(r, conn, q, &line);
    else
        ret = answer_canned(r, conn, q, status);
    suf_buf_release(&line);
    return ret;
}

/* A chunk of the body: kept while under the cap, counted and dropped after. */
static enum MHD_Result on_body(struct suf_receiver *r, struct request *q,
                               const char *data, size_t *size)
{
    q->received += *size;
    if (q->over_cap || q->body.len + *size > (uint64_t)r->cap) {
        q->over_cap = true;
        suf_buf_release(&q->body);
    } else {
        suf_buf_add(&q->body, data, *size);
    }
    *size = 0;
    /* A chunked body far past the cap: stop reading it at all. */
    return q->received > 2 * (uint64_t)r->cap ? MHD_NO : MHD_YES;
}

/*
 * The first call for a request: its headers are in, its body is not.
 * Answering here would make MHD close the connection after the answer
 * (it cannot know whether a body follows), so only a Content-Length over
 * the cap is answered now: there closing is the point.
 */
static enum MHD_Result on_headers(struct suf_receiver *r, struct MHD_Connection *conn,
                                  struct request *q)
{
    if (!strcmp(q->method, MHD_HTTP_METHOD_POST)) {
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        int st = suf_receive_content_length(cl, r->cap);
        if (st) {
            q->why = st == 413 ? "body too large" : "bad content-length";
            return answer_canned(r, conn, q, st);
        }
    }
    return MHD_YES; /* MHD sends 100 Continue if asked, then the body */
}

/* The whole request is in. */
static enum MHD_Result on_complete(struct suf_receiver *r, struct MHD_Connection *conn,
                                   struct request *q)
{
    if (!strcmp(q->method, MHD_HTTP_METHOD_POST))
        return on_post_done(r, conn, q);
    if (!strcmp(q->method, MHD_HTTP_METHOD_GET))
        return on_get(r, conn, q);
    q->why = "method not allowed";
    return answer_canned(r, conn, q, 405);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct suf_receiver *r = cls;
    struct request *q = *con_cls;

    (void)version;
    if (!q) {
        q = suf_xcalloc(1, sizeof(*q));
        q->t0_ms = suf_monotonic_ms();
        suf_strlcpy(q->method, method, sizeof(q->method));
        /* MHD's url is the path alone: the query (which carries the verify
         * token in a handshake) is never logged. */
        suf_strlcpy(q->path, url, sizeof(q->path));
        suf_buf_init(&q->body);
        *con_cls = q;
        return on_headers(r, conn, q);
    }
    if (q->status)
        return MHD_YES; /* answered early; MHD drops the rest */
    if (*upload_data_size)
        return on_body(r, q, upload_data, upload_data_size);
    return on_complete(r, conn, q);
}

static const char *termination(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return NULL;
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timed out";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "shut down";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "client went away";
    default:
        return "connection error";
    }
}

/* Logs the request's one line and frees its state. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct request *q = *con_cls;
    const char *end = termination(toe);
    int64_t ms;

    (void)cls;
    (void)conn;
    if (!q)
        return;
    ms = suf_monotonic_ms() - q->t0_ms;
    if (q->status >= 500 || (end && !q->status))
        suf_warn("receive: %s %s %d %lluB %lldms body=%s%s%s%s%s", q->method, q->path,
                 q->status, (unsigned long long)q->received, (long long)ms,
                 q->hash[0] ? q->hash : "-", q->why ? " " : "", q->why ? q->why : "",
                 end ? " " : "", end ? end : "");
    else
        suf_info("receive: %s %s %d %lluB %lldms body=%s%s%s%s%s", q->method, q->path,
                 q->status, (unsigned long long)q->received, (long long)ms,
                 q->hash[0] ? q->hash : "-", q->why ? " " : "", q->why ? q->why : "",
                 end ? " " : "", end ? end : "");
    suf_buf_release(&q->body);
    free(q);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;

    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    suf_warn("receive: http: %s", line);
}

static int make_canned(struct suf_receiver *r, struct suf_err *err)
{
    for (int i = 0; i < RESP_COUNT; i++) {
        const char *t = canned_rows[i].text;
        r->canned[i] = MHD_create_response_from_buffer(strlen(t), (void *)(uintptr_t)t,
                                                       MHD_RESPMEM_PERSISTENT);
        if (!r->canned[i])
            return suf_err_set(err, SUF_ERR_INTERNAL, "cannot create the HTTP responses");
        MHD_add_response_header(r->canned[i], MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
        if (canned_rows[i].status == 405)
            MHD_add_response_header(r->canned[i], MHD_HTTP_HEADER_ALLOW, "GET, POST");
    }
    return SUF_OK;
}

static void free_receiver(struct suf_receiver *r)
{
    for (int i = 0; i < RESP_COUNT; i++)
        if (r->canned[i])
            MHD_destroy_response(r->canned[i]);
    pthread_cond_destroy(&r->idle);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

int suf_receive_start(struct suf_receiver **out, const struct suf_receive_opts *o,
                      struct suf_err *err)
{
    struct suf_receiver *r;
    struct sockaddr_storage sa;
    socklen_t salen;
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                         MHD_USE_ITC | MHD_USE_ERROR_LOG;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned int pool = ncpu < 1 ? 1u : ncpu > MAX_POOL ? MAX_POOL : (unsigned int)ncpu;
    const union MHD_DaemonInfo *info;
    int rc;

    *out = NULL;
    rc = suf_receive_parse_listen(o->listen, &sa, &salen, err);
    if (rc)
        return rc;
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    r = suf_xcalloc(1, sizeof(*r));
    r->verify_token = o->verify_token;
    r->app_secret = o->app_secret;
    r->app_secret_len = strlen(o->app_secret);
    r->cap = o->max_body_bytes;
    r->inbox = o->inbox;
    r->consent = o->consent;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->idle, NULL);
    rc = make_canned(r, err);
    if (rc)
        goto fail;
    r->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, r, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, r,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)o->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)o->connection_timeout_s, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        r, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_THREAD_POOL_SIZE, pool,
        MHD_OPTION_END);
    if (!r->daemon) {
        rc = suf_err_set(err, SUF_ERR_CANTCREAT, "cannot listen on '%s': %s", o->listen,
                         errno ? strerror(errno) : "the HTTP daemon did not start");
        goto fail;
    }
    info = MHD_get_daemon_info(r->daemon, MHD_DAEMON_INFO_BIND_PORT);
    r->port = info ? info->port : 0;
    *out = r;
    return SUF_OK;
fail:
    free_receiver(r);
    return rc;
}

unsigned suf_receive_port(struct suf_receiver *r)
{
    return r->port;
}

void suf_receive_stop(struct suf_receiver *r)
{
    MHD_socket ls;

    if (!r)
        return;
    ls = MHD_quiesce_daemon(r->daemon);
    pthread_mutex_lock(&r->mu);
    __atomic_store_n(&r->stopping, true, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&r->in_flight, __ATOMIC_SEQ_CST))
        pthread_cond_wait(&r->idle, &r->mu); /* the inbox is still flushing */
    pthread_mutex_unlock(&r->mu);
    MHD_stop_daemon(r->daemon); /* joins its threads */
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    free_receiver(r);
}
