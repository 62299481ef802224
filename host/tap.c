/*
 * tap.c — the namespace side of `vnat run`. A child process enters a new
 * user namespace (root inside maps to the caller outside, as pasta does; as
 * root it may also skip it), a new network namespace and a private mount
 * namespace; creates a tap device (IFF_TAP | IFF_NO_PI) and configures it
 * with ioctls (MAC, MTU, address, netmask, up, default route, neighbour
 * entries for the gateway and DNS addresses); bind-mounts a generated
 * resolv.conf over /etc/resolv.conf; hands the tap descriptor to the parent
 * over a socketpair (SCM_RIGHTS); and waits for the parent's go before it
 * execs COMMAND, so no frame is sent before the loop listens. No tool is
 * run: everything is done with system calls.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/if_tun.h>

#include "adapter.h"

#define SETUP_MSG_MAX 256

/* What the child reports: ok, or which step failed and whether the reason is
 * that the system does not allow it (tests skip on that). */
struct setup_msg {
    int ok;
    int unavailable;
    char text[SETUP_MSG_MAX];
};

__attribute__((format(printf, 3, 4))) static void child_fail(int sock, int unavailable,
                                                             const char *fmt, ...)
{
    struct setup_msg m = {.ok = 0, .unavailable = unavailable};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m.text, sizeof(m.text), fmt, ap);
    va_end(ap);
    (void)send(sock, &m, sizeof(m), MSG_NOSIGNAL);
    _exit(125);
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    int err = n == (ssize_t)len ? 0 : -errno;
    close(fd);
    return err;
}

static void ip4_sockaddr(struct sockaddr *sa, const struct vnat_ip *ip)
{
    struct sockaddr_in *in = (struct sockaddr_in *)sa;
    memset(in, 0, sizeof(*in));
    in->sin_family = AF_INET;
    memcpy(&in->sin_addr, ip->addr, 4);
}

static int if_set_flags(int s, const char *name, short flags)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        return -errno;
    ifr.ifr_flags = (short)(ifr.ifr_flags | flags);
    return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

static int add_neighbour(int s, const char *dev, const struct vnat_ip *ip, const uint8_t mac[6])
{
    struct arpreq ar;
    memset(&ar, 0, sizeof(ar));
    ip4_sockaddr(&ar.arp_pa, ip);
    ar.arp_ha.sa_family = ARPHRD_ETHER;
    memcpy(ar.arp_ha.sa_data, mac, 6);
    ar.arp_flags = ATF_PERM | ATF_COM;
    strncpy(ar.arp_dev, dev, sizeof(ar.arp_dev) - 1);
    return ioctl(s, SIOCSARP, &ar) < 0 ? -errno : 0;
}

/* Configure the tap and loopback inside the new network namespace. */
static const char *configure_link(const struct ns_setup *cs, int *err)
{
    const struct vnat_config *c = cs->cfg;
    const char *dev = cs->ifname;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return *err = errno, "socket";
    struct ifreq ifr;
    const char *step = NULL;
    if (if_set_flags(s, "lo", IFF_UP) < 0)
        step = "bring up lo";
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, dev, IFNAMSIZ - 1);
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    memcpy(ifr.ifr_hwaddr.sa_data, c->guest_mac, 6);
    if (!step && ioctl(s, SIOCSIFHWADDR, &ifr) < 0)
        step = "set MAC address";
    ifr.ifr_mtu = (int)c->mtu;
    if (!step && ioctl(s, SIOCSIFMTU, &ifr) < 0)
        step = "set MTU";
    ip4_sockaddr(&ifr.ifr_addr, &c->guest_ip);
    if (!step && ioctl(s, SIOCSIFADDR, &ifr) < 0)
        step = "set address";
    struct vnat_ip mask = {.family = VNAT_AF_INET};
    uint32_t m = c->prefix_len ? htonl(~0u << (32 - c->prefix_len)) : 0;
    memcpy(mask.addr, &m, 4);
    ip4_sockaddr(&ifr.ifr_netmask, &mask);
    if (!step && ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
        step = "set netmask";
    if (!step && if_set_flags(s, dev, IFF_UP | IFF_RUNNING) < 0)
        step = "bring up the tap";
    if (!step) {
        struct rtentry rt;
        memset(&rt, 0, sizeof(rt));
        struct vnat_ip any = {.family = VNAT_AF_INET};
        ip4_sockaddr(&rt.rt_dst, &any);
        ip4_sockaddr(&rt.rt_genmask, &any);
        ip4_sockaddr(&rt.rt_gateway, &c->gateway_ip);
        rt.rt_flags = RTF_UP | RTF_GATEWAY;
        rt.rt_dev = (char *)dev;
        if (ioctl(s, SIOCADDRT, &rt) < 0)
            step = "add the default route";
    }
    if (!step && cs->static_arp &&
        (add_neighbour(s, dev, &c->gateway_ip, c->gateway_mac) < 0 ||
         add_neighbour(s, dev, &c->dns_ip, c->gateway_mac) < 0))
        step = "add neighbour entries";
    *err = errno;
    close(s);
    return step;
}

static int open_tap(const char *name, int *err)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        *err = errno;
        close(fd);
        return -1;
    }
    return fd;
}

static bool errno_means_unavailable(int e)
{
    return e == EPERM || e == EACCES || e == EINVAL || e == ENOSYS || e == ENOSPC || e == ENOENT ||
           e == ENODEV || e == EUSERS;
}

