/*
 * template.c: reading one entry of Meta's message_templates list into a
 * struct suf_template (see scenario.h).
 *
 * The catalog is what the business approved with Meta; a fallback can only
 * re-deliver what this job knows how to rebuild as a session message.  So
 * parsing is lenient about what it does not use (ids, examples, quality
 * scores) and strict about shapes: every component and button type is
 * either understood or recorded in t->unsupported with a reason the plan
 * shows as `excluded:unsupported_template`.  A template with such a shape
 * still parses, because the plan must tell "unsupported" from "unknown".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/util.h"
#include "plan/scenario.h"
#include "base/banned.h"

/* Returns a copy of the string member `key` of `obj`, or NULL. */
static char *dup_member(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_string(v) ? suf_xstrdup(json_string_value(v)) : NULL;
}

/* Records the first reason a template cannot be reproduced. */
static void set_unsupported(struct suf_template *t, const char *what, const char *type)
{
    if (t->unsupported[0])
        return;
    if (type)
        snprintf(t->unsupported, sizeof(t->unsupported), "%s '%s'", what, type);
    else
        suf_strlcpy(t->unsupported, what, sizeof(t->unsupported));
}

static const struct {
    const char *format;
    enum suf_header_kind kind;
} header_formats[] = {
    {"TEXT", SUF_HEADER_TEXT},
    {"IMAGE", SUF_HEADER_IMAGE},
    {"VIDEO", SUF_HEADER_VIDEO},
    {"DOCUMENT", SUF_HEADER_DOCUMENT},
};

static void parse_header(struct suf_template *t, const json_t *comp)
{
    const char *format = json_string_value(json_object_get(comp, "format"));

    if (t->header != SUF_HEADER_NONE) {
        set_unsupported(t, "more than one header", NULL);
        return;
    }
    t->header = SUF_HEADER_OTHER;
    for (size_t i = 0; format && i < sizeof(header_formats) / sizeof(header_formats[0]); i++)
        if (suf_streq_fold(format, header_formats[i].format))
            t->header = header_formats[i].kind;
    if (t->header == SUF_HEADER_OTHER) {
        set_unsupported(t, "header format", format ? format : "(none)");
        return;
    }
    if (t->header == SUF_HEADER_TEXT) {
        t->header_text = dup_member(comp, "text");
        if (!t->header_text || !*t->header_text)
            set_unsupported(t, "text header without text", NULL);
    }
}

/* Button types this job cannot rebuild, with the words the plan shows. */
static const struct {
    const char *type;
    const char *why;
} unsupported_buttons[] = {
    {"CATALOG", "catalog button"},
    {"MPM", "multi-product button"},
    {"SPM", "single-product button"},
    {"FLOW", "flow button"},
    {"COPY_CODE", "copy-code button"},
    {"OTP", "one-time-password button"},
};

static enum suf_button_kind button_kind(const char *type)
{
    if (suf_streq_fold(type, "QUICK_REPLY"))
        return SUF_BUTTON_QUICK_REPLY;
    if (suf_streq_fold(type, "URL"))
        return SUF_BUTTON_URL;
    if (suf_streq_fold(type, "PHONE_NUMBER"))
        return SUF_BUTTON_PHONE;
    return SUF_BUTTON_OTHER;
}

static void parse_button(struct suf_template *t, const json_t *jb)
{
    struct suf_button *b = &t->buttons[t->nbuttons++];
    const char *type = json_string_value(json_object_get(jb, "type"));

    b->type = suf_xstrdup(type ? type : "");
    b->kind = button_kind(b->type);
    b->text = dup_member(jb, "text");
    switch (b->kind) {
    case SUF_BUTTON_QUICK_REPLY:
        t->n_quick_reply++;
        break;
    case SUF_BUTTON_URL:
        t->n_url++;
        b->url = dup_member(jb, "url");
        if (!b->url || !*b->url)
            set_unsupported(t, "URL button without a URL", NULL);
        break;
    case SUF_BUTTON_PHONE:
        t->n_phone++;
        b->phone = dup_member(jb, "phone_number");
        if (!b->phone || !*b->phone)
            set_unsupported(t, "phone button without a number", NULL);
        break;
    case SUF_BUTTON_OTHER:
        for (size_t i = 0; i < sizeof(unsupported_buttons) / sizeof(unsupported_buttons[0]); i++)
            if (suf_streq_fold(b->type, unsupported_buttons[i].type)) {
                set_unsupported(t, unsupported_buttons[i].why, NULL);
                return;
            }
        set_unsupported(t, "button type", b->type);
        return;
    }
    if (!b->text || !*b->text)
        set_unsupported(t, "button without text", NULL);
}

