/*
 * embed_pins.c — the embedder's view of the public API: an instance lives in
 * memory the caller sized with vnat_memory_size(), and runtime port forwards
 * open a host listener. Only <vnat/vnat.h> is used, as a VMM would.
 */
#include "pin.h"

#include <errno.h>
#include <stdlib.h>
#include <vnat/vnat.h>

/* A host that records listens and otherwise has nothing to say. */
struct quiet_host {
    int listens;
    struct vnat_sockaddr listened;
};

static int q_guest_send(void *ctx, const uint8_t *frame, size_t len)
{
    (void)ctx, (void)frame, (void)len;
    return 0;
}
static int q_tcp_connect(void *ctx, vnat_token tok, const struct vnat_sockaddr *dst)
{
    (void)ctx, (void)tok, (void)dst;
    return -ECONNREFUSED;
}
static int q_tcp_listen(void *ctx, vnat_token tok, const struct vnat_sockaddr *local)
{
    struct quiet_host *h = ctx;
    (void)tok;
    h->listens++;
    h->listened = *local;
    return 0;
}
static int q_tcp_accept(void *ctx, vnat_token l, vnat_token tok, struct vnat_sockaddr *peer)
{
    (void)ctx, (void)l, (void)tok, (void)peer;
    return -EAGAIN;
}
static long q_send(void *ctx, vnat_token tok, const uint8_t *buf, size_t len)
{
    (void)ctx, (void)tok, (void)buf, (void)len;
    return -EAGAIN;
}
static long q_send_space(void *ctx, vnat_token tok)
{
    (void)ctx, (void)tok;
    return 0;
}
static long q_peek(void *ctx, vnat_token tok, size_t off, uint8_t *buf, size_t len)
{
    (void)ctx, (void)tok, (void)off, (void)buf, (void)len;
    return -EAGAIN;
}
static int q_discard(void *ctx, vnat_token tok, size_t len)
{
    (void)ctx, (void)tok, (void)len;
    return 0;
}
static int q_shutdown_write(void *ctx, vnat_token tok)
{
    (void)ctx, (void)tok;
    return 0;
}
static void q_close(void *ctx, vnat_token tok, int reset)
{
    (void)ctx, (void)tok, (void)reset;
}
static void q_set_interest(void *ctx, vnat_token tok, unsigned mask)
{
    (void)ctx, (void)tok, (void)mask;
}
static int q_dgram_open(void *ctx, vnat_token tok, enum vnat_dgram_kind kind,
                        const struct vnat_sockaddr *dst)
{
    (void)ctx, (void)tok, (void)kind, (void)dst;
    return -EACCES;
}
static int q_dgram_bind(void *ctx, vnat_token tok, enum vnat_dgram_kind kind,
                        const struct vnat_sockaddr *local)
{
    (void)ctx, (void)tok, (void)kind, (void)local;
    return -EACCES;
}
static long q_dgram_send(void *ctx, vnat_token tok, const uint8_t *buf, size_t len,
                         const struct vnat_sockaddr *to)
{
    (void)ctx, (void)tok, (void)buf, (void)len, (void)to;
    return -EAGAIN;
}
static long q_dgram_recv(void *ctx, vnat_token tok, uint8_t *buf, size_t cap,
                         struct vnat_sockaddr *from)
{
    (void)ctx, (void)tok, (void)buf, (void)cap, (void)from;
    return -EAGAIN;
}

static const struct vnat_host_ops quiet_ops = {
    .struct_size = sizeof(struct vnat_host_ops),
    .guest_send = q_guest_send,
    .tcp_connect = q_tcp_connect,
    .tcp_listen = q_tcp_listen,
    .tcp_accept = q_tcp_accept,
    .send = q_send,
    .send_space = q_send_space,
    .peek = q_peek,
    .discard = q_discard,
    .shutdown_write = q_shutdown_write,
    .close = q_close,
    .set_interest = q_set_interest,
    .dgram_open = q_dgram_open,
    .dgram_bind = q_dgram_bind,
    .dgram_send = q_dgram_send,
    .dgram_recv = q_dgram_recv,
};

PIN(create_fits_exactly_the_queried_memory)
{
    struct vnat_config cfg;
    vnat_config_init(&cfg);
    cfg.seed = 1;
    size_t need = vnat_memory_size(&cfg);
    assert_true(need > 0);
    void *mem = aligned_alloc(16, need + 16);
    assert_non_null(mem);
    struct quiet_host host = {0};
    vnat *nat = NULL;
    assert_int_equal(vnat_create(&cfg, &quiet_ops, &host, mem, need - 1, &nat), VNAT_E_NOMEM);
    assert_null(nat);
    assert_int_equal(vnat_create(&cfg, &quiet_ops, &host, mem, need, &nat), VNAT_OK);
    assert_ptr_equal(vnat_memory_base(nat), mem);
    vnat_shutdown(nat, 1);
    free(mem);
}

PIN(forward_add_opens_a_host_listener)
{
    struct vnat_config cfg;
    vnat_config_init(&cfg);
    cfg.seed = 1;
    size_t need = vnat_memory_size(&cfg);
    void *mem = aligned_alloc(16, need + 16);
    assert_non_null(mem);
    struct quiet_host host = {0};
    vnat *nat = NULL;
    assert_int_equal(vnat_create(&cfg, &quiet_ops, &host, mem, need, &nat), VNAT_OK);

    struct vnat_forward fwd = {0};
    fwd.proto = VNAT_PROTO_TCP;
    fwd.host.ip = vnat_ip4(127, 0, 0, 1);
    fwd.host.port = 2222;
    fwd.guest_port = 22;
    assert_int_equal(vnat_forward_add(nat, 1, &fwd), VNAT_OK);
    assert_int_equal(host.listens, 1);
    assert_int_equal(host.listened.port, 2222);
    /* Never: a second add of the same forward opens a second listener. */
    assert_int_equal(vnat_forward_add(nat, 2, &fwd), VNAT_E_EXISTS);
    assert_int_equal(host.listens, 1);
    vnat_shutdown(nat, 3);
    free(mem);
}

PIN_MAIN(cmocka_unit_test(create_fits_exactly_the_queried_memory),
         cmocka_unit_test(forward_add_opens_a_host_listener))
