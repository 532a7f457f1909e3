/*
 * cli.c: global options, the command table and the dispatcher (see cli.h).
 *
 * Everything a command would otherwise repeat lives here once: config
 * loading, the --now clock, opening and locking the store, the `runs` row,
 * signal handling, and the mapping from status to exit code.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "base/log.h"
#include "base/progress.h"
#include "base/util.h"
#include "base/version.h"
#include "cli/cli.h"
#include "store/store.h"
#include "base/banned.h"

const struct suf_command suf_commands[] = {
    {"init", cmd_init, SUF_CMD_DB_WRITE | SUF_CMD_CONFIG_OPTIONAL,
     "create the database and a commented sample config",
     "usage: suf init [--sample FILE]\n"
     "\n"
     "Creates the database (0600).  With --sample FILE, writes instead a commented\n"
     "sample config with every key and its default to FILE (\"-\": stdout), and\n"
     "touches no database.\n"
     "\n"
     "  --sample FILE   write the sample config to FILE (\"-\": stdout), not a database\n"},
    {"import", cmd_import, SUF_CMD_DB_WRITE, "import input files into the database",
     "usage: suf import deliveries|templates|events|campaigns|rates|billing FILE|DIR...\n"
     "       suf import rates FILE --effective YYYY-MM-DD [--currency CUR]\n"
     "       suf import markets FILE\n"
     "       suf import templates --from-api\n"
     "       suf import billing --from-api --since DATE [--until DATE]\n"
     "\n"
     "Imports each FILE, or every file in each DIR (sorted by name).  A file\n"
     "imported before (same SHA-256) is skipped.  Bad rows go to `rejects`\n"
     "with the file, line and reason; the good rows import.  Exits non-zero\n"
     "when a file's rejects exceed max_reject_ratio.  billing reads Meta's\n"
     "pricing_analytics responses (JSON): what Meta billed, per day, country,\n"
     "category and pricing type; a cost Meta did not give is kept as not given.\n"
     "\n"
     "  --from-api               templates: read the catalog of waba_id from the API,\n"
     "                           page by page; each page is kept in inbox_templates\n"
     "                           and imported as a saved page would be;\n"
     "                           billing: read what Meta billed to waba_id from the\n"
     "                           API (pricing_analytics, daily), in requests of at most\n"
     "                           90 days; each reply is kept in inbox_billing with the\n"
     "                           span asked, and imported\n"
     "  --since DATE             billing --from-api: the first day (YYYY-MM-DD, UTC) or\n"
     "                           time; at most a year back\n"
     "  --until DATE             billing --from-api: where the span ends, excluded\n"
     "                           (default and latest: now)\n"
     "  --effective YYYY-MM-DD   rates: the card's first day (default: from a name like\n"
     "                           USD_2026-10-01.csv)\n"
     "  --currency CUR           rates: the card's currency (default: from the file name,\n"
     "                           else the config's currency)\n"},
    {"templates", cmd_templates, SUF_CMD_DB_WRITE,
     "make sure the permission templates exist at Meta",
     "usage: suf templates ensure-permission [--language L]... [--campaign ID] [--dry-run]\n"
     "\n"
     "Looks up, by name in waba_id's catalog, each campaign's permission template\n"
     "(its utility_template and utility_language, else the config's) and the\n"
     "config's own, and creates each one Meta does not have: category UTILITY, the\n"
     "body permission_body with permission_example, the quick replies\n"
     "permission_yes and permission_no.  A campaign has one utility language: to\n"
     "have a template in more, name them with --language.  Prints each template's\n"
     "name, language, id, status and category, and what was done; what Meta said\n"
     "is kept in inbox_templates and imported.  A created template is PENDING\n"
     "until Meta approves it (by webhook); until then no utility message goes.\n"
     "A lost reply to a creation is never simply sent again: the template is\n"
     "looked up first.\n"
     "\n"
     "  --language L    also in language L (en_US, pt_BR; repeatable)\n"
     "  --campaign ID   only the template of campaign ID\n"
     "  --dry-run       only look up, and say what would be created\n"},
    {"plan", cmd_plan, SUF_CMD_DB_WRITE | SUF_CMD_EXPLAIN_READ,
     "decide who gets a fallback, and why not",
     "usage: suf plan [--campaign ID]\n"
     "       suf plan --explain PHONE --campaign ID\n"
     "       suf plan --explain --campaign ID --list [--csv]\n"
     "\n"
     "Gives every recipient one outcome (delivered, in_flight,\n"
     "recovered_by_retry, awaiting_retries, excluded:<reason>, fallback) and\n"
     "builds the messages of each new fallback.  --explain prints one\n"
     "recipient's attempts, the deciding rule, its scenario and the JSON;\n"
     "--list prints every planned recipient of the campaign with its outcome,\n"
     "reason and scenario (--csv: as CSV).  --explain only reads: it takes no\n"
     "lock and is not recorded in runs.\n"
     "\n"
     "  --campaign ID      only this campaign\n"
     "  --explain [PHONE]  explain one recipient (with --list: every recipient)\n"
     "  --list             with --explain: every planned recipient of the campaign\n"
     "  --csv              with --list: print CSV instead of a table\n"},
    {"send", cmd_send, SUF_CMD_DB_WRITE, "send queued messages through the Cloud API",
     "usage: suf send [--campaign ID] [--dry-run] [--limit N]\n"
     "\n"
     "Sends queued session messages first, then utility permission messages.\n"
     "--dry-run writes the requests to an outbox JSONL file instead, and\n"
     "changes nothing; it is not held to the throughput, as nothing is posted.\n"
     "--limit caps the utility messages sent.\n"
     "\n"
     "  --campaign ID   only this campaign's messages\n"
     "  --dry-run       write the requests to an outbox file; send nothing, at\n"
     "                  disk speed\n"
     "  --limit N       send at most N utility messages\n"},
    {"reconcile", cmd_reconcile, SUF_CMD_DB_WRITE,
     "turn webhook events into consents, session sends and conversions",
     "usage: suf reconcile [--campaign ID]\n"
     "\n"
     "Turns the imported webhook events into deliveries, consents, declines,\n"
     "opt-outs, conversions and expiries.\n"
     "\n"
     "  --campaign ID   only this campaign's fallbacks\n"},
    {"report", cmd_report, SUF_CMD_DB_WRITE, "write the XLSX workbooks (and CSV tables)",
     "usage: suf report [--campaign ID] [--out DIR] [--csv]\n"
     "\n"
     "Writes reports/<campaign>/<campaign>_<as-of>.xlsx for each campaign and a\n"
     "portfolio workbook.  --csv (or [report] csv_export = on) also writes each\n"
     "workbook's sheets as CSV files (RFC 4180, UTF-8, ISO times, amounts with six\n"
     "decimals) into a folder beside it: <campaign>_<as-of>/<sheet>.csv.\n"
     "\n"
     "  --campaign ID   only this campaign's workbook (no portfolio)\n"
     "  --out DIR       write into DIR instead of reports_dir\n"
     "  --csv           also write each sheet as a CSV file\n"},
    {"run", cmd_run, SUF_CMD_DB_WRITE, "the whole pipeline (what the scheduler runs)",
     "usage: suf run [--campaign ID] [--dry-run] [--skip STAGE,...] [--quiet-if-locked]\n"
     "\n"
     "Stages: catalog, import, reconcile, session, plan, utility, events,\n"
     "report, retention.  catalog reads the template catalog from the API\n"
     "when waba_id is set (else it says so and does nothing).\n"
     "`--skip report` is the light run of the every-10-minutes schedule.\n"
     "\n"
     "  --campaign ID       only this campaign (exits 66 at once if it is unknown)\n"
     "  --dry-run           send nothing: the send stages write outbox files\n"
     "  --skip STAGE,...    leave out these stages\n"
     "  --quiet-if-locked   exit 75 without a word when another suf holds the lock\n"},
    {"status", cmd_status, SUF_CMD_DB_READ, "what each campaign needs; the last runs",
     "usage: suf status [--campaign ID] [--json] [--runs]\n"
     "\n"
     "Per campaign: whether it is off, not enabled or expired, fallbacks by\n"
     "state, the cost so far (policy and Meta), unpriced charges, sends\n"
     "queued, deferred or unknown, consents waiting with their deadlines.\n"
     "--runs adds the last runs as a table; --json prints the same as JSON\n"
     "(README.md).  Only reads: takes no lock and is not recorded in runs.\n"
     "\n"
     "  --campaign ID   only this campaign (exits 66 if it is unknown)\n"
     "  --json          print JSON instead of text\n"
     "  --runs          add the last runs\n"},
    {"receive", cmd_receive, 0, "the webhook receiver",
     "usage: suf receive --listen ADDR:PORT [--on-consent CMD]\n"
     "\n"
     "The webhook receiver: answers Meta's verification handshake, checks each\n"
     "POST's X-Hub-Signature-256 and appends the accepted bodies to the events\n"
     "inbox (fsync before 200).\n"
     "\n"
     "  --listen ADDR:PORT   the address and port to listen on\n"
     "  --on-consent CMD     run CMD (debounced) when a consent arrives\n"},
    {"cancel", cmd_cancel, SUF_CMD_DB_WRITE, "stop a campaign's fallbacks and their spend",
     "usage: suf cancel --campaign ID [--dry-run]\n"
     "\n"
     "Stops the campaign now: each of its fallbacks that still has a message to\n"
     "send ends 'cancelled' (reason \"cancelled by the operator\"), its queued\n"
     "and held messages are cancelled, and plan starts no new fallback for it\n"
     "(reason campaign_cancelled).  What already went out stays, and its replies\n"
     "are still reconciled.  Prints how many fallbacks it stopped.\n"
     "\n"
     "  --campaign ID   the campaign to stop (exits 66 if it is unknown)\n"
     "  --dry-run       only say how many fallbacks it would stop\n"},
    {"purge", cmd_purge, SUF_CMD_DB_WRITE, "remove personal data older than a date",
     "usage: suf purge --before DATE [--vacuum]\n"
     "\n"
     "Removes customers' phone numbers, names and message content older than\n"
     "DATE (2026-01-31 is midnight in input_timezone; any time --now takes):\n"
     "each phone becomes a keyed pseudonym that keeps its market, so every\n"
     "count and cost stays.  Opt-outs keep their phone.  A purged fallback's\n"
     "messages that had not gone out are cancelled.  --vacuum then rewrites\n"
     "the database file so that no free page keeps old bytes (it needs as much\n"
     "free disk as the database).  `suf run` purges the same way when\n"
     "retention_days is set.\n"
     "\n"
     "  --before DATE   remove what is older than DATE (not after now)\n"
     "  --vacuum        then rewrite the database file\n"},
    {NULL, NULL, 0, NULL, NULL},
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    if (stop_requested)
        _exit(128 + sig); /* second signal: at once */
    stop_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: suf [-c FILE] [--db FILE] [--now TIME] [-q|-v] [--[no-]progress] COMMAND "
                 "[ARGS]\n\n"
                 "Smart Utility Fallback: recovers marketing messages that failed after\n"
                 "a broadcast's retries, with a utility message that asks permission.\n\n"
                 "Commands:\n");
    for (const struct suf_command *c = suf_commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out, "\nOptions (before COMMAND):\n"
                 "  -c, --config FILE   the config (default: $SUF_CONFIG, else the\n"
                 "                      default config below, when it exists)\n"
                 "  --db FILE           the database, instead of the config's database\n"
                 "  --now TIME          act as of TIME (ISO-8601 or epoch seconds), not the clock\n"
                 "  -q, --quiet         warnings and errors only\n"
                 "  -v, --verbose       debug output\n"
                 "  --progress          draw progress lines on stderr, even off a terminal\n"
                 "                      or with -q (default: on a terminal only)\n"
                 "  --no-progress       never draw progress lines\n"
                 "  -h, --help          this help\n"
                 "  --version           the version\n"
                 "  --exit-codes        the table of exit codes and what each means\n"
                 "\ndefault config: %s\n"
                 "\nRun 'suf COMMAND --help' for a command's options; see suf(1).\n",
            SUF_DEFAULT_CONFIG);
}

