/*
 * scenario.c: which session message replaces a marketing template (S1..S8),
 * and the exact Cloud API bodies of that message and of the utility
 * permission template (see scenario.h and DESIGN.md, "Scenarios").
 *
 * Everything here is pure: a template and one recipient's content in,
 * jansson bodies out.  The rules that make a body valid live here and
 * nowhere else:
 *  - every limit of domain.md §2 is hard; titles (reply and row titles,
 *    headers, footers, labels) are cut on UTF-8 character boundaries and end
 *    with "…", and reply titles stay unique after the cut;
 *  - body text is never cut: when it does not fit its container (1024 for a
 *    caption or an interactive body) it is split at the last paragraph,
 *    line, sentence or word break that fits, and the rest follows as a
 *    `text` message; what still does not fit (4096) is refused;
 *  - a hole in the content ({{n}} without a value, a media header without a
 *    link, a dynamic URL without its suffix) is refused, with a reason that
 *    names the hole: a message with a hole in it is never built.
 * Reasons are static strings, so a caller may keep them without copying.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "base/util.h"
#include "plan/scenario.h"
#include "base/banned.h"

/* domain.md §2: session message limits, in characters. */
enum {
    LIM_TEXT = 4096,
    LIM_CAPTION = 1024,
    LIM_IBODY = 1024,
    LIM_LIST_BODY = 4096,
    LIM_HEADER = 60,
    LIM_FOOTER = 60,
    LIM_REPLY_TITLE = 20,
    LIM_REPLY_ID = 256,
    LIM_ROW_TITLE = 24,
    LIM_ROW_ID = 200,
    LIM_LIST_BUTTON = 20,
    LIM_DISPLAY_TEXT = 20,
    MAX_REPLY_BUTTONS = 3,
    MAX_LIST_ROWS = 10,
    MAX_QUICK_REPLIES = 10,
    MAX_URL_BUTTONS = 2,
    MAX_PHONE_BUTTONS = 1,
    MAX_BUTTONS = 10,
};

#define DEFAULT_LIST_LABEL "See options"

/* ---- callback data ----------------------------------------------------- */

void suf_callback_set(json_t *body, int64_t fallback_id, char kind, int n)
{
    char cb[64];

    snprintf(cb, sizeof(cb), "suf:%" PRId64 ":%c%d", fallback_id, kind, n);
    json_object_set_new(body, "biz_opaque_callback_data", json_string(cb));
}

/* Parses the digits s[0..len) as a positive integer. */
static int parse_positive(const char *s, size_t len, int64_t *out)
{
    char tmp[24];

    if (len == 0 || len >= sizeof(tmp) || s[0] == '0')
        return -1;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return suf_parse_i64(tmp, out) == SUF_OK && *out > 0 ? 0 : -1;
}

int suf_callback_parse(const char *s, int64_t *fallback_id, char what[4], int *n)
{
    const char *id, *colon, *rest;
    int64_t v;

    if (!s || strncmp(s, "suf:", 4) != 0)
        return -1;
    id = s + 4;
    colon = strchr(id, ':');
    if (!colon || parse_positive(id, (size_t)(colon - id), fallback_id))
        return -1;
    rest = colon + 1;
    if (!strcmp(rest, "yes") || !strcmp(rest, "no")) {
        suf_strlcpy(what, rest, 4);
        *n = 0;
        return 0;
    }
    if ((rest[0] != 'u' && rest[0] != 's') || parse_positive(rest + 1, strlen(rest + 1), &v) ||
        v > 1000000)
        return -1;
    what[0] = rest[0];
    what[1] = '\0';
    *n = (int)v;
    return 0;
}

/* ---- classification ---------------------------------------------------- */

static int has_media(const struct suf_template *t)
{
    return t->header == SUF_HEADER_IMAGE || t->header == SUF_HEADER_VIDEO ||
           t->header == SUF_HEADER_DOCUMENT;
}

int suf_scenario_classify(const struct suf_template *t, const char **why)
{
    int media, base;

    *why = NULL;
    if (t->unsupported[0]) {
        *why = t->unsupported;
        return 0;
    }
    if (t->header == SUF_HEADER_OTHER) {
        *why = "header format cannot be reproduced";
        return 0;
    }
    if (t->n_quick_reply > MAX_QUICK_REPLIES) {
        *why = "more than 10 quick-reply buttons";
        return 0;
    }
    if (t->n_url > MAX_URL_BUTTONS) {
        *why = "more than 2 URL buttons";
        return 0;
    }
    if (t->n_phone > MAX_PHONE_BUTTONS) {
        *why = "more than 1 phone-number button";
        return 0;
    }
    if (t->nbuttons > MAX_BUTTONS) {
        *why = "more than 10 buttons";
        return 0;
    }
    if (!t->body || !*t->body) {
        *why = "no body text";
        return 0;
    }
    media = has_media(t);
    if (t->n_quick_reply == 0)
        base = t->n_url == 1 ? 2 : 1;
    else if (t->n_quick_reply <= MAX_REPLY_BUTTONS)
        base = 3;
    else
        base = 4;
    return media ? base + 4 : base;
}

