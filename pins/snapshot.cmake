vnat_pin(snapshot SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/snapshot_pins.c ${CMAKE_CURRENT_SOURCE_DIR}/fakehost.c
         LIBS vnat_core_internal vnat_testkit vnat_vlog LABELS snapshot)
target_compile_definitions(pin_snapshot PRIVATE
  VNAT_PIN_DATA="${CMAKE_CURRENT_SOURCE_DIR}/data")
vnat_pin(snapshot_svc SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/snapshot_svc_pins.c
         ${CMAKE_CURRENT_SOURCE_DIR}/svc_fakehost.c LIBS vnat_core_internal vnat_testkit LABELS snapshot)
