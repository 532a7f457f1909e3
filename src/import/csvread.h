/*
 * csvread.h: a streaming CSV reader on libcsv that knows where each record
 * came from.
 *
 * libcsv parses RFC 4180 well but gives no line numbers, no raw text of a
 * record and no limit on a field's size.  This reader adds the three, so an
 * importer can reject one bad row with "file:line: reason" and its raw text
 * and go on:
 *  - it feeds libcsv one physical line at a time (a line is split into
 *    bounded chunks when it is long), so it knows the 1-based physical line
 *    where each record starts, even when quoted fields hold newlines;
 *  - it keeps the raw bytes of the record (capped at SUF_CSV_RAW_MAX);
 *  - it caps libcsv's field buffer through csv_set_realloc_func: a field over
 *    SUF_CSV_FIELD_MAX bytes makes that record fail with "field over 64 KiB"
 *    and the reader goes on with the next record.  A 100 MB field costs no
 *    more memory than a 64 KiB one;
 *  - it drops a UTF-8 byte order mark, reads LF and CRLF alike, and checks
 *    that every field is valid UTF-8 (no NUL bytes).
 * Memory stays flat whatever the file size: the reader holds one record.
 *
 * Invariants of a delivered record (struct suf_csv_record):
 *  - `error` is NULL for a usable record, else a static reason, by
 *    precedence: an oversized field, an oversized record, an unterminated
 *    quoted field, invalid UTF-8, the wrong number of fields;
 *  - fields[i] is NUL-terminated, lens[i] its length; fields and raw are
 *    owned by the reader and valid only during the callback;
 *  - with `fixed_width`, the first record (the header) sets the width, and a
 *    later record with another field count fails "wrong number of fields"
 *    (its fields are still delivered).
 *
 * Steps:
 *  1. struct suf_csv_opts o = SUF_CSV_OPTS_INIT;
 *  2. suf_csv_read(in, path, &o, on_record, ctx, &err) calls on_record once
 *     per record, header included; a non-zero return from on_record stops the
 *     reading and is returned as is;
 *  3. suf_csv_read returns SUF_OK at the end of the file, SUF_ERR_IO when the
 *     stream cannot be read.
 * A record that fails is rejected with suf_csv_reason's text, so every
 * importer words the reader's errors alike.
 *
 * The header helpers compare column names the way DESIGN.md says: case
 * folded, with space, dash and underscore alike ("Broadcast ID" =
 * "broadcast_id").
 */
#ifndef SUF_CSVREAD_H
#define SUF_CSVREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/status.h"

#define SUF_CSV_FIELD_MAX 65536u      /* bytes in one field */
#define SUF_CSV_RECORD_MAX (1u << 20) /* bytes in all the fields of one record */
#define SUF_CSV_FIELDS_MAX 4096u      /* fields in one record */
#define SUF_CSV_RAW_MAX 65536u        /* raw bytes kept for a reject */

/* The per-record reasons, so that callers and tests can compare them. */
extern const char SUF_CSV_ERR_FIELD_SIZE[];   /* "field over 64 KiB" */
extern const char SUF_CSV_ERR_RECORD_SIZE[];  /* "record over 1 MiB or 4096 fields" */
extern const char SUF_CSV_ERR_UNTERMINATED[]; /* "unterminated quoted field" */
extern const char SUF_CSV_ERR_UTF8[];         /* "invalid UTF-8" */
extern const char SUF_CSV_ERR_WIDTH[];        /* "wrong number of fields" */

struct suf_csv_record {
    int64_t line;              /* 1-based physical line where the record starts */
    int64_t index;             /* 0 for the first record (the header), then 1, 2... */
    size_t nfields;            /* fields delivered */
    size_t width;              /* the header's field count (fixed_width), else 0 */
    char *const *fields;       /* NUL-terminated; owned by the reader */
    const size_t *lens;        /* byte length of each field */
    const char *raw;           /* the record's bytes, line end excluded, capped */
    size_t rawlen;             /* bytes in raw */
    const char *error;         /* NULL, or one of SUF_CSV_ERR_* */
};

struct suf_csv_opts {
    bool fixed_width; /* every record must have the header's field count */
    bool check_utf8;  /* fields must be valid UTF-8 without NUL */
};

#define SUF_CSV_OPTS_INIT {true, true}

typedef int (*suf_csv_record_fn)(void *ctx, const struct suf_csv_record *rec);

/* Reads `in` to its end (see the steps above).  `path` names the stream in
 * error messages. */
int suf_csv_read(FILE *in, const char *path, const struct suf_csv_opts *opts,
                 suf_csv_record_fn fn, void *ctx, struct suf_err *err);

/* Writes into buf[size] why `rec` failed, as a reject states it: its
 * `error`, with the field counts for SUF_CSV_ERR_WIDTH ("wrong number of
 * fields: 3, the header has 8"); "" when it did not fail.  Cut to size - 1
 * bytes.  Returns buf.  The importer adds the file and the line. */
const char *suf_csv_reason(const struct suf_csv_record *rec, char *buf, size_t size);

/* Writes the comparison key of a header name into out[size]: ASCII case
 * folded, space, dash and underscore all "_", spaces around trimmed, runs of
 * separators collapsed.  "  Broadcast-ID " gives "broadcast_id". */
void suf_csv_header_key(const char *name, char *out, size_t size);

/* The index in `names` (a NULL-terminated list of already folded keys) of
 * the one `header` matches, or -1. */
int suf_csv_header_find(const char *header, const char *const *names);

/* True when `header` is `prefix` followed by a number (with or without a
 * separator: "var1", "Var 1", "body_1"); stores the number (1..9999) in *n. */
bool suf_csv_header_numbered(const char *header, const char *prefix, int *n);

#endif /* SUF_CSVREAD_H */
