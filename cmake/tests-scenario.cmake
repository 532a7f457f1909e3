# Tests of the scenario area: the builders (golden bodies, edge rows), the
# catalog importer, and the JSON Schema check of every body the builders
# made during test_scenario.
suf_add_unit(test_scenario SOURCES tests/unit/test_scenario.c LIBS suf_scenario)
suf_add_unit(test_templates SOURCES tests/unit/test_templates.c LIBS suf_scenario)

# test_scenario writes each body it builds to one JSONL file; the schema
# test validates every line (and proves the schema rejects known-bad bodies).
file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/scratch)
set(SUF_SCENARIO_BODIES ${CMAKE_CURRENT_BINARY_DIR}/scratch/scenario-bodies.jsonl)
set_property(TEST test_scenario APPEND PROPERTY ENVIRONMENT
  "SUF_SCENARIO_DUMP=${SUF_SCENARIO_BODIES}")
set_tests_properties(test_scenario PROPERTIES FIXTURES_SETUP scenario_bodies)
add_test(NAME scenario_schema
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/tests/schema/validate.py
    --schema ${CMAKE_CURRENT_SOURCE_DIR}/tests/schema/messages.schema.json
    --require-kinds text,image,video,document,button,list,cta_url,template
    --valid-jsonl ${SUF_SCENARIO_BODIES}
    --valid ${CMAKE_CURRENT_SOURCE_DIR}/tests/data/scenario
    --invalid ${CMAKE_CURRENT_SOURCE_DIR}/tests/data/scenario/invalid)
set_tests_properties(scenario_schema PROPERTIES LABELS "e2e;schema"
  FIXTURES_REQUIRED scenario_bodies TIMEOUT 120)
