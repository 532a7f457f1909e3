/*
 * fsm_db.c: the one writer of fallbacks.state (see fsm_db.h).
 *
 * A fallback is loaded by its id, stepped, and written back with every
 * machine column at once, so what is stored is exactly the row the machine
 * returned.  The statements are prepared once per writer, because send runs
 * them for every message.
 */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "store/fsm_db.h"
#include "base/banned.h"

static const char sql_load[] = "SELECT " SUF_FSM_DB_COLS "FROM fallbacks f "
                               "LEFT JOIN campaigns c ON c.campaign_id = f.campaign_id "
                               "WHERE f.id = ?1";

static const char sql_store[] =
    "UPDATE fallbacks SET state = ?1, state_at = ?2, utility_sent_at = ?3, "
    "utility_delivered_at = ?4, consented_at = ?5, "
    "consent_source = COALESCE(?6, consent_source), late_consent_at = ?7, "
    "declined_at = ?8, session_sent_at = ?9, converted_at = ?10, "
    "closed_at = ?11, error_code = ?12, reason = ?14, "
    "reason_detail = CASE WHEN ?14 IS NULL THEN NULL ELSE COALESCE(?15, reason_detail) END "
    "WHERE id = ?13";

/* "+state": by fallback, never by the sends' state index (see reconcile.c's
 * Q_CANCEL_SENDS) */
static const char sql_cancel[] = "UPDATE sends SET state = 'cancelled', updated_at = ?1 "
                                 "WHERE fallback_id = ?2 AND +state IN ('held', 'queued')";

int suf_fsm_db_open(struct suf_fsm_db *w, struct suf_store *st, const struct suf_fsm_params *p,
                    struct suf_err *err)
{
    memset(w, 0, sizeof(*w));
    w->st = st;
    w->p = *p;
    if (!(w->load = suf_store_prepare(st, sql_load, err)) ||
        !(w->store = suf_store_prepare(st, sql_store, err)) ||
        !(w->cancel = suf_store_prepare(st, sql_cancel, err))) {
        suf_fsm_db_close(w);
        return SUF_ERR_DB;
    }
    return SUF_OK;
}

void suf_fsm_db_close(struct suf_fsm_db *w)
{
    sqlite3_finalize(w->load);
    sqlite3_finalize(w->store);
    sqlite3_finalize(w->cancel);
    w->load = w->store = w->cancel = NULL;
}

bool suf_fsm_db_read(sqlite3_stmt *s, int base, struct suf_fsm_row *row)
{
    bool known = suf_fsm_state_parse((const char *)sqlite3_column_text(s, base), &row->state);

    if (!known)
        row->state = SUF_FB_STATE_COUNT;
    row->state_at = sqlite3_column_int64(s, base + 1);
    row->utility_sent_at = sqlite3_column_int64(s, base + 2);
    row->utility_delivered_at = sqlite3_column_int64(s, base + 3);
    row->consented_at = sqlite3_column_int64(s, base + 4);
    row->late_consent_at = sqlite3_column_int64(s, base + 5);
    row->declined_at = sqlite3_column_int64(s, base + 6);
    row->session_sent_at = sqlite3_column_int64(s, base + 7);
    row->converted_at = sqlite3_column_int64(s, base + 8);
    row->closed_at = sqlite3_column_int64(s, base + 9);
    row->error_code = sqlite3_column_int64(s, base + 10);
    row->valid_until = sqlite3_column_int64(s, base + 11);
    if (!suf_fsm_reason_parse((const char *)sqlite3_column_text(s, base + 12), &row->reason))
        row->reason = SUF_FB_REASON_NONE;
    row->detail = NULL;
    return known;
}

/* Runs a bound write statement and resets it. */
static int step_done(struct suf_fsm_db *w, sqlite3_stmt *s, const char *what, struct suf_err *err)
{
    int rc = sqlite3_step(s);

    sqlite3_reset(s);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(w->st, err, what);
}

int suf_fsm_db_load(struct suf_fsm_db *w, int64_t id, struct suf_fsm_row *row, bool *found,
                    struct suf_err *err)
{
    sqlite3_stmt *s = w->load;
    int rc;

    memset(row, 0, sizeof(*row));
    row->state = SUF_FB_STATE_COUNT;
    sqlite3_bind_int64(s, 1, id);
    rc = sqlite3_step(s);
    *found = rc == SQLITE_ROW;
    if (*found)
        suf_fsm_db_read(s, 0, row);
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SUF_OK : suf_store_fail(w->st, err, "fallbacks");
}

static void bind_time(sqlite3_stmt *s, int i, int64_t v)
{
    suf_bind_int64_or_null(s, i, v, v == 0);
}

