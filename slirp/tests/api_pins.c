/*
 * api_pins.c — the libslirp ABI through the shared library, as an embedder
 * calls it: only <slirp/libslirp.h> and libslirp.so.0 (ours). A fake
 * embedder gives the callbacks (a clock it moves, timers it records, a frame
 * sink) and a poll() loop over slirp_pollfds_fill/poll. Forwards listen on
 * real loopback sockets; no frame leaves the process.
 */
#define _GNU_SOURCE
#include "pin.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <slirp/libslirp.h>

#define MAX_FRAMES 16

struct emb {
    int64_t now_ns;
    int guest_errors;
    char last_error[512];
    int frames;
    uint8_t frame[MAX_FRAMES][1600];
    size_t frame_len[MAX_FRAMES];
    Slirp *completed;
    int timers_new, timers_opaque_new, timers_freed, timer_mods;
    int64_t timer_expire_ms;
    SlirpTimerId timer_id;
    void *timer_cb_opaque;
    SlirpTimerCb timer_cb;
    int registered, unregistered;
    struct pollfd pfd[256];
    int npfd;
};

static int timer_token;

static ssize_t cb_send(const void *buf, size_t len, void *opaque)
{
    struct emb *e = opaque;
    if (e->frames < MAX_FRAMES && len <= sizeof e->frame[0]) {
        memcpy(e->frame[e->frames], buf, len);
        e->frame_len[e->frames] = len;
    }
    e->frames++;
    return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
    struct emb *e = opaque;
    e->guest_errors++;
    snprintf(e->last_error, sizeof e->last_error, "%s", msg);
}

static int64_t cb_clock(void *opaque)
{
    return ((struct emb *)opaque)->now_ns;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    struct emb *e = opaque;
    e->timers_new++;
    e->timer_cb = cb;
    e->timer_cb_opaque = cb_opaque;
    return &timer_token;
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    struct emb *e = opaque;
    e->timers_opaque_new++;
    e->timer_id = id;
    e->timer_cb_opaque = cb_opaque;
    return &timer_token;
}

static void *cb_timer_new_opaque_forbidden(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    (void)id;
    (void)cb_opaque;
    (void)opaque;
    fail_msg("timer_new_opaque is a version-4 callback: read from a version-1 caller");
    return NULL;
}

static void cb_timer_free(void *timer, void *opaque)
{
    assert_ptr_equal(timer, &timer_token);
    ((struct emb *)opaque)->timers_freed++;
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    struct emb *e = opaque;
    assert_ptr_equal(timer, &timer_token);
    e->timer_mods++;
    e->timer_expire_ms = expire_ms;
}

static void cb_register(int fd, void *opaque)
{
    (void)fd;
    ((struct emb *)opaque)->registered++;
}

static void cb_unregister(int fd, void *opaque)
{
    (void)fd;
    ((struct emb *)opaque)->unregistered++;
}

static void cb_notify(void *opaque)
{
    (void)opaque;
}

static void cb_init_completed(Slirp *s, void *opaque)
{
    ((struct emb *)opaque)->completed = s;
}

static const SlirpCb callbacks = {
    .send_packet = cb_send,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register,
    .unregister_poll_fd = cb_unregister,
    .notify = cb_notify,
    .init_completed = cb_init_completed,
    .timer_new_opaque = cb_timer_new_opaque,
};

static struct in_addr a4(const char *s)
{
    struct in_addr a;
    assert_int_equal(inet_pton(AF_INET, s, &a), 1);
    return a;
}

static SlirpConfig qemu_default(void)
{
    SlirpConfig c;
    memset(&c, 0, sizeof c);
    c.version = SLIRP_CONFIG_VERSION_MAX;
    c.in_enabled = true;
    c.vnetwork = a4("10.0.2.0");
    c.vnetmask = a4("255.255.255.0");
    c.vhost = a4("10.0.2.2");
    c.vdhcp_start = a4("10.0.2.15");
    c.vnameserver = a4("10.0.2.3");
    c.in6_enabled = true;
    return c;
}

static Slirp *start(struct emb *e, const SlirpConfig *c)
{
    memset(e, 0, sizeof *e);
    e->now_ns = 5000000000ll;
    setenv("VNAT_SLIRP_DNS", "127.0.0.1:9", 1); /* never the host's resolvers */
    return slirp_new(c, &callbacks, e);
}

