/*
 * ckpt.h: WAL checkpoints on a thread of their own, for the long writing
 * loops of `suf reconcile`, `suf plan` and the send stage.
 *
 * A checkpoint copies the WAL into the database file.  SQLite's automatic
 * checkpoint runs it inside the commit that crosses 1000 pages, on the
 * committing thread, which waits for all of it.  Here the store's
 * connection only reports the WAL's size after each commit; past
 * SUF_CKPT_FRAMES a thread runs a PASSIVE checkpoint on a connection of its
 * own, which neither waits for the writer nor stops it.  A commit is as
 * durable as before: it is in the WAL either way.
 *
 * A WAL only starts again from its beginning when a write transaction
 * begins after a complete checkpoint; a writer that commits back to back
 * would let it grow without end, so past SUF_CKPT_MAX_FRAMES the commit
 * waits for a complete checkpoint (as the automatic one would have).
 *
 * Steps: suf_ckpt_start(store, frames) before the loop, suf_ckpt_stop()
 * after it, on the thread that owns the store; stop restores SQLite's
 * automatic checkpoints.  `frames` is the WAL size that starts a pass (0:
 * SUF_CKPT_FRAMES); the commit waits past SUF_CKPT_MAX_FACTOR times that.
 * A smaller WAL leaves less to the checkpoint that closing the store runs
 * on its own thread, with nothing to overlap it, and less file to remove.
 * When the thread or its connection cannot be had, start returns NULL and
 * the automatic checkpoints stay; stop accepts NULL.
 */
#ifndef SUF_CKPT_H
#define SUF_CKPT_H

#include "store/store.h"

#define SUF_CKPT_FRAMES 4096  /* 16 MiB of 4 KiB pages */
#define SUF_CKPT_MAX_FACTOR 4 /* the commit waits past 64 MiB */

struct suf_ckpt;

struct suf_ckpt *suf_ckpt_start(struct suf_store *st, int frames);
void suf_ckpt_stop(struct suf_ckpt *c);

#endif /* SUF_CKPT_H */
