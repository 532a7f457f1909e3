/*
 * timeutil.h: parsing and printing times, and the injected clock.
 *
 * suf stores every time as int64 seconds since the epoch, UTC.  Inputs come
 * as ISO-8601 (with or without a zone), epoch seconds or epoch milliseconds;
 * a time without a zone is read in the configured input time zone.
 *
 * Time is injected: stages never call time(NULL).  They ask a struct
 * suf_clock, which is `--now` (or the wall clock at start-up) plus the
 * monotonic time elapsed since the run started.
 */
#ifndef SUF_TIMEUTIL_H
#define SUF_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

#define SUF_TIME_MIN INT64_C(946684800)  /* 2000-01-01: older inputs are implausible */
#define SUF_TIME_MAX INT64_C(4102444800) /* 2100-01-01: later inputs are implausible */

/* Sets the zone for zone-less input times: "UTC" (default), a fixed offset
 * ("+05:30") or an IANA name ("Asia/Kolkata"). Returns SUF_ERR_CONFIG for a
 * zone the system does not know. Call once, at start-up. */
int suf_time_set_input_zone(const char *zone);

/*
 * Parses `s` into *out (UTC seconds). Accepted:
 *   2026-11-20T10:15:00Z, 2026-11-20 10:15:00+05:30, 2026-11-20T10:15:00.250Z,
 *   2026-11-20T10:15 (input zone), 2026-11-20 (midnight, input zone),
 *   1763633700 (epoch seconds), 1763633700250 (epoch milliseconds).
 * Times outside [SUF_TIME_MIN, SUF_TIME_MAX) are refused. On failure returns
 * SUF_ERR_INPUT and, when `why` is not NULL, points it at a static reason.
 */
int suf_time_parse(const char *s, int64_t *out, const char **why);

/* Writes `t` as "2026-11-20T10:15:00Z" into buf (at least 21 bytes). */
char *suf_time_format(int64_t t, char *buf, size_t size);
/* Writes the UTC date of `t` as "2026-11-20" into buf (at least 11 bytes). */
char *suf_date_format(int64_t t, char *buf, size_t size);

struct suf_clock {
    int64_t base;            /* --now, or the wall clock when the run started */
    struct timespec started; /* CLOCK_MONOTONIC at start */
};

/* Days from 1970-01-01 to y-m-d (a valid date) in the proleptic Gregorian
 * calendar; negative before 1970. */
int64_t suf_time_days_from_civil(int y, int m, int d);

/* Starts a clock at `now_override`, or at the wall clock when it is < 0. */
void suf_clock_init(struct suf_clock *clk, int64_t now_override);
/* base + monotonic seconds elapsed since suf_clock_init. */
int64_t suf_clock_now(const struct suf_clock *clk);
/* Monotonic micro- and milliseconds since an arbitrary point, for
 * durations. */
int64_t suf_monotonic_us(void);
int64_t suf_monotonic_ms(void);

#endif /* SUF_TIMEUTIL_H */
