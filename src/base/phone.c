/*
 * phone.c: phone normalisation and masking (see phone.h).
 *
 * The parser says what is wrong with a number as an enum, so that callers
 * decide on the kind of error (the importer keeps numbers too short or too
 * long for E.164, flagged) and never on the wording, which lives in one
 * table here.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/phone.h"
#include "base/status.h"
#include "base/util.h"
#include "base/banned.h"

/* What is wrong with a number, worded to follow it in a message:
 * "phone '<number>' <message>".  One entry per enum suf_phone_error. */
static const char *const messages[SUF_PHONE_ERROR_COUNT] = {
    [SUF_PHONE_OK] = "is a valid number",
    [SUF_PHONE_EMPTY] = "is empty",
    [SUF_PHONE_SCIENTIFIC] = "looks like Excel scientific notation",
    [SUF_PHONE_NOT_A_NUMBER] = "is not a number",
    [SUF_PHONE_TOO_MANY_DIGITS] = "has too many digits",
    [SUF_PHONE_NO_COUNTRY_CODE] =
        "has no country code, and no default_country_code is configured",
    [SUF_PHONE_ZERO_COUNTRY_CODE] = "country code cannot start with 0",
    [SUF_PHONE_TOO_SHORT] = "is too short for E.164",
    [SUF_PHONE_TOO_LONG] = "is too long for E.164",
};

/*
 * Separators are more than ASCII: spreadsheets and word processors write a
 * no-break space (U+00A0), a narrow no-break space (U+202F) or a figure
 * space (U+2007) where someone typed a space, and a typographic dash
 * (U+2010..U+2015) or a minus sign (U+2212) where someone typed a hyphen.
 * Each counts as its ASCII twin.  The bytes are matched as UTF-8 one at a
 * time, so a string ending early (a NUL) stops the match before the next.
 */

/* The length in bytes of the space (ASCII or Unicode) at p, or 0. */
static size_t space_len(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;

    if (u[0] == ' ' || u[0] == '\t')
        return 1;
    if (u[0] == 0xc2 && u[1] == 0xa0) /* U+00A0 */
        return 2;
    if (u[0] == 0xe2 && u[1] == 0x80 && (u[2] == 0x87 || u[2] == 0xaf)) /* U+2007, U+202F */
        return 3;
    return 0;
}

/* The length in bytes of the separator between digit groups at p (a space,
 * a dash, a dot or a bracket), or 0. */
static size_t separator_len(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;

    if (u[0] == '-' || u[0] == '.' || u[0] == '(' || u[0] == ')')
        return 1;
    if (u[0] == 0xe2 && u[1] == 0x80 && u[2] >= 0x90 && u[2] <= 0x95) /* U+2010..U+2015 */
        return 3;
    if (u[0] == 0xe2 && u[1] == 0x88 && u[2] == 0x92) /* U+2212 */
        return 3;
    return space_len(p);
}

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
    while (space_len(p))
        p += space_len(p);
    return *p == '\0';
}

enum suf_phone_error suf_phone_parse(const char *in, const char *default_cc, char *out)
{
    char digits[64];
    size_t n = 0;
    int international = 0;
    const char *p = in;

    while (space_len(p))
        p += space_len(p);
    if (!*p)
        return SUF_PHONE_EMPTY;
    if (looks_scientific(p))
        return SUF_PHONE_SCIENTIFIC;
    {
        /* "+44 ...", "(+44) ...": a plus before the first digit. */
        const char *q = p;
        while (*q == '(' || space_len(q))
            q += *q == '(' ? 1 : space_len(q);
        if (*q == '+') {
            international = 1;
            p = q + 1;
        }
    }
    while (*p) {
        size_t sep = separator_len(p);

        if (sep) {
            p += sep;
        } else if (isdigit((unsigned char)*p)) {
            if (n == sizeof(digits) - 1)
                return SUF_PHONE_TOO_MANY_DIGITS;
            digits[n++] = *p++;
        } else {
            return SUF_PHONE_NOT_A_NUMBER;
        }
    }
    digits[n] = '\0';
    if (n == 0)
        return SUF_PHONE_NOT_A_NUMBER;
    if (!international && n > 2 && digits[0] == '0' && digits[1] == '0') {
        international = 1;
        memmove(digits, digits + 2, n - 1);
        n -= 2;
    }
    if (!international && (n <= 10 || digits[0] == '0')) {
        size_t cclen, skip = digits[0] == '0' ? 1 : 0;
        if (!default_cc || !*default_cc)
            return SUF_PHONE_NO_COUNTRY_CODE;
        cclen = strlen(default_cc);
        if (cclen + n - skip >= sizeof(digits))
            return SUF_PHONE_TOO_MANY_DIGITS;
        memmove(digits + cclen, digits + skip, n - skip + 1);
        memcpy(digits, default_cc, cclen);
        n = cclen + n - skip;
    }
    if (digits[0] == '0')
        return SUF_PHONE_ZERO_COUNTRY_CODE;
    if (n < 8)
        return SUF_PHONE_TOO_SHORT;
    if (n > 15)
        return SUF_PHONE_TOO_LONG;
    memcpy(out, digits, n + 1);
    return SUF_PHONE_OK;
}

const char *suf_phone_strerror(enum suf_phone_error e)
{
    if ((unsigned)e >= SUF_PHONE_ERROR_COUNT || !messages[e])
        return "unknown phone error";
    return messages[e];
}

int suf_phone_normalize(const char *in, const char *default_cc, char *out, const char **why)
{
    enum suf_phone_error e = suf_phone_parse(in, default_cc, out);

    if (e == SUF_PHONE_OK)
        return SUF_OK;
    *why = suf_phone_strerror(e);
    return SUF_ERR_INPUT;
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
