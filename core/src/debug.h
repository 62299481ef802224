/*
 * debug.h — layer 5: internal hooks for pins, fuzz targets and benchmarks
 * (not part of the public API; defined in vnat.c).
 */
#ifndef VNAT_DEBUG_H
#define VNAT_DEBUG_H

#include <stddef.h>
#include <stdint.h>

struct vnat;
struct flow;

/* Every ISN is isn while enabled. */
void vnat_debug_force_isn(struct vnat *nat, int enable, uint32_t isn);
size_t vnat_debug_flow_size(void);
/* The flow slot, its index entries and its heap slot. */
size_t vnat_debug_memory_per_flow(void);
/* The flow in slot index, NULL if the slot is free or out of range. */
const struct flow *vnat_debug_flow_at(const struct vnat *nat, uint32_t index);

#endif
