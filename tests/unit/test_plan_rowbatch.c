/*
 * test_plan_rowbatch.c: plan's batched writes (plan/rowbatch.h): rows come
 * out in the order they were added, across full batches and the rows left
 * at the end; every type of value comes back as it went in; a batch is
 * written when it fills and not before; the tuple's constants and the
 * statement's tail apply to each row; a row with the wrong number of values
 * and a row the table refuses are errors that name the table.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "plan/rowbatch.h"
#include "store/store.h"
#include "testutil.h"

static const char head[] = "INSERT INTO t (k, s, r, b, n, c) VALUES ";
static const char tuple[] = "(?, ?, ?, ?, ?, 'const')";

static int64_t scalar(struct suf_store *st, const char *sql)
{
    int64_t v = -1;
    struct suf_err err = SUF_ERR_INIT;
    CU_ASSERT_EQUAL(suf_store_scalar(st, sql, NULL, &v, &err), SUF_OK);
    return v;
}

static void open_table(struct suf_store *st, const char *name)
{
    struct suf_err err = SUF_ERR_INIT;

    memset(st, 0, sizeof(*st));
    st->lock_fd = -1;
    suf_test_store(st, name);
    CU_ASSERT_EQUAL_FATAL(suf_store_exec(st,
                                         "CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER "
                                         "UNIQUE, s TEXT, r REAL, b BLOB, n, c TEXT)",
                                         &err),
                          SUF_OK);
}

/* Adds row k: its text (NULL for every fifth), NULL through a value, the
 * text again, and NULL. */
static int add_row(struct suf_rowbatch *b, sqlite3_value *null, int64_t k, struct suf_err *err)
{
    char text[32];

    snprintf(text, sizeof(text), "row %" PRId64, k);
    suf_rowbatch_int(b, k);
    suf_rowbatch_text(b, k % 5 ? text : NULL);
    suf_rowbatch_value(b, null);
    suf_rowbatch_text(b, text);
    suf_rowbatch_null(b);
    return suf_rowbatch_end(b, err);
}

static void test_plan_rowbatch__rows_keep_their_order_and_values(void)
{
    enum { N = 2 * SUF_ROWBATCH_ROWS + 5 };
    struct suf_store st;
    struct suf_err err = SUF_ERR_INIT;
    struct suf_rowbatch *b;
    sqlite3_stmt *s;
    int64_t k = 0;

    open_table(&st, "order.db");
    b = suf_rowbatch_new(&st, head, tuple, "", "t", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    for (int i = 1; i <= N; i++) {
        CU_ASSERT_EQUAL(add_row(b, NULL, i, &err), SUF_OK);
        /* Written when the batch fills, not before. */
        if (i == SUF_ROWBATCH_ROWS - 1) {
            CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM t"), 0);
        }
        if (i == SUF_ROWBATCH_ROWS || i == SUF_ROWBATCH_ROWS + 1) {
            CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM t"), SUF_ROWBATCH_ROWS);
        }
    }
    CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM t"), 2 * SUF_ROWBATCH_ROWS);
    CU_ASSERT_EQUAL(suf_rowbatch_flush(b, &err), SUF_OK);
    CU_ASSERT_EQUAL(suf_rowbatch_flush(b, &err), SUF_OK); /* nothing left: writes nothing */
    CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM t"), N);
    s = suf_store_prepare(&st, "SELECT id, k, s, typeof(r), typeof(b), b, typeof(n), c "
                               "FROM t ORDER BY id", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    while (sqlite3_step(s) == SQLITE_ROW) {
        char text[32];
        k++;
        snprintf(text, sizeof(text), "row %" PRId64, k);
        /* The rowids the table gives follow the order the rows were added. */
        CU_ASSERT_EQUAL(sqlite3_column_int64(s, 0), k);
        CU_ASSERT_EQUAL(sqlite3_column_int64(s, 1), k);
        if (k % 5) {
            CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(s, 2), text);
        } else {
            CU_ASSERT_EQUAL(sqlite3_column_type(s, 2), SQLITE_NULL);
        }
        CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(s, 3), "null");
        CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(s, 4), "text");
        CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(s, 5), text);
        CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(s, 6), "null");
        CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(s, 7), "const");
    }
    sqlite3_finalize(s);
    CU_ASSERT_EQUAL(k, N);
    suf_rowbatch_free(b);
    suf_store_close(&st);
}

