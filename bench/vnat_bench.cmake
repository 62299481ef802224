# vnat_bench(NAME SOURCES src.c... [LIBS lib...])
#
# One micro-benchmark executable NAME, linked with the core (internal
# headers included) and the shared bench helpers (the bench host and the
# JSON report). Benches are built in every preset, so they keep compiling,
# but only bench/run runs them for figures. ctest gets ONE smoke test per
# bench, bench.NAME.smoke (label "bench"): the program runs with `--smoke`
# (tiny iteration counts) and `--json FILE`, and check_json.cmake checks that
# the file is well-formed JSON with the fields every benchmark must report.
# It checks no timing.
set(VNAT_BENCH_DIR ${CMAKE_CURRENT_LIST_DIR})

function(vnat_bench NAME)
  cmake_parse_arguments(B "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT B_SOURCES)
    message(FATAL_ERROR "vnat_bench(${NAME}): SOURCES is required")
  endif()
  add_executable(${NAME} ${B_SOURCES} ${VNAT_BENCH_DIR}/benchhost.c ${VNAT_BENCH_DIR}/benchout.c)
  target_include_directories(${NAME} PRIVATE ${VNAT_BENCH_DIR})
  target_link_libraries(${NAME} PRIVATE vnat_core_internal vnat_testkit m ${B_LIBS})
  if(VNAT_BUILD_TESTS)
    set(out ${CMAKE_CURRENT_BINARY_DIR}/${NAME}.smoke.json)
    add_test(NAME bench.${NAME}.smoke
             COMMAND ${CMAKE_COMMAND} -DBENCH=$<TARGET_FILE:${NAME}> -DOUT=${out}
                     -P ${VNAT_BENCH_DIR}/check_json.cmake)
    set_tests_properties(bench.${NAME}.smoke PROPERTIES LABELS "bench" TIMEOUT 120)
  endif()
endfunction()
