/*
 * receive_inbox.c: the receiver's durable appender, with group commit.
 *
 * Meta retries a webhook until it gets a 200, so a 200 is a promise that
 * the event is on disk.  Keeping it with one fdatasync per request would
 * make the disk's flush latency the receiver's throughput.  Instead the
 * caller writes a batch: every line gathered since its last flush, with
 * one write() and one fdatasync (group commit).  The receiver's HTTP
 * workers are those callers: each gathers the lines of the requests of one
 * pass over its connections and writes them itself, on its own thread, so
 * no request is handed from one thread to another on its way to the disk
 * (on a machine where a context switch is dear, that hand-off, not the
 * flush, was what limited the rate).
 *
 * Lanes: the inbox has several lanes (suf_inbox_opts.lanes), each with its
 * own file, and the receiver gives each worker its own lane.  A disk takes
 * flushes of different files at once far faster than the same flushes one
 * after another, so two workers flushing side by side do not wait on each
 * other.  A lane is driven by whoever calls suf_inbox_write for it (its
 * mutex serialises callers that share one, as suf_inbox_append's do).
 * Each lane's files are its own, so a failed flush is reported to exactly
 * the callers whose lines it covered.  Lines in
 * different files have no order between them; they had none on the wire
 * either (they were concurrent requests), and import deduplicates and
 * never moves a state backwards.
 *
 * Files: events-<UTC time>-<n>.jsonl, opened O_APPEND|O_EXCL, 0640 (before
 * the umask), never reopened for writing once closed, so `suf import
 * events` can read them while they grow.  A lane starts a new file when its
 * current one would pass rotate_bytes or is rotate_seconds old, and after a
 * failed write or flush (whatever the failed batch left at the file's end
 * stays an incomplete last line there, which import ignores).  Names sort
 * in the order the files were created, across restarts too: a new name is
 * always greater than every events-* name already in the folder.
 *
 * Appends, not preallocation: overwriting blocks written beforehand (with
 * zeros) would spare each fdatasync the write of the inode, but readers
 * would then see the zero tail, and, without the file size as the fence
 * between a write and a concurrent read, could see a line's newline before
 * all of its bytes.  Measured on the benchmark's disk it did not raise the
 * rate either (the cache flush, not the inode, is the slow part there).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "receive/receive.h"
#include "base/banned.h"

#define NAME_MAX_SEQ 999999u
#define MAX_LANES 16

/* One lane: its file, used by one writer at a time (mu). */
struct lane {
    struct suf_inbox *ib;
    pthread_mutex_t mu;
    int fd;
    int64_t size;
    int64_t opened_at;
    char path[PATH_MAX];
};

struct suf_inbox {
    /* Set at open, then only read. */
    char *dir;
    int dirfd;
    int64_t rotate_bytes;
    int64_t rotate_seconds;
    suf_receive_clock_fn now;
    void *now_ctx;
    unsigned nlanes;
    struct lane lanes[MAX_LANES];

    unsigned next_lane; /* atomic: the lane of the next caller */

    pthread_mutex_t mu; /* names and stats */
    int64_t last_t;     /* time and sequence of the greatest name so far */
    unsigned last_seq;
    struct suf_inbox_stats stats;
};

void suf_inbox_file_name(int64_t t, unsigned seq, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm)) {
        snprintf(buf, size, "events-invalid-%06u.jsonl", seq);
        return;
    }
    snprintf(buf, size, "events-%04d%02d%02dT%02d%02d%02dZ-%06u.jsonl", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, seq);
}

