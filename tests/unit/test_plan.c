/*
 * test_plan.c: the plan stage: every outcome and exclusion rule, their
 * order, the retry window at its edges, campaign overrides, incremental and
 * idempotent replanning, the fallbacks and sends it creates, and --explain.
 *
 * Most tests build a scratch store, insert attempts, templates and
 * campaigns with SQL, run the plan as of a pinned time and read back what
 * it wrote.  The pure rules are also tested alone, from tables of facts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/config.h"
#include "base/context.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "plan/permission.h"
#include "plan/plan.h"
#include "plan/render.h"
#include "store/store.h"
#include "testutil.h"

#define H INT64_C(3600)

/* 2026-11-20T10:00:00Z: the first send of every test broadcast. */
static int64_t t0(void)
{
    int64_t t = 0;
    CU_ASSERT_EQUAL_FATAL(suf_time_parse("2026-11-20T10:00:00Z", &t, NULL), SUF_OK);
    return t;
}

struct fx {
    struct suf_store st;
    struct suf_config cfg;
    struct suf_run run;
    struct suf_err err;
};

/* The config of most tests here: fallback is off by default (a campaign
 * must enable it), and these test the rules that come after that switch. */
#define FALLBACK_ON "[plan]\nfallback = on\n"

/* A store and a run with the config `ini` (NULL: FALLBACK_ON). */
static void fx_open(struct fx *fx, const char *name, const char *ini)
{
    memset(fx, 0, sizeof(*fx));
    fx->st.lock_fd = -1;
    suf_test_store(&fx->st, name);
    suf_config_init(&fx->cfg);
    if (suf_config_load_string(&fx->cfg, ini ? ini : FALLBACK_ON, "test.conf", &fx->err)) {
        fprintf(stderr, "config: %s\n", fx->err.msg);
        exit(2);
    }
    fx->run.cfg = &fx->cfg;
    fx->run.store = &fx->st;
    fx->run.id = 1;
}

static void fx_close(struct fx *fx)
{
    json_decref(fx->run.counts);
    suf_store_close(&fx->st);
    suf_config_release(&fx->cfg);
}

