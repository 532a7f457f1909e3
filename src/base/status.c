/*
 * status.c: messages and exit codes for the statuses of status.h.
 *
 * The two tables run parallel to the enum; tests/unit/test_base.c checks that
 * they have the same length, so adding a status without its message fails
 * the build's tests rather than printing garbage.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "base/status.h"
#include "base/util.h"

static const char *const status_messages[] = {
    "ok",
    "usage error",
    "configuration error",
    "input not found or unreadable",
    "input is not in the expected format",
    "too many input rows rejected",
    "input/output error",
    "cannot create output",
    "database error",
    "another suf command holds the lock",
    "permission denied or unsafe permissions",
    "some sends failed permanently",
    "the Cloud API could not be reached",
    "template missing, not approved or of the wrong category",
    "not found",
    "interrupted",
    "not available in this build",
    "internal error",
    "an input file changed while it was read",
};

static const int status_exit_codes[] = {
    0,              /* SUF_OK */
    EX_USAGE,       /* SUF_ERR_USAGE */
    EX_CONFIG,      /* SUF_ERR_CONFIG */
    EX_NOINPUT,     /* SUF_ERR_NOINPUT */
    EX_DATAERR,     /* SUF_ERR_INPUT */
    EX_DATAERR,     /* SUF_ERR_REJECTS */
    EX_IOERR,       /* SUF_ERR_IO */
    EX_CANTCREAT,   /* SUF_ERR_CANTCREAT */
    EX_SOFTWARE,    /* SUF_ERR_DB: a corrupt or unusable store */
    EX_TEMPFAIL,    /* SUF_ERR_LOCKED */
    EX_NOPERM,      /* SUF_ERR_PERM */
    EX_UNAVAILABLE, /* SUF_ERR_SEND */
    EX_UNAVAILABLE, /* SUF_ERR_NETWORK */
    EX_DATAERR,     /* SUF_ERR_TEMPLATE */
    EX_NOINPUT,     /* SUF_ERR_NOTFOUND */
    130,            /* SUF_ERR_INTERRUPTED: as a shell reports SIGINT */
    EX_UNAVAILABLE, /* SUF_ERR_UNAVAILABLE */
    EX_SOFTWARE,    /* SUF_ERR_INTERNAL */
    EX_TEMPFAIL,    /* SUF_ERR_CHANGED: a later run takes the file */
};

_Static_assert(sizeof(status_messages) / sizeof(status_messages[0]) == SUF_STATUS_COUNT,
               "status_messages must match enum suf_status");
_Static_assert(sizeof(status_exit_codes) / sizeof(status_exit_codes[0]) == SUF_STATUS_COUNT,
               "status_exit_codes must match enum suf_status");

const char *suf_strerror(int status)
{
    if (status < 0 || status >= SUF_STATUS_COUNT)
        return "unknown status";
    return status_messages[status];
}

int suf_status_exit_code(int status)
{
    if (status < 0 || status >= SUF_STATUS_COUNT)
        return EX_SOFTWARE;
    return status_exit_codes[status];
}

/* The sysexits.h name of an exit code, or "" for 0 and 130. */
static const char *exit_code_name(int code)
{
    static const struct {
        int code;
        const char *name;
    } names[] = {
        {EX_USAGE, "EX_USAGE"},       {EX_DATAERR, "EX_DATAERR"},
        {EX_NOINPUT, "EX_NOINPUT"},   {EX_UNAVAILABLE, "EX_UNAVAILABLE"},
        {EX_SOFTWARE, "EX_SOFTWARE"}, {EX_CANTCREAT, "EX_CANTCREAT"},
        {EX_IOERR, "EX_IOERR"},       {EX_TEMPFAIL, "EX_TEMPFAIL"},
        {EX_NOPERM, "EX_NOPERM"},     {EX_CONFIG, "EX_CONFIG"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].code == code)
            return names[i].name;
    return "";
}

void suf_status_print_exit_codes(FILE *out)
{
    for (int status = 0; status < SUF_STATUS_COUNT; status++) {
        int code = suf_status_exit_code(status);
        fprintf(out, "%d\t%s\t%s\n", code, exit_code_name(code), suf_strerror(status));
    }
}

int suf_err_vset(struct suf_err *err, int status, const char *file, long line,
                 const char *fmt, va_list ap)
{
    char body[sizeof(err->msg)];

    if (!err)
        return status;
    err->status = status;
    err->line = line;
    vsnprintf(body, sizeof(body), fmt, ap);
    if (file && *file) {
        snprintf(err->file, sizeof(err->file), "%s", file);
        if (line > 0)
            snprintf(err->msg, sizeof(err->msg), "%s:%ld: %s", file, line, body);
        else
            snprintf(err->msg, sizeof(err->msg), "%s: %s", file, body);
    } else {
        snprintf(err->msg, sizeof(err->msg), "%s", body);
    }
    return status;
}

int suf_err_set(struct suf_err *err, int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    suf_err_vset(err, status, NULL, 0, fmt, ap);
    va_end(ap);
    return status;
}

int suf_err_at(struct suf_err *err, int status, const char *file, long line,
               const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    suf_err_vset(err, status, file, line, fmt, ap);
    va_end(ap);
    return status;
}

void suf_err_clear(struct suf_err *err)
{
    if (err)
        memset(err, 0, sizeof(*err));
}
