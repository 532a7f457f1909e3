/*
 * rowbatch.c: rows gathered in memory and written by one multi-row INSERT
 * per batch (see rowbatch.h).
 *
 * Each value is a cell: its type, and for text or a blob where its bytes
 * are in the batch's arena.  Offsets, not pointers, because the arena moves
 * as it grows; the bytes are bound in place (SQLITE_STATIC) only when the
 * batch is written, the arena still until the statement is reset.
 */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "plan/rowbatch.h"
#include "base/banned.h"

struct cell {
    int type; /* SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB or SQLITE_NULL */
    int64_t i;
    double d;
    size_t off, len; /* text and blob: their bytes in the arena */
};

struct suf_rowbatch {
    struct suf_store *st;
    const char *what;
    sqlite3_stmt *full; /* SUF_ROWBATCH_ROWS tuples */
    sqlite3_stmt *one;  /* one tuple */
    int nparams;        /* the tuple's '?' */
    size_t rows;        /* complete rows held */
    size_t ncells;      /* cells held, the row being added's included */
    struct cell *cells; /* SUF_ROWBATCH_ROWS * nparams, and a spare */
    struct suf_buf arena;
};

static int count_params(const char *tuple)
{
    int n = 0;
    for (const char *p = tuple; *p; p++)
        n += *p == '?';
    return n;
}

static sqlite3_stmt *prepare_rows(struct suf_store *st, const char *head, const char *tuple,
                                  const char *tail, int rows, struct suf_err *err)
{
    struct suf_buf sql = SUF_BUF_INIT;
    sqlite3_stmt *s;

    suf_buf_addstr(&sql, head);
    for (int r = 0; r < rows; r++) {
        if (r)
            suf_buf_addch(&sql, ',');
        suf_buf_addstr(&sql, tuple);
    }
    suf_buf_addch(&sql, ' ');
    suf_buf_addstr(&sql, tail);
    s = suf_store_prepare(st, suf_buf_str(&sql), err);
    suf_buf_release(&sql);
    return s;
}

struct suf_rowbatch *suf_rowbatch_new(struct suf_store *st, const char *head, const char *tuple,
                                      const char *tail, const char *what, struct suf_err *err)
{
    struct suf_rowbatch *b = suf_xcalloc(1, sizeof(*b));

    b->st = st;
    b->what = what;
    b->nparams = count_params(tuple);
    suf_buf_init(&b->arena);
    b->cells = suf_xcalloc((size_t)SUF_ROWBATCH_ROWS * (size_t)b->nparams + 1, sizeof(*b->cells));
    b->full = prepare_rows(st, head, tuple, tail, SUF_ROWBATCH_ROWS, err);
    b->one = b->full ? prepare_rows(st, head, tuple, tail, 1, err) : NULL;
    if (!b->one) {
        suf_rowbatch_free(b);
        return NULL;
    }
    return b;
}

/* A value past the row's last '?' is counted, not kept (it goes to the
 * spare cell past the last row): suf_rowbatch_end refuses the row. */
static struct cell *next_cell(struct suf_rowbatch *b, int type)
{
    struct cell *c = &b->cells[(size_t)SUF_ROWBATCH_ROWS * (size_t)b->nparams];

    if (b->ncells < (b->rows + 1) * (size_t)b->nparams)
        c = &b->cells[b->ncells];
    b->ncells++;
    c->type = type;
    return c;
}

void suf_rowbatch_int(struct suf_rowbatch *b, int64_t v)
{
    next_cell(b, SQLITE_INTEGER)->i = v;
}

void suf_rowbatch_null(struct suf_rowbatch *b)
{
    next_cell(b, SQLITE_NULL);
}

static void add_bytes(struct suf_rowbatch *b, int type, const void *v, size_t len)
{
    struct cell *c = next_cell(b, type);
    c->off = b->arena.len;
    c->len = len;
    suf_buf_add(&b->arena, v, len);
}

void suf_rowbatch_text(struct suf_rowbatch *b, const char *v)
{
    if (v)
        add_bytes(b, SQLITE_TEXT, v, strlen(v));
    else
        suf_rowbatch_null(b);
}

