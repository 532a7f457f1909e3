/*
 * fsm.c: the fallback state machine (see fsm.h).
 *
 * Each event kind has a small function that decides, from the current row
 * only, whether the event moves the fallback forward.  suf_fsm_step() runs
 * it on a copy and keeps the copy only when something changed, so a no-op
 * can never leave a half-updated row behind.
 */
#include <stdio.h>
#include <string.h>

#include "store/fsm.h"
#include "base/banned.h"

#define DAY_S INT64_C(86400)

static const char *const state_names[SUF_FB_STATE_COUNT] = {
    [SUF_FB_PENDING] = "pending",
    [SUF_FB_FAILED] = "failed",
    [SUF_FB_UTILITY_SENT] = "utility_sent",
    [SUF_FB_UTILITY_FAILED] = "utility_failed",
    [SUF_FB_UTILITY_DELIVERED] = "utility_delivered",
    [SUF_FB_DECLINED] = "declined",
    [SUF_FB_NO_RESPONSE] = "no_response",
    [SUF_FB_CONSENTED] = "consented",
    [SUF_FB_WINDOW_EXPIRED] = "window_expired",
    [SUF_FB_SESSION_SENT] = "session_sent",
    [SUF_FB_SESSION_FAILED] = "session_failed",
    [SUF_FB_CONVERTED] = "converted",
    [SUF_FB_OPTED_OUT] = "opted_out",
    [SUF_FB_BLOCKED] = "blocked",
    [SUF_FB_CANCELLED] = "cancelled",
};

static const char *const reason_names[SUF_FB_REASON_COUNT] = {
    [SUF_FB_REASON_NONE] = "",
    [SUF_FB_REASON_CAMPAIGN_OFF] = "campaign_off",
    [SUF_FB_REASON_CAMPAIGN_EXPIRED] = "campaign_expired",
    [SUF_FB_REASON_TEMPLATE_UNUSABLE] = "template_unusable",
    [SUF_FB_REASON_WINDOW_TOO_SHORT] = "window_too_short",
    [SUF_FB_REASON_CANCELLED] = "cancelled",
};

#define S(st) (UINT32_C(1) << (st))
/* Before delivery is known: pending or utility_sent (a status may still be
 * on its way). */
#define AWAITING_DELIVERY (S(SUF_FB_PENDING) | S(SUF_FB_UTILITY_SENT))
/* The fallbacks that may still send something: what an opt-out or a
 * cancellation ends. */
#define STILL_SENDING                                                                          \
    (AWAITING_DELIVERY | S(SUF_FB_UTILITY_DELIVERED) | S(SUF_FB_CONSENTED) | S(SUF_FB_BLOCKED))

/* The states each event can move a fallback from: the one list of them.
 * The rules below test it first, then what the row's times decide. */
static const uint32_t moves_from[SUF_EV_KIND_COUNT] = {
    [SUF_EV_UTILITY_SENT] = S(SUF_FB_PENDING),
    [SUF_EV_UTILITY_DELIVERED] = AWAITING_DELIVERY,
    [SUF_EV_UTILITY_FAILED] = AWAITING_DELIVERY,
    /* no_response: only a late consent is recorded */
    [SUF_EV_CONSENT] = AWAITING_DELIVERY | S(SUF_FB_UTILITY_DELIVERED) | S(SUF_FB_NO_RESPONSE),
    [SUF_EV_DECLINE] = AWAITING_DELIVERY | S(SUF_FB_UTILITY_DELIVERED),
    [SUF_EV_SESSION_SENT] = S(SUF_FB_CONSENTED),
    /* a delivered last part converts even a fallback that timed out or saw
     * an earlier part fail: the customer got the content, which is what
     * converted means */
    [SUF_EV_SESSION_DELIVERED] = S(SUF_FB_CONSENTED) | S(SUF_FB_SESSION_SENT) |
                                 S(SUF_FB_WINDOW_EXPIRED) | S(SUF_FB_SESSION_FAILED),
    [SUF_EV_SESSION_FAILED] = S(SUF_FB_CONSENTED) | S(SUF_FB_SESSION_SENT),
    [SUF_EV_OPT_OUT] = STILL_SENDING,
    [SUF_EV_TICK] = S(SUF_FB_UTILITY_DELIVERED) | S(SUF_FB_CONSENTED),
    /* only before its utility message; blocked: when the reason changes */
    [SUF_EV_BLOCK] = S(SUF_FB_PENDING) | S(SUF_FB_BLOCKED),
    [SUF_EV_UNBLOCK] = S(SUF_FB_BLOCKED),
    [SUF_EV_CANCEL] = STILL_SENDING,
};