static int add_poll(int fd, int events, void *opaque)
{
    struct emb *e = opaque;
    assert_true(e->npfd < 256);
    short ev = 0;
    if (events & SLIRP_POLL_IN)
        ev |= POLLIN;
    if (events & SLIRP_POLL_OUT)
        ev |= POLLOUT;
    e->pfd[e->npfd] = (struct pollfd){.fd = fd, .events = ev};
    return e->npfd++;
}

static int get_revents(int idx, void *opaque)
{
    struct emb *e = opaque;
    short r = e->pfd[idx].revents;
    return ((r & POLLIN) ? SLIRP_POLL_IN : 0) | ((r & POLLOUT) ? SLIRP_POLL_OUT : 0) |
           ((r & POLLHUP) ? SLIRP_POLL_HUP : 0) | ((r & POLLERR) ? SLIRP_POLL_ERR : 0);
}

/* One round of the embedder's loop: fill, poll (at most wait_ms), poll back. */
static int pump(Slirp *s, struct emb *e, int wait_ms)
{
    uint32_t timeout = (uint32_t)wait_ms;
    e->npfd = 0;
    slirp_pollfds_fill(s, &timeout, add_poll, e);
    int n = poll(e->pfd, (nfds_t)e->npfd, (int)timeout);
    slirp_pollfds_poll(s, n < 0, get_revents, e);
    return e->npfd;
}

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int connect_local(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    int err = errno;
    close(fd);
    return rc == 0 ? 0 : -err;
}

static uint16_t csum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* A DHCPDISCOVER from mac, as a fresh guest broadcasts it. Returns its length. */
static size_t dhcp_discover(uint8_t *f, const uint8_t mac[6])
{
    memset(f, 0, 342);
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x08;
    uint8_t *ip = f + 14, *udp = ip + 20, *bootp = udp + 8;
    size_t bootp_len = 240 + 4;
    ip[0] = 0x45;
    uint16_t tot = (uint16_t)(20 + 8 + bootp_len);
    ip[2] = (uint8_t)(tot >> 8);
    ip[3] = (uint8_t)tot;
    ip[8] = 64;
    ip[9] = 17;
    memset(ip + 16, 0xff, 4);
    uint16_t c = csum(ip, 20);
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    udp[1] = 68;
    udp[3] = 67;
    udp[4] = (uint8_t)((8 + bootp_len) >> 8);
    udp[5] = (uint8_t)(8 + bootp_len);
    bootp[0] = 1;
    bootp[1] = 1;
    bootp[2] = 6;
    bootp[4] = 0x12; /* xid */
    memcpy(bootp + 28, mac, 6);
    static const uint8_t opts[] = {99, 130, 83, 99, 53, 1, 1, 255};
    memcpy(bootp + 236, opts, sizeof opts);
    return 14 + tot;
}

/* An ARP request from mac/ip for target. */
static size_t arp_request(uint8_t *f, const uint8_t mac[6], const uint8_t ip[4],
                          const uint8_t target[4])
{
    memset(f, 0, 60);
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x08;
    f[13] = 0x06;
    static const uint8_t hdr[] = {0, 1, 8, 0, 6, 4, 0, 1};
    memcpy(f + 14, hdr, sizeof hdr);
    memcpy(f + 22, mac, 6);
    memcpy(f + 28, ip, 4);
    memcpy(f + 38, target, 4);
    return 60;
}

/* A DNS query datagram from the guest (52:54:00:12:34:56, 10.0.2.15) to
 * 10.0.2.3:53 (the Ethernet destination is the core's gateway MAC). */
static size_t dns_query(uint8_t *f)
{
    static const uint8_t gw_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x01};
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    static const uint8_t q[] = {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'x', 0, 0, 1, 0, 1};
    memset(f, 0, 80);
    memcpy(f, gw_mac, 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x08;
    uint8_t *ip = f + 14, *udp = ip + 20;
    uint16_t tot = (uint16_t)(20 + 8 + sizeof q);
    ip[0] = 0x45;
    ip[2] = (uint8_t)(tot >> 8);
    ip[3] = (uint8_t)tot;
    ip[8] = 64;
    ip[9] = 17;
    static const uint8_t src[4] = {10, 0, 2, 15}, dst[4] = {10, 0, 2, 3};
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    uint16_t c = csum(ip, 20);
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    udp[0] = 0x9c;
    udp[1] = 0x40; /* 40000 */
    udp[3] = 53;
    udp[5] = (uint8_t)(8 + sizeof q);
    memcpy(udp + 8, q, sizeof q);
    return 14u + tot;
}

