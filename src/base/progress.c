/*
 * progress.c: the terminal progress bar of progress.h.
 */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/progress.h"
#include "base/timeutil.h"
#include "base/banned.h"

#define BAR_WIDTH 24

void suf_progress_start(struct suf_progress *p, const char *label, int64_t total)
{
    memset(p, 0, sizeof(*p));
    p->label = label;
    p->total = total;
    p->started_ms = suf_monotonic_ms();
    p->active = suf_log_is_tty() && suf_log_get_level() >= SUF_LOG_INFO;
}

static void draw(struct suf_progress *p, int64_t now)
{
    double secs = (double)(now - p->started_ms) / 1000.0;
    double rate = secs > 0 ? (double)p->done / secs : 0;
    char bar[BAR_WIDTH + 1];
    int filled = 0;

    if (p->total > 0)
        filled = (int)(p->done * BAR_WIDTH / p->total);
    if (filled > BAR_WIDTH)
        filled = BAR_WIDTH;
    memset(bar, ' ', BAR_WIDTH);
    memset(bar, '=', (size_t)filled);
    if (filled < BAR_WIDTH && p->total > 0)
        bar[filled] = '>';
    bar[BAR_WIDTH] = '\0';
    if (p->total > 0 && rate > 0)
        fprintf(stderr, "\r%-10s [%s] %lld/%lld %.0f/s ETA %.0fs\033[K", p->label, bar,
                (long long)p->done, (long long)p->total, rate,
                (double)(p->total - p->done) / rate);
    else
        fprintf(stderr, "\r%-10s %lld %.0f/s\033[K", p->label, (long long)p->done, rate);
    p->drawn_ms = now;
}

void suf_progress_set(struct suf_progress *p, int64_t done)
{
    int64_t now;

    p->done = done;
    if (!p->active)
        return;
    now = suf_monotonic_ms();
    if (now - p->drawn_ms >= 100)
        draw(p, now);
}

void suf_progress_end(struct suf_progress *p)
{
    if (p->active && p->drawn_ms)
        fprintf(stderr, "\r\033[K");
    p->active = 0;
}
