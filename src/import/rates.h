/*
 * rates.h: importing Meta's rate cards and the calling-code market map.
 *
 * Rate card (`suf import rates FILE --effective YYYY-MM-DD [--currency CUR]`):
 * Meta's CSV exactly as published.
 *  - note rows come first and are skipped;
 *  - the header is the first row whose first cell is `Market` and that names
 *    a Utility or Marketing column; a header cell may hold an embedded
 *    newline ("Authentication-\nInternational");
 *  - columns are matched by name, folding case and ignoring spaces,
 *    newlines, dashes and underscores and any "(...)" remark: Market,
 *    Currency, Marketing, Utility, Authentication,
 *    Authentication-International, Service; others are ignored;
 *  - `n/a` (or an empty cell) is stored as NULL: no rate;
 *  - amounts are exact decimals parsed into micros (suf_amount_parse); a
 *    row with an amount we cannot read, a currency other than the card's or
 *    a market given twice is rejected, the others import;
 *  - a row whose rate cells are all blank is a note, not a rate;
 *  - every record after the header is stored, skipped as a note or rejected
 *    with its line: a record with invalid UTF-8 (a NUL byte included), a
 *    field over 64 KiB or over 4096 fields is rejected whole, and a market
 *    name over SUF_RATES_MARKET_MAX bytes is rejected, never cut;
 *  - a row the reader cannot read whole is never taken for the header: a
 *    file whose only header is such a row is refused, naming the first
 *    unreadable line.
 * Without --effective, the date comes from the file name
 * ("USD_2026-10-01.csv"); without --currency, from the file name's leading
 * three-letter code, else the config's `currency`.  A card is unique by
 * currency and effective date: importing another file for the same pair
 * replaces that card's rates.
 *
 * Market map (`suf import markets FILE`): a CSV with the header
 * `prefix,market[,since]`.  prefix is a calling code with any area digits
 * ("1809"; "+", spaces and dashes are dropped); since, when set, is the
 * YYYY-MM-DD from which the row applies (markets split out on 2026-10-01 have
 * a dated row beside their group's undated one).  A map replaces the
 * previous map as a whole, or the map built into suf (money_builtin.h)
 * while none was imported.  A map with no usable row is refused, and the
 * map in use is kept.  Its records are read and rejected like a rate
 * card's.
 *
 * Both read through the import area's CSV reader (csvread.h), so memory
 * stays flat whatever the size of a line or a field.
 */
#ifndef SUF_RATES_H
#define SUF_RATES_H

#include "import/import.h"

/* The longest market name kept, in bytes, after white space is folded. */
#define SUF_RATES_MARKET_MAX 128

/* The rate-card columns, as suf_rates_column() names them. */
enum suf_rates_col {
    SUF_RATES_COL_NONE = -1,
    SUF_RATES_COL_MARKET = 0,
    SUF_RATES_COL_CURRENCY,
    SUF_RATES_COL_MARKETING,
    SUF_RATES_COL_UTILITY,
    SUF_RATES_COL_AUTHENTICATION,
    SUF_RATES_COL_AUTHENTICATION_INTL,
    SUF_RATES_COL_SERVICE,
    SUF_RATES_NCOLS
};

/* The column a header cell names, SUF_RATES_COL_NONE when none. */
int suf_rates_column(const char *header_cell);

/* The effective date ("YYYY-MM-DD") found in a file name, copied to out[11];
 * SUF_ERR_NOTFOUND when the name holds none. */
int suf_rates_date_from_name(const char *path, char out[11]);

/* The import kinds (see import.h for the driver around them). */
int suf_import_rates(struct suf_import_file *f, FILE *in, struct suf_err *err);
int suf_import_markets(struct suf_import_file *f, FILE *in, struct suf_err *err);

#endif /* SUF_RATES_H */
