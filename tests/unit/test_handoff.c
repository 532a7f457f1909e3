/*
 * test_handoff.c: the worker hand-off (base/handoff.h): order, the bound
 * on held items, the two ways to stop with items in flight, an item that
 * fails, the inline mode without a worker, and the workers' signal mask.
 *
 * No test may hang: every wait here has a deadline (wait_for), and main
 * arms an alarm that kills the program, which the test run reports as a
 * failure.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "base/handoff.h"
#include "base/status.h"
#include "base/util.h"
#include "testutil.h"

#define DEADLINE_MS 5000 /* what any one wait may take before it gives up */
#define ALARM_S 60       /* the whole program */

struct item {
    int n;
    int rc;            /* what run reported: SUF_OK or a failure */
    atomic_int runs;   /* how many times run saw it */
    pthread_t thread;  /* the thread that ran it */
    bool term_blocked; /* SIGTERM was blocked there */
};

/* What the tests' run function shares with them. */
struct rig {
    atomic_int gate;            /* 0: run waits (for at most DEADLINE_MS) */
    atomic_int started;         /* items run has begun */
    atomic_int finished;        /* items run has ended */
    int fail_n;                 /* the item that fails; -1 for none */
    int slow_every;             /* every n-th item sleeps a little; 0 for none */
    struct item *wait_for_done; /* item 0 waits until this one has run */
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Polls `flag` until it is at least `want`, for at most DEADLINE_MS; true
 * when it got there. */
static bool wait_for(atomic_int *flag, int want)
{
    for (int ms = 0; ms < DEADLINE_MS; ms++) {
        if (atomic_load(flag) >= want)
            return true;
        sleep_ms(1);
    }
    return atomic_load(flag) >= want;
}

static void run(void *ctx, void *arg)
{
    struct rig *b = ctx;
    struct item *it = arg;
    sigset_t mask;

    atomic_fetch_add(&b->started, 1);
    it->thread = pthread_self();
    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    it->term_blocked = sigismember(&mask, SIGTERM) == 1;
    wait_for(&b->gate, 1);
    if (it->n == 0 && b->wait_for_done)
        wait_for(&b->wait_for_done->runs, 1);
    if (b->slow_every && it->n % b->slow_every == 0)
        sleep_ms(1);
    it->rc = it->n == b->fail_n ? SUF_ERR_DB : SUF_OK;
    atomic_fetch_add(&it->runs, 1);
    atomic_fetch_add(&b->finished, 1);
}

static struct item *item_new(int n)
{
    struct item *it = suf_xcalloc(1, sizeof(*it));

    it->n = n;
    return it;
}

static void bench_init(struct rig *b, bool open)
{
    atomic_init(&b->gate, open ? 1 : 0);
    atomic_init(&b->started, 0);
    atomic_init(&b->finished, 0);
    b->fail_n = -1;
    b->slow_every = 0;
    b->wait_for_done = NULL;
}

static void test_handoff__items_come_back_in_the_order_put(void)
{
    enum { N = 2000, CAP = 8 };
    struct rig b;
    struct suf_handoff *h;
    int next = 0;

    bench_init(&b, true);
    b.slow_every = 97;
    h = suf_handoff_start(2, CAP, run, &b);
    for (int i = 0; i < N; i++) {
        if (suf_handoff_held(h) == CAP) { /* one thread puts and takes */
            struct item *it = suf_handoff_take(h);
            CU_ASSERT_EQUAL(it->n, next++);
            CU_ASSERT_EQUAL(atomic_load(&it->runs), 1);
            free(it);
        }
        suf_handoff_put(h, item_new(i));
        CU_ASSERT(suf_handoff_held(h) <= CAP);
    }
    for (struct item *it; (it = suf_handoff_take(h)) != NULL; free(it)) {
        CU_ASSERT_EQUAL(it->n, next++);
        CU_ASSERT_EQUAL(atomic_load(&it->runs), 1);
    }
    CU_ASSERT_EQUAL(next, N);
    CU_ASSERT_EQUAL(atomic_load(&b.finished), N);
    suf_handoff_free(h);
}

static void test_handoff__a_later_item_done_first_still_comes_second(void)
{
    struct rig b;
    struct item *first = item_new(0), *second = item_new(1);
    struct suf_handoff *h;

    bench_init(&b, true);
    b.wait_for_done = second; /* item 0 ends only after item 1 */
    h = suf_handoff_start(2, 4, run, &b);
    CU_ASSERT_EQUAL_FATAL(suf_handoff_workers(h), 2);
    suf_handoff_put(h, first);
    suf_handoff_put(h, second);
    CU_ASSERT_TRUE(wait_for(&second->runs, 1));
    CU_ASSERT_PTR_EQUAL(suf_handoff_take(h), first);
    CU_ASSERT_EQUAL(atomic_load(&first->runs), 1);
    CU_ASSERT_PTR_EQUAL(suf_handoff_take(h), second);
    CU_ASSERT_PTR_NULL(suf_handoff_take(h));
    suf_handoff_free(h);
    free(first);
    free(second);
}

struct putter {
    struct suf_handoff *h;
    struct item *it;
    atomic_int returned;
};

static void *put_main(void *arg)
{
    struct putter *p = arg;

    suf_handoff_put(p->h, p->it);
    atomic_store(&p->returned, 1);
    return NULL;
}

static void test_handoff__put_waits_while_cap_items_are_held(void)
{
    enum { CAP = 3 };
    struct rig b;
    struct item *items[CAP + 1];
    struct putter p;
    pthread_t th;
    struct suf_handoff *h;

    bench_init(&b, false);
    h = suf_handoff_start(1, CAP, run, &b);
    for (int i = 0; i <= CAP; i++)
        items[i] = item_new(i);
    for (int i = 0; i < CAP; i++)
        suf_handoff_put(h, items[i]);
    CU_ASSERT_EQUAL(suf_handoff_held(h), CAP);
    p.h = h;
    p.it = items[CAP];
    atomic_init(&p.returned, 0);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, put_main, &p), 0);
    sleep_ms(100);
    CU_ASSERT_EQUAL(atomic_load(&p.returned), 0); /* full: the put waits */
    CU_ASSERT_EQUAL(suf_handoff_held(h), CAP);
    CU_ASSERT_PTR_NULL(suf_handoff_poll(h)); /* the oldest is not done */
    atomic_store(&b.gate, 1);
    CU_ASSERT_PTR_EQUAL(suf_handoff_take(h), items[0]); /* makes room */
    CU_ASSERT_TRUE(wait_for(&p.returned, 1));
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL(suf_handoff_held(h), CAP);
    for (int i = 1; i <= CAP; i++)
        CU_ASSERT_PTR_EQUAL(suf_handoff_take(h), items[i]);
    suf_handoff_free(h);
    for (int i = 0; i <= CAP; i++) {
        CU_ASSERT_EQUAL(atomic_load(&items[i]->runs), 1);
        free(items[i]);
    }
}

