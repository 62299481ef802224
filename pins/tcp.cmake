vnat_pin(tcp SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/tcp_pins.c ${CMAKE_CURRENT_SOURCE_DIR}/fakehost.c
         LIBS vnat_core_internal vnat_testkit LABELS tcp)
