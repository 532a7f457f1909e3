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
 * A second thread checkpoints the WAL.  A checkpoint copies the WAL into
 * the database and waits for the disk twice; run by the committing
 * connection (SQLite's automatic checkpoint) it stalled the writer, then
 * the wire, for as long.  Here the stage's connection only reports the
 * WAL's size after each commit (sqlite3_wal_hook, which replaces its
 * automatic checkpoints); past CHECKPOINT_FRAMES the checkpointer runs a
 * PASSIVE checkpoint on a connection of its own, which never waits for the
 * writer nor stops it.  Commits are as durable as before: they are in the
 * WAL either way.  suf_send_db_close restores the automatic checkpoints.
 *
 * The hand-overs are a mutex and condition variables; the mutex also orders
 * the memory, so the items of a job and the connection pass cleanly from
 * one thread to the other.  Both threads block every signal: SIGTERM and
 * friends stay with the sending thread, which owns the stop flag.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "suf/util.h"
#include "send_db.h"
#include "suf/banned.h"

#define CHECKPOINT_FRAMES 4096 /* 16 MiB of 4 KiB pages */

struct send_writer {
    struct send_db *db;
    bool threaded;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct send_job *job; /* the job to run or running; NULL when idle */
    bool quit;
    /* the checkpointer, when it could be had */
    bool checkpointing;
    pthread_t ck_thread;
    struct suf_store ck; /* its own connection */
    bool ck_wanted;
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

static void *checkpointer_main(void *arg)
{
    struct send_writer *w = arg;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->ck_wanted && !w->quit)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->quit)
            break; /* what is left is checkpointed as SQLite always does */
        w->ck_wanted = false;
        pthread_mutex_unlock(&w->mu);
        /* PASSIVE: as much as no reader or writer needs; never waits */
        sqlite3_wal_checkpoint_v2(w->ck.db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* The stage's connection committed: `frames` are in the WAL. */
static int on_wal(void *ctx, sqlite3 *db, const char *name, int frames)
{
    struct send_writer *w = ctx;

    (void)db;
    (void)name;
    if (frames >= CHECKPOINT_FRAMES) {
        pthread_mutex_lock(&w->mu);
        w->ck_wanted = true;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    return SQLITE_OK;
}

/* Starts the checkpointer when its connection opens; otherwise SQLite's
 * automatic checkpoints stay. */
static void start_checkpointer(struct send_writer *w)
{
    struct suf_err ignored = SUF_ERR_INIT;
    struct suf_store ck = SUF_STORE_INIT;

    if (!w->db->st->path || suf_store_open(&ck, w->db->st->path, 0, &ignored))
        return;
    w->ck = ck;
    if (pthread_create(&w->ck_thread, NULL, checkpointer_main, w) != 0) {
        suf_store_close(&w->ck);
        return;
    }
    w->checkpointing = true;
    sqlite3_wal_hook(w->db->st->db, on_wal, w);
}

struct send_writer *suf_send_writer_start(struct send_db *db, bool threaded)
{
    struct send_writer *w = suf_xcalloc(1, sizeof(*w));
    sigset_t all, old;

    w->db = db;
    if (!threaded)
        return w;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    w->threaded = pthread_create(&w->thread, NULL, writer_main, w) == 0;
    if (w->threaded)
        start_checkpointer(w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
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
        if (w->checkpointing) {
            sqlite3_wal_hook(w->db->st->db, NULL, NULL);
            pthread_join(w->ck_thread, NULL);
            suf_store_close(&w->ck);
        }
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
    }
    free(w);
}
