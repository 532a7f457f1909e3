/*
 * meta_templates.c: the template catalog, fetched from the API (see
 * meta_templates.h).
 *
 * The fetch writes files and the import reads them: the import's contract
 * ("files into the store, one transaction per file", import.h) stays as it
 * is, and a fetched page is kept, hashed and imported exactly as a page an
 * operator saved by hand.  Nothing of a page is written before it passed
 * the check and the secret test, so a bad page leaves no trace but the
 * error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "base/config.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "import/import.h"
#include "import/templates.h"
#include "meta/meta_templates.h"
#include "base/banned.h"

void suf_meta_page_release(struct suf_meta_page *p)
{
    free(p->after);
    memset(p, 0, sizeof(*p));
}

int suf_meta_page_check(const char *body, size_t len, int page, struct suf_meta_page *out,
                        struct suf_err *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *data, *paging, *next, *after;
    int rc = SUF_OK;

    memset(out, 0, sizeof(*out));
    if (!root)
        return suf_err_set(err, SUF_ERR_INPUT, "catalog page %d: not JSON: %s (column %d)",
                           page, jerr.text, jerr.column);
    data = json_object_get(root, "data");
    paging = json_object_get(root, "paging");
    next = json_object_get(paging, "next");
    after = json_object_get(json_object_get(paging, "cursors"), "after");
    if (!json_is_object(root))
        rc = suf_err_set(err, SUF_ERR_INPUT, "catalog page %d: not a JSON object", page);
    else if (!json_is_array(data))
        rc = suf_err_set(err, SUF_ERR_INPUT, "catalog page %d: no \"data\" array", page);
    else if (paging && !json_is_object(paging))
        rc = suf_err_set(err, SUF_ERR_INPUT, "catalog page %d: \"paging\" is not an object",
                         page);
    else if (next && !json_is_string(next))
        rc = suf_err_set(err, SUF_ERR_INPUT, "catalog page %d: paging.next is not a string",
                         page);
    else if (after && (!json_is_string(after) || !json_string_length(after)))
        rc = suf_err_set(err, SUF_ERR_INPUT,
                         "catalog page %d: paging.cursors.after is not a cursor", page);
    else if (next && !after)
        rc = suf_err_set(err, SUF_ERR_INPUT,
                         "catalog page %d: paging.next says there is more, but no "
                         "paging.cursors.after names it",
                         page);
    if (!rc) {
        out->entries = json_array_size(data);
        out->more = next != NULL;
        out->after = after ? suf_xstrdup(json_string_value(after)) : NULL;
    }
    json_decref(root);
    return rc;
}

/* The request for the page after `after` (NULL: the first), the cursor
 * URL-encoded; NULL when it cannot be encoded. */
static char *page_path(const struct suf_config *cfg, const char *after)
{
    char *path, *esc = after ? curl_easy_escape(NULL, after, 0) : NULL;

    if (after && !esc) /* libcurl fails only when out of memory */
        return NULL;
    path = suf_xasprintf("/%s/%s/message_templates?fields=%s&limit=%lld%s%s",
                         cfg->api_version, cfg->waba_id, SUF_META_TEMPLATE_FIELDS,
                         (long long)cfg->page_size, esc ? "&after=" : "", esc ? esc : "");
    curl_free(esc);
    return path;
}

struct fetch {
    struct suf_run *run;
    struct suf_graph *g;
    char stamp[32];
    char **cursors; /* every cursor followed so far */
    int ncursors;
};

/* "20261124T030000Z" from the run's time. */
static void make_stamp(struct fetch *f)
{
    char iso[32];
    size_t j = 0;

    suf_time_format(suf_run_now(f->run), iso, sizeof(iso));
    for (size_t i = 0; iso[i] && j + 1 < sizeof(f->stamp); i++)
        if (iso[i] != '-' && iso[i] != ':')
            f->stamp[j++] = iso[i];
    f->stamp[j] = '\0';
}

static bool seen_cursor(const struct fetch *f, const char *after)
{
    for (int i = 0; i < f->ncursors; i++)
        if (!strcmp(f->cursors[i], after))
            return true;
    return false;
}