/* ---- placeholders ------------------------------------------------------ */

/* When `s` starts a {{...}} placeholder, returns its length in bytes and sets
 * *n to its number (1.. for positional ones, 0 for named ones); else 0. */
static size_t placeholder(const char *s, long *n)
{
    size_t i = 2;
    int digits = 1;

    if (s[0] != '{' || s[1] != '{')
        return 0;
    while ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
           (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_') {
        if (s[i] < '0' || s[i] > '9')
            digits = 0;
        i++;
    }
    if (i == 2 || s[i] != '}' || s[i + 1] != '}')
        return 0;
    *n = 0;
    if (digits) {
        *n = strtol(s + 2, NULL, 10);
        if (*n <= 0 || i > 6)
            *n = 0;
    }
    return i + 2;
}

static int has_placeholder(const char *s)
{
    long n;

    for (; s && *s; s++)
        if (placeholder(s, &n))
            return 1;
    return 0;
}

#define MISSING(n) "missing value for {{" #n "}}"
static const char *const missing_var[] = {
    MISSING(1),  MISSING(2),  MISSING(3),  MISSING(4),  MISSING(5),
    MISSING(6),  MISSING(7),  MISSING(8),  MISSING(9),  MISSING(10),
    MISSING(11), MISSING(12), MISSING(13), MISSING(14), MISSING(15),
    MISSING(16), MISSING(17), MISSING(18), MISSING(19), MISSING(20),
};

static const char *missing_reason(long n)
{
    if (n >= 1 && (size_t)n <= sizeof(missing_var) / sizeof(missing_var[0]))
        return missing_var[n - 1];
    return n > 0 ? "missing value for a {{n}} placeholder beyond {{20}}"
                 : "missing value for a named placeholder";
}

/* The value of {{n}}: a non-empty string of `vars`, or NULL. */
static const char *var_value(const json_t *vars, long n)
{
    const char *v;

    if (n <= 0 || !json_is_array(vars))
        return NULL;
    v = json_string_value(json_array_get(vars, (size_t)(n - 1)));
    return v && *v ? v : NULL;
}

/* Appends `tmpl` with its placeholders filled from `vars` to `out`.
 * Returns 0, or the number of the first placeholder without a value (-1 for
 * a named one). */
static long fill(const char *tmpl, const json_t *vars, struct suf_buf *out)
{
    const char *s = tmpl;

    while (*s) {
        long n;
        size_t len = placeholder(s, &n);
        const char *v;

        if (!len) {
            suf_buf_addch(out, *s++);
            continue;
        }
        v = var_value(vars, n);
        if (!v)
            return n > 0 ? n : -1;
        suf_buf_addstr(out, v);
        s += len;
    }
    return 0;
}

/* ---- the content of one recipient ------------------------------------ */

/* What a template and an export row give, before it is put in containers. */
struct parts {
    char *header;        /* filled text header, or NULL */
    struct suf_buf body; /* the body, then the button lines */
    char *footer;        /* or NULL */
    const char *link;    /* media header link, or NULL */
};

static void parts_release(struct parts *p)
{
    free(p->header);
    suf_buf_release(&p->body);
    free(p->footer);
    memset(p, 0, sizeof(*p));
}

static int fill_body(const struct suf_template *t, const struct suf_content *c,
                     struct suf_buf *out, const char **why)
{
    long miss = fill(t->body, c->vars, out);

    if (!miss)
        return SUF_OK;
    suf_buf_reset(out);
    if (c->text && *c->text) {
        suf_buf_addstr(out, c->text);
        return SUF_OK;
    }
    *why = missing_reason(miss);
    return SUF_ERR_INPUT;
}

/* The URL of URL button `b`, the `k`-th URL button (0-based), with its
 * dynamic suffix from the export. A new string, or NULL with *why. */
static char *resolve_url(const struct suf_button *b, int k, const struct suf_content *c,
                         const char **why)
{
    static const char *const missing[] = {"missing URL suffix for button 1",
                                          "missing URL suffix for button 2"};
    const char *open = strstr(b->url, "{{"), *close, *suffix;

    if (!open)
        return suf_xstrdup(b->url);
    close = strstr(open, "}}");
    suffix = json_is_array(c->url_suffixes)
                 ? json_string_value(json_array_get(c->url_suffixes, (size_t)k))
                 : NULL;
    if (!close || !suffix || !*suffix) {
        *why = k < 2 ? missing[k] : "missing URL suffix";
        return NULL;
    }
    return suf_xasprintf("%.*s%s%s", (int)(open - b->url), b->url, suffix, close + 2);
}

