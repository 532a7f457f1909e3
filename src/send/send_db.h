/*
 * send_db.h: private to the send stage (send.c, send_db.c): the SQL of
 * its bookkeeping, kept apart from the loop that drives the transport.
 *
 * Every function that writes expects the caller's transaction to be open
 * (suf_send_db_begin/commit), except the start-up passes, which open their
 * own.  In a dry run begin/commit do nothing: the stage then runs inside
 * one outer transaction that suf_send_db_close rolls back.
 */
#ifndef SUF_SEND_DB_H
#define SUF_SEND_DB_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "base/context.h"
#include "plan/render.h"
#include "send/cloudapi.h"
#include "store/fsm_db.h"

/* One send row in memory, from fetch to its committed outcome. */
struct send_item {
    int64_t id, fallback_id;
    char kind; /* 'u' or 's' */
    int part, n;
    char *body; /* exactly as stored, or built by its mark (`bytes`) */
    size_t len;
    /* Where the body's bytes stand: the row's own; none yet (queued by plan
     * without them: its mark builds them); built and not stored yet (its
     * in_flight mark stores them); or not buildable (set aside, unmarked). */
    enum { SEND_BYTES_STORED, SEND_BYTES_TO_BUILD, SEND_BYTES_BUILT, SEND_BYTES_UNBUILDABLE }
        bytes;
    int64_t price;    /* the cost cap's estimate taken at its claim (micros) */
    char *phone, *campaign;
    int64_t consented_at; /* 0 when none */
    int tries_run;        /* tries in this run */
    int64_t due_ms;       /* monotonic ms when a retry may go */
    /* The reply as the transport gave it (res.net and res.http_status say
     * the rest), until the job that takes its outcome judges it: the parse
     * is the writer's work, not the wire's. */
    char *reply, *location;
    size_t reply_len;
    struct suf_api_result res;
    enum suf_api_verdict verdict;
    int64_t delay_ms;  /* backoff for a retry */
    bool again;        /* retry within this run (else: next run) */
    bool marked;       /* set by a job: its in_flight mark is committed */
    int tries;         /* the row's tries, as its last in_flight mark set them */
    bool left;         /* its request of this try started to go out */
    int64_t left_at;   /* when it did (0: not yet); its outcome records it */
    bool replied;      /* this try came back (the sending thread's) */
};

/* A request that started to go out, for a job to record (left_at), unless
 * its outcome goes to the same job and records it (`it`: the sending
 * thread's, to tell). */
struct send_departure {
    int64_t id, at;
    struct send_item *it;
};

/*
 * One unit of bookkeeping, one transaction: the departures of requests
 * that started to go out, the outcomes of requests that came back, then the
 * in_flight marks of newly claimed rows (each gets `marked`; false when the
 * row was no longer queued).  While a job runs
 * (suf_send_db_job, possibly on the writer thread) its items belong to it:
 * the caller touches neither them nor the database until it is done.
 */
struct send_job {
    struct send_departure *departed;
    size_t ndeparted, adeparted;
    struct send_item **outcomes;
    size_t noutcomes, aoutcomes;
    struct send_item **marks;
    size_t nmarks, amarks;
    /* Judges each outcome's reply before it is written (its verdict, and
     * for a retry its delay), on the thread that runs the job. */
    void (*judge)(void *ctx, struct send_item *it);
    void *judge_ctx;
    int rc;              /* SUF_OK, or the failure; the transaction was rolled back */
    struct suf_err err;
};

struct send_db {
    struct suf_run *run;
    struct suf_store *st;
    bool dry;
    int64_t margin_s; /* 24 h minus the window margin, in seconds */
    sqlite3_stmt *fetch_s, *fetch_u, *left_u, *skip, *mark, *unmark, *sent, *failed, *retry;
    sqlite3_stmt *departed;
    sqlite3_stmt *last_part, *opt_ins, *opt_phone;
    struct suf_fsm_db fsm;     /* every fallback move: the state machine's writer */
    struct suf_render *render; /* builds the bodies of claimed utility rows */
    int64_t u_after; /* utility fetches go on after this id */
    bool tuned;      /* wal_autocheckpoint is to be restored at close */
    int64_t saved_ckpt;
};

int suf_send_db_open(struct send_db *db, struct suf_run *run, struct suf_err *err);
/* Finalizes; in a dry run, rolls the whole stage back. */
void suf_send_db_close(struct send_db *db);
int suf_send_db_begin(struct send_db *db, struct suf_err *err);
int suf_send_db_commit(struct send_db *db, struct suf_err *err);

/* Start-up passes, each in its own transaction; *n gets the rows changed. */
/* The in_flight rows a dead run left: a row whose request provably never
 * left (no departure in the store, and a departure log of its run that
 * does not name its try) goes back to 'queued' (*requeued); every other
 * becomes 'unknown' (*n). */
int suf_send_db_recover(struct send_db *db, int64_t *n, int64_t *requeued,
                        struct suf_err *err);
int suf_send_db_resend_unknown(struct send_db *db, int64_t *n, struct suf_err *err);
int suf_send_db_expire(struct send_db *db, int64_t *n, struct suf_err *err);
int suf_send_db_optouts(struct send_db *db, int64_t *n, struct suf_err *err);
/* Decides which campaigns may send utility messages (temp table
 * send_ok); logs each refused one; *blocked gets their number. */
int suf_send_db_gate(struct send_db *db, int64_t *blocked, struct suf_err *err);

