/*
 * fuzz_utility_bytes.c: arbitrary bytes as the utility body's inputs,
 * through the byte writer (suf_utility_text) and through the jansson tree
 * it replaced (utility_jansson.h).  The invariant checked (abort() on
 * failure, which libFuzzer reports): both give the same status and reason,
 * and on success the same bytes.
 *
 * Input layout: the first byte's low bit asks for the "no" button, its
 * other bits make the fallback id and message number; the rest is split at
 * NUL bytes into the template name, the language, the parameter sources,
 * the campaign name and the customer name (a missing field is NULL).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utility_jansson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy, *field[5] = {NULL, NULL, NULL, NULL, NULL};
    struct suf_utility_opts u;
    size_t nf = 0, at = 1;

    if (size < 1)
        return 0;
    copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    while (at <= size && nf < 5) {
        field[nf++] = copy + at;
        at += strlen(copy + at) + 1;
    }
    u.template_name = field[0];
    u.language = field[1];
    u.params = field[2];
    u.no_button = data[0] & 1;
    if (ref_utility_compare(&u, "919812345678", field[3], field[4], (int64_t)(data[0] >> 1) * 7919,
                            data[0] >> 4))
        abort();
    free(copy);
    return 0;
}
