/*
 * test_scenario.c: templates, scenarios and the bodies built for them.
 *
 * Golden tests build each scenario from a template of the fixture catalog
 * and compare the result, structurally, with a hand-written body in
 * tests/data/scenario/.  The other tests are tables of edge rows: button
 * counts, headers, long bodies, multibyte titles, holes in the content,
 * callback data.
 *
 * With SUF_SCENARIO_DUMP=<file> set, every body built here is appended to
 * that file as one JSON line, for the schema check (tests/schema/).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/utf8.h"
#include "base/util.h"
#include "plan/scenario.h"
#include "testutil.h"

#define ELLIPSIS "\xe2\x80\xa6"

static FILE *dump;

static void dump_body(const json_t *body)
{
    char *line;

    if (!dump)
        return;
    line = json_dumps(body, JSON_COMPACT);
    if (line)
        fprintf(dump, "%s\n", line);
    free(line);
}

/* The entry `name` of a catalog file of the source tree, as JSON text. */
static char *catalog_entry(const char *file, const char *name)
{
    json_error_t jerr;
    json_t *root = json_load_file(suf_test_source(file), 0, &jerr), *e;
    char *text = NULL;
    size_t i;

    if (!root) {
        fprintf(stderr, "%s: %s\n", file, jerr.text);
        return NULL;
    }
    json_array_foreach(json_object_get(root, "data"), i, e)
        if (!text && !strcmp(json_string_value(json_object_get(e, "name")), name))
            text = json_dumps(e, JSON_COMPACT);
    json_decref(root);
    return text;
}

static int load_template(const char *file, const char *name, struct suf_template *t)
{
    struct suf_err err = SUF_ERR_INIT;
    char *text = catalog_entry(file, name);
    int rc;

    memset(t, 0, sizeof(*t));
    if (!text) {
        fprintf(stderr, "no template '%s' in %s\n", name, file);
        return -1;
    }
    rc = suf_template_parse(text, t, &err);
    free(text);
    if (rc)
        fprintf(stderr, "%s: %s\n", name, err.msg);
    return rc;
}

/* Both results of a builder are the same: the same status and the same
 * reason (both static text, or both none). */
static void same_verdict(int rc, const char *why, int check_rc, const char *check_why)
{
    CU_ASSERT_EQUAL(check_rc, rc);
    CU_ASSERT_TRUE((!why && !check_why) || (why && check_why && !strcmp(why, check_why)));
}

/* The session builder for scenario `scenario`, checked first: the check
 * (parts NULL) must give the build's verdict and make nothing. */
static int session_build(const struct suf_template *t, int scenario, const struct suf_content *c,
                         int64_t id, const struct suf_session_opts *opts, json_t *parts[2],
                         size_t *n, const char **why)
{
    const char *check_why = NULL;
    size_t check_n = 7;
    int check_rc = suf_session_build(t, scenario, c, id, opts, NULL, &check_n, &check_why);
    int rc = suf_session_build(t, scenario, c, id, opts, parts, n, why);

    same_verdict(rc, *why, check_rc, check_why);
    CU_ASSERT_EQUAL(check_n, 0);
    return rc;
}

/* The utility builder, checked first in the same way. */
static int utility_build(const struct suf_utility_opts *u, const char *to, const char *campaign,
                         const char *customer, int64_t id, int n, json_t **body, const char **why)
{
    const char *check_why = NULL;
    int check_rc = suf_utility_build(u, to, campaign, customer, id, n, NULL, &check_why);
    int rc = suf_utility_build(u, to, campaign, customer, id, n, body, why);

    same_verdict(rc, *why, check_rc, check_why);
    return rc;
}

/* Classifies `t`, builds its session message(s) and dumps them. */
static int build(const struct suf_template *t, const struct suf_content *c, int64_t id,
                 json_t *parts[2], size_t *n, const char **why)
{
    static const struct suf_session_opts opts = {"See options"};
    const char *cwhy = NULL;
    int scenario = suf_scenario_classify(t, &cwhy);
    int rc = session_build(t, scenario, c, id, &opts, parts, n, why);

    for (size_t i = 0; !rc && i < *n; i++)
        dump_body(parts[i]);
    return rc;
}

static void free_parts(json_t *parts[2], size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(parts[i]);
}

static json_t *jparse(const char *text)
{
    return text ? json_loads(text, 0, NULL) : NULL;
}

/* ---- golden bodies ----------------------------------------------------- */

static const struct golden {
    const char *catalog, *name;
    int scenario;
    int64_t id;
    const char *to, *vars, *media, *suffixes, *payloads, *expected;
} goldens[] = {
    {"fixtures/templates.json", "promo_s1_text", 1, 101, "919812344567",
     "[\"Priya\",\"AUTUMN15\"]", NULL, NULL, NULL, "s1_promo_s1_text.json"},
    {"fixtures/templates-page2.json", "promo_s1_links", 1, 109, "6281234567890",
     "[\"Budi\",\"GIFT10\"]", NULL, NULL, NULL, "s1_promo_s1_links.json"},
    {"fixtures/templates.json", "promo_s2_cta", 2, 102, "5511987654321",
     "[\"Lucas\",\"BF2026\"]", NULL, NULL, NULL, "s2_promo_s2_cta.json"},
    {"fixtures/templates.json", "winter_sale", 3, 42, "447700900023",
     "[\"Asha\",\"WINTER20\"]", NULL, NULL, NULL, "s3_winter_sale.json"},
    {"fixtures/templates.json", "promo_s4_list", 4, 104, "12025550143",
     "[\"Emily\",\"FALL10\"]", NULL, NULL, "[\"CAT_SHOES\",\"CAT_BAGS\"]",
     "s4_promo_s4_list.json"},
    {"fixtures/templates.json", "promo_s5_image", 5, 105, "61412345678",
     "[\"Olivia\",\"LOOK15\"]", "https://cdn.shop.example/lookbook.jpg", NULL, NULL,
     "s5_promo_s5_image.json"},
    {"fixtures/templates.json", "promo_s6_video_cta", 6, 106, "18095550123",
     "[\"Carlos\",\"JACKET25\"]", "https://cdn.shop.example/jacket.mp4",
     "[\"winter-jacket\"]", NULL, "s6_promo_s6_video_cta.json"},
    {"fixtures/templates.json", "promo_s7_document", 7, 107, "447700900123",
     "[\"Oliver\",\"FREESHIP\"]", "https://cdn.shop.example/catalogue/winter-2026.pdf", NULL,
     "[\"YES_CATALOGUE\"]", "s7_promo_s7_document.json"},
    {"fixtures/templates.json", "promo_s8_image_list", 8, 108, "919876543210",
     "[\"Rahul\",\"GIFT10\"]", "https://cdn.shop.example/gifts.png", NULL, NULL,
     "s8_promo_s8_image_list.json"},
};

