/*
 * send_departures.c: the departure log of the send stage (see send_db.h).
 *
 * A send is committed as in_flight before its request is handed to the
 * transport, so a run that dies leaves in_flight rows behind, and only some
 * of them ever reached the API: the rest were claimed ahead, or waited for a
 * connection.  Telling them apart needs a note that a request is leaving,
 * made durable before its first byte is written.  A transaction per request
 * would stop the wire (the writer thread commits in groups, ahead of the
 * wire, for that reason), so the note is a line appended to this file.
 * The file is mapped shared (mmap) and the line copied into the mapping:
 * once copied, it is in the kernel's page cache and outlives the process,
 * whatever kills it, as a write(2) would, without a system call per
 * request (one per request cost the sending thread about a tenth of its
 * time).  The file grows by DEPARTURES_CHUNK, its blocks allocated
 * (posix_fallocate) before they are mapped, so that a full disk is an
 * error of the grow, never a SIGBUS in the copy.  A log a dead run left
 * thus ends in zero bytes: they end it.  The store gets the same fact
 * (left_at) with the next group commit; the log covers the time until
 * then.
 *
 * The file is "<database>-departures", private to the database's owner.
 * Its first line names the run it belongs to ("suf departures run <id>"),
 * each other line one departure ("<send id> <tries>", tries as the row's
 * in_flight mark counted them), then zero bytes up to the end of the file
 * when the run died (a stop that keeps the log cuts them).  Recovery trusts
 * it only for the in_flight rows of that run, and only when every line
 * reads as it should and nothing but zero bytes follows the first of them;
 * any doubt leaves a row 'unknown', as without a log (a line cut short by a
 * death while it was copied is that of a request that had not left yet).
 * Like the database in the mode suf runs it (WAL, synchronous=NORMAL), it
 * is not synced to the disk itself: a power cut of the machine may lose its
 * last lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "send/send_db.h"
#include "store/store.h"
#include "base/banned.h"

#define HEADER "suf departures run "
#define DEPARTURES_CHUNK (256 * 1024) /* about 10,000 lines */

struct send_departures {
    int fd;
    char *path;
    char *map;         /* the file, mapped shared; NULL until the first grow */
    size_t size, used; /* bytes mapped (the file's size), bytes written */
};

/* Maps DEPARTURES_CHUNK more of the file, its blocks allocated first;
 * false (errno set) when they cannot be: the mapping stays as it was. */
static bool grow(struct send_departures *d)
{
    size_t size = d->size + DEPARTURES_CHUNK;
    char *map;
    int rc = posix_fallocate(d->fd, 0, (off_t)size);

    if (rc) {
        errno = rc;
        return false;
    }
    map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, d->fd, 0);
    if (map == MAP_FAILED)
        return false;
    if (d->map)
        munmap(d->map, d->size);
    d->map = map;
    d->size = size;
    return true;
}

/* Appends `len` bytes to the log: whole, or not at all (false, errno set). */
static bool append(struct send_departures *d, const char *bytes, size_t len)
{
    if (d->used + len > d->size && !grow(d))
        return false;
    memcpy(d->map + d->used, bytes, len);
    d->used += len;
    return true;
}

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

/* The length of the log in `text` (`len` bytes): up to its first zero byte,
 * after which a log a dead run left holds zero bytes only; -1 when
 * something else follows. */
static long log_length(const char *text, size_t len)
{
    const char *nul = memchr(text, '\0', len);

    if (!nul)
        return (long)len;
    for (const char *p = nul; p < text + len; p++)
        if (*p)
            return -1;
    return (long)(nul - text);
}

/* Reads the log in `text` (`len` bytes); *run stays -1 unless every line
 * reads as it should. */
static int read_log(struct send_db *db, char *text, size_t len, const char *path,
                    int64_t *run, struct suf_err *err)
{
    long end = log_length(text, len), no = 0;
    int64_t r = -1, id, tries;
    sqlite3_stmt *ins;
    char *line = text, *nl;
    int rc = SUF_OK;

    ins = suf_store_prepare(db->st,
                            "INSERT OR IGNORE INTO temp.send_departed (id, tries)"
                            " VALUES (?1, ?2)",
                            err);
    if (!ins)
        return SUF_ERR_DB;
    if (end < 0)
        goto untrusted; /* data after the zero bytes: not a log we wrote */
    while (!rc && line < text + end) {
        no++;
        nl = memchr(line, '\n', (size_t)(text + end - line));
        if (!nl || nl - line > 120)
            goto untrusted; /* cut short, or too long: a line we cannot vouch for */
        *nl = '\0';
        if (no == 1) {
            if (strncmp(line, HEADER, sizeof(HEADER) - 1) ||
                suf_parse_i64(line + sizeof(HEADER) - 1, &r))
                goto untrusted;
        } else if (!two_numbers(line, &id, &tries)) {
            goto untrusted;
        } else {
            rc = insert_departed(db, ins, id, tries, err);
        }
        line = nl + 1;
    }
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

/* Reads all of `f` into a new buffer (*len bytes); NULL when it cannot. */
static char *slurp(FILE *f, size_t *len)
{
    size_t alloc = 64 * 1024, n;
    char *buf = suf_xmalloc(alloc);

    *len = 0;
    while ((n = fread(buf + *len, 1, alloc - *len, f)) > 0) {
        *len += n;
        if (*len == alloc) {
            alloc *= 2;
            buf = suf_xrealloc(buf, alloc);
        }
    }
    if (ferror(f)) {
        free(buf);
        return NULL;
    }
    return buf;
}

int suf_send_departures_load(struct send_db *db, int64_t *run, struct suf_err *err)
{
    char *path = log_path(db), *text;
    size_t len;
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
    text = slurp(f, &len);
    if (!text)
        rc = suf_err_at(err, SUF_ERR_IO, path, 0, "cannot read the departure log: %s",
                        strerror(errno));
    else
        rc = read_log(db, text, len, path, run, err);
    free(text);
    fclose(f);
    free(path);
    return rc;
}

int suf_send_departures_open(struct send_db *db, struct send_departures **out,
                             struct suf_err *err)
{
    struct send_departures *d;
    char *head;
    bool ok;

    *out = NULL;
    if (!db->st->path)
        return SUF_OK;
    d = suf_xcalloc(1, sizeof(*d));
    d->path = log_path(db);
    d->fd = open(d->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (d->fd < 0) {
        suf_err_at(err, SUF_ERR_CANTCREAT, d->path, 0,
                   "cannot create the departure log: %s", strerror(errno));
        suf_send_departures_close(d, false);
        return err->status;
    }
    head = suf_xasprintf(HEADER "%lld\n", (long long)db->run->id);
    ok = append(d, head, strlen(head));
    free(head);
    if (!ok) {
        suf_err_at(err, SUF_ERR_IO, d->path, 0, "cannot write the departure log: %s",
                   strerror(errno));
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

    return append(d, line, (size_t)len);
}

const char *suf_send_departures_path(const struct send_departures *d)
{
    return d->path;
}

void suf_send_departures_close(struct send_departures *d, bool drop)
{
    if (!d)
        return;
    if (d->map)
        munmap(d->map, d->size);
    /* a log kept for the next run ends at its last line */
    if (d->fd >= 0 && !drop && ftruncate(d->fd, (off_t)d->used) != 0)
        suf_debug("%s: cannot cut the departure log to its lines: %s", d->path,
                  strerror(errno));
    if (d->fd >= 0)
        close(d->fd);
    if (drop)
        unlink(d->path);
    free(d->path);
    free(d);
}
