/*
 * test_graph.c: the Graph client and the catalog fetch over the recording
 * transport, whose responder plays Meta's pages, a 429, a token error that
 * quotes the token, a cursor loop and malformed pages.  Each test checks
 * the requests suf made (paths, cursors), what reached the store and the
 * templates inbox, and the error's words.  Sleeps are counted, not slept.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/context.h"
#include "base/log.h"
#include "meta/graph.h"
#include "meta/meta_templates.h"
#include "send/transport.h"
#include "play.h"
#include "testutil.h"

#define NOW INT64_C(1795485600) /* 2026-11-24T02:00:00Z */
#define TOKEN "EAAGtokenSECRET42"

static struct suf_test_run fx; /* the config, store and run of a test */
static int run_no;
static char inbox[512];

/* A page of the catalog with two templates, named after the page. */
#define ENTRY(name)                                                                      \
    "{\"name\":\"" name "\",\"language\":\"en_US\",\"status\":\"APPROVED\","            \
    "\"category\":\"UTILITY\",\"id\":\"77" name "\",\"components\":[]}"
#define PAGE(a, b, paging) "{\"data\":[" ENTRY(a) "," ENTRY(b) "]," paging "}"
#define MORE(after)                                                                      \
    "\"paging\":{\"cursors\":{\"before\":\"b\",\"after\":\"" after "\"},\"next\":"       \
    "\"https://elsewhere.example/v23.0/1/message_templates?after=" after "\"}"
#define LAST(after) "\"paging\":{\"cursors\":{\"before\":\"b\",\"after\":\"" after "\"}}"

static const char *const three_pages[] = {
    PAGE("t_one", "t_two", MORE("QVFIUz1")),
    PAGE("t_three", "t_four", MORE("QVFIUz2+/=")),
    PAGE("t_five", "t_six", LAST("QVFIUz3")),
};


/* Page 1 of three_pages, then `second` as page 2, both HTTP 200. */
static void play_page_two(struct play *p, const char *second)
{
    p->n = 2;
    p->status[0] = p->status[1] = 200;
    p->body[0] = three_pages[0];
    p->body[1] = second;
}

/* Sleeps are counted, and move the fake clock of the rate limiter. */
static int64_t slept;
static void count_sleep(void *ctx, int64_t ms)
{
    (void)ctx;
    slept += ms;
}

static int64_t fake_ns(void *ctx)
{
    (void)ctx;
    return slept * 1000000;
}

static void setup(void)
{
    static int n;
    char name[64];

    snprintf(name, sizeof(name), "graph%d.db", ++n);
    suf_test_run_open(&fx, name, NOW);
    snprintf(name, sizeof(name), "inbox%d", n);
    snprintf(inbox, sizeof(inbox), "%s", suf_test_path(name));
    free(fx.cfg.inbox_templates);
    fx.cfg.inbox_templates = strdup(inbox);
    free(fx.cfg.waba_id);
    fx.cfg.waba_id = strdup("2000000002");
    fx.cfg.page_size = 2;
    fx.cfg.graph_rate = 0;
    fx.cfg.backoff_base_ms = 10;
    fx.run.id = ++run_no;
    slept = 0;
}

static void teardown(struct play *p)
{
    if (p->t)
        p->t->close(p->t);
    p->t = NULL;
    suf_test_run_close(&fx);
    suf_log_secrets_clear();
}

/* Fetches through a recording transport playing `p`; stderr (the log)
 * goes to `log` when not NULL. */
static int fetch(struct play *p, int *pages, struct suf_err *err, const char *log)
{
    struct suf_graph g;
    int saved = -1, rc;

    p->t = suf_transport_record_new(NULL, play_respond, p);
    suf_graph_init(&g, &fx.run, p->t);
    g.sleep = count_sleep;
    suf_ratelimit_init(&g.rl, fx.cfg.graph_rate, fake_ns, NULL);
    if (log) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        fflush(stderr);
        saved = dup(2);
        dup2(fd, 2);
        close(fd);
    }
    rc = suf_meta_templates_fetch(&fx.run, &g, pages, err);
    if (log) {
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
    }
    suf_graph_close(&g);
    return rc;
}