static void check_golden(const struct golden *g)
{
    struct suf_template t;
    json_t *vars = jparse(g->vars), *suffixes = jparse(g->suffixes);
    json_t *payloads = jparse(g->payloads), *parts[2] = {NULL, NULL}, *expected;
    struct suf_content c = {g->to, vars, NULL, g->media, suffixes, payloads, NULL};
    char path[256];
    const char *why = NULL;
    size_t n = 0;

    snprintf(path, sizeof(path), "tests/data/scenario/%s", g->expected);
    expected = json_load_file(suf_test_source(path), 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(expected);
    CU_ASSERT_EQUAL_FATAL(load_template(g->catalog, g->name, &t), 0);
    CU_ASSERT_EQUAL(suf_scenario_classify(&t, &why), g->scenario);
    CU_ASSERT_EQUAL(build(&t, &c, g->id, parts, &n, &why), SUF_OK);
    if (json_is_array(expected)) {
        CU_ASSERT_EQUAL(n, json_array_size(expected));
        for (size_t i = 0; i < n && i < json_array_size(expected); i++)
            CU_ASSERT_TRUE(json_equal(parts[i], json_array_get(expected, i)));
    } else {
        CU_ASSERT_EQUAL(n, 1);
        CU_ASSERT_TRUE(n >= 1 && json_equal(parts[0], expected));
    }
    if (n && !(json_is_array(expected) ? json_equal(parts[n - 1],
                                                    json_array_get(expected, n - 1))
                                        : json_equal(parts[0], expected))) {
        char *got = json_dumps(parts[n - 1], JSON_INDENT(1) | JSON_SORT_KEYS);
        fprintf(stderr, "\n%s: built\n%s\n", g->expected, got);
        free(got);
    }
    free_parts(parts, n);
    json_decref(expected);
    json_decref(vars);
    json_decref(suffixes);
    json_decref(payloads);
    suf_template_release(&t);
}

static void test_scenario__each_scenario_matches_its_golden_body(void)
{
    for (size_t i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++)
        check_golden(&goldens[i]);
}

static void test_scenario__utility_body_matches_the_permission_example(void)
{
    const struct suf_utility_opts u = {"fallback_permission", "en_US", "campaign_name", 1};
    json_t *body = NULL, *expected =
        json_load_file(suf_test_source("tests/data/scenario/utility_permission.json"), 0, NULL);
    const char *why = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(expected);
    CU_ASSERT_EQUAL(utility_build(&u, "447700900023", "Winter sale wave 1", "Asha", 42, 1,
                                      &body, &why),
                    SUF_OK);
    CU_ASSERT_TRUE(json_equal(body, expected));
    dump_body(body);
    json_decref(body);
    json_decref(expected);
}

/* ---- the utility template ---------------------------------------------- */

static const char *utility_param(const json_t *body, size_t i)
{
    const json_t *comps = json_object_get(json_object_get(body, "template"), "components");
    const json_t *first = json_array_get(comps, 0);

    if (strcmp(json_string_value(json_object_get(first, "type")), "body"))
        return NULL;
    return json_string_value(
        json_object_get(json_array_get(json_object_get(first, "parameters"), i), "text"));
}

static void test_utility__parameters_come_from_the_configured_sources(void)
{
    static const struct {
        const char *params, *customer;
        const char *p0, *p1;
        int rc;
    } rows[] = {
        {"customer_name,campaign_name", "Asha", "Asha", "Winter sale wave 1", SUF_OK},
        {"customer_name", NULL, "Winter sale wave 1", NULL, SUF_OK},
        {"customer_name", "", "Winter sale wave 1", NULL, SUF_OK},
        {"text:Hello there, campaign_name", NULL, "Hello there", "Winter sale wave 1", SUF_OK},
        {"customer_name", "Asha\n  K.\t", "Asha K.", NULL, SUF_OK},
        {"text:", NULL, NULL, NULL, SUF_ERR_INPUT},
        {"shoe_size", NULL, NULL, NULL, SUF_ERR_CONFIG},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct suf_utility_opts u = {"fallback_permission", "en_US", rows[i].params, 0};
        json_t *body = NULL;
        const char *why = NULL;
        int rc = utility_build(&u, "447700900023", "Winter sale wave 1", rows[i].customer,
                                   7, 2, &body, &why);

        CU_ASSERT_EQUAL(rc, rows[i].rc);
        if (rc) {
            CU_ASSERT_PTR_NULL(body);
            CU_ASSERT_PTR_NOT_NULL(why);
            continue;
        }
        dump_body(body);
        CU_ASSERT_STRING_EQUAL(utility_param(body, 0), rows[i].p0);
        if (rows[i].p1) {
            CU_ASSERT_STRING_EQUAL(utility_param(body, 1), rows[i].p1);
        }
        /* no "no" button asked for: the yes button is the last component */
        CU_ASSERT_EQUAL(json_array_size(json_object_get(json_object_get(body, "template"),
                                                        "components")),
                        2);
        CU_ASSERT_STRING_EQUAL(
            json_string_value(json_object_get(body, "biz_opaque_callback_data")), "suf:7:u2");
        json_decref(body);
    }
}

/* Each refusal of the utility builder, the check agreeing (utility_build). */
static void test_utility__empty_campaign_name_is_refused(void)
{
    static const struct {
        struct suf_utility_opts u;
        const char *to, *campaign;
        int rc;
    } rows[] = {
        {{"fallback_permission", "en_US", NULL, 1}, "447700900023", "", SUF_ERR_INPUT},
        {{"fallback_permission", "en_US", NULL, 1}, "+44 7700", "Wave", SUF_ERR_INPUT},
        {{"fallback_\xff", "en_US", NULL, 1}, "447700900023", "Wave", SUF_ERR_INPUT},
        {{"fallback_permission", "", NULL, 1}, "447700900023", "Wave", SUF_ERR_CONFIG},
        {{"fallback_permission", "en_US", "shoe_size", 1}, "447700900023", "Wave",
         SUF_ERR_CONFIG},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_t *body = NULL;
        const char *why = NULL;

        CU_ASSERT_EQUAL(utility_build(&rows[i].u, rows[i].to, rows[i].campaign, NULL, 7, 1, &body,
                                      &why),
                        rows[i].rc);
        CU_ASSERT_PTR_NULL(body);
        CU_ASSERT_PTR_NOT_NULL(why);
    }
}

static void test_utility__check_wants_an_approved_utility_template(void)
{
    static const struct {
        const char *file, *name;
        int no_button, ok;
    } rows[] = {
        {"fixtures/templates.json", "fallback_permission", 1, 1},
        {"fixtures/templates.json", "fallback_permission", 0, 1},
        {"fixtures/templates.json", "fallback_permission_paused", 1, 0},
        {"fixtures/templates.json", "permission_recategorised", 1, 0},
        {"fixtures/templates.json", "order_update", 0, 0},
        {"fixtures/templates.json", "winter_sale", 0, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_template t;
        const char *why = NULL;

        CU_ASSERT_EQUAL_FATAL(load_template(rows[i].file, rows[i].name, &t), 0);
        CU_ASSERT_EQUAL(suf_utility_check(&t, rows[i].no_button, &why) == SUF_OK, rows[i].ok);
        CU_ASSERT_EQUAL(why == NULL, rows[i].ok);
        suf_template_release(&t);
    }
}

/* ---- classification -------------------------------------------------- */

/* A template with the given header format ("" for none) and button counts;
 * quick replies first, then URL buttons, then phone buttons. */
static char *make_template(const char *header, int nqr, int nurl, int nphone, const char *qrtext)
{
    json_t *comps = json_array(), *buttons = json_array(), *e;
    char *text;

    if (*header)
        json_array_append_new(comps, !strcmp(header, "TEXT")
                                         ? json_pack("{s:s,s:s,s:s}", "type", "HEADER",
                                                     "format", "TEXT", "text", "Big news")
                                         : json_pack("{s:s,s:s}", "type", "HEADER", "format",
                                                     header));
    json_array_append_new(comps, json_pack("{s:s,s:s}", "type", "BODY", "text",
                                           "Hi {{1}}, use code {{2}} today."));
    for (int i = 0; i < nqr; i++) {
        char *t = suf_xasprintf("%s %d", qrtext ? qrtext : "Option", i + 1);
        json_array_append_new(buttons, json_pack("{s:s,s:s}", "type", "QUICK_REPLY", "text", t));
        free(t);
    }
    for (int i = 0; i < nurl; i++) {
        char *u = suf_xasprintf("https://shop.example/u%d", i + 1);
        json_array_append_new(buttons,
                              json_pack("{s:s,s:s,s:s}", "type", "URL", "text", "Open", "url", u));
        free(u);
    }
    for (int i = 0; i < nphone; i++)
        json_array_append_new(buttons, json_pack("{s:s,s:s,s:s}", "type", "PHONE_NUMBER", "text",
                                                 "Call us", "phone_number", "+15550100"));
    if (json_array_size(buttons))
        json_array_append_new(comps, json_pack("{s:s,s:O}", "type", "BUTTONS", "buttons", buttons));
    json_decref(buttons);
    e = json_pack("{s:s,s:s,s:s,s:s,s:o}", "name", "t", "language", "en_US", "status",
                  "APPROVED", "category", "MARKETING", "components", comps);
    text = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    return text;
}

static const struct shape {
    const char *header;
    int qr, url, phone, scenario;
} shapes[] = {
    {"", 0, 0, 0, 1},        {"", 0, 1, 0, 2},         {"", 0, 2, 0, 1},
    {"", 0, 3, 0, 0},        {"", 0, 0, 1, 1},         {"", 1, 0, 0, 3},
    {"", 3, 2, 1, 3},        {"", 4, 0, 0, 4},         {"", 10, 0, 0, 4},
    {"", 11, 0, 0, 0},       {"", 4, 2, 1, 4},         {"", 8, 2, 1, 0},
    {"", 0, 0, 2, 0},        {"TEXT", 0, 0, 0, 1},     {"TEXT", 0, 1, 0, 2},
    {"TEXT", 2, 1, 1, 3},    {"TEXT", 5, 0, 0, 4},     {"IMAGE", 0, 0, 0, 5},
    {"IMAGE", 0, 1, 0, 6},   {"IMAGE", 0, 2, 0, 5},    {"IMAGE", 0, 3, 0, 0},
    {"VIDEO", 3, 0, 0, 7},   {"VIDEO", 4, 0, 0, 8},    {"DOCUMENT", 2, 0, 1, 7},
    {"DOCUMENT", 10, 0, 0, 8}, {"DOCUMENT", 11, 0, 0, 0}, {"DOCUMENT", 0, 1, 1, 6},
    {"LOCATION", 0, 0, 0, 0}, {"PRODUCT", 1, 0, 0, 0},
};

static void test_scenario__classification_table(void)
{
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        const struct shape *s = &shapes[i];
        struct suf_template t;
        struct suf_err err = SUF_ERR_INIT;
        char *text = make_template(s->header, s->qr, s->url, s->phone, NULL);
        const char *why = NULL;
        int got;

        CU_ASSERT_EQUAL_FATAL(suf_template_parse(text, &t, &err), SUF_OK);
        got = suf_scenario_classify(&t, &why);
        CU_ASSERT_EQUAL(got, s->scenario);
        if (got != s->scenario)
            fprintf(stderr, "\nshape %zu (%s %d/%d/%d): S%d, want S%d\n", i, s->header, s->qr,
                    s->url, s->phone, got, s->scenario);
        CU_ASSERT_EQUAL(why == NULL, s->scenario != 0);
        free(text);
        suf_template_release(&t);
    }
}

static const char *itype(const json_t *body)
{
    return json_string_value(json_object_get(json_object_get(body, "interactive"), "type"));
}

static size_t count_lines_with(const char *s, const char *needle)
{
    size_t n = 0;

    for (const char *p = s; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* The text the customer reads first: text body, caption or interactive body. */
static const char *main_text(const json_t *body)
{
    const char *type = json_string_value(json_object_get(body, "type"));
    const json_t *o = json_object_get(body, type);

    if (!strcmp(type, "text"))
        return json_string_value(json_object_get(o, "body"));
    if (!strcmp(type, "interactive"))
        return json_string_value(json_object_get(json_object_get(o, "body"), "text"));
    return json_string_value(json_object_get(o, "caption"));
}

/* How many reply buttons ("buttons") or rows of the first section ("rows")
 * an interactive body has. */
static int action_count(const json_t *body, const char *what)
{
    const json_t *action = json_object_get(json_object_get(body, "interactive"), "action");

    if (!strcmp(what, "rows"))
        return (int)json_array_size(
            json_object_get(json_array_get(json_object_get(action, "sections"), 0), "rows"));
    return (int)json_array_size(json_object_get(action, what));
}

static void test_scenario__every_shape_builds_a_body_of_its_kind(void)
{
    json_t *vars = json_pack("[s,s]", "Ann", "CODE5");

    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        const struct shape *s = &shapes[i];
        struct suf_template t;
        struct suf_err err = SUF_ERR_INIT;
        char *text = make_template(s->header, s->qr, s->url, s->phone, NULL);
        struct suf_content c = {"919800000001", vars, NULL, "https://cdn.example/m.pdf",
                                NULL, NULL, NULL};
        json_t *parts[2];
        const json_t *last;
        const char *why = NULL;
        size_t n = 0;
        int urls_in_text;

        CU_ASSERT_EQUAL_FATAL(suf_template_parse(text, &t, &err), SUF_OK);
        free(text);
        if (!s->scenario) {
            CU_ASSERT_EQUAL(build(&t, &c, 5, parts, &n, &why), SUF_ERR_INPUT);
            CU_ASSERT_EQUAL(n, 0);
            CU_ASSERT_PTR_NOT_NULL(why);
            suf_template_release(&t);
            continue;
        }
        CU_ASSERT_EQUAL_FATAL(build(&t, &c, 5, parts, &n, &why), SUF_OK);
        CU_ASSERT_EQUAL(n, s->scenario == 8 ? 2 : 1);
        last = parts[n - 1];
        urls_in_text = (int)count_lines_with(main_text(last), "Open: https://");
        CU_ASSERT_EQUAL((int)count_lines_with(main_text(last), "Call us: +15550100"), s->phone);
        switch (s->scenario) {
        case 1:
        case 5:
            CU_ASSERT_TRUE(suf_streq_fold(json_string_value(json_object_get(last, "type")),
                                          s->scenario == 1 ? "text" : s->header));
            CU_ASSERT_EQUAL(urls_in_text, s->url);
            break;
        case 2:
        case 6:
            CU_ASSERT_STRING_EQUAL(itype(last), "cta_url");
            CU_ASSERT_EQUAL(urls_in_text, 0);
            break;
        case 3:
        case 7:
            CU_ASSERT_STRING_EQUAL(itype(last), "button");
            CU_ASSERT_EQUAL(action_count(last, "buttons"), s->qr);
            CU_ASSERT_EQUAL(urls_in_text, s->url);
            break;
        default:
            CU_ASSERT_STRING_EQUAL(itype(last), "list");
            CU_ASSERT_EQUAL(action_count(last, "rows"), s->qr);
            CU_ASSERT_EQUAL(urls_in_text, s->url);
            break;
        }
        /* a text header is the interactive header, or a bold first line */
        if (!strcmp(s->header, "TEXT")) {
            if (s->scenario == 1) {
                CU_ASSERT_EQUAL(strncmp(main_text(last), "*Big news*\n", 11), 0);
            } else {
                CU_ASSERT_STRING_EQUAL(
                    json_string_value(json_object_get(
                        json_object_get(json_object_get(last, "interactive"), "header"),
                        "text")),
                    "Big news");
            }
        }
        free_parts(parts, n);
        suf_template_release(&t);
    }
    json_decref(vars);
}

static void test_scenario__unsupported_shapes_say_why(void)
{
    static const struct {
        const char *file, *name, *why;
    } rows[] = {
        {"fixtures/templates.json", "promo_carousel", "carousel"},
        {"fixtures/templates.json", "promo_lto", "limited-time offer"},
        {"fixtures/templates-page2.json", "promo_catalog", "catalog button"},
        {"fixtures/templates-page2.json", "promo_mpm", "multi-product button"},
        {"fixtures/templates-page2.json", "promo_flow", "flow button"},
        {"fixtures/templates-page2.json", "promo_location", "header format 'LOCATION'"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_template t;
        const char *why = NULL;

        CU_ASSERT_EQUAL_FATAL(load_template(rows[i].file, rows[i].name, &t), 0);
        CU_ASSERT_EQUAL(suf_scenario_classify(&t, &why), 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(why);
        CU_ASSERT_STRING_EQUAL(why, rows[i].why);
        suf_template_release(&t);
    }
}

static void test_template__parse_reads_meta_components(void)
{
    struct suf_template t;

    CU_ASSERT_EQUAL_FATAL(load_template("fixtures/templates.json", "winter_sale", &t), 0);
    CU_ASSERT_STRING_EQUAL(t.name, "winter_sale");
    CU_ASSERT_STRING_EQUAL(t.language, "en_US");
    CU_ASSERT_STRING_EQUAL(t.status, "APPROVED");
    CU_ASSERT_STRING_EQUAL(t.category, "MARKETING");
    CU_ASSERT_EQUAL(t.header, SUF_HEADER_TEXT);
    CU_ASSERT_STRING_EQUAL(t.header_text, "Winter Sale");
    CU_ASSERT_STRING_EQUAL(t.footer, "Reply STOP to opt out");
    CU_ASSERT_EQUAL(t.nbuttons, 4);
    CU_ASSERT_EQUAL(t.n_quick_reply, 2);
    CU_ASSERT_EQUAL(t.n_url, 1);
    CU_ASSERT_EQUAL(t.n_phone, 1);
    CU_ASSERT_STRING_EQUAL(t.buttons[2].url, "https://shop.example");
    CU_ASSERT_STRING_EQUAL(t.buttons[3].phone, "+919800000000");
    CU_ASSERT_EQUAL(t.unsupported[0], '\0');
    suf_template_release(&t);
    suf_template_release(&t); /* released twice: a zeroed struct is fine */
}

static void test_template__malformed_entries_are_input_errors(void)
{
    static const char *const rows[] = {
        "", "{", "[1,2]", "{\"language\":\"en_US\"}", "{\"name\":\"\"}",
        "{\"name\":\"a\",\"name\":\"b\"}",
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_template t;
        struct suf_err err = SUF_ERR_INIT;

        CU_ASSERT_EQUAL(suf_template_parse(rows[i], &t, &err), SUF_ERR_INPUT);
        CU_ASSERT_NOT_EQUAL(err.msg[0], '\0');
        CU_ASSERT_PTR_NULL(t.name);
    }
}

/* ---- content: holes, long bodies, titles -------------------------------------- */

static void test_scenario__missing_content_names_the_hole(void)
{
    static const struct {
        const char *name, *vars, *text, *media, *suffixes, *why;
    } rows[] = {
        {"winter_sale", "[\"Asha\"]", NULL, NULL, NULL, "missing value for {{2}}"},
        {"winter_sale", "[\"Asha\",\"\"]", NULL, NULL, NULL, "missing value for {{2}}"},
        {"winter_sale", NULL, NULL, NULL, NULL, "missing value for {{1}}"},
        {"promo_s5_image", "[\"A\",\"B\"]", NULL, NULL, NULL, "missing header media link"},
        {"promo_s5_image", "[\"A\",\"B\"]", NULL, "", NULL, "missing header media link"},
        {"promo_s5_image", "[\"A\",\"B\"]", NULL, "ftp://x/y.jpg", NULL,
         "header media link is not an http(s) URL"},
        {"promo_s6_video_cta", "[\"A\",\"B\"]", NULL, "https://cdn.example/v.mp4", NULL,
         "missing URL suffix for button 1"},
        {"promo_s6_video_cta", "[\"A\",\"B\"]", NULL, "https://cdn.example/v.mp4", "[\"\"]",
         "missing URL suffix for button 1"},
        /* the rendered text stands in for missing variables */
        {"winter_sale", "[\"Asha\"]", "Hi Asha, it is on.", NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_template t;
        json_t *vars = jparse(rows[i].vars), *suffixes = jparse(rows[i].suffixes);
        struct suf_content c = {"447700900023", vars, rows[i].text, rows[i].media, suffixes,
                                NULL, NULL};
        json_t *parts[2] = {NULL, NULL};
        const char *why = NULL;
        size_t n = 9;
        int rc;

        CU_ASSERT_EQUAL_FATAL(load_template("fixtures/templates.json", rows[i].name, &t), 0);
        rc = build(&t, &c, 3, parts, &n, &why);
        if (rows[i].why) {
            CU_ASSERT_EQUAL(rc, SUF_ERR_INPUT);
            CU_ASSERT_EQUAL(n, 0);
            CU_ASSERT_PTR_NULL(parts[0]);
            CU_ASSERT_PTR_NOT_NULL_FATAL(why);
            CU_ASSERT_STRING_EQUAL(why, rows[i].why);
        } else {
            CU_ASSERT_EQUAL(rc, SUF_OK);
            CU_ASSERT_EQUAL(n, 1);
            CU_ASSERT_EQUAL(strncmp(main_text(parts[0]), rows[i].text, strlen(rows[i].text)),
                            0);
        }
        free_parts(parts, n);
        json_decref(vars);
        json_decref(suffixes);
        suf_template_release(&t);
    }
}

static void test_scenario__second_url_suffix_is_named_button_2(void)
{
    struct suf_template t;
    json_t *vars = json_pack("[s,s]", "Ann", "X1"), *parts[2];
    struct suf_content c = {"919800000001", vars, NULL, NULL, NULL, NULL, NULL};
    const char *why = NULL;
    size_t n = 0;

    CU_ASSERT_EQUAL_FATAL(load_template("fixtures/templates-page2.json", "promo_s3_poll", &t), 0);
    CU_ASSERT_EQUAL(build(&t, &c, 3, parts, &n, &why), SUF_ERR_INPUT);
    CU_ASSERT_STRING_EQUAL(why, "missing URL suffix for button 2");
    json_decref(vars);
    suf_template_release(&t);
}

/* A body of `chars` characters in paragraphs of about 300. */
static char *long_text(size_t chars)
{
    struct suf_buf b = SUF_BUF_INIT;
    static const char sentence[] = "Our winter range is in store now. ";

    while (b.len < chars) {
        suf_buf_addstr(&b, sentence);
        if (b.len % 300 < sizeof(sentence) - 1 && b.len + 2 < chars)
            suf_buf_addstr(&b, "\n\n");
    }
    b.buf[chars] = '\0';
    b.len = chars;
    return suf_buf_detach(&b);
}

/* Removes white space, to compare texts split at a break. */
static char *squeeze(const char *s)
{
    struct suf_buf b = SUF_BUF_INIT;

    for (; *s; s++)
        if (*s != ' ' && *s != '\n')
            suf_buf_addch(&b, *s);
    return suf_buf_detach(&b);
}

static void test_scenario__long_bodies_split_and_never_cut(void)
{
    static const struct {
        const char *name;
        size_t chars;
        size_t parts; /* 0: refused */
        const char *first_type;
    } rows[] = {
        {"winter_sale", 900, 1, "interactive"},
        {"promo_s2_cta", 1024, 1, "interactive"},
        {"promo_s2_cta", 1025, 2, "interactive"},
        {"winter_sale", 3000, 2, "interactive"},
        {"winter_sale", 1024 + 4096 + 200, 0, NULL},
        {"promo_s5_image", 2000, 2, "image"},
        {"promo_s7_document", 1500, 2, "interactive"},
        {"promo_s1_text", 4000, 1, "text"},
        {"promo_s1_text", 4100, 0, NULL},
        {"promo_s4_list", 4000, 1, "interactive"},
        {"promo_s4_list", 4200, 0, NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_template t;
        char *text = long_text(rows[i].chars);
        struct suf_content c = {"919800000001", NULL, text, "https://cdn.example/a.jpg", NULL,
                                NULL, NULL};
        json_t *parts[2] = {NULL, NULL};
        const char *why = NULL;
        size_t n = 0;
        int rc;

        CU_ASSERT_EQUAL_FATAL(load_template("fixtures/templates.json", rows[i].name, &t), 0);
        rc = build(&t, &c, 11, parts, &n, &why);
        if (!rows[i].parts) {
            CU_ASSERT_EQUAL(rc, SUF_ERR_INPUT);
            CU_ASSERT_PTR_NOT_NULL(why);
        } else {
            CU_ASSERT_EQUAL_FATAL(rc, SUF_OK);
            CU_ASSERT_EQUAL_FATAL(n, rows[i].parts);
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(parts[0], "type")),
                                   rows[i].first_type);
            CU_ASSERT(suf_utf8_chars(main_text(parts[0])) <=
                      (strcmp(rows[i].first_type, "text") && strcmp(rows[i].name, "promo_s4_list")
                           ? 1024u
                           : 4096u));
        }
        if (n == 2) {
            /* every character of the body is sent, in order, across the two parts */
            struct suf_buf all = SUF_BUF_INIT;
            char *a, *b;

            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(parts[1], "type")), "text");
            CU_ASSERT_STRING_EQUAL(
                json_string_value(json_object_get(parts[1], "biz_opaque_callback_data")),
                "suf:11:s2");
            suf_buf_addstr(&all, main_text(parts[0]));
            suf_buf_addstr(&all, main_text(parts[1]));
            a = squeeze(all.buf);
            b = squeeze(text);
            CU_ASSERT_EQUAL(strncmp(a, b, strlen(b)), 0);
            free(a);
            free(b);
            suf_buf_release(&all);
            /* the split falls on a break, not inside a word */
            CU_ASSERT_EQUAL(main_text(parts[0])[strlen(main_text(parts[0])) - 1], '.');
        }
        free_parts(parts, n);
        free(text);
        suf_template_release(&t);
    }
}

static int valid_utf8(const char *s)
{
    return s && suf_utf8_valid(s, strlen(s));
}

static void test_scenario__multibyte_titles_stay_valid_and_unique(void)
{
    struct suf_template t;
    json_t *vars = json_pack("[s,s]", "Ann", "X1"), *suffixes = json_pack("[s,s]", "", "ORD-9");
    struct suf_content c = {"919800000001", vars, NULL, NULL, suffixes, NULL, NULL};
    json_t *parts[2];
    const json_t *buttons, *b;
    const char *why = NULL;
    size_t n = 0, i;

    CU_ASSERT_EQUAL_FATAL(load_template("fixtures/templates-page2.json", "promo_s3_poll", &t), 0);
    CU_ASSERT_EQUAL_FATAL(build(&t, &c, 12, parts, &n, &why), SUF_OK);
    buttons = json_object_get(json_object_get(json_object_get(parts[0], "interactive"), "action"),
                              "buttons");
    CU_ASSERT_EQUAL(json_array_size(buttons), 3);
    json_array_foreach(buttons, i, b) {
        const char *title = json_string_value(json_object_get(json_object_get(b, "reply"), "title"));
        const char *id = json_string_value(json_object_get(json_object_get(b, "reply"), "id"));

        CU_ASSERT_TRUE(valid_utf8(title));
        CU_ASSERT(suf_utf8_chars(title) <= 20);
        CU_ASSERT_STRING_EQUAL(id, t.buttons[i].text); /* the id keeps the whole text */
        if (suf_utf8_chars(t.buttons[i].text) > 20) {
            CU_ASSERT_EQUAL(strcmp(title + strlen(title) - 3, ELLIPSIS), 0);
        }
    }
    CU_ASSERT_TRUE(strstr(main_text(parts[0]), "Track order: https://shop.example/track/ORD-9") !=
                   NULL);
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(
            json_object_get(json_object_get(parts[0], "interactive"), "header"), "text")),
        "\xf0\x9f\x8e\x84 Festive poll");
    free_parts(parts, n);
    json_decref(vars);
    json_decref(suffixes);
    suf_template_release(&t);
}

