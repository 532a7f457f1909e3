/*
 * context.c: counts and soft failures of struct suf_run (see context.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "base/context.h"
#include "base/banned.h"

void suf_run_count(struct suf_run *run, const char *name, int64_t delta)
{
    json_t *v;

    if (!run->counts)
        run->counts = json_object();
    v = json_object_get(run->counts, name);
    if (v)
        json_integer_set(v, json_integer_value(v) + delta);
    else
        json_object_set_new(run->counts, name, json_integer(delta));
}

int64_t suf_run_get_count(const struct suf_run *run, const char *name)
{
    json_t *v = run->counts ? json_object_get(run->counts, name) : NULL;

    return v ? json_integer_value(v) : 0;
}

void suf_run_soft_fail(struct suf_run *run, int status, const char *fmt, ...)
{
    va_list ap;

    if (run->soft_status)
        return;
    run->soft_status = status;
    va_start(ap, fmt);
    vsnprintf(run->soft_reason, sizeof(run->soft_reason), fmt, ap);
    va_end(ap);
}

int64_t suf_run_now(const struct suf_run *run)
{
    return suf_clock_now(&run->clock);
}

bool suf_run_stopping(const struct suf_run *run)
{
    return run->stop && *run->stop;
}
