/*
 * phone.c: phone normalisation and masking (see phone.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/phone.h"
#include "base/status.h"
#include "base/util.h"
#include "base/banned.h"

/* "9.19812E+11", "9.19812e11", "9E+11": what Excel makes of a long number. */
static int looks_scientific(const char *s)
{
    const char *p = s;

    if (!isdigit((unsigned char)*p))
        return 0;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.' || *p == ',') {
        p++;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p != 'E' && *p != 'e')
        return 0;
    p++;
    if (*p == '+')
        p++;
    if (!isdigit((unsigned char)*p))
        return 0;
    while (isdigit((unsigned char)*p))
        p++;
    while (*p == ' ')
        p++;
    return *p == '\0';
}

int suf_phone_normalize(const char *in, const char *default_cc, char *out, const char **why)
{
    char digits[64];
    size_t n = 0;
    int international = 0;
    const char *p = in;

    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p) {
        *why = "phone is empty";
        return SUF_ERR_INPUT;
    }
    if (looks_scientific(p)) {
        *why = "looks like Excel scientific notation";
        return SUF_ERR_INPUT;
    }
    {
        /* "+44 ...", "(+44) ...": a plus before the first digit. */
        const char *q = p + strspn(p, " (");
        if (*q == '+') {
            international = 1;
            p = q + 1;
        }
    }
    for (; *p; p++) {
        if (isdigit((unsigned char)*p)) {
            if (n == sizeof(digits) - 1) {
                *why = "phone has too many digits";
                return SUF_ERR_INPUT;
            }
            digits[n++] = *p;
        } else if (*p == ' ' || *p == '-' || *p == '.' || *p == '(' || *p == ')' || *p == '\t') {
            continue;
        } else {
            *why = "phone is not a number";
            return SUF_ERR_INPUT;
        }
    }
    digits[n] = '\0';
    if (n == 0) {
        *why = "phone is not a number";
        return SUF_ERR_INPUT;
    }
    if (!international && n > 2 && digits[0] == '0' && digits[1] == '0') {
        international = 1;
        memmove(digits, digits + 2, n - 1);
        n -= 2;
    }
    if (!international && (n <= 10 || digits[0] == '0')) {
        size_t cclen, skip = digits[0] == '0' ? 1 : 0;
        if (!default_cc || !*default_cc) {
            *why = "no country code, and no default_country_code is configured";
            return SUF_ERR_INPUT;
        }
        cclen = strlen(default_cc);
        if (cclen + n - skip >= sizeof(digits)) {
            *why = "phone has too many digits";
            return SUF_ERR_INPUT;
        }
        memmove(digits + cclen, digits + skip, n - skip + 1);
        memcpy(digits, default_cc, cclen);
        n = cclen + n - skip;
    }
    if (digits[0] == '0') {
        *why = "country code cannot start with 0";
        return SUF_ERR_INPUT;
    }
    if (n < 8 || n > 15) {
        *why = n < 8 ? "phone is too short for E.164" : "phone is too long for E.164";
        return SUF_ERR_INPUT;
    }
    memcpy(out, digits, n + 1);
    return SUF_OK;
}

char *suf_phone_mask(const char *digits, int first, int last, char *out, size_t size)
{
    size_t n = strlen(digits), i, o = 0;

    if (size < 2)
        return out;
    out[o++] = '+';
    for (i = 0; i < n && o + 1 < size; i++) {
        int keep = (int)i < first || i >= n - (size_t)(last < 0 ? 0 : last);
        out[o++] = keep ? digits[i] : '*';
    }
    out[o] = '\0';
    return out;
}
