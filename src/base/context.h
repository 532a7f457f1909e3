/*
 * context.h: struct suf_run, the context every command and stage receives.
 *
 * It carries what a stage may read (the config, the clock, the campaign
 * filter, dry-run) and what it reports back (counts, the worst non-fatal
 * outcome).  There is no other shared state: a stage gets everything it
 * needs from here.
 *
 * Counts are named integers ("deliveries.rows", "send.sent", ...) kept in a
 * JSON object; the command runner stores them in runs.counts and prints them
 * in the stage summary lines.
 */
#ifndef SUF_CONTEXT_H
#define SUF_CONTEXT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "base/config.h"
#include "base/timeutil.h"

struct suf_store; /* store/store.h: the run context only carries the handle */

struct suf_run {
    const struct suf_config *cfg;
    struct suf_store *store;     /* NULL for commands that use no database */
    struct suf_clock clock;      /* "now" for every decision */
    int64_t id;                  /* runs.id; 0 when the command is not recorded */
    const char *campaign;        /* --campaign ID, or NULL for every campaign */
    bool dry_run;                /* send nothing, change no state */
    volatile sig_atomic_t *stop; /* set by SIGINT/SIGTERM: finish the unit in hand */
    json_t *counts;              /* named counts, owned by the run */
    int soft_status;             /* worst "did the work, but" status: REJECTS, SEND */
    char soft_reason[512];       /* why soft_status is set, for the final line */
};

/* Adds `delta` to the count `name`. */
void suf_run_count(struct suf_run *run, const char *name, int64_t delta);
/* The count `name`, 0 when never counted. */
int64_t suf_run_get_count(const struct suf_run *run, const char *name);
/* Records a "work done, but" outcome (SUF_ERR_REJECTS, SUF_ERR_SEND) and its
 * reason; the first one recorded keeps its reason. */
void suf_run_soft_fail(struct suf_run *run, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The current time, per the run's clock. */
int64_t suf_run_now(const struct suf_run *run);
/* True once a stop was requested by a signal. */
bool suf_run_stopping(const struct suf_run *run);

#endif /* SUF_CONTEXT_H */
