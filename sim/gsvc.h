/*
 * gsvc.h — the simulated guest's datagram applications: the guest side of
 * the core's services (docs/services.md) that gtcp.c, a TCP endpoint, does
 * not speak. A DHCP client, UDP flows whose every reply byte is checked,
 * DNS stub queries, ICMP echo ("ping"), and a sender of spoofed frames.
 *
 * They share the guest's addresses and its link with gtcp.c: frames leave
 * through the world's guest frame path (so link faults apply to them), and
 * frames toward the guest that belong to them (UDP to port 68 or to one of
 * their ports, every ICMP message) are taken before gtcp.c sees them. A run
 * whose scenario uses none of them creates no gsvc state, takes no frame
 * and draws nothing from the random source: its trace is unchanged.
 *
 * Checks that fail the run at once: a reply from an address or port other
 * than the one the guest sent to, a reply byte that differs from what was
 * sent, a reply to something never sent, an echo reply with the wrong
 * identifier or sequence, a DNS answer whose ID or question does not match
 * the query, or whose address differs from the expected one.
 */
#ifndef VNAT_SIM_GSVC_H
#define VNAT_SIM_GSVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vnat/vnat.h>

struct sim_world;
struct sim_config;
struct sim_event;
struct sim_parser;

enum gsvc_kind { GS_UDP = 1, GS_DNS, GS_PING, GS_SPOOF };

/* One application instance: a UDP flow (one source port), a DNS stub (a
 * new source port per query), a pinger (one identifier), or a spoofer. */
struct gsvc_spec {
    uint8_t kind;    /* enum gsvc_kind */
    uint8_t proto;   /* spoof: VNAT_PROTO_TCP / UDP / ICMP */
    bool spoof_mac;  /* spoof: a wrong Ethernet source, else a wrong IP source */
    bool has_answer; /* dns: the answer must be `answer` */
    uint32_t group;
    struct vnat_sockaddr dst; /* udp, ping (port 0), spoof */
    uint64_t start;           /* relative to the run's start */
    uint64_t interval;        /* between datagrams / queries / echoes */
    uint32_t count;           /* datagrams / queries / echo requests / frames */
    uint32_t size;            /* payload bytes (udp, ping) */
    uint32_t ports;           /* dns: guest ports taken in turn; 0: one per query */
    uint8_t answer[4];
    char name[128]; /* dns: the name queried (type A) */
};

/* The DHCP client: at most one per run. */
struct gsvc_dhcp_spec {
    bool on;
    bool inform;      /* after ACK: DHCPINFORM */
    bool has_request; /* first REQUEST asks for `request` (not the offer) */
    bool broadcast;   /* set the broadcast flag */
    uint8_t request[4];
    uint8_t tries;       /* transmissions of one message before giving up */
    uint64_t start;      /* relative to the run's start */
    uint64_t retry;      /* wait for an answer before retransmitting */
    uint64_t release_at; /* 0: never; relative to the run's start */
};

/* Scenario directives `udp dns ping dhcp rule spoof` (docs/scenarios.md):
 * 1 handled, 0 not one of them, -1 bad (the error is in p). */
int gsvc_directive(struct sim_parser *p, struct sim_config *cfg, char **w, int n);
/* Host sockets the applications may need (sizes the simulated host). */
uint32_t gsvc_sockets_needed(const struct sim_config *cfg);
/* True if the configuration has any application (a scenario needs one of
 * these or a flows line). */
bool gsvc_configured(const struct sim_config *cfg);
/* True if a spoof line sends from a MAC other than the guest's. */
bool gsvc_spoofs_mac(const struct sim_config *cfg);

/* Run time (world.c). init: 0 or -1 (memory); schedules the starts. */
int gsvc_init(struct sim_world *w);
void gsvc_free(struct sim_world *w);
/* A frame arrived at the guest: true if it was one of ours (consumed). */
bool gsvc_on_frame(struct sim_world *w, const uint8_t *frame, size_t len);
void gsvc_on_event(struct sim_world *w, const struct sim_event *ev);
/* GROUP.FIELD of an application group, or dhcp.FIELD: true if known. */
bool gsvc_metric(const struct sim_world *w, const char *name, uint64_t *out);

#endif
