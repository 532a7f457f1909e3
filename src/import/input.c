/*
 * input.c: opening input files without blocking, refusing what is not a
 * plain file, and listing folders of inputs without following links (see
 * input.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "import/input.h"
#include "base/banned.h"

/* What a path that is not a regular file is, for messages. */
static const char *what_is(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a folder";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISLNK(mode))
        return "a symbolic link";
    return "not a regular file";
}

static int refuse(const char *path, mode_t mode, struct suf_err *err)
{
    if (S_ISLNK(mode))
        return suf_err_at(err, SUF_ERR_NOINPUT, path, 0,
                          "is a symbolic link in a folder of inputs: not followed");
    return suf_err_at(err, SUF_ERR_NOINPUT, path, 0, "is %s, not a regular file",
                      what_is(mode));
}

int suf_input_open(const char *path, enum suf_input_origin origin, int *fd,
                   struct stat *sb, struct suf_err *err)
{
    int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    int fl;

    if (origin == SUF_INPUT_LISTED)
        flags |= O_NOFOLLOW;
    *fd = open(path, flags);
    if (*fd < 0) {
        int e = errno;
        struct stat st;

        /* A socket cannot be opened at all (ENXIO) and a link refused gives
         * ELOOP: say what the path is rather than quote errno. */
        if ((origin == SUF_INPUT_LISTED ? lstat(path, &st) : stat(path, &st)) == 0 &&
            !S_ISREG(st.st_mode))
            return refuse(path, st.st_mode, err);
        return suf_err_at(err, SUF_ERR_NOINPUT, path, 0, "cannot read: %s", strerror(e));
    }
    if (fstat(*fd, sb) != 0) {
        int e = errno;

        close(*fd);
        *fd = -1;
        return suf_err_at(err, SUF_ERR_NOINPUT, path, 0, "cannot read: %s", strerror(e));
    }
    if (!S_ISREG(sb->st_mode)) {
        close(*fd);
        *fd = -1;
        return refuse(path, sb->st_mode, err);
    }
    /* A regular file: reads may block as usual (O_NONBLOCK means nothing
     * for one today, but the readers expect a plain descriptor). */
    fl = fcntl(*fd, F_GETFL);
    if (fl < 0 || fcntl(*fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        int e = errno;

        close(*fd);
        *fd = -1;
        return suf_err_at(err, SUF_ERR_IO, path, 0, "cannot read: %s", strerror(e));
    }
    return SUF_OK;
}

bool suf_input_unchanged(const struct stat *before, const struct stat *after)
{
    return before->st_size == after->st_size &&
           before->st_mtim.tv_sec == after->st_mtim.tv_sec &&
           before->st_mtim.tv_nsec == after->st_mtim.tv_nsec &&
           before->st_ctim.tv_sec == after->st_ctim.tv_sec &&
           before->st_ctim.tv_nsec == after->st_ctim.tv_nsec;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether the folder entry `p` (lstat'ed into *sb) is to be read now; says
 * why not when it is worth saying. */
static bool take_entry(const char *p, const struct stat *sb, int64_t settle, int64_t now,
                       struct suf_input_dir *d)
{
    int64_t age = now - (int64_t)sb->st_mtim.tv_sec;

    if (S_ISDIR(sb->st_mode))
        return false; /* subfolders are not scanned: an archive may live there */
    if (S_ISLNK(sb->st_mode)) {
        suf_warn("%s: skipped: a symbolic link in a folder of inputs is not followed "
                 "(name the file itself to import it)",
                 p);
        return false;
    }
    if (!S_ISREG(sb->st_mode)) {
        suf_warn("%s: skipped: %s, not a regular file", p, what_is(sb->st_mode));
        return false;
    }
    /* Too recent, or stamped in the future by less than `settle`: maybe
     * still being written.  Farther in the future means a wrong clock, not
     * a writer: such a file is taken, and the importer still sees it if it
     * changes while read. */
    if (settle > 0 && age < settle && age > -settle) {
        suf_info("%s: modified less than %lld s ago, left for the next run "
                 "(inbox_settle_seconds)",
                 p, (long long)settle);
        d->unsettled++;
        return false;
    }
    return true;
}

int suf_input_list(const char *dir, int64_t settle, int64_t now, struct suf_input_dir *d,
                   struct suf_err *err)
{
    DIR *dh;
    struct dirent *de;
    size_t alloc = 0;

    memset(d, 0, sizeof(*d));
    dh = opendir(dir);
    if (!dh)
        return suf_err_at(err, SUF_ERR_NOINPUT, dir, 0, "cannot read folder: %s",
                          strerror(errno));
    while ((de = readdir(dh)) != NULL) {
        struct stat sb;
        char *p;

        if (de->d_name[0] == '.')
            continue;
        /* gone since readdir: nothing to read */
        if (fstatat(dirfd(dh), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        p = suf_xasprintf("%s/%s", dir, de->d_name);
        if (!take_entry(p, &sb, settle, now, d)) {
            free(p);
            continue;
        }
        if (d->n == alloc) {
            alloc = alloc ? alloc * 2 : 16;
            d->paths = suf_xrealloc(d->paths, alloc * sizeof(*d->paths));
        }
        d->paths[d->n++] = p;
    }
    closedir(dh);
    if (d->n)
        qsort(d->paths, d->n, sizeof(*d->paths), cmp_names);
    return SUF_OK;
}

void suf_input_dir_release(struct suf_input_dir *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->paths[i]);
    free(d->paths);
    memset(d, 0, sizeof(*d));
}
