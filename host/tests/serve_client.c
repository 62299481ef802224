/*
 * serve_client.c — a tiny guest for `vnat serve`, the project's own test
 * client. It speaks QEMU's stream framing (4-byte big-endian length, then
 * the frame) on the UNIX socket, builds TCP segments by hand, and checks a
 * whole exchange against a listener it opens on host loopback:
 *   1. SYN to gateway:PORT (its length prefix split across writes, to make
 *      vnat reassemble a partial read) -> a SYN-ACK comes back, the host
 *      listener accepts a connection;
 *   2. ACK + "ping" -> the host side reads "ping"; the host writes "pong"
 *      -> a segment carrying "pong" reaches the guest; then RST;
 *   3. a bad length (0xffffffff) -> vnat drops the link (EOF);
 *   4. a new connection and a new SYN -> SYN-ACK again (the link recovered);
 *   5. lengths that lie (issue 14 item 6): 0 and HOST_MAX_FRAME + 1 each
 *      drop the link, and the next connection is served; a frame of exactly
 *      HOST_MAX_FRAME keeps the link up;
 *   6. torn frames: a length prefix announcing 100 bytes, 10 sent, then
 *      the peer closes. Once plainly; once with vnat stopped (SIGSTOP, with
 *      VNAT_PID given) while the torn frame, the close and the next
 *      connection with its SYN all happen, and with a reply left unread by
 *      the closing peer (its close then reports ECONNRESET to vnat, as a
 *      killed QEMU's does): vnat sees the old link's end and the new
 *      connection in one wakeup, and must still serve the new one.
 * With --restart, a VM restart instead (issue 14 item 6): a guest with an
 * established flow to the host listener goes away (its link closes); the
 * host end of that flow must see ECONNRESET within 2 s; then a new guest on
 * a new connection gets an ARP reply, a DHCP offer, and a TCP handshake
 * from the same source port as the old flow, with data both ways.
 * With --mac XX:XX:XX:XX:XX:XX (before the mode) the guest uses that MAC
 * (issue 14 item 5), and with --mac2 the new guest of --restart another
 * one; every frame from vnat must then be addressed to the guest's MAC (ARP
 * target, DHCP chaddr, TCP's Ethernet destination). With --restart and
 * --mac2, the first guest's link also carries one ARP request from the new
 * guest's MAC (a spoofer, to be dropped). With --silent, the guest sends an
 * ARP request and a DHCPDISCOVER and must get nothing within 1 s (vnat
 * serve --guest-mac fixed another MAC).
 * With --sigterm, SIGTERM to vnat (VNAT_PID) in the middle of a transfer
 * from the host listener to the guest, which reads and acknowledges: the
 * guest must see a RST for the flow and the host end ECONNRESET, each
 * within 1 s of the signal.
 * Exit 0 on success, 1 with a message on the first failure.
 * usage: serve_client [--mac MAC [--mac2 MAC]] SOCKET_PATH [VNAT_PID]
 *        serve_client [--mac MAC [--mac2 MAC]] --restart SOCKET_PATH
 *        serve_client [--mac MAC] --silent SOCKET_PATH
 *        serve_client --sigterm SOCKET_PATH VNAT_PID
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The guest's MAC (--mac), and the MAC of the new guest after a restart
 * (--mac2; default the same). */
static uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static uint8_t new_guest_mac[6];
static bool new_guest_mac_set;
static const uint8_t gw_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x01};
static const uint8_t guest_ip[4] = {10, 0, 2, 15};
static const uint8_t gw_ip[4] = {10, 0, 2, 2};

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "serve_client: FAIL: " __VA_ARGS__);                                       \
        fprintf(stderr, "\n");                                                                     \
        exit(1);                                                                                   \
    } while (0)

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

