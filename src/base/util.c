/*
 * util.c: the allocation policy and the small string toolkit of util.h.
 *
 * Everything here is deliberately boring: it is used on every row of every
 * input, so it must be obviously right and cheap.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "base/status.h"
#include "base/util.h"
#include "base/banned.h"

static void die_oom(size_t size)
{
    /* No allocation here: stderr is unbuffered and the message is static. */
    fprintf(stderr, "suf: fatal: out of memory allocating %zu bytes\n", size);
    exit(EX_OSERR);
}

void *suf_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (!p)
        die_oom(size);
    return p;
}

void *suf_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (!p)
        die_oom(nmemb * size);
    return p;
}

void *suf_xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (!p)
        die_oom(size);
    return p;
}

char *suf_xstrdup(const char *s)
{
    return suf_xstrndup(s, strlen(s));
}

char *suf_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = suf_xmalloc(len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *suf_xasprintf(const char *fmt, ...)
{
    struct suf_buf b = SUF_BUF_INIT;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    suf_buf_grow(&b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b.buf, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b.len = (size_t)n;
    return suf_buf_detach(&b);
}

void suf_buf_init(struct suf_buf *b)
{
    b->buf = NULL;
    b->len = 0;
    b->alloc = 0;
}

void suf_buf_grow(struct suf_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;

    if (need <= b->alloc)
        return;
    if (need < b->alloc * 2)
        need = b->alloc * 2;
    if (need < 64)
        need = 64;
    b->buf = suf_xrealloc(b->buf, need);
    b->alloc = need;
}

void suf_buf_add(struct suf_buf *b, const void *data, size_t len)
{
    suf_buf_grow(b, len);
    if (len)
        memcpy(b->buf + b->len, data, len);
    b->len += len;
    b->buf[b->len] = '\0';
}

void suf_buf_addstr(struct suf_buf *b, const char *s)
{
    suf_buf_add(b, s, strlen(s));
}

void suf_buf_addch(struct suf_buf *b, char c)
{
    suf_buf_add(b, &c, 1);
}

void suf_buf_addf(struct suf_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    suf_buf_grow(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void suf_buf_reset(struct suf_buf *b)
{
    b->len = 0;
    if (b->buf)
        b->buf[0] = '\0';
}

void suf_buf_release(struct suf_buf *b)
{
    free(b->buf);
    suf_buf_init(b);
}

char *suf_buf_detach(struct suf_buf *b)
{
    char *s = b->buf ? b->buf : suf_xstrdup("");

    suf_buf_init(b);
    return s;
}

const char *suf_buf_str(const struct suf_buf *b)
{
    return b->buf ? b->buf : "";
}

size_t suf_strlcpy(char *dst, const char *src, size_t dstsize)
{
    size_t len = strlen(src);

    if (dstsize) {
        size_t n = len < dstsize - 1 ? len : dstsize - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

bool suf_streq_fold(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcasecmp(a, b) == 0;
}

int suf_parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (!s)
        return SUF_ERR_INPUT;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s)
        return SUF_ERR_INPUT;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno == ERANGE || end == s)
        return SUF_ERR_INPUT;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end)
        return SUF_ERR_INPUT;
    *out = (int64_t)v;
    return SUF_OK;
}

char *suf_trim(char *s)
{
    size_t lead = strspn(s, " \t\r\n");
    char *end;

    if (lead)
        memmove(s, s + lead, strlen(s + lead) + 1);
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
        *--end = '\0';
    return s;
}
