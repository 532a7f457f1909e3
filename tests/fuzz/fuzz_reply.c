/*
 * fuzz_reply.c: arbitrary bytes as a reply of the messages endpoint,
 * through the reader that takes Meta's accepted-message layout without a
 * tree (suf_cloudapi_accepted) and through jansson.  The invariant checked
 * (abort() on failure, which libFuzzer reports): every body the reader
 * takes is a JSON object to jansson, without duplicate keys and without an
 * "error" member, whose messages[0].id is the id the reader copied; and
 * the whole parse (suf_cloudapi_parse) then stores that id and no error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "send/cloudapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    char id[160];
    json_t *root, *ref;
    struct suf_api_result r;

    if (!suf_cloudapi_accepted(body, size, id, sizeof(id)))
        return 0;
    root = json_loadb(body, size, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(root) || json_object_get(root, "error"))
        abort();
    ref = json_object_get(json_array_get(json_object_get(root, "messages"), 0), "id");
    if (!json_is_string(ref) || strcmp(json_string_value(ref), id) ||
        json_string_length(ref) != strlen(id))
        abort();
    json_decref(root);
    memset(&r, 0, sizeof(r));
    suf_cloudapi_parse(&r, SUF_NET_OK, 200, body, size);
    if (strcmp(r.wamid, id) || r.api_error[0] || r.api_code ||
        suf_cloudapi_classify(&r) != SUF_API_SENT)
        abort();
    return 0;
}
