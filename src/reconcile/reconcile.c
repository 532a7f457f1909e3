/*
 * reconcile.c: the SQL around the fallback state machine (see reconcile.h
 * for what it does, fsm.h for the rules).
 *
 * Events are read from `event_queue` in chunks ordered by (ts, id) with a
 * keyset cursor, copied out of the statement (so no table is modified under
 * a running SELECT), applied one by one, and taken out of the queue by one
 * range delete in the chunk's transaction.  The queue, not a flag on each
 * event, says what is left to do: marking a million events processed
 * rewrote a million rows.  A loader thread with a read-only connection of
 * its own loads the next chunk while the current one is applied (see struct
 * loader), and WAL checkpoints run on a thread of their own (store/ckpt.h).
 * Every decision about a fallback's state is made by suf_fsm_step(); this
 * file only finds the rows, loads them, and writes back what the machine
 * returned through its one writer (store/fsm_db.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/handoff.h"
#include "base/log.h"
#include "base/progress.h"
#include "base/util.h"
#include "plan/render.h"
#include "reconcile/reconcile.h"
#include "store/ckpt.h"
#include "store/fsm.h"
#include "store/fsm_db.h"
#include "base/banned.h"

#define CHUNK 20000
/* Page cache while reconciling: bounded, not per event.  Chunks walk the
 * tables in time order, so a big cache buys little and costs a malloc and a
 * page fault per page (64 MiB measured 15-25% slower than 8 MiB). */
#define CACHE_KIB 8192
#define NO_STR ((size_t)-1)
#define OPTOUT_CODE 131050
#define MAX_TALLY 48 /* distinct counts kept locally (there are about 30) */

/* --- pure helpers ---------------------------------------------------------- */

bool suf_reconcile_parse_payload(const char *payload, int64_t *fallback_id, bool *yes)
{
    const char *p, *colon;
    char num[24];
    size_t n;

    if (!payload || strncmp(payload, "suf:", 4))
        return false;
    p = payload + 4;
    colon = strchr(p, ':');
    if (!colon || colon == p || (size_t)(colon - p) >= sizeof(num))
        return false;
    n = (size_t)(colon - p);
    memcpy(num, p, n);
    num[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)num[i]))
            return false;
    if (suf_parse_i64(num, fallback_id) || *fallback_id <= 0)
        return false;
    if (!strcmp(colon + 1, "yes"))
        *yes = true;
    else if (!strcmp(colon + 1, "no"))
        *yes = false;
    else
        return false;
    return true;
}

/* Compares text[0..n) with a keyword, case-insensitively. */
static bool word_eq(const char *text, size_t n, const char *kw, size_t kn)
{
    if (n != kn || !n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)text[i]) != tolower((unsigned char)kw[i]))
            return false;
    return true;
}

bool suf_reconcile_keyword(const char *keywords, const char *text)
{
    const char *t, *end, *k;

    if (!keywords || !text)
        return false;
    t = text;
    while (isspace((unsigned char)*t))
        t++;
    end = t + strlen(t);
    while (end > t && (isspace((unsigned char)end[-1]) || strchr(".!?", end[-1])))
        end--;
    for (k = keywords; *k;) {
        const char *comma = strchr(k, ',');
        const char *ke = comma ? comma : k + strlen(k);
        const char *ks = k;

        while (ks < ke && isspace((unsigned char)*ks))
            ks++;
        while (ke > ks && isspace((unsigned char)ke[-1]))
            ke--;
        if (word_eq(t, (size_t)(end - t), ks, (size_t)(ke - ks)))
            return true;
        if (!comma)
            break;
        k = comma + 1;
    }
    return false;
}

/* --- the statements -------------------------------------------------------- */

/* Text is bound with suf_bind_text_static(): every bound string (the chunk's
 * arena, a loaded row, a literal) outlives the step and reset that use it. */

enum {
    Q_EVENTS,
    Q_SEND_BY_WAMID,
    Q_SEND_BY_CALLBACK,
    Q_SEND_UPDATE,
    Q_SEND_RESOLVE,
    Q_UTILITY_BY_WAMID,
    Q_FB_LOAD,
    Q_FB_KEYWORD,
    Q_FB_BY_PHONE,
    Q_QUEUE_SESSION,
    Q_HAS_SESSION,
    Q_INSERT_SESSION,
    Q_CANCEL_SENDS,
    Q_MARK,
    Q_UNMARK,
    Q_OPTOUT,
    Q_TICK,
    Q_COUNT
};

/* A fallback's machine row: read by fb_from_row(). */
#define FB_COLS SUF_FSM_DB_COLS
#define FB_NCOLS SUF_FSM_DB_NCOLS
#define SEND_FB_BASE 19 /* where FB_COLS start in SEND_COLS */

/* A send and its fallback; the last part's number is looked up for session
 * parts only, the only ones whose "last part" the machine reads. */
#define SEND_SEL                                                                               \
    "s.id, s.fallback_id, s.kind, s.part, s.state, s.delivery, s.wamid, s.sent_at, "          \
    "s.delivered_at, s.read_at, s.failed_at, s.error_code, s.pricing_billable, "              \
    "s.pricing_model, s.pricing_type, s.pricing_category, f.campaign_id, f.phone, "           \
    "CASE s.kind WHEN 's' THEN (SELECT MAX(m.part) FROM sends m WHERE m.fallback_id = "      \
    "s.fallback_id AND m.kind = 's') ELSE s.part END, "                                       \
    FB_COLS
#define SEND_COLS                                                                              \
    SEND_SEL "FROM sends s JOIN fallbacks f ON f.id = s.fallback_id "                         \
    "LEFT JOIN campaigns c ON c.campaign_id = f.campaign_id "
#define SEND_NCOLS (SEND_FB_BASE + FB_NCOLS)
#define EV_NCOLS 17 /* where SEND_SEL starts in Q_EVENTS, followed by f.id */

