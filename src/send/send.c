/*
 * send.c: the send stage's loop (see send.h).
 *
 * The sending thread drives the transport; a writer thread (send_writer.c)
 * runs the bookkeeping transactions, one job at a time, so that SQLite's
 * commits overlap the network instead of stopping it.  Each turn of the
 * loop:
 *  1. takes back the writer's finished job: its rows marked in_flight join
 *     the claimed rows, its outcomes are counted;
 *  2. fills free request slots from claimed rows (their in_flight mark is
 *     committed), within the rate limit;
 *  3. while the writer is idle (the database is the loop's then): refills
 *     the ready queues (retries that are due, session parts, utility rows
 *     fetched ahead), and when the claimed rows run low, or outcomes are due
 *     (every 50 ms, a full batch, a session part, or nothing left in
 *     flight), hands the writer one job: the outcomes that came back, then
 *     the in_flight marks of the next claim, in one transaction;
 *  4. waits for the transport, or the writer, or the next token or retry.
 * A row leaves only after the job that marked it is done, and its outcome is
 * written by a later job, so the exactly-once order is that of a single
 * thread.  Claiming ahead keeps commits rare and the wire busy.  Right
 * before a request's first byte is written, the transport calls
 * on_leaving, which notes the departure in the departure log (a line
 * copied into its shared mapping: it survives a crash) and for the next
 * job, which records it in the store (left_at), with the request's outcome
 * when that is back by then (one UPDATE of the row, not two).  A crash
 * thus leaves 'unknown' only rows whose request may have reached the API;
 * rows claimed ahead, or still waiting for a connection, provably never
 * left, and the next run queues them again.  The claim batch is about a
 * quarter second of work at the rate the run goes (its throughput, or the
 * rate measured without one), so few rows wait claimed at any time; it
 * doubles, within that bound, whenever the wire waits on a job.  Session
 * parts are claimed only as slots free up.  A clean stop puts unsent claims
 * back to 'queued'.  Retries within the run are kept in memory with their
 * due time; the database says 'queued' with next_try_at meanwhile, so a
 * crash loses nothing.  Rows this run already tried are never fetched again
 * (run_id).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "base/amount.h"
#include "base/log.h"
#include "base/progress.h"
#include "base/util.h"
#include "money/money.h"
#include "send/send.h"
#include "send/send_db.h"
#include "base/banned.h"

#define DEFAULT_BATCH 512
#define BETWEEN_MS 60000
#define COMMIT_EVERY_MS 50 /* outcomes wait at most this long for company */
/* The most rows a claim marks: it binds only without a throughput (or
 * above 4,096/s), where the rate measured decides.  Each job is one
 * commit, and a commit's cost goes with the pages it touches more than
 * with its rows: batches of 256 left 20,000 sends to loopback 8% slower
 * than batches of 1,024 (bench/bench-send). */
#define MAX_CLAIM 1024
#define CLAIM_MS 250         /* the work a claim batch holds, at the run's rate */
#define RATE_EVERY_MS 250    /* how often the claim batch follows the rate measured */
#define SESSION_EVERY_MS 100 /* new session parts wait at most this long for a fetch */

/* A FIFO of items: v[head..n). */
struct queue {
    struct send_item **v;
    size_t head, n, alloc;
};

struct sender {
    struct suf_run *run;
    const struct suf_config *cfg;
    bool warned_deferred; /* the first deferral of the run is a warning */
    const struct suf_send_opts *o;
    struct suf_transport *t;
    bool own_transport;
    struct send_db db;
    struct suf_ratelimit rl;
    int64_t throughput;   /* messages/s the run keeps to; 0: no limit */
    struct queue ready_s;     /* session parts that may go, in order */
    struct queue ready_u;     /* utility templates, fetched ahead of need */
    int64_t last_session_fetch_ms;
    struct send_item **retry; /* unordered, small */
    size_t nretry, aretry;
    struct send_item **done; /* came back, not handed to a job yet */
    size_t ndone, adone;
    struct send_item **claimed; /* in_flight committed, not submitted yet */
    size_t chead, nclaimed, aclaimed;
    struct send_job job;       /* the bookkeeping being committed */
    bool job_busy;             /* handed to the writer, not collected yet */
    struct send_writer *writer;
    size_t claim_batch;     /* rows marked in_flight per transaction */
    bool job_grew;          /* the batch grew while this job ran */
    int64_t rate_since_ms;  /* the rate measured: submits since then */
    int64_t rate_sent;
    struct send_departures *departures; /* the log; NULL in a dry run */
    struct send_departure *departed;    /* noted, not handed to a job yet */
    size_t ndeparted, adeparted;
    bool warned_departure;
    int64_t last_commit_ms;
    size_t inflight;
    size_t inflight_session; /* session parts among them */
    int64_t utility_taken, utility_cap;
    struct suf_money *money;   /* prices, loaded when a cost cap applies */
    int64_t cost_cap;          /* max_utility_cost_per_run, micros; 0: none */
    int64_t cost_taken;        /* estimated cost of the utility messages claimed */
    int64_t cost_next;         /* the estimate that did not fit, once stopped */
    int64_t unpriced;          /* utility rows set aside: no known price */
    int64_t unpriced_first;    /* the first of them (its send id), for the log */
    int64_t retries_used, failed;
    bool utility_exhausted;
    enum { STOP_NONE, STOP_COUNT, STOP_COST } utility_stop;
    int64_t last_between_ms;
    struct suf_progress bar; /* by messages done (sent, failed, deferred) */
};

static void push(struct send_item ***v, size_t *n, size_t *alloc, struct send_item *it)
{
    if (*n == *alloc) {
        *alloc = *alloc ? 2 * *alloc : 64;
        *v = suf_xrealloc(*v, *alloc * sizeof(**v));
    }
    (*v)[(*n)++] = it;
}