PIN(bad_config_returns_null_after_guest_error_explains)
{
    struct emb e;
    SlirpConfig c = qemu_default();
    c.vnetmask = a4("255.255.0.255");
    assert_null(start(&e, &c));
    assert_int_equal(e.guest_errors, 1);
    assert_non_null(strstr(e.last_error, "netmask 255.255.0.255 has holes"));
    c = qemu_default();
    c.vnameserver = c.vhost;
    assert_null(start(&e, &c));
    assert_non_null(strstr(e.last_error, "DNS address 10.0.2.2 is the host address"));
    c = qemu_default();
    c.version = 9;
    assert_null(start(&e, &c));
    assert_non_null(strstr(e.last_error, "version 9"));
    assert_int_equal(e.timers_new + e.timers_opaque_new, 0);
}

PIN(malformed_resolver_override_is_a_config_error)
{
    struct emb e;
    SlirpConfig c = qemu_default();
    memset(&e, 0, sizeof e);
    setenv("VNAT_SLIRP_DNS", "not-an-address", 1);
    assert_null(slirp_new(&c, &callbacks, &e));
    assert_non_null(strstr(e.last_error, "VNAT_SLIRP_DNS: bad entry"));
}

PIN(version_4_completes_init_before_its_opaque_timer)
{
    struct emb e;
    SlirpConfig c = qemu_default();
    Slirp *s = start(&e, &c);
    assert_non_null(s);
    assert_ptr_equal(e.completed, s);
    assert_int_equal(e.timers_opaque_new, 1);
    assert_int_equal(e.timers_new, 0);
    assert_int_equal(e.timer_id, SLIRP_TIMER_RA);
    slirp_cleanup(s);
    assert_int_equal(e.timers_freed, 1);
}

PIN(version_1_uses_timer_new_and_never_reads_version_4_callbacks)
{
    struct emb e;
    SlirpConfig c = qemu_default();
    c.version = 1;
    SlirpCb cb = callbacks;
    cb.init_completed = NULL;
    cb.timer_new_opaque = cb_timer_new_opaque_forbidden;
    memset(&e, 0, sizeof e);
    setenv("VNAT_SLIRP_DNS", "127.0.0.1:9", 1);
    Slirp *s = slirp_new(&c, &cb, &e);
    assert_non_null(s);
    assert_int_equal(e.timers_new, 1);
    assert_non_null(e.timer_cb);
    e.now_ns += 1000000000ll;
    e.timer_cb(e.timer_cb_opaque); /* fires harmlessly */
    slirp_cleanup(s);
    assert_int_equal(e.timers_freed, 1);
}

PIN(dhcp_offer_comes_back_through_send_packet)
{
    struct emb e;
    SlirpConfig c = qemu_default();
    Slirp *s = start(&e, &c);
    assert_non_null(s);
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    uint8_t f[400];
    size_t n = dhcp_discover(f, mac);
    slirp_input(s, f, (int)n);
    assert_int_equal(e.frames, 1);
    const uint8_t *o = e.frame[0];
    assert_true(e.frame_len[0] > 14 + 20 + 8 + 240);
    assert_memory_equal(o, mac, 6);       /* to the guest */
    assert_int_equal(o[14 + 9], 17);      /* UDP */
    assert_int_equal(o[14 + 20 + 3], 68); /* to the client port */
    static const uint8_t yiaddr[4] = {10, 0, 2, 15};
    assert_memory_equal(o + 14 + 20 + 8 + 16, yiaddr, 4);
    slirp_handle_timer(s, SLIRP_TIMER_RA, e.timer_cb_opaque); /* harmless at any time */
    slirp_cleanup(s);
}

PIN(dhcp_is_silent_when_disabled)
{
    struct emb e;
    SlirpConfig c = qemu_default();
    c.disable_dhcp = true;
    Slirp *s = start(&e, &c);
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    uint8_t f[400];
    slirp_input(s, f, (int)dhcp_discover(f, mac));
    assert_int_equal(e.frames, 0);
    slirp_cleanup(s);
}