static void test_scenario__reply_titles_stay_unique_after_the_cut(void)
{
    struct suf_template t;
    struct suf_err err = SUF_ERR_INIT;
    char *text = make_template("", 3, 0, 0, "Show me the winter deals in the shop");
    json_t *vars = json_pack("[s,s]", "Ann", "X1"), *parts[2];
    struct suf_content c = {"919800000001", vars, NULL, NULL, NULL, NULL, NULL};
    const json_t *buttons;
    const char *why = NULL, *t0, *t1, *t2;
    size_t n = 0;

    CU_ASSERT_EQUAL_FATAL(suf_template_parse(text, &t, &err), SUF_OK);
    CU_ASSERT_EQUAL_FATAL(build(&t, &c, 13, parts, &n, &why), SUF_OK);
    buttons = json_object_get(json_object_get(json_object_get(parts[0], "interactive"), "action"),
                              "buttons");
#define TITLE(i) json_string_value(json_object_get(json_object_get(json_array_get(buttons, i), "reply"), "title"))
    t0 = TITLE(0);
    t1 = TITLE(1);
    t2 = TITLE(2);
#undef TITLE
    CU_ASSERT_STRING_NOT_EQUAL(t0, t1);
    CU_ASSERT_STRING_NOT_EQUAL(t1, t2);
    CU_ASSERT_STRING_NOT_EQUAL(t0, t2);
    CU_ASSERT(suf_utf8_chars(t0) <= 20 && suf_utf8_chars(t1) <= 20 && suf_utf8_chars(t2) <= 20);
    free_parts(parts, n);
    json_decref(vars);
    free(text);
    suf_template_release(&t);
}