static uint32_t random_jitter(void *ctx)
{
    uint32_t v = 0;

    (void)ctx;
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
        v = (uint32_t)suf_monotonic_ms() * 2654435761u;
    return v;
}

/* --- outcomes ------------------------------------------------------------ */

/*
 * The transport's `leaving` hook: the request of `tag` is about to write
 * its first byte.  The departure is noted in the log first; when it cannot
 * be, the request is held back (it is retried, or left for the next run),
 * since a crash would then tell it apart from one that never left.
 */
static bool on_leaving(void *ctx, void *tag)
{
    struct sender *s = ctx;
    struct send_item *it = tag;

    if (it->left)
        return true; /* libcurl replays the request on a new connection */
    if (s->departures && !suf_send_departures_note(s->departures, it->id, it->tries)) {
        if (!s->warned_departure)
            suf_warn("%s: cannot note a departure (%s); requests are held back until it "
                     "can be written",
                     suf_send_departures_path(s->departures), strerror(errno));
        s->warned_departure = true;
        return false;
    }
    it->left = true;
    if (s->ndeparted == s->adeparted) {
        s->adeparted = s->adeparted ? 2 * s->adeparted : 64;
        s->departed = suf_xrealloc(s->departed, s->adeparted * sizeof(*s->departed));
    }
    it->left_at = suf_run_now(s->run);
    s->departed[s->ndeparted++] = (struct send_departure){it->id, it->left_at, it};
    return true;
}

/*
 * The transport's news that a request came back.  The wire's thread only
 * keeps what the transport will not keep (the body, a redirect's target);
 * the parse and the verdict are the job's (judge), on the writer's thread.
 */
static void on_reply(void *ctx, const struct suf_reply *r)
{
    struct sender *s = ctx;
    struct send_item *it = r->tag;

    it->res.retry_after_ms = r->retry_after ? suf_cloudapi_retry_after(r->retry_after,
                                                                       suf_run_now(s->run))
                                            : -1;
    if (r->net != SUF_NET_OK)
        snprintf(it->res.api_error, sizeof(it->res.api_error), "%s",
                 r->net_error ? r->net_error : "transport error");
    it->res.net = r->net;
    it->res.http_status = r->http_status;
    it->reply = NULL; /* the last try's was judged, and freed, by its job */
    if (r->len) { /* bytes, not a string: a NUL inside stays for the parse to refuse */
        it->reply = suf_xmalloc(r->len);
        memcpy(it->reply, r->body, r->len);
    }
    it->reply_len = r->len;
    it->location = r->location ? suf_xstrdup(r->location) : NULL;
    s->inflight--;
    if (it->kind == 's')
        s->inflight_session--;
    it->replied = true;
    push(&s->done, &s->ndone, &s->adone, it);
}

/* Decides, for a transient failure, whether to retry in this run. */
static void plan_retry(struct sender *s, struct send_item *it)
{
    const struct suf_config *cfg = s->cfg;
    suf_jitter_fn jitter = s->o->jitter ? s->o->jitter : random_jitter;

    it->delay_ms = suf_cloudapi_backoff_ms(it->tries_run, cfg->backoff_base_ms,
                                           cfg->backoff_max_ms, it->res.retry_after_ms, jitter,
                                           s->o->jitter_ctx);
    it->again = it->tries_run < cfg->max_tries && s->retries_used < cfg->retry_budget &&
                it->delay_ms <= cfg->backoff_max_ms && !suf_run_stopping(s->run);
    if (it->again) {
        s->retries_used++;
        it->due_ms = suf_monotonic_ms() + it->delay_ms;
    }
}

/*
 * A job's judge (struct send_job), run by the job before it writes the
 * outcome: the reply's verdict, and for a transient failure whether and
 * when to retry.  It reads the sender's settings and, for retries, its
 * budget (retries_used), which nothing else touches while a job runs.
 */
static void judge(void *ctx, struct send_item *it)
{
    struct sender *s = ctx;

    suf_cloudapi_parse(&it->res, it->res.net, it->res.http_status, it->reply, it->reply_len);
    suf_cloudapi_redirect(&it->res, it->location);
    it->verdict = suf_cloudapi_classify(&it->res);
    free(it->reply);
    free(it->location);
    it->reply = it->location = NULL;
    if (it->verdict == SUF_API_RETRY)
        plan_retry(s, it);
}

static void count_outcome(struct sender *s, struct send_item *it)
{
    struct suf_run *run = s->run;

    switch (it->verdict) {
    case SUF_API_SENT:
        suf_run_count(run, "send.sent", 1);
        suf_run_count(run, it->kind == 's' ? "send.sent_session" : "send.sent_utility", 1);
        break;
    case SUF_API_PERMANENT:
        suf_run_count(run, "send.failed", 1);
        s->failed++;
        if (it->res.api_code)
            suf_warn("send %lld (%s): failed permanently: %s, code %ld",
                     (long long)it->id, it->kind == 's' ? "session" : "utility",
                     it->res.api_error, it->res.api_code);
        else
            suf_warn("send %lld (%s): failed permanently: %s", (long long)it->id,
                     it->kind == 's' ? "session" : "utility", it->res.api_error);
        break;
    default:
        suf_run_count(run, it->again ? "send.retried" : "send.deferred", 1);
        if (!it->again && !s->warned_deferred) {
            /* The operator at 2 a.m. needs the reason, not just a count. */
            s->warned_deferred = true;
            suf_warn("send %lld (%s): left for the next run after %d %s: %s (other "
                     "deferrals: -v)",
                     (long long)it->id, it->kind == 's' ? "session" : "utility", it->tries_run,
                     it->tries_run == 1 ? "try" : "tries",
                     it->res.api_error[0] ? it->res.api_error : "transient failure");
            break;
        }
        suf_debug("send %lld: transient failure (%s); %s in %lld ms", (long long)it->id,
                  it->res.api_error, it->again ? "retry" : "next run",
                  (long long)it->delay_ms);
        break;
    }
}

