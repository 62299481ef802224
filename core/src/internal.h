/*
 * internal.h — TEST-ONLY umbrella: every internal header of the core, for
 * pins, fuzz targets and benchmarks that test internals directly (through
 * vnat_core_internal). No file of core/src includes it: each includes the
 * headers of the layers it uses, and the layer check (tools/check-layers)
 * fails if one includes this. Embedders use only <vnat/vnat.h>.
 */
#ifndef VNAT_INTERNAL_H
#define VNAT_INTERNAL_H

#include "base.h"
#include "wire.h"
#include "fmt.h"
#include "siphash.h"
#include "log.h"
#include "policy.h"
#include "timer.h"
#include "flow.h"
#include "tcp.h"
#include "dgram.h"
#include "arp.h"
#include "dhcp.h"
#include "dns.h"
#include "forward.h"
#include "icmp.h"
#include "udp.h"
#include "dispatch.h"
#include "debug.h"

#endif /* VNAT_INTERNAL_H */
