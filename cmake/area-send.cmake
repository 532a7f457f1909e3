# Area "send".
add_library(suf_send STATIC
  src/cmd_send.c)
target_link_libraries(suf_send PUBLIC suf_plan suf_base PkgConfig::CURL PkgConfig::JANSSON)