static void test_scenario__payloads_become_ids_and_duplicates_are_refused(void)
{
    static const struct {
        const char *payloads;
        int rc;
        const char *id0, *id1;
    } rows[] = {
        {NULL, SUF_OK, "Show me deals", "Not now"},
        {"[\"DEALS\"]", SUF_OK, "DEALS", "Not now"},
        {"[\"\",\"LATER\"]", SUF_OK, "Show me deals", "LATER"},
        {"[\"SAME\",\"SAME\"]", SUF_ERR_INPUT, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_template t;
        json_t *vars = json_pack("[s,s]", "Ann", "X1"), *payloads = jparse(rows[i].payloads);
        struct suf_content c = {"919800000001", vars, NULL, NULL, NULL, payloads, NULL};
        json_t *parts[2];
        const json_t *buttons;
        const char *why = NULL;
        size_t n = 0;

        CU_ASSERT_EQUAL_FATAL(load_template("fixtures/templates.json", "winter_sale", &t), 0);
        CU_ASSERT_EQUAL(build(&t, &c, 14, parts, &n, &why), rows[i].rc);
        if (!rows[i].rc) {
            buttons = json_object_get(
                json_object_get(json_object_get(parts[0], "interactive"), "action"), "buttons");
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
                                       json_object_get(json_array_get(buttons, 0), "reply"), "id")),
                                   rows[i].id0);
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
                                       json_object_get(json_array_get(buttons, 1), "reply"), "id")),
                                   rows[i].id1);
        }
        free_parts(parts, n);
        json_decref(vars);
        json_decref(payloads);
        suf_template_release(&t);
    }
}

