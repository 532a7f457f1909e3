/*
 * test_receive.c: the webhook receiver's parts without a socket: the
 * signature check, the handshake, the body checks and consent detection
 * (tables of cases), the listen address parser, the inbox's file names,
 * rotation and lanes, and the consent runner's debounce; then the
 * HTTP server in this process on loopback: several workers taking a load,
 * and a failed flush.
 *
 * Expected signatures are computed here with OpenSSL's HMAC directly, not
 * with the code under test.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/timeutil.h"
#include "base/util.h"
#include "receive/receive.h"
#include "testutil.h"

#define SECRET "app-secret-for-tests"

/* "sha256=" + lowercase hex HMAC, computed independently of receive_check.c */
static void expected_sig(const char *body, size_t len, const char *secret, char out[72])
{
    unsigned char mac[32];
    unsigned int n = 0;

    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, mac,
         &n);
    memcpy(out, "sha256=", 7);
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
}

static void upcase_hex(char *s)
{
    for (char *p = s + 7; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
}

static void test_receive__signature_table(void)
{
    static const char body[] = "{\"object\":\"whatsapp_business_account\",\"entry\":[]}";
    char good[72], upper[72], shortsig[72], longsig[80], prefix[72], other[72], empty[72],
        nonhex[72];

    expected_sig(body, strlen(body), SECRET, good);
    memcpy(upper, good, sizeof(good));
    upcase_hex(upper);
    memcpy(shortsig, good, sizeof(good));
    shortsig[strlen(shortsig) - 1] = '\0';
    snprintf(longsig, sizeof(longsig), "%s0", good);
    memcpy(prefix, good, sizeof(good));
    memcpy(prefix, "SHA256=", 7);
    expected_sig(body, strlen(body), "another-secret", other);
    expected_sig("", 0, SECRET, empty);
    memcpy(nonhex, good, sizeof(good));
    nonhex[20] = 'g';

    const struct {
        const char *name, *header, *body;
        bool ok;
    } rows[] = {
        {"good", good, body, true},
        {"missing", NULL, body, false},
        {"empty header", "", body, false},
        {"prefix only", "sha256=", body, false},
        {"wrong prefix case", prefix, body, false},
        {"sha1 prefix", good + 1, body, false}, /* "ha256=..." */
        {"one digit short", shortsig, body, false},
        {"one digit long", longsig, body, false},
        {"uppercase hex", upper, body, true},
        {"non-hex digit", nonhex, body, false},
        {"other secret", other, body, false},
        {"body changed", good, "{\"object\":\"whatsapp_business_account\",\"entry\":[1]}",
         false},
        {"empty body signed", empty, "", true},
        {"empty body, other body's signature", good, "", false},
    };
    struct suf_receive_mac *mac = suf_receive_mac_new(SECRET, strlen(SECRET));

    CU_ASSERT_PTR_NOT_NULL_FATAL(mac);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        bool got = suf_receive_signature_ok(rows[i].header, rows[i].body,
                                            strlen(rows[i].body), SECRET, strlen(SECRET));
        /* the prepared key, reused row after row, answers the same */
        bool got_mac = suf_receive_signature_ok_mac(rows[i].header, rows[i].body,
                                                    strlen(rows[i].body), mac);
        if (got != rows[i].ok || got_mac != rows[i].ok)
            fprintf(stderr, "signature row '%s': got %d, prepared %d\n", rows[i].name, got,
                    got_mac);
        CU_ASSERT_EQUAL(got, rows[i].ok);
        CU_ASSERT_EQUAL(got_mac, rows[i].ok);
    }
    CU_ASSERT_FALSE(suf_receive_signature_ok_mac(good, body, strlen(body), NULL));
    suf_receive_mac_free(mac);
}

static void test_receive__sign_matches_independent_hmac(void)
{
    static const char body[] = "{\"a\":1}";
    char mine[80], ref[72];

    suf_receive_sign(body, strlen(body), SECRET, strlen(SECRET), mine, sizeof(mine));
    expected_sig(body, strlen(body), SECRET, ref);
    CU_ASSERT_STRING_EQUAL(mine, ref);
}

