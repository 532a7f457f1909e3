/*
 * progress.c: the progress line of progress.h.
 *
 * The choice of drawing is made once at start-up (the one global here, of
 * the kind suf allows: written once, then only read).  The line itself is
 * drawn by log.c's status line, which knows to erase it around log lines.
 */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"
#include "base/progress.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "base/banned.h"

#define BAR_WIDTH 20
#define REDRAW_MS 100 /* at most ten draws a second */

static enum suf_progress_mode progress_mode = SUF_PROGRESS_AUTO;

void suf_progress_setup(enum suf_progress_mode mode)
{
    progress_mode = mode;
}

bool suf_progress_wanted(void)
{
    if (progress_mode == SUF_PROGRESS_ON)
        return true;
    if (progress_mode == SUF_PROGRESS_OFF)
        return false;
    /* Not suf_log_is_tty(): NO_COLOR turns colours off, not the bar. */
    return isatty(STDERR_FILENO) && suf_log_get_level() >= SUF_LOG_INFO;
}

static int terminal_width(void)
{
    struct winsize ws;

    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) != 0)
        return 0;
    return ws.ws_col;
}

void suf_progress_start(struct suf_progress *p, const char *label, int64_t total)
{
    memset(p, 0, sizeof(*p));
    p->label = label;
    p->total = total > 0 ? total : 0;
    p->clock = suf_monotonic_ms;
    p->active = suf_progress_wanted();
    if (p->active)
        p->width = terminal_width();
    p->started_ms = p->clock();
}

void suf_progress_start_bytes(struct suf_progress *p, const char *label, int64_t total)
{
    suf_progress_start(p, label, total);
    p->bytes = true;
}

/* An amount as the line shows it: a count, or bytes in kB, MB or GB. */
static void amount(const struct suf_progress *p, double v, char *out, size_t size)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
    size_t u = 0;

    if (!p->bytes) {
        snprintf(out, size, "%.0f", v);
        return;
    }
    while (v >= 1000 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1000;
        u++;
    }
    snprintf(out, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void duration(double secs, char *out, size_t size)
{
    long long s = (long long)(secs + 0.5);

    if (s < 60)
        snprintf(out, size, "%llds", s);
    else if (s < 3600)
        snprintf(out, size, "%lldm%02llds", s / 60, s % 60);
    else
        snprintf(out, size, "%lldh%02lldm", s / 3600, s / 60 % 60);
}

char *suf_progress_format(const struct suf_progress *p, int64_t now_ms, char *buf, size_t size)
{
    double secs = (double)(now_ms - p->started_ms) / 1000.0;
    double rate = secs > 0 ? (double)p->done / secs : 0;
    char done[32], total[32], speed[32], left[32], bar[BAR_WIDTH + 3];
    int n;

    amount(p, (double)p->done, done, sizeof(done));
    amount(p, rate, speed, sizeof(speed));
    if (p->total > 0) {
        int64_t filled = p->done * BAR_WIDTH / p->total;

        if (filled > BAR_WIDTH)
            filled = BAR_WIDTH;
        bar[0] = '[';
        memset(bar + 1, '=', (size_t)filled);
        memset(bar + 1 + filled, ' ', (size_t)(BAR_WIDTH - filled));
        if (filled < BAR_WIDTH)
            bar[1 + filled] = '>';
        bar[BAR_WIDTH + 1] = ']';
        bar[BAR_WIDTH + 2] = '\0';
        amount(p, (double)p->total, total, sizeof(total));
        if (rate > 0 && p->done < p->total)
            duration((double)(p->total - p->done) / rate, left, sizeof(left));
        else
            suf_strlcpy(left, rate > 0 ? "0s" : "?", sizeof(left));
        n = snprintf(buf, size, "%s %s %s/%s %s/s ETA %s", p->label, bar, done, total, speed,
                     left);
    } else {
        n = snprintf(buf, size, "%s %s %s/s", p->label, done, speed);
    }
    if (n > 0 && p->width > 1 && (size_t)p->width <= size && n >= p->width)
        buf[p->width - 1] = '\0'; /* a wrapped line could not be redrawn in place */
    return buf;
}

bool suf_progress_due(const struct suf_progress *p)
{
    return p->active && (!p->drawn_ms || p->clock() - p->drawn_ms >= REDRAW_MS);
}

void suf_progress_set(struct suf_progress *p, int64_t done)
{
    char line[256];
    int64_t now;

    p->done = done;
    if (!suf_progress_due(p))
        return;
    now = p->clock();
    suf_log_status(suf_progress_format(p, now, line, sizeof(line)));
    p->drawn_ms = now > 0 ? now : 1;
}

void suf_progress_end(struct suf_progress *p)
{
    if (p->active && p->drawn_ms)
        suf_log_status(NULL);
    p->active = false;
}
