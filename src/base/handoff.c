/*
 * handoff.c: worker threads, their bounded queue and their shutdown (see
 * handoff.h).
 *
 * The held items sit in a ring of `cap` slots, in the order they were put.
 * Three counters walk it: `taken` <= `begun` <= `put`.  The slots from
 * `taken` to `begun` were begun by a worker (or dropped), those from `begun`
 * to `put` wait for one; each slot says whether its item is queued, running,
 * done or dropped.  One mutex guards all of it and orders the memory of the
 * items that pass; three condition variables say what changed: `work` (an
 * item was put, or the end came), `done` (an item was done or dropped) and
 * `room` (an item was taken back).
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/handoff.h"
#include "base/util.h"
#include "base/banned.h"

enum slot_state { SLOT_QUEUED, SLOT_RUNNING, SLOT_DONE, SLOT_DROPPED };

struct slot {
    void *item;
    enum slot_state state;
};

struct suf_handoff {
    pthread_mutex_t mu;
    pthread_cond_t work, done, room;
    struct slot *slots;
    size_t cap;
    uint64_t taken, begun, put;
    void (*run)(void *ctx, void *item);
    void *ctx;
    pthread_t *threads;
    int workers;
    bool ending;  /* stop was called: workers leave once nothing is queued */
    bool stopped; /* the workers are joined */
};

/* Starts a thread that takes no signal: they stay with the calling thread,
 * whose handlers set the run's stop flag.  0, or pthread_create's error. */
static int thread_start(pthread_t *thread, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    int rc;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(thread, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

static struct slot *slot_at(struct suf_handoff *h, uint64_t seq)
{
    return &h->slots[seq % h->cap];
}

static void *worker_main(void *arg)
{
    struct suf_handoff *h = arg;

    pthread_mutex_lock(&h->mu);
    for (;;) {
        struct slot *s;

        while (h->begun == h->put && !h->ending)
            pthread_cond_wait(&h->work, &h->mu);
        if (h->begun == h->put)
            break; /* the end, and nothing left to run */
        s = slot_at(h, h->begun++);
        s->state = SLOT_RUNNING;
        pthread_mutex_unlock(&h->mu);
        h->run(h->ctx, s->item);
        pthread_mutex_lock(&h->mu);
        s->state = SLOT_DONE;
        pthread_cond_broadcast(&h->done);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

struct suf_handoff *suf_handoff_start(int workers, size_t cap,
                                      void (*run)(void *ctx, void *item), void *ctx)
{
    struct suf_handoff *h = suf_xcalloc(1, sizeof(*h));

    h->cap = cap ? cap : 1;
    h->slots = suf_xcalloc(h->cap, sizeof(*h->slots));
    h->run = run;
    h->ctx = ctx;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->work, NULL);
    pthread_cond_init(&h->done, NULL);
    pthread_cond_init(&h->room, NULL);
    if (workers > 0)
        h->threads = suf_xcalloc((size_t)workers, sizeof(*h->threads));
    while (h->workers < workers && !thread_start(&h->threads[h->workers], worker_main, h))
        h->workers++; /* fewer threads than asked, or none: put runs the items */
    return h;
}

int suf_handoff_workers(const struct suf_handoff *h)
{
    return h->workers;
}

void suf_handoff_put(struct suf_handoff *h, void *item)
{
    struct slot *s;
    bool inline_run;

    pthread_mutex_lock(&h->mu);
    while (h->put - h->taken == h->cap)
        pthread_cond_wait(&h->room, &h->mu);
    s = slot_at(h, h->put++);
    s->item = item;
    s->state = SLOT_QUEUED;
    inline_run = !h->workers || h->stopped;
    if (inline_run) { /* no worker to run it: run it here, now */
        h->begun++;
        s->state = SLOT_RUNNING;
    } else {
        pthread_cond_signal(&h->work);
    }
    pthread_mutex_unlock(&h->mu);
    if (!inline_run)
        return;
    h->run(h->ctx, item);
    pthread_mutex_lock(&h->mu);
    s->state = SLOT_DONE;
    pthread_cond_broadcast(&h->done);
    pthread_mutex_unlock(&h->mu);
}

/* Gives back the oldest held item when it is done or dropped, else NULL;
 * with `wait`, waits for it first. */
static void *take_oldest(struct suf_handoff *h, bool wait)
{
    struct slot *s;
    void *item = NULL;

    pthread_mutex_lock(&h->mu);
    if (h->taken == h->put)
        goto out;
    s = slot_at(h, h->taken);
    while (wait && (s->state == SLOT_QUEUED || s->state == SLOT_RUNNING))
        pthread_cond_wait(&h->done, &h->mu);
    if (s->state == SLOT_QUEUED || s->state == SLOT_RUNNING)
        goto out;
    item = s->item;
    s->item = NULL;
    h->taken++;
    pthread_cond_signal(&h->room);
out:
    pthread_mutex_unlock(&h->mu);
    return item;
}

void *suf_handoff_take(struct suf_handoff *h)
{
    return take_oldest(h, true);
}

void *suf_handoff_poll(struct suf_handoff *h)
{
    return take_oldest(h, false);
}

/* How far `put` is ahead of one of the other counters. */
static size_t behind_put(struct suf_handoff *h, const uint64_t *counter)
{
    size_t n;

    pthread_mutex_lock(&h->mu);
    n = (size_t)(h->put - *counter);
    pthread_mutex_unlock(&h->mu);
    return n;
}

size_t suf_handoff_held(struct suf_handoff *h)
{
    return behind_put(h, &h->taken);
}

size_t suf_handoff_queued(struct suf_handoff *h)
{
    return behind_put(h, &h->begun);
}

void suf_handoff_stop(struct suf_handoff *h, enum suf_handoff_end end)
{
    pthread_mutex_lock(&h->mu);
    if (h->ending) {
        pthread_mutex_unlock(&h->mu);
        return;
    }
    h->ending = true;
    if (end == SUF_HANDOFF_DROP) {
        while (h->begun < h->put)
            slot_at(h, h->begun++)->state = SLOT_DROPPED;
        pthread_cond_broadcast(&h->done);
    }
    pthread_cond_broadcast(&h->work);
    pthread_mutex_unlock(&h->mu);
    for (int i = 0; i < h->workers; i++)
        pthread_join(h->threads[i], NULL);
    pthread_mutex_lock(&h->mu);
    h->stopped = true;
    pthread_mutex_unlock(&h->mu);
}

void suf_handoff_free(struct suf_handoff *h)
{
    if (!h)
        return;
    suf_handoff_stop(h, SUF_HANDOFF_FINISH);
    pthread_cond_destroy(&h->room);
    pthread_cond_destroy(&h->done);
    pthread_cond_destroy(&h->work);
    pthread_mutex_destroy(&h->mu);
    free(h->threads);
    free(h->slots);
    free(h);
}
