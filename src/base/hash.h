/*
 * hash.h: SHA-256 of files and buffers (libcrypto), as lowercase hex.
 */
#ifndef SUF_HASH_H
#define SUF_HASH_H

#include <stddef.h>
#include <stdio.h>

#define SUF_SHA256_HEX 65 /* 64 hex digits and a NUL */

/* Hashes the whole stream from its current position to EOF, in fixed-size
 * blocks (memory stays flat). Returns SUF_OK or SUF_ERR_IO. The stream is
 * left at EOF; the caller rewinds it if needed. */
int suf_sha256_stream(FILE *f, char hex[SUF_SHA256_HEX]);
/* Hashes `len` bytes. */
void suf_sha256_buf(const void *data, size_t len, char hex[SUF_SHA256_HEX]);

#endif /* SUF_HASH_H */