/* Ethernet + IPv4 + TCP (with an MSS option on SYN). Returns frame length. */
static size_t build_tcp(uint8_t *f, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                        uint8_t flags, const void *data, size_t dlen)
{
    size_t optlen = (flags & TH_SYN) ? 4 : 0;
    size_t tcplen = 20 + optlen + dlen;
    memcpy(f, gw_mac, 6);
    memcpy(f + 6, guest_mac, 6);
    put16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + tcplen));
    put16(ip + 4, 1);
    ip[6] = 0x40; /* DF */
    ip[8] = 64;
    ip[9] = 6;
    memcpy(ip + 12, guest_ip, 4);
    memcpy(ip + 16, gw_ip, 4);
    put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
    uint8_t *t = ip + 20;
    memset(t, 0, 20 + optlen);
    put16(t, sport);
    put16(t + 2, dport);
    put32(t + 4, seq);
    put32(t + 8, ack);
    t[12] = (uint8_t)(((20 + optlen) / 4) << 4);
    t[13] = flags;
    put16(t + 14, 65535);
    if (optlen) {
        t[20] = 2;
        t[21] = 4;
        put16(t + 22, 1460);
    }
    if (dlen)
        memcpy(t + 20 + optlen, data, dlen);
    uint8_t pseudo[12];
    memcpy(pseudo, guest_ip, 4);
    memcpy(pseudo + 4, gw_ip, 4);
    pseudo[8] = 0;
    pseudo[9] = 6;
    put16(pseudo + 10, (uint16_t)tcplen);
    uint32_t sum = csum_add(0, pseudo, 12);
    sum = csum_add(sum, t, tcplen);
    put16(t + 16, csum_fold(sum));
    return 14 + 20 + tcplen;
}

static void write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            FAIL("write to vnat: %s", strerror(errno));
        }
        b += w;
        n -= (size_t)w;
    }
}

/* Send one frame; with split, the length prefix goes out in two writes. */
static void send_frame(int fd, const uint8_t *frame, size_t len, bool split)
{
    uint8_t hdr[4];
    put32(hdr, (uint32_t)len);
    if (split) {
        write_all(fd, hdr, 2);
        usleep(50000);
        write_all(fd, hdr + 2, 2);
        usleep(20000);
        write_all(fd, frame, len / 2);
        usleep(20000);
        write_all(fd, frame + len / 2, len - len / 2);
    } else {
        write_all(fd, hdr, 4);
        write_all(fd, frame, len);
    }
}

/* Read exactly n bytes or fail at the deadline. 0 on EOF. */
static int read_exact(int fd, uint8_t *p, size_t n, uint64_t deadline)
{
    size_t got = 0;
    while (got < n) {
        uint64_t t = now_ms();
        if (t >= deadline)
            FAIL("timed out waiting for frames from vnat");
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, (int)(deadline - t)) <= 0)
            continue;
        ssize_t r = read(fd, p + got, n - got);
        if (r == 0)
            return 0;
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return 0; /* ECONNRESET counts as the link going away */
        }
        got += (size_t)r;
    }
    return 1;
}

struct seg {
    uint8_t flags;
    uint32_t seq, ack;
    const uint8_t *data;
    size_t dlen;
};

/* Next TCP segment from gateway:port to the guest's sport; other frames are
 * skipped. */
static void next_segment(int fd, uint8_t *buf, uint16_t port, uint16_t sport, struct seg *s,
                         uint64_t deadline)
{
    for (int i = 0; i < 10000; i++) {
        uint8_t hdr[4];
        if (!read_exact(fd, hdr, 4, deadline))
            FAIL("vnat closed the link");
        uint32_t len = get32(hdr);
        if (len == 0 || len > 70000)
            FAIL("vnat sent a bad frame length %u", len);
        if (!read_exact(fd, buf, len, deadline))
            FAIL("vnat closed the link mid-frame");
        if (len < 54 || buf[12] != 0x08 || buf[13] != 0x00)
            continue;
        const uint8_t *ip = buf + 14;
        size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
        if (ip[9] != 6 || memcmp(ip + 12, gw_ip, 4) != 0 || memcmp(ip + 16, guest_ip, 4) != 0)
            continue;
        if (memcmp(buf, guest_mac, 6) != 0)
            FAIL("a TCP segment for the guest went to %02x:%02x:%02x:%02x:%02x:%02x", buf[0],
                 buf[1], buf[2], buf[3], buf[4], buf[5]);
        size_t iplen = (size_t)ip[2] << 8 | ip[3];
        const uint8_t *t = ip + ihl;
        if ((((uint16_t)t[0] << 8) | t[1]) != port || (((uint16_t)t[2] << 8) | t[3]) != sport)
            continue;
        size_t doff = (size_t)(t[12] >> 4) * 4;
        s->flags = t[13];
        s->seq = get32(t + 4);
        s->ack = get32(t + 8);
        s->data = t + doff;
        s->dlen = iplen - ihl - doff;
        return;
    }
    FAIL("too many unrelated frames");
}

