/*
 * ckpt.c: WAL checkpoints on a thread of their own (see ckpt.h).
 *
 * Each pass is an item of a handoff (base/handoff.h) with one worker: the
 * commit that wants a pass puts one unless a pass is already queued and not
 * begun (that one will see this commit too), so at most one runs and one
 * waits.  A commit past the hard limit takes back every pass held, the last
 * of which began after it.  A pass still queued at stop is dropped: what is
 * left is checkpointed as SQLite always does.  The worker takes no signal:
 * the stop flag belongs to the main thread.
 */
#include <stdlib.h>
#include <string.h>

#include "base/handoff.h"
#include "base/util.h"
#include "store/ckpt.h"
#include "base/banned.h"

struct suf_ckpt {
    struct suf_store *st;
    struct suf_store own;       /* the checkpointer's connection */
    struct suf_handoff *passes; /* each item is this struct: one pass */
    int64_t saved;              /* the store's wal_autocheckpoint, restored at stop */
    int frames, max_frames;     /* a pass starts at the first; the commit waits past the second */
};

/* One pass, on the worker. */
static void run_pass(void *ctx, void *item)
{
    struct suf_ckpt *c = ctx;

    (void)item;
    /* PASSIVE: as much as no reader or writer needs; never waits */
    sqlite3_wal_checkpoint_v2(c->own.db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

/* The store's connection committed: `frames` are in the WAL. */
static int on_wal(void *ctx, sqlite3 *db, const char *name, int frames)
{
    struct suf_ckpt *c = ctx;

    (void)db;
    (void)name;
    if (frames < c->frames)
        return SQLITE_OK;
    while (suf_handoff_poll(c->passes))
        ; /* passes done: nothing to read back */
    if (!suf_handoff_queued(c->passes))
        suf_handoff_put(c->passes, c);
    if (frames >= c->max_frames) {
        /* a pass that starts after this commit (the last one held), then
         * the next write transaction starts the WAL again */
        while (suf_handoff_take(c->passes))
            ;
    }
    return SQLITE_OK;
}

struct suf_ckpt *suf_ckpt_start(struct suf_store *st, int frames)
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
    c->frames = frames > 0 ? frames : SUF_CKPT_FRAMES;
    c->max_frames = c->frames * SUF_CKPT_MAX_FACTOR;
    /* one running, one waiting */
    c->passes = suf_handoff_start(1, 2, run_pass, c);
    if (!suf_handoff_workers(c->passes)) {
        suf_handoff_free(c->passes);
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
    suf_handoff_stop(c->passes, SUF_HANDOFF_DROP);
    suf_handoff_free(c->passes);
    suf_store_close(&c->own);
    free(c);
}
