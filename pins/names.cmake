vnat_pin(names SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/names_pins.c LIBS vnat_core LABELS api)
