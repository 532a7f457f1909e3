/*
 * timeutil.c: the time parser, printer and clock of timeutil.h.
 *
 * The parser is strict on purpose: a delivery export whose times we guess
 * wrongly would put recipients on the wrong side of the retry window, so an
 * unclear time is a rejected row, not a guess.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/status.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "base/banned.h"

/* The input zone: either a fixed offset from UTC or the process's TZ (set
 * once from the config, the single piece of global state this needs). */
static int zone_is_fixed = 1;
static long zone_offset; /* seconds east of UTC, when fixed */

static int parse_offset(const char *s, long *secs)
{
    int sign, hh, mm = 0;

    if (*s != '+' && *s != '-')
        return -1;
    sign = *s == '-' ? -1 : 1;
    s++;
    if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
        return -1;
    hh = (s[0] - '0') * 10 + (s[1] - '0');
    s += 2;
    if (*s == ':')
        s++;
    if (*s) {
        if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2])
            return -1;
        mm = (s[0] - '0') * 10 + (s[1] - '0');
    }
    if (hh > 14 || mm > 59)
        return -1;
    *secs = sign * (hh * 3600L + mm * 60L);
    return 0;
}

int suf_time_set_input_zone(const char *zone)
{
    long off;

    if (!zone || !*zone || !strcmp(zone, "UTC") || !strcmp(zone, "Z")) {
        zone_is_fixed = 1;
        zone_offset = 0;
        return SUF_OK;
    }
    if (parse_offset(zone, &off) == 0) {
        zone_is_fixed = 1;
        zone_offset = off;
        return SUF_OK;
    }
    {
        char path[512];
        FILE *f;

        if (strstr(zone, "..") || zone[0] == '/')
            return SUF_ERR_CONFIG;
        snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
        f = fopen(path, "rb");
        if (!f)
            return SUF_ERR_CONFIG;
        fclose(f);
    }
    setenv("TZ", zone, 1);
    tzset();
    zone_is_fixed = 0;
    return SUF_OK;
}

static int all_digits(const char *s, size_t *n)
{
    size_t i = 0;

    while (isdigit((unsigned char)s[i]))
        i++;
    *n = i;
    return i > 0 && s[i] == '\0';
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 ? 28 + leap : d[m - 1];
}

/* H. Hinnant's days_from_civil: what timegm computes for a valid date,
 * without its normalisation and time zone machinery, which cost more than
 * the rest of a row's parsing. */
int64_t suf_time_days_from_civil(int y, int m, int d)
{
    int64_t era;
    int yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (int)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int suf_time_parse(const char *in, int64_t *out, const char **why)
{
    char s[64];
    size_t n, len;
    struct tm tm;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    const char *p;
    int64_t t;
    long off = 0;
    int has_zone = 0;
    const char *dummy;

    if (!why)
        why = &dummy;
    if (!in) {
        *why = "empty time";
        return SUF_ERR_INPUT;
    }
    len = suf_strlcpy(s, in, sizeof(s));
    if (len >= sizeof(s)) {
        *why = "time is too long";
        return SUF_ERR_INPUT;
    }
    suf_trim(s);
    if (!*s) {
        *why = "empty time";
        return SUF_ERR_INPUT;
    }
    if (all_digits(s, &n)) {
        int64_t v;
        if (n > 15 || suf_parse_i64(s, &v)) {
            *why = "epoch time out of range";
            return SUF_ERR_INPUT;
        }
        t = n >= 12 ? v / 1000 : v;
        goto check;
    }
    p = s;
    if (strlen(p) < 10 || digits(p, 4, &y) || p[4] != '-' || digits(p + 5, 2, &mo) ||
        p[7] != '-' || digits(p + 8, 2, &d)) {
        *why = "not an ISO-8601 time or epoch seconds";
        return SUF_ERR_INPUT;
    }
    p += 10;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(p, 2, &h) || p[2] != ':' || digits(p + 3, 2, &mi)) {
            *why = "not an ISO-8601 time";
            return SUF_ERR_INPUT;
        }
        p += 5;
        if (*p == ':') {
            if (digits(p + 1, 2, &sec)) {
                *why = "not an ISO-8601 time";
                return SUF_ERR_INPUT;
            }
            p += 3;
            if (*p == '.' || *p == ',') {
                p++;
                if (!isdigit((unsigned char)*p)) {
                    *why = "bad fraction of a second";
                    return SUF_ERR_INPUT;
                }
                while (isdigit((unsigned char)*p))
                    p++;
            }
        }
        while (*p == ' ')
            p++;
        if (*p == 'Z' || *p == 'z') {
            has_zone = 1;
            p++;
        } else if (!strcmp(p, "UTC")) {
            has_zone = 1;
            p += 3;
        } else if (*p == '+' || *p == '-') {
            if (parse_offset(p, &off)) {
                *why = "bad zone offset";
                return SUF_ERR_INPUT;
            }
            has_zone = 1;
            p += strlen(p);
        }
    }
    if (*p) {
        *why = "trailing characters after the time";
        return SUF_ERR_INPUT;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 60) {
        *why = "no such date or time";
        return SUF_ERR_INPUT;
    }
    if (has_zone || zone_is_fixed) {
        t = suf_time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
            (has_zone ? off : zone_offset);
    } else {
        memset(&tm, 0, sizeof(tm));
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = sec;
        tm.tm_isdst = -1;
        t = (int64_t)mktime(&tm);
    }
check:
    if (t < SUF_TIME_MIN || t >= SUF_TIME_MAX) {
        *why = "time is before 2000 or after 2099";
        return SUF_ERR_INPUT;
    }
    *out = t;
    return SUF_OK;
}

/* Formats `t` in UTC, as a date or a whole time; the raw number where the
 * time cannot be broken down. */
static char *format_utc(int64_t t, bool date_only, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm))
        snprintf(buf, size, "%lld", (long long)t);
    else if (date_only)
        strftime(buf, size, "%Y-%m-%d", &tm);
    else
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

char *suf_time_format(int64_t t, char *buf, size_t size)
{
    return format_utc(t, false, buf, size);
}

char *suf_date_format(int64_t t, char *buf, size_t size)
{
    return format_utc(t, true, buf, size);
}

void suf_clock_init(struct suf_clock *clk, int64_t now_override)
{
    clock_gettime(CLOCK_MONOTONIC, &clk->started);
    clk->base = now_override >= 0 ? now_override : (int64_t)time(NULL);
}

int64_t suf_clock_now(const struct suf_clock *clk)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    /* whole seconds elapsed, not second boundaries crossed: a run that
     * starts at x.9 s is not a second older 0.1 s later */
    return clk->base + (int64_t)(ts.tv_sec - clk->started.tv_sec) -
           (ts.tv_nsec < clk->started.tv_nsec ? 1 : 0);
}

int64_t suf_monotonic_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t suf_monotonic_ms(void)
{
    return suf_monotonic_us() / 1000;
}
