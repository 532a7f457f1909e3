/*
 * test_fsm.c: the fallback state machine, from tables: every transition,
 * every out-of-order pair, duplicates, the consent window's edges, and the
 * delivery order of a single message.
 */
#include <stdio.h>
#include <string.h>

#include "store/fsm.h"
#include "testutil.h"

#define H INT64_C(3600)
#define T0 INT64_C(1795392000) /* 2026-11-23T00:00:00Z: the utility message was delivered */
#define WAIT (72 * H)
#define MARGIN (30 * 60)

static const struct suf_fsm_params params = {WAIT, MARGIN};

/* A row in `state` as it would look there: the timestamps of the states it
 * passed through are set. */
static struct suf_fsm_row row_in(enum suf_fb_state state)
{
    struct suf_fsm_row r;

    memset(&r, 0, sizeof(r));
    r.state = state;
    r.state_at = T0;
    if (state == SUF_FB_BLOCKED || state == SUF_FB_CANCELLED) {
        /* held or stopped before its utility message */
        r.reason = state == SUF_FB_BLOCKED ? SUF_FB_REASON_CAMPAIGN_OFF : SUF_FB_REASON_CANCELLED;
        return r;
    }
    if (state != SUF_FB_PENDING && state != SUF_FB_FAILED)
        r.utility_sent_at = T0 - 60;
    if (state >= SUF_FB_UTILITY_DELIVERED && state != SUF_FB_UTILITY_FAILED)
        r.utility_delivered_at = T0;
    if (state >= SUF_FB_CONSENTED && state <= SUF_FB_CONVERTED)
        r.consented_at = T0 + H;
    if (state == SUF_FB_SESSION_SENT || state == SUF_FB_SESSION_FAILED ||
        state == SUF_FB_CONVERTED)
        r.session_sent_at = T0 + H + 60;
    if (state == SUF_FB_CONVERTED)
        r.converted_at = T0 + H + 120;
    return r;
}

struct case_row {
    const char *name;
    enum suf_fb_state from;
    int64_t valid_until;
    struct suf_fsm_event ev;
    enum suf_fsm_verdict verdict;
    enum suf_fb_state to;
    unsigned effects;
};

#define EV(k, at) {k, at, false, 0, SUF_FB_REASON_NONE, NULL}
#define EVL(k, at) {k, at, true, 0, SUF_FB_REASON_NONE, NULL}
#define EVC(k, at, code) {k, at, false, code, SUF_FB_REASON_NONE, NULL}

#define EVB(k, at, why) {k, at, false, 0, why, "words"}

