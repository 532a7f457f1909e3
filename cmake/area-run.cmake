# Area "run": the command line (dispatcher, table, init, status) and the
# whole-pipeline command `suf run`.
add_library(suf_run STATIC
  src/cli.c
  src/cmd_init.c
  src/cmd_import.c
  src/cmd_status.c
  src/cmd_run.c)
target_link_libraries(suf_run PUBLIC suf_receive suf_money suf_reconcile suf_send suf_plan
  suf_scenario suf_import suf_base)
