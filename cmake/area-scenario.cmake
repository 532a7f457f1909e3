# Area "scenario": templates (catalog import, parsing) and the pure builders
# of the utility template and the eight session-message scenarios.
add_library(suf_scenario STATIC
  src/template.c
  src/scenario.c
  src/import_templates.c)
target_link_libraries(suf_scenario PUBLIC suf_import suf_base PkgConfig::JANSSON)