static void sql(struct fx *fx, const char *text)
{
    struct suf_err err = SUF_ERR_INIT;
    if (suf_store_exec(&fx->st, text, &err))
        fprintf(stderr, "sql: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(err.status, SUF_OK);
}

static int plan_at(struct fx *fx, int64_t now)
{
    suf_err_clear(&fx->err);
    json_decref(fx->run.counts);
    fx->run.counts = NULL;
    return suf_plan_run_at(&fx->run, now, &fx->err);
}

/* --- the catalog ------------------------------------------------------------ */

static const struct {
    const char *name, *lang, *status, *category, *json;
} catalog[] = {
    {"promo_text", "en_US", "APPROVED", "MARKETING",
     "{\"name\":\"promo_text\",\"language\":\"en_US\",\"status\":\"APPROVED\","
     "\"category\":\"MARKETING\",\"components\":[{\"type\":\"BODY\","
     "\"text\":\"Hi {{1}}, use code {{2}}.\"},{\"type\":\"FOOTER\",\"text\":\"Reply STOP to "
     "opt out\"}]}"},
    {"promo_qr", "en_US", "APPROVED", "MARKETING",
     "{\"name\":\"promo_qr\",\"language\":\"en_US\",\"status\":\"APPROVED\","
     "\"category\":\"MARKETING\",\"components\":[{\"type\":\"BODY\",\"text\":\"Hi {{1}}!\"},"
     "{\"type\":\"BUTTONS\",\"buttons\":[{\"type\":\"QUICK_REPLY\",\"text\":\"Show me\"},"
     "{\"type\":\"QUICK_REPLY\",\"text\":\"Not now\"}]}]}"},
    {"promo_image", "en_US", "APPROVED", "MARKETING",
     "{\"name\":\"promo_image\",\"language\":\"en_US\",\"status\":\"APPROVED\","
     "\"category\":\"MARKETING\",\"components\":[{\"type\":\"HEADER\",\"format\":\"IMAGE\"},"
     "{\"type\":\"BODY\",\"text\":\"New in store, {{1}}\"},{\"type\":\"BUTTONS\",\"buttons\":["
     "{\"type\":\"QUICK_REPLY\",\"text\":\"a\"},{\"type\":\"QUICK_REPLY\",\"text\":\"b\"},"
     "{\"type\":\"QUICK_REPLY\",\"text\":\"c\"},{\"type\":\"QUICK_REPLY\",\"text\":\"d\"},"
     "{\"type\":\"QUICK_REPLY\",\"text\":\"e\"},{\"type\":\"QUICK_REPLY\",\"text\":\"f\"}]}]}"},
    {"order_update", "en_US", "APPROVED", "UTILITY",
     "{\"name\":\"order_update\",\"language\":\"en_US\",\"status\":\"APPROVED\","
     "\"category\":\"UTILITY\",\"components\":[{\"type\":\"BODY\",\"text\":\"Order {{1}}\"}]}"},
    {"promo_carousel", "en_US", "APPROVED", "MARKETING",
     "{\"name\":\"promo_carousel\",\"language\":\"en_US\",\"status\":\"APPROVED\","
     "\"category\":\"MARKETING\",\"components\":[{\"type\":\"BODY\",\"text\":\"Look\"},"
     "{\"type\":\"CAROUSEL\",\"cards\":[]}]}"},
    {"promo_two", "en_US", "APPROVED", "MARKETING",
     "{\"name\":\"promo_two\",\"language\":\"en_US\",\"status\":\"APPROVED\","
     "\"category\":\"MARKETING\",\"components\":[{\"type\":\"BODY\",\"text\":\"Hi {{1}}\"}]}"},
    {"promo_two", "pt_BR", "APPROVED", "MARKETING",
     "{\"name\":\"promo_two\",\"language\":\"pt_BR\",\"status\":\"APPROVED\","
     "\"category\":\"MARKETING\",\"components\":[{\"type\":\"BODY\",\"text\":\"Oi {{1}}\"}]}"},
    {"fallback_permission", "en_US", "APPROVED", "UTILITY",
     "{\"name\":\"fallback_permission\",\"language\":\"en_US\",\"status\":\"APPROVED\","
     "\"category\":\"UTILITY\",\"components\":[{\"type\":\"BODY\",\"text\":\"We could not "
     "deliver {{1}}. See it now?\"},{\"type\":\"BUTTONS\",\"buttons\":[{\"type\":"
     "\"QUICK_REPLY\",\"text\":\"Yes, show me\"},{\"type\":\"QUICK_REPLY\",\"text\":\"No "
     "thanks\"}]}]}"},
    {"fallback_permission_paused", "en_US", "PAUSED", "UTILITY",
     "{\"name\":\"fallback_permission_paused\",\"language\":\"en_US\",\"status\":\"PAUSED\","
     "\"category\":\"UTILITY\",\"components\":[{\"type\":\"BODY\",\"text\":\"See {{1}}?\"},"
     "{\"type\":\"BUTTONS\",\"buttons\":[{\"type\":\"QUICK_REPLY\",\"text\":\"Yes\"},"
     "{\"type\":\"QUICK_REPLY\",\"text\":\"No\"}]}]}"},
};

static void add_catalog(struct fx *fx)
{
    sqlite3_stmt *s = suf_store_prepare(
        &fx->st,
        "INSERT INTO templates (name, language, status, category, json) VALUES (?1,?2,?3,?4,?5)",
        NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    for (size_t i = 0; i < sizeof(catalog) / sizeof(catalog[0]); i++) {
        sqlite3_reset(s);
        suf_bind_text(s, 1, catalog[i].name);
        suf_bind_text(s, 2, catalog[i].lang);
        suf_bind_text(s, 3, catalog[i].status);
        suf_bind_text(s, 4, catalog[i].category);
        suf_bind_text(s, 5, catalog[i].json);
        CU_ASSERT_EQUAL(sqlite3_step(s), SQLITE_DONE);
    }
    sqlite3_finalize(s);
}

/* --- attempts ------------------------------------------------------------------ */

struct att {
    int attempt;         /* 0: the export had no attempt column */
    int64_t at;          /* seconds after t0 */
    const char *status;  /* NULL ends the list */
    int64_t code;        /* 0: none */
};

struct att_opts {
    const char *tpl;  /* NULL: promo_text */
    const char *lang; /* "-": NULL; NULL: en_US */
    const char *vars; /* NULL: ["Asha","WINTER20"]; "-": none */
    int invalid_phone;
};

static void add_attempts(struct fx *fx, const char *campaign, const char *phone,
                         const struct att *a, const struct att_opts *o)
{
    static int64_t seq;
    sqlite3_stmt *s = suf_store_prepare(
        &fx->st,
        "INSERT INTO attempts (campaign_id, message_id, phone, phone_valid, template_name, "
        "template_language, status, error_code, attempt, sent_at, vars, customer_name) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'Asha')",
        NULL);
    struct att_opts none = {NULL, NULL, NULL, 0};
    char wamid[64];

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    if (!o)
        o = &none;
    for (; a->status; a++) {
        snprintf(wamid, sizeof(wamid), "wamid.%" PRId64, ++seq);
        sqlite3_reset(s);
        suf_bind_text(s, 1, campaign);
        suf_bind_text(s, 2, wamid);
        suf_bind_text(s, 3, phone);
        sqlite3_bind_int(s, 4, !o->invalid_phone);
        suf_bind_text(s, 5, o->tpl ? o->tpl : "promo_text");
        suf_bind_text(s, 6, !o->lang ? "en_US" : !strcmp(o->lang, "-") ? NULL : o->lang);
        suf_bind_text(s, 7, a->status);
        suf_bind_int64_or_null(s, 8, a->code, a->code == 0);
        sqlite3_bind_int(s, 9, a->attempt);
        sqlite3_bind_int64(s, 10, t0() + a->at);
        suf_bind_text(s, 11, !o->vars ? "[\"Asha\",\"WINTER20\"]"
                             : !strcmp(o->vars, "-") ? NULL
                                                     : o->vars);
        CU_ASSERT_EQUAL(sqlite3_step(s), SQLITE_DONE);
    }
    sqlite3_finalize(s);
}

/* A campaigns row; -1 leaves a setting NULL (the config default). */
static void add_campaign(struct fx *fx, const char *id, int fallback, int retries, int interval,
                         int64_t valid_until_after_t0, const char *utility)
{
    sqlite3_stmt *s = suf_store_prepare(
        &fx->st,
        "INSERT INTO campaigns (campaign_id, name, fallback, max_auto_retries, "
        "retry_interval_hours, valid_until, utility_template) VALUES (?1,?2,?3,?4,?5,?6,?7)",
        NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    suf_bind_text(s, 1, id);
    suf_bind_text(s, 2, "Winter sale wave 1");
    suf_bind_int64_or_null(s, 3, fallback, fallback < 0);
    suf_bind_int64_or_null(s, 4, retries, retries < 0);
    suf_bind_int64_or_null(s, 5, interval, interval < 0);
    if (valid_until_after_t0 == INT64_MIN)
        sqlite3_bind_null(s, 6);
    else
        sqlite3_bind_int64(s, 6, t0() + valid_until_after_t0);
    suf_bind_text(s, 7, utility);
    CU_ASSERT_EQUAL(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
}

/* "outcome" or "excluded:reason" of one recipient, into buf ("" when none). */
static const char *outcome_of(struct fx *fx, const char *campaign, const char *phone, char *buf,
                              size_t size)
{
    sqlite3_stmt *s = suf_store_prepare(
        &fx->st, "SELECT outcome, reason FROM recipients WHERE campaign_id = ?1 AND phone = ?2",
        NULL);
    buf[0] = '\0';
    suf_bind_text(s, 1, campaign);
    suf_bind_text(s, 2, phone);
    if (sqlite3_step(s) == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(s, 1);
        snprintf(buf, size, "%s%s%s", sqlite3_column_text(s, 0), r ? ":" : "", r ? r : "");
    }
    sqlite3_finalize(s);
    return buf;
}

static int64_t scalar(struct fx *fx, const char *q, const char *param)
{
    int64_t v = -1;
    struct suf_err err = SUF_ERR_INIT;
    CU_ASSERT_EQUAL(suf_store_scalar(&fx->st, q, param, &v, &err), SUF_OK);
    return v;
}

/* Every row of recipients, fallbacks and sends, as one text. */
static char *dump(struct fx *fx)
{
    static const char *const queries[] = {
        ("SELECT campaign_id, phone, outcome, reason, detail, attempts, last_attempt_id, "
         "last_attempt_at, decided_at FROM recipients ORDER BY campaign_id, phone"),
        "SELECT * FROM fallbacks ORDER BY id",
        "SELECT * FROM sends ORDER BY id",
    };
    struct suf_buf b = SUF_BUF_INIT;

    for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
        sqlite3_stmt *s = suf_store_prepare(&fx->st, queries[q], NULL);
        while (sqlite3_step(s) == SQLITE_ROW) {
            for (int i = 0; i < sqlite3_column_count(s); i++) {
                const unsigned char *v = sqlite3_column_text(s, i);
                suf_buf_addf(&b, "%s|", v ? (const char *)v : "NULL");
            }
            suf_buf_addch(&b, '\n');
        }
        sqlite3_finalize(s);
        suf_buf_addstr(&b, "--\n");
    }
    return suf_buf_detach(&b);
}

/* --- the rules, one campaign per row --------------------------------------------- */

#define NOW (100 * H)
#define NA INT64_MIN

struct rule_row {
    const char *name; /* the campaign id */
    struct att att[5];
    struct att_opts o;
    int fallback, retries, interval; /* campaign overrides; -1 none */
    int64_t valid_until;             /* after t0, or NA */
    int optout;                      /* the phone is in optouts */
    const char *want;
};

static const struct rule_row rules[] = {
    {"first_delivered", {{1, 0, "delivered", 0}, {0}}, {0}, -1, -1, -1, NA, 0, "delivered"},
    {"first_read", {{1, 0, "read", 0}, {0}}, {0}, -1, -1, -1, NA, 0, "delivered"},
    {"first_delivered_then_failed",
     {{1, 0, "delivered", 0}, {2, 24 * H, "failed", 131049}, {0}}, {0}, -1, -1, -1, NA, 0,
     "delivered"},
    {"retry_delivered", {{1, 0, "failed", 131049}, {2, 24 * H, "delivered", 0}, {0}}, {0}, -1,
     -1, -1, NA, 0, "recovered_by_retry"},
    {"retry_read_then_failed",
     {{1, 0, "failed", 131049}, {2, 24 * H, "read", 0}, {3, 48 * H, "failed", 131049}, {0}},
     {0}, -1, -1, -1, NA, 0, "recovered_by_retry"},
    {"latest_sent", {{1, 0, "failed", 131049}, {2, 24 * H, "sent", 0}, {0}}, {0}, -1, -1, -1, NA,
     0, "in_flight"},
    {"latest_pending", {{1, 0, "pending", 0}, {0}}, {0}, -1, -1, -1, NA, 0, "in_flight"},
    /* The retry window: 1 + 3 attempts, 24 h apart, 6 h grace (the defaults). */
    {"window_open", {{1, NOW - 30 * H + 1, "failed", 131049}, {0}}, {0}, -1, -1, -1, NA, 0,
     "awaiting_retries"},
    {"window_closes_exactly_now", {{1, NOW - 30 * H, "failed", 131049}, {0}}, {0}, -1, -1, -1,
     NA, 0, "fallback"},
    {"three_attempts_wait",
     {{1, 0, "failed", 131049}, {2, 24 * H, "failed", 131049}, {3, NOW - H, "failed", 131049},
      {0}},
     {0}, -1, -1, -1, NA, 0, "awaiting_retries"},
    {"four_attempts_are_all",
     {{1, 0, "failed", 131049},
      {2, 24 * H, "failed", 131049},
      {3, 48 * H, "failed", 131049},
      {4, NOW - H, "failed", 131049},
      {0}},
     {0}, -1, -1, -1, NA, 0, "fallback"},
    /* Campaign settings override the config. */
    {"no_retries_campaign", {{1, NOW - H, "failed", 131049}, {0}}, {0}, -1, 0, -1, NA, 0,
     "fallback"},
    {"long_interval_campaign", {{1, NOW - 40 * H, "failed", 131049}, {0}}, {0}, -1, -1, 48, NA,
     0, "awaiting_retries"},
    {"long_interval_edge", {{1, NOW - 54 * H, "failed", 131049}, {0}}, {0}, -1, -1, 48, NA, 0,
     "fallback"},
    /* The exclusion rules, one each. */
    {"fallback_off", {{1, 0, "failed", 131049}, {0}}, {0}, 0, -1, -1, NA, 0,
     "excluded:fallback_off"},
    {"fallback_on_explicitly", {{1, 0, "failed", 131049}, {0}}, {0}, 1, -1, -1, NA, 0,
     "fallback"},
    {"expired", {{1, 0, "failed", 131049}, {0}}, {0}, -1, -1, -1, NOW - 1, 0,
     "excluded:campaign_expired"},
    {"valid_until_exactly_now", {{1, 0, "failed", 131049}, {0}}, {0}, -1, -1, -1, NOW, 0,
     "fallback"},
    {"unknown_template", {{1, 0, "failed", 131049}, {0}}, {"no_such_template", NULL, NULL, 0}, -1,
     -1, -1, NA, 0, "excluded:unknown_template"},
    {"unknown_language", {{1, 0, "failed", 131049}, {0}}, {"promo_text", "fr_FR", NULL, 0}, -1,
     -1, -1, NA, 0, "excluded:unknown_template"},
    {"only_language_is_taken", {{1, 0, "failed", 131049}, {0}}, {"promo_text", "-", NULL, 0},
     -1, -1, -1, NA, 0, "fallback"},
    {"two_languages_none_named", {{1, 0, "failed", 131049}, {0}}, {"promo_two", "-", NULL, 0},
     -1, -1, -1, NA, 0, "excluded:unknown_template"},
    {"two_languages_one_named", {{1, 0, "failed", 131049}, {0}}, {"promo_two", "pt_BR", NULL, 0},
     -1, -1, -1, NA, 0, "fallback"},
    {"utility_template", {{1, 0, "failed", 131049}, {0}}, {"order_update", NULL, NULL, 0}, -1,
     -1, -1, NA, 0, "excluded:not_marketing"},
    {"carousel", {{1, 0, "failed", 131049}, {0}}, {"promo_carousel", NULL, NULL, 0}, -1, -1, -1,
     NA, 0, "excluded:unsupported_template"},
    {"stopped_131050", {{1, 0, "failed", 131050}, {0}}, {0}, -1, -1, -1, NA, 0,
     "excluded:opted_out"},
    {"stopped_earlier", {{1, 0, "failed", 131050}, {2, 24 * H, "failed", 131049}, {0}}, {0}, -1,
     0, -1, NA, 0, "excluded:opted_out"},
    {"in_optouts_table", {{1, 0, "failed", 131049}, {0}}, {0}, -1, -1, -1, NA, 1,
     "excluded:opted_out"},
    {"not_on_whatsapp", {{1, 0, "failed", 131026}, {0}}, {0}, -1, -1, -1, NA, 0,
     "excluded:undeliverable"},
    {"policy_368", {{1, 0, "failed", 368}, {0}}, {0}, -1, -1, -1, NA, 0,
     "excluded:ineligible_error"},
    {"no_error_code", {{1, 0, "failed", 0}, {0}}, {0}, -1, -1, -1, NA, 0,
     "excluded:ineligible_error"},
    {"experiment_130472", {{1, 0, "failed", 130472}, {0}}, {0}, -1, -1, -1, NA, 0, "fallback"},
    {"unknown_131000_after_retries", {{1, 0, "failed", 131000}, {0}}, {0}, -1, -1, -1, NA, 0,
     "fallback"},
    {"unknown_131016_while_retrying", {{1, NOW - H, "failed", 131016}, {0}}, {0}, -1, -1, -1, NA,
     0, "awaiting_retries"},
    {"bad_phone", {{1, 0, "failed", 131049}, {0}}, {NULL, NULL, NULL, 1}, -1, -1, -1, NA, 0,
     "excluded:invalid_phone"},
    {"no_vars", {{1, 0, "failed", 131049}, {0}}, {NULL, NULL, "-", 0}, -1, -1, -1, NA, 0,
     "excluded:missing_content"},
    {"one_var_of_two", {{1, 0, "failed", 131049}, {0}}, {NULL, NULL, "[\"Asha\"]", 0}, -1, -1,
     -1, NA, 0, "excluded:missing_content"},
    {"no_media_link", {{1, 0, "failed", 131049}, {0}}, {"promo_image", NULL, NULL, 0}, -1, -1,
     -1, NA, 0, "excluded:missing_content"},
    /* The first rule that fails names the reason. */
    {"off_and_unknown", {{1, 0, "failed", 131049}, {0}}, {"nope", NULL, NULL, 0}, 0, -1, -1,
     NOW - 1, 0, "excluded:fallback_off"},
    {"expired_and_unknown", {{1, 0, "failed", 131049}, {0}}, {"nope", NULL, NULL, 0}, -1, -1, -1,
     NOW - 1, 0, "excluded:campaign_expired"},
    {"unknown_and_opted_out", {{1, 0, "failed", 131050}, {0}}, {"nope", NULL, NULL, 0}, -1, -1,
     -1, NA, 0, "excluded:unknown_template"},
    {"utility_and_opted_out", {{1, 0, "failed", 131050}, {0}}, {"order_update", NULL, NULL, 0},
     -1, -1, -1, NA, 0, "excluded:not_marketing"},
    {"carousel_and_opted_out", {{1, 0, "failed", 131050}, {0}},
     {"promo_carousel", NULL, NULL, 0}, -1, -1, -1, NA, 0, "excluded:unsupported_template"},
    {"opted_out_and_undeliverable", {{1, 0, "failed", 131026}, {0}}, {0}, -1, -1, -1, NA, 1,
     "excluded:opted_out"},
    {"undeliverable_and_bad_phone", {{1, 0, "failed", 131026}, {0}}, {NULL, NULL, NULL, 1}, -1,
     -1, -1, NA, 0, "excluded:undeliverable"},
    {"ineligible_and_bad_phone", {{1, 0, "failed", 368}, {0}}, {NULL, NULL, NULL, 1}, -1, -1, -1,
     NA, 0, "excluded:ineligible_error"},
    {"bad_phone_and_no_vars", {{1, 0, "failed", 131049}, {0}}, {NULL, NULL, "-", 1}, -1, -1, -1,
     NA, 0, "excluded:invalid_phone"},
    /* Attempt order: (attempt, sent_at, id); attempt 0 means "rank by sent_at". */
    {"no_attempt_column_failed_last",
     {{0, 30 * H, "failed", 131049}, {0, 0, "delivered", 0}, {0}}, {0}, -1, -1, -1, NA, 0,
     "delivered"},
    {"no_attempt_column_delivered_last",
     {{0, 30 * H, "delivered", 0}, {0, 0, "failed", 131049}, {0}}, {0}, -1, -1, -1, NA, 0,
     "recovered_by_retry"},
    {"attempt_number_beats_time",
     {{2, 0, "failed", 131049}, {1, 30 * H, "delivered", 0}, {0}}, {0}, -1, -1, -1, NA, 0,
     "delivered"},
    {"same_time_id_breaks_tie",
     {{1, 0, "failed", 131049}, {1, 0, "sent", 0}, {0}}, {0}, -1, -1, -1, NA, 0, "in_flight"},
};

#define NRULES (sizeof(rules) / sizeof(rules[0]))

static void load_rules(struct fx *fx)
{
    add_catalog(fx);
    for (size_t i = 0; i < NRULES; i++) {
        const struct rule_row *r = &rules[i];
        char phone[32];
        snprintf(phone, sizeof(phone), "4477009%05zu", i);
        add_attempts(fx, r->name, phone, r->att, &r->o);
        if (r->fallback >= 0 || r->retries >= 0 || r->interval >= 0 || r->valid_until != NA)
            add_campaign(fx, r->name, r->fallback, r->retries, r->interval, r->valid_until, NULL);
        if (r->optout) {
            sqlite3_stmt *s = suf_store_prepare(
                &fx->st, "INSERT INTO optouts (phone, at, source) VALUES (?1, 0, 'stop')", NULL);
            suf_bind_text(s, 1, phone);
            CU_ASSERT_EQUAL(sqlite3_step(s), SQLITE_DONE);
            sqlite3_finalize(s);
        }
    }
}

static void test_plan__every_rule_in_order(void)
{
    struct fx fx;
    char got[128], phone[32];

    fx_open(&fx, "rules.db", NULL);
    load_rules(&fx);
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + NOW), SUF_OK);
    for (size_t i = 0; i < NRULES; i++) {
        snprintf(phone, sizeof(phone), "4477009%05zu", i);
        outcome_of(&fx, rules[i].name, phone, got, sizeof(got));
        if (strcmp(got, rules[i].want))
            fprintf(stderr, "\n  %s: got '%s', want '%s'\n", rules[i].name, got, rules[i].want);
        CU_ASSERT_STRING_EQUAL(got, rules[i].want);
    }
    fx_close(&fx);
}

static void test_plan__outcome_counts_add_up_to_recipients(void)
{
    struct fx fx;
    int64_t sum = 0, recipients;
    static const char *const outcomes[] = {"delivered",        "recovered_by_retry", "in_flight",
                                           "awaiting_retries", "excluded",           "fallback"};

    fx_open(&fx, "counts.db", NULL);
    load_rules(&fx);
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + NOW), SUF_OK);
    recipients = scalar(&fx, "SELECT count(*) FROM (SELECT DISTINCT campaign_id, phone FROM "
                             "attempts)",
                        NULL);
    CU_ASSERT_EQUAL(recipients, (int64_t)NRULES);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM recipients", NULL), recipients);
    for (size_t i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++) {
        char name[64];
        snprintf(name, sizeof(name), "plan.%s", outcomes[i]);
        sum += suf_run_get_count(&fx.run, name);
    }
    CU_ASSERT_EQUAL(sum, recipients);
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "plan.recipients"), recipients);
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "plan.fallback"),
                    scalar(&fx, "SELECT count(*) FROM fallbacks", NULL));
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "plan.excluded"),
                    suf_run_get_count(&fx.run, "plan.excluded.opted_out") +
                        suf_run_get_count(&fx.run, "plan.excluded.fallback_off") +
                        suf_run_get_count(&fx.run, "plan.excluded.fallback_not_enabled") +
                        suf_run_get_count(&fx.run, "plan.excluded.campaign_expired") +
                        suf_run_get_count(&fx.run, "plan.excluded.unknown_template") +
                        suf_run_get_count(&fx.run, "plan.excluded.not_marketing") +
                        suf_run_get_count(&fx.run, "plan.excluded.unsupported_template") +
                        suf_run_get_count(&fx.run, "plan.excluded.undeliverable") +
                        suf_run_get_count(&fx.run, "plan.excluded.ineligible_error") +
                        suf_run_get_count(&fx.run, "plan.excluded.invalid_phone") +
                        suf_run_get_count(&fx.run, "plan.excluded.missing_content"));
    /* No fallback row is kept for a hole in the content. */
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM fallbacks f JOIN recipients r USING "
                                "(campaign_id, phone) WHERE r.outcome <> 'fallback'",
                           NULL),
                    0);
    fx_close(&fx);
}

