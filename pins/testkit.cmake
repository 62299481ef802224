# The test kit itself (testkit/): its builders' frames parse back field by
# field, the socket table refuses a reissued token, the capture ring and the
# scripted results behave as documented. Label "testkit".
vnat_pin(testkit SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/testkit_pins.c
         ${CMAKE_CURRENT_SOURCE_DIR}/svc_fakehost.c LIBS vnat_core_internal vnat_testkit
         LABELS testkit)
