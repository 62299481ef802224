# Layer 0's text formatters (core/src/fmt.c): the dump's and the invariant
# messages' only writer, pinned directly for its bounds.
vnat_pin(fmt SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fmt_pins.c LIBS vnat_core_internal LABELS core)
