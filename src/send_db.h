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

#include "suf/cloudapi.h"
#include "suf/context.h"

/* One send row in memory, from fetch to its committed outcome. */
struct send_item {
    int64_t id, fallback_id;
    char kind; /* 'u' or 's' */
    int part, n;
    char *body; /* exactly as stored */
    size_t len;
    char *phone, *campaign;
    int64_t consented_at; /* 0 when none */
    int tries_run;        /* tries in this run */
    int64_t due_ms;       /* monotonic ms when a retry may go */
    struct suf_api_result res;
    enum suf_api_verdict verdict;
    int64_t delay_ms;  /* backoff for a retry */
    bool again;        /* retry within this run (else: next run) */
};

struct send_db {
    struct suf_run *run;
    struct suf_store *st;
    bool dry;
    int64_t margin_s; /* 24 h minus the window margin, in seconds */
    sqlite3_stmt *fetch_s, *fetch_u, *mark, *unmark, *sent, *failed, *retry;
    sqlite3_stmt *fb_u_sent, *fb_u_failed, *fb_s_sent, *fb_s_failed, *cancel_parts;
    sqlite3_stmt *opt_ins, *opt_fb, *opt_cancel;
};

int suf_send_db_open(struct send_db *db, struct suf_run *run, struct suf_err *err);
/* Finalizes; in a dry run, rolls the whole stage back. */
void suf_send_db_close(struct send_db *db);
int suf_send_db_begin(struct send_db *db, struct suf_err *err);
int suf_send_db_commit(struct send_db *db, struct suf_err *err);

/* Start-up passes, each in its own transaction; *n gets the rows changed. */
int suf_send_db_recover(struct send_db *db, int64_t *n, struct suf_err *err);
int suf_send_db_resend_unknown(struct send_db *db, int64_t *n, struct suf_err *err);
int suf_send_db_expire(struct send_db *db, int64_t *n, struct suf_err *err);
int suf_send_db_optouts(struct send_db *db, int64_t *n, struct suf_err *err);
/* Decides which campaigns may send utility messages (temp table
 * send_ok); logs each refused one; *blocked gets their number. */
int suf_send_db_gate(struct send_db *db, int64_t *blocked, struct suf_err *err);

/* Reads up to `max` sendable rows of `kind`, most urgent first, into new
 * items appended to *items (grown as needed; the caller frees each with
 * suf_send_item_free and the array with free). */
int suf_send_db_fetch(struct send_db *db, char kind, int max, struct send_item ***items,
                      size_t *n, size_t *alloc, struct suf_err *err);
/* queued -> in_flight; *marked is false when the row was no longer queued. */
int suf_send_db_mark(struct send_db *db, struct send_item *it, bool *marked,
                     struct suf_err *err);
/* in_flight -> queued for a claimed row that never left (a clean stop). */
int suf_send_db_unmark(struct send_db *db, struct send_item *it, struct suf_err *err);
/* Commits what happened to `it` (verdict, res, delay_ms) and the fallback's
 * state that follows from it. */
int suf_send_db_outcome(struct send_db *db, struct send_item *it, struct suf_err *err);
/* True while the consent window of a session item is open. */
bool suf_send_db_window_open(const struct send_db *db, const struct send_item *it);

void suf_send_item_free(struct send_item *it);

#endif /* SUF_SEND_DB_H */
