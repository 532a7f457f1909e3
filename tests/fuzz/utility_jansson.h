/*
 * utility_jansson.h: the utility body as suf built it before it wrote the
 * bytes itself: a jansson tree, packed, then dumped compact.  Kept as the
 * reference that the byte writer (suf_utility_text) must match byte for
 * byte: the unit test (test_scenario_utility.c) runs both over tables and
 * generated inputs, the fuzz target (fuzz_utility_bytes.c) over whatever
 * libFuzzer finds.  Frozen: it is the old behaviour, not a second builder
 * to keep up to date.
 *
 * Header-only (static functions) because each fuzz target is one source
 * file; include it once per program.
 */
#ifndef SUF_UTILITY_JANSSON_H
#define SUF_UTILITY_JANSSON_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/utf8.h"
#include "base/util.h"
#include "plan/scenario.h"

static int ref_phone_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static int ref_add_param(json_t *params, const char *value, const char **why)
{
    struct suf_buf b = SUF_BUF_INIT;
    int space = 0, rc = SUF_OK;

    for (const char *s = value ? value : ""; *s; s++) {
        if (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') {
            space = b.len > 0;
            continue;
        }
        if (space)
            suf_buf_addch(&b, ' ');
        space = 0;
        suf_buf_addch(&b, *s);
    }
    if (!b.len) {
        *why = "empty body parameter for the utility template";
        rc = SUF_ERR_INPUT;
    } else if (!suf_utf8_valid(b.buf, b.len)) {
        *why = "utility template parameter is not valid UTF-8";
        rc = SUF_ERR_INPUT;
    } else if (params) {
        json_array_append_new(params, json_pack("{s:s, s:s}", "type", "text", "text", b.buf));
    }
    suf_buf_release(&b);
    return rc;
}

static int ref_utility_params(const char *spec, const char *campaign_name,
                              const char *customer_name, json_t *params, const char **why)
{
    char *copy = suf_xstrdup(spec), *save = NULL;
    int rc = SUF_OK;

    for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        const char *src = suf_trim(tok);

        if (!*src)
            continue;
        if (!strcmp(src, "campaign_name")) {
            rc = ref_add_param(params, campaign_name, why);
        } else if (!strcmp(src, "customer_name")) {
            rc = ref_add_param(params,
                               customer_name && *customer_name ? customer_name : campaign_name,
                               why);
        } else if (!strncmp(src, "text:", 5)) {
            rc = ref_add_param(params, src + 5, why);
        } else {
            *why = "unknown utility parameter source (campaign_name, customer_name, text:...)";
            rc = SUF_ERR_CONFIG;
        }
    }
    free(copy);
    return rc;
}

static json_t *ref_quick_reply(int index, int64_t id, const char *answer)
{
    char idx[8], payload[64];

    snprintf(idx, sizeof(idx), "%d", index);
    snprintf(payload, sizeof(payload), "suf:%" PRId64 ":%s", id, answer);
    return json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}]}", "type", "button", "sub_type",
                     "quick_reply", "index", idx, "parameters", "type", "payload", "payload",
                     payload);
}

static json_t *ref_envelope(const char *to, const char *type, int64_t id, char kind, int n)
{
    json_t *o = json_object();
    char cb[64];

    json_object_set_new(o, "messaging_product", json_string("whatsapp"));
    json_object_set_new(o, "recipient_type", json_string("individual"));
    json_object_set_new(o, "to", json_string(to));
    json_object_set_new(o, "type", json_string(type));
    snprintf(cb, sizeof(cb), "suf:%" PRId64 ":%c%d", id, kind, n);
    json_object_set_new(o, "biz_opaque_callback_data", json_string(cb));
    return o;
}

/* The old suf_utility_build: a tree into *body (body NULL only checks). */
static int ref_utility_build(const struct suf_utility_opts *u, const char *to,
                             const char *campaign_name, const char *customer_name,
                             int64_t fallback_id, int n, json_t **body, const char **why)
{
    json_t *params = NULL, *comps = NULL, *o;
    int rc;

    if (body)
        *body = NULL;
    *why = NULL;
    if (!u->template_name || !*u->template_name || !u->language || !*u->language) {
        *why = "no utility template name or language";
        rc = SUF_ERR_CONFIG;
        goto out;
    }
    if (!ref_phone_ok(to)) {
        *why = "missing or malformed recipient phone";
        rc = SUF_ERR_INPUT;
        goto out;
    }
    if (!suf_utf8_valid(u->template_name, strlen(u->template_name)) ||
        !suf_utf8_valid(u->language, strlen(u->language))) {
        *why = "utility template name or language is not valid UTF-8";
        rc = SUF_ERR_INPUT;
        goto out;
    }
    if (body) {
        params = json_array();
        comps = json_array();
    }
    rc = ref_utility_params(u->params ? u->params : "campaign_name", campaign_name,
                            customer_name, params, why);
    if (rc || !body)
        goto out;
    if (json_array_size(params))
        json_array_append_new(comps, json_pack("{s:s, s:O}", "type", "body", "parameters",
                                               params));
    json_array_append_new(comps, ref_quick_reply(0, fallback_id, "yes"));
    if (u->no_button)
        json_array_append_new(comps, ref_quick_reply(1, fallback_id, "no"));
    o = ref_envelope(to, "template", fallback_id, 'u', n);
    json_object_set_new(o, "template",
                        json_pack("{s:s, s:{s:s, s:s}, s:o}", "name", u->template_name,
                                  "language", "policy", "deterministic", "code", u->language,
                                  "components", comps));
    json_decref(params);
    if (!json_object_get(o, "template")) {
        json_decref(o);
        *why = "utility template name or language is not valid UTF-8";
        return SUF_ERR_INPUT;
    }
    *body = o;
    return SUF_OK;
out:
    json_decref(params);
    json_decref(comps);
    return rc;
}

/*
 * Runs the reference and suf_utility_text (and its check, text NULL) on the
 * same input.  Returns NULL when they agree: the same status, the same
 * reason, and on success the same bytes; else a static description of the
 * first difference.
 */
static const char *ref_utility_compare(const struct suf_utility_opts *u, const char *to,
                                       const char *campaign, const char *customer, int64_t id,
                                       int n)
{
    const char *rwhy = NULL, *why = NULL, *cwhy = NULL, *diff = NULL;
    json_t *ref = NULL;
    char *want = NULL, *got = NULL;
    int rrc = ref_utility_build(u, to, campaign, customer, id, n, &ref, &rwhy);
    int rc = suf_utility_text(u, to, campaign, customer, id, n, &got, &why);
    int crc = suf_utility_text(u, to, campaign, customer, id, n, NULL, &cwhy);

    if (!rrc)
        want = json_dumps(ref, JSON_COMPACT);
    if (rc != rrc || crc != rrc)
        diff = "status differs";
    else if ((why == NULL) != (rwhy == NULL) || (why && strcmp(why, rwhy)) ||
             (cwhy == NULL) != (rwhy == NULL) || (cwhy && strcmp(cwhy, rwhy)))
        diff = "reason differs";
    else if (!rrc && (!want || !got || strcmp(want, got)))
        diff = "bytes differ";
    else if (rrc && got)
        diff = "a refused build left bytes";
    json_decref(ref);
    free(want);
    free(got);
    return diff;
}

#endif /* SUF_UTILITY_JANSSON_H */
