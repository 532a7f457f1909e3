/*
 * amount.c: exact decimal money parsing and printing (see amount.h).
 */
#include <ctype.h>
#include <stdio.h>

#include "base/amount.h"
#include "base/status.h"
#include "base/banned.h"

int suf_amount_parse(const char *s, int64_t *micros)
{
    int64_t units = 0, frac = 0;
    int nfrac = 0, ndigits = 0;

    if (!s)
        return SUF_ERR_INPUT;
    while (*s == ' ' || *s == '\t')
        s++;
    for (; isdigit((unsigned char)*s); s++, ndigits++) {
        if (units > (INT64_MAX / SUF_MICROS_PER_UNIT - 9) / 10)
            return SUF_ERR_INPUT;
        units = units * 10 + (*s - '0');
    }
    if (*s == '.') {
        s++;
        for (; isdigit((unsigned char)*s); s++, ndigits++) {
            if (++nfrac > 6)
                return SUF_ERR_INPUT;
            frac = frac * 10 + (*s - '0');
        }
    }
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s || ndigits == 0)
        return SUF_ERR_INPUT;
    for (; nfrac < 6; nfrac++)
        frac *= 10;
    *micros = units * SUF_MICROS_PER_UNIT + frac;
    return SUF_OK;
}

char *suf_amount_format(int64_t micros, char *buf, size_t size)
{
    const char *sign = "";
    uint64_t m = (uint64_t)micros;

    if (micros < 0) {
        sign = "-";
        m = (uint64_t)0 - m;
    }
    snprintf(buf, size, "%s%llu.%06llu", sign, (unsigned long long)(m / 1000000),
             (unsigned long long)(m % 1000000));
    return buf;
}
