/*
 * receive_check.c: what a webhook request deserves, decided without I/O.
 *
 * Every decision the receiver makes about a request lives here as a pure
 * function of its inputs (headers, body, the configured secrets), so the
 * unit tests can walk tables of cases and the fuzzer can throw bytes at it
 * without a socket.  The HTTP layer only fetches the inputs and sends the
 * verdict.  See receive.h for the contracts.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include "receive/receive.h"
#include "base/banned.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes exactly 2*n hex digits into n bytes; false on any other input. */
static bool hex_decode(const char *hex, size_t hexlen, unsigned char *out, size_t n)
{
    if (hexlen != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

/*
 * A prepared HMAC-SHA256 key: the algorithm is looked up and the key
 * schedule (the hashed inner and outer pads) computed once, so each
 * request only hashes its body.  One per thread: an EVP_MAC_CTX is not
 * safe to share.
 */
struct suf_receive_mac {
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
};

struct suf_receive_mac *suf_receive_mac_new(const char *secret, size_t secret_len)
{
    struct suf_receive_mac *m = suf_xcalloc(1, sizeof(*m));
    static const unsigned char empty[1] = {0};
    static char digest[] = "SHA256";
    OSSL_PARAM params[2];

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
    params[1] = OSSL_PARAM_construct_end();
    m->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    m->ctx = m->mac ? EVP_MAC_CTX_new(m->mac) : NULL;
    if (!m->ctx || !EVP_MAC_init(m->ctx, secret_len ? (const unsigned char *)secret : empty,
                                 secret_len, params)) {
        suf_receive_mac_free(m);
        return NULL;
    }
    return m;
}

void suf_receive_mac_free(struct suf_receive_mac *m)
{
    if (!m)
        return;
    EVP_MAC_CTX_free(m->ctx); /* cleanses the key schedule */
    EVP_MAC_free(m->mac);
    free(m);
}

/* HMAC of body with the prepared key (re-initialised, key kept). */
static bool mac_compute(struct suf_receive_mac *m, const void *body, size_t len,
                        unsigned char mac[SHA256_DIGEST_LENGTH])
{
    size_t maclen = 0;

    if (!EVP_MAC_init(m->ctx, NULL, 0, NULL))
        return false;
    if (len && !EVP_MAC_update(m->ctx, body, len))
        return false;
    if (!EVP_MAC_final(m->ctx, mac, &maclen, SHA256_DIGEST_LENGTH))
        return false;
    return maclen == SHA256_DIGEST_LENGTH;
}

bool suf_receive_signature_ok_mac(const char *header, const void *body, size_t len,
                                  struct suf_receive_mac *m)
{
    static const size_t plen = sizeof(SUF_RECEIVE_SIG_PREFIX) - 1;
    unsigned char given[SHA256_DIGEST_LENGTH], mac[SHA256_DIGEST_LENGTH];
    bool ok;

    if (!header || !m || strncmp(header, SUF_RECEIVE_SIG_PREFIX, plen))
        return false;
    if (!hex_decode(header + plen, strlen(header + plen), given, sizeof(given)))
        return false;
    if (!mac_compute(m, body, len, mac))
        return false;
    ok = CRYPTO_memcmp(given, mac, sizeof(mac)) == 0;
    OPENSSL_cleanse(mac, sizeof(mac));
    return ok;
}

/* A key prepared for one call of the secret-taking functions below (which
 * the request path does not use: it keeps a key per worker); NULL when
 * there is no secret. */
static struct suf_receive_mac *one_off_key(const char *secret, size_t secret_len)
{
    return secret ? suf_receive_mac_new(secret, secret_len) : NULL;
}

bool suf_receive_signature_ok(const char *header, const void *body, size_t len,
                              const char *secret, size_t secret_len)
{
    struct suf_receive_mac *m = one_off_key(secret, secret_len);
    bool ok = suf_receive_signature_ok_mac(header, body, len, m);

    suf_receive_mac_free(m);
    return ok;
}

void suf_receive_sign(const void *body, size_t len, const char *secret, size_t secret_len,
                      char *out, size_t size)
{
    unsigned char mac[SHA256_DIGEST_LENGTH];
    struct suf_receive_mac *m;
    bool computed;
    size_t n;

    if (!size)
        return;
    out[0] = '\0';
    m = one_off_key(secret, secret_len);
    computed = m && mac_compute(m, body, len, mac);
    suf_receive_mac_free(m);
    if (!computed)
        return;
    n = (size_t)snprintf(out, size, "%s", SUF_RECEIVE_SIG_PREFIX);
    for (size_t i = 0; i < sizeof(mac) && n + 2 < size; i++, n += 2)
        snprintf(out + n, size - n, "%02x", mac[i]);
}

bool suf_receive_token_equal(const char *given, const char *expected)
{
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
    bool same;

    if (!given || !expected)
        return false;
    /* Hashing first makes the comparison's time independent of both
     * lengths; CRYPTO_memcmp then compares without early exit. */
    SHA256((const unsigned char *)given, strlen(given), a);
    SHA256((const unsigned char *)expected, strlen(expected), b);
    same = CRYPTO_memcmp(a, b, sizeof(a)) == 0;
    OPENSSL_cleanse(b, sizeof(b));
    return same;
}

static bool challenge_ok(const char *s)
{
    size_t n = 0;

    if (!s)
        return false;
    for (; s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '~' || c == '-';
        if (!ok || n >= SUF_RECEIVE_CHALLENGE_MAX)
            return false;
    }
    return n > 0;
}

int suf_receive_handshake(const char *mode, const char *token, const char *challenge,
                          const char *expected)
{
    /* The token is compared whatever the other fields hold, so the time
     * taken says nothing about which check failed. */
    bool token_ok = suf_receive_token_equal(token, expected);

    if (!mode || strcmp(mode, "subscribe") || !challenge_ok(challenge) || !token_ok)
        return 403;
    return 200;
}

int suf_receive_content_length(const char *value, int64_t cap)
{
    int64_t n = 0;
    const char *p = value;

    if (!value)
        return 0;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p)
        return 400;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (n > cap)
            return 413; /* stop before an overflow; already too big */
        n = n * 10 + (*p - '0');
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p)
        return 400;
    return n > cap ? 413 : 0;
}

