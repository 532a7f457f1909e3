/*
 * testutil.h: what every CUnit suite of suf shares.
 *
 * Steps for a test program:
 *  1. write `static void test_<module>__<behaviour>(void)` functions;
 *  2. list them in a `static const struct suf_test tests[]` ending in {NULL, NULL};
 *  3. `int main(void) { return suf_test_main("module", tests); }`: it returns
 *     non-zero when any assertion failed (CU_get_number_of_failures), so
 *     CTest sees failures.
 */
#ifndef SUF_TESTUTIL_H
#define SUF_TESTUTIL_H

#include <stdbool.h>

#include <CUnit/CUnit.h>

#include "base/config.h"
#include "base/context.h"
#include "store/store.h"

struct suf_test {
    const char *name;
    void (*fn)(void);
};

int suf_test_main(const char *suite, const struct suf_test *tests);

/* A fresh scratch folder for this test program (removed at exit unless
 * SUF_KEEP_SCRATCH is set); returns its path. */
const char *suf_test_scratch(void);
/* Joins the scratch folder and `name` into a static buffer (one at a time). */
const char *suf_test_path(const char *name);
/* A path under the source tree (SUF_SOURCE_DIR), e.g. "fixtures/x.csv";
 * static buffer. */
const char *suf_test_source(const char *rel);
/* Writes `text` to the scratch file `name`; returns its path (static). */
const char *suf_test_write(const char *name, const char *text);
/* The files of folder `dir` that are not dot files; *found (when `needle`
 * is not NULL) says whether any of their first 64 KiB holds `needle`. */
int suf_test_dir_files(const char *dir, const char *needle, bool *found);
/* Opens a new, migrated, locked store in the scratch folder. */
void suf_test_store(struct suf_store *st, const char *name);

/* A default config, a new store and a run over them whose clock starts at
 * `now`, with its counts: what an import test needs. */
struct suf_test_run {
    struct suf_config cfg;
    struct suf_store st;
    struct suf_run run;
};
void suf_test_run_open(struct suf_test_run *fx, const char *db, int64_t now);
void suf_test_run_close(struct suf_test_run *fx);

#endif /* SUF_TESTUTIL_H */
