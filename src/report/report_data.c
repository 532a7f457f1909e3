/*
 * report_data.c: reading one campaign out of the store and costing it.
 *
 * Every figure of a workbook comes from here, and nothing here writes a
 * cell.  The store is read in a few sequential scans (delivered broadcast
 * attempts, recipients, input files, then fallbacks joined with their sends
 * in fallback-id order), each message is costed once with suf_money_cost(),
 * and the sums are kept per scenario, and per market, card, view and
 * category as rows of rates applied.  Fallbacks are handed
 * to a callback one at a time, already costed, so the Fallbacks sheet
 * streams and memory stays flat.
 *
 * The portfolio's "Meta billed vs estimate" is read here too: Meta's
 * buckets (meta_billing), and every billed message of suf's placed in the
 * bucket that holds its delivery, costed by the same code as the campaigns'
 * sheets.  Meta's countries reach suf's markets through their calling code
 * (money_builtin.h) and the market map on the bucket's day.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "money/money_builtin.h"
#include "plan/plan.h"
#include "report/report_data.h"
#include "store/fsm.h"
#include "store/store.h"
#include "base/banned.h"

/* Plan's exclusion reasons, without SUF_REASON_NONE: each has a row on the
 * Exclusions sheet, counted or not. */
#define REP_NREASONS (SUF_REASON_COUNT - 1)

/* The market map in use, as the Inputs sheet names it: built in, with its
 * version, or the imported file with its SHA-256. */
static char *describe_map(const struct suf_money *money)
{
    struct suf_money_map_source src;

    suf_money_map_source(money, &src);
    if (src.builtin)
        return suf_xasprintf("built-in (fixtures/markets.csv), SHA-256 %s", src.sha256);
    if (*src.path)
        return suf_xasprintf("imported: %s, SHA-256 %s", src.path, src.sha256);
    return suf_xstrdup("imported (its file is not on record)");
}

int rep_ctx_init(struct rep_ctx *ctx, struct suf_run *run, struct suf_err *err)
{
    int rc;

    memset(ctx, 0, sizeof(*ctx));
    ctx->run = run;
    /* The clock's base, not suf_run_now(): the as-of time must not drift
     * with the seconds the run has taken, or two runs with the same --now
     * would differ. */
    ctx->as_of = run->clock.base;
    ctx->as_of_day = suf_day_of(ctx->as_of);
    suf_day_format(ctx->as_of_day, ctx->as_of_date, sizeof(ctx->as_of_date));
    suf_billing_from_config(&ctx->bill, run->cfg);
    if ((rc = suf_money_load(&ctx->money, run->store, run->cfg->currency, err)))
        return rc;
    ctx->market_map = describe_map(ctx->money);
    return SUF_OK;
}

void rep_ctx_release(struct rep_ctx *ctx)
{
    suf_money_free(ctx->money);
    ctx->money = NULL;
    free(ctx->market_map);
    ctx->market_map = NULL;
}

void rep_campaign_init(struct rep_campaign *c, const struct rep_ctx *ctx, const char *id)
{
    /* One slot per market (and none), card (and none), view and kind. */
    size_t nslots = ((size_t)suf_money_nmarkets(ctx->money) + 1) *
                    ((size_t)suf_money_ncards(ctx->money) + 1) * 2 * 3;

    memset(c, 0, sizeof(*c));
    c->id = suf_xstrdup(id);
    c->markets = suf_xcalloc((size_t)suf_money_nmarkets(ctx->money) + 1, sizeof(*c->markets));
    c->rate_slots = suf_xmalloc(nslots * sizeof(*c->rate_slots));
    for (size_t i = 0; i < nslots; i++)
        c->rate_slots[i] = -1;
    c->card_charges = suf_xcalloc((size_t)suf_money_ncards(ctx->money) + 1,
                                  sizeof(*c->card_charges));
    c->reasons = suf_xcalloc(REP_NREASONS, sizeof(*c->reasons));
    for (int i = 0; i < REP_NREASONS; i++)
        c->reasons[i].reason = suf_xstrdup(suf_plan_reason_name((enum suf_reason)(i + 1)));
    c->nreasons = REP_NREASONS;
}

void rep_campaign_trim(struct rep_campaign *c)
{
    for (int i = 0; i < c->nreasons; i++)
        free(c->reasons[i].reason);
    free(c->reasons);
    c->reasons = NULL;
    c->nreasons = 0;
    free(c->markets);
    c->markets = NULL;
    free(c->rates);
    c->rates = NULL;
    c->nrates = c->rates_alloc = 0;
    free(c->rate_slots);
    c->rate_slots = NULL;
    free(c->card_charges);
    c->card_charges = NULL;
    for (int i = 0; i < c->nfiles; i++) {
        free(c->files[i].kind);
        free(c->files[i].path);
        free(c->files[i].sha256);
    }
    free(c->files);
    c->files = NULL;
    c->nfiles = 0;
}

void rep_campaign_release(struct rep_campaign *c)
{
    rep_campaign_trim(c);
    free(c->no_market_example);
    free(c->id);
    free(c->name);
    free(c->relpath);
    memset(c, 0, sizeof(*c));
}

/* The index into c->markets of a market id (-1 is "Unknown", the last). */
static struct rep_market *market_of(const struct rep_ctx *ctx, struct rep_campaign *c, int m)
{
    return &c->markets[m < 0 ? suf_money_nmarkets(ctx->money) : m];
}

/* --- charges ---------------------------------------------------------------- */

/* Adds a charge to an amount: its money when it has a rate, else its count
 * among the unpriced (see report_data.h). */
static void add_charge(struct rep_money *to, const struct suf_charge *ch)
{
    to->charges++;
    if (ch->unpriced) {
        to->unpriced++;
        return;
    }
    to->policy += ch->policy;
    to->meta += ch->meta;
}

/* Counts one message into the row of rates applied that `key` names, making
 * the row when it is new.  The slots index rows by market, card, view and
 * kind, so a million charges cost a few comparisons each. */
static void add_rate(const struct rep_ctx *ctx, struct rep_campaign *c,
                     const struct rep_rate_row *key)
{
    size_t slot = (((size_t)(key->market + 1) * ((size_t)suf_money_ncards(ctx->money) + 1) +
                    (size_t)(key->card + 1)) * 2 + (size_t)key->view) * 3 + (size_t)key->kind;
    struct rep_rate_row *row;

    for (int i = c->rate_slots[slot]; i >= 0; i = c->rates[i].next) {
        row = &c->rates[i];
        if (row->billed_as == key->billed_as && row->unpriced == key->unpriced &&
            row->rate == key->rate) {
            row->messages++;
            return;
        }
    }
    if (c->nrates == c->rates_alloc) {
        c->rates_alloc = c->rates_alloc ? c->rates_alloc * 2 : 32;
        c->rates = suf_xrealloc(c->rates, (size_t)c->rates_alloc * sizeof(*c->rates));
    }
    row = &c->rates[c->nrates];
    *row = *key;
    row->messages = 1;
    row->next = c->rate_slots[slot];
    c->rate_slots[slot] = c->nrates++;
}

