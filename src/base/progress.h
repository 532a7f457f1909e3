/*
 * progress.h: a progress bar for long stages, on a terminal only.
 *
 * On a terminal it redraws one line on stderr ("utility [=====>    ] 1200/5000
 * 310/s ETA 12s") at most ten times a second, and erases it when done. Off a
 * terminal (cron, systemd, a pipe) it prints nothing at all: no control
 * characters reach a log.
 *
 * Steps: suf_progress_start(&p, "utility", total); suf_progress_set(&p, done)
 * as work goes; suf_progress_end(&p).  total 0 means unknown (no ETA).
 */
#ifndef SUF_PROGRESS_H
#define SUF_PROGRESS_H

#include <stdint.h>

struct suf_progress {
    const char *label;
    int64_t total;
    int64_t done;
    int64_t started_ms;
    int64_t drawn_ms;
    int active; /* drawing on a terminal */
};

void suf_progress_start(struct suf_progress *p, const char *label, int64_t total);
void suf_progress_set(struct suf_progress *p, int64_t done);
void suf_progress_end(struct suf_progress *p);

#endif /* SUF_PROGRESS_H */
