/*
 * fuzz_scenario.c: arbitrary bytes as a template entry, through parsing,
 * classification and every builder; and as a title to cut and as callback
 * data to parse.
 *
 * The invariants checked (abort() on failure, which libFuzzer reports):
 * what the builders return is valid UTF-8 within the limits that a title
 * cut must keep, and a refused build leaves nothing behind.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/utf8.h"
#include "base/util.h"
#include "plan/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every reply title of a built body is at most `max` characters. */
static void check_titles(const json_t *body)
{
    const json_t *action = json_object_get(json_object_get(body, "interactive"), "action");
    const json_t *b, *sec, *row;
    size_t i, j;

    json_array_foreach(json_object_get(action, "buttons"), i, b) {
        const char *t = json_string_value(json_object_get(json_object_get(b, "reply"), "title"));
        if (!t || suf_utf8_chars(t) > 20)
            abort();
    }
    json_array_foreach(json_object_get(action, "sections"), i, sec)
        json_array_foreach(json_object_get(sec, "rows"), j, row) {
            const char *t = json_string_value(json_object_get(row, "title"));
            if (!t || suf_utf8_chars(t) > 24)
                abort();
        }
}

static void build_all(const struct suf_template *t)
{
    json_t *vars = json_pack("[s,s,s]", "Ann", "X1", "three");
    json_t *suffixes = json_pack("[s,s]", "s1", "s2");
    struct suf_content c = {"919800000001", vars, "Rendered body", "https://cdn.example/a.pdf",
                            suffixes, NULL, "Ann"};
    const struct suf_session_opts opts = {"See options"};
    const char *why = NULL;

    for (int s = 0; s <= 9; s++) {
        json_t *parts[2] = {NULL, NULL};
        size_t n = 7;
        int rc = suf_session_build(t, s, &c, 1, &opts, parts, &n, &why);

        if (rc && (n || parts[0] || parts[1] || !why))
            abort();
        for (size_t i = 0; i < n; i++) {
            char *text = json_dumps(parts[i], JSON_COMPACT);
            if (!text || !suf_utf8_valid(text, strlen(text)))
                abort();
            check_titles(parts[i]);
            free(text);
            json_decref(parts[i]);
        }
    }
    json_decref(vars);
    json_decref(suffixes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = suf_xstrndup((const char *)data, size);
    struct suf_template t;
    struct suf_err err = SUF_ERR_INIT;
    const char *why = NULL;
    int64_t id;
    char what[4];
    int n;

    if (suf_utf8_valid(text, strlen(text))) {
        for (size_t max = 0; max < 30; max += 7) {
            char *cut = suf_utf8_cut(text, max);
            if (!suf_utf8_valid(cut, strlen(cut)) || suf_utf8_chars(cut) > max)
                abort();
            free(cut);
        }
    }
    suf_callback_parse(text, &id, what, &n);
    if (suf_template_parse(text, &t, &err) == SUF_OK) {
        int s = suf_scenario_classify(&t, &why);
        if (s < 0 || s > 8 || (s == 0 && !why))
            abort();
        build_all(&t);
        suf_utility_check(&t, 1, &why);
        suf_template_release(&t);
    }
    free(text);
    return 0;
}
