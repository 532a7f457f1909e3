/*
 * fuzz_catalog_page.c: libFuzzer target for the catalog page check
 * (suf_meta_page_check), the gate every page fetched from the API passes
 * before anything of it is written or imported.
 *
 * The input is a reply body.  The target asserts the check's contract:
 *  - it accepts only a JSON object with a "data" array, and then the
 *    number of entries is that array's length;
 *  - "more" is set exactly when paging.next is there, and then a
 *    non-empty cursor is given (the fetch asks for it next);
 *  - a refusal fills the error with "catalog page N: ..." in suf's error
 *    style (lowercase after the prefix, no final full stop).
 * Any breach calls abort().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "meta/meta_templates.h"
#include "base/banned.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_catalog_page: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct suf_err err = SUF_ERR_INIT;
    struct suf_meta_page pg;
    json_t *root;
    size_t mlen;
    int rc = suf_meta_page_check((const char *)data, size, 7, &pg, &err);

    if (rc) {
        mlen = strlen(err.msg);
        if (rc != SUF_ERR_INPUT || strncmp(err.msg, "catalog page 7: ", 16) ||
            !mlen || err.msg[mlen - 1] == '.')
            fail("a refusal is not in suf's error style");
        if (pg.after || pg.more || pg.entries)
            fail("a refused page left a result");
        return 0;
    }
    root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(root) || !json_is_array(json_object_get(root, "data")))
        fail("a page without a data array was accepted");
    if (pg.entries != json_array_size(json_object_get(root, "data")))
        fail("the entry count is not the data array's length");
    if (pg.more != (json_object_get(json_object_get(root, "paging"), "next") != NULL))
        fail("more does not follow paging.next");
    if (pg.more && (!pg.after || !*pg.after))
        fail("more pages without a cursor");
    json_decref(root);
    suf_meta_page_release(&pg);
    return 0;
}
