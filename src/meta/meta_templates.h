/*
 * meta_templates.h: the template catalog, fetched from the API.
 *
 * `suf import templates --from-api` and the `catalog` stage of `suf run`
 * read GET /{api_version}/{waba_id}/message_templates page by page, and
 * each page goes through the file import, exactly as a page saved by hand:
 *  1. the page is fetched (graph.h: rate limit, retries, redaction);
 *  2. it is checked: a JSON object with a "data" array; when paging.next
 *     says there is more, paging.cursors.after names the next page; a
 *     page that fails the check is an error naming its number, and nothing
 *     of it is kept;
 *  3. a page that holds a registered secret (a reply that quotes the
 *     token) is an error too, and is written nowhere;
 *  4. it is written to inbox_templates as "api-<waba>-<stamp>-run<id>-
 *     p<NNN>.json" (a temporary dot file, synced, then renamed: a reader
 *     never sees half a page), kept there for audit;
 *  5. it is imported from that file with suf_import_path (the same hash,
 *     the same one transaction per file, the same rejects); a later run
 *     sees the file as imported already and skips it.
 * Paging ends on a page without paging.next (the last page still carries
 * cursors.after).  The next request is built from base_url, the path and
 * `after=<cursor>` (URL-encoded): paging.next, a URL from outside, is
 * never followed.  A cursor seen twice is an error, not a loop, and at
 * most SUF_META_MAX_PAGES pages are read.  Pages before a failing one stay
 * imported, each whole.
 */
#ifndef SUF_META_TEMPLATES_H
#define SUF_META_TEMPLATES_H

#include <stdbool.h>
#include <stddef.h>

#include "base/config.h"
#include "base/context.h"
#include "meta/graph.h"

/* No catalog has this many pages: a server that keeps giving new cursors
 * is stopped here. */
#define SUF_META_MAX_PAGES 10000

/* The fields suf asks for each template. */
#define SUF_META_TEMPLATE_FIELDS                                                         \
    "id,name,language,status,category,parameter_format,components,rejected_reason,"      \
    "quality_score,previous_category"

/* What the check found in one page. */
struct suf_meta_page {
    size_t entries; /* the length of "data" */
    bool more;      /* paging.next is there */
    char *after;    /* paging.cursors.after, or NULL; owned */
};

/*
 * Checks one catalog page (`body`, `len` bytes, need not be NUL-terminated)
 * for page number `page`: a JSON object with a "data" array; "paging", when
 * there, an object; when paging.next is there, a non-empty string
 * paging.cursors.after.  Fills `out` (release with suf_meta_page_release)
 * or returns SUF_ERR_INPUT with "catalog page N: <why>" in `err`.
 */
int suf_meta_page_check(const char *body, size_t len, int page, struct suf_meta_page *out,
                        struct suf_err *err);
void suf_meta_page_release(struct suf_meta_page *p);

/* SUF_ERR_CONFIG unless waba_id and inbox_templates are set; creates the
 * inbox when it is not there (SUF_ERR_CANTCREAT when it cannot). */
int suf_meta_templates_setup(const struct suf_config *cfg, struct suf_err *err);

/*
 * Keeps `body` (`len` bytes, NUL-terminated: a catalog page suf fetched or
 * made) as `file` in inbox_templates, and imports it from there, steps 3
 * to 5 above: SUF_ERR_INPUT "<what> quotes a secret ..." when it holds a
 * registered secret (then written nowhere), else the errors of writing and
 * of the import.
 */
int suf_meta_templates_keep(struct suf_run *run, const char *what, const char *file,
                            const char *body, size_t len, struct suf_err *err);

/*
 * Fetches the whole catalog of cfg->waba_id through `g` and imports it
 * (the steps above).  `pages` (may be NULL) gets the number of pages
 * imported.  SUF_ERR_CONFIG when waba_id or inbox_templates is not set;
 * the errors of suf_graph_get; SUF_ERR_INPUT for a page that fails the
 * check, quotes a secret, or repeats a cursor; SUF_ERR_CANTCREAT/IO when
 * a page cannot be written; the import's errors.
 */
int suf_meta_templates_fetch(struct suf_run *run, struct suf_graph *g, int *pages,
                             struct suf_err *err);

/* suf_meta_templates_fetch over a libcurl client opened for it. */
int suf_meta_templates_run(struct suf_run *run, struct suf_err *err);

#endif /* SUF_META_TEMPLATES_H */