/*
 * Counts one costed message: where its price came from, its card, and its
 * rows of rates applied, one per view that bills it.
 *
 * NEEDSWORK: suf_charge has one `unpriced` for both views, so a charge one
 * view could price is unpriced in both here.  Left blank, never wrong.
 */
static void count_charge(const struct rep_ctx *ctx, struct rep_campaign *c,
                         const struct suf_msg *msg, const struct suf_charge *ch)
{
    struct rep_rate_row row;

    if (!ch->billed)
        return;
    if (ch->unpriced)
        c->charges_unpriced++;
    else if (ch->from_webhook)
        c->charges_webhook++;
    else
        c->charges_estimated++;
    if (ch->card >= 0 && !ch->unpriced)
        c->card_charges[ch->card]++;
    memset(&row, 0, sizeof(row));
    row.market = ch->market;
    row.card = ch->card;
    row.kind = msg->kind;
    row.unpriced = ch->unpriced;
    if (ch->policy_billed) {
        row.view = REP_VIEW_POLICY;
        row.billed_as = ch->policy_cat;
        row.rate = ch->unpriced ? 0 : ch->policy;
        add_rate(ctx, c, &row);
    }
    row.view = REP_VIEW_META;
    row.billed_as = ch->meta_cat < 0 ? REP_NOT_BILLABLE : ch->meta_cat;
    row.rate = ch->unpriced ? 0 : ch->meta;
    add_rate(ctx, c, &row);
}

static int cmp_rate_row(const void *a, const void *b)
{
    const struct rep_rate_row *x = a, *y = b;
    /* Market and card indexes are in name and date order; none (-1) last. */
    const int64_t kx[] = {x->market < 0 ? INT32_MAX : x->market,
                          x->card < 0 ? INT32_MAX : x->card, x->view, x->kind, x->billed_as,
                          x->unpriced, x->rate};
    const int64_t ky[] = {y->market < 0 ? INT32_MAX : y->market,
                          y->card < 0 ? INT32_MAX : y->card, y->view, y->kind, y->billed_as,
                          y->unpriced, y->rate};

    for (size_t i = 0; i < sizeof(kx) / sizeof(kx[0]); i++)
        if (kx[i] != ky[i])
            return kx[i] < ky[i] ? -1 : 1;
    return 0;
}

/* The rows of rates applied are complete: sort them, drop their index. */
static void finish_rates(struct rep_campaign *c)
{
    if (c->nrates)
        qsort(c->rates, (size_t)c->nrates, sizeof(*c->rates), cmp_rate_row);
    for (int i = 0; i < c->nrates; i++)
        c->rates[i].next = -1;
    free(c->rate_slots);
    c->rate_slots = NULL;
}

int rep_campaign_exists(struct rep_ctx *ctx, const char *id, bool *yes, struct suf_err *err)
{
    int64_t n = 0;
    int rc = suf_store_scalar(ctx->run->store,
                              "SELECT EXISTS (SELECT 1 FROM attempts WHERE campaign_id = ?1) OR "
                              "EXISTS (SELECT 1 FROM recipients WHERE campaign_id = ?1) OR "
                              "EXISTS (SELECT 1 FROM fallbacks WHERE campaign_id = ?1)",
                              id, &n, err);
    *yes = n != 0;
    return rc;
}

/* The campaigns are looked for in every table that names them.  Each probe
 * is an index seek, so listing campaigns costs nothing however many rows
 * they have. */
int rep_next_campaign(struct rep_ctx *ctx, const char *after, int after_len, char **out,
                      int *out_len, struct suf_err *err)
{
    static const char *const sql[] = {
        "SELECT min(campaign_id) FROM attempts WHERE campaign_id > ?1",
        "SELECT min(campaign_id) FROM recipients WHERE campaign_id > ?1",
        "SELECT min(campaign_id) FROM fallbacks WHERE campaign_id > ?1",
    };
    char *best = NULL;
    int best_len = 0;

    for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
        sqlite3_stmt *s = suf_store_prepare(ctx->run->store, sql[i], err);
        int rc;

        if (!s) {
            free(best);
            return SUF_ERR_DB;
        }
        sqlite3_bind_text(s, 1, after, after_len, SQLITE_TRANSIENT);
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
            const char *v = (const char *)sqlite3_column_text(s, 0);
            int len = sqlite3_column_bytes(s, 0), c;

            c = best ? memcmp(v, best, (size_t)(len < best_len ? len : best_len)) : -1;
            if (!best || c < 0 || (c == 0 && len < best_len)) {
                free(best);
                best = suf_xmalloc((size_t)len + 1);
                memcpy(best, v, (size_t)len);
                best[len] = '\0';
                best_len = len;
            }
        }
        sqlite3_finalize(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            free(best);
            return suf_store_fail(ctx->run->store, err, "campaigns");
        }
    }
    *out = best;
    *out_len = best_len;
    return SUF_OK;
}

static int scan_name(struct rep_ctx *ctx, struct rep_campaign *c, struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(
        ctx->run->store,
        "SELECT COALESCE((SELECT name FROM campaigns WHERE campaign_id = ?1), "
        "(SELECT campaign_name FROM attempts WHERE campaign_id = ?1 AND campaign_name IS NOT "
        "NULL ORDER BY id LIMIT 1), '')",
        err);
    int rc;

    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, c->id);
    rc = sqlite3_step(s);
    c->name = suf_xstrdup(rc == SQLITE_ROW && sqlite3_column_text(s, 0)
                              ? (const char *)sqlite3_column_text(s, 0)
                              : "");
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? SUF_OK : suf_store_fail(ctx->run->store, err, "campaigns");
}

/* A delivered broadcast attempt: its phone, its time and its template's
 * category (marketing when the catalog does not know it).  The campaign's
 * scan and the Meta billed scan read the same columns. */
#define DELIVERED "a.status IN ('delivered', 'read')"
#define BROADCAST_CATEGORY                                                                 \
    "COALESCE("                                                                            \
    " (SELECT category FROM templates t WHERE t.name = a.template_name"                    \
    "  AND t.language = a.template_language),"                                             \
    " (SELECT category FROM templates t WHERE t.name = a.template_name"                    \
    "  ORDER BY t.language LIMIT 1))"
#define BROADCAST_COLUMNS                                                                  \
    "SELECT a.phone, a.sent_at, " BROADCAST_CATEGORY " FROM attempts a WHERE " DELIVERED " "

