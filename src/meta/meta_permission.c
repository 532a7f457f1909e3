/*
 * meta_permission.c: the permission template, provisioned (see
 * meta_permission.h).
 *
 * Creating a template is the one call of suf's that makes something at
 * Meta, and its reply can be lost after Meta made it: so the template is
 * always looked up first, and looked up again before any second POST.
 * What Meta says of a template (its lookup page, or the template it
 * created) is kept and imported as a catalog page, through the same code
 * as every catalog page: the catalog row and its live state come from one
 * place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "base/log.h"
#include "base/util.h"
#include "meta/meta_permission.h"
#include "meta/meta_templates.h"
#include "plan/scenario.h"
#include "store/store.h"
#include "base/banned.h"

/* One name has a page or two of languages: more pages than this is a
 * server that does not stop. */
#define LOOKUP_MAX_PAGES 50
/* Meta's limit on a template's name. */
#define NAME_MAX_CHARS 512

void suf_perm_list_release(struct suf_perm_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        struct suf_perm *p = &l->v[i];
        free(p->name);
        free(p->language);
        free(p->id);
        free(p->status);
        free(p->category);
        free(p->error);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* --- which templates --------------------------------------------------------------- */

static void add_target(struct suf_perm_list *l, const char *name, const char *language)
{
    struct suf_perm *p;

    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].name, name) && !strcmp(l->v[i].language, language))
            return;
    l->v = suf_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
    p = &l->v[l->n++];
    memset(p, 0, sizeof(*p));
    p->name = suf_xstrdup(name);
    p->language = suf_xstrdup(language);
}

static int by_name_language(const void *a, const void *b)
{
    const struct suf_perm *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c ? c : strcmp(x->language, y->language);
}

int suf_meta_permission_targets(struct suf_run *run, const char *const *languages,
                                size_t nlang, struct suf_perm_list *out, struct suf_err *err)
{
    /* every campaign the store knows (its deliveries or its settings), its
     * template over the config's; with ?3, that campaign alone */
    static const char sql[] =
        "SELECT DISTINCT coalesce(nullif(c.utility_template, ''), ?1),"
        " coalesce(nullif(c.utility_language, ''), ?2)"
        " FROM (SELECT campaign_id FROM attempts UNION SELECT campaign_id FROM campaigns) k"
        " LEFT JOIN campaigns c ON c.campaign_id = k.campaign_id"
        " WHERE ?3 IS NULL OR k.campaign_id = ?3";
    const struct suf_config *cfg = run->cfg;
    sqlite3_stmt *s = suf_store_prepare(run->store, sql, err);
    size_t names;
    int step;

    memset(out, 0, sizeof(*out));
    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, cfg->utility_template);
    suf_bind_text(s, 2, cfg->utility_language);
    suf_bind_text(s, 3, run->campaign);
    while ((step = sqlite3_step(s)) == SQLITE_ROW)
        add_target(out, (const char *)sqlite3_column_text(s, 0),
                   (const char *)sqlite3_column_text(s, 1));
    sqlite3_finalize(s);
    if (step != SQLITE_DONE)
        return suf_store_fail(run->store, err, "campaigns");
    if (run->campaign && !out->n)
        return suf_err_set(err, SUF_ERR_NOTFOUND, "no campaign '%s'", run->campaign);
    if (!run->campaign) /* campaigns still to come take the config's */
        add_target(out, cfg->utility_template, cfg->utility_language);
    names = out->n;
    for (size_t i = 0; i < names; i++)
        for (size_t j = 0; j < nlang; j++)
            add_target(out, out->v[i].name, languages[j]);
    qsort(out->v, out->n, sizeof(*out->v), by_name_language);
    return SUF_OK;
}

/* --- the template suf creates -------------------------------------------------------- */

/* How many body parameters the utility message sends, by the builder
 * that sends them: the template must have as many variables. */
