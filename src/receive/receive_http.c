/*
 * receive_http.c: the receiver's HTTP side, on libmicrohttpd.
 *
 * This file only moves bytes: it collects a request's headers and body,
 * asks receive_check.c what the request deserves, hands accepted lines to
 * the inbox and taps to the consent runner, and answers.  One log line per
 * request is written when MHD reports it complete.
 *
 * Threading: one worker per inbox lane (suf_receive_default_workers), each
 * a thread running its own MHD daemon in external-polling mode (epoll) on one
 * shared listening socket; a free worker takes a new connection, and a
 * worker at its share of max_connections stops taking them.  (Not one
 * SO_REUSEPORT socket per worker: the kernel would deal connections to a
 * worker at its limit while another has room, and closing a worker's
 * socket would reset the connections still in its queue.)  A worker
 * loops: one MHD pass (MHD_run_wait) serves whatever its connections
 * have ready; an accepted POST adds its line to the worker's batch and
 * suspends its connection.  After the pass the worker sends the answers
 * still queued from its last flush (a resumed connection's answer is
 * queued in one pass and sent in the next), gathers a moment longer (see
 * gather), then itself writes the batch to its own inbox lane and flushes
 * it (group commit: one flush for every request gathered), and resumes
 * the batch's connections, which the next passes answer 200 (or 503 with
 * Retry-After when the inbox could not store them: the sender posts them
 * again, and the inbox's lane tries again after that long; see
 * receive_inbox.c).  No request is handed to another
 * thread on its way: on a machine where a context switch is dear, those
 * hand-offs (suspend, queue, wake a writer, wake MHD back) were what
 * limited the rate.  Idle and
 * slow connections are closed after connection_timeout_s of inactivity
 * (a suspended connection is waiting on us, not on its client, and MHD
 * does not time it out).
 *
 * Shutdown: suf_receive_stop raises a flag that each worker sees within a
 * pass (passes wait at most POLL_MS).  The worker stops accepting, answers
 * 503 to requests that arrive on open connections from then on, flushes
 * and answers every request it suspended (or gives up on a client that
 * does not read its answer after STOP_GRACE_MS), and only then stops its
 * daemon.
 *
 * The body cap: a Content-Length over max_body_bytes is answered 413
 * before any of the body is read (MHD then closes the connection).  A
 * chunked body is counted as it comes and dropped once over the cap; it is
 * answered 413 at its end, or the connection is closed once it passes twice
 * the cap.
 *
 * Answers: every refusal says why in its body, in a few fixed words
 * ("bad signature", "body too large"), so whoever set up the sender can
 * tell a wrong app secret from a proxy that drops a header.  The words
 * come only from the table of canned answers below, looked up by the
 * reason the checks gave: no byte of a request, and so no secret it
 * carried, can reach an answer.
 *
 * A failing daemon: a pass that fails (MHD_run_wait) is followed by a
 * pause that doubles with each failure in a row, up to
 * SUF_RECEIVE_BACKOFF_MAX_MS, with a warning when the failures start, one
 * a minute while they go on, and a line when a pass works again; without
 * it a worker would spin on the failure and fill the log.
 */
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

#include <microhttpd.h>

#include "base/hash.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "receive/receive.h"
#include "base/banned.h"

#define PATH_LOG_MAX 120
#define HASH_LOG_LEN 12

#define MAX_WORKERS 16
#define POLL_MS 100        /* a worker looks at the stop flag this often */
#define PASS_LOG_MS 60000  /* while passes fail: a warning this often */
#define STOP_GRACE_MS 5000 /* how long a stopping worker waits on answers */
#define LISTEN_BACKLOG 1024
#define ANSWER_PASSES 2    /* extra passes that send the answers of a flush */
#define GATHER_US 2000     /* at most this long gathering a batch after a flush */

struct request;

