# The test kit itself (testkit/): its builders give the wire layer's bytes,
# its parser reads them back, the socket table refuses a reissued token, the
# capture ring and the scripted results behave as documented. Label "testkit".
vnat_pin(testkit SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/testkit_pins.c
         ${CMAKE_CURRENT_SOURCE_DIR}/svc_fakehost.c LIBS vnat_core_internal vnat_testkit
         LABELS testkit)