static void test_scenario__wrong_scenario_or_bad_phone_is_refused(void)
{
    struct suf_template t;
    json_t *vars = json_pack("[s,s]", "Ann", "X1"), *parts[2];
    struct suf_content c = {"919800000001", vars, NULL, NULL, NULL, NULL, NULL};
    const char *why = NULL;
    size_t n = 5;

    CU_ASSERT_EQUAL_FATAL(load_template("fixtures/templates.json", "winter_sale", &t), 0);
    CU_ASSERT_EQUAL(session_build(&t, 4, &c, 1, NULL, parts, &n, &why), SUF_ERR_INPUT);
    CU_ASSERT_EQUAL(n, 0);
    c.to = "+44 7700";
    CU_ASSERT_EQUAL(session_build(&t, 3, &c, 1, NULL, parts, &n, &why), SUF_ERR_INPUT);
    c.to = "919800000001";
    c.text = "bad \xff byte";
    json_decref(vars);
    c.vars = NULL;
    CU_ASSERT_EQUAL(session_build(&t, 3, &c, 1, NULL, parts, &n, &why), SUF_ERR_INPUT);
    suf_template_release(&t);
}

static void test_scenario__list_button_label_is_configurable(void)
{
    struct suf_template t;
    json_t *vars = json_pack("[s,s]", "Ann", "X1"), *parts[2];
    struct suf_content c = {"919800000001", vars, NULL, NULL, NULL, NULL, NULL};
    const struct suf_session_opts opts = {"Choose one of the options below"};
    const char *why = NULL, *label;
    size_t n = 0;

    CU_ASSERT_EQUAL_FATAL(load_template("fixtures/templates.json", "promo_s4_list", &t), 0);
    CU_ASSERT_EQUAL_FATAL(session_build(&t, 4, &c, 1, &opts, parts, &n, &why), SUF_OK);
    label = json_string_value(json_object_get(
        json_object_get(json_object_get(parts[0], "interactive"), "action"), "button"));
    CU_ASSERT_STRING_EQUAL(label, "Choose one of the o" ELLIPSIS);
    dump_body(parts[0]);
    free_parts(parts, n);
    json_decref(vars);
    suf_template_release(&t);
}