/* Appends "\n\n" and one line per URL button (when with_urls) and phone
 * button, "Text: target", in the template's order. */
static int add_button_lines(const struct suf_template *t, const struct suf_content *c,
                            int with_urls, struct suf_buf *body, const char **why)
{
    int k = 0, first = 1;

    for (size_t i = 0; i < t->nbuttons; i++) {
        const struct suf_button *b = &t->buttons[i];
        char *target = NULL;

        if (b->kind == SUF_BUTTON_URL) {
            target = resolve_url(b, k++, c, why);
            if (!target)
                return SUF_ERR_INPUT;
            if (!with_urls) {
                free(target);
                continue;
            }
        } else if (b->kind == SUF_BUTTON_PHONE) {
            target = suf_xstrdup(b->phone);
        } else {
            continue;
        }
        suf_buf_addstr(body, first ? "\n\n" : "\n");
        suf_buf_addf(body, "%s: %s", b->text, target);
        first = 0;
        free(target);
    }
    return SUF_OK;
}

static int link_ok(const char *s)
{
    return s && (!strncmp(s, "https://", 8) || !strncmp(s, "http://", 7)) && !strchr(s, ' ');
}

static int phone_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* Checks the strings of the content that did not come through jansson. */
static int content_ok(const struct suf_content *c, const char **why)
{
    const char *const strs[] = {c->text, c->header_media_url, c->customer_name};

    if (!phone_ok(c->to)) {
        *why = "missing or malformed recipient phone";
        return SUF_ERR_INPUT;
    }
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        if (strs[i] && !suf_utf8_valid(strs[i], strlen(strs[i]))) {
            *why = "content is not valid UTF-8";
            return SUF_ERR_INPUT;
        }
    return SUF_OK;
}

static int collect(const struct suf_template *t, int scenario, const struct suf_content *c,
                   struct parts *p, const char **why)
{
    int rc;

    if ((rc = content_ok(c, why)))
        return rc;
    if (t->header == SUF_HEADER_TEXT) {
        if (has_placeholder(t->header_text)) {
            *why = "missing value for the text header's {{1}}";
            return SUF_ERR_INPUT;
        }
        p->header = suf_xstrdup(t->header_text);
    } else if (has_media(t)) {
        if (!c->header_media_url || !*c->header_media_url) {
            *why = "missing header media link";
            return SUF_ERR_INPUT;
        }
        if (!link_ok(c->header_media_url)) {
            *why = "header media link is not an http(s) URL";
            return SUF_ERR_INPUT;
        }
        p->link = c->header_media_url;
    }
    if ((rc = fill_body(t, c, &p->body, why)))
        return rc;
    if ((rc = add_button_lines(t, c, scenario != 2 && scenario != 6, &p->body, why)))
        return rc;
    if (t->footer && *t->footer)
        p->footer = suf_xstrdup(t->footer);
    return SUF_OK;
}

/* The whole content as one text, for containers without header or footer:
 * a bold first line for the text header, the footer as the last line. */
static char *flatten(const struct parts *p)
{
    struct suf_buf b = SUF_BUF_INIT;

    if (p->header)
        suf_buf_addf(&b, "*%s*\n", p->header);
    suf_buf_addstr(&b, suf_buf_str(&p->body));
    if (p->footer)
        suf_buf_addf(&b, "\n\n%s", p->footer);
    return suf_buf_detach(&b);
}

/* Splits `s`, longer than `limit` characters, in two: a first part of at most
 * `limit` characters ending at the last paragraph, line, sentence or word
 * break in its second half, else at the limit; and the rest.  White space at
 * the break is dropped; no other character is. */
static void split_text(const char *s, size_t limit, char **first, char **rest)
{
    static const char *const breaks[] = {"\n\n", "\n", ". ", " "};
    size_t lim = suf_utf8_offset(s, limit), cut = lim, skip;
    int found = 0;

    for (size_t i = 0; i < sizeof(breaks) / sizeof(breaks[0]) && !found; i++) {
        size_t keep = breaks[i][0] == '.' ? 1 : 0; /* a sentence keeps its full stop */

        for (size_t p = lim - keep; p > lim / 2; p--) {
            if (!strncmp(s + p, breaks[i], strlen(breaks[i]))) {
                cut = p + keep;
                found = 1;
                break;
            }
        }
    }
    while (cut > 0 && (s[cut - 1] == ' ' || s[cut - 1] == '\n'))
        cut--;
    skip = cut;
    while (s[skip] == ' ' || s[skip] == '\n')
        skip++;
    *first = suf_xstrndup(s, cut);
    *rest = suf_xstrdup(s + skip);
}

