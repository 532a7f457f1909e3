/*
 * fuzz_deliveries.c: libFuzzer target for delivery exports.
 *
 * Each input goes twice through the import code:
 *  1. the CSV reader alone, checking its invariants on every record (lines
 *     only grow, fields and raw text within their caps, a width error only
 *     when the count differs);
 *  2. suf_import_deliveries into a scratch store, inside a transaction that
 *     is rolled back, so the store stays small; rejects never exceed rows.
 * Crashes, sanitizer reports and broken invariants (abort) are findings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/context.h"
#include "base/log.h"
#include "import/csvread.h"
#include "import/import.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static struct suf_config cfg;
static struct suf_store st = SUF_STORE_INIT;
static struct suf_run run;
static char dir[256];

static void cleanup(void)
{
    char path[400];

    suf_store_close(&st);
    if (!dir[0])
        return;
    for (const char *const *s = (const char *const[]){"", "-wal", "-shm", ".lock", NULL}; *s; s++) {
        snprintf(path, sizeof(path), "%s/fuzz.db%s", dir, *s);
        unlink(path);
    }
    rmdir(dir);
}

static void setup(void)
{
    struct suf_err err = SUF_ERR_INIT;
    const char *tmp = getenv("TMPDIR");
    char path[400];

    snprintf(dir, sizeof(dir), "%s/suf-fuzz-db-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof(path), "%s/fuzz.db", dir);
    suf_log_setup(SUF_LOG_ERROR);
    suf_config_init(&cfg);
    if (suf_store_open(&st, path, SUF_STORE_CREATE | SUF_STORE_LOCK, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
    run.cfg = &cfg;
    run.store = &st;
    run.counts = json_object();
    suf_clock_init(&run.clock, 1795485600);
    atexit(cleanup);
}

struct seen {
    int64_t last_line;
};

static int check_record(void *vs, const struct suf_csv_record *rec)
{
    struct seen *s = vs;

    if (rec->line < s->last_line || rec->line < 1 || rec->rawlen > SUF_CSV_RAW_MAX)
        abort();
    s->last_line = rec->line;
    for (size_t i = 0; i < rec->nfields; i++)
        if (rec->lens[i] > SUF_CSV_FIELD_MAX || rec->fields[i][rec->lens[i]] != '\0')
            abort();
    if (rec->error == SUF_CSV_ERR_WIDTH && rec->nfields == rec->width)
        abort();
    if (!rec->error && rec->index > 0 && rec->nfields != rec->width)
        abort();
    return SUF_OK;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct suf_err err = SUF_ERR_INIT;
    struct suf_import_file f;
    struct seen seen = {0};
    FILE *in;

    if (!st.db)
        setup();
    if (!size)
        return 0;
    in = fmemopen((void *)(uintptr_t)data, size, "rb");
    if (!in)
        return 0;
    if (suf_csv_read(in, "fuzz.csv", NULL, check_record, &seen, &err))
        abort();
    rewind(in);
    memset(&f, 0, sizeof(f));
    f.run = &run;
    f.kind = "deliveries";
    f.path = "fuzz.csv";
    f.file_id = 1;
    f.warned = 1000; /* no warnings on stderr */
    if (suf_store_begin(&st, &err))
        abort();
    suf_err_clear(&err);
    int rc = suf_import_deliveries(&f, in, &err);
    if (rc != SUF_OK && rc != SUF_ERR_INPUT)
        abort();
    if (f.rejects > f.rows)
        abort();
    suf_store_rollback(&st);
    fclose(in);
    return 0;
}
