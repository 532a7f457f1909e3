# Area "plan": who gets a fallback, and why not (the plan stage, --explain).
add_library(suf_plan STATIC
  src/plan.c
  src/cmd_plan.c)
target_link_libraries(suf_plan PUBLIC suf_scenario suf_import suf_base PkgConfig::JANSSON)