/* The message of a BROADCAST_COLUMNS row, costed.  An attempt has no
 * delivery time of its own: the export's time stands for it. */
static void broadcast_charge(const struct rep_ctx *ctx, sqlite3_stmt *s, struct suf_msg *msg,
                             struct suf_charge *ch)
{
    int cat = suf_category_parse((const char *)sqlite3_column_text(s, 2));

    memset(msg, 0, sizeof(*msg));
    msg->kind = SUF_MSG_BROADCAST;
    msg->tmpl_cat = cat < 0 ? SUF_CAT_MARKETING : cat;
    msg->phone = (const char *)sqlite3_column_text(s, 0);
    msg->delivered = true;
    msg->delivered_at = sqlite3_column_int64(s, 1);
    suf_money_cost(ctx->money, &ctx->bill, msg, ch);
}

/* The files a campaign's attempts came from: few, sorted, distinct. */
struct file_set {
    int64_t *ids;
    int n, alloc;
};

/* Whether `id` is in the set; *at is where it is, or would go. */
static bool file_set_find(const struct file_set *fs, int64_t id, int *at)
{
    int lo = 0, hi = fs->n;

    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;

        if (fs->ids[mid] == id) {
            lo = mid;
            break;
        }
        if (fs->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *at = lo;
    return lo < fs->n && fs->ids[lo] == id;
}

static void file_set_add(struct file_set *fs, int64_t id)
{
    int at;

    if (file_set_find(fs, id, &at))
        return;
    if (fs->n == fs->alloc) {
        fs->alloc = fs->alloc ? fs->alloc * 2 : 8;
        fs->ids = suf_xrealloc(fs->ids, (size_t)fs->alloc * sizeof(*fs->ids));
    }
    memmove(fs->ids + at + 1, fs->ids + at, (size_t)(fs->n - at) * sizeof(*fs->ids));
    fs->ids[at] = id;
    fs->n++;
}

/*
 * Every attempt of a campaign, once: BROADCAST_COLUMNS's three for the
 * delivered ones, then whether it was delivered, and its file.  Two plans,
 * chosen by size.  The campaign index orders attempts by phone, so a seek
 * per attempt lands anywhere in the table; a campaign holding a fair share
 * of the attempts has a row on nearly every page of it, and reads them
 * for less in one pass in rowid order, whose cost grows with the table
 * and no faster.  A small one seeks.
 */
#define ATTEMPT_COLUMNS                                                                    \
    "SELECT a.phone, a.sent_at, CASE WHEN " DELIVERED " THEN " BROADCAST_CATEGORY " END, " \
    DELIVERED ", a.file_id FROM attempts a "
static const char attempts_sql_scan[] = ATTEMPT_COLUMNS "WHERE +a.campaign_id = ?1";
static const char attempts_sql_seek[] = ATTEMPT_COLUMNS "WHERE a.campaign_id = ?1";

/* A campaign's rows of `table` (one with an integer key `id` and an index
 * on campaign_id) into *mine, and the table's largest id into *all. */
static int campaign_share(struct rep_ctx *ctx, const struct rep_campaign *c, const char *table,
                          int64_t *mine, int64_t *all, struct suf_err *err)
{
    char *count_sql = suf_xasprintf("SELECT count(*) FROM %s WHERE campaign_id = ?1", table);
    char *max_sql = suf_xasprintf("SELECT max(id) FROM %s", table);
    int rc;

    if (!(rc = suf_store_scalar(ctx->run->store, count_sql, c->id, mine, err)))
        rc = suf_store_scalar(ctx->run->store, max_sql, NULL, all, err);
    free(count_sql);
    free(max_sql);
    return rc;
}

/* The broadcast itself: every delivered attempt is a billed template, at its
 * template's category.  And the files that hold the campaign's attempts,
 * into `files`. */
static int scan_attempts(struct rep_ctx *ctx, struct rep_campaign *c, struct file_set *files,
                         struct suf_err *err)
{
    sqlite3_stmt *s;
    int64_t mine, all;
    int rc;

    if ((rc = campaign_share(ctx, c, "attempts", &mine, &all, err)))
        return rc;
    s = suf_store_prepare(ctx->run->store, mine * 32 > all ? attempts_sql_scan : attempts_sql_seek,
                          err);
    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, c->id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct suf_msg msg;
        struct suf_charge ch;

        if (sqlite3_column_type(s, 4) != SQLITE_NULL)
            file_set_add(files, sqlite3_column_int64(s, 4));
        if (!sqlite3_column_int(s, 3))
            continue;
        broadcast_charge(ctx, s, &msg, &ch);
        count_charge(ctx, c, &msg, &ch);
        market_of(ctx, c, ch.market)->broadcast_delivered++;
        add_charge(&c->broadcast, &ch);
        c->broadcast_delivered++;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(ctx->run->store, err, "attempts");
}

static void add_reason(struct rep_campaign *c, const char *reason)
{
    for (int i = 0; i < c->nreasons; i++) {
        if (!strcmp(c->reasons[i].reason, reason)) {
            c->reasons[i].count++;
            return;
        }
    }
    c->reasons = suf_xrealloc(c->reasons, (size_t)(c->nreasons + 1) * sizeof(*c->reasons));
    c->reasons[c->nreasons].reason = suf_xstrdup(reason);
    c->reasons[c->nreasons].count = 1;
    c->nreasons++;
}

/* The reason of an excluded recipient: its `reason` column, or what an
 * outcome written "excluded:<reason>" names. */
static const char *excluded_reason(const char *outcome, const char *reason)
{
    if (reason && *reason)
        return reason;
    return outcome[8] == ':' ? outcome + 9 : "unknown";
}

static int cmp_reason(const void *a, const void *b)
{
    return strcmp(((const struct rep_reason *)a)->reason, ((const struct rep_reason *)b)->reason);
}

/* Recipients: the funnel's first two steps and the exclusions.  An outcome
 * is "fallback", or "excluded" with its reason in `reason` (or written
 * "excluded:<reason>").  A recipient's market is its phone's on the day of
 * its last broadcast attempt (the as-of day when that is unknown).  Plan
 * keeps that attempt's time beside its id, so the attempts table, in
 * which a seek per recipient lands anywhere, is read only for a store
 * planned before it did. */
static int scan_recipients(struct rep_ctx *ctx, struct rep_campaign *c, struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(
        ctx->run->store,
        "SELECT r.phone, r.outcome, r.reason, COALESCE(r.last_attempt_at, "
        "(SELECT a.sent_at FROM attempts a WHERE a.id = r.last_attempt_id)) "
        "FROM recipients r WHERE r.campaign_id = ?1",
        err);
    int rc;

    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, c->id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *phone = (const char *)sqlite3_column_text(s, 0);
        const char *outcome = (const char *)sqlite3_column_text(s, 1);
        const char *reason = (const char *)sqlite3_column_text(s, 2);
        int32_t day = sqlite3_column_type(s, 3) == SQLITE_NULL
                          ? ctx->as_of_day
                          : suf_day_of(sqlite3_column_int64(s, 3));
        struct rep_market *m = market_of(ctx, c, suf_money_market(ctx->money, phone, day));
        bool excluded = !strncmp(outcome, "excluded", 8);

        c->funnel[REP_RECIPIENTS]++;
        m->recipients++;
        if (excluded || !strcmp(outcome, "fallback")) {
            c->funnel[REP_FAILED]++;
            m->failed++;
        }
        if (excluded)
            add_reason(c, excluded_reason(outcome, reason));
    }
    sqlite3_finalize(s);
    if (c->nreasons > REP_NREASONS) /* any others after plan's, sorted */
        qsort(c->reasons + REP_NREASONS, (size_t)(c->nreasons - REP_NREASONS),
              sizeof(*c->reasons), cmp_reason);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(ctx->run->store, err, "recipients");
}