static const struct case_row transitions[] = {
    {"pending, blocked", SUF_FB_PENDING, 0, EVB(SUF_EV_BLOCK, T0, SUF_FB_REASON_CAMPAIGN_EXPIRED),
     SUF_FSM_APPLIED, SUF_FB_BLOCKED, 0},
    {"pending, block without a reason", SUF_FB_PENDING, 0,
     EVB(SUF_EV_BLOCK, T0, SUF_FB_REASON_NONE), SUF_FSM_NOOP, SUF_FB_PENDING, 0},
    {"pending, block as cancelled", SUF_FB_PENDING, 0,
     EVB(SUF_EV_BLOCK, T0, SUF_FB_REASON_CANCELLED), SUF_FSM_NOOP, SUF_FB_PENDING, 0},
    {"blocked, the same reason again", SUF_FB_BLOCKED, 0,
     EVB(SUF_EV_BLOCK, T0 + H, SUF_FB_REASON_CAMPAIGN_OFF), SUF_FSM_NOOP, SUF_FB_BLOCKED, 0},
    {"blocked, another reason", SUF_FB_BLOCKED, 0,
     EVB(SUF_EV_BLOCK, T0 + H, SUF_FB_REASON_TEMPLATE_UNUSABLE), SUF_FSM_APPLIED,
     SUF_FB_BLOCKED, 0},
    {"blocked, unblocked", SUF_FB_BLOCKED, 0, EV(SUF_EV_UNBLOCK, T0 + H), SUF_FSM_APPLIED,
     SUF_FB_PENDING, 0},
    {"pending, unblock", SUF_FB_PENDING, 0, EV(SUF_EV_UNBLOCK, T0 + H), SUF_FSM_NOOP,
     SUF_FB_PENDING, 0},
    {"utility_sent, block (its message left)", SUF_FB_UTILITY_SENT, 0,
     EVB(SUF_EV_BLOCK, T0, SUF_FB_REASON_CAMPAIGN_OFF), SUF_FSM_NOOP, SUF_FB_UTILITY_SENT, 0},
    {"blocked, utility sent", SUF_FB_BLOCKED, 0, EV(SUF_EV_UTILITY_SENT, T0), SUF_FSM_NOOP,
     SUF_FB_BLOCKED, 0},
    {"pending, cancelled", SUF_FB_PENDING, 0, EV(SUF_EV_CANCEL, T0), SUF_FSM_APPLIED,
     SUF_FB_CANCELLED, SUF_FSM_CANCEL_SENDS},
    {"blocked, cancelled", SUF_FB_BLOCKED, 0, EV(SUF_EV_CANCEL, T0), SUF_FSM_APPLIED,
     SUF_FB_CANCELLED, SUF_FSM_CANCEL_SENDS},
    {"consented, cancelled", SUF_FB_CONSENTED, 0, EV(SUF_EV_CANCEL, T0 + 2 * H), SUF_FSM_APPLIED,
     SUF_FB_CANCELLED, SUF_FSM_CANCEL_SENDS},
    {"session_sent, cancel (nothing left to stop)", SUF_FB_SESSION_SENT, 0,
     EV(SUF_EV_CANCEL, T0 + 2 * H), SUF_FSM_NOOP, SUF_FB_SESSION_SENT, 0},
    {"cancelled, unblock", SUF_FB_CANCELLED, 0, EV(SUF_EV_UNBLOCK, T0 + H), SUF_FSM_NOOP,
     SUF_FB_CANCELLED, 0},
    {"cancelled, opt-out", SUF_FB_CANCELLED, 0, EV(SUF_EV_OPT_OUT, T0 + H), SUF_FSM_NOOP,
     SUF_FB_CANCELLED, 0},
    {"blocked, opt-out", SUF_FB_BLOCKED, 0, EV(SUF_EV_OPT_OUT, T0 + H), SUF_FSM_APPLIED,
     SUF_FB_OPTED_OUT, SUF_FSM_CANCEL_SENDS},
    {"pending, sent", SUF_FB_PENDING, 0, EV(SUF_EV_UTILITY_SENT, T0 - 30), SUF_FSM_APPLIED,
     SUF_FB_UTILITY_SENT, 0},
    {"pending, delivered (sent skipped)", SUF_FB_PENDING, 0, EV(SUF_EV_UTILITY_DELIVERED, T0),
     SUF_FSM_APPLIED, SUF_FB_UTILITY_DELIVERED, 0},
    {"pending, failed", SUF_FB_PENDING, 0, EVC(SUF_EV_UTILITY_FAILED, T0, 131026),
     SUF_FSM_APPLIED, SUF_FB_UTILITY_FAILED, 0},
    {"utility_sent, delivered", SUF_FB_UTILITY_SENT, 0, EV(SUF_EV_UTILITY_DELIVERED, T0),
     SUF_FSM_APPLIED, SUF_FB_UTILITY_DELIVERED, 0},
    {"utility_sent, failed", SUF_FB_UTILITY_SENT, 0, EVC(SUF_EV_UTILITY_FAILED, T0, 131049),
     SUF_FSM_APPLIED, SUF_FB_UTILITY_FAILED, 0},
    {"utility_sent, tap before the delivered status", SUF_FB_UTILITY_SENT, 0,
     EV(SUF_EV_CONSENT, T0 + 5), SUF_FSM_APPLIED, SUF_FB_CONSENTED, SUF_FSM_QUEUE_SESSION},
    {"delivered, consent inside the window", SUF_FB_UTILITY_DELIVERED, 0,
     EV(SUF_EV_CONSENT, T0 + 71 * H), SUF_FSM_APPLIED, SUF_FB_CONSENTED, SUF_FSM_QUEUE_SESSION},
    {"delivered, consent at the window's end is late", SUF_FB_UTILITY_DELIVERED, 0,
     EV(SUF_EV_CONSENT, T0 + WAIT), SUF_FSM_LATE, SUF_FB_UTILITY_DELIVERED, 0},
    {"delivered, consent after valid_until is late", SUF_FB_UTILITY_DELIVERED, T0 + 10 * H,
     EV(SUF_EV_CONSENT, T0 + 11 * H), SUF_FSM_LATE, SUF_FB_UTILITY_DELIVERED, 0},
    {"delivered, consent before valid_until", SUF_FB_UTILITY_DELIVERED, T0 + 10 * H,
     EV(SUF_EV_CONSENT, T0 + 9 * H), SUF_FSM_APPLIED, SUF_FB_CONSENTED, SUF_FSM_QUEUE_SESSION},
    {"delivered, decline", SUF_FB_UTILITY_DELIVERED, 0, EV(SUF_EV_DECLINE, T0 + H),
     SUF_FSM_APPLIED, SUF_FB_DECLINED, 0},
    {"delivered, decline after the window", SUF_FB_UTILITY_DELIVERED, 0,
     EV(SUF_EV_DECLINE, T0 + WAIT + 1), SUF_FSM_NOOP, SUF_FB_UTILITY_DELIVERED, 0},
    {"no_response, tap is a late consent", SUF_FB_NO_RESPONSE, 0, EV(SUF_EV_CONSENT, T0 + 80 * H),
     SUF_FSM_LATE, SUF_FB_NO_RESPONSE, 0},
    {"no_response, decline", SUF_FB_NO_RESPONSE, 0, EV(SUF_EV_DECLINE, T0 + 80 * H),
     SUF_FSM_NOOP, SUF_FB_NO_RESPONSE, 0},
    {"consented, decline: the first answer wins", SUF_FB_CONSENTED, 0, EV(SUF_EV_DECLINE, T0 + 2 * H),
     SUF_FSM_NOOP, SUF_FB_CONSENTED, 0},
    {"declined, consent: the first answer wins", SUF_FB_DECLINED, 0, EV(SUF_EV_CONSENT, T0 + 2 * H),
     SUF_FSM_NOOP, SUF_FB_DECLINED, 0},
    {"utility_failed, tap", SUF_FB_UTILITY_FAILED, 0, EV(SUF_EV_CONSENT, T0 + H), SUF_FSM_NOOP,
     SUF_FB_UTILITY_FAILED, 0},
    {"consented, session sent", SUF_FB_CONSENTED, 0, EV(SUF_EV_SESSION_SENT, T0 + 2 * H),
     SUF_FSM_APPLIED, SUF_FB_SESSION_SENT, 0},
    {"session_sent, last part delivered", SUF_FB_SESSION_SENT, 0,
     EVL(SUF_EV_SESSION_DELIVERED, T0 + 3 * H), SUF_FSM_APPLIED, SUF_FB_CONVERTED, 0},
    {"session_sent, first of two parts delivered", SUF_FB_SESSION_SENT, 0,
     EV(SUF_EV_SESSION_DELIVERED, T0 + 3 * H), SUF_FSM_NOOP, SUF_FB_SESSION_SENT, 0},
    {"consented, last part delivered (sent skipped)", SUF_FB_CONSENTED, 0,
     EVL(SUF_EV_SESSION_DELIVERED, T0 + 3 * H), SUF_FSM_APPLIED, SUF_FB_CONVERTED, 0},
    {"session_sent, failed outside the window", SUF_FB_SESSION_SENT, 0,
     EVC(SUF_EV_SESSION_FAILED, T0 + 3 * H, 131047), SUF_FSM_APPLIED, SUF_FB_SESSION_FAILED,
     SUF_FSM_CANCEL_SENDS},
    {"consented, session failed", SUF_FB_CONSENTED, 0, EVC(SUF_EV_SESSION_FAILED, T0 + 3 * H, 131000),
     SUF_FSM_APPLIED, SUF_FB_SESSION_FAILED, SUF_FSM_CANCEL_SENDS},
    {"window_expired, last part delivered anyway", SUF_FB_WINDOW_EXPIRED, 0,
     EVL(SUF_EV_SESSION_DELIVERED, T0 + 30 * H), SUF_FSM_APPLIED, SUF_FB_CONVERTED, 0},
    {"session_failed, last part delivered", SUF_FB_SESSION_FAILED, 0,
     EVL(SUF_EV_SESSION_DELIVERED, T0 + 3 * H), SUF_FSM_APPLIED, SUF_FB_CONVERTED, 0},
    {"converted, failed later", SUF_FB_CONVERTED, 0, EVC(SUF_EV_SESSION_FAILED, T0 + 4 * H, 131047),
     SUF_FSM_NOOP, SUF_FB_CONVERTED, 0},
    {"delivered, tick inside the window", SUF_FB_UTILITY_DELIVERED, 0, EV(SUF_EV_TICK, T0 + WAIT - 1),
     SUF_FSM_NOOP, SUF_FB_UTILITY_DELIVERED, 0},
    {"delivered, tick at the window's end", SUF_FB_UTILITY_DELIVERED, 0, EV(SUF_EV_TICK, T0 + WAIT),
     SUF_FSM_APPLIED, SUF_FB_NO_RESPONSE, 0},
    {"delivered, tick after valid_until", SUF_FB_UTILITY_DELIVERED, T0 + 5 * H,
     EV(SUF_EV_TICK, T0 + 6 * H), SUF_FSM_APPLIED, SUF_FB_NO_RESPONSE, 0},
    {"consented, tick at the session deadline", SUF_FB_CONSENTED, 0,
     EV(SUF_EV_TICK, T0 + H + 24 * H - MARGIN), SUF_FSM_NOOP, SUF_FB_CONSENTED, 0},
    {"consented, tick past the session deadline", SUF_FB_CONSENTED, 0,
     EV(SUF_EV_TICK, T0 + H + 24 * H - MARGIN + 1), SUF_FSM_APPLIED, SUF_FB_WINDOW_EXPIRED,
     SUF_FSM_CANCEL_SENDS},
    {"session_sent, tick", SUF_FB_SESSION_SENT, 0, EV(SUF_EV_TICK, T0 + 100 * H), SUF_FSM_NOOP,
     SUF_FB_SESSION_SENT, 0},
    {"utility_sent, tick: no delivery, no window", SUF_FB_UTILITY_SENT, 0,
     EV(SUF_EV_TICK, T0 + 100 * H), SUF_FSM_NOOP, SUF_FB_UTILITY_SENT, 0},
    {"consented, stop", SUF_FB_CONSENTED, 0, EV(SUF_EV_OPT_OUT, T0 + 2 * H), SUF_FSM_APPLIED,
     SUF_FB_OPTED_OUT, SUF_FSM_CANCEL_SENDS},
    {"converted, stop", SUF_FB_CONVERTED, 0, EV(SUF_EV_OPT_OUT, T0 + 5 * H), SUF_FSM_NOOP,
     SUF_FB_CONVERTED, 0},
    {NULL, 0, 0, EV(SUF_EV_TICK, 0), 0, 0, 0},
};

