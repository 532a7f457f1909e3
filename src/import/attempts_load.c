/*
 * attempts_load.c: one file's rows into `attempts`, by upserts or in bulk
 * (see attempts_load.h for the contract both keep).
 *
 * Why bulk exists: a delivery export comes in no order of wamid or phone,
 * so each of the two indexes of `attempts` takes every row at a random
 * place.  For a million rows that is two million b-tree descents, page
 * splits that leave pages two thirds full, and a page cache large enough
 * to hold the trees.  Appending the rows and building each index with
 * CREATE INDEX costs one sort per index instead, and writes each index page
 * once, full.
 *
 * The bulk way keeps the upsert's semantics with set-based SQL after the
 * rows are in: INTEGER PRIMARY KEY appends at max(id) + 1, so of the rows
 * of an attempt held more than once (twice in the file, or stored before
 * and in the file again) the lowest id is the first seen, which the upsert
 * would have kept, and the highest the last, whose columns it would have
 * written.
 *
 * Memory: with temp_store = MEMORY (the store's setting) SQLite sorts
 * wholly in memory, so the sort of a large file would grow with it.  Bulk
 * loads switch to temp files, where the sorter keeps at most cache_size
 * bytes in memory and spills the rest in sorted runs.
 */
#include <stdio.h>
#include <string.h>

#include "import/attempts_load.h"
#include "base/banned.h"

/* Page cache while a file goes in.  Upserts: both index trees are written
 * all over, and a cache that holds them is what keeps them fast (measured
 * on 1M rows: 2 MiB takes 50 % more CPU than 64 MiB, 80 MiB 12 % less than
 * 64).  Bulk: the appends touch only the right edge of the table, so any
 * cache from 8 MiB up costs the same CPU (measured on 1M rows, median of
 * 3: 8, 16, 24 and 32 MiB within 3 % of each other).
 *
 * The bulk cache is the import's fixed memory budget, and it is sized
 * against what grows with the file.  One file is one transaction, and in
 * WAL mode every page it writes has an entry in the WAL index (the -shm
 * file, mapped and touched): 8 bytes a page, about 0.8 MB per million
 * export rows.  The sorter adds a 4 KiB read buffer per sorted run, about
 * 0.2 MB per million rows.  Peak RSS at 1M and 10M rows (BENCH_BIG in
 * bench/bench-import): with 8 MiB, 24.3 and 32.8 MB (1.35x); with 24 MiB,
 * 39.9 and 47.5 MB (1.19x).
 * The index builds shrink the cache (BUILD_CACHE), but the allocator keeps
 * the heap it leaves, so the peak is this budget plus what grows, at every
 * size. */
#define UPSERT_CACHE "PRAGMA cache_size = -81920"
#define BULK_CACHE "PRAGMA cache_size = -24576"
/* While the indexes are built, cache_size is the size of each sorted run
 * the sorter keeps in memory before it spills it.  A run of 2 MiB sorts
 * within the processor's own cache; the merge of more, smaller runs costs
 * less than the cache misses of sorting big ones.  Measured on 1M and 4M
 * rows (median CPU, CREATE INDEX attempts_key): 8 MiB 1.04 s and 4.4 s,
 * 2 MiB 0.91 s and 3.7 s; the recipient index about the same at both
 * sizes.  At 10M rows the many more runs cost no more than bigger ones:
 * CPU of both builds (one run each), 23.4 s with 2 MiB runs, 22.9 s with
 * 8 MiB, 35.9 s with 32 MiB. */
#define BUILD_CACHE "PRAGMA cache_size = -2048"
#define BULK_ROW_BYTES 256

static const char insert_sql[] =
    "INSERT INTO attempts (" SUF_ATTEMPT_COLS ") "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
    "  ?19, ?20)";

static const char upsert_sql[] =
    "INSERT INTO attempts (" SUF_ATTEMPT_COLS ") "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
    "  ?19, ?20) "
    "ON CONFLICT (campaign_id, message_id) DO UPDATE SET (" SUF_ATTEMPT_DATA_COLS ") = ("
    "  excluded.phone, excluded.phone_valid, excluded.campaign_name, excluded.template_name, "
    "  excluded.template_language, excluded.status, excluded.error_code, "
    "  excluded.error_title, excluded.attempt, excluded.sent_at, excluded.text, "
    "  excluded.vars, excluded.header_media_url, excluded.url_suffixes, "
    "  excluded.button_payloads, excluded.customer_name, excluded.file_id, excluded.line)";

