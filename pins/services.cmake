# Guest services (issue 5): ARP, DHCP, DNS, UDP, ICMP, port forwarding,
# egress policy. Each area is its own pin executable over the services'
# fake host (svc_fakehost.c); label "services".
foreach(area arp dhcp dns udp icmp forward policy mac)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/svc_${area}_pins.c)
    vnat_pin(svc_${area} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/svc_${area}_pins.c
             ${CMAKE_CURRENT_SOURCE_DIR}/svc_fakehost.c LIBS vnat_core_internal vnat_testkit LABELS services)
  endif()
endforeach()