/* After the commit: counts, and retries kept for later in this run. */
static void settle_outcomes(struct sender *s, struct send_item **v, size_t n)
{
    int64_t done = s->bar.done;

    for (size_t i = 0; i < n; i++) {
        struct send_item *it = v[i];

        count_outcome(s, it);
        if (it->verdict == SUF_API_RETRY && it->again) {
            push(&s->retry, &s->nretry, &s->aretry, it);
        } else {
            suf_send_item_free(it);
            done++; /* sent, failed or deferred: done with, for this run */
        }
    }
    suf_progress_set(&s->bar, done);
}

/* The queued messages the stage may send: the progress line's total,
 * counted only when shown.  The start-up passes have blocked the utility
 * rows of stopped campaigns by then (their fallbacks are no longer
 * pending); a session part waiting for its earlier part still counts. */
#define COUNT_QUEUED(kind, fstate)                                                         \
    "SELECT count(*) FROM sends q JOIN fallbacks f ON f.id = q.fallback_id WHERE q.state = " \
    "'queued' AND q.kind = '" kind "' AND f.state = '" fstate "'"                            \
    " AND (?1 IS NULL OR f.campaign_id = ?1)"

static int64_t queued_total(const struct sender *s)
{
    int64_t session = 0, utility = 0;

    if (!suf_progress_wanted())
        return 0;
    if (s->o->what & SUF_SEND_SESSION)
        suf_store_scalar(s->run->store, COUNT_QUEUED("s", "consented"), s->run->campaign, &session, NULL);
    if (s->o->what & SUF_SEND_UTILITY)
        suf_store_scalar(s->run->store, COUNT_QUEUED("u", "pending"), s->run->campaign, &utility, NULL);
    if (s->utility_cap >= 0 && utility > s->utility_cap)
        utility = s->utility_cap;
    return session + utility;
}

/* --- the ready list ------------------------------------------------------ */

static size_t queue_len(const struct queue *q)
{
    return q->n - q->head;
}

/* Makes room at the end: drops the consumed head. */
static void queue_compact(struct queue *q)
{
    if (q->head) {
        memmove(q->v, q->v + q->head, queue_len(q) * sizeof(*q->v));
        q->n -= q->head;
        q->head = 0;
    }
}

static size_t ready_count(const struct sender *s)
{
    return queue_len(&s->ready_s) + queue_len(&s->ready_u);
}

/* Appends up to `max` rows of `kind` from the database to `q`. */
static int queue_fetch(struct sender *s, struct queue *q, char kind, int max, struct suf_err *err)
{
    queue_compact(q);
    return suf_send_db_fetch(&s->db, kind, max, &q->v, &q->n, &q->alloc, err);
}

/* Moves due retries to the ready list; returns ms until the next one is
 * due (-1 when none waits). */
static int64_t take_due_retries(struct sender *s)
{
    int64_t now = suf_monotonic_ms(), next = -1;
    size_t keep = 0;

    for (size_t i = 0; i < s->nretry; i++) {
        struct send_item *it = s->retry[i];
        if (it->due_ms <= now) {
            struct queue *q = it->kind == 's' ? &s->ready_s : &s->ready_u;
            queue_compact(q);
            push(&q->v, &q->n, &q->alloc, it);
        } else {
            if (next < 0 || it->due_ms - now < next)
                next = it->due_ms - now;
            s->retry[keep++] = it;
        }
    }
    s->nretry = keep;
    return next;
}

static int maybe_between(struct sender *s, struct suf_err *err)
{
    int64_t now = suf_monotonic_ms();

    if (!s->o->between || s->db.dry || now - s->last_between_ms < BETWEEN_MS)
        return SUF_OK;
    s->last_between_ms = now;
    return s->o->between(s->run, s->o->between_ctx, err);
}

/* Fetches up to `want` more utility rows, within the count cap. */
static int fetch_utility(struct sender *s, int64_t want, struct suf_err *err)
{
    int64_t room, queued = (int64_t)queue_len(&s->ready_u);

    room = s->utility_cap < 0 ? want : s->utility_cap - s->utility_taken - queued;
    if (room <= 0) {
        if (!queued) {
            s->utility_exhausted = true;
            s->utility_stop = STOP_COUNT;
        }
        return SUF_OK;
    }
    return queue_fetch(s, &s->ready_u, 'u', (int)(room < want ? room : want), err);
}

/* True while a session part waits to go, is in flight, back but not
 * committed, or waits for its retry: no utility rows are fetched then, so
 * that a part 2 never queues behind them. */
static bool session_busy(const struct sender *s)
{
    if (s->inflight_session || queue_len(&s->ready_s))
        return true;
    for (size_t i = 0; i < s->nretry; i++)
        if (s->retry[i]->kind == 's')
            return true;
    for (size_t i = 0; i < s->ndone; i++) /* back, but not committed yet */
        if (s->done[i]->kind == 's')
            return true;
    for (size_t i = s->chead; i < s->nclaimed; i++)
        if (s->claimed[i]->kind == 's')
            return true;
    for (size_t i = 0; s->job_busy && i < s->job.noutcomes; i++) /* being committed */
        if (s->job.outcomes[i]->kind == 's')
            return true;
    for (size_t i = 0; s->job_busy && i < s->job.nmarks; i++)
        if (s->job.marks[i]->kind == 's')
            return true;
    return false;
}

