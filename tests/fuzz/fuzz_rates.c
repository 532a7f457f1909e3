/*
 * fuzz_rates.c: libFuzzer target for Meta's rate-card CSV.
 *
 * The input goes through the `rates` importer exactly as `suf import rates
 * USD_2026-10-01.csv` would run it (the date and currency come from that
 * name), into a scratch store that is rolled back after each input.  It is
 * then read as a market map too, the other CSV of the money area, so one
 * corpus covers both importers (they share the same record reader).
 */
#include <stdint.h>
#include <stddef.h>

#include "import/rates.h"
#include "fuzz_scratch.h"
#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_scratch_import("rates", "USD_2026-10-01.csv", suf_import_rates, NULL, data, size);
    fuzz_scratch_import("markets", "markets.csv", suf_import_markets, NULL, data, size);
    return 0;
}
