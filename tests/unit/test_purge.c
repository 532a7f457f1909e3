/*
 * test_purge.c: the purge of personal data (store/purge.h): pseudonyms, what
 * goes and what stays, a second purge, a pseudonym already taken, and the
 * bytes left in the database file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "store/purge.h"
#include "store/store.h"
#include "testutil.h"

#define OLD 1795168800    /* 2026-11-20T10:00:00Z */
#define CUTOFF 1796083200 /* 2026-12-01T00:00:00Z */
#define NEW 1796896800    /* 2026-12-10T10:00:00Z */
#define NOW 1798675200    /* 2026-12-31T00:00:00Z */

static const unsigned char key_a[SUF_PURGE_KEY_BYTES] =
    "0123456789abcdef0123456789abcdef";
static const unsigned char key_b[SUF_PURGE_KEY_BYTES] =
    "fedcba9876543210fedcba9876543210";

static void test_purge__pseudonym_keeps_prefix_and_hides_the_rest(void)
{
    char a[SUF_PSEUDONYM_MAX], b[SUF_PSEUDONYM_MAX], c[SUF_PSEUDONYM_MAX], small[20];

    CU_ASSERT_EQUAL(suf_purge_pseudonym(key_a, "447700900023", 2, a, sizeof(a)), SUF_OK);
    CU_ASSERT_EQUAL(strlen(a), 2 + 1 + 32);
    CU_ASSERT_EQUAL(strncmp(a, "44#", 3), 0);
    CU_ASSERT_PTR_NULL(strstr(a, "7700900023"));
    CU_ASSERT_TRUE(suf_purge_is_pseudonym(a));
    /* the same phone and key: the same pseudonym; another key or phone: not */
    CU_ASSERT_EQUAL(suf_purge_pseudonym(key_a, "447700900023", 2, b, sizeof(b)), SUF_OK);
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT_EQUAL(suf_purge_pseudonym(key_b, "447700900023", 2, c, sizeof(c)), SUF_OK);
    CU_ASSERT_STRING_NOT_EQUAL(a, c);
    CU_ASSERT_EQUAL(suf_purge_pseudonym(key_a, "447700900024", 2, c, sizeof(c)), SUF_OK);
    CU_ASSERT_STRING_NOT_EQUAL(a, c);
    /* no prefix known: the pseudonym starts with "#" */
    CU_ASSERT_EQUAL(suf_purge_pseudonym(key_a, "999", 0, c, sizeof(c)), SUF_OK);
    CU_ASSERT_EQUAL(c[0], '#');
    CU_ASSERT_EQUAL(suf_purge_pseudonym(key_a, "447700900023", 2, small, sizeof(small)),
                    SUF_ERR_INTERNAL);
}

static void test_purge__tells_a_pseudonym_from_a_phone(void)
{
    static const struct {
        const char *in;
        bool want;
    } rows[] = {
        {NULL, true},
        {"44#0123456789abcdef0123456789abcdef", true},
        {"#0123456789abcdef0123456789abcdef", true},
        {"1876#0123456789abcdef0123456789abcdef:2", true},
        {"447700900023", false},
        {"", false},
        {"44#0123456789abcdef0123456789abcde", false},   /* 31 digits */
        {"44#0123456789abcdef0123456789abcdef0", false}, /* 33 */
        {"44#0123456789ABCDEF0123456789abcdef", false},  /* upper case */
        {"44#0123456789abcdef0123456789abcdef:", false},
        {"44#0123456789abcdef0123456789abcdef:2x", false},
        {"+44#0123456789abcdef0123456789abcdef", false},
        {"9.19812E+11", false},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (suf_purge_is_pseudonym(rows[i].in) != rows[i].want)
            fprintf(stderr, "row %zu: '%s'\n", i, rows[i].in ? rows[i].in : "(null)");
        CU_ASSERT_EQUAL(suf_purge_is_pseudonym(rows[i].in), rows[i].want);
    }
}

/* --- a store with old and new data ------------------------------------------- */

