/*
 * config.c: the configuration table and its readers (see config.h).
 *
 * One table describes every key.  The INI reader (inih), the environment
 * overrides, the sample written by `suf init` and the man page's key list are
 * all loops over it, so a key added here is documented everywhere at once.
 *
 * inih reads lines into a fixed buffer and silently cuts longer ones; we
 * feed it through our own line reader, which fails on such a line instead,
 * so a long value is an error, never a truncated setting.  A key set twice
 * in one file is an error too: the last value would otherwise win silently.
 *
 * base_url is checked with libcurl's own URL parser, so the host the rule
 * looks at is the host curl will connect to (see suf_config_check_base_url).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ini.h>

#include "base/amount.h"
#include "base/config.h"
#include "base/log.h"
#include "base/utf8.h"
#include "base/util.h"
#include "base/version.h"
#include "base/banned.h"

/* T_URL and T_UMASK are strings checked before they are kept. */
enum key_type { T_STR, T_INT, T_BOOL, T_RATIO, T_MONEY, T_CODES, T_URL, T_UMASK };

struct key {
    const char *section;
    const char *name;
    enum key_type type;
    size_t offset;
    const char *def;
    int64_t min, max; /* for T_INT */
    const char *help;
};

#define F(field) offsetof(struct suf_config, field)
#define BIG INT64_C(1000000000000)