struct stopper {
    struct suf_handoff *h;
    enum suf_handoff_end end;
};

static void *stop_main(void *arg)
{
    struct stopper *s = arg;

    suf_handoff_stop(s->h, s->end);
    return NULL;
}

/* Puts five items into one worker that holds the first at the gate, stops
 * the handoff with `end` while they are in flight, and gives them back. */
static void stop_in_flight(enum suf_handoff_end end, struct item *items[5])
{
    struct rig b;
    struct stopper s;
    pthread_t th;
    struct suf_handoff *h;

    bench_init(&b, false);
    h = suf_handoff_start(1, 8, run, &b);
    for (int i = 0; i < 5; i++)
        suf_handoff_put(h, items[i] = item_new(i));
    CU_ASSERT_TRUE(wait_for(&b.started, 1)); /* the first is running */
    CU_ASSERT_EQUAL(suf_handoff_queued(h), 4);
    s.h = h;
    s.end = end;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, stop_main, &s), 0);
    if (end == SUF_HANDOFF_DROP) /* the drop is at once, before the join */
        for (int ms = 0; ms < DEADLINE_MS && suf_handoff_queued(h); ms++)
            sleep_ms(1);
    CU_ASSERT_EQUAL(suf_handoff_held(h), 5);
    atomic_store(&b.gate, 1);
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL(suf_handoff_queued(h), 0);
    for (int i = 0; i < 5; i++) /* every item comes back, in order */
        CU_ASSERT_PTR_EQUAL(suf_handoff_poll(h), items[i]);
    CU_ASSERT_PTR_NULL(suf_handoff_take(h));
    suf_handoff_free(h);
}

static void test_handoff__stop_drop_runs_none_not_begun(void)
{
    struct item *items[5];

    stop_in_flight(SUF_HANDOFF_DROP, items);
    CU_ASSERT_EQUAL(atomic_load(&items[0]->runs), 1); /* the running one ends */
    for (int i = 1; i < 5; i++)
        CU_ASSERT_EQUAL(atomic_load(&items[i]->runs), 0);
    for (int i = 0; i < 5; i++)
        free(items[i]);
}

static void test_handoff__stop_finish_runs_every_item_put(void)
{
    struct item *items[5];

    stop_in_flight(SUF_HANDOFF_FINISH, items);
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(atomic_load(&items[i]->runs), 1);
        free(items[i]);
    }
}

static void test_handoff__free_without_stop_finishes_the_items(void)
{
    struct rig b;
    struct item *items[4];
    struct suf_handoff *h;

    bench_init(&b, true);
    h = suf_handoff_start(2, 4, run, &b);
    for (int i = 0; i < 4; i++)
        suf_handoff_put(h, items[i] = item_new(i));
    suf_handoff_free(h);
    suf_handoff_free(NULL);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(atomic_load(&items[i]->runs), 1);
        free(items[i]);
    }
}

