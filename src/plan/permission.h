/*
 * permission.h: whether a permission template can ask a customer's
 * permission, decided once for the plan (which warns when a campaign's
 * template cannot) and the send stage (which blocks the campaign's
 * fallbacks until it can).
 *
 * The catalog entry is what Meta listed when it was last read; the live
 * state (templates.live_*) is what suf heard last, from the catalog or a
 * newer template webhook (a pause, an approval, a re-categorisation).  The
 * live state wins where it says something.
 */
#ifndef SUF_PERMISSION_H
#define SUF_PERMISSION_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

struct suf_store;

/* What suf last heard of a template; NULL members and at 0 when nothing. */
struct suf_template_live {
    const char *status, *category, *reason;
    int64_t at;
};

/*
 * Why the template whose catalog entry is `json` (NULL: not in the
 * catalog), with the live state `live`, cannot ask permission, in words
 * written into `why` (or a constant): its status or category as Meta's
 * manager names them, and since when.  NULL when it can.  `no_button` is
 * the config's utility_no_button.
 */
const char *suf_permission_refusal(const char *json, const struct suf_template_live *live,
                                   int no_button, char *why, size_t size);

/*
 * The same, for the template (name, language) as the store holds it:
 * *refusal gets the words (in `why`, or a constant) or NULL.  Returns
 * SUF_OK or SUF_ERR_DB.
 */
int suf_permission_check(struct suf_store *st, const char *name, const char *language,
                         int no_button, const char **refusal, char *why, size_t size,
                         struct suf_err *err);

#endif /* SUF_PERMISSION_H */
