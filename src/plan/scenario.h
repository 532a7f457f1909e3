/*
 * scenario.h: templates, and the messages that replace them (pure: no I/O,
 * no database, no clock).
 *
 * A marketing template that failed is re-delivered as a session message.
 * Which kind of session message depends on the template's header and
 * buttons: eight scenarios, S1..S8 (DESIGN.md, "Scenarios"):
 *
 *        media  QR     CTA      session message
 *   S1   no     0      0 or 2   text: body, URLs as lines
 *   S2   no     0      1        interactive cta_url
 *   S3   no     1-3    any      interactive button; URLs as lines
 *   S4   no     4-10   any      interactive list
 *   S5   yes    0      0 or 2   image/video/document with the text as caption
 *   S6   yes    0      1        interactive cta_url with a media header
 *   S7   yes    1-3    any      interactive button with a media header
 *   S8   yes    4-10   any      the media message, then an interactive list
 *
 * Phone buttons become a text line ("Call us: +...") in every scenario.
 * Limits (domain.md §2) are hard: titles are cut on UTF-8 boundaries with
 * "…"; body text is never cut; a body too long for its container becomes a
 * second `text` message.  Every body built carries
 * biz_opaque_callback_data "suf:<fallback id>:<u|s><n>", so a dry run's
 * outbox is exactly what a real send posts.
 *
 * Ownership: suf_template_parse fills a caller-owned struct whose strings it
 * allocates; suf_template_release frees them.  Builders return new jansson
 * references that the caller json_decref()s.
 */
#ifndef SUF_SCENARIO_H
#define SUF_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/status.h"

enum suf_header_kind {
    SUF_HEADER_NONE = 0,
    SUF_HEADER_TEXT,
    SUF_HEADER_IMAGE,
    SUF_HEADER_VIDEO,
    SUF_HEADER_DOCUMENT,
    SUF_HEADER_OTHER, /* LOCATION, PRODUCT, ...: not reproducible */
};

enum suf_button_kind {
    SUF_BUTTON_QUICK_REPLY = 0,
    SUF_BUTTON_URL,
    SUF_BUTTON_PHONE,
    SUF_BUTTON_OTHER, /* COPY_CODE, FLOW, CATALOG, MPM, OTP, ...: not reproducible */
};

struct suf_button {
    enum suf_button_kind kind;
    char *type; /* Meta's type string as given, e.g. "QUICK_REPLY" */
    char *text;
    char *url;   /* URL buttons: may end in "{{1}}" for a dynamic suffix */
    char *phone; /* PHONE_NUMBER buttons */
};

struct suf_template {
    char *name;
    char *language;
    char *status;   /* APPROVED, PAUSED, REJECTED, ... */
    char *category; /* MARKETING, UTILITY, AUTHENTICATION */
    enum suf_header_kind header;
    char *header_text; /* TEXT headers, may hold {{1}} */
    char *body;        /* may hold {{1}}..{{n}} */
    char *footer;
    struct suf_button *buttons;
    size_t nbuttons;
    int n_quick_reply, n_url, n_phone;
    /* Set when the template has a shape this job cannot reproduce: carousel,
     * limited-time offer, catalog, multi-product, flow, or an unknown
     * component or button type. */
    char unsupported[128];
};

/* Parses one entry of Meta's message_templates "data" array (JSON text).
 * A template whose shape is unsupported still parses (unsupported[] says
 * why); malformed JSON or a missing name is SUF_ERR_INPUT. */
int suf_template_parse(const char *json, struct suf_template *t, struct suf_err *err);
/* Frees the strings of `t`; accepts a zeroed or half-filled struct. */
void suf_template_release(struct suf_template *t);

/* The scenario, 1..8, or 0 when unsupported, with *why set (static text or
 * t->unsupported). */
int suf_scenario_classify(const struct suf_template *t, const char **why);

/* What one recipient's export row gave us to fill the template with. */
struct suf_content {
    const char *to;              /* E.164 digits */
    const json_t *vars;          /* array of strings for {{1}}.., or NULL */
    const char *text;            /* rendered body from the export, or NULL */
    const char *header_media_url;
    const json_t *url_suffixes;    /* array, index i = i-th URL button, or NULL */
    const json_t *button_payloads; /* array, index i = i-th quick reply, or NULL */
    const char *customer_name;
};

struct suf_session_opts {
    const char *list_button_label; /* action.button of lists, e.g. "See options" */
};