/* Reads up to `max` sendable rows of `kind`, most urgent first (utility
 * rows: in id order, after the last one fetched before, of pending
 * fallbacks only), into new items appended to *items (grown as needed; the
 * caller frees each with suf_send_item_free and the array with free).  A
 * utility row queued by plan without its bytes comes without them
 * (item->bytes SEND_BYTES_TO_BUILD): its mark builds them. */
int suf_send_db_fetch(struct send_db *db, char kind, int max, struct send_item ***items,
                      size_t *n, size_t *alloc, struct suf_err *err);
/* queued -> in_flight, storing the bytes built at the claim in the same
 * statement; *marked is false when the row was no longer queued.  An
 * item without its bytes gets them built first, from the fallback's frozen
 * inputs (render.h), here on the writer's thread, off the sending
 * thread's path; when its message cannot be built, the row is set aside
 * for the rest of the stage and said so, and the item comes back
 * SEND_BYTES_UNBUILDABLE, unmarked: the row stays queued. */
int suf_send_db_mark(struct send_db *db, struct send_item *it, bool *marked,
                     struct suf_err *err);
/* Sets a queued row aside for the rest of the stage (no price under a cost
 * cap): fetch no longer returns it; its state does not change. */
int suf_send_db_skip(struct send_db *db, const struct send_item *it, struct suf_err *err);
/* The queued utility rows a clean stop leaves for the next run (gated
 * campaigns, not tried by this run, not set aside). */
int suf_send_db_count_left(struct send_db *db, int64_t *n, struct suf_err *err);
/* in_flight -> queued for a claimed row that never left (a clean stop). */
int suf_send_db_unmark(struct send_db *db, struct send_item *it, struct suf_err *err);
/* Commits what happened to `it` (verdict, res, delay_ms, left_at), and feeds its
 * fallback the state machine's event for it: utility accepted
 * (SUF_EV_UTILITY_SENT) or refused (SUF_EV_UTILITY_FAILED, with its code),
 * last session part accepted (SUF_EV_SESSION_SENT), a part refused
 * (SUF_EV_SESSION_FAILED), error 131050 (SUF_EV_OPT_OUT, for every
 * fallback of the phone). */
int suf_send_db_outcome(struct send_db *db, struct send_item *it, struct suf_err *err);
/* Runs `job` (see struct send_job); fills job->rc and job->err. */
void suf_send_db_job(struct send_db *db, struct send_job *job);

/*
 * The writer thread: runs jobs on the stage's connection while the sending
 * thread keeps the wire busy, so that SQLite's commits (and the WAL's
 * checkpoints) overlap the network instead of stopping it.  One job at a
 * time.  The connection is used by one thread at a time: by the writer
 * while a job runs, by the sending thread otherwise (it calls
 * suf_send_writer_idle before any other database work).
 *
 * Steps: w = suf_send_writer_start(db, threaded, done, ctx); ..._submit(w,
 * job); ..._idle(w, wait) until it says the job is done; ..._stop(w) (waits
 * for a running job, joins, frees).  Without `threaded` (a dry run, whose
 * one outer transaction must stay on one thread of control anyway) submit
 * runs the job at once.
 */
struct send_writer;
/* Never fails: without a thread (none asked for, or none to be had) the
 * jobs run inline, in submit.  With a thread, done(ctx) (may be NULL) runs
 * on it each time a job has run, so that the sending thread, told at once,
 * need not look for the news: it must be safe from that thread (the
 * transport's wakeup is). */
struct send_writer *suf_send_writer_start(struct send_db *db, bool threaded,
                                          void (*done)(void *ctx), void *ctx);
/* Only when idle: ..._idle has said the job before is done. */
void suf_send_writer_submit(struct send_writer *w, struct send_job *job);
/* True when no job is running; with `wait`, first waits for the running one. */
bool suf_send_writer_idle(struct send_writer *w, bool wait);
void suf_send_writer_stop(struct send_writer *w);

/*
 * The departure log, "<database>-departures" (send_departures.c): a line
 * per request, written with one write(2) right before the request's first
 * byte, so that it outlives a crash without a commit per request.
 *
 * Steps: suf_send_departures_load() reads the log a dead run left (before
 * recovery); ..._open() starts this run's (after it); ..._note() per
 * departure; ..._close(d, drop) at the end, dropping the file when nothing
 * of this run can still be in flight.
 */
struct send_departures;
/* Fills temp.send_departed (id, tries) from the log; *run gets the run it
 * belongs to, or -1 when there is none or it cannot be trusted. */
int suf_send_departures_load(struct send_db *db, int64_t *run, struct suf_err *err);
/* Starts the log of db->run, replacing the old one; *out stays NULL for a
 * store without a file. */
int suf_send_departures_open(struct send_db *db, struct send_departures **out,
                             struct suf_err *err);
/* Notes that the request of send `id`, try `tries`, is leaving; false when
 * the line could not be written (errno says why): the request must not go. */
bool suf_send_departures_note(struct send_departures *d, int64_t id, int tries);
const char *suf_send_departures_path(const struct send_departures *d);
void suf_send_departures_close(struct send_departures *d, bool drop);

/* True while the consent window of a session item is open. */
bool suf_send_db_window_open(const struct send_db *db, const struct send_item *it);

void suf_send_item_free(struct send_item *it);

#endif /* SUF_SEND_DB_H */
