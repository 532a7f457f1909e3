/*
 * test_store.c: the store: migrations (schema version 1 with its data),
 * the run records, the single-writer lock and the checkpointer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "base/util.h"
#include "store/ckpt.h"
#include "store/store.h"
#include "testutil.h"

static void test_store__migrates_and_records_runs(void)
{
    struct suf_store st = SUF_STORE_INIT;
    struct suf_err err = SUF_ERR_INIT;
    int64_t v = 0, id = 0, fid = 0;
    bool seen = true;
    struct stat sb;

    suf_test_store(&st, "a.db");
    CU_ASSERT_EQUAL(suf_store_scalar(&st, "PRAGMA user_version", NULL, &v, &err), SUF_OK);
    CU_ASSERT_EQUAL(v, SUF_SCHEMA_VERSION);
    CU_ASSERT_EQUAL(stat(suf_test_path("a.db"), &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
    CU_ASSERT_EQUAL(suf_store_run_begin(&st, "import", "import x", 10, 20, &id, &err), SUF_OK);
    CU_ASSERT_EQUAL(suf_store_file_register(&st, "deliveries", "x.csv", "abc", 3, id, 20, &fid,
                                            &seen, &err),
                    SUF_OK);
    CU_ASSERT_FALSE(seen);
    CU_ASSERT_EQUAL(suf_store_file_register(&st, "deliveries", "y.csv", "abc", 3, id, 20, &fid,
                                            &seen, &err),
                    SUF_OK);
    CU_ASSERT_TRUE(seen);
    CU_ASSERT_EQUAL(suf_store_reject(&st, fid, "x.csv", 7, "bad", "a,b", 3, id, &err), SUF_OK);
    CU_ASSERT_EQUAL(suf_store_run_end(&st, id, 30, "ok", 0, "{}", NULL, &err), SUF_OK);
    CU_ASSERT_EQUAL(suf_store_scalar(&st, "SELECT count(*) FROM runs WHERE status = 'ok'", NULL,
                                     &v, &err),
                    SUF_OK);
    CU_ASSERT_EQUAL(v, 1);
    suf_store_close(&st);
}

static void test_store__second_writer_is_refused(void)
{
    struct suf_store a = SUF_STORE_INIT, b = SUF_STORE_INIT;
    struct suf_err err = SUF_ERR_INIT;
    pid_t pid;
    int status;

    suf_test_store(&a, "lock.db");
    /* flock is per open file description: a child process sees the lock. */
    pid = fork();
    if (pid == 0) {
        int rc = suf_store_open(&b, suf_test_path("lock.db"), SUF_STORE_LOCK, &err);
        _exit(rc == SUF_ERR_LOCKED ? 0 : 1);
    }
    CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    suf_store_close(&a);
}

static void test_store__newer_schema_is_refused(void)
{
    struct suf_store st = SUF_STORE_INIT;
    struct suf_err err = SUF_ERR_INIT;

    suf_test_store(&st, "new.db");
    suf_store_exec(&st, "PRAGMA user_version = 99", &err);
    suf_store_close(&st);
    CU_ASSERT_EQUAL(suf_store_open(&st, suf_test_path("new.db"), 0, &err), SUF_ERR_DB);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "newer than this suf"));
}

/* Loads the SQL file `rel` (source tree) into a new database at `path`
 * with SQLite alone, as an older suf would have left it. */
static void load_sql(const char *rel, const char *path)
{
    FILE *f = fopen(suf_test_source(rel), "r");
    struct suf_buf sql = SUF_BUF_INIT;
    char chunk[4096];
    size_t n;
    sqlite3 *db = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        suf_buf_add(&sql, chunk, n);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_exec(db, suf_buf_str(&sql), NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    suf_buf_release(&sql);
}

static int64_t scalar(struct suf_store *st, const char *sql)
{
    struct suf_err err = SUF_ERR_INIT;
    int64_t v = -1;

    CU_ASSERT_EQUAL(suf_store_scalar(st, sql, NULL, &v, &err), SUF_OK);
    return v;
}

/* The checks of one store of version 1 (fixture `rel`), migrated. */
static void check_v1_migrates(const char *rel, const char *name)
{
    struct suf_store st = SUF_STORE_INIT;
    struct suf_err err = SUF_ERR_INIT;
    char path[512];

    suf_strlcpy(path, suf_test_path(name), sizeof(path));
    load_sql(rel, path);
    load_sql("tests/data/schema-v1-rows.sql", path);
    CU_ASSERT_EQUAL_FATAL(suf_store_open(&st, path, SUF_STORE_LOCK, &err), SUF_OK);
    CU_ASSERT_EQUAL(scalar(&st, "PRAGMA user_version"), SUF_SCHEMA_VERSION);
    /* attempts: every row and column kept; the key is the named index */
    CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM attempts WHERE (id = 1 AND "
                                "message_id = 'wamid.A1' AND error_code = 131049 AND "
                                "vars = '[\"Asha\",\"CODE1\"]') OR (id = 2 AND status = "
                                "'delivered' AND sent_at = 1795400060)"),
                    2);
    CU_ASSERT_NOT_EQUAL(suf_store_exec(&st, "INSERT INTO attempts (campaign_id, message_id, "
                                            "phone, template_name, status, sent_at) VALUES "
                                            "('c1', 'wamid.A1', '1', 't', 'sent', 0)",
                                       &err),
                        SUF_OK);
    /* fallbacks: the partial state indexes replace the old one */
    CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM sqlite_schema WHERE name IN "
                                "('fallbacks_delivered', 'fallbacks_consented', "
                                "'fallbacks_expired')"),
                    3);
    CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM sqlite_schema WHERE name = "
                                "'fallbacks_state'"),
                    0);
    CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM fallbacks"), 2);
    /* events: all kept, the unprocessed ones queued in (ts, id) order */
    CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM events WHERE id IN (10, 11, 12)"), 3);
    CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM event_queue"), 2);
    CU_ASSERT_EQUAL(scalar(&st, "SELECT id FROM event_queue ORDER BY ts, id LIMIT 1"), 12);
    CU_ASSERT_EQUAL(scalar(&st, "SELECT id FROM event_queue ORDER BY ts, id LIMIT 1 OFFSET 1"),
                    11);
    CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM pragma_table_info('events') WHERE name "
                                "IN ('dedupe', 'processed')"),
                    0);
    CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM sqlite_schema WHERE name = "
                                "'events_identity'"),
                    1);
    suf_store_close(&st);
}

