# Fuzz target of the import area: arbitrary bytes through the CSV reader and
# the delivery export importer, into a scratch store.
suf_add_fuzz(deliveries SOURCE tests/fuzz/fuzz_deliveries.c LIBS suf_import
  CORPUS tests/fuzz/corpus/deliveries)
