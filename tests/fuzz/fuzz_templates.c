/*
 * fuzz_templates.c: libFuzzer target for template catalog pages.
 *
 * The input is what `suf import templates` reads: a page of Meta's
 * message_templates list ({"data":[...],"paging":...}).  Each input goes
 * through the whole path a catalog entry takes:
 *  1. the templates importer, into a scratch store (rolled back);
 *  2. suf_template_parse on the input itself (a single entry) and on each
 *     entry of "data";
 *  3. suf_scenario_classify, suf_utility_check, and for a supported
 *     template suf_session_build, with content taken from the input's
 *     "suf_content" object when it has one (so the fuzzer can vary it too),
 *     else a default with every hole filled.
 * Every message built is checked against the Cloud API's session-message
 * limits (domain.md section 2): a builder that returns SUF_OK must have made
 * something the API accepts.  A violation aborts, so it is a finding.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/utf8.h"
#include "base/util.h"
#include "import/templates.h"
#include "plan/scenario.h"
#include "fuzz_scratch.h"
#include "base/banned.h"

#define MAX_ENTRIES 32 /* entries of one page built per input: keeps it fast */

static void fail(const char *what, const json_t *part)
{
    char *s = json_dumps(part, JSON_COMPACT | JSON_ENCODE_ANY);

    fprintf(stderr, "fuzz_templates: %s\n%s\n", what, s ? s : "(unprintable)");
    free(s);
    abort();
}

static const char *str_at(const json_t *o, const char *path)
{
    char key[64];
    const char *dot;

    while ((dot = strchr(path, '.')) != NULL) {
        size_t n = (size_t)(dot - path);
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        o = json_object_get(o, key);
        path = dot + 1;
    }
    return json_string_value(json_object_get(o, path));
}

/* The string at `path` has at most `max` characters (absent is fine). */
static void check_len(const json_t *part, const char *path, size_t max)
{
    const char *s = str_at(part, path);
    char what[128];

    if (s && suf_utf8_chars(s) > max) {
        snprintf(what, sizeof(what), "%s has %zu characters, over %zu", path,
                 suf_utf8_chars(s), max);
        fail(what, part);
    }
}

static void check_present(const json_t *part, const char *path)
{
    const char *s = str_at(part, path);
    char what[128];

    if (!s || !*s) {
        snprintf(what, sizeof(what), "%s is missing or empty", path);
        fail(what, part);
    }
}

static void check_buttons(const json_t *part)
{
    const json_t *buttons = json_object_get(
        json_object_get(json_object_get(part, "interactive"), "action"), "buttons");
    size_t n = json_array_size(buttons), i, j;

    if (n < 1 || n > 3)
        fail("interactive button needs 1 to 3 buttons", part);
    for (i = 0; i < n; i++) {
        const json_t *b = json_array_get(buttons, i);
        const char *title = str_at(b, "reply.title"), *id = str_at(b, "reply.id");

        if (!title || !*title || suf_utf8_chars(title) > 20)
            fail("reply title missing or over 20 characters", part);
        if (!id || !*id || suf_utf8_chars(id) > 256)
            fail("reply id missing or over 256 characters", part);
        for (j = 0; j < i; j++)
            if (!strcmp(title, str_at(json_array_get(buttons, j), "reply.title")))
                fail("reply titles are not unique", part);
    }
    check_len(part, "interactive.body.text", 1024);
}

static void check_list(const json_t *part)
{
    const json_t *sections = json_object_get(
        json_object_get(json_object_get(part, "interactive"), "action"), "sections");
    size_t rows = 0, i, j;
    const json_t *sec, *row;

    check_present(part, "interactive.action.button");
    check_len(part, "interactive.action.button", 20);
    check_len(part, "interactive.body.text", 4096);
    if (json_array_size(sections) < 1 || json_array_size(sections) > 10)
        fail("list needs 1 to 10 sections", part);
    json_array_foreach(sections, i, sec) {
        const json_t *r = json_object_get(sec, "rows");
        check_len(sec, "title", 24);
        json_array_foreach(r, j, row) {
            rows++;
            check_present(row, "id");
            check_present(row, "title");
            check_len(row, "id", 200);
            check_len(row, "title", 24);
            check_len(row, "description", 72);
        }
    }
    if (rows < 1 || rows > 10)
        fail("list needs 1 to 10 rows in all", part);
    if (json_object_get(json_object_get(part, "interactive"), "header"))
        check_len(part, "interactive.header.text", 60);
}