static void test_fsm__transitions_follow_the_table(void)
{
    for (const struct case_row *c = transitions; c->name; c++) {
        struct suf_fsm_row r = row_in(c->from), before;
        unsigned fx = 99;
        enum suf_fsm_verdict v;

        r.valid_until = c->valid_until;
        before = r;
        v = suf_fsm_step(&params, &r, &c->ev, &fx);
        if (v != c->verdict || r.state != c->to || fx != c->effects)
            fprintf(stderr, "case '%s': verdict %d state %s effects %u\n", c->name, (int)v,
                    suf_fsm_state_name(r.state), fx);
        CU_ASSERT_EQUAL(v, c->verdict);
        CU_ASSERT_EQUAL(r.state, c->to);
        CU_ASSERT_EQUAL(fx, c->effects);
        if (v == SUF_FSM_NOOP)
            CU_ASSERT_EQUAL(memcmp(&r, &before, sizeof(r)), 0);
        if (v == SUF_FSM_APPLIED)
            CU_ASSERT(r.state_at != 0);
        if (v == SUF_FSM_LATE)
            CU_ASSERT_EQUAL(r.late_consent_at, c->ev.at);
    }
}

static void test_fsm__every_applied_event_is_a_noop_the_second_time(void)
{
    for (const struct case_row *c = transitions; c->name; c++) {
        struct suf_fsm_row r = row_in(c->from), once;
        unsigned fx;

        r.valid_until = c->valid_until;
        if (suf_fsm_step(&params, &r, &c->ev, &fx) == SUF_FSM_NOOP)
            continue;
        once = r;
        if (suf_fsm_step(&params, &r, &c->ev, &fx) != SUF_FSM_NOOP)
            fprintf(stderr, "case '%s' applied twice\n", c->name);
        CU_ASSERT_EQUAL(memcmp(&r, &once, sizeof(r)), 0);
        CU_ASSERT_EQUAL(fx, 0u);
    }
}

