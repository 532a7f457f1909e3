# Tests of the run area: the command line, schedules and the whole pipeline.
suf_add_e2e(e2e_schedules tests/e2e/schedules.sh)
suf_add_e2e(e2e_run tests/e2e/run.sh TIMEOUT 300)
# Crash consistency: 10 trials of two SIGKILLs each in `make test`, 50 in
# `make soak` (SUF_SOAK=1).  Normal build only: under ASan it takes too long.
suf_add_e2e(e2e_crash tests/e2e/crash.sh TIMEOUT 3000 LABELS slow crash soak)
suf_add_e2e(e2e_cli tests/e2e/cli.sh)
suf_add_e2e(e2e_api_faults tests/e2e/api_faults.sh TIMEOUT 400)
suf_add_e2e(e2e_security tests/e2e/security.sh TIMEOUT 300)
suf_add_e2e(e2e_demo_receiver tests/e2e/demo_receiver.sh TIMEOUT 300)
# Every bench script still runs to its verdict, at a tiny size (timings are
# not checked).  Normal build only: the benches time the normal binary.
suf_add_e2e(e2e_bench_smoke tests/e2e/bench_smoke.sh TIMEOUT 600 LABELS slow)
