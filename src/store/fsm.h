/*
 * fsm.h: the fallback state machine of DESIGN.md ("Reconcile"), as pure
 * functions: a fallback's row and one event in, the row's new values and
 * the side effects out.  No I/O, no clock: reconcile.c loads the row, calls
 * suf_fsm_step() and writes back what changed, so every rule can be tested
 * from a table.
 *
 *   pending -> utility_sent -> utility_delivered -> consented -> session_sent -> converted
 *      |           |                  |                 |              |
 *      +- failed   +- utility_failed  +- declined       +- window_expired
 *                                     +- no_response    session_failed
 *   (pending, utility_sent, utility_delivered, consented, blocked) -> opted_out
 *
 *   pending <-> blocked (its campaign is off, expired, its permission
 *                        template cannot be used, or its consent window
 *                        could not close before valid_until; with a reason)
 *   (pending, utility_sent, utility_delivered, consented, blocked) -> cancelled
 *                       (`suf cancel`: terminal)
 *
 * Invariants:
 *  - a state never moves backwards: an event that arrives late (delivered
 *    after read, sent after delivered) or twice is a no-op;
 *  - the first answer wins: a "no" after a "yes" (or the reverse) changes
 *    nothing;
 *  - a tap implies the utility message was delivered: a tap on a fallback
 *    whose delivery status has not arrived yet takes the tap time as the
 *    delivery time;
 *  - a consent counts only inside the consent window
 *    [utility_delivered_at, window end); a later tap only records
 *    late_consent_at;
 *  - timestamps are seconds since the epoch, 0 meaning "not yet";
 *  - an opt-out ends the fallbacks that could still send something
 *    (pending, utility_sent, utility_delivered, consented, blocked): "no further
 *    fallback goes to that phone".  A fallback that already ended keeps
 *    the outcome it had (a decline stays a decline in the report), and one
 *    whose session content has all left (session_sent) may still convert
 *    when its delivery arrives: the opt-out itself is in `optouts`;
 *  - every stage asks suf_fsm_can_move() which states an event can move
 *    (batch updates render it as an SQL IN list, store/fsm_db.h), so no
 *    list of states is written anywhere else.
 *
 * Delivery of a single message (sends.delivery) has its own, smaller order:
 * none < sent < delivered < read, and failed only from none or sent.
 */
#ifndef SUF_FSM_H
#define SUF_FSM_H

#include <stdbool.h>
#include <stdint.h>

/* Fallback states, in the order of the diagram; names as stored. */
enum suf_fb_state {
    SUF_FB_PENDING,
    SUF_FB_FAILED,
    SUF_FB_UTILITY_SENT,
    SUF_FB_UTILITY_FAILED,
    SUF_FB_UTILITY_DELIVERED,
    SUF_FB_DECLINED,
    SUF_FB_NO_RESPONSE,
    SUF_FB_CONSENTED,
    SUF_FB_WINDOW_EXPIRED,
    SUF_FB_SESSION_SENT,
    SUF_FB_SESSION_FAILED,
    SUF_FB_CONVERTED,
    SUF_FB_OPTED_OUT,
    SUF_FB_BLOCKED,   /* held back before its utility message; reversible */
    SUF_FB_CANCELLED, /* stopped by the operator; terminal */
    SUF_FB_STATE_COUNT /* number of states; not a state */
};

/* Why a fallback is blocked or cancelled (fallbacks.reason). */
enum suf_fb_reason {
    SUF_FB_REASON_NONE,
    SUF_FB_REASON_CAMPAIGN_OFF,      /* its campaign's fallback setting is off */
    SUF_FB_REASON_CAMPAIGN_EXPIRED,  /* now is past the campaign's valid_until */
    SUF_FB_REASON_TEMPLATE_UNUSABLE, /* the permission template cannot ask */
    SUF_FB_REASON_WINDOW_TOO_SHORT,  /* now + consent wait is past valid_until */
    SUF_FB_REASON_CANCELLED,         /* `suf cancel` */
    SUF_FB_REASON_COUNT
};

/* What happened to a fallback. */
enum suf_fsm_kind {
    SUF_EV_UTILITY_SENT,      /* status "sent" of the utility message */
    SUF_EV_UTILITY_DELIVERED, /* "delivered" or "read" of the utility message */
    SUF_EV_UTILITY_FAILED,    /* "failed" of the utility message (error_code) */
    SUF_EV_CONSENT,           /* a "yes" tap, or a consent keyword */
    SUF_EV_DECLINE,           /* a "no" tap */
    SUF_EV_SESSION_SENT,      /* "sent" of a session part */
    SUF_EV_SESSION_DELIVERED, /* "delivered"/"read" of a session part (last_part) */
    SUF_EV_SESSION_FAILED,    /* "failed" of a session part (error_code) */
    SUF_EV_OPT_OUT,           /* STOP reply, or error 131050 on any message
                                 (error_code: kept when not 0) */
    SUF_EV_TICK,              /* time passed: `at` is now */
    SUF_EV_BLOCK,             /* the campaign may not send now (reason, detail) */
    SUF_EV_UNBLOCK,           /* it may again */
    SUF_EV_CANCEL,            /* the operator stopped the campaign (detail) */
    SUF_EV_KIND_COUNT
};

