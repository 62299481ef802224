/*
 * forward.h — layer 3 (middle row): inbound port forwards (TCP and UDP
 * listeners). Uses tcp (an accepted connection becomes a TCP flow that
 * sends the guest a SYN) and dgram (inbound UDP flows).
 */
#ifndef VNAT_FORWARD_H
#define VNAT_FORWARD_H

#include "base.h"
#include "flow.h"

/* A listener slot. Tokens of listeners use slots max_flows ..
 * max_flows+max_forwards-1. */
struct listener {
    struct vnat_forward fwd;
    uint32_t gen;
    uint32_t reject_gen; /* generation of the next refused connection's token, never 0 */
    uint8_t in_use;
    uint8_t pad_[3];
};

/* The forwards' part of the instance (nat->fwd). */
struct fwd_state {
    struct listener *listeners; /* cfg.max_forwards */
    uint32_t live;              /* listeners in use */
    uint32_t pad_;
};

/* listeners: cfg.max_forwards slots of core memory. */
void forward_init(struct vnat *nat, struct listener *listeners);
/* Open cfg.forwards: VNAT_OK, or (after closing what was opened)
 * VNAT_E_HOST if the host refused one, VNAT_E_CONFIG if one is invalid. */
vnat_err forward_open_config(struct vnat *nat);
/* vnat_forward_add / vnat_forward_remove (their codes: vnat.h). */
vnat_err forward_add(struct vnat *nat, const struct vnat_forward *fwd);
vnat_err forward_remove(struct vnat *nat, const struct vnat_forward *fwd);
/* Listener-ready or readable on a listener token: false if the token names
 * no live listener. */
bool forward_on_listener_ready(struct vnat *nat, vnat_token tok);
/* A guest datagram for an inbound UDP flow: send it to the host peer on the
 * listener's socket; FWD_STALE if the forward was removed. */
long forward_udp_send(struct vnat *nat, struct flow *f, const uint8_t *buf, size_t len);
#define FWD_STALE (-1000L)
void forward_shutdown(struct vnat *nat); /* close every listener */
/* Restore with the host sockets lost (snap.c): ask the host again for every
 * listener in use, under its old token. VNAT_OK, or VNAT_E_HOST (after
 * closing those reopened) if the host refused one. */
vnat_err forward_reopen(struct vnat *nat);

#endif
