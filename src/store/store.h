/*
 * store.h: the SQLite database behind every stage.
 *
 * Invariants:
 *  - one database file in WAL mode, created 0600; the schema version is
 *    PRAGMA user_version, and forward migrations run at open (a database
 *    newer than this binary is refused);
 *  - SQL text is never built from data: every value is bound to a prepared
 *    statement (bind text with SQLITE_TRANSIENT unless the buffer outlives
 *    the statement);
 *  - writing commands hold an exclusive flock on "<database>.lock" for their
 *    whole life; readers (status) take no lock and rely on WAL;
 *  - every stage commits its work in transactions, so a killed process
 *    leaves the store as it was before or after each unit of work.
 *
 * The schema (all times are INTEGER seconds since the epoch, UTC; all money
 * is INTEGER micro-units) is documented table by table in store.c.
 *
 * Steps for a writing command:
 *  1. suf_store_open(&st, path, SUF_STORE_CREATE | SUF_STORE_LOCK, &err)
 *     (SUF_ERR_LOCKED: exit 75; the database was not touched);
 *  2. suf_store_run_begin(...); stages...; suf_store_run_end(...);
 *  3. suf_store_close(&st).
 */
#ifndef SUF_STORE_H
#define SUF_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "base/status.h"

#define SUF_SCHEMA_VERSION 8

enum suf_store_flags {
    SUF_STORE_CREATE = 1,   /* create the file and schema when missing */
    SUF_STORE_READONLY = 2, /* open read-only (status); never migrates */
    SUF_STORE_LOCK = 4,     /* take the writer lock before touching the database */
};

struct suf_store {
    sqlite3 *db;
    char *path;
    int lock_fd; /* -1 when not locked */
};

#define SUF_STORE_INIT {NULL, NULL, -1}

/* Settings of the SQLite library for the whole process; call once, before
 * the first suf_store_open (SQLite takes them only before it starts up).
 * suf keeps no use for SQLite's memory statistics, whose upkeep takes a
 * global mutex on every allocation. */
void suf_store_library_init(void);

/* True when the store is a file in WAL mode, where a second connection on
 * another thread may read (or checkpoint) while this one writes. */
bool suf_store_is_wal(struct suf_store *st);

/* Opens (and with SUF_STORE_CREATE creates) the database and migrates it.
 * On failure the store is left closed and `err` says why. */
int suf_store_open(struct suf_store *st, const char *path, int flags, struct suf_err *err);

/* Takes the exclusive writer lock without waiting: SUF_ERR_LOCKED when another
 * process holds it. The lock is released by suf_store_close or process exit. */
int suf_store_lock(struct suf_store *st, struct suf_err *err);

/* Closes the database and releases the lock. Accepts a closed store. */
void suf_store_close(struct suf_store *st);

/* Runs static SQL (no data in it). */
int suf_store_exec(struct suf_store *st, const char *sql, struct suf_err *err);

/* Prepares `sql`; on failure returns NULL and fills `err`. Finalize it. */
sqlite3_stmt *suf_store_prepare(struct suf_store *st, const char *sql, struct suf_err *err);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. rollback never fails loudly. */
int suf_store_begin(struct suf_store *st, struct suf_err *err);
int suf_store_commit(struct suf_store *st, struct suf_err *err);
void suf_store_rollback(struct suf_store *st);

/* Fills `err` from the connection's last error, with a context word. */
int suf_store_fail(struct suf_store *st, struct suf_err *err, const char *what);

/* Binds text or NULL (for a NULL pointer) with SQLITE_TRANSIENT. */
int suf_bind_text(sqlite3_stmt *s, int i, const char *v);
/* Binds text or NULL without copying (SQLITE_STATIC): for hot paths where the
 * buffer outlives the statement's next step or reset. */
int suf_bind_text_static(sqlite3_stmt *s, int i, const char *v);
/* Binds an integer, or NULL when `is_null`. */
int suf_bind_int64_or_null(sqlite3_stmt *s, int i, int64_t v, bool is_null);
/* Runs a single-value query with one optional text parameter; *out = first
 * column as int64 (0 when no row). */
int suf_store_scalar(struct suf_store *st, const char *sql, const char *param, int64_t *out,
                     struct suf_err *err);

/* --- files and rejects: what every importer records ------------------- */

/*
 * Registers an input file by kind ("deliveries", "templates", "events",
 * "campaigns", "rates", "markets") and SHA-256.  When the same kind and hash
 * were imported before, sets *seen and returns the old id: the caller skips
 * the file and says so.  Must run inside the caller's transaction.
 */
int suf_store_file_register(struct suf_store *st, const char *kind, const char *path,
                            const char *sha256, int64_t size, int64_t run_id, int64_t now,
                            int64_t *file_id, bool *seen, struct suf_err *err);
/* Records the final row and reject counts of a file. */
int suf_store_file_counts(struct suf_store *st, int64_t file_id, int64_t rows, int64_t rejects,
                          struct suf_err *err);
/* Stores one rejected row: the file, its 1-based physical line, the reason
 * and the raw text (capped at 64 KiB; may be NULL). */
int suf_store_reject(struct suf_store *st, int64_t file_id, const char *file, int64_t line,
                     const char *reason, const char *raw, size_t rawlen, int64_t run_id,
                     struct suf_err *err);

/* --- runs ---------------------------------------------------------------- */

/* Inserts a `runs` row (status 'running') and commits it at once. */
int suf_store_run_begin(struct suf_store *st, const char *command, const char *args,
                        int64_t started_at, int64_t as_of, int64_t *run_id, struct suf_err *err);
/* Closes a run: status is "ok", "failed", "interrupted" or "locked";
 * counts_json may be NULL; message may be NULL. */
int suf_store_run_end(struct suf_store *st, int64_t run_id, int64_t ended_at, const char *status,
                      int exit_code, const char *counts_json, const char *message,
                      struct suf_err *err);

#endif /* SUF_STORE_H */
