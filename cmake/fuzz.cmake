# libFuzzer targets (configure with CC=clang -DSUF_FUZZ=ON).
#
# suf_add_fuzz(NAME SOURCE file.c LIBS libs... CORPUS dir) builds one target
# and registers a CTest test `fuzz_<NAME>` (label `fuzz`) that runs it for
# SUF_FUZZ_SECONDS (default 4) over a scratch copy of the seed corpus, after
# replaying every regression input in tests/data/fuzz/<NAME>/.
function(suf_add_fuzz name)
  cmake_parse_arguments(F "" "SOURCE;CORPUS" "LIBS" ${ARGN})
  add_executable(fuzz_${name} ${F_SOURCE})
  target_link_libraries(fuzz_${name} PRIVATE ${F_LIBS} suf_base suf_flags)
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  add_test(NAME fuzz_${name}
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/tests/fuzz/run-one $<TARGET_FILE:fuzz_${name}>
            ${CMAKE_CURRENT_SOURCE_DIR}/${F_CORPUS}
            ${CMAKE_CURRENT_SOURCE_DIR}/tests/data/fuzz/${name})
  set_tests_properties(fuzz_${name} PROPERTIES LABELS fuzz TIMEOUT 600)
endfunction()

foreach(area base import scenario plan send reconcile money receive run hostile)
  include(cmake/fuzz-${area}.cmake OPTIONAL)
endforeach()