static void test_handoff__a_failing_item_comes_back_with_its_failure(void)
{
    struct rig b;
    struct suf_handoff *h;
    struct item *it;
    int n = 0;

    bench_init(&b, true);
    b.fail_n = 3;
    h = suf_handoff_start(2, 16, run, &b);
    for (int i = 0; i < 10; i++)
        suf_handoff_put(h, item_new(i));
    /* the caller stops at the failure, as the stages do, and drops the rest */
    while ((it = suf_handoff_take(h)) != NULL && it->rc == SUF_OK) {
        CU_ASSERT_EQUAL(it->n, n++);
        free(it);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(it);
    CU_ASSERT_EQUAL(it->n, 3);
    CU_ASSERT_EQUAL(it->rc, SUF_ERR_DB);
    free(it);
    suf_handoff_stop(h, SUF_HANDOFF_DROP);
    for (n = 4; (it = suf_handoff_take(h)) != NULL; n++) { /* run or dropped, in order */
        CU_ASSERT_EQUAL(it->n, n);
        CU_ASSERT_EQUAL(it->rc, SUF_OK);
        free(it);
    }
    CU_ASSERT_EQUAL(n, 10);
    suf_handoff_free(h);
}

static void test_handoff__without_a_worker_put_runs_the_item(void)
{
    struct rig b;
    struct suf_handoff *h;
    struct item *items[3];

    bench_init(&b, true);
    h = suf_handoff_start(0, 2, run, &b);
    CU_ASSERT_EQUAL(suf_handoff_workers(h), 0);
    CU_ASSERT_PTR_NULL(suf_handoff_poll(h));
    for (int i = 0; i < 2; i++) {
        suf_handoff_put(h, items[i] = item_new(i));
        CU_ASSERT_EQUAL(atomic_load(&items[i]->runs), 1); /* done on return */
        CU_ASSERT(pthread_equal(items[i]->thread, pthread_self()));
    }
    CU_ASSERT_EQUAL(suf_handoff_queued(h), 0);
    CU_ASSERT_EQUAL(suf_handoff_held(h), 2);
    CU_ASSERT_PTR_EQUAL(suf_handoff_poll(h), items[0]);
    suf_handoff_put(h, items[2] = item_new(2));
    CU_ASSERT_PTR_EQUAL(suf_handoff_take(h), items[1]);
    CU_ASSERT_PTR_EQUAL(suf_handoff_take(h), items[2]);
    CU_ASSERT_PTR_NULL(suf_handoff_take(h));
    suf_handoff_free(h);
    for (int i = 0; i < 3; i++)
        free(items[i]);
}

static void test_handoff__poll_does_not_wait(void)
{
    struct rig b;
    struct suf_handoff *h;
    struct item *it = item_new(0);
    void *got = NULL;

    bench_init(&b, false);
    h = suf_handoff_start(1, 1, run, &b);
    suf_handoff_put(h, it);
    CU_ASSERT_PTR_NULL(suf_handoff_poll(h));
    CU_ASSERT_EQUAL(suf_handoff_held(h), 1);
    atomic_store(&b.gate, 1);
    for (int ms = 0; ms < DEADLINE_MS && !got; ms++) {
        got = suf_handoff_poll(h);
        if (!got)
            sleep_ms(1);
    }
    CU_ASSERT_PTR_EQUAL(got, it);
    CU_ASSERT_EQUAL(suf_handoff_held(h), 0);
    suf_handoff_free(h);
    free(it);
}

static void test_handoff__workers_take_no_signal(void)
{
    struct rig b;
    struct suf_handoff *h;
    struct item *it = item_new(0);

    bench_init(&b, true);
    h = suf_handoff_start(1, 1, run, &b);
    CU_ASSERT_EQUAL_FATAL(suf_handoff_workers(h), 1);
    suf_handoff_put(h, it);
    CU_ASSERT_PTR_EQUAL(suf_handoff_take(h), it);
    CU_ASSERT_FALSE(pthread_equal(it->thread, pthread_self()));
    CU_ASSERT_TRUE(it->term_blocked);
    suf_handoff_free(h);
    free(it);
}

int main(void)
{
    static const struct suf_test tests[] = {
        {"items come back in the order put",
         test_handoff__items_come_back_in_the_order_put},
        {"a later item done first still comes second",
         test_handoff__a_later_item_done_first_still_comes_second},
        {"put waits while cap items are held",
         test_handoff__put_waits_while_cap_items_are_held},
        {"stop drop runs none not begun", test_handoff__stop_drop_runs_none_not_begun},
        {"stop finish runs every item put",
         test_handoff__stop_finish_runs_every_item_put},
        {"free without stop finishes the items",
         test_handoff__free_without_stop_finishes_the_items},
        {"a failing item comes back with its failure",
         test_handoff__a_failing_item_comes_back_with_its_failure},
        {"without a worker put runs the item",
         test_handoff__without_a_worker_put_runs_the_item},
        {"poll does not wait", test_handoff__poll_does_not_wait},
        {"workers take no signal", test_handoff__workers_take_no_signal},
        {NULL, NULL},
    };

    alarm(ALARM_S); /* a hang ends the program: the test fails */
    return suf_test_main("handoff", tests);
}
