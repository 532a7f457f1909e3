# Area "receive": the webhook receiver (`suf receive`).
#   receive_check.c    pure request checks (signature, handshake, body, consent)
#   receive_inbox.c    the durable appender with group commit
#   receive_consent.c  the --on-consent runner
#   receive_http.c     the libmicrohttpd server
find_package(Threads REQUIRED)
add_library(suf_receive STATIC
  src/receive_check.c
  src/receive_inbox.c
  src/receive_consent.c
  src/receive_http.c
  src/cmd_receive.c)
target_link_libraries(suf_receive PUBLIC suf_base PkgConfig::MHD PkgConfig::CRYPTO
  PkgConfig::JANSSON Threads::Threads)