static void child_enter_namespaces(int sock, enum ns_userns_mode mode, uid_t uid, gid_t gid)
{
    bool userns = mode == NS_USERNS_YES || (mode == NS_USERNS_AUTO);
    int flags = CLONE_NEWNET | CLONE_NEWNS | (userns ? CLONE_NEWUSER : 0);
    if (unshare(flags) < 0) {
        int e = errno;
        if (mode == NS_USERNS_AUTO && uid == 0 && unshare(CLONE_NEWNET | CLONE_NEWNS) == 0)
            return; /* root where user namespaces are off: network namespace only */
        child_fail(sock, errno_means_unavailable(e), "unavailable: cannot create namespaces: %s",
                   strerror(e));
    }
    if (!userns)
        return;
    char map[64];
    (void)write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
    int e1 = write_file("/proc/self/gid_map", map);
    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
    int e2 = write_file("/proc/self/uid_map", map);
    if (e1 < 0 || e2 < 0)
        child_fail(sock, 1, "unavailable: cannot map ids in the user namespace: %s",
                   strerror(-(e2 < 0 ? e2 : e1)));
}

/* Private mount namespace: bind the generated resolv.conf over the real one,
 * then unlink the generated file (the mount keeps it alive). */
static void child_resolv_conf(const char *resolv_path)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount(resolv_path, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0)
        fprintf(stderr,
                "vnat: warning: /etc/resolv.conf not replaced (%s); "
                "DNS inside uses the host's resolver list\n",
                strerror(errno));
}

static void send_fd(int sock, int fd, const struct setup_msg *m)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof(*m)};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
        _exit(125);
}

static int recv_fd(int sock, struct setup_msg *m)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    if (n != (ssize_t)sizeof(*m))
        return -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    return fd;
}

static void child_main(int sock, const struct ns_setup *s, char *const argv[], uid_t uid, gid_t gid,
                       const char *resolv_path)
{
    /* COMMAND must not outlive vnat (nothing would carry its traffic). */
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    child_enter_namespaces(sock, s->userns, uid, gid);
    child_resolv_conf(resolv_path);
    int err = 0;
    int tap = open_tap(s->ifname, &err);
    if (tap < 0)
        child_fail(sock, errno_means_unavailable(err),
                   "unavailable: cannot create a tap device: %s", strerror(err));
    const char *step = configure_link(s, &err);
    if (step)
        child_fail(sock, 0, "cannot %s: %s", step, strerror(err));
    char sysctl[128];
    snprintf(sysctl, sizeof(sysctl), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", s->ifname);
    (void)write_file(sysctl, "1"); /* the core speaks IPv4 only for now */
    struct setup_msg ok = {.ok = 1};
    send_fd(sock, tap, &ok);
    close(tap);
    char go;
    if (read(sock, &go, 1) != 1)
        _exit(125);
    close(sock);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[0], argv);
    fprintf(stderr, "vnat: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static int write_resolv(char *dir, size_t dirlen, char *path, size_t pathlen,
                        const struct vnat_config *c)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, dirlen, "%s/vnat-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir))
        return -errno;
    snprintf(path, pathlen, "%s/resolv.conf", dir);
    FILE *f = fopen(path, "we");
    if (!f)
        return -errno;
    fprintf(f, "# written by vnat run: the DNS address vnat answers on\nnameserver %u.%u.%u.%u\n",
            c->dns_ip.addr[0], c->dns_ip.addr[1], c->dns_ip.addr[2], c->dns_ip.addr[3]);
    fclose(f);
    chmod(path, 0644);
    return 0;
}

int ns_spawn(const struct ns_setup *s, char *const argv[], pid_t *pid, int *tap_fd, int *gate_fd,
             bool *unavailable)
{
    *unavailable = false;
    char dir[256], resolv[300];
    int rc = write_resolv(dir, sizeof(dir), resolv, sizeof(resolv), s->cfg);
    if (rc < 0) {
        fprintf(stderr, "vnat: cannot write resolv.conf: %s\n", strerror(-rc));
        return -1;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        perror("vnat: socketpair");
        return -1;
    }
    uid_t uid = geteuid();
    gid_t gid = getegid();
    fflush(NULL);
    pid_t p = fork();
    if (p < 0) {
        perror("vnat: fork");
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (p == 0) {
        close(sv[0]);
        child_main(sv[1], s, argv, uid, gid, resolv);
    }
    close(sv[1]);
    struct setup_msg m;
    memset(&m, 0, sizeof(m));
    int fd = recv_fd(sv[0], &m);
    /* The bind mount holds the file now (or setup failed): clean up. */
    unlink(resolv);
    rmdir(dir);
    if (fd < 0 || !m.ok) {
        if (fd >= 0)
            close(fd);
        m.text[sizeof(m.text) - 1] = 0;
        fprintf(stderr, "vnat: %s\n", m.text[0] ? m.text : "namespace setup failed");
        *unavailable = m.unavailable != 0;
        close(sv[0]);
        int st;
        waitpid(p, &st, 0);
        return -1;
    }
    *pid = p;
    *tap_fd = fd;
    *gate_fd = sv[0];
    return 0;
}

int ns_release(int gate_fd)
{
    char go = 1;
    int rc = write(gate_fd, &go, 1) == 1 ? 0 : -errno;
    close(gate_fd);
    return rc;
}
