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

/*
 * Normalises `in` into E.164 digits in out[SUF_PHONE_MAX].
 *  - spaces, dashes, dots, brackets and a leading "+" or "00" are dropped;
 *  - Excel's scientific notation ("9.19812E+11") is refused with that reason;
 *  - a number written without an international prefix and of national length
 *    (10 digits or fewer, or starting with a trunk 0) takes `default_cc`
 *    (e.g. "91") after its trunk 0 is dropped; with no default_cc it is
 *    refused ("no country code");
 *  - the result must have 8 to 15 digits and must not start with 0.
 * Returns SUF_OK, or SUF_ERR_INPUT with *why set to a static reason.
 */
int suf_phone_normalize(const char *in, const char *default_cc, char *out, const char **why);

/* Writes "+91******4567" for "919812344567", keeping `first` and `last`
 * digits. `out` must hold at least SUF_PHONE_MAX + 1 bytes. */
char *suf_phone_mask(const char *digits, int first, int last, char *out, size_t size);

#endif /* SUF_PHONE_H */
