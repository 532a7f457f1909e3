# Area "import": the shared import driver, the CSV reader, and the delivery
# export and campaign settings importers.
add_library(suf_import STATIC
  src/import.c
  src/csvread.c
  src/import_deliveries.c
  src/attempts_load.c
  src/import_campaigns.c)
target_link_libraries(suf_import PUBLIC suf_base CSV::csv PkgConfig::JANSSON)