static const struct key keys[] = {
    {"general", "database", T_STR, F(database), "/var/lib/suf/suf.db", 0, 0,
     "SQLite database file; the lock is <database>.lock next to it"},
    {"general", "reports_dir", T_STR, F(reports_dir), "/var/lib/suf/reports", 0, 0,
     "where the XLSX workbooks are written"},
    {"general", "outbox_dir", T_STR, F(outbox_dir), "/var/lib/suf/outbox", 0, 0,
     "where --dry-run writes the requests it would send (JSONL)"},
    {"general", "input_timezone", T_STR, F(input_timezone), "UTC", 0, 0,
     "zone for input times without one: UTC, +05:30 or an IANA name"},
    {"general", "default_country_code", T_STR, F(default_country_code), "", 0, 0,
     "calling code for phones without one (empty: such phones are rejected)"},
    {"general", "max_reject_ratio", T_RATIO, F(max_reject_ratio), "0.01", 0, 0,
     "share of a file's rows that may be rejected before the exit status says so"},
    {"general", "umask", T_UMASK, F(umask), "0027", 0, 0,
     "umask for files suf creates, octal 0 to 0777 (database 0600 whatever this says)"},
    {"general", "retention_days", T_INT, F(retention_days), "0", 0, 36500,
     "days `suf run` keeps phones, names and message text; 0 = keep them; else 7 or more"},
    {"inbox", "inbox_deliveries", T_STR, F(inbox_deliveries), "", 0, 0,
     "folder of delivery exports (CSV) that `suf run` imports"},
    {"inbox", "inbox_templates", T_STR, F(inbox_templates), "", 0, 0,
     "folder of template catalog pages (JSON)"},
    {"inbox", "inbox_events", T_STR, F(inbox_events), "", 0, 0,
     "folder of webhook event logs (JSONL)"},
    {"inbox", "inbox_campaigns", T_STR, F(inbox_campaigns), "", 0, 0,
     "folder of campaign settings (CSV)"},
    {"inbox", "inbox_rates", T_STR, F(inbox_rates), "", 0, 0,
     "folder of rate cards (CSV, named <CUR>_<YYYY-MM-DD>.csv)"},
    {"inbox", "inbox_billing", T_STR, F(inbox_billing), "", 0, 0,
     "folder of Meta's pricing_analytics responses (JSON): what Meta billed"},
    {"inbox", "inbox_settle_seconds", T_INT, F(inbox_settle_seconds), "5", 0, 86400,
     "seconds a file in a folder must sit unmodified (machine clock, not --now) before it is "
     "imported; event logs are exempt"},
    {"api", "base_url", T_URL, F(base_url), "https://graph.facebook.com", 0, 0,
     "Cloud API base URL: https, or plain http to 127.0.0.0/8, [::1] or localhost"},
    {"api", "api_version", T_STR, F(api_version), "v23.0", 0, 0, "Graph API version"},
    {"api", "phone_number_id", T_STR, F(phone_number_id), "", 0, 0,
     "the business phone number id that sends"},
    {"api", "waba_id", T_STR, F(waba_id), "", 0, 0,
     "the WhatsApp Business Account id (digits): `suf run` and `import templates --from-api` "
     "read its template catalog; empty = the catalog comes from inbox_templates only"},
    {"api", "token_file", T_STR, F(token_file), "", 0, 0,
     "file holding the access token (mode 0600); SUF_ACCESS_TOKEN wins"},
    {"api", "throughput", T_INT, F(throughput), "80", 0, 1000,
     "messages per second (Meta: 80 by default, 1000 upgraded); 0 = no limit"},
    {"api", "graph_rate", T_INT, F(graph_rate), "5", 0, 1000,
     "Graph management calls (catalog pages) per second; 0 = no limit"},
    {"api", "page_size", T_INT, F(page_size), "100", 1, 1000,
     "templates asked per catalog page (the server may send fewer)"},
    {"api", "billing_days", T_INT, F(billing_days), "0", 0, 366,
     "days of what Meta billed `suf run` fetches (pricing_analytics, needs waba_id and "
     "inbox_billing); 0 = off: each fetch costs API calls, run `suf import billing --from-api` "
     "on demand"},
    {"api", "concurrency", T_INT, F(concurrency), "16", 1, 256, "requests in flight at once"},
    {"api", "connect_timeout_ms", T_INT, F(connect_timeout_ms), "5000", 100, 600000,
     "connect timeout"},
    {"api", "request_timeout_ms", T_INT, F(request_timeout_ms), "30000", 100, 600000,
     "whole-request timeout"},
    {"api", "retry_budget", T_INT, F(retry_budget), "2000", 0, BIG,
     "retries allowed per run, all messages together"},
    {"api", "max_tries", T_INT, F(max_tries), "5", 1, 100,
     "tries per message per run before it waits for the next run"},
    {"api", "backoff_base_ms", T_INT, F(backoff_base_ms), "500", 1, 600000,
     "first retry delay (doubles, with jitter)"},
    {"api", "backoff_max_ms", T_INT, F(backoff_max_ms), "30000", 1, 3600000,
     "longest retry delay"},
    {"api", "unknown_resend_after_hours", T_INT, F(unknown_resend_after_hours), "24", 1, 720,
     "a send left unknown by a dead run is sent again after this, if no webhook resolved it"},
    {"plan", "max_auto_retries", T_INT, F(max_auto_retries), "3", 0, 10,
     "the broadcast's auto-retries (campaign settings override)"},
    {"plan", "retry_interval_hours", T_INT, F(retry_interval_hours), "24", 0, 720,
     "hours between auto-retries (campaign settings override)"},
    {"plan", "grace_hours", T_INT, F(grace_hours), "6", 0, 720,
     "extra wait after the last retry was due"},
    {"plan", "fallback", T_BOOL, F(fallback), "off", 0, 0,
     "fallback for campaigns without a setting; on = a paid utility message per failed "
     "recipient of each"},
    {"plan", "eligible_error_codes", T_CODES, F(eligible_error_codes),
     "131049,130472,131000,131016", 0, 0, "error codes that qualify for a fallback"},
    {"plan", "treat_131026_as_capping", T_BOOL, F(treat_131026_as_capping), "off", 0, 0,
     "old exports reported frequency capping as 131026"},
    {"utility", "utility_template", T_STR, F(utility_template), "fallback_permission", 0, 0,
     "the UTILITY template that asks permission (campaign settings override)"},
    {"utility", "utility_language", T_STR, F(utility_language), "en_US", 0, 0,
     "its language (campaign settings override)"},
    {"utility", "utility_params", T_STR, F(utility_params), "campaign_name", 0, 0,
     "its body parameters in order: campaign_name, customer_name or text:LITERAL"},
    {"utility", "utility_no_button", T_BOOL, F(utility_no_button), "on", 0, 0,
     "the template has a second quick reply meaning no"},
    {"utility", "permission_body", T_STR, F(permission_body),
     "You missed a message from {{1}}. Would you like to see it?", 0, 0,
     "body of a permission template `suf templates ensure-permission` creates: {{1}}, {{2}}... "
     "(one per utility_params source), none first or last or next to another; 1024 characters "
     "at most"},
    {"utility", "permission_example", T_STR, F(permission_example), "Winter sale", 0, 0,
     "an example value for each of the body's variables, in order, separated by |"},
    {"utility", "permission_yes", T_STR, F(permission_yes), "Yes, show me", 0, 0,
     "its quick reply meaning yes (25 characters at most)"},
    {"utility", "permission_no", T_STR, F(permission_no), "No thanks", 0, 0,
     "its quick reply meaning no, when utility_no_button is on (25 characters at most)"},
    {"utility", "max_utility_per_run", T_INT, F(max_utility_per_run), "0", 0, BIG,
     "utility messages per run at most; 0 = no cap"},
    {"utility", "max_utility_cost_per_run", T_MONEY, F(max_utility_cost_per_run), "0", 0, 0,
     "estimated utility cost per run at most, in `currency`; 0 = no cap"},
    {"consent", "consent_wait_hours", T_INT, F(consent_wait_hours), "72", 1, 720,
     "how long after delivery a tap still counts as consent"},
    {"consent", "window_margin_minutes", T_INT, F(window_margin_minutes), "30", 0, 720,
     "safety margin before the 24-hour window closes"},
    {"consent", "consent_keywords", T_STR, F(consent_keywords), "", 0, 0,
     "typed replies that count as consent (comma list); empty = taps only"},
    {"consent", "stop_keywords", T_STR, F(stop_keywords), "STOP,UNSUBSCRIBE", 0, 0,
     "typed replies that opt the phone out (comma list)"},
    {"consent", "list_button_label", T_STR, F(list_button_label), "See options", 0, 0,
     "the button of an interactive list (S4, S8)"},
    {"billing", "currency", T_STR, F(currency), "USD", 0, 0, "the rate card's currency"},
    {"billing", "utility_billed_as", T_STR, F(utility_billed_as), "utility", 0, 0,
     "category a permission message is billed as (utility, marketing, service)"},
    {"billing", "session_billed_as", T_STR, F(session_billed_as), "marketing", 0, 0,
     "category a converted session message is billed as (marketing, utility, service)"},
    {"billing", "session_billing", T_STR, F(session_billing), "per_conversion", 0, 0,
     "per_conversion (once, and only when the fallback converts) or per_message (each "
     "delivered part of S8 or a split body)"},
    {"report", "mask_phones", T_BOOL, F(mask_phones), "on", 0, 0,
     "mask phones in workbooks"},
    {"report", "mask_keep_first", T_INT, F(mask_keep_first), "2", 0, 15,
     "digits kept at the start of a masked phone"},
    {"report", "mask_keep_last", T_INT, F(mask_keep_last), "4", 0, 15,
     "digits kept at the end of a masked phone"},
    {"report", "csv_export", T_BOOL, F(csv_export), "off", 0, 0,
     "also write each workbook's tables as CSV files, for BI tools (suf report --csv)"},
    {"report", "meta_diff_threshold", T_RATIO, F(meta_diff_threshold), "0.02", 0, 0,
     "Meta billed vs estimate: a difference is flagged above this share of Meta's figure"},
    {"report", "meta_diff_min", T_MONEY, F(meta_diff_min), "0.01", 0, 0,
     "... and a cost difference only above this amount, in `currency`"},
    {"report", "meta_phone_number", T_STR, F(meta_phone_number), "", 0, 0,
     "the sending number's digits as Meta's billing shows them; its other numbers' traffic "
     "is then left out (empty: every number of the account is compared)"},
    {"receive", "verify_token_file", T_STR, F(verify_token_file), "", 0, 0,
     "file with the webhook verify token; SUF_VERIFY_TOKEN wins"},
    {"receive", "app_secret_file", T_STR, F(app_secret_file), "", 0, 0,
     "file with the app secret for X-Hub-Signature-256; SUF_APP_SECRET wins"},
    {"receive", "receive_inbox", T_STR, F(receive_inbox), "", 0, 0,
     "folder the receiver appends to (default: inbox_events)"},
    {"receive", "max_body_bytes", T_INT, F(max_body_bytes), "1048576", 1024, 67108864,
     "largest webhook body accepted"},
    {"receive", "rotate_bytes", T_INT, F(rotate_bytes), "67108864", 4096, BIG,
     "start a new events file past this size"},
    {"receive", "rotate_seconds", T_INT, F(rotate_seconds), "3600", 1, 86400 * 31,
     "start a new events file past this age"},
    {"receive", "max_connections", T_INT, F(max_connections), "256", 1, 65536,
     "connections served at once"},
    {"receive", "connection_timeout_s", T_INT, F(connection_timeout_s), "10", 1, 3600,
     "idle or slow connections are closed after this"},
    {"receive", "on_consent_debounce_ms", T_INT, F(on_consent_debounce_ms), "2000", 0, 3600000,
     "a burst of consents within this starts one --on-consent run"},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const struct key *find_key(const char *section, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(keys[i].name, name) && (!section || !strcmp(keys[i].section, section)))
            return &keys[i];
    return NULL;
}

