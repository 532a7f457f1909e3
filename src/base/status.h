/*
 * status.h: the one status enum of suf, its messages, and the error context
 * that travels with a failure.
 *
 * Invariants:
 *  - every fallible function returns an `int` that is a `suf_status`; SUF_OK
 *    is 0, so `if (rc)` means "failed";
 *  - a function that fails fills the caller's `struct suf_err` (when it is
 *    not NULL) with the status and a message that already names the file,
 *    the line and the field where one is known;
 *  - statuses map to the documented exit codes (sysexits.h) in one place:
 *    suf_status_exit_code().
 *
 * The caller's steps:
 *  1. declare `struct suf_err err = SUF_ERR_INIT;`
 *  2. pass `&err` down; on failure print `err.msg` (suf_err_print);
 *  3. exit with suf_status_exit_code(rc).
 */
#ifndef SUF_STATUS_H
#define SUF_STATUS_H

#include <stdarg.h>
#include <stdio.h>

enum suf_status {
    SUF_OK = 0,          /* No error. */
    SUF_ERR_USAGE,       /* The command line is wrong. */
    SUF_ERR_CONFIG,      /* The configuration is wrong or unreadable. */
    SUF_ERR_NOINPUT,     /* An input file or folder does not exist or cannot be read. */
    SUF_ERR_INPUT,       /* An input file is not in the expected format at all. */
    SUF_ERR_REJECTS,     /* Work done, but too many input rows were rejected. */
    SUF_ERR_IO,          /* A read or write on disk failed. */
    SUF_ERR_CANTCREAT,   /* An output file or folder cannot be created. */
    SUF_ERR_DB,          /* The database failed. */
    SUF_ERR_LOCKED,      /* Another writing command holds the lock. */
    SUF_ERR_PERM,        /* A secret or file has unsafe permissions, or access was denied. */
    SUF_ERR_SEND,        /* Work done, but some sends failed permanently. */
    SUF_ERR_NETWORK,     /* The API could not be reached at all. */
    SUF_ERR_TEMPLATE,    /* A template is missing, not approved or of the wrong category. */
    SUF_ERR_NOTFOUND,    /* A named campaign, phone or record does not exist. */
    SUF_ERR_INTERRUPTED, /* The run was interrupted by a signal after committing its work. */
    SUF_ERR_UNAVAILABLE, /* The feature is not available in this build. */
    SUF_ERR_INTERNAL,    /* A bug: an invariant did not hold. */
    SUF_ERR_CHANGED,     /* An input file changed while it was read: not taken, try later. */
    SUF_STATUS_COUNT     /* Number of statuses; not a status. */
};

/* A one-line, lowercase description of a status. Never NULL. */
const char *suf_strerror(int status);

/* The process exit code for a status: sysexits.h codes, documented in the
 * README and suf(1). */
int suf_status_exit_code(int status);

/* Writes the status table to `out`, one status a line: its exit code, the
 * code's sysexits.h name ("" for 0 and 130) and its message, tab-separated.
 * `suf --exit-codes` prints it so a test can hold the README to it. */
void suf_status_print_exit_codes(FILE *out);

/*
 * Error context, owned by the caller (usually on the stack). `msg` holds the
 * whole human-readable message, already prefixed with "file:line: " where a
 * location is known.
 */
struct suf_err {
    int status;       /* a suf_status */
    long line;        /* 0 when unknown */
    int http_status;  /* 0 when not an HTTP failure */
    long api_code;    /* Cloud API error code, 0 when none */
    char file[256];   /* the file involved, "" when none */
    char field[64];   /* the field or column involved, "" when none */
    char msg[1024];   /* the message shown to the user */
};

#define SUF_ERR_INIT {0, 0, 0, 0, "", "", ""}

/* Fills `err` (which may be NULL) and returns `status`. */
int suf_err_set(struct suf_err *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As suf_err_set, with a file and line prefixed to the message ("f:12: ..."),
 * line 0 meaning "the whole file" ("f: ..."). */
int suf_err_at(struct suf_err *err, int status, const char *file, long line,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

int suf_err_vset(struct suf_err *err, int status, const char *file, long line,
                 const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

/* Resets `err` to SUF_ERR_INIT. */
void suf_err_clear(struct suf_err *err);

#endif /* SUF_STATUS_H */
