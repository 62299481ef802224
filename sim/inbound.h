/*
 * inbound.h — inbound port forwarding in the simulator: forwards (from the
 * configuration or added and removed at run time), the host-side clients
 * that connect to the listeners the core opens, and the guest-side servers
 * that answer them.
 *
 * The simulated host (host.c) keeps the sockets; this module is everything
 * on either side of them that inbound traffic needs: which listener a client
 * reaches (none: refused), the accept queue behind each TCP listener and the
 * datagram queue behind each bound UDP socket, the client's remote
 * application (a struct sim_dest host.c runs like any destination's), the
 * guest applications on the forwarded ports, and the checks and metrics of
 * docs/scenarios.md ("Inbound port forwarding").
 */
#ifndef VNAT_SIM_INBOUND_H
#define VNAT_SIM_INBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vnat/vnat.h>

#include "gtcp.h"

struct sim_config;
struct sim_parser;
struct sim_world;
struct sim_event;
struct sim_dest;

/* Parse one of the directives `forward`, `inbound`, `guest_serve` (w[0]).
 * 0, or -1 with the error in p. */
int sim_inbound_directive(struct sim_parser *p, struct sim_config *cfg, char **w, int n);
void sim_inbound_cfg_free(struct sim_config *cfg);
/* Host-side clients configured (TCP and UDP): each may need a guest
 * connection and a host socket. */
uint32_t sim_inbound_clients(const struct sim_config *cfg);
/* Forwards configured (at creation or at run time): each may hold a listener. */
uint32_t sim_inbound_forwards(const struct sim_config *cfg);

/* The run: set up (guest listeners, client starts, timed forwards), events
 * (EV_INBOUND), tear down, end checks, metrics. */
int sim_inbound_init(struct sim_world *w);
void sim_inbound_free(struct sim_world *w);
void sim_inbound_on_event(struct sim_world *w, const struct sim_event *ev);
void sim_inbound_end_checks(struct sim_world *w);
/* 1: a metric of this module (*out set); -1: one of its names but unknown;
 * 0: not this module's. */
int sim_inbound_metric(const struct sim_world *w, const char *name, uint64_t *out);

/* Guest side. A frame about to reach the guest (checked for the SYN the
 * core sends on a forwarded port); an event of a passively opened guest
 * connection; a UDP datagram for the guest (true if a served port took it). */
void sim_inbound_to_guest(struct sim_world *w, const uint8_t *frame, size_t len);
void sim_inbound_guest_event(struct sim_world *w, struct gtcp_conn *c, enum gtcp_event ev);
bool sim_inbound_guest_udp(struct sim_world *w, const uint8_t src[4], uint16_t sport,
                           uint16_t dport, const uint8_t *data, size_t len);

/* Host side, for host.c. A listener (TCP) or bound datagram socket opened
 * or closed by the core; the next connection in a listener's accept queue
 * (false: none) and its acceptance; a bound socket's datagrams. */
void sim_inbound_listen(struct sim_world *w, vnat_token tok, const struct vnat_sockaddr *local,
                        uint8_t proto);
void sim_inbound_unlisten(struct sim_world *w, vnat_token tok);
bool sim_inbound_next_pending(struct sim_world *w, vnat_token listener,
                              const struct sim_dest **dest, struct vnat_sockaddr *peer,
                              uint32_t *client);
void sim_inbound_accepted(struct sim_world *w, vnat_token listener, uint32_t client,
                          uint32_t remote);
long sim_inbound_dgram_recv(struct sim_world *w, vnat_token tok, uint8_t *buf, size_t cap,
                            struct vnat_sockaddr *from);
long sim_inbound_dgram_send(struct sim_world *w, vnat_token tok, const uint8_t *buf, size_t len,
                            const struct vnat_sockaddr *to);

#endif