static const char *const sql[Q_COUNT] = {
    /* each event with the send its wamid names, as Q_SEND_BY_WAMID finds
     * it, and that send's fallback: one statement per chunk instead of one
     * per status */
    [Q_EVENTS] = "SELECT e.id, e.kind, e.wamid, e.status, q.ts, e.recipient, e.callback, "
                 "e.error_code, e.pricing_billable, e.pricing_model, e.pricing_type, "
                 "e.pricing_category, e.from_phone, e.context_id, e.msg_type, e.payload, e.text, "
                 SEND_SEL ", f.id "
                 "FROM event_queue q JOIN events e ON e.id = q.id "
                 "LEFT JOIN sends s ON e.kind = 'status' AND s.id = "
                 "(SELECT w.id FROM sends w WHERE w.wamid = e.wamid LIMIT 1) "
                 "LEFT JOIN fallbacks f ON f.id = s.fallback_id "
                 "LEFT JOIN campaigns c ON c.campaign_id = f.campaign_id "
                 "WHERE (q.ts, q.id) > (?1, ?2) ORDER BY q.ts, q.id LIMIT ?3",
    [Q_SEND_BY_WAMID] = "SELECT " SEND_COLS "WHERE s.wamid = ?1 LIMIT 1",
    [Q_SEND_BY_CALLBACK] = "SELECT " SEND_COLS "WHERE s.callback = ?1",
    /* no indexed column in the SET list: SQLite rewrites the index entries
     * of every column it sets, changed or not */
    [Q_SEND_UPDATE] = "UPDATE sends SET sent_at = ?3, delivery = ?4, "
                      "delivered_at = ?5, read_at = ?6, failed_at = ?7, error_code = ?8, "
                      "pricing_billable = ?9, pricing_model = ?10, pricing_type = ?11, "
                      "pricing_category = ?12, updated_at = ?13 WHERE id = ?14",
    [Q_SEND_RESOLVE] = "UPDATE sends SET state = 'sent', wamid = ?1, updated_at = ?2 "
                       "WHERE id = ?3 AND state = 'unknown'",
    [Q_UTILITY_BY_WAMID] = "SELECT fallback_id FROM sends WHERE wamid = ?1 AND kind = 'u' LIMIT 1",
    [Q_FB_LOAD] = "SELECT " FB_COLS ", f.phone, f.campaign_id FROM fallbacks f "
                  "LEFT JOIN campaigns c ON c.campaign_id = f.campaign_id WHERE f.id = ?1",
    /* the phone's most recently asked fallback still able to answer */
    [Q_FB_KEYWORD] = "SELECT id FROM fallbacks WHERE phone = ?1 AND state IN "
                     "('utility_delivered', 'no_response') "
                     "ORDER BY utility_delivered_at DESC, id DESC LIMIT 1",
    /* the phone's fallbacks an opt-out can end (the machine's list) */
    [Q_FB_BY_PHONE] = "SELECT id FROM fallbacks WHERE phone = ?1 "
                      "AND state IN " SUF_FSM_DB_STATES,
    /* "+kind", "+state": look the rows up by fallback, never by the state
     * index, which would scan every held send of every fallback.  OR FAIL:
     * a statement that may write several rows and may abort keeps a
     * statement journal (a copy of each page it touches) to undo itself;
     * a failure here fails the whole chunk's transaction anyway */
    [Q_QUEUE_SESSION] = "UPDATE OR FAIL sends SET state = 'queued', queued_at = ?1, "
                        "updated_at = ?1 "
                        "WHERE fallback_id = ?2 AND +kind = 's' AND +state = 'held'",
    /* a consent builds the session parts from the fallback's frozen inputs
     * (plan/render.h) and stores them queued, unless it has parts already
     * (held ones that an earlier release stored, queued by the statement
     * above) */
    [Q_HAS_SESSION] = "SELECT EXISTS (SELECT 1 FROM sends WHERE fallback_id = ?1 AND kind = 's')",
    [Q_INSERT_SESSION] = "INSERT INTO sends (fallback_id, kind, part, n, callback, body, state, "
                         "queued_at, updated_at) VALUES (?1, 's', ?2, ?2, ?3, ?4, 'queued', ?5, ?5)",
    [Q_CANCEL_SENDS] = "UPDATE OR FAIL sends SET state = 'cancelled', updated_at = ?1 "
                       "WHERE fallback_id = ?2 AND +state IN ('held', 'queued')",
    /* the chunk's keyset range (ts, id) in (?1 ?2, ?3 ?4]: exactly its rows
     * leave the queue; the events rows are not written again */
    [Q_MARK] = "DELETE FROM event_queue WHERE (ts, id) > (?1, ?2) AND (ts, id) <= (?3, ?4)",
    [Q_UNMARK] = "INSERT INTO event_queue (ts, id) VALUES (?1, ?2)",
    [Q_OPTOUT] = "INSERT OR IGNORE INTO optouts (phone, at, source, campaign_id) "
                 "VALUES (?1, ?2, ?3, ?4)",
    /* the fallbacks whose time ran out, one state per arm: each state has
     * a partial index of its own (store.c) */
    [Q_TICK] = "SELECT f.id FROM fallbacks f "
               "LEFT JOIN campaigns c ON c.campaign_id = f.campaign_id "
               "WHERE f.state = 'utility_delivered' AND (f.utility_delivered_at + ?1 "
               "<= ?3 OR c.valid_until <= ?3) AND (?4 IS NULL OR f.campaign_id = ?4) "
               "UNION ALL "
               "SELECT f.id FROM fallbacks f WHERE f.state = 'consented' "
               "AND f.consented_at + ?2 < ?3 AND (?4 IS NULL OR f.campaign_id = ?4) "
               "ORDER BY 1",
};

/* A set of fallback ids: open addressing, 0 = empty (ids are positive). */
struct idset {
    int64_t *slot;
    size_t cap, n;
};

struct rec {
    struct suf_run *run;
    struct suf_store *st;
    struct suf_fsm_params p;
    sqlite3_stmt *q[Q_COUNT];
    struct suf_fsm_db fsm; /* writes every fallback back */
    struct {
        const char *name;
        int64_t n;
    } tally[MAX_TALLY];
    size_t ntally;
    /* fallbacks whose row, or one of whose sends, was written by this chunk
     * (dirty[cur]) or the one before (the other): a chunk is loaded while
     * the one before it is applied, so their preloaded rows may be stale */
    struct idset dirty[2];
    int cur;
    struct suf_render *render; /* builds the session parts of a consent */
};

/* --- the written fallbacks ---------------------------------------------------- */

static size_t idset_at(const struct idset *d, int64_t id)
{
    size_t i = ((uint64_t)id * UINT64_C(0x9E3779B97F4A7C15)) >> 20 & (d->cap - 1);

    while (d->slot[i] && d->slot[i] != id)
        i = (i + 1) & (d->cap - 1);
    return i;
}

static void idset_clear(struct idset *d)
{
    if (d->n)
        memset(d->slot, 0, d->cap * sizeof(*d->slot));
    d->n = 0;
}

