# cmake -DSRC=<source root> -DBIN=<scratch dir> -DCC=<C compiler> -P run.cmake
#
# Self-test of the pin mechanism (ctest: selftest.pin_mechanism). Builds
# fixture_pins.c in a throwaway project through the real vnat_pin(), runs each
# case through ctest, and checks the verdict and the message ctest shows.
# If this fails, the BROKEN_ON_PURPOSE guarantee no longer holds: a crash or a
# sanitizer report might be counted as an "expected failure".

# case | must ctest pass it? | regex its ctest output must show
cmake_minimum_required(VERSION 3.25)

set(expectations
  "pin_passes|PASS|Passed"
  "pin_fails_by_assertion|FAIL|Failed"
  "broken_fails_by_assertion|PASS|failed by an assertion, as expected"
  "broken_reason_with_semicolon|PASS|BROKEN_ON_PURPOSE: a reason, with a semicolon is one registration.*failed by an assertion, as expected"
  "broken_fails_after_allocating|PASS|failed by an assertion, as expected"
  "broken_passes|FAIL|UNEXPECTED PASS: BROKEN_ON_PURPOSE pin 'broken_passes' now passes.*It was broken because: a fix landed, the marker must go"
  "broken_segfaults|FAIL|AddressSanitizer: SEGV|SegFault"
  "broken_traps|FAIL|AddressSanitizer: ILL|Illegal|ILL"
  "broken_aborts|FAIL|AddressSanitizer: ABRT|Subprocess aborted|SIGABRT"
  "broken_asan_report|FAIL|ERROR: AddressSanitizer: heap-buffer-overflow"
  "broken_ubsan_report|FAIL|runtime error: signed integer overflow"
  "broken_hangs|FAIL|Timeout"
  "__cases|FAIL|NOT REGISTERED: 'unmarked_case'")

file(REMOVE_RECURSE ${BIN})
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SRC}/pins/selftest -B ${BIN} -G "Unix Makefiles"
                        -DCMAKE_C_COMPILER=${CC} -DCMAKE_BUILD_TYPE=Debug
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the self-test project failed:\n${out}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BIN} -j2
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the self-test project failed:\n${out}")
endif()

# Every case the fixture registers must have an expectation, and back.
execute_process(COMMAND ${CMAKE_CTEST_COMMAND} --test-dir ${BIN} -N OUTPUT_VARIABLE listing)
string(REGEX MATCHALL "fixture\\.[A-Za-z0-9_]+" registered "${listing}")
set(bad 0)
foreach(e ${expectations})
  string(REPLACE "|" ";" f "${e}")
  list(GET f 0 c)
  list(REMOVE_ITEM registered fixture.${c})
endforeach()
if(registered)
  message("SELFTEST: cases without an expectation in run.cmake: ${registered}")
  set(bad 1)
endif()

foreach(e ${expectations})
  string(FIND "${e}" "|" a)
  string(SUBSTRING "${e}" 0 ${a} c)
  math(EXPR a "${a} + 1")
  string(SUBSTRING "${e}" ${a} 4 want)
  math(EXPR a "${a} + 5")
  string(SUBSTRING "${e}" ${a} -1 regex)
  execute_process(COMMAND ${CMAKE_CTEST_COMMAND} --test-dir ${BIN} -R "^fixture\\.${c}$" -V
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT out MATCHES "tests failed out of 1\n")
    set(got "NOT RUN")
  elseif(rc EQUAL 0)
    set(got PASS)
  else()
    set(got FAIL)
  endif()
  if(got STREQUAL want AND out MATCHES "${regex}")
    set(verdict ok)
  else()
    set(verdict WRONG)
    set(bad 1)
  endif()
  string(REGEX MATCH "Test +#[0-9]+: [^\n]*" line "${out}")
  message("${verdict}: ${c}: ctest says ${got} (want ${want}, showing /${regex}/)\n    ${line}")
  if(verdict STREQUAL WRONG)
    message("---- ctest output for ${c}:\n${out}----")
  endif()
endforeach()
if(bad)
  message(FATAL_ERROR "SELFTEST FAILED: the pin mechanism does not judge pins as documented")
endif()
message("SELFTEST PASSED: every misbehaving pin is judged as documented in docs/pins.md")