/* --- fallbacks and their sends ------------------------------------------- */

enum {
    C_ID, C_PHONE, C_TEMPLATE, C_SCENARIO, C_STATE, C_CREATED, C_STATE_AT, C_USENT, C_UDELIV,
    C_CONSENTED, C_DECLINED, C_SSENT, C_CONVERTED, C_KIND, C_DELIVERY, C_DELIVERED_AT,
    C_READ_AT, C_SENT_AT, C_RESEND_OF, C_BILLABLE, C_CATEGORY, C_HELD
};

#define FB_SELECT                                                                           \
    "SELECT f.id, f.phone, f.template_name, f.scenario, f.state, f.created_at, f.state_at, " \
    "f.utility_sent_at, f.utility_delivered_at, f.consented_at, f.declined_at, "           \
    "f.session_sent_at, f.converted_at, s.kind, s.delivery, s.delivered_at, s.read_at, "    \
    "s.sent_at, s.resend_of, s.pricing_billable, s.pricing_category, f.reason_detail "
#define FB_JOIN "LEFT JOIN sends s ON s.fallback_id = f.id "
#define FB_COLUMNS FB_SELECT "FROM fallbacks f " FB_JOIN

/*
 * Two plans for one result, chosen by size, neither of which sorts: a
 * campaign holding most of the fallbacks reads the table in rowid order;
 * any other walks the campaign index, whose entries of one campaign are in
 * rowid order too, and seeks its rows in that order.  A sort here would
 * hold a campaign's rows in memory, and the planner prefers one (through
 * the unique (campaign_id, phone) index) when left to choose.
 */
static const char fb_sql_scan[] = FB_COLUMNS "WHERE +f.campaign_id = ?1 ORDER BY f.id, s.kind, s.n";
static const char fb_sql_seek[] = FB_SELECT "FROM fallbacks f INDEXED BY fallbacks_campaign "
                                  FB_JOIN "WHERE f.campaign_id = ?1 ORDER BY f.id, s.kind, s.n";

static int64_t col_time(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, i);
}

static const char *col_text(sqlite3_stmt *s, int i)
{
    const char *v = (const char *)sqlite3_column_text(s, i);
    return v ? v : "";
}

/* The fallback being assembled from its joined rows. */
struct fb_acc {
    struct rep_fallback fb;
    struct suf_buf phone, tmpl, scen, state, held;
    int64_t first_at; /* the delivery time of its first charge */
};

/* A fallback converted when it has a converted_at (its last message was
 * delivered) or its state says so: either is enough, for the funnel as for
 * the billing. */
static bool fb_converted(const struct rep_fallback *fb)
{
    return fb->converted_at || !strcmp(fb->state, "converted");
}

static void fb_start(struct fb_acc *a, const struct rep_ctx *ctx, sqlite3_stmt *s)
{
    struct rep_fallback *fb = &a->fb;

    memset(fb, 0, sizeof(*fb));
    suf_buf_reset(&a->phone);
    suf_buf_reset(&a->tmpl);
    suf_buf_reset(&a->scen);
    suf_buf_reset(&a->state);
    suf_buf_reset(&a->held);
    suf_buf_addstr(&a->phone, col_text(s, C_PHONE));
    suf_buf_addstr(&a->tmpl, col_text(s, C_TEMPLATE));
    suf_buf_addstr(&a->scen, col_text(s, C_SCENARIO));
    suf_buf_addstr(&a->state, col_text(s, C_STATE));
    fb->id = sqlite3_column_int64(s, C_ID);
    fb->phone = suf_buf_str(&a->phone);
    fb->template_name = suf_buf_str(&a->tmpl);
    fb->scenario = suf_buf_str(&a->scen);
    fb->state = suf_buf_str(&a->state);
    if (sqlite3_column_type(s, C_HELD) != SQLITE_NULL) {
        suf_buf_addstr(&a->held, col_text(s, C_HELD));
        fb->held_why = suf_buf_str(&a->held);
    }
    fb->created_at = col_time(s, C_CREATED);
    fb->market = suf_money_market(ctx->money, fb->phone,
                                  fb->created_at ? suf_day_of(fb->created_at) : ctx->as_of_day);
    fb->state_at = col_time(s, C_STATE_AT);
    fb->utility_sent_at = col_time(s, C_USENT);
    fb->utility_delivered_at = col_time(s, C_UDELIV);
    fb->consented_at = col_time(s, C_CONSENTED);
    fb->declined_at = col_time(s, C_DECLINED);
    fb->session_sent_at = col_time(s, C_SSENT);
    fb->converted_at = col_time(s, C_CONVERTED);
}

/* The message of one send row (FB_COLUMNS) of the fallback of `phone`, as
 * Meta bills it: at its delivery (a read implies one; the send time, then
 * the fallback's last change, stand in when no webhook said when).  Returns
 * that time.  The fallbacks' scan and the Meta billed scan share it. */
static int64_t send_msg(sqlite3_stmt *s, const char *phone, int64_t state_at,
                        struct suf_msg *msg)
{
    const char *kind = col_text(s, C_KIND), *delivery = col_text(s, C_DELIVERY);
    int64_t at;

    memset(msg, 0, sizeof(*msg));
    msg->kind = kind[0] == 'u' ? SUF_MSG_UTILITY : SUF_MSG_SESSION;
    msg->phone = phone;
    msg->delivered = !strcmp(delivery, "delivered") || !strcmp(delivery, "read");
    at = col_time(s, C_DELIVERED_AT);
    if (!at)
        at = col_time(s, C_READ_AT);
    if (!at)
        at = col_time(s, C_SENT_AT);
    if (!at)
        at = state_at;
    msg->delivered_at = at;
    msg->has_pricing = sqlite3_column_type(s, C_BILLABLE) != SQLITE_NULL ||
                       sqlite3_column_type(s, C_CATEGORY) != SQLITE_NULL;
    msg->pricing_billable = sqlite3_column_type(s, C_BILLABLE) == SQLITE_NULL ||
                            sqlite3_column_int64(s, C_BILLABLE) != 0;
    msg->pricing_category = (const char *)sqlite3_column_text(s, C_CATEGORY);
    return at;
}

