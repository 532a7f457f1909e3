# Area "send": the Cloud API client (request, reply, retry decision), the
# transports (libcurl, recording), the rate limiter and the send stage.
add_library(suf_send STATIC
  src/cloudapi.c
  src/ratelimit.c
  src/transport_curl.c
  src/transport_curl_write.c
  src/transport_record.c
  src/send_db.c
  src/send.c
  src/cmd_send.c)
target_link_libraries(suf_send PUBLIC suf_plan suf_base PkgConfig::CURL PkgConfig::JANSSON)