int suf_fsm_db_store(struct suf_fsm_db *w, int64_t id, const struct suf_fsm_row *row,
                     const char *consent_source, struct suf_err *err)
{
    sqlite3_stmt *s = w->store;

    sqlite3_bind_text(s, 1, suf_fsm_state_name(row->state), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, row->state_at);
    bind_time(s, 3, row->utility_sent_at);
    bind_time(s, 4, row->utility_delivered_at);
    bind_time(s, 5, row->consented_at);
    suf_bind_text_static(s, 6, consent_source);
    bind_time(s, 7, row->late_consent_at);
    bind_time(s, 8, row->declined_at);
    bind_time(s, 9, row->session_sent_at);
    bind_time(s, 10, row->converted_at);
    bind_time(s, 11, row->closed_at);
    bind_time(s, 12, row->error_code);
    sqlite3_bind_int64(s, 13, id);
    if (row->reason == SUF_FB_REASON_NONE)
        sqlite3_bind_null(s, 14);
    else
        sqlite3_bind_text(s, 14, suf_fsm_reason_name(row->reason), -1, SQLITE_STATIC);
    suf_bind_text(s, 15, row->detail);
    return step_done(w, s, "fallbacks", err);
}

int suf_fsm_db_step(struct suf_fsm_db *w, int64_t id, const struct suf_fsm_event *ev,
                    enum suf_fsm_verdict *verdict, unsigned *effects, struct suf_err *err)
{
    struct suf_fsm_row row;
    enum suf_fsm_verdict v = SUF_FSM_NOOP;
    unsigned fx = 0;
    bool found;
    int rc = suf_fsm_db_load(w, id, &row, &found, err);

    if (!rc && found && row.state != SUF_FB_STATE_COUNT) {
        v = suf_fsm_step(&w->p, &row, ev, &fx);
        if (v != SUF_FSM_NOOP)
            rc = suf_fsm_db_store(w, id, &row, NULL, err);
    }
    if (!rc && (fx & SUF_FSM_CANCEL_SENDS)) {
        sqlite3_bind_int64(w->cancel, 1, ev->at);
        sqlite3_bind_int64(w->cancel, 2, id);
        rc = step_done(w, w->cancel, "sends", err);
        fx &= ~(unsigned)SUF_FSM_CANCEL_SENDS;
    }
    if (verdict)
        *verdict = v;
    if (effects)
        *effects = fx;
    return rc;
}

sqlite3_stmt *suf_fsm_db_prepare(struct suf_store *st, const char *sql, enum suf_fsm_kind kind,
                                 struct suf_err *err)
{
    const char *at = strstr(sql, SUF_FSM_DB_STATES);
    char list[512];
    size_t head, need;
    char *text;
    sqlite3_stmt *s;

    if (!at)
        return suf_store_prepare(st, sql, err);
    need = suf_fsm_state_list(kind, list, sizeof(list));
    if (need >= sizeof(list)) {
        suf_err_set(err, SUF_ERR_INTERNAL, "state list of event %d does not fit", (int)kind);
        return NULL;
    }
    head = (size_t)(at - sql);
    text = suf_xmalloc(strlen(sql) + need + 1);
    memcpy(text, sql, head);
    memcpy(text + head, list, need);
    suf_strlcpy(text + head + need, at + strlen(SUF_FSM_DB_STATES),
                strlen(sql) - head - strlen(SUF_FSM_DB_STATES) + 1);
    s = suf_store_prepare(st, text, err);
    free(text);
    return s;
}

int suf_fsm_db_step_all(struct suf_fsm_db *w, sqlite3_stmt *ids, const struct suf_fsm_event *ev,
                        int64_t *moved, struct suf_err *err)
{
    int64_t *id = NULL;
    size_t n = 0, alloc = 0;
    int rc, step;

    *moved = 0;
    /* all ids first: no row of the table is written under a running SELECT */
    while ((step = sqlite3_step(ids)) == SQLITE_ROW) {
        if (n == alloc) {
            alloc = alloc ? 2 * alloc : 64;
            id = suf_xrealloc(id, alloc * sizeof(*id));
        }
        id[n++] = sqlite3_column_int64(ids, 0);
    }
    sqlite3_reset(ids);
    rc = step == SQLITE_DONE ? SUF_OK : suf_store_fail(w->st, err, "fallbacks");
    for (size_t i = 0; !rc && i < n; i++) {
        enum suf_fsm_verdict v;

        rc = suf_fsm_db_step(w, id[i], ev, &v, NULL, err);
        if (!rc && v == SUF_FSM_APPLIED)
            (*moved)++;
    }
    free(id);
    return rc;
}
