/*
 * transport_curl_write.c: the libcurl callbacks of the curl transport, one
 * concern each (see transport_curl.h).
 *
 * The body callback keeps at most SUF_CURL_MAX_REPLY bytes and then reports
 * a short write, which libcurl turns into CURLE_WRITE_ERROR: an oversized
 * reply is a transport failure, not a parse surprise.  The header callback
 * keeps only Retry-After; a redirect or an interim 1xx reply starts a new
 * header block, so the value is reset on each status line.
 */
#include <string.h>
#include <strings.h>

#include "send/transport_curl.h"
#include "base/banned.h"

size_t suf_curl_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct suf_xfer *x = userdata;
    size_t n = size * nmemb;

    if (x->reply.len + n > SUF_CURL_MAX_REPLY)
        return 0;
    suf_buf_add(&x->reply, ptr, n);
    return n;
}

size_t suf_curl_header_cb(char *buffer, size_t size, size_t nitems, void *userdata)
{
    static const char name[] = "retry-after:";
    struct suf_xfer *x = userdata;
    size_t n = size * nitems, len;
    const char *v;

    if (n >= 5 && !strncmp(buffer, "HTTP/", 5)) {
        x->retry_after[0] = '\0';
        return n;
    }
    if (n <= sizeof(name) - 1 || strncasecmp(buffer, name, sizeof(name) - 1))
        return n;
    v = buffer + sizeof(name) - 1;
    len = n - (sizeof(name) - 1);
    while (len && (*v == ' ' || *v == '\t')) {
        v++;
        len--;
    }
    while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
        len--;
    if (len >= sizeof(x->retry_after))
        len = sizeof(x->retry_after) - 1;
    memcpy(x->retry_after, v, len);
    x->retry_after[len] = '\0';
    return n;
}
