# vnat_pin(NAME SOURCES src.c... [LIBS lib...] [LABELS label...])
#
# Builds one cmocka executable `pin_NAME` from SOURCES (plus pins/pin_main.c)
# and registers ONE ctest test per test case, named NAME.case, so that one
# failing case never hides another. Test cases are found by reading the
# sources at configure time:
#   PIN(case)                          an ordinary pin: must pass
#   BROKEN_ON_PURPOSE(case, "why")     a known defect or unbuilt behaviour: it
#                                      asserts the desired behaviour and is
#                                      expected to FAIL BY A CMOCKA ASSERTION.
# A broken pin passes in ctest only if cmocka reports "[  FAILED  ] case";
# a crash, a sanitizer report, a timeout or an unexpected pass fails it.
# Labels: every pin gets "pin" and NAME; broken ones get "broken_on_purpose".
find_package(PkgConfig QUIET)
if(NOT TARGET vnat_cmocka)
  find_library(VNAT_CMOCKA_LIB cmocka REQUIRED)
  find_path(VNAT_CMOCKA_INC cmocka.h REQUIRED)
  add_library(vnat_cmocka INTERFACE)
  target_link_libraries(vnat_cmocka INTERFACE ${VNAT_CMOCKA_LIB})
  target_include_directories(vnat_cmocka INTERFACE ${VNAT_CMOCKA_INC})
endif()

set_property(GLOBAL PROPERTY VNAT_BROKEN_PINS "")

function(vnat_pin NAME)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT P_SOURCES)
    message(FATAL_ERROR "vnat_pin(${NAME}): SOURCES is required")
  endif()
  set(exe pin_${NAME})
  add_executable(${exe} ${P_SOURCES} ${PROJECT_SOURCE_DIR}/pins/pin_main.c)
  target_include_directories(${exe} PRIVATE ${PROJECT_SOURCE_DIR}/pins)
  target_link_libraries(${exe} PRIVATE vnat_cmocka ${P_LIBS})
  set(cases "")
  foreach(src ${P_SOURCES})
    get_filename_component(abs ${src} ABSOLUTE)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${abs})
    file(READ ${abs} text)
    string(REGEX MATCHALL "\n[ \t]*PIN\\([A-Za-z0-9_]+\\)" found "${text}")
    foreach(m ${found})
      string(REGEX REPLACE ".*PIN\\(([A-Za-z0-9_]+)\\)" "\\1" c "${m}")
      add_test(NAME ${NAME}.${c} COMMAND ${exe} ${c})
      set_tests_properties(${NAME}.${c} PROPERTIES LABELS "pin;${NAME};${P_LABELS}"
                           FAIL_REGULAR_EXPRESSION "Sanitizer|runtime error|failed with exception")
      list(APPEND cases ${c})
    endforeach()
    string(REGEX MATCHALL "\n[ \t]*BROKEN_ON_PURPOSE\\([A-Za-z0-9_]+,[ \t\n]*\"[^\"]*\"" found "${text}")
    foreach(m ${found})
      string(REGEX REPLACE ".*BROKEN_ON_PURPOSE\\(([A-Za-z0-9_]+),.*" "\\1" c "${m}")
      string(REGEX REPLACE ".*BROKEN_ON_PURPOSE\\([A-Za-z0-9_]+,[ \t\n]*\"([^\"]*)\"" "\\1" why "${m}")
      add_test(NAME ${NAME}.${c} COMMAND ${exe} ${c} --broken)
      set_tests_properties(${NAME}.${c} PROPERTIES
        LABELS "pin;${NAME};broken_on_purpose;${P_LABELS}"
        PASS_REGULAR_EXPRESSION "\\[  FAILED  \\] ${c}"
        FAIL_REGULAR_EXPRESSION "Sanitizer|runtime error|failed with exception|UNEXPECTED PASS")
      set_property(GLOBAL APPEND PROPERTY VNAT_BROKEN_PINS "${NAME}.${c}: ${why}")
      list(APPEND cases ${c})
    endforeach()
  endforeach()
  if(NOT cases)
    message(FATAL_ERROR "vnat_pin(${NAME}): no PIN(...) or BROKEN_ON_PURPOSE(...) found")
  endif()
endfunction()