static const char *const delivery_names[SUF_DLV_COUNT] = {
    [SUF_DLV_NONE] = NULL,
    [SUF_DLV_SENT] = "sent",
    [SUF_DLV_DELIVERED] = "delivered",
    [SUF_DLV_READ] = "read",
    [SUF_DLV_FAILED] = "failed",
};

const char *suf_fsm_state_name(enum suf_fb_state s)
{
    return (unsigned)s < SUF_FB_STATE_COUNT ? state_names[s] : "?";
}

bool suf_fsm_can_move(enum suf_fsm_kind kind, enum suf_fb_state s)
{
    return (unsigned)kind < SUF_EV_KIND_COUNT && (unsigned)s < SUF_FB_STATE_COUNT &&
           (moves_from[kind] & S(s));
}

size_t suf_fsm_state_list(enum suf_fsm_kind kind, char *buf, size_t size)
{
    size_t n = 0;
    int w;

    if (size)
        buf[0] = '\0';
    for (int i = 0; i < SUF_FB_STATE_COUNT; i++) {
        if (!suf_fsm_can_move(kind, (enum suf_fb_state)i))
            continue;
        w = snprintf(buf + (n < size ? n : size), n < size ? size - n : 0, "%s'%s'",
                     n ? ", " : "(", state_names[i]);
        n += w > 0 ? (size_t)w : 0;
    }
    /* no state at all: an empty list that matches nothing */
    w = snprintf(buf + (n < size ? n : size), n < size ? size - n : 0, "%s", n ? ")" : "(NULL)");
    return n + (w > 0 ? (size_t)w : 0);
}

const char *suf_fsm_reason_name(enum suf_fb_reason r)
{
    return (unsigned)r < SUF_FB_REASON_COUNT ? reason_names[r] : "?";
}

bool suf_fsm_reason_parse(const char *name, enum suf_fb_reason *out)
{
    for (int i = 0; i < SUF_FB_REASON_COUNT; i++) {
        if (!strcmp(reason_names[i], name ? name : "")) {
            *out = (enum suf_fb_reason)i;
            return true;
        }
    }
    return false;
}

bool suf_fsm_state_parse(const char *name, enum suf_fb_state *out)
{
    for (int i = 0; name && i < SUF_FB_STATE_COUNT; i++) {
        if (!strcmp(state_names[i], name)) {
            *out = (enum suf_fb_state)i;
            return true;
        }
    }
    return false;
}

int64_t suf_fsm_consent_window_end(const struct suf_fsm_params *p, const struct suf_fsm_row *row)
{
    int64_t end;

    if (!row->utility_delivered_at)
        return 0;
    end = row->utility_delivered_at + p->consent_wait_s;
    if (row->valid_until && row->valid_until < end)
        end = row->valid_until;
    return end;
}

int64_t suf_fsm_session_deadline(const struct suf_fsm_params *p, const struct suf_fsm_row *row)
{
    return row->consented_at ? row->consented_at + DAY_S - p->margin_s : 0;
}

static void set_if_zero(int64_t *field, int64_t v)
{
    if (!*field)
        *field = v;
}

static void move_to(struct suf_fsm_row *r, enum suf_fb_state s, int64_t at)
{
    r->state = s;
    r->state_at = at;
}

static bool awaiting_delivery(enum suf_fb_state s)
{
    return (AWAITING_DELIVERY & S(s)) != 0;
}

static enum suf_fsm_verdict on_utility_sent(struct suf_fsm_row *r, const struct suf_fsm_event *ev)
{
    set_if_zero(&r->utility_sent_at, ev->at);
    move_to(r, SUF_FB_UTILITY_SENT, ev->at);
    return SUF_FSM_APPLIED;
}

static enum suf_fsm_verdict on_utility_delivered(struct suf_fsm_row *r,
                                                 const struct suf_fsm_event *ev)
{
    set_if_zero(&r->utility_sent_at, ev->at);
    set_if_zero(&r->utility_delivered_at, ev->at);
    move_to(r, SUF_FB_UTILITY_DELIVERED, ev->at);
    return SUF_FSM_APPLIED;
}

static enum suf_fsm_verdict on_utility_failed(struct suf_fsm_row *r, const struct suf_fsm_event *ev)
{
    r->error_code = ev->error_code;
    r->closed_at = ev->at;
    move_to(r, SUF_FB_UTILITY_FAILED, ev->at);
    return SUF_FSM_APPLIED;
}

/* A tap is an answer to a delivered message: before the status arrives,
 * the tap itself dates the delivery. */
