/*
 * money_builtin.h: the market map built into suf.
 *
 * A fresh store holds no market map, and without one every phone would
 * fall in "Other" and be priced at Other's rates, in silence.  So suf
 * carries the map that ships in fixtures/markets.csv: the build generates
 * its rows (scripts/markets-table.cmake writes markets_builtin.c in the
 * build folder), and suf_money_load() uses them whenever the store has no
 * imported map.  `suf import markets FILE` replaces it.
 *
 * Invariants: the rows are the CSV's, in its order, already in the shape
 * the importer stores (digits only; since "" or YYYY-MM-DD; market names
 * trimmed), and the table is constant: nothing frees or changes it.
 */
#ifndef SUF_MONEY_BUILTIN_H
#define SUF_MONEY_BUILTIN_H

#include <stddef.h>

/* One row of the map: a calling-code prefix, the day it applies from ("":
 * always) and its market. */
struct suf_money_map_row {
    const char *prefix, *since, *market;
};

extern const struct suf_money_map_row suf_money_builtin_map[];
extern const size_t suf_money_builtin_map_rows;
/* The SHA-256 (lowercase hex) of the fixtures/markets.csv the rows were
 * generated from: the built-in map's version, as the Inputs sheet shows it. */
extern const char suf_money_builtin_map_sha256[];

/*
 * The countries built into suf, from fixtures/countries.csv
 * (scripts/countries-table.cmake writes countries_builtin.c): an ISO 3166-1
 * alpha-2 code, as Meta's billing names a country, and one calling code of
 * it, as the market map's prefixes name it.  A country with several codes
 * (the Dominican Republic: 1809, 1829, 1849) has one whose market is the
 * country's; a country of a shared code (the United States and Canada: 1)
 * has that code.  The rows are sorted by country.
 */
struct suf_country_row {
    const char *country, *code;
};

extern const struct suf_country_row suf_country_builtin[];
extern const size_t suf_country_builtin_rows;

/* The calling code of ISO alpha-2 `country` ("US" -> "1"), NULL when the
 * table does not have it.  Static text. */
const char *suf_country_code(const char *country);

#endif /* SUF_MONEY_BUILTIN_H */