static void test_receive__handshake_table(void)
{
    char longch[SUF_RECEIVE_CHALLENGE_MAX + 2];
    char maxch[SUF_RECEIVE_CHALLENGE_MAX + 1];

    memset(longch, '7', sizeof(longch) - 1);
    longch[sizeof(longch) - 1] = '\0';
    memset(maxch, '7', sizeof(maxch) - 1);
    maxch[sizeof(maxch) - 1] = '\0';
    const struct {
        const char *mode, *token, *challenge;
        int status;
    } rows[] = {
        {"subscribe", "verify-me", "1158201444", 200},
        {"subscribe", "verify-me", "abc.DEF_1-2~3", 200},
        {"subscribe", "verify-me", maxch, 200},
        {"subscribe", "verify-me", longch, 403},
        {"subscribe", "wrong", "1158201444", 403},
        {"subscribe", "verify-m", "1158201444", 403},   /* a prefix of the token */
        {"subscribe", "verify-me!", "1158201444", 403}, /* the token plus more */
        {"subscribe", "", "1158201444", 403},
        {"subscribe", NULL, "1158201444", 403},
        {"unsubscribe", "verify-me", "1158201444", 403},
        {"Subscribe", "verify-me", "1158201444", 403},
        {NULL, "verify-me", "1158201444", 403},
        {"subscribe", "verify-me", NULL, 403},
        {"subscribe", "verify-me", "", 403},
        {"subscribe", "verify-me", "<script>", 403},
        {"subscribe", "verify-me", "12 34", 403},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        CU_ASSERT_EQUAL(suf_receive_handshake(rows[i].mode, rows[i].token,
                                              rows[i].challenge, "verify-me"),
                        rows[i].status);
}

static void test_receive__token_equal_table(void)
{
    CU_ASSERT_TRUE(suf_receive_token_equal("abc-123", "abc-123"));
    CU_ASSERT_FALSE(suf_receive_token_equal("abc-124", "abc-123"));
    CU_ASSERT_FALSE(suf_receive_token_equal("abc-12", "abc-123"));
    CU_ASSERT_FALSE(suf_receive_token_equal(NULL, "abc-123"));
    CU_ASSERT_FALSE(suf_receive_token_equal("abc-123", NULL));
}

static void test_receive__content_length_table(void)
{
    static const struct {
        const char *value;
        int64_t cap;
        int status;
    } rows[] = {
        {NULL, 100, 0},    {"0", 100, 0},     {"100", 100, 0},
        {"101", 100, 413}, {" 42 ", 100, 0},  {"", 100, 400},
        {"-1", 100, 400},  {"12a", 100, 400}, {"99999999999999999999999999", 100, 413},
        {"1e3", 100, 400},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        CU_ASSERT_EQUAL(suf_receive_content_length(rows[i].value, rows[i].cap),
                        rows[i].status);
}

static void test_receive__framing_table(void)
{
    static const struct {
        const char *cl, *te;
        int status;
        const char *why;
    } rows[] = {
        {"42", NULL, 0, NULL},
        {NULL, "chunked", 0, NULL},
        {"42", "chunked", 0, NULL},
        {"101", NULL, 413, "body too large"},
        {"12a", NULL, 400, "bad content-length"},
        {"", NULL, 400, "bad content-length"},
        {NULL, NULL, 411, "missing content-length"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *why = "unset";
        CU_ASSERT_EQUAL(suf_receive_framing(rows[i].cl, rows[i].te, 100, &why),
                        rows[i].status);
        if (rows[i].why) {
            CU_ASSERT_STRING_EQUAL(why ? why : "(null)", rows[i].why);
        } else {
            CU_ASSERT_PTR_NULL(why);
        }
    }
    CU_ASSERT_EQUAL(suf_receive_framing(NULL, NULL, 100, NULL), 411);
}

static int post(const char *body, int64_t cap, struct suf_buf *line,
                struct suf_receive_body *out)
{
    char sig[72];

    expected_sig(body, strlen(body), SECRET, sig);
    return suf_receive_post(sig, body, strlen(body), cap, SECRET, strlen(SECRET), line,
                            out);
}

static void test_receive__post_decisions_table(void)
{
#define NOT_OBJECT "body is not a JSON object"
    static const struct {
        const char *body;
        int64_t cap;
        int status;
        const char *why;
    } rows[] = {
        {"{\"object\":\"whatsapp_business_account\"}", 1024, 200, NULL},
        {"{\"object\":\"whatsapp_business_account\"}", 10, 413, "body too large"},
        {"not json", 1024, 400, NOT_OBJECT},
        {"[1,2,3]", 1024, 400, NOT_OBJECT},
        {"\"a string\"", 1024, 400, NOT_OBJECT},
        {"{\"a\":1} trailing", 1024, 400, NOT_OBJECT},
        {"{\"a\":\"\xff\"}", 1024, 400, NOT_OBJECT}, /* not UTF-8 */
        {"{\"a\":\"x\ny\"}", 1024, 400, NOT_OBJECT}, /* raw newline inside a string */
        {"", 1024, 400, NOT_OBJECT},
    };
    struct suf_buf line = SUF_BUF_INIT;
    struct suf_receive_body out;

    struct suf_receive_mac *mac = suf_receive_mac_new(SECRET, strlen(SECRET));

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int st = post(rows[i].body, rows[i].cap, &line, &out);
        char sig[72];
        struct suf_buf line2 = SUF_BUF_INIT;
        CU_ASSERT_EQUAL(st, rows[i].status);
        CU_ASSERT_EQUAL(out.why == NULL, st == 200);
        if (rows[i].why)
            CU_ASSERT_STRING_EQUAL(out.why ? out.why : "(null)", rows[i].why);
        /* the prepared key decides the same, with the same line */
        expected_sig(rows[i].body, strlen(rows[i].body), SECRET, sig);
        CU_ASSERT_EQUAL(suf_receive_post_mac(sig, rows[i].body, strlen(rows[i].body),
                                             rows[i].cap, mac, &line2, NULL),
                        st);
        if (st == 200)
            CU_ASSERT_STRING_EQUAL(suf_buf_str(&line2), suf_buf_str(&line));
        suf_buf_release(&line2);
    }
    suf_receive_mac_free(mac);
    /* A bad signature is refused before the body is even parsed. */
    CU_ASSERT_EQUAL(suf_receive_post("sha256=00", "not json", 8, 1024, SECRET,
                                     strlen(SECRET), &line, &out),
                    401);
    CU_ASSERT_STRING_EQUAL(out.why, "bad signature");
    CU_ASSERT_EQUAL(
        suf_receive_post(NULL, "{}", 2, 1024, SECRET, strlen(SECRET), &line, &out), 401);
    CU_ASSERT_STRING_EQUAL(out.why, "missing signature");
    suf_buf_release(&line);
}

static void test_receive__multiline_body_becomes_one_equal_line(void)
{
    static const char body[] =
        "{\r\n  \"object\": \"whatsapp_business_account\",\n  \"entry\": "
        "[{\"id\": \"1\", \"text\": \"a\\nb\"}]\n}\n";
    struct suf_buf line = SUF_BUF_INIT;
    json_error_t e;
    json_t *a, *b;

    CU_ASSERT_EQUAL_FATAL(post(body, 4096, &line, NULL), 200);
    CU_ASSERT_EQUAL(line.len, strlen(body) + 1);
    CU_ASSERT_EQUAL(line.buf[line.len - 1], '\n');
    CU_ASSERT_PTR_NULL(memchr(line.buf, '\n', line.len - 1));
    CU_ASSERT_PTR_NULL(memchr(line.buf, '\r', line.len));
    a = json_loads(body, 0, &e);
    b = json_loadb(line.buf, line.len - 1, 0, &e);
    CU_ASSERT_TRUE(a && b && json_equal(a, b));
    json_decref(a);
    json_decref(b);
    suf_buf_release(&line);
}

static void test_receive__single_line_body_is_kept_byte_for_byte(void)
{
    static const char body[] =
        "{\"object\":\"whatsapp_business_account\",\"n\":1.50,\"u\":\"\\u00e9\"}";
    struct suf_buf line = SUF_BUF_INIT;

    CU_ASSERT_EQUAL_FATAL(post(body, 4096, &line, NULL), 200);
    CU_ASSERT_EQUAL(line.len, strlen(body) + 1);
    CU_ASSERT_EQUAL(memcmp(line.buf, body, strlen(body)), 0);
    suf_buf_release(&line);
}

#define ENV_HEAD                                                                         \
    "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":[{"  \
    "\"field\":\"messages\",\"value\":{"
#define ENV_TAIL "}}]}]}"

static void test_receive__consent_detection_table(void)
{
    static const struct {
        const char *name, *body;
        bool consent;
    } rows[] = {
        {"template tap",
         ENV_HEAD "\"messages\":[{\"from\":\"447700900023\",\"type\":\"button\","
                  "\"context\":{\"id\":\"wamid.1\"},"
                  "\"button\":{\"payload\":\"suf:42:yes\",\"text\":\"Yes\"}}]" ENV_TAIL,
         true},
        {"button reply",
         ENV_HEAD "\"messages\":[{\"type\":\"interactive\",\"interactive\":{\"type\":"
                  "\"button_reply\","
                  "\"button_reply\":{\"id\":\"x\",\"title\":\"X\"}}}]" ENV_TAIL,
         true},
        {"list reply",
         ENV_HEAD "\"messages\":[{\"type\":\"interactive\",\"interactive\":{\"type\":"
                  "\"list_reply\","
                  "\"list_reply\":{\"id\":\"x\",\"title\":\"X\"}}}]" ENV_TAIL,
         true},
        {"tap after a text",
         ENV_HEAD "\"messages\":[{\"type\":\"text\",\"text\":{\"body\":\"hi\"}},{"
                  "\"type\":\"button\"}]" ENV_TAIL,
         true},
        {"text message",
         ENV_HEAD
         "\"messages\":[{\"type\":\"text\",\"text\":{\"body\":\"yes\"}}]" ENV_TAIL,
         false},
        {"interactive without a reply",
         ENV_HEAD "\"messages\":[{\"type\":\"interactive\",\"interactive\":{\"type\":"
                  "\"nfm_reply\"}}]" ENV_TAIL,
         false},
        {"status only",
         ENV_HEAD "\"statuses\":[{\"id\":\"wamid.1\",\"status\":\"delivered\",\"type\":"
                  "\"button\"}]" ENV_TAIL,
         false},
        {"type not a string", ENV_HEAD "\"messages\":[{\"type\":7}]" ENV_TAIL, false},
        {"messages not an array", ENV_HEAD "\"messages\":{\"type\":\"button\"}" ENV_TAIL,
         false},
        {"entry not an array", "{\"entry\":{\"changes\":[]}}", false},
        {"not JSON", "{\"entry\":[", false},
        {"array", "[{\"type\":\"button\"}]", false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        bool got = suf_receive_is_consent(rows[i].body, strlen(rows[i].body));
        struct suf_buf line = SUF_BUF_INIT;
        struct suf_receive_body out = {false, NULL};
        if (got != rows[i].consent)
            fprintf(stderr, "consent row '%s': got %d\n", rows[i].name, got);
        CU_ASSERT_EQUAL(got, rows[i].consent);
        /* suf_receive_post reports the same for bodies it accepts. */
        if (post(rows[i].body, 65536, &line, &out) == 200)
            CU_ASSERT_EQUAL(out.consent, rows[i].consent);
        suf_buf_release(&line);
    }
}

static void test_receive__listen_address_table(void)
{
    static const struct {
        const char *spec;
        int ok;
        int family;
        unsigned port;
    } rows[] = {
        {"127.0.0.1:8080", 1, AF_INET, 8080},
        {"0.0.0.0:0", 1, AF_INET, 0},
        {"[::1]:9000", 1, AF_INET6, 9000},
        {"127.0.0.1", 0, 0, 0},
        {"127.0.0.1:", 0, 0, 0},
        {"127.0.0.1:65536", 0, 0, 0},
        {"localhost:80", 0, 0, 0},
        {":80", 0, 0, 0},
        {"[::1:80", 0, 0, 0},
        {"127.0.0.1:8x", 0, 0, 0},
        {"", 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct sockaddr_storage sa;
        socklen_t len = 0;
        struct suf_err err = SUF_ERR_INIT;
        int rc = suf_receive_parse_listen(rows[i].spec, &sa, &len, &err);
        CU_ASSERT_EQUAL(rc == SUF_OK, rows[i].ok);
        if (rc == SUF_OK) {
            unsigned port = sa.ss_family == AF_INET
                                ? ntohs(((struct sockaddr_in *)&sa)->sin_port)
                                : ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
            CU_ASSERT_EQUAL(sa.ss_family, rows[i].family);
            CU_ASSERT_EQUAL(port, rows[i].port);
        } else {
            CU_ASSERT_EQUAL(err.status, SUF_ERR_USAGE);
        }
    }
}

static void test_receive__file_names_sort_in_time_order(void)
{
    static const struct {
        int64_t t;
        unsigned seq;
        const char *name;
    } rows[] = {
        {1795485600, 1, "events-20261124T020000Z-000001.jsonl"},
        {1795485600, 2, "events-20261124T020000Z-000002.jsonl"},
        {1795485601, 1, "events-20261124T020001Z-000001.jsonl"},
        {1795572000, 1, "events-20261125T020000Z-000001.jsonl"},
    };
    char prev[64] = "";

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char name[64];
        suf_inbox_file_name(rows[i].t, rows[i].seq, name, sizeof(name));
        CU_ASSERT_STRING_EQUAL(name, rows[i].name);
        CU_ASSERT(strcmp(prev, name) < 0);
        suf_strlcpy(prev, name, sizeof(prev));
    }
}

/* A clock the test moves by hand (with clock_add while a receiver's
 * workers read it). */
struct fake_clock {
    int64_t t;
};

static int64_t fake_now(void *ctx)
{
    return __atomic_load_n(&((struct fake_clock *)ctx)->t, __ATOMIC_SEQ_CST);
}

static void clock_add(struct fake_clock *clk, int64_t secs)
{
    __atomic_add_fetch(&clk->t, secs, __ATOMIC_SEQ_CST);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The events-* files of `dir`, sorted; the caller frees each and the list. */
static size_t list_events(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0;

    while (d && (de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "events-", 7))
            continue;
        names = suf_xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = suf_xstrdup(de->d_name);
    }
    if (d)
        closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), name_cmp);
    *out = names;
    return n;
}

static void free_list(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct suf_buf b = SUF_BUF_INIT;
    char chunk[4096];
    size_t n;

    while (f && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        suf_buf_add(&b, chunk, n);
    if (f)
        fclose(f);
    return suf_buf_detach(&b);
}

/* Lanes for the tests that write the inbox without a receiver. */
#define TEST_LANES 2

static struct suf_inbox *open_lanes(const char *dir, struct fake_clock *clk,
                                    int64_t bytes, int64_t secs, int lanes)
{
    struct suf_inbox_opts o = {.dir = dir,
                               .rotate_bytes = bytes,
                               .rotate_seconds = secs,
                               .now = fake_now,
                               .now_ctx = clk,
                               .lanes = lanes};
    struct suf_inbox *ib = NULL;
    struct suf_err err = SUF_ERR_INIT;

    CU_ASSERT_EQUAL(suf_inbox_open(&ib, &o, &err), SUF_OK);
    return ib;
}

static struct suf_inbox *open_inbox(const char *dir, struct fake_clock *clk,
                                    int64_t bytes, int64_t secs)
{
    return open_lanes(dir, clk, bytes, secs, 1);
}

static void test_receive__inbox_rotates_by_size_and_age(void)
{
    char dir[512], path[1024];
    struct fake_clock clk = {1795485600};
    struct suf_inbox *ib;
    char **names;
    size_t n;
    struct stat st;
    char line[64];

    snprintf(dir, sizeof(dir), "%s", suf_test_path("inbox-rotate"));
    umask(027);
    ib = open_inbox(dir, &clk, 100, 3600);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ib);
    CU_ASSERT_EQUAL(list_events(dir, &names), 0); /* nothing before the first line */
    free(names);
    /* 40-byte lines: two fit under 100 bytes, the third starts a file. */
    for (int i = 0; i < 5; i++) {
        snprintf(line, sizeof(line), "{\"n\":%d,\"pad\":\"%023d\"}\n", i, 0);
        CU_ASSERT_EQUAL(strlen(line), 40);
        CU_ASSERT_EQUAL(suf_inbox_append(ib, line, strlen(line)), SUF_OK);
    }
    clk.t += 3600; /* the third file is now an hour old: age rotation */
    CU_ASSERT_EQUAL(suf_inbox_append(ib, "{\"n\":5}\n", 8), SUF_OK);
    suf_inbox_close(ib);

    n = list_events(dir, &names);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    CU_ASSERT_STRING_EQUAL(names[0], "events-20261124T020000Z-000001.jsonl");
    CU_ASSERT_STRING_EQUAL(names[1], "events-20261124T020000Z-000002.jsonl");
    CU_ASSERT_STRING_EQUAL(names[2], "events-20261124T020000Z-000003.jsonl");
    CU_ASSERT_STRING_EQUAL(names[3], "events-20261124T030000Z-000001.jsonl");
    {
        int expect_lines[] = {2, 2, 1, 1}, next = 0;
        for (size_t i = 0; i < n; i++) {
            char *text;
            int lines = 0;
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
            text = slurp(path);
            for (char *p = text; *p; p++)
                if (*p == '\n')
                    lines++;
            CU_ASSERT_EQUAL(lines, expect_lines[i]);
            /* the lines are in order across files */
            for (char *p = text; (p = strstr(p, "{\"n\":")) != NULL; p++)
                CU_ASSERT_EQUAL(strtol(p + 5, NULL, 10), next++);
            free(text);
            CU_ASSERT_EQUAL(stat(path, &st), 0);
            CU_ASSERT_EQUAL(st.st_mode & 0777, 0640);
        }
        CU_ASSERT_EQUAL(next, 6);
    }
    free_list(names, n);
}

static void test_receive__inbox_names_after_a_restart_sort_after_old_ones(void)
{
    char dir[512];
    struct fake_clock clk = {1795485600};
    struct suf_inbox *ib;
    char **names;
    size_t n;

    snprintf(dir, sizeof(dir), "%s", suf_test_path("inbox-restart"));
    /* a file left by an earlier process, later in the same second */
    mkdir(dir, 0750);
    {
        char path[1024];
        FILE *f;
        snprintf(path, sizeof(path), "%s/events-20261124T020000Z-000007.jsonl", dir);
        f = fopen(path, "w");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        fputs("{\"old\":1}\n{\"partial\":", f); /* a killed writer's last line */
        fclose(f);
    }
    ib = open_inbox(dir, &clk, 1 << 20, 3600);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ib);
    CU_ASSERT_EQUAL(suf_inbox_append(ib, "{\"new\":1}\n", 10), SUF_OK);
    clk.t -= 60; /* the wall clock stepped back: names must still grow */
    suf_inbox_close(ib);
    ib = open_inbox(dir, &clk, 1 << 20, 3600);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ib);
    CU_ASSERT_EQUAL(suf_inbox_append(ib, "{\"new\":2}\n", 10), SUF_OK);
    suf_inbox_close(ib);

    n = list_events(dir, &names);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_STRING_EQUAL(names[0], "events-20261124T020000Z-000007.jsonl");
    CU_ASSERT_STRING_EQUAL(names[1], "events-20261124T020000Z-000008.jsonl");
    CU_ASSERT_STRING_EQUAL(names[2], "events-20261124T020000Z-000009.jsonl");
    free_list(names, n);
}

#define THREADS 16
#define PER_THREAD 150

struct appender {
    struct suf_inbox *ib;
    int id;
    int failures;
};

static void *append_many(void *arg)
{
    struct appender *a = arg;
    char line[64];

    for (int i = 0; i < PER_THREAD; i++) {
        int n = snprintf(line, sizeof(line), "{\"t\":%d,\"i\":%d}\n", a->id, i);
        if (suf_inbox_append(a->ib, line, (size_t)n) != SUF_OK)
            a->failures++;
    }
    return NULL;
}

static void test_receive__inbox_concurrent_appends_land_once_each(void)
{
    char dir[512], path[1024];
    struct fake_clock clk = {1795485600};
    struct suf_inbox *ib;
    struct appender a[THREADS];
    pthread_t th[THREADS];
    static unsigned char seen[THREADS][PER_THREAD];
    struct suf_inbox_stats st;
    char **names;
    size_t n, total = 0;

    snprintf(dir, sizeof(dir), "%s", suf_test_path("inbox-concurrent"));
    ib = open_lanes(dir, &clk, 4096, 3600, TEST_LANES);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ib);
    for (int i = 0; i < THREADS; i++) {
        a[i] = (struct appender){ib, i, 0};
        pthread_create(&th[i], NULL, append_many, &a[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_EQUAL(a[i].failures, 0);
    }
    suf_inbox_stats(ib, &st);
    suf_inbox_close(ib);
    CU_ASSERT_EQUAL(st.lines, THREADS * PER_THREAD);
    CU_ASSERT(st.flushes >= 1 && st.flushes <= st.lines);
    CU_ASSERT_EQUAL(st.errors, 0);

    n = list_events(dir, &names);
    CU_ASSERT(n > TEST_LANES); /* 4096-byte files: every lane rotated */
    for (size_t f = 0; f < n; f++) {
        char *text, *save = NULL;
        snprintf(path, sizeof(path), "%s/%s", dir, names[f]);
        text = slurp(path);
        CU_ASSERT(text[0] == '\0' || text[strlen(text) - 1] == '\n');
        for (char *ln = strtok_r(text, "\n", &save); ln;
             ln = strtok_r(NULL, "\n", &save)) {
            int t = -1, i = -1;
            CU_ASSERT_EQUAL(sscanf(ln, "{\"t\":%d,\"i\":%d}", &t, &i), 2);
            if (t >= 0 && t < THREADS && i >= 0 && i < PER_THREAD)
                seen[t][i]++;
            total++;
        }
        free(text);
    }
    free_list(names, n);
    CU_ASSERT_EQUAL(total, THREADS * PER_THREAD);
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < PER_THREAD; i++)
            CU_ASSERT_EQUAL(seen[t][i], 1);
}

static void test_receive__inbox_failure_is_reported_not_hidden(void)
{
    char dir[512];
    struct fake_clock clk = {1795485600};
    struct suf_inbox *ib;
    struct suf_inbox_stats st;

    snprintf(dir, sizeof(dir), "%s", suf_test_path("inbox-gone"));
    ib = open_inbox(dir, &clk, 1 << 20, 3600);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ib);
    /* The folder disappears before the first line: no file can be made. */
    CU_ASSERT_EQUAL_FATAL(rmdir(dir), 0);
    CU_ASSERT_EQUAL(suf_inbox_append(ib, "{\"a\":1}\n", 8), SUF_ERR_IO);
    suf_inbox_stats(ib, &st);
    CU_ASSERT_EQUAL(st.errors, 1);
    CU_ASSERT_EQUAL(st.lines, 0);
    suf_inbox_close(ib);
}