/* The happy path, each step at its own time. */
static const struct suf_fsm_event life[] = {
    EV(SUF_EV_UTILITY_SENT, T0 - 60),
    EV(SUF_EV_UTILITY_DELIVERED, T0),
    EV(SUF_EV_CONSENT, T0 + H),
    EV(SUF_EV_SESSION_SENT, T0 + H + 60),
    EVL(SUF_EV_SESSION_DELIVERED, T0 + H + 120),
};
static const enum suf_fb_state life_states[] = {SUF_FB_UTILITY_SENT, SUF_FB_UTILITY_DELIVERED,
                                                SUF_FB_CONSENTED, SUF_FB_SESSION_SENT,
                                                SUF_FB_CONVERTED};
#define NLIFE (sizeof(life) / sizeof(life[0]))

static void test_fsm__happy_path_sets_each_timestamp(void)
{
    struct suf_fsm_row r = row_in(SUF_FB_PENDING);
    unsigned fx;

    for (size_t i = 0; i < NLIFE; i++) {
        CU_ASSERT_EQUAL(suf_fsm_step(&params, &r, &life[i], &fx), SUF_FSM_APPLIED);
        CU_ASSERT_EQUAL(r.state, life_states[i]);
        CU_ASSERT_EQUAL(r.state_at, life[i].at);
    }
    CU_ASSERT_EQUAL(r.utility_sent_at, T0 - 60);
    CU_ASSERT_EQUAL(r.utility_delivered_at, T0);
    CU_ASSERT_EQUAL(r.consented_at, T0 + H);
    CU_ASSERT_EQUAL(r.session_sent_at, T0 + H + 60);
    CU_ASSERT_EQUAL(r.converted_at, T0 + H + 120);
    CU_ASSERT_EQUAL(r.closed_at, T0 + H + 120);
}