/* Parses a name made by suf_inbox_file_name; false for any other name. */
static bool parse_name(const char *name, int64_t *t, unsigned *seq)
{
    struct tm tm;
    int n = 0;
    char check[64];

    memset(&tm, 0, sizeof(tm));
    if (sscanf(name, "events-%4d%2d%2dT%2d%2d%2dZ-%6u.jsonl%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, seq, &n) != 7 ||
        name[n] != '\0')
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *t = (int64_t)timegm(&tm);
    suf_inbox_file_name(*t, *seq, check, sizeof(check));
    return !strcmp(check, name); /* exactly our format, nothing lenient */
}

/* Finds the greatest events-* name in the folder, so new names sort after. */
static void scan_existing(struct suf_inbox *ib)
{
    DIR *d = opendir(ib->dir);
    struct dirent *de;

    ib->last_t = 0;
    ib->last_seq = 0;
    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        int64_t t;
        unsigned seq;
        if (!parse_name(de->d_name, &t, &seq))
            continue;
        if (t > ib->last_t || (t == ib->last_t && seq > ib->last_seq)) {
            ib->last_t = t;
            ib->last_seq = seq;
        }
    }
    closedir(d);
}

static void close_file(struct lane *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    l->size = 0;
    l->path[0] = '\0';
}

/* Picks the next name: the clock may not go backwards in names, so a time
 * before the last name's takes the last name's time and the next number. */
static void next_name(struct suf_inbox *ib, int64_t now, int64_t *t, unsigned *seq)
{
    pthread_mutex_lock(&ib->mu);
    *t = now > ib->last_t ? now : ib->last_t;
    *seq = *t == ib->last_t ? ib->last_seq + 1 : 1;
    ib->last_t = *t;
    ib->last_seq = *seq;
    pthread_mutex_unlock(&ib->mu);
}

