# Area "send": the Cloud API client (request, reply, retry decision), the
# transports (libcurl, recording), the rate limiter and the send stage.
add_library(suf_send STATIC
  src/cloudapi.c
  src/ratelimit.c
  src/transport_curl.c
  src/transport_curl_write.c
  src/transport_record.c
  src/send_db.c
  src/send_writer.c
  src/send.c
  src/cmd_send.c)
find_package(Threads REQUIRED)
# suf_money (prices for max_utility_cost_per_run) depends on suf_import and
# suf_base only: no cycle.
target_link_libraries(suf_send PUBLIC suf_plan suf_money suf_base PkgConfig::CURL PkgConfig::JANSSON
  Threads::Threads)
