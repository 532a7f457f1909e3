/*
 * render.c: a fallback's messages, built from its frozen inputs (see
 * render.h).
 *
 * The pure half wraps the builders of scenario.c with the messages plan
 * stores as a recipient's detail when they refuse; the store half reads a
 * fallback's inputs (fallback_inputs with its template version and its
 * settings) and hands them to the pure half.  Nothing here writes: the
 * caller stores the bytes where they belong, in its own transaction.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "plan/render.h"
#include "base/banned.h"

/* The refusal of a utility build, as plan stores it. */
static int utility_refused(int rc, const char *w, char *why, size_t size)
{
    if (rc)
        snprintf(why, size, "utility message: %s", w ? w : "cannot be built");
    return rc;
}

int suf_render_utility_bytes(const struct suf_render_inputs *in, int64_t id, int n, char **text,
                             char *why, size_t size)
{
    const char *w = NULL;
    int rc = suf_utility_text(&in->utility, in->content.to, in->campaign_name,
                              in->content.customer_name, id, n, text, &w);

    return utility_refused(rc, w, why, size);
}

int suf_render_utility_json(const struct suf_render_inputs *in, int64_t id, int n, json_t **body,
                            char *why, size_t size)
{
    const char *w = NULL;
    int rc = suf_utility_build(&in->utility, in->content.to, in->campaign_name,
                               in->content.customer_name, id, n, body, &w);

    return utility_refused(rc, w, why, size);
}

int suf_render_session_json(const struct suf_render_inputs *in, int64_t id, json_t *parts[2],
                            size_t *nparts, char *why, size_t size)
{
    const char *w = NULL;
    int rc;

    *nparts = 0;
    rc = suf_session_build(in->tpl, in->scenario, &in->content, id, &in->session, parts, nparts,
                           &w);
    if (rc) {
        snprintf(why, size, "session message: %s", w ? w : "cannot be built");
        return SUF_ERR_INPUT;
    }
    return SUF_OK;
}

/* The builders themselves, told to make no JSON (scenario.h): one path, so
 * the check and the build cannot disagree.  The session parts first, then
 * the utility body, the order plan builds them in, so that the first
 * refusal named is the same. */
int suf_render_check(const struct suf_render_inputs *in, int64_t id, char *why, size_t size)
{
    size_t n = 0;
    int rc = suf_render_session_json(in, id, NULL, &n, why, size);

    return rc ? rc : suf_render_utility_bytes(in, id, 1, NULL, why, size);
}

char *suf_render_text(const json_t *body)
{
    return json_dumps(body, JSON_COMPACT);
}

