# Tests of the import area: the CSV reader, the delivery export and campaign
# settings importers (unit), and the real binary on the fixtures (e2e).
suf_add_unit(test_csvread SOURCES tests/unit/test_csvread.c LIBS suf_import)
suf_add_unit(test_import SOURCES tests/unit/test_import.c LIBS suf_import)
suf_add_e2e(e2e_import tests/e2e/import.sh TIMEOUT 300)