static int64_t q_int(const char *sql)
{
    int64_t v = -1;
    struct suf_err err = SUF_ERR_INIT;

    CU_ASSERT_EQUAL(suf_store_scalar(&fx.st, sql, NULL, &v, &err), SUF_OK);
    return v;
}

/* The files in the inbox, and whether any holds `needle`. */
static int inbox_files(const char *needle, bool *found);

/* After a failure at page 2: page 1 is imported whole and kept, and
 * nothing of page 2 is anywhere. */
static void only_page_one_kept(int pages)
{
    bool found;

    CU_ASSERT_EQUAL(pages, 1);
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM templates"), 2);
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM templates WHERE name = 't_three'"), 0);
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM files"), 1);
    CU_ASSERT_EQUAL(inbox_files(NULL, &found), 1);
}

static int inbox_files(const char *needle, bool *found)
{
    return suf_test_dir_files(inbox, needle, found);
}

static bool file_has(const char *path, const char *needle)
{
    char buf[65536];
    FILE *f = fopen(path, "r");
    size_t len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

    buf[len] = '\0';
    if (f)
        fclose(f);
    return strstr(buf, needle) != NULL;
}

static void test_graph__three_pages_are_fetched_kept_and_imported(void)
{
    struct play p = {.n = 3};
    struct suf_err err = SUF_ERR_INIT;
    int pages = 0;
    bool found;

    setup();
    for (size_t i = 0; i < 3; i++) {
        p.status[i] = 200;
        p.body[i] = three_pages[i];
    }
    CU_ASSERT_EQUAL(fetch(&p, &pages, &err, NULL), SUF_OK);
    CU_ASSERT_EQUAL(pages, 3);
    /* the last page has cursors.after but no next: three requests only */
    CU_ASSERT_EQUAL_FATAL(suf_transport_record_count(p.t), 3);
    CU_ASSERT_STRING_EQUAL(suf_transport_record_path(p.t, 0),
                           "GET /v23.0/2000000002/message_templates?fields=" SUF_META_TEMPLATE_FIELDS
                           "&limit=2");
    /* our own path with the cursor, URL-encoded; never paging.next's URL */
    CU_ASSERT_STRING_EQUAL(suf_transport_record_path(p.t, 1),
                           "GET /v23.0/2000000002/message_templates?fields=" SUF_META_TEMPLATE_FIELDS
                           "&limit=2&after=QVFIUz1");
    CU_ASSERT_STRING_EQUAL(suf_transport_record_path(p.t, 2),
                           "GET /v23.0/2000000002/message_templates?fields=" SUF_META_TEMPLATE_FIELDS
                           "&limit=2&after=QVFIUz2%2B%2F%3D");
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM templates"), 6);
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM templates WHERE live_status = 'APPROVED'"
                          " AND live_category = 'UTILITY' AND live_at = 1795485600"),
                    6);
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM files WHERE kind = 'templates'"), 3);
    CU_ASSERT_EQUAL(inbox_files(NULL, &found), 3);
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "catalog.pages"), 3);
    CU_ASSERT_TRUE(file_has(suf_test_path("inbox1/api-2000000002-20261124T020000Z-run1-p002.json"),
                            "t_three"));
    teardown(&p);
}

static void test_graph__pages_go_at_graph_rate(void)
{
    struct play p = {.n = 3};
    struct suf_err err = SUF_ERR_INIT;
    int pages = 0;

    setup();
    fx.cfg.graph_rate = 2; /* a burst of two, then one every 500 ms */
    for (size_t i = 0; i < 3; i++) {
        p.status[i] = 200;
        p.body[i] = three_pages[i];
    }
    CU_ASSERT_EQUAL(fetch(&p, &pages, &err, NULL), SUF_OK);
    CU_ASSERT_EQUAL(pages, 3);
    CU_ASSERT(slept >= 500 && slept < 1000);
    teardown(&p);
}

