/*
 * import.h: importing input files, the part every kind shares.
 *
 * A kind (deliveries, templates, campaigns, rates, markets) provides one
 * function that reads an open stream and stores rows.  suf_import_path()
 * does the rest, the same way for every kind:
 *  - a DIR argument means every regular file in it, sorted by name, as
 *    input.h lists them: no symbolic links, and none modified in the last
 *    inbox_settle_seconds (those are left for the next run); a FILE
 *    argument is read even as a link, and at once;
 *  - what is read must be a regular file (input.h): a FIFO, a device or a
 *    socket is refused at once;
 *  - the file's SHA-256 is computed first; a file already imported (same kind
 *    and hash) is skipped, and the log says so;
 *  - the kind's function runs inside one transaction per file, so a crash
 *    leaves a file wholly imported or not at all;
 *  - a file whose size, modification or change time differs after the
 *    parse from before the hash was written to meanwhile: its hash and rows
 *    are not of one version of it, so nothing of it is kept, and the file
 *    fails with SUF_ERR_CHANGED ("changed while being read"; exit 75) for a
 *    later run to take;
 *  - bad rows are stored with suf_import_reject() and the import goes on;
 *  - when a file's rejects exceed max_reject_ratio, the run is marked
 *    SUF_ERR_REJECTS (exit non-zero after all other work); fewer rejects
 *    give a warning.
 * A file that cannot be read, or is not of its kind at all (no usable
 * header, not JSON), is a hard error for that file only: the kind returns
 * SUF_ERR_INPUT with a message naming the file, nothing of it is kept, the
 * run is marked failed, and the other files still import.
 *
 * Events logs are read incrementally (offsets), not by hash; they have their
 * own entry point in events.h.
 */
#ifndef SUF_IMPORT_H
#define SUF_IMPORT_H

#include <stdint.h>
#include <stdio.h>

#include "base/context.h"

struct suf_progress;

/* Options a kind may take from the command line. */
struct suf_import_opts {
    const char *effective; /* rates: YYYY-MM-DD the card takes effect */
    const char *currency;  /* rates: currency code, default from config */
};

/* One file being imported: given to the kind's function. */
struct suf_import_file {
    struct suf_run *run;
    const char *kind;
    const char *path; /* as given by the user, for messages */
    int64_t size;     /* its size in bytes when opened */
    const struct suf_import_opts *opts;
    int64_t file_id; /* files.id */
    int64_t rows;    /* rows read, good and bad (the kind counts them) */
    int64_t rejects; /* rows rejected (suf_import_reject counts them) */
    int64_t warned;  /* reject warnings printed so far */
    FILE *in;                 /* the stream being read */
    struct suf_progress *bar; /* the import's progress line, in bytes */
    int64_t bar_base;         /* bytes of the files before this one */
};

/* Moves the import's progress line to the bytes `f` has read; cheap when
 * no line is due, so a kind calls it once per row. */
void suf_import_progress(struct suf_import_file *f);

typedef int (*suf_import_fn)(struct suf_import_file *f, FILE *in, struct suf_err *err);

/* Stores one rejected row (file, 1-based physical line where the record
 * starts, reason, raw text) and logs the first few as warnings
 * ("deliveries.csv:12: phone 'abc' is not a number"). */
int suf_import_reject(struct suf_import_file *f, int64_t line, const char *reason,
                      const char *raw, size_t rawlen, struct suf_err *err);

/* Imports FILE or every file of DIR with `fn`. Per-file hard errors are
 * logged and make the return SUF_ERR_INPUT (or the I/O status) after the
 * other files were tried; database errors stop at once. */
int suf_import_path(struct suf_run *run, const char *kind, suf_import_fn fn, const char *path,
                    const struct suf_import_opts *opts, struct suf_err *err);

/* The seam between hashing a file and parsing it: tests change the file
 * there, to see a file written to during its import refused. */
struct suf_import_hook {
    void (*hashed)(void *ctx, const char *path); /* the file is hashed, not yet parsed */
    void *ctx;
};

/* suf_import_path, calling `hook` (which may be NULL) for each file. */
int suf_import_path_hooked(struct suf_run *run, const char *kind, suf_import_fn fn,
                           const char *path, const struct suf_import_opts *opts,
                           const struct suf_import_hook *hook, struct suf_err *err);

/* The kinds of the import area. */
int suf_import_deliveries(struct suf_import_file *f, FILE *in, struct suf_err *err);

/* How a delivery export's rows go into `attempts` (attempts_load.h): by
 * upserts, or appended with the indexes built afterwards.  Both leave the
 * same rows; AUTO picks by the table's and the file's sizes, and is what
 * suf_import_deliveries uses.  Tests force one or the other. */
enum suf_load_mode { SUF_LOAD_AUTO, SUF_LOAD_UPSERT, SUF_LOAD_BULK };
int suf_import_deliveries_as(struct suf_import_file *f, FILE *in, enum suf_load_mode mode,
                             struct suf_err *err);
int suf_import_campaigns(struct suf_import_file *f, FILE *in, struct suf_err *err);

#endif /* SUF_IMPORT_H */
