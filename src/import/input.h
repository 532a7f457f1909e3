/*
 * input.h: opening input files and listing folders of them, so that what
 * suf reads is a plain file that stays put while it is read.
 *
 * Every input (delivery exports, campaign settings, template pages, rate
 * cards, the market map, webhook event logs) is opened here, for three
 * reasons:
 *  - a FIFO, a device or a socket named as input would block the open or
 *    the read forever while the command holds the database lock: the open
 *    never blocks, and anything but a regular file is refused at once,
 *    with the path and what it is;
 *  - a folder of inputs is filled by other programs and other users: a
 *    symbolic link found in it could point anywhere (a link to a system
 *    file would put its lines into `rejects`), so links found in a folder
 *    are skipped with a warning each, and are not followed even when one
 *    replaces a file between the listing and the open.  A path the operator
 *    names is followed: the operator chose it;
 *  - a file still being written must not be taken: a folder scan leaves
 *    files modified in the last `settle` seconds for a later scan, and
 *    suf_input_unchanged() lets the importer see a file that changed while
 *    it was read.
 *
 * Ownership: suf_input_open hands the caller a descriptor to close;
 * suf_input_list fills a struct suf_input_dir that suf_input_dir_release
 * frees.
 */
#ifndef SUF_INPUT_H
#define SUF_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "base/status.h"

/* How a path came to be read. */
enum suf_input_origin {
    SUF_INPUT_NAMED,  /* the operator named it: a symbolic link is followed */
    SUF_INPUT_LISTED, /* found in a folder: a symbolic link is refused */
};

/*
 * Opens `path` for reading.  The open itself cannot block (O_NONBLOCK, so a
 * FIFO without a writer returns at once); the descriptor is then checked
 * with fstat and, when it is a regular file, put back in blocking mode.
 * On success *fd is the caller's to close and *sb holds its fstat.  A path
 * that is not a regular file gives SUF_ERR_NOINPUT with a message naming
 * it and what it is ("f.csv: is a FIFO, not a regular file"), and nothing
 * stays open.
 */
int suf_input_open(const char *path, enum suf_input_origin origin, int *fd,
                   struct stat *sb, struct suf_err *err);

/* True when `after` (an fstat of the same descriptor, taken later) shows
 * the file as `before` did: the same size, modification and change times.
 * The change time moves with every write, even one whose author sets the
 * modification time back. */
bool suf_input_unchanged(const struct stat *before, const struct stat *after);

/* The files of a folder to read, sorted by name. */
struct suf_input_dir {
    char **paths;     /* "DIR/NAME", each owned */
    size_t n;         /* how many */
    size_t unsettled; /* regular files left for a later scan (too recent) */
};

/*
 * Lists the folder `dir` into `d` (which the caller releases, also after a
 * failure).  Left out:
 *  - names starting with "." (files being written, by convention) and
 *    subfolders, silently;
 *  - symbolic links, FIFOs, sockets and devices, with one warning each;
 *  - with `settle` > 0, regular files whose modification time is less than
 *    `settle` seconds away from `now`, with an information line each.  Both
 *    are the machine's wall clock (the kernel stamps files with it), never
 *    a run's --now.
 * Returns SUF_ERR_NOINPUT when the folder cannot be read.
 */
int suf_input_list(const char *dir, int64_t settle, int64_t now, struct suf_input_dir *d,
                   struct suf_err *err);
void suf_input_dir_release(struct suf_input_dir *d);

#endif /* SUF_INPUT_H */
