/*
 * fuzz_billing.c: libFuzzer target for Meta's pricing_analytics responses.
 *
 * The input goes through the `billing` importer as `suf import billing`
 * runs it, into a scratch store that is rolled back after each input.
 * Then every "cost" of every data point of the input is read again with
 * suf_billing_cost, which must keep its promise: a cost it takes is a
 * whole number of micros that is exactly the number in the input (its
 * six-place text reads back as the same double), and a cost it refuses
 * comes with a reason.  A broken promise aborts, so it is a finding.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/amount.h"
#include "import/billing.h"
#include "fuzz_scratch.h"
#include "base/banned.h"

static void check_cost(const json_t *cost)
{
    char why[256] = "", text[64];
    int64_t micros = -1;
    bool given = false;
    int rc = suf_billing_cost(cost, &micros, &given, why, sizeof(why));

    if (rc && !why[0]) {
        fprintf(stderr, "fuzz_billing: a cost refused without a reason\n");
        abort();
    }
    if (rc || !given)
        return;
    suf_amount_format(micros, text, sizeof(text));
    if (micros < 0 || strtod(text, NULL) != json_number_value(cost)) {
        fprintf(stderr, "fuzz_billing: cost %.17g taken as %s\n", json_number_value(cost), text);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *root, *pa, *group, *point;
    size_t g, i;

    fuzz_scratch_import("billing", "billing.json", suf_import_billing, NULL, data, size);
    root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    pa = json_object_get(root, "pricing_analytics");
    json_array_foreach(json_object_get(pa ? pa : root, "data"), g, group)
        json_array_foreach(json_object_get(group, "data_points"), i, point)
            check_cost(json_object_get(point, "cost"));
    json_decref(root);
    return 0;
}
