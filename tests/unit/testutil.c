/*
 * testutil.c: the shared CUnit runner and scratch helpers (see testutil.h).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <jansson.h>

#include "base/util.h"
#include "testutil.h"

static char scratch[512];

static void remove_scratch(void)
{
    char cmd[600];

    if (scratch[0] && !getenv("SUF_KEEP_SCRATCH")) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", scratch);
    }
}

const char *suf_test_scratch(void)
{
    if (!scratch[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(scratch, sizeof(scratch), "%s/suf-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(scratch)) {
            perror("mkdtemp");
            exit(2);
        }
        atexit(remove_scratch);
    }
    return scratch;
}

const char *suf_test_path(const char *name)
{
    static char path[1024];

    snprintf(path, sizeof(path), "%s/%s", suf_test_scratch(), name);
    return path;
}

const char *suf_test_source(const char *rel)
{
    static char path[1024];
    const char *src = getenv("SUF_SOURCE_DIR");

    snprintf(path, sizeof(path), "%s/%s", src && *src ? src : ".", rel);
    return path;
}

const char *suf_test_write(const char *name, const char *text)
{
    const char *path = suf_test_path(name);
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(text, 1, strlen(text), f) != strlen(text) || fclose(f)) {
        perror(path);
        exit(2);
    }
    return path;
}

int suf_test_dir_files(const char *dir, const char *needle, bool *found)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    *found = false;
    while (d && (de = readdir(d)) != NULL) {
        char path[1024], buf[65536];
        FILE *f;
        size_t len;

        if (de->d_name[0] == '.')
            continue;
        n++;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        f = fopen(path, "r");
        len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
        buf[len] = '\0';
        if (f)
            fclose(f);
        if (needle && strstr(buf, needle))
            *found = true;
    }
    if (d)
        closedir(d);
    return n;
}

void suf_test_run_open(struct suf_test_run *fx, const char *db, int64_t now)
{
    memset(fx, 0, sizeof(*fx));
    suf_config_init(&fx->cfg);
    suf_test_store(&fx->st, db);
    fx->run.cfg = &fx->cfg;
    fx->run.store = &fx->st;
    fx->run.counts = json_object();
    suf_clock_init(&fx->run.clock, now);
}

void suf_test_run_close(struct suf_test_run *fx)
{
    json_decref(fx->run.counts);
    suf_store_close(&fx->st);
    suf_config_release(&fx->cfg);
}

void suf_test_store(struct suf_store *st, const char *name)
{
    struct suf_err err = SUF_ERR_INIT;
    char path[1024];

    snprintf(path, sizeof(path), "%s", suf_test_path(name));
    unlink(path);
    if (suf_store_open(st, path, SUF_STORE_CREATE | SUF_STORE_LOCK, &err)) {
        fprintf(stderr, "cannot open test store: %s\n", err.msg);
        exit(2);
    }
}

int suf_test_main(const char *suite_name, const struct suf_test *tests)
{
    CU_pSuite suite;
    unsigned failures;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    suite = CU_add_suite(suite_name, NULL, NULL);
    if (!suite)
        return 2;
    for (const struct suf_test *t = tests; t->name; t++)
        if (!CU_add_test(suite, t->name, t->fn))
            return 2;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}
