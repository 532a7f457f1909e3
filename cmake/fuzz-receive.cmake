# Fuzz target of the receive area: the request checks (signature, handshake,
# Content-Length, listen address, body shape, consent detection) on
# arbitrary bytes, with properties checked as well as crashes.
suf_add_fuzz(receive SOURCE tests/fuzz/fuzz_receive.c LIBS suf_receive
  CORPUS tests/fuzz/corpus/receive)
