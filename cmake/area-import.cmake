# Area "import".
add_library(suf_import STATIC
  src/import.c)
target_link_libraries(suf_import PUBLIC suf_base CSV::csv PkgConfig::JANSSON)
