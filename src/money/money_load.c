/*
 * money_load.c: suf_money_load (see money.h): the rate cards of one currency
 * and the market map, read from the store into the pricing model.
 *
 * This is the only file of src/money that speaks SQL.  It reads a few
 * hundred rows, once per stage, and hands them to the builder of
 * money_model.h in the builder's order; what the model makes of them
 * (sorting, interning, n/a cells) is money.c's business, so pricing can be
 * tested without a store.
 *
 * The market map is the store's when `suf import markets` put one there;
 * otherwise it is the one built into suf (money_builtin.h), so that a fresh
 * store still prices each phone by its market.  An import never leaves the
 * store's map empty (rates.c refuses a map with no usable row), so "the
 * store has rows" and "a map was imported" are the same question.
 */
#include "money/money.h"
#include "money/money_builtin.h"
#include "money/money_model.h"
#include "base/banned.h"

/* Every market named by the map or by a card of the currency. */
static const char names_sql[] =
    "SELECT market FROM markets UNION SELECT r.market FROM rates r "
    "JOIN rate_cards c ON c.id = r.card_id WHERE c.currency = ?1 ORDER BY 1";
static const char prefixes_sql[] = "SELECT prefix, since, market FROM markets";
/* The file the store's map came from: the last markets import that
 * committed (an import that failed left no row; the same bytes again add
 * none). */
static const char map_file_sql[] =
    "SELECT path, sha256 FROM files WHERE kind = 'markets' ORDER BY id DESC LIMIT 1";
/* The cards of the currency, oldest first. */
static const char cards_sql[] =
    "SELECT id, effective, file_id FROM rate_cards WHERE currency = ?1 ORDER BY effective";

static void add_market_row(struct suf_money *m, sqlite3_stmt *s)
{
    suf_money_add_market(m, (const char *)sqlite3_column_text(s, 0));
}

/* A prefix too long to match, or a card whose date is not one, is refused
 * by the importer; the model leaves it out too. */
static void add_prefix_row(struct suf_money *m, sqlite3_stmt *s)
{
    suf_money_add_prefix(m, (const char *)sqlite3_column_text(s, 0),
                         (const char *)sqlite3_column_text(s, 1),
                         (const char *)sqlite3_column_text(s, 2));
}

static void add_card_row(struct suf_money *m, sqlite3_stmt *s)
{
    suf_money_add_card(m, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
                       sqlite3_column_int64(s, 2));
}

/* Runs `sql` (whose ?1, when it has one, is the model's currency) and hands
 * each row to `add`; `table` names what failed. */
static int each_row(struct suf_money *m, struct suf_store *st, const char *sql,
                    void (*add)(struct suf_money *, sqlite3_stmt *), const char *table,
                    struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(st, sql, err);
    int rc;

    if (!s)
        return SUF_ERR_DB;
    if (sqlite3_bind_parameter_count(s) > 0)
        suf_bind_text(s, 1, suf_money_currency(m));
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        add(m, s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(st, err, table);
}

/* The rates of each card, by the card's index in the model (every cell was
 * n/a until now). */
static int load_rates(struct suf_money *m, struct suf_store *st, struct suf_err *err)
{
    sqlite3_stmt *s = suf_store_prepare(st,
                                        "SELECT market, marketing, utility, authentication, "
                                        "authentication_intl, service FROM rates "
                                        "WHERE card_id = ?1",
                                        err);
    int rc = SQLITE_DONE;

    if (!s)
        return SUF_ERR_DB;
    for (int c = 0; c < suf_money_ncards(m); c++) {
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, suf_money_card(m, c)->id);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            int market = suf_money_market_id(m, (const char *)sqlite3_column_text(s, 0));

            if (market < 0)
                continue;
            for (int cat = 0; cat < SUF_CAT_COUNT; cat++)
                if (sqlite3_column_type(s, 1 + cat) != SQLITE_NULL)
                    suf_money_set_rate(m, c, market, cat, sqlite3_column_int64(s, 1 + cat));
        }
        if (rc != SQLITE_DONE)
            break;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SUF_OK : suf_store_fail(st, err, "rates");
}

static void set_map_file(struct suf_money *m, sqlite3_stmt *s)
{
    suf_money_set_map_source(m, false, (const char *)sqlite3_column_text(s, 0),
                             (const char *)sqlite3_column_text(s, 1));
}

/* Whether the map is the built-in one (the store holds none), and where
 * the model's map came from. */
static int map_source(struct suf_money *m, struct suf_store *st, bool *builtin,
                      struct suf_err *err)
{
    int64_t stored = 0;
    int rc;

    if ((rc = suf_store_scalar(st, "SELECT EXISTS (SELECT 1 FROM markets)", NULL, &stored,
                               err)))
        return rc;
    *builtin = !stored;
    if (*builtin) {
        suf_money_set_map_source(m, true, "", suf_money_builtin_map_sha256);
        return SUF_OK;
    }
    suf_money_set_map_source(m, false, "", ""); /* rows put there by hand: no file */
    return each_row(m, st, map_file_sql, set_map_file, "files", err);
}

int suf_money_load(struct suf_money **out, struct suf_store *st, const char *currency,
                   struct suf_err *err)
{
    struct suf_money *m = suf_money_new(currency);
    bool builtin = false;
    int rc;

    if ((rc = map_source(m, st, &builtin, err)) ||
        (rc = each_row(m, st, names_sql, add_market_row, "markets", err)))
        goto fail;
    for (size_t i = 0; builtin && i < suf_money_builtin_map_rows; i++)
        suf_money_add_market(m, suf_money_builtin_map[i].market);
    suf_money_markets_done(m);
    for (size_t i = 0; builtin && i < suf_money_builtin_map_rows; i++)
        suf_money_add_prefix(m, suf_money_builtin_map[i].prefix, suf_money_builtin_map[i].since,
                             suf_money_builtin_map[i].market);
    if ((!builtin && (rc = each_row(m, st, prefixes_sql, add_prefix_row, "markets", err))) ||
        (rc = each_row(m, st, cards_sql, add_card_row, "rate_cards", err)))
        goto fail;
    suf_money_cards_done(m);
    if ((rc = load_rates(m, st, err)))
        goto fail;
    *out = m;
    return SUF_OK;
fail:
    suf_money_free(m);
    *out = NULL;
    return rc;
}