/* ---- small functions --------------------------------------------------------- */

static void test_callback__parse_table(void)
{
    static const struct {
        const char *in;
        int ok;
        int64_t id;
        const char *what;
        int n;
    } rows[] = {
        {"suf:42:u1", 1, 42, "u", 1},
        {"suf:42:s2", 1, 42, "s", 2},
        {"suf:9007199254740993:s12", 1, 9007199254740993LL, "s", 12},
        {"suf:42:yes", 1, 42, "yes", 0},
        {"suf:42:no", 1, 42, "no", 0},
        {"suf:42:x1", 0, 0, NULL, 0},
        {"suf:0:u1", 0, 0, NULL, 0},
        {"suf:-1:u1", 0, 0, NULL, 0},
        {"suf:042:u1", 0, 0, NULL, 0},
        {"suf:42:u0", 0, 0, NULL, 0},
        {"suf:42:u", 0, 0, NULL, 0},
        {"suf:42:u1x", 0, 0, NULL, 0},
        {"suf:42:yes ", 0, 0, NULL, 0},
        {"suf:42", 0, 0, NULL, 0},
        {"suf::u1", 0, 0, NULL, 0},
        {"SUF:42:u1", 0, 0, NULL, 0},
        {"suf:99999999999999999999:u1", 0, 0, NULL, 0},
        {"Show me deals", 0, 0, NULL, 0},
        {"", 0, 0, NULL, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int64_t id = -5;
        char what[4] = "";
        int n = -5;
        int rc = suf_callback_parse(rows[i].in, &id, what, &n);

        CU_ASSERT_EQUAL(rc == 0, rows[i].ok);
        if (rc == 0 && rows[i].ok) {
            CU_ASSERT_EQUAL(id, rows[i].id);
            CU_ASSERT_STRING_EQUAL(what, rows[i].what);
            CU_ASSERT_EQUAL(n, rows[i].n);
        }
    }
    CU_ASSERT_EQUAL(suf_callback_parse(NULL, NULL, NULL, NULL), -1);
}

static void test_callback__set_then_parse_round_trips(void)
{
    json_t *body = json_object();
    int64_t id = 0;
    char what[4];
    int n = 0;

    suf_callback_set(body, 77, 's', 3);
    suf_callback_set(body, 77, 'u', 4); /* a resend replaces it */
    CU_ASSERT_EQUAL(suf_callback_parse(json_string_value(json_object_get(
                                           body, "biz_opaque_callback_data")),
                                       &id, what, &n),
                    0);
    CU_ASSERT_EQUAL(id, 77);
    CU_ASSERT_STRING_EQUAL(what, "u");
    CU_ASSERT_EQUAL(n, 4);
    json_decref(body);
}

/* The check (the builders run making no JSON) and the builders agree on
 * every template of the fixture catalogs, with full content and with each
 * hole (session_build compares them): plan excludes for a hole by the
 * check alone. */
static void test_scenario__check_agrees_with_the_builders(void)
{
    static const char *const files[] = {"fixtures/templates.json",
                                        "fixtures/templates-page2.json"};
    static const struct suf_session_opts opts = {"See options"};
    json_t *vars = json_pack("[s,s,s,s,s]", "Ann", "X1", "20%", "Friday", "shop"),
           *suffixes = json_pack("[s,s]", "a1", "b2"), *payloads = json_pack("[s,s,s]", "p", "q", "r"),
           *same = json_pack("[s,s,s]", "p", "p", "p"), *one_var = json_pack("[s]", "Ann");
    size_t checked = 0, refused = 0;

    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        json_t *root = json_load_file(suf_test_source(files[f]), 0, NULL), *e;
        size_t i;

        CU_ASSERT_PTR_NOT_NULL_FATAL(root);
        json_array_foreach(json_object_get(root, "data"), i, e) {
            char *text = json_dumps(e, JSON_COMPACT);
            struct suf_template t;
            struct suf_err err = SUF_ERR_INIT;
            const char *cwhy = NULL;
            int scenario;

            memset(&t, 0, sizeof(t));
            if (suf_template_parse(text, &t, &err)) {
                free(text);
                continue;
            }
            scenario = suf_scenario_classify(&t, &cwhy);
            for (int hole = 0; hole < 7; hole++) {
                struct suf_content c = {"919800000001", vars, NULL, "https://example.com/a.jpg",
                                        suffixes, payloads, "Ann"};
                json_t *parts[2] = {NULL, NULL};
                const char *why = NULL;
                size_t n = 0;
                int rc;

                if (hole == 1)
                    c.vars = NULL;
                else if (hole == 2)
                    c.header_media_url = NULL;
                else if (hole == 3)
                    c.url_suffixes = NULL;
                else if (hole == 4)
                    c.button_payloads = same;
                else if (hole == 5)
                    c.vars = one_var;
                else if (hole == 6)
                    c.to = "12";
                /* The classified scenario, and one it does not fit. */
                for (int k = 0; k < 2; k++) {
                    rc = session_build(&t, k ? scenario % 8 + 1 : scenario, &c, 9, &opts, parts,
                                       &n, &why);
                    checked++;
                    refused += rc != SUF_OK;
                    free_parts(parts, n);
                }
            }
            suf_template_release(&t);
            free(text);
        }
        json_decref(root);
    }
    /* Every fixture template went through, and both verdicts were seen. */
    CU_ASSERT_TRUE(checked >= 2 * 7 * 14);
    CU_ASSERT_TRUE(refused > 0 && refused < checked);
    json_decref(vars);
    json_decref(suffixes);
    json_decref(payloads);
    json_decref(same);
    json_decref(one_var);
}

