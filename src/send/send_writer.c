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
 * A second thread checkpoints the WAL (suf/ckpt.h).  A checkpoint copies
 * the WAL into the database and waits for the disk twice; run by the
 * committing connection (SQLite's automatic checkpoint) it stalled the
 * writer, then the wire, for as long.
 *
 * The hand-overs are a mutex and condition variables; the mutex also orders
 * the memory, so the items of a job and the connection pass cleanly from
 * one thread to the other.  Both threads block every signal: SIGTERM and
 * friends stay with the sending thread, which owns the stop flag.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "send/send_db.h"
#include "store/ckpt.h"
#include "base/banned.h"

struct send_writer {
    struct send_db *db;
    bool threaded;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct send_job *job; /* the job to run or running; NULL when idle */
    bool quit;
    struct suf_ckpt *ckpt; /* the checkpointer, when it could be had */
};

static void *writer_main(void *arg)
{
    struct send_writer *w = arg;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        struct send_job *job;

        while (!w->job && !w->quit)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->job)
            break; /* quit, and nothing left to run */
        job = w->job;
        pthread_mutex_unlock(&w->mu);
        suf_send_db_job(w->db, job);
        pthread_mutex_lock(&w->mu);
        w->job = NULL;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

struct send_writer *suf_send_writer_start(struct send_db *db, bool threaded)
{
    struct send_writer *w = suf_xcalloc(1, sizeof(*w));

    w->db = db;
    if (!threaded)
        return w;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->threaded = suf_thread_start(&w->thread, writer_main, w) == 0;
    if (w->threaded)
        w->ckpt = suf_ckpt_start(w->db->st);
    if (!w->threaded) { /* no thread to be had: the jobs run inline */
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
    }
    return w;
}

void suf_send_writer_submit(struct send_writer *w, struct send_job *job)
{
    if (!w->threaded) {
        suf_send_db_job(w->db, job);
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->job = job;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

bool suf_send_writer_idle(struct send_writer *w, bool wait)
{
    bool idle;

    if (!w->threaded)
        return true;
    pthread_mutex_lock(&w->mu);
    while (wait && w->job)
        pthread_cond_wait(&w->cv, &w->mu);
    idle = !w->job;
    pthread_mutex_unlock(&w->mu);
    return idle;
}

void suf_send_writer_stop(struct send_writer *w)
{
    if (!w)
        return;
    if (w->threaded) {
        pthread_mutex_lock(&w->mu);
        w->quit = true;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
        suf_ckpt_stop(w->ckpt);
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
    }
    free(w);
}