/* The attempts held more than once once the file is in (one grouped pass
 * over the key): the first row of each, and its last. */
#define HELD_TWICE                                                                          \
    "SELECT message_id, campaign_id, min(id) AS keep, max(id) AS last FROM attempts "       \
    "GROUP BY message_id, campaign_id HAVING count(*) > 1"

/* The first row of each attempt held twice takes the columns of its last... */
static const char fold_update_sql[] =
    "UPDATE attempts AS a SET (" SUF_ATTEMPT_DATA_COLS ") = ("
    "  SELECT " SUF_ATTEMPT_DATA_COLS " FROM attempts b WHERE b.id = d.last) "
    "FROM (" HELD_TWICE ") AS d WHERE a.id = d.keep";

/* ...and its other rows go. */
static const char fold_delete_sql[] =
    "DELETE FROM attempts WHERE id IN ("
    "  SELECT n.id FROM (" HELD_TWICE ") AS d JOIN attempts n "
    "  ON n.message_id = d.message_id AND n.campaign_id = d.campaign_id AND n.id <> d.keep)";

bool suf_attempts_load_bulk_pays(int64_t max_id, int64_t file_bytes)
{
    return max_id <= file_bytes / BULK_ROW_BYTES;
}

static int pragma_int(struct suf_store *st, const char *sql, int64_t *v)
{
    struct suf_err ignored = SUF_ERR_INIT;

    return suf_store_scalar(st, sql, NULL, v, &ignored);
}

/* Keeps the name and SQL of every index of `attempts` (unique ones
 * first); false when one has no SQL (an index made by a UNIQUE constraint
 * cannot be dropped). */
static int save_indexes(struct suf_attempts_load *l, bool *droppable, struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(
        l->st,
        "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'attempts' "
        "ORDER BY sql LIKE 'CREATE UNIQUE %' DESC, name",
        err);
    int rc;

    if (!s)
        return SUF_ERR_DB;
    *droppable = true;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(s, 0);
        const char *sql = (const char *)sqlite3_column_text(s, 1);

        if (!sql) {
            *droppable = false;
            continue;
        }
        suf_buf_add(&l->names, name, strlen(name) + 1);
        suf_buf_add(&l->indexes, sql, strlen(sql) + 1);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return suf_store_fail(l->st, err, "attempts indexes");
    return SUF_OK;
}

/* Drops every index of `attempts` (their SQL is saved).  The names come
 * from the schema, not from any input, and are quoted all the same. */
static int drop_indexes(struct suf_attempts_load *l, struct suf_err *err)
{
    int rc = SUF_OK;

    for (size_t off = 0; off < l->names.len && !rc; off += strlen(l->names.buf + off) + 1) {
        char *sql = sqlite3_mprintf("DROP INDEX \"%w\"", l->names.buf + off);

        rc = suf_store_exec(l->st, sql, err);
        sqlite3_free(sql);
    }
    return rc;
}

/* Decides the way for this file: bulk when asked, or when it pays and the
 * schema and the connection allow it. */
static int choose(struct suf_attempts_load *l, enum suf_load_mode mode, int64_t file_bytes,
                  struct suf_err *err)
{
    bool droppable;
    int rc;

    if (mode == SUF_LOAD_UPSERT)
        return SUF_OK;
    if ((rc = suf_store_scalar(l->st, "SELECT coalesce(max(id), 0) FROM attempts", NULL,
                               &l->base, err)))
        return rc;
    if (mode == SUF_LOAD_AUTO && !suf_attempts_load_bulk_pays(l->base, file_bytes))
        return SUF_OK;
    if ((rc = save_indexes(l, &droppable, err)))
        return rc;
    if (!droppable) {
        suf_buf_reset(&l->names);
        suf_buf_reset(&l->indexes);
        return SUF_OK;
    }
    /* Sorts spill to temp files rather than growing in memory.  SQLite
     * refuses the change while this connection has temp tables open in
     * the transaction: then a forced bulk load sorts in memory, an
     * automatic one upserts. */
    if (pragma_int(l->st, "PRAGMA temp_store", &l->saved_temp) ||
        sqlite3_exec(l->st->db, "PRAGMA temp_store = FILE", NULL, NULL, NULL) != SQLITE_OK) {
        l->saved_temp = -1;
        if (mode == SUF_LOAD_AUTO)
            return SUF_OK;
    }
    l->bulk = true;
    return SUF_OK;
}

