# Area "receive".
add_library(suf_receive STATIC
  src/cmd_receive.c)
target_link_libraries(suf_receive PUBLIC suf_base PkgConfig::MHD PkgConfig::CRYPTO)
