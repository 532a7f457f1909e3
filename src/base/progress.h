/*
 * progress.h: one progress line for a long stage, on a terminal only.
 *
 * On a terminal it redraws one line on stderr ("plan [=====>    ] 1200/5000
 * 310/s ETA 12s") at most ten times a second, and erases it when done.  The
 * line goes through log.h's status line, so a log line printed meanwhile
 * erases it first and draws it again after: the two never mix.  Off a
 * terminal (cron, systemd, a pipe) nothing is drawn and no control
 * character reaches a log, unless the operator asked for it (--progress).
 *
 * Invariants: a struct suf_progress that is all zeroes, or that was started
 * while bars are off, draws nothing, and every call on it is a cheap no-op.
 *
 * Steps:
 *  1. suf_progress_setup(mode) once, at start-up, after suf_log_setup();
 *  2. per stage: suf_progress_start(&p, "plan", total) (total 0: unknown,
 *     so no ETA; suf_progress_start_bytes for a total in bytes), counting
 *     the total only when suf_progress_wanted() says it will be shown;
 *  3. suf_progress_set(&p, done) as work goes (it draws when due);
 *  4. suf_progress_end(&p), which erases the line.
 */
#ifndef SUF_PROGRESS_H
#define SUF_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether bars are drawn: AUTO draws when stderr is a terminal and the log
 * shows information lines (-q turns bars off); ON and OFF are --progress and
 * --no-progress. */
enum suf_progress_mode { SUF_PROGRESS_AUTO, SUF_PROGRESS_ON, SUF_PROGRESS_OFF };

struct suf_progress {
    const char *label; /* not owned: a literal or a string outliving the bar */
    int64_t total;     /* 0: unknown */
    int64_t done;
    int64_t started_ms;
    int64_t drawn_ms;       /* 0: never drawn */
    int64_t (*clock)(void); /* milliseconds, monotonic; tests put their own */
    int width;              /* the terminal's columns; the line stays shorter */
    bool bytes;             /* done and total are bytes: shown as kB, MB, GB */
    bool active;            /* drawing */
};

/* Decides once, at start-up, whether bars are drawn. */
void suf_progress_setup(enum suf_progress_mode mode);
/* True when a bar started now would be drawn: callers count a total only
 * then. */
bool suf_progress_wanted(void);

void suf_progress_start(struct suf_progress *p, const char *label, int64_t total);
void suf_progress_start_bytes(struct suf_progress *p, const char *label, int64_t total);
/* True when a suf_progress_set now would draw: a caller whose `done` costs
 * something to find (a file's offset) asks first. */
bool suf_progress_due(const struct suf_progress *p);
/* Records `done` and redraws the line when the last draw is 100 ms old. */
void suf_progress_set(struct suf_progress *p, int64_t done);
/* Erases the line; the bar draws nothing more. */
void suf_progress_end(struct suf_progress *p);

/*
 * Writes the line for `p` as of `now_ms` into buf[size], without control
 * characters: the label, a bar when the total is known, done/total (or
 * done), the rate since the start, and the time left when the total is
 * known and the rate is not zero.  The line is cut to p->width - 1 columns
 * when the width is known.  Returns buf.
 */
char *suf_progress_format(const struct suf_progress *p, int64_t now_ms, char *buf, size_t size);

#endif /* SUF_PROGRESS_H */
