/*
 * fuzz_scratch.h: a scratch store for the importer fuzz targets.
 *
 * An importer needs a run (config, store, clock) and a registered file to
 * attach rejects to.  Opening a database per input would make each
 * iteration slow, so the store is opened once, in a temporary file removed
 * at exit, and every input is imported inside one transaction that is then
 * rolled back: each iteration starts from the same empty database, so a
 * finding replays alone.  The stream is an in-memory FILE over the fuzzer's
 * bytes, so no file is written per iteration.
 *
 * Header-only (static functions) because each fuzz target is one source
 * file; include it once per target.
 */
#ifndef SUF_FUZZ_SCRATCH_H
#define SUF_FUZZ_SCRATCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/context.h"
#include "base/log.h"
#include "import/import.h"
#include "store/store.h"

struct fuzz_scratch {
    struct suf_config cfg;
    struct suf_store store;
    struct suf_run run;
    char path[64];
    int ready;
};

static struct fuzz_scratch fuzz_scratch_state;

static void fuzz_scratch_remove(void)
{
    struct fuzz_scratch *s = &fuzz_scratch_state;
    char side[96];

    if (!s->ready)
        return;
    suf_store_close(&s->store);
    json_decref(s->run.counts);
    suf_config_release(&s->cfg);
    unlink(s->path);
    snprintf(side, sizeof(side), "%s-wal", s->path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", s->path);
    unlink(side);
    snprintf(side, sizeof(side), "%s.lock", s->path);
    unlink(side);
    s->ready = 0;
}

/* Opens the scratch store once; aborts when it cannot (nothing to fuzz). */
static struct suf_run *fuzz_scratch_run(void)
{
    struct fuzz_scratch *s = &fuzz_scratch_state;
    struct suf_err err = SUF_ERR_INIT;
    const char *tmp = getenv("TMPDIR");
    int fd;

    if (s->ready)
        return &s->run;
    suf_log_setup(SUF_LOG_ERROR);
    suf_config_init(&s->cfg);
    snprintf(s->path, sizeof(s->path), "%s/suf-fuzz-XXXXXX",
             tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    fd = mkstemp(s->path);
    if (fd < 0) {
        perror("mkstemp");
        abort();
    }
    close(fd);
    if (suf_store_open(&s->store, s->path, SUF_STORE_CREATE, &err) ||
        suf_store_exec(&s->store, "PRAGMA synchronous = OFF", &err)) {
        fprintf(stderr, "fuzz: scratch store: %s\n", err.msg);
        abort();
    }
    memset(&s->run, 0, sizeof(s->run));
    s->run.cfg = &s->cfg;
    s->run.store = &s->store;
    s->run.counts = json_object();
    suf_clock_init(&s->run.clock, INT64_C(1795399200)); /* 2026-11-24 */
    s->ready = 1;
    atexit(fuzz_scratch_remove);
    return &s->run;
}

/*
 * Imports `data` as one file of `kind` named `path` with `fn`, then rolls
 * everything back.  Returns the importer's status (which the fuzzer only
 * checks for consistency: a failed import must have said why).
 */
static int fuzz_scratch_import(const char *kind, const char *path, suf_import_fn fn,
                               const struct suf_import_opts *opts, const uint8_t *data,
                               size_t size)
{
    struct suf_run *run = fuzz_scratch_run();
    struct suf_import_file f;
    struct suf_err err = SUF_ERR_INIT;
    bool seen = false;
    FILE *in;
    int rc;

    /* fmemopen refuses a zero-sized buffer on some libcs; an empty file is
     * /dev/null. */
    in = size ? fmemopen((void *)(uintptr_t)data, size, "rb") : fopen("/dev/null", "rb");
    if (!in)
        abort();
    memset(&f, 0, sizeof(f));
    f.run = run;
    f.kind = kind;
    f.path = path;
    f.opts = opts;
    if (suf_store_begin(run->store, &err) ||
        suf_store_file_register(run->store, kind, path, "fuzz", (int64_t)size, 0,
                                suf_run_now(run), &f.file_id, &seen, &err)) {
        fprintf(stderr, "fuzz: scratch store: %s\n", err.msg);
        abort();
    }
    rc = fn(&f, in, &err);
    /* A failure must come with a message; a database failure on an empty
     * scratch store is a bug (SQL built from data, a constraint missed). */
    if (rc && !err.msg[0]) {
        fprintf(stderr, "fuzz: %s importer failed (%d) without a message\n", kind, rc);
        abort();
    }
    if (rc == SUF_ERR_DB || rc == SUF_ERR_INTERNAL) {
        fprintf(stderr, "fuzz: %s importer: %s\n", kind, err.msg);
        abort();
    }
    if (f.rejects > f.rows) {
        fprintf(stderr, "fuzz: %s importer: %lld rejects of %lld rows\n", kind,
                (long long)f.rejects, (long long)f.rows);
        abort();
    }
    suf_store_rollback(run->store);
    fclose(in);
    return rc;
}

#endif /* SUF_FUZZ_SCRATCH_H */