PIN(guest_mac_and_static_address_are_learned_from_the_first_frames)
{
    struct emb e;
    SlirpConfig c = qemu_default();
    Slirp *s = start(&e, &c);
    uint16_t port = free_port(); /* a forward made before the guest is known */
    assert_int_equal(slirp_add_hostfwd(s, 0, a4("127.0.0.1"), port, a4("0.0.0.0"), 80), 0);
    /* slirp4netns: a tap with its own MAC, 10.0.2.100 without DHCP. */
    static const uint8_t mac[6] = {0x02, 0x42, 0xac, 0x11, 0x00, 0x07};
    static const uint8_t ip[4] = {10, 0, 2, 100}, gw[4] = {10, 0, 2, 2};
    uint8_t f[64];
    slirp_input(s, f, (int)arp_request(f, mac, ip, gw));
    assert_int_equal(e.frames, 1);
    const uint8_t *r = e.frame[0];
    assert_memory_equal(r, mac, 6);     /* answered to the learned MAC */
    assert_int_equal(r[21], 2);         /* ARP reply */
    assert_memory_equal(r + 38, ip, 4); /* to the learned address */
    char *n = slirp_neighbor_info(s);
    assert_non_null(strstr(n, "02:42:ac:11:00:07"));
    assert_non_null(strstr(n, "10.0.2.100"));
    free(n);
    /* The core was made again for the learned guest; the forward survived. */
    assert_int_equal(connect_local(port), 0);
    char *info = slirp_connection_info(s);
    assert_non_null(strstr(info, "10.0.2.100    80"));
    free(info);
    /* The first MAC wins: another is not answered. */
    static const uint8_t other[6] = {0x02, 0, 0, 0, 0, 9}, ip2[4] = {10, 0, 2, 101};
    slirp_input(s, f, (int)arp_request(f, other, ip2, gw));
    assert_int_equal(e.frames, 1);
    slirp_cleanup(s);
}

PIN(restricted_refuses_the_guests_egress_but_not_dhcp_or_forwards)
{
    struct emb e;
    SlirpConfig c = qemu_default();
    c.restricted = 1;
    Slirp *s = start(&e, &c);
    uint8_t f[400];
    slirp_input(s, f, (int)dns_query(f));
    /* Refused: an ICMP destination unreachable, administratively prohibited. */
    assert_int_equal(e.frames, 1);
    assert_int_equal(e.frame[0][14 + 9], 1);       /* ICMP */
    assert_int_equal(e.frame[0][14 + 20], 3);      /* destination unreachable */
    assert_int_equal(e.frame[0][14 + 20 + 1], 13); /* administratively prohibited */
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    slirp_input(s, f, (int)dhcp_discover(f, mac));
    assert_int_equal(e.frames, 2); /* DHCP is the library's own service */
    uint16_t port = free_port();
    assert_int_equal(slirp_add_hostfwd(s, 0, a4("127.0.0.1"), port, a4("0.0.0.0"), 22), 0);
    assert_int_equal(connect_local(port), 0); /* forwards are not egress */
    slirp_cleanup(s);
    /* Unrestricted, the same query is forwarded (no answer from 127.0.0.1:9). */
    c.restricted = 0;
    s = start(&e, &c);
    slirp_input(s, f, (int)dns_query(f));
    assert_int_equal(e.frames, 0);
    slirp_cleanup(s);
}

PIN(a_forward_names_the_guest_before_its_first_frame)
{
    struct emb e;
    SlirpConfig c = qemu_default();
    Slirp *s = start(&e, &c);
    /* Podman: slirp4netns's add_hostfwd to 10.0.2.100 before any IPv4. */
    uint16_t port = free_port();
    assert_int_equal(slirp_add_hostfwd(s, 0, a4("127.0.0.1"), port, a4("10.0.2.100"), 80), 0);
    assert_int_equal(connect_local(port), 0);
    char *n = slirp_neighbor_info(s);
    assert_non_null(strstr(n, "10.0.2.100"));
    free(n);
    /* Then the address is known: a forward to another one is refused. */
    assert_int_equal(slirp_add_hostfwd(s, 0, a4("127.0.0.1"), free_port(), a4("10.0.2.101"), 80),
                     -1);
    /* Not the host, DNS, network or broadcast address, nor outside. */
    slirp_cleanup(s);
    s = start(&e, &c);
    assert_int_equal(slirp_add_hostfwd(s, 0, a4("127.0.0.1"), free_port(), a4("10.0.2.2"), 80), -1);
    assert_int_equal(slirp_add_hostfwd(s, 0, a4("127.0.0.1"), free_port(), a4("10.0.3.9"), 80), -1);
    assert_int_equal(slirp_add_hostfwd(s, 0, a4("127.0.0.1"), free_port(), a4("10.0.2.255"), 80),
                     -1);
    slirp_cleanup(s);
}

