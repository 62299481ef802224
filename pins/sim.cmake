# Pins of the simulator's own pieces (sim/): the event queue order, the
# random source's replay from raw bytes, the stream pattern checks, the
# guest TCP endpoint against a loopback of itself, the trace format.
vnat_pin(sim SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/sim_pins.c LIBS vnat_sim LABELS sim)
