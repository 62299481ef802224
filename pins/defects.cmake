vnat_pin(defects SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/defects_pins.c ${CMAKE_CURRENT_SOURCE_DIR}/fakehost.c
         LIBS vnat_core_internal vnat_testkit vnat_host LABELS defects)