static int count_lines(const char *path)
{
    char *text = slurp(path);
    int n = 0;

    for (char *p = text; *p; p++)
        n += *p == '\n';
    free(text);
    return n;
}

/* Waits (bounded: 10 s) until `path` holds `want` lines; returns the count. */
static int wait_lines(const char *path, int want)
{
    int n = 0;

    for (int i = 0; i < 200; i++) {
        n = count_lines(path);
        if (n >= want)
            break;
        usleep(50000);
    }
    return n;
}

static void test_receive__consent_burst_starts_one_run(void)
{
    char out[512], cmd[1100];
    struct suf_consent *c = NULL;
    struct suf_err err = SUF_ERR_INIT;

    snprintf(out, sizeof(out), "%s", suf_test_path("consent-burst.log"));
    snprintf(cmd, sizeof(cmd), "echo run >> '%s'", out);
    CU_ASSERT_EQUAL_FATAL(suf_consent_start(&c, cmd, 300, &err), SUF_OK);
    for (int i = 0; i < 20; i++)
        suf_consent_tap(c);
    CU_ASSERT_EQUAL(wait_lines(out, 1), 1);
    usleep(400000); /* past the debounce: still one run */
    CU_ASSERT_EQUAL(count_lines(out), 1);
    CU_ASSERT_EQUAL(suf_consent_runs(c), 1);
    suf_consent_stop(c);
}