static const char fill_sql[] =
    "INSERT INTO markets VALUES ('44', '', 'United Kingdom'), ('91', '', 'India'), "
    " ('1', '', 'North America'), ('1876', '', 'Rest of Latin America');"
    "INSERT INTO runs (id, command, args, started_at, as_of, status) VALUES "
    " (1, 'plan', 'plan --explain 447700900001 --campaign c1', 1795168800, 1795168800, "
    "'ok'),"
    " (2, 'import', 'import deliveries y.csv', 1796896800, 1796896800, 'ok'),"
    " (3, 'purge', 'purge --before 2026-12-01', 1798675200, 1798675200, 'running');"
    "INSERT INTO files (id, kind, path, sha256, imported_at, run_id) VALUES "
    " (1, 'deliveries', 'x.csv', 'aa', 1795168800, 1), (2, 'deliveries', 'y.csv', 'bb', "
    " 1796896800, 2);"
    "INSERT INTO rejects (id, file_id, file, line, reason, raw, run_id) VALUES "
    " (1, 1, 'x.csv', 7, 'phone ''9.19812E+11'' looks like Excel scientific notation', "
    "  'c1,w9,9.19812E+11,Bhavna', 1),"
    " (2, 2, 'y.csv', 9, 'unknown status ''lost''', 'c1,w8,447700900002,lost', 2);"
    "INSERT INTO attempts (id, campaign_id, message_id, phone, campaign_name, "
    "template_name, "
    " status, error_code, attempt, sent_at, text, vars, header_media_url, url_suffixes, "
    " button_payloads, customer_name, file_id, line) VALUES "
    " (1, 'c1', 'w1', '447700900001', 'Winter', 't', 'failed', 131049, 1, 1795168800, "
    "  'Hi Asha, code WINTER20', '[\"Asha\"]', 'https://x/asha.pdf', '[\"order-77\"]', "
    "  '[\"yes\"]', 'Asha', 1, 2),"
    " (2, 'c1', 'w1b', '447700900001', 'Winter', 't', 'failed', 131049, 2, 1795172400, "
    "  'Hi Asha, code WINTER20', '[\"Asha\"]', NULL, NULL, NULL, 'Asha', 1, 3),"
    " (3, 'c1', 'w2', '919812344567', 'Winter', 't', 'delivered', NULL, 1, 1795168800, "
    "  'Hi Chitra', '[\"Chitra\"]', NULL, NULL, NULL, 'Chitra', 1, 4),"
    " (4, 'c1', 'w3', '447700900002', 'Winter', 't', 'failed', 131049, 1, 1796896800, "
    "  'Hi Dev', '[\"Dev\"]', NULL, NULL, NULL, 'Dev', 2, 2),"
    " (5, 'c1', 'w4', '18765550100', 'Winter', 't', 'failed', 131049, 1, 1795168800, "
    "  'Hi Esha', NULL, NULL, NULL, NULL, 'Esha', 1, 5),"
    " (6, 'c2', 'w5', '447700900001', 'Spring', 't', 'delivered', NULL, 1, 1795168800, "
    "  'Hi Asha, spring', NULL, NULL, NULL, NULL, 'Asha', 1, 6);"
    "INSERT INTO recipients (campaign_id, phone, outcome, reason, attempts, "
    "last_attempt_id, "
    " last_attempt_at, decided_at) VALUES "
    " ('c1', '447700900001', 'fallback', NULL, 2, 2, 1795172400, 1795168800),"
    " ('c1', '919812344567', 'delivered', NULL, 1, 3, 1795168800, 1795168800),"
    " ('c1', '447700900002', 'excluded', 'fallback_off', 1, 4, 1796896800, 1796896800),"
    " ('c1', '18765550100', 'awaiting_retries', NULL, 1, 5, 1795168800, 1795168800),"
    " ('c2', '447700900001', 'delivered', NULL, 1, 6, 1795168800, 1795168800);"
    "INSERT INTO fallbacks (id, campaign_id, phone, attempt_id, template_name, scenario, "
    " state, state_at, created_at, utility_sent_at, utility_delivered_at) VALUES "
    " (1, 'c1', '447700900001', 2, 't', 'S1', 'utility_delivered', 1795600800, "
    "1795258800, "
    "  1795258800, 1795262400);"
    "INSERT INTO sends (fallback_id, kind, part, n, callback, body, state, api_error, "
    "wamid, "
    " delivery, pricing_category) VALUES "
    " (1, 'u', 1, 1, 'suf:1:u1', '{\"to\":\"447700900001\",\"name\":\"Asha\"}', 'sent', "
    "NULL, "
    "  'wamid.u1', 'delivered', 'utility'),"
    " (1, 's', 1, 1, 'suf:1:s1', '{\"to\":\"447700900001\",\"text\":\"Hi Asha\"}', "
    "'held', "
    "  NULL, NULL, NULL, NULL),"
    " (1, 'u', 1, 2, 'suf:1:u2', '{\"to\":\"447700900001\",\"name\":\"Asha\"}', "
    "'queued', "
    "  'Recipient 447700900001 throttled', NULL, NULL, NULL);"
    "INSERT INTO events (id, kind, wamid, status, ts, recipient, callback, from_phone, "
    " context_id, msg_type, payload, text, profile_name) VALUES "
    " (10, 'status', 'wamid.u1', 'delivered', 1795262400, '447700900001', 'suf:1:u1', "
    "NULL, "
    "  NULL, NULL, NULL, NULL, NULL),"
    " (11, 'message', 'wamid.in1', NULL, 1795266000, NULL, NULL, '447700900001', "
    "'wamid.u1', "
    "  'button', 'suf:1:yes', 'Yes please', 'Asha K'),"
    " (12, 'message', 'wamid.in2', NULL, 1795269600, NULL, NULL, '447700900001', NULL, "
    "  'text', NULL, 'STOP', 'Asha K'),"
    " (13, 'message', 'wamid.in3', NULL, 1796896800, NULL, NULL, '447700900002', NULL, "
    "  'text', NULL, 'hello', 'Dev R'),"
    /* no time (a store of version 1 allowed it): old, and queued as 0 */
    " (14, 'message', 'wamid.in4', NULL, NULL, NULL, NULL, '447700900001', NULL, "
    "  'text', NULL, 'no time', 'Asha K'),"
    " (15, 'message', 'wamid.in5', NULL, NULL, NULL, NULL, '447700900001', NULL, "
    "  'text', NULL, 'no time, queued', 'Asha K');"
    "INSERT INTO event_queue (ts, id) VALUES (1795269600, 12), (0, 15);"
    "INSERT INTO optouts (phone, at, source, campaign_id) VALUES "
    " ('447700900009', 1795168800, 'stop', 'c1');";

