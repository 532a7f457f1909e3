/*
 * import.c: what every input kind shares (see import.h): folders, hashing,
 * skipping files seen before, one transaction per file, rejects and the
 * reject-ratio verdict.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/hash.h"
#include "base/log.h"
#include "base/util.h"
#include "import/import.h"
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

static int import_one(struct suf_run *run, const char *kind, suf_import_fn fn, const char *path,
                      const struct suf_import_opts *opts, struct suf_err *err)
{
    struct suf_import_file f;
    char sha[SUF_SHA256_HEX], counter[64];
    struct stat sb;
    bool seen = false;
    FILE *in;
    int rc;

    memset(&f, 0, sizeof(f));
    f.run = run;
    f.kind = kind;
    f.path = path;
    f.opts = opts;
    in = fopen(path, "rb");
    if (!in)
        return suf_err_at(err, SUF_ERR_NOINPUT, path, 0, "cannot read: %s", strerror(errno));
    if (fstat(fileno(in), &sb) || !S_ISREG(sb.st_mode)) {
        fclose(in);
        return suf_err_at(err, SUF_ERR_NOINPUT, path, 0, "not a regular file");
    }
    f.size = (int64_t)sb.st_size;
    if ((rc = suf_sha256_stream(in, sha))) {
        fclose(in);
        return suf_err_at(err, rc, path, 0, "cannot read: %s", strerror(errno));
    }
    rewind(in);
    if ((rc = suf_store_begin(run->store, err)))
        goto out;
    rc = suf_store_file_register(run->store, kind, path, sha, (int64_t)sb.st_size, run->id,
                                 suf_run_now(run), &f.file_id, &seen, err);
    if (rc)
        goto rollback;
    if (seen) {
        suf_store_rollback(run->store);
        suf_info("%s: imported before (same SHA-256), nothing to do", path);
        snprintf(counter, sizeof(counter), "%s.skipped_files", kind);
        suf_run_count(run, counter, 1);
        goto out;
    }
    if ((rc = fn(&f, in, err)))
        goto rollback;
    if ((rc = suf_store_file_counts(run->store, f.file_id, f.rows, f.rejects, err)) ||
        (rc = suf_store_commit(run->store, err)))
        goto rollback;
    snprintf(counter, sizeof(counter), "%s.files", kind);
    suf_run_count(run, counter, 1);
    snprintf(counter, sizeof(counter), "%s.rows", kind);
    suf_run_count(run, counter, f.rows);
    snprintf(counter, sizeof(counter), "%s.rejects", kind);
    suf_run_count(run, counter, f.rejects);
    if (f.rejects && f.rows && (double)f.rejects > run->cfg->max_reject_ratio * (double)f.rows) {
        suf_error("%s: %lld of %lld rows rejected, over max_reject_ratio %.4g",
                  path, (long long)f.rejects, (long long)f.rows, run->cfg->max_reject_ratio);
        suf_run_soft_fail(run, SUF_ERR_REJECTS, "%s: %lld of %lld rows rejected", path,
                          (long long)f.rejects, (long long)f.rows);
    } else if (f.rejects) {
        suf_warn("%s: %lld of %lld rows rejected (see 'suf status')", path,
                 (long long)f.rejects, (long long)f.rows);
    }
    suf_info("%s: imported %lld %s rows, %lld rejected", path,
             (long long)(f.rows - f.rejects), kind, (long long)f.rejects);
    goto out;
rollback:
    suf_store_rollback(run->store);
    if (!strstr(err->msg, path)) /* the store's failure names the database */
        suf_error("%s: not imported: nothing of it is kept", path);
out:
    fclose(in);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int suf_import_path(struct suf_run *run, const char *kind, suf_import_fn fn, const char *path,
                    const struct suf_import_opts *opts, struct suf_err *err)
{
    struct stat sb;
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, alloc = 0;
    int worst = SUF_OK;

    if (stat(path, &sb) != 0)
        return suf_err_at(err, SUF_ERR_NOINPUT, path, 0, "cannot read: %s", strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return import_one(run, kind, fn, path, opts, err);
    d = opendir(path);
    if (!d)
        return suf_err_at(err, SUF_ERR_NOINPUT, path, 0, "cannot read folder: %s",
                          strerror(errno));
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == alloc) {
            alloc = alloc ? alloc * 2 : 16;
            names = suf_xrealloc(names, alloc * sizeof(*names));
        }
        names[n++] = suf_xasprintf("%s/%s", path, de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        struct suf_err ferr = SUF_ERR_INIT;
        int rc;

        if (stat(names[i], &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        rc = import_one(run, kind, fn, names[i], opts, &ferr);
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
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return worst;
}