/* A value keeps its type: an integer, a float, text with a NUL inside it,
 * a blob and NULL, as fallback_inputs copies an attempt's columns. */
static void test_plan_rowbatch__values_keep_their_type(void)
{
    struct suf_store st;
    struct suf_err err = SUF_ERR_INIT;
    struct suf_rowbatch *b;
    sqlite3_stmt *src, *s;

    open_table(&st, "values.db");
    src = suf_store_prepare(&st, "SELECT 42, 2.5, CAST(x'610062' AS TEXT), x'00ff10', NULL",
                            &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    CU_ASSERT_EQUAL_FATAL(sqlite3_step(src), SQLITE_ROW);
    b = suf_rowbatch_new(&st, "INSERT INTO t (k, r, s, b, n) VALUES ", "(?, ?, ?, ?, ?)", "",
                         "t", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    for (int i = 0; i < 5; i++)
        suf_rowbatch_value(b, sqlite3_column_value(src, i));
    CU_ASSERT_EQUAL(suf_rowbatch_end(b, &err), SUF_OK);
    sqlite3_finalize(src);
    CU_ASSERT_EQUAL(suf_rowbatch_flush(b, &err), SUF_OK);
    s = suf_store_prepare(&st, "SELECT k, typeof(r), r, typeof(s), length(CAST(s AS BLOB)), "
                               "hex(s), typeof(b), hex(b), typeof(n) FROM t", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL_FATAL(sqlite3_step(s), SQLITE_ROW);
    CU_ASSERT_EQUAL(sqlite3_column_int64(s, 0), 42);
    CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(s, 1), "real");
    CU_ASSERT_DOUBLE_EQUAL(sqlite3_column_double(s, 2), 2.5, 1e-9);
    CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(s, 3), "text");
    CU_ASSERT_EQUAL(sqlite3_column_int64(s, 4), 3);
    CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(s, 5), "610062");
    CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(s, 6), "blob");
    CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(s, 7), "00FF10");
    CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(s, 8), "null");
    sqlite3_finalize(s);
    suf_rowbatch_free(b);
    suf_store_close(&st);
}

/* The tail applies to each row: an upsert's conflict clause updates the
 * row it names, in a full batch as in the rows left. */
