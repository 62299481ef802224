# cmake -DEXE=pin_x -DCASES=a,b,c -P VnatPinCases.cmake
#
# The registration check behind every NAME.__cases test: ctest only knows the
# cases whose PIN(...) / BROKEN_ON_PURPOSE(...) marker vnat_pin found, so a
# case listed in PIN_MAIN without a marker would never run. This compares the
# executable's own list (pin_x --list) with the registered one, both ways.
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND ${EXE} --list OUTPUT_VARIABLE listed RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} --list failed (${rc})")
endif()
string(REPLACE "," ";" registered "${CASES}")
string(REGEX REPLACE "\n$" "" listed "${listed}")
string(REPLACE "\n" ";" listed "${listed}")
set(bad 0)
foreach(c ${listed})
  if(NOT c IN_LIST registered)
    message("NOT REGISTERED: '${c}' is in PIN_MAIN but has no PIN(${c}) or "
            "BROKEN_ON_PURPOSE(${c}, \"...\") marker at the start of a line; ctest never runs it")
    set(bad 1)
  endif()
endforeach()
foreach(c ${registered})
  if(NOT c IN_LIST listed)
    message("NOT IN PIN_MAIN: '${c}' has a marker but PIN_MAIN does not list it")
    set(bad 1)
  endif()
endforeach()
list(LENGTH listed n)
if(bad)
  message(FATAL_ERROR "pin registration check failed for ${EXE}")
endif()
message("all ${n} case(s) of ${EXE} are registered with ctest")
