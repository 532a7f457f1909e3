# Tests of the run area: the command line, schedules and the whole pipeline.
suf_add_e2e(e2e_schedules tests/e2e/schedules.sh)
suf_add_e2e(e2e_run tests/e2e/run.sh TIMEOUT 300)
