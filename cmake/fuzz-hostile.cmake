# Fuzz targets of the hostile-input work: every parser of outside data that
# the import and receive areas do not fuzz themselves.  Each replays its
# regressions in tests/data/fuzz/<name>/ and then fuzzes from its seed
# corpus (built from fixtures/), see cmake/fuzz.cmake and tests/fuzz/run-one.
suf_add_fuzz(templates SOURCE tests/fuzz/fuzz_templates.c LIBS suf_scenario suf_import
  CORPUS tests/fuzz/corpus/templates)
suf_add_fuzz(events SOURCE tests/fuzz/fuzz_events.c LIBS suf_reconcile
  CORPUS tests/fuzz/corpus/events)
suf_add_fuzz(rates SOURCE tests/fuzz/fuzz_rates.c LIBS suf_money suf_import
  CORPUS tests/fuzz/corpus/rates)
suf_add_fuzz(campaigns SOURCE tests/fuzz/fuzz_campaigns.c LIBS suf_import
  CORPUS tests/fuzz/corpus/campaigns)
suf_add_fuzz(config SOURCE tests/fuzz/fuzz_config.c LIBS suf_base
  CORPUS tests/fuzz/corpus/config)
foreach(t templates events rates campaigns config)
  target_include_directories(fuzz_${t} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/tests/fuzz)
endforeach()