/*
 * Fills the ready queues.  Session parts are fetched when none is queued:
 * at once when nothing else is ready, otherwise every SESSION_EVERY_MS.
 * Utility rows are fetched ahead, when fewer than half a batch are queued,
 * so that claims never wait for a fetch (the fetch goes on from the last
 * row fetched: rows fetched but not yet claimed are still 'queued').  The
 * writer is idle.
 */
static int refill(struct sender *s, struct suf_err *err)
{
    int batch = s->o->batch > 0 ? s->o->batch : DEFAULT_BATCH;
    size_t nu = queue_len(&s->ready_u);
    int64_t now = suf_monotonic_ms();

    if ((s->o->what & SUF_SEND_SESSION) && !queue_len(&s->ready_s) &&
        (!nu || now - s->last_session_fetch_ms >= SESSION_EVERY_MS)) {
        s->last_session_fetch_ms = now;
        if (queue_fetch(s, &s->ready_s, 's', batch, err))
            return SUF_ERR_DB;
    }
    if (!(s->o->what & SUF_SEND_UTILITY) || s->utility_exhausted || nu > (size_t)batch / 2 ||
        session_busy(s))
        return SUF_OK;
    if (maybe_between(s, err))
        return err->status ? err->status : SUF_ERR_INTERNAL;
    return fetch_utility(s, batch - (int64_t)nu, err);
}

/* --- dispatch ------------------------------------------------------------ */

static int open_transport(struct sender *s, struct suf_err *err);

/* The window closed while a session part waited: expire it in the store. */
static int expire_item(struct sender *s, struct send_item *it, struct suf_err *err)
{
    int64_t n = 0;

    suf_send_item_free(it);
    if (suf_send_db_expire(&s->db, &n, err))
        return SUF_ERR_DB;
    suf_run_count(s->run, "send.window_expired", n);
    return SUF_OK;
}

static size_t claimed_count(const struct sender *s)
{
    return s->nclaimed - s->chead;
}

/* The estimated price of a utility message in micros of cfg->currency:
 * the Utility rate of the phone's market on the card in effect on the day
 * of "now".  False when no card, market or rate is known.  Meta bills only
 * delivered messages, so this errs on the side of the cap. */
static bool utility_price(const struct sender *s, const struct send_item *it, int64_t *micros)
{
    int32_t day = suf_day_of(suf_run_now(s->run));
    int card = suf_money_card_for(s->money, day);
    int market = suf_money_market(s->money, it->phone, day);

    return suf_money_card_rate(s->money, card, market, SUF_CAT_UTILITY, micros);
}

/*
 * Whether a new utility message may go under the run's caps: the count
 * (--limit, max_utility_per_run) and the estimated cost
 * (max_utility_cost_per_run).  The first message that would pass a cap
 * stops utility sends for the run; the rest stay queued.  Under a cost cap
 * a message whose price is unknown cannot be shown to fit: it is set aside
 * for this run (it stays queued) and counted, and the others go on.
 */
static int utility_admit(struct sender *s, struct send_item *it, bool *admit,
                         struct suf_err *err)
{
    int64_t price = 0;

    *admit = false;
    if (s->utility_exhausted)
        return SUF_OK;
    if (s->utility_cap >= 0 && s->utility_taken >= s->utility_cap) {
        s->utility_exhausted = true;
        s->utility_stop = STOP_COUNT;
        return SUF_OK;
    }
    if (s->cost_cap > 0) {
        if (!utility_price(s, it, &price)) {
            if (!s->unpriced++)
                s->unpriced_first = it->id;
            return suf_send_db_skip(&s->db, it, err);
        }
        if (price > s->cost_cap - s->cost_taken) {
            s->utility_exhausted = true;
            s->utility_stop = STOP_COST;
            s->cost_next = price;
            return SUF_OK;
        }
        s->cost_taken += price;
        it->price = price;
    }
    s->utility_taken++;
    *admit = true;
    return SUF_OK;
}

/* Claims up to `room` ready rows that may go (window, utility caps): they
 * join the job's marks, to be marked in_flight.  The writer is idle. */
static int claim(struct sender *s, size_t room, struct suf_err *err)
{
    size_t conc = (size_t)s->cfg->concurrency, taken = 0;

    while (taken < room && ready_count(s)) {
        struct queue *q = queue_len(&s->ready_s) ? &s->ready_s : &s->ready_u;
        struct send_item *it = q->v[q->head];

        /* session parts are claimed only as slots free up: a crash must
         * not leave a time-critical message 'unknown' for a day */
        if (it->kind == 's' && taken && s->inflight + claimed_count(s) + taken >= conc)
            break;
        q->head++;
        if (!suf_send_db_window_open(&s->db, it)) {
            if (expire_item(s, it, err))
                return SUF_ERR_DB;
            continue;
        }
        if (it->kind == 'u' && it->tries_run == 0) {
            bool admit;

            if (utility_admit(s, it, &admit, err))
                return SUF_ERR_DB;
            if (!admit) {
                suf_send_item_free(it); /* stays queued for the next run */
                continue;
            }
        }
        push(&s->job.marks, &s->job.nmarks, &s->job.amarks, it);
        taken++;
    }
    return SUF_OK;
}

/* Sends claimed rows while the concurrency and the rate limit allow. */
static int submit_claimed(struct sender *s, struct suf_err *err)
{
    size_t conc = (size_t)s->cfg->concurrency;

    while (claimed_count(s) && s->inflight < conc && suf_ratelimit_take(&s->rl)) {
        struct send_item *it = s->claimed[s->chead++];
        struct suf_request req;

        it->tries_run++;
        it->left = false;
        it->left_at = 0;
        it->replied = false;
        memset(&req, 0, sizeof(req));
        req.body = it->body;
        req.len = it->len;
        req.tag = it;
        req.leaving = on_leaving;
        req.leaving_ctx = s;
        if (s->t->submit(s->t, &req, err))
            return err->status ? err->status : SUF_ERR_INTERNAL;
        s->inflight++;
        s->rate_sent++;
        if (it->kind == 's')
            s->inflight_session++;
    }
    return SUF_OK;
}

