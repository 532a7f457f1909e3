/*
 * log.h: one line per event on stderr, with a level.
 *
 * Lines look like `suf: warning: deliveries.csv: 3 of 120 rows rejected`.
 * On a terminal the level is coloured; off a terminal there are no control
 * characters at all (cron mails and journald stay clean).
 *
 * Secrets: every string registered with suf_log_secret() is replaced by
 * "[redacted]" in every line this module prints, and suf_redact() /
 * suf_redact_dup() do the same for text that came from outside (an API
 * reply) or is about to leave the process by another way (error messages,
 * the database).  Every occurrence goes, overlapping ones and those of
 * secrets inside one another included, whatever the secret's length.  This
 * is defence in depth: code must still never put a secret in a message in
 * the first place.
 *
 * The level and the secrets are set once, at start-up, before any stage runs.
 */
#ifndef SUF_LOG_H
#define SUF_LOG_H

#include <stddef.h>

enum suf_log_level {
    SUF_LOG_ERROR = 0,
    SUF_LOG_WARN = 1,
    SUF_LOG_INFO = 2,
    SUF_LOG_DEBUG = 3,
};

/* Sets the threshold (default SUF_LOG_INFO) and whether stderr is a terminal. */
void suf_log_setup(enum suf_log_level level);
enum suf_log_level suf_log_get_level(void);
/* True when stderr is a terminal (progress bars, colour). */
int suf_log_is_tty(void);

/* Registers a secret (copied) to be redacted from all output.  Every
 * non-empty secret counts, however short: a short secret is a weak one, not
 * one that may be printed. */
void suf_log_secret(const char *secret);
/* Forgets every registered secret (tests). */
void suf_log_secrets_clear(void);

/* Replaces every registered secret in the NUL-terminated `s` (of capacity
 * `size`) by "[redacted]", cutting the result to fit. Returns s. */
char *suf_redact(char *s, size_t size);
/* `s` with every registered secret replaced by "[redacted]", as a new
 * string the caller frees.  Use it before cutting outside text to a fixed
 * size: a cut could leave the head of a secret that no longer matches. */
char *suf_redact_dup(const char *s);

/*
 * The status line: one line kept at the bottom of a terminal (progress.h
 * draws its bar with it).  suf_log_status(line) draws `line` (no control
 * characters, shorter than the terminal) over the previous one;
 * suf_log_status(NULL) erases it.  While it is shown, every log line
 * erases it first and draws it again after, so neither is garbled.  Safe
 * from several threads.
 */
void suf_log_status(const char *line);

void suf_log(enum suf_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define suf_error(...) suf_log(SUF_LOG_ERROR, __VA_ARGS__)
#define suf_warn(...) suf_log(SUF_LOG_WARN, __VA_ARGS__)
#define suf_info(...) suf_log(SUF_LOG_INFO, __VA_ARGS__)
#define suf_debug(...) suf_log(SUF_LOG_DEBUG, __VA_ARGS__)

#endif /* SUF_LOG_H */