/* After the path up to step i, every earlier step arriving late (out of
 * order, or again) changes nothing. */
static void test_fsm__every_out_of_order_pair_is_a_noop(void)
{
    for (size_t i = 0; i < NLIFE; i++) {
        for (size_t j = 0; j <= i; j++) {
            struct suf_fsm_row r = row_in(SUF_FB_PENDING), before;
            unsigned fx;

            for (size_t k = 0; k <= i; k++)
                suf_fsm_step(&params, &r, &life[k], &fx);
            before = r;
            if (suf_fsm_step(&params, &r, &life[j], &fx) != SUF_FSM_NOOP)
                fprintf(stderr, "event %zu after %zu moved the state\n", j, i);
            CU_ASSERT_EQUAL(memcmp(&r, &before, sizeof(r)), 0);
        }
    }
}

/* A later event that arrives first takes the fallback forward, and the
 * skipped earlier ones then change nothing. */
static void test_fsm__a_skipped_step_arriving_late_changes_nothing(void)
{
    struct suf_fsm_row r = row_in(SUF_FB_PENDING);
    unsigned fx;

    CU_ASSERT_EQUAL(suf_fsm_step(&params, &r, &life[1], &fx), SUF_FSM_APPLIED);
    CU_ASSERT_EQUAL(suf_fsm_step(&params, &r, &life[0], &fx), SUF_FSM_NOOP);
    CU_ASSERT_EQUAL(r.state, SUF_FB_UTILITY_DELIVERED);
    CU_ASSERT_EQUAL(suf_fsm_step(&params, &r, &life[2], &fx), SUF_FSM_APPLIED);
    CU_ASSERT_EQUAL(suf_fsm_step(&params, &r, &life[4], &fx), SUF_FSM_APPLIED);
    CU_ASSERT_EQUAL(suf_fsm_step(&params, &r, &life[3], &fx), SUF_FSM_NOOP);
    CU_ASSERT_EQUAL(r.state, SUF_FB_CONVERTED);
}

/* An opt-out ends what may still send; an ended fallback keeps its outcome
 * (fsm.h says why). */
