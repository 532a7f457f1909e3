/*
 * attempts_load.h: private to the delivery importer (import_deliveries.c,
 * attempts_load.c): how one file's rows go into `attempts`.
 *
 * Invariant, whichever way is used: after a file, `attempts` holds exactly
 * what one INSERT ... ON CONFLICT (campaign_id, message_id) DO UPDATE per
 * row, in file order, would have left:
 *  - one row per (campaign_id, message_id);
 *  - an attempt seen again (later in the file, or already stored) keeps the
 *    id of its first row and takes every other column from its last row;
 *  - ids follow the order in which attempts were first seen.
 * The only difference the bulk way may leave is a gap in the ids after an
 * attempt that a file holds twice (its second row took an id, then went).
 *
 * The two ways:
 *  - upsert: each row is an upsert into the indexed table.  Each index
 *    takes each row where it sorts, anywhere in its tree (wamids and phones
 *    come in no order).  Best when the file is small beside the table.
 *  - bulk: inside the file's transaction, every index of `attempts` is
 *    dropped, the rows are appended, an attempt seen twice is folded into
 *    its first row as above, and the indexes are built again from their own
 *    SQL in sqlite_schema, by sorting.  A sort writes each index page once,
 *    full; a million random inserts touch pages all over the tree.  Best
 *    for a file into an empty or small table.  A crash or an error rolls
 *    the whole transaction back, dropped indexes included.
 * SUF_LOAD_AUTO picks bulk when the table is empty or smaller than the file
 * is likely to be (see suf_attempts_load_bulk_pays), and the schema allows
 * it (every index of `attempts` has SQL, so it can be dropped and rebuilt).
 *
 * Steps (all inside the file's transaction):
 *  1. suf_attempts_load_begin(&l, store, mode, file_bytes, &err);
 *  2. for each good row, bind l.insert's parameters ?1..?20 in the order of
 *     SUF_ATTEMPT_COLS and call suf_attempts_load_step(&l, &err);
 *  3. suf_attempts_load_finish(&l, &err) after the last row;
 *  4. suf_attempts_load_release(&l) in every case: it finalizes the
 *     statement and gives the connection its settings back.
 */
#ifndef SUF_ATTEMPTS_LOAD_H
#define SUF_ATTEMPTS_LOAD_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "base/util.h"
#include "import/import.h"
#include "store/store.h"

/* The columns a row binds, as ?1..?20, in this order. */
#define SUF_ATTEMPT_DATA_COLS                                                             \
    "phone, phone_valid, campaign_name, template_name, template_language, status, "       \
    "error_code, error_title, attempt, sent_at, text, vars, header_media_url, "           \
    "url_suffixes, button_payloads, customer_name, file_id, line"
#define SUF_ATTEMPT_COLS "campaign_id, message_id, " SUF_ATTEMPT_DATA_COLS

struct suf_attempts_load {
    struct suf_store *st;
    sqlite3_stmt *insert; /* the row statement: bind ?1..?20, then step */
    bool bulk;
    int64_t base;            /* the highest id before the file (auto: does bulk pay?) */
    struct suf_buf names;    /* bulk: the dropped indexes' names, each NUL-ended */
    struct suf_buf indexes;  /* bulk: their SQL, in the same order */
    int64_t saved_cache;     /* the connection's cache_size before */
    int64_t saved_temp;      /* its temp_store before, -1 when untouched */
};

/* True when a bulk load is likely cheaper than upserts: the table's highest
 * id (a bound on its rows, found in one seek) is at most the rows a file of
 * `file_bytes` holds at 256 bytes a row (exports run 150 to 300). */
bool suf_attempts_load_bulk_pays(int64_t max_id, int64_t file_bytes);

int suf_attempts_load_begin(struct suf_attempts_load *l, struct suf_store *st,
                            enum suf_load_mode mode, int64_t file_bytes, struct suf_err *err);
int suf_attempts_load_step(struct suf_attempts_load *l, struct suf_err *err);
int suf_attempts_load_finish(struct suf_attempts_load *l, struct suf_err *err);
void suf_attempts_load_release(struct suf_attempts_load *l);

#endif /* SUF_ATTEMPTS_LOAD_H */