/* Creates the lane's next file. */
static int open_file(struct lane *l, int64_t now)
{
    struct suf_inbox *ib = l->ib;
    char name[96];
    int64_t t;
    unsigned seq;

    for (int tries = 0; tries < 1000; tries++) {
        next_name(ib, now, &t, &seq);
        if (seq > NAME_MAX_SEQ) {
            now = t + 1; /* a million files in a second: borrow the next one */
            continue;
        }
        suf_inbox_file_name(t, seq, name, sizeof(name));
        snprintf(l->path, sizeof(l->path), "%s/%s", ib->dir, name);
        l->fd = openat(ib->dirfd, name,
                       O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
        if (l->fd >= 0)
            break;
        if (errno != EEXIST) {
            suf_error("%s: cannot create events file: %s", l->path, strerror(errno));
            l->path[0] = '\0';
            return SUF_ERR_IO;
        }
    }
    if (l->fd < 0) {
        suf_error("%s: no free events file name", ib->dir);
        l->path[0] = '\0';
        return SUF_ERR_IO;
    }
    /* The new name must survive a crash too, not only the lines in it. */
    if (fsync(ib->dirfd))
        suf_warn("%s: cannot flush the folder: %s", ib->dir, strerror(errno));
    l->size = 0;
    l->opened_at = now;
    pthread_mutex_lock(&ib->mu);
    ib->stats.files++;
    pthread_mutex_unlock(&ib->mu);
    suf_info("receive: writing %s", l->path);
    return SUF_OK;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes and flushes one batch; called with the lane's mutex held. */
static int write_batch(struct lane *l, const char *data, size_t len)
{
    struct suf_inbox *ib = l->ib;
    int64_t now = ib->now(ib->now_ctx);
    int rc;

    if (l->fd >= 0 && l->size > 0 &&
        (l->size + (int64_t)len > ib->rotate_bytes ||
         now - l->opened_at >= ib->rotate_seconds))
        close_file(l);
    if (l->fd < 0 && (rc = open_file(l, now)) != SUF_OK)
        return rc;
    if (write_all(l->fd, data, len)) {
        suf_error("%s: cannot append: %s", l->path, strerror(errno));
        close_file(l);
        return SUF_ERR_IO;
    }
    if (fdatasync(l->fd)) {
        suf_error("%s: cannot flush: %s", l->path, strerror(errno));
        close_file(l);
        return SUF_ERR_IO;
    }
    l->size += (int64_t)len;
    return SUF_OK;
}

static int ensure_dir(const char *dir, struct suf_err *err)
{
    struct stat st;

    if (mkdir(dir, 0750) && errno != EEXIST)
        return suf_err_at(err, SUF_ERR_CANTCREAT, dir, 0,
                          "cannot create the inbox folder: %s", strerror(errno));
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return suf_err_at(err, SUF_ERR_CANTCREAT, dir, 0, "the inbox is not a folder");
    if (access(dir, W_OK | X_OK))
        return suf_err_at(err, SUF_ERR_CANTCREAT, dir, 0,
                          "cannot write in the inbox folder: %s", strerror(errno));
    return SUF_OK;
}

static void free_lanes(struct suf_inbox *ib)
{
    for (unsigned i = 0; i < ib->nlanes; i++) {
        close_file(&ib->lanes[i]);
        pthread_mutex_destroy(&ib->lanes[i].mu);
    }
}

int suf_inbox_open(struct suf_inbox **out, const struct suf_inbox_opts *o,
                   struct suf_err *err)
{
    struct suf_inbox *ib;
    int rc;

    *out = NULL;
    if (!o->dir || !*o->dir || !o->now)
        return suf_err_set(err, SUF_ERR_CONFIG, "the receiver has no inbox folder");
    rc = ensure_dir(o->dir, err);
    if (rc)
        return rc;
    ib = suf_xcalloc(1, sizeof(*ib));
    ib->dir = suf_xstrdup(o->dir);
    ib->rotate_bytes = o->rotate_bytes > 0 ? o->rotate_bytes : INT64_MAX;
    ib->rotate_seconds = o->rotate_seconds > 0 ? o->rotate_seconds : INT64_MAX;
    ib->now = o->now;
    ib->now_ctx = o->now_ctx;
    ib->nlanes = o->lanes < 1           ? 1u
                 : o->lanes > MAX_LANES ? MAX_LANES
                                        : (unsigned)o->lanes;
    ib->dirfd = open(ib->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ib->dirfd < 0) {
        rc = suf_err_at(err, SUF_ERR_CANTCREAT, ib->dir, 0,
                        "cannot open the inbox folder: %s", strerror(errno));
        free(ib->dir);
        free(ib);
        return rc;
    }
    scan_existing(ib);
    pthread_mutex_init(&ib->mu, NULL);
    for (unsigned i = 0; i < ib->nlanes; i++) {
        struct lane *l = &ib->lanes[i];
        l->ib = ib;
        l->fd = -1;
        pthread_mutex_init(&l->mu, NULL);
    }
    *out = ib;
    return SUF_OK;
}

int suf_inbox_write(struct suf_inbox *ib, unsigned lane, const char *data, size_t len,
                    uint64_t lines)
{
    struct lane *l = &ib->lanes[lane % ib->nlanes];
    int rc;

    pthread_mutex_lock(&l->mu);
    rc = write_batch(l, data, len);
    pthread_mutex_unlock(&l->mu);
    pthread_mutex_lock(&ib->mu);
    if (rc == SUF_OK) {
        ib->stats.lines += lines;
        ib->stats.flushes++;
    } else {
        ib->stats.errors++;
    }
    pthread_mutex_unlock(&ib->mu);
    return rc;
}

int suf_inbox_append(struct suf_inbox *ib, const char *data, size_t len)
{
    unsigned k = __atomic_fetch_add(&ib->next_lane, 1, __ATOMIC_RELAXED);

    return suf_inbox_write(ib, k, data, len, 1);
}

unsigned suf_inbox_lanes(struct suf_inbox *ib)
{
    return ib->nlanes;
}

void suf_inbox_stats(struct suf_inbox *ib, struct suf_inbox_stats *st)
{
    pthread_mutex_lock(&ib->mu);
    *st = ib->stats;
    pthread_mutex_unlock(&ib->mu);
}

void suf_inbox_close(struct suf_inbox *ib)
{
    if (!ib)
        return;
    free_lanes(ib);
    pthread_mutex_destroy(&ib->mu);
    close(ib->dirfd);
    free(ib->dir);
    free(ib);
}