/* Rows claimed per transaction: a quarter second's work at `per_second`,
 * at least one, at most MAX_CLAIM. */
static size_t claim_batch_for(int64_t per_second)
{
    int64_t n = (per_second * CLAIM_MS + 999) / 1000;

    return n < 1 ? 1 : n > MAX_CLAIM ? MAX_CLAIM : (size_t)n;
}

/*
 * Every quarter second, the claim batch follows the rate the run actually
 * goes: what it submitted, never above the throughput.  Without a
 * throughput (0: no limit) the API's and the network's pace is the only
 * measure; with one, a slower API still shrinks the batch.  A short window
 * lets a fast run reach full batches soon (small ones cost a transaction
 * each), and a stalled one shed them as soon.
 */
static void tune_claim_batch(struct sender *s)
{
    int64_t now = suf_monotonic_ms(), elapsed = now - s->rate_since_ms, rate;
    int64_t tp = s->throughput;

    if (elapsed < RATE_EVERY_MS)
        return;
    rate = s->rate_sent * 1000 / elapsed;
    if (tp > 0 && rate > tp)
        rate = tp;
    s->claim_batch = claim_batch_for(rate);
    s->rate_since_ms = now;
    s->rate_sent = 0;
}

/*
 * The wire waits on the writer: request slots are free, no row is left
 * claimed, and the job running is marking the next ones.  The claim batch
 * was smaller than the work a job takes to commit, so the batch doubles,
 * once per job, up to a quarter second at the throughput (or MAX_CLAIM).
 * The rate measured every quarter second (tune_claim_batch) would find the
 * same size, but only after a quarter second of a starved wire: on a short
 * run, that is most of it.
 */
static void grow_claim_batch(struct sender *s)
{
    size_t cap = s->throughput > 0 ? claim_batch_for(s->throughput) : MAX_CLAIM;

    s->job_grew = true;
    if (s->claim_batch >= cap)
        return;
    s->claim_batch = 2 * s->claim_batch < cap ? 2 * s->claim_batch : cap;
    suf_run_count(s->run, "send.claim_grown", 1);
}

/*
 * Takes back a job the writer finished: its marked rows may now leave (in
 * claim order), rows no longer queued (cancelled meanwhile by an opt-out)
 * are dropped, and its outcomes are counted.
 */
static int collect(struct sender *s, struct suf_err *err)
{
    struct send_job *job = &s->job;

    s->job_busy = false;
    if (job->rc) {
        *err = job->err;
        return job->rc;
    }
    if (s->chead == s->nclaimed)
        s->chead = s->nclaimed = 0;
    for (size_t i = 0; i < job->nmarks; i++) {
        struct send_item *it = job->marks[i];

        if (it->marked) {
            push(&s->claimed, &s->nclaimed, &s->aclaimed, it);
            continue;
        }
        if (it->bytes == SEND_BYTES_UNBUILDABLE) { /* set aside by its mark: no share of the caps */
            suf_run_count(s->run, "send.unbuildable", 1);
            s->utility_taken--;
            s->cost_taken -= it->price;
        }
        suf_send_item_free(it);
    }
    job->nmarks = 0;
    job->ndeparted = 0;
    settle_outcomes(s, job->outcomes, job->noutcomes);
    job->noutcomes = 0;
    s->last_commit_ms = suf_monotonic_ms();
    return SUF_OK;
}

/* Gives the job the departures noted so far, trading arrays with it: the
 * job's, recorded already, are empty.  A departure whose request came back
 * is left out: its outcome, in the same job (every reply back goes to the
 * next job), records it (left_at). */
static void hand_departures(struct sender *s, struct send_job *job)
{
    struct send_departure *v = job->departed;
    size_t alloc = job->adeparted, keep = 0;

    for (size_t i = 0; i < s->ndeparted; i++)
        if (!s->departed[i].it->replied)
            s->departed[keep++] = s->departed[i];
    s->ndeparted = keep;

    job->departed = s->departed;
    job->adeparted = s->adeparted;
    job->ndeparted = s->ndeparted;
    s->departed = v;
    s->adeparted = alloc;
    s->ndeparted = 0;
}

/*
 * Starts one unit of bookkeeping, one transaction: the departures noted,
 * the outcomes that came back, and the in_flight marks of up to `room`
 * newly claimed rows.  A
 * claimed row leaves only after the writer committed its mark (collect).
 * The writer is idle.  Without a writer thread the job is done on return.
 */
static int launch(struct sender *s, size_t room, struct suf_err *err)
{
    struct send_job *job = &s->job;

    if (room && !s->t && open_transport(s, err))
        return err->status;
    if (room && claim(s, room, err))
        return SUF_ERR_DB;
    if (!job->nmarks && !s->ndone)
        return SUF_OK;
    hand_departures(s, job);
    for (size_t i = 0; i < s->ndone; i++)
        push(&job->outcomes, &job->noutcomes, &job->aoutcomes, s->done[i]);
    s->ndone = 0;
    job->judge = judge;
    job->judge_ctx = s;
    s->job_busy = true;
    s->job_grew = false;
    suf_send_writer_submit(s->writer, job);
    return suf_send_writer_idle(s->writer, false) ? collect(s, err) : SUF_OK;
}

