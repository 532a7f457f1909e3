/*
 * play.h: a responder for the record transport (send/transport.h) that
 * plays Meta's replies request by request, for the tests of the Graph
 * client's users: `status[i]`, `body[i]` and `retry_after[i]` answer
 * request i; past the end, the last one answers again.
 */
#ifndef SUF_TEST_PLAY_H
#define SUF_TEST_PLAY_H

#include <stddef.h>

#include "send/transport.h"

#define PLAY_MAX 8

struct play {
    struct suf_transport *t; /* the record transport playing it, for the test to read */
    int status[PLAY_MAX];
    const char *body[PLAY_MAX];
    const char *retry_after[PLAY_MAX];
    size_t n; /* replies set; 0: every request fails to connect */
};

/* The record transport's responder; `ctx` is a struct play. */
static inline void play_respond(void *ctx, const char *body, size_t seq, struct suf_reply *reply)
{
    const struct play *p = ctx;
    size_t i = seq < p->n ? seq : p->n - 1;

    (void)body;
    if (!p->n) {
        reply->net = SUF_NET_CONNECT;
        return;
    }
    reply->net = SUF_NET_OK;
    reply->http_status = p->status[i];
    reply->body = p->body[i];
    reply->retry_after = p->retry_after[i];
}

#endif /* SUF_TEST_PLAY_H */