/* Costs one send row of the fallback in hand. */
static void fb_send(struct fb_acc *a, struct rep_ctx *ctx, struct rep_campaign *c,
                    sqlite3_stmt *s)
{
    struct rep_fallback *fb = &a->fb;
    struct suf_msg msg;
    struct suf_charge ch;
    int64_t at;

    if (sqlite3_column_type(s, C_RESEND_OF) != SQLITE_NULL)
        fb->resends++;
    at = send_msg(s, fb->phone, fb->state_at, &msg);
    msg.converted = fb_converted(fb);
    msg.part_billed = fb->session_delivered > 0;
    suf_money_cost(ctx->money, &ctx->bill, &msg, &ch);
    if (!ch.billed)
        return;
    count_charge(ctx, c, &msg, &ch);
    if (!fb->charges || at < a->first_at) {
        fb->market = ch.market; /* the sends come by kind, not by time */
        a->first_at = at;
    }
    fb->charges++;
    fb->from_webhook += ch.from_webhook && !ch.unpriced;
    if (msg.kind == SUF_MSG_UTILITY) {
        add_charge(&fb->utility, &ch);
        c->utility_delivered_msgs++;
    } else {
        fb->session_delivered++;
        add_charge(&fb->session, &ch);
        c->session_delivered_msgs++;
    }
}

static int scenario_index(const char *s)
{
    if ((s[0] == 'S' || s[0] == 's') && s[1] >= '1' && s[1] <= '8' && !s[2])
        return s[1] - '1';
    return REP_NSCEN;
}

void rep_money_add(struct rep_money *to, const struct rep_money *v)
{
    to->policy += v->policy;
    to->meta += v->meta;
    to->charges += v->charges;
    to->unpriced += v->unpriced;
}

/* Adds a finished fallback to the campaign's sums. */
static void fb_finish(struct rep_campaign *c, const struct rep_ctx *ctx,
                      const struct rep_fallback *fb)
{
    struct rep_market *m = market_of(ctx, c, fb->market);
    struct rep_scenario *sc = &c->scen[scenario_index(fb->scenario)];
    bool converted = fb_converted(fb);
    enum suf_fb_state st;

    c->states[suf_fsm_state_parse(fb->state, &st) ? st : SUF_FB_STATE_COUNT]++;
    c->funnel[REP_FALLBACKS]++;
    c->funnel[REP_UTILITY_SENT] += fb->utility_sent_at != 0;
    c->funnel[REP_UTILITY_DELIVERED] += fb->utility_delivered_at != 0;
    c->funnel[REP_CONSENTED] += fb->consented_at != 0;
    c->funnel[REP_SESSION_SENT] += fb->session_sent_at != 0;
    c->funnel[REP_CONVERTED] += converted;
    c->resends += fb->resends;
    if (!converted && fb->session_delivered) {
        c->unconverted_sessions++;
        rep_money_add(&c->unconverted_session, &fb->session);
    }
    rep_money_add(&c->utility, &fb->utility);
    rep_money_add(&c->session, &fb->session);
    m->fallbacks++;
    m->utility_delivered += fb->utility_delivered_at != 0;
    m->converted += converted;
    sc->fallbacks++;
    sc->utility_sent += fb->utility_sent_at != 0;
    sc->utility_delivered += fb->utility_delivered_at != 0;
    sc->consented += fb->consented_at != 0;
    sc->session_sent += fb->session_sent_at != 0;
    sc->converted += converted;
    rep_money_add(&sc->utility, &fb->utility);
    rep_money_add(&sc->session, &fb->session);
}

static int choose_plan(struct rep_ctx *ctx, struct rep_campaign *c, const char **sql,
                       struct suf_err *err)
{
    int64_t mine, all;
    int rc;

    if ((rc = suf_store_scalar(ctx->run->store,
                               "SELECT count(*) FROM fallbacks WHERE campaign_id = ?1", c->id,
                               &mine, err)) ||
        (rc = suf_store_scalar(ctx->run->store, "SELECT max(id) FROM fallbacks", NULL, &all,
                               err)))
        return rc;
    *sql = mine > 50000 && mine * 4 > all ? fb_sql_scan : fb_sql_seek;
    return SUF_OK;
}

int rep_scan_fallbacks(struct rep_ctx *ctx, struct rep_campaign *c, rep_fallback_fn fn,
                       void *user, struct suf_err *err)
{
    struct fb_acc a;
    sqlite3_stmt *s = NULL;
    const char *sql;
    bool have = false;
    int rc;

    memset(&a, 0, sizeof(a));
    if ((rc = choose_plan(ctx, c, &sql, err)))
        return rc;
    s = suf_store_prepare(ctx->run->store, sql, err);
    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, c->id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, C_ID);

        if (!have || id != a.fb.id) {
            if (have) {
                fb_finish(c, ctx, &a.fb);
                if ((rc = fn(user, &a.fb, err)))
                    goto out;
            }
            fb_start(&a, ctx, s);
            have = true;
        }
        if (sqlite3_column_type(s, C_KIND) != SQLITE_NULL)
            fb_send(&a, ctx, c, s);
    }
    if (rc != SQLITE_DONE) {
        rc = suf_store_fail(ctx->run->store, err, "fallbacks");
        goto out;
    }
    rc = SUF_OK;
    finish_rates(c);
    if (have) {
        fb_finish(c, ctx, &a.fb);
        rc = fn(user, &a.fb, err);
    }
out:
    sqlite3_finalize(s);
    suf_buf_release(&a.phone);
    suf_buf_release(&a.tmpl);
    suf_buf_release(&a.scen);
    suf_buf_release(&a.state);
    suf_buf_release(&a.held);
    return rc;
}

/* --- the recipients left out ---------------------------------------------- */

enum { L_PHONE, L_OUTCOME, L_REASON, L_DETAIL, L_ATTEMPTS, L_LAST_AT, L_ERROR, L_TEMPLATE };

/* The latest attempt is the one plan recorded, or for a store planned
 * before it recorded one, the last in plan's order (attempt, sent_at, id):
 * an index seek either way.  The rows come in primary-key order, so
 * nothing is sorted. */
