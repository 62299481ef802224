# Adapter pins: the QEMU stream framing (host/stream.c) — partial reads,
# bad lengths, compaction, partial writes. They link only the framing code,
# no core and no namespace.
if(TARGET vnat_host)
  vnat_pin(host_stream SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/host_stream_pins.c
           LIBS vnat_host LABELS host)
endif()
if(TARGET vnat_host)
  vnat_pin(host_ops SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/host_ops_pins.c
           LIBS vnat_host LABELS host)
endif()
