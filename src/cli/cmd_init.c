/*
 * cmd_init.c: `suf init`: create the database and a commented sample config.
 *
 * Without --sample the dispatcher has already created and migrated the
 * database (init is a writing command).  With --sample it opens none: this
 * writes only the sample config, so it works on a fresh machine before the
 * database's folder exists.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "cli/cli.h"
#include "store/store.h"
#include "base/banned.h"

static int write_sample(const char *path, struct suf_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    FILE *f;

    if (fd < 0)
        return suf_err_at(err, errno == EEXIST ? SUF_ERR_USAGE : SUF_ERR_CANTCREAT, path, 0,
                          "cannot create sample config: %s", strerror(errno));
    f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return suf_err_at(err, SUF_ERR_CANTCREAT, path, 0, "%s", strerror(errno));
    }
    suf_config_write_sample(f);
    if (fclose(f) != 0)
        return suf_err_at(err, SUF_ERR_IO, path, 0, "cannot write: %s", strerror(errno));
    suf_info("wrote sample config '%s'", path);
    return SUF_OK;
}

int cmd_init(struct suf_run *run, int argc, char **argv, struct suf_err *err)
{
    const char *sample = NULL;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--sample") && i + 1 < argc)
            sample = argv[++i];
        else
            return suf_err_set(err, SUF_ERR_USAGE, "init: unexpected argument '%s'", argv[i]);
    }
    if (sample && !strcmp(sample, "-")) {
        suf_config_write_sample(stdout);
        return SUF_OK;
    }
    if (sample)
        return write_sample(sample, err);
    if (!run->cfg->source)
        suf_info("no config file; 'suf init --sample FILE' writes a commented one");
    suf_info("database '%s' is ready (schema version %d)", run->cfg->database,
             SUF_SCHEMA_VERSION);
    return SUF_OK;
}