static void idset_add(struct idset *d, int64_t id)
{
    size_t i;

    if (2 * (d->n + 1) > d->cap) { /* grow: rehash at twice the size */
        int64_t *old = d->slot;
        size_t oldcap = d->cap;

        d->cap = oldcap ? oldcap * 2 : 4096;
        d->slot = suf_xcalloc(d->cap, sizeof(*d->slot));
        d->n = 0;
        for (size_t j = 0; j < oldcap; j++)
            if (old[j])
                idset_add(d, old[j]);
        free(old);
    }
    i = idset_at(d, id);
    if (!d->slot[i]) {
        d->slot[i] = id;
        d->n++;
    }
}

static bool idset_has(const struct idset *d, int64_t id)
{
    return d->cap && d->slot[idset_at(d, id)] == id;
}

static void dirty_add(struct rec *r, int64_t id)
{
    idset_add(&r->dirty[r->cur], id);
}

static bool dirty_has(const struct rec *r, int64_t id)
{
    return idset_has(&r->dirty[0], id) || idset_has(&r->dirty[1], id);
}

/* Forgets every written fallback (rows loaded from now on are fresh). */
static void dirty_clear(struct rec *r)
{
    idset_clear(&r->dirty[0]);
    idset_clear(&r->dirty[1]);
}

/* A new chunk: the last one's writes are kept, the one's before forgotten. */
static void dirty_turn(struct rec *r)
{
    r->cur ^= 1;
    idset_clear(&r->dirty[r->cur]);
}

struct sendrow;

/* One event, copied out of the chunk query; strings point into the chunk's
 * arena.  `pre` is a status's send and fallback as the chunk query found
 * them (NULL when none): apply_status() takes its strings, or leaves them
 * for the next load_chunk() to free when the row went stale. */
struct evrow {
    struct sendrow *pre;
    int64_t id, ts, error_code;
    int pricing_billable; /* -1 when none */
    bool is_status;
    const char *wamid, *status, *recipient, *callback, *pricing_model, *pricing_type,
        *pricing_category, *from, *context_id, *msg_type, *payload, *text;
};

struct fbrow {
    struct suf_fsm_row row;
    bool known_state;
    char *phone, *campaign;
};

static int64_t col_i64(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, i);
}

/* Reads FB_COLS starting at column `base`. */
static void fb_from_row(sqlite3_stmt *s, int base, struct fbrow *f)
{
    f->known_state = suf_fsm_db_read(s, base, &f->row);
}

/* A send found for a status, with its fallback's campaign and phone. */
struct sendrow {
    int64_t id, fallback_id, part, last_part;
    char kind;
    char state[16];
    enum suf_delivery delivery;
    char *wamid;
    int64_t sent_at, delivered_at, read_at, failed_at, error_code;
    int64_t pricing_billable; /* -1 when NULL */
    char *pricing_model, *pricing_type, *pricing_category;
    char *campaign, *phone;
    struct fbrow fb; /* its fallback, loaded with it (fb.phone, fb.campaign unused) */
};

static void sendrow_release(struct sendrow *s)
{
    free(s->wamid);
    free(s->pricing_model);
    free(s->pricing_type);
    free(s->pricing_category);
    free(s->campaign);
    free(s->phone);
    memset(s, 0, sizeof(*s));
}

static int db_fail(struct rec *r, struct suf_err *err, const char *what)
{
    return suf_store_fail(r->st, err, what);
}

static char *col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? suf_xstrdup((const char *)t) : NULL;
}

static void bind_i64_or_null(sqlite3_stmt *s, int i, int64_t v)
{
    suf_bind_int64_or_null(s, i, v, v == 0);
}

static bool other_campaign(const struct rec *r, const char *campaign)
{
    return r->run->campaign && (!campaign || strcmp(campaign, r->run->campaign));
}

/* Counts in a small local table, handed to the run once at the end: a
 * run count is a formatted name and a JSON object lookup, too dear for
 * every event.  `what` is a static string. */
static void count(struct rec *r, const char *what)
{
    size_t i;

    for (i = 0; i < r->ntally; i++)
        if (r->tally[i].name == what || !strcmp(r->tally[i].name, what))
            break;
    if (i == r->ntally) {
        if (r->ntally == MAX_TALLY) {
            char name[64];
            snprintf(name, sizeof(name), "reconcile.%s", what);
            suf_run_count(r->run, name, 1);
            return;
        }
        r->tally[r->ntally].name = what;
        r->tally[r->ntally++].n = 0;
    }
    r->tally[i].n++;
}

static void flush_counts(struct rec *r)
{
    char name[64];

    for (size_t i = 0; i < r->ntally; i++) {
        snprintf(name, sizeof(name), "reconcile.%s", r->tally[i].name);
        suf_run_count(r->run, name, r->tally[i].n);
    }
    r->ntally = 0;
}

/* Runs a write statement that was bound by the caller, and resets it. */
static int step_done(struct rec *r, sqlite3_stmt *s, struct suf_err *err, const char *what)
{
    int rc = sqlite3_step(s);

    sqlite3_reset(s);
    return rc == SQLITE_DONE ? SUF_OK : db_fail(r, err, what);
}

/* --- fallbacks ------------------------------------------------------------- */

static void fbrow_release(struct fbrow *f)
{
    free(f->phone);
    free(f->campaign);
    f->phone = f->campaign = NULL;
}

/* Loads fallback `id`; *found is false when it does not exist. */
static int fb_load(struct rec *r, int64_t id, struct fbrow *f, bool *found, struct suf_err *err)
{
    sqlite3_stmt *s = r->q[Q_FB_LOAD];
    int rc;

    memset(f, 0, sizeof(*f));
    sqlite3_bind_int64(s, 1, id);
    rc = sqlite3_step(s);
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW) {
        fb_from_row(s, 0, f);
        f->phone = col_dup(s, FB_NCOLS);
        f->campaign = col_dup(s, FB_NCOLS + 1);
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SUF_OK : db_fail(r, err, "fallbacks");
}

static int fb_store(struct rec *r, int64_t id, const struct suf_fsm_row *row, const char *source,
                    struct suf_err *err)
{
    dirty_add(r, id);
    return suf_fsm_db_store(&r->fsm, id, row, source, err);
}

/*
 * The session parts of consented fallback `id`, built from its frozen
 * inputs and stored queued, in the chunk's transaction.  A fallback with
 * session rows already (an earlier release stored them held) gets none.
 * A message that cannot be built (the builders refused what plan let
 * through: never expected) is logged and counted; the fallback then runs
 * out of its window like one whose parts could not be sent.
 */
