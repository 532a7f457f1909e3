/*
 * test_templates.c: importing Meta's template catalog into the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/config.h"
#include "base/context.h"
#include "import/import.h"
#include "import/templates.h"
#include "plan/scenario.h"
#include "testutil.h"

#define NOW 1795485600 /* 2026-11-24T02:00:00Z */

static int64_t count(struct suf_test_run *fx, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t n = -1;

    if (sqlite3_prepare_v2(fx->st.db, sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

/* The stored JSON of one template, or NULL; the caller frees it. */
static char *stored_json(struct suf_test_run *fx, const char *name)
{
    sqlite3_stmt *s = NULL;
    char *json = NULL;

    if (sqlite3_prepare_v2(fx->st.db, "SELECT json FROM templates WHERE name = ?1", -1, &s,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW)
            json = strdup((const char *)sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    return json;
}

static int import(struct suf_test_run *fx, const char *path, struct suf_err *err)
{
    return suf_import_path(&fx->run, "templates", suf_import_templates, path, NULL, err);
}

/* How many entries a catalog file of the source tree holds, read independently. */
static size_t entries_in(const char *rel)
{
    json_t *root = json_load_file(suf_test_source(rel), 0, NULL);
    size_t n = json_array_size(json_object_get(root, "data"));

    json_decref(root);
    return n;
}

static void test_templates__both_pages_import_every_entry(void)
{
    struct suf_test_run fx;
    struct suf_err err = SUF_ERR_INIT;
    size_t n1 = entries_in("fixtures/templates.json");
    size_t n2 = entries_in("fixtures/templates-page2.json");
    struct suf_template t;
    char *json;

    suf_test_run_open(&fx, "pages.db", NOW);
    CU_ASSERT_TRUE_FATAL(n1 >= 14 && n2 > 0);
    CU_ASSERT_EQUAL(import(&fx, suf_test_source("fixtures/templates.json"), &err), SUF_OK);
    CU_ASSERT_EQUAL(count(&fx, "SELECT count(*) FROM templates"), (int64_t)n1);
    CU_ASSERT_EQUAL(import(&fx, suf_test_source("fixtures/templates-page2.json"), &err), SUF_OK);
    CU_ASSERT_EQUAL(count(&fx, "SELECT count(*) FROM templates"), (int64_t)(n1 + n2));
    CU_ASSERT_EQUAL(count(&fx, "SELECT count(*) FROM templates WHERE name = 'winter_sale'"
                               " AND language = 'en_US' AND status = 'APPROVED'"
                               " AND category = 'MARKETING' AND meta_id IS NOT NULL"
                               " AND file_id IS NOT NULL"),
                    1);
    CU_ASSERT_EQUAL(count(&fx, "SELECT count(*) FROM templates WHERE"
                               " name = 'fallback_permission_paused' AND status = 'PAUSED'"),
                    1);
    /* the stored JSON is the entry, compact, and parses back */
    json = stored_json(&fx, "winter_sale");
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    CU_ASSERT_PTR_NULL(strchr(json, '\n'));
    CU_ASSERT_EQUAL(suf_template_parse(json, &t, &err), SUF_OK);
    CU_ASSERT_EQUAL(t.n_quick_reply, 2);
    suf_template_release(&t);
    free(json);
    /* the same file again is a no-op */
    CU_ASSERT_EQUAL(import(&fx, suf_test_source("fixtures/templates.json"), &err), SUF_OK);
    CU_ASSERT_EQUAL(suf_run_get_count(&fx.run, "templates.skipped_files"), 1);
    suf_test_run_close(&fx);
}

static void test_templates__a_newer_page_updates_a_template(void)
{
    struct suf_test_run fx;
    struct suf_err err = SUF_ERR_INIT;
    char older[1024], newer[1024];

    suf_test_run_open(&fx, "update.db", NOW);
    snprintf(older, sizeof(older), "%s", suf_test_write(
        "older.json", "{\"data\":[{\"name\":\"fallback_permission\",\"language\":\"en_US\","
                      "\"status\":\"APPROVED\",\"category\":\"UTILITY\",\"id\":\"1\","
                      "\"components\":[]}]}"));
    snprintf(newer, sizeof(newer), "%s", suf_test_write(
        "newer.json", "{\"data\":[{\"name\":\"fallback_permission\",\"language\":\"en_US\","
                      "\"status\":\"APPROVED\",\"category\":\"MARKETING\",\"id\":\"1\","
                      "\"components\":[]}],\"paging\":{}}"));
    CU_ASSERT_EQUAL(import(&fx, older, &err), SUF_OK);
    CU_ASSERT_EQUAL(import(&fx, newer, &err), SUF_OK);
    CU_ASSERT_EQUAL(count(&fx, "SELECT count(*) FROM templates"), 1);
    CU_ASSERT_EQUAL(count(&fx, "SELECT count(*) FROM templates WHERE category = 'MARKETING'"),
                    1);
    suf_test_run_close(&fx);
}

static void test_templates__bad_entries_are_rejected_and_the_rest_imported(void)
{
    struct suf_test_run fx;
    struct suf_err err = SUF_ERR_INIT;
    char path[1024];

    suf_test_run_open(&fx, "bad.db", NOW);
    snprintf(path, sizeof(path), "%s", suf_test_write(
        "bad-entries.json",
        "{\"data\":[{\"name\":\"ok_one\",\"language\":\"en_US\",\"components\":[]},"
        "{\"language\":\"en_US\"},{\"name\":\"no_language\"},42,"
        "{\"name\":\"ok_two\",\"language\":\"pt_BR\",\"status\":\"APPROVED\"}]}"));
    CU_ASSERT_EQUAL(import(&fx, path, &err), SUF_OK);
    CU_ASSERT_EQUAL(count(&fx, "SELECT count(*) FROM templates"), 2);
    CU_ASSERT_EQUAL(count(&fx, "SELECT count(*) FROM rejects"), 3);
    CU_ASSERT_EQUAL(count(&fx, "SELECT count(*) FROM rejects WHERE reason LIKE '%data[1]%name%'"),
                    1);
    CU_ASSERT_EQUAL(
        count(&fx, "SELECT count(*) FROM rejects WHERE reason LIKE '%data[2]%language%'"), 1);
    CU_ASSERT_EQUAL(count(&fx, "SELECT count(*) FROM rejects WHERE reason LIKE '%data[3]%'"), 1);
    CU_ASSERT_EQUAL(count(&fx, "SELECT rows FROM files"), 5);
    CU_ASSERT_EQUAL(count(&fx, "SELECT rejects FROM files"), 3);
    suf_test_run_close(&fx);
}

static void test_templates__a_file_that_is_not_a_catalog_is_an_input_error(void)
{
    static const struct {
        const char *name, *text, *msg;
    } rows[] = {
        {"not-json.json", "campaign_id,phone\n1,2\n", "not-json.json:1: not a template catalog"},
        {"truncated.json", "{\"data\":[\n{\"name\":\"x\",\n", "truncated.json:3:"},
        {"no-data.json", "{\"paging\":{}}", "no \"data\" array"},
        {"data-object.json", "{\"data\":{}}", "no \"data\" array"},
        {"array.json", "[]", "no \"data\" array"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_test_run fx;
        struct suf_err err = SUF_ERR_INIT;
        const char *path;
        char db[64];

        snprintf(db, sizeof(db), "notjson%zu.db", i);
        suf_test_run_open(&fx, db, NOW);
        path = suf_test_write(rows[i].name, rows[i].text);
        CU_ASSERT_EQUAL(import(&fx, path, &err), SUF_ERR_INPUT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, rows[i].msg));
        if (!strstr(err.msg, rows[i].msg))
            fprintf(stderr, "\nmessage: %s\n", err.msg);
        CU_ASSERT_EQUAL(count(&fx, "SELECT count(*) FROM templates"), 0);
        CU_ASSERT_EQUAL(count(&fx, "SELECT count(*) FROM files"), 0);
        suf_test_run_close(&fx);
    }
}

static const struct suf_test tests[] = {
    {"pages", test_templates__both_pages_import_every_entry},
    {"update", test_templates__a_newer_page_updates_a_template},
    {"bad entries", test_templates__bad_entries_are_rejected_and_the_rest_imported},
    {"not a catalog", test_templates__a_file_that_is_not_a_catalog_is_an_input_error},
    {NULL, NULL},
};

int main(void)
{
    return suf_test_main("templates", tests);
}