json_t *suf_render_array(const char *text)
{
    json_t *j;

    if (!text || !*text)
        return NULL;
    j = json_loads(text, JSON_DECODE_ANY, NULL);
    if (j && !json_is_array(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* --- from the store -------------------------------------------------------- */

struct suf_render {
    struct suf_store *st;
    sqlite3_stmt *load;    /* every input (session parts) */
    sqlite3_stmt *load_u;  /* the utility body's inputs only */
};

/* The columns of one fallback's inputs; the template's JSON comes last. */
enum {
    I_PHONE, I_SCENARIO, I_CNAME, I_TEXT, I_VARS, I_MEDIA, I_SUFFIXES, I_PAYLOADS, I_CUSTOMER,
    I_UTEMPLATE, I_ULANG, I_UPARAMS, I_UNOBUTTON, I_LIST_LABEL, I_JSON
};

static const char load_sql[] =
    "SELECT f.phone, f.scenario, i.campaign_name, i.text, i.vars, i.header_media_url, "
    "i.url_suffixes, i.button_payloads, i.customer_name, m.utility_template, "
    "m.utility_language, m.utility_params, m.utility_no_button, m.list_button_label, v.json "
    "FROM fallback_inputs i JOIN fallbacks f ON f.id = i.fallback_id "
    "JOIN message_settings m ON m.id = i.settings "
    "JOIN template_versions v ON v.id = i.template_version WHERE i.fallback_id = ?1";

/* The same columns for the utility body, which reads neither the template
 * version nor the content's arrays: NULL in their places, and no seek into
 * template_versions (its rows are never deleted, so the join drops none). */
static const char load_u_sql[] =
    "SELECT f.phone, f.scenario, i.campaign_name, NULL, NULL, NULL, NULL, NULL, "
    "i.customer_name, m.utility_template, m.utility_language, m.utility_params, "
    "m.utility_no_button, m.list_button_label, NULL "
    "FROM fallback_inputs i JOIN fallbacks f ON f.id = i.fallback_id "
    "JOIN message_settings m ON m.id = i.settings WHERE i.fallback_id = ?1";

int suf_render_open(struct suf_store *st, struct suf_render **out, struct suf_err *err)
{
    struct suf_render *r = suf_xcalloc(1, sizeof(*r));

    r->st = st;
    r->load = suf_store_prepare(st, load_sql, err);
    if (r->load)
        r->load_u = suf_store_prepare(st, load_u_sql, err);
    if (!r->load_u) {
        suf_render_free(r);
        r = NULL;
    }
    *out = r;
    return r ? SUF_OK : SUF_ERR_DB;
}

void suf_render_free(struct suf_render *r)
{
    if (!r)
        return;
    sqlite3_finalize(r->load);
    sqlite3_finalize(r->load_u);
    free(r);
}

static const char *col(sqlite3_stmt *s, int i)
{
    const char *v = (const char *)sqlite3_column_text(s, i);
    return v && *v ? v : NULL;
}

/* What one loaded row owns besides the statement's own columns. */
struct loaded {
    struct suf_render_inputs in;
    struct suf_template t;
    json_t *vars, *suffixes, *payloads;
};

static void loaded_release(struct loaded *l)
{
    suf_template_release(&l->t);
    json_decref(l->vars);
    json_decref(l->suffixes);
    json_decref(l->payloads);
}

/*
 * Reads fallback `id`'s inputs into *l (the strings borrowed from r->load,
 * or r->load_u without the template, which stays stepped until the caller
 * resets it); parses the template's
 * version and the content's arrays when `with_template` (the session
 * parts'; the utility body needs neither).
 */
static int load(struct suf_render *r, int64_t id, bool with_template, struct loaded *l,
                struct suf_err *err)
{
    sqlite3_stmt *s = with_template ? r->load : r->load_u;
    struct suf_err perr = SUF_ERR_INIT;
    const char *scenario;
    int64_t sc = 0;
    int src;

    memset(l, 0, sizeof(*l));
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, id);
    src = sqlite3_step(s);
    if (src == SQLITE_DONE)
        return suf_err_set(err, SUF_ERR_NOTFOUND,
                           "fallback %" PRId64 " has no frozen inputs (planned by an earlier "
                           "release)",
                           id);
    if (src != SQLITE_ROW)
        return suf_store_fail(r->st, err, "fallback_inputs");
    l->in.content.to = col(s, I_PHONE);
    l->in.content.text = col(s, I_TEXT);
    l->in.content.header_media_url = col(s, I_MEDIA);
    l->in.content.customer_name = col(s, I_CUSTOMER);
    l->in.campaign_name = col(s, I_CNAME);
    l->in.utility.template_name = col(s, I_UTEMPLATE);
    l->in.utility.language = col(s, I_ULANG);
    l->in.utility.params = col(s, I_UPARAMS);
    l->in.utility.no_button = sqlite3_column_int(s, I_UNOBUTTON);
    l->in.session.list_button_label = col(s, I_LIST_LABEL);
    scenario = col(s, I_SCENARIO);
    if (scenario && scenario[0] == 'S' && !suf_parse_i64(scenario + 1, &sc) && sc >= 1 && sc <= 8)
        l->in.scenario = (int)sc;
    if (!with_template)
        return SUF_OK;
    /* the session parts' own inputs: the utility body reads none of them */
    l->vars = suf_render_array(col(s, I_VARS));
    l->suffixes = suf_render_array(col(s, I_SUFFIXES));
    l->payloads = suf_render_array(col(s, I_PAYLOADS));
    l->in.content.vars = l->vars;
    l->in.content.url_suffixes = l->suffixes;
    l->in.content.button_payloads = l->payloads;
    if (suf_template_parse(col(s, I_JSON), &l->t, &perr))
        return suf_err_set(err, SUF_ERR_INPUT,
                           "fallback %" PRId64 ": its template version cannot be read: %s", id,
                           perr.msg);
    l->in.tpl = &l->t;
    return SUF_OK;
}

int suf_render_utility(struct suf_render *r, int64_t id, int n, char **text, struct suf_err *err)
{
    struct loaded l;
    char why[256];
    int rc = load(r, id, false, &l, err);

    *text = NULL;
    if (!rc && (rc = suf_render_utility_bytes(&l.in, id, n, text, why, sizeof(why))))
        suf_err_set(err, rc, "fallback %" PRId64 ": %s", id, why);
    loaded_release(&l);
    sqlite3_reset(r->load_u);
    return rc;
}

int suf_render_session(struct suf_render *r, int64_t id, char *parts[2], size_t *nparts,
                       struct suf_err *err)
{
    struct loaded l;
    json_t *bodies[2] = {NULL, NULL};
    size_t n = 0;
    char why[256];
    int rc = load(r, id, true, &l, err);

    *nparts = 0;
    if (!rc && (rc = suf_render_session_json(&l.in, id, bodies, &n, why, sizeof(why))))
        suf_err_set(err, rc, "fallback %" PRId64 ": %s", id, why);
    for (size_t i = 0; !rc && i < n; i++) {
        if (!(parts[i] = suf_render_text(bodies[i])))
            rc = suf_err_set(err, SUF_ERR_INTERNAL,
                             "fallback %" PRId64 ": session part %zu cannot be written", id,
                             i + 1);
        else
            *nparts = i + 1;
    }
    if (rc) {
        for (size_t i = 0; i < *nparts; i++)
            free(parts[i]);
        *nparts = 0;
    }
    for (size_t i = 0; i < n; i++)
        json_decref(bodies[i]);
    loaded_release(&l);
    sqlite3_reset(r->load);
    return rc;
}