static int queue_built_session(struct rec *r, int64_t id, struct suf_err *err)
{
    sqlite3_stmt *has = r->q[Q_HAS_SESSION], *ins = r->q[Q_INSERT_SESSION];
    struct suf_err berr = SUF_ERR_INIT;
    char *parts[2], callback[64];
    size_t n = 0;
    int64_t exists = 0;
    int rc, src;

    sqlite3_bind_int64(has, 1, id);
    src = sqlite3_step(has);
    if (src == SQLITE_ROW)
        exists = sqlite3_column_int64(has, 0);
    sqlite3_reset(has);
    if (src != SQLITE_ROW)
        return db_fail(r, err, "sends");
    if (exists)
        return SUF_OK;
    rc = suf_render_session(r->render, id, parts, &n, &berr);
    if (rc == SUF_ERR_DB) {
        *err = berr;
        return rc;
    }
    if (rc) {
        suf_error("reconcile: fallback %lld consented, but its session message cannot be "
                  "built: %s",
                  (long long)id, berr.msg);
        count(r, "session_build_errors");
        return SUF_OK;
    }
    for (size_t i = 0; !rc && i < n; i++) {
        snprintf(callback, sizeof(callback), "suf:%lld:s%zu", (long long)id, i + 1);
        sqlite3_bind_int64(ins, 1, id);
        sqlite3_bind_int(ins, 2, (int)i + 1);
        sqlite3_bind_text(ins, 3, callback, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 4, parts[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 5, suf_run_now(r->run));
        rc = step_done(r, ins, err, "sends");
    }
    for (size_t i = 0; i < n; i++)
        free(parts[i]);
    if (!rc)
        suf_run_count(r->run, "reconcile.sessions_queued", (int64_t)n);
    return rc;
}

static int sends_effect(struct rec *r, int q, int64_t fallback_id, struct suf_err *err)
{
    sqlite3_stmt *s = r->q[q];
    int rc;

    sqlite3_bind_int64(s, 1, suf_run_now(r->run));
    sqlite3_bind_int64(s, 2, fallback_id);
    dirty_add(r, fallback_id);
    rc = step_done(r, s, err, "sends");
    if (rc)
        return rc;
    if (q == Q_QUEUE_SESSION && sqlite3_changes(r->st->db) == 0)
        return queue_built_session(r, fallback_id, err);
    suf_run_count(r->run, q == Q_QUEUE_SESSION ? "reconcile.sessions_queued"
                                               : "reconcile.sends_cancelled",
                  sqlite3_changes(r->st->db));
    return SUF_OK;
}

/*
 * Applies one machine event to fallback `id` (already loaded in `f`) and
 * writes back what changed.  `source` is the consent source to record.
 */
static int fb_apply_loaded(struct rec *r, int64_t id, struct fbrow *f,
                           const struct suf_fsm_event *ev, const char *source,
                           struct suf_err *err)
{
    enum suf_fsm_verdict v;
    unsigned effects = 0;
    int rc;

    if (!f->known_state) {
        count(r, "unknown_states");
        return SUF_OK;
    }
    v = suf_fsm_step(&r->p, &f->row, ev, &effects);
    if (v == SUF_FSM_NOOP)
        return SUF_OK;
    if ((rc = fb_store(r, id, &f->row, f->row.state == SUF_FB_CONSENTED ? source : NULL, err)))
        return rc;
    if (v == SUF_FSM_LATE)
        count(r, "late_consents");
    else
        count(r, suf_fsm_state_name(f->row.state));
    if ((effects & SUF_FSM_QUEUE_SESSION) && (rc = sends_effect(r, Q_QUEUE_SESSION, id, err)))
        return rc;
    if ((effects & SUF_FSM_CANCEL_SENDS) && (rc = sends_effect(r, Q_CANCEL_SENDS, id, err)))
        return rc;
    return SUF_OK;
}

static int fb_apply(struct rec *r, int64_t id, const struct suf_fsm_event *ev, struct suf_err *err)
{
    struct fbrow f;
    bool found;
    int rc = fb_load(r, id, &f, &found, err);

    if (!rc && found)
        rc = fb_apply_loaded(r, id, &f, ev, NULL, err);
    fbrow_release(&f);
    return rc;
}

/* Collects the ids a one-int64-column query returns (bound by the caller). */
static int collect_ids(struct rec *r, sqlite3_stmt *s, int64_t **ids, size_t *n,
                       struct suf_err *err)
{
    size_t alloc = 0;
    int rc;

    *ids = NULL;
    *n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == alloc) {
            alloc = alloc ? alloc * 2 : 16;
            *ids = suf_xrealloc(*ids, alloc * sizeof(**ids));
        }
        (*ids)[(*n)++] = sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? SUF_OK : db_fail(r, err, "query");
}

/* Records an opt-out and opts out every open fallback of the phone, in every
 * campaign. */
static int opt_out(struct rec *r, const char *phone, int64_t at, const char *source,
                   const char *campaign, struct suf_err *err)
{
    struct suf_fsm_event ev = {SUF_EV_OPT_OUT, at, false, 0, SUF_FB_REASON_NONE, NULL};
    sqlite3_stmt *s = r->q[Q_OPTOUT];
    int64_t *ids;
    size_t n;
    int rc;

    if (!phone || !*phone)
        return SUF_OK;
    suf_bind_text_static(s, 1, phone);
    sqlite3_bind_int64(s, 2, at);
    suf_bind_text_static(s, 3, source);
    suf_bind_text_static(s, 4, campaign);
    if ((rc = step_done(r, s, err, "optouts")))
        return rc;
    if (sqlite3_changes(r->st->db))
        count(r, "optouts");
    s = r->q[Q_FB_BY_PHONE];
    suf_bind_text_static(s, 1, phone);
    if ((rc = collect_ids(r, s, &ids, &n, err)))
        return rc;
    for (size_t i = 0; i < n && !rc; i++)
        rc = fb_apply(r, ids[i], &ev, err);
    free(ids);
    return rc;
}

/* --- statuses -------------------------------------------------------------- */

/* Reads SEND_SEL starting at column `b`. */
static void send_from_row(sqlite3_stmt *s, int b, struct sendrow *out)
{
    const unsigned char *kind = sqlite3_column_text(s, b + 2);
    const unsigned char *state = sqlite3_column_text(s, b + 4);
    const unsigned char *delivery = sqlite3_column_text(s, b + 5);

    out->id = sqlite3_column_int64(s, b + 0);
    out->fallback_id = sqlite3_column_int64(s, b + 1);
    out->kind = kind ? (char)kind[0] : '?';
    out->part = sqlite3_column_int64(s, b + 3);
    suf_strlcpy(out->state, state ? (const char *)state : "", sizeof(out->state));
    if (!suf_fsm_delivery_parse((const char *)delivery, &out->delivery))
        out->delivery = SUF_DLV_NONE;
    out->wamid = col_dup(s, b + 6);
    out->sent_at = col_i64(s, b + 7);
    out->delivered_at = col_i64(s, b + 8);
    out->read_at = col_i64(s, b + 9);
    out->failed_at = col_i64(s, b + 10);
    out->error_code = col_i64(s, b + 11);
    out->pricing_billable =
        sqlite3_column_type(s, b + 12) == SQLITE_NULL ? -1 : col_i64(s, b + 12);
    out->pricing_model = col_dup(s, b + 13);
    out->pricing_type = col_dup(s, b + 14);
    out->pricing_category = col_dup(s, b + 15);
    out->campaign = col_dup(s, b + 16);
    out->phone = col_dup(s, b + 17);
    out->last_part = col_i64(s, b + 18);
    fb_from_row(s, b + SEND_FB_BASE, &out->fb);
}

