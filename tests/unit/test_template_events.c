/*
 * test_template_events.c: the template webhooks (message_template_status_update,
 * template_category_update): what the parser takes from Meta's shapes (an
 * integer id, "en-US", a null reason, both category variants), and how they
 * reach the template's live state: by time, so neither a late webhook nor
 * an older catalog page undoes newer word.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <jansson.h>
#include <sqlite3.h>

#include "base/config.h"
#include "base/context.h"
#include "base/util.h"
#include "import/events.h"
#include "import/import.h"
#include "import/templates.h"
#include "testutil.h"

#define T0 INT64_C(1795485600) /* the run's time: 2026-11-24T02:00:00Z */

static struct suf_config cfg;
static struct suf_store st = SUF_STORE_INIT;
static struct suf_run run;

/* --- the parser ---------------------------------------------------------------- */

/* What one parse gave: the last event's fields, copied. */
struct seen {
    int events;
    char skip[32];
    enum suf_event_kind kind;
    char id[40], name[64], lang[16], event[32], reason[32], category[32], prev[32], newc[32],
        correct[32], detail[160], waba[32];
    bool reason_null;
    int64_t ts, effective_at;
};

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "(null)");
}

static int seen_event(void *ctx, const struct suf_event *ev)
{
    struct seen *s = ctx;

    s->events++;
    s->kind = ev->kind;
    copy(s->id, sizeof(s->id), ev->tpl_id);
    copy(s->name, sizeof(s->name), ev->tpl_name);
    copy(s->lang, sizeof(s->lang), ev->tpl_language);
    copy(s->event, sizeof(s->event), ev->tpl_event);
    copy(s->reason, sizeof(s->reason), ev->tpl_reason);
    copy(s->category, sizeof(s->category), ev->tpl_category);
    copy(s->prev, sizeof(s->prev), ev->previous_category);
    copy(s->newc, sizeof(s->newc), ev->new_category);
    copy(s->correct, sizeof(s->correct), ev->correct_category);
    copy(s->detail, sizeof(s->detail), ev->detail);
    copy(s->waba, sizeof(s->waba), ev->waba_id);
    s->reason_null = ev->tpl_reason == NULL;
    s->ts = ev->ts;
    s->effective_at = ev->effective_at;
    return SUF_OK;
}

static void seen_skip(void *ctx, const char *why)
{
    copy(((struct seen *)ctx)->skip, sizeof(((struct seen *)ctx)->skip), why);
}

/* A webhook body of one change. */
#define HOOK(field, value)                                                                 \
    "{\"entry\":[{\"id\":\"102290129340398\",\"time\":1751247548,\"changes\":[{\"value\":" \
    value ",\"field\":\"" field "\"}]}],\"object\":\"whatsapp_business_account\"}"
#define STATUS "message_template_status_update"
#define CATEGORY "template_category_update"

