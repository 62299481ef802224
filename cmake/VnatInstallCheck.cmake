# install.embed (label "install"): install this build into a scratch prefix
# and build a tiny embedder against it with nothing but
# `pkg-config --cflags --libs vnat`, the way a VMM would. Registered in plain
# builds only (release): an instrumented libvnat.a needs its runtime to link.
if(VNAT_BUILD_TESTS AND NOT VNAT_SANITIZE AND NOT VNAT_COVERAGE AND NOT VNAT_FUZZ)
  add_test(NAME install.embed
           COMMAND ${CMAKE_COMMAND} -DBUILD=${PROJECT_BINARY_DIR}
                   -DPREFIX=${PROJECT_BINARY_DIR}/install-check
                   -DCC=${CMAKE_C_COMPILER}
                   -DSRC=${CMAKE_CURRENT_LIST_DIR}/install-check/embedder.c
                   -P ${CMAKE_CURRENT_LIST_DIR}/install-check/run.cmake)
  set_tests_properties(install.embed PROPERTIES LABELS "install" TIMEOUT 120)
endif()