static const struct suf_command *find_command(const char *name)
{
    for (const struct suf_command *c = suf_commands; c->name; c++)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

static int wants(int argc, char **argv, const char *opt)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            return 0;
        if (!strcmp(argv[i], opt))
            return 1;
    }
    return 0;
}

static char *join_args(int argc, char **argv)
{
    struct suf_buf b = SUF_BUF_INIT;

    for (int i = 0; i < argc; i++) {
        if (i)
            suf_buf_addch(&b, ' ');
        suf_buf_addstr(&b, argv[i]);
    }
    return suf_buf_detach(&b);
}

struct globals {
    const char *config;
    const char *db;
    const char *now;
    int verbosity;
    enum suf_progress_mode progress;
};

static int parse_globals(int argc, char **argv, struct globals *g)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"db", required_argument, NULL, 'd'},
        {"now", required_argument, NULL, 'n'},    {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},      {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {"exit-codes", no_argument, NULL, 'E'},
        {"progress", no_argument, NULL, 'P'},     {"no-progress", no_argument, NULL, 'N'},
        {NULL, 0, NULL, 0},
    };
    int c;

    opterr = 1;
    while ((c = getopt_long(argc, argv, "+c:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            g->config = optarg;
            break;
        case 'd':
            g->db = optarg;
            break;
        case 'n':
            g->now = optarg;
            break;
        case 'q':
            g->verbosity--;
            break;
        case 'v':
            g->verbosity++;
            break;
        case 'P':
            g->progress = SUF_PROGRESS_ON;
            break;
        case 'N':
            g->progress = SUF_PROGRESS_OFF;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            printf("suf %s\n", SUF_VERSION);
            exit(0);
        case 'E': /* also what the README's and the man page's tables are checked against */
            suf_status_print_exit_codes(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(EX_USAGE);
        }
    }
    return optind;
}

/* Whether this call of the command only reads: no lock, no `runs` row. */
static int reads_only(const struct suf_command *cmd, int argc, char **argv)
{
    if (cmd->flags & SUF_CMD_DB_READ)
        return 1;
    if (!(cmd->flags & SUF_CMD_EXPLAIN_READ))
        return 0;
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--explain") || !strncmp(argv[i], "--explain=", 10))
            return 1;
    return 0;
}

/* Opens the store as the command needs it, and starts its `runs` row. */
static int open_store(const struct suf_command *cmd, struct suf_run *run, struct suf_store *st,
                      int argc, char **argv, struct suf_err *err)
{
    int rc, create;

    if (reads_only(cmd, argc, argv))
        return suf_store_open(st, run->cfg->database, SUF_STORE_READONLY, err);
    if (!(cmd->flags & SUF_CMD_DB_WRITE))
        return SUF_OK;
    /* A sample config is written before the database's folder exists: on a
     * fresh machine the operator writes it, edits the paths, then inits. */
    if (cmd->fn == cmd_init && wants(argc, argv, "--sample"))
        return SUF_OK;
    /* Only init creates a database: any other command on a missing one is
     * a wrong path (a typo, a job started in another folder), never a new
     * empty store. */
    create = cmd->fn == cmd_init ? SUF_STORE_CREATE : 0;
    rc = suf_store_open(st, run->cfg->database, create | SUF_STORE_LOCK, err);
    if (rc)
        return rc;
    {
        char *args = join_args(argc, argv);
        rc = suf_store_run_begin(st, cmd->name, args, (int64_t)time(NULL), run->clock.base,
                                 &run->id, err);
        free(args);
    }
    return rc;
}

static int finish(const struct suf_command *cmd, struct suf_run *run, int rc,
                  struct suf_err *err)
{
    const char *status;
    char *counts = NULL;
    struct suf_err e2 = SUF_ERR_INIT;

    if (rc == SUF_OK && run->soft_status)
        rc = run->soft_status;
    if (rc == SUF_OK && suf_run_stopping(run))
        rc = SUF_ERR_INTERRUPTED;
    if (rc == SUF_ERR_INTERRUPTED)
        status = "interrupted";
    else if (rc)
        status = "failed";
    else
        status = "ok";
    if (run->store && run->store->db && run->id > 0) {
        if (run->counts)
            counts = json_dumps(run->counts, JSON_COMPACT | JSON_SORT_KEYS);
        if (suf_store_run_end(run->store, run->id, (int64_t)time(NULL), status,
                              suf_status_exit_code(rc),
                              counts, rc ? (err->msg[0] ? err->msg : run->soft_reason) : NULL,
                              &e2))
            suf_warn("could not record the run: %s", e2.msg);
        free(counts);
    }
    if (rc && rc == run->soft_status)
        suf_error("%s finished, but %s", cmd->name, run->soft_reason);
    else if (rc == SUF_ERR_INTERRUPTED)
        suf_error("%s interrupted; its committed work is kept, rerun to continue", cmd->name);
    else if (rc)
        suf_error("%s", err->msg[0] ? err->msg : suf_strerror(rc));
    return suf_status_exit_code(rc);
}

/*
 * The access token lives in this process's memory: no core dump may carry
 * it.  RLIMIT_CORE 0 stops core files; PR_SET_DUMPABLE 0 also stops a piped
 * core_pattern (systemd-coredump) and ptrace by other processes.  Sanitizer
 * builds keep the process dumpable: their leak checker reads /proc/self.
 */
static void no_core_dumps(void)
{
    struct rlimit rl = {0, 0};

    setrlimit(RLIMIT_CORE, &rl);
#ifndef __SANITIZE_ADDRESS__
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
}

int suf_cli_main(int argc, char **argv)
{
    struct globals g = {NULL, NULL, NULL, 0, SUF_PROGRESS_AUTO};
    struct suf_config cfg;
    struct suf_store st = SUF_STORE_INIT;
    struct suf_run run;
    struct suf_err err = SUF_ERR_INIT;
    const struct suf_command *cmd;
    int first, rc, code;
    int64_t now = -1;

    no_core_dumps();
    /* SQLite's B-tree balancing mallocs and frees a scratch buffer on nearly
     * every page split; at the top of a growing heap glibc trims it back to
     * the kernel each time (a brk and a TLB flush per split: a third of a
     * large import's time).  Keep some slack at the top instead. */
    mallopt(M_TOP_PAD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
    suf_store_library_init();
    first = parse_globals(argc, argv, &g);
    suf_log_setup(g.verbosity < 0 ? SUF_LOG_WARN : g.verbosity > 0 ? SUF_LOG_DEBUG : SUF_LOG_INFO);
    suf_progress_setup(g.progress); /* AUTO: a terminal, and no -q */
    if (first >= argc) {
        usage(stderr);
        return EX_USAGE;
    }
    cmd = find_command(argv[first]);
    if (!cmd) {
        suf_error("unknown command '%s'; see 'suf --help'", argv[first]);
        return EX_USAGE;
    }
    if (wants(argc - first, argv + first, "--help") || wants(argc - first, argv + first, "-h")) {
        fputs(cmd->usage, stdout);
        return 0;
    }
    suf_config_init(&cfg);
    rc = suf_config_load(&cfg, g.config, &err);
    if (rc == SUF_ERR_CONFIG && (cmd->flags & SUF_CMD_CONFIG_OPTIONAL) && g.config &&
        access(g.config, F_OK) != 0) {
        suf_err_clear(&err);
        rc = suf_config_load(&cfg, "/dev/null", &err);
    }
    if (!rc && g.db)
        rc = suf_config_set(&cfg, "database", g.db, &err);
    if (!rc && suf_time_set_input_zone(cfg.input_timezone))
        rc = suf_err_set(&err, SUF_ERR_CONFIG, "input_timezone '%s' is not a known zone",
                         cfg.input_timezone);
    if (!rc && g.now) {
        const char *why = NULL;
        if (suf_time_parse(g.now, &now, &why))
            rc = suf_err_set(&err, SUF_ERR_USAGE, "--now '%s': %s", g.now, why);
    }
    if (rc) {
        suf_error("%s", err.msg);
        suf_config_release(&cfg);
        return suf_status_exit_code(rc);
    }
    {
        unsigned long mask = strtoul(cfg.umask, NULL, 8);
        umask((mode_t)(mask & 0777));
    }
    memset(&run, 0, sizeof(run));
    run.cfg = &cfg;
    run.stop = &stop_requested;
    suf_clock_init(&run.clock, now);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    rc = open_store(cmd, &run, &st, argc - first, argv + first, &err);
    if (rc == SUF_ERR_LOCKED) {
        if (!wants(argc - first, argv + first, "--quiet-if-locked"))
            suf_error("%s", err.msg);
        suf_store_close(&st);
        suf_config_release(&cfg);
        return suf_status_exit_code(rc);
    }
    if (!rc) {
        run.store = st.db ? &st : NULL;
        optind = 0; /* commands may use getopt again */
        rc = cmd->fn(&run, argc - first, argv + first, &err);
    }
    code = finish(cmd, &run, rc, &err);
    json_decref(run.counts);
    suf_store_close(&st);
    suf_config_release(&cfg);
    return code;
}