static void test_fsm__opt_out_ends_only_what_may_still_send(void)
{
    for (int s = 0; s < SUF_FB_STATE_COUNT; s++) {
        struct suf_fsm_row r = row_in((enum suf_fb_state)s), before = r;
        struct suf_fsm_event ev = EVC(SUF_EV_OPT_OUT, T0 + 7 * H, 131050);
        unsigned fx;
        enum suf_fsm_verdict v = suf_fsm_step(&params, &r, &ev, &fx);
        bool open = s == SUF_FB_PENDING || s == SUF_FB_UTILITY_SENT ||
                    s == SUF_FB_UTILITY_DELIVERED || s == SUF_FB_CONSENTED ||
                    s == SUF_FB_BLOCKED;

        CU_ASSERT_EQUAL(suf_fsm_can_move(SUF_EV_OPT_OUT, (enum suf_fb_state)s), open);
        if (!open) {
            CU_ASSERT_EQUAL(v, SUF_FSM_NOOP);
            CU_ASSERT_EQUAL(memcmp(&r, &before, sizeof(r)), 0);
        } else {
            CU_ASSERT_EQUAL(v, SUF_FSM_APPLIED);
            CU_ASSERT_EQUAL(r.state, SUF_FB_OPTED_OUT);
            CU_ASSERT_EQUAL(fx, (unsigned)SUF_FSM_CANCEL_SENDS);
            CU_ASSERT_EQUAL(r.closed_at, T0 + 7 * H);
            CU_ASSERT_EQUAL(r.error_code, 131050);
        }
    }
}

/* The predicate is the rules' own: an event moves (at some time) exactly
 * the states it names, and its SQL list names exactly those. */
static void test_fsm__can_move_agrees_with_the_rules(void)
{
    static const int64_t times[] = {T0 - H, T0 + H, T0 + 30 * H, T0 + 80 * H};

    for (int k = 0; k < SUF_EV_KIND_COUNT; k++) {
        char list[512];
        size_t need = suf_fsm_state_list((enum suf_fsm_kind)k, list, sizeof(list));

        CU_ASSERT(need < sizeof(list));
        for (int s = 0; s < SUF_FB_STATE_COUNT; s++) {
            char quoted[40];
            bool moved = false;

            snprintf(quoted, sizeof(quoted), "'%s'", suf_fsm_state_name((enum suf_fb_state)s));
            CU_ASSERT_EQUAL(strstr(list, quoted) != NULL,
                            suf_fsm_can_move((enum suf_fsm_kind)k, (enum suf_fb_state)s));
            for (size_t t = 0; t < sizeof(times) / sizeof(times[0]); t++) {
                for (int last = 0; last < 2; last++) {
                    struct suf_fsm_row r = row_in((enum suf_fb_state)s);
                    /* a reason the blocked row does not have yet */
                    struct suf_fsm_event ev = {(enum suf_fsm_kind)k, times[t], last != 0, 7,
                                               SUF_FB_REASON_TEMPLATE_UNUSABLE, "why"};
                    unsigned fx;

                    moved |= suf_fsm_step(&params, &r, &ev, &fx) != SUF_FSM_NOOP;
                }
            }
            if (moved != suf_fsm_can_move((enum suf_fsm_kind)k, (enum suf_fb_state)s))
                fprintf(stderr, "event %d, state %s: moved %d\n", k,
                        suf_fsm_state_name((enum suf_fb_state)s), moved);
            CU_ASSERT_EQUAL(moved, suf_fsm_can_move((enum suf_fsm_kind)k, (enum suf_fb_state)s));
        }
    }
    CU_ASSERT_EQUAL(suf_fsm_state_list(SUF_EV_SESSION_SENT, NULL, 0), strlen("('consented')"));
}

/* A block keeps its reason and words; unblocking drops them; a cancel
 * says so and closes the fallback. */
