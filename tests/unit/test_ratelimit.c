/*
 * test_ratelimit.c: the token bucket on a fake clock: the one-second burst,
 * the steady rate, the cap after idleness, and "0 means off".
 */
#include <stdint.h>

#include "send/ratelimit.h"
#include "testutil.h"

static int64_t fake_ns;

static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_ns;
}

/* Takes tokens on the fake clock for `seconds`, stepping by `step_ns`;
 * returns how many were granted. */
static int64_t drain_for(struct suf_ratelimit *rl, int64_t seconds, int64_t step_ns)
{
    int64_t end = fake_ns + seconds * INT64_C(1000000000), n = 0;

    while (fake_ns < end) {
        while (suf_ratelimit_take(rl))
            n++;
        fake_ns += step_ns;
    }
    return n;
}

static void test_ratelimit__starts_with_one_second_of_burst(void)
{
    struct suf_ratelimit rl;
    int n = 0;

    fake_ns = 1000;
    suf_ratelimit_init(&rl, 80, fake_clock, NULL);
    while (suf_ratelimit_take(&rl))
        n++;
    CU_ASSERT_EQUAL(n, 80);
    CU_ASSERT_EQUAL(suf_ratelimit_wait_ms(&rl), 13); /* 12.5 ms, rounded up */
    fake_ns += 12500000;
    CU_ASSERT_TRUE(suf_ratelimit_take(&rl));
    CU_ASSERT_FALSE(suf_ratelimit_take(&rl));
}

static void test_ratelimit__holds_the_rate_over_ten_seconds(void)
{
    static const int64_t rates[] = {1, 80, 250, 1000};

    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        struct suf_ratelimit rl;
        int64_t n, want = 10 * rates[i] + rates[i];

        fake_ns = 0;
        suf_ratelimit_init(&rl, rates[i], fake_clock, NULL);
        n = drain_for(&rl, 10, 1000000); /* 1 ms steps */
        CU_ASSERT(n >= want - 1 && n <= want);
    }
}

static void test_ratelimit__idle_time_never_banks_more_than_a_second(void)
{
    struct suf_ratelimit rl;
    int n = 0;

    fake_ns = 0;
    suf_ratelimit_init(&rl, 1000, fake_clock, NULL);
    while (suf_ratelimit_take(&rl))
        n++;
    CU_ASSERT_EQUAL(n, 1000);
    fake_ns += INT64_C(3600) * 1000000000; /* an hour idle */
    n = 0;
    while (suf_ratelimit_take(&rl))
        n++;
    CU_ASSERT_EQUAL(n, 1000);
}

static void test_ratelimit__zero_means_no_limit(void)
{
    struct suf_ratelimit rl;

    fake_ns = 0;
    suf_ratelimit_init(&rl, 0, fake_clock, NULL);
    for (int i = 0; i < 100000; i++)
        CU_ASSERT_TRUE_FATAL(suf_ratelimit_take(&rl));
    CU_ASSERT_EQUAL(suf_ratelimit_wait_ms(&rl), 0);
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"starts with one second of burst", test_ratelimit__starts_with_one_second_of_burst},
        {"holds the rate over ten seconds", test_ratelimit__holds_the_rate_over_ten_seconds},
        {"idle time never banks more than a second",
         test_ratelimit__idle_time_never_banks_more_than_a_second},
        {"zero means no limit", test_ratelimit__zero_means_no_limit},
        {NULL, NULL},
    };
    return suf_test_main("ratelimit", tests);
}