int suf_meta_templates_keep(struct suf_run *run, const char *what, const char *file,
                            const char *body, size_t len, struct suf_err *err)
{
    int rc;

    if (suf_graph_quotes_secret(body))
        return suf_err_set(err, SUF_ERR_INPUT, "%s quotes a secret (the access token?): not kept",
                           what);
    rc = suf_graph_keep(run->cfg->inbox_templates, file, body, len, "a catalog page", err);
    return rc ? rc : suf_import_path(run, "templates", suf_import_templates_api, file, NULL, err);
}

/* Checks, keeps and imports page `n` (its reply in `body`); `pg` gets what
 * the check found. */
static int take_page(struct fetch *f, int n, const char *body, size_t len,
                     struct suf_meta_page *pg, struct suf_err *err)
{
    const struct suf_config *cfg = f->run->cfg;
    char *file, what[40];
    int rc;

    if ((rc = suf_meta_page_check(body, len, n, pg, err)))
        return rc;
    if (pg->more && seen_cursor(f, pg->after))
        return suf_err_set(err, SUF_ERR_INPUT,
                           "catalog paging repeats cursor '%s' at page %d: not kept", pg->after,
                           n);
    file = suf_xasprintf("%s/api-%s-%s-run%lld-p%03d.json", cfg->inbox_templates, cfg->waba_id,
                         f->stamp, (long long)f->run->id, n);
    snprintf(what, sizeof(what), "catalog page %d", n);
    rc = suf_meta_templates_keep(f->run, what, file, body, len, err);
    if (!rc)
        suf_info("catalog page %d: %zu templates, kept in '%s'", n, pg->entries, file);
    free(file);
    return rc;
}

int suf_meta_templates_setup(const struct suf_config *cfg, struct suf_err *err)
{
    return suf_graph_check_inbox(cfg, "inbox_templates", cfg->inbox_templates,
                                 "the template catalog", "the catalog's pages", err);
}

int suf_meta_templates_fetch(struct suf_run *run, struct suf_graph *g, int *pages,
                             struct suf_err *err)
{
    struct fetch f = {.run = run, .g = g};
    char *after = NULL;
    int rc, n;

    if (pages)
        *pages = 0;
    if ((rc = suf_meta_templates_setup(run->cfg, err)))
        return rc;
    make_stamp(&f);
    for (n = 1; n <= SUF_META_MAX_PAGES; n++) {
        struct suf_graph_reply reply;
        struct suf_meta_page pg;
        char *path = page_path(run->cfg, after);

        if (!path) {
            rc = suf_err_set(err, SUF_ERR_INTERNAL, "cannot encode the cursor of page %d", n);
            break;
        }
        rc = suf_graph_get(g, path, &reply, err);
        free(path);
        if (rc)
            break;
        rc = take_page(&f, n, reply.body, reply.len, &pg, err);
        suf_graph_reply_release(&reply);
        if (rc) {
            suf_meta_page_release(&pg);
            break;
        }
        if (pages)
            *pages = n;
        suf_run_count(run, "catalog.pages", 1);
        suf_run_count(run, "catalog.templates", (int64_t)pg.entries);
        if (!pg.more) { /* the last page still has cursors.after: next decides */
            suf_meta_page_release(&pg);
            break;
        }
        f.cursors = suf_xrealloc(f.cursors, (size_t)(f.ncursors + 1) * sizeof(*f.cursors));
        f.cursors[f.ncursors++] = after = pg.after;
        pg.after = NULL;
        suf_meta_page_release(&pg);
    }
    if (!rc && n > SUF_META_MAX_PAGES)
        rc = suf_err_set(err, SUF_ERR_INPUT, "the catalog has more than %d pages: stopped",
                         SUF_META_MAX_PAGES);
    for (int i = 0; i < f.ncursors; i++)
        free(f.cursors[i]);
    free(f.cursors);
    return rc;
}

int suf_meta_templates_run(struct suf_run *run, struct suf_err *err)
{
    struct suf_graph g;
    int pages = 0, rc;

    if ((rc = suf_meta_templates_setup(run->cfg, err)) || (rc = suf_graph_open(&g, run, err)))
        return rc;
    rc = suf_meta_templates_fetch(run, &g, &pages, err);
    suf_graph_close(&g);
    if (!rc)
        suf_info("catalog: %d %s of WhatsApp Business Account %s fetched and imported", pages,
                 pages == 1 ? "page" : "pages", run->cfg->waba_id);
    return rc;
}
