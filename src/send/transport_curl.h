/*
 * transport_curl.h: private to the libcurl transport (transport_curl*.c).
 *
 * One `struct suf_xfer` per easy handle, reused from request to request so
 * libcurl keeps its connections and buffers.  The libcurl callbacks live in
 * transport_curl_write.c, one concern each: the reply body, the reply
 * headers (only Retry-After is kept), the moment before a request goes out
 * (the caller's `leaving` hook), and the sockets of plain http (loopback
 * addresses only).
 */
#ifndef SUF_TRANSPORT_CURL_H
#define SUF_TRANSPORT_CURL_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "base/util.h"
#include "send/transport.h"

struct suf_xfer {
    CURL *easy;
    struct suf_buf reply;
    size_t max_reply; /* the transport's reply cap */
    char retry_after[128]; /* "" when the reply had none */
    char errbuf[CURL_ERROR_SIZE];
    void *tag;
    suf_transport_leaving_fn leaving; /* the request's hook, may be NULL */
    void *leaving_ctx;
    bool left;        /* the request started to go out */
    bool held;        /* `leaving` said no: it never left */
    char refused[64]; /* a non-loopback address plain http was refused, or "" */
    struct suf_xfer *next_free;
};

/* CURLOPT_WRITEFUNCTION: appends to xfer->reply (userdata = the xfer), at
 * most xfer->max_reply bytes in all. */
size_t suf_curl_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata);
/* CURLOPT_HEADERFUNCTION: keeps Retry-After in xfer->retry_after. */
size_t suf_curl_header_cb(char *buffer, size_t size, size_t nitems, void *userdata);
/* CURLOPT_PREREQFUNCTION: runs the xfer's `leaving` hook (clientp = the
 * xfer); sets xfer->left, or xfer->held and aborts the request. */
int suf_curl_prereq_cb(void *clientp, char *conn_primary_ip, char *conn_local_ip,
                       int conn_primary_port, int conn_local_port);
/* CURLOPT_OPENSOCKETFUNCTION for plain http: opens the socket only for a
 * loopback address (127.0.0.0/8, ::1, or 127/8 mapped into IPv6); for any
 * other, notes it in xfer->refused (clientp = the xfer) and fails. */
curl_socket_t suf_curl_loopback_socket_cb(void *clientp, curlsocktype purpose,
                                          struct curl_sockaddr *address);

#endif /* SUF_TRANSPORT_CURL_H */