int suf_receive_framing(const char *content_length, const char *transfer_encoding,
                        int64_t cap, const char **why)
{
    const char *reason = NULL;
    int status = 0;

    if (content_length) {
        status = suf_receive_content_length(content_length, cap);
        reason = status == 413 ? "body too large" : status ? "bad content-length" : NULL;
    } else if (!transfer_encoding) {
        /* Without either, HTTP/1.1 says there is no body; a webhook always
         * has one, so the sender is told what it left out rather than the
         * "missing signature" that an empty body would get. */
        status = 411;
        reason = "missing content-length";
    }
    if (why)
        *why = reason;
    return status;
}

/* True when `m` (one element of value.messages) is a tap or a reply. */
static bool message_is_consent(const json_t *m)
{
    const char *type = json_string_value(json_object_get(m, "type"));
    const json_t *inter;

    if (!type)
        return false;
    if (!strcmp(type, "button"))
        return true;
    if (strcmp(type, "interactive"))
        return false;
    inter = json_object_get(m, "interactive");
    return json_is_object(json_object_get(inter, "button_reply")) ||
           json_is_object(json_object_get(inter, "list_reply"));
}

static bool root_has_consent(const json_t *root)
{
    const json_t *entry = json_object_get(root, "entry");
    size_t i, j, k;
    const json_t *e, *ch, *m;

    if (!json_is_array(entry))
        return false;
    json_array_foreach(entry, i, e)
    {
        const json_t *changes = json_object_get(e, "changes");
        if (!json_is_array(changes))
            continue;
        json_array_foreach(changes, j, ch)
        {
            const json_t *msgs =
                json_object_get(json_object_get(ch, "value"), "messages");
            if (!json_is_array(msgs))
                continue;
            json_array_foreach(msgs, k, m)
            {
                if (message_is_consent(m))
                    return true;
            }
        }
    }
    return false;
}

