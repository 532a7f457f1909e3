# Tests of the receive area: the pure checks, the inbox and the consent
# runner without sockets; then the real binary on loopback.
suf_add_unit(test_receive SOURCES tests/unit/test_receive.c LIBS suf_receive)
suf_add_e2e(e2e_receive tests/e2e/receive.sh TIMEOUT 300)
