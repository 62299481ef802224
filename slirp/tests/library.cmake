# The shared library's tests (included from slirp/CMakeLists.txt):
#   slirp.symbols  our exported symbols, their ELF versions, the version tree
#                  and the SONAME against Debian's libslirp.so.0
#   slirp_api.*    the public ABI through the shared library, as an embedder
#                  calls it (callbacks, forwards on real loopback sockets,
#                  DHCP through send_packet, learning the guest, refusals)
add_test(NAME slirp.symbols
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/symbols.sh $<TARGET_FILE:vnat_slirp>)
set_tests_properties(slirp.symbols PROPERTIES LABELS "slirp" SKIP_RETURN_CODE 77)
vnat_pin(slirp_api SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/tests/api_pins.c
         LIBS vnat_slirp LABELS slirp)
target_include_directories(pin_slirp_api PRIVATE ${VNAT_SLIRP_INCLUDE})
