/*
 * test_permission.c: the permission template suf creates (the request's
 * exact bytes from the config, and the config errors that stop it), and
 * ensure's calls over the recording transport: a missing template is
 * looked up then created once; a lost reply is looked up again and the
 * template adopted, never posted twice; a refusal is reported with Meta's
 * words; a dry run only looks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/context.h"
#include "base/log.h"
#include "meta/graph.h"
#include "meta/meta_permission.h"
#include "meta/meta_templates.h"
#include "send/transport.h"
#include "play.h"
#include "testutil.h"

#define NOW INT64_C(1795485600) /* 2026-11-24T02:00:00Z */

static struct suf_config cfg;
static struct suf_store st;
static struct suf_run run;

#define REQUEST                                                                             \
    "{\"name\":\"fallback_permission\",\"language\":\"en_US\",\"category\":\"UTILITY\","    \
    "\"parameter_format\":\"POSITIONAL\",\"components\":[{\"type\":\"BODY\",\"text\":"      \
    "\"You missed a message from {{1}}. Would you like to see it?\",\"example\":"           \
    "{\"body_text\":[[\"Winter sale\"]]}},{\"type\":\"BUTTONS\",\"buttons\":[{\"type\":"     \
    "\"QUICK_REPLY\",\"text\":\"Yes, show me\"},{\"type\":\"QUICK_REPLY\",\"text\":"        \
    "\"No thanks\"}]}]}"

static void set(char **field, const char *value)
{
    free(*field);
    *field = strdup(value);
}

static void test_permission__the_request_is_built_from_the_config(void)
{
    struct suf_err err = SUF_ERR_INIT;
    char *body;

    suf_config_init(&cfg);
    body = suf_meta_permission_request(&cfg, "fallback_permission", "en_US", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_STRING_EQUAL(body, REQUEST);
    free(body);

    /* no "no" button: one quick reply */
    cfg.utility_no_button = false;
    body = suf_meta_permission_request(&cfg, "fallback_permission", "en_US", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_PTR_NULL(strstr(body, "No thanks"));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "Yes, show me"));
    free(body);

    /* two parameters sent, one variable in the body */
    set(&cfg.utility_params, "campaign_name, customer_name");
    CU_ASSERT_PTR_NULL(suf_meta_permission_request(&cfg, "fallback_permission", "en_US", &err));
    CU_ASSERT_EQUAL(err.status, SUF_ERR_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "has 1 variables, but utility_params "
                                           "'campaign_name, customer_name' sends 2 parameters"));

    /* two of each: the examples in order */
    set(&cfg.permission_body, "Hi {{2}}, you missed {{1}}. See it?");
    set(&cfg.permission_example, "Winter sale | Ana");
    body = suf_meta_permission_request(&cfg, "fallback_permission", "en_US", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"body_text\":[[\"Winter sale\",\"Ana\"]]"));
    free(body);

    /* a name Meta does not take */
    memset(&err, 0, sizeof(err));
    CU_ASSERT_PTR_NULL(suf_meta_permission_request(&cfg, "Ask-Permission", "en_US", &err));
    CU_ASSERT_EQUAL(err.status, SUF_ERR_TEMPLATE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "template name 'Ask-Permission' is not one Meta takes"));
    suf_config_release(&cfg);
}

/* --- ensure over the recording transport ---------------------------------------- */


static void count_sleep(void *ctx, int64_t ms)
{
    (void)ctx;
    (void)ms;
}

#define NONE "{\"data\":[],\"paging\":{\"cursors\":{\"before\":\"a\",\"after\":\"a\"}}}"
#define FOUND                                                                               \
    "{\"data\":[{\"name\":\"fallback_permission\",\"language\":\"pt_BR\",\"id\":\"1\","       \
    "\"status\":\"APPROVED\",\"category\":\"UTILITY\"},{\"name\":\"fallback_permission\","   \
    "\"language\":\"en_US\",\"id\":\"1689556908129833\",\"status\":\"PENDING\","             \
    "\"category\":\"UTILITY\",\"components\":[]}]}"
#define CREATED "{\"id\":\"1689556908129833\",\"status\":\"PENDING\",\"category\":\"UTILITY\"}"
#define LOOKUP                                                                              \
    "GET /v23.0/2000000002/message_templates?name=fallback_permission&fields="               \
    "id,name,language,status,category,parameter_format,components,rejected_reason,"        \
    "quality_score,previous_category&limit=100"
#define CREATE "POST /v23.0/2000000002/message_templates"

static struct suf_transport *t;
static struct suf_perm_list list;

/* Runs ensure for fallback_permission (en_US) against `p`. */
static int ensure(struct play *p, bool dry, struct suf_err *err)
{
    static int n;
    struct suf_graph g;
    char name[64];
    const char *const none[] = {NULL};
    int rc;

    suf_config_init(&cfg);
    set(&cfg.waba_id, "2000000002");
    snprintf(name, sizeof(name), "perm_inbox%d", ++n);
    set(&cfg.inbox_templates, suf_test_path(name));
    cfg.graph_rate = 0;
    snprintf(name, sizeof(name), "perm%d.db", n);
    suf_test_store(&st, name);
    memset(&run, 0, sizeof(run));
    run.cfg = &cfg;
    run.store = &st;
    run.id = 1;
    run.dry_run = dry;
    suf_clock_init(&run.clock, NOW);
    CU_ASSERT_EQUAL_FATAL(suf_meta_permission_targets(&run, none, 0, &list, err), SUF_OK);
    CU_ASSERT_EQUAL_FATAL(list.n, 1);
    CU_ASSERT_EQUAL_FATAL(suf_meta_templates_setup(&cfg, err), SUF_OK);
    t = suf_transport_record_new(NULL, play_respond, p);
    suf_graph_init(&g, &run, t);
    g.sleep = count_sleep;
    rc = suf_meta_permission_ensure(&run, &g, &list, err);
    suf_graph_close(&g);
    return rc;
}

