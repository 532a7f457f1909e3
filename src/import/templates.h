/*
 * templates.h: importing Meta's template catalog.
 *
 * The input is what `GET /{WABA-ID}/message_templates` returns, one page per
 * file: {"data":[...],"paging":{...}}.  Each entry is upserted into the
 * `templates` table by (name, language), with its status, category, Meta id
 * and the entry itself re-serialised compactly, so a later page or a newer
 * export of the catalog replaces what an older one said; its status and
 * category are also the template's live state (live_status, live_category,
 * live_reason from rejected_reason, live_at = the page's time: its
 * modification time, not after the run's; a live state newer than the page
 * stays).  The scenario of a
 * template is not stored: it is derived from the JSON (scenario.h) when the
 * plan needs it.
 */
#ifndef SUF_TEMPLATES_H
#define SUF_TEMPLATES_H

#include <stdio.h>

#include "import/import.h"

/* Files larger than this are refused rather than loaded whole. */
#define SUF_TEMPLATES_MAX_BYTES (64L * 1024 * 1024)

/*
 * The `templates` kind of suf_import_path().  A file that is not JSON, is
 * too large, or has no "data" array is SUF_ERR_INPUT naming the file (and
 * the line and column of a syntax error); an entry without a name or a
 * language is rejected (suf_import_reject) with its index, and the others
 * are imported.
 */
int suf_import_templates(struct suf_import_file *f, FILE *in, struct suf_err *err);

/* The same, for a page the meta stage fetched from the API: it does not
 * log that the catalog has more pages (the fetch takes them itself). */
int suf_import_templates_api(struct suf_import_file *f, FILE *in, struct suf_err *err);

#endif /* SUF_TEMPLATES_H */