static struct suf_run run;

static void open_filled(struct suf_store *st, const char *name)
{
    struct suf_err err = SUF_ERR_INIT;

    suf_test_store(st, name);
    CU_ASSERT_EQUAL_FATAL(suf_store_exec(st, fill_sql, &err), SUF_OK);
    memset(&run, 0, sizeof(run));
    run.store = st;
    run.id = 3;
    suf_clock_init(&run.clock, NOW);
}

static int64_t scalar(struct suf_store *st, const char *sql)
{
    struct suf_err err = SUF_ERR_INIT;
    int64_t v = -1;

    CU_ASSERT_EQUAL(suf_store_scalar(st, sql, NULL, &v, &err), SUF_OK);
    return v;
}

/* The text of a one-value query, in a static buffer ("(null)" for NULL). */
static const char *text(struct suf_store *st, const char *sql)
{
    static char buf[512];
    struct suf_err err = SUF_ERR_INIT;
    sqlite3_stmt *s = suf_store_prepare(st, sql, &err);

    suf_strlcpy(buf, "(no row)", sizeof(buf));
    if (s && sqlite3_step(s) == SQLITE_ROW)
        suf_strlcpy(buf,
                    sqlite3_column_text(s, 0) ? (const char *)sqlite3_column_text(s, 0)
                                              : "(null)",
                    sizeof(buf));
    sqlite3_finalize(s);
    return buf;
}

/* Every table's row count, as one string. */
static char *row_counts(struct suf_store *st)
{
    static const char *const tables[] = {
        "runs",  "files",  "rejects",     "attempts", "recipients", "fallbacks",
        "sends", "events", "event_queue", "optouts",  "markets"};
    struct suf_buf b = SUF_BUF_INIT;

    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        char *q = suf_xasprintf("SELECT count(*) FROM %s", tables[i]);
        suf_buf_addf(&b, "%s=%lld ", tables[i], (long long)scalar(st, q));
        free(q);
    }
    return suf_buf_detach(&b);
}

/* The count of rows anywhere that still hold `needle`. */
static int64_t rows_holding(struct suf_store *st, const char *needle)
{
    static const char sql[] =
        "SELECT (SELECT count(*) FROM attempts WHERE instr(phone || coalesce(text, '') "
        "|| "
        " coalesce(vars, '') || coalesce(customer_name, '') || "
        "coalesce(header_media_url, '') "
        " || coalesce(url_suffixes, ''), ?1)) "
        "+ (SELECT count(*) FROM recipients WHERE instr(phone, ?1)) "
        "+ (SELECT count(*) FROM fallbacks WHERE instr(phone, ?1)) "
        "+ (SELECT count(*) FROM sends WHERE instr(body || coalesce(api_error, ''), ?1)) "
        "+ (SELECT count(*) FROM events WHERE instr(coalesce(recipient, '') || "
        " coalesce(from_phone, '') || coalesce(text, '') || coalesce(profile_name, ''), "
        "?1)) "
        "+ (SELECT count(*) FROM rejects WHERE instr(coalesce(raw, '') || reason, ?1)) "
        "+ (SELECT count(*) FROM runs WHERE instr(coalesce(args, ''), ?1))";
    struct suf_err err = SUF_ERR_INIT;
    int64_t n = -1;

    CU_ASSERT_EQUAL(suf_store_scalar(st, sql, needle, &n, &err), SUF_OK);
    return n;
}

