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
 * current one would pass rotate_bytes or is rotate_seconds old.  Names sort
 * in the order the files were created, across restarts too: a new name is
 * always greater than every events-* name already in the folder.
 *
 * A bad day (a full disk, a failing one): a new file per failed batch
 * would fill the folder with empty files (a full 2 MB tmpfs got thousands
 * in seconds), each of them a row for import to track.  So a lane keeps
 * its file through a failed write: the write may have stopped inside a
 * line, and that incomplete tail is cut off (ftruncate), so the next batch
 * starts on a line of its own.  Cutting there is safe for a reader at
 * work: import reads complete lines only, so none has read past the last
 * newline.  The whole lines the failed write did leave are not cut: a
 * reader may have taken them already, and they are only early copies of
 * what the sender will post again (import deduplicates).  A failed flush
 * of the file keeps it too, but what it failed to flush may be lost in a
 * crash even after a later flush worked (Linux marks the pages clean), and
 * could come back as zeros that run into the next line; so the next batch
 * starts with an empty line (import skips it), and a lost tail can only
 * ever spoil itself.  Only EFBIG (the file may not grow) leaves the file
 * for a new one.  Then, whatever failed, the lane refuses batches at once
 * for retry_seconds, without touching the disk: at most one try (and at
 * most one new file) per interval, and the receiver answers 503 with
 * Retry-After meanwhile.  The log gets a line when the trouble starts,
 * one per log_seconds while it lasts, and one when it ends.
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

#define CAUSE_MAX (PATH_MAX + 160)

/* One lane: its file, used by one writer at a time (mu). */
struct lane {
    struct suf_inbox *ib;
    pthread_mutex_t mu;
    int fd;
    int64_t size; /* the file's length: whole lines only */
    int64_t opened_at;
    bool dir_unsynced; /* the file's name is not yet flushed to the folder */
    bool torn;         /* a flush failed: the next batch starts with "\n" */
    int64_t retry_at;  /* after a failure: refuse batches until then */
    char path[PATH_MAX];
};

struct suf_inbox {
    /* Set at open, then only read. */
    char *dir;
    int dirfd;
    int64_t rotate_bytes;
    int64_t rotate_seconds;
    int64_t retry_seconds;
    int64_t log_seconds;
    suf_receive_clock_fn now;
    void *now_ctx;
    struct suf_inbox_io io;
    unsigned nlanes;
    struct lane lanes[MAX_LANES];

    unsigned next_lane; /* atomic: the lane of the next caller */

    pthread_mutex_t mu; /* names, stats and the trouble report */
    int64_t last_t;     /* time and sequence of the greatest name so far */
    unsigned last_seq;
    struct suf_inbox_stats stats;
    bool failing;          /* a trouble line was logged, and no recovery since */
    int64_t next_log_at;   /* no trouble line before this time */
    uint64_t unreported;   /* lines refused since the last line */
    char cause[CAUSE_MAX]; /* the last failure's reason */
};

static ssize_t sys_write(void *ctx, int fd, const void *buf, size_t len)
{
    (void)ctx;
    return write(fd, buf, len);
}

static int sys_datasync(void *ctx, int fd)
{
    (void)ctx;
    return fdatasync(fd);
}

static int sys_dirsync(void *ctx, int dirfd)
{
    (void)ctx;
    return fsync(dirfd);
}

static int sys_truncate(void *ctx, int fd, off_t len)
{
    (void)ctx;
    return ftruncate(fd, len);
}

/* The caller's calls, with the real ones where it gave none. */
static void set_io(struct suf_inbox_io *io, const struct suf_inbox_io *given)
{
    static const struct suf_inbox_io sys = {sys_write, sys_datasync, sys_dirsync,
                                            sys_truncate, NULL};

    *io = given ? *given : sys;
    if (!io->write)
        io->write = sys.write;
    if (!io->datasync)
        io->datasync = sys.datasync;
    if (!io->dirsync)
        io->dirsync = sys.dirsync;
    if (!io->truncate)
        io->truncate = sys.truncate;
}

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
    l->dir_unsynced = false;
    l->torn = false;
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

