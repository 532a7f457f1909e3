/*
 * log.c: the logger and the secret redactor of log.h.
 *
 * The state here (threshold, tty flag, secrets) is written once during
 * start-up and only read afterwards, the one kind of global suf allows.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "base/banned.h"

#define MAX_SECRETS 8

static enum suf_log_level log_level = SUF_LOG_INFO;
static int log_tty = -1;
static char *secrets[MAX_SECRETS];
static size_t nsecrets;

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

    if (!secret || strlen(secret) < 4 || nsecrets == MAX_SECRETS)
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

char *suf_redact(char *s, size_t size)
{
    static const char mark[] = "[redacted]";
    size_t i;

    if (!s || !size)
        return s;
    for (i = 0; i < nsecrets; i++) {
        size_t slen = strlen(secrets[i]);
        char *from = s, *hit;

        while ((hit = strstr(from, secrets[i])) != NULL) {
            size_t tail = strlen(hit + slen);
            size_t head = (size_t)(hit - s);
            size_t mlen = sizeof(mark) - 1;

            if (head + mlen >= size)
                mlen = size - head - 1;
            if (head + mlen + tail >= size)
                tail = size - head - mlen - 1;
            memmove(hit + mlen, hit + slen, tail);
            memcpy(hit, mark, mlen);
            hit[mlen + tail] = '\0';
            from = hit + mlen;
        }
    }
    return s;
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
    if (suf_log_is_tty())
        fprintf(stderr, "suf: %s%s\033[0m: %s\n", colours[level], names[level], line);
    else
        fprintf(stderr, "suf: %s: %s\n", names[level], line);
}