/* ---- JSON pieces ------------------------------------------------------- */

static json_t *envelope(const char *to, const char *type, int64_t id, char kind, int n)
{
    json_t *o = json_object();

    json_object_set_new(o, "messaging_product", json_string("whatsapp"));
    json_object_set_new(o, "recipient_type", json_string("individual"));
    json_object_set_new(o, "to", json_string(to));
    json_object_set_new(o, "type", json_string(type));
    suf_callback_set(o, id, kind, n);
    return o;
}

static const char *media_type(enum suf_header_kind h)
{
    return h == SUF_HEADER_VIDEO ? "video" : h == SUF_HEADER_DOCUMENT ? "document" : "image";
}

/* {"link": ...}, with a document's file name taken from the link's last
 * path segment when it has one with an extension. */
static json_t *media_object(enum suf_header_kind h, const char *link, const char *caption)
{
    json_t *m = json_object();

    json_object_set_new(m, "link", json_string(link));
    if (caption)
        json_object_set_new(m, "caption", json_string(caption));
    if (h == SUF_HEADER_DOCUMENT) {
        const char *path = strstr(link, "://") + 3, *end = path + strcspn(path, "?#");
        const char *slash = path, *name;

        for (const char *q = path; q < end; q++)
            if (*q == '/')
                slash = q;
        name = slash + 1;
        if (slash != path && end > name && memchr(name, '.', (size_t)(end - name)))
            json_object_set_new(m, "filename", json_stringn(name, (size_t)(end - name)));
    }
    return m;
}

static json_t *media_message(const struct suf_template *t, const struct suf_content *c,
                             const char *caption, int64_t id, int n)
{
    const char *type = media_type(t->header);
    json_t *o = envelope(c->to, type, id, 's', n);

    json_object_set_new(o, type, media_object(t->header, c->header_media_url, caption));
    return o;
}

static json_t *text_message(const char *to, const char *text, int64_t id, int n)
{
    json_t *o = envelope(to, "text", id, 's', n);
    json_t *t = json_object();

    if (strstr(text, "https://") || strstr(text, "http://"))
        json_object_set_new(t, "preview_url", json_true());
    json_object_set_new(t, "body", json_string(text));
    json_object_set_new(o, "text", t);
    return o;
}

static json_t *text_object(const char *text, size_t max)
{
    char *cut = suf_utf8_cut(text, max);
    json_t *o = json_object();

    json_object_set_new(o, "text", json_string(cut));
    free(cut);
    return o;
}

/* The interactive header: the text header, or the media header. */
static json_t *interactive_header(const struct suf_template *t, const struct parts *p)
{
    json_t *h;

    if (p->header) {
        h = text_object(p->header, LIM_HEADER);
        json_object_set_new(h, "type", json_string("text"));
        return h;
    }
    if (!p->link)
        return NULL;
    h = json_object();
    json_object_set_new(h, "type", json_string(media_type(t->header)));
    json_object_set_new(h, media_type(t->header), media_object(t->header, p->link, NULL));
    return h;
}

static json_t *interactive_message(const char *to, const char *itype, json_t *header,
                                   const char *body, const char *footer, json_t *action,
                                   int64_t id, int n)
{
    json_t *o = envelope(to, "interactive", id, 's', n);
    json_t *i = json_object();

    json_object_set_new(i, "type", json_string(itype));
    if (header)
        json_object_set_new(i, "header", header);
    json_object_set_new(i, "body", text_object(body, SIZE_MAX));
    if (footer)
        json_object_set_new(i, "footer", text_object(footer, LIM_FOOTER));
    json_object_set_new(i, "action", action);
    json_object_set_new(o, "interactive", i);
    return o;
}

/* ---- replies and rows ---------------------------------------------------- */

/* A title cut to `max` characters that differs from the `n` titles before
 * it: on a clash, " 2", " 3"... is added within the limit. */
static char *unique_title(const char *text, size_t max, char *const *seen, size_t n)
{
    char *title = suf_utf8_cut(text, max);

    for (int k = 2;; k++) {
        size_t i = 0;
        char suffix[16], *base;

        while (i < n && strcmp(seen[i], title) != 0)
            i++;
        if (i == n)
            return title;
        free(title);
        snprintf(suffix, sizeof(suffix), " %d", k);
        base = suf_utf8_cut(text, max - strlen(suffix));
        title = suf_xasprintf("%s%s", base, suffix);
        free(base);
    }
}

