/*
 * policy.c — destination translation, deny rules and the new-connection
 * rate limiter (see policy.h). Pure functions of the configuration and the
 * virtual clock; no scan depends on the number of flows (rules are scanned,
 * and their number is fixed at creation).
 */
#include "policy.h"

#include "wire.h"

void policy_init(struct vnat *nat)
{
    memset(nat->policy, 0, sizeof *nat->policy);
    nat->policy->syn_bucket = (uint64_t)nat->cfg.syn_rate_per_sec * VNAT_NS_PER_S;
    nat->policy->dgram_bucket = nat->policy->syn_bucket;
}

bool policy_ip_in(const struct vnat_ip *ip, const struct vnat_ip *net, unsigned prefix)
{
    if (ip->family != net->family)
        return false;
    unsigned max = ip->family == VNAT_AF_INET ? 32u : 128u;
    if (prefix > max)
        prefix = max;
    unsigned full = prefix / 8, rest = prefix % 8;
    if (full > 0 && memcmp(ip->addr, net->addr, full) != 0)
        return false;
    if (rest != 0) {
        uint8_t mask = (uint8_t)(0xffu << (8 - rest));
        if ((ip->addr[full] & mask) != (net->addr[full] & mask))
            return false;
    }
    return true;
}

bool policy_rules_deny(const struct vnat *nat, uint8_t proto, const struct vnat_sockaddr *dst)
{
    for (uint32_t i = 0; i < nat->cfg.n_rules; i++) {
        const struct vnat_rule *r = &nat->cfg.rules[i];
        VNAT_ASSERT(nat,
                    r->action <= VNAT_RULE_ALLOW && r->port_lo <= r->port_hi); /* normalize() */
        if (r->proto != VNAT_PROTO_ANY && r->proto != proto)
            continue;
        if (dst->port < r->port_lo || dst->port > r->port_hi)
            continue;
        if (!policy_ip_in(&dst->ip, &r->net, r->prefix))
            continue;
        return r->action == VNAT_RULE_DENY;
    }
    return false;
}

static bool ip4_special(const struct vnat *nat, const uint8_t a[4])
{
    if (a[0] == 0 || a[0] == 127)
        return true; /* unspecified/"this network", the guest's own loopback */
    if (a[0] >= 224)
        return true; /* multicast, reserved, limited broadcast */
    /* The guest subnet's broadcast address. */
    const struct vnat_ip *g = &nat->cfg.guest_ip;
    unsigned p = nat->cfg.prefix_len;
    VNAT_ASSERT(nat, p >= 1 && p <= 30); /* normalize() */
    if (p < 31 &&
        policy_ip_in(&(struct vnat_ip){.family = VNAT_AF_INET, .addr = {a[0], a[1], a[2], a[3]}}, g,
                     p)) {
        uint32_t host_mask = (p == 0) ? 0xffffffffu : ((1u << (32 - p)) - 1u);
        uint32_t v = vw_get32(a);
        if ((v & host_mask) == host_mask)
            return true;
    }
    return false;
}

/* Is the first rule matching dst an ALLOW rule? (No rule matching: false.) */
static bool rule_allows(const struct vnat *nat, uint8_t proto, const struct vnat_sockaddr *dst)
{
    for (uint32_t i = 0; i < nat->cfg.n_rules; i++) {
        const struct vnat_rule *r = &nat->cfg.rules[i];
        if ((r->proto == VNAT_PROTO_ANY || r->proto == proto) && dst->port >= r->port_lo &&
            dst->port <= r->port_hi && policy_ip_in(&dst->ip, &r->net, r->prefix))
            return r->action == VNAT_RULE_ALLOW;
    }
    return false;
}

/* Destinations refused unless a rule allows them: link-local (169.254/16,
 * e.g. a cloud metadata service; VNAT_F_ALLOW_LINK_LOCAL allows it too) and
 * every address of the guest's own prefix other than vnat's (the gateway and
 * DNS addresses are handled before this): the guest prefix is virtual, and an
 * address in it means nothing on the host's network. */
