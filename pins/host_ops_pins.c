/*
 * host_ops_pins.c — pins for the real adapter's host operations (host/sockops.c)
 * on real loopback sockets, no namespace and no core: peek at any offset
 * (with SO_PEEK_OFF and with the fallback), discard, end of stream, abortive
 * close, listen/accept, UDP round trips with full lengths, stale tokens, and
 * read interest honoured so unread data that waits for the guest's window
 * produces no wakeups (the reference NAT's defect 4, busy polling; the
 * end-to-end CPU check is the integration test host.no_busy_poll).
 */
#define _GNU_SOURCE
#include "pin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adapter.h"

int vnat_host_adapter_honours_interest(void);

#define OPS host_ops_table
#define TOK(slot, gen) (((vnat_token)(gen) << 32) | (slot))

static void host_setup(struct host *h)
{
    memset(h, 0, sizeof(*h));
    assert_int_equal(host_init(h, 8), 0);
}

static struct vnat_sockaddr loop_addr(uint16_t port)
{
    struct vnat_sockaddr a;
    memset(&a, 0, sizeof(a));
    a.ip = vnat_ip4(127, 0, 0, 1);
    a.port = port;
    return a;
}

static int listener(int type, uint16_t *port)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    if (type == SOCK_STREAM)
        assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A connected flow socket named tok; returns the peer's descriptor. */
static int flow_pair(struct host *h, vnat_token tok)
{
    uint16_t port;
    int lfd = listener(SOCK_STREAM, &port);
    struct vnat_sockaddr dst = loop_addr(port);
    assert_int_equal(OPS.tcp_connect(&h->io, tok, &dst), 0);
    int peer = accept(lfd, NULL, NULL);
    assert_true(peer >= 0);
    close(lfd);
    return peer;
}

static void wait_readable(struct host *h)
{
    struct epoll_event ev;
    OPS.set_interest(&h->io, TOK(1, 1), VNAT_WANT_READ);
    (void)epoll_wait(h->epfd, &ev, 1, 1000);
}

static void peek_sequence(bool with_peek_off)
{
    struct host h;
    host_setup(&h);
    h.io.peek_off_supported = with_peek_off;
    vnat_token tok = TOK(1, 1);
    int peer = flow_pair(&h, tok);
    assert_int_equal(host_sock_find(&h.io, tok)->peek_off >= 0, with_peek_off);
    uint8_t buf[16];
    assert_int_equal(OPS.peek(&h.io, tok, 0, buf, 4), -EAGAIN); /* nothing yet */
    assert_int_equal(write(peer, "abcdefghij", 10), 10);
    wait_readable(&h);
    assert_int_equal(OPS.peek(&h.io, tok, 0, buf, 3), 3);
    assert_memory_equal(buf, "abc", 3);
    assert_int_equal(OPS.peek(&h.io, tok, 5, buf, 3), 3); /* forward jump */
    assert_memory_equal(buf, "fgh", 3);
    assert_int_equal(OPS.peek(&h.io, tok, 2, buf, 2), 2); /* back: a retransmit */
    assert_memory_equal(buf, "cd", 2);
    assert_int_equal(OPS.discard(&h.io, tok, 4), 0); /* the guest acked 4 */
    assert_int_equal(OPS.peek(&h.io, tok, 0, buf, 2), 2);
    assert_memory_equal(buf, "ef", 2);
    assert_int_equal(OPS.peek(&h.io, tok, 4, buf, 8), 2); /* short: what is there */
    assert_memory_equal(buf, "ij", 2);
    assert_int_equal(OPS.peek(&h.io, tok, 6, buf, 4), -EAGAIN); /* past the data */
    shutdown(peer, SHUT_WR);
    usleep(20000);
    assert_int_equal(OPS.peek(&h.io, tok, 6, buf, 4), 0); /* end of stream */
    assert_int_equal(OPS.peek(&h.io, tok, 1, buf, 2), 2); /* data before it stays */
    assert_memory_equal(buf, "fg", 2);
    assert_int_equal(h.io.st.peek_fallback > 0, !with_peek_off);
    OPS.close(&h.io, tok, 0);
    close(peer);
    host_fini(&h);
}

PIN(host_peek_at_any_offset_discard_and_eof_with_so_peek_off)
{
    peek_sequence(true);
}

PIN(host_peek_at_any_offset_discard_and_eof_without_so_peek_off)
{
    peek_sequence(false);
}

PIN(host_close_with_reset_makes_the_peer_see_rst)
{
    struct host h;
    host_setup(&h);
    vnat_token tok = TOK(2, 9);
    int peer = flow_pair(&h, tok);
    assert_true(OPS.send_space(&h.io, tok) > 0);
    assert_int_equal(OPS.send(&h.io, tok, (const uint8_t *)"x", 1), 1);
    assert_int_equal(OPS.shutdown_write(&h.io, tok), 0);
    OPS.close(&h.io, tok, 1);
    assert_null(host_sock_find(&h.io, tok)); /* the token is dead */
    char b[4];
    assert_int_equal(read(peer, b, 1), 1);
    assert_int_equal(read(peer, b, 1), 0); /* FIN came first (shutdown) */
    close(peer);
    /* and without a shutdown: a reset, not a FIN */
    tok = TOK(2, 10);
    peer = flow_pair(&h, tok);
    OPS.close(&h.io, tok, 1);
    usleep(20000);
    errno = 0;
    assert_int_equal(read(peer, b, 1), -1);
    assert_int_equal(errno, ECONNRESET);
    close(peer);
    host_fini(&h);
}

