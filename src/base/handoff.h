/*
 * handoff.h: the one way suf hands work to another thread: a few worker
 * threads, the bounded queue that feeds them, and their shutdown.
 *
 * The long loops of suf keep one thread on the store and move the rest of
 * the work beside it: WAL checkpoints (store/ckpt.c), the send stage's
 * commits (send/send_writer.c), the parsing of webhook lines
 * (import/events.c), the loading of reconcile's next chunk
 * (reconcile/reconcile.c).  Each used to hand its work over with its own
 * mutex and condition variables; they all need the same few things, which
 * live here once: put an item, have a worker run it, get it back in the
 * order it was put, and end the workers without losing track of an item.
 *
 * Invariants:
 *  - an item is an opaque pointer (not NULL), the caller's: the handoff
 *    never reads, copies or frees it.  From put until take gives it back
 *    it is "held": between the two, only the worker running it touches it;
 *  - items are run in the order they were put, each once (or, after
 *    SUF_HANDOFF_DROP, not at all), by one worker: run(ctx, item).  With
 *    several workers a later item may be done first; take and poll still
 *    give items back strictly in the order they were put;
 *  - at most `cap` items are held.  put waits while the handoff is full,
 *    and only a take makes room: a thread that both puts and takes must
 *    take before it puts into a full handoff (suf_handoff_held == cap);
 *  - handing over orders memory: what the caller wrote before put is seen
 *    by run; what run wrote is seen by the caller once take or poll has
 *    returned the item;
 *  - the workers take no signal: SIGTERM and friends stay with the thread
 *    that started them, whose handlers set the run's stop flag;
 *  - without a worker (none asked for, or no thread to be had) put runs
 *    the item itself before it returns; everything else is the same.
 *
 * The caller's steps:
 *  1. h = suf_handoff_start(workers, cap, run, ctx); it never fails, but
 *     suf_handoff_workers(h) says how many threads it got (0: inline);
 *  2. suf_handoff_put(h, item) for each piece of work;
 *  3. suf_handoff_take(h) (waits) or suf_handoff_poll(h) (does not) for
 *     the oldest held item once it is done;
 *  4. suf_handoff_stop(h, SUF_HANDOFF_FINISH or SUF_HANDOFF_DROP) ends the
 *     workers; afterwards take and poll give back, without waiting, the
 *     items still held, run or dropped;
 *  5. suf_handoff_free(h) (stops with SUF_HANDOFF_FINISH first, when step
 *     4 was skipped).  The items still held stay the caller's.
 */
#ifndef SUF_HANDOFF_H
#define SUF_HANDOFF_H

#include <stddef.h>

/* How suf_handoff_stop() treats the items that no worker has begun. */
enum suf_handoff_end {
    SUF_HANDOFF_FINISH, /* run them all, then end */
    SUF_HANDOFF_DROP,   /* run none of them: they come back from take unrun */
};

struct suf_handoff;

/*
 * Starts up to `workers` threads (0 for none) that call run(ctx, item) for
 * each item put, and room for `cap` held items (at least 1).  Allocates the
 * handoff; the caller frees it with suf_handoff_free.
 */
struct suf_handoff *suf_handoff_start(int workers, size_t cap,
                                      void (*run)(void *ctx, void *item), void *ctx);

/* The number of worker threads running; 0 when put runs the items. */
int suf_handoff_workers(const struct suf_handoff *h);

/* Hands `item` over, first waiting for room while `cap` items are held.
 * Not while suf_handoff_stop runs; after it, put runs the item itself. */
void suf_handoff_put(struct suf_handoff *h, void *item);

/* Gives back the oldest held item once it is done, waiting for it; NULL
 * when no item is held. */
void *suf_handoff_take(struct suf_handoff *h);

/* Like suf_handoff_take, but returns NULL at once when the oldest item is
 * not done yet. */
void *suf_handoff_poll(struct suf_handoff *h);

/* Items put and not yet taken back. */
size_t suf_handoff_held(struct suf_handoff *h);

/* Items put that no worker has begun (a request still waiting to start). */
size_t suf_handoff_queued(struct suf_handoff *h);

/* Ends the workers and joins them.  An item already running finishes; the
 * ones not begun are run or dropped as `end` says (the drop is at once:
 * suf_handoff_queued is 0 before the running items end).  Idempotent. */
void suf_handoff_stop(struct suf_handoff *h, enum suf_handoff_end end);

/* Stops (SUF_HANDOFF_FINISH) unless stopped, and frees the handoff, not the
 * items.  Accepts NULL. */
void suf_handoff_free(struct suf_handoff *h);

#endif /* SUF_HANDOFF_H */