static void test_plan__rerun_changes_nothing(void)
{
    struct fx fx;
    char *before, *after;

    fx_open(&fx, "rerun.db", NULL);
    load_rules(&fx);
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + NOW), SUF_OK);
    before = dump(&fx);
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + NOW), SUF_OK);
    after = dump(&fx);
    CU_ASSERT_STRING_EQUAL(before, after);
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "plan.new_fallbacks"), 0);
    CU_ASSERT(suf_run_get_count(&fx.run, "plan.fallback") > 0);
    free(before);
    free(after);
    fx_close(&fx);
}

/* A rerun with the same inputs and time writes no row at all: plan writes
 * a recipient only when something changed, and keeps every fallback. */
static void test_plan__rerun_writes_no_row(void)
{
    struct fx fx;
    int64_t before;

    fx_open(&fx, "rerun_rows.db", NULL);
    load_rules(&fx);
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + NOW), SUF_OK);
    CU_ASSERT(scalar(&fx, "SELECT count(*) FROM recipients", NULL) > 0);
    before = sqlite3_total_changes64(fx.st.db);
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + NOW), SUF_OK);
    CU_ASSERT_EQUAL(sqlite3_total_changes64(fx.st.db) - before, 0);
    CU_ASSERT(suf_run_get_count(&fx.run, "plan.fallback") > 0);
    fx_close(&fx);
}

/* What a plan asked SQLite to run: recipients writes, and reads of an
 * attempt row by id (the latest attempt of a recipient the exclusion rules
 * decide). */
struct stmt_counts {
    int recipient_writes, attempt_reads;
};

static int count_stmts(unsigned type, void *ctx, void *p, void *x)
{
    struct stmt_counts *c = ctx;
    const char *text = sqlite3_sql(p);
    (void)x;
    if (type != SQLITE_TRACE_PROFILE || !text)
        return 0;
    if (!strncmp(text, "INSERT INTO recipients", 22))
        c->recipient_writes++;
    if (strstr(text, "FROM attempts WHERE id = ?1"))
        c->attempt_reads++;
    return 0;
}