static void test_purge__removes_old_personal_data_and_keeps_every_count(void)
{
    struct suf_store st = SUF_STORE_INIT;
    struct suf_err err = SUF_ERR_INIT;
    struct suf_purge_counts c;
    char *before, *after, p1[SUF_PSEUDONYM_MAX], want[128];

    open_filled(&st, "purge.db");
    before = row_counts(&st);
    CU_ASSERT_EQUAL_FATAL(suf_purge(&run, CUTOFF, NULL, &c, &err), SUF_OK);
    after = row_counts(&st);
    CU_ASSERT_STRING_EQUAL(before, after);
    CU_ASSERT_EQUAL(c.recipients, 3);
    CU_ASSERT_EQUAL(c.attempts, 4);
    CU_ASSERT_EQUAL(c.fallbacks, 1);
    CU_ASSERT_EQUAL(c.sends, 3);
    CU_ASSERT_EQUAL(c.cancelled, 2);
    CU_ASSERT_EQUAL(c.events, 3);
    CU_ASSERT_EQUAL(c.rejects, 1);
    CU_ASSERT_EQUAL(c.runs, 1);
    CU_ASSERT_EQUAL(c.kept_waiting, 1);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "purge.recipients"), 3);

    /* one pseudonym for the recipient's attempts, row and fallback, in its
     * market, and the same in the other campaign */
    suf_strlcpy(p1, text(&st, "SELECT phone FROM fallbacks WHERE id = 1"), sizeof(p1));
    CU_ASSERT_TRUE(suf_purge_is_pseudonym(p1));
    CU_ASSERT_EQUAL(strncmp(p1, "44#", 3), 0);
    CU_ASSERT_STRING_EQUAL(text(&st, "SELECT group_concat(DISTINCT phone) FROM attempts "
                                     "WHERE message_id IN ('w1', 'w1b', 'w5')"),
                           p1);
    CU_ASSERT_STRING_EQUAL(text(&st, "SELECT group_concat(phone) FROM recipients WHERE "
                                     "attempts = 2"),
                           p1);
    CU_ASSERT_EQUAL(
        strncmp(text(&st, "SELECT phone FROM attempts WHERE message_id = 'w2'"), "91#",
                3),
        0);
    CU_ASSERT_EQUAL(
        scalar(&st, "SELECT count(*) FROM attempts WHERE message_id IN ('w1', "
                    "'w1b', 'w2', 'w5') AND coalesce(text, vars, customer_name, "
                    "header_media_url, url_suffixes, button_payloads) IS NOT NULL"),
        0);
    /* what stays: counts, states, times, prices, error codes */
    CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM attempts WHERE error_code = 131049 "
                                "AND status = 'failed' AND sent_at < 1796083200"),
                    3);
    CU_ASSERT_STRING_EQUAL(text(&st, "SELECT state || ' ' || utility_delivered_at FROM "
                                     "fallbacks"),
                           "utility_delivered 1795262400");
    CU_ASSERT_STRING_EQUAL(
        text(&st, "SELECT group_concat(state || ':' || body || ':' || "
                  "coalesce(api_error, '-') || ':' || coalesce(delivery, '-') "
                  "|| ':' || coalesce(pricing_category, '-'), ' ') FROM "
                  "(SELECT * FROM sends ORDER BY id)"),
        "sent::-:delivered:utility cancelled::-:-:- cancelled::-:-:-");
    /* the new recipient and the one awaiting retries keep their phone; the
     * unprocessed and the new events keep everything */
    CU_ASSERT_STRING_EQUAL(text(&st,
                                "SELECT phone || ' ' || text || ' ' || customer_name "
                                "FROM attempts WHERE message_id = 'w3'"),
                           "447700900002 Hi Dev Dev");
    CU_ASSERT_STRING_EQUAL(text(&st, "SELECT phone FROM recipients WHERE outcome = "
                                     "'awaiting_retries'"),
                           "18765550100");
    /* the opt-out is kept, under a pseudonym of the whole phone */
    CU_ASSERT_TRUE(suf_purge_is_pseudonym(text(&st, "SELECT phone FROM optouts")));
    CU_ASSERT_EQUAL(text(&st, "SELECT phone FROM optouts")[0], '#');
    CU_ASSERT_EQUAL(c.optouts, 1);
    CU_ASSERT_STRING_EQUAL(text(&st,
                                "SELECT from_phone || ' ' || text || ' ' || profile_name "
                                "FROM events WHERE id = 12"),
                           "447700900001 STOP Asha K");
    CU_ASSERT_STRING_EQUAL(text(&st, "SELECT from_phone || ' ' || text FROM events "
                                     "WHERE id = 15"),
                           "447700900001 no time, queued");
    CU_ASSERT_STRING_EQUAL(text(&st,
                                "SELECT coalesce(text, '-') || ' ' || "
                                "coalesce(profile_name, '-') FROM events WHERE id = 14"),
                           "- -");
    CU_ASSERT_STRING_EQUAL(text(&st,
                                "SELECT from_phone || ' ' || text FROM events WHERE id = "
                                "13"),
                           "447700900002 hello");
    CU_ASSERT_STRING_EQUAL(text(&st, "SELECT recipient FROM events WHERE id = 10"), p1);
    snprintf(want, sizeof(want), "%s---wamid.u1", p1);
    CU_ASSERT_STRING_EQUAL(
        text(&st, "SELECT from_phone || coalesce(text, '-') || "
                  "coalesce(profile_name, '-') || coalesce(payload, '-') || "
                  "context_id FROM events WHERE id = 11"),
        want);
    /* rejects keep their words, runs their command */
    CU_ASSERT_STRING_EQUAL(text(&st,
                                "SELECT coalesce(raw, '-') || ' ' || reason FROM rejects "
                                "WHERE id = 1"),
                           "- phone '\xe2\x80\xa6' looks like Excel scientific notation");
    CU_ASSERT_STRING_EQUAL(
        text(&st, "SELECT raw || ' ' || reason FROM rejects WHERE id = 2"),
        "c1,w8,447700900002,lost unknown status 'lost'");
    CU_ASSERT_STRING_EQUAL(text(&st,
                                "SELECT group_concat(command || ':' || coalesce(args, "
                                "'-'), ' ') FROM (SELECT * FROM runs ORDER BY id)"),
                           "plan:- import:import deliveries y.csv "
                           "purge:purge --before 2026-12-01");
    CU_ASSERT_EQUAL(rows_holding(&st, "919812344567"), 0);
    CU_ASSERT_EQUAL(rows_holding(&st, "Chitra"), 0);
    CU_ASSERT_EQUAL(rows_holding(&st, "order-77"), 0);
    free(before);
    free(after);
    json_decref(run.counts);
    suf_store_close(&st);
}

