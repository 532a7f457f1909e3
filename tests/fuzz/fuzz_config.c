/*
 * fuzz_config.c: libFuzzer target for the INI configuration.
 *
 * The input is read as a config file by suf_config_load_string (inih behind
 * a line reader that refuses lines inih would cut).  A config either loads,
 * with every field valid, or fails with SUF_ERR_CONFIG and a message; the
 * struct is released either way, so a leak on any path is a finding.
 *
 * A config that loads is checked for the values that once slipped through:
 * max_reject_ratio finite and within 0..1 (never NaN or infinity), umask
 * octal digits within 0777, base_url passing its own rule, and no key set
 * twice, which inih itself is asked: the same text goes through
 * ini_parse_string with a handler that counts each section and key.
 * SUF_* variables are cleared once at start so the environment of whoever
 * runs the fuzzer cannot change what an input means.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "base/config.h"
#include "base/log.h"
#include "base/util.h"
#include "base/banned.h"

extern char **environ;

static void clear_suf_env(void)
{
    for (int again = 1; again;) {
        again = 0;
        for (char **e = environ; *e; e++) {
            if (!strncmp(*e, "SUF_", 4)) {
                char name[128];
                const char *eq = strchr(*e, '=');
                size_t n = eq ? (size_t)(eq - *e) : strlen(*e);
                if (n >= sizeof(name))
                    n = sizeof(name) - 1;
                memcpy(name, *e, n);
                name[n] = '\0';
                unsetenv(name);
                again = 1;
                break;
            }
        }
    }
}

/* The (section, key) pairs inih reported, for the duplicate check.  A config
 * that loads sets each key once, so there are fewer than keys exist. */
struct seen {
    char pair[128][160];
    int n;
    int twice;
};

static int count_pair(void *user, const char *section, const char *name,
                      const char *value)
{
    struct seen *seen = user;
    char pair[160];

    (void)value;
    snprintf(pair, sizeof(pair), "%s\n%s", section, name);
    for (int i = 0; i < seen->n; i++)
        if (!strcmp(seen->pair[i], pair))
            seen->twice = 1;
    if (seen->n == 128) {
        seen->twice = 1;
        return 1;
    }
    memcpy(seen->pair[seen->n++], pair, sizeof(pair));
    return 1;
}

static void check_loaded(const struct suf_config *cfg, const char *text)
{
    static struct seen seen; /* 20 KB: off the stack */
    const char *why;
    size_t digits = strspn(cfg->umask, "01234567");

    if (!isfinite(cfg->max_reject_ratio) || cfg->max_reject_ratio < 0 ||
        cfg->max_reject_ratio > 1 || !cfg->base_url || !cfg->database) {
        fprintf(stderr, "fuzz_config: a config loaded with an invalid field\n");
        abort();
    }
    if (!digits || cfg->umask[digits] || strtoul(cfg->umask, NULL, 8) > 0777) {
        fprintf(stderr, "fuzz_config: umask '%s' loaded\n", cfg->umask);
        abort();
    }
    if (suf_config_check_base_url(cfg->base_url, &why)) {
        fprintf(stderr, "fuzz_config: base_url loaded against its rule: %s\n", why);
        abort();
    }
    seen.n = 0;
    seen.twice = 0;
    ini_parse_string(text, count_pair, &seen);
    if (seen.twice) {
        fprintf(stderr, "fuzz_config: a config with a key set twice loaded\n");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct suf_config cfg;
    struct suf_err err = SUF_ERR_INIT;
    char *text;
    int rc;

    if (!ready) {
        clear_suf_env();
        suf_log_setup(SUF_LOG_ERROR);
        ready = 1;
    }
    text = suf_xmalloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    suf_config_init(&cfg);
    rc = suf_config_load_string(&cfg, text, "fuzz.conf", &err);
    if (rc && (rc != SUF_ERR_CONFIG || !err.msg[0])) {
        fprintf(stderr, "fuzz_config: status %d, message '%s'\n", rc, err.msg);
        abort();
    }
    if (!rc)
        check_loaded(&cfg, text);
    suf_config_release(&cfg);
    free(text);
    return 0;
}
