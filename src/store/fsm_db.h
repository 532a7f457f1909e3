/*
 * fsm_db.h: the one writer of a fallback's state.  The state machine
 * (fsm.h) decides; this module loads a fallback's row, steps it and writes
 * back what the machine returned, for every stage that moves fallbacks
 * (send, reconcile, the batch passes).  No other code writes
 * fallbacks.state: the `fsm_owner` test checks the sources for it.
 *
 * Invariants:
 *  - a row is written only when suf_fsm_step() did not return a no-op;
 *  - a batch update never names a state: its SQL takes the list of states
 *    an event can move from the machine (suf_fsm_can_move), rendered where
 *    it says "{states}", and every row it finds is stepped on its own, so
 *    the machine still decides each one.
 *
 * Steps:
 *  1. suf_fsm_db_open() prepares the statements (inside or outside a
 *     transaction);
 *  2. suf_fsm_db_step() per fallback and event, or suf_fsm_db_step_all()
 *     over the ids a query returns, inside the caller's transaction;
 *  3. suf_fsm_db_close() finalizes.
 */
#ifndef SUF_FSM_DB_H
#define SUF_FSM_DB_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "base/status.h"
#include "store/fsm.h"
#include "store/store.h"

/* A fallback's machine row as a SELECT list, with `f` the fallbacks row and
 * `c` its campaign (LEFT JOIN campaigns c ON c.campaign_id = f.campaign_id);
 * read back with suf_fsm_db_read(). */
#define SUF_FSM_DB_COLS                                                                        \
    "f.state, f.state_at, f.utility_sent_at, f.utility_delivered_at, f.consented_at, "        \
    "f.late_consent_at, f.declined_at, f.session_sent_at, f.converted_at, f.closed_at, "      \
    "f.error_code, c.valid_until, f.reason "
#define SUF_FSM_DB_NCOLS 13

/* Where a query's SQL takes the states an event can move (see above). */
#define SUF_FSM_DB_STATES "{states}"

struct suf_fsm_db {
    struct suf_store *st;
    struct suf_fsm_params p;
    sqlite3_stmt *load, *store, *cancel;
};

int suf_fsm_db_open(struct suf_fsm_db *w, struct suf_store *st, const struct suf_fsm_params *p,
                    struct suf_err *err);
/* Finalizes; safe on a zeroed or closed writer. */
void suf_fsm_db_close(struct suf_fsm_db *w);

/* Reads SUF_FSM_DB_COLS from column `base` of `s` into *row; returns false
 * when the stored state is not one the machine knows (row->state is then
 * left as SUF_FB_STATE_COUNT). */
bool suf_fsm_db_read(sqlite3_stmt *s, int base, struct suf_fsm_row *row);

/* Loads fallback `id`; *found is false when there is none. */
int suf_fsm_db_load(struct suf_fsm_db *w, int64_t id, struct suf_fsm_row *row, bool *found,
                    struct suf_err *err);
/* Writes `row` back to fallback `id`; `consent_source` (may be NULL: kept
 * as it was) is recorded with a consent.  The reason's detail is
 * row->detail, kept as stored when NULL, dropped with the reason. */
int suf_fsm_db_store(struct suf_fsm_db *w, int64_t id, const struct suf_fsm_row *row,
                     const char *consent_source, struct suf_err *err);

/*
 * Loads fallback `id`, applies `ev` and writes back what changed, then
 * carries out SUF_FSM_CANCEL_SENDS (its held and queued sends become
 * cancelled, at ev->at); any other effect is left in *effects for the
 * caller (may be NULL when the event has none).  *verdict (may be NULL)
 * is SUF_FSM_NOOP for a fallback that does not exist or whose stored state
 * the machine does not know.
 */
int suf_fsm_db_step(struct suf_fsm_db *w, int64_t id, const struct suf_fsm_event *ev,
                    enum suf_fsm_verdict *verdict, unsigned *effects, struct suf_err *err);

/* Prepares `sql` with SUF_FSM_DB_STATES replaced by the states `kind` can
 * move, as an SQL list; NULL (err filled) when it cannot be prepared. */
sqlite3_stmt *suf_fsm_db_prepare(struct suf_store *st, const char *sql, enum suf_fsm_kind kind,
                                 struct suf_err *err);

/* Steps `ev` on every fallback whose id the bound query `ids` returns (one
 * int64 column; read to the end first, then reset); *moved gets the number
 * the machine moved. */
int suf_fsm_db_step_all(struct suf_fsm_db *w, sqlite3_stmt *ids, const struct suf_fsm_event *ev,
                        int64_t *moved, struct suf_err *err);

#endif /* SUF_FSM_DB_H */
