# Tests of the send area: the pure client parts, the rate limiter, the
# stage's state machine through the recording transport, and end-to-end
# sends of the real binary against the mock Cloud API on loopback.
suf_add_unit(test_cloudapi SOURCES tests/unit/test_cloudapi.c LIBS suf_send)
suf_add_unit(test_ratelimit SOURCES tests/unit/test_ratelimit.c LIBS suf_send)
suf_add_unit(test_send SOURCES tests/unit/test_send.c LIBS suf_send)
suf_add_e2e(e2e_send tests/e2e/send.sh TIMEOUT 600)