static void test_template_events__the_parser_reads_metas_shapes(void)
{
    static const struct {
        const char *line;
        const char *skip; /* "" when an event is expected */
        enum suf_event_kind kind;
        const char *id, *lang, *event, *reason, *newc, *correct, *prev, *detail;
        int64_t effective_at;
    } rows[] = {
        /* Meta's own example: an integer id, en-US */
        {HOOK(STATUS, "{\"event\":\"APPROVED\",\"message_template_id\":1689556908129832,"
                      "\"message_template_name\":\"order_confirmation\","
                      "\"message_template_language\":\"en-US\",\"reason\":\"NONE\","
                      "\"message_template_category\":\"UTILITY\"}"),
         "", SUF_EVENT_TEMPLATE_STATUS, "1689556908129832", "en_US", "APPROVED", "NONE",
         "(null)", "(null)", "(null)", "(null)", 0},
        /* a pause, with its other_info, and the id as a string */
        {HOOK(STATUS, "{\"event\":\"PAUSED\",\"message_template_id\":\"77\","
                      "\"message_template_name\":\"order_confirmation\","
                      "\"message_template_language\":\"en_US\",\"reason\":\"NONE\","
                      "\"other_info\":{\"title\":\"FIRST_PAUSE\",\"description\":\"low "
                      "quality\"}}"),
         "", SUF_EVENT_TEMPLATE_STATUS, "77", "en_US", "PAUSED", "NONE", "(null)", "(null)",
         "(null)", "FIRST_PAUSE: low quality", 0},
        /* scheduled for deletion: reason null */
        {HOOK(STATUS, "{\"event\":\"PENDING_DELETION\",\"message_template_id\":5,"
                      "\"message_template_name\":\"x\",\"message_template_language\":\"en\","
                      "\"reason\":null}"),
         "", SUF_EVENT_TEMPLATE_STATUS, "5", "en", "PENDING_DELETION", "(null)", "(null)",
         "(null)", "(null)", "(null)", 0},
        /* a rejection with its detail */
        {HOOK(STATUS, "{\"event\":\"REJECTED\",\"message_template_id\":6,"
                      "\"message_template_name\":\"x\",\"message_template_language\":\"pt-BR\","
                      "\"reason\":\"INVALID_FORMAT\",\"rejection_info\":{\"reason\":\"bad "
                      "body\",\"recommendation\":\"fix it\"}}"),
         "", SUF_EVENT_TEMPLATE_STATUS, "6", "pt_BR", "REJECTED", "INVALID_FORMAT", "(null)",
         "(null)", "(null)", "bad body: fix it", 0},
        /* the 24-hour notice: new_category is the CURRENT one */
        {HOOK(CATEGORY, "{\"message_template_id\":278077987957091,"
                        "\"message_template_name\":\"welcome_template\","
                        "\"message_template_language\":\"en-US\",\"new_category\":\"UTILITY\","
                        "\"correct_category\":\"MARKETING\","
                        "\"category_update_timestamp\":1746169200}"),
         "", SUF_EVENT_TEMPLATE_CATEGORY, "278077987957091", "en_US", "(null)", "(null)",
         "UTILITY", "MARKETING", "(null)", "(null)", 1746169200},
        /* the completed change */
        {HOOK(CATEGORY, "{\"message_template_id\":278077987957091,"
                        "\"message_template_name\":\"welcome_template\","
                        "\"message_template_language\":\"en-US\","
                        "\"previous_category\":\"UTILITY\",\"new_category\":\"MARKETING\"}"),
         "", SUF_EVENT_TEMPLATE_CATEGORY, "278077987957091", "en_US", "(null)", "(null)",
         "MARKETING", "(null)", "UTILITY", "(null)", 0},
        /* no name, no event, a language that is not one, no new category */
        {.line = HOOK(STATUS, "{\"event\":\"APPROVED\",\"message_template_id\":1,"
                      "\"message_template_language\":\"en-US\"}"),
         .skip = "malformed"},
        {.line = HOOK(STATUS, "{\"message_template_id\":1,\"message_template_name\":\"x\","
                      "\"message_template_language\":\"en-US\"}"),
         .skip = "malformed"},
        {.line = HOOK(STATUS, "{\"event\":\"APPROVED\",\"message_template_name\":\"x\","
                      "\"message_template_language\":\"en US; drop\"}"),
         .skip = "malformed"},
        {.line = HOOK(CATEGORY, "{\"message_template_name\":\"x\",\"message_template_language\":\"en\","
                        "\"previous_category\":\"UTILITY\"}"),
         .skip = "malformed"},
        /* a field suf does not use */
        {.line = HOOK("account_update", "{\"event\":\"VERIFIED_ACCOUNT\"}"), .skip = "field"},
        {.line = NULL},
    };

    for (int i = 0; rows[i].line; i++) {
        struct seen s;
        struct suf_events_sink sink = {seen_event, seen_skip, &s};
        const char *why = NULL;
        int rc;

        memset(&s, 0, sizeof(s));
        rc = suf_events_parse_line(rows[i].line, strlen(rows[i].line), &sink, &why);
        CU_ASSERT_EQUAL(rc, SUF_OK);
        if (*rows[i].skip) {
            CU_ASSERT_EQUAL(s.events, 0);
            CU_ASSERT_STRING_EQUAL(s.skip, rows[i].skip);
            continue;
        }
        if (s.events != 1 || strcmp(s.id, rows[i].id) || strcmp(s.lang, rows[i].lang) ||
            strcmp(s.detail, rows[i].detail))
            fprintf(stderr, "row %d: %d events, id %s lang %s detail %s\n", i, s.events, s.id,
                    s.lang, s.detail);
        CU_ASSERT_EQUAL(s.events, 1);
        CU_ASSERT_EQUAL(s.kind, rows[i].kind);
        CU_ASSERT_STRING_EQUAL(s.waba, "102290129340398");
        CU_ASSERT_EQUAL(s.ts, 1751247548); /* entry.time: the value has none */
        CU_ASSERT_STRING_EQUAL(s.id, rows[i].id);
        CU_ASSERT_STRING_EQUAL(s.lang, rows[i].lang);
        CU_ASSERT_STRING_EQUAL(s.event, rows[i].event);
        CU_ASSERT_STRING_EQUAL(s.reason, rows[i].reason);
        CU_ASSERT_STRING_EQUAL(s.newc, rows[i].newc);
        CU_ASSERT_STRING_EQUAL(s.correct, rows[i].correct);
        CU_ASSERT_STRING_EQUAL(s.prev, rows[i].prev);
        CU_ASSERT_STRING_EQUAL(s.detail, rows[i].detail);
        CU_ASSERT_EQUAL(s.effective_at, rows[i].effective_at);
    }
}