/* On a stop: claimed rows that never left go back to 'queued'. */
static int unclaim(struct sender *s, struct suf_err *err)
{
    if (!claimed_count(s))
        return SUF_OK;
    if (suf_send_db_begin(&s->db, err))
        return SUF_ERR_DB;
    for (size_t i = s->chead; i < s->nclaimed; i++) {
        if (suf_send_db_unmark(&s->db, s->claimed[i], err)) {
            if (!s->db.dry)
                suf_store_rollback(s->db.st);
            return SUF_ERR_DB;
        }
    }
    if (suf_send_db_commit(&s->db, err))
        return SUF_ERR_DB;
    for (size_t i = s->chead; i < s->nclaimed; i++)
        suf_send_item_free(s->claimed[i]);
    s->chead = s->nclaimed = 0;
    return SUF_OK;
}

/* --- the loop ------------------------------------------------------------ */

static void sleep_ms(int64_t ms)
{
    struct timespec ts;

    if (ms <= 0)
        return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int64_t min_pos(int64_t a, int64_t b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

/* Whether outcomes should be committed now rather than with a later turn. */
static bool outcomes_due(const struct sender *s, bool stopping)
{
    if (!s->ndone)
        return false;
    return stopping || s->ndone >= s->claim_batch || !s->inflight || session_busy(s) ||
           suf_monotonic_ms() - s->last_commit_ms >= COMMIT_EVERY_MS;
}

static int loop(struct sender *s, struct suf_err *err)
{
    size_t conc = (size_t)s->cfg->concurrency;

    for (;;) {
        bool stopping = suf_run_stopping(s->run), settled = false;
        int64_t next_retry = -1, wait;
        size_t room = 0;

        if (s->job_busy && suf_send_writer_idle(s->writer, false) && collect(s, err))
            return err->status ? err->status : SUF_ERR_DB;
        /* Fill the free slots from rows already claimed first, so that the
         * bookkeeping below runs while requests are on the wire. */
        if (!stopping && submit_claimed(s, err))
            return err->status;
        if (!s->job_busy) { /* the database is ours until the next launch */
            /* put the new requests on the wire, and take in the replies
             * already back, so their outcomes join the next job */
            if (s->inflight)
                s->t->poll(s->t, 0, on_reply, s);
            if (!stopping) {
                next_retry = take_due_retries(s);
                if (refill(s, err))
                    return err->status ? err->status : SUF_ERR_DB;
                tune_claim_batch(s);
                if (ready_count(s) && claimed_count(s) <= s->claim_batch / 2)
                    room = s->claim_batch - claimed_count(s);
            } else if (unclaim(s, err)) {
                return SUF_ERR_DB;
            }
            settled = outcomes_due(s, stopping);
            if ((room || settled) && launch(s, room, err))
                return err->status ? err->status : SUF_ERR_INTERNAL;
            if (!stopping && submit_claimed(s, err))
                return err->status;
            if (settled && !stopping && !s->job_busy)
                continue; /* an outcome may have made a part 2 sendable */
        }
        if (!s->inflight && !s->ndone && !claimed_count(s) && !s->job_busy &&
            (stopping || (!ready_count(s) && next_retry < 0 && !s->nretry)))
            return SUF_OK;
        if (s->job_busy && s->job.nmarks && !s->job_grew && !claimed_count(s) &&
            s->inflight < conc && !stopping)
            grow_claim_batch(s);
        wait = COMMIT_EVERY_MS;
        if (claimed_count(s) && s->inflight < conc)
            wait = suf_ratelimit_wait_ms(&s->rl);
        if (!ready_count(s) && !claimed_count(s) && next_retry >= 0)
            wait = min_pos(next_retry, wait);
        if (s->inflight)
            s->t->poll(s->t, (int)(wait > 0 ? wait : 0), on_reply, s);
        else if (s->job_busy)
            suf_send_writer_idle(s->writer, true);
        else if (!s->ndone)
            sleep_ms(wait);
    }
}

/* Start-up: dead runs' in_flight rows, re-sends, expiry, opt-outs; then
 * this run's departure log (not in a dry run, which leaves no trace). */
static int prepare(struct sender *s, struct suf_err *err)
{
    int64_t n, requeued;

    if (suf_send_db_recover(&s->db, &n, &requeued, err))
        return err->status ? err->status : SUF_ERR_DB;
    if (requeued)
        suf_warn("%lld sends were in flight when a run died but provably never left: "
                 "queued again",
                 (long long)requeued);
    if (n)
        suf_warn(
            "%lld sends were in flight when a run died and may have reached the API: "
            "now 'unknown' until a webhook resolves them or %lld h pass",
            (long long)n, (long long)s->cfg->unknown_resend_after_hours);
    suf_run_count(s->run, "send.unknown", n);
    suf_run_count(s->run, "send.requeued", requeued);
    if (!s->db.dry && suf_send_departures_open(&s->db, &s->departures, err))
        return err->status;
    if (suf_send_db_resend_unknown(&s->db, &n, err))
        return SUF_ERR_DB;
    if (n)
        suf_warn("%lld unresolved 'unknown' sends queued again with new callback data",
                 (long long)n);
    suf_run_count(s->run, "send.resent", n);
    if (suf_send_db_expire(&s->db, &n, err))
        return SUF_ERR_DB;
    suf_run_count(s->run, "send.window_expired", n);
    if (suf_send_db_optouts(&s->db, &n, err))
        return SUF_ERR_DB;
    suf_run_count(s->run, "send.cancelled_optout", n);
    /* before any utility fetch, which takes pending fallbacks only */
    if (s->o->what & SUF_SEND_UTILITY) {
        if (suf_send_db_gate(&s->db, &n, err))
            return SUF_ERR_DB;
        suf_run_count(s->run, "send.campaigns_blocked", n);
    }
    return SUF_OK;
}

/* Counts and logs what the utility caps left queued. */
static int count_caps(struct sender *s, struct suf_err *err)
{
    const char *cur = s->cfg->currency;
    char a[32], b[32], c[32];
    int64_t left = 0;

    if (s->utility_stop != STOP_NONE && suf_send_db_count_left(&s->db, &left, err))
        return SUF_ERR_DB;
    if (s->utility_stop == STOP_COUNT)
        suf_run_count(s->run, "send.left_by_limit", left);
    if (s->utility_stop == STOP_COST) {
        suf_run_count(s->run, "send.left_by_cost_cap", left);
        suf_info("send: max_utility_cost_per_run (%s %s) reached: %lld utility messages "
                 "estimated at %s %s; the next would cost %s %s; %lld stay queued for the "
                 "next run",
                 suf_amount_format(s->cost_cap, a, sizeof(a)), cur,
                 (long long)s->utility_taken, suf_amount_format(s->cost_taken, b, sizeof(b)),
                 cur, suf_amount_format(s->cost_next, c, sizeof(c)), cur, (long long)left);
    }
    if (s->unpriced) {
        suf_run_count(s->run, "send.left_unpriced", s->unpriced);
        suf_warn("send: %lld utility messages (the first: send %lld) have no known %s utility "
                 "rate for their market: an unknown price cannot be shown to fit "
                 "max_utility_cost_per_run, so they stay queued (import the rate card and "
                 "the market map)",
                 (long long)s->unpriced, (long long)s->unpriced_first, cur);
    }
    return SUF_OK;
}

static void summary(struct sender *s)
{
    struct suf_run *run = s->run;

#define C(name) (long long)suf_run_get_count(run, "send." name)
    suf_info("send%s: %lld sent (%lld session, %lld utility), %lld failed, %lld retried, "
             "%lld deferred to the next run, %lld unknown, %lld re-sent, %lld cancelled "
             "(opted out), %lld window expired, %lld campaigns blocked, %lld left by the limit, "
             "%lld left by the cost cap, %lld left unpriced",
             s->db.dry ? " (dry run)" : "", C("sent"), C("sent_session"), C("sent_utility"),
             C("failed"), C("retried"), C("deferred"), C("unknown"), C("resent"),
             C("cancelled_optout"), C("window_expired"), C("campaigns_blocked"),
             C("left_by_limit"), C("left_by_cost_cap"), C("left_unpriced"));
#undef C
}

static int64_t utility_cap(const struct suf_run *run, const struct suf_send_opts *o)
{
    int64_t cap = o->limit >= 0 ? o->limit : -1;

    if (run->cfg->max_utility_per_run > 0 &&
        (cap < 0 || run->cfg->max_utility_per_run < cap))
        cap = run->cfg->max_utility_per_run;
    return cap;
}

static void release(struct sender *s)
{
    for (size_t i = s->ready_s.head; i < s->ready_s.n; i++)
        suf_send_item_free(s->ready_s.v[i]);
    for (size_t i = s->ready_u.head; i < s->ready_u.n; i++)
        suf_send_item_free(s->ready_u.v[i]);
    for (size_t i = 0; i < s->nretry; i++)
        suf_send_item_free(s->retry[i]);
    for (size_t i = 0; i < s->ndone; i++)
        suf_send_item_free(s->done[i]);
    for (size_t i = s->chead; i < s->nclaimed; i++)
        suf_send_item_free(s->claimed[i]);
    for (size_t i = 0; i < s->job.nmarks; i++)
        suf_send_item_free(s->job.marks[i]);
    for (size_t i = 0; i < s->job.noutcomes; i++)
        suf_send_item_free(s->job.outcomes[i]);
    free(s->job.marks);
    free(s->job.outcomes);
    free(s->job.departed);
    free(s->departed);
    free(s->claimed);
    free(s->ready_s.v);
    free(s->ready_u.v);
    free(s->retry);
    free(s->done);
    suf_money_free(s->money);
    if (s->own_transport && s->t)
        s->t->close(s->t);
}

/* The writer's news that a job has run, on its thread: the poll that
 * waits for the wire ends at once.  s->t was set before the job was handed
 * over (launch), and is closed only after the writer has stopped. */
static void wake(void *ctx)
{
    struct sender *s = ctx;

    if (s->t)
        s->t->wakeup(s->t);
}

static int stage(struct sender *s, struct suf_err *err)
{
    int rc;

    if ((rc = suf_send_db_open(&s->db, s->run, err)))
        return rc;
    rc = prepare(s, err);
    if (!rc && s->cost_cap > 0 && (s->o->what & SUF_SEND_UTILITY))
        rc = suf_money_load(&s->money, s->run->store, s->cfg->currency, err);
    if (!rc) {
        s->writer = suf_send_writer_start(&s->db, !s->db.dry, wake, s);
        suf_progress_start(&s->bar, s->o->what == SUF_SEND_SESSION ? "session" : "send",
                           queued_total(s));
        rc = loop(s, err);
        suf_progress_end(&s->bar);
        suf_send_writer_stop(s->writer); /* after the job it may still run */
        s->writer = NULL;
    }
    if (!rc)
        rc = count_caps(s, err);
    if (rc && s->inflight)
        suf_error(
            "send stopped with %zu requests in flight; they stay 'in_flight', and the "
            "next run marks those that may have left 'unknown'",
            s->inflight);
    /* the log is kept while rows of this run may be in flight */
    suf_send_departures_close(s->departures, !rc);
    s->departures = NULL;
    if (!rc)
        summary(s);
    if (!rc && s->failed)
        suf_run_soft_fail(s->run, SUF_ERR_SEND, "%lld sends failed permanently",
                          (long long)s->failed);
    suf_send_db_close(&s->db);
    return rc;
}

void suf_send_opts_init(struct suf_send_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->what = SUF_SEND_ALL;
    o->limit = -1;
}

static void sender_init(struct sender *s, struct suf_run *run, const struct suf_send_opts *o)
{
    memset(s, 0, sizeof(*s));
    s->run = run;
    s->cfg = run->cfg;
    s->o = o;
    s->utility_cap = utility_cap(run, o);
    s->cost_cap = run->cfg->max_utility_cost_per_run > 0 ? run->cfg->max_utility_cost_per_run : 0;
    /* Meta's throughput limits what is posted.  A dry run posts nothing
     * (the recording transport writes the outbox), so it goes at the pace
     * of the disk: previewing 125,000 messages at 80/s would take 26 min. */
    s->throughput = run->dry_run ? 0 : run->cfg->throughput;
    /* Rows claimed per transaction: a quarter second's work at the
     * throughput, so that few rows wait claimed (tune_claim_batch then
     * follows the rate measured).  Without a throughput the first batch
     * fills the request slots, and the rate measured decides from then on. */
    if (s->throughput > 0)
        s->claim_batch = claim_batch_for(s->throughput);
    else
        s->claim_batch = run->cfg->concurrency > 0 && run->cfg->concurrency < MAX_CLAIM
                             ? (size_t)run->cfg->concurrency
                             : MAX_CLAIM;
    s->last_between_ms = s->rate_since_ms = suf_monotonic_ms();
    suf_ratelimit_init(&s->rl, s->throughput, o->clock, o->clock_ctx);
}

int suf_send_with(struct suf_run *run, struct suf_transport *t, const struct suf_send_opts *o,
                  struct suf_err *err)
{
    struct sender s;
    int rc;

    sender_init(&s, run, o);
    s.t = t;
    rc = stage(&s, err);
    release(&s);
    return rc;
}

/* --- transports the run calls for ---------------------------------------- */

static FILE *outbox_open(struct suf_run *run, char **path, struct suf_err *err)
{
    const char *dir = run->cfg->outbox_dir;
    char stamp[32];
    int64_t t = suf_run_now(run);
    FILE *f;

    suf_time_format(t, stamp, sizeof(stamp));
    for (char *p = stamp; *p; p++)
        if (*p == ':' || *p == '-')
            *p = *p == ':' ? '.' : '-';
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        suf_err_at(err, SUF_ERR_CANTCREAT, dir, 0, "cannot create the outbox folder: %s",
                   strerror(errno));
        return NULL;
    }
    *path = suf_xasprintf("%s/send_%s_run%lld.jsonl", dir, stamp, (long long)run->id);
    f = fopen(*path, "w");
    if (!f) {
        suf_err_at(err, SUF_ERR_CANTCREAT, *path, 0, "cannot create the outbox: %s",
                   strerror(errno));
        free(*path);
        *path = NULL;
    }
    return f;
}

/*
 * The webhook's verify token and app secret belong to the receiver, but a
 * reply from outside could quote them as well: reading them registers them
 * with the redactor (suf_config_secret does), so that no API reply stores
 * or prints them either.  One that cannot be read is the receiver's
 * problem, not the send's: it is left out, and said at -v.
 */
static void know_receiver_secrets(const struct suf_config *cfg)
{
    const char *env[] = {"SUF_VERIFY_TOKEN", "SUF_APP_SECRET"};
    const char *file[] = {cfg->verify_token_file, cfg->app_secret_file};

    for (size_t i = 0; i < 2; i++) {
        struct suf_err ignored = SUF_ERR_INIT;
        char *secret = NULL;

        if (suf_config_secret(env[i], file[i], &secret, &ignored) == SUF_OK) {
            explicit_bzero(secret, strlen(secret));
            free(secret);
        } else if (ignored.status != SUF_ERR_NOTFOUND) {
            suf_debug("send: %s not known to the redactor: %s", env[i], ignored.msg);
        }
    }
}

int suf_send_token(const struct suf_config *cfg, char **token, struct suf_err *err)
{
    if (suf_config_secret("SUF_ACCESS_TOKEN", cfg->token_file, token, err)) {
        if (err->status == SUF_ERR_NOTFOUND)
            suf_err_set(err, SUF_ERR_CONFIG,
                        "no access token: set SUF_ACCESS_TOKEN or the token_file key");
        return err->status;
    }
    know_receiver_secrets(cfg);
    return SUF_OK;
}

static int open_transport(struct sender *s, struct suf_err *err)
{
    const struct suf_config *cfg = s->cfg;
    char *token = NULL, *url;

    if (!cfg->phone_number_id || !*cfg->phone_number_id)
        return suf_err_set(err, SUF_ERR_CONFIG,
                           "no phone_number_id in the config: cannot send anything");
    if (suf_send_token(cfg, &token, err))
        return err->status;
    url = suf_cloudapi_url(cfg);
    s->t = suf_transport_curl_new(cfg, url, token, err);
    explicit_bzero(token, strlen(token));
    free(token);
    free(url);
    if (!s->t)
        return err->status ? err->status : SUF_ERR_NETWORK;
    s->own_transport = true;
    return SUF_OK;
}

int suf_send_run(struct suf_run *run, const struct suf_send_opts *o, struct suf_err *err)
{
    struct sender s;
    FILE *outbox = NULL;
    char *path = NULL;
    int rc;

    sender_init(&s, run, o);
    if (run->dry_run) {
        outbox = outbox_open(run, &path, err);
        if (!outbox)
            return err->status;
        s.t = suf_transport_record_new(outbox, NULL, NULL);
        s.own_transport = true;
    }
    rc = stage(&s, err);
    release(&s);
    if (outbox) {
        if (fclose(outbox) != 0 && !rc)
            rc = suf_err_at(err, SUF_ERR_IO, path, 0, "cannot write the outbox: %s",
                            strerror(errno));
        if (!rc)
            suf_info("dry run: the requests a send would post are in '%s'; nothing was "
                     "changed",
                     path);
        free(path);
    }
    return rc;
}
