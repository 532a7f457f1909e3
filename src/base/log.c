/*
 * log.c: the logger and the secret redactor of log.h.
 *
 * The state here (threshold, tty flag, secrets) is written once during
 * start-up and only read afterwards, the one kind of global suf allows.
 * The status line is the exception: it is the terminal's own state (what
 * is drawn on its last line), so it lives beside the only code that
 * writes to stderr, under stderr's lock.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "base/banned.h"

#define MAX_SECRETS 8
#define REDACTED "[redacted]"

static enum suf_log_level log_level = SUF_LOG_INFO;
static int log_tty = -1;
static char *secrets[MAX_SECRETS];
static size_t nsecrets;
/* The status line drawn now ("" when none), guarded by stderr's own lock. */
static char status_line[256];

void suf_log_setup(enum suf_log_level level)
{
    log_level = level;
    log_tty = isatty(STDERR_FILENO) && getenv("NO_COLOR") == NULL;
}

enum suf_log_level suf_log_get_level(void)
{
    return log_level;
}

int suf_log_is_tty(void)
{
    if (log_tty < 0)
        log_tty = isatty(STDERR_FILENO) && getenv("NO_COLOR") == NULL;
    return log_tty;
}

void suf_log_secret(const char *secret)
{
    size_t i;

    if (!secret || !*secret || nsecrets == MAX_SECRETS)
        return;
    for (i = 0; i < nsecrets; i++)
        if (!strcmp(secrets[i], secret))
            return;
    secrets[nsecrets++] = suf_xstrdup(secret);
}

void suf_log_secrets_clear(void)
{
    while (nsecrets)
        free(secrets[--nsecrets]);
}

/*
 * Marks in `hit` (len bytes, zeroed) every byte of `s` that lies inside an
 * occurrence of a registered secret; returns whether any does.  Marking
 * first and replacing after means that overlapping occurrences ("aXa" in
 * "aXaXa"), and a secret found inside another or across the end of
 * another, all go, and that no "[redacted]" is itself searched.
 */
static bool mark_secrets(const char *s, unsigned char *hit)
{
    bool any = false;

    for (size_t i = 0; i < nsecrets; i++) {
        size_t slen = strlen(secrets[i]);

        for (const char *p = s; (p = strstr(p, secrets[i])) != NULL; p++) {
            memset(hit + (p - s), 1, slen);
            any = true;
        }
    }
    return any;
}

char *suf_redact_dup(const char *s)
{
    size_t len = strlen(s), i = 0;
    unsigned char *hit;
    struct suf_buf out = SUF_BUF_INIT;

    if (!nsecrets || !len)
        return suf_xstrdup(s);
    hit = suf_xcalloc(len, 1);
    if (!mark_secrets(s, hit)) {
        free(hit);
        return suf_xstrdup(s);
    }
    while (i < len) {
        size_t j = i;

        while (j < len && hit[j] == hit[i])
            j++;
        if (hit[i])
            suf_buf_addstr(&out, REDACTED); /* one mark per run of secret bytes */
        else
            suf_buf_add(&out, s + i, j - i);
        i = j;
    }
    free(hit);
    return suf_buf_detach(&out);
}

char *suf_redact(char *s, size_t size)
{
    char *clean;

    if (!s || !size || !nsecrets)
        return s;
    clean = suf_redact_dup(s);
    suf_strlcpy(s, clean, size);
    free(clean);
    return s;
}

void suf_log_status(const char *line)
{
    flockfile(stderr);
    if (line) {
        suf_strlcpy(status_line, line, sizeof(status_line));
        fprintf(stderr, "\r%s\033[K", status_line);
    } else if (status_line[0]) {
        status_line[0] = '\0';
        fputs("\r\033[K", stderr);
    }
    fflush(stderr);
    funlockfile(stderr);
}

void suf_log(enum suf_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    static const char *const colours[] = {"\033[1;31m", "\033[1;33m", "\033[1;36m", "\033[2m"};
    char line[4096];
    va_list ap;

    if (level > log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    suf_redact(line, sizeof(line));
    /* Control characters from data (a CR in a campaign name, say) would let
     * input rewrite the operator's terminal or split a log line. */
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t')
            *p = ' ';
    flockfile(stderr); /* the status line and this one go out as one */
    if (status_line[0])
        fputs("\r\033[K", stderr);
    if (suf_log_is_tty())
        fprintf(stderr, "suf: %s%s\033[0m: %s\n", colours[level], names[level], line);
    else
        fprintf(stderr, "suf: %s: %s\n", names[level], line);
    if (status_line[0])
        fprintf(stderr, "%s\033[K", status_line);
    fflush(stderr);
    funlockfile(stderr);
}