/* One worker: its daemon, its prepared key, and the batch of its pass. */
struct worker {
    struct suf_receiver *r;
    unsigned lane;
    struct MHD_Daemon *daemon;
    pthread_t thread;
    bool started;
    struct suf_receive_mac *mac;
    struct suf_buf line;      /* the request being checked: its inbox line */
    struct suf_buf batch;     /* lines of the requests suspended this pass */
    uint64_t batch_lines;
    struct request *waiting;  /* those requests */
    unsigned unanswered;      /* suspended, not yet answered and completed */
    unsigned resumed;         /* of those, flushed and resumed */
    int64_t last_flush_us;    /* how long the last flush took */
    bool stopping;            /* seen the stop flag: 503 to new requests */
    bool quiesced;            /* MHD gave the listening socket back */
    unsigned pass_failures;   /* failed passes in a row */
    int64_t pass_log_ms;      /* when the last warning about them was */
};

/* The canned answers: every status the receiver gives, with the reasons
 * it can give for it. The first row of a status is its answer for a
 * reason not listed. */
static const struct {
    int status;
    const char *why; /* the answer's body, without its "\n" */
} canned_rows[] = {
    {200, ""},
    {400, "bad request"},
    {400, "bad content-length"},
    {400, "body is not a JSON object"},
    {401, "bad signature"},
    {401, "missing signature"},
    {403, "handshake refused"},
    {405, "method not allowed"},
    {411, "missing content-length"},
    {413, "body too large"},
    {500, "internal error"},
    {503, "cannot store the event now"},
    {503, "shutting down"},
};
#define RESP_COUNT (sizeof(canned_rows) / sizeof(canned_rows[0]))
#define WHY_STORE "cannot store the event now"
#define WHY_STOPPING "shutting down"

struct suf_receiver {
    const char *verify_token;
    int64_t cap;
    struct suf_inbox *inbox;
    struct suf_consent *consent;
    suf_receive_pass_fn pass;
    void *pass_ctx;
    struct MHD_Response *canned[RESP_COUNT]; /* shared, reference-counted by MHD */
    unsigned port;
    int listen_fd;
    bool stop; /* atomic: set once by suf_receive_stop */
    unsigned nworkers;
    struct worker workers[MAX_WORKERS];
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

    /* While its line is in the worker's batch: */
    struct MHD_Connection *conn;
    struct request *next; /* the worker's waiting list */
    bool queued;          /* suspended, waiting for the flush */
    bool flushed;         /* the flush is done; flush_rc says how it went */
    int flush_rc;
    bool consent;
};

/* The canned answer for `status` with reason `why` (NULL: none): the row
 * of both, else the status's first row, else "internal error" (500). */
static size_t canned_index(int status, const char *why)
{
    size_t first = RESP_COUNT;

    for (size_t i = 0; i < RESP_COUNT; i++) {
        if (canned_rows[i].status != status)
            continue;
        if (why && !strcmp(canned_rows[i].why, why))
            return i;
        if (first == RESP_COUNT)
            first = i;
    }
    return first < RESP_COUNT ? first : canned_index(500, NULL);
}

static enum MHD_Result answer(struct MHD_Connection *conn, struct request *q, int status,
                              struct MHD_Response *resp)
{
    q->status = status;
    return MHD_queue_response(conn, (unsigned int)status, resp);
}

/* Answers `status` with reason `why`, which is also what the request's
 * log line says. */
static enum MHD_Result answer_why(struct suf_receiver *r, struct MHD_Connection *conn,
                                  struct request *q, int status, const char *why)
{
    size_t i = canned_index(status, why);

    q->why = why;
    return answer(conn, q, canned_rows[i].status, r->canned[i]);
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