PIN(ipv6_frames_are_dropped_and_counted)
{
    struct emb e;
    SlirpConfig c = qemu_default();
    const char *tmp = getenv("TMPDIR");
    char buf[512];
    snprintf(buf, sizeof buf, "%s/vnat-slirp-stats.XXXXXX", tmp ? tmp : "/tmp");
    int fd = mkstemp(buf);
    assert_true(fd >= 0);
    close(fd);
    setenv("VNAT_SLIRP_STATS", buf, 1);
    Slirp *s = start(&e, &c);
    /* An IPv6 packet to the core's MAC (QEMU turns IPv6 on by default). */
    static const uint8_t hdr[] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x01, 0x52, 0x54,
                                  0x00, 0x12, 0x34, 0x56, 0x86, 0xdd, 0x60, 0,
                                  0,    0,    0,    0,    59,   64}; /* no next header */
    uint8_t f[14 + 40];
    memset(f, 0, sizeof f);
    memcpy(f, hdr, sizeof hdr);
    slirp_input(s, f, (int)sizeof f);
    assert_int_equal(e.frames, 0);
    slirp_cleanup(s);
    unsetenv("VNAT_SLIRP_STATS");
    FILE *in = fopen(buf, "r");
    assert_non_null(in);
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, in);
    fclose(in);
    unlink(buf);
    text[n] = '\0';
    if (strstr(text, "drop ipv6_unsupported") == NULL)
        fail_msg("no ipv6_unsupported drop in:\n%s", text);
}

PIN(hostfwd_listens_is_listed_polled_and_removed)
{
    struct emb e;
    SlirpConfig c = qemu_default();
    Slirp *s = start(&e, &c);
    uint16_t port = free_port();
    assert_int_equal(connect_local(port), -ECONNREFUSED);
    assert_int_equal(slirp_add_hostfwd(s, 0, a4("127.0.0.1"), port, a4("0.0.0.0"), 80), 0);
    assert_true(e.registered >= 1);
    assert_true(pump(s, &e, 0) >= 1); /* the listener is polled */
    assert_int_equal(connect_local(port), 0);
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1 %5u       10.0.2.15    80", port);
    char *info = slirp_connection_info(s);
    assert_non_null(strstr(info, "Protocol[State]"));
    assert_non_null(strstr(info, "TCP[HOST_FORWARD]"));
    if (strstr(info, want) == NULL)
        fail_msg("no '%s' in:\n%s", want, info);
    free(info);
    /* The same listener twice is refused with a message. */
    e.guest_errors = 0;
    assert_int_equal(slirp_add_hostfwd(s, 0, a4("127.0.0.1"), port, a4("0.0.0.0"), 81), -1);
    assert_int_equal(e.guest_errors, 1);
    /* A guest address outside the network is refused. */
    assert_int_equal(slirp_add_hostfwd(s, 0, a4("127.0.0.1"), free_port(), a4("10.0.9.77"), 80),
                     -1);
    assert_non_null(strstr(e.last_error, "one guest"));
    assert_int_equal(slirp_remove_hostfwd(s, 0, a4("127.0.0.1"), port), 0);
    assert_int_equal(slirp_remove_hostfwd(s, 0, a4("127.0.0.1"), port), -1);
    (void)pump(s, &e, 0);
    assert_int_equal(connect_local(port), -ECONNREFUSED);
    assert_true(e.unregistered >= 1);
    slirp_cleanup(s);
}