static int parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"on", "true", "yes", "1"};
    static const char *const no[] = {"off", "false", "no", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (suf_streq_fold(v, yes[i])) {
            *out = true;
            return 0;
        }
        if (suf_streq_fold(v, no[i])) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static int parse_codes(struct suf_config *cfg, const char *v)
{
    char *copy = suf_xstrdup(v), *save = NULL, *tok;
    int n = 0, rc = 0;

    for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        int64_t code;
        if (n == SUF_MAX_CODES || suf_parse_i64(tok, &code) || code <= 0) {
            rc = -1;
            break;
        }
        cfg->eligible_codes[n++] = code;
    }
    free(copy);
    if (!rc)
        cfg->neligible_codes = n;
    return rc;
}

/* A umask in octal digits, 0 to 0777, a leading 0 allowed.  Read later
 * with strtoul, "abc", "8" and "999" would each become a umask of 0. */
static int check_umask(const char *v)
{
    unsigned mask = 0;

    if (!*v)
        return -1;
    for (; *v; v++) {
        if (*v < '0' || *v > '7')
            return -1;
        mask = mask * 8 + (unsigned)(*v - '0');
        if (mask > 0777)
            return -1;
    }
    return 0;
}

static bool is_string(enum key_type type)
{
    return type == T_STR || type == T_CODES || type == T_URL || type == T_UMASK;
}

