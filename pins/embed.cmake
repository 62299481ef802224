# Embedder's-eye pins: the public API only (<vnat/vnat.h>), as a VMM uses it.
vnat_pin(embed SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/embed_pins.c LIBS vnat_core LABELS api)