static int params_sent(const struct suf_config *cfg, const char *name, const char *language,
                       int *n, struct suf_err *err)
{
    const struct suf_utility_opts u = {name, language, cfg->utility_params,
                                       cfg->utility_no_button};
    json_t *body, *comps, *c;
    const char *why;
    size_t i;

    *n = 0;
    if (suf_utility_build(&u, "15550000000", "campaign", "customer", 1, 1, &body, &why))
        return suf_err_set(err, SUF_ERR_CONFIG, "utility_params '%s': %s", cfg->utility_params,
                           why ? why : "cannot be built");
    comps = json_object_get(json_object_get(body, "template"), "components");
    json_array_foreach(comps, i, c) {
        const char *type = json_string_value(json_object_get(c, "type"));
        if (type && !strcmp(type, "body"))
            *n = (int)json_array_size(json_object_get(c, "parameters"));
    }
    json_decref(body);
    return SUF_OK;
}

/* The example values of permission_example ("a|b"), trimmed, as the
 * single row of body_text. */
static json_t *example_row(const char *examples)
{
    char *copy = suf_xstrdup(examples), *save = NULL;
    json_t *row = json_array();

    for (char *tok = strtok_r(copy, "|", &save); tok; tok = strtok_r(NULL, "|", &save))
        if (*suf_trim(tok))
            json_array_append_new(row, json_string(suf_trim(tok)));
    free(copy);
    return row;
}

static bool name_ok(const char *name)
{
    size_t n = strlen(name);

    if (!n || n > NAME_MAX_CHARS)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '_'))
            return false;
    return true;
}

/* The template as created; NULL (err filled) when the config cannot make
 * it.  It is checked as the send stage will check it once approved. */
static json_t *request_object(const struct suf_config *cfg, const char *name,
                              const char *language, struct suf_err *err)
{
    json_t *ex = example_row(cfg->permission_example), *buttons, *o;
    int n;

    if (!name_ok(name)) {
        json_decref(ex);
        suf_err_set(err, SUF_ERR_TEMPLATE,
                    "template name '%s' is not one Meta takes (lowercase letters, digits and "
                    "_, at most %d)",
                    name, NAME_MAX_CHARS);
        return NULL;
    }
    if (params_sent(cfg, name, language, &n, err)) {
        json_decref(ex);
        return NULL;
    }
    if ((size_t)n != json_array_size(ex)) {
        suf_err_set(err, SUF_ERR_CONFIG,
                    "permission_body '%s' has %zu variables, but utility_params '%s' sends %d "
                    "parameters",
                    cfg->permission_body, json_array_size(ex), cfg->utility_params, n);
        json_decref(ex);
        return NULL;
    }
    buttons = json_pack("[{s:s, s:s}]", "type", "QUICK_REPLY", "text", cfg->permission_yes);
    if (cfg->utility_no_button)
        json_array_append_new(buttons, json_pack("{s:s, s:s}", "type", "QUICK_REPLY", "text",
                                                 cfg->permission_no));
    /* an example is given only for a body with variables: Meta refuses
     * one without */
    o = json_pack("{s:s, s:s, s:s, s:s, s:[{s:s, s:s}, {s:s, s:o}]}", "name", name, "language",
                  language, "category", "UTILITY", "parameter_format", "POSITIONAL",
                  "components", "type", "BODY", "text", cfg->permission_body, "type", "BUTTONS",
                  "buttons", buttons);
    if (o && n)
        json_object_set_new(json_array_get(json_object_get(o, "components"), 0), "example",
                            json_pack("{s:[O]}", "body_text", ex));
    json_decref(ex);
    if (!o)
        suf_err_set(err, SUF_ERR_CONFIG, "template '%s' (%s): the config's texts are not UTF-8",
                    name, language);
    return o;
}

