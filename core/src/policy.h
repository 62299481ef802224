/*
 * policy.h — layer 1: where the guest may go. One decision function for every
 * protocol (TCP now; UDP and ICMP of guest services reuse it): the
 * destination the guest asked for is translated to the host's view (gateway
 * -> host loopback, DNS address -> the host resolver), then the rule list
 * (first match wins, default allow) is checked against BOTH the original and
 * the translated destination, so neither name can be used to slip past a
 * deny rule. Special destinations (loopback, multicast, broadcast,
 * link-local unless allowed) are refused outright.
 */
#ifndef VNAT_POLICY_H
#define VNAT_POLICY_H

#include "base.h"

/* The policy layer's part of the instance (nat->policy). */
struct policy_state {
    uint64_t syn_bucket;      /* rate limiter tokens, in token-nanoseconds */
    uint64_t syn_bucket_last; /* when it was last refilled */
    uint64_t dgram_bucket;    /* the same for new guest UDP and ICMP flows */
    uint64_t dgram_bucket_last;
    uint8_t resolver; /* cfg.dns_servers index the DNS address maps to now */
    uint8_t pad_[7];
};

void policy_init(struct vnat *nat);

enum policy_verdict {
    POLICY_ALLOW = 0,
    POLICY_DENY_RULE,    /* a deny rule matched */
    POLICY_DENY_SPECIAL, /* loopback/multicast/broadcast/link-local/unspecified */
};

/* Decide whether the guest may reach dst (as the guest addressed it) with
 * proto, and write the host-side destination to *host_dst. */
enum policy_verdict policy_outbound(const struct vnat *nat, uint8_t proto,
                                    const struct vnat_sockaddr *dst,
                                    struct vnat_sockaddr *host_dst);

/* First-match rule lookup for one destination: true if denied. */
bool policy_rules_deny(const struct vnat *nat, uint8_t proto, const struct vnat_sockaddr *dst);

/* Does ip fall in net/prefix (same family)? */
bool policy_ip_in(const struct vnat_ip *ip, const struct vnat_ip *net, unsigned prefix);

/* New-connection rate limiter (token bucket in virtual time). Returns true
 * and takes a token if a new connection may start at nat->now. */
bool policy_rate_take(struct vnat *nat);
/* The same for a new guest UDP or ICMP flow, from a bucket of its own. */
bool policy_dgram_rate_take(struct vnat *nat);

/* The resolver the DNS address maps to now (an index into cfg.dns_servers,
 * 0 when there is none), and the failover: a resolver that failed while in
 * use hands over to the next one. */
unsigned policy_resolver(const struct vnat *nat);
void policy_resolver_failed(struct vnat *nat, unsigned index);

#endif