/* The ids and titles of the quick replies, in order. */
struct replies {
    char *id[MAX_QUICK_REPLIES];
    char *title[MAX_QUICK_REPLIES];
    size_t n;
};

static void replies_release(struct replies *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->id[i]);
        free(r->title[i]);
    }
    r->n = 0;
}

static int collect_replies(const struct suf_template *t, const struct suf_content *c,
                           size_t title_max, size_t id_max, struct replies *r,
                           const char **why)
{
    size_t k = 0;

    for (size_t i = 0; i < t->nbuttons && r->n < MAX_QUICK_REPLIES; i++) {
        const struct suf_button *b = &t->buttons[i];
        const char *payload;

        if (b->kind != SUF_BUTTON_QUICK_REPLY)
            continue;
        payload = json_is_array(c->button_payloads)
                      ? json_string_value(json_array_get(c->button_payloads, k))
                      : NULL;
        k++;
        if (!payload || !*payload)
            payload = b->text;
        if (suf_utf8_chars(payload) > id_max) {
            *why = "quick-reply payload too long for a reply id";
            return SUF_ERR_INPUT;
        }
        for (size_t j = 0; j < r->n; j++)
            if (!strcmp(r->id[j], payload)) {
                *why = "two quick replies carry the same payload";
                return SUF_ERR_INPUT;
            }
        r->title[r->n] = unique_title(b->text, title_max, r->title, r->n);
        r->id[r->n++] = suf_xstrdup(payload);
    }
    return SUF_OK;
}

static json_t *button_action(const struct replies *r)
{
    json_t *buttons = json_array();

    for (size_t i = 0; i < r->n; i++)
        json_array_append_new(buttons, json_pack("{s:s, s:{s:s, s:s}}", "type", "reply",
                                                 "reply", "id", r->id[i], "title",
                                                 r->title[i]));
    return json_pack("{s:o}", "buttons", buttons);
}

static json_t *list_action(const struct replies *r, const struct suf_session_opts *opts)
{
    const char *label = opts && opts->list_button_label && *opts->list_button_label
                            ? opts->list_button_label
                            : DEFAULT_LIST_LABEL;
    char *cut = suf_utf8_cut(label, LIM_LIST_BUTTON);
    json_t *rows = json_array(), *action;

    for (size_t i = 0; i < r->n; i++)
        json_array_append_new(rows,
                              json_pack("{s:s, s:s}", "id", r->id[i], "title", r->title[i]));
    action = json_pack("{s:s, s:[{s:o}]}", "button", cut, "sections", "rows", rows);
    free(cut);
    return action;
}

/* ---- the scenarios ----------------------------------------------------- */

/* One build: its inputs, and the bodies made so far.  parts is NULL for a
 * check: every rule that can refuse runs, but no JSON is made (see
 * suf_session_build). */
struct build {
    const struct suf_template *t;
    const struct suf_content *c;
    const struct suf_session_opts *opts;
    int64_t id;
    struct parts p;
    json_t **parts;
    size_t n;
};

static bool building(const struct build *b)
{
    return b->parts != NULL;
}

static void emit(struct build *b, json_t *body)
{
    b->parts[b->n++] = body;
}

/* S1: one text message. */
static int build_text(struct build *b, const char **why)
{
    char *text = flatten(&b->p);
    int rc = SUF_OK;

    if (suf_utf8_chars(text) > LIM_TEXT) {
        *why = "message text longer than 4096 characters";
        rc = SUF_ERR_INPUT;
    } else if (building(b)) {
        emit(b, text_message(b->c->to, text, b->id, 1));
    }
    free(text);
    return rc;
}

/* Puts `text` in a container of `limit` characters: returns the part that
 * goes in it (all of `text` when it fits) and sets *rest to what must follow
 * as a text message, or NULL.  Refuses a rest over 4096. */
static int fit(const char *text, size_t limit, char **in, char **rest, const char **why)
{
    *rest = NULL;
    if (suf_utf8_chars(text) <= limit) {
        *in = suf_xstrdup(text);
        return SUF_OK;
    }
    split_text(text, limit, in, rest);
    if (suf_utf8_chars(*rest) > LIM_TEXT) {
        free(*in);
        free(*rest);
        *in = *rest = NULL;
        *why = "body too long even for two messages (1024 + 4096 characters)";
        return SUF_ERR_INPUT;
    }
    return SUF_OK;
}

/* S5: the media message with the text as its caption (and the rest of a
 * long text after it). */
