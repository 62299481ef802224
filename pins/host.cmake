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
# The rules that keep the guest off the host's own addresses
# (host/hostaddrs.c): built from address lists, then run in a core over the
# services' fake host.
if(TARGET vnat_host)
  vnat_pin(host_addrs SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/host_addrs_pins.c
           ${CMAKE_CURRENT_SOURCE_DIR}/svc_fakehost.c LIBS vnat_host vnat_core_internal vnat_testkit
           LABELS host)
endif()
# The --api-socket protocol (host/api_proto.c): requests, every malformed
# class, oversize and truncated lines, the line framer, the replies. Pure:
# no socket, no namespace.
if(TARGET vnat_host)
  vnat_pin(host_api SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/host_api_pins.c LIBS vnat_host
           LABELS host)
endif()
# The socket operations (host/sockops.c) reused by a front end that is not
# the epoll loop: linked without loop.c, driven through a poll() poller.
if(TARGET vnat_host_io)
  vnat_pin(host_io SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/host_io_pins.c LIBS vnat_host_io
           LABELS host)
endif()
