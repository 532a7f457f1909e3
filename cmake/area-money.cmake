# Area "money": rate cards and the market map, costing, and the XLSX
# workbooks of `suf report`.
add_library(suf_money STATIC
  src/rates.c
  src/money.c
  src/report.c
  src/report_data.c
  src/report_sheets.c
  src/cmd_report.c)
target_link_libraries(suf_money PUBLIC suf_import suf_base CSV::csv PkgConfig::XLSXWRITER)
