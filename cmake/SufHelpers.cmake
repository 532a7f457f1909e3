# Helpers shared by the stage folders (src/<stage>/CMakeLists.txt).  Test
# sources are named relative to tests/unit, tests/e2e or tests/fuzz; every
# test runs from the top of the build tree, where the binaries are.

# suf_add_unit(NAME SOURCES file.c... LIBS lib... [LABELS label...]): one
# CUnit executable, registered with the `unit` label.
function(suf_add_unit name)
  cmake_parse_arguments(U "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  list(TRANSFORM U_SOURCES PREPEND ${PROJECT_SOURCE_DIR}/tests/unit/)
  add_executable(${name} ${U_SOURCES} ${PROJECT_SOURCE_DIR}/tests/unit/testutil.c)
  # testutil.c opens scratch stores, so every test links the store.
  target_link_libraries(${name} PRIVATE ${U_LIBS} suf_store suf_base PkgConfig::CUNIT suf_flags)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/unit)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "unit;${U_LABELS}"
    ENVIRONMENT "SUF_SOURCE_DIR=${PROJECT_SOURCE_DIR};SUF_BINARY=$<TARGET_FILE:suf>"
    WORKING_DIRECTORY ${PROJECT_BINARY_DIR})
endfunction()

# suf_add_e2e(NAME SCRIPT [TIMEOUT s] [LABELS ...]): a shell or Python script
# in tests/e2e that drives the real binary.  It gets the binary, the source
# tree and a scratch folder of its own.
function(suf_add_e2e name script)
  cmake_parse_arguments(E "" "TIMEOUT" "LABELS" ${ARGN})
  if(NOT E_TIMEOUT)
    set(E_TIMEOUT 300)
  endif()
  add_test(NAME ${name} COMMAND ${PROJECT_SOURCE_DIR}/tests/e2e/${script})
  set_tests_properties(${name} PROPERTIES LABELS "e2e;${E_LABELS}" TIMEOUT ${E_TIMEOUT}
    ENVIRONMENT "SUF=$<TARGET_FILE:suf>;SUF_SOURCE_DIR=${PROJECT_SOURCE_DIR};SUF_SCRATCH=${PROJECT_BINARY_DIR}/scratch/${name}")
endfunction()

# suf_add_fuzz(NAME SOURCE file.c LIBS lib...): a libFuzzer target (only with
# -DSUF_FUZZ=ON and CC=clang) and its CTest test `fuzz_<NAME>` (label
# `fuzz`).  The test replays every regression input in tests/data/fuzz/<NAME>/
# and then fuzzes for SUF_FUZZ_SECONDS (default 4) over a scratch copy of
# the seed corpus tests/fuzz/corpus/<NAME>.
function(suf_add_fuzz name)
  if(NOT SUF_FUZZ)
    return()
  endif()
  cmake_parse_arguments(F "" "SOURCE" "LIBS" ${ARGN})
  add_executable(fuzz_${name} ${PROJECT_SOURCE_DIR}/tests/fuzz/${F_SOURCE})
  target_link_libraries(fuzz_${name} PRIVATE ${F_LIBS} suf_base suf_flags)
  target_include_directories(fuzz_${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/fuzz)
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  add_test(NAME fuzz_${name}
    COMMAND ${PROJECT_SOURCE_DIR}/tests/fuzz/run-one $<TARGET_FILE:fuzz_${name}>
            ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${name}
            ${PROJECT_SOURCE_DIR}/tests/data/fuzz/${name})
  set_tests_properties(fuzz_${name} PROPERTIES LABELS fuzz TIMEOUT 600)
endfunction()
