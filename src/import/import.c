/*
 * import.c: what every input kind shares (see import.h): folders, hashing,
 * skipping files seen before, one transaction per file, a file written to
 * while it was read, rejects and the reject-ratio verdict.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/log.h"
#include "base/progress.h"
#include "base/util.h"
#include "import/import.h"
#include "import/input.h"
#include "store/store.h"
#include "base/banned.h"

#define MAX_REJECT_WARNINGS 5

int suf_import_reject(struct suf_import_file *f, int64_t line, const char *reason,
                      const char *raw, size_t rawlen, struct suf_err *err)
{
    f->rejects++;
    if (f->warned++ < MAX_REJECT_WARNINGS) {
        if (line > 0)
            suf_warn("%s:%lld: %s", f->path, (long long)line, reason);
        else
            suf_warn("%s: %s", f->path, reason);
    }
    return suf_store_reject(f->run->store, f->file_id, f->path, line, reason, raw, rawlen,
                            f->run->id, err);
}

/* What the files of one suf_import_path call share. */
struct import_job {
    struct suf_run *run;
    const char *kind;
    suf_import_fn fn;
    const struct suf_import_opts *opts;
    const struct suf_import_hook *hook;
    struct suf_progress *bar; /* by bytes, over all the files */
};

static void count(struct suf_run *run, const char *kind, const char *what, int64_t n)
{
    char name[64];

    snprintf(name, sizeof(name), "%s.%s", kind, what);
    suf_run_count(run, name, n);
}

/*
 * After the parse: SUF_OK when the file is as it was before the hash, else
 * SUF_ERR_CHANGED saying so.  Any earlier failure of the parse (say, an
 * "unterminated quoted field" at a half-written end) gives way to this
 * one, which is its cause.  Unchanged times and size mean the bytes hashed
 * are the bytes parsed, so the recorded SHA-256 is of what was imported.
 *
 * NEEDSWORK: a rewrite that keeps the size and lands within the same tick
 * of the file system's clock as the first fstat (a few milliseconds) moves
 * no time; hashing the bytes as the parser reads them would close that
 * gap, but the kinds take a plain FILE * (templates fstat it).
 */
static int check_unchanged(FILE *in, const char *path, const struct stat *before,
                           struct suf_err *err)
{
    struct stat after;

    if (fstat(fileno(in), &after) != 0)
        return suf_err_at(err, SUF_ERR_IO, path, 0, "cannot read: %s", strerror(errno));
    if (suf_input_unchanged(before, &after))
        return SUF_OK;
    return suf_err_at(err, SUF_ERR_CHANGED, path, 0,
                      "changed while being read (%lld bytes, then %lld): not imported, "
                      "left for the next run",
                      (long long)before->st_size, (long long)after.st_size);
}

static void verdict(struct suf_run *run, const struct suf_import_file *f)
{
    const char *path = f->path;

    count(run, f->kind, "files", 1);
    count(run, f->kind, "rows", f->rows);
    count(run, f->kind, "rejects", f->rejects);
    if (f->rejects && f->rows && (double)f->rejects > run->cfg->max_reject_ratio * (double)f->rows) {
        suf_error("%s: %lld of %lld rows rejected, over max_reject_ratio %.4g",
                  path, (long long)f->rejects, (long long)f->rows, run->cfg->max_reject_ratio);
        suf_run_soft_fail(run, SUF_ERR_REJECTS, "%s: %lld of %lld rows rejected", path,
                          (long long)f->rejects, (long long)f->rows);
    } else if (f->rejects) {
        suf_warn("%s: %lld of %lld rows rejected (see 'suf status')", path,
                 (long long)f->rejects, (long long)f->rows);
    }
    suf_info("%s: imported %lld %s rows, %lld rejected", path,
             (long long)(f->rows - f->rejects), f->kind, (long long)f->rejects);
}

static int import_one(const struct import_job *job, const char *path,
                      enum suf_input_origin origin, struct suf_err *err)
{
    struct suf_run *run = job->run;
    struct suf_import_file f;
    char sha[SUF_SHA256_HEX];
    struct stat sb;
    bool seen = false;
    FILE *in;
    int fd, rc, changed;

