/*
 * send_departures.c: the departure log of the send stage (see send_db.h).
 *
 * A send is committed as in_flight before its request is handed to the
 * transport, so a run that dies leaves in_flight rows behind, and only some
 * of them ever reached the API: the rest were claimed ahead, or waited for a
 * connection.  Telling them apart needs a note that a request is leaving,
 * made durable before its first byte is written.  A transaction per request
 * would stop the wire (the writer thread commits in groups, ahead of the
 * wire, for that reason), so the note is a line appended to this file with
 * one write(2): once write returns, the line is in the kernel and outlives
 * the process, whatever kills it.  The store gets the same fact (left_at)
 * with the next group commit; the log covers the time until then.
 *
 * The file is "<database>-departures", private to the database's owner.
 * Its first line names the run it belongs to ("suf departures run <id>"),
 * each other line one departure ("<send id> <tries>", tries as the row's
 * in_flight mark counted them).  Recovery trusts it only for the in_flight
 * rows of that run, and only when every line reads as it should; any doubt
 * leaves a row 'unknown', as without a log.  Like the database in the mode
 * suf runs it (WAL, synchronous=NORMAL), it is not synced to the disk
 * itself: a power cut of the machine may lose its last lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "send/send_db.h"
#include "store/store.h"
#include "base/banned.h"

#define HEADER "suf departures run "

struct send_departures {
    int fd;
    char *path;
};

/* "<database>-departures", or NULL for a store without a file. */
static char *log_path(const struct send_db *db)
{
    return db->st->path ? suf_xasprintf("%s-departures", db->st->path) : NULL;
}

/* Parses "<a> <b>" (two integers, one space, nothing else). */
static bool two_numbers(char *line, int64_t *a, int64_t *b)
{
    char *space = strchr(line, ' ');

    if (!space)
        return false;
    *space = '\0';
    return !suf_parse_i64(line, a) && !suf_parse_i64(space + 1, b);
}

/* Inserts one departure into temp.send_departed. */
static int insert_departed(struct send_db *db, sqlite3_stmt *ins, int64_t id,
                           int64_t tries, struct suf_err *err)
{
    int rc;

    sqlite3_bind_int64(ins, 1, id);
    sqlite3_bind_int64(ins, 2, tries);
    rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(db->st, err, "send_departed");
}

/* Reads an open log; *run stays -1 unless every line reads as it should. */
static int read_log(struct send_db *db, FILE *f, const char *path, int64_t *run,
                    struct suf_err *err)
{
    char line[128];
    long no = 0;
    int64_t r = -1, id, tries;
    sqlite3_stmt *ins;
    int rc = SUF_OK;

    ins = suf_store_prepare(db->st,
                            "INSERT OR IGNORE INTO temp.send_departed (id, tries)"
                            " VALUES (?1, ?2)",
                            err);
    if (!ins)
        return SUF_ERR_DB;
    while (!rc && fgets(line, sizeof(line), f)) {
        size_t len = strlen(line);

        no++;
        if (!len || line[len - 1] != '\n')
            goto untrusted; /* cut short, or too long: a line we cannot vouch for */
        line[len - 1] = '\0';
        if (no == 1) {
            if (strncmp(line, HEADER, sizeof(HEADER) - 1) ||
                suf_parse_i64(line + sizeof(HEADER) - 1, &r))
                goto untrusted;
            continue;
        }
        if (!two_numbers(line, &id, &tries))
            goto untrusted;
        rc = insert_departed(db, ins, id, tries, err);
    }
    if (!rc && ferror(f))
        rc = suf_err_at(err, SUF_ERR_IO, path, 0, "cannot read the departure log: %s",
                        strerror(errno));
    if (!rc)
        *run = r;
    sqlite3_finalize(ins);
    return rc;
untrusted:
    sqlite3_finalize(ins);
    suf_warn("%s:%ld: not a line of a departure log; the sends it covers count as "
             "having left",
             path, no);
    return SUF_OK;
}

int suf_send_departures_load(struct send_db *db, int64_t *run, struct suf_err *err)
{
    char *path = log_path(db);
    FILE *f;
    int rc;

    *run = -1;
    if (suf_store_exec(db->st, "DELETE FROM temp.send_departed", err)) {
        free(path);
        return SUF_ERR_DB;
    }
    f = path ? fopen(path, "r") : NULL;
    if (!f) {
        rc = !path || errno == ENOENT
                 ? SUF_OK
                 : suf_err_at(err, SUF_ERR_IO, path, 0,
                              "cannot read the departure log: %s", strerror(errno));
        free(path);
        return rc;
    }
    rc = read_log(db, f, path, run, err);
    fclose(f);
    free(path);
    return rc;
}

int suf_send_departures_open(struct send_db *db, struct send_departures **out,
                             struct suf_err *err)
{
    struct send_departures *d;
    char *head;
    size_t len;
    ssize_t n;

    *out = NULL;
    if (!db->st->path)
        return SUF_OK;
    d = suf_xcalloc(1, sizeof(*d));
    d->path = log_path(db);
    d->fd = open(d->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (d->fd < 0) {
        suf_err_at(err, SUF_ERR_CANTCREAT, d->path, 0,
                   "cannot create the departure log: %s", strerror(errno));
        suf_send_departures_close(d, false);
        return err->status;
    }
    head = suf_xasprintf(HEADER "%lld\n", (long long)db->run->id);
    len = strlen(head);
    n = write(d->fd, head, len);
    free(head);
    if (n != (ssize_t)len) {
        suf_err_at(err, SUF_ERR_IO, d->path, 0, "cannot write the departure log: %s",
                   n < 0 ? strerror(errno) : "short write");
        suf_send_departures_close(d, true);
        return err->status;
    }
    *out = d;
    return SUF_OK;
}

bool suf_send_departures_note(struct send_departures *d, int64_t id, int tries)
{
    char line[64];
    int len = snprintf(line, sizeof(line), "%lld %d\n", (long long)id, tries);

    ssize_t n = write(d->fd, line, (size_t)len);

    /* one write of a short line: in the file whole, or the run holds the
     * request back (a cut line makes the log untrusted, never wrong) */
    if (n >= 0 && n != len)
        errno = ENOSPC;
    return n == len;
}

const char *suf_send_departures_path(const struct send_departures *d)
{
    return d->path;
}

void suf_send_departures_close(struct send_departures *d, bool drop)
{
    if (!d)
        return;
    if (d->fd >= 0)
        close(d->fd);
    if (drop)
        unlink(d->path);
    free(d->path);
    free(d);
}