static int store_string(char **slot, const char *value, const char **why)
{
    if (strlen(value) > 4096) {
        *why = "value is longer than 4096 bytes";
        return -1;
    }
    free(*slot);
    *slot = suf_xstrdup(value);
    return 0;
}

static int set_key(struct suf_config *cfg, const struct key *k, const char *value,
                   const char **why)
{
    char *base = (char *)cfg;

    switch (k->type) {
    case T_STR:
        return store_string((char **)(void *)(base + k->offset), value, why);
    case T_URL:
        if (suf_config_check_base_url(value, why))
            return -1;
        return store_string((char **)(void *)(base + k->offset), value, why);
    case T_UMASK:
        if (check_umask(value)) {
            *why = "not an octal umask from 0 to 0777, such as 0027";
            return -1;
        }
        return store_string((char **)(void *)(base + k->offset), value, why);
    case T_INT: {
        int64_t v;
        if (suf_parse_i64(value, &v)) {
            *why = "not a whole number";
            return -1;
        }
        if (v < k->min || v > k->max) {
            *why = "out of range";
            return -1;
        }
        *(int64_t *)(void *)(base + k->offset) = v;
        return 0;
    }
    case T_BOOL:
        if (parse_bool(value, (bool *)(void *)(base + k->offset))) {
            *why = "not on/off, true/false, yes/no or 1/0";
            return -1;
        }
        return 0;
    case T_RATIO: {
        char *end;
        double v;
        errno = 0;
        v = strtod(value, &end);
        /* strtod reads "nan" and "inf"; NaN fails every comparison, so
         * the range test alone would let it through. */
        if (errno || end == value || *suf_trim(end) || !isfinite(v) || v < 0 || v > 1) {
            *why = "not a ratio between 0 and 1";
            return -1;
        }
        *(double *)(void *)(base + k->offset) = v;
        return 0;
    }
    case T_MONEY:
        if (suf_amount_parse(value, (int64_t *)(void *)(base + k->offset))) {
            *why = "not an amount such as 12.50";
            return -1;
        }
        return 0;
    case T_CODES: {
        char **slot = (char **)(void *)(base + k->offset);
        if (parse_codes(cfg, value)) {
            *why = "not a comma list of error codes";
            return -1;
        }
        free(*slot);
        *slot = suf_xstrdup(value);
        return 0;
    }
    }
    *why = "internal: unknown key type";
    return -1;
}

void suf_config_init(struct suf_config *cfg)
{
    const char *why;

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < NKEYS; i++)
        if (set_key(cfg, &keys[i], keys[i].def, &why))
            abort(); /* a bad default is a bug caught by every test */
}

void suf_config_release(struct suf_config *cfg)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (is_string(keys[i].type)) {
            char **slot = (char **)(void *)((char *)cfg + keys[i].offset);
            free(*slot);
            *slot = NULL;
        }
    }
    free(cfg->source);
    cfg->source = NULL;
}

int suf_config_set(struct suf_config *cfg, const char *key, const char *value,
                   struct suf_err *err)
{
    const struct key *k = find_key(NULL, key);
    const char *why = NULL;

    if (!k)
        return suf_err_set(err, SUF_ERR_CONFIG, "unknown config key '%s'", key);
    if (set_key(cfg, k, value, &why))
        return suf_err_set(err, SUF_ERR_CONFIG, "config key '%s': %s", key, why);
    return SUF_OK;
}

/* The state of one INI parse. */
struct ini_ctx {
    struct suf_config *cfg;
    const char *name;
    struct suf_err *err;
    int failed;
    /* line reader state */
    FILE *file;
    const char *text;
    long lineno;
    int too_long;
    int has_nul;
    int max_line;
    int indented;       /* the line just read starts with a blank */
    long set_on[NKEYS]; /* line each key was set on in this file, 0: not yet */
};

