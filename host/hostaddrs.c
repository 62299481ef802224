/*
 * hostaddrs.c — keeping the guest off the host's own addresses (issue 5:
 * "the gateway mapping is the only default way to reach the host itself").
 * The core refuses 127/8 outright and reaches host loopback only through the
 * gateway address, but a service bound to 0.0.0.0 or to an interface address
 * (192.168.1.10, a docker bridge, ...) would still answer a guest that names
 * that address. At creation the adapter lists the host's addresses and
 * appends one DENY rule per address after the user's rules, so a user's
 * --allow (first match wins) can still open one. Loopback addresses get no
 * rule: the gateway's mapping is checked against the rules after
 * translation (to 127.0.0.1), and a rule there would close it. A resolver
 * that lives on a host address keeps its DNS port open, or guest DNS would
 * stop. Building the rules is a pure function of the address list, pinned
 * by pins/host_addrs_pins.c; only the listing touches the kernel. The rules
 * are fixed at creation: an address the host gains later is not covered
 * until vnat restarts (docs/adapter.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "adapter.h"

static bool is_loopback_or_unspecified(const struct vnat_ip *ip)
{
    static const uint8_t zero[16];
    if (ip->family == VNAT_AF_INET)
        return ip->addr[0] == 127 || memcmp(ip->addr, zero, 4) == 0;
    if (ip->family == VNAT_AF_INET6) {
        if (memcmp(ip->addr, zero, 15) != 0)
            return false;
        return ip->addr[15] == 0 || ip->addr[15] == 1; /* :: and ::1 */
    }
    return true; /* no other family can be a destination */
}

static bool same_ip(const struct vnat_ip *a, const struct vnat_ip *b)
{
    unsigned n = a->family == VNAT_AF_INET ? 4u : 16u;
    return a->family == b->family && memcmp(a->addr, b->addr, n) == 0;
}

static bool listed(const struct vnat_ip *addrs, size_t n, const struct vnat_ip *ip)
{
    for (size_t i = 0; i < n; i++)
        if (same_ip(&addrs[i], ip))
            return true;
    return false;
}

static bool rule_present(const struct vnat_rule *rules, size_t n, const struct vnat_rule *r)
{
    for (size_t i = 0; i < n; i++)
        if (rules[i].action == r->action && rules[i].proto == r->proto &&
            rules[i].port_lo == r->port_lo && same_ip(&rules[i].net, &r->net))
            return true;
    return false;
}

static int push(struct vnat_rule *out, size_t cap, size_t *n, uint8_t action, uint8_t proto,
                const struct vnat_ip *ip, uint16_t lo, uint16_t hi)
{
    struct vnat_rule r;
    memset(&r, 0, sizeof r);
    r.action = action;
    r.proto = proto;
    r.prefix = ip->family == VNAT_AF_INET ? 32 : 128;
    r.net.family = ip->family;
    memcpy(r.net.addr, ip->addr, ip->family == VNAT_AF_INET ? 4 : 16);
    r.port_lo = lo;
    r.port_hi = hi;
    if (rule_present(out, *n, &r))
        return 0;
    if (*n >= cap)
        return -1;
    out[(*n)++] = r;
    return 0;
}

long host_addrs_rules(const struct vnat_ip *addrs, size_t n, const struct vnat_sockaddr *dns,
                      size_t ndns, struct vnat_rule *out, size_t cap)
{
    size_t k = 0;
    /* The resolvers first: the DENY below would otherwise match them. */
    for (size_t i = 0; i < ndns; i++) {
        if (is_loopback_or_unspecified(&dns[i].ip) || !listed(addrs, n, &dns[i].ip))
            continue;
        uint16_t p = dns[i].port;
        if (push(out, cap, &k, VNAT_RULE_ALLOW, VNAT_PROTO_UDP, &dns[i].ip, p, p) < 0 ||
            push(out, cap, &k, VNAT_RULE_ALLOW, VNAT_PROTO_TCP, &dns[i].ip, p, p) < 0)
            return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (is_loopback_or_unspecified(&addrs[i]))
            continue;
        if (push(out, cap, &k, VNAT_RULE_DENY, VNAT_PROTO_ANY, &addrs[i], 0, 65535) < 0)
            return -1;
    }
    return (long)k;
}

long host_addrs_list(struct vnat_ip *out, size_t cap)
{
    struct ifaddrs *all;
    if (getifaddrs(&all) < 0)
        return -errno;
    size_t n = 0;
    long rc = 0;
    /* Bound: the kernel's list is finite; the cap stops a runaway one. */
    for (struct ifaddrs *a = all; a != NULL && rc == 0; a = a->ifa_next) {
        if (a->ifa_addr == NULL)
            continue;
        struct vnat_ip ip;
        memset(&ip, 0, sizeof ip);
        if (a->ifa_addr->sa_family == AF_INET) {
            ip.family = VNAT_AF_INET;
            memcpy(ip.addr, &((const struct sockaddr_in *)(const void *)a->ifa_addr)->sin_addr, 4);
        } else if (a->ifa_addr->sa_family == AF_INET6) {
            ip.family = VNAT_AF_INET6;
            memcpy(ip.addr, &((const struct sockaddr_in6 *)(const void *)a->ifa_addr)->sin6_addr,
                   16);
        } else {
            continue;
        }
        if (n >= cap)
            rc = -ENOSPC; /* better refuse to start than leave an address open */
        else
            out[n++] = ip;
    }
    freeifaddrs(all);
    return rc < 0 ? rc : (long)n;
}
