/*
 * render.h: the exact bytes of a fallback's messages, from its frozen
 * inputs (DESIGN.md, "Decisions after the first release").
 *
 * Plan stores decisions, not requests: for each new fallback it keeps what
 * its messages are built from (fallback_inputs: the marketing template's
 * version, the permission template's settings, the attempt's values).  The
 * bytes are built from those, by this one piece of code, wherever they are
 * needed:
 *  - plan runs the builders in their check mode (no JSON made) to refuse
 *    what they refuse (a hole in the content excludes the recipient);
 *  - the send stage builds the utility body when it claims the row, and
 *    stores it with the in_flight mark;
 *  - reconcile builds the session parts when a consent is applied, and
 *    stores them queued;
 *  - `plan --explain` and `send --dry-run` print them.
 * The builders are pure and the inputs immutable, so every one of these
 * gets the same bytes for the same message.
 *
 * Invariants:
 *  - a body's text is json_dumps(body, JSON_COMPACT) (suf_render_text):
 *    the bytes stored, posted and printed; the utility body's are written
 *    directly by its builder (suf_utility_text), the same bytes;
 *  - a fallback planned by an earlier release has no inputs (its requests
 *    were stored whole when planned): SUF_ERR_NOTFOUND.
 *
 * Steps for a reader of the store:
 *  1. suf_render_open(st, &r, &err);
 *  2. suf_render_utility(r, id, n, &text, &err) or
 *     suf_render_session(r, id, parts, &nparts, &err), any number of times;
 *  3. suf_render_free(r).
 */
#ifndef SUF_RENDER_H
#define SUF_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/status.h"
#include "plan/scenario.h"
#include "store/store.h"

/* Everything the builders read for one fallback (all borrowed). */
struct suf_render_inputs {
    const struct suf_template *tpl; /* the marketing template's version */
    int scenario;                   /* 1..8 */
    struct suf_content content;     /* content.to is the fallback's phone */
    struct suf_utility_opts utility;
    struct suf_session_opts session;
    const char *campaign_name; /* as the permission message names it */
};

/* The utility body of fallback `id`, callback "suf:<id>:u<n>": its bytes
 * into *text (malloc'd; the caller frees).  SUF_ERR_INPUT or
 * SUF_ERR_CONFIG when the builder refuses, with `why` (at most `size`
 * bytes) saying so.  With text NULL it only checks. */
int suf_render_utility_bytes(const struct suf_render_inputs *in, int64_t id, int n, char **text,
                             char *why, size_t size);
/* The same body as a tree, into *body (a new reference: the bytes parsed
 * back).  SUF_ERR_INPUT or SUF_ERR_CONFIG when the builder
 * refuses, with `why` (at most `size` bytes) saying so.  With body NULL,
 * and parts NULL below, the builder only checks (scenario.h). */
int suf_render_utility_json(const struct suf_render_inputs *in, int64_t id, int n, json_t **body,
                            char *why, size_t size);
/* The session parts of fallback `id` in send order (one or two new
 * references); SUF_ERR_INPUT with `why` when the content has a hole. */
int suf_render_session_json(const struct suf_render_inputs *in, int64_t id, json_t *parts[2],
                            size_t *nparts, char *why, size_t size);
/* Whether the builders of fallback `id`'s messages would refuse, by the
 * same code run without making JSON: SUF_OK, or what the refusing build
 * returns, with the same `why`. */
int suf_render_check(const struct suf_render_inputs *in, int64_t id, char *why, size_t size);
/* The bytes of `body`: compact JSON, malloc'd (the caller frees); NULL only
 * when jansson cannot write it. */
char *suf_render_text(const json_t *body);
/* A JSON array stored as text (attempts' and fallback_inputs' vars,
 * url_suffixes, button_payloads), or NULL when empty, absent or not an
 * array.  A new reference. */
json_t *suf_render_array(const char *text);

struct suf_render;

/* Prepares the statements on `st`; *out is NULL on failure. */
int suf_render_open(struct suf_store *st, struct suf_render **out, struct suf_err *err);
/* Accepts NULL. */
void suf_render_free(struct suf_render *r);

/* The bytes of fallback `id`'s utility message number `n`, built from its
 * frozen inputs, into *text (malloc'd; the caller frees).  SUF_ERR_NOTFOUND
 * when it has none; SUF_ERR_INPUT or SUF_ERR_CONFIG, err naming the
 * fallback and why, when the builder refuses. */
int suf_render_utility(struct suf_render *r, int64_t id, int n, char **text,
                       struct suf_err *err);
/* The same for its session parts: *nparts (1 or 2) texts into parts[],
 * in send order. */
int suf_render_session(struct suf_render *r, int64_t id, char *parts[2], size_t *nparts,
                       struct suf_err *err);

#endif /* SUF_RENDER_H */
