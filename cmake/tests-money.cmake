# Tests of the money area: rate-card and market-map import, costing (unit);
# the workbooks read back with openpyxl (e2e); the Fallbacks sheet split past
# Excel's row limit on a generated campaign (slow: skipped by the ASan run,
# still part of `make test`).
suf_add_unit(test_rates SOURCES tests/unit/test_rates.c LIBS suf_money)
suf_add_unit(test_money SOURCES tests/unit/test_money.c LIBS suf_money)
suf_add_unit(test_report SOURCES tests/unit/test_report.c LIBS suf_money)
suf_add_e2e(e2e_report tests/e2e/report.sh TIMEOUT 300)
suf_add_e2e(e2e_report_split tests/e2e/report_split.sh TIMEOUT 900 LABELS slow)
suf_add_e2e(e2e_report_pipeline tests/e2e/report_pipeline.sh TIMEOUT 300)