static void test_receive__consent_tap_while_running_runs_once_more(void)
{
    char out[512], mark[512], cmd[2200];
    struct suf_consent *c = NULL;
    struct suf_err err = SUF_ERR_INIT;

    snprintf(out, sizeof(out), "%s", suf_test_path("consent-again.log"));
    snprintf(mark, sizeof(mark), "%s", suf_test_path("consent-again.started"));
    /* Each run marks its start, then holds for a while, then logs its end. */
    snprintf(cmd, sizeof(cmd), "echo s >> '%s'; sleep 1; echo run >> '%s'", mark, out);
    CU_ASSERT_EQUAL_FATAL(suf_consent_start(&c, cmd, 0, &err), SUF_OK);
    suf_consent_tap(c);
    CU_ASSERT_EQUAL_FATAL(wait_lines(mark, 1), 1); /* the first run is running */
    for (int i = 0; i < 5; i++)
        suf_consent_tap(c); /* taps during it: one more run, not five */
    CU_ASSERT_EQUAL(wait_lines(out, 2), 2);
    usleep(300000);
    CU_ASSERT_EQUAL(count_lines(mark), 2);
    CU_ASSERT_EQUAL(suf_consent_runs(c), 2);
    suf_consent_stop(c);
}

static void test_receive__consent_command_gets_no_secrets_and_no_stdin(void)
{
    char out[512], cmd[1200];
    struct suf_consent *c = NULL;
    struct suf_err err = SUF_ERR_INIT;
    char *text;

    setenv("SUF_APP_SECRET", "do-not-pass-me", 1);
    setenv("SUF_KEEP_ME", "kept", 1);
    snprintf(out, sizeof(out), "%s", suf_test_path("consent-env.log"));
    snprintf(cmd, sizeof(cmd),
             "{ echo \"secret=${SUF_APP_SECRET:-none} keep=$SUF_KEEP_ME\"; cat; echo "
             "end; } > '%s'",
             out);
    CU_ASSERT_EQUAL_FATAL(suf_consent_start(&c, cmd, 0, &err), SUF_OK);
    suf_consent_tap(c);
    CU_ASSERT_EQUAL(wait_lines(out, 2), 2);
    text = slurp(out);
    CU_ASSERT_STRING_EQUAL(text, "secret=none keep=kept\nend\n");
    free(text);
    suf_consent_stop(c);
    unsetenv("SUF_APP_SECRET");
    unsetenv("SUF_KEEP_ME");
}

/* ---- The server in this process, on loopback ---- */

static int http_connect(unsigned port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {10, 0}; /* every wait is bounded */

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        close(fd);
        return -1;
    }
    return fd;
}

/* What an answer said besides its status. */
struct http_answer {
    char retry_after[32]; /* "" when absent */
    char body[256];       /* the start of the body */
};

/* The value of header `name` (with its ":") in the head `resp`, into out. */
static void header_value(const char *resp, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);

    out[0] = '\0';
    for (const char *p = resp; *p; p++) {
        if (!strncmp(p, "\r\n", 2) && !strncasecmp(p + 2, name, n)) {
            const char *v = p + 2 + n;
            size_t k = strcspn(v, "\r");
            while (*v == ' ')
                v++, k--;
            snprintf(out, size, "%.*s", (int)k, v);
            return;
        }
    }
}

/* One signed POST on a keep-alive connection; returns the status, or -1
 * when the connection failed or the answer was not HTTP.  `a` (may be
 * NULL) gets the answer's Retry-After and body. */
static int http_post_answer(int fd, const char *body, struct http_answer *a)
{
    char sig[72], head[512], resp[4096];
    size_t len = strlen(body), got = 0, need, kept = 0;
    int hn, status = -1;
    char *end, *cl;

    expected_sig(body, len, SECRET, sig);
    hn = snprintf(head, sizeof(head),
                  "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  "Content-Type: application/json\r\nX-Hub-Signature-256: %s\r\n"
                  "Content-Length: %zu\r\n\r\n",
                  sig, len);
    if (send(fd, head, (size_t)hn, MSG_NOSIGNAL) != hn ||
        send(fd, body, len, MSG_NOSIGNAL) != (ssize_t)len)
        return -1;
    for (;;) { /* the head */
        ssize_t n = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
        if (n <= 0)
            return -1;
        got += (size_t)n;
        resp[got] = '\0';
        if ((end = strstr(resp, "\r\n\r\n")) != NULL)
            break;
        if (got == sizeof(resp) - 1)
            return -1;
    }
    if (sscanf(resp, "HTTP/1.1 %d", &status) != 1)
        return -1;
    *end = '\0';
    for (cl = resp; *cl; cl++)
        if (!strncasecmp(cl, "\r\ncontent-length:", 17))
            break;
    need = *cl ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
    got -= (size_t)(end + 4 - resp);
    if (a) {
        header_value(resp, "retry-after:", a->retry_after, sizeof(a->retry_after));
        kept = got < sizeof(a->body) - 1 ? got : sizeof(a->body) - 1;
        memcpy(a->body, end + 4, kept);
        a->body[kept] = '\0';
    }
    while (got < need) { /* the rest of the body */
        ssize_t n = recv(fd, resp, sizeof(resp), 0);
        if (n <= 0)
            return -1;
        if (a && kept < sizeof(a->body) - 1) {
            size_t room = sizeof(a->body) - 1 - kept;
            size_t k = (size_t)n < room ? (size_t)n : room;
            memcpy(a->body + kept, resp, k);
            kept += k;
            a->body[kept] = '\0';
        }
        got += (size_t)n;
    }
    return status;
}