static void test_plan_rowbatch__tail_applies_to_each_row(void)
{
    enum { N = SUF_ROWBATCH_ROWS + 3 };
    struct suf_store st;
    struct suf_err err = SUF_ERR_INIT;
    struct suf_rowbatch *b;

    open_table(&st, "tail.db");
    CU_ASSERT_EQUAL(suf_store_exec(&st,
                                   "INSERT INTO t (k, s) VALUES (1, 'old'), (66, 'old'), "
                                   "(1000, 'kept')",
                                   &err),
                    SUF_OK);
    b = suf_rowbatch_new(&st, "INSERT INTO t (k, s) VALUES ", "(?, ?)",
                         "ON CONFLICT (k) DO UPDATE SET s = excluded.s WHERE t.s <> 'kept'", "t",
                         &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    for (int64_t k = 1; k <= N; k++) {
        suf_rowbatch_int(b, k);
        suf_rowbatch_text(b, "new");
        CU_ASSERT_EQUAL(suf_rowbatch_end(b, &err), SUF_OK);
    }
    suf_rowbatch_int(b, 1000);
    suf_rowbatch_text(b, "new");
    CU_ASSERT_EQUAL(suf_rowbatch_end(b, &err), SUF_OK);
    CU_ASSERT_EQUAL(suf_rowbatch_flush(b, &err), SUF_OK);
    CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM t"), N + 1);
    CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM t WHERE s = 'new'"), N);
    CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM t WHERE k = 1000 AND s = 'kept'"), 1);
    suf_rowbatch_free(b);
    suf_store_close(&st);
}

/* A row with a value too many or too few is refused, naming the table, and
 * the rows before it are kept. */
static void test_plan_rowbatch__wrong_count_of_values_is_refused(void)
{
    struct suf_store st;
    struct suf_err err = SUF_ERR_INIT;
    struct suf_rowbatch *b;

    open_table(&st, "count.db");
    b = suf_rowbatch_new(&st, "INSERT INTO t (k, s) VALUES ", "(?, ?)", "", "t", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    suf_rowbatch_int(b, 1);
    suf_rowbatch_text(b, "one");
    CU_ASSERT_EQUAL(suf_rowbatch_end(b, &err), SUF_OK);
    suf_rowbatch_int(b, 2);
    suf_rowbatch_text(b, "two");
    suf_rowbatch_text(b, "three");
    CU_ASSERT_EQUAL(suf_rowbatch_end(b, &err), SUF_ERR_INTERNAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'t'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "3 values, not 2"));
    suf_err_clear(&err);
    suf_rowbatch_int(b, 4);
    CU_ASSERT_EQUAL(suf_rowbatch_end(b, &err), SUF_ERR_INTERNAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "1 values, not 2"));
    suf_err_clear(&err);
    CU_ASSERT_EQUAL(suf_rowbatch_flush(b, &err), SUF_OK);
    CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM t"), 1);
    CU_ASSERT_EQUAL(scalar(&st, "SELECT k FROM t"), 1);
    suf_rowbatch_free(b);
    suf_store_close(&st);
}

/* A row the table refuses fails the write with the table's name, in a full
 * batch and in the rows left. */
static void test_plan_rowbatch__refused_row_names_the_table(void)
{
    struct suf_store st;
    struct suf_err err = SUF_ERR_INIT;
    struct suf_rowbatch *b;

    open_table(&st, "refused.db");
    b = suf_rowbatch_new(&st, "INSERT INTO t (k) VALUES ", "(?)", "", "fallbacks", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    for (int i = 0; i < SUF_ROWBATCH_ROWS - 1; i++) {
        suf_rowbatch_int(b, i);
        CU_ASSERT_EQUAL(suf_rowbatch_end(b, &err), SUF_OK);
    }
    suf_rowbatch_int(b, 0); /* k is UNIQUE */
    CU_ASSERT_EQUAL(suf_rowbatch_end(b, &err), SUF_ERR_DB);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "fallbacks"));
    suf_err_clear(&err);
    suf_rowbatch_int(b, 7);
    CU_ASSERT_EQUAL(suf_rowbatch_end(b, &err), SUF_OK);
    suf_rowbatch_int(b, 7);
    CU_ASSERT_EQUAL(suf_rowbatch_end(b, &err), SUF_OK);
    CU_ASSERT_EQUAL(suf_rowbatch_flush(b, &err), SUF_ERR_DB);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "fallbacks"));
    suf_rowbatch_free(b);
    /* A statement SQLite cannot prepare is refused at once. */
    suf_err_clear(&err);
    CU_ASSERT_PTR_NULL(suf_rowbatch_new(&st, "INSERT INTO nowhere (k) VALUES ", "(?)", "",
                                        "nowhere", &err));
    CU_ASSERT_NOT_EQUAL(err.status, SUF_OK);
    suf_store_close(&st);
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"test_plan_rowbatch__rows_keep_their_order_and_values",
         test_plan_rowbatch__rows_keep_their_order_and_values},
        {"test_plan_rowbatch__values_keep_their_type", test_plan_rowbatch__values_keep_their_type},
        {"test_plan_rowbatch__tail_applies_to_each_row",
         test_plan_rowbatch__tail_applies_to_each_row},
        {"test_plan_rowbatch__wrong_count_of_values_is_refused",
         test_plan_rowbatch__wrong_count_of_values_is_refused},
        {"test_plan_rowbatch__refused_row_names_the_table",
         test_plan_rowbatch__refused_row_names_the_table},
        {NULL, NULL},
    };
    return suf_test_main("plan_rowbatch", tests);
}