static int connect_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    uint64_t deadline = now_ms() + 5000;
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            FAIL("socket: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        close(fd);
        if (now_ms() > deadline)
            FAIL("cannot connect to %s: %s", path, strerror(errno));
        usleep(20000);
    }
}

/* Wait until the peer (vnat) drops the link: EOF or an error. */
static void expect_dropped(int fd, const char *what)
{
    uint8_t junk[512];
    uint64_t deadline = now_ms() + 3000;
    for (;;) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (now_ms() > deadline)
            FAIL("vnat kept the link after %s", what);
        if (poll(&pf, 1, 100) == 1) {
            ssize_t r = read(fd, junk, sizeof(junk));
            if (r <= 0)
                return;
        }
    }
}

/* An ARP request for the gateway, from the guest. */
static size_t build_arp(uint8_t *f)
{
    memset(f, 0xff, 6);
    memcpy(f + 6, guest_mac, 6);
    put16(f + 12, 0x0806);
    uint8_t *a = f + 14;
    put16(a, 1);
    put16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, 1);
    memcpy(a + 8, guest_mac, 6);
    memcpy(a + 14, guest_ip, 4);
    memset(a + 18, 0, 6);
    memcpy(a + 24, gw_ip, 4);
    return 14 + 28;
}

/* Stop or continue vnat; for a stop, wait until it is stopped. */
static void vnat_signal(pid_t pid, int sig)
{
    if (kill(pid, sig) != 0)
        FAIL("kill %d: %s", (int)pid, strerror(errno));
    if (sig != SIGSTOP)
        return;
    char path[64], st[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    for (int i = 0; i < 500; i++) {
        FILE *fp = fopen(path, "r");
        if (fp) {
            size_t n = fread(st, 1, sizeof(st) - 1, fp);
            fclose(fp);
            st[n] = 0;
            const char *p = strrchr(st, ')');
            if (p && p[1] == ' ' && p[2] == 'T')
                return;
        }
        usleep(2000);
    }
    kill(pid, SIGCONT);
    FAIL("vnat did not stop");
}

static int accept_within(int lfd, int ms)
{
    struct pollfd pf = {.fd = lfd, .events = POLLIN};
    if (poll(&pf, 1, ms) != 1)
        return -1;
    return accept(lfd, NULL, NULL);
}

/* SYN from sport; returns the SYN-ACK's seq. */
static uint32_t handshake_syn(int fd, uint8_t *buf, uint16_t port, uint16_t sport, uint32_t isn,
                              bool split)
{
    uint8_t f[128];
    size_t n = build_tcp(f, sport, port, isn, 0, TH_SYN, NULL, 0);
    send_frame(fd, f, n, split);
    struct seg s;
    next_segment(fd, buf, port, sport, &s, now_ms() + 5000);
    if ((s.flags & (TH_SYN | TH_ACK)) != (TH_SYN | TH_ACK))
        FAIL("expected SYN-ACK, got flags 0x%02x", s.flags);
    if (s.ack != isn + 1)
        FAIL("SYN-ACK acknowledges %u, expected %u", s.ack, isn + 1);
    return s.seq;
}

/* A DHCPDISCOVER from the guest (UDP checksum 0: none). */
static size_t build_dhcp_discover(uint8_t *f, uint32_t xid)
{
    size_t bootp = 236 + 4 + 3 + 1;
    size_t udplen = 8 + bootp;
    memset(f, 0, 14 + 20 + udplen);
    memset(f, 0xff, 6);
    memcpy(f + 6, guest_mac, 6);
    put16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + udplen));
    ip[8] = 64;
    ip[9] = 17;
    memset(ip + 16, 0xff, 4); /* from 0.0.0.0 to 255.255.255.255 */
    put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
    uint8_t *u = ip + 20;
    put16(u, 68);
    put16(u + 2, 67);
    put16(u + 4, (uint16_t)udplen);
    uint8_t *b = u + 8;
    b[0] = 1; /* BOOTREQUEST */
    b[1] = 1;
    b[2] = 6;
    put32(b + 4, xid);
    put16(b + 10, 0x8000); /* broadcast */
    memcpy(b + 28, guest_mac, 6);
    put32(b + 236, 0x63825363);
    b[240] = 53;
    b[241] = 1;
    b[242] = 1; /* DISCOVER */
    b[243] = 255;
    return 14 + 20 + udplen;
}