#define LEFT_COLUMNS                                                                       \
    "SELECT r.phone, r.outcome, r.reason, r.detail, r.attempts, "                          \
    "COALESCE(r.last_attempt_at, a.sent_at), a.error_code, a.template_name "                \
    "FROM recipients r LEFT JOIN attempts a ON a.id = COALESCE(r.last_attempt_id, "        \
    "(SELECT l.id FROM attempts l WHERE l.campaign_id = r.campaign_id AND l.phone = r.phone " \
    "ORDER BY l.attempt DESC, l.sent_at DESC, l.id DESC LIMIT 1)) WHERE r.campaign_id = ?1 "

static const char *const left_sql[] = {
    [REP_LEFT_EXCLUDED] = LEFT_COLUMNS "AND (r.outcome = 'excluded' OR r.outcome LIKE "
                                       "'excluded:%') ORDER BY r.phone",
    [REP_LEFT_WAITING] = LEFT_COLUMNS "AND r.outcome IN ('awaiting_retries', 'in_flight') "
                                      "ORDER BY r.phone",
};

int rep_scan_left_out(struct rep_ctx *ctx, const struct rep_campaign *c, enum rep_left which,
                      rep_left_fn fn, void *user, struct suf_err *err)
{
    struct suf_plan_policy policy;
    sqlite3_stmt *s;
    int rc, stop = SUF_OK;

    /* The campaign's policy as plan decides with it: when the waiting
     * become eligible is the plan's rule, not the report's. */
    if ((rc = suf_plan_policy_load(ctx->run, c->id, ctx->as_of, &policy, err)))
        return rc;
    s = suf_store_prepare(ctx->run->store, left_sql[which], err);
    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, c->id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct rep_left_out r;
        struct suf_plan_facts f;

        memset(&r, 0, sizeof(r));
        memset(&f, 0, sizeof(f));
        r.phone = col_text(s, L_PHONE);
        r.outcome = col_text(s, L_OUTCOME);
        r.reason = which == REP_LEFT_EXCLUDED
                       ? excluded_reason(r.outcome, (const char *)sqlite3_column_text(s, L_REASON))
                       : "";
        r.detail = col_text(s, L_DETAIL);
        r.template_name = col_text(s, L_TEMPLATE);
        r.has_error = sqlite3_column_type(s, L_ERROR) != SQLITE_NULL;
        r.error_code = sqlite3_column_int64(s, L_ERROR);
        r.attempts = sqlite3_column_int64(s, L_ATTEMPTS);
        r.max_attempts = 1 + policy.max_auto_retries;
        r.last_attempt_at = col_time(s, L_LAST_AT);
        /* Its market on the day of its last attempt, as the funnel counts it
         * (the as-of day when no attempt is known). */
        r.market = suf_money_market(ctx->money, r.phone,
                                    r.last_attempt_at ? suf_day_of(r.last_attempt_at)
                                                      : ctx->as_of_day);
        if (!strcmp(r.outcome, "awaiting_retries") && r.last_attempt_at) {
            f.attempts = r.attempts;
            f.last_at = r.last_attempt_at;
            r.eligible_at = suf_plan_retries_end(&f, &policy);
        }
        if ((stop = fn(user, &r, err)))
            break;
    }
    if (!stop && rc != SQLITE_DONE)
        stop = suf_store_fail(ctx->run->store, err, "recipients");
    sqlite3_finalize(s);
    return stop;
}

/* --- phones with no market -------------------------------------------------- */

/* Every phone of the campaign's broadcast, once each, in the order of the
 * attempts' index: no sort, and no memory but the count.  A phone is
 * matched on the day of its last attempt, the day the funnel places it. */
