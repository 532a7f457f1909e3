/*
 * test_utf8.c: the UTF-8 module: validation, counting, offsets, the cut
 * with "…" and the scrub for workbook cells.
 *
 * Every case is a row of {input, expected}.  The scrub rows hold what the
 * report's cells have always shown: bad bytes one '?' each, and a cut that
 * never leaves part of a character.
 */
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "testutil.h"

#define ELLIPSIS "\xe2\x80\xa6"
#define EMOJI "\xf0\x9f\x98\x80"   /* U+1F600, 4 bytes */
#define EURO "\xe2\x82\xac"        /* U+20AC, 3 bytes */
#define NAMASTE "\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87"

/* A string, a limit, and what a cut or a scrub makes of them. */
struct cut_row {
    const char *in;
    size_t max;
    const char *out;
};

/* Runs `fn` on each row: its result must be the row's, valid UTF-8, and
 * within the row's limit as `measure` counts (characters or bytes). */
static void check_cuts(const struct cut_row *rows, size_t n, char *(*fn)(const char *, size_t),
                       size_t (*measure)(const char *))
{
    for (size_t i = 0; i < n; i++) {
        char *out = fn(rows[i].in, rows[i].max);

        CU_ASSERT_STRING_EQUAL(out, rows[i].out);
        CU_ASSERT_TRUE(suf_utf8_valid(out, strlen(out)));
        CU_ASSERT(measure(out) <= rows[i].max);
        free(out);
    }
}