static struct stmt_counts plan_counting(struct fx *fx, int64_t now)
{
    struct stmt_counts c = {0, 0};
    sqlite3_trace_v2(fx->st.db, SQLITE_TRACE_PROFILE, count_stmts, &c);
    CU_ASSERT_EQUAL(plan_at(fx, now), SUF_OK);
    sqlite3_trace_v2(fx->st.db, 0, NULL, NULL);
    return c;
}

/* Plan reads the campaign's stored rows beside its scan: a rerun sends no
 * unchanged recipient to the store, and reads nothing for a recipient that
 * has a fallback (it keeps it); a recipient whose attempts changed is
 * written, and only it. */
static void test_plan__rerun_skips_unchanged_and_stored_fallbacks(void)
{
    struct fx fx;
    struct stmt_counts c;
    struct att_opts unknown = {"nope", NULL, NULL, 0};
    static const struct att delivered[] = {{1, 0, "delivered", 0}, {0}};
    static const struct att failed_later[] = {{2, 2 * H, "failed", 131049}, {0}};
    static const struct att failed[] = {{1, 0, "failed", 131049}, {0}};
    char got[128], *before, *after;

    fx_open(&fx, "merge.db", NULL);
    add_catalog(&fx);
    add_attempts(&fx, "c", "447700900001", failed, NULL);     /* fallback */
    add_attempts(&fx, "c", "447700900002", delivered, NULL);  /* delivered */
    add_attempts(&fx, "c", "447700900003", failed, &unknown); /* excluded by the rules */
    c = plan_counting(&fx, t0() + 100 * H);
    CU_ASSERT_STRING_EQUAL(outcome_of(&fx, "c", "447700900001", got, sizeof(got)), "fallback");
    CU_ASSERT_STRING_EQUAL(outcome_of(&fx, "c", "447700900003", got, sizeof(got)),
                           "excluded:unknown_template");
    CU_ASSERT(c.recipient_writes > 0);
    before = dump(&fx);
    c = plan_counting(&fx, t0() + 100 * H);
    after = dump(&fx);
    CU_ASSERT_STRING_EQUAL(before, after);
    CU_ASSERT_EQUAL(c.recipient_writes, 0);
    CU_ASSERT_EQUAL(c.attempt_reads, 1); /* the excluded one's; not the fallback's */
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "plan.fallback"), 1);
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "plan.delivered"), 1);
    free(before);
    free(after);
    /* A new attempt changes one recipient (its attempts, not its outcome):
     * it alone is written. */
    add_attempts(&fx, "c", "447700900002", failed_later, NULL);
    add_attempts(&fx, "c", "447700900001", delivered, NULL);
    c = plan_counting(&fx, t0() + 100 * H);
    CU_ASSERT_EQUAL(c.recipient_writes, 1);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT attempts FROM recipients WHERE phone = ?1",
                           "447700900002"),
                    2);
    CU_ASSERT_STRING_EQUAL(outcome_of(&fx, "c", "447700900002", got, sizeof(got)),
                           "delivered");
    /* The stored fallback stays, whatever its attempts say now. */
    CU_ASSERT_STRING_EQUAL(outcome_of(&fx, "c", "447700900001", got, sizeof(got)), "fallback");
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT attempts FROM recipients WHERE phone = ?1",
                           "447700900001"),
                    1);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM fallbacks", NULL), 1);
    fx_close(&fx);
}

/* When a campaign's settings stop its fallbacks (off, not enabled,
 * expired, cancelled), those rules come before any that reads the
 * template: a writing plan decides its recipients without reading their
 * latest attempt, with the reasons and details it always gave. */
static void test_plan__stopped_campaign_reads_no_attempt(void)
{
    struct fx fx;
    struct stmt_counts c;
    char got[128];
    static const struct att failed[] = {{1, 0, "failed", 131049}, {0}};

    fx_open(&fx, "stopped.db", "[plan]\nfallback = off\n");
    add_catalog(&fx);
    add_attempts(&fx, "off", "447700900001", failed, NULL);
    add_campaign(&fx, "off", 0, -1, -1, INT64_MIN, NULL);
    add_attempts(&fx, "unset", "447700900002", failed, NULL);
    add_attempts(&fx, "expired", "447700900003", failed, NULL);
    add_campaign(&fx, "expired", 1, -1, -1, 50 * H, NULL);
    add_attempts(&fx, "on", "447700900004", failed, NULL);
    add_campaign(&fx, "on", 1, -1, -1, INT64_MIN, NULL);
    c = plan_counting(&fx, t0() + 100 * H);
    CU_ASSERT_STRING_EQUAL(outcome_of(&fx, "off", "447700900001", got, sizeof(got)),
                           "excluded:fallback_off");
    CU_ASSERT_STRING_EQUAL(outcome_of(&fx, "unset", "447700900002", got, sizeof(got)),
                           "excluded:fallback_not_enabled");
    CU_ASSERT_STRING_EQUAL(outcome_of(&fx, "expired", "447700900003", got, sizeof(got)),
                           "excluded:campaign_expired");
    CU_ASSERT_STRING_EQUAL(outcome_of(&fx, "on", "447700900004", got, sizeof(got)), "fallback");
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM recipients WHERE phone = ?1 AND detail "
                                "LIKE 'the campaign''s settings do not enable fallback%'",
                           "447700900002"),
                    1);
    /* Only the campaign that lets fallbacks through read its recipient's. */
    CU_ASSERT_EQUAL(c.attempt_reads, 1);
    fx_close(&fx);
}

static const struct att one_failure[] = {{1, 0, "failed", 131049}, {0}};

static void test_plan__later_now_moves_waiting_to_fallback(void)
{
    struct fx fx;
    char got[128];

    fx_open(&fx, "later.db", NULL);
    add_catalog(&fx);
    add_attempts(&fx, "c", "447700900001", one_failure, NULL);
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + 29 * H), SUF_OK);
    CU_ASSERT_STRING_EQUAL(outcome_of(&fx, "c", "447700900001", got, sizeof(got)),
                           "awaiting_retries");
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM fallbacks", NULL), 0);
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + 30 * H), SUF_OK);
    CU_ASSERT_STRING_EQUAL(outcome_of(&fx, "c", "447700900001", got, sizeof(got)), "fallback");
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "plan.new_fallbacks"), 1);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT decided_at FROM recipients", NULL), t0() + 30 * H);
    fx_close(&fx);
}

static void test_plan__new_export_moves_waiting_forward(void)
{
    struct fx fx;
    char got[128];
    static const struct att retry_ok[] = {{2, 24 * H, "delivered", 0}, {0}};
    static const struct att retry_stop[] = {{2, 24 * H, "failed", 131050}, {0}};

    fx_open(&fx, "newexport.db", NULL);
    add_catalog(&fx);
    add_attempts(&fx, "c", "447700900001", one_failure, NULL);
    add_attempts(&fx, "c", "447700900002", one_failure, NULL);
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + 2 * H), SUF_OK);
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "plan.awaiting_retries"), 2);
    add_attempts(&fx, "c", "447700900001", retry_ok, NULL);
    add_attempts(&fx, "c", "447700900002", retry_stop, NULL);
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + 100 * H), SUF_OK);
    CU_ASSERT_STRING_EQUAL(outcome_of(&fx, "c", "447700900001", got, sizeof(got)),
                           "recovered_by_retry");
    CU_ASSERT_STRING_EQUAL(outcome_of(&fx, "c", "447700900002", got, sizeof(got)),
                           "excluded:opted_out");
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT attempts FROM recipients WHERE phone = ?1",
                           "447700900001"),
                    2);
    fx_close(&fx);
}

static void test_plan__fallback_is_never_created_twice_nor_changed(void)
{
    struct fx fx;
    char got[128];
    char *before, *after;
    static const struct att late_ok[] = {{2, 200 * H, "delivered", 0}, {0}};

    fx_open(&fx, "once.db", NULL);
    add_catalog(&fx);
    add_attempts(&fx, "c", "447700900001", one_failure, NULL);
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + 100 * H), SUF_OK);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM fallbacks", NULL), 1);
    before = dump(&fx);
    /* The template changes shape and the recipient gets a new attempt: the
     * fallback, its scenario and its bodies stay as they were. */
    sql(&fx, "UPDATE templates SET json = replace(json, '\"components\":[', "
             "'\"components\":[{\"type\":\"HEADER\",\"format\":\"IMAGE\"},') "
             "WHERE name = 'promo_text'");
    add_attempts(&fx, "c", "447700900001", late_ok, NULL);
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + 300 * H), SUF_OK);
    after = dump(&fx);
    CU_ASSERT_STRING_EQUAL(before, after);
    CU_ASSERT_STRING_EQUAL(outcome_of(&fx, "c", "447700900001", got, sizeof(got)), "fallback");
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM fallbacks", NULL), 1);
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "plan.fallback"), 1);
    free(before);
    free(after);
    fx_close(&fx);
}

/* Rows are written by batches: a row the store refuses, in a full batch or
 * in the last one, still fails the plan with the table's name, and the
 * campaign is rolled back whole. */
