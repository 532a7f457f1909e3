/*
 * fuzz_campaigns.c: libFuzzer target for the campaign settings CSV.
 *
 * The input goes through the `campaigns` importer as `suf import campaigns
 * campaigns.csv` would run it, into a scratch store that is rolled back
 * after each input (fuzz_scratch.h checks that a failure says why and that
 * the database never fails).
 */
#include <stdint.h>
#include <stddef.h>

#include "import/import.h"
#include "fuzz_scratch.h"
#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_scratch_import("campaigns", "campaigns.csv", suf_import_campaigns, NULL, data, size);
    return 0;
}
