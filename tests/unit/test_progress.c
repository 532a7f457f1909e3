/*
 * test_progress.c: the progress line: what it says (count, rate, time
 * left) as of a given clock, when it is drawn, and how log lines printed
 * while it is shown get around it.
 *
 * The clock is the test's own (struct suf_progress's `clock`), so rates and
 * times left are exact.  What reaches stderr is caught by pointing file
 * descriptor 2 at a scratch file for the length of a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/progress.h"
#include "testutil.h"

/* A bar's state and the line it gives at `now_ms`. */
struct format_row {
    bool bytes;
    int64_t total, done, now_ms;
    int width;
    const char *line;
};

static void test_progress__format_table(void)
{
    static const struct format_row rows[] = {
        /* counts, total known: bar, done/total, rate, time left */
        {false, 5000, 1200, 4000, 0, "plan [====>               ] 1200/5000 300/s ETA 13s"},
        {false, 10000, 100, 1000, 0, "plan [>                   ] 100/10000 100/s ETA 1m39s"},
        {false, 1000000, 100, 1000, 0, "plan [>                   ] 100/1000000 100/s ETA 2h46m"},
        {false, 40, 40, 2000, 0, "plan [====================] 40/40 20/s ETA 0s"},
        /* nothing done yet, or no time gone: no rate, so no time left */
        {false, 40, 0, 0, 0, "plan [>                   ] 0/40 0/s ETA ?"},
        {false, 40, 10, 0, 0, "plan [=====>              ] 10/40 0/s ETA ?"},
        /* more done than the estimate: a full bar, never past it */
        {false, 20, 25, 1000, 0, "plan [====================] 25/20 25/s ETA 0s"},
        /* total unknown: the count and the rate, no bar, no time left */
        {false, 0, 42, 2000, 0, "plan 42 21/s"},
        /* bytes: in kB, MB, GB */
        {true, 45600000, 12300000, 3000, 0,
         "plan [=====>              ] 12.3 MB/45.6 MB 4.1 MB/s ETA 8s"},
        {true, 2000, 500, 1000, 0, "plan [=====>              ] 500 B/2.0 kB 500 B/s ETA 3s"},
        {true, 0, 3000000000, 1000, 0, "plan 3.0 GB 3.0 GB/s"},
        /* cut to the terminal, one column short of it */
        {false, 5000, 1200, 4000, 20, "plan [====>        "},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct suf_progress p;
        char buf[256];

        memset(&p, 0, sizeof(p));
        p.label = "plan";
        p.bytes = rows[i].bytes;
        p.total = rows[i].total;
        p.done = rows[i].done;
        p.started_ms = 1000;
        p.width = rows[i].width;
        suf_progress_format(&p, 1000 + rows[i].now_ms, buf, sizeof(buf));
        if (strcmp(buf, rows[i].line))
            fprintf(stderr, "row %zu: got '%s', want '%s'\n", i, buf, rows[i].line);
        CU_ASSERT_STRING_EQUAL(buf, rows[i].line);
    }
}

static int64_t fake_now;

static int64_t fake_clock(void)
{
    return fake_now;
}

/* Stderr caught in a scratch file between capture_begin and capture_end. */
static int saved_stderr = -1;
static FILE *caught;

static void capture_begin(void)
{
    fflush(stderr);
    caught = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(caught);
    saved_stderr = dup(STDERR_FILENO);
    dup2(fileno(caught), STDERR_FILENO);
}

/* Returns what was written to stderr meanwhile; the caller frees it. */
static char *capture_end(void)
{
    char *text = calloc(1, 8192);
    size_t n;

    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    rewind(caught);
    n = fread(text, 1, 8191, caught);
    text[n] = '\0';
    fclose(caught);
    return text;
}

/* Starts a bar on the fake clock at `fake_now`. */
static void start_fake(struct suf_progress *p, int64_t total)
{
    suf_progress_start(p, "plan", total);
    p->clock = fake_clock;
    p->started_ms = fake_now;
    p->width = 0;
}

