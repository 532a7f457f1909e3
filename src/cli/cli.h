/*
 * cli.h: the command table and the code every command shares.
 *
 * `suf [-c FILE] [--db FILE] [--now TIME] [-q|-v] COMMAND [ARGS]`: the
 * dispatcher parses the global options, loads the config, opens (and for
 * writing commands locks) the store, records the command in `runs`, calls
 * the command, and turns its status into the exit code.  A command only
 * parses its own arguments and does its work.
 *
 * A command returns a suf_status.  "Work done, but" outcomes (rejected rows,
 * permanent send failures) are not returned: they are recorded with
 * suf_run_soft_fail() and the dispatcher turns them into the exit code after
 * the command has finished its other work.
 */
#ifndef SUF_CLI_H
#define SUF_CLI_H

#include "base/context.h"
#include "base/status.h"

enum suf_cmd_flags {
    SUF_CMD_DB_WRITE = 1,      /* opens the store read-write, locks, records a run */
    SUF_CMD_DB_READ = 2,       /* opens the store read-only; no lock, no run row */
    SUF_CMD_CONFIG_OPTIONAL = 4, /* a missing -c file is not an error (init) */
    SUF_CMD_EXPLAIN_READ = 8,  /* with --explain, only reads: as SUF_CMD_DB_READ */
};

typedef int (*suf_cmd_fn)(struct suf_run *run, int argc, char **argv, struct suf_err *err);

struct suf_command {
    const char *name;
    suf_cmd_fn fn;
    int flags;
    const char *summary; /* one line, for `suf --help` */
    const char *usage;   /* the command's --help text */
};

/* Runs suf with the process's arguments; returns the exit code. */
int suf_cli_main(int argc, char **argv);

/* The table, terminated by a NULL name. */
extern const struct suf_command suf_commands[];

/*
 * Parses a command's common options out of argv in place, for commands that
 * take them: --campaign ID, --dry-run, --limit N.  Unknown options are left
 * for the command. Returns SUF_ERR_USAGE on a malformed value.
 */
int suf_cli_common_opts(struct suf_run *run, int *argc, char **argv, long long *limit,
                        struct suf_err *err);

struct suf_import_opts;

/* Imports FILE or DIR as `kind` ("deliveries", "templates", "campaigns",
 * "rates", "markets", "events"), as `suf import` does; `suf run` uses it for
 * the inbox folders. */
int suf_cli_import_one(struct suf_run *run, const char *kind, const char *path,
                       const struct suf_import_opts *opts, struct suf_err *err);

/* suf_purge() with suf's built-in market map for a store that imported
 * none (cmd_purge.c): what `suf purge` and the run's retention stage call. */
struct suf_purge_counts;
int suf_cli_purge(struct suf_run *run, int64_t cutoff, struct suf_purge_counts *counts,
                  struct suf_err *err);

/* One command each, in src/cli/cmd_<name>.c. */
int cmd_init(struct suf_run *run, int argc, char **argv, struct suf_err *err);
int cmd_import(struct suf_run *run, int argc, char **argv, struct suf_err *err);
int cmd_plan(struct suf_run *run, int argc, char **argv, struct suf_err *err);
int cmd_send(struct suf_run *run, int argc, char **argv, struct suf_err *err);
int cmd_reconcile(struct suf_run *run, int argc, char **argv, struct suf_err *err);
int cmd_report(struct suf_run *run, int argc, char **argv, struct suf_err *err);
int cmd_run(struct suf_run *run, int argc, char **argv, struct suf_err *err);
int cmd_status(struct suf_run *run, int argc, char **argv, struct suf_err *err);
int cmd_receive(struct suf_run *run, int argc, char **argv, struct suf_err *err);
int cmd_purge(struct suf_run *run, int argc, char **argv, struct suf_err *err);
int cmd_cancel(struct suf_run *run, int argc, char **argv, struct suf_err *err);
int cmd_templates(struct suf_run *run, int argc, char **argv, struct suf_err *err);

#endif /* SUF_CLI_H */