static void done(void)
{
    t->close(t);
    suf_perm_list_release(&list);
    json_decref(run.counts);
    suf_store_close(&st);
    suf_config_release(&cfg);
}

static const char *path(size_t i)
{
    const char *s = suf_transport_record_path(t, i);
    return s ? s : "(none)";
}

static int64_t q_int(const char *sql)
{
    int64_t v = -1;
    struct suf_err err = SUF_ERR_INIT;

    suf_store_scalar(&st, sql, NULL, &v, &err);
    return v;
}

static void test_permission__missing_is_looked_up_then_created_once(void)
{
    struct play p = {.status = {200, 200}, .body = {NONE, CREATED}, .n = 2};
    struct suf_err err = SUF_ERR_INIT;

    CU_ASSERT_EQUAL(ensure(&p, false, &err), SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 2);
    CU_ASSERT_STRING_EQUAL(path(0), LOOKUP);
    CU_ASSERT_STRING_EQUAL(path(1), CREATE);
    CU_ASSERT_STRING_EQUAL(suf_transport_record_body(t, 1), REQUEST);
    CU_ASSERT_STRING_EQUAL(list.v[0].action, "created");
    CU_ASSERT_STRING_EQUAL(list.v[0].id, "1689556908129833");
    CU_ASSERT_STRING_EQUAL(list.v[0].status, "PENDING");
    /* the catalog row is what Meta holds now: the request, its id, PENDING */
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM templates WHERE name = 'fallback_permission'"
                          " AND language = 'en_US' AND meta_id = '1689556908129833'"
                          " AND live_status = 'PENDING' AND live_category = 'UTILITY'"
                          " AND json_extract(json, '$.components[1].buttons[1].text') ="
                          " 'No thanks' AND live_at = 1795485600"),
                    1);
    done();
}

static void test_permission__a_lost_reply_is_looked_up_not_posted_again(void)
{
    struct play p = {.status = {200, 503, 200},
                     .body = {NONE,
                      "{\"error\":{\"message\":\"(#2) Service temporarily unavailable\","
                      "\"code\":2,\"is_transient\":true}}",
                      FOUND},
                     .n = 3};
    struct suf_err err = SUF_ERR_INIT;

    CU_ASSERT_EQUAL(ensure(&p, false, &err), SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 3);
    CU_ASSERT_STRING_EQUAL(path(1), CREATE);
    CU_ASSERT_STRING_EQUAL(path(2), LOOKUP);
    CU_ASSERT_STRING_EQUAL(list.v[0].action, "adopted");
    CU_ASSERT_STRING_EQUAL(list.v[0].id, "1689556908129833"); /* the en_US one, not pt_BR */
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM templates WHERE live_status = 'PENDING'"
                          " AND meta_id = '1689556908129833'"),
                    1);
    done();
}

static void test_permission__a_refusal_is_reported_with_metas_words(void)
{
    struct play p = {.status = {200, 400, 200},
                     .body = {NONE,
                      "{\"error\":{\"message\":\"(#100) Invalid parameter\",\"code\":100,"
                      "\"error_user_msg\":\"The body has too many variables\"}}",
                      NONE},
                     .n = 3};
    struct suf_err err = SUF_ERR_INIT;

    CU_ASSERT_EQUAL(ensure(&p, false, &err), SUF_ERR_TEMPLATE);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 3); /* looked again, not posted again */
    CU_ASSERT_STRING_EQUAL(path(2), LOOKUP);
    CU_ASSERT_STRING_EQUAL(list.v[0].action, "failed");
    CU_ASSERT_PTR_NOT_NULL(strstr(list.v[0].error, "POST /v23.0/2000000002/message_templates:"
                                                   " HTTP 400, code 100"));
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM templates"), 0);
    done();
}

static void test_permission__a_dry_run_only_looks(void)
{
    struct play p = {.status = {200}, .body = {NONE}, .n = 1};
    struct suf_err err = SUF_ERR_INIT;

    CU_ASSERT_EQUAL(ensure(&p, true, &err), SUF_OK);
    CU_ASSERT_EQUAL(suf_transport_record_count(t), 1);
    CU_ASSERT_STRING_EQUAL(list.v[0].action, "would create");
    CU_ASSERT_EQUAL(q_int("SELECT count(*) FROM files"), 0);
    done();
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"the request is built from the config",
         test_permission__the_request_is_built_from_the_config},
        {"missing: looked up, then created once",
         test_permission__missing_is_looked_up_then_created_once},
        {"a lost reply is looked up, not posted again",
         test_permission__a_lost_reply_is_looked_up_not_posted_again},
        {"a refusal is reported with Meta's words",
         test_permission__a_refusal_is_reported_with_metas_words},
        {"a dry run only looks", test_permission__a_dry_run_only_looks},
        {NULL, NULL},
    };

    return suf_test_main("permission", tests);
}
