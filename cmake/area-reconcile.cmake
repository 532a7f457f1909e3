# Area "reconcile": webhook event logs (events), the fallback state machine
# (fsm, pure) and the reconcile stage around it.
add_library(suf_reconcile STATIC
  src/events.c
  src/fsm.c
  src/reconcile.c
  src/cmd_reconcile.c)
target_link_libraries(suf_reconcile PUBLIC suf_send suf_import suf_base PkgConfig::JANSSON)
find_package(Threads REQUIRED)
target_link_libraries(suf_reconcile PRIVATE Threads::Threads)