static bool can_answer(struct suf_fsm_row *r, int64_t at)
{
    if (awaiting_delivery(r->state)) {
        set_if_zero(&r->utility_sent_at, at);
        set_if_zero(&r->utility_delivered_at, at);
        return true;
    }
    return r->state == SUF_FB_UTILITY_DELIVERED;
}

static enum suf_fsm_verdict late(struct suf_fsm_row *r, int64_t at)
{
    if (r->late_consent_at)
        return SUF_FSM_NOOP;
    r->late_consent_at = at;
    return SUF_FSM_LATE;
}

static enum suf_fsm_verdict on_consent(const struct suf_fsm_params *p, struct suf_fsm_row *r,
                                       const struct suf_fsm_event *ev, unsigned *effects)
{
    struct suf_fsm_row t = *r;

    if (r->state == SUF_FB_NO_RESPONSE)
        return late(r, ev->at);
    if (!can_answer(&t, ev->at))
        return SUF_FSM_NOOP;
    if (ev->at >= suf_fsm_consent_window_end(p, &t))
        return late(r, ev->at);
    *r = t;
    r->consented_at = ev->at;
    move_to(r, SUF_FB_CONSENTED, ev->at);
    *effects |= SUF_FSM_QUEUE_SESSION;
    return SUF_FSM_APPLIED;
}

static enum suf_fsm_verdict on_decline(const struct suf_fsm_params *p, struct suf_fsm_row *r,
                                       const struct suf_fsm_event *ev)
{
    if (!can_answer(r, ev->at) || ev->at >= suf_fsm_consent_window_end(p, r))
        return SUF_FSM_NOOP;
    r->declined_at = ev->at;
    r->closed_at = ev->at;
    move_to(r, SUF_FB_DECLINED, ev->at);
    return SUF_FSM_APPLIED;
}

static enum suf_fsm_verdict on_session_sent(struct suf_fsm_row *r, const struct suf_fsm_event *ev)
{
    set_if_zero(&r->session_sent_at, ev->at);
    move_to(r, SUF_FB_SESSION_SENT, ev->at);
    return SUF_FSM_APPLIED;
}

static enum suf_fsm_verdict on_session_delivered(struct suf_fsm_row *r,
                                                 const struct suf_fsm_event *ev)
{
    if (!ev->last_part)
        return SUF_FSM_NOOP;
    set_if_zero(&r->session_sent_at, ev->at);
    r->converted_at = ev->at;
    r->closed_at = ev->at;
    move_to(r, SUF_FB_CONVERTED, ev->at);
    return SUF_FSM_APPLIED;
}

/* The rest of the content can never follow a part that failed. */
static enum suf_fsm_verdict on_session_failed(struct suf_fsm_row *r, const struct suf_fsm_event *ev,
                                              unsigned *effects)
{
    r->error_code = ev->error_code;
    r->closed_at = ev->at;
    move_to(r, SUF_FB_SESSION_FAILED, ev->at);
    *effects |= SUF_FSM_CANCEL_SENDS;
    return SUF_FSM_APPLIED;
}

static enum suf_fsm_verdict on_opt_out(struct suf_fsm_row *r, const struct suf_fsm_event *ev,
                                       unsigned *effects)
{
    if (ev->error_code)
        r->error_code = ev->error_code;
    r->reason = SUF_FB_REASON_NONE; /* a blocked one is no longer held: it is out */
    r->detail = NULL;
    r->closed_at = ev->at;
    move_to(r, SUF_FB_OPTED_OUT, ev->at);
    *effects |= SUF_FSM_CANCEL_SENDS;
    return SUF_FSM_APPLIED;
}

static enum suf_fsm_verdict on_tick(const struct suf_fsm_params *p, struct suf_fsm_row *r,
                                    int64_t now, unsigned *effects)
{
    int64_t end;

    if (r->state == SUF_FB_UTILITY_DELIVERED) {
        end = suf_fsm_consent_window_end(p, r);
        if (!end || now < end)
            return SUF_FSM_NOOP;
        r->closed_at = end;
        move_to(r, SUF_FB_NO_RESPONSE, end);
        return SUF_FSM_APPLIED;
    }
    if (r->state == SUF_FB_CONSENTED) {
        end = suf_fsm_session_deadline(p, r);
        if (now <= end)
            return SUF_FSM_NOOP;
        r->closed_at = end;
        move_to(r, SUF_FB_WINDOW_EXPIRED, end);
        *effects |= SUF_FSM_CANCEL_SENDS;
        return SUF_FSM_APPLIED;
    }
    return SUF_FSM_NOOP;
}