PIN(hostxfwd_takes_ipv4_udp_and_refuses_unix)
{
    struct emb e;
    SlirpConfig c = qemu_default();
    Slirp *s = start(&e, &c);
    struct sockaddr_in h = {.sin_family = AF_INET,
                            .sin_port = htons(free_port()),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in g = {.sin_family = AF_INET, .sin_port = htons(53)};
    assert_int_equal(slirp_add_hostxfwd(s, (struct sockaddr *)&h, sizeof h, (struct sockaddr *)&g,
                                        sizeof g, SLIRP_HOSTFWD_UDP),
                     0);
    char *info = slirp_connection_info(s);
    assert_non_null(strstr(info, "UDP[HOST_FORWARD]"));
    free(info);
    assert_int_equal(slirp_remove_hostxfwd(s, (struct sockaddr *)&h, sizeof h, SLIRP_HOSTFWD_UDP),
                     0);
    struct sockaddr_un u = {.sun_family = AF_UNIX, .sun_path = "/tmp/x"};
    assert_int_equal(
        slirp_add_hostxfwd(s, (struct sockaddr *)&u, sizeof u, (struct sockaddr *)&g, sizeof g, 0),
        -1);
    assert_non_null(strstr(e.last_error, "UNIX socket"));
    slirp_cleanup(s);
}

/* A migration stream in memory: what slirp_state_save writes, for
 * slirp_state_load to read back (QEMU's QEMUFile in miniature). */
struct stream {
    uint8_t *buf;
    size_t len, cap, pos;
    size_t read_limit; /* reads past this fail (a truncated stream); 0: none */
};

static ssize_t stream_write(const void *buf, size_t len, void *opaque)
{
    struct stream *st = opaque;
    if (st->len + len > st->cap) {
        size_t n = st->cap ? st->cap : 4096;
        while (n < st->len + len)
            n *= 2;
        uint8_t *b = realloc(st->buf, n);
        assert_non_null(b);
        st->buf = b;
        st->cap = n;
    }
    memcpy(st->buf + st->len, buf, len);
    st->len += len;
    return (ssize_t)len;
}

/* As QEMU's reader: all len bytes or -1. */
static ssize_t stream_read(void *buf, size_t len, void *opaque)
{
    struct stream *st = opaque;
    size_t end = st->read_limit ? st->read_limit : st->len;
    if (st->pos + len > end)
        return -1;
    memcpy(buf, st->buf + st->pos, len);
    st->pos += len;
    return (ssize_t)len;
}

/* Whether frame f is a TCP RST from the core toward guest port gport. */
static bool is_rst_to(const uint8_t *f, size_t len, uint16_t gport)
{
    if (len < 54 || f[12] != 0x08 || f[13] != 0x00 || f[23] != 6)
        return false;
    const uint8_t *tcp = f + 14 + (f[14] & 0x0f) * 4;
    return (size_t)(tcp - f) + 20 <= len && (tcp[2] << 8 | tcp[3]) == gport && (tcp[13] & 0x04);
}

/* A source Slirp with a learned guest, a TCP hostfwd (host port *port ->
 * guest port 80) and one forwarded connection the guest has been offered
 * (a SYN), saved into st. *client is the host end, still open. */
static void save_a_source(struct stream *st, uint16_t *port, int *client)
{
    struct emb e;
    SlirpConfig c = qemu_default();
    Slirp *s = start(&e, &c);
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};
    uint8_t f[400];
    slirp_input(s, f, (int)dhcp_discover(f, mac));
    assert_int_equal(e.frames, 1); /* the offer */
    *port = free_port();
    assert_int_equal(slirp_add_hostfwd(s, 0, a4("127.0.0.1"), *port, a4("0.0.0.0"), 80), 0);
    *client = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(*port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(*client, (struct sockaddr *)&a, sizeof a), 0);
    for (int i = 0; i < 50 && e.frames < 2; i++)
        (void)pump(s, &e, 10);
    assert_int_equal(e.frames, 2);          /* the SYN toward the guest */
    assert_int_equal(e.frame[1][47], 0x02); /* SYN only */
    memset(st, 0, sizeof *st);
    e.guest_errors = 0;
    slirp_state_save(s, stream_write, st);
    assert_int_equal(e.guest_errors, 0);
    assert_true(st->len > 64);
    slirp_cleanup(s);
}

PIN(state_save_and_load_carry_the_nat_and_reset_its_connections)
{
    struct stream st;
    uint16_t port;
    int client;
    save_a_source(&st, &port, &client);
    assert_int_equal(connect_local(port), -ECONNREFUSED); /* the source is gone */
    /* The destination, as QEMU starts it: the same command line (so the
     * same hostfwd), then the state. */
    struct emb e;
    SlirpConfig c = qemu_default();
    Slirp *d = start(&e, &c);
    assert_int_equal(slirp_add_hostfwd(d, 0, a4("127.0.0.1"), port, a4("0.0.0.0"), 80), 0);
    int rc = slirp_state_load(d, slirp_state_version(), stream_read, &st);
    if (rc != 0)
        fail_msg("slirp_state_load: %d (%s)", rc, e.last_error);
    assert_int_equal(st.pos, st.len); /* the whole section, no more */
    /* The connection the guest was offered is reset toward it (the host
     * socket is gone: sockets-lost restore). */
    bool rst = false;
    for (int i = 0; i < e.frames && i < MAX_FRAMES; i++)
        rst |= is_rst_to(e.frame[i], e.frame_len[i], 80);
    assert_true(rst);
    /* The learned guest came along: its MAC is the frames' destination. */
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};
    assert_memory_equal(e.frame[0], mac, 6);
    char *n = slirp_neighbor_info(d);
    assert_non_null(strstr(n, "52:54:00:ab:cd:ef"));
    assert_null(strstr(n, "not seen"));
    free(n);
    /* The forward listens again, is listed, and is the library's to remove. */
    (void)pump(d, &e, 0);
    assert_int_equal(connect_local(port), 0);
    char *info = slirp_connection_info(d);
    assert_non_null(strstr(info, "TCP[HOST_FORWARD]"));
    free(info);
    assert_int_equal(slirp_remove_hostfwd(d, 0, a4("127.0.0.1"), port), 0);
    (void)pump(d, &e, 0);
    assert_int_equal(connect_local(port), -ECONNREFUSED);
    slirp_cleanup(d);
    close(client);
    free(st.buf);
}

