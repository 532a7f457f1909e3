/*
 * ratelimit.c: the token bucket of the send loop (see ratelimit.h).
 *
 * Tokens are kept in billionths so that a refill after any number of
 * nanoseconds is exact integer arithmetic: elapsed_ns * rate billionths.
 * The elapsed time is capped at one second before multiplying, which both
 * bounds the bucket and keeps the product far from overflow (1e9 * 1000).
 */
#include <time.h>

#include "send/ratelimit.h"
#include "base/banned.h"

#define NS_PER_S INT64_C(1000000000)

int64_t suf_ratelimit_monotonic_ns(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

void suf_ratelimit_init(struct suf_ratelimit *rl, int64_t rate, suf_clock_ns_fn clock, void *ctx)
{
    rl->rate = rate > 0 ? rate : 0;
    rl->clock = clock ? clock : suf_ratelimit_monotonic_ns;
    rl->ctx = ctx;
    rl->tokens = rl->rate * NS_PER_S; /* full: one second's worth */
    rl->last_ns = rl->clock(rl->ctx);
}

static void refill(struct suf_ratelimit *rl)
{
    int64_t now = rl->clock(rl->ctx);
    int64_t elapsed = now - rl->last_ns;
    int64_t cap = rl->rate * NS_PER_S;

    if (elapsed <= 0)
        return;
    rl->last_ns = now;
    if (elapsed > NS_PER_S)
        elapsed = NS_PER_S;
    rl->tokens += elapsed * rl->rate;
    if (rl->tokens > cap)
        rl->tokens = cap;
}

bool suf_ratelimit_take(struct suf_ratelimit *rl)
{
    if (!rl->rate)
        return true;
    refill(rl);
    if (rl->tokens < NS_PER_S)
        return false;
    rl->tokens -= NS_PER_S;
    return true;
}

int64_t suf_ratelimit_wait_ms(struct suf_ratelimit *rl)
{
    int64_t missing;

    if (!rl->rate)
        return 0;
    refill(rl);
    if (rl->tokens >= NS_PER_S)
        return 0;
    missing = NS_PER_S - rl->tokens; /* billionths of a token */
    /* missing / rate nanoseconds, rounded up to whole milliseconds */
    return (missing / rl->rate + 999999) / 1000000;
}