static void test_utf8__validation_table(void)
{
    static const struct {
        const char *s;
        int ok;
    } rows[] = {
        {"plain", 1},         {"caf\xc3\xa9", 1},        {"\xe0\xa4\xa8\xe0\xa4\xae", 1},
        {"\xf0\x9f\x98\x80", 1}, {"\xc3", 0},              {"\xc0\xaf", 0}, /* overlong */
        {"\xed\xa0\x80", 0},  /* surrogate */           {"\xff", 0},
        {"\xf4\x90\x80\x80", 0}, /* > U+10FFFF */       {"ab\xe0\xa4", 0},
        /* past eight ASCII bytes, which are checked a word at a time */
        {"a plain ASCII line, caf\xc3\xa9", 1}, {"a plain ASCII line\xff", 0},
        {"sixteen ascii b\xc3", 0},
        {"\xe0\x80\xaf", 0},     /* overlong, 3 bytes */
        {"\xf0\x80\x80\xaf", 0}, /* overlong, 4 bytes */
        {"\xef\xbf\xbf", 1},     /* U+FFFF */
        {"\xf4\x8f\xbf\xbf", 1}, /* U+10FFFF, the last */
        {"\x80", 0},             /* a continuation byte alone */
        {"\xc3(", 0},            /* a lead byte without its continuation */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        CU_ASSERT_EQUAL(suf_utf8_valid(rows[i].s, strlen(rows[i].s)), rows[i].ok);
    CU_ASSERT_FALSE(suf_utf8_valid("a\0b", 3));
    CU_ASSERT_FALSE(suf_utf8_valid("abcdefgh\0jklmnop", 16)); /* NUL inside a word */
    CU_ASSERT_FALSE(suf_utf8_valid("caf\xc3\xa9", 4)); /* the length cuts the last character */
}

static void test_utf8__chars_and_offsets_table(void)
{
    static const struct {
        const char *s;
        size_t chars;    /* suf_utf8_chars */
        size_t first;    /* an argument of suf_utf8_offset */
        size_t offset;   /* its byte offset */
    } rows[] = {
        {"", 0, 3, 0},
        {"abc", 3, 0, 0},
        {"abc", 3, 5, 3},
        {"caf\xc3\xa9!", 5, 3, 3},
        {"caf\xc3\xa9!", 5, 4, 5},
        {EMOJI "x", 2, 1, 4},
        {NAMASTE, 6, 3, 9},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        CU_ASSERT_EQUAL(suf_utf8_chars(rows[i].s), rows[i].chars);
        CU_ASSERT_EQUAL(suf_utf8_offset(rows[i].s, rows[i].first), rows[i].offset);
    }
}

static void test_utf8__floor_backs_off_to_a_character_start(void)
{
    static const struct {
        const char *s;
        size_t at, want;
    } rows[] = {
        {"abc", 0, 0},           {"abc", 2, 2},        {"caf\xc3\xa9", 3, 3},
        {"caf\xc3\xa9", 4, 3},   {"caf\xc3\xa9", 5, 5}, {EMOJI, 3, 0},
        {"a" EMOJI "b", 4, 1},   {"a" EMOJI "b", 5, 5},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        CU_ASSERT_EQUAL(suf_utf8_floor(rows[i].s, rows[i].at), rows[i].want);
}

static void test_utf8__cut_table(void)
{
    static const struct cut_row rows[] = {
        {NULL, 3, ""},
        {"Show me deals", 20, "Show me deals"},
        {"abcdef", 6, "abcdef"},
        {"abcdef", 3, "ab" ELLIPSIS},
        {"ab  cdef", 4, "ab" ELLIPSIS},
        {"", 5, ""},
        {"abc", 0, ""},
        {"abc", 1, ELLIPSIS},
        /* emoji (4 bytes each) */
        {"\xf0\x9f\x8e\x81\xf0\x9f\x8e\x81\xf0\x9f\x8e\x81", 2, "\xf0\x9f\x8e\x81" ELLIPSIS},
        /* Devanagari: namaste, 6 code points */
        {NAMASTE, 4, "\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8" ELLIPSIS},
        {"caf\xc3\xa9 au lait", 5, "caf\xc3\xa9" ELLIPSIS},
    };
    check_cuts(rows, sizeof(rows) / sizeof(rows[0]), suf_utf8_cut, suf_utf8_chars);
}

static void test_utf8__scrub_table(void)
{
    static const struct cut_row rows[] = {
        {"plain", 32, "plain"},
        {"caf\xc3\xa9", 32, "caf\xc3\xa9"},
        {"", 32, ""},
        {"abc", 0, ""},
        {"abcdef", 4, "abcd"},
        /* overlong forms: every byte of them is bad */
        {"a\xc0\xafz", 32, "a??z"},
        {"\xe0\x80\xaf.", 32, "???."},
        {"\xf0\x80\x80\xaf", 32, "????"},
        /* surrogates, and past U+10FFFF */
        {"\xed\xa0\x80x", 32, "???x"},
        {"\xf4\x90\x80\x80", 32, "????"},
        /* invalid lead bytes and stray continuation bytes */
        {"\xff\xfe", 32, "??"},
        {"\x80x\xbf", 32, "?x?"},
        {"\xf8\x88\x80\x80\x80", 32, "?????"},
        {"\xc3(", 32, "?("},
        /* a sequence truncated by the end of the string */
        {"ab\xe2\x82", 32, "ab??"},
        {"ab" EURO "\xf0\x9f\x98", 32, "ab" EURO "???"},
        /* ... and one truncated at the cut: its bytes are bad, one '?' each */
        {"abc\xe2\x82", 4, "abc?"},
        {"abc\xe2\x82", 5, "abc??"},
        /* a valid character that would not fit whole ends the copy */
        {"ab" EURO, 4, "ab"},
        {"ab" EURO "\xff", 4, "ab"},
        /* a 4-byte emoji at the limit: in when it fits exactly, else out */
        {"ab" EMOJI, 6, "ab" EMOJI},
        {"ab" EMOJI, 5, "ab"},
        {EMOJI EMOJI, 4, EMOJI},
        {EMOJI EMOJI, 7, EMOJI},
        {EMOJI EMOJI, 8, EMOJI EMOJI},
        /* bad bytes still fit where a character does not */
        {"ab\xff" EMOJI, 4, "ab?"},
        {"ab\xff\xff" EMOJI, 4, "ab??"},
    };
    check_cuts(rows, sizeof(rows) / sizeof(rows[0]), suf_utf8_scrub, strlen);
}

static const struct suf_test tests[] = {
    {"validation table", test_utf8__validation_table},
    {"chars and offsets", test_utf8__chars_and_offsets_table},
    {"floor", test_utf8__floor_backs_off_to_a_character_start},
    {"cut table", test_utf8__cut_table},
    {"scrub table", test_utf8__scrub_table},
    {NULL, NULL},
};

int main(void)
{
    return suf_test_main("utf8", tests);
}
