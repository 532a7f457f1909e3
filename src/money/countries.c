/*
 * countries.c: a country's calling code, from the table built into suf
 * (money_builtin.h).
 *
 * Meta's billing names the country of a message (ISO alpha-2), while suf
 * places a message in its market by the calling-code prefix of its phone.
 * Turning a country into a code lets the one market map decide both, on the
 * same day, with the same dated splits.
 */
#include <stdlib.h>
#include <string.h>

#include "money/money_builtin.h"
#include "base/banned.h"

static int cmp_country(const void *key, const void *row)
{
    return strcmp(key, ((const struct suf_country_row *)row)->country);
}

const char *suf_country_code(const char *country)
{
    const struct suf_country_row *r =
        bsearch(country, suf_country_builtin, suf_country_builtin_rows,
                sizeof(suf_country_builtin[0]), cmp_country);

    return r ? r->code : NULL;
}
