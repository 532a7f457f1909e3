/*
 * ratelimit.h: a token bucket that keeps sends under the business number's
 * throughput (Meta: 80 messages/s by default, 1,000 when upgraded).
 *
 * Invariants:
 *  - the bucket refills at `rate` tokens per second and holds at most one
 *    second's worth (`rate` tokens); it starts full, so the first second may
 *    carry a burst of `rate` messages and never more;
 *  - rate 0 means "no limit": every take succeeds;
 *  - arithmetic is in integers (tokens are counted in billionths), and the
 *    clock is injected, so tests run on a fake clock.
 *
 * Steps:
 *  1. suf_ratelimit_init(&rl, rate, clock, ctx) (clock NULL: CLOCK_MONOTONIC);
 *  2. before each send, suf_ratelimit_take(&rl); when it says no,
 *     suf_ratelimit_wait_ms(&rl) says how long until the next token.
 */
#ifndef SUF_RATELIMIT_H
#define SUF_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* Nanoseconds from any fixed point (monotonic). */
typedef int64_t (*suf_clock_ns_fn)(void *ctx);

struct suf_ratelimit {
    int64_t rate;      /* tokens per second; 0 = off */
    int64_t tokens;    /* in billionths of a token */
    int64_t last_ns;   /* when tokens was last brought up to date */
    suf_clock_ns_fn clock;
    void *ctx;
};

void suf_ratelimit_init(struct suf_ratelimit *rl, int64_t rate, suf_clock_ns_fn clock, void *ctx);
/* Takes one token if there is one; false otherwise (nothing taken). */
bool suf_ratelimit_take(struct suf_ratelimit *rl);
/* Milliseconds until a token is available (0 when one is, or when off). */
int64_t suf_ratelimit_wait_ms(struct suf_ratelimit *rl);
/* CLOCK_MONOTONIC in nanoseconds (the default clock). */
int64_t suf_ratelimit_monotonic_ns(void *ctx);

#endif /* SUF_RATELIMIT_H */
