# Tests of the plan area: the rules and the stage on scratch stores (unit),
# and the real binary on the shared fixtures (e2e).
suf_add_unit(test_plan SOURCES tests/unit/test_plan.c LIBS suf_plan)
suf_add_e2e(e2e_plan tests/e2e/plan.sh)
