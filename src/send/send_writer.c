/*
 * send_writer.c: the send stage's writer thread (see send_db.h).
 *
 * The sending thread used to stop the wire while SQLite wrote a group of
 * outcomes and in_flight marks: with requests answered in a tenth of a
 * millisecond, every commit was time in which nothing went out.  This
 * thread runs those transactions instead, one job at a time, while the
 * sending thread keeps submitting rows whose marks an earlier job
 * committed.
 *
 * A second thread checkpoints the WAL (store/ckpt.h).  A checkpoint copies
 * the WAL into the database and waits for the disk twice; run by the
 * committing connection (SQLite's automatic checkpoint) it stalled the
 * writer, then the wire, for as long.
 *
 * The jobs go through a handoff (base/handoff.h) of one worker and room for
 * one job, which also orders the memory, so the items of a job and the
 * connection pass cleanly from one thread to the other.  Its worker takes
 * no signal: SIGTERM and friends stay with the sending thread, which owns
 * the stop flag.
 *
 * A job done is the sending thread's news: the rows it marked may go, the
 * database is free for the next job.  The worker says so at once through
 * the `done` hook (the transport's wakeup), instead of the sending thread
 * looking every millisecond.  The hook runs when the job has run but
 * before the handoff has closed it; `finished` tells the sending thread
 * that what is left of the wait is the handoff's own few instructions.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "base/handoff.h"
#include "base/util.h"
#include "send/send_db.h"
#include "store/ckpt.h"
#include "base/banned.h"

/* A pass every 4 MiB of WAL, not 16: the stage ends with the store's own
 * checkpoint of what the last pass left, and the WAL file's removal, on
 * the one thread left; with this size they took 11-15 ms instead of 18-33
 * at the end of 20,000 sends to loopback, and the run no more. */
#define SEND_CKPT_FRAMES 1024

struct send_writer {
    struct suf_handoff *jobs; /* holds the job running or done, until idle */
    struct suf_ckpt *ckpt;    /* the checkpointer, when it could be had */
    struct send_db *db;
    void (*done)(void *ctx); /* the worker's news that a job has run */
    void *done_ctx;
    atomic_bool finished; /* the job held has run (its handoff may still be closing it) */
};

static void run_job(void *ctx, void *job)
{
    struct send_writer *w = ctx;

    suf_send_db_job(w->db, job);
    atomic_store_explicit(&w->finished, true, memory_order_release);
    if (w->done)
        w->done(w->done_ctx);
}

struct send_writer *suf_send_writer_start(struct send_db *db, bool threaded,
                                          void (*done)(void *ctx), void *ctx)
{
    struct send_writer *w = suf_xcalloc(1, sizeof(*w));

    w->db = db;
    atomic_init(&w->finished, false);
    /* no worker (none asked for, or no thread to be had): the jobs run
     * inline, in submit, and nobody waits to be told */
    w->jobs = suf_handoff_start(threaded ? 1 : 0, 1, run_job, w);
    if (suf_handoff_workers(w->jobs)) {
        w->done = done;
        w->done_ctx = ctx;
        w->ckpt = suf_ckpt_start(db->st, SEND_CKPT_FRAMES);
    }
    return w;
}

void suf_send_writer_submit(struct send_writer *w, struct send_job *job)
{
    atomic_store_explicit(&w->finished, false, memory_order_relaxed);
    suf_handoff_put(w->jobs, job);
}

bool suf_send_writer_idle(struct send_writer *w, bool wait)
{
    if (!suf_handoff_held(w->jobs))
        return true;
    /* a job that has run is as good as done: wait out its handoff rather
     * than miss the news its wake-up brought */
    if (atomic_load_explicit(&w->finished, memory_order_acquire))
        wait = true;
    return (wait ? suf_handoff_take(w->jobs) : suf_handoff_poll(w->jobs)) != NULL;
}

void suf_send_writer_stop(struct send_writer *w)
{
    if (!w)
        return;
    suf_handoff_free(w->jobs); /* after the job it may still run */
    suf_ckpt_stop(w->ckpt);
    free(w);
}