int rep_scan_no_market(struct rep_ctx *ctx, struct rep_campaign *c, struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(ctx->run->store,
                                        "SELECT phone, max(sent_at) FROM attempts "
                                        "WHERE campaign_id = ?1 GROUP BY phone ORDER BY phone",
                                        err);
    int rc;

    if (!s)
        return SUF_ERR_DB;
    suf_bind_text(s, 1, c->id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *phone = col_text(s, 0);
        bool matched;

        int32_t day = sqlite3_column_type(s, 1) == SQLITE_NULL
                          ? ctx->as_of_day
                          : suf_day_of(sqlite3_column_int64(s, 1));

        suf_money_market_match(ctx->money, phone, day, &matched);
        if (!matched && !c->no_market++)
            c->no_market_example = suf_xstrdup(phone);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(ctx->run->store, err, "attempts");
}

/* --- the files behind the numbers ------------------------------------------ */

/* The input files behind the campaign: the delivery exports that hold its
 * attempts, and every file of the other kinds, in import order. */
static int scan_files(struct rep_ctx *ctx, struct rep_campaign *c, const struct file_set *fs,
                      struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(
        ctx->run->store,
        "SELECT kind, path, sha256, rows, rejects, imported_at, id FROM files ORDER BY id", err);
    int rc, at;

    if (!s)
        return SUF_ERR_DB;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct rep_file *f;

        if (!strcmp(col_text(s, 0), "deliveries") &&
            !file_set_find(fs, sqlite3_column_int64(s, 6), &at))
            continue;
        c->files = suf_xrealloc(c->files, (size_t)(c->nfiles + 1) * sizeof(*c->files));
        f = &c->files[c->nfiles++];
        f->kind = suf_xstrdup(col_text(s, 0));
        f->path = suf_xstrdup(col_text(s, 1));
        f->sha256 = suf_xstrdup(col_text(s, 2));
        f->rows = sqlite3_column_int64(s, 3);
        f->rejects = sqlite3_column_int64(s, 4);
        f->imported_at = sqlite3_column_int64(s, 5);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(ctx->run->store, err, "files");
}

int rep_scan_campaign(struct rep_ctx *ctx, struct rep_campaign *c, struct suf_err *err)
{
    struct file_set files = {0};
    int rc;

    if (!(rc = scan_name(ctx, c, err)) && !(rc = scan_attempts(ctx, c, &files, err)) &&
        !(rc = scan_recipients(ctx, c, err)) && !(rc = rep_scan_no_market(ctx, c, err)))
        rc = scan_files(ctx, c, &files, err);
    free(files.ids);
    return rc;
}

/* --- Meta billed vs estimate ------------------------------------------------ */

/* Meta's buckets, sorted, and an index of the rows by bucket, market and
 * category for the keys suf knows (a million messages cost a few
 * comparisons each); rows of words only (an unknown country or category)
 * are Meta's alone and found by a walk. */
struct billed_scan {
    struct rep_span *buckets;
    int nbuckets;
    int nmarkets; /* suf's markets; key nmarkets is "no market" */
    int *slots;
};

static int billed_slot(const struct billed_scan *sc, int bucket, int market, int cat)
{
    return (bucket * (sc->nmarkets + 1) + market) * SUF_CAT_COUNT + cat;
}

/* The row of a bucket, market and category, made when new.  A key of -1
 * means "known by its words only". */
static struct rep_billed_row *billed_row(struct rep_billed *b, struct billed_scan *sc,
                                         int bucket, int market, const char *market_words,
                                         int cat, const char *cat_words)
{
    bool keyed = market >= 0 && cat >= 0;
    struct rep_billed_row *row;
    int i;

    if (keyed) {
        i = sc->slots[billed_slot(sc, bucket, market, cat)];
        if (i >= 0)
            return &b->rows[i];
    } else {
        for (i = 0; i < b->nrows; i++) {
            row = &b->rows[i];
            if (row->bucket == bucket && row->market_key == market && row->cat_key == cat &&
                !strcmp(row->market, market_words) && !strcmp(row->category, cat_words))
                return row;
        }
    }
    if (b->nrows == b->alloc) {
        b->alloc = b->alloc ? b->alloc * 2 : 64;
        b->rows = suf_xrealloc(b->rows, (size_t)b->alloc * sizeof(*b->rows));
    }
    row = &b->rows[b->nrows];
    memset(row, 0, sizeof(*row));
    row->start = sc->buckets[bucket].start;
    row->end = sc->buckets[bucket].end;
    row->market = suf_xstrdup(market_words);
    row->category = suf_xstrdup(cat_words);
    row->compared = keyed && market < sc->nmarkets;
    row->meta_cost_given = true;
    row->bucket = bucket;
    row->market_key = market;
    row->cat_key = cat;
    if (keyed)
        sc->slots[billed_slot(sc, bucket, market, cat)] = b->nrows;
    b->nrows++;
    return row;
}

/* The bucket of Meta's that holds time t, -1 when none does. */
static int billed_bucket(const struct billed_scan *sc, int64_t t)
{
    int lo = 0, hi = sc->nbuckets;

    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;

        if (sc->buckets[mid].start <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && t < sc->buckets[lo - 1].end ? lo - 1 : -1;
}

static bool in_spans(const struct rep_span *sp, int n, int64_t t)
{
    for (int i = 0; i < n; i++)
        if (sp[i].start <= t && t < sp[i].end)
            return true;
    return false;
}

static void add_span(struct rep_span **sp, int *n, int64_t start, int64_t end)
{
    *sp = suf_xrealloc(*sp, (size_t)(*n + 1) * sizeof(**sp));
    (*sp)[*n].start = start;
    (*sp)[(*n)++].end = end;
}

/* Meta's distinct buckets, in order. */
static int billed_buckets(struct rep_ctx *ctx, struct billed_scan *sc, struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(
        ctx->run->store,
        "SELECT DISTINCT bucket_start, bucket_end FROM meta_billing ORDER BY 1, 2", err);
    int rc;

    if (!s)
        return SUF_ERR_DB;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        add_span(&sc->buckets, &sc->nbuckets, sqlite3_column_int64(s, 0),
                 sqlite3_column_int64(s, 1));
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(ctx->run->store, err, "meta_billing");
}

/* The spans fetched, merged where they touch, and the gaps between them. */
static int billed_periods(struct rep_ctx *ctx, struct rep_billed *b, struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(
        ctx->run->store, "SELECT since, until FROM meta_billing_periods ORDER BY 1, 2", err);
    int rc;

    if (!s)
        return SUF_ERR_DB;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t since = sqlite3_column_int64(s, 0), until = sqlite3_column_int64(s, 1);
        struct rep_span *last = b->nfetched ? &b->fetched[b->nfetched - 1] : NULL;

        if (last && since <= last->end) {
            last->end = until > last->end ? until : last->end;
            continue;
        }
        if (last)
            add_span(&b->gaps, &b->ngaps, last->end, since);
        add_span(&b->fetched, &b->nfetched, since, until);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SUF_OK
                             : suf_store_fail(ctx->run->store, err, "meta_billing_periods");
}

/* The market of a country of Meta's on `day`, through its calling code and
 * the market map; -1 with words when there is none. */
static int country_market(const struct rep_ctx *ctx, const char *country, int32_t day,
                          char *words, size_t size)
{
    const char *code = suf_country_code(country);
    int m;

    if (!*country) {
        suf_strlcpy(words, "No country given", size);
        return -1;
    }
    if (!code) {
        snprintf(words, size, "Unknown country '%s'", country);
        return -1;
    }
    m = suf_money_market(ctx->money, code, day);
    if (m < 0) {
        snprintf(words, size, "No market for '%s'", country);
        return -1;
    }
    suf_strlcpy(words, suf_money_market_name(ctx->money, m), size);
    return m;
}

/* The digits of s ("+1 555 0100" -> "15550100") into out. */
static void digits_of(const char *s, char *out, size_t size)
{
    size_t n = 0;

    for (; *s && n + 1 < size; s++)
        if (*s >= '0' && *s <= '9')
            out[n++] = *s;
    out[n] = '\0';
}

enum { MB_START, MB_END, MB_COUNTRY, MB_PHONE, MB_CATEGORY, MB_TYPE, MB_VOLUME, MB_COST,
       MB_CURRENCY };

/* One data point of Meta's into its row, or into the counts of what is
 * left out (free messages, other numbers). */
static void billed_point(struct rep_ctx *ctx, struct rep_billed *b, struct billed_scan *sc,
                         sqlite3_stmt *s, const char *ours)
{
    int64_t start = sqlite3_column_int64(s, MB_START), end = sqlite3_column_int64(s, MB_END);
    int64_t volume = sqlite3_column_int64(s, MB_VOLUME);
    const char *phone = col_text(s, MB_PHONE), *category = col_text(s, MB_CATEGORY);
    const char *currency = (const char *)sqlite3_column_text(s, MB_CURRENCY);
    char market_words[64];
    struct rep_billed_row *row;
    int market, cat;

    if (*phone)
        b->phone_dimension = true;
    if (*phone && *ours && strcmp(phone, ours)) {
        b->other_numbers += volume;
        return;
    }
    if (!strncmp(col_text(s, MB_TYPE), "FREE", 4)) {
        b->meta_free += volume;
        return;
    }
    if (currency && !b->currency)
        b->currency = suf_xstrdup(currency);
    if (currency && strcmp(currency, suf_money_currency(ctx->money)))
        b->currency_differs = true;
    /* The bucket's day is its middle's: a bucket of the account's zone
     * starts up to 14 hours off midnight UTC. */
    market = country_market(ctx, col_text(s, MB_COUNTRY), suf_day_of(start + (end - start) / 2),
                            market_words, sizeof(market_words));
    cat = suf_category_parse(category);
    row = billed_row(b, sc, billed_bucket(sc, start), market, market_words, cat,
                     cat >= 0 ? suf_category_name(cat) : *category ? category
                                                                   : "No category given");
    row->meta_volume += volume;
    if (sqlite3_column_type(s, MB_COST) == SQLITE_NULL)
        row->meta_cost_given = false;
    else
        row->meta_cost += sqlite3_column_int64(s, MB_COST);
}

static int billed_meta(struct rep_ctx *ctx, struct rep_billed *b, struct billed_scan *sc,
                       struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(
        ctx->run->store,
        "SELECT bucket_start, bucket_end, country, phone_number, pricing_category, "
        "pricing_type, volume, cost, currency FROM meta_billing ORDER BY id",
        err);
    char ours[32];
    int rc;

    if (!s)
        return SUF_ERR_DB;
    digits_of(ctx->run->cfg->meta_phone_number ? ctx->run->cfg->meta_phone_number : "", ours,
              sizeof(ours));
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        billed_point(ctx, b, sc, s, ours);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(ctx->run->store, err, "meta_billing");
}

/* One of suf's costed messages into the row of the bucket that holds its
 * delivery, in the market and category Meta's view billed it as. */
static void billed_message(struct rep_billed *b, struct billed_scan *sc,
                           const struct rep_ctx *ctx, const struct suf_msg *msg,
                           const struct suf_charge *ch, bool broadcast)
{
    int bucket, market;
    struct rep_billed_row *row;

    if (!ch->billed)
        return;
    if (ch->meta_cat < 0) { /* Meta said it does not bill it */
        b->suf_free++;
        return;
    }
    bucket = billed_bucket(sc, msg->delivered_at);
    if (bucket < 0) {
        if (in_spans(b->fetched, b->nfetched, msg->delivered_at))
            b->between++;
        else
            b->not_fetched++;
        return;
    }
    market = ch->market < 0 ? sc->nmarkets : ch->market;
    row = billed_row(b, sc, bucket, market,
                     ch->market < 0 ? "No market" : suf_money_market_name(ctx->money, market),
                     ch->meta_cat, suf_category_name(ch->meta_cat));
    add_charge(broadcast ? &row->broadcast : &row->sent, ch);
}

/* suf's billed messages into their rows: its sends (FB_COLUMNS rows) or,
 * with `broadcast`, the broadcasts' delivered attempts (BROADCAST_COLUMNS). */
static int billed_messages(struct rep_ctx *ctx, struct rep_billed *b, struct billed_scan *sc,
                           bool broadcast, struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(
        ctx->run->store,
        broadcast ? BROADCAST_COLUMNS : FB_COLUMNS "WHERE s.delivery IN ('delivered', 'read')",
        err);
    int rc;

    if (!s)
        return SUF_ERR_DB;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct suf_msg msg;
        struct suf_charge ch;

        if (broadcast) {
            broadcast_charge(ctx, s, &msg, &ch);
        } else {
            send_msg(s, col_text(s, C_PHONE), col_time(s, C_STATE_AT), &msg);
            suf_money_cost(ctx->money, &ctx->bill, &msg, &ch);
        }
        billed_message(b, sc, ctx, &msg, &ch, broadcast);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return suf_store_fail(ctx->run->store, err, broadcast ? "attempts" : "sends");
    return SUF_OK;
}

/* |v| > ratio * of, in micros or messages. */
static bool over(int64_t v, double ratio, int64_t of)
{
    int64_t a = v < 0 ? -v : v;

    return (double)a > ratio * (double)(of < 0 ? -of : of);
}

/* The differences and their flags, once every message is in. */
static void billed_finish(const struct rep_ctx *ctx, struct rep_billed *b)
{
    const struct suf_config *cfg = ctx->run->cfg;

    for (int i = 0; i < b->nrows; i++) {
        struct rep_billed_row *r = &b->rows[i];

        r->other = r->meta_volume - r->sent.charges - r->broadcast.charges;
        r->diff_known = r->meta_cost_given && !b->currency_differs && !r->sent.unpriced &&
                        !r->broadcast.unpriced;
        r->diff = r->meta_cost - r->sent.meta - r->broadcast.meta;
        r->flag_count = r->compared && r->other && over(r->other, cfg->meta_diff_threshold,
                                                        r->meta_volume);
        r->flag_cost = r->compared && r->diff_known && over(r->diff, 0, cfg->meta_diff_min) &&
                       over(r->diff, cfg->meta_diff_threshold, r->meta_cost);
    }
}

/* Bucket, then market (suf's in name order, then "No market", then words),
 * then category (suf's in its order, then words). */
static int cmp_billed(const void *a, const void *b)
{
    const struct rep_billed_row *x = a, *y = b;
    const int64_t kx[] = {x->start, x->end, x->market_key < 0 ? INT32_MAX : x->market_key};
    const int64_t ky[] = {y->start, y->end, y->market_key < 0 ? INT32_MAX : y->market_key};
    int c;

    for (size_t i = 0; i < sizeof(kx) / sizeof(kx[0]); i++)
        if (kx[i] != ky[i])
            return kx[i] < ky[i] ? -1 : 1;
    if ((c = strcmp(x->market, y->market)))
        return c;
    if ((x->cat_key < 0) != (y->cat_key < 0))
        return x->cat_key < 0 ? 1 : -1;
    if (x->cat_key != y->cat_key)
        return x->cat_key < y->cat_key ? -1 : 1;
    return strcmp(x->category, y->category);
}

int rep_scan_meta_billed(struct rep_ctx *ctx, struct rep_billed *b, struct suf_err *err)
{
    struct billed_scan sc;
    size_t nslots;
    int rc;

    memset(b, 0, sizeof(*b));
    memset(&sc, 0, sizeof(sc));
    sc.nmarkets = suf_money_nmarkets(ctx->money);
    if ((rc = billed_buckets(ctx, &sc, err)) || !sc.nbuckets)
        goto out;
    nslots = (size_t)sc.nbuckets * ((size_t)sc.nmarkets + 1) * SUF_CAT_COUNT;
    sc.slots = suf_xmalloc(nslots * sizeof(*sc.slots));
    for (size_t i = 0; i < nslots; i++)
        sc.slots[i] = -1;
    if ((rc = billed_periods(ctx, b, err)) || (rc = billed_meta(ctx, b, &sc, err)) ||
        (rc = billed_messages(ctx, b, &sc, false, err)) ||
        (rc = billed_messages(ctx, b, &sc, true, err)))
        goto out;
    billed_finish(ctx, b);
    if (b->nrows)
        qsort(b->rows, (size_t)b->nrows, sizeof(*b->rows), cmp_billed);
out:
    free(sc.buckets);
    free(sc.slots);
    return rc;
}

void rep_billed_release(struct rep_billed *b)
{
    for (int i = 0; i < b->nrows; i++) {
        free(b->rows[i].market);
        free(b->rows[i].category);
    }
    free(b->rows);
    free(b->currency);
    free(b->fetched);
    free(b->gaps);
    memset(b, 0, sizeof(*b));
}