/* Load one hostile stream into a destination with a hostfwd: refused with
 * a message, and the destination's network is the one it had. */
static void load_refused(struct stream *st, const char *why)
{
    struct emb e;
    SlirpConfig c = qemu_default();
    Slirp *d = start(&e, &c);
    uint16_t port = free_port();
    assert_int_equal(slirp_add_hostfwd(d, 0, a4("127.0.0.1"), port, a4("0.0.0.0"), 80), 0);
    st->pos = 0;
    e.guest_errors = 0;
    int rc = slirp_state_load(d, 4, stream_read, st);
    if (rc >= 0)
        fail_msg("a stream (%s) was loaded: %d", why, rc);
    assert_true(e.guest_errors >= 1);
    assert_non_null(strstr(e.last_error, "slirp state"));
    (void)pump(d, &e, 0);
    assert_int_equal(connect_local(port), 0); /* still its forward */
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x99};
    uint8_t f[400];
    int before = e.frames;
    slirp_input(d, f, (int)dhcp_discover(f, mac));
    assert_int_equal(e.frames, before + 1); /* and still answers DHCP */
    slirp_cleanup(d);
}

PIN(state_load_refuses_a_hostile_or_foreign_stream_and_keeps_the_network)
{
    struct stream good;
    uint16_t port;
    int client;
    save_a_source(&good, &port, &client);
    close(client);
    struct stream st;
    /* Not vnat's: what a libslirp source would have written. */
    uint8_t foreign[64];
    memset(foreign, 0, sizeof foreign);
    foreign[3] = 1;
    st = (struct stream){.buf = foreign, .len = sizeof foreign};
    load_refused(&st, "foreign");
    /* Empty, and cut inside its header and inside its snapshot. */
    st = (struct stream){.buf = good.buf, .len = 0};
    load_refused(&st, "empty");
    st = (struct stream){.buf = good.buf, .len = good.len, .read_limit = 10};
    load_refused(&st, "cut in the header");
    st = (struct stream){.buf = good.buf, .len = good.len, .read_limit = good.len - 7};
    load_refused(&st, "cut in the snapshot");
    /* Every byte flipped in turn would take long; one in each part: the
     * header, the forward list and the snapshot (its checksum). */
    uint8_t *bad = malloc(good.len);
    assert_non_null(bad);
    size_t at[] = {0, 9, 40, good.len / 2, good.len - 1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        memcpy(bad, good.buf, good.len);
        bad[at[i]] ^= 0x41;
        st = (struct stream){.buf = bad, .len = good.len};
        struct emb e;
        SlirpConfig c = qemu_default();
        Slirp *d = start(&e, &c);
        int rc = slirp_state_load(d, 4, stream_read, &st);
        /* The header has its own checksum, the snapshot its own. */
        if (rc >= 0)
            fail_msg("byte %zu flipped was loaded", at[i]);
        slirp_cleanup(d);
    }
    /* A stream whose (checksummed) header declares a huge snapshot, then
     * ends: refused without reading or allocating what it claims. The
     * layout is docs/libslirp.md's: the snapshot length at 32 + 24 per
     * forward, then the header's FNV-1a, then the snapshot. */
    uint32_t nf = (uint32_t)good.buf[28] | (uint32_t)good.buf[29] << 8;
    size_t at_len = 32 + 24 * (size_t)nf;
    assert_true(at_len + 8 < good.len);
    static const uint32_t claims[] = {0xfffffff0u, 100u << 20};
    for (size_t i = 0; i < 2; i++) {
        memcpy(bad, good.buf, at_len + 8);
        for (int b = 0; b < 4; b++)
            bad[at_len + (size_t)b] = (uint8_t)(claims[i] >> (8 * b));
        uint32_t h = 2166136261u;
        for (size_t k = 0; k < at_len + 4; k++)
            h = (h ^ bad[k]) * 16777619u;
        for (int b = 0; b < 4; b++)
            bad[at_len + 4 + (size_t)b] = (uint8_t)(h >> (8 * b));
        st = (struct stream){.buf = bad, .len = at_len + 8 + 100};
        load_refused(&st, i == 0 ? "a 4 GiB snapshot" : "a 100 MiB snapshot that ends");
    }
    free(bad);
    free(good.buf);
}

