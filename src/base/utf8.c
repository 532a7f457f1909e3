/*
 * utf8.c: validation, counting, cutting and repair of UTF-8 (see utf8.h).
 *
 * One decoder, char_len, says whether the bytes at a position are one valid
 * character and how long it is; validation and repair both walk it, so they
 * cannot disagree on what is valid.  Counting and cutting only look at lead
 * and continuation bytes, which is all they need on valid text.
 *
 * suf_utf8_valid runs on every field of every imported row, so it checks
 * eight ASCII bytes at a time before it falls back to the decoder.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "base/util.h"
#include "base/banned.h"

#define ELLIPSIS "\xe2\x80\xa6"

static bool is_continuation(char c)
{
    return ((unsigned char)c & 0xC0) == 0x80;
}

/* The length of the valid character at s[0..avail) (avail > 0), or 0 when
 * the bytes there are not one: NUL, a continuation or invalid lead byte, a
 * sequence cut short by avail or by a byte that does not continue it, an
 * overlong form, a surrogate, or a code point past U+10FFFF. */
static inline size_t char_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    uint32_t cp;
    size_t n;

    if (c < 0x80) {
        return c ? 1 : 0;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n > avail)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
        return 0; /* overlong */
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* True when the eight bytes at s are ASCII without NUL. */
static bool ascii8(const unsigned char *s)
{
    const uint64_t high = 0x8080808080808080u, ones = 0x0101010101010101u;
    uint64_t w;

    memcpy(&w, s, 8);
    return !(w & high) && !((w - ones) & ~w & high); /* no high bit, no zero byte */
}

bool suf_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < len) {
        size_t n;

        /* most text is ASCII: eight bytes at a time, then one at a time,
         * spare the decoder */
        if (i + 8 <= len && ascii8(s + i)) {
            i += 8;
            continue;
        }
        if (s[i] && s[i] < 0x80) {
            i++;
            continue;
        }
        if (!(n = char_len(s + i, len - i)))
            return false;
        i += n;
    }
    return true;
}

size_t suf_utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (!is_continuation(*s))
            n++;
    return n;
}

size_t suf_utf8_offset(const char *s, size_t chars)
{
    size_t off = 0;

    while (s[off] && chars--) {
        off++;
        while (is_continuation(s[off]))
            off++;
    }
    return off;
}

size_t suf_utf8_floor(const char *s, size_t at)
{
    while (at && is_continuation(s[at]))
        at--;
    return at;
}

char *suf_utf8_cut(const char *in, size_t max)
{
    size_t keep;

    if (!in || max == 0)
        return suf_xstrdup("");
    if (suf_utf8_chars(in) <= max)
        return suf_xstrdup(in);
    keep = suf_utf8_offset(in, max - 1);
    while (keep > 0 && in[keep - 1] == ' ')
        keep--;
    return suf_xasprintf("%.*s" ELLIPSIS, (int)keep, in);
}

char *suf_utf8_scrub(const char *str, size_t max)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t len = strlen(str), i = 0, o = 0;
    char *out = suf_xmalloc((len < max ? len : max) + 1);

    while (i < len && o < max) {
        size_t n = char_len(s + i, len - i);

        if (!n) {
            out[o++] = '?'; /* one byte at a time: what follows may be valid */
            i++;
            continue;
        }
        if (o + n > max)
            break;
        memcpy(out + o, s + i, n);
        o += n;
        i += n;
    }
    out[o] = '\0';
    return out;
}