/* The rules' parameters, from the config. */
struct suf_fsm_params {
    int64_t consent_wait_s; /* consent_wait_hours * 3600 */
    int64_t margin_s;       /* window_margin_minutes * 60 */
};

/* The fallback fields the rules read and write (0 = not yet / none). */
struct suf_fsm_row {
    enum suf_fb_state state;
    int64_t state_at;
    int64_t utility_sent_at;
    int64_t utility_delivered_at;
    int64_t consented_at;
    int64_t late_consent_at;
    int64_t declined_at;
    int64_t session_sent_at;
    int64_t converted_at;
    int64_t closed_at;
    int64_t error_code;
    int64_t valid_until; /* the campaign's; read only; 0 = no limit */
    enum suf_fb_reason reason; /* blocked or cancelled: why; else NONE */
    /* The reason's words for the operator; borrowed from the event that set
     * them, NULL meaning "as stored" (a loaded row does not read them). */
    const char *detail;
};

struct suf_fsm_event {
    enum suf_fsm_kind kind;
    int64_t at;         /* the event's time (TICK: now) */
    bool last_part;     /* SESSION_DELIVERED: the highest session part */
    int64_t error_code; /* *_FAILED: the error code, 0 when none */
    enum suf_fb_reason reason; /* BLOCK: why */
    const char *detail;        /* BLOCK, CANCEL: the words (borrowed) */
};

/* What the caller must do besides writing the row back. */
enum suf_fsm_effect {
    SUF_FSM_QUEUE_SESSION = 1, /* held session parts become queued */
    SUF_FSM_CANCEL_SENDS = 2,  /* held and queued sends become cancelled */
};

/* How an event was taken. */
enum suf_fsm_verdict {
    SUF_FSM_APPLIED,   /* the state changed */
    SUF_FSM_NOOP,      /* out of order, duplicate or not applicable: nothing changed */
    SUF_FSM_LATE,      /* a consent after the window: late_consent_at recorded */
};

/* True when an event of `kind` can change a fallback in state `s` (at
 * some time, with some payload): the states each rule starts from. */
bool suf_fsm_can_move(enum suf_fsm_kind kind, enum suf_fb_state s);
/* Writes the states suf_fsm_can_move() accepts for `kind` as an SQL list,
 * "('pending', 'utility_sent')", into buf (always terminated); returns the
 * length it needed, as snprintf does. */
size_t suf_fsm_state_list(enum suf_fsm_kind kind, char *buf, size_t size);

/* The reason's stored name ("campaign_off"); "" for NONE. */
const char *suf_fsm_reason_name(enum suf_fb_reason r);
/* Parses a stored name (NULL or "" is NONE); false for an unknown one. */
bool suf_fsm_reason_parse(const char *name, enum suf_fb_reason *out);

/* The state's stored name ("utility_delivered"). */
const char *suf_fsm_state_name(enum suf_fb_state s);
/* Parses a stored name; false for an unknown one. */
bool suf_fsm_state_parse(const char *name, enum suf_fb_state *out);

/* End of the consent window: the earlier of utility delivery + wait and
 * valid_until; 0 while the utility message is not delivered. */
int64_t suf_fsm_consent_window_end(const struct suf_fsm_params *p, const struct suf_fsm_row *row);
/* The last moment a session message may go out: consented_at + 24 h -
 * margin; 0 when not consented. */
int64_t suf_fsm_session_deadline(const struct suf_fsm_params *p, const struct suf_fsm_row *row);

/*
 * Applies `ev` to `row` in place and returns the verdict; *effects gets the
 * side effects (a mask of enum suf_fsm_effect).  On SUF_FSM_NOOP the row is
 * left exactly as it was.
 */
enum suf_fsm_verdict suf_fsm_step(const struct suf_fsm_params *p, struct suf_fsm_row *row,
                                  const struct suf_fsm_event *ev, unsigned *effects);

/* --- one message's delivery (sends.delivery) ----------------------------- */

enum suf_delivery {
    SUF_DLV_NONE,
    SUF_DLV_SENT,
    SUF_DLV_DELIVERED,
    SUF_DLV_READ,
    SUF_DLV_FAILED,
    SUF_DLV_COUNT
};

/* "sent", "delivered", "read", "failed"; NULL for SUF_DLV_NONE. */
const char *suf_fsm_delivery_name(enum suf_delivery d);
/* Parses a webhook status or a stored delivery (NULL = none); false for
 * one this job does not track ("played", "deleted"). */
bool suf_fsm_delivery_parse(const char *name, enum suf_delivery *out);
/* True when a status `next` moves a message whose delivery is `cur`
 * forward (never backwards; failed only from none or sent). */
bool suf_fsm_delivery_advances(enum suf_delivery cur, enum suf_delivery next);

#endif /* SUF_FSM_H */
