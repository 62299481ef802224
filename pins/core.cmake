vnat_pin(core SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/core_pins.c ${CMAKE_CURRENT_SOURCE_DIR}/fakehost.c
         LIBS vnat_core_internal vnat_testkit LABELS core)
target_compile_definitions(pin_core PRIVATE VNAT_DOCS_DIR="${PROJECT_SOURCE_DIR}/docs")