/* Looks the send up by `key` with statement `q` (one row at most). */
static int lookup_send(struct rec *r, sqlite3_stmt *q, const char *key, struct sendrow *out,
                       bool *found, struct suf_err *err)
{
    int rc;

    suf_bind_text_static(q, 1, key);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        send_from_row(q, 0, out);
        *found = true;
    }
    sqlite3_reset(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SUF_OK : db_fail(r, err, "sends");
}

/* Finds the send a status is about: by wamid, else by callback data. */
static int find_send(struct rec *r, const struct evrow *e, struct sendrow *out, bool *found,
                     struct suf_err *err)
{
    int rc;

    *found = false;
    rc = lookup_send(r, r->q[Q_SEND_BY_WAMID], e->wamid, out, found, err);
    if (rc || *found || !e->callback)
        return rc;
    return lookup_send(r, r->q[Q_SEND_BY_CALLBACK], e->callback, out, found, err);
}

static void fill_text(char **field, const char *v)
{
    if (!*field && v)
        *field = suf_xstrdup(v);
}

/* Moves the send's delivery forward; true when it advanced. */
static bool advance_delivery(struct sendrow *sd, const struct evrow *e, enum suf_delivery next)
{
    if (!suf_fsm_delivery_advances(sd->delivery, next))
        return false;
    sd->delivery = next;
    if (!sd->sent_at)
        sd->sent_at = e->ts;
    if (next == SUF_DLV_DELIVERED || next == SUF_DLV_READ) {
        if (!sd->delivered_at)
            sd->delivered_at = e->ts;
        if (next == SUF_DLV_READ)
            sd->read_at = e->ts;
    } else if (next == SUF_DLV_FAILED) {
        sd->failed_at = e->ts;
        sd->error_code = e->error_code;
    }
    return true;
}

static int send_store(struct rec *r, const struct sendrow *sd, struct suf_err *err)
{
    sqlite3_stmt *s = r->q[Q_SEND_UPDATE];

    bind_i64_or_null(s, 3, sd->sent_at);
    sqlite3_bind_text(s, 4, suf_fsm_delivery_name(sd->delivery), -1, SQLITE_STATIC);
    bind_i64_or_null(s, 5, sd->delivered_at);
    bind_i64_or_null(s, 6, sd->read_at);
    bind_i64_or_null(s, 7, sd->failed_at);
    bind_i64_or_null(s, 8, sd->error_code);
    suf_bind_int64_or_null(s, 9, sd->pricing_billable, sd->pricing_billable < 0);
    suf_bind_text_static(s, 10, sd->pricing_model);
    suf_bind_text_static(s, 11, sd->pricing_type);
    suf_bind_text_static(s, 12, sd->pricing_category);
    sqlite3_bind_int64(s, 13, suf_run_now(r->run));
    sqlite3_bind_int64(s, 14, sd->id);
    dirty_add(r, sd->fallback_id);
    return step_done(r, s, err, "sends");
}

/* The machine event a delivery change of this send means. */
static struct suf_fsm_event fallback_event(const struct sendrow *sd, const struct evrow *e)
{
    struct suf_fsm_event ev = {SUF_EV_TICK, e->ts, false, e->error_code, SUF_FB_REASON_NONE, NULL};
    bool utility = sd->kind == 'u';

    switch (sd->delivery) {
    case SUF_DLV_SENT:
        ev.kind = utility ? SUF_EV_UTILITY_SENT : SUF_EV_SESSION_SENT;
        break;
    case SUF_DLV_DELIVERED:
    case SUF_DLV_READ:
        ev.kind = utility ? SUF_EV_UTILITY_DELIVERED : SUF_EV_SESSION_DELIVERED;
        ev.last_part = sd->part >= sd->last_part;
        break;
    case SUF_DLV_FAILED:
        /* 131050 is an opt-out, whichever message it failed, as in send */
        if (e->error_code == OPTOUT_CODE)
            ev.kind = SUF_EV_OPT_OUT;
        else
            ev.kind = utility ? SUF_EV_UTILITY_FAILED : SUF_EV_SESSION_FAILED;
        break;
    default:
        break;
    }
    return ev;
}

/* Applies a status to its send and the send's fallback.  *defer is set
 * when the event must wait for a later run. */
static int apply_status_to_send(struct rec *r, const struct evrow *e, struct sendrow *sd,
                                bool *defer, struct suf_err *err)
{
    enum suf_delivery next;
    bool advanced, changed = false;
    int rc;

    if (sd->wamid && strcmp(sd->wamid, e->wamid)) {
        count(r, "unmatched_statuses"); /* our callback data on someone else's wamid */
        return SUF_OK;
    }
    if (!sd->wamid && strcmp(sd->state, "unknown")) {
        /* still in flight in a live run, or not sent: its run decides */
        *defer = !strcmp(sd->state, "in_flight");
        count(r, *defer ? "deferred" : "unmatched_statuses");
        return SUF_OK;
    }
    if (other_campaign(r, sd->campaign)) {
        *defer = true;
        count(r, "deferred");
        return SUF_OK;
    }
    if (!strcmp(sd->state, "unknown")) {
        sqlite3_stmt *s = r->q[Q_SEND_RESOLVE];

        suf_strlcpy(sd->state, "sent", sizeof(sd->state));
        fill_text(&sd->wamid, e->wamid);
        if (!sd->sent_at)
            sd->sent_at = e->ts;
        suf_bind_text_static(s, 1, sd->wamid);
        sqlite3_bind_int64(s, 2, suf_run_now(r->run));
        sqlite3_bind_int64(s, 3, sd->id);
        dirty_add(r, sd->fallback_id);
        if ((rc = step_done(r, s, err, "sends")))
            return rc;
        count(r, "unknown_resolved");
        changed = true;
    }
    if (!suf_fsm_delivery_parse(e->status, &next))
        next = SUF_DLV_NONE;
    advanced = advance_delivery(sd, e, next);
    if (e->pricing_billable >= 0 && sd->pricing_billable < 0) {
        sd->pricing_billable = e->pricing_billable;
        changed = true;
    }
    if ((!sd->pricing_model && e->pricing_model) || (!sd->pricing_type && e->pricing_type) ||
        (!sd->pricing_category && e->pricing_category))
        changed = true;
    fill_text(&sd->pricing_model, e->pricing_model);
    fill_text(&sd->pricing_type, e->pricing_type);
    fill_text(&sd->pricing_category, e->pricing_category);
    if ((advanced || changed) && (rc = send_store(r, sd, err)))
        return rc;
    if (advanced) {
        struct suf_fsm_event ev = fallback_event(sd, e);
        if ((rc = fb_apply_loaded(r, sd->fallback_id, &sd->fb, &ev, NULL, err)))
            return rc;
    } else {
        count(r, "stale_statuses");
    }
    return SUF_OK;
}