static int on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
    struct ini_ctx *ctx = user;
    const struct key *k;
    const char *why = NULL;

    if (ctx->failed)
        return 0;
    k = find_key(section, name);
    if (!k) {
        if (find_key(NULL, name))
            suf_err_at(ctx->err, SUF_ERR_CONFIG, ctx->name, ctx->lineno,
                       "key '%s' belongs in another section than [%s]", name, section);
        else
            suf_err_at(ctx->err, SUF_ERR_CONFIG, ctx->name, ctx->lineno,
                       "unknown key '%s' in [%s]", name, section);
        ctx->failed = 1;
        return 0;
    }
    if (ctx->set_on[k - keys]) {
        /* inih hands an indented line on as more of the previous key's
         * value (multi-line values); either way the last value would win. */
        if (ctx->indented)
            suf_err_at(ctx->err, SUF_ERR_CONFIG, ctx->name, ctx->lineno,
                       "key '%s' continues on an indented line; give a value on one line",
                       name);
        else
            suf_err_at(ctx->err, SUF_ERR_CONFIG, ctx->name, ctx->lineno,
                       "key '%s' is set twice in [%s] (first on line %ld)", name, section,
                       ctx->set_on[k - keys]);
        ctx->failed = 1;
        return 0;
    }
    ctx->set_on[k - keys] = ctx->lineno;
    if (set_key(ctx->cfg, k, value, &why)) {
        suf_err_at(ctx->err, SUF_ERR_CONFIG, ctx->name, ctx->lineno, "key '%s': %s", name, why);
        ctx->failed = 1;
        return 0;
    }
    return 1;
}

/*
 * An ini_reader, like fgets, that refuses lines inih would cut: it reports
 * end of input and flags the context instead of returning a partial line.
 */
static char *read_ini_line(char *str, int num, void *stream)
{
    struct ini_ctx *ctx = stream;
    size_t len = 0, cap;

    if (ctx->too_long || ctx->has_nul)
        return NULL;
    ctx->max_line = num - 2;
    cap = (size_t)num - 1;
    if (ctx->file) {
        /* Byte by byte, not fgets: a NUL inside a line would otherwise cut
         * it silently, and a config file is small. */
        int c = EOF;
        while (len < cap && (c = getc(ctx->file)) != EOF) {
            if (c == '\0') {
                ctx->has_nul = 1;
                return NULL;
            }
            str[len++] = (char)c;
            if (c == '\n')
                break;
        }
        if (len == 0)
            return NULL;
        if (len == cap && str[len - 1] != '\n') {
            c = getc(ctx->file);
            if (c != EOF) {
                ctx->too_long = 1;
                return NULL;
            }
        }
        str[len] = '\0';
    } else {
        const char *nl;
        if (!*ctx->text)
            return NULL;
        nl = strchr(ctx->text, '\n');
        len = nl ? (size_t)(nl - ctx->text + 1) : strlen(ctx->text);
        if (len > cap) {
            ctx->too_long = 1;
            return NULL;
        }
        memcpy(str, ctx->text, len);
        str[len] = '\0';
        ctx->text += len;
    }
    ctx->lineno++;
    ctx->indented = str[0] == ' ' || str[0] == '\t';
    return str;
}

static void apply_env(struct suf_config *cfg, struct suf_err *err, int *rc)
{
    for (size_t i = 0; i < NKEYS && !*rc; i++) {
        char var[96];
        const char *v, *why = NULL;
        size_t j;

        snprintf(var, sizeof(var), "SUF_%s", keys[i].name);
        for (j = 4; var[j]; j++)
            var[j] = (char)toupper((unsigned char)var[j]);
        v = getenv(var);
        if (!v)
            continue;
        if (set_key(cfg, &keys[i], v, &why))
            *rc = suf_err_set(err, SUF_ERR_CONFIG, "environment %s: %s", var, why);
    }
}

/*
 * True when curl's normalised host is this machine: 127.0.0.0/8 as a
 * dotted quad, [::1], or "localhost" in any case, which libcurl (7.78 on)
 * answers itself with 127.0.0.1 and ::1, asking no resolver.  curl has
 * already turned 0x7f.1, 0177.0.0.1 and 2130706433 into 127.0.0.1, and
 * [0:0:0:0:0:0:0:1] into [::1].  Anything else is refused, as it cannot be
 * proven local: "localhost." goes to the system resolver, a name that
 * contains 127.0.0.1 is a name, and [::ffff:127.0.0.1] is left out to keep
 * the rule short.
 */
static bool host_is_loopback(const char *host)
{
    static const unsigned char v6_loopback[16] = {[15] = 1};
    unsigned char addr[16];
    char inner[INET6_ADDRSTRLEN];
    size_t n = strlen(host);

    if (suf_streq_fold(host, "localhost"))
        return true;
    if (inet_pton(AF_INET, host, addr) == 1)
        return addr[0] == 127;
    if (n < 3 || n - 2 >= sizeof(inner) || host[0] != '[' || host[n - 1] != ']')
        return false;
    memcpy(inner, host + 1, n - 2);
    inner[n - 2] = '\0';
    return inet_pton(AF_INET6, inner, addr) == 1 && !memcmp(addr, v6_loopback, 16);
}

/* Gets a part of the URL as a new string the caller frees with curl_free,
 * or NULL when the URL has none. */
static char *url_get(CURLU *u, CURLUPart part)
{
    char *value = NULL;

    if (curl_url_get(u, part, &value, 0) != CURLUE_OK) {
        curl_free(value);
        return NULL;
    }
    return value;
}