static bool needs_allow_rule(const struct vnat *nat, const struct vnat_ip *ip)
{
    const uint8_t *a = ip->addr;
    if (a[0] == 169 && a[1] == 254 && !(nat->cfg.flags & VNAT_F_ALLOW_LINK_LOCAL))
        return true;
    return policy_ip_in(ip, &nat->cfg.guest_ip, nat->cfg.prefix_len);
}

enum policy_verdict policy_outbound(const struct vnat *nat, uint8_t proto,
                                    const struct vnat_sockaddr *dst, struct vnat_sockaddr *host_dst)
{
    VNAT_ASSERT(nat,
                proto == VNAT_PROTO_TCP || proto == VNAT_PROTO_UDP || proto == VNAT_PROTO_ICMP);
    *host_dst = *dst;
    if (dst->ip.family != VNAT_AF_INET)
        return POLICY_DENY_SPECIAL; /* IPv6 egress arrives with guest services */
    if (memcmp(&dst->ip, &nat->cfg.guest_ip, sizeof dst->ip) == 0)
        return POLICY_DENY_SPECIAL;
    if (memcmp(&dst->ip, &nat->cfg.gateway_ip, sizeof dst->ip) == 0) {
        if (!(nat->cfg.flags & VNAT_F_GATEWAY_IS_LOOPBACK))
            return POLICY_DENY_SPECIAL;
        host_dst->ip = vnat_ip4(127, 0, 0, 1);
    } else if (memcmp(&dst->ip, &nat->cfg.dns_ip, sizeof dst->ip) == 0) {
        if (dst->port != 53 || nat->cfg.n_dns_servers == 0)
            return POLICY_DENY_SPECIAL;
        /* The resolver in use (guest services move on after a failure). */
        *host_dst = nat->cfg.dns_servers[policy_resolver(nat)];
    } else if (ip4_special(nat, dst->ip.addr) ||
               (needs_allow_rule(nat, &dst->ip) && !rule_allows(nat, proto, dst))) {
        return POLICY_DENY_SPECIAL;
    }
    if (policy_rules_deny(nat, proto, dst) || policy_rules_deny(nat, proto, host_dst))
        return POLICY_DENY_RULE;
    return POLICY_ALLOW;
}

/* Take one token from a bucket of syn_rate_per_sec tokens a second. Tokens
 * are counted in token-nanoseconds: one flow costs 1e9, the bucket refills
 * at `rate` per nanosecond up to rate * 1e9 (one second's worth, so a burst
 * of `rate` is allowed). */
static bool bucket_take(struct vnat *nat, uint64_t *tokens, uint64_t *last)
{
    uint64_t rate = nat->cfg.syn_rate_per_sec;
    if (rate == 0)
        return true;
    uint64_t cap = rate * VNAT_NS_PER_S;
    uint64_t elapsed = nat->now - *last;
    *last = nat->now;
    if (elapsed >= VNAT_NS_PER_S)
        *tokens = cap;
    else {
        uint64_t add = elapsed * rate;
        *tokens = (cap - *tokens < add) ? cap : *tokens + add;
    }
    VNAT_ASSERT(nat, *tokens <= cap);
    if (*tokens < VNAT_NS_PER_S)
        return false;
    *tokens -= VNAT_NS_PER_S;
    return true;
}

bool policy_rate_take(struct vnat *nat)
{
    return bucket_take(nat, &nat->policy->syn_bucket, &nat->policy->syn_bucket_last);
}

bool policy_dgram_rate_take(struct vnat *nat)
{
    return bucket_take(nat, &nat->policy->dgram_bucket, &nat->policy->dgram_bucket_last);
}

unsigned policy_resolver(const struct vnat *nat)
{
    return nat->policy->resolver < nat->cfg.n_dns_servers ? nat->policy->resolver : 0;
}

void policy_resolver_failed(struct vnat *nat, unsigned index)
{
    uint32_t n = nat->cfg.n_dns_servers;
    VNAT_ASSERT(nat, n == 0 || index < n);
    if (n > 1 && nat->policy->resolver == index)
        nat->policy->resolver = (uint8_t)((index + 1) % n);
}