static void test_progress__redraws_at_most_ten_times_a_second(void)
{
    struct suf_progress p;
    char *out;

    suf_log_setup(SUF_LOG_INFO);
    suf_progress_setup(SUF_PROGRESS_ON);
    fake_now = 5000;
    capture_begin();
    start_fake(&p, 100);
    suf_progress_set(&p, 10);  /* the first: drawn at once */
    fake_now += 50;
    suf_progress_set(&p, 20);  /* 50 ms later: not yet */
    fake_now += 49;
    suf_progress_set(&p, 30);  /* 99 ms: not yet */
    fake_now += 1;
    suf_progress_set(&p, 40);  /* 100 ms: drawn */
    suf_progress_end(&p);
    out = capture_end();
    CU_ASSERT_STRING_EQUAL(out, "\rplan [==>                 ] 10/100 0/s ETA ?\033[K"
                                "\rplan [========>           ] 40/100 400/s ETA 0s\033[K"
                                "\r\033[K");
    free(out);
    suf_progress_setup(SUF_PROGRESS_AUTO);
}

static void test_progress__log_line_erases_and_redraws_the_bar(void)
{
    struct suf_progress p;
    char *out;

    suf_progress_setup(SUF_PROGRESS_ON);
    fake_now = 1000;
    capture_begin();
    suf_log_setup(SUF_LOG_INFO); /* stderr is the scratch file: no colour */
    start_fake(&p, 4);
    suf_progress_set(&p, 1);
    suf_warn("a line in between");
    suf_progress_end(&p);
    suf_info("after the bar");
    out = capture_end();
    CU_ASSERT_STRING_EQUAL(out, "\rplan [=====>              ] 1/4 0/s ETA ?\033[K"
                                "\r\033[Ksuf: warning: a line in between\n"
                                "plan [=====>              ] 1/4 0/s ETA ?\033[K"
                                "\r\033[K"
                                "suf: info: after the bar\n");
    free(out);
    suf_progress_setup(SUF_PROGRESS_AUTO);
}

/* Off a terminal (AUTO here: stderr is a file), with --no-progress, and with
 * -q: nothing but the log lines reaches stderr. */
static void test_progress__draws_nothing_when_off(void)
{
    static const struct {
        enum suf_progress_mode mode;
        enum suf_log_level level;
    } cases[] = {
        {SUF_PROGRESS_AUTO, SUF_LOG_INFO},
        {SUF_PROGRESS_OFF, SUF_LOG_INFO},
        {SUF_PROGRESS_AUTO, SUF_LOG_WARN},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct suf_progress p;
        char *out;

        capture_begin();
        suf_log_setup(cases[i].level);
        suf_progress_setup(cases[i].mode);
        CU_ASSERT_FALSE(suf_progress_wanted());
        fake_now = 1000;
        start_fake(&p, 10);
        CU_ASSERT_FALSE(suf_progress_due(&p));
        suf_progress_set(&p, 5);
        suf_warn("only this");
        suf_progress_end(&p);
        out = capture_end();
        CU_ASSERT_STRING_EQUAL(out, "suf: warning: only this\n");
        free(out);
    }
    suf_log_setup(SUF_LOG_INFO);
    suf_progress_setup(SUF_PROGRESS_AUTO);
}

/* A bar never started (all zero, as a stage's struct is before its start)
 * is silent whatever the mode. */
static void test_progress__zeroed_bar_is_silent(void)
{
    struct suf_progress p;
    char *out;

    memset(&p, 0, sizeof(p));
    suf_progress_setup(SUF_PROGRESS_ON);
    capture_begin();
    suf_progress_set(&p, 3);
    suf_progress_end(&p);
    out = capture_end();
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_EQUAL(p.done, 3);
    free(out);
    suf_progress_setup(SUF_PROGRESS_AUTO);
}

static const struct suf_test tests[] = {
    {"format table", test_progress__format_table},
    {"redraw rate", test_progress__redraws_at_most_ten_times_a_second},
    {"log lines around the bar", test_progress__log_line_erases_and_redraws_the_bar},
    {"nothing when off", test_progress__draws_nothing_when_off},
    {"zeroed bar", test_progress__zeroed_bar_is_silent},
    {NULL, NULL},
};

int main(void)
{
    return suf_test_main("progress", tests);
}
