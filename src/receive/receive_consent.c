/*
 * receive_consent.c: starts the --on-consent command when a tap arrives.
 *
 * A customer's "yes" should be delivered in seconds, not at the next timer,
 * so the receiver can start the light run itself.  Taps come in bursts
 * (a broadcast's customers answer together), and two runs at once would
 * only fight over the lock, so:
 *  - the first tap of a burst arms a timer of debounce_ms; taps until it
 *    fires join the same run;
 *  - at most one command runs at a time; a tap while it runs marks that it
 *    must run once more after it ends (the running one may have started
 *    before that tap's event was on disk);
 *  - the command runs in its own session (setsid), with stdin from
 *    /dev/null, default signal dispositions, and without the receiver's
 *    secrets in its environment.  The request that brought the tap never
 *    waits for it.
 * One thread owns all of this; suf_consent_tap only sets a flag.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "receive/receive.h"
#include "base/banned.h"

extern char **environ;

#define POLL_MS 100 /* how often a running command is checked for exit */

struct suf_consent {
    char *cmd;
    int64_t debounce_ms;
    char **envp; /* environ without the receiver's secrets; strings borrowed */
    pthread_t thread;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool pending;      /* a tap not yet covered by a started command */
    int64_t first_tap; /* monotonic ms of the burst's first tap */
    bool stopping;
    uint64_t runs;
    pid_t child; /* 0 when none runs */
};

static bool is_secret_env(const char *kv)
{
    static const char *const names[] = {"SUF_APP_SECRET=", "SUF_VERIFY_TOKEN="};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strncmp(kv, names[i], strlen(names[i])))
            return true;
    return false;
}

static char **child_env(void)
{
    size_t n = 0, k = 0;
    char **env;

    while (environ && environ[n])
        n++;
    env = suf_xcalloc(n + 1, sizeof(*env));
    for (size_t i = 0; i < n; i++)
        if (!is_secret_env(environ[i]))
            env[k++] = environ[i];
    env[k] = NULL;
    return env;
}

/* Starts the command; returns its pid, or 0 when it could not start. */
static pid_t spawn_cmd(struct suf_consent *c)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, dfl;
    char sh[] = "sh", dash_c[] = "-c";
    char *argv[] = {sh, dash_c, c->cmd, NULL};
    pid_t pid = 0;
    int rc;

    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGHUP);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dfl);
    rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, c->envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) {
        suf_error("receive: cannot start the consent command: %s", strerror(rc));
        return 0;
    }
    suf_info("receive: consent: started the consent command (pid %ld)", (long)pid);
    return pid;
}

static void reap(struct suf_consent *c)
{
    int status;
    pid_t r;

    if (c->child <= 0)
        return;
    r = waitpid(c->child, &status, WNOHANG);
    if (r == 0)
        return;
    if (r == c->child) {
        if (WIFEXITED(status) && WEXITSTATUS(status))
            suf_warn("receive: consent command (pid %ld) exited with status %d", (long)r,
                     WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
            suf_warn("receive: consent command (pid %ld) killed by signal %d", (long)r,
                     WTERMSIG(status));
    }
    c->child = 0; /* exited, or not ours to wait for any more */
}

static void wait_ms(struct suf_consent *c, int64_t ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&c->cv, &c->mu, &ts);
}

static void *consent_main(void *arg)
{
    struct suf_consent *c = arg;

    pthread_mutex_lock(&c->mu);
    while (!c->stopping) {
        int64_t due;

        reap(c);
        if (c->child > 0) {
            wait_ms(c, POLL_MS);
            continue;
        }
        if (!c->pending) {
            pthread_cond_wait(&c->cv, &c->mu);
            continue;
        }
        due = c->first_tap + c->debounce_ms;
        if (suf_monotonic_ms() < due) {
            wait_ms(c, due - suf_monotonic_ms());
            continue;
        }
        c->pending = false;
        c->child = spawn_cmd(c);
        if (c->child > 0)
            c->runs++;
    }
    reap(c);
    if (c->pending && c->child <= 0) {
        c->pending = false;
        if (spawn_cmd(c) > 0)
            c->runs++;
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int suf_consent_start(struct suf_consent **out, const char *cmd, int64_t debounce_ms,
                      struct suf_err *err)
{
    struct suf_consent *c;
    pthread_condattr_t ca;

    *out = NULL;
    if (!cmd || !*cmd)
        return suf_err_set(err, SUF_ERR_USAGE, "--on-consent needs a command");
    c = suf_xcalloc(1, sizeof(*c));
    c->cmd = suf_xstrdup(cmd);
    c->debounce_ms = debounce_ms > 0 ? debounce_ms : 0;
    c->envp = child_env();
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&c->thread, NULL, consent_main, c)) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        free(c->envp);
        free(c->cmd);
        free(c);
        return suf_err_set(err, SUF_ERR_INTERNAL, "cannot start the consent thread");
    }
    *out = c;
    return SUF_OK;
}

void suf_consent_tap(struct suf_consent *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    if (!c->pending) {
        c->pending = true;
        c->first_tap = suf_monotonic_ms();
        pthread_cond_signal(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
}

uint64_t suf_consent_runs(struct suf_consent *c)
{
    uint64_t n;

    pthread_mutex_lock(&c->mu);
    n = c->runs;
    pthread_mutex_unlock(&c->mu);
    return n;
}

void suf_consent_stop(struct suf_consent *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stopping = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c->envp);
    free(c->cmd);
    free(c);
}
