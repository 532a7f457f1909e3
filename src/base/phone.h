/*
 * phone.h: phone numbers as E.164 digits, and their masking.
 *
 * suf keys recipients by the E.164 digits of their phone, without "+":
 * "+91 98123-44567", "0091 9812344567" and "919812344567" are one recipient.
 */
#ifndef SUF_PHONE_H
#define SUF_PHONE_H

#include <stddef.h>

#define SUF_PHONE_MAX 16 /* 15 digits and a NUL */

/* What is wrong with a phone number.  suf_phone_strerror() words each. */
enum suf_phone_error {
    SUF_PHONE_OK = 0,            /* A valid number. */
    SUF_PHONE_EMPTY,             /* Nothing, or only white space. */
    SUF_PHONE_SCIENTIFIC,        /* Excel's scientific notation: its digits are lost. */
    SUF_PHONE_NOT_A_NUMBER,      /* No digits, or a character no number holds. */
    SUF_PHONE_TOO_MANY_DIGITS,   /* More digits than the parser holds: not a phone. */
    SUF_PHONE_NO_COUNTRY_CODE,   /* A national number, and no default_cc for it. */
    SUF_PHONE_ZERO_COUNTRY_CODE, /* The country code would start with 0. */
    SUF_PHONE_TOO_SHORT,         /* A number, but of fewer than 8 digits: not E.164. */
    SUF_PHONE_TOO_LONG,          /* A number, but of more than 15 digits: not E.164. */
    SUF_PHONE_ERROR_COUNT        /* Number of values; not an error. */
};

/*
 * Parses `in` into E.164 digits in out[SUF_PHONE_MAX]:
 *  - spaces, dashes, dots, brackets and a leading "+" or "00" are dropped;
 *    the spaces and dashes spreadsheets write count too: no-break, narrow
 *    no-break and figure spaces (U+00A0, U+202F, U+2007), the dashes
 *    U+2010..U+2015 and the minus sign U+2212;
 *  - Excel's scientific notation ("9.19812E+11") is refused as such;
 *  - a number written without an international prefix and of national length
 *    (10 digits or fewer, or starting with a trunk 0) takes `default_cc`
 *    (e.g. "91") after its trunk 0 is dropped; with no default_cc it is
 *    refused (SUF_PHONE_NO_COUNTRY_CODE);
 *  - the result must have 8 to 15 digits and must not start with 0.
 * Returns SUF_PHONE_OK, or what is wrong; `out` is written only on success.
 */
enum suf_phone_error suf_phone_parse(const char *in, const char *default_cc, char *out);

/* What is wrong, worded to follow the number it is about, as in
 * "phone '9.19812E+11' looks like Excel scientific notation".  Static text,
 * never NULL ("unknown phone error" for a value outside the enum). */
const char *suf_phone_strerror(enum suf_phone_error e);

/* suf_phone_parse for callers that want a status: SUF_OK, or SUF_ERR_INPUT
 * with *why set to suf_phone_strerror's (static) text. */
int suf_phone_normalize(const char *in, const char *default_cc, char *out, const char **why);

/* Writes "+91******4567" for "919812344567", keeping `first` and `last`
 * digits. `out` must hold at least SUF_PHONE_MAX + 1 bytes. */
char *suf_phone_mask(const char *digits, int first, int last, char *out, size_t size);

#endif /* SUF_PHONE_H */
