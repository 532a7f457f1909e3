/*
 * hash.c: SHA-256 through libcrypto's EVP interface (see hash.h).
 */
#include <openssl/evp.h>

#include "base/hash.h"
#include "base/status.h"
#include "base/banned.h"

static void to_hex(const unsigned char *md, unsigned int n, char *hex)
{
    static const char digits[] = "0123456789abcdef";

    for (unsigned int i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * n] = '\0';
}

int suf_sha256_stream(FILE *f, char hex[SUF_SHA256_HEX])
{
    unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t n;
    int rc = SUF_OK;

    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(ctx);
        return SUF_ERR_INTERNAL;
    }
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        EVP_DigestUpdate(ctx, buf, n);
    if (ferror(f))
        rc = SUF_ERR_IO;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    to_hex(md, mdlen, hex);
    return rc;
}

void suf_sha256_buf(const void *data, size_t len, char hex[SUF_SHA256_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    to_hex(md, mdlen, hex);
}