/* --- the live state -------------------------------------------------------------- */

static void fresh(const char *db)
{
    suf_store_close(&st);
    json_decref(run.counts);
    memset(&run, 0, sizeof(run));
    suf_test_store(&st, db);
    run.cfg = &cfg;
    run.store = &st;
    suf_clock_init(&run.clock, T0);
}

static char *text(const char *sql)
{
    sqlite3_stmt *s = NULL;
    char *v = NULL;

    if (sqlite3_prepare_v2(st.db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = suf_xstrdup(sqlite3_column_text(s, 0) ? (const char *)sqlite3_column_text(s, 0)
                                                  : "(null)");
    else
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(st.db));
    sqlite3_finalize(s);
    return v ? v : suf_xstrdup("(error)");
}

/* Checks that `sql` gives `want` as text. */
#define CHECK_TEXT(sql, want)                                                              \
    do {                                                                                   \
        char *got_ = text(sql);                                                            \
        if (strcmp(got_, want))                                                            \
            fprintf(stderr, "%s: '%s', wanted '%s'\n", sql, got_, want);                   \
        CU_ASSERT_STRING_EQUAL(got_, want);                                                \
        free(got_);                                                                        \
    } while (0)

#define LIVE "SELECT live_status || '|' || live_category || '|' || coalesce(live_reason, '-') " \
             "|| '|' || live_at FROM templates WHERE name = 'fallback_permission'"

/* A catalog page holding fallback_permission with `status`, saved at `mtime`. */
static void import_page(const char *name, const char *status, int64_t mtime)
{
    char body[600];
    struct timeval tv[2] = {{(time_t)mtime, 0}, {(time_t)mtime, 0}};
    struct suf_err err = SUF_ERR_INIT;
    const char *path;

    snprintf(body, sizeof(body),
             "{\"data\":[{\"name\":\"fallback_permission\",\"language\":\"en_US\","
             "\"id\":\"901\",\"status\":\"%s\",\"category\":\"UTILITY\",\"components\":[],"
             "\"saved\":%lld}]}",
             status, (long long)mtime);
    path = suf_test_write(name, body);
    CU_ASSERT_EQUAL_FATAL(utimes(path, tv), 0);
    CU_ASSERT_EQUAL(suf_import_path(&run, "templates", suf_import_templates, path, NULL, &err),
                    SUF_OK);
}

/* Imports one events log of `line`s. */
static void import_events(const char *name, const char *lines)
{
    struct suf_err err = SUF_ERR_INIT;
    int rc = suf_import_events_path(&run, suf_test_write(name, lines), &err);

    if (rc)
        fprintf(stderr, "%s: %s\n", name, err.msg);
    CU_ASSERT_EQUAL(rc, SUF_OK);
}

#define EV(time, value)                                                                     \
    "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"2000000002\",\"time\":" \
    #time ",\"changes\":[{\"field\":" value "}]}]}\n"
#define PAUSED_AT(time)                                                                     \
    EV(time, "\"" STATUS "\",\"value\":{\"event\":\"PAUSED\",\"message_template_id\":901,"  \
             "\"message_template_name\":\"fallback_permission\",\"message_template_language\"" \
             ":\"en-US\",\"reason\":\"NONE\",\"other_info\":{\"title\":\"FIRST_PAUSE\"}}")
#define APPROVED_AT(time)                                                                   \
    EV(time, "\"" STATUS "\",\"value\":{\"event\":\"APPROVED\",\"message_template_id\":901," \
             "\"message_template_name\":\"fallback_permission\",\"message_template_language\"" \
             ":\"en-US\",\"reason\":\"NONE\",\"message_template_category\":\"UTILITY\"}")

static void test_template_events__the_live_state_takes_the_newest_word(void)
{
    fresh("live.db");
    /* the catalog, saved an hour before the run */
    import_page("page1.json", "APPROVED", T0 - 3600);
    CHECK_TEXT(LIVE, "APPROVED|UTILITY|-|1795482000");

    /* paused a minute before the run; an approval from before the pause,
     * delivered late in the same log, does not undo it */
    import_events("ev1.jsonl", PAUSED_AT(1795485540) APPROVED_AT(1795483800));
    CHECK_TEXT(LIVE, "PAUSED|UTILITY|FIRST_PAUSE|1795485540");
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "events.template_events"), 2);
    CU_ASSERT_EQUAL(suf_run_get_count(&run, "events.template_applied"), 1);
    CHECK_TEXT("SELECT count(*) || '|' || group_concat(meta_id || ' ' || language || ' ' || "
               "event || ' ' || coalesce(detail, '-'), ', ') FROM template_events",
               "2|901 en_US PAUSED FIRST_PAUSE, 901 en_US APPROVED -");

    /* the same pause again (Meta redelivers): one row */
    import_events("ev2.jsonl", PAUSED_AT(1795485540));
    CHECK_TEXT("SELECT count(*) FROM template_events", "2");

    /* a catalog page saved before the pause does not approve it again,
     * though the catalog row itself is that page's */
    import_page("page2.json", "APPROVED", T0 - 600);
    CHECK_TEXT(LIVE, "PAUSED|UTILITY|FIRST_PAUSE|1795485540");
    CHECK_TEXT("SELECT status FROM templates WHERE name = 'fallback_permission'", "APPROVED");

    /* approved again after the pause */
    import_events("ev3.jsonl", APPROVED_AT(1795485570));
    CHECK_TEXT(LIVE, "APPROVED|UTILITY|-|1795485570");

    /* the category: a notice changes nothing yet; the change does */
    import_events("ev4.jsonl",
                  EV(1795485580, "\"" CATEGORY "\",\"value\":{\"message_template_id\":901,"
                                 "\"message_template_name\":\"fallback_permission\","
                                 "\"message_template_language\":\"en-US\","
                                 "\"new_category\":\"UTILITY\",\"correct_category\":"
                                 "\"MARKETING\",\"category_update_timestamp\":1795571980}")
                      EV(1795485590, "\"" CATEGORY "\",\"value\":{\"message_template_id\":901,"
                                     "\"message_template_name\":\"fallback_permission\","
                                     "\"message_template_language\":\"en-US\","
                                     "\"previous_category\":\"UTILITY\","
                                     "\"new_category\":\"MARKETING\"}"));
    CHECK_TEXT(LIVE, "APPROVED|MARKETING|-|1795485590");
    CHECK_TEXT("SELECT group_concat(coalesce(correct_category, '-') || ' ' || "
               "coalesce(effective_at, '-'), ', ') FROM template_events WHERE kind = 'category'",
               "MARKETING 1795571980, - -");

    /* a catalog page saved after all that is the newest word */
    import_page("page3.json", "APPROVED", T0 - 5);
    CHECK_TEXT(LIVE, "APPROVED|UTILITY|-|1795485595");
    /* and a page with a time after the run's counts as of the run */
    import_page("page4.json", "PAUSED", T0 + 7200);
    CHECK_TEXT(LIVE, "PAUSED|UTILITY|-|1795485600");
}

static void cleanup(void)
{
    suf_store_close(&st);
    json_decref(run.counts);
    suf_config_release(&cfg);
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"the parser reads Meta's shapes", test_template_events__the_parser_reads_metas_shapes},
        {"the live state takes the newest word",
         test_template_events__the_live_state_takes_the_newest_word},
        {NULL, NULL},
    };
    int rc;

    suf_config_init(&cfg);
    rc = suf_test_main("template_events", tests);
    cleanup();
    return rc;
}
