/*
 * cmd_receive.c: `suf receive --listen ADDR:PORT [--on-consent CMD]`.
 *
 * The long-running webhook receiver (see receive.h).  This file reads the
 * command line and the secrets, starts the inbox, the consent runner and
 * the HTTP server, waits for SIGTERM or SIGINT, and then shuts down in the
 * order that keeps every promise made: the server first (its workers
 * flush and answer the requests in flight, because the inbox is still
 * open), then the inbox, then the consent runner.  It never opens the database: a receiver that waited on
 * a long run's lock would make Meta retry.
 *
 * Signals: SIGTERM and SIGINT are blocked in every thread (the threads
 * started here inherit the mask) and taken with sigwait() by this one.
 * After the first, they are unblocked with their default action, so a
 * second signal ends a shutdown that hangs.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"
#include "receive/receive.h"
#include "base/banned.h"

struct receive_args {
    const char *listen;
    const char *on_consent;
};

static int parse_args(int argc, char **argv, struct receive_args *a, struct suf_err *err)
{
    static const char *const opts[] = {"--listen", "--on-consent"};

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = NULL;
        size_t k;

        for (k = 0; k < 2; k++) {
            size_t n = strlen(opts[k]);
            if (!strcmp(arg, opts[k])) {
                if (i + 1 >= argc)
                    return suf_err_set(err, SUF_ERR_USAGE, "option '%s' needs a value",
                                       arg);
                val = argv[++i];
                break;
            }
            if (!strncmp(arg, opts[k], n) && arg[n] == '=') {
                val = arg + n + 1;
                break;
            }
        }
        if (k == 2)
            return suf_err_set(err, SUF_ERR_USAGE, "receive: unknown argument '%s'", arg);
        if (k == 0)
            a->listen = val;
        else
            a->on_consent = val;
    }
    if (!a->listen)
        return suf_err_set(err, SUF_ERR_USAGE, "receive needs --listen ADDR:PORT");
    if (a->on_consent && !*a->on_consent)
        return suf_err_set(err, SUF_ERR_USAGE, "--on-consent needs a command");
    return SUF_OK;
}

static int64_t run_clock(void *ctx)
{
    return suf_run_now(ctx);
}

static int read_secrets(const struct suf_config *cfg, char **token, char **secret,
                        struct suf_err *err)
{
    int rc = suf_config_secret("SUF_VERIFY_TOKEN", cfg->verify_token_file, token, err);

    if (rc == SUF_ERR_NOTFOUND)
        return suf_err_set(err, SUF_ERR_CONFIG,
                           "no verify token: set SUF_VERIFY_TOKEN or verify_token_file");
    if (rc)
        return rc;
    rc = suf_config_secret("SUF_APP_SECRET", cfg->app_secret_file, secret, err);
    if (rc == SUF_ERR_NOTFOUND)
        return suf_err_set(err, SUF_ERR_CONFIG,
                           "no app secret: set SUF_APP_SECRET or app_secret_file");
    return rc;
}

static void free_secret(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

/* Waits for SIGTERM or SIGINT (blocked in `set`); returns the signal. */
static int wait_for_stop(const sigset_t *set)
{
    int sig = 0;

    while (sigwait(set, &sig) != 0)
        ;
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    pthread_sigmask(SIG_UNBLOCK, set, NULL);
    return sig;
}

static void log_summary(struct suf_inbox *ib, struct suf_consent *c)
{
    struct suf_inbox_stats st;

    suf_inbox_stats(ib, &st);
    suf_info(
        "receive: stopped; %llu events in %llu flushes, %llu files, %llu failed batches, "
        "%llu consent runs",
        (unsigned long long)st.lines, (unsigned long long)st.flushes,
        (unsigned long long)st.files, (unsigned long long)st.errors,
        (unsigned long long)(c ? suf_consent_runs(c) : 0));
}

int cmd_receive(struct suf_run *run, int argc, char **argv, struct suf_err *err)
{
    const struct suf_config *cfg = run->cfg;
    struct receive_args a = {NULL, NULL};
    struct suf_inbox_opts io;
    struct suf_receive_opts ro;
    struct suf_inbox *inbox = NULL;
    struct suf_consent *consent = NULL;
    struct suf_receiver *server = NULL;
    char *token = NULL, *secret = NULL;
    const char *dir;
    sigset_t set, old;
    int rc, sig;

    rc = parse_args(argc, argv, &a, err);
    if (rc)
        return rc;
    dir = cfg->receive_inbox && *cfg->receive_inbox ? cfg->receive_inbox
                                                    : cfg->inbox_events;
    if (!dir || !*dir)
        return suf_err_set(err, SUF_ERR_CONFIG,
                           "receive needs a folder: set receive_inbox or inbox_events");
    rc = read_secrets(cfg, &token, &secret, err);
    if (rc)
        goto out;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old);

    memset(&io, 0, sizeof(io));
    io.dir = dir;
    io.rotate_bytes = cfg->rotate_bytes;
    io.rotate_seconds = cfg->rotate_seconds;
    io.now = run_clock;
    io.now_ctx = run;
    io.lanes = suf_receive_default_workers(); /* a lane for each worker */
    rc = suf_inbox_open(&inbox, &io, err);
    if (!rc && a.on_consent)
        rc = suf_consent_start(&consent, a.on_consent, cfg->on_consent_debounce_ms, err);
    if (!rc) {
        memset(&ro, 0, sizeof(ro));
        ro.listen = a.listen;
        ro.verify_token = token;
        ro.app_secret = secret;
        ro.max_body_bytes = cfg->max_body_bytes;
        ro.max_connections = cfg->max_connections;
        ro.connection_timeout_s = cfg->connection_timeout_s;
        ro.inbox = inbox;
        ro.consent = consent;
        rc = suf_receive_start(&server, &ro, err);
    }
    if (rc) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        goto out;
    }
    suf_info("receive: listening on %s (port %u), inbox %s%s", a.listen,
             suf_receive_port(server), dir, consent ? ", on-consent set" : "");

    /* A signal that came before the mask was set went to the dispatcher's
     * handler, which only raised the stop flag. */
    sig = suf_run_stopping(run) ? SIGTERM : wait_for_stop(&set);
    suf_info("receive: %s; finishing the requests in flight",
             sig == SIGINT ? "SIGINT" : "SIGTERM");
    suf_receive_stop(server);
    server = NULL;
out:
    suf_receive_stop(server);
    if (inbox && !rc)
        log_summary(inbox, consent); /* every append has returned by now */
    suf_inbox_close(inbox);
    suf_consent_stop(consent);
    free_secret(token);
    free_secret(secret);
    return rc;
}