static int build_media(struct build *b, const char **why)
{
    char *text = flatten(&b->p), *caption = NULL, *rest = NULL;
    int rc = fit(text, LIM_CAPTION, &caption, &rest, why);

    if (!rc && building(b)) {
        emit(b, media_message(b->t, b->c, caption, b->id, 1));
        if (rest)
            emit(b, text_message(b->c->to, rest, b->id, 2));
    }
    free(text);
    free(caption);
    free(rest);
    return rc;
}

/* S2, S3, S6, S7: one interactive message whose body holds at most 1024
 * characters (and the rest of a long body after it); `action` is NULL for a
 * check. */
static int build_interactive(struct build *b, const char *itype, json_t *action,
                             const char **why)
{
    char *body = NULL, *rest = NULL;
    int rc = fit(suf_buf_str(&b->p.body), LIM_IBODY, &body, &rest, why);

    if (rc) {
        json_decref(action);
        return rc;
    }
    if (building(b)) {
        emit(b, interactive_message(b->c->to, itype, interactive_header(b->t, &b->p), body,
                                    b->p.footer, action, b->id, 1));
        if (rest)
            emit(b, text_message(b->c->to, rest, b->id, 2));
    }
    free(body);
    free(rest);
    return SUF_OK;
}

static int build_cta(struct build *b, const char **why)
{
    const struct suf_button *url = NULL;
    char *link, *label;
    json_t *action = NULL;

    for (size_t i = 0; i < b->t->nbuttons && !url; i++)
        if (b->t->buttons[i].kind == SUF_BUTTON_URL)
            url = &b->t->buttons[i];
    if (!url) {
        *why = "no URL button for a cta_url message";
        return SUF_ERR_INPUT;
    }
    link = resolve_url(url, 0, b->c, why);
    if (!link)
        return SUF_ERR_INPUT;
    label = suf_utf8_cut(url->text, LIM_DISPLAY_TEXT);
    if (building(b))
        action = json_pack("{s:s, s:{s:s, s:s}}", "name", "cta_url", "parameters",
                           "display_text", label, "url", link);
    free(link);
    free(label);
    return build_interactive(b, "cta_url", action, why);
}

static int build_buttons(struct build *b, const char **why)
{
    struct replies r = {{NULL}, {NULL}, 0};
    int rc = collect_replies(b->t, b->c, LIM_REPLY_TITLE, LIM_REPLY_ID, &r, why);

    if (!rc)
        rc = build_interactive(b, "button", building(b) ? button_action(&r) : NULL, why);
    replies_release(&r);
    return rc;
}

/* S4 and the second message of S8: a list, one row per quick reply. */
static int build_list(struct build *b, int n, const char **why)
{
    struct replies r = {{NULL}, {NULL}, 0};
    const char *body = suf_buf_str(&b->p.body);
    json_t *header = NULL;
    int rc;

    if (suf_utf8_chars(body) > LIM_LIST_BODY) {
        *why = "list body longer than 4096 characters";
        return SUF_ERR_INPUT;
    }
    if ((rc = collect_replies(b->t, b->c, LIM_ROW_TITLE, LIM_ROW_ID, &r, why)) || !building(b))
        goto out;
    if (b->p.header) {
        header = text_object(b->p.header, LIM_HEADER);
        json_object_set_new(header, "type", json_string("text"));
    }
    emit(b, interactive_message(b->c->to, "list", header, body, b->p.footer,
                                list_action(&r, b->opts), b->id, n));
out:
    replies_release(&r);
    return rc;
}

/* S8: the media message (no caption, or the text header), then the list. */
static int build_media_list(struct build *b, const char **why)
{
    char *caption = b->p.header ? suf_utf8_cut(b->p.header, LIM_CAPTION) : NULL;
    int rc;

    if (building(b))
        emit(b, media_message(b->t, b->c, caption, b->id, 1));
    free(caption);
    free(b->p.header);
    b->p.header = NULL; /* lists take only text headers; it went in the caption */
    rc = build_list(b, 2, why);
    return rc;
}

