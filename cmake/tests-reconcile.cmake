# Tests of the reconcile area: the state machine (pure), the events
# importer and the reconcile stage on a scratch store, and the end-to-end
# loop against the mock Cloud API.
suf_add_unit(test_fsm SOURCES tests/unit/test_fsm.c LIBS suf_reconcile)
suf_add_unit(test_events SOURCES tests/unit/test_events.c LIBS suf_reconcile)
suf_add_unit(test_reconcile SOURCES tests/unit/test_reconcile.c LIBS suf_reconcile)
suf_add_e2e(e2e_reconcile tests/e2e/reconcile.sh TIMEOUT 600)
suf_add_e2e(e2e_events_kill tests/e2e/events_kill.sh TIMEOUT 600)
suf_add_e2e(e2e_reconcile_chunks tests/e2e/reconcile_chunks.sh TIMEOUT 600)
