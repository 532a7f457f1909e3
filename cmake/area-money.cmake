# Area "money".
add_library(suf_money STATIC
  src/cmd_report.c)
target_link_libraries(suf_money PUBLIC suf_import suf_base PkgConfig::XLSXWRITER)