static enum suf_fsm_verdict on_block(struct suf_fsm_row *r, const struct suf_fsm_event *ev)
{
    if (ev->reason == SUF_FB_REASON_NONE || ev->reason == SUF_FB_REASON_CANCELLED ||
        (unsigned)ev->reason >= SUF_FB_REASON_COUNT)
        return SUF_FSM_NOOP;
    if (r->state == SUF_FB_BLOCKED && r->reason == ev->reason)
        return SUF_FSM_NOOP;
    r->reason = ev->reason;
    r->detail = ev->detail;
    move_to(r, SUF_FB_BLOCKED, ev->at);
    return SUF_FSM_APPLIED;
}

/* Back to pending: planned again, as if it had never been held. */
static enum suf_fsm_verdict on_unblock(struct suf_fsm_row *r, const struct suf_fsm_event *ev)
{
    r->reason = SUF_FB_REASON_NONE;
    r->detail = NULL;
    move_to(r, SUF_FB_PENDING, ev->at);
    return SUF_FSM_APPLIED;
}

static enum suf_fsm_verdict on_cancel(struct suf_fsm_row *r, const struct suf_fsm_event *ev,
                                      unsigned *effects)
{
    r->reason = SUF_FB_REASON_CANCELLED;
    r->detail = ev->detail;
    r->closed_at = ev->at;
    move_to(r, SUF_FB_CANCELLED, ev->at);
    *effects |= SUF_FSM_CANCEL_SENDS;
    return SUF_FSM_APPLIED;
}

enum suf_fsm_verdict suf_fsm_step(const struct suf_fsm_params *p, struct suf_fsm_row *row,
                                  const struct suf_fsm_event *ev, unsigned *effects)
{
    struct suf_fsm_row r = *row;
    enum suf_fsm_verdict v = SUF_FSM_NOOP;
    unsigned fx = 0;

    *effects = 0;
    if (!suf_fsm_can_move(ev->kind, row->state))
        return SUF_FSM_NOOP;
    switch (ev->kind) {
    case SUF_EV_UTILITY_SENT:
        v = on_utility_sent(&r, ev);
        break;
    case SUF_EV_UTILITY_DELIVERED:
        v = on_utility_delivered(&r, ev);
        break;
    case SUF_EV_UTILITY_FAILED:
        v = on_utility_failed(&r, ev);
        break;
    case SUF_EV_CONSENT:
        v = on_consent(p, &r, ev, &fx);
        break;
    case SUF_EV_DECLINE:
        v = on_decline(p, &r, ev);
        break;
    case SUF_EV_SESSION_SENT:
        v = on_session_sent(&r, ev);
        break;
    case SUF_EV_SESSION_DELIVERED:
        v = on_session_delivered(&r, ev);
        break;
    case SUF_EV_SESSION_FAILED:
        v = on_session_failed(&r, ev, &fx);
        break;
    case SUF_EV_OPT_OUT:
        v = on_opt_out(&r, ev, &fx);
        break;
    case SUF_EV_TICK:
        v = on_tick(p, &r, ev->at, &fx);
        break;
    case SUF_EV_BLOCK:
        v = on_block(&r, ev);
        break;
    case SUF_EV_UNBLOCK:
        v = on_unblock(&r, ev);
        break;
    case SUF_EV_CANCEL:
        v = on_cancel(&r, ev, &fx);
        break;
    case SUF_EV_KIND_COUNT:
        break;
    }
    *effects = v == SUF_FSM_NOOP ? 0 : fx;
    if (v != SUF_FSM_NOOP)
        *row = r;
    return v;
}

/* --- one message's delivery ---------------------------------------------- */

const char *suf_fsm_delivery_name(enum suf_delivery d)
{
    return (unsigned)d < SUF_DLV_COUNT ? delivery_names[d] : NULL;
}

bool suf_fsm_delivery_parse(const char *name, enum suf_delivery *out)
{
    if (!name) {
        *out = SUF_DLV_NONE;
        return true;
    }
    for (int i = 1; i < SUF_DLV_COUNT; i++) {
        if (!strcmp(delivery_names[i], name)) {
            *out = (enum suf_delivery)i;
            return true;
        }
    }
    return false;
}

bool suf_fsm_delivery_advances(enum suf_delivery cur, enum suf_delivery next)
{
    if (next == SUF_DLV_NONE || cur == SUF_DLV_FAILED)
        return false;
    if (next == SUF_DLV_FAILED)
        return cur == SUF_DLV_NONE || cur == SUF_DLV_SENT;
    return next > cur;
}