static const struct suf_test tests[] = {
    {"golden bodies", test_scenario__each_scenario_matches_its_golden_body},
    {"utility golden", test_scenario__utility_body_matches_the_permission_example},
    {"utility params", test_utility__parameters_come_from_the_configured_sources},
    {"utility refusals", test_utility__empty_campaign_name_is_refused},
    {"check agrees with the builders", test_scenario__check_agrees_with_the_builders},
    {"utility check", test_utility__check_wants_an_approved_utility_template},
    {"classification", test_scenario__classification_table},
    {"shapes build", test_scenario__every_shape_builds_a_body_of_its_kind},
    {"unsupported", test_scenario__unsupported_shapes_say_why},
    {"template parse", test_template__parse_reads_meta_components},
    {"template malformed", test_template__malformed_entries_are_input_errors},
    {"missing content", test_scenario__missing_content_names_the_hole},
    {"second url suffix", test_scenario__second_url_suffix_is_named_button_2},
    {"long bodies", test_scenario__long_bodies_split_and_never_cut},
    {"multibyte titles", test_scenario__multibyte_titles_stay_valid_and_unique},
    {"unique titles", test_scenario__reply_titles_stay_unique_after_the_cut},
    {"payload ids", test_scenario__payloads_become_ids_and_duplicates_are_refused},
    {"wrong scenario", test_scenario__wrong_scenario_or_bad_phone_is_refused},
    {"list label", test_scenario__list_button_label_is_configurable},
    {"callback parse", test_callback__parse_table},
    {"callback round trip", test_callback__set_then_parse_round_trips},
    {NULL, NULL},
};

int main(void)
{
    const char *path = getenv("SUF_SCENARIO_DUMP");
    int rc;

    if (path && *path && !(dump = fopen(path, "w"))) {
        perror(path);
        return 2;
    }
    rc = suf_test_main("scenario", tests);
    if (dump && fclose(dump) != 0)
        rc = 2;
    return rc;
}