static int http_post(int fd, const char *body)
{
    return http_post_answer(fd, body, NULL);
}

static struct suf_receiver *start_server_with(struct suf_inbox *ib,
                                              suf_receive_pass_fn pass, void *pass_ctx)
{
    struct suf_receive_opts o;
    struct suf_receiver *r = NULL;
    struct suf_err err = SUF_ERR_INIT;

    memset(&o, 0, sizeof(o));
    o.listen = "127.0.0.1:0";
    o.verify_token = "verify-token-for-tests";
    o.app_secret = SECRET;
    o.max_body_bytes = 1 << 20;
    o.max_connections = 64;
    o.connection_timeout_s = 10;
    o.inbox = ib;
    o.pass = pass;
    o.pass_ctx = pass_ctx;
    CU_ASSERT_EQUAL(suf_receive_start(&r, &o, &err), SUF_OK);
    if (!r)
        fprintf(stderr, "server: %s\n", err.msg);
    return r;
}

static struct suf_receiver *start_server(struct suf_inbox *ib)
{
    return start_server_with(ib, NULL, NULL);
}

#define LOAD_CLIENTS 20
#define LOAD_PER_CLIENT 50 /* 1,000 posts in all */

struct load_client {
    unsigned port;
    int id;
    int ok, other;
};