PIN(state_load_that_cannot_reopen_a_forward_leaves_the_destinations_own_network)
{
    struct stream st;
    uint16_t port;
    int client;
    save_a_source(&st, &port, &client);
    close(client);
    /* Someone else holds the forward's port on the destination host. */
    int squat = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(squat, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(squat, 1), 0);
    struct emb e;
    SlirpConfig c = qemu_default();
    Slirp *d = start(&e, &c);
    assert_true(slirp_state_load(d, 4, stream_read, &st) < 0);
    assert_non_null(strstr(e.last_error, "slirp state"));
    /* The destination's own network (no forward, a new guest) still works. */
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x99};
    uint8_t f[400];
    int before = e.frames;
    slirp_input(d, f, (int)dhcp_discover(f, mac));
    assert_int_equal(e.frames, before + 1);
    slirp_cleanup(d);
    close(squat);
    free(st.buf);
}

PIN(what_vnat_does_not_do_fails_with_a_message)
{
    struct emb e;
    SlirpConfig c = qemu_default();
    Slirp *s = start(&e, &c);
    struct in_addr g = a4("10.0.2.100");
    assert_int_equal(slirp_add_exec(s, "/usr/sbin/smbd -s conf", &g, 139), -1);
    assert_non_null(strstr(e.last_error, "not supported"));
    assert_int_equal(slirp_add_unix(s, "/tmp/sock", &g, 4000), -1);
    assert_int_equal(slirp_add_guestfwd(s, NULL, NULL, &g, 4000), -1);
    assert_int_equal(slirp_remove_guestfwd(s, g, 4000), -1);
    assert_int_equal(slirp_socket_can_recv(s, g, 4000), 0);
    slirp_socket_recv(s, g, 4000, (const uint8_t *)"x", 1);
    assert_int_equal(slirp_state_version(), 4);
    assert_non_null(strstr(slirp_version_string(), "4.7.0"));
    slirp_cleanup(s);
}

PIN(a_null_slirp_is_harmless_everywhere)
{
    struct in_addr a = {0};
    uint32_t t = 100;
    slirp_pollfds_fill(NULL, &t, add_poll, NULL);
    slirp_pollfds_poll(NULL, 0, get_revents, NULL);
    slirp_input(NULL, (const uint8_t *)"x", 1);
    slirp_handle_timer(NULL, SLIRP_TIMER_RA, NULL);
    assert_int_equal(slirp_add_hostfwd(NULL, 0, a, 1, a, 1), -1);
    assert_int_equal(slirp_remove_hostfwd(NULL, 0, a, 1), -1);
    char *i = slirp_connection_info(NULL);
    assert_non_null(i);
    free(i);
    i = slirp_neighbor_info(NULL);
    assert_non_null(i);
    free(i);
    slirp_state_save(NULL, NULL, NULL);
    assert_true(slirp_state_load(NULL, 4, NULL, NULL) < 0);
    slirp_cleanup(NULL);
}

PIN_MAIN(
    cmocka_unit_test(bad_config_returns_null_after_guest_error_explains),
    cmocka_unit_test(malformed_resolver_override_is_a_config_error),
    cmocka_unit_test(version_4_completes_init_before_its_opaque_timer),
    cmocka_unit_test(version_1_uses_timer_new_and_never_reads_version_4_callbacks),
    cmocka_unit_test(dhcp_offer_comes_back_through_send_packet),
    cmocka_unit_test(dhcp_is_silent_when_disabled),
    cmocka_unit_test(guest_mac_and_static_address_are_learned_from_the_first_frames),
    cmocka_unit_test(restricted_refuses_the_guests_egress_but_not_dhcp_or_forwards),
    cmocka_unit_test(a_forward_names_the_guest_before_its_first_frame),
    cmocka_unit_test(ipv6_frames_are_dropped_and_counted),
    cmocka_unit_test(hostfwd_listens_is_listed_polled_and_removed),
    cmocka_unit_test(hostxfwd_takes_ipv4_udp_and_refuses_unix),
    cmocka_unit_test(state_save_and_load_carry_the_nat_and_reset_its_connections),
    cmocka_unit_test(state_load_refuses_a_hostile_or_foreign_stream_and_keeps_the_network),
    cmocka_unit_test(state_load_that_cannot_reopen_a_forward_leaves_the_destinations_own_network),
    cmocka_unit_test(what_vnat_does_not_do_fails_with_a_message),
    cmocka_unit_test(a_null_slirp_is_harmless_everywhere))
