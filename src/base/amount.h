/*
 * amount.h: money as integers.
 *
 * An amount is an int64_t count of millionths of the currency unit
 * ("micros"): 0.0113 USD is 11300.  Amounts are added and multiplied as
 * integers; they become floating point only at the moment a report cell is
 * written.  int64 micros hold 9.2e12 currency units, far beyond any bill.
 */
#ifndef SUF_AMOUNT_H
#define SUF_AMOUNT_H

#include <stddef.h>
#include <stdint.h>

#define SUF_MICROS_PER_UNIT INT64_C(1000000)

/*
 * Parses a decimal written with a dot ("12.50", "0.0113", "7", ".5") into
 * micros.  Surrounding spaces are allowed.  A sign, more than six decimals,
 * a thousands separator, an exponent or overflow is SUF_ERR_INPUT: a price
 * we would have to round is a price we did not understand.
 */
int suf_amount_parse(const char *s, int64_t *micros);

/* Writes micros as a plain decimal with six places ("0.011300"). */
char *suf_amount_format(int64_t micros, char *buf, size_t size);

#endif /* SUF_AMOUNT_H */