static void parse_buttons(struct suf_template *t, const json_t *comp)
{
    const json_t *arr = json_object_get(comp, "buttons");
    size_t i;
    const json_t *jb;

    if (!json_is_array(arr) || t->buttons) {
        set_unsupported(t, t->buttons ? "more than one buttons component"
                                      : "buttons component without buttons", NULL);
        return;
    }
    t->buttons = suf_xcalloc(json_array_size(arr) + 1, sizeof(*t->buttons));
    json_array_foreach(arr, i, jb) {
        if (!json_is_object(jb)) {
            set_unsupported(t, "button that is not an object", NULL);
            continue;
        }
        parse_button(t, jb);
    }
}

/* Component types this job cannot rebuild as a session message. */
static const struct {
    const char *type;
    const char *why;
} unsupported_components[] = {
    {"CAROUSEL", "carousel"},
    {"LIMITED_TIME_OFFER", "limited-time offer"},
    {"CALL_PERMISSION_REQUEST", "call permission request"},
};

static void parse_component(struct suf_template *t, const json_t *comp)
{
    const char *type = json_string_value(json_object_get(comp, "type"));

    if (!type) {
        set_unsupported(t, "component without a type", NULL);
        return;
    }
    if (suf_streq_fold(type, "HEADER")) {
        parse_header(t, comp);
    } else if (suf_streq_fold(type, "BODY")) {
        free(t->body);
        t->body = dup_member(comp, "text");
    } else if (suf_streq_fold(type, "FOOTER")) {
        free(t->footer);
        t->footer = dup_member(comp, "text");
    } else if (suf_streq_fold(type, "BUTTONS")) {
        parse_buttons(t, comp);
    } else {
        for (size_t i = 0;
             i < sizeof(unsupported_components) / sizeof(unsupported_components[0]); i++)
            if (suf_streq_fold(type, unsupported_components[i].type)) {
                set_unsupported(t, unsupported_components[i].why, NULL);
                return;
            }
        set_unsupported(t, "component type", type);
    }
}

static int parse_entry(const json_t *root, struct suf_template *t, struct suf_err *err)
{
    const json_t *comps, *comp;
    size_t i;

    if (!json_is_object(root))
        return suf_err_set(err, SUF_ERR_INPUT, "template entry is not a JSON object");
    t->name = dup_member(root, "name");
    if (!t->name || !*t->name)
        return suf_err_set(err, SUF_ERR_INPUT, "template entry has no 'name'");
    t->language = dup_member(root, "language");
    t->status = dup_member(root, "status");
    t->category = dup_member(root, "category");
    comps = json_object_get(root, "components");
    if (!json_is_array(comps)) {
        set_unsupported(t, "no components", NULL);
        return SUF_OK;
    }
    json_array_foreach(comps, i, comp) {
        if (json_is_object(comp))
            parse_component(t, comp);
        else
            set_unsupported(t, "component that is not an object", NULL);
    }
    if (!t->body || !*t->body)
        set_unsupported(t, "no body text", NULL);
    return SUF_OK;
}

int suf_template_parse(const char *json, struct suf_template *t, struct suf_err *err)
{
    json_error_t jerr;
    json_t *root;
    int rc;

    memset(t, 0, sizeof(*t));
    root = json_loads(json ? json : "", JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return suf_err_set(err, SUF_ERR_INPUT, "template is not JSON: %s (line %d, column %d)",
                           jerr.text, jerr.line, jerr.column);
    rc = parse_entry(root, t, err);
    json_decref(root);
    if (rc)
        suf_template_release(t);
    return rc;
}

void suf_template_release(struct suf_template *t)
{
    if (!t)
        return;
    for (size_t i = 0; t->buttons && i < t->nbuttons; i++) {
        free(t->buttons[i].type);
        free(t->buttons[i].text);
        free(t->buttons[i].url);
        free(t->buttons[i].phone);
    }
    free(t->buttons);
    free(t->name);
    free(t->language);
    free(t->status);
    free(t->category);
    free(t->header_text);
    free(t->body);
    free(t->footer);
    memset(t, 0, sizeof(*t));
}
