# Self-tests of the test machinery itself (label "selftest"), so that the
# BROKEN_ON_PURPOSE guarantee and the purity check cannot rot silently.
# Owned with tools/ and cmake/; see docs/pins.md.

# The pin mechanism: misbehaving pins built in a throwaway project must be
# judged as documented. Needs sanitizers to mean anything, so it runs in the
# sanitizer (dev) build only.
if(VNAT_SANITIZE)
  add_test(NAME selftest.pin_mechanism
           COMMAND ${CMAKE_COMMAND} -DSRC=${PROJECT_SOURCE_DIR}
                   -DBIN=${CMAKE_CURRENT_BINARY_DIR}/selftest-project
                   -DCC=${CMAKE_C_COMPILER} -P ${CMAKE_CURRENT_SOURCE_DIR}/selftest/run.cmake)
  set_tests_properties(selftest.pin_mechanism PROPERTIES LABELS "selftest" TIMEOUT 300
                       RUN_SERIAL TRUE)
endif()

# The purity check must reject an impure library: a throwaway static library
# that calls malloc and printf. Matched on the check's own verdict, so a
# missing library or a broken nm cannot make this pass.
add_library(vnat_selftest_impure STATIC ${CMAKE_CURRENT_SOURCE_DIR}/selftest/impure.c)
add_test(NAME selftest.purity_rejects_impure
         COMMAND ${PROJECT_SOURCE_DIR}/tools/check-purity $<TARGET_FILE:vnat_selftest_impure>)
set_tests_properties(selftest.purity_rejects_impure PROPERTIES LABELS "selftest;purity"
  PASS_REGULAR_EXPRESSION "FAIL: the core references symbols outside the allowlist:.*malloc")