    memset(&f, 0, sizeof(f));
    f.run = run;
    f.kind = job->kind;
    f.path = path;
    f.opts = job->opts;
    f.bar = job->bar;
    f.bar_base = job->bar->done;
    if ((rc = suf_input_open(path, origin, &fd, &sb, err)))
        return rc;
    in = fdopen(fd, "rb");
    if (!in) {
        rc = suf_err_at(err, SUF_ERR_IO, path, 0, "cannot read: %s", strerror(errno));
        close(fd);
        return rc;
    }
    f.size = (int64_t)sb.st_size;
    f.in = in;
    if ((rc = suf_sha256_stream(in, sha))) {
        fclose(in);
        return suf_err_at(err, rc, path, 0, "cannot read: %s", strerror(errno));
    }
    rewind(in);
    if ((rc = suf_store_begin(run->store, err)))
        goto out;
    rc = suf_store_file_register(run->store, job->kind, path, sha, (int64_t)sb.st_size,
                                 run->id, suf_run_now(run), &f.file_id, &seen, err);
    if (rc)
        goto rollback;
    if (seen) {
        suf_store_rollback(run->store);
        suf_info("%s: imported before (same SHA-256), nothing to do", path);
        count(run, job->kind, "skipped_files", 1);
        goto out;
    }
    if (job->hook && job->hook->hashed)
        job->hook->hashed(job->hook->ctx, path);
    rc = job->fn(&f, in, err);
    if (rc != SUF_ERR_DB && (changed = check_unchanged(in, path, &sb, err)))
        rc = changed;
    if (rc)
        goto rollback;
    if ((rc = suf_store_file_counts(run->store, f.file_id, f.rows, f.rejects, err)) ||
        (rc = suf_store_commit(run->store, err)))
        goto rollback;
    verdict(run, &f);
    goto out;
rollback:
    suf_store_rollback(run->store);
    if (!strstr(err->msg, path)) /* the store's failure names the database */
        suf_error("%s: not imported: nothing of it is kept", path);
out:
    suf_progress_set(job->bar, f.bar_base + f.size);
    fclose(in);
    return rc;
}

void suf_import_progress(struct suf_import_file *f)
{
    off_t at;

    if (f->bar && f->in && suf_progress_due(f->bar) && (at = ftello(f->in)) >= 0)
        suf_progress_set(f->bar, f->bar_base + (int64_t)at);
}

/* The bytes of a folder's files, the progress line's total (0 when no line
 * is shown: nothing to stat then). */
static int64_t dir_bytes(const struct suf_input_dir *dir)
{
    int64_t total = 0;
    struct stat sb;

    for (size_t i = 0; suf_progress_wanted() && i < dir->n; i++)
        if (stat(dir->paths[i], &sb) == 0)
            total += (int64_t)sb.st_size;
    return total;
}

/* The wall clock, which stamps files: --now moves the run's decisions, not
 * the kernel's modification times, so the settle rule cannot use it. */
static int64_t file_clock_now(void)
{
    struct suf_clock wall;

    suf_clock_init(&wall, -1);
    return suf_clock_now(&wall);
}

int suf_import_path_hooked(struct suf_run *run, const char *kind, suf_import_fn fn,
                           const char *path, const struct suf_import_opts *opts,
                           const struct suf_import_hook *hook, struct suf_err *err)
{
    struct suf_progress bar;
    const struct import_job job = {run, kind, fn, opts, hook, &bar};
    struct suf_input_dir dir;
    struct stat sb;
    int worst = SUF_OK, rc;

    if (stat(path, &sb) != 0)
        return suf_err_at(err, SUF_ERR_NOINPUT, path, 0, "cannot read: %s", strerror(errno));
    if (!S_ISDIR(sb.st_mode)) {
        suf_progress_start_bytes(&bar, kind, (int64_t)sb.st_size);
        rc = import_one(&job, path, SUF_INPUT_NAMED, err);
        suf_progress_end(&bar);
        return rc;
    }
    rc = suf_input_list(path, run->cfg->inbox_settle_seconds, file_clock_now(), &dir, err);
    if (rc) {
        suf_input_dir_release(&dir);
        return rc;
    }
    if (dir.unsettled)
        count(run, kind, "unsettled_files", (int64_t)dir.unsettled);
    suf_progress_start_bytes(&bar, kind, dir_bytes(&dir));
    for (size_t i = 0; i < dir.n; i++) {
        struct suf_err ferr = SUF_ERR_INIT;

        rc = import_one(&job, dir.paths[i], SUF_INPUT_LISTED, &ferr);
        if (rc == SUF_ERR_DB || rc == SUF_ERR_IO) {
            *err = ferr;
            worst = rc;
            break;
        }
        if (rc) {
            suf_error("%s", ferr.msg);
            if (!worst) {
                worst = rc;
                *err = ferr;
            }
        }
    }
    suf_progress_end(&bar);
    suf_input_dir_release(&dir);
    return worst;
}

int suf_import_path(struct suf_run *run, const char *kind, suf_import_fn fn, const char *path,
                    const struct suf_import_opts *opts, struct suf_err *err)
{
    return suf_import_path_hooked(run, kind, fn, path, opts, NULL, err);
}
