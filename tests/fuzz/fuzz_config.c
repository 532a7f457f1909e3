/*
 * fuzz_config.c: libFuzzer target for the INI configuration.
 *
 * The input is read as a config file by suf_config_load_string (inih behind
 * a line reader that refuses lines inih would cut).  A config either loads,
 * with every field valid, or fails with SUF_ERR_CONFIG and a message; the
 * struct is released either way, so a leak on any path is a finding.
 * SUF_* variables are cleared once at start so the environment of whoever
 * runs the fuzzer cannot change what an input means.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    if (!rc && (cfg.max_reject_ratio < 0 || !cfg.base_url || !cfg.database)) {
        fprintf(stderr, "fuzz_config: a config loaded with an invalid field\n");
        abort();
    }
    suf_config_release(&cfg);
    free(text);
    return 0;
}
