# vnat_pin(NAME SOURCES src.c... [LIBS lib...] [LABELS label...] [TIMEOUT seconds])
#
# Builds one cmocka executable `pin_NAME` from SOURCES (plus pins/pin_main.c)
# and registers ONE ctest test per test case, named NAME.case, so that one
# failing case never hides another. Test cases are found by reading the
# sources at configure time (a macro must start its line):
#   PIN(case)                          an ordinary pin: must pass
#   BROKEN_ON_PURPOSE(case, "why")     a known defect or unbuilt behaviour: it
#                                      asserts the desired behaviour and is
#                                      expected to FAIL BY A CMOCKA ASSERTION.
#
# How a broken pin is judged (pins/pin_main.c does the judging, ctest only
# reads the exit status): the case runs with the crash handlers that were in
# force before cmocka installed its own (the default, or the sanitizer's), so
# a crash, a trap (the core's default panic), an ASan or UBSan report
# (-fno-sanitize-recover=all) still ends the process abnormally and fails the
# test; only a failure raised by a cmocka assertion inside the case body makes
# pin_main exit 0. An unexpected pass prints "UNEXPECTED PASS" and exits 1.
# A timeout is a failure like any other (plain WILL_FAIL would count all of
# these as "expected failures", which is why it is not used).
#
# Every case gets a TIMEOUT (default 60 s, VNAT_PIN_DEFAULT_TIMEOUT).
# Labels: every pin gets "pin" and NAME; broken ones also "broken_on_purpose".
# One more test per pin file, NAME.__cases, fails if PIN_MAIN lists a case
# that carries no PIN/BROKEN_ON_PURPOSE marker (it would otherwise never run).
# tools/list-broken lists the broken pins from the sources, without a build.

set(VNAT_PIN_DIR ${CMAKE_CURRENT_LIST_DIR}/../pins)
get_filename_component(VNAT_PIN_DIR ${VNAT_PIN_DIR} ABSOLUTE)
set(VNAT_PIN_CMAKE_DIR ${CMAKE_CURRENT_LIST_DIR})
if(NOT DEFINED VNAT_PIN_DEFAULT_TIMEOUT)
  set(VNAT_PIN_DEFAULT_TIMEOUT 60)
endif()

if(NOT TARGET vnat_cmocka)
  find_library(VNAT_CMOCKA_LIB cmocka REQUIRED)
  find_path(VNAT_CMOCKA_INC cmocka.h REQUIRED)
  add_library(vnat_cmocka INTERFACE)
  target_link_libraries(vnat_cmocka INTERFACE ${VNAT_CMOCKA_LIB})
  target_include_directories(vnat_cmocka INTERFACE ${VNAT_CMOCKA_INC})
endif()

set_property(GLOBAL PROPERTY VNAT_BROKEN_PINS "")

# Output that fails any pin whatever its exit status: sanitizer reports and
# the runner's own verdict on a broken pin that passed.
set(VNAT_PIN_FAIL_REGEX
    "ERROR: AddressSanitizer|ERROR: LeakSanitizer|: runtime error: |UNEXPECTED PASS")

function(vnat_pin NAME)
  cmake_parse_arguments(P "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT P_SOURCES)
    message(FATAL_ERROR "vnat_pin(${NAME}): SOURCES is required")
  endif()
  if(P_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "vnat_pin(${NAME}): unknown arguments: ${P_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT P_TIMEOUT)
    set(P_TIMEOUT ${VNAT_PIN_DEFAULT_TIMEOUT})
  endif()
  set(exe pin_${NAME})
  add_executable(${exe} ${P_SOURCES} ${VNAT_PIN_DIR}/pin_main.c)
  target_include_directories(${exe} PRIVATE ${VNAT_PIN_DIR})
  target_link_libraries(${exe} PRIVATE vnat_cmocka ${P_LIBS})
  set(cases "")
  foreach(src ${P_SOURCES})
    get_filename_component(abs ${src} ABSOLUTE)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${abs})
    file(READ ${abs} text)
    # A leading newline lets a macro on the first line match too. Semicolons
    # are CMake's list separator: a ';' inside a BROKEN_ON_PURPOSE reason
    # split the match into two garbage registrations, so every ';' of the
    # source becomes a placeholder first (a reason shows it as ',').
    string(REPLACE ";" "<semicolon>" text "${text}")
    set(text "\n${text}")
    string(REGEX MATCHALL "\n[ \t]*PIN\\([ \t]*[A-Za-z0-9_]+[ \t]*\\)" found "${text}")
    foreach(m ${found})
      string(REGEX REPLACE ".*PIN\\([ \t]*([A-Za-z0-9_]+).*" "\\1" c "${m}")
      add_test(NAME ${NAME}.${c} COMMAND ${exe} ${c})
      set_tests_properties(${NAME}.${c} PROPERTIES
        LABELS "pin;${NAME};${P_LABELS}"
        TIMEOUT ${P_TIMEOUT}
        FAIL_REGULAR_EXPRESSION "${VNAT_PIN_FAIL_REGEX}")
      list(APPEND cases ${c})
    endforeach()
    # The reason is a string literal, or adjacent literals (clang-format
    # splits long ones); \" inside is allowed.
    set(lit "\"([^\"\\\\]|\\\\.)*\"")
    string(REGEX MATCHALL
      "\n[ \t]*BROKEN_ON_PURPOSE\\([ \t\n]*[A-Za-z0-9_]+[ \t\n]*,[ \t\n]*${lit}([ \t\n]*${lit})*"
      found "${text}")
    foreach(m ${found})
      string(REGEX REPLACE ".*BROKEN_ON_PURPOSE\\([ \t\n]*([A-Za-z0-9_]+).*" "\\1" c "${m}")
      string(REGEX REPLACE "^[^\"]*\"(.*)\"$" "\\1" why "${m}")
      string(REGEX REPLACE "\"[ \t\n]*\"" "" why "${why}")
      string(REPLACE "<semicolon>" "," why "${why}")
      string(REPLACE "\\\"" "'" why "${why}")
      add_test(NAME ${NAME}.${c} COMMAND ${exe} ${c} --broken "${why}")
      set_tests_properties(${NAME}.${c} PROPERTIES
        LABELS "pin;${NAME};broken_on_purpose;${P_LABELS}"
        TIMEOUT ${P_TIMEOUT}
        FAIL_REGULAR_EXPRESSION "${VNAT_PIN_FAIL_REGEX}")
      set_property(GLOBAL APPEND PROPERTY VNAT_BROKEN_PINS "${NAME}.${c}: ${why}")
      list(APPEND cases ${c})
    endforeach()
  endforeach()
  if(NOT cases)
    message(FATAL_ERROR "vnat_pin(${NAME}): no PIN(...) or BROKEN_ON_PURPOSE(...) found")
  endif()
  list(JOIN cases "," cases_csv)
  add_test(NAME ${NAME}.__cases
           COMMAND ${CMAKE_COMMAND} -DEXE=$<TARGET_FILE:${exe}> -DCASES=${cases_csv}
                   -P ${VNAT_PIN_CMAKE_DIR}/VnatPinCases.cmake)
  set_tests_properties(${NAME}.__cases PROPERTIES LABELS "pin;${NAME};${P_LABELS}" TIMEOUT 30)
endfunction()