static int apply_status(struct rec *r, const struct evrow *e, bool *defer, struct suf_err *err)
{
    struct sendrow sd;
    bool found;
    int rc;

    memset(&sd, 0, sizeof(sd));
    if (e->pre && !dirty_has(r, e->pre->fallback_id)) {
        sd = *e->pre; /* takes its strings */
        memset(e->pre, 0, sizeof(*e->pre));
        found = true;
    } else if ((rc = find_send(r, e, &sd, &found, err))) {
        return rc;
    }
    if (found)
        rc = apply_status_to_send(r, e, &sd, defer, err);
    else
        count(r, "unmatched_statuses");
    if (!rc && !*defer && e->error_code == OPTOUT_CODE)
        rc = opt_out(r, e->recipient ? e->recipient : sd.phone, e->ts, "131050", sd.campaign,
                     err);
    sendrow_release(&sd);
    return rc;
}

/* --- inbound messages ------------------------------------------------------- */

static int utility_fallback(struct rec *r, const char *wamid, int64_t *id, struct suf_err *err)
{
    sqlite3_stmt *s = r->q[Q_UTILITY_BY_WAMID];
    int rc;

    *id = 0;
    if (!wamid)
        return SUF_OK;
    suf_bind_text_static(s, 1, wamid);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SUF_OK : db_fail(r, err, "sends");
}

/* A consent or decline for fallback `id` from `e->from`. */
static int answer(struct rec *r, const struct evrow *e, int64_t id, bool yes, const char *source,
                  bool *defer, struct suf_err *err)
{
    struct suf_fsm_event ev = {yes ? SUF_EV_CONSENT : SUF_EV_DECLINE, e->ts, false, 0, SUF_FB_REASON_NONE, NULL};
    struct fbrow f;
    bool found;
    int rc = fb_load(r, id, &f, &found, err);

    if (rc || !found) {
        if (!rc)
            count(r, "unrelated_messages");
        fbrow_release(&f);
        return rc;
    }
    if (other_campaign(r, f.campaign)) {
        *defer = true;
        count(r, "deferred");
    } else if (!f.phone || !e->from || strcmp(f.phone, e->from)) {
        count(r, "wrong_phone_taps");
    } else {
        rc = fb_apply_loaded(r, id, &f, &ev, source, err);
    }
    fbrow_release(&f);
    return rc;
}

static int apply_button(struct rec *r, const struct evrow *e, bool *defer, struct suf_err *err)
{
    int64_t id = 0;
    bool yes = true;
    int rc;

    if (!suf_reconcile_parse_payload(e->payload, &id, &yes) &&
        (rc = utility_fallback(r, e->context_id, &id, err)))
        return rc;
    if (!id) {
        count(r, "unrelated_messages");
        return SUF_OK;
    }
    return answer(r, e, id, yes, "button", defer, err);
}

static int apply_keyword(struct rec *r, const struct evrow *e, bool *defer, struct suf_err *err)
{
    sqlite3_stmt *s = r->q[Q_FB_KEYWORD];
    int64_t id = 0;
    int rc;

    suf_bind_text_static(s, 1, e->from);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        id = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(r, err, "fallbacks");
    if (!id) {
        count(r, "unrelated_messages");
        return SUF_OK;
    }
    return answer(r, e, id, true, "keyword", defer, err);
}

static bool is_stop(const struct rec *r, const struct evrow *e)
{
    const char *kw = r->run->cfg->stop_keywords;
    bool yes;
    int64_t id;

    if (!strcmp(e->msg_type, "text"))
        return suf_reconcile_keyword(kw, e->text);
    if (!strcmp(e->msg_type, "button") && !suf_reconcile_parse_payload(e->payload, &id, &yes))
        return suf_reconcile_keyword(kw, e->payload) || suf_reconcile_keyword(kw, e->text);
    return false;
}

static int apply_message(struct rec *r, const struct evrow *e, bool *defer, struct suf_err *err)
{
    if (!e->msg_type || !e->from)
        return SUF_OK;
    if (is_stop(r, e))
        return opt_out(r, e->from, e->ts, "stop", NULL, err);
    if (!strcmp(e->msg_type, "button"))
        return apply_button(r, e, defer, err);
    if (!strcmp(e->msg_type, "text") && suf_reconcile_keyword(r->run->cfg->consent_keywords, e->text))
        return apply_keyword(r, e, defer, err);
    count(r, !strcmp(e->msg_type, "interactive") ? "session_replies" : "unrelated_messages");
    return SUF_OK;
}

/* --- the event loop ---------------------------------------------------------- */

struct chunk {
    struct evrow *rows;
    struct sendrow *pre; /* rows[i].pre points here */
    size_t n;
    struct suf_buf arena;
    size_t (*offs)[12];
};

static size_t arena_add(struct suf_buf *a, sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    size_t at;

    if (!t)
        return NO_STR;
    at = a->len;
    suf_buf_add(a, t, (size_t)sqlite3_column_bytes(s, col) + 1);
    return at;
}

static const char *arena_str(const struct suf_buf *a, size_t off)
{
    return off == NO_STR ? NULL : a->buf + off;
}

/* Text columns of Q_EVENTS, in the order of struct evrow's string fields. */
static const int text_cols[12] = {2, 3, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16};

static void row_strings(struct evrow *e, const struct suf_buf *a, const size_t offs[12])
{
    const char **f[12] = {&e->wamid, &e->status, &e->recipient, &e->callback,
                          &e->pricing_model, &e->pricing_type, &e->pricing_category, &e->from,
                          &e->context_id, &e->msg_type, &e->payload, &e->text};

    for (int i = 0; i < 12; i++)
        *f[i] = arena_str(a, offs[i]);
}