static void *load_client_main(void *arg)
{
    struct load_client *c = arg;
    int fd = http_connect(c->port);
    char body[160];

    for (int i = 0; i < LOAD_PER_CLIENT; i++) {
        int st;
        snprintf(body, sizeof(body),
                 "{\"object\":\"whatsapp_business_account\",\"c\":%d,\"i\":%d,\"entry\":[]}",
                 c->id, i);
        st = fd >= 0 ? http_post(fd, body) : -1;
        if (st == 200) {
            c->ok++;
        } else {
            c->other++;
            if (fd >= 0)
                close(fd);
            fd = http_connect(c->port); /* carry on on a new connection */
        }
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void test_receive__workers_store_concurrent_posts_once_each(void)
{
    char dir[512], path[1024];
    struct fake_clock clk = {1795485600};
    struct suf_inbox *ib;
    struct suf_receiver *r;
    struct load_client c[LOAD_CLIENTS];
    pthread_t th[LOAD_CLIENTS];
    static unsigned char seen[LOAD_CLIENTS][LOAD_PER_CLIENT];
    struct suf_inbox_stats st;
    char **names;
    size_t n, total = 0;
    int ok = 0;

    snprintf(dir, sizeof(dir), "%s", suf_test_path("server-load"));
    ib = open_lanes(dir, &clk, 1 << 20, 3600, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ib);
    r = start_server(ib);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT(suf_receive_port(r) > 0);
    for (int i = 0; i < LOAD_CLIENTS; i++) {
        c[i] = (struct load_client){suf_receive_port(r), i, 0, 0};
        pthread_create(&th[i], NULL, load_client_main, &c[i]);
    }
    for (int i = 0; i < LOAD_CLIENTS; i++) {
        pthread_join(th[i], NULL);
        ok += c[i].ok;
        CU_ASSERT_EQUAL(c[i].other, 0);
    }
    CU_ASSERT_EQUAL(ok, LOAD_CLIENTS * LOAD_PER_CLIENT);
    suf_receive_stop(r);
    suf_inbox_stats(ib, &st);
    suf_inbox_close(ib);
    CU_ASSERT_EQUAL(st.lines, (uint64_t)ok);
    CU_ASSERT_EQUAL(st.errors, 0);
    CU_ASSERT(st.flushes >= 1 && st.flushes <= st.lines);

    /* Every acknowledged body on disk exactly once, whole, in whichever
     * worker's file. */
    n = list_events(dir, &names);
    CU_ASSERT(n >= 1 && n <= 3);
    for (size_t f = 0; f < n; f++) {
        char *text, *save = NULL;
        snprintf(path, sizeof(path), "%s/%s", dir, names[f]);
        text = slurp(path);
        CU_ASSERT(text[0] == '\0' || text[strlen(text) - 1] == '\n');
        for (char *ln = strtok_r(text, "\n", &save); ln;
             ln = strtok_r(NULL, "\n", &save)) {
            int cl = -1, i = -1;
            CU_ASSERT_EQUAL(sscanf(ln,
                                   "{\"object\":\"whatsapp_business_account\",\"c\":%d,"
                                   "\"i\":%d,\"entry\":[]}",
                                   &cl, &i),
                            2);
            if (cl >= 0 && cl < LOAD_CLIENTS && i >= 0 && i < LOAD_PER_CLIENT)
                seen[cl][i]++;
            total++;
        }
        free(text);
    }
    free_list(names, n);
    CU_ASSERT_EQUAL(total, (size_t)ok);
    for (int cl = 0; cl < LOAD_CLIENTS; cl++)
        for (int i = 0; i < LOAD_PER_CLIENT; i++)
            CU_ASSERT_EQUAL(seen[cl][i], 1);
}

#define STOP_CLIENTS 8
#define STOP_MAX_POSTS 400

struct stop_client {
    unsigned port;
    int id;
    int acked;                /* answered 200 */
    int other;                /* 503, or no answer */
    int *total_acked;         /* shared, atomic */
    unsigned char ok[STOP_MAX_POSTS];
};

/* Posts until the server stops answering (or STOP_MAX_POSTS). */
static void *stop_client_main(void *arg)
{
    struct stop_client *c = arg;
    int fd = http_connect(c->port);
    char body[160];

    for (int i = 0; fd >= 0 && i < STOP_MAX_POSTS; i++) {
        int st;
        snprintf(body, sizeof(body),
                 "{\"object\":\"whatsapp_business_account\",\"c\":%d,\"i\":%d,\"entry\":[]}",
                 c->id, i);
        st = http_post(fd, body);
        if (st != 200) {
            c->other++;
            break;
        }
        c->ok[i] = 1;
        c->acked++;
        __atomic_add_fetch(c->total_acked, 1, __ATOMIC_SEQ_CST);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void test_receive__stop_under_load_answers_only_what_is_on_disk(void)
{
    char dir[512], path[1024];
    struct fake_clock clk = {1795485600};
    struct suf_inbox *ib;
    struct suf_receiver *r;
    struct stop_client c[STOP_CLIENTS];
    pthread_t th[STOP_CLIENTS];
    int total = 0, acked = 0;
    char **names;
    size_t n, lines = 0;

    snprintf(dir, sizeof(dir), "%s", suf_test_path("server-stop"));
    ib = open_lanes(dir, &clk, 1 << 20, 3600, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ib);
    r = start_server(ib);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    for (int i = 0; i < STOP_CLIENTS; i++) {
        memset(&c[i], 0, sizeof(c[i]));
        c[i].port = suf_receive_port(r);
        c[i].id = i;
        c[i].total_acked = &total;
        pthread_create(&th[i], NULL, stop_client_main, &c[i]);
    }
    /* stop mid-load (bounded wait: 10 s) */
    for (int i = 0; i < 1000 && __atomic_load_n(&total, __ATOMIC_SEQ_CST) < 200; i++)
        usleep(10000);
    suf_receive_stop(r);
    for (int i = 0; i < STOP_CLIENTS; i++) {
        pthread_join(th[i], NULL);
        acked += c[i].acked;
    }
    suf_inbox_close(ib);
    CU_ASSERT(acked >= 200);
    CU_ASSERT(acked < STOP_CLIENTS * STOP_MAX_POSTS); /* it did stop them */

    /* Every 200 is on disk, and nothing is that was not answered 200:
     * each request in flight at the stop was flushed and answered. */
    n = list_events(dir, &names);
    for (size_t f = 0; f < n; f++) {
        char *text, *save = NULL;
        snprintf(path, sizeof(path), "%s/%s", dir, names[f]);
        text = slurp(path);
        for (char *ln = strtok_r(text, "\n", &save); ln;
             ln = strtok_r(NULL, "\n", &save)) {
            int cl = -1, i = -1;
            sscanf(ln, "{\"object\":\"whatsapp_business_account\",\"c\":%d,\"i\":%d,", &cl, &i);
            CU_ASSERT(cl >= 0 && cl < STOP_CLIENTS && i >= 0 && i < STOP_MAX_POSTS &&
                      c[cl].ok[i] == 1);
            if (cl >= 0 && cl < STOP_CLIENTS && i >= 0 && i < STOP_MAX_POSTS)
                c[cl].ok[i]++;
            lines++;
        }
        free(text);
    }
    free_list(names, n);
    CU_ASSERT_EQUAL(lines, (size_t)acked);
    for (int cl = 0; cl < STOP_CLIENTS; cl++)
        for (int i = 0; i < STOP_MAX_POSTS; i++)
            CU_ASSERT(c[cl].ok[i] == 0 || c[cl].ok[i] == 2); /* 200 and on disk once */
}

/* A post on a connection of its own: its status; `a` as in http_post_answer. */
static int post_answer(unsigned port, const char *body, struct http_answer *a)
{
    int fd = http_connect(port), st;

    if (fd < 0)
        return -1;
    st = http_post_answer(fd, body, a);
    close(fd);
    return st;
}

static int post_once(unsigned port, const char *body)
{
    return post_answer(port, body, NULL);
}

/* 100-byte lines once stored (99 bytes and "\n"), told apart by n. */
static void body_of(int n, char out[128])
{
    snprintf(out, 128,
             "{\"object\":\"whatsapp_business_account\",\"n\":%d,\"pad\":\"%046d\"}", n,
             0);
}

/* The events files of dir: how many, and (when there is one) its text in
 * *text (NULL otherwise; the caller frees it). */
static size_t events_files(const char *dir, char **text)
{
    char **names, path[1024];
    size_t n = list_events(dir, &names);

    *text = NULL;
    if (n == 1) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[0]);
        *text = slurp(path);
    }
    free_list(names, n);
    return n;
}

/*
 * A disk for the inbox's io seam: free_bytes of room, beyond which a
 * write stops short and then fails with ENOSPC, as on a full disk (a cut
 * gives the room back); flushes of the file or of the folder that fail on
 * demand; and a count of each call.  Shared with the receiver's workers.
 */
struct fake_disk {
    pthread_mutex_t mu;
    int64_t free_bytes;
    bool fail_datasync, fail_dirsync;
    unsigned writes, datasyncs, dirsyncs, truncates;
};

static ssize_t disk_write(void *ctx, int fd, const void *buf, size_t len)
{
    struct fake_disk *d = ctx;
    ssize_t n = -1;

    pthread_mutex_lock(&d->mu);
    d->writes++;
    if (d->free_bytes <= 0) {
        errno = ENOSPC;
    } else {
        n = write(fd, buf, (int64_t)len < d->free_bytes ? len : (size_t)d->free_bytes);
        if (n > 0)
            d->free_bytes -= n;
    }
    pthread_mutex_unlock(&d->mu);
    return n;
}

/* A flush on the fake disk: counted in *count, and failing with EIO
 * while *fail is set, else the real one. */
static int disk_sync(struct fake_disk *d, unsigned *count, const bool *fail,
                     int (*real)(int), int fd)
{
    int rc;

    pthread_mutex_lock(&d->mu);
    (*count)++;
    rc = *fail ? (errno = EIO, -1) : real(fd);
    pthread_mutex_unlock(&d->mu);
    return rc;
}

static int disk_datasync(void *ctx, int fd)
{
    struct fake_disk *d = ctx;

    return disk_sync(d, &d->datasyncs, &d->fail_datasync, fdatasync, fd);
}

static int disk_dirsync(void *ctx, int dirfd)
{
    struct fake_disk *d = ctx;

    return disk_sync(d, &d->dirsyncs, &d->fail_dirsync, fsync, dirfd);
}

static int disk_truncate(void *ctx, int fd, off_t len)
{
    struct fake_disk *d = ctx;
    struct stat st;
    int rc = -1;

    pthread_mutex_lock(&d->mu);
    d->truncates++;
    if (!fstat(fd, &st) && !ftruncate(fd, len)) {
        d->free_bytes += (int64_t)st.st_size - (int64_t)len;
        rc = 0;
    }
    pthread_mutex_unlock(&d->mu);
    return rc;
}

static void disk_init(struct fake_disk *d, struct suf_inbox_io *io, int64_t free_bytes)
{
    memset(d, 0, sizeof(*d));
    pthread_mutex_init(&d->mu, NULL);
    d->free_bytes = free_bytes;
    *io =
        (struct suf_inbox_io){disk_write, disk_datasync, disk_dirsync, disk_truncate, d};
}

static unsigned disk_count(struct fake_disk *d, const unsigned *counter)
{
    unsigned n;

    pthread_mutex_lock(&d->mu);
    n = *counter;
    pthread_mutex_unlock(&d->mu);
    return n;
}

static void disk_set(struct fake_disk *d, int64_t add_free, int fail_datasync,
                     int fail_dirsync)
{
    pthread_mutex_lock(&d->mu);
    d->free_bytes += add_free;
    if (fail_datasync >= 0)
        d->fail_datasync = fail_datasync;
    if (fail_dirsync >= 0)
        d->fail_dirsync = fail_dirsync;
    pthread_mutex_unlock(&d->mu);
}

/* One lane on a fake disk, retrying after 10 s, logging at most once a
 * minute. */
static struct suf_inbox *open_on_disk(const char *dir, struct fake_clock *clk,
                                      const struct suf_inbox_io *io)
{
    struct suf_inbox_opts o = {.dir = dir,
                               .rotate_bytes = 1 << 20,
                               .rotate_seconds = 3600,
                               .now = fake_now,
                               .now_ctx = clk,
                               .lanes = 1,
                               .retry_seconds = 10,
                               .log_seconds = 60,
                               .io = io};
    struct suf_inbox *ib = NULL;
    struct suf_err err = SUF_ERR_INIT;

    CU_ASSERT_EQUAL(suf_inbox_open(&ib, &o, &err), SUF_OK);
    return ib;
}

/* stderr into a scratch file while a test runs, to count its log lines. */
struct log_capture {
    int saved;
    char path[1024];
};

static void log_capture_start(struct log_capture *c, const char *name)
{
    int fd;

    snprintf(c->path, sizeof(c->path), "%s", suf_test_path(name));
    fflush(stderr);
    c->saved = dup(STDERR_FILENO);
    fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_FATAL(fd >= 0 && c->saved >= 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

/* Stops capturing; returns what was logged (the caller frees it), and
 * echoes it for a reader of the test's output. */
static char *log_capture_end(struct log_capture *c)
{
    char *text;

    fflush(stderr);
    dup2(c->saved, STDERR_FILENO);
    close(c->saved);
    text = slurp(c->path);
    fputs(text, stderr);
    return text;
}

/* How many lines of `text` hold `what`. */
static int lines_with(const char *text, const char *what)
{
    int n = 0;

    for (const char *p = text; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char *line = suf_xstrndup(p, len);
        n += strstr(line, what) != NULL;
        free(line);
        p = eol ? eol + 1 : NULL;
    }
    return n;
}

static void test_receive__full_disk_keeps_one_file_answers_503_and_recovers(void)
{
    char dir[512], body[5][128], want[1024], *text, *log;
    struct fake_clock clk = {1795485600};
    struct fake_disk disk;
    struct suf_inbox_io io;
    struct suf_inbox *ib;
    struct suf_receiver *r;
    struct suf_inbox_stats st;
    struct http_answer a;
    struct log_capture cap;
    unsigned port, writes;
    int ok = 1;

    for (int i = 0; i < 5; i++)
        body_of(i, body[i]);
    CU_ASSERT_EQUAL_FATAL(strlen(body[0]), 99);
    snprintf(dir, sizeof(dir), "%s", suf_test_path("server-full"));
    disk_init(&disk, &io, 250); /* room for two lines and half of a third */
    ib = open_on_disk(dir, &clk, &io);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ib);
    log_capture_start(&cap, "server-full.log");
    r = start_server(ib);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    port = suf_receive_port(r);

    CU_ASSERT_EQUAL(post_answer(port, body[0], NULL), 200);
    CU_ASSERT_EQUAL(post_answer(port, body[1], NULL), 200);
    /* The disk fills half way through the third: 503, and when to retry. */
    memset(&a, 0, sizeof(a));
    CU_ASSERT_EQUAL(post_answer(port, body[2], &a), 503);
    CU_ASSERT_STRING_EQUAL(a.retry_after, "10");
    CU_ASSERT_STRING_EQUAL(a.body, "cannot store the event now\n");
    /* Within the retry interval: refused at once, no write tried. */
    writes = disk_count(&disk, &disk.writes);
    for (int i = 0; i < 20; i++) {
        memset(&a, 0, sizeof(a));
        ok &= post_answer(port, body[2], &a) == 503 && !strcmp(a.retry_after, "10");
    }
    CU_ASSERT(ok);
    CU_ASSERT_EQUAL(disk_count(&disk, &disk.writes), writes);
    /* Each interval, one try, in the same file. */
    for (int k = 0; k < 6; k++) {
        clock_add(&clk, 10);
        CU_ASSERT_EQUAL(post_answer(port, body[3], NULL), 503);
        CU_ASSERT_EQUAL(post_answer(port, body[3], NULL), 503);
    }
    CU_ASSERT(disk_count(&disk, &disk.writes) >= writes + 6);
    CU_ASSERT(disk_count(&disk, &disk.truncates) >= 1); /* the half lines were cut */
    CU_ASSERT_EQUAL(events_files(dir, &text), 1);
    free(text);

    /* Space returns: the next try stores it, in the same file. */
    disk_set(&disk, 1 << 20, -1, -1);
    CU_ASSERT_EQUAL(post_answer(port, body[4], NULL), 503); /* still waiting */
    clock_add(&clk, 10);
    CU_ASSERT_EQUAL(post_answer(port, body[4], NULL), 200);
    suf_receive_stop(r);
    log = log_capture_end(&cap);
    suf_inbox_stats(ib, &st);
    suf_inbox_close(ib);

    CU_ASSERT_EQUAL(st.files, 1);
    CU_ASSERT_EQUAL(st.lines, 3);
    CU_ASSERT_EQUAL(st.errors, 34);
    CU_ASSERT_EQUAL(st.refused, 34);
    /* One file, holding whole lines only: the three that were answered 200. */
    CU_ASSERT_EQUAL_FATAL(events_files(dir, &text), 1);
    snprintf(want, sizeof(want), "%s\n%s\n%s\n", body[0], body[1], body[4]);
    CU_ASSERT_STRING_EQUAL(text, want);
    free(text);
    /* The log: a line when it started, one a minute later (the clock went
     * 60 s on), one when it ended; never a line per refused request. */
    CU_ASSERT_EQUAL(lines_with(log, "receive: cannot store events:"), 1);
    CU_ASSERT_EQUAL(lines_with(log, "No space left on device; answering 503 with "
                                    "Retry-After: 10"),
                    1);
    CU_ASSERT_EQUAL(lines_with(log, "receive: still cannot store events:"), 1);
    CU_ASSERT_EQUAL(lines_with(log, "; 31 refused (503) in the last 60 s"), 1);
    CU_ASSERT_EQUAL(lines_with(log, "receive: storing events again; 2 more refused"), 1);
    CU_ASSERT_EQUAL(lines_with(log, "warning"), 1);
    CU_ASSERT_EQUAL(lines_with(log, "error"), 1);
    CU_ASSERT_EQUAL(lines_with(log, "POST /webhook 503"), 34);
    free(log);
}

static void test_receive__failed_flush_keeps_the_file_and_starts_a_fresh_line(void)
{
    char dir[512], body[4][128], want[1024], *text;
    struct fake_clock clk = {1795485600};
    struct fake_disk disk;
    struct suf_inbox_io io;
    struct suf_inbox *ib;
    struct suf_inbox_stats st;
    unsigned syncs;

    for (int i = 0; i < 4; i++) {
        body_of(i, body[i]);
        strcat(body[i], "\n");
    }
    snprintf(dir, sizeof(dir), "%s", suf_test_path("inbox-flush-fails"));
    disk_init(&disk, &io, 1 << 20);
    ib = open_on_disk(dir, &clk, &io);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ib);
    CU_ASSERT_EQUAL(suf_inbox_append(ib, body[0], 100), SUF_OK);
    disk_set(&disk, 0, 1, -1);
    CU_ASSERT_EQUAL(suf_inbox_append(ib, body[1], 100), SUF_ERR_IO);
    syncs = disk_count(&disk, &disk.datasyncs);
    CU_ASSERT_EQUAL(suf_inbox_append(ib, body[2], 100), SUF_ERR_IO); /* refused at once */
    CU_ASSERT_EQUAL(disk_count(&disk, &disk.datasyncs), syncs);
    clock_add(&clk, 10);
    CU_ASSERT_EQUAL(suf_inbox_append(ib, body[2], 100), SUF_ERR_IO); /* tried, failed */
    CU_ASSERT_EQUAL(disk_count(&disk, &disk.datasyncs), syncs + 1);
    disk_set(&disk, 0, 0, -1);
    clock_add(&clk, 10);
    CU_ASSERT_EQUAL(suf_inbox_append(ib, body[3], 100), SUF_OK);
    suf_inbox_stats(ib, &st);
    suf_inbox_close(ib);

    CU_ASSERT_EQUAL(st.files, 1);
    CU_ASSERT_EQUAL(st.lines, 2);
    CU_ASSERT_EQUAL(st.errors, 3);
    /* The lines whose flush failed stay (never acknowledged; the sender
     * posts them again), each failure followed by an empty line, so a
     * tail lost by the disk could not run into the next stored line. */
    CU_ASSERT_EQUAL_FATAL(events_files(dir, &text), 1);
    snprintf(want, sizeof(want), "%s%s\n%s\n%s", body[0], body[1], body[2], body[3]);
    CU_ASSERT_STRING_EQUAL(text, want);
    free(text);
}

static void test_receive__folder_not_flushed_is_not_acknowledged(void)
{
    char dir[512], body[2][128], want[256], *text;
    struct fake_clock clk = {1795485600};
    struct fake_disk disk;
    struct suf_inbox_io io;
    struct suf_inbox *ib;
    struct suf_receiver *r;
    struct http_answer a;
    unsigned port, dirsyncs;

    body_of(0, body[0]);
    body_of(1, body[1]);
    snprintf(dir, sizeof(dir), "%s", suf_test_path("server-dirsync"));
    disk_init(&disk, &io, 1 << 20);
    disk_set(&disk, 0, -1, 1);
    ib = open_on_disk(dir, &clk, &io);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ib);
    r = start_server(ib);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    port = suf_receive_port(r);

    /* The new file's name may not survive a crash: not a 200. */
    memset(&a, 0, sizeof(a));
    CU_ASSERT_EQUAL(post_answer(port, body[0], &a), 503);
    CU_ASSERT_STRING_EQUAL(a.retry_after, "10");
    dirsyncs = disk_count(&disk, &disk.dirsyncs);
    CU_ASSERT_EQUAL(disk_count(&disk, &disk.writes), 0); /* nothing written in it */
    CU_ASSERT_EQUAL(post_answer(port, body[0], NULL), 503);
    CU_ASSERT_EQUAL(disk_count(&disk, &disk.dirsyncs), dirsyncs);
    /* Once the folder flushes, the same (kept) file takes the body. */
    disk_set(&disk, 0, -1, 0);
    clock_add(&clk, 10);
    CU_ASSERT_EQUAL(post_answer(port, body[1], NULL), 200);
    CU_ASSERT_EQUAL(disk_count(&disk, &disk.dirsyncs), dirsyncs + 1);
    suf_receive_stop(r);
    suf_inbox_close(ib);
    CU_ASSERT_EQUAL_FATAL(events_files(dir, &text), 1);
    snprintf(want, sizeof(want), "%s\n", body[1]);
    CU_ASSERT_STRING_EQUAL(text, want);
    free(text);
}

static void test_receive__file_too_big_answers_503_then_a_new_file(void)
{
    char dir[512], path[1024], body[3][128];
    struct fake_clock clk = {1795485600};
    struct suf_inbox *ib;
    struct suf_receiver *r;
    struct suf_inbox_stats st;
    struct rlimit old, lim;
    void (*old_xfsz)(int);
    char **names;
    size_t n;
    int s1, s2, s3, s4;

    for (int i = 0; i < 3; i++)
        body_of(i, body[i]);
    snprintf(dir, sizeof(dir), "%s", suf_test_path("server-fail"));
    ib = open_lanes(dir, &clk, 1 << 20, 3600, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ib);
    r = start_server(ib);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);

    /* Files may not grow past 150 bytes: the second line's write fails
     * half way (EFBIG instead of SIGXFSZ). */
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 150;
    old_xfsz = signal(SIGXFSZ, SIG_IGN);
    CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &lim), 0);
    s1 = post_once(suf_receive_port(r), body[0]);
    s2 = post_once(suf_receive_port(r), body[1]);
    s3 = post_once(suf_receive_port(r), body[2]); /* within the retry interval */
    clock_add(&clk, SUF_INBOX_RETRY_SECONDS);
    s4 = post_once(suf_receive_port(r), body[2]); /* a new file: room again */
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_xfsz);
    suf_receive_stop(r);
    suf_inbox_stats(ib, &st);
    suf_inbox_close(ib);

    CU_ASSERT_EQUAL(s1, 200);
    CU_ASSERT_EQUAL(s2, 503);
    CU_ASSERT_EQUAL(s3, 503);
    CU_ASSERT_EQUAL(s4, 200);
    CU_ASSERT_EQUAL(st.lines, 2);
    CU_ASSERT_EQUAL(st.errors, 2);
    CU_ASSERT_EQUAL(st.files, 2);
    n = list_events(dir, &names);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    {
        char *first, *second;
        snprintf(path, sizeof(path), "%s/%s", dir, names[0]);
        first = slurp(path);
        snprintf(path, sizeof(path), "%s/%s", dir, names[1]);
        second = slurp(path);
        /* the first line whole, the failed one cut off; the post after the
         * interval alone in the next file */
        CU_ASSERT_EQUAL(strlen(first), 100);
        CU_ASSERT_NSTRING_EQUAL(first, body[0], 99);
        CU_ASSERT_EQUAL(first[99], '\n');
        CU_ASSERT_EQUAL(strlen(second), 100);
        CU_ASSERT_NSTRING_EQUAL(second, body[2], 99);
        free(first);
        free(second);
    }
    free_list(names, n);
}