/*
 * Where the content goes (DESIGN.md, "Scenarios"):
 *  - the body is the template's body with {{n}} filled from c->vars; when a
 *    value is missing, c->text (the export's rendered body) replaces it;
 *  - URL buttons that are not the cta_url become lines "Text: URL" under the
 *    body, phone buttons lines "Text: +number", in the template's order;
 *  - a text header is the interactive header, or a bold first line
 *    "*Header*"; the footer is the footer, or a last line;
 *  - reply and row ids are c->button_payloads[i] (or the button's text),
 *    titles the button's text cut to 20 (24 for rows), made unique;
 *  - a document gets a filename from its link's last path segment.
 * *why is always static text (or t->unsupported when the template is
 * unsupported), so callers may keep it without copying.
 *
 * Builds the session message(s) for `scenario` (1..8) in send order: one
 * body, or two (S8; or a body too long for its caption/interactive
 * container followed by its text).  parts[k] gets callback data
 * "suf:<fallback_id>:s<k+1>".  When the content has a hole (a {{n}} with no
 * value and no rendered text, a media header without a link, a dynamic URL
 * without its suffix) returns SUF_ERR_INPUT with *why saying which; nothing
 * is built.  Anything that cannot be made valid is SUF_ERR_INPUT too.
 * With parts NULL it only checks: the same rules run on the same path and
 * give the same result and *why, but no JSON is made (*nparts is 0); plan
 * uses it to know whether the builders would refuse.
 */
int suf_session_build(const struct suf_template *t, int scenario, const struct suf_content *c,
                      int64_t fallback_id, const struct suf_session_opts *opts,
                      json_t *parts[2], size_t *nparts, const char **why);

/* Where the utility template's body parameters come from, in order. */
struct suf_utility_opts {
    const char *template_name;
    const char *language;
    const char *params; /* "campaign_name,customer_name,text:Hello" */
    int no_button;      /* add quick reply index 1 with payload suf:<id>:no */
};

/*
 * Builds the utility permission template for a fallback: template name and
 * language, body parameters from `params`, quick reply 0 with payload
 * "suf:<id>:yes" (and 1 with "suf:<id>:no"), callback data
 * "suf:<id>:u<n>".  A missing customer name falls back to the campaign
 * name; an empty parameter (or a malformed `to`) is SUF_ERR_INPUT; an
 * unknown source in `params`, or no template name or language, is
 * SUF_ERR_CONFIG.  White-space runs in a parameter become one space (Meta
 * refuses newlines and tabs in text parameters).  *why is static text.
 * With text NULL it only checks, as suf_session_build does.
 *
 * Writes the body's bytes into *text (malloc'd, NUL-terminated; the caller
 * frees): the compact JSON that json_dumps(JSON_COMPACT) writes for the
 * same body, byte for byte, made without a jansson tree.  This is the one
 * utility builder: the send stores and posts these bytes, plan's check and
 * --explain run the same code.
 */
int suf_utility_text(const struct suf_utility_opts *u, const char *to, const char *campaign_name,
                     const char *customer_name, int64_t fallback_id, int n, char **text,
                     const char **why);

/* suf_utility_text's body as a new jansson reference (its bytes parsed
 * back), for a caller that reads the tree; body NULL only checks. */
int suf_utility_build(const struct suf_utility_opts *u, const char *to,
                      const char *campaign_name, const char *customer_name, int64_t fallback_id,
                      int n, json_t **body, const char **why);

/* Checks that a catalog entry can ask permission: APPROVED and UTILITY, with
 * at least one quick-reply button (two when no_button) at button index 0
 * (and 1), and no header that needs a parameter.  Returns SUF_OK, or
 * SUF_ERR_TEMPLATE with *why set to static text (never into `t`, so it
 * outlives suf_template_release). */
int suf_utility_check(const struct suf_template *t, int no_button, const char **why);

/* Sets biz_opaque_callback_data of `body` to "suf:<id>:<kind><n>" (resends). */
void suf_callback_set(json_t *body, int64_t fallback_id, char kind, int n);

/* Parses "suf:<id>:<u|s><n>" or a payload "suf:<id>:yes|no"; returns 0 on
 * success. `what` gets "u", "s", "yes" or "no"; *n is 0 for yes/no. */
int suf_callback_parse(const char *s, int64_t *fallback_id, char what[4], int *n);

#endif /* SUF_SCENARIO_H */