int suf_attempts_load_begin(struct suf_attempts_load *l, struct suf_store *st,
                            enum suf_load_mode mode, int64_t file_bytes, struct suf_err *err)
{
    int rc;

    memset(l, 0, sizeof(*l));
    l->st = st;
    l->saved_temp = -1;
    if (pragma_int(st, "PRAGMA cache_size", &l->saved_cache))
        l->saved_cache = -2000;
    if ((rc = choose(l, mode, file_bytes, err)))
        return rc;
    if (l->bulk && (rc = drop_indexes(l, err)))
        return rc;
    if ((rc = suf_store_exec(st, l->bulk ? BULK_CACHE : UPSERT_CACHE, err)))
        return rc;
    l->insert = suf_store_prepare(st, l->bulk ? insert_sql : upsert_sql, err);
    return l->insert ? SUF_OK : SUF_ERR_DB;
}

int suf_attempts_load_step(struct suf_attempts_load *l, struct suf_err *err)
{
    int rc = sqlite3_step(l->insert);

    sqlite3_reset(l->insert);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(l->st, err, "attempts");
}

/* Folds each attempt this file holds twice, or that was stored before,
 * into its first row (see the file comment): two grouped passes over a
 * key index made for them. */
static int fold_seen_again(struct suf_attempts_load *l, struct suf_err *err)
{
    static const char *const steps[] = {fold_update_sql, fold_delete_sql};
    int rc;

    /* The lookups below need the key; it cannot be unique yet. */
    if ((rc = suf_store_exec(l->st,
                             "CREATE INDEX attempts_fold ON attempts (message_id, campaign_id)",
                             err)))
        return rc;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        sqlite3_stmt *s = suf_store_prepare(l->st, steps[i], err);

        if (!s)
            return SUF_ERR_DB;
        rc = sqlite3_step(s);
        sqlite3_finalize(s);
        if (rc != SQLITE_DONE)
            return suf_store_fail(l->st, err, "attempts seen again");
    }
    return suf_store_exec(l->st, "DROP INDEX attempts_fold", err);
}

int suf_attempts_load_finish(struct suf_attempts_load *l, struct suf_err *err)
{
    bool folded = false;
    size_t off = 0;
    int rc;

    if (!l->bulk)
        return SUF_OK;
    if ((rc = suf_store_exec(l->st, BUILD_CACHE, err)))
        return rc;
    /* Unique indexes come first (save_indexes' order): the first one that
     * finds a key twice makes us fold, once, and try again. */
    while (off < l->indexes.len) {
        const char *sql = l->indexes.buf + off;

        if (sqlite3_exec(l->st->db, sql, NULL, NULL, NULL) == SQLITE_OK) {
            off += strlen(sql) + 1;
            continue;
        }
        if (sqlite3_errcode(l->st->db) != SQLITE_CONSTRAINT || folded)
            return suf_store_fail(l->st, err, "attempts index");
        /* A failed statement undoes itself only; should SQLite ever have
         * rolled the whole transaction back, nothing is left to fold. */
        if (sqlite3_get_autocommit(l->st->db))
            return suf_err_at(err, SUF_ERR_DB, l->st->path, 0,
                              "attempts index: the file's transaction was rolled back");
        if ((rc = fold_seen_again(l, err)))
            return rc;
        folded = true;
    }
    return SUF_OK;
}

void suf_attempts_load_release(struct suf_attempts_load *l)
{
    char sql[64];

    sqlite3_finalize(l->insert);
    l->insert = NULL;
    snprintf(sql, sizeof(sql), "PRAGMA cache_size = %lld", (long long)l->saved_cache);
    sqlite3_exec(l->st->db, sql, NULL, NULL, NULL);
    if (l->saved_temp >= 0) {
        snprintf(sql, sizeof(sql), "PRAGMA temp_store = %lld", (long long)l->saved_temp);
        sqlite3_exec(l->st->db, sql, NULL, NULL, NULL);
    }
    suf_buf_release(&l->names);
    suf_buf_release(&l->indexes);
}
