/*
 * transport_record.c: a transport that sends nothing (see transport.h).
 *
 * --dry-run uses it to write the outbox: each request body, byte for byte
 * as stored, one per line, so an operator (or a test) can compare it with
 * what a real send posts.  No token is involved at all, so none can leak.
 * Unit tests use it to capture requests and to play canned replies, which
 * is how the send loop's state machine is tested without a network.  A
 * request that names a path (a Graph call) is kept with "METHOD path" and
 * never written to the outbox, which holds message bodies only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "send/transport.h"
#include "base/banned.h"

struct pending {
    void *tag;
    size_t seq;
    suf_transport_leaving_fn leaving;
    void *leaving_ctx;
};

struct record {
    struct suf_transport t; /* first: the public face */
    FILE *outbox;
    suf_record_respond_fn respond;
    void *ctx;
    char **bodies; /* every body received, in order */
    char **paths;  /* "METHOD path" of each, or NULL */
    size_t nbodies, abodies;
    struct pending *pending;
    size_t npending, apending;
    char wamid_reply[128];
};

static int record_submit(struct suf_transport *t, const struct suf_request *req,
                         struct suf_err *err)
{
    struct record *r = (struct record *)t;

    (void)err;
    if (r->outbox && !req->path) {
        fwrite(req->body, 1, req->len, r->outbox);
        fputc('\n', r->outbox);
        fflush(r->outbox);
    }
    if (r->nbodies == r->abodies) {
        r->abodies = r->abodies ? 2 * r->abodies : 16;
        r->bodies = suf_xrealloc(r->bodies, r->abodies * sizeof(*r->bodies));
        r->paths = suf_xrealloc(r->paths, r->abodies * sizeof(*r->paths));
    }
    r->bodies[r->nbodies] = suf_xstrndup(req->body ? req->body : "", req->len);
    r->paths[r->nbodies] =
        req->path ? suf_xasprintf("%s %s", req->method ? req->method : "POST", req->path)
                  : NULL;
    if (r->npending == r->apending) {
        r->apending = r->apending ? 2 * r->apending : 16;
        r->pending = suf_xrealloc(r->pending, r->apending * sizeof(*r->pending));
    }
    r->pending[r->npending].tag = req->tag;
    r->pending[r->npending].seq = r->nbodies;
    r->pending[r->npending].leaving = req->leaving;
    r->pending[r->npending].leaving_ctx = req->leaving_ctx;
    r->npending++;
    r->nbodies++;
    return SUF_OK;
}

/* The reply of a request its `leaving` hook held back, as libcurl's
 * transport reports one. */
static void hold_back(struct suf_reply *reply)
{
    void *tag = reply->tag;

    memset(reply, 0, sizeof(*reply));
    reply->tag = tag;
    reply->net = SUF_NET_OTHER;
    reply->net_error = "held back before it left";
    reply->unsent = true;
}

static size_t record_poll(struct suf_transport *t, int timeout_ms, suf_transport_done_fn done,
                          void *ctx)
{
    struct record *r = (struct record *)t;
    struct pending *batch = r->pending;
    size_t n = r->npending;

    (void)timeout_ms;
    /* done() may submit again: those land in a fresh list, reported next poll */
    r->pending = NULL;
    r->npending = r->apending = 0;
    for (size_t i = 0; i < n; i++) {
        struct suf_reply reply;

        memset(&reply, 0, sizeof(reply));
        if (r->respond) {
            r->respond(r->ctx, r->bodies[batch[i].seq], batch[i].seq, &reply);
        } else {
            snprintf(r->wamid_reply, sizeof(r->wamid_reply),
                     "{\"messaging_product\":\"whatsapp\",\"messages\":[{\"id\":"
                     "\"wamid.dryrun.%zu\"}]}",
                     batch[i].seq + 1);
            reply.net = SUF_NET_OK;
            reply.http_status = 200;
            reply.body = r->wamid_reply;
        }
        reply.tag = batch[i].tag;
        if (!reply.unsent && batch[i].leaving &&
            !batch[i].leaving(batch[i].leaving_ctx, batch[i].tag))
            hold_back(&reply);
        if (!reply.body)
            reply.body = "";
        reply.len = strlen(reply.body);
        done(ctx, &reply);
    }
    free(batch);
    return r->npending;
}

/* record_poll never waits: nothing to end. */
static void record_wakeup(struct suf_transport *t)
{
    (void)t;
}

static void record_close(struct suf_transport *t)
{
    struct record *r = (struct record *)t;

    if (!r)
        return;
    for (size_t i = 0; i < r->nbodies; i++) {
        free(r->bodies[i]);
        free(r->paths[i]);
    }
    free(r->bodies);
    free(r->paths);
    free(r->pending);
    free(r);
}

struct suf_transport *suf_transport_record_new(FILE *outbox, suf_record_respond_fn respond,
                                               void *ctx)
{
    struct record *r = suf_xcalloc(1, sizeof(*r));

    r->t.submit = record_submit;
    r->t.poll = record_poll;
    r->t.wakeup = record_wakeup;
    r->t.close = record_close;
    r->t.name = "record";
    r->outbox = outbox;
    r->respond = respond;
    r->ctx = ctx;
    return &r->t;
}

const char *suf_transport_record_body(struct suf_transport *t, size_t i)
{
    struct record *r = (struct record *)t;

    return i < r->nbodies ? r->bodies[i] : NULL;
}

const char *suf_transport_record_path(struct suf_transport *t, size_t i)
{
    struct record *r = (struct record *)t;

    return i < r->nbodies ? r->paths[i] : NULL;
}

size_t suf_transport_record_count(struct suf_transport *t)
{
    return ((struct record *)t)->nbodies;
}
