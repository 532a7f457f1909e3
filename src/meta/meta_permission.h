/*
 * meta_permission.h: the permission template, provisioned.
 *
 * `suf templates ensure-permission` makes sure that every permission
 * template suf will send exists in the WhatsApp Business Account:
 *  1. the templates: each campaign's utility_template / utility_language
 *     (its settings over the config's; the config's own pair too, for
 *     campaigns still to come), in that one language (a campaign has one
 *     utility language), plus each language asked with --language;
 *  2. each is looked up by name (GET message_templates?name=...); the reply
 *     is kept and imported as a catalog page (meta_templates.h), so the
 *     catalog row and its live state are Meta's word of now;
 *  3. one that Meta does not have is created (POST message_templates):
 *     category UTILITY, parameter_format POSITIONAL (the utility message
 *     sends its parameters without names), the body permission_body with
 *     permission_example as its example, and the quick replies
 *     permission_yes (and permission_no when utility_no_button is on); the
 *     template Meta answers with (its id, status PENDING) is kept and
 *     imported as a catalog page of one entry;
 *  4. a POST is never tried again blindly: when its reply is lost or says
 *     "try again", the template is looked up again first, and adopted if it
 *     is there; else created again, at most max_tries times, waiting
 *     suf_cloudapi_backoff_ms() between tries.
 * A dry run looks up (GETs only) and says what it would create.
 *
 * The review then goes on at Meta: its status arrives by webhook
 * (message_template_status_update, events.h) into the live state, which
 * the send stage's gate reads.
 */
#ifndef SUF_META_PERMISSION_H
#define SUF_META_PERMISSION_H

#include <stdbool.h>
#include <stddef.h>

#include "base/config.h"
#include "base/context.h"
#include "meta/graph.h"

/* One permission template and what became of it.  Strings owned. */
struct suf_perm {
    char *name;
    char *language;
    char *id;       /* Meta's id; NULL when Meta has none */
    char *status;   /* as Meta says (APPROVED, PENDING, PAUSED, ...); NULL when none */
    char *category; /* as Meta says; NULL when none */
    const char *action; /* static: "exists", "created", "adopted", "would create", "failed" */
    char *error;    /* why it failed (action "failed"), else NULL */
};

struct suf_perm_list {
    struct suf_perm *v;
    size_t n;
};

void suf_perm_list_release(struct suf_perm_list *l);

/*
 * Fills `out` (release with suf_perm_list_release) with the templates of
 * step 1, sorted by name and language, once each: of run->campaign alone
 * when set, else of every campaign the store knows and the config's pair;
 * each name also in each of the `nlang` `languages`.  SUF_ERR_NOTFOUND for
 * a run->campaign the store does not know; SUF_ERR_DB.
 */
int suf_meta_permission_targets(struct suf_run *run, const char *const *languages,
                                size_t nlang, struct suf_perm_list *out, struct suf_err *err);

/*
 * The body of the POST that creates template `name` in `language` from the
 * config (step 3), as a JSON text the caller frees; NULL with `err` filled:
 * SUF_ERR_CONFIG when the config's body does not have one variable per
 * utility_params source, SUF_ERR_TEMPLATE when the name is not one Meta
 * takes (lowercase letters, digits and '_').
 */
char *suf_meta_permission_request(const struct suf_config *cfg, const char *name,
                                  const char *language, struct suf_err *err);

/*
 * Steps 2 to 4 for each template of `list` through `g`, filling in its id,
 * status, category and action.  A template Meta refuses to create is
 * "failed" with Meta's words (redacted) in its error, and the others go on;
 * the return is then SUF_ERR_TEMPLATE (or SUF_ERR_NETWORK when one could
 * not be settled over the network).  A refused token (SUF_ERR_CONFIG), a
 * stop asked by a signal, or a store or disk error stops at once.
 */
int suf_meta_permission_ensure(struct suf_run *run, struct suf_graph *g,
                               struct suf_perm_list *list, struct suf_err *err);

/* suf_meta_permission_ensure over a libcurl client opened for it, after
 * checking waba_id and inbox_templates. */
int suf_meta_permission_run(struct suf_run *run, struct suf_perm_list *list,
                            struct suf_err *err);

#endif /* SUF_META_PERMISSION_H */