/* True when the parsed URL has `part` (a user name, a zone id, ...). */
static bool url_has(CURLU *u, CURLUPart part)
{
    char *value = url_get(u, part);
    bool has = value != NULL;

    curl_free(value);
    return has;
}

/* http://localhost:1@192.0.2.2 goes to 192.0.2.2 as user "localhost", and
 * even an empty user (http://@host) is user info curl would send. */
static bool has_user_info(CURLU *u)
{
    return url_has(u, CURLUPART_USER) || url_has(u, CURLUPART_PASSWORD) ||
           url_has(u, CURLUPART_OPTIONS);
}

int suf_config_check_base_url(const char *url, const char **why)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int rc = SUF_ERR_CONFIG;
    CURLUcode parsed;

    *why = "out of memory checking the URL";
    if (!u)
        return SUF_ERR_CONFIG;
    /* No CURLU_GUESS_SCHEME: a URL must say its scheme.  An unknown scheme
     * parses, so that it is refused for its scheme, not as a non-URL. */
    parsed = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
    if (parsed == CURLUE_OUT_OF_MEMORY)
        goto done;
    if (parsed != CURLUE_OK) {
        *why = "not a URL such as https://graph.facebook.com";
        goto done;
    }
    if (has_user_info(u)) {
        *why = "has a user name or password before '@' (not allowed)";
        goto done;
    }
    /* The API path is appended to base_url; after a '?' or '#' it would be
     * a query or fragment, not a path.  curl reports an empty fragment as
     * none, so look at the text. */
    if (strpbrk(url, "?#")) {
        *why = "has a query or fragment ('?' or '#'); the API path is appended to it";
        goto done;
    }
    scheme = url_get(u, CURLUPART_SCHEME); /* lower case, whatever was written */
    if (!scheme || (strcmp(scheme, "https") && strcmp(scheme, "http"))) {
        *why = "scheme is not https (plain http only to a loopback host)";
        goto done;
    }
    host = url_get(u, CURLUPART_HOST);
    if (!host) {
        *why = "not a URL such as https://graph.facebook.com";
        goto done;
    }
    if (!strcmp(scheme, "https")) {
        *why = NULL;
        rc = SUF_OK;
        goto done;
    }
    if (!host_is_loopback(host) || url_has(u, CURLUPART_ZONEID)) {
        *why = "plain http to a host not 127.0.0.0/8, [::1] or localhost; use https";
        goto done;
    }
    *why = NULL;
    rc = SUF_OK;
done:
    curl_free(host);
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
}

/* The number of non-empty items of the `sep`-separated `list`. */
static int count_items(const char *list, const char *sep)
{
    char *copy = suf_xstrdup(list), *save = NULL;
    int n = 0;

    for (char *tok = strtok_r(copy, sep, &save); tok; tok = strtok_r(NULL, sep, &save))
        n += *suf_trim(tok) != '\0';
    free(copy);
    return n;
}

/*
 * The permission template's body as Meta's review takes it: variables
 * {{1}}..{{n}}, each of 1..n at least once; none at the very start or end,
 * no two with only blanks between; 1024 characters at most.  Sets `*vars`
 * to n.  NULL when it is fine, else why not.  (That n matches the
 * utility_params sources is for the command that creates the template to
 * check: a config that never creates one must not fail over it.)
 */
static const char *body_problem(const char *body, int *vars)
{
    const char *p = body, *last_end = NULL;
    bool used[100] = {false};
    int most = 0;

    if (suf_utf8_chars(body) > 1024)
        return "is longer than 1024 characters";
    while ((p = strstr(p, "{{")) != NULL) {
        char *end;
        long v = strtol(p + 2, &end, 10);

        if (!isdigit((unsigned char)p[2]) || strncmp(end, "}}", 2) || v < 1 || v > 99)
            return "has a variable other than {{1}} to {{99}}";
        if (last_end && p == last_end + strspn(last_end, " \t\n"))
            return "has two variables next to each other";
        if (p == body + strspn(body, " \t\n"))
            return "starts with a variable";
        used[v] = true;
        most = (int)v > most ? (int)v : most;
        p = last_end = end + 2;
    }
    if (last_end && !last_end[strspn(last_end, " \t\n")])
        return "ends with a variable";
    *vars = most;
    for (int i = 1; i <= most; i++)
        if (!used[i])
            return "skips a variable number";
    return NULL;
}