/*
 * Flushes the folder, so the lane's new file survives a crash by its name
 * too, not only by the lines in it.  Until that worked no line in the file
 * may be acknowledged, so a failure keeps the file (empty: nothing is
 * written before this) and the next try starts here again.
 */
static int sync_dir(struct lane *l, char *cause, size_t size)
{
    struct suf_inbox *ib = l->ib;

    if (ib->io.dirsync(ib->io.ctx, ib->dirfd)) {
        snprintf(cause, size, "%s: cannot flush the folder after creating %s: %s",
                 ib->dir, l->path, strerror(errno));
        l->dir_unsynced = true;
        return SUF_ERR_IO;
    }
    l->dir_unsynced = false;
    return SUF_OK;
}

/* Creates the lane's next file and flushes its name to the folder. */
static int open_file(struct lane *l, int64_t now, char *cause, size_t size)
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
            snprintf(cause, size, "%s: cannot create events file: %s", l->path,
                     strerror(errno));
            l->path[0] = '\0';
            return SUF_ERR_IO;
        }
    }
    if (l->fd < 0) {
        snprintf(cause, size, "%s: no free events file name", ib->dir);
        l->path[0] = '\0';
        return SUF_ERR_IO;
    }
    l->size = 0;
    l->opened_at = now;
    pthread_mutex_lock(&ib->mu);
    ib->stats.files++;
    pthread_mutex_unlock(&ib->mu);
    suf_info("receive: writing %s", l->path);
    return sync_dir(l, cause, size);
}

/* Writes all of p; returns how many bytes went out: `len`, or fewer with
 * errno set. */
static size_t write_all(const struct suf_inbox_io *io, int fd, const char *p, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = io->write(io->ctx, fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO; /* no progress and no reason: never loop on it */
            break;
        }
        done += (size_t)n;
    }
    return done;
}

/*
 * After a write of `data` stopped at `written` bytes: keeps the whole
 * lines it wrote and cuts off the incomplete one after them (see the top
 * of the file), so the file still ends with a newline.  When the cut
 * fails the file is left (the tail stays an incomplete last line, which
 * import ignores) and the next try starts a new one.
 */
static void keep_whole_lines(struct lane *l, const char *data, size_t written)
{
    struct suf_inbox *ib = l->ib;
    size_t whole = written;

    while (whole > 0 && data[whole - 1] != '\n')
        whole--;
    if (whole < written &&
        ib->io.truncate(ib->io.ctx, l->fd, (off_t)(l->size + (int64_t)whole))) {
        close_file(l);
        return;
    }
    l->size += (int64_t)whole;
}

/* Writes and flushes one batch; called with the lane's mutex held.  On
 * failure `cause` says what failed. */
static int write_batch(struct lane *l, int64_t now, const char *data, size_t len,
                       char *cause, size_t size)
{
    struct suf_inbox *ib = l->ib;
    size_t written;
    int rc, e;

    if (l->fd >= 0 && l->size > 0 &&
        (l->size + (int64_t)len > ib->rotate_bytes ||
         now - l->opened_at >= ib->rotate_seconds))
        close_file(l);
    if (l->fd < 0 && (rc = open_file(l, now, cause, size)) != SUF_OK)
        return rc;
    if (l->dir_unsynced && (rc = sync_dir(l, cause, size)) != SUF_OK)
        return rc;
    if (l->torn && write_all(&ib->io, l->fd, "\n", 1) == 1) {
        l->size++;
        l->torn = false;
    }
    written = l->torn ? 0 : write_all(&ib->io, l->fd, data, len);
    if (written < len) {
        e = errno;
        snprintf(cause, size, "%s: cannot append: %s", l->path, strerror(e));
        keep_whole_lines(l, data, written);
        if (e == EFBIG)
            close_file(l); /* this file may not grow: the next try starts another */
        return SUF_ERR_IO;
    }
    l->size += (int64_t)len;
    if (ib->io.datasync(ib->io.ctx, l->fd)) {
        snprintf(cause, size, "%s: cannot flush: %s", l->path, strerror(errno));
        l->torn = true;
        return SUF_ERR_IO;
    }
    return SUF_OK;
}