static void test_fsm__block_and_cancel_carry_their_reason(void)
{
    struct suf_fsm_row r = row_in(SUF_FB_PENDING);
    struct suf_fsm_event b = EVB(SUF_EV_BLOCK, T0 + H, SUF_FB_REASON_WINDOW_TOO_SHORT);
    struct suf_fsm_event u = EV(SUF_EV_UNBLOCK, T0 + 2 * H);
    struct suf_fsm_event c = {SUF_EV_CANCEL, T0 + 3 * H, false, 0, SUF_FB_REASON_NONE, "stop"};
    enum suf_fb_reason parsed;
    unsigned fx;

    CU_ASSERT_EQUAL(suf_fsm_step(&params, &r, &b, &fx), SUF_FSM_APPLIED);
    CU_ASSERT_EQUAL(r.reason, SUF_FB_REASON_WINDOW_TOO_SHORT);
    CU_ASSERT_STRING_EQUAL(r.detail, "words");
    CU_ASSERT_EQUAL(r.state_at, T0 + H);
    CU_ASSERT_EQUAL(r.closed_at, 0);
    CU_ASSERT_EQUAL(suf_fsm_step(&params, &r, &u, &fx), SUF_FSM_APPLIED);
    CU_ASSERT_EQUAL(r.state, SUF_FB_PENDING);
    CU_ASSERT_EQUAL(r.reason, SUF_FB_REASON_NONE);
    CU_ASSERT_PTR_NULL(r.detail);
    CU_ASSERT_EQUAL(suf_fsm_step(&params, &r, &c, &fx), SUF_FSM_APPLIED);
    CU_ASSERT_EQUAL(r.reason, SUF_FB_REASON_CANCELLED);
    CU_ASSERT_STRING_EQUAL(r.detail, "stop");
    CU_ASSERT_EQUAL(r.closed_at, T0 + 3 * H);
    for (int i = 0; i < SUF_FB_REASON_COUNT; i++) {
        CU_ASSERT(suf_fsm_reason_parse(suf_fsm_reason_name((enum suf_fb_reason)i), &parsed));
        CU_ASSERT_EQUAL(parsed, (enum suf_fb_reason)i);
    }
    CU_ASSERT(suf_fsm_reason_parse(NULL, &parsed) && parsed == SUF_FB_REASON_NONE);
    CU_ASSERT_FALSE(suf_fsm_reason_parse("switched_off", &parsed));
}

static void test_fsm__failure_keeps_the_error_code(void)
{
    struct suf_fsm_row r = row_in(SUF_FB_SESSION_SENT);
    struct suf_fsm_event ev = EVC(SUF_EV_SESSION_FAILED, T0 + 30 * H, 131047);
    unsigned fx;

    CU_ASSERT_EQUAL(suf_fsm_step(&params, &r, &ev, &fx), SUF_FSM_APPLIED);
    CU_ASSERT_EQUAL(r.error_code, 131047);
    r = row_in(SUF_FB_UTILITY_SENT);
    ev = (struct suf_fsm_event)EVC(SUF_EV_UTILITY_FAILED, T0, 131050);
    CU_ASSERT_EQUAL(suf_fsm_step(&params, &r, &ev, &fx), SUF_FSM_APPLIED);
    CU_ASSERT_EQUAL(r.error_code, 131050);
    CU_ASSERT_EQUAL(r.state, SUF_FB_UTILITY_FAILED);
}

static void test_fsm__late_consent_then_tick_is_no_response(void)
{
    struct suf_fsm_row r = row_in(SUF_FB_UTILITY_DELIVERED);
    struct suf_fsm_event tap = EV(SUF_EV_CONSENT, T0 + 80 * H), tick = EV(SUF_EV_TICK, T0 + 90 * H);
    unsigned fx;

    CU_ASSERT_EQUAL(suf_fsm_step(&params, &r, &tap, &fx), SUF_FSM_LATE);
    CU_ASSERT_EQUAL(fx, 0u);
    CU_ASSERT_EQUAL(suf_fsm_step(&params, &r, &tick, &fx), SUF_FSM_APPLIED);
    CU_ASSERT_EQUAL(r.state, SUF_FB_NO_RESPONSE);
    CU_ASSERT_EQUAL(r.closed_at, T0 + WAIT);
    CU_ASSERT_EQUAL(r.late_consent_at, T0 + 80 * H);
    CU_ASSERT_EQUAL(r.consented_at, 0);
}

static void test_fsm__windows_are_computed_from_the_row(void)
{
    struct suf_fsm_row r = row_in(SUF_FB_CONSENTED);

    CU_ASSERT_EQUAL(suf_fsm_consent_window_end(&params, &r), T0 + WAIT);
    r.valid_until = T0 + H;
    CU_ASSERT_EQUAL(suf_fsm_consent_window_end(&params, &r), T0 + H);
    CU_ASSERT_EQUAL(suf_fsm_session_deadline(&params, &r), T0 + H + 24 * H - MARGIN);
    r = row_in(SUF_FB_UTILITY_SENT);
    CU_ASSERT_EQUAL(suf_fsm_consent_window_end(&params, &r), 0);
    CU_ASSERT_EQUAL(suf_fsm_session_deadline(&params, &r), 0);
}