/* One session message must be something the Cloud API accepts. */
static void check_part(const json_t *part)
{
    const char *type = str_at(part, "type");
    const char *media[] = {"image", "video", "document"};

    if (!json_is_object(part))
        fail("a part is not an object", part);
    if (!str_at(part, "messaging_product") || strcmp(str_at(part, "messaging_product"), "whatsapp"))
        fail("messaging_product is not whatsapp", part);
    check_present(part, "to");
    check_present(part, "type");
    check_present(part, "biz_opaque_callback_data");
    check_len(part, "biz_opaque_callback_data", 512);
    if (!strcmp(type, "text")) {
        check_present(part, "text.body");
        check_len(part, "text.body", 4096);
        return;
    }
    for (size_t i = 0; i < 3; i++)
        if (!strcmp(type, media[i])) {
            char link[32], caption[32];
            snprintf(link, sizeof(link), "%s.link", media[i]);
            snprintf(caption, sizeof(caption), "%s.caption", media[i]);
            check_present(part, link);
            check_len(part, caption, 1024);
            return;
        }
    if (strcmp(type, "interactive"))
        fail("unknown message type", part);
    check_present(part, "interactive.type");
    check_present(part, "interactive.body.text");
    check_len(part, "interactive.footer.text", 60);
    check_len(part, "interactive.header.text", 60);
    type = str_at(part, "interactive.type");
    if (!strcmp(type, "button")) {
        check_buttons(part);
    } else if (!strcmp(type, "list")) {
        check_list(part);
    } else if (!strcmp(type, "cta_url")) {
        check_present(part, "interactive.action.parameters.display_text");
        check_present(part, "interactive.action.parameters.url");
        check_len(part, "interactive.action.parameters.display_text", 20);
        check_len(part, "interactive.body.text", 1024);
    } else {
        fail("unknown interactive type", part);
    }
}

static void build_one(const struct suf_template *t, int scenario, const struct suf_content *c)
{
    static const struct suf_session_opts opts = {"See options"};
    json_t *parts[2] = {NULL, NULL};
    size_t nparts = 0;
    const char *why = NULL;
    int rc = suf_session_build(t, scenario, c, 42, &opts, parts, &nparts, &why);

    if (rc == SUF_OK) {
        if (nparts < 1 || nparts > 2)
            fail("a build made no part or more than two", NULL);
        for (size_t i = 0; i < nparts; i++)
            check_part(parts[i]);
    } else if (!why || !*why) {
        fprintf(stderr, "fuzz_templates: build failed (%d) without a reason\n", rc);
        abort();
    }
    for (size_t i = 0; i < 2; i++)
        json_decref(parts[i]);
}

/* Parses, classifies and builds one catalog entry (JSON text). */
static void exercise_entry(const char *json, const json_t *content)
{
    struct suf_template t;
    struct suf_err err = SUF_ERR_INIT;
    struct suf_content c;
    const char *why = NULL;
    json_t *vars = json_pack("[ssssssssss]", "Asha", "WINTER20", "3", "4", "5", "6", "7", "8",
                             "9", "10");
    json_t *suffixes = json_pack("[ss]", "item-1", "item-2");
    int scenario;

    if (suf_template_parse(json, &t, &err)) {
        if (!err.msg[0])
            fail("template parse failed without a message", NULL);
        goto out;
    }
    scenario = suf_scenario_classify(&t, &why);
    if (scenario < 0 || scenario > 8)
        fail("scenario out of range", NULL);
    if (scenario == 0 && (!why || !*why))
        fail("unsupported template without a reason", NULL);
    suf_utility_check(&t, 0, &why);
    suf_utility_check(&t, 1, &why);
    if (scenario > 0) {
        memset(&c, 0, sizeof(c));
        c.to = "447700900023";
        c.vars = json_is_array(json_object_get(content, "vars"))
                     ? json_object_get(content, "vars") : vars;
        c.text = json_string_value(json_object_get(content, "text"));
        c.header_media_url = json_is_string(json_object_get(content, "media"))
                                 ? json_string_value(json_object_get(content, "media"))
                                 : "https://cdn.example/m.jpg";
        c.url_suffixes = json_is_array(json_object_get(content, "url_suffixes"))
                             ? json_object_get(content, "url_suffixes") : suffixes;
        c.button_payloads = json_object_get(content, "payloads");
        c.customer_name = json_string_value(json_object_get(content, "name"));
        build_one(&t, scenario, &c);
        /* The same template from the export's rendered text, no variables. */
        c.vars = NULL;
        c.text = c.text ? c.text : "Hi Asha, the rendered body";
        build_one(&t, scenario, &c);
    }
    suf_template_release(&t);
out:
    json_decref(vars);
    json_decref(suffixes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    json_t *root, *entry;
    size_t i;

    fuzz_scratch_import("templates", "templates.json", suf_import_templates, NULL, data, size);
    text = suf_xmalloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    exercise_entry(text, json_object_get(root, "suf_content"));
    json_array_foreach(json_object_get(root, "data"), i, entry) {
        char *one;
        if (i >= MAX_ENTRIES)
            break;
        one = json_dumps(entry, JSON_COMPACT | JSON_ENCODE_ANY);
        if (one)
            exercise_entry(one, json_object_get(root, "suf_content"));
        free(one);
    }
    json_decref(root);
    free(text);
    return 0;
}