static void test_plan__refused_row_fails_the_campaign(void)
{
    static const int at[] = {5, 259};
    struct att_opts hole = {NULL, NULL, "-", 0};
    char phone[32];

    for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
        struct fx fx;
        char trigger[256];

        fx_open(&fx, "refused.db", NULL);
        add_catalog(&fx);
        sql(&fx, "BEGIN");
        for (int i = 0; i < 260; i++) {
            snprintf(phone, sizeof(phone), "4477013%05d", i);
            add_attempts(&fx, "c", phone, one_failure, i % 3 ? NULL : &hole);
        }
        sql(&fx, "COMMIT");
        snprintf(trigger, sizeof(trigger),
                 "CREATE TEMP TRIGGER refuse BEFORE INSERT ON recipients "
                 "WHEN new.phone = '4477013%05d' BEGIN SELECT RAISE(ABORT, 'refused'); END",
                 at[k]);
        sql(&fx, trigger);
        CU_ASSERT_EQUAL(plan_at(&fx, t0() + 100 * H), SUF_ERR_DB);
        CU_ASSERT_PTR_NOT_NULL(strstr(fx.err.msg, "recipients"));
        CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM recipients", NULL), 0);
        CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM fallbacks", NULL), 0);
        CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM sends", NULL), 0);
        sql(&fx, "DROP TRIGGER refuse");
        CU_ASSERT_EQUAL(plan_at(&fx, t0() + 100 * H), SUF_OK);
        CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM recipients", NULL), 260);
        fx_close(&fx);
        remove(suf_test_path("refused.db"));
        remove(suf_test_path("refused.db-wal"));
        remove(suf_test_path("refused.db-shm"));
    }
}

/* Plan builds new fallbacks' messages on a thread of its own, by batches,
 * and finishes them in scan order: over many batches, with holes in the
 * content between them, every eligible recipient gets its fallback, the ids
 * follow the phones with no gap for an excluded one, and each has its
 * inputs and its queued utility row. */
static void test_plan__many_new_fallbacks_keep_scan_order(void)
{
    enum { N = 1001 };
    struct fx fx;
    struct att_opts hole = {NULL, NULL, "-", 0};
    char phone[32], got[128], callback[64];
    int64_t want_id = 0, excluded = 0;

    fx_open(&fx, "many.db", NULL);
    add_catalog(&fx);
    sql(&fx, "BEGIN");
    for (int i = 0; i < N; i++) {
        snprintf(phone, sizeof(phone), "4477011%05d", i);
        add_attempts(&fx, "c", phone, one_failure, i % 7 == 3 ? &hole : NULL);
    }
    sql(&fx, "COMMIT");
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + 100 * H), SUF_OK);
    for (int i = 0; i < N; i++) {
        snprintf(phone, sizeof(phone), "4477011%05d", i);
        outcome_of(&fx, "c", phone, got, sizeof(got));
        if (i % 7 == 3) {
            CU_ASSERT_STRING_EQUAL(got, "excluded:missing_content");
            excluded++;
            continue;
        }
        CU_ASSERT_STRING_EQUAL(got, "fallback");
        want_id++;
        CU_ASSERT_EQUAL(scalar(&fx, "SELECT id FROM fallbacks WHERE phone = ?1", phone), want_id);
        snprintf(callback, sizeof(callback), "suf:%" PRId64 ":u1", want_id);
        CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM sends WHERE callback = ?1 AND "
                                    "state = 'queued'", callback), 1);
    }
    CU_ASSERT_EQUAL(want_id + excluded, N);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM fallbacks", NULL), want_id);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM fallback_inputs", NULL), want_id);
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "plan.new_fallbacks"), want_id);
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "plan.excluded.missing_content"), excluded);
    fx_close(&fx);
}

/* Sums the sorts made by every statement that reads `recipients`. */
static int count_recipient_sorts(unsigned type, void *ctx, void *p, void *x)
{
    const char *text = sqlite3_sql(p);
    (void)x;
    if (type == SQLITE_TRACE_PROFILE && text && strstr(text, "FROM recipients"))
        *(int *)ctx += sqlite3_stmt_status(p, SQLITE_STMTSTATUS_SORT, 0);
    return 0;
}

/* The summary counts stream the campaign's recipients rows: no sort, so no
 * temporary B-tree holding a row per recipient (plan's memory stays flat
 * however many recipients a campaign has). */
static void test_plan__counts_stream_without_sorting(void)
{
    enum { N = 300 };
    struct fx fx;
    char phone[32];
    int sorts = 0;

    fx_open(&fx, "countsort.db", NULL);
    load_rules(&fx);
    sql(&fx, "BEGIN");
    for (int i = 0; i < N; i++) {
        snprintf(phone, sizeof(phone), "4477012%05d", i);
        add_attempts(&fx, "c", phone, one_failure, NULL);
    }
    sql(&fx, "COMMIT");
    sqlite3_trace_v2(fx.st.db, SQLITE_TRACE_PROFILE, count_recipient_sorts, &sorts);
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + NOW), SUF_OK);
    sqlite3_trace_v2(fx.st.db, 0, NULL, NULL);
    CU_ASSERT_EQUAL(sorts, 0);
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "plan.recipients"),
                    scalar(&fx, "SELECT count(*) FROM recipients", NULL));
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "plan.fallback"),
                    scalar(&fx, "SELECT count(*) FROM recipients WHERE outcome = 'fallback'",
                           NULL));
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "plan.excluded.opted_out"),
                    scalar(&fx, "SELECT count(*) FROM recipients WHERE reason = 'opted_out'",
                           NULL));
    fx_close(&fx);
}

static void test_plan__fallback_gets_its_messages(void)
{
    struct fx fx;
    json_t *u, *s;
    int64_t id;
    sqlite3_stmt *st;

    fx_open(&fx, "messages.db", NULL);
    add_catalog(&fx);
    add_attempts(&fx, "winter", "447700900023", one_failure,
                 &(struct att_opts){"promo_qr", NULL, NULL, 0});
    add_attempts(&fx, "winter", "447700900024", one_failure,
                 &(struct att_opts){"promo_image", NULL, NULL, 0});
    sql(&fx, "UPDATE attempts SET header_media_url = 'https://cdn.example/a.jpg' "
             "WHERE template_name = 'promo_image'");
    add_campaign(&fx, "winter", -1, -1, -1, NA, NULL);
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + 100 * H), SUF_OK);
    id = scalar(&fx, "SELECT id FROM fallbacks WHERE phone = ?1", "447700900023");
    CU_ASSERT(id > 0);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT scenario = 'S3' AND state = 'pending' AND "
                                "template_name = 'promo_qr' FROM fallbacks WHERE phone = ?1",
                           "447700900023"),
                    1);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT scenario = 'S8' FROM fallbacks WHERE phone = ?1",
                           "447700900024"),
                    1);
    /* Decisions, not requests: the utility message queued without its
     * bytes, no session part, and the frozen inputs they are built from. */
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT (SELECT group_concat(kind || n || state || body, ',') "
                                "FROM (SELECT s.kind, s.n, s.state, s.body FROM sends s JOIN "
                                "fallbacks f ON f.id = s.fallback_id WHERE f.phone = ?1 ORDER BY "
                                "s.kind DESC, s.n)) = 'u1queued'",
                           "447700900024"),
                    1);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM fallback_inputs", NULL), 2);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM template_versions", NULL), 2);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM message_settings", NULL), 1);
    /* S8 builds two session parts. */
    {
        struct suf_render *r = NULL;
        struct suf_err err = SUF_ERR_INIT;
        char *parts[2], *ubody = NULL;
        size_t nparts = 0;
        int64_t s8 = scalar(&fx, "SELECT id FROM fallbacks WHERE phone = ?1", "447700900024");

        CU_ASSERT_EQUAL_FATAL(suf_render_open(&fx.st, &r, &err), SUF_OK);
        CU_ASSERT_EQUAL(suf_render_session(r, s8, parts, &nparts, &err), SUF_OK);
        CU_ASSERT_EQUAL(nparts, 2);
        for (size_t i = 0; i < nparts; i++)
            free(parts[i]);
        CU_ASSERT_EQUAL(suf_render_utility(r, id, 1, &ubody, &err), SUF_OK);
        u = ubody ? json_loads(ubody, 0, NULL) : NULL;
        free(ubody);
        nparts = 0;
        CU_ASSERT_EQUAL(suf_render_session(r, id, parts, &nparts, &err), SUF_OK);
        CU_ASSERT_EQUAL(nparts, 1);
        s = nparts ? json_loads(parts[0], 0, NULL) : NULL;
        for (size_t i = 0; i < nparts; i++)
            free(parts[i]);
        suf_render_free(r);
    }
    st = suf_store_prepare(&fx.st, "SELECT group_concat(callback) FROM sends WHERE fallback_id = ?1",
                           NULL);
    sqlite3_bind_int64(st, 1, id);
    CU_ASSERT_EQUAL_FATAL(sqlite3_step(st), SQLITE_ROW);
    CU_ASSERT_PTR_NOT_NULL_FATAL(u);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    {
        char want_u[64], want_s[64], want_yes[64], cbs[128];
        const char *cb = (const char *)sqlite3_column_text(st, 0);
        snprintf(want_u, sizeof(want_u), "suf:%" PRId64 ":u1", id);
        snprintf(want_s, sizeof(want_s), "suf:%" PRId64 ":s1", id);
        snprintf(want_yes, sizeof(want_yes), "suf:%" PRId64 ":yes", id);
        snprintf(cbs, sizeof(cbs), "%s", cb ? cb : "");
        CU_ASSERT_STRING_EQUAL(cbs, want_u);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(u, "biz_opaque_callback_data")),
                               want_u);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(s, "biz_opaque_callback_data")),
                               want_s);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(u, "to")), "447700900023");
        CU_ASSERT_STRING_EQUAL(
            json_string_value(json_object_get(json_object_get(u, "template"), "name")),
            "fallback_permission");
        /* The campaign's name fills the permission template's {{1}}. */
        {
            char *text = json_dumps(u, JSON_COMPACT);
            CU_ASSERT_PTR_NOT_NULL(strstr(text, "Winter sale wave 1"));
            CU_ASSERT_PTR_NOT_NULL(strstr(text, want_yes));
            free(text);
        }
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(s, "type")), "interactive");
        {
            char *text = json_dumps(s, JSON_COMPACT);
            CU_ASSERT_PTR_NOT_NULL(strstr(text, "Hi Asha!"));
            free(text);
        }
    }
    json_decref(u);
    json_decref(s);
    sqlite3_finalize(st);
    fx_close(&fx);
}