/*
 * Counts a batch's outcome and reports trouble: a line when batches start
 * to fail, at most one per log_seconds while they go on (with how many
 * lines were refused), and one when a batch is stored again after a
 * reported failure.  `cause` is "" for a batch refused without a try.
 * The line is formatted under the mutex and logged after it.
 */
static void account(struct suf_inbox *ib, int64_t now, int rc, uint64_t lines,
                    const char *cause)
{
    char msg[CAUSE_MAX + 200];
    enum suf_log_level level = SUF_LOG_INFO;

    msg[0] = '\0';
    pthread_mutex_lock(&ib->mu);
    if (rc == SUF_OK) {
        ib->stats.lines += lines;
        ib->stats.flushes++;
        if (ib->failing)
            snprintf(msg, sizeof(msg),
                     "receive: storing events again; %llu more refused (503) before it "
                     "could",
                     (unsigned long long)ib->unreported);
        if (ib->failing)
            ib->unreported = 0;
        ib->failing = false;
    } else {
        ib->stats.errors++;
        ib->stats.refused += lines;
        ib->unreported += lines;
        if (*cause)
            suf_strlcpy(ib->cause, cause, sizeof(ib->cause));
        /* (A deadline further off than an interval: the clock went back.) */
        if (now >= ib->next_log_at || ib->next_log_at - now > ib->log_seconds) {
            level = ib->failing ? SUF_LOG_WARN : SUF_LOG_ERROR;
            if (ib->failing)
                snprintf(msg, sizeof(msg),
                         "receive: still cannot store events: %s; %llu refused (503) in "
                         "the last %lld s",
                         ib->cause, (unsigned long long)ib->unreported,
                         (long long)ib->log_seconds);
            else
                snprintf(msg, sizeof(msg),
                         "receive: cannot store events: %s; answering 503 with "
                         "Retry-After: %lld until it can",
                         ib->cause, (long long)ib->retry_seconds);
            ib->failing = true;
            ib->next_log_at = now + ib->log_seconds;
            ib->unreported = 0;
        }
    }
    pthread_mutex_unlock(&ib->mu);
    if (msg[0])
        suf_log(level, "%s", msg);
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
    ib->retry_seconds = o->retry_seconds > 0 ? o->retry_seconds : SUF_INBOX_RETRY_SECONDS;
    ib->log_seconds = o->log_seconds > 0 ? o->log_seconds : SUF_INBOX_LOG_SECONDS;
    ib->now = o->now;
    ib->now_ctx = o->now_ctx;
    set_io(&ib->io, o->io);
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
    char cause[CAUSE_MAX];
    int64_t now;
    int rc;

    cause[0] = '\0';
    pthread_mutex_lock(&l->mu);
    now = ib->now(ib->now_ctx);
    /* Refused at once while the lane waits to try again (a deadline
     * further off than an interval means the clock went back: try). */
    if (now < l->retry_at && l->retry_at - now <= ib->retry_seconds) {
        rc = SUF_ERR_IO;
    } else {
        rc = write_batch(l, now, data, len, cause, sizeof(cause));
        l->retry_at = rc == SUF_OK ? 0 : now + ib->retry_seconds;
    }
    pthread_mutex_unlock(&l->mu);
    account(ib, now, rc, lines, cause);
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

int64_t suf_inbox_retry_seconds(struct suf_inbox *ib)
{
    return ib->retry_seconds;
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