static void test_fsm__state_names_round_trip(void)
{
    for (int s = 0; s < SUF_FB_STATE_COUNT; s++) {
        enum suf_fb_state back;
        CU_ASSERT_TRUE(suf_fsm_state_parse(suf_fsm_state_name((enum suf_fb_state)s), &back));
        CU_ASSERT_EQUAL(back, (enum suf_fb_state)s);
    }
    enum suf_fb_state x;
    CU_ASSERT_FALSE(suf_fsm_state_parse("awaiting", &x));
    CU_ASSERT_FALSE(suf_fsm_state_parse(NULL, &x));
}

/* Expected delivery after `first` then `second`, for every pair. */
static void test_fsm__delivery_never_moves_backwards(void)
{
    static const char *const names[] = {"sent", "delivered", "read", "failed"};
    static const enum suf_delivery want[4][4] = {
        /* second:  sent           delivered          read           failed */
        /* sent */ {SUF_DLV_SENT, SUF_DLV_DELIVERED, SUF_DLV_READ, SUF_DLV_FAILED},
        /* delivered */ {SUF_DLV_DELIVERED, SUF_DLV_DELIVERED, SUF_DLV_READ, SUF_DLV_DELIVERED},
        /* read */ {SUF_DLV_READ, SUF_DLV_READ, SUF_DLV_READ, SUF_DLV_READ},
        /* failed */ {SUF_DLV_FAILED, SUF_DLV_FAILED, SUF_DLV_FAILED, SUF_DLV_FAILED},
    };

    for (int a = 0; a < 4; a++) {
        for (int b = 0; b < 4; b++) {
            enum suf_delivery cur = SUF_DLV_NONE, x, y;

            CU_ASSERT_TRUE(suf_fsm_delivery_parse(names[a], &x));
            CU_ASSERT_TRUE(suf_fsm_delivery_parse(names[b], &y));
            CU_ASSERT_TRUE(suf_fsm_delivery_advances(cur, x));
            cur = x;
            if (suf_fsm_delivery_advances(cur, y))
                cur = y;
            if (cur != want[a][b])
                fprintf(stderr, "%s then %s gave %s\n", names[a], names[b],
                        suf_fsm_delivery_name(cur));
            CU_ASSERT_EQUAL(cur, want[a][b]);
        }
    }
}

static void test_fsm__delivery_names_parse(void)
{
    enum suf_delivery d;

    CU_ASSERT_TRUE(suf_fsm_delivery_parse(NULL, &d));
    CU_ASSERT_EQUAL(d, SUF_DLV_NONE);
    CU_ASSERT_FALSE(suf_fsm_delivery_parse("played", &d));
    CU_ASSERT_FALSE(suf_fsm_delivery_parse("deleted", &d));
    CU_ASSERT_PTR_NULL(suf_fsm_delivery_name(SUF_DLV_NONE));
    CU_ASSERT_STRING_EQUAL(suf_fsm_delivery_name(SUF_DLV_READ), "read");
    CU_ASSERT_FALSE(suf_fsm_delivery_advances(SUF_DLV_READ, SUF_DLV_NONE));
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"transitions follow the table", test_fsm__transitions_follow_the_table},
        {"every applied event is a no-op the second time",
         test_fsm__every_applied_event_is_a_noop_the_second_time},
        {"happy path sets each timestamp", test_fsm__happy_path_sets_each_timestamp},
        {"every out-of-order pair is a no-op", test_fsm__every_out_of_order_pair_is_a_noop},
        {"a skipped step arriving late changes nothing",
         test_fsm__a_skipped_step_arriving_late_changes_nothing},
        {"opt-out ends only what may still send",
         test_fsm__opt_out_ends_only_what_may_still_send},
        {"can_move agrees with the rules", test_fsm__can_move_agrees_with_the_rules},
        {"block and cancel carry their reason", test_fsm__block_and_cancel_carry_their_reason},
        {"failure keeps the error code", test_fsm__failure_keeps_the_error_code},
        {"late consent then tick is no_response", test_fsm__late_consent_then_tick_is_no_response},
        {"windows are computed from the row", test_fsm__windows_are_computed_from_the_row},
        {"state names round-trip", test_fsm__state_names_round_trip},
        {"delivery never moves backwards", test_fsm__delivery_never_moves_backwards},
        {"delivery names parse", test_fsm__delivery_names_parse},
        {NULL, NULL},
    };
    return suf_test_main("fsm", tests);
}
