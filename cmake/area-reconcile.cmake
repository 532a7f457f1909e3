# Area "reconcile".
add_library(suf_reconcile STATIC
  src/cmd_reconcile.c)
target_link_libraries(suf_reconcile PUBLIC suf_send suf_import suf_base PkgConfig::JANSSON)
