/*
 * csvread.c: the streaming CSV reader (see csvread.h).
 *
 * libcsv does the parsing.  This file decides what libcsv is fed and when:
 * the input is read in 64 KiB blocks and cut at each LF, so every call to
 * csv_parse ends at a physical line end (or at the end of a block, inside a
 * long line).  Whether a record is in progress between two calls tells where
 * the next record starts.  libcsv's field buffer grows through our realloc
 * function, which refuses to go past SUF_CSV_FIELD_MAX: csv_parse then stops
 * with CSV_ENOMEM, the record is marked oversized, the partial field is
 * dropped and parsing goes on where it stopped, so the state machine (quotes
 * included) is never lost and memory never grows.
 *
 * NEEDSWORK: lines are counted at LF.  A file with bare CR line ends (classic
 * Mac) parses correctly, but every record then reports line 1 and raw text
 * that may hold its neighbours.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "base/utf8.h"
#include "base/util.h"
#include "import/csvread.h"
#include "base/banned.h"

const char SUF_CSV_ERR_FIELD_SIZE[] = "field over 64 KiB";
const char SUF_CSV_ERR_RECORD_SIZE[] = "record over 1 MiB or 4096 fields";
const char SUF_CSV_ERR_UNTERMINATED[] = "unterminated quoted field";
const char SUF_CSV_ERR_UTF8[] = "invalid UTF-8";
const char SUF_CSV_ERR_WIDTH[] = "wrong number of fields";

#define BLOCK 65536u

/* libcsv's parser states (csv_parser.pstate, public in csv.h; the values are
 * those of libcsv.c, stable since 2.0). */
enum { CSV_ROW_NOT_BEGUN = 0, CSV_FIELD_BEGUN = 2 };

struct reader {
    struct csv_parser p;
    const struct suf_csv_opts *opts;
    suf_csv_record_fn fn;
    void *ctx;
    int rc; /* non-zero once the callback asked to stop */

    /* the record in progress */
    struct suf_buf fbuf; /* fields, each NUL-terminated */
    size_t *offs, *lens;
    char **ptrs;
    size_t nf, falloc;
    struct suf_buf raw;
    const char *error;
    int64_t start_line;

    int64_t line;  /* physical line being fed, 1-based */
    int64_t index; /* records delivered */
    size_t width;  /* header width (fixed_width) */
    bool idle;     /* no record in progress */
};

/* libcsv's buffer growth: refuse anything past the field cap.  libcsv grows
 * the buffer when it is full before it looks at the next byte, even when
 * that byte ends the field, so a field of exactly the cap needs one more. */
static void *capped_realloc(void *ptr, size_t size)
{
    if (size > SUF_CSV_FIELD_MAX + 1)
        return NULL;
    return realloc(ptr, size);
}

static void record_reset(struct reader *r)
{
    suf_buf_reset(&r->fbuf);
    suf_buf_reset(&r->raw);
    r->nf = 0;
    r->error = NULL;
}

static void set_error(struct reader *r, const char *why)
{
    /* Keep the first reason by precedence: sizes come before the rest. */
    if (!r->error || (why == SUF_CSV_ERR_FIELD_SIZE && r->error != SUF_CSV_ERR_FIELD_SIZE))
        r->error = why;
}

static void on_field(void *data, size_t len, void *vr)
{
    struct reader *r = vr;

    if (r->rc)
        return;
    if (len > SUF_CSV_FIELD_MAX) {
        set_error(r, SUF_CSV_ERR_FIELD_SIZE);
        len = 0;
    }
    if (r->nf >= SUF_CSV_FIELDS_MAX || r->fbuf.len + len + 1 > SUF_CSV_RECORD_MAX) {
        set_error(r, SUF_CSV_ERR_RECORD_SIZE);
        return;
    }
    if (r->nf == r->falloc) {
        r->falloc = r->falloc ? r->falloc * 2 : 32;
        r->offs = suf_xrealloc(r->offs, r->falloc * sizeof(*r->offs));
        r->lens = suf_xrealloc(r->lens, r->falloc * sizeof(*r->lens));
        r->ptrs = suf_xrealloc(r->ptrs, r->falloc * sizeof(*r->ptrs));
    }
    r->offs[r->nf] = r->fbuf.len;
    r->lens[r->nf] = len;
    if (len)
        suf_buf_add(&r->fbuf, data, len);
    suf_buf_addch(&r->fbuf, '\0');
    r->nf++;
}

static void check_fields(struct reader *r)
{
    if (r->opts->check_utf8)
        for (size_t i = 0; i < r->nf; i++)
            if (!suf_utf8_valid(r->ptrs[i], r->lens[i])) {
                set_error(r, SUF_CSV_ERR_UTF8);
                break;
            }
    if (r->opts->fixed_width) {
        if (r->index == 0)
            r->width = r->nf;
        else if (r->nf != r->width)
            set_error(r, SUF_CSV_ERR_WIDTH);
    }
}

static void on_record(int term, void *vr)
{
    struct reader *r = vr;
    struct suf_csv_record rec;
    size_t rawlen = r->raw.len;

    (void)term;
    if (r->rc)
        return;
    for (size_t i = 0; i < r->nf; i++)
        r->ptrs[i] = r->fbuf.buf + r->offs[i];
    check_fields(r);
    while (rawlen && (r->raw.buf[rawlen - 1] == '\n' || r->raw.buf[rawlen - 1] == '\r'))
        rawlen--;
    memset(&rec, 0, sizeof(rec));
    rec.line = r->start_line;
    rec.index = r->index++;
    rec.nfields = r->nf;
    rec.width = r->width;
    rec.fields = r->ptrs;
    rec.lens = r->lens;
    rec.raw = suf_buf_str(&r->raw);
    rec.rawlen = rawlen;
    rec.error = r->error;
    r->rc = r->fn(r->ctx, &rec);
    record_reset(r);
}

