# Wire layer pins: one executable per protocol family so a crash in one
# never hides another. All carry the "wire" label (ctest -L wire).
foreach(part csum eth ip tcp l4 dhcp frame)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/wire_${part}_pins.c)
    vnat_pin(wire_${part} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/wire_${part}_pins.c
             LIBS vnat_core_internal LABELS wire)
  endif()
endforeach()