static void test_receive__backoff_doubles_up_to_a_bound(void)
{
    static const struct {
        unsigned failures;
        int64_t ms;
    } rows[] = {
        {0, 0},     {1, 10},    {2, 20},     {3, 40},
        {4, 80},    {7, 640},   {8, 1000},   {9, 1000},
        {64, 1000}, {65, 1000}, {UINT32_MAX, 1000},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        CU_ASSERT_EQUAL(suf_receive_backoff_ms(rows[i].failures), rows[i].ms);
}

/* A pass that fails while `failing` is set, counting its calls; works
 * (libmicrohttpd's own) otherwise. */
struct flaky_pass {
    int failing;     /* atomic */
    unsigned failed; /* atomic */
};

static bool flaky_pass(struct MHD_Daemon *daemon, int32_t ms, void *ctx)
{
    struct flaky_pass *f = ctx;

    if (__atomic_load_n(&f->failing, __ATOMIC_SEQ_CST)) {
        __atomic_add_fetch(&f->failed, 1, __ATOMIC_SEQ_CST);
        errno = EBADF;
        return false;
    }
    return MHD_run_wait(daemon, ms) == MHD_YES;
}

static void test_receive__failing_pass_backs_off_and_recovers(void)
{
    char dir[512], body[128], *log;
    struct fake_clock clk = {1795485600};
    struct flaky_pass f = {1, 0};
    struct suf_inbox *ib;
    struct suf_receiver *r;
    struct log_capture cap;
    unsigned failed;

    body_of(0, body);
    snprintf(dir, sizeof(dir), "%s", suf_test_path("server-flaky"));
    ib = open_lanes(dir, &clk, 1 << 20, 3600, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ib);
    log_capture_start(&cap, "server-flaky.log");
    r = start_server_with(ib, flaky_pass, &f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    /* 1.5 s of failing passes: 10, 20, ... 640 ms pauses make about 8
     * tries, where a worker without pauses would make millions. */
    usleep(1500000);
    failed = __atomic_load_n(&f.failed, __ATOMIC_SEQ_CST);
    __atomic_store_n(&f.failing, 0, __ATOMIC_SEQ_CST);
    fprintf(stderr, "passes failed in 1.5 s: %u\n", failed);
    CU_ASSERT(failed >= 4 && failed <= 12);
    /* Working again (within the longest pause), and serving. */
    CU_ASSERT_EQUAL(post_once(suf_receive_port(r), body), 200);
    suf_receive_stop(r);
    log = log_capture_end(&cap);
    suf_inbox_close(ib);
    CU_ASSERT_EQUAL(lines_with(log, "receive: http: a pass of worker 0 failed; pausing"),
                    1);
    CU_ASSERT_EQUAL(lines_with(log, "still fail"), 0); /* not a minute yet */
    CU_ASSERT_EQUAL(lines_with(log, "receive: http: passes work again after"), 1);
    free(log);
}

static const struct suf_test tests[] = {
    {"signature_table", test_receive__signature_table},
    {"sign_matches_independent_hmac", test_receive__sign_matches_independent_hmac},
    {"handshake_table", test_receive__handshake_table},
    {"token_equal_table", test_receive__token_equal_table},
    {"content_length_table", test_receive__content_length_table},
    {"framing_table", test_receive__framing_table},
    {"post_decisions_table", test_receive__post_decisions_table},
    {"multiline_body_becomes_one_equal_line",
     test_receive__multiline_body_becomes_one_equal_line},
    {"single_line_body_is_kept_byte_for_byte",
     test_receive__single_line_body_is_kept_byte_for_byte},
    {"consent_detection_table", test_receive__consent_detection_table},
    {"listen_address_table", test_receive__listen_address_table},
    {"file_names_sort_in_time_order", test_receive__file_names_sort_in_time_order},
    {"inbox_rotates_by_size_and_age", test_receive__inbox_rotates_by_size_and_age},
    {"inbox_names_after_a_restart_sort_after_old_ones",
     test_receive__inbox_names_after_a_restart_sort_after_old_ones},
    {"inbox_concurrent_appends_land_once_each",
     test_receive__inbox_concurrent_appends_land_once_each},
    {"inbox_failure_is_reported_not_hidden",
     test_receive__inbox_failure_is_reported_not_hidden},
    {"workers_store_concurrent_posts_once_each",
     test_receive__workers_store_concurrent_posts_once_each},
    {"stop_under_load_answers_only_what_is_on_disk",
     test_receive__stop_under_load_answers_only_what_is_on_disk},
    {"full_disk_keeps_one_file_answers_503_and_recovers",
     test_receive__full_disk_keeps_one_file_answers_503_and_recovers},
    {"failed_flush_keeps_the_file_and_starts_a_fresh_line",
     test_receive__failed_flush_keeps_the_file_and_starts_a_fresh_line},
    {"folder_not_flushed_is_not_acknowledged",
     test_receive__folder_not_flushed_is_not_acknowledged},
    {"file_too_big_answers_503_then_a_new_file",
     test_receive__file_too_big_answers_503_then_a_new_file},
    {"backoff_doubles_up_to_a_bound", test_receive__backoff_doubles_up_to_a_bound},
    {"failing_pass_backs_off_and_recovers",
     test_receive__failing_pass_backs_off_and_recovers},
    {"consent_burst_starts_one_run", test_receive__consent_burst_starts_one_run},
    {"consent_tap_while_running_runs_once_more",
     test_receive__consent_tap_while_running_runs_once_more},
    {"consent_command_gets_no_secrets_and_no_stdin",
     test_receive__consent_command_gets_no_secrets_and_no_stdin},
    {NULL, NULL},
};

int main(void)
{
    return suf_test_main("receive", tests);
}