static void test_graph__a_cursor_seen_twice_is_refused(void)
{
    struct play p = {.n = 2};
    struct suf_err err = SUF_ERR_INIT;
    int pages = 0;

    setup();
    play_page_two(&p, PAGE("t_three", "t_four", MORE("QVFIUz1"))); /* page 1's cursor */
    CU_ASSERT_EQUAL(fetch(&p, &pages, &err, NULL), SUF_ERR_INPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "repeats cursor 'QVFIUz1' at page 2"));
    CU_ASSERT_EQUAL(suf_transport_record_count(p.t), 2);
    only_page_one_kept(pages);
    teardown(&p);
}

static void test_graph__a_429_mid_paging_waits_and_asks_the_same_cursor(void)
{
    struct play p = {.n = 4};
    struct suf_err err = SUF_ERR_INIT;
    int pages = 0;

    setup();
    p.status[0] = p.status[2] = p.status[3] = 200;
    p.body[0] = three_pages[0];
    p.status[1] = 429;
    p.body[1] = "{\"error\":{\"message\":\"Application request limit reached\",\"code\":4,"
                "\"error_subcode\":2446079,\"is_transient\":true,\"fbtrace_id\":\"x\"}}";
    p.retry_after[1] = "2";
    p.body[2] = three_pages[1];
    p.body[3] = three_pages[2];
    CU_ASSERT_EQUAL(fetch(&p, &pages, &err, NULL), SUF_OK);
    CU_ASSERT_EQUAL(pages, 3);
    CU_ASSERT_EQUAL_FATAL(suf_transport_record_count(p.t), 4);
    CU_ASSERT_STRING_EQUAL(suf_transport_record_path(p.t, 1),
                           suf_transport_record_path(p.t, 2));
    CU_ASSERT(slept >= 2000); /* Retry-After is a floor */
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM templates"), 6);
    teardown(&p);

    /* a 429 that never ends: max_tries, then an error naming the path */
    setup();
    p.n = 2;
    fx.cfg.max_tries = 3;
    p.retry_after[1] = NULL;
    CU_ASSERT_EQUAL(fetch(&p, &pages, &err, NULL), SUF_ERR_NETWORK);
    CU_ASSERT_EQUAL(suf_transport_record_count(p.t), 4); /* page 1, then 3 tries */
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "gave up after 3 tries"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "after=QVFIUz1"));
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM templates"), 2);
    teardown(&p);
}

static void test_graph__a_token_error_stops_and_the_token_is_nowhere(void)
{
    struct play p = {.n = 2};
    struct suf_err err = SUF_ERR_INIT;
    char log[1024]; /* a copy: suf_test_path's buffer is the next call's */
    int pages = 0;
    bool found;

    setup();
    snprintf(log, sizeof(log), "%s", suf_test_path("graph-token.log"));
    suf_log_secret(TOKEN);
    play_page_two(&p, NULL);
    p.status[1] = 401;
    p.body[1] = "{\"error\":{\"message\":\"Malformed access token " TOKEN "\",\"type\":"
                "\"OAuthException\",\"code\":190,\"error_subcode\":463,\"fbtrace_id\":\"x\"}}";
    CU_ASSERT_EQUAL(fetch(&p, &pages, &err, log), SUF_ERR_CONFIG);
    CU_ASSERT_EQUAL(suf_transport_record_count(p.t), 2); /* no retry of a refused token */
    CU_ASSERT_EQUAL(err.api_code, 190);
    CU_ASSERT_PTR_NULL(strstr(err.msg, TOKEN));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "Malformed access token [redacted]"));
    CU_ASSERT_FALSE(file_has(log, TOKEN));
    CU_ASSERT_EQUAL(inbox_files(TOKEN, &found), 1);
    CU_ASSERT_FALSE(found);
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM templates WHERE json LIKE '%" TOKEN "%'"), 0);
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM rejects WHERE raw LIKE '%" TOKEN "%'"), 0);
    teardown(&p);

    /* a 200 page that quotes the token is kept nowhere */
    setup();
    suf_log_secret(TOKEN);
    p.status[1] = 200;
    p.body[1] = "{\"data\":[" ENTRY(TOKEN) "]}";
    CU_ASSERT_EQUAL(fetch(&p, &pages, &err, log), SUF_ERR_INPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "catalog page 2 quotes a secret"));
    CU_ASSERT_EQUAL(inbox_files(TOKEN, &found), 1);
    CU_ASSERT_FALSE(found);
    CU_ASSERT_FALSE(file_has(log, TOKEN));
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM templates WHERE json LIKE '%" TOKEN "%'"), 0);
    teardown(&p);
}

