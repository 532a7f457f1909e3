/*
 * money_model.h: building the pricing model of money.h.  Shared by the
 * files of src/money and by their unit tests; not a public interface.
 *
 * money.c owns struct suf_money and prices from it without touching the
 * store; money_load.c reads rate cards and the market map from the store
 * and builds the model through these calls; a unit test builds one from
 * literals.
 *
 * Invariants of a built model: market names are sorted and unique, so a
 * market is its index (suf_money_market_id); the map's prefixes are sorted
 * by digits, then by `since`; cards are in the order they were added, which
 * must be oldest first; every rate that was not set is n/a.
 *
 * Steps, in this order (each one ends the one before it):
 *  1. m = suf_money_new(currency);
 *  2. suf_money_add_market(m, name) for every market the map or a card
 *     names, in any order (a name given twice counts once);
 *  3. suf_money_markets_done(m): the market ids are fixed from here;
 *  4. suf_money_add_prefix() for each row of the map, and
 *     suf_money_add_card() for each card, oldest first;
 *  5. suf_money_cards_done(m): the map is sorted and every rate is n/a;
 *  6. suf_money_set_rate() for each cell of a card that has a rate.
 * Then the model is only read (money.h), and suf_money_free frees it.
 */
#ifndef SUF_MONEY_MODEL_H
#define SUF_MONEY_MODEL_H

#include <stdint.h>

#include "money/money.h"

/* An empty model of `currency` (NULL: "USD").  The caller frees it with
 * suf_money_free. */
struct suf_money *suf_money_new(const char *currency);

/* Step 2: a market name (copied). */
void suf_money_add_market(struct suf_money *m, const char *name);
/* Step 3: sorts the names, drops the repeated ones and finds "Other". */
void suf_money_markets_done(struct suf_money *m);

/* Step 4: a row of the market map: calling-code `digits`, the "YYYY-MM-DD"
 * day it applies from (NULL, "" or not a date: always) and its market's
 * name (not a known market: the prefix matches no market).  SUF_ERR_INPUT
 * when the digits are too long to match; the row is then left out. */
int suf_money_add_prefix(struct suf_money *m, const char *digits, const char *since,
                         const char *market);
/* Step 4: a rate card (rate_cards.id, its "YYYY-MM-DD" effective date, its
 * files.id or 0).  SUF_ERR_INPUT when the date is not one; the card is then
 * left out. */
int suf_money_add_card(struct suf_money *m, int64_t id, const char *effective,
                       int64_t file_id);
/* Any time before the model is read: where its map came from (see
 * suf_money_map_source; path and sha256 are copied, NULL is ""). */
void suf_money_set_map_source(struct suf_money *m, bool builtin, const char *path,
                              const char *sha256);

/* Step 5: sorts the map and makes every rate of every card n/a. */
void suf_money_cards_done(struct suf_money *m);

/* Step 6: the rate of `market` (an id) for `cat` on card `card` (an index,
 * in the order the cards were added).  SUF_ERR_INPUT when one is out of
 * range, or before step 5. */
int suf_money_set_rate(struct suf_money *m, int card, int market, int cat, int64_t micros);

#endif /* SUF_MONEY_MODEL_H */