/* Whether `entry`, once approved, is a template the send stage takes. */
static int usable_once_approved(const json_t *entry, int no_button, struct suf_err *err)
{
    json_t *copy = json_deep_copy(entry);
    char *text;
    struct suf_template t;
    const char *why = NULL;
    int rc;

    json_object_set_new(copy, "status", json_string("APPROVED"));
    text = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    memset(&t, 0, sizeof(t));
    rc = suf_template_parse(text, &t, err);
    if (!rc && suf_utility_check(&t, no_button, &why))
        rc = suf_err_set(err, SUF_ERR_INTERNAL, "the template suf would create: %s", why);
    suf_template_release(&t);
    free(text);
    return rc;
}

char *suf_meta_permission_request(const struct suf_config *cfg, const char *name,
                                  const char *language, struct suf_err *err)
{
    json_t *o = request_object(cfg, name, language, err);
    char *text = NULL;

    if (o && !usable_once_approved(o, cfg->utility_no_button, err))
        text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

/* --- talking to Meta ----------------------------------------------------------------- */

struct ensure {
    struct suf_run *run;
    struct suf_graph *g;
    int kept; /* files kept so far: their names' sequence */
};

/* Keeps a reply about `p` in the templates inbox and imports it (not in a
 * dry run: nothing is written then). */
static int keep(struct ensure *e, const struct suf_perm *p, const char *what, const char *body,
                struct suf_err *err)
{
    const struct suf_config *cfg = e->run->cfg;
    char *file, *label;
    int rc;

    if (e->run->dry_run)
        return SUF_OK;
    file = suf_xasprintf("%s/api-%s-run%lld-permission%03d.json", cfg->inbox_templates,
                         cfg->waba_id, (long long)e->run->id, ++e->kept);
    label = suf_xasprintf("the %s of template '%s' (%s)", what, p->name, p->language);
    rc = suf_meta_templates_keep(e->run, label, file, body, strlen(body), err);
    free(label);
    free(file);
    return rc;
}

/* A member as text: Meta's ids are strings in the catalog, integers
 * elsewhere. */
static char *member_text(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    if (json_is_string(v) && json_string_length(v))
        return suf_xstrdup(json_string_value(v));
    if (json_is_integer(v))
        return suf_xasprintf("%lld", (long long)json_integer_value(v));
    return NULL;
}

/* Takes id, status and category of `entry` into `p`. */
static void take_entry(struct suf_perm *p, const json_t *entry)
{
    free(p->id);
    free(p->status);
    free(p->category);
    p->id = member_text(entry, "id");
    p->status = member_text(entry, "status");
    p->category = member_text(entry, "category");
}

/* The entry of `p`'s language in a lookup page, or NULL. */
static const json_t *entry_in(const json_t *page, const struct suf_perm *p)
{
    const json_t *entry;
    size_t i;

    json_array_foreach(json_object_get(page, "data"), i, entry) {
        const char *name = json_string_value(json_object_get(entry, "name"));
        const char *lang = json_string_value(json_object_get(entry, "language"));
        if (name && lang && !strcmp(name, p->name) && !strcmp(lang, p->language))
            return entry;
    }
    return NULL;
}

/* The lookup of one page of templates named `name`, after `after`. */
static char *lookup_path(const struct suf_config *cfg, const char *name, const char *after)
{
    char *ename = curl_easy_escape(NULL, name, 0);
    char *eafter = after ? curl_easy_escape(NULL, after, 0) : NULL;
    char *path = NULL;

    if (ename && (!after || eafter))
        path = suf_xasprintf("/%s/%s/message_templates?name=%s&fields=%s&limit=%lld%s%s",
                             cfg->api_version, cfg->waba_id, ename, SUF_META_TEMPLATE_FIELDS,
                             (long long)cfg->page_size, eafter ? "&after=" : "",
                             eafter ? eafter : "");
    curl_free(ename);
    curl_free(eafter);
    return path;
}

/* Looks at one lookup page (number `n`): takes `p`'s entry when it is
 * there (*found) and keeps the page; else *after becomes the next page's
 * cursor, or NULL on the last page. */
static int lookup_page(struct ensure *e, struct suf_perm *p, int n, const struct suf_graph_reply *r,
                       bool *found, char **after, struct suf_err *err)
{
    struct suf_meta_page pg;
    json_t *page;
    int rc;

    if ((rc = suf_meta_page_check(r->body, r->len, n, &pg, err)))
        return rc;
    page = json_loadb(r->body, r->len, 0, NULL);
    if (entry_in(page, p)) {
        *found = true;
        take_entry(p, entry_in(page, p));
        rc = keep(e, p, "lookup", r->body, err);
    } else if (pg.more && *after && !strcmp(*after, pg.after)) {
        rc = suf_err_set(err, SUF_ERR_INPUT, "the lookup of '%s' repeats cursor '%s' at page %d",
                         p->name, pg.after, n);
    } else {
        free(*after);
        *after = pg.more ? pg.after : NULL;
        if (pg.more)
            pg.after = NULL;
    }
    json_decref(page);
    suf_meta_page_release(&pg);
    return rc;
}

/* Looks `p` up by name, page by page; *found says whether Meta has it. */
static int lookup(struct ensure *e, struct suf_perm *p, bool *found, struct suf_err *err)
{
    char *after = NULL;
    int rc = SUF_OK, n;

    *found = false;
    for (n = 1; n <= LOOKUP_MAX_PAGES; n++) {
        struct suf_graph_reply reply;
        char *path = lookup_path(e->run->cfg, p->name, after);

        if (!path) {
            rc = suf_err_set(err, SUF_ERR_INTERNAL, "cannot encode the lookup of '%s'", p->name);
            break;
        }
        rc = suf_graph_get(e->g, path, &reply, err);
        free(path);
        if (!rc)
            rc = lookup_page(e, p, n, &reply, found, &after, err);
        suf_graph_reply_release(&reply);
        if (rc || *found || !after)
            break;
    }
    if (!rc && n > LOOKUP_MAX_PAGES)
        rc = suf_err_set(err, SUF_ERR_INPUT, "the lookup of '%s' has more than %d pages",
                         p->name, LOOKUP_MAX_PAGES);
    free(after);
    return rc;
}

/* Creates `p` (Meta does not have it).  On success takes the reply's id,
 * status and category and keeps the template, as Meta now holds it, as a
 * catalog page of one entry. */
static int create(struct ensure *e, struct suf_perm *p, struct suf_err *err)
{
    const struct suf_config *cfg = e->run->cfg;
    json_t *o = request_object(cfg, p->name, p->language, err), *reply_json, *page;
    struct suf_graph_reply reply;
    char *path, *body, *kept;
    int rc;

    if (!o)
        return err->status;
    if ((rc = usable_once_approved(o, cfg->utility_no_button, err))) {
        json_decref(o);
        return rc;
    }
    body = json_dumps(o, JSON_COMPACT);
    path = suf_xasprintf("/%s/%s/message_templates", cfg->api_version, cfg->waba_id);
    rc = suf_graph_post(e->g, path, body, &reply, err);
    free(path);
    free(body);
    if (rc) {
        json_decref(o);
        return rc;
    }
    reply_json = json_loadb(reply.body, reply.len, 0, NULL);
    json_object_set_new(o, "status", json_string("PENDING")); /* unless the reply says */
    json_object_update_existing(o, reply_json);
    json_object_set(o, "id", json_object_get(reply_json, "id"));
    take_entry(p, o);
    if (!p->id) {
        rc = suf_err_set(err, SUF_ERR_INPUT,
                         "template '%s' (%s): Meta's reply to its creation has no id", p->name,
                         p->language);
    } else {
        page = json_pack("{s:[O]}", "data", o);
        kept = json_dumps(page, JSON_COMPACT);
        rc = keep(e, p, "creation", kept, err);
        free(kept);
        json_decref(page);
    }
    json_decref(reply_json);
    suf_graph_reply_release(&reply);
    json_decref(o);
    return rc;
}

/* Whether an error ends the whole command, not just this template. */
static bool stops_all(int rc)
{
    return rc == SUF_ERR_CONFIG || rc == SUF_ERR_INTERRUPTED || rc == SUF_ERR_DB ||
           rc == SUF_ERR_IO || rc == SUF_ERR_CANTCREAT || rc == SUF_ERR_INTERNAL;
}

/* Steps 2 to 4 for one template. */
static int ensure_one(struct ensure *e, struct suf_perm *p, struct suf_err *err)
{
    const struct suf_config *cfg = e->run->cfg;
    int tries = cfg->max_tries > 0 ? (int)cfg->max_tries : 1;
    bool found, posted = false;
    int rc = SUF_OK;

    for (int t = 1; t <= tries; t++) {
        if ((rc = lookup(e, p, &found, err)))
            return rc;
        if (found) {
            p->action = posted ? "adopted" : "exists";
            return SUF_OK;
        }
        if (e->run->dry_run) {
            char *req = suf_meta_permission_request(cfg, p->name, p->language, err);
            free(req);
            p->action = req ? "would create" : NULL;
            return req ? SUF_OK : err->status;
        }
        if (posted)
            suf_info("template '%s' (%s) is not there after all: creating it again", p->name,
                     p->language);
        rc = create(e, p, err);
        posted = true;
        if (!rc) {
            p->action = "created";
            return SUF_OK;
        }
        if (stops_all(rc))
            return rc;
        if (rc != SUF_ERR_NETWORK) {
            /* refused: maybe because it was made meanwhile (Meta refuses a
             * name and language it has); one more look says */
            struct suf_err lerr = SUF_ERR_INIT;
            if (lookup(e, p, &found, &lerr) == SUF_OK && found) {
                p->action = "adopted";
                return SUF_OK;
            }
            return err->status = SUF_ERR_TEMPLATE;
        }
        suf_warn("template '%s' (%s): %s; it may have been created: looking again", p->name,
                 p->language, err->msg);
        if (t < tries) {
            int64_t delay = suf_cloudapi_backoff_ms(t, cfg->backoff_base_ms, cfg->backoff_max_ms,
                                                    -1, e->g->jitter, e->g->jitter_ctx);
            if (suf_run_stopping(e->run))
                return suf_err_set(err, SUF_ERR_INTERRUPTED, "template '%s' (%s): interrupted",
                                   p->name, p->language);
            e->g->sleep(e->g->sleep_ctx, delay);
        }
    }
    /* the last POST's fate is unknown: one last look */
    if (!(rc = lookup(e, p, &found, err)) && found) {
        p->action = "adopted";
        return SUF_OK;
    }
    return rc ? rc
              : suf_err_set(err, SUF_ERR_NETWORK,
                            "template '%s' (%s): not created after %d tries", p->name,
                            p->language, tries);
}

int suf_meta_permission_ensure(struct suf_run *run, struct suf_graph *g,
                               struct suf_perm_list *list, struct suf_err *err)
{
    struct ensure e = {run, g, 0};
    int worst = SUF_OK;

    for (size_t i = 0; i < list->n; i++) {
        struct suf_perm *p = &list->v[i];
        struct suf_err perr = SUF_ERR_INIT;
        int rc = ensure_one(&e, p, &perr);

        if (!rc) {
            suf_run_count(run, p->action[0] == 'c' ? "permission.created" : "permission.found",
                          1);
            continue;
        }
        if (stops_all(rc)) {
            *err = perr;
            return rc;
        }
        p->action = "failed";
        p->error = suf_xstrdup(perr.msg);
        suf_error("template '%s' (%s): %s", p->name, p->language, perr.msg);
        suf_run_count(run, "permission.failed", 1);
        if (!worst) {
            worst = rc;
            *err = perr;
        }
    }
    return worst;
}

int suf_meta_permission_run(struct suf_run *run, struct suf_perm_list *list,
                            struct suf_err *err)
{
    struct suf_graph g;
    int rc;

    if ((rc = suf_meta_templates_setup(run->cfg, err)) || (rc = suf_graph_open(&g, run, err)))
        return rc;
    rc = suf_meta_permission_ensure(run, &g, list, err);
    suf_graph_close(&g);
    return rc;
}