/* A dump of every phone column, to compare two states of the store. */
static char *phones(struct suf_store *st)
{
    struct suf_buf b = SUF_BUF_INIT;

    suf_buf_addstr(&b, text(st, "SELECT group_concat(phone, ',') FROM (SELECT phone FROM "
                                "attempts ORDER BY id)"));
    suf_buf_addstr(
        &b, text(st, "SELECT group_concat(phone, ',') FROM (SELECT phone FROM "
                     "recipients ORDER BY campaign_id, attempts, last_attempt_id)"));
    suf_buf_addstr(&b, text(st, "SELECT group_concat(phone, ',') FROM fallbacks"));
    suf_buf_addstr(&b,
                   text(st, "SELECT group_concat(coalesce(recipient, from_phone), ',') "
                            "FROM (SELECT * FROM events ORDER BY id)"));
    return suf_buf_detach(&b);
}

/* A delivered attempt of 447700900001 in `campaign`, and its recipient, as
 * an import and a plan after the first purge would store them. */
static void add_delivered(struct suf_store *st, const char *campaign,
                          const char *message_id, int64_t at)
{
    struct suf_err err = SUF_ERR_INIT;
    char *sql = suf_xasprintf(
        "INSERT INTO attempts (campaign_id, message_id, phone, template_name, status, "
        "sent_at, "
        " customer_name) VALUES ('%s', '%s', '447700900001', 't', 'delivered', %lld, "
        "'Asha');"
        "INSERT INTO recipients (campaign_id, phone, outcome, attempts, last_attempt_at) "
        " VALUES ('%s', '447700900001', 'delivered', 1, %lld);",
        campaign, message_id, (long long)at, campaign, (long long)at);

    CU_ASSERT_EQUAL(suf_store_exec(st, sql, &err), SUF_OK);
    free(sql);
}