/* Loads the next chunk of queued events after (ts, id) with `s` (a
 * Q_EVENTS statement, on the main connection or the loader's); returns
 * SQLite's status. */
static int load_chunk(sqlite3_stmt *s, struct chunk *c, int64_t ts, int64_t id)
{
    int rc;

    for (size_t i = 0; i < c->n; i++)
        sendrow_release(&c->pre[i]);
    c->n = 0;
    suf_buf_reset(&c->arena);
    sqlite3_bind_int64(s, 1, ts);
    sqlite3_bind_int64(s, 2, id);
    sqlite3_bind_int(s, 3, CHUNK);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct evrow *e = &c->rows[c->n];
        const unsigned char *kind = sqlite3_column_text(s, 1);

        memset(e, 0, sizeof(*e));
        e->id = sqlite3_column_int64(s, 0);
        e->is_status = kind && !strcmp((const char *)kind, "status");
        e->ts = sqlite3_column_int64(s, 4);
        e->error_code = col_i64(s, 7);
        e->pricing_billable = sqlite3_column_type(s, 8) == SQLITE_NULL ? -1
                                                                        : sqlite3_column_int(s, 8);
        for (int i = 0; i < 12; i++)
            c->offs[c->n][i] = arena_add(&c->arena, s, text_cols[i]);
        if (sqlite3_column_type(s, EV_NCOLS + SEND_NCOLS) != SQLITE_NULL) {
            e->pre = &c->pre[c->n];
            send_from_row(s, EV_NCOLS, e->pre);
        }
        c->n++;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return rc;
    for (size_t i = 0; i < c->n; i++)
        row_strings(&c->rows[i], &c->arena, c->offs[i]);
    return SQLITE_DONE;
}

static void chunk_init(struct chunk *c)
{
    memset(c, 0, sizeof(*c));
    c->rows = suf_xcalloc(CHUNK, sizeof(*c->rows));
    c->offs = suf_xcalloc(CHUNK, sizeof(*c->offs));
    c->pre = suf_xcalloc(CHUNK, sizeof(*c->pre));
    suf_buf_init(&c->arena);
}

static void chunk_release(struct chunk *c)
{
    for (size_t i = 0; i < c->n; i++)
        sendrow_release(&c->pre[i]);
    free(c->pre);
    suf_buf_release(&c->arena);
    free(c->offs);
    free(c->rows);
}

/*
 * The loader: a thread with a read-only connection of its own that loads
 * the next chunk while the main thread applies the current one, so the
 * chunk query (a join over five tables per event) and the copying out of
 * its rows run on the second CPU.  Its snapshot may predate the current
 * chunk's commit, never an earlier one: a preloaded row is used only when
 * neither this chunk nor the one before wrote its fallback (struct rec's
 * `dirty`), else it is read again on the main connection.  The request and
 * its result pass through a handoff (base/handoff.h) of one worker and room
 * for one load.
 */
struct load {
    struct chunk *c; /* the chunk to fill */
    int64_t ts, id;  /* load after this key */
    int rc;          /* SUF_OK, or as suf_store_fail */
    struct suf_err err;
};

struct loader {
    struct suf_store st;
    sqlite3_stmt *q;
    struct suf_handoff *loads; /* holds `req` from request to wait */
    struct load req;
};

/* One load, on the loader's thread. */
static void run_load(void *ctx, void *item)
{
    struct loader *l = ctx;
    struct load *ld = item;

    ld->rc = load_chunk(l->q, ld->c, ld->ts, ld->id) == SQLITE_DONE
                 ? SUF_OK
                 : suf_store_fail(&l->st, &ld->err, "events");
}

/* Starts the loader; NULL when no thread or connection can be had (the
 * main thread then loads each chunk itself). */
static struct loader *loader_start(struct rec *r)
{
    struct suf_err ignored = SUF_ERR_INIT;
    struct loader *l;

    if (!suf_store_is_wal(r->st))
        return NULL;
    l = suf_xcalloc(1, sizeof(*l));
    l->st = (struct suf_store)SUF_STORE_INIT;
    if (suf_store_open(&l->st, r->st->path, SUF_STORE_READONLY, &ignored) ||
        !(l->q = suf_store_prepare(&l->st, sql[Q_EVENTS], &ignored)))
        goto fail;
    l->loads = suf_handoff_start(1, 1, run_load, l);
    if (suf_handoff_workers(l->loads))
        return l;
    suf_handoff_free(l->loads);
fail:
    sqlite3_finalize(l->q);
    suf_store_close(&l->st);
    free(l);
    return NULL;
}

/* Asks for the chunk after (ts, id) in `c`; no other load is held. */
static void loader_request(struct loader *l, struct chunk *c, int64_t ts, int64_t id)
{
    l->req.c = c;
    l->req.ts = ts;
    l->req.id = id;
    suf_handoff_put(l->loads, &l->req);
}

/* Waits for the requested chunk; its status as a suf status. */
static int loader_wait(struct loader *l, struct suf_err *err)
{
    struct load *ld = suf_handoff_take(l->loads);

    if (ld->rc)
        *err = ld->err;
    return ld->rc;
}

static void loader_stop(struct loader *l)
{
    if (!l)
        return;
    /* a load in flight fills a chunk the caller frees: it ends first */
    suf_handoff_free(l->loads);
    sqlite3_finalize(l->q);
    suf_store_close(&l->st);
    free(l);
}

/* Gets the chunk after (ts, id) into `c`: the loader's, or loaded here. */
static int next_chunk(struct rec *r, struct loader *l, struct chunk *c, int64_t ts, int64_t id,
                      struct suf_err *err)
{
    if (l)
        return loader_wait(l, err);
    dirty_clear(r); /* loaded on the main connection: fresh */
    return load_chunk(r->q[Q_EVENTS], c, ts, id) == SQLITE_DONE ? SUF_OK
                                                                 : db_fail(r, err, "events");
}

/* Applies one event; *defer is set when it must stay queued. */
static int apply_event(struct rec *r, const struct evrow *e, bool *defer, struct suf_err *err)
{
    int rc;

    *defer = false;
    if (e->is_status && e->wamid)
        rc = apply_status(r, e, defer, err);
    else
        rc = apply_message(r, e, defer, err);
    if (!rc && !*defer)
        count(r, "events");
    return rc;
}

/* Takes the chunk out of the queue in one statement, then puts the
 * deferred events back. */