/* Wait for a frame matching `want` (1: an ARP reply for the gateway, 2: a
 * DHCPOFFER for xid), skipping others. */
static void expect_frame(int fd, uint8_t *buf, int want, uint32_t xid)
{
    uint64_t deadline = now_ms() + 3000;
    for (int i = 0; i < 1000; i++) {
        uint8_t hdr[4];
        if (!read_exact(fd, hdr, 4, deadline))
            FAIL("vnat closed the link");
        uint32_t len = get32(hdr);
        if (len == 0 || len > 70000)
            FAIL("vnat sent a bad frame length %u", len);
        if (!read_exact(fd, buf, len, deadline))
            FAIL("vnat closed the link mid-frame");
        if (want == 1 && len >= 42 && buf[12] == 0x08 && buf[13] == 0x06 && buf[21] == 2 &&
            !memcmp(buf + 28, gw_ip, 4) && !memcmp(buf + 22, gw_mac, 6)) {
            if (memcmp(buf, guest_mac, 6) != 0 || memcmp(buf + 32, guest_mac, 6) != 0)
                FAIL("the ARP reply is not addressed to the guest's MAC");
            return;
        }
        if (want == 2 && len >= 14 + 20 + 8 + 243 && buf[12] == 0x08 && buf[13] == 0x00 &&
            buf[23] == 17) {
            const uint8_t *b = buf + 14 + (size_t)(buf[14] & 0x0f) * 4 + 8;
            if (b[0] == 2 && get32(b + 4) == xid && get32(b + 236) == 0x63825363 && b[240] == 53 &&
                b[242] == 2) {
                if (memcmp(b + 28, guest_mac, 6) != 0)
                    FAIL("the DHCPOFFER's chaddr is not the guest's MAC");
                return;
            }
        }
    }
    FAIL("too many unrelated frames");
}

/* --restart: see the top of the file. */
static int restart(const char *path)
{
    static uint8_t buf[70000];
    uint8_t f[512];
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in la = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t ll = sizeof(la);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&la, sizeof(la)) < 0 || listen(lfd, 8) < 0 ||
        getsockname(lfd, (struct sockaddr *)&la, &ll) < 0)
        FAIL("loopback listener: %s", strerror(errno));
    uint16_t port = ntohs(la.sin_port);
    const uint16_t sport = 42001;

    /* the first guest: an established flow with data both ways */
    int fd = connect_unix(path);
    uint32_t srv = handshake_syn(fd, buf, port, sport, 1000, false);
    int hfd = accept_within(lfd, 3000);
    if (hfd < 0)
        FAIL("the host listener saw no connection");
    size_t n = build_tcp(f, sport, port, 1001, srv + 1, TH_ACK | TH_PSH, "ping", 4);
    send_frame(fd, f, n, false);
    char got[8] = {0};
    struct pollfd pf = {.fd = hfd, .events = POLLIN};
    if (poll(&pf, 1, 3000) != 1 || read(hfd, got, 4) != 4 || memcmp(got, "ping", 4) != 0)
        FAIL("the host side did not read \"ping\"");
    if (write(hfd, "pong", 4) != 4)
        FAIL("host write: %s", strerror(errno));
    if (new_guest_mac_set && memcmp(new_guest_mac, guest_mac, 6) != 0) {
        uint8_t mine[6];
        memcpy(mine, guest_mac, 6);
        memcpy(guest_mac, new_guest_mac, 6);
        n = build_arp(f); /* from the other MAC: vnat holds the first one */
        memcpy(guest_mac, mine, 6);
        send_frame(fd, f, n, false);
    }
    /* the VM goes away with vnat's "pong" unread, as a killed QEMU does */
    usleep(100000);
    close(fd);
    uint64_t t0 = now_ms();

    /* the host end of the old flow sees a reset, promptly */
    pf.fd = hfd;
    int pr = poll(&pf, 1, 2000);
    ssize_t r = pr == 1 ? read(hfd, got, sizeof(got)) : 0;
    if (pr != 1)
        FAIL("the old flow's host end saw nothing within 2 s of the guest leaving");
    if (r != -1 || errno != ECONNRESET)
        FAIL("the old flow's host end read %zd (%s), expected ECONNRESET", r,
             r < 0 ? strerror(errno) : "no error");
    printf("serve_client: the old flow was reset toward the host after %llu ms\n",
           (unsigned long long)(now_ms() - t0));
    close(hfd);

    /* the new guest: ARP, DHCP, TCP from the same port, data */
    if (new_guest_mac_set)
        memcpy(guest_mac, new_guest_mac, 6);
    fd = connect_unix(path);
    n = build_arp(f);
    send_frame(fd, f, n, false);
    expect_frame(fd, buf, 1, 0);
    n = build_dhcp_discover(f, 0x1234abcd);
    send_frame(fd, f, n, false);
    expect_frame(fd, buf, 2, 0x1234abcd);
    srv = handshake_syn(fd, buf, port, sport, 777000, false);
    hfd = accept_within(lfd, 3000);
    if (hfd < 0)
        FAIL("the host listener saw no connection from the new guest");
    n = build_tcp(f, sport, port, 777001, srv + 1, TH_ACK | TH_PSH, "ping", 4);
    send_frame(fd, f, n, false);
    pf.fd = hfd;
    memset(got, 0, sizeof(got));
    if (poll(&pf, 1, 3000) != 1 || read(hfd, got, 4) != 4 || memcmp(got, "ping", 4) != 0)
        FAIL("the host side did not read the new guest's \"ping\"");
    close(hfd);
    close(fd);
    close(lfd);
    printf("serve_client: the new guest got ARP, DHCP and TCP\n");
    return 0;
}