static void test_purge__again_changes_nothing_and_keeps_the_key(void)
{
    struct suf_store st = SUF_STORE_INIT;
    struct suf_err err = SUF_ERR_INIT;
    struct suf_purge_counts c;
    char *first, *second, p1[SUF_PSEUDONYM_MAX];

    open_filled(&st, "again.db");
    CU_ASSERT_EQUAL_FATAL(suf_purge(&run, CUTOFF, NULL, &c, &err), SUF_OK);
    first = phones(&st);
    suf_strlcpy(p1, text(&st, "SELECT phone FROM fallbacks WHERE id = 1"), sizeof(p1));
    CU_ASSERT_EQUAL(suf_purge(&run, CUTOFF, NULL, &c, &err), SUF_OK);
    second = phones(&st);
    CU_ASSERT_STRING_EQUAL(first, second);
    CU_ASSERT_EQUAL(c.recipients + c.attempts + c.fallbacks + c.sends + c.events +
                        c.rejects + c.runs,
                    0);
    CU_ASSERT_EQUAL(c.kept_waiting, 1);
    /* A later purge gives the same phone the same pseudonym: the key is
     * kept in the store. */
    CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM pseudonym_key"), 1);
    add_delivered(&st, "c3", "w7", OLD);
    CU_ASSERT_EQUAL(suf_purge(&run, CUTOFF, NULL, &c, &err), SUF_OK);
    CU_ASSERT_EQUAL(c.recipients, 1);
    CU_ASSERT_STRING_EQUAL(
        text(&st, "SELECT phone FROM recipients WHERE campaign_id = 'c3'"), p1);
    free(first);
    free(second);
    json_decref(run.counts);
    suf_store_close(&st);
}

/* The customer came back to a campaign after an earlier purge: the plan
 * made a second recipient of the phone, which keeps its own pseudonym. */
static void test_purge__taken_pseudonym_gets_a_suffix(void)
{
    struct suf_store st = SUF_STORE_INIT;
    struct suf_err err = SUF_ERR_INIT;
    struct suf_purge_counts c;
    char p1[SUF_PSEUDONYM_MAX], want[SUF_PSEUDONYM_MAX + 8];

    open_filled(&st, "taken.db");
    CU_ASSERT_EQUAL_FATAL(suf_purge(&run, CUTOFF, NULL, &c, &err), SUF_OK);
    suf_strlcpy(p1, text(&st, "SELECT phone FROM fallbacks WHERE id = 1"), sizeof(p1));
    add_delivered(&st, "c1", "w6", 1795900000);
    CU_ASSERT_EQUAL(suf_purge(&run, CUTOFF, NULL, &c, &err), SUF_OK);
    CU_ASSERT_EQUAL(c.recipients, 1);
    snprintf(want, sizeof(want), "%s:2", p1);
    CU_ASSERT_STRING_EQUAL(
        text(&st, "SELECT phone FROM attempts WHERE message_id = 'w6'"), want);
    CU_ASSERT_STRING_EQUAL(
        text(&st, "SELECT phone FROM recipients WHERE outcome = 'delivered' "
                  "AND campaign_id = 'c1' AND last_attempt_at = 1795900000"),
        want);
    CU_ASSERT_TRUE(suf_purge_is_pseudonym(want));
    CU_ASSERT_EQUAL(
        scalar(&st, "SELECT count(*) FROM recipients WHERE campaign_id = 'c1'"), 5);
    json_decref(run.counts);
    suf_store_close(&st);
}

/* A corrected export imported after the purge repeats purged attempts: as
 * the import's upsert does, it sets every column; the phone and the content
 * stay purged, the rest is taken. */
static void test_purge__reimported_attempts_stay_purged(void)
{
    struct suf_store st = SUF_STORE_INIT;
    struct suf_err err = SUF_ERR_INIT;
    struct suf_purge_counts c;
    char p1[SUF_PSEUDONYM_MAX], want[SUF_PSEUDONYM_MAX + 16];

    open_filled(&st, "again-import.db");
    CU_ASSERT_EQUAL_FATAL(suf_purge(&run, CUTOFF, NULL, &c, &err), SUF_OK);
    suf_strlcpy(p1, text(&st, "SELECT phone FROM fallbacks WHERE id = 1"), sizeof(p1));
    snprintf(want, sizeof(want), "%s read - - -", p1);
    CU_ASSERT_EQUAL(
        suf_store_exec(&st,
                       "INSERT INTO attempts (campaign_id, message_id, phone, "
                       " template_name, status, error_code, attempt, sent_at, text, "
                       " customer_name) VALUES "
                       " ('c1', 'w1b', '447700900001', 't', 'read', NULL, 2, "
                       "  1795172400, 'Hi Asha, again', 'Asha'),"
                       " ('c1', 'w3', '447700900099', 't', 'read', NULL, 1, "
                       "  1796896800, 'Hi Dev, again', 'Dev') "
                       "ON CONFLICT (campaign_id, message_id) DO UPDATE SET "
                       " phone = excluded.phone, status = excluded.status, "
                       " error_code = excluded.error_code, text = excluded.text, "
                       " customer_name = excluded.customer_name",
                       &err),
        SUF_OK);
    CU_ASSERT_STRING_EQUAL(text(&st,
                                "SELECT phone || ' ' || status || ' ' || "
                                "coalesce(error_code, '-') || ' ' || coalesce(text, '-') "
                                "|| ' ' || coalesce(customer_name, '-') FROM attempts "
                                "WHERE message_id = 'w1b'"),
                           want);
    /* an attempt that was not purged takes the update whole */
    CU_ASSERT_STRING_EQUAL(text(&st, "SELECT phone || ' ' || text FROM attempts WHERE "
                                     "message_id = 'w3'"),
                           "447700900099 Hi Dev, again");
    CU_ASSERT_EQUAL(rows_holding(&st, "Hi Asha"), 0);
    json_decref(run.counts);
    suf_store_close(&st);
}

