/*
 * dispatch.h — layer 4: the one place that routes work to the protocols.
 * Guest frames (Ethernet -> ARP / IPv4 / IPv6 -> protocol), host socket
 * events (by token: which protocol owns this flow or listener), guest-link
 * writable, due timers (flow timers by the owning flow's protocol, instance
 * timers by their id) and the per-flow parts of shutdown, the invariant
 * check and the dump. vnat.c calls it after clamping now and logging.
 */
#ifndef VNAT_DISPATCH_H
#define VNAT_DISPATCH_H

#include "base.h"
#include "fmt.h"

struct flow;

void dispatch_frame(struct vnat *nat, const uint8_t *frame, size_t len);
/* Fire every timer due at nat->now, earliest first. */
void dispatch_timers(struct vnat *nat);
/* Socket events: VNAT_OK, or VNAT_E_STALE (counted stale_tokens) if tok
 * names no live socket. */
vnat_err dispatch_writable(struct vnat *nat, vnat_token tok, int so_error);
vnat_err dispatch_readable(struct vnat *nat, vnat_token tok);
vnat_err dispatch_listener_ready(struct vnat *nat, vnat_token tok);
/* The guest link takes frames again: resume the flows that lost one, oldest
 * first, until it refuses again. */
void dispatch_link_writable(struct vnat *nat);
/* End every flow (TCP: RST to the guest, host socket reset; datagram flows
 * released); listeners and forwards stay. vnat_reset_flows. */
void dispatch_reset_flows(struct vnat *nat);
/* Reset every TCP flow, release every datagram flow, close every listener. */
void dispatch_shutdown(struct vnat *nat);
/* Every live flow's protocol invariants and the protocols' counters. */
int dispatch_check(const struct vnat *nat, char *why, size_t why_len);
/* One line of vnat_dump_flows for a live flow. */
void dispatch_dump_flow(const struct vnat *nat, const struct flow *f, struct fmt_buf *b);

#endif