/* Feeds one segment (ending at a line end or a block end) to libcsv. */
static void feed(struct reader *r, const char *s, size_t len)
{
    size_t done = 0;

    if (r->idle) {
        r->start_line = r->line;
        record_reset(r);
    }
    if (r->raw.len < SUF_CSV_RAW_MAX)
        suf_buf_add(&r->raw, s,
                    len < SUF_CSV_RAW_MAX - r->raw.len ? len : SUF_CSV_RAW_MAX - r->raw.len);
    while (done < len && !r->rc) {
        done += csv_parse(&r->p, s + done, len - done, on_field, on_record, r);
        if (done < len && csv_error(&r->p) == CSV_ENOMEM) {
            /* A field hit the cap: drop what it holds and go on parsing. */
            set_error(r, SUF_CSV_ERR_FIELD_SIZE);
            r->p.entry_pos = 0;
            r->p.spaces = 0;
            r->p.status = CSV_SUCCESS;
        } else if (done < len) {
            break; /* no other error is possible in non-strict mode */
        }
    }
    r->idle = r->p.pstate == CSV_ROW_NOT_BEGUN;
    if (r->idle)
        suf_buf_reset(&r->raw);
}

static void reader_release(struct reader *r)
{
    csv_free(&r->p);
    suf_buf_release(&r->fbuf);
    suf_buf_release(&r->raw);
    free(r->offs);
    free(r->lens);
    free(r->ptrs);
}

int suf_csv_read(FILE *in, const char *path, const struct suf_csv_opts *opts,
                 suf_csv_record_fn fn, void *ctx, struct suf_err *err)
{
    static const struct suf_csv_opts defaults = SUF_CSV_OPTS_INIT;
    struct reader r;
    char *block = suf_xmalloc(BLOCK);
    bool first = true;
    size_t n;
    int rc = SUF_OK;

    memset(&r, 0, sizeof(r));
    r.opts = opts ? opts : &defaults;
    r.fn = fn;
    r.ctx = ctx;
    r.line = 1;
    r.idle = true;
    if (csv_init(&r.p, 0) != 0) {
        free(block);
        return suf_err_at(err, SUF_ERR_INTERNAL, path, 0, "cannot start the CSV parser");
    }
    csv_set_realloc_func(&r.p, capped_realloc);
    csv_set_blk_size(&r.p, 4096);
    while (!r.rc && (n = fread(block, 1, BLOCK, in)) > 0) {
        const char *s = block, *end = block + n;

        if (first && n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
            s += 3;
        first = false;
        while (s < end && !r.rc) {
            const char *nl = memchr(s, '\n', (size_t)(end - s));
            const char *stop = nl ? nl + 1 : end;

            feed(&r, s, (size_t)(stop - s));
            if (nl)
                r.line++;
            s = stop;
        }
    }
    if (!r.rc && ferror(in)) {
        rc = suf_err_at(err, SUF_ERR_IO, path, r.line, "read error");
        goto out;
    }
    if (!r.rc && !r.idle) {
        if (r.p.pstate == CSV_FIELD_BEGUN && r.p.quoted)
            set_error(&r, SUF_CSV_ERR_UNTERMINATED);
        csv_fini(&r.p, on_field, on_record, &r);
    }
    rc = r.rc;
out:
    reader_release(&r);
    free(block);
    return rc;
}

const char *suf_csv_reason(const struct suf_csv_record *rec, char *buf, size_t size)
{
    if (rec->error == SUF_CSV_ERR_WIDTH)
        snprintf(buf, size, "%s: %zu, the header has %zu", rec->error, rec->nfields,
                 rec->width);
    else
        suf_strlcpy(buf, rec->error ? rec->error : "", size);
    return buf;
}

void suf_csv_header_key(const char *name, char *out, size_t size)
{
    size_t o = 0;
    bool sep = false;

    if (!size)
        return;
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;

        if (c == ' ' || c == '-' || c == '_' || c == '\t') {
            sep = o > 0;
            continue;
        }
        if (sep && o + 1 < size)
            out[o++] = '_';
        sep = false;
        if (o + 1 < size)
            out[o++] = (char)tolower(c);
    }
    out[o] = '\0';
}

int suf_csv_header_find(const char *header, const char *const *names)
{
    char key[256];

    suf_csv_header_key(header, key, sizeof(key));
    for (int i = 0; names[i]; i++)
        if (!strcmp(key, names[i]))
            return i;
    return -1;
}

bool suf_csv_header_numbered(const char *header, const char *prefix, int *n)
{
    char key[256], pre[128];
    size_t plen;
    const char *p;
    int v = 0;

    suf_csv_header_key(header, key, sizeof(key));
    suf_csv_header_key(prefix, pre, sizeof(pre));
    plen = strlen(pre);
    if (!plen || strncmp(key, pre, plen))
        return false;
    p = key + plen;
    if (*p == '_')
        p++;
    if (!isdigit((unsigned char)*p) || *p == '0')
        return false;
    for (; isdigit((unsigned char)*p); p++) {
        v = v * 10 + (*p - '0');
        if (v > 9999)
            return false;
    }
    if (*p)
        return false;
    *n = v;
    return true;
}
