/*
 * rowbatch.h: rows for one table, gathered in memory and written by one
 * multi-row INSERT per batch.
 *
 * Plan writes a row per recipient, and a few per new fallback.  One
 * prepared-statement step per row pays, for each row, the bind copies, the
 * statement's start and its halt; a batch pays them once for
 * SUF_ROWBATCH_ROWS rows.  The values are copied into the batch when they
 * are added (text into one arena), and bound without copying when the batch
 * is written.  Rows are written in the order they were added, so rowids
 * given by the table come out as one statement per row gives them.
 *
 * Invariants:
 *  - nothing reaches the table before suf_rowbatch_flush (or the add that
 *    fills the batch): a caller reading the table first flushes;
 *  - a row is complete when as many values as the tuple has '?' were added.
 *
 * Steps:
 *  1. suf_rowbatch_new(st, head, tuple, tail, what, &err): the statement is
 *     head, then `tuple` once per row, then tail;
 *  2. per row, one suf_rowbatch_int / _text / _null / _value per '?' of the
 *     tuple, in order, then suf_rowbatch_end(b, &err), which writes the
 *     batch when it is full;
 *  3. suf_rowbatch_flush(b, &err) writes the rows left; before the
 *     transaction commits, and before anything reads the table;
 *  4. suf_rowbatch_free(b), which drops rows not written.
 */
#ifndef SUF_ROWBATCH_H
#define SUF_ROWBATCH_H

#include <stdint.h>

#include <sqlite3.h>

#include "base/status.h"
#include "store/store.h"

/* Rows per statement: the tuple's parameters times this stay under 999,
 * SQLite's oldest limit on parameters, for tuples of up to 15. */
#define SUF_ROWBATCH_ROWS 64

struct suf_rowbatch; /* opaque */

/* Prepares "head tuple, tuple, ... tail" for a full batch and for one row.
 * `what` names the table in errors (a static string, kept).  NULL on
 * failure, with err filled. */
struct suf_rowbatch *suf_rowbatch_new(struct suf_store *st, const char *head, const char *tuple,
                                      const char *tail, const char *what, struct suf_err *err);

/* The next value of the row being added.  Text is copied (NULL binds
 * NULL); a value is copied as its type says. */
void suf_rowbatch_int(struct suf_rowbatch *b, int64_t v);
void suf_rowbatch_text(struct suf_rowbatch *b, const char *v);
void suf_rowbatch_null(struct suf_rowbatch *b);
void suf_rowbatch_value(struct suf_rowbatch *b, sqlite3_value *v);

/* Ends the row; writes the batch when it is full. */
int suf_rowbatch_end(struct suf_rowbatch *b, struct suf_err *err);

/* Writes the rows added and not written yet, in order. */
int suf_rowbatch_flush(struct suf_rowbatch *b, struct suf_err *err);

/* Frees b; accepts NULL. */
void suf_rowbatch_free(struct suf_rowbatch *b);

#endif /* SUF_ROWBATCH_H */
