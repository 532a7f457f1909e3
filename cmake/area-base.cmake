# Area "base": status, memory and strings, logging, time, money parsing,
# config, phones, hashing, the store (and its checkpoint thread) and the run
# context.
add_library(suf_base STATIC
  src/status.c
  src/util.c
  src/log.c
  src/timeutil.c
  src/amount.c
  src/config.c
  src/phone.c
  src/hash.c
  src/store.c
  src/ckpt.c
  src/context.c
  src/progress.c)
target_link_libraries(suf_base PUBLIC suf_flags PkgConfig::SQLITE3 PkgConfig::JANSSON
  PkgConfig::INIH PkgConfig::CRYPTO)
find_package(Threads REQUIRED)
target_link_libraries(suf_base PUBLIC Threads::Threads)