    if (suf_receive_handshake(mode, token, challenge, r->verify_token) != 200)
        return answer_why(r, conn, q, 403, "handshake refused");
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

/* Adds q's line to the worker's batch and suspends its connection until
 * the worker has flushed the batch (flush_batch). */
static enum MHD_Result queue_line(struct worker *w, struct MHD_Connection *conn,
                                  struct request *q, const struct suf_buf *line)
{
    if (w->stopping)
        return answer_why(w->r, conn, q, 503, WHY_STOPPING);
    suf_buf_add(&w->batch, line->buf, line->len);
    w->batch_lines++;
    q->conn = conn;
    q->queued = true;
    q->next = w->waiting;
    w->waiting = q;
    w->unanswered++;
    MHD_suspend_connection(conn);
    return MHD_YES;
}

/* After a pass: writes and flushes the pass's lines, then resumes their
 * connections; the next pass answers them. */
static void flush_batch(struct worker *w)
{
    struct request *q, *next;
    int64_t t0;
    int rc;

    if (!w->waiting)
        return;
    t0 = suf_monotonic_us();
    rc = suf_inbox_write(w->r->inbox, w->lane, w->batch.buf, w->batch.len, w->batch_lines);
    w->last_flush_us = suf_monotonic_us() - t0;
    for (q = w->waiting; q; q = next) {
        next = q->next;
        q->next = NULL;
        q->flush_rc = rc;
        q->flushed = true;
        w->resumed++;
        MHD_resume_connection(q->conn);
    }
    w->waiting = NULL;
    w->batch_lines = 0;
    suf_buf_reset(&w->batch);
}

/* The flush is done: answer. */
static enum MHD_Result on_post_flushed(struct suf_receiver *r,
                                       struct MHD_Connection *conn, struct request *q)
{
    /* Not stored: the sender must post it again (the inbox logs why). */
    if (q->flush_rc != SUF_OK)
        return answer_why(r, conn, q, 503, WHY_STORE);
    if (q->consent)
        suf_consent_tap(r->consent);
    return answer_why(r, conn, q, 200, NULL);
}

/* The whole body is in: check it, then store it (or answer the refusal). */
static enum MHD_Result on_post_done(struct worker *w, struct MHD_Connection *conn,
                                    struct request *q)
{
    struct suf_receiver *r = w->r;
    const char *sig;
    struct suf_receive_body info;
    char hex[SUF_SHA256_HEX];
    int status;

    if (q->flushed)
        return on_post_flushed(r, conn, q);
    if (q->queued)
        return MHD_YES; /* not resumed yet; nothing to do */
    if (q->over_cap)
        return answer_why(r, conn, q, 413, "body too large");
    suf_sha256_buf(suf_buf_str(&q->body), q->body.len, hex);
    suf_strlcpy(q->hash, hex, sizeof(q->hash));
    sig = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, SUF_RECEIVE_SIG_HEADER);
    status = suf_receive_post_mac(sig, suf_buf_str(&q->body), q->body.len, r->cap, w->mac,
                                  &w->line, &info);
    q->consent = info.consent;
    if (status == 200)
        return queue_line(w, conn, q, &w->line);
    return answer_why(r, conn, q, status, info.why);
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
        const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_TRANSFER_ENCODING);
        const char *why;
        int st = suf_receive_framing(cl, te, r->cap, &why);
        if (st)
            return answer_why(r, conn, q, st, why);
    }
    return MHD_YES; /* MHD sends 100 Continue if asked, then the body */
}

/* The whole request is in. */
static enum MHD_Result on_complete(struct worker *w, struct MHD_Connection *conn,
                                   struct request *q)
{
    struct suf_receiver *r = w->r;

    if (!strcmp(q->method, MHD_HTTP_METHOD_POST))
        return on_post_done(w, conn, q);
    if (!strcmp(q->method, MHD_HTTP_METHOD_GET))
        return on_get(r, conn, q);
    return answer_why(r, conn, q, 405, "method not allowed");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct worker *w = cls;
    struct suf_receiver *r = w->r;
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
    return on_complete(w, conn, q);
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
    struct worker *w = cls;
    struct request *q = *con_cls;
    const char *end = termination(toe);
    int64_t ms;