void suf_rowbatch_value(struct suf_rowbatch *b, sqlite3_value *v)
{
    switch (v ? sqlite3_value_type(v) : SQLITE_NULL) {
    case SQLITE_INTEGER:
        suf_rowbatch_int(b, sqlite3_value_int64(v));
        break;
    case SQLITE_FLOAT:
        next_cell(b, SQLITE_FLOAT)->d = sqlite3_value_double(v);
        break;
    case SQLITE_TEXT: {
        const unsigned char *t = sqlite3_value_text(v);
        add_bytes(b, SQLITE_TEXT, t, (size_t)sqlite3_value_bytes(v));
        break;
    }
    case SQLITE_BLOB: {
        const void *p = sqlite3_value_blob(v);
        size_t n = (size_t)sqlite3_value_bytes(v);
        if (p)
            add_bytes(b, SQLITE_BLOB, p, n);
        else
            add_bytes(b, SQLITE_BLOB, "", 0);
        break;
    }
    default:
        suf_rowbatch_null(b);
    }
}

static int bind_cell(struct suf_rowbatch *b, sqlite3_stmt *s, int i, const struct cell *c)
{
    const char *bytes = b->arena.buf ? b->arena.buf + c->off : "";

    switch (c->type) {
    case SQLITE_INTEGER:
        return sqlite3_bind_int64(s, i, c->i);
    case SQLITE_FLOAT:
        return sqlite3_bind_double(s, i, c->d);
    case SQLITE_TEXT:
        return sqlite3_bind_text64(s, i, bytes, c->len, SQLITE_STATIC, SQLITE_UTF8);
    case SQLITE_BLOB:
        return sqlite3_bind_blob64(s, i, bytes, c->len, SQLITE_STATIC);
    default:
        return sqlite3_bind_null(s, i);
    }
}

/* Binds `rows` rows from the row `first` on, and runs s once. */
static int write_rows(struct suf_rowbatch *b, sqlite3_stmt *s, size_t first, size_t rows,
                      struct suf_err *err)
{
    const struct cell *c = &b->cells[first * (size_t)b->nparams];
    int n = (int)rows * b->nparams, rc = SQLITE_OK;

    for (int i = 0; i < n && rc == SQLITE_OK; i++)
        rc = bind_cell(b, s, i + 1, &c[i]);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    rc = rc == SQLITE_DONE ? SUF_OK : suf_store_fail(b->st, err, b->what);
    sqlite3_reset(s);
    return rc;
}

/* Drops every row held, written or not. */
static void clear(struct suf_rowbatch *b)
{
    b->rows = 0;
    b->ncells = 0;
    suf_buf_reset(&b->arena);
}

int suf_rowbatch_flush(struct suf_rowbatch *b, struct suf_err *err)
{
    int rc = SUF_OK;

    if (b->rows == SUF_ROWBATCH_ROWS) {
        rc = write_rows(b, b->full, 0, b->rows, err);
    } else {
        for (size_t r = 0; !rc && r < b->rows; r++)
            rc = write_rows(b, b->one, r, 1, err);
    }
    clear(b);
    return rc;
}

int suf_rowbatch_end(struct suf_rowbatch *b, struct suf_err *err)
{
    size_t want = (b->rows + 1) * (size_t)b->nparams;

    if (b->ncells != want) {
        size_t got = b->ncells - b->rows * (size_t)b->nparams;
        b->ncells = b->rows * (size_t)b->nparams;
        return suf_err_set(err, SUF_ERR_INTERNAL, "a row for '%s' has %zu values, not %d",
                           b->what, got, b->nparams);
    }
    b->rows++;
    return b->rows == SUF_ROWBATCH_ROWS ? suf_rowbatch_flush(b, err) : SUF_OK;
}

void suf_rowbatch_free(struct suf_rowbatch *b)
{
    if (!b)
        return;
    sqlite3_finalize(b->full);
    sqlite3_finalize(b->one);
    free(b->cells);
    suf_buf_release(&b->arena);
    free(b);
}