static void test_plan__campaign_utility_template_overrides_config(void)
{
    struct fx fx;

    fx_open(&fx, "utility.db", FALLBACK_ON "[utility]\nutility_template = fallback_permission\n");
    add_catalog(&fx);
    add_attempts(&fx, "paused", "447700900001", one_failure, NULL);
    add_attempts(&fx, "missing", "447700900001", one_failure, NULL);
    add_attempts(&fx, "fine", "447700900001", one_failure, NULL);
    add_campaign(&fx, "paused", -1, -1, -1, NA, "fallback_permission_paused");
    add_campaign(&fx, "missing", -1, -1, -1, NA, "no_such_permission");
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + 100 * H), SUF_OK);
    /* Planned all the same; the refusal is counted once per campaign. */
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM fallbacks", NULL), 3);
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "plan.permission_template_errors"), 2);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM fallback_inputs i JOIN fallbacks f ON "
                                "f.id = i.fallback_id JOIN message_settings m ON m.id = i.settings "
                                "WHERE f.campaign_id = 'paused' AND "
                                "m.utility_template = 'fallback_permission_paused'",
                           NULL),
                    1);
    fx_close(&fx);
}

/* The permission template as suf last heard of it: a webhook's pause,
 * approval or re-categorisation after the catalog was read decides, for
 * plan's warning as for the send stage's gate (one decision). */
static void test_plan__permission_template_is_read_as_last_heard(void)
{
    struct fx fx;
    const char *why = NULL;
    char buf[400];

    fx_open(&fx, "live.db", FALLBACK_ON "[utility]\nutility_template = fallback_permission\n");
    add_catalog(&fx);
#define CHECK(name)                                                                        \
    CU_ASSERT_EQUAL(suf_permission_check(&fx.st, name, "en_US", fx.cfg.utility_no_button,  \
                                         &why, buf, sizeof(buf), &fx.err),                 \
                    SUF_OK)
    /* the catalog says PAUSED; a later webhook approved it */
    sql(&fx, "UPDATE templates SET live_status = 'APPROVED', live_at = 1795000000"
             " WHERE name = 'fallback_permission_paused'");
    CHECK("fallback_permission_paused");
    CU_ASSERT_PTR_NULL(why);
    /* the catalog says APPROVED; a later webhook paused it */
    sql(&fx, "UPDATE templates SET live_status = 'PAUSED', live_reason = 'FIRST_PAUSE',"
             " live_at = 1795000000 WHERE name = 'fallback_permission'");
    CHECK("fallback_permission");
    CU_ASSERT_PTR_NOT_NULL_FATAL(why);
    CU_ASSERT_STRING_EQUAL(why, "is PAUSED, not APPROVED (since 2026-11-18T11:06:40Z; "
                                "FIRST_PAUSE)");
    add_attempts(&fx, "c", "447700900001", one_failure, NULL);
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + 100 * H), SUF_OK);
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "plan.permission_template_errors"), 1);
    /* approved again, then re-categorised */
    sql(&fx, "UPDATE templates SET live_status = 'APPROVED', live_category = 'MARKETING',"
             " live_reason = NULL WHERE name = 'fallback_permission'");
    CHECK("fallback_permission");
    CU_ASSERT_PTR_NOT_NULL_FATAL(why);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "is in category MARKETING, not UTILITY"));
    sql(&fx, "UPDATE templates SET live_category = 'UTILITY' WHERE name = 'fallback_permission'");
    CHECK("fallback_permission");
    CU_ASSERT_PTR_NULL(why);
    CHECK("no_such_permission");
    CU_ASSERT_PTR_NOT_NULL_FATAL(why);
    CU_ASSERT_STRING_EQUAL(why, "is not in the template catalog");
#undef CHECK
    fx_close(&fx);
}

static void test_plan__eligible_codes_are_configurable(void)
{
    struct fx fx;
    char got[128];
    static const struct att e368[] = {{1, 0, "failed", 368}, {0}};

    fx_open(&fx, "codes.db", FALLBACK_ON "eligible_error_codes = 368\n");
    add_catalog(&fx);
    add_attempts(&fx, "c", "447700900001", e368, NULL);
    add_attempts(&fx, "c", "447700900002", one_failure, NULL);
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + 100 * H), SUF_OK);
    CU_ASSERT_STRING_EQUAL(outcome_of(&fx, "c", "447700900001", got, sizeof(got)), "fallback");
    CU_ASSERT_STRING_EQUAL(outcome_of(&fx, "c", "447700900002", got, sizeof(got)),
                           "excluded:ineligible_error");
    fx_close(&fx);
}

static void test_plan__131026_counts_as_capping_when_configured(void)
{
    struct fx fx;
    char got[128];
    static const struct att e131026[] = {{1, 0, "failed", 131026}, {0}};

    fx_open(&fx, "old.db", FALLBACK_ON "treat_131026_as_capping = on\n");
    add_catalog(&fx);
    add_attempts(&fx, "c", "447700900001", e131026, NULL);
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + 100 * H), SUF_OK);
    CU_ASSERT_STRING_EQUAL(outcome_of(&fx, "c", "447700900001", got, sizeof(got)), "fallback");
    fx_close(&fx);
}

static void test_plan__campaign_filter_plans_only_that_campaign(void)
{
    struct fx fx;

    fx_open(&fx, "filter.db", NULL);
    add_catalog(&fx);
    add_attempts(&fx, "a", "447700900001", one_failure, NULL);
    add_attempts(&fx, "b", "447700900001", one_failure, NULL);
    fx.run.campaign = "b";
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + 100 * H), SUF_OK);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM recipients WHERE campaign_id = ?1", "a"),
                    0);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM recipients WHERE campaign_id = ?1", "b"),
                    1);
    fx.run.campaign = "zzz";
    CU_ASSERT_EQUAL(plan_at(&fx, t0() + 100 * H), SUF_ERR_NOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(fx.err.msg, "'zzz'"));
    fx_close(&fx);
}

static char *explain(struct fx *fx, const char *campaign, const char *phone, int64_t now,
                     int *rc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    suf_clock_init(&fx->run.clock, now);
    suf_err_clear(&fx->err);
    *rc = suf_plan_explain(&fx->run, campaign, phone, out, &fx->err);
    fclose(out);
    return text;
}

/* Fallback applies when it is enabled: with [plan] fallback off (the
 * default), a campaign whose settings do not say (no row, or an empty cell)
 * is excluded as not enabled, apart from one switched off on purpose; with
 * the key on, the same campaigns get their fallbacks.  `plan --explain`
 * names the reason and says how to turn it on. */
static void test_plan__default_off_is_not_enabled(void)
{
    static const struct {
        const char *campaign;
        int fallback; /* its settings row; -2: no row, -1: an empty cell */
        const char *off, *on; /* the outcome with the key off, and on */
    } rows[] = {
        {"no_row", -2, "excluded:fallback_not_enabled", "fallback"},
        {"empty_cell", -1, "excluded:fallback_not_enabled", "fallback"},
        {"set_off", 0, "excluded:fallback_off", "excluded:fallback_off"},
        {"set_on", 1, "fallback", "fallback"},
    };
    static const char *const ini[2] = {"", FALLBACK_ON};
    struct fx fx;
    char got[128], *text;
    int rc;

    for (int key = 0; key < 2; key++) {
        fx_open(&fx, key ? "enabled_on.db" : "enabled_off.db", ini[key]);
        add_catalog(&fx);
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
            add_attempts(&fx, rows[i].campaign, "447700900001", one_failure, NULL);
            if (rows[i].fallback > -2)
                add_campaign(&fx, rows[i].campaign, rows[i].fallback, -1, -1, INT64_MIN, NULL);
        }
        CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + 100 * H), SUF_OK);
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
            const char *want = key ? rows[i].on : rows[i].off;
            outcome_of(&fx, rows[i].campaign, "447700900001", got, sizeof(got));
            if (strcmp(got, want))
                fprintf(stderr, "\n  %s, key %s: got '%s'\n", rows[i].campaign,
                        key ? "on" : "off", got);
            CU_ASSERT_STRING_EQUAL(got, want);
        }
        CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "plan.excluded.fallback_not_enabled"),
                        key ? 0 : 2);
        CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM fallbacks", NULL), key ? 3 : 1);
        fx_close(&fx);
    }
    /* The operator sees why, and how to turn it on, in explain and in the
     * stored detail that `plan --list` prints. */
    fx_open(&fx, "enabled_explain.db", "");
    add_catalog(&fx);
    add_attempts(&fx, "no_row", "447700900001", one_failure, NULL);
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + 100 * H), SUF_OK);
    text = explain(&fx, "no_row", "447700900001", t0() + 100 * H, &rc);
    CU_ASSERT_EQUAL(rc, SUF_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "rule now (as of 2026-11-24T14:00:00Z): "
                                        "excluded:fallback_not_enabled: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "stored outcome: excluded:fallback_not_enabled: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "set fallback to on in its campaign settings, or "
                                        "[plan] fallback = on"));
    free(text);
    fx_close(&fx);
}