static int check_permission(const struct suf_config *cfg, struct suf_err *err)
{
    int want = 0;
    const char *why = body_problem(cfg->permission_body, &want);

    if (why)
        return suf_err_set(err, SUF_ERR_CONFIG, "permission_body '%s' %s", cfg->permission_body,
                           why);
    if (count_items(cfg->permission_example, "|") != want)
        return suf_err_set(err, SUF_ERR_CONFIG,
                           "permission_example '%s' does not give one value per variable "
                           "(%d, separated by |)",
                           cfg->permission_example, want);
    if (!*cfg->permission_yes || suf_utf8_chars(cfg->permission_yes) > 25)
        return suf_err_set(err, SUF_ERR_CONFIG,
                           "permission_yes '%s' is not 1 to 25 characters", cfg->permission_yes);
    if (!*cfg->permission_no || suf_utf8_chars(cfg->permission_no) > 25)
        return suf_err_set(err, SUF_ERR_CONFIG, "permission_no '%s' is not 1 to 25 characters",
                           cfg->permission_no);
    return SUF_OK;
}

static int validate(struct suf_config *cfg, struct suf_err *err)
{
    static const char *const cats[] = {"utility", "marketing", "service", NULL};
    int ok_u = 0, ok_s = 0;

    for (int i = 0; cats[i]; i++) {
        ok_u |= !strcmp(cfg->utility_billed_as, cats[i]);
        ok_s |= !strcmp(cfg->session_billed_as, cats[i]);
    }
    if (!ok_u)
        return suf_err_set(err, SUF_ERR_CONFIG,
                           "utility_billed_as '%s' is not utility, marketing or service",
                           cfg->utility_billed_as);
    if (!ok_s)
        return suf_err_set(err, SUF_ERR_CONFIG,
                           "session_billed_as '%s' is not marketing, utility or service",
                           cfg->session_billed_as);
    if (strcmp(cfg->session_billing, "per_conversion") && strcmp(cfg->session_billing, "per_message"))
        return suf_err_set(err, SUF_ERR_CONFIG,
                           "session_billing '%s' is not per_conversion or per_message",
                           cfg->session_billing);
    if (check_permission(cfg, err))
        return SUF_ERR_CONFIG;
    if (*cfg->waba_id && strspn(cfg->waba_id, "0123456789") != strlen(cfg->waba_id))
        return suf_err_set(err, SUF_ERR_CONFIG,
                           "waba_id '%s' is not a WhatsApp Business Account id (digits)",
                           cfg->waba_id);
    if (*cfg->default_country_code) {
        int64_t cc;
        if (suf_parse_i64(cfg->default_country_code, &cc) || cc < 1 || cc > 999)
            return suf_err_set(err, SUF_ERR_CONFIG,
                               "default_country_code '%s' is not a calling code such as 91",
                               cfg->default_country_code);
    }
    return SUF_OK;
}

/* Keys that name a file or folder.  A relative one in a config file is
 * taken from the file's folder (see resolve_paths). */
static const char *const path_keys[] = {
    "database",        "reports_dir",       "outbox_dir",      "inbox_deliveries",
    "inbox_templates", "inbox_events",      "inbox_campaigns", "inbox_rates",
    "token_file",      "verify_token_file", "app_secret_file", "receive_inbox",
    "inbox_billing",
};

/*
 * Makes each relative path key set in the config file `name` relative to
 * that file's folder, made absolute: a scheduler starts suf in any folder,
 * and "suf.db" in /etc/suf/suf.conf must not mean a new file wherever that
 * is.  Values from the environment or the command line stay as given, as a
 * shell user means them.  Keys left at their defaults are absolute already.
 */
static int resolve_paths(struct suf_config *cfg, const long *set_on, const char *name,
                         struct suf_err *err)
{
    char *copy = suf_xstrdup(name), *slash = strrchr(copy, '/'), *dir;
    int rc = SUF_OK;

    if (slash)
        *(slash == copy ? slash + 1 : slash) = '\0';
    dir = realpath(slash ? copy : ".", NULL);
    if (!dir)
        rc = suf_err_at(err, SUF_ERR_CONFIG, name, 0, "cannot resolve its folder: %s",
                        strerror(errno));
    for (size_t i = 0; i < sizeof(path_keys) / sizeof(path_keys[0]) && !rc; i++) {
        const struct key *k = find_key(NULL, path_keys[i]);
        char **slot = (char **)((char *)cfg + k->offset);

        if (!set_on[k - keys] || !**slot || **slot == '/')
            continue;
        char *abs = suf_xasprintf("%s%s%s", dir, strcmp(dir, "/") ? "/" : "", *slot);
        free(*slot);
        *slot = abs;
    }
    free(dir);
    free(copy);
    return rc;
}

static int load(struct suf_config *cfg, FILE *f, const char *text, const char *name,
                struct suf_err *err)
{
    struct ini_ctx ctx = {.cfg = cfg, .name = name, .err = err, .file = f, .text = text};
    int rc = ini_parse_stream(read_ini_line, &ctx, on_ini_entry, &ctx);