PIN(host_stale_token_never_reaches_a_reused_descriptor)
{
    struct host h;
    host_setup(&h);
    vnat_token tok = TOK(3, 1);
    int peer = flow_pair(&h, tok);
    vnat_token stale = TOK(3, 2); /* same slot, other generation */
    uint8_t b[4];
    assert_null(host_sock_find(&h.io, stale));
    assert_int_equal(OPS.send(&h.io, stale, b, 1), -EBADF);
    assert_int_equal(OPS.peek(&h.io, stale, 0, b, 1), -EBADF);
    OPS.close(&h.io, stale, 1); /* ignored: tok stays open */
    assert_non_null(host_sock_find(&h.io, tok));
    /* reserved epoll ids are never accepted as tokens */
    struct vnat_sockaddr dst = loop_addr(9);
    assert_int_equal(OPS.tcp_connect(&h.io, HOST_ID_LINK, &dst), -EINVAL);
    OPS.close(&h.io, tok, 0);
    close(peer);
    host_fini(&h);
}

PIN(host_listen_accept_names_the_new_socket_until_eagain)
{
    struct host h;
    host_setup(&h);
    vnat_token ltok = TOK(4, 1), atok = TOK(5, 1);
    struct vnat_sockaddr local = loop_addr(0);
    assert_int_equal(OPS.tcp_listen(&h.io, ltok, &local), 0);
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    memset(&a, 0, sizeof(a));
    assert_int_equal(getsockname(host_sock_find(&h.io, ltok)->fd, (struct sockaddr *)&a, &al), 0);
    struct vnat_sockaddr peer_addr;
    assert_int_equal(OPS.tcp_accept(&h.io, ltok, atok, &peer_addr), -EAGAIN);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
    struct epoll_event ev;
    assert_int_equal(epoll_wait(h.epfd, &ev, 1, 1000), 1); /* listeners start readable */
    assert_true(ev.data.u64 == ltok);
    assert_int_equal(OPS.tcp_accept(&h.io, ltok, atok, &peer_addr), 0);
    struct sockaddr_in ca;
    socklen_t cl = sizeof(ca);
    memset(&ca, 0, sizeof(ca));
    assert_int_equal(getsockname(c, (struct sockaddr *)&ca, &cl), 0);
    assert_int_equal(peer_addr.port, ntohs(ca.sin_port));
    assert_int_equal(peer_addr.ip.family, VNAT_AF_INET);
    assert_int_equal(OPS.tcp_accept(&h.io, ltok, TOK(6, 1), &peer_addr), -EAGAIN);
    assert_int_equal(OPS.send(&h.io, atok, (const uint8_t *)"hey", 3), 3);
    char b[4];
    assert_int_equal(read(c, b, 3), 3);
    OPS.close(&h.io, atok, 0);
    OPS.close(&h.io, ltok, 0);
    close(c);
    host_fini(&h);
}

PIN(host_udp_round_trip_with_source_and_full_length)
{
    struct host h;
    host_setup(&h);
    uint16_t port;
    int srv = listener(SOCK_DGRAM, &port);
    vnat_token tok = TOK(7, 3);
    struct vnat_sockaddr dst = loop_addr(port);
    assert_int_equal(OPS.dgram_open(&h.io, tok, VNAT_DGRAM_UDP, &dst), 0);
    OPS.set_interest(&h.io, tok, VNAT_WANT_READ);
    assert_int_equal(OPS.dgram_send(&h.io, tok, (const uint8_t *)"hi", 2, NULL), 2);
    char b[32];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    assert_int_equal(recvfrom(srv, b, sizeof(b), 0, (struct sockaddr *)&from, &fl), 2);
    assert_int_equal(sendto(srv, "0123456789", 10, 0, (struct sockaddr *)&from, fl), 10);
    struct epoll_event ev;
    assert_int_equal(epoll_wait(h.epfd, &ev, 1, 1000), 1);
    assert_true(ev.data.u64 == tok);
    uint8_t small[4];
    struct vnat_sockaddr src;
    /* a datagram longer than the buffer: truncated, full length returned */
    assert_int_equal(OPS.dgram_recv(&h.io, tok, small, sizeof(small), &src), 10);
    assert_memory_equal(small, "0123", 4);
    assert_int_equal(src.port, port);
    assert_memory_equal(src.ip.addr, dst.ip.addr, 4);
    assert_int_equal(OPS.dgram_recv(&h.io, tok, small, sizeof(small), &src), -EAGAIN);
    OPS.close(&h.io, tok, 0);
    close(srv);
    host_fini(&h);
}

PIN(host_read_interest_off_means_no_wakeups_for_waiting_data)
{
    int r = vnat_host_adapter_honours_interest();
    assert_int_not_equal(r, -1); /* the loopback pair could be set up */
    assert_int_equal(r, 1);
}

PIN_MAIN(cmocka_unit_test(host_peek_at_any_offset_discard_and_eof_with_so_peek_off),
         cmocka_unit_test(host_peek_at_any_offset_discard_and_eof_without_so_peek_off),
         cmocka_unit_test(host_close_with_reset_makes_the_peer_see_rst),
         cmocka_unit_test(host_stale_token_never_reaches_a_reused_descriptor),
         cmocka_unit_test(host_listen_accept_names_the_new_socket_until_eagain),
         cmocka_unit_test(host_udp_round_trip_with_source_and_full_length),
         cmocka_unit_test(host_read_interest_off_means_no_wakeups_for_waiting_data))