    (void)conn;
    if (!q)
        return;
    if (q->queued)
        w->unanswered--;
    if (q->flushed)
        w->resumed--;
    ms = suf_monotonic_ms() - q->t0_ms;
    /* A 503 is not a warning of its own: the inbox reports its trouble
     * once per interval, and a stop is logged when it starts. */
    if ((q->status >= 500 && q->status != 503) || (end && !q->status))
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

/* The format is libmicrohttpd's own, never text from a request. */
__attribute__((format(printf, 2, 0)))
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

/* The canned answers; a 503 says Retry-After: the inbox's retry interval
 * (a stopping receiver is usually back within it too). */
static int make_canned(struct suf_receiver *r, int64_t retry_s, struct suf_err *err)
{
    char body[64], retry[24];

    snprintf(retry, sizeof(retry), "%lld", (long long)retry_s);
    for (size_t i = 0; i < RESP_COUNT; i++) {
        int n = snprintf(body, sizeof(body), "%s%s", canned_rows[i].why,
                         *canned_rows[i].why ? "\n" : "");
        r->canned[i] =
            MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
        if (!r->canned[i])
            return suf_err_set(err, SUF_ERR_INTERNAL, "cannot create the HTTP responses");
        MHD_add_response_header(r->canned[i], MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
        if (canned_rows[i].status == 405)
            MHD_add_response_header(r->canned[i], MHD_HTTP_HEADER_ALLOW, "GET, POST");
        if (canned_rows[i].status == 503)
            MHD_add_response_header(r->canned[i], MHD_HTTP_HEADER_RETRY_AFTER, retry);
    }
    return SUF_OK;
}

int suf_receive_default_workers(void)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

    return ncpu < 2 ? 2 : ncpu > 4 ? 4 : (int)ncpu;
}

/* Creates, binds and opens the one listening socket the workers share. */
static int open_listener(struct suf_receiver *r, const char *spec, struct suf_err *err)
{
    struct sockaddr_storage sa;
    socklen_t salen = 0;
    int one = 1, rc;

    rc = suf_receive_parse_listen(spec, &sa, &salen, err);
    if (rc)
        return rc;
    r->listen_fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (r->listen_fd < 0)
        goto fail;
    if (setsockopt(r->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
        goto fail;
    if (sa.ss_family == AF_INET6 &&
        setsockopt(r->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
        goto fail;
    if (bind(r->listen_fd, (struct sockaddr *)&sa, salen) ||
        listen(r->listen_fd, LISTEN_BACKLOG))
        goto fail;
    salen = sizeof(sa);
    if (getsockname(r->listen_fd, (struct sockaddr *)&sa, &salen))
        goto fail;
    r->port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                             : ((struct sockaddr_in *)&sa)->sin_port);
    return SUF_OK;
fail:
    return suf_err_set(err, SUF_ERR_CANTCREAT, "cannot listen on '%s': %s", spec,
                       strerror(errno));
}

int64_t suf_receive_backoff_ms(unsigned failures)
{
    int64_t ms = SUF_RECEIVE_BACKOFF_MIN_MS;

    if (!failures)
        return 0;
    for (unsigned i = 1; i < failures && ms < SUF_RECEIVE_BACKOFF_MAX_MS; i++)
        ms *= 2;
    return ms < SUF_RECEIVE_BACKOFF_MAX_MS ? ms : SUF_RECEIVE_BACKOFF_MAX_MS;
}

static bool mhd_pass(struct MHD_Daemon *daemon, int32_t ms, void *ctx)
{
    (void)ctx;
    return MHD_run_wait(daemon, ms) == MHD_YES;
}

static bool stop_asked(struct suf_receiver *r)
{
    return __atomic_load_n(&r->stop, __ATOMIC_ACQUIRE);
}

/* Sleeps `ms`, in slices short enough to see the stop flag in time (a
 * worker already stopping sleeps it all: its drain is bounded anyway, and
 * must not spin either). */
static void pause_ms(struct worker *w, int64_t ms)
{
    int64_t end = suf_monotonic_ms() + ms, left;

    while ((w->stopping || !stop_asked(w->r)) && (left = end - suf_monotonic_ms()) > 0) {
        int64_t slice = left < POLL_MS ? left : POLL_MS;
        struct timespec ts = {(time_t)(slice / 1000), (long)(slice % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* One pass of w's daemon, then, when it failed, the pause of the
 * failures so far (see the top of the file); false when it failed. */
static bool run_pass(struct worker *w, int32_t ms)
{
    int64_t now, pause;

    if (w->r->pass(w->daemon, ms, w->r->pass_ctx)) {
        if (w->pass_failures)
            suf_info("receive: http: passes work again after %u failed in a row",
                     w->pass_failures);
        w->pass_failures = 0;
        return true;
    }
    w->pass_failures++;
    pause = suf_receive_backoff_ms(w->pass_failures);
    now = suf_monotonic_ms();
    if (w->pass_failures == 1 || now - w->pass_log_ms >= PASS_LOG_MS) {
        if (w->pass_failures == 1)
            suf_warn("receive: http: a pass of worker %u failed; pausing after each "
                     "failure, from %d ms doubling up to %d ms, until one works",
                     w->lane, SUF_RECEIVE_BACKOFF_MIN_MS, SUF_RECEIVE_BACKOFF_MAX_MS);
        else
            suf_warn("receive: http: passes of worker %u still fail (%u in a row); "
                     "trying every %lld ms",
                     w->lane, w->pass_failures, (long long)pause);
        w->pass_log_ms = now;
    }
    pause_ms(w, pause);
    return false;
}

/* Runs passes until every suspended request of w is answered (or the
 * grace period is over), with the listening socket given back. */
static void worker_drain(struct worker *w)
{
    int64_t deadline = suf_monotonic_ms() + STOP_GRACE_MS;

    w->quiesced = MHD_quiesce_daemon(w->daemon) != MHD_INVALID_SOCKET;
    w->stopping = true;
    flush_batch(w);
    while (w->unanswered && suf_monotonic_ms() < deadline) {
        run_pass(w, 50);
        flush_batch(w);
    }
    if (w->unanswered)
        suf_warn("receive: stopping with %u answers unsent", w->unanswered);
}

/*
 * After the answers of a flush went out, their clients often send their
 * next request at once.  Flushing the few requests already in would make
 * the others wait for that flush and then for their own (the clients would
 * split into groups taking turns, each request waiting for two flushes),
 * so the worker gathers a little longer: until every connection it holds
 * has a request in the batch, or half as long as its last flush took (at
 * most GATHER_US).  On a disk that flushes fast this is no wait at all.
 */
static void gather(struct worker *w)
{
    const union MHD_DaemonInfo *info;
    int64_t wait = w->last_flush_us / 2 < GATHER_US ? w->last_flush_us / 2 : GATHER_US;
    int64_t deadline = suf_monotonic_us() + wait;

    for (;;) {
        info = MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (!info || w->batch_lines >= info->num_connections ||
            suf_monotonic_us() >= deadline || stop_asked(w->r) || !run_pass(w, 1))
            break;
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    while (!stop_asked(w->r)) {
        /* A failed pass may still have queued lines: they are flushed
         * below all the same, after its pause. */
        run_pass(w, POLL_MS);
        /* A resumed connection gets its answer queued in one pass and
         * sent in the next: send them before the next flush, not after. */
        for (int i = 0; w->resumed && i < ANSWER_PASSES && !w->pass_failures; i++)
            run_pass(w, 0);
        if (w->batch_lines)
            gather(w);
        flush_batch(w);
    }
    worker_drain(w);
    return NULL;
}

static int start_worker(struct suf_receiver *r, struct worker *w, unsigned limit,
                        const struct suf_receive_opts *o, struct suf_err *err)
{
    unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

    w->r = r;
    suf_buf_init(&w->batch);
    w->mac = suf_receive_mac_new(o->app_secret, strlen(o->app_secret));
    if (!w->mac)
        return suf_err_set(err, SUF_ERR_INTERNAL, "cannot prepare the signature key");
    w->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, w, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, w,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)r->listen_fd, MHD_OPTION_CONNECTION_LIMIT,
        limit, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)o->connection_timeout_s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, w, MHD_OPTION_END);
    if (!w->daemon)
        return suf_err_set(err, SUF_ERR_CANTCREAT, "cannot listen on '%s': %s", o->listen,
                           errno ? strerror(errno) : "the HTTP daemon did not start");
    if (pthread_create(&w->thread, NULL, worker_main, w))
        return suf_err_set(err, SUF_ERR_INTERNAL, "cannot start the receiver's workers");
    w->started = true;
    return SUF_OK;
}

/* Stops and frees every worker, then the shared parts. */
static void free_receiver(struct suf_receiver *r)
{
    bool listener_ours = true;

    __atomic_store_n(&r->stop, true, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < r->nworkers; i++) {
        struct worker *w = &r->workers[i];
        if (w->started)
            pthread_join(w->thread, NULL);
        else if (w->daemon)
            w->quiesced = MHD_quiesce_daemon(w->daemon) != MHD_INVALID_SOCKET;
        /* A daemon that still holds the socket closes it when it stops. */
        if (w->daemon && !w->quiesced)
            listener_ours = false;
        if (w->daemon)
            MHD_stop_daemon(w->daemon);
        suf_receive_mac_free(w->mac);
        suf_buf_release(&w->batch);
        suf_buf_release(&w->line);
    }
    if (r->listen_fd >= 0 && listener_ours)
        close(r->listen_fd);
    for (size_t i = 0; i < RESP_COUNT; i++)
        if (r->canned[i])
            MHD_destroy_response(r->canned[i]);
    free(r);
}

int suf_receive_start(struct suf_receiver **out, const struct suf_receive_opts *o,
                      struct suf_err *err)
{
    struct suf_receiver *r;
    int64_t maxc = o->max_connections > 0 ? o->max_connections : 1;
    int n = (int)suf_inbox_lanes(o->inbox);
    int rc;

    *out = NULL;
    if (n > MAX_WORKERS)
        n = MAX_WORKERS;
    if (n > maxc)
        n = (int)maxc; /* every worker may hold at least one connection */
    r = suf_xcalloc(1, sizeof(*r));
    r->verify_token = o->verify_token;
    r->cap = o->max_body_bytes;
    r->inbox = o->inbox;
    r->consent = o->consent;
    r->pass = o->pass ? o->pass : mhd_pass;
    r->pass_ctx = o->pass_ctx;
    r->listen_fd = -1;
    rc = make_canned(r, suf_inbox_retry_seconds(o->inbox), err);
    if (!rc)
        rc = open_listener(r, o->listen, err);
    for (int i = 0; !rc && i < n; i++) {
        /* max_connections shared out: the first ones take the remainder */
        unsigned limit = (unsigned)(maxc / n + (i < maxc % n ? 1 : 0));
        r->workers[i].lane = (unsigned)i;
        r->nworkers = (unsigned)i + 1;
        rc = start_worker(r, &r->workers[i], limit, o, err);
    }
    if (rc) {
        free_receiver(r);
        return rc;
    }
    *out = r;
    return SUF_OK;
}

unsigned suf_receive_port(struct suf_receiver *r)
{
    return r->port;
}

void suf_receive_stop(struct suf_receiver *r)
{
    if (r)
        free_receiver(r);
}