    if (ctx.too_long)
        return suf_err_at(err, SUF_ERR_CONFIG, name, ctx.lineno + 1,
                          "line is too long (the limit is %d bytes)", ctx.max_line);
    if (ctx.has_nul)
        return suf_err_at(err, SUF_ERR_CONFIG, name, ctx.lineno + 1,
                          "line contains a NUL byte");
    if (ctx.failed)
        return SUF_ERR_CONFIG;
    if (rc > 0)
        return suf_err_at(err, SUF_ERR_CONFIG, name, rc, "not a section, key = value or comment");
    if (rc < 0)
        return suf_err_at(err, SUF_ERR_CONFIG, name, 0, "cannot parse");
    return f ? resolve_paths(cfg, ctx.set_on, name, err) : SUF_OK;
}

static int finish(struct suf_config *cfg, struct suf_err *err)
{
    int rc = SUF_OK;

    apply_env(cfg, err, &rc);
    if (rc)
        return rc;
    return validate(cfg, err);
}

int suf_config_load_string(struct suf_config *cfg, const char *text, const char *name,
                           struct suf_err *err)
{
    int rc = load(cfg, NULL, text, name, err);

    return rc ? rc : finish(cfg, err);
}

int suf_config_load(struct suf_config *cfg, const char *path, struct suf_err *err)
{
    int explicit = path != NULL;
    FILE *f;
    int rc;

    if (!path) {
        path = getenv("SUF_CONFIG");
        explicit = path && *path;
        if (!explicit)
            path = SUF_DEFAULT_CONFIG;
    }
    f = fopen(path, "r");
    if (!f) {
        if (!explicit && errno == ENOENT)
            return finish(cfg, err);
        return suf_err_at(err, SUF_ERR_CONFIG, path, 0, "cannot read: %s", strerror(errno));
    }
    rc = load(cfg, f, NULL, path, err);
    fclose(f);
    if (rc)
        return rc;
    free(cfg->source);
    cfg->source = suf_xstrdup(path);
    return finish(cfg, err);
}

bool suf_config_code_eligible(const struct suf_config *cfg, int64_t code)
{
    for (int i = 0; i < cfg->neligible_codes; i++)
        if (cfg->eligible_codes[i] == code)
            return true;
    return false;
}

void suf_config_write_sample(FILE *out)
{
    const char *section = "";

    fprintf(out, "# suf configuration.\n"
                 "# Every key is shown with its default, commented out.  Environment\n"
                 "# variables SUF_<KEY> (SUF_THROUGHPUT, ...) override this file, and\n"
                 "# command-line flags override both.  Secrets never go here: the access\n"
                 "# token comes from SUF_ACCESS_TOKEN or token_file (mode 0600).\n");
    fputs("# A relative path here (database, folders, secret files) is taken from\n"
          "# this file's folder, never the folder suf is started in.\n",
          out);
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(section, keys[i].section)) {
            section = keys[i].section;
            fprintf(out, "\n[%s]\n", section);
        }
        fprintf(out, "# %s\n#%s = %s\n", keys[i].help, keys[i].name, keys[i].def);
    }
}

int suf_config_secret(const char *env, const char *path, char **out, struct suf_err *err)
{
    const char *v = env ? getenv(env) : NULL;
    const char *creds = getenv("CREDENTIALS_DIRECTORY");
    struct stat st;
    char line[4096];
    FILE *f;
    size_t len;

    if (v && *v) {
        *out = suf_xstrdup(v);
        suf_log_secret(*out);
        return SUF_OK;
    }
    if (!path || !*path)
        return suf_err_set(err, SUF_ERR_NOTFOUND, "no secret: set %s or its file",
                           env ? env : "it");
    f = fopen(path, "r");
    /* A file that is not there is missing input (66); 77 is kept for
     * permissions: a file suf may not read, or one others may. */
    if (!f)
        return suf_err_at(err, errno == ENOENT ? SUF_ERR_NOINPUT : SUF_ERR_PERM, path, 0,
                          "cannot read secret file: %s", strerror(errno));
    if (fstat(fileno(f), &st)) {
        fclose(f);
        return suf_err_at(err, SUF_ERR_IO, path, 0, "cannot stat: %s", strerror(errno));
    }
    if ((st.st_mode & 077) &&
        !(creds && *creds && !strncmp(path, creds, strlen(creds)) && path[strlen(creds)] == '/')) {
        fclose(f);
        return suf_err_at(err, SUF_ERR_PERM, path, 0,
                          "secret file is readable by group or others (mode %03o); chmod 600 it",
                          (unsigned)(st.st_mode & 0777));
    }
    if (!fgets(line, sizeof(line), f)) {
        fclose(f);
        return suf_err_at(err, SUF_ERR_INPUT, path, 0, "secret file is empty");
    }
    fclose(f);
    len = strcspn(line, "\r\n");
    line[len] = '\0';
    if (!len)
        return suf_err_at(err, SUF_ERR_INPUT, path, 0, "secret file is empty");
    *out = suf_xstrdup(line);
    explicit_bzero(line, sizeof(line));
    suf_log_secret(*out);
    return SUF_OK;
}