static void test_purge__refuses_a_cutoff_after_now(void)
{
    struct suf_store st = SUF_STORE_INIT;
    struct suf_err err = SUF_ERR_INIT;
    struct suf_purge_counts c;

    open_filled(&st, "future.db");
    CU_ASSERT_EQUAL(suf_purge(&run, NOW + 1, NULL, &c, &err), SUF_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'2026-12-31T00:00:01Z' is later than now"));
    CU_ASSERT_EQUAL(rows_holding(&st, "Chitra"), 1);
    json_decref(run.counts);
    suf_store_close(&st);
}

/* Whether the bytes of `needle` are anywhere in the database file or its
 * write-ahead log. */
static bool file_holds(const char *db, const char *needle)
{
    const char *suffixes[] = {"", "-wal"};
    bool found = false;

    for (size_t i = 0; i < 2 && !found; i++) {
        char *path = suf_xasprintf("%s%s", db, suffixes[i]);
        FILE *f = fopen(path, "rb");
        struct suf_buf b = SUF_BUF_INIT;
        char chunk[65536];
        size_t n;

        free(path);
        if (!f)
            continue;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            suf_buf_add(&b, chunk, n);
        fclose(f);
        found = b.len && memmem(b.buf, b.len, needle, strlen(needle)) != NULL;
        suf_buf_release(&b);
    }
    return found;
}

static void test_purge__leaves_no_bytes_in_the_file(void)
{
    struct suf_store st = SUF_STORE_INIT;
    struct suf_err err = SUF_ERR_INIT;
    struct suf_purge_counts c;
    char db[1024];

    suf_strlcpy(db, suf_test_path("bytes.db"), sizeof(db));
    open_filled(&st, "bytes.db");
    /* As an SQLite built without SQLITE_SECURE_DELETE: what is deleted
     * stays in free space (as a table dropped by migration 2 leaves it),
     * here on a page the purge does not rewrite. */
    CU_ASSERT_EQUAL(suf_store_exec(&st,
                                   "PRAGMA secure_delete = 0;"
                                   "INSERT INTO templates (name, language, json) VALUES "
                                   " ('t9', 'en', '{\"example\": \"Hi Farah\"}');"
                                   "DELETE FROM templates WHERE name = 't9';"
                                   "PRAGMA wal_checkpoint(TRUNCATE);",
                                   &err),
                    SUF_OK);
    CU_ASSERT_TRUE(file_holds(db, "Hi Farah"));
    CU_ASSERT_TRUE(file_holds(db, "Hi Chitra"));
    /* The purge zeroes what it removes, whatever the connection's setting,
     * and empties the write-ahead log; it gives the setting back. */
    CU_ASSERT_EQUAL_FATAL(suf_purge(&run, CUTOFF, NULL, &c, &err), SUF_OK);
    CU_ASSERT_FALSE(file_holds(db, "Hi Chitra"));
    CU_ASSERT_FALSE(file_holds(db, "919812344567"));
    CU_ASSERT_FALSE(file_holds(db, "order-77"));
    CU_ASSERT_EQUAL(scalar(&st, "PRAGMA secure_delete"), 0);
    CU_ASSERT_TRUE(file_holds(db, "Hi Farah"));
    /* Older free space goes with VACUUM. */
    CU_ASSERT_EQUAL(suf_purge_vacuum(&run, &err), SUF_OK);
    CU_ASSERT_FALSE(file_holds(db, "Hi Farah"));
    CU_ASSERT_TRUE(file_holds(db, "Hi Dev")); /* new: kept */
    json_decref(run.counts);
    suf_store_close(&st);
}

/* An opt-out outlives its phone: purged, it is kept as a pseudonym; the
 * same number in a later export is an opt-out again before plan decides. */
static void test_purge__an_opt_out_comes_back_with_its_number(void)
{
    struct suf_store st = SUF_STORE_INIT;
    struct suf_err err = SUF_ERR_INIT;
    struct suf_purge_counts c;
    int64_t relinked = -1;

    open_filled(&st, "optout.db");
    /* nothing to relink before a purge: no key, no pseudonym */
    CU_ASSERT_EQUAL(suf_purge_relink_optouts(&run, &relinked, &err), SUF_OK);
    CU_ASSERT_EQUAL(relinked, 0);
    CU_ASSERT_EQUAL_FATAL(suf_purge(&run, CUTOFF, NULL, &c, &err), SUF_OK);
    CU_ASSERT_EQUAL(scalar(&st, "SELECT count(*) FROM optouts WHERE phone = '447700900009'"), 0);
    /* no export holds the number yet: nothing comes back */
    CU_ASSERT_EQUAL(suf_purge_relink_optouts(&run, &relinked, &err), SUF_OK);
    CU_ASSERT_EQUAL(relinked, 0);
    CU_ASSERT_EQUAL(suf_store_exec(&st,
                                   "INSERT INTO attempts (campaign_id, message_id, phone, "
                                   "template_name, status, sent_at) VALUES "
                                   "('c2', 'n1', '447700900009', 't', 'failed', 1796896800), "
                                   "('c2', 'n2', '447700900010', 't', 'failed', 1796896800)",
                                   &err),
                    SUF_OK);
    CU_ASSERT_EQUAL(suf_purge_relink_optouts(&run, &relinked, &err), SUF_OK);
    CU_ASSERT_EQUAL(relinked, 1);
    CU_ASSERT_STRING_EQUAL(text(&st, "SELECT phone || ' ' || at || ' ' || source || ' ' || "
                                     "campaign_id FROM optouts WHERE phone NOT GLOB '*#*'"),
                           "447700900009 1795168800 stop c1");
    /* again: nothing new */
    CU_ASSERT_EQUAL(suf_purge_relink_optouts(&run, &relinked, &err), SUF_OK);
    CU_ASSERT_EQUAL(relinked, 0);
    json_decref(run.counts);
    suf_store_close(&st);
}

/* A store that imported no market map prices by suf's own: its pseudonyms
 * keep the prefixes of the map the caller gives, so costs do not move. */
static void test_purge__without_an_imported_map_the_given_one_keeps_prefixes(void)
{
    static const char *const builtin[] = {"91", "44"};
    const struct suf_purge_map map = {builtin, 2};
    struct suf_store st = SUF_STORE_INIT;
    struct suf_err err = SUF_ERR_INIT;
    struct suf_purge_counts c;
    const char *phones_after;

    open_filled(&st, "builtin.db");
    suf_store_exec(&st, "DELETE FROM markets", &err);
    CU_ASSERT_EQUAL_FATAL(suf_purge(&run, CUTOFF, &map, &c, &err), SUF_OK);
    phones_after = text(&st, "SELECT group_concat(substr(phone, 1, instr(phone, '#')), ' ') "
                             "FROM (SELECT DISTINCT phone FROM recipients WHERE phone GLOB "
                             "'*#*' ORDER BY phone)");
    CU_ASSERT_PTR_NOT_NULL_FATAL(phones_after);
    CU_ASSERT_PTR_NOT_NULL(strstr(phones_after, "44#"));
    CU_ASSERT_PTR_NULL(strstr(phones_after, " #"));
    CU_ASSERT_NOT_EQUAL(phones_after[0], '#');
    json_decref(run.counts);
    suf_store_close(&st);
}

static const struct suf_test tests[] = {
    {"purge: an opt-out comes back with its number", test_purge__an_opt_out_comes_back_with_its_number},
    {"purge: without an imported map the given one keeps prefixes",
     test_purge__without_an_imported_map_the_given_one_keeps_prefixes},
    {"purge: pseudonym keeps prefix and hides the rest",
     test_purge__pseudonym_keeps_prefix_and_hides_the_rest},
    {"purge: tells a pseudonym from a phone", test_purge__tells_a_pseudonym_from_a_phone},
    {"purge: removes old personal data and keeps every count",
     test_purge__removes_old_personal_data_and_keeps_every_count},
    {"purge: again changes nothing and keeps the key",
     test_purge__again_changes_nothing_and_keeps_the_key},
    {"purge: taken pseudonym gets a suffix", test_purge__taken_pseudonym_gets_a_suffix},
    {"purge: reimported attempts stay purged",
     test_purge__reimported_attempts_stay_purged},
    {"purge: refuses a cutoff after now", test_purge__refuses_a_cutoff_after_now},
    {"purge: leaves no bytes in the file", test_purge__leaves_no_bytes_in_the_file},
    {NULL, NULL},
};

int main(void)
{
    return suf_test_main("purge", tests);
}