static void test_plan__explain_shows_rule_scenario_and_bodies_and_writes_nothing(void)
{
    struct fx fx;
    char *text;
    int rc, changes;
    static const struct att two[] = {{1, 0, "failed", 131049}, {2, 24 * H, "failed", 131049},
                                     {0}};

    fx_open(&fx, "explain.db", NULL);
    add_catalog(&fx);
    add_attempts(&fx, "c", "447700900023", two, &(struct att_opts){"promo_qr", NULL, NULL, 0});
    add_attempts(&fx, "c", "447700900024", one_failure,
                 &(struct att_opts){"order_update", NULL, NULL, 0});
    changes = sqlite3_total_changes(fx.st.db);
    /* Before planning: what the plan will do, and what it will send. */
    text = explain(&fx, "c", "+44 7700 900023", t0() + 100 * H, &rc);
    CU_ASSERT_EQUAL(rc, SUF_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "rule now"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "fallback"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "scenario S3"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"type\": \"interactive\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "fallback_permission"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "attempt 2"));
    free(text);
    CU_ASSERT_EQUAL(sqlite3_total_changes(fx.st.db), changes);
    CU_ASSERT_EQUAL(scalar(&fx, "SELECT count(*) FROM recipients", NULL), 0);
    /* After planning: the stored outcome and the stored bodies. */
    CU_ASSERT_EQUAL_FATAL(plan_at(&fx, t0() + 100 * H), SUF_OK);
    changes = sqlite3_total_changes(fx.st.db);
    text = explain(&fx, "c", "447700900023", t0() + 100 * H, &rc);
    CU_ASSERT_EQUAL(rc, SUF_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "stored outcome: fallback"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "state queued; built from the frozen inputs"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "built when the customer consents"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "bytes: {\"messaging_product\""));
    free(text);
    text = explain(&fx, "c", "447700900024", t0() + 100 * H, &rc);
    CU_ASSERT_EQUAL(rc, SUF_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "excluded:not_marketing"));
    free(text);
    CU_ASSERT_EQUAL(sqlite3_total_changes(fx.st.db), changes);
    text = explain(&fx, "c", "447700900099", t0() + 100 * H, &rc);
    CU_ASSERT_EQUAL(rc, SUF_ERR_NOTFOUND);
    free(text);
    fx_close(&fx);
}

static void test_plan__retry_window_edges(void)
{
    static const struct {
        int64_t attempts, last_at, now, retries, interval_h, grace_h;
        bool waits;
    } rows[] = {
        {1, 0, 30 * H - 1, 3, 24, 6, true},  {1, 0, 30 * H, 3, 24, 6, false},
        {3, 0, 1, 3, 24, 6, true},           {4, 0, 1, 3, 24, 6, false},
        {1, 0, 1, 0, 24, 6, false},          {1, 0, 6 * H - 1, 3, 0, 6, true},
        {1, 0, 6 * H, 3, 0, 6, false},       {2, 100, 100 + 24 * H, 3, 24, 0, false},
    };
    struct suf_config cfg;

    suf_config_init(&cfg);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_plan_facts f = {0};
        struct suf_plan_policy p = {0};
        f.attempts = rows[i].attempts;
        f.last_at = rows[i].last_at;
        p.now = rows[i].now;
        p.max_auto_retries = rows[i].retries;
        p.retry_interval_s = rows[i].interval_h * H;
        p.grace_s = rows[i].grace_h * H;
        p.cfg = &cfg;
        CU_ASSERT_EQUAL(suf_plan_retries_pending(&f, &p), rows[i].waits);
    }
    suf_config_release(&cfg);
}

/* The end of the retries is the edge of the wait: pending just before it,
 * not at it, whatever the interval and grace. */
static void test_plan__retries_end_is_where_waiting_stops(void)
{
    static const struct {
        int64_t last_at, interval_h, grace_h, end;
    } rows[] = {
        {0, 24, 6, 30 * H},
        {100, 24, 0, 100 + 24 * H},
        {1795140000, 0, 6, 1795140000 + 6 * H},
        {1795140000, 0, 0, 1795140000},
    };
    struct suf_config cfg;

    suf_config_init(&cfg);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_plan_facts f = {0};
        struct suf_plan_policy p = {0};

        f.attempts = 1;
        f.last_at = rows[i].last_at;
        p.max_auto_retries = 3;
        p.retry_interval_s = rows[i].interval_h * H;
        p.grace_s = rows[i].grace_h * H;
        p.cfg = &cfg;
        CU_ASSERT_EQUAL(suf_plan_retries_end(&f, &p), rows[i].end);
        p.now = rows[i].end - 1;
        CU_ASSERT(suf_plan_retries_pending(&f, &p));
        p.now = rows[i].end;
        CU_ASSERT(!suf_plan_retries_pending(&f, &p));
    }
    suf_config_release(&cfg);
}

/* A campaign's settings override the config's, key by key; a campaign with
 * no settings row takes the config's. */
static void test_plan__policy_is_the_campaign_over_the_config(void)
{
    struct fx fx;
    struct suf_plan_policy p;

    fx_open(&fx, "policy.db",
            FALLBACK_ON "max_auto_retries = 2\nretry_interval_hours = 12\ngrace_hours = 3\n");
    add_campaign(&fx, "set", 0, 5, 48, 10 * H, NULL);
    add_campaign(&fx, "half", -1, -1, 1, INT64_MIN, NULL);
    CU_ASSERT_EQUAL_FATAL(suf_plan_policy_load(&fx.run, "set", 77, &p, &fx.err), SUF_OK);
    CU_ASSERT_EQUAL(p.now, 77);
    CU_ASSERT(!p.fallback);
    CU_ASSERT(p.fallback_set);
    CU_ASSERT_EQUAL(p.max_auto_retries, 5);
    CU_ASSERT_EQUAL(p.retry_interval_s, 48 * H);
    CU_ASSERT_EQUAL(p.grace_s, 3 * H);
    CU_ASSERT(p.has_valid_until);
    CU_ASSERT_EQUAL(p.valid_until, t0() + 10 * H);
    CU_ASSERT_EQUAL_FATAL(suf_plan_policy_load(&fx.run, "half", 77, &p, &fx.err), SUF_OK);
    CU_ASSERT(p.fallback);
    CU_ASSERT(!p.fallback_set);
    CU_ASSERT_EQUAL(p.max_auto_retries, 2);
    CU_ASSERT_EQUAL(p.retry_interval_s, 1 * H);
    CU_ASSERT(!p.has_valid_until);
    CU_ASSERT_EQUAL_FATAL(suf_plan_policy_load(&fx.run, "none", 77, &p, &fx.err), SUF_OK);
    CU_ASSERT(p.fallback);
    CU_ASSERT(!p.fallback_set);
    CU_ASSERT_EQUAL(p.max_auto_retries, 2);
    CU_ASSERT_EQUAL(p.retry_interval_s, 12 * H);
    CU_ASSERT_EQUAL(p.grace_s, 3 * H);
    fx_close(&fx);
}

/* --- the pure rules, from facts alone (no store) -------------------------------- */

/* One recipient's facts and its campaign's switches, and what the rules say.
 * The policy is the default one: 1 + 3 attempts, 24 h apart, 6 h grace. */
struct fact_row {
    const char *what;
    int64_t attempts, ago_h, code; /* ago_h: the last attempt, hours before now */
    bool first_ok, later_ok, failed, opted_out, phone_ok, known, marketing;
    int scenario;
    int off;     /* 1: the settings say fallback off, 0: on; or UNSET_OFF, UNSET_ON */
    bool expired; /* now past valid_until */
    bool settled_by_attempts; /* step 1 decides: the template is never read */
    enum suf_outcome outcome;
    enum suf_reason reason;
    const char *detail;
};

#define O(x) SUF_OUTCOME_##x
#define R(x) SUF_REASON_##x
/* The campaign's settings do not say, and [plan] fallback is off, or on. */
#define UNSET_OFF 2
#define UNSET_ON 3
#define NOT_ENABLED_DETAIL                                                                       \
    "the campaign's settings do not enable fallback and [plan] fallback is off: set fallback "   \
    "to on in its campaign settings, or [plan] fallback = on"

static const struct fact_row fact_rows[] = {
    /* what, attempts, ago_h, code, first_ok, later_ok, failed, opted_out, phone_ok, known,
     * marketing, scenario, off, expired -> settled_by_attempts, outcome, reason, detail */
    {"all rules pass", 4, 99, 131049, 0, 0, 1, 0, 1, 1, 1, 3, 0, 0, 0, O(FALLBACK), R(NONE), ""},
    {"first delivered", 1, 99, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, O(DELIVERED), R(NONE), ""},
    {"retry delivered", 2, 99, 131049, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, O(RECOVERED), R(NONE),
     ""},
    {"in flight", 2, 99, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, O(IN_FLIGHT), R(NONE), ""},
    {"retries left", 1, 1, 131049, 0, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, O(AWAITING), R(NONE),
     "auto-retries not over: 1 of 4 attempts; waits until 1970-01-06T09:00:00Z"},
    {"fallback off", 4, 99, 131049, 0, 0, 1, 0, 1, 1, 1, 3, 1, 0, 0, O(EXCLUDED),
     R(FALLBACK_OFF), ""},
    {"expired", 4, 99, 131049, 0, 0, 1, 0, 1, 1, 1, 3, 0, 1, 0, O(EXCLUDED),
     R(CAMPAIGN_EXPIRED), ""},
    {"unknown template", 4, 99, 131049, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, O(EXCLUDED),
     R(UNKNOWN_TEMPLATE), "template detail"},
    {"not marketing", 4, 99, 131049, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, O(EXCLUDED),
     R(NOT_MARKETING), "template detail"},
    {"unsupported", 4, 99, 131049, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, O(EXCLUDED),
     R(UNSUPPORTED_TEMPLATE), "template detail"},
    {"opted out", 4, 99, 131049, 0, 0, 1, 1, 1, 1, 1, 3, 0, 0, 0, O(EXCLUDED), R(OPTED_OUT), ""},
    {"131050 last", 4, 99, 131050, 0, 0, 1, 0, 1, 1, 1, 3, 0, 0, 0, O(EXCLUDED), R(OPTED_OUT),
     ""},
    {"131026", 4, 99, 131026, 0, 0, 1, 0, 1, 1, 1, 3, 0, 0, 0, O(EXCLUDED), R(UNDELIVERABLE),
     ""},
    {"368", 4, 99, 368, 0, 0, 1, 0, 1, 1, 1, 3, 0, 0, 0, O(EXCLUDED), R(INELIGIBLE_ERROR),
     "error 368"},
    {"no code", 4, 99, 0, 0, 0, 1, 0, 1, 1, 1, 3, 0, 0, 0, O(EXCLUDED), R(INELIGIBLE_ERROR),
     "no error code"},
    {"invalid phone", 4, 99, 131049, 0, 0, 1, 0, 0, 1, 1, 3, 0, 0, 0, O(EXCLUDED),
     R(INVALID_PHONE), ""},
    {"off and unknown: the first rule", 4, 99, 131049, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0,
     O(EXCLUDED), R(FALLBACK_OFF), ""},
    /* No setting: the config's default decides, and off says how to enable. */
    {"no setting, config off", 4, 99, 131049, 0, 0, 1, 0, 1, 1, 1, 3, UNSET_OFF, 0, 0,
     O(EXCLUDED), R(FALLBACK_NOT_ENABLED), NOT_ENABLED_DETAIL},
    {"no setting, config on", 4, 99, 131049, 0, 0, 1, 0, 1, 1, 1, 3, UNSET_ON, 0, 0,
     O(FALLBACK), R(NONE), ""},
    {"no setting, config off, expired: the first rule", 4, 99, 131049, 0, 0, 1, 0, 1, 1, 1, 3,
     UNSET_OFF, 1, 0, O(EXCLUDED), R(FALLBACK_NOT_ENABLED), NOT_ENABLED_DETAIL},
    {"no setting, config on, expired", 4, 99, 131049, 0, 0, 1, 0, 1, 1, 1, 3, UNSET_ON, 1, 0,
     O(EXCLUDED), R(CAMPAIGN_EXPIRED), ""},
    {"no setting, config off, delivered", 1, 99, 0, 1, 0, 0, 0, 1, 0, 0, 0, UNSET_OFF, 0, 1,
     O(DELIVERED), R(NONE), ""},
};

