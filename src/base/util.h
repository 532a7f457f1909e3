/*
 * util.h: memory, strings and small helpers shared by every module.
 *
 * Out-of-memory policy, decided once: the suf_x* allocators report the size
 * that failed and exit with EX_OSERR.  Every other failure in suf is a
 * returned status.
 *
 * struct suf_buf is a growable byte buffer that always keeps a terminating
 * NUL after its `len` bytes.  Steps:
 *  1. `struct suf_buf b = SUF_BUF_INIT;`
 *  2. suf_buf_add / suf_buf_addf / suf_buf_addstr;
 *  3. use b.buf (never NULL after the first add; "" before);
 *  4. suf_buf_release(&b), or suf_buf_detach(&b) to take the string.
 */
#ifndef SUF_UTIL_H
#define SUF_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

void *suf_xmalloc(size_t size);
void *suf_xcalloc(size_t nmemb, size_t size);
void *suf_xrealloc(void *ptr, size_t size);
char *suf_xstrdup(const char *s);
char *suf_xstrndup(const char *s, size_t n);
/* A newly allocated string built like printf; the caller frees it. */
char *suf_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct suf_buf {
    char *buf;
    size_t len;
    size_t alloc;
};

#define SUF_BUF_INIT {NULL, 0, 0}

void suf_buf_init(struct suf_buf *b);
void suf_buf_grow(struct suf_buf *b, size_t extra);
void suf_buf_add(struct suf_buf *b, const void *data, size_t len);
void suf_buf_addstr(struct suf_buf *b, const char *s);
void suf_buf_addch(struct suf_buf *b, char c);
void suf_buf_addf(struct suf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void suf_buf_reset(struct suf_buf *b);   /* len = 0, memory kept */
void suf_buf_release(struct suf_buf *b); /* frees the memory, back to SUF_BUF_INIT */
/* Returns the string (never NULL) and leaves `b` empty; the caller frees it. */
char *suf_buf_detach(struct suf_buf *b);
/* Returns b->buf, or "" when nothing was ever added. */
const char *suf_buf_str(const struct suf_buf *b);

/* Copies at most dstsize-1 bytes and always NUL-terminates (dstsize > 0).
 * Returns strlen(src), so truncation is `ret >= dstsize`. */
size_t suf_strlcpy(char *dst, const char *src, size_t dstsize);

/* ASCII case-insensitive equality. NULLs are equal only to each other. */
bool suf_streq_fold(const char *a, const char *b);

/* Parses a whole string as a base-10 integer. Leading and trailing spaces are
 * allowed; anything else, an empty string or overflow is SUF_ERR_INPUT. */
int suf_parse_i64(const char *s, int64_t *out);

/* Trims ASCII white space at both ends, in place. Returns s. */
char *suf_trim(char *s);

#endif /* SUF_UTIL_H */
