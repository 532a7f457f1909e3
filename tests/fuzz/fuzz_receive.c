/*
 * fuzz_receive.c: the receiver's request checks, without sockets.
 *
 * Input: a first line, used as every header-shaped value (the signature
 * header, a Content-Length, a listen address, and "mode&token&challenge"
 * for the handshake), then the rest as a webhook body.  Besides not
 * crashing, it checks properties that must hold for any input:
 *  - a body signed with the secret is never refused for its signature;
 *  - an accepted body becomes exactly one line, ending in "\n", with no CR
 *    or LF before it, that parses to the same JSON as the body;
 *  - a body that parses as a JSON object is accepted;
 *  - consent detection agrees with what suf_receive_post reported;
 *  - the framing check gives Content-Length's answer when there is one,
 *    and a reason exactly when it refuses;
 *  - a refusal's reason is one of the fixed words, never input bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/util.h"
#include "receive/receive.h"

#define SECRET "fuzz-app-secret"

static void handshake(const char *line)
{
    char buf[512], *parts[3] = {NULL, NULL, NULL}, *p = buf;

    suf_strlcpy(buf, line, sizeof(buf));
    for (int i = 0; i < 3 && p; i++) {
        parts[i] = p;
        p = strchr(p, '&');
        if (p)
            *p++ = '\0';
    }
    if (suf_receive_handshake(parts[0], parts[1], parts[2], "tok") == 200 &&
        (strcmp(parts[0], "subscribe") || strcmp(parts[1], "tok")))
        abort();
}

/* The reasons the checks may give; anything else could be input. */
static void reason_is_fixed(const char *why)
{
    static const char *const known[] = {
        "body too large",    "bad content-length", "missing content-length",
        "missing signature", "bad signature",      "body is not a JSON object"};

    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (why == known[i] || (why && !strcmp(why, known[i])))
            return;
    abort();
}

static void framing(const char *header)
{
    const char *why = NULL;
    int st = suf_receive_framing(header, NULL, 4096, &why);

    if (st != suf_receive_content_length(header, 4096) || (st != 0) != (why != NULL))
        abort();
    if (why)
        reason_is_fixed(why);
    if (suf_receive_framing(NULL, header, 4096, &why) != 0 || why)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    size_t hlen = nl ? (size_t)(nl - (const char *)data) : size;
    char *header = suf_xstrndup((const char *)data, hlen);
    const char *body = nl ? nl + 1 : "";
    size_t blen = nl ? size - hlen - 1 : 0;
    struct suf_buf line = SUF_BUF_INIT;
    struct suf_receive_body out;
    struct sockaddr_storage sa;
    socklen_t salen;
    char sig[80];
    json_error_t jerr;
    json_t *want;
    int st;

    framing(header);
    (void)suf_receive_parse_listen(header, &sa, &salen, NULL);
    (void)suf_receive_signature_ok(header, body, blen, SECRET, strlen(SECRET));
    handshake(header);
    st = suf_receive_post(header, body, blen, 1 << 20, SECRET, strlen(SECRET), &line,
                          &out);
    if (st != 200)
        reason_is_fixed(out.why);

    suf_receive_sign(body, blen, SECRET, strlen(SECRET), sig, sizeof(sig));
    st = suf_receive_post(sig, body, blen, 1 << 20, SECRET, strlen(SECRET), &line, &out);
    if (st == 401)
        abort();
    want = json_loadb(body, blen, 0, &jerr);
    if (json_is_object(want) != (st == 200))
        abort();
    if (st == 200) {
        json_t *got;
        if (line.len != blen + 1 || line.buf[line.len - 1] != '\n' ||
            memchr(line.buf, '\n', line.len - 1) || memchr(line.buf, '\r', line.len))
            abort();
        got = json_loadb(line.buf, line.len - 1, 0, &jerr);
        if (!got || !json_equal(got, want))
            abort();
        json_decref(got);
        if (out.consent != suf_receive_is_consent(body, blen))
            abort();
    }
    json_decref(want);
    suf_buf_release(&line);
    free(header);
    return 0;
}