#undef O
#undef R
#undef NOT_ENABLED_DETAIL

static void test_plan__rules_decide_from_facts_without_a_store(void)
{
    struct suf_config cfg;

    suf_config_init(&cfg);
    for (size_t i = 0; i < sizeof(fact_rows) / sizeof(fact_rows[0]); i++) {
        const struct fact_row *r = &fact_rows[i];
        struct suf_plan_facts f = {0};
        struct suf_plan_policy p = {0};
        enum suf_outcome step1 = SUF_OUTCOME_COUNT, got;
        enum suf_reason reason = SUF_REASON_COUNT;
        char detail[512];

        p.now = 100 * H;
        p.fallback = r->off == 0 || r->off == UNSET_ON;
        p.fallback_set = r->off < UNSET_OFF;
        p.has_valid_until = r->expired;
        p.valid_until = p.now - 1;
        p.max_auto_retries = 3;
        p.retry_interval_s = 24 * H;
        p.grace_s = 6 * H;
        p.cfg = &cfg;
        f.attempts = r->attempts;
        f.first_ok = r->first_ok;
        f.later_ok = r->later_ok;
        f.last_failed = r->failed;
        f.last_at = p.now - r->ago_h * H;
        f.last_error = r->code;
        f.opted_out = r->opted_out;
        f.phone_valid = r->phone_ok;
        f.template_known = r->known;
        f.template_marketing = r->marketing;
        f.scenario = r->scenario;
        f.template_detail = "template detail";
        got = suf_plan_decide(&f, &p, &reason);
        suf_plan_detail(&f, &p, got, reason, detail, sizeof(detail));
        if (got != r->outcome || reason != r->reason || strcmp(detail, r->detail))
            fprintf(stderr, "\n  %s: got %s:%s '%s'\n", r->what, suf_plan_outcome_name(got),
                    suf_plan_reason_name(reason), detail);
        CU_ASSERT_EQUAL(got, r->outcome);
        CU_ASSERT_EQUAL(reason, r->reason);
        CU_ASSERT_STRING_EQUAL(detail, r->detail);
        /* The two steps give the same decision, and the first one settles
         * exactly the recipients whose template does not matter. */
        CU_ASSERT_EQUAL(suf_plan_decide_attempts(&f, &p, &step1), r->settled_by_attempts);
        if (r->settled_by_attempts) {
            CU_ASSERT_EQUAL(step1, r->outcome);
        } else {
            reason = SUF_REASON_COUNT;
            CU_ASSERT_EQUAL(suf_plan_decide_rules(&f, &p, &reason), r->outcome);
            CU_ASSERT_EQUAL(reason, r->reason);
        }
    }
    suf_config_release(&cfg);
}

/* What stops a campaign, as status and the run summary say it: a setting
 * of off, no setting with the key off, or valid_until past; the first of
 * them, and nothing when fallback is on and the campaign is current. */
static void test_plan__policy_says_what_stops_a_campaign(void)
{
    static const struct {
        bool fallback, set, expired;
        const char *stopped, *why;
    } rows[] = {
        {1, 1, 0, NULL, ""},
        {1, 0, 0, NULL, ""},
        {0, 1, 1, "off", "fallback is off for this campaign"},
        {0, 0, 1, "not_enabled", "[plan] fallback = on"},
        {1, 0, 1, "expired", "valid_until 1970-01-05T03:59:59Z has passed"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_plan_policy p = {0};
        char why[192];
        const char *got;

        p.now = 100 * H;
        p.fallback = rows[i].fallback;
        p.fallback_set = rows[i].set;
        p.has_valid_until = rows[i].expired;
        p.valid_until = p.now - 1;
        got = suf_plan_policy_stopped(&p, why, sizeof(why));
        if (rows[i].stopped) {
            CU_ASSERT_STRING_EQUAL(got ? got : "(null)", rows[i].stopped);
            CU_ASSERT_PTR_NOT_NULL(strstr(why, rows[i].why));
        } else {
            CU_ASSERT_PTR_NULL(got);
            CU_ASSERT_STRING_EQUAL(why, "");
        }
    }
}

static void test_plan__names_of_outcomes_and_reasons(void)
{
    CU_ASSERT_STRING_EQUAL(suf_plan_outcome_name(SUF_OUTCOME_AWAITING), "awaiting_retries");
    CU_ASSERT_STRING_EQUAL(suf_plan_outcome_name(SUF_OUTCOME_COUNT), "unknown");
    CU_ASSERT_STRING_EQUAL(suf_plan_reason_name(SUF_REASON_NONE), "");
    CU_ASSERT_STRING_EQUAL(suf_plan_reason_name(SUF_REASON_MISSING_CONTENT), "missing_content");
    CU_ASSERT_STRING_EQUAL(suf_plan_reason_name(SUF_REASON_COUNT), "unknown");
    for (int r = SUF_REASON_NONE + 1; r < SUF_REASON_COUNT; r++)
        CU_ASSERT_NOT_EQUAL(suf_plan_reason_name((enum suf_reason)r)[0], '\0');
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"test_plan__every_rule_in_order", test_plan__every_rule_in_order},
        {"test_plan__default_off_is_not_enabled", test_plan__default_off_is_not_enabled},
        {"test_plan__outcome_counts_add_up_to_recipients",
         test_plan__outcome_counts_add_up_to_recipients},
        {"test_plan__rerun_changes_nothing", test_plan__rerun_changes_nothing},
        {"test_plan__rerun_writes_no_row", test_plan__rerun_writes_no_row},
        {"test_plan__rerun_skips_unchanged_and_stored_fallbacks",
         test_plan__rerun_skips_unchanged_and_stored_fallbacks},
        {"test_plan__stopped_campaign_reads_no_attempt",
         test_plan__stopped_campaign_reads_no_attempt},
        {"test_plan__later_now_moves_waiting_to_fallback",
         test_plan__later_now_moves_waiting_to_fallback},
        {"test_plan__new_export_moves_waiting_forward",
         test_plan__new_export_moves_waiting_forward},
        {"test_plan__fallback_is_never_created_twice_nor_changed",
         test_plan__fallback_is_never_created_twice_nor_changed},
        {"test_plan__fallback_gets_its_messages", test_plan__fallback_gets_its_messages},
        {"test_plan__many_new_fallbacks_keep_scan_order",
         test_plan__many_new_fallbacks_keep_scan_order},
        {"test_plan__refused_row_fails_the_campaign", test_plan__refused_row_fails_the_campaign},
        {"test_plan__counts_stream_without_sorting", test_plan__counts_stream_without_sorting},
        {"test_plan__campaign_utility_template_overrides_config",
         test_plan__campaign_utility_template_overrides_config},
        {"test_plan__permission_template_is_read_as_last_heard",
         test_plan__permission_template_is_read_as_last_heard},
        {"test_plan__eligible_codes_are_configurable",
         test_plan__eligible_codes_are_configurable},
        {"test_plan__131026_counts_as_capping_when_configured",
         test_plan__131026_counts_as_capping_when_configured},
        {"test_plan__campaign_filter_plans_only_that_campaign",
         test_plan__campaign_filter_plans_only_that_campaign},
        {"test_plan__explain_shows_rule_scenario_and_bodies_and_writes_nothing",
         test_plan__explain_shows_rule_scenario_and_bodies_and_writes_nothing},
        {"test_plan__retry_window_edges", test_plan__retry_window_edges},
        {"test_plan__retries_end_is_where_waiting_stops",
         test_plan__retries_end_is_where_waiting_stops},
        {"test_plan__policy_is_the_campaign_over_the_config",
         test_plan__policy_is_the_campaign_over_the_config},
        {"test_plan__policy_says_what_stops_a_campaign",
         test_plan__policy_says_what_stops_a_campaign},
        {"test_plan__rules_decide_from_facts_without_a_store",
         test_plan__rules_decide_from_facts_without_a_store},
        {"test_plan__names_of_outcomes_and_reasons", test_plan__names_of_outcomes_and_reasons},
        {NULL, NULL},
    };
    return suf_test_main("plan", tests);
}