static int mark_chunk(struct rec *r, const struct chunk *c, int64_t ts, int64_t id,
                      const struct evrow *const *deferred, size_t ndeferred, struct suf_err *err)
{
    sqlite3_stmt *s = r->q[Q_MARK];
    int rc;

    sqlite3_bind_int64(s, 1, ts);
    sqlite3_bind_int64(s, 2, id);
    sqlite3_bind_int64(s, 3, c->rows[c->n - 1].ts);
    sqlite3_bind_int64(s, 4, c->rows[c->n - 1].id);
    if ((rc = step_done(r, s, err, "events")))
        return rc;
    s = r->q[Q_UNMARK];
    for (size_t i = 0; i < ndeferred && !rc; i++) {
        sqlite3_bind_int64(s, 1, deferred[i]->ts);
        sqlite3_bind_int64(s, 2, deferred[i]->id);
        rc = step_done(r, s, err, "events");
    }
    return rc;
}

static int process_events(struct rec *r, struct suf_err *err)
{
    struct chunk cb[2];
    struct loader *l = loader_start(r);
    int64_t ts = INT64_MIN, id = 0;
    const struct evrow **deferred = suf_xcalloc(CHUNK, sizeof(*deferred));
    size_t ndeferred;
    int cur = 0, rc = SUF_OK;
    struct suf_progress bar;
    int64_t queued = 0;

    if (suf_progress_wanted())
        suf_store_scalar(r->st, "SELECT count(*) FROM event_queue", NULL, &queued, NULL);
    suf_progress_start(&bar, "reconcile", queued);
    chunk_init(&cb[0]);
    chunk_init(&cb[1]);
    dirty_clear(r);
    if (l)
        loader_request(l, &cb[0], ts, id);
    for (;;) {
        struct chunk *c = &cb[cur];

        int64_t before_ts = ts, before_id = id;

        if ((rc = next_chunk(r, l, c, ts, id, err)) || c->n == 0)
            break;
        ts = c->rows[c->n - 1].ts;
        id = c->rows[c->n - 1].id;
        if (l) /* the next chunk loads while this one is applied */
            loader_request(l, &cb[cur ^ 1], ts, id);
        if ((rc = suf_store_begin(r->st, err)))
            break;
        dirty_turn(r);
        ndeferred = 0;
        for (size_t i = 0; i < c->n && !rc; i++) {
            bool defer;
            rc = apply_event(r, &c->rows[i], &defer, err);
            if (defer)
                deferred[ndeferred++] = &c->rows[i];
        }
        if (!rc)
            rc = mark_chunk(r, c, before_ts, before_id, deferred, ndeferred, err);
        if (rc || (rc = suf_store_commit(r->st, err))) {
            suf_store_rollback(r->st);
            break;
        }
        if (suf_run_stopping(r->run)) {
            rc = suf_err_set(err, SUF_ERR_INTERRUPTED, "reconcile interrupted; run it again");
            break;
        }
        suf_progress_set(&bar, bar.done + (int64_t)c->n);
        cur ^= 1;
    }
    suf_progress_end(&bar);
    loader_stop(l);
    chunk_release(&cb[0]);
    chunk_release(&cb[1]);
    free(deferred);
    return rc;
}

/* --- time ------------------------------------------------------------------- */

static int process_time(struct rec *r, struct suf_err *err)
{
    struct suf_fsm_event ev = {SUF_EV_TICK, suf_run_now(r->run), false, 0, SUF_FB_REASON_NONE, NULL};
    sqlite3_stmt *s = r->q[Q_TICK];
    int64_t *ids;
    size_t n;
    int rc;

    sqlite3_bind_int64(s, 1, r->p.consent_wait_s);
    sqlite3_bind_int64(s, 2, INT64_C(86400) - r->p.margin_s);
    sqlite3_bind_int64(s, 3, ev.at);
    suf_bind_text_static(s, 4, r->run->campaign);
    if ((rc = collect_ids(r, s, &ids, &n, err))) {
        free(ids);
        return rc;
    }
    for (size_t i = 0; i < n && !rc; i += CHUNK) {
        if ((rc = suf_store_begin(r->st, err)))
            break;
        dirty_clear(r);
        for (size_t j = i; j < n && j < i + CHUNK && !rc; j++)
            rc = fb_apply(r, ids[j], &ev, err);
        if (rc || (rc = suf_store_commit(r->st, err)))
            suf_store_rollback(r->st);
    }
    free(ids);
    return rc;
}

/* --- entry point -------------------------------------------------------------- */

static void rec_release(struct rec *r)
{
    free(r->dirty[0].slot);
    free(r->dirty[1].slot);
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(r->q[i]);
    suf_render_free(r->render);
    suf_fsm_db_close(&r->fsm);
}

/* PRAGMA cache_size takes no bound parameter: the value is ours, not data. */
static int set_cache(struct rec *r, int64_t size, struct suf_err *err)
{
    char pragma[64];

    snprintf(pragma, sizeof(pragma), "PRAGMA cache_size = %lld", (long long)size);
    return suf_store_exec(r->st, pragma, err);
}

int suf_reconcile(struct suf_run *run, struct suf_err *err)
{
    struct rec r;
    struct suf_ckpt *ckpt;
    int64_t cache = 0;
    int rc = SUF_OK;

    memset(&r, 0, sizeof(r));
    r.run = run;
    r.st = run->store;
    r.p.consent_wait_s = run->cfg->consent_wait_hours * 3600;
    r.p.margin_s = run->cfg->window_margin_minutes * 60;
    if ((rc = suf_store_scalar(r.st, "PRAGMA cache_size", NULL, &cache, err)) ||
        (rc = set_cache(&r, -CACHE_KIB, err)))
        return rc;
    for (int i = 0; i < Q_COUNT && !rc; i++) {
        /* only Q_FB_BY_PHONE names states: those an opt-out can move */
        r.q[i] = suf_fsm_db_prepare(r.st, sql[i], SUF_EV_OPT_OUT, err);
        if (!r.q[i])
            rc = SUF_ERR_DB;
    }
    if (!rc)
        rc = suf_render_open(r.st, &r.render, err);
    if (!rc)
        rc = suf_fsm_db_open(&r.fsm, r.st, &r.p, err);
    ckpt = rc ? NULL : suf_ckpt_start(r.st, 0);
    if (!rc)
        rc = process_events(&r, err);
    if (!rc)
        rc = process_time(&r, err);
    suf_ckpt_stop(ckpt);
    flush_counts(&r);
    rec_release(&r);
    set_cache(&r, cache, NULL);
    if (!rc)
        suf_info("reconcile: %lld events processed, %lld consents, %lld conversions",
                 (long long)suf_run_get_count(run, "reconcile.events"),
                 (long long)suf_run_get_count(run, "reconcile.consented"),
                 (long long)suf_run_get_count(run, "reconcile.converted"));
    return rc;
}