static pid_t parse_pid(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == 0 || *end != 0 || v <= 0 || v > INT32_MAX)
        FAIL("not a process id: '%s'", s);
    return (pid_t)v;
}

/* Write what the host socket takes without blocking. */
static void top_up(int hfd)
{
    static const uint8_t chunk[16384];
    while (send(hfd, chunk, sizeof(chunk), MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
        ;
}

/* --sigterm: see the top of the file. */
static int sigterm(const char *path, pid_t vpid)
{
    static uint8_t buf[70000];
    uint8_t f[128];
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in la = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t ll = sizeof(la);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&la, sizeof(la)) < 0 || listen(lfd, 8) < 0 ||
        getsockname(lfd, (struct sockaddr *)&la, &ll) < 0)
        FAIL("loopback listener: %s", strerror(errno));
    uint16_t port = ntohs(la.sin_port);
    const uint16_t sport = 43001;
    int fd = connect_unix(path);
    uint32_t srv = handshake_syn(fd, buf, port, sport, 1000, false);
    int hfd = accept_within(lfd, 3000);
    if (hfd < 0)
        FAIL("the host listener saw no connection");
    size_t n = build_tcp(f, sport, port, 1001, srv + 1, TH_ACK, NULL, 0);
    send_frame(fd, f, n, false);
    uint32_t rcv_nxt = srv + 1;
    uint64_t got = 0, t_term = 0;
    bool host_reset = false;
    for (;;) {
        if (!t_term)
            top_up(hfd);
        if (!t_term && got >= (256u << 10)) {
            if (kill(vpid, SIGTERM) != 0)
                FAIL("kill: %s", strerror(errno));
            t_term = now_ms();
            printf("serve_client: SIGTERM after %llu bytes\n", (unsigned long long)got);
        }
        struct seg s;
        next_segment(fd, buf, port, sport, &s, (t_term ? t_term + 1000 : now_ms() + 5000));
        if (s.flags & TH_RST) {
            if (!t_term)
                FAIL("the flow was reset before the signal");
            break;
        }
        if (s.dlen && s.seq == rcv_nxt) {
            rcv_nxt += (uint32_t)s.dlen;
            got += s.dlen;
        }
        n = build_tcp(f, sport, port, 1001, rcv_nxt, TH_ACK, NULL, 0);
        if (!t_term) {
            send_frame(fd, f, n, false);
        } else {
            /* vnat may be gone already: best effort, what it sent is still
             * to be read */
            uint8_t fr[4 + 128];
            put32(fr, (uint32_t)n);
            memcpy(fr + 4, f, n);
            (void)send(fd, fr, 4 + n, MSG_DONTWAIT | MSG_NOSIGNAL);
        }
    }
    printf("serve_client: the guest saw a RST %llu ms after the signal\n",
           (unsigned long long)(now_ms() - t_term));
    struct pollfd pf = {.fd = hfd, .events = POLLIN};
    while (now_ms() < t_term + 1000 && !host_reset) {
        if (poll(&pf, 1, 50) == 1) {
            char c;
            ssize_t r = recv(hfd, &c, 1, MSG_DONTWAIT);
            if (r < 0 && errno == ECONNRESET)
                host_reset = true;
            else if (r == 0)
                FAIL("the host end saw an orderly close, not a reset");
        }
    }
    if (!host_reset)
        FAIL("the host end saw no reset within 1 s of the signal");
    printf("serve_client: the host end saw ECONNRESET %llu ms after the signal\n",
           (unsigned long long)(now_ms() - t_term));
    close(hfd);
    close(fd);
    close(lfd);
    return 0;
}