/* Both layouts version 1 was released with. */
static void test_store__version_1_migrates_with_its_data(void)
{
    check_v1_migrates("tests/data/schema-v1.sql", "v1.db");
    check_v1_migrates("tests/data/schema-v1-later.sql", "v1-later.db");
}

/* Commits about `pages` pages of 4 KiB in one transaction. */
static void write_pages(struct suf_store *st, int pages)
{
    char sql[128];

    snprintf(sql, sizeof(sql), "INSERT INTO ballast VALUES (zeroblob(%d))", pages * 4096);
    CU_ASSERT_EQUAL(suf_store_exec(st, sql, NULL), SUF_OK);
}

/* Waits (10 s at most) for the database file to reach `size` bytes. */
static bool file_grows_to(const char *path, off_t size)
{
    struct timespec tick = {0, 10 * 1000000L};
    struct stat sb;

    for (int i = 0; i < 1000; i++) {
        if (stat(path, &sb) == 0 && sb.st_size >= size)
            return true;
        nanosleep(&tick, NULL);
    }
    return false;
}

static void test_store__checkpointer_copies_the_wal_and_stops_mid_pass(void)
{
    struct suf_store st = SUF_STORE_INIT;
    struct suf_ckpt *c;
    char path[1024];

    suf_test_store(&st, "ckpt.db");
    snprintf(path, sizeof(path), "%s", suf_test_path("ckpt.db"));
    CU_ASSERT_EQUAL(suf_store_exec(&st, "CREATE TABLE ballast (b BLOB)", NULL), SUF_OK);
    c = suf_ckpt_start(&st, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    /* past SUF_CKPT_FRAMES: a pass copies the WAL into the file */
    write_pages(&st, SUF_CKPT_FRAMES + 64);
    CU_ASSERT_TRUE(file_grows_to(path, (off_t)SUF_CKPT_FRAMES * 4096));
    /* again, and stop while that pass may still be queued or running */
    write_pages(&st, SUF_CKPT_FRAMES + 64);
    suf_ckpt_stop(c);
    suf_ckpt_stop(NULL);
    CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM ballast"), 2);
    suf_store_close(&st);
}

/* A caller's smaller pass size bounds the WAL file: a commit past
 * SUF_CKPT_MAX_FACTOR times it waits for a complete pass, and the next
 * one starts the WAL again from its beginning.  480 pages in commits of 8
 * would otherwise leave a WAL of 480 frames. */
static void test_store__checkpointer_bounds_the_wal_by_its_pass_size(void)
{
    const int frames = 32;
    const off_t frame = 4096 + 24, bound = 32 + (off_t)(frames * SUF_CKPT_MAX_FACTOR + 16) * frame;
    struct suf_store st = SUF_STORE_INIT;
    struct suf_ckpt *c;
    struct stat sb;
    char wal[1024];
    off_t largest = 0;

    suf_test_store(&st, "ckpt-small.db");
    snprintf(wal, sizeof(wal), "%s-wal", suf_test_path("ckpt-small.db"));
    CU_ASSERT_EQUAL(suf_store_exec(&st, "CREATE TABLE ballast (b BLOB)", NULL), SUF_OK);
    c = suf_ckpt_start(&st, frames);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    for (int i = 0; i < 60; i++) {
        write_pages(&st, 8);
        if (stat(wal, &sb) == 0 && sb.st_size > largest)
            largest = sb.st_size;
    }
    suf_ckpt_stop(c);
    CU_ASSERT(largest > 0);
    CU_ASSERT(largest <= bound);
    CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM ballast"), 60);
    suf_store_close(&st);
}

static const struct suf_test tests[] = {
    {"store: version 1 migrates with its data", test_store__version_1_migrates_with_its_data},
    {"store: migrates and records runs", test_store__migrates_and_records_runs},
    {"store: second writer is refused", test_store__second_writer_is_refused},
    {"store: newer schema is refused", test_store__newer_schema_is_refused},
    {"store: checkpointer copies the WAL and stops mid-pass",
     test_store__checkpointer_copies_the_wal_and_stops_mid_pass},
    {"store: checkpointer bounds the WAL by its pass size",
     test_store__checkpointer_bounds_the_wal_by_its_pass_size},
    {NULL, NULL},
};

int main(void)
{
    return suf_test_main("store", tests);
}
