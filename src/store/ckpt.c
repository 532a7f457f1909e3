/*
 * ckpt.c: WAL checkpoints on a thread of their own (see ckpt.h).
 *
 * The hand-over is a mutex and a condition variable: `wanted` asks for a
 * pass, `passes` counts the passes done, so a commit past the hard limit
 * can wait for one that began after it.  The thread blocks every signal:
 * the stop flag belongs to the main thread.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "store/ckpt.h"
#include "base/banned.h"

struct suf_ckpt {
    struct suf_store *st;
    struct suf_store own; /* the checkpointer's connection */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool wanted, busy, quit;
    uint64_t passes; /* complete passes */
    int64_t saved;   /* the store's wal_autocheckpoint, restored at stop */
};

static void *ckpt_main(void *arg)
{
    struct suf_ckpt *c = arg;

    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->wanted && !c->quit)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->quit)
            break; /* what is left is checkpointed as SQLite always does */
        c->wanted = false;
        c->busy = true;
        pthread_mutex_unlock(&c->mu);
        /* PASSIVE: as much as no reader or writer needs; never waits */
        sqlite3_wal_checkpoint_v2(c->own.db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&c->mu);
        c->busy = false;
        c->passes++;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* The store's connection committed: `frames` are in the WAL. */
static int on_wal(void *ctx, sqlite3 *db, const char *name, int frames)
{
    struct suf_ckpt *c = ctx;

    (void)db;
    (void)name;
    if (frames < SUF_CKPT_FRAMES)
        return SQLITE_OK;
    pthread_mutex_lock(&c->mu);
    c->wanted = true;
    pthread_cond_broadcast(&c->cv);
    if (frames >= SUF_CKPT_MAX_FRAMES) {
        /* a pass that starts after this commit, then the next write
         * transaction starts the WAL again */
        uint64_t want = c->passes + (c->busy ? 2 : 1);
        while (c->passes < want && !c->quit)
            pthread_cond_wait(&c->cv, &c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return SQLITE_OK;
}

struct suf_ckpt *suf_ckpt_start(struct suf_store *st)
{
    struct suf_err ignored = SUF_ERR_INIT;
    struct suf_ckpt *c;
    struct suf_store own = SUF_STORE_INIT;
    int64_t saved = 1000;

    if (!suf_store_is_wal(st) ||
        suf_store_scalar(st, "PRAGMA wal_autocheckpoint", NULL, &saved, &ignored))
        return NULL;
    if (suf_store_open(&own, st->path, 0, &ignored))
        return NULL;
    c = suf_xcalloc(1, sizeof(*c));
    c->st = st;
    c->saved = saved;
    c->own = own;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (suf_thread_start(&c->thread, ckpt_main, c)) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        suf_store_close(&c->own);
        free(c);
        return NULL;
    }
    sqlite3_wal_hook(st->db, on_wal, c);
    return c;
}

void suf_ckpt_stop(struct suf_ckpt *c)
{
    if (!c)
        return;
    /* back to the automatic checkpoints (this replaces our hook) */
    sqlite3_wal_autocheckpoint(c->st->db, (int)c->saved);
    pthread_mutex_lock(&c->mu);
    c->quit = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    suf_store_close(&c->own);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
