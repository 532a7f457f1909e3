/*
 * config.h: suf's configuration: an INI file read with inih, then SUF_*
 * environment variables, then command-line flags, each overriding the last.
 *
 * Every key is described once, in a table in config.c (section, key, type,
 * default, help).  That table drives the parser, the environment overrides
 * (SUF_ + the key in upper case: `throughput` is SUF_THROUGHPUT), `suf init`'s
 * commented sample and the key list in suf(1), so they cannot disagree.
 *
 * Invariants: after suf_config_load() succeeds, every field holds a valid
 * value (defaults filled, lists parsed, ranges checked).  The struct is then
 * only read.  Secrets are never stored in the INI: only the paths of files
 * that hold them; the values come from the environment or those files
 * (suf_config_secret).
 *
 * Steps:
 *  1. struct suf_config cfg; suf_config_init(&cfg);
 *  2. suf_config_load(&cfg, path_or_NULL, &err);
 *  3. adjust fields from flags;
 *  4. suf_config_release(&cfg) at exit.
 */
#ifndef SUF_CONFIG_H
#define SUF_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/status.h"

#define SUF_MAX_CODES 32

struct suf_config {
    /* [general] */
    char *database;
    char *reports_dir;
    char *outbox_dir;
    char *input_timezone;
    char *default_country_code;
    double max_reject_ratio; /* a ratio, not money */
    char *umask;
    int64_t retention_days; /* 0: keep everything */
    /* [inbox] */
    char *inbox_deliveries;
    char *inbox_templates;
    char *inbox_events;
    char *inbox_campaigns;
    char *inbox_rates;
    char *inbox_billing;
    int64_t inbox_settle_seconds;
    /* [api] */
    char *base_url;
    char *api_version;
    char *phone_number_id;
    char *waba_id; /* "" = no catalog from the API */
    char *token_file;
    int64_t throughput;
    int64_t graph_rate; /* Graph management calls per second; 0 = no limit */
    int64_t page_size;  /* catalog `limit` */
    int64_t billing_days; /* 0 = `suf run` fetches no billing */
    int64_t concurrency;
    int64_t connect_timeout_ms;
    int64_t request_timeout_ms;
    int64_t retry_budget;
    int64_t max_tries;
    int64_t backoff_base_ms;
    int64_t backoff_max_ms;
    int64_t unknown_resend_after_hours;
    /* [plan] */
    int64_t max_auto_retries;
    int64_t retry_interval_hours;
    int64_t grace_hours;
    bool fallback;
    char *eligible_error_codes;
    int64_t eligible_codes[SUF_MAX_CODES];
    int neligible_codes;
    bool treat_131026_as_capping;
    /* [utility] */
    char *utility_template;
    char *utility_language;
    char *utility_params;
    bool utility_no_button;
    char *permission_body;    /* what ensure-permission creates; checked at load */
    char *permission_example; /* example values, separated by | */
    char *permission_yes;
    char *permission_no;
    int64_t max_utility_per_run;
    int64_t max_utility_cost_per_run; /* micro-units of `currency`; 0 = no cap */
    /* [consent] */
    int64_t consent_wait_hours;
    int64_t window_margin_minutes;
    char *consent_keywords;
    char *stop_keywords;
    char *list_button_label;
    /* [billing] */
    char *currency;
    char *utility_billed_as;
    char *session_billed_as;
    char *session_billing;
    /* [report] */
    bool mask_phones;
    int64_t mask_keep_first;
    int64_t mask_keep_last;
    bool csv_export;
    double meta_diff_threshold; /* a ratio, not money */
    int64_t meta_diff_min;      /* micro-units of `currency` */
    char *meta_phone_number;    /* "" = every number */
    /* [receive] */
    char *verify_token_file;
    char *app_secret_file;
    char *receive_inbox;
    int64_t max_body_bytes;
    int64_t rotate_bytes;
    int64_t rotate_seconds;
    int64_t max_connections;
    int64_t connection_timeout_s;
    int64_t on_consent_debounce_ms;

    char *source; /* the file it was loaded from, or NULL */
};

/* Fills every field with its default. */
void suf_config_init(struct suf_config *cfg);

/*
 * Reads `path` (NULL: SUF_CONFIG from the environment, else
 * SUF_DEFAULT_CONFIG from base/version.h if it exists, else defaults only),
 * then applies SUF_* environment variables, then validates.  An explicit path that cannot be
 * read, an unknown section or key, a bad value, or a line longer than inih
 * reads whole is SUF_ERR_CONFIG with "file:line: reason".
 */
int suf_config_load(struct suf_config *cfg, const char *path, struct suf_err *err);

/* Parses an INI text (for tests and the fuzzer), like suf_config_load. */
int suf_config_load_string(struct suf_config *cfg, const char *text, const char *name,
                           struct suf_err *err);

/* Sets one key from a string, as the INI would. */
int suf_config_set(struct suf_config *cfg, const char *key, const char *value,
                   struct suf_err *err);

/* Frees what the fields own; the struct may be reinitialised after. */
void suf_config_release(struct suf_config *cfg);

/* Writes the commented sample config (every key, its default and help). */
void suf_config_write_sample(FILE *out);

/*
 * The rule base_url must keep, so the token never crosses a network in
 * clear and never goes to a host other than the one the URL seems to name:
 * `url` is parsed with libcurl's URL parser (curl_url), as the transport's
 * libcurl will parse it, and must have
 *  - a scheme (any case) of https, or of http with a host curl normalises to
 *    127.0.0.0/8, [::1] or localhost (so 0x7f.1 and 2130706433, which curl
 *    reads as 127.0.0.1, pass; "localhost." and names that merely contain
 *    127.0.0.1 do not);
 *  - no user name, password or login options (user info);
 *  - no '?' or '#', since the API path is appended to it.
 * Returns SUF_OK with *why NULL, or SUF_ERR_CONFIG with *why set to a
 * static reason (it never quotes the URL, which may hold a password).
 */
int suf_config_check_base_url(const char *url, const char **why);

/* True when `code` is in the eligible error codes. */
bool suf_config_code_eligible(const struct suf_config *cfg, int64_t code);

/*
 * Reads a secret: the environment variable `env` if set and not empty, else
 * the file `path` (first line, trailing newline removed) when `path` is set.
 * A file whose mode grants anything to group or others is refused with
 * SUF_ERR_PERM, unless it lies under $CREDENTIALS_DIRECTORY.  On success
 * *out is a new string the caller frees; the secret is registered with the
 * logger's redactor.  Returns SUF_ERR_NOTFOUND when neither is set.
 */
int suf_config_secret(const char *env, const char *path, char **out, struct suf_err *err);

#endif /* SUF_CONFIG_H */