/* One hexadecimal digit's value, or -1. */
static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* XX:XX:XX:XX:XX:XX (hexadecimal, either case) into mac: 0, or -1. */
static int mac_from_text(const char *s, uint8_t mac[6])
{
    if (strlen(s) != 17)
        return -1;
    for (int i = 0; i < 6; i++) {
        int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
            return -1;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static void parse_mac(const char *s, uint8_t mac[6])
{
    if (mac_from_text(s, mac) < 0)
        FAIL("bad MAC '%s'", s);
}

/* --silent: ARP and DHCP from the guest's MAC, and nothing back in 1 s. */
static int silent(const char *path)
{
    uint8_t f[512], hdr[4];
    int fd = connect_unix(path);
    size_t n = build_arp(f);
    send_frame(fd, f, n, false);
    n = build_dhcp_discover(f, 0x5a5a5a5a);
    send_frame(fd, f, n, false);
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    int pr = poll(&pf, 1, 1000);
    if (pr == 1 && read(fd, hdr, sizeof hdr) > 0)
        FAIL("vnat answered a guest whose MAC is not the one fixed");
    close(fd);
    printf("serve_client: a guest with another MAC got nothing\n");
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* a write to a dropped link fails, it does not kill */
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (argc >= 3 && (!strcmp(argv[1], "--mac") || !strcmp(argv[1], "--mac2"))) {
        bool second = argv[1][5] == '2';
        parse_mac(argv[2], second ? new_guest_mac : guest_mac);
        new_guest_mac_set |= second;
        argc -= 2;
        argv += 2;
    }
    if (argc == 3 && !strcmp(argv[1], "--silent"))
        return silent(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "--restart"))
        return restart(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "--sigterm"))
        return sigterm(argv[2], parse_pid(argv[3]));
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: serve_client SOCKET_PATH [VNAT_PID]\n");
        return 2;
    }
    static uint8_t buf[70000];
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in la = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t ll = sizeof(la);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&la, sizeof(la)) < 0 || listen(lfd, 8) < 0 ||
        getsockname(lfd, (struct sockaddr *)&la, &ll) < 0)
        FAIL("loopback listener: %s", strerror(errno));
    uint16_t port = ntohs(la.sin_port);

    /* 1. handshake, with a length prefix split across writes */
    int fd = connect_unix(argv[1]);
    uint16_t sport = 40001;
    uint32_t isn = 1000;
    uint32_t srv = handshake_syn(fd, buf, port, sport, isn, true);
    int hfd = accept_within(lfd, 3000);
    if (hfd < 0)
        FAIL("the host listener saw no connection");
    printf("serve_client: SYN-ACK received, host accepted\n");

    /* 2. data both ways */
    uint8_t f[256];
    size_t n = build_tcp(f, sport, port, isn + 1, srv + 1, TH_ACK | TH_PSH, "ping", 4);
    send_frame(fd, f, n, false);
    char got[8] = {0};
    struct pollfd pf = {.fd = hfd, .events = POLLIN};
    if (poll(&pf, 1, 3000) != 1 || read(hfd, got, 4) != 4 || memcmp(got, "ping", 4) != 0)
        FAIL("the host side did not read \"ping\"");
    if (write(hfd, "pong", 4) != 4)
        FAIL("host write: %s", strerror(errno));
    uint64_t deadline = now_ms() + 5000;
    for (;;) {
        struct seg s;
        next_segment(fd, buf, port, sport, &s, deadline);
        if (s.dlen == 4 && !memcmp(s.data, "pong", 4))
            break;
        if (s.flags & TH_RST)
            FAIL("flow reset before \"pong\" arrived");
    }
    n = build_tcp(f, sport, port, isn + 5, 0, TH_RST, NULL, 0);
    send_frame(fd, f, n, false);
    close(hfd);
    printf("serve_client: data exchanged both ways\n");
    close(fd);

    /* 3. a bad length resets the link */
    fd = connect_unix(argv[1]);
    uint8_t bad[4] = {0xff, 0xff, 0xff, 0xff};
    write_all(fd, bad, 4);
    uint8_t junk[64];
    memset(junk, 0, sizeof(junk));
    deadline = now_ms() + 3000;
    for (;;) {
        pf.fd = fd;
        if (now_ms() > deadline)
            FAIL("vnat kept the link after a bad length");
        if (poll(&pf, 1, 100) == 1) {
            ssize_t r = read(fd, junk, sizeof(junk));
            if (r <= 0)
                break;
        }
    }
    close(fd);
    printf("serve_client: bad length reset the link\n");

    /* 4. the next connection works */
    fd = connect_unix(argv[1]);
    (void)handshake_syn(fd, buf, port, 40002, 5000, false);
    close(fd);
    printf("serve_client: link works again after the reset\n");

    /* 5. lengths that lie: 0, and one above HOST_MAX_FRAME (65568) */
    static const uint32_t lies[] = {0, 65568 + 1};
    for (size_t i = 0; i < 2; i++) {
        fd = connect_unix(argv[1]);
        uint8_t h[20] = {0}; /* one write: vnat may drop the link after the prefix */
        put32(h, lies[i]);
        write_all(fd, h, sizeof(h));
        expect_dropped(fd, lies[i] ? "a length above the bound" : "a length of 0");
        close(fd);
        fd = connect_unix(argv[1]);
        (void)handshake_syn(fd, buf, port, (uint16_t)(40010 + i), 6000, false);
        close(fd);
        printf("serve_client: length %u reset the link, the next connection works\n", lies[i]);
    }
    /* exactly the bound is a frame (the core drops it), the link stays */
    fd = connect_unix(argv[1]);
    {
        static uint8_t big[65568];
        memset(big, 0, sizeof(big));
        memcpy(big, gw_mac, 6);
        memcpy(big + 6, guest_mac, 6);
        put16(big + 12, 0x88b5); /* local experimental ethertype */
        send_frame(fd, big, sizeof(big), false);
    }
    (void)handshake_syn(fd, buf, port, 40012, 7000, false);
    close(fd);
    printf("serve_client: a frame of exactly 65568 bytes kept the link\n");

    /* 6. a torn frame: 100 announced, 10 sent, close */
    uint8_t torn[14];
    put32(torn, 100);
    memset(torn + 4, 0, 10);
    fd = connect_unix(argv[1]);
    write_all(fd, torn, sizeof(torn));
    close(fd);
    fd = connect_unix(argv[1]);
    (void)handshake_syn(fd, buf, port, 40013, 8000, false);
    close(fd);
    printf("serve_client: a torn frame, the next connection works\n");

    if (argc == 3) {
        pid_t vpid = parse_pid(argv[2]);
        fd = connect_unix(argv[1]);
        n = build_arp(f);
        send_frame(fd, f, n, false);
        pf.fd = fd;
        if (poll(&pf, 1, 3000) != 1)
            FAIL("no ARP reply");
        /* the reply stays unread: this close reports ECONNRESET to vnat */
        vnat_signal(vpid, SIGSTOP);
        write_all(fd, torn, sizeof(torn));
        close(fd);
        fd = connect_unix(argv[1]);
        n = build_tcp(f, 40014, port, 9000, 0, TH_SYN, NULL, 0);
        send_frame(fd, f, n, false);
        vnat_signal(vpid, SIGCONT);
        struct seg s;
        next_segment(fd, buf, port, 40014, &s, now_ms() + 5000);
        if ((s.flags & (TH_SYN | TH_ACK)) != (TH_SYN | TH_ACK) || s.ack != 9001)
            FAIL("expected SYN-ACK after the torn frame, got flags 0x%02x", s.flags);
        close(fd);
        printf("serve_client: a torn frame and a reconnect in one wakeup, the new one works\n");
    }
    close(lfd);
    return 0;
}