bool suf_receive_is_consent(const char *text, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    bool yes = json_is_object(root) && root_has_consent(root);

    json_decref(root);
    return yes;
}

int suf_receive_post_mac(const char *sig_header, const char *body, size_t len, int64_t cap,
                         struct suf_receive_mac *m, struct suf_buf *line,
                         struct suf_receive_body *out)
{
    struct suf_receive_body scratch;
    json_error_t jerr;
    json_t *root;
    size_t start;

    if (!out)
        out = &scratch;
    out->consent = false;
    out->why = NULL;
    if (cap >= 0 && (uint64_t)len > (uint64_t)cap) {
        out->why = "body too large";
        return 413;
    }
    if (!sig_header) {
        out->why = "missing signature";
        return 401;
    }
    if (!suf_receive_signature_ok_mac(sig_header, body, len, m)) {
        out->why = "bad signature";
        return 401;
    }
    root = json_loadb(body, len, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        out->why = "body is not a JSON object";
        return 400;
    }
    out->consent = root_has_consent(root);
    json_decref(root);
    suf_buf_reset(line);
    start = line->len;
    suf_buf_add(line, body, len);
    for (size_t i = start; i < line->len; i++)
        if (line->buf[i] == '\n' || line->buf[i] == '\r')
            line->buf[i] = ' ';
    suf_buf_addch(line, '\n');
    return 200;
}

int suf_receive_post(const char *sig_header, const char *body, size_t len, int64_t cap,
                     const char *secret, size_t secret_len, struct suf_buf *line,
                     struct suf_receive_body *out)
{
    struct suf_receive_mac *m = one_off_key(secret, secret_len);
    int status = suf_receive_post_mac(sig_header, body, len, cap, m, line, out);

    suf_receive_mac_free(m);
    return status;
}

int suf_receive_parse_listen(const char *spec, struct sockaddr_storage *sa,
                             socklen_t *salen, struct suf_err *err)
{
    char host[64];
    const char *colon, *hs, *he;
    int64_t port;

    memset(sa, 0, sizeof(*sa));
    if (!spec || !*spec)
        return suf_err_set(err, SUF_ERR_USAGE, "--listen needs ADDR:PORT");
    if (spec[0] == '[') {
        hs = spec + 1;
        he = strchr(hs, ']');
        if (!he || he[1] != ':')
            return suf_err_set(err, SUF_ERR_USAGE, "--listen '%s': expected [ADDR]:PORT",
                               spec);
        colon = he + 1;
    } else {
        hs = spec;
        colon = strrchr(spec, ':');
        if (!colon)
            return suf_err_set(err, SUF_ERR_USAGE, "--listen '%s': expected ADDR:PORT",
                               spec);
        he = colon;
    }
    if ((size_t)(he - hs) >= sizeof(host) || he == hs)
        return suf_err_set(err, SUF_ERR_USAGE, "--listen '%s': bad address", spec);
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    if (suf_parse_i64(colon + 1, &port) || port < 0 || port > 65535 ||
        strchr(colon + 1, ' '))
        return suf_err_set(err, SUF_ERR_USAGE, "--listen '%s': bad port", spec);
    if (spec[0] != '[') {
        struct sockaddr_in *in4 = (struct sockaddr_in *)sa;
        if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
            return suf_err_set(err, SUF_ERR_USAGE,
                               "--listen '%s': '%s' is not a numeric IPv4 address", spec,
                               host);
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        *salen = sizeof(*in4);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
            return suf_err_set(err, SUF_ERR_USAGE,
                               "--listen '%s': '%s' is not a numeric IPv6 address", spec,
                               host);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *salen = sizeof(*in6);
    }
    return SUF_OK;
}
