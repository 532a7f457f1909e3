# Fuzz target of the scenario area: template entries through the parser,
# the classifier and every builder.
suf_add_fuzz(scenario SOURCE tests/fuzz/fuzz_scenario.c LIBS suf_scenario
  CORPUS tests/fuzz/corpus/scenario)