static void test_graph__a_malformed_page_stores_nothing_of_it(void)
{
    static const char *const bad[] = {
        "{\"data\":{}}",
        "{\"paging\":{}}",
        "{\"data\":[" ENTRY("t_three") "],\"paging\":{\"next\":\"https://x/y\"}}",
        "{\"data\":[" ENTRY("t_three") "],\"paging\":{\"cursors\":{\"after\":\"\"},"
        "\"next\":\"u\"}}",
        "{\"data\":[" ENTRY("t_three") "],\"paging\":\"yes\"}",
        "{\"data\":[" ENTRY("t_three") "],\"paging\":{\"next\":7,\"cursors\":{\"after\":\"c\"}}}",
    };
    static const char *const why[] = {
        "catalog page 2: no \"data\" array",
        "catalog page 2: no \"data\" array",
        "catalog page 2: paging.next says there is more, but no paging.cursors.after",
        "catalog page 2: paging.cursors.after is not a cursor",
        "catalog page 2: \"paging\" is not an object",
        "catalog page 2: paging.next is not a string",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct play p = {.n = 2};
        struct suf_err err = SUF_ERR_INIT;
        int pages = 0;

        setup();
        play_page_two(&p, bad[i]);
        CU_ASSERT_EQUAL(fetch(&p, &pages, &err, NULL), SUF_ERR_INPUT);
        if (!strstr(err.msg, why[i]))
            fprintf(stderr, "\nbad page %zu: %s\n", i, err.msg);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, why[i]));
        only_page_one_kept(pages);
        teardown(&p);
    }

    /* a reply that is not JSON at all is retried, then given up: nothing kept */
    {
        struct play p = {.n = 2};
        struct suf_err err = SUF_ERR_INIT;
        int pages = 0;

        setup();
        fx.cfg.max_tries = 2;
        play_page_two(&p, "{\"data\":[{\"name\":");
        CU_ASSERT_EQUAL(fetch(&p, &pages, &err, NULL), SUF_ERR_NETWORK);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a JSON object"));
        CU_ASSERT_EQUAL(suf_transport_record_count(p.t), 3);
        only_page_one_kept(pages);
        teardown(&p);
    }
}

static void test_graph__setup_is_checked_before_any_request(void)
{
    struct play p = {.n = 1, .status = {200}, .body = {"{\"data\":[]}"}};
    struct suf_err err = SUF_ERR_INIT;

    setup();
    free(fx.cfg.waba_id);
    fx.cfg.waba_id = strdup("");
    CU_ASSERT_EQUAL(fetch(&p, NULL, &err, NULL), SUF_ERR_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no waba_id"));
    CU_ASSERT_EQUAL(suf_transport_record_count(p.t), 0);
    teardown(&p);
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"three pages are fetched, kept and imported",
         test_graph__three_pages_are_fetched_kept_and_imported},
        {"pages go at graph_rate", test_graph__pages_go_at_graph_rate},
        {"a cursor seen twice is refused", test_graph__a_cursor_seen_twice_is_refused},
        {"a 429 mid-paging waits and asks the same cursor",
         test_graph__a_429_mid_paging_waits_and_asks_the_same_cursor},
        {"a token error stops, and the token is nowhere",
         test_graph__a_token_error_stops_and_the_token_is_nowhere},
        {"a malformed page stores nothing of it",
         test_graph__a_malformed_page_stores_nothing_of_it},
        {"setup is checked before any request",
         test_graph__setup_is_checked_before_any_request},
        {NULL, NULL},
    };
    return suf_test_main("graph", tests);
}
