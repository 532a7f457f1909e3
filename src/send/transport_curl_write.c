/*
 * transport_curl_write.c: the libcurl callbacks of the curl transport, one
 * concern each (see transport_curl.h).
 *
 * The body callback keeps at most the transport's cap of bytes and then reports
 * a short write, which libcurl turns into CURLE_WRITE_ERROR: an oversized
 * reply is a transport failure, not a parse surprise.  The header callback
 * keeps only Retry-After; a redirect or an interim 1xx reply starts a new
 * header block, so the value is reset on each status line.
 *
 * The pre-request callback is the one moment libcurl offers between "the
 * connection is made" and "the first byte of the request is written": the
 * send stage notes there, durably, that the request may reach the API, so
 * that after a crash a request without that note provably never left.
 *
 * The socket callback is the last word on where plain http goes: whatever
 * the URL said and whatever the resolver answered ("localhost" mapped to
 * another host, say), libcurl gets a socket only for a loopback address.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "send/transport_curl.h"
#include "base/banned.h"

size_t suf_curl_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct suf_xfer *x = userdata;
    size_t n = size * nmemb;

    if (x->reply.len + n > x->max_reply)
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

int suf_curl_prereq_cb(void *clientp, char *conn_primary_ip, char *conn_local_ip,
                       int conn_primary_port, int conn_local_port)
{
    struct suf_xfer *x = clientp;

    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    if (x->leaving && !x->leaving(x->leaving_ctx, x->tag)) {
        x->held = true;
        return CURL_PREREQFUNC_ABORT;
    }
    x->left = true;
    return CURL_PREREQFUNC_OK;
}

/* True for 127.0.0.0/8 and ::1, also written as ::ffff:127.x.y.z. */
static bool loopback_address(const struct sockaddr *sa, char *text, size_t size)
{
    if (sa->sa_family == AF_INET) {
        const struct in_addr *a =
            &((const struct sockaddr_in *)(const void *)sa)->sin_addr;

        inet_ntop(AF_INET, a, text, (socklen_t)size);
        return (ntohl(a->s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a =
            &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

        inet_ntop(AF_INET6, a, text, (socklen_t)size);
        return IN6_IS_ADDR_LOOPBACK(a) ||
               (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    snprintf(text, size, "an address of family %d", (int)sa->sa_family);
    return false;
}

curl_socket_t suf_curl_loopback_socket_cb(void *clientp, curlsocktype purpose,
                                          struct curl_sockaddr *address)
{
    struct suf_xfer *x = clientp;
    char text[INET6_ADDRSTRLEN + 32];

    if (purpose != CURLSOCKTYPE_IPCXN ||
        !loopback_address(&address->addr, text, sizeof(text))) {
        if (purpose != CURLSOCKTYPE_IPCXN)
            snprintf(text, sizeof(text), "a socket of another kind");
        snprintf(x->refused, sizeof(x->refused), "%s", text);
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}