int suf_session_build(const struct suf_template *t, int scenario, const struct suf_content *c,
                      int64_t fallback_id, const struct suf_session_opts *opts,
                      json_t *parts[2], size_t *nparts, const char **why)
{
    struct build b;
    const char *cwhy = NULL;
    int rc;

    memset(&b, 0, sizeof(b));
    b.t = t;
    b.c = c;
    b.opts = opts;
    b.id = fallback_id;
    b.parts = parts;
    if (parts)
        parts[0] = parts[1] = NULL;
    *nparts = 0;
    *why = NULL;
    if (suf_scenario_classify(t, &cwhy) != scenario || scenario < 1 || scenario > 8) {
        *why = cwhy ? cwhy : "the template no longer fits its scenario";
        return SUF_ERR_INPUT;
    }
    if ((rc = collect(t, scenario, c, &b.p, why)))
        goto out;
    switch (scenario) {
    case 1:
        rc = build_text(&b, why);
        break;
    case 5:
        rc = build_media(&b, why);
        break;
    case 2:
    case 6:
        rc = build_cta(&b, why);
        break;
    case 3:
    case 7:
        rc = build_buttons(&b, why);
        break;
    case 4:
        rc = build_list(&b, 1, why);
        break;
    default:
        rc = build_media_list(&b, why);
        break;
    }
out:
    parts_release(&b.p);
    if (rc && parts) {
        for (size_t i = 0; i < b.n; i++)
            json_decref(parts[i]);
        parts[0] = parts[1] = NULL;
        b.n = 0;
    }
    *nparts = b.n;
    return rc;
}

/* ---- the utility permission template -------------------------------------- */

/*
 * The utility body is the one message built for every fallback sent, at the
 * moment its row is claimed, so its bytes are written directly instead of
 * through a jansson tree (whose pack, dump and free cost the sending thread
 * more than the request itself).  The bytes are those json_dumps(...,
 * JSON_COMPACT) gives for the tree the builder used to make: keys in the
 * same order, strings escaped as jansson escapes them.  Every string
 * written is valid UTF-8 (checked before), so only the quote, the backslash
 * and the control characters need escaping.
 */
static void json_str(struct suf_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *run = s;

    suf_buf_addch(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t n = 2;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        suf_buf_add(b, run, (size_t)(s - run));
        run = s + 1;
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xF];
            n = 6;
            break;
        }
        suf_buf_add(b, esc, n);
    }
    suf_buf_add(b, run, (size_t)(s - run));
    suf_buf_addch(b, '"');
}

/* Appends one body parameter, {"type":"text","text":...}, to `params`
 * (NULL for a check), comma-separated: white space runs folded to one
 * space (Meta refuses newlines, tabs and long space runs in text
 * parameters).  `fold` is scratch space. */
static int add_param(struct suf_buf *params, struct suf_buf *fold, const char *value,
                     const char **why)
{
    int space = 0;

    suf_buf_reset(fold);
    for (const char *s = value ? value : ""; *s; s++) {
        if (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') {
            space = fold->len > 0;
            continue;
        }
        if (space)
            suf_buf_addch(fold, ' ');
        space = 0;
        suf_buf_addch(fold, *s);
    }
    if (!fold->len) {
        *why = "empty body parameter for the utility template";
        return SUF_ERR_INPUT;
    }
    if (!suf_utf8_valid(fold->buf, fold->len)) {
        *why = "utility template parameter is not valid UTF-8";
        return SUF_ERR_INPUT;
    }
    if (params) {
        suf_buf_addstr(params, params->len ? ",{\"type\":\"text\",\"text\":"
                                           : "{\"type\":\"text\",\"text\":");
        json_str(params, fold->buf);
        suf_buf_addch(params, '}');
    }
    return SUF_OK;
}

/* Body parameters from the comma-separated list of sources. */
static int utility_params(const char *spec, const char *campaign_name,
                          const char *customer_name, struct suf_buf *params, const char **why)
{
    char *copy = suf_xstrdup(spec), *save = NULL;
    struct suf_buf fold = SUF_BUF_INIT;
    int rc = SUF_OK;

    for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        const char *src = suf_trim(tok);

        if (!*src)
            continue;
        if (!strcmp(src, "campaign_name")) {
            rc = add_param(params, &fold, campaign_name, why);
        } else if (!strcmp(src, "customer_name")) {
            rc = add_param(params, &fold,
                           customer_name && *customer_name ? customer_name : campaign_name,
                           why);
        } else if (!strncmp(src, "text:", 5)) {
            rc = add_param(params, &fold, src + 5, why);
        } else {
            *why = "unknown utility parameter source (campaign_name, customer_name, text:...)";
            rc = SUF_ERR_CONFIG;
        }
    }
    suf_buf_release(&fold);
    free(copy);
    return rc;
}

/* Appends `v` in decimal (what "%" PRId64 writes): the body is built per
 * message sent, and a printf per number cost more than the rest of it. */
