/*
 * utf8.h: UTF-8 text, the one place suf decodes it.
 *
 * suf never needs code point values, only their boundaries: whether bytes
 * are valid UTF-8, how many characters a string holds, where the first n of
 * them end, and how to cut or repair a string without splitting one.  Every
 * input that reaches a limit counted in characters (Meta's titles and
 * bodies) or a format that must stay valid (JSON, a workbook's XML) goes
 * through these functions.
 *
 * Invariants:
 *  - "valid" means RFC 3629: no overlong forms, no surrogates, nothing past
 *    U+10FFFF, and (suf's own rule) no NUL byte;
 *  - a character is a code point, not a grapheme cluster;
 *  - functions that take a C string and count or cut characters expect
 *    valid UTF-8; on other bytes they stay in bounds and never split a
 *    valid character, but the count means little.
 *
 * Ownership: suf_utf8_cut and suf_utf8_scrub return new strings that the
 * caller frees; nothing else allocates.
 */
#ifndef SUF_UTF8_H
#define SUF_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is valid UTF-8 (see above). */
bool suf_utf8_valid(const char *s, size_t len);

/* The number of characters (code points) in a valid UTF-8 string. */
size_t suf_utf8_chars(const char *s);

/* The byte offset just after the first `chars` characters of `s`, or
 * strlen(s) when it has fewer. */
size_t suf_utf8_offset(const char *s, size_t chars);

/* The largest offset, at most `at`, where a character of `s` starts: a cut
 * there leaves no partial character before it.  s[0..at] must be readable. */
size_t suf_utf8_floor(const char *s, size_t at);

/* Copies at most `max` characters of `in` into a new string, ending with
 * "…" (one of the `max`) when cut, with the spaces before the "…" dropped;
 * never splits a character.  NULL or max 0 gives "".  The caller frees it.
 *
 * NEEDSWORK: the cut falls between code points, not grapheme clusters, so
 * a flag or a ZWJ emoji sequence, or a Devanagari consonant and its vowel
 * sign, can lose its second half.  The result is valid UTF-8, and Meta
 * counts code points too; a cluster-aware cut needs a Unicode library. */
char *suf_utf8_cut(const char *in, size_t max);

/* A new copy of `s` that is valid UTF-8 of at most `max` bytes: each byte
 * that does not begin a valid character becomes '?', and the copy ends
 * before the first valid character that would not fit whole.  For text
 * bound for a format that refuses bad bytes (a workbook cell).  The caller
 * frees it. */
char *suf_utf8_scrub(const char *s, size_t max);

#endif /* SUF_UTF8_H */