static void add_int(struct suf_buf *b, int64_t v)
{
    char digits[24];
    size_t i = sizeof(digits);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do {
        digits[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        digits[--i] = '-';
    suf_buf_add(b, digits + i, sizeof(digits) - i);
}

/* Appends the quick reply component of button `index`, payload
 * "suf:<id>:<answer>", after `sep`. */
static void quick_reply(struct suf_buf *b, const char *sep, int index, int64_t id,
                        const char *answer)
{
    suf_buf_addstr(b, sep);
    suf_buf_addstr(b, "{\"type\":\"button\",\"sub_type\":\"quick_reply\",\"index\":\"");
    add_int(b, index);
    suf_buf_addstr(b, "\",\"parameters\":[{\"type\":\"payload\",\"payload\":\"suf:");
    add_int(b, id);
    suf_buf_addch(b, ':');
    suf_buf_addstr(b, answer);
    suf_buf_addstr(b, "\"}]}");
}

int suf_utility_text(const struct suf_utility_opts *u, const char *to, const char *campaign_name,
                     const char *customer_name, int64_t fallback_id, int n, char **text,
                     const char **why)
{
    struct suf_buf params = SUF_BUF_INIT, b = SUF_BUF_INIT;
    int rc;

    if (text)
        *text = NULL;
    *why = NULL;
    if (!u->template_name || !*u->template_name || !u->language || !*u->language) {
        *why = "no utility template name or language";
        return SUF_ERR_CONFIG;
    }
    if (!phone_ok(to)) {
        *why = "missing or malformed recipient phone";
        return SUF_ERR_INPUT;
    }
    /* what jansson refuses to hold (a parse back, for a caller that wants
     * the tree) is refused here */
    if (!suf_utf8_valid(u->template_name, strlen(u->template_name)) ||
        !suf_utf8_valid(u->language, strlen(u->language))) {
        *why = "utility template name or language is not valid UTF-8";
        return SUF_ERR_INPUT;
    }
    rc = utility_params(u->params ? u->params : "campaign_name", campaign_name, customer_name,
                        text ? &params : NULL, why);
    if (rc || !text)
        goto out;
    /* the keys in the order the envelope and the template always had */
    suf_buf_grow(&b, 320 + params.len);
    suf_buf_addstr(&b, "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
                       "\"to\":\"");
    suf_buf_addstr(&b, to); /* digits only (phone_ok) */
    suf_buf_addstr(&b, "\",\"type\":\"template\",\"biz_opaque_callback_data\":\"suf:");
    add_int(&b, fallback_id);
    suf_buf_addstr(&b, ":u");
    add_int(&b, n);
    suf_buf_addstr(&b, "\",\"template\":{\"name\":");
    json_str(&b, u->template_name);
    suf_buf_addstr(&b, ",\"language\":{\"policy\":\"deterministic\",\"code\":");
    json_str(&b, u->language);
    suf_buf_addstr(&b, "},\"components\":[");
    if (params.len) {
        suf_buf_addstr(&b, "{\"type\":\"body\",\"parameters\":[");
        suf_buf_add(&b, params.buf, params.len);
        suf_buf_addstr(&b, "]}");
    }
    quick_reply(&b, params.len ? "," : "", 0, fallback_id, "yes");
    if (u->no_button)
        quick_reply(&b, ",", 1, fallback_id, "no");
    suf_buf_addstr(&b, "]}}");
    *text = suf_buf_detach(&b);
out:
    suf_buf_release(&params);
    return rc;
}

int suf_utility_build(const struct suf_utility_opts *u, const char *to,
                      const char *campaign_name, const char *customer_name, int64_t fallback_id,
                      int n, json_t **body, const char **why)
{
    char *text = NULL;
    int rc = suf_utility_text(u, to, campaign_name, customer_name, fallback_id, n,
                              body ? &text : NULL, why);

    if (rc || !body)
        return rc;
    *body = json_loads(text, 0, NULL);
    free(text);
    if (!*body) {
        *why = "utility body cannot be read back";
        return SUF_ERR_INTERNAL;
    }
    return SUF_OK;
}

int suf_utility_check(const struct suf_template *t, int no_button, const char **why)
{
    size_t need = no_button ? 2 : 1;

    *why = NULL;
    if (!suf_streq_fold(t->status, "APPROVED"))
        *why = "utility template is not APPROVED";
    else if (!suf_streq_fold(t->category, "UTILITY"))
        *why = "utility template is not in category UTILITY (re-categorised?)";
    else if (t->unsupported[0])
        *why = "utility template has a shape this job cannot send";
    else if (t->header != SUF_HEADER_NONE &&
             (t->header != SUF_HEADER_TEXT || has_placeholder(t->header_text)))
        *why = "utility template has a header that needs a parameter";
    else if (t->nbuttons < need || t->buttons[0].kind != SUF_BUTTON_QUICK_REPLY ||
             (need == 2 && t->buttons[1].kind != SUF_BUTTON_QUICK_REPLY))
        *why = no_button ? "utility template lacks quick replies at buttons 0 and 1"
                         : "utility template lacks a quick reply at button 0";
    return *why ? SUF_ERR_TEMPLATE : SUF_OK;
}
