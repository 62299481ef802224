/*
 * snapshot_pins.c — snapshot and restore (issue 12, docs/snapshot.md):
 * the round trip (the same bytes again, and a transfer that continues
 * byte-exact and frame-for-frame like a run that never restored), every
 * rejection with its own code and no partial state, the golden image of
 * the current format version, and the sockets-lost mode.
 */
#include "fakehost.h"
#include "pin.h"
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t DST[4] = {93, 184, 216, 34};
static const uint8_t DST2[4] = {93, 184, 216, 35};

/* The image's frame (docs/snapshot.md): header, sections, checksum. */
#define HDR 24
#define SUM 8
enum {
    T_CONFIG = 1,
    T_STATS,
    T_CORE,
    T_KEYS,
    T_POLICY,
    T_TIMERS,
    T_DHCP,
    T_LISTENERS,
    T_SLOTS,
    T_FLOWS,
    T_FREE,
    T_LINKWAIT,
    T_DNS
};
/* Offsets inside a flow record (after its u16 length). */
#define REC_SLOT 2
#define REC_KEY 6
#define KEY_BYTES 39
#define REC_LIST_CLASS (REC_KEY + KEY_BYTES + 2 + 1)
#define REC_TCP (REC_LIST_CLASS + 1 + 8 + 1 + 8)
#define TCP_SND_UNA (REC_TCP + 8 + 4)
#define TCP_SND_NXT (TCP_SND_UNA + 4)

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Repair the checksum after a change, so it reaches the parser. */
static void resum(uint8_t *img, size_t len)
{
    static const uint64_t key[2] = {0x70616e7374616e76ull, 0x6d75736b63656863ull};
    put64(img + len - SUM, vnat_siphash24(key, img, len - SUM));
}

/* The offset of section tag's header (its body starts 8 bytes later). */
static size_t section_at(const uint8_t *img, size_t len, unsigned tag)
{
    size_t off = HDR;
    while (off + 8 <= len - SUM) {
        unsigned t = (unsigned)img[off] | (unsigned)img[off + 1] << 8;
        if (t == tag)
            return off;
        off += 8 + get32(img + off + 4);
    }
    fail_msg("section %u not found", tag);
    return 0;
}

/* The offset of the k-th flow record (0-based) of the FLOWS section. */
static size_t flow_rec(const uint8_t *img, size_t len, unsigned k)
{
    size_t off = section_at(img, len, T_FLOWS) + 8 + 4;
    for (unsigned i = 0; i < k; i++)
        off += 2 + ((size_t)img[off] | (size_t)img[off + 1] << 8);
    return off;
}

static uint8_t *take_snapshot(struct fh *h, size_t *len)
{
    size_t n = vnat_snapshot_size(h->nat);
    assert_true(n > HDR + SUM);
    uint8_t *img = malloc(n);
    assert_non_null(img);
    size_t w = 0;
    assert_int_equal(vnat_snapshot(h->nat, img, n - 1, &w), VNAT_E_NOMEM);
    assert_int_equal(w, n);
    assert_int_equal(vnat_snapshot(h->nat, img, n, &w), VNAT_OK);
    assert_int_equal(w, n);
    *len = n;
    return img;
}

/* Restore img into fresh memory in kept mode and make it h's instance; the
 * old memory is freed, so a restored core that still pointed into it
 * would be caught by ASan. */
static void restore_into_h(struct fh *h, const uint8_t *img, size_t len, int flags)
{
    size_t need = 0;
    assert_int_equal(vnat_restore_memory_size(img, len, &need), VNAT_OK);
    assert_int_equal(need, vnat_memory_size(&h->cfg));
    void *mem = aligned_alloc(16, (need + 15) & ~(size_t)15);
    assert_non_null(mem);
    uint64_t before[VNAT_OP__COUNT];
    memcpy(before, h->ops_count, sizeof before);
    vnat *nat = NULL;
    assert_int_equal(vnat_restore(mem, need, fh_ops_table(), h, img, len,
                                  VNAT_RESTORE_SOCKETS_KEPT | flags, h->now, &nat),
                     VNAT_OK);
    assert_memory_equal(before, h->ops_count, sizeof before); /* no host call */
    memset(h->mem, 0xA5, need);
    free(h->mem);
    h->mem = mem;
    h->nat = nat;
    fh_check(h);
}

/* Two TCP flows (established, data each way, one with data in flight and
 * its retransmission timer armed), a UDP flow and a DHCP lease. */
static void populate(struct fh *h, struct fh_conn *a, struct fh_conn *b)
{
    fh_connect(h, a, DST, 40000, 80, 1000, 65535, FH_OPT_MSS | FH_OPT_WS);
    fh_connect(h, b, DST2, 40001, 443, 5000, 65535, FH_OPT_MSS);
    fh_guest_data(h, a, "hello ", 6);
    fh_host_data(a->sock, "world, ", 7);
    fh_readable(h, a->tok);
    fh_drain(h);
    a->gack += 7;
    fh_guest_ack(h, a);
    fh_host_data(b->sock, "in flight", 9); /* never acknowledged before the snapshot */
    fh_readable(h, b->tok);
    uint8_t f[200];
    size_t n = tk_udp(&(struct tk_udp_spec){.guest = &h->cfg,
                                            .dst = DST,
                                            .ip_id = 7,
                                            .sport = 5000,
                                            .dport = 9999,
                                            .payload = (const uint8_t *)"ping",
                                            .len = 4},
                      f, sizeof f);
    fh_frame_in(h, f, n);
    fh_drain(h);
    h->now += 10 * VNAT_NS_PER_MS;
}

PIN(snapshot_round_trip_gives_the_same_bytes)
{
    struct fh h;
    fh_init(&h, NULL);
    struct fh_conn a, b;
    populate(&h, &a, &b);
    size_t len, len2;
    uint8_t *img = take_snapshot(&h, &len);
    restore_into_h(&h, img, len, VNAT_RESTORE_SAME_CLOCK);
    uint8_t *again = take_snapshot(&h, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(img, again, len);
    assert_int_equal(FH_STAT(&h, tcp_flows_by_state[VNAT_TCP_ESTABLISHED]), 2);
    assert_int_equal(FH_STAT(&h, udp_flows), 1);
    free(img);
    free(again);
    fh_free(&h);
}

/* The guest takes every in-order segment of c pending and acknowledges
 * what it took; returns the bytes appended to out. */
static size_t guest_take(struct fh *h, struct fh_conn *c, uint8_t *out, size_t have, size_t cap)
{
    size_t got = 0;
    while (fh_pending(h) > 0) {
        struct fh_seg s = fh_next(h);
        if (!s.ok || s.dport != c->sport || s.len == 0 || s.seq != c->gack)
            continue;
        assert_true(have + got + s.len <= cap);
        memcpy(out + have + got, s.payload, s.len);
        got += s.len;
        c->gack += (uint32_t)s.len;
    }
    if (got > 0)
        assert_int_equal(fh_guest_ack(h, c), VNAT_OK);
    return got;
}

#define XFER 200000
struct run {
    struct fh h;
    struct fh_conn a, b;
    uint8_t down[XFER]; /* what the guest received on a */
    size_t got;
};

/* Host -> guest on a until `upto` bytes arrived; guest -> host 1000-byte
 * chunks alongside. */
static void transfer(struct run *r, size_t upto, int chunks)
{
    for (int k = 0; r->got < upto || k < chunks; k++) {
        assert_true(k < 10000);
        if (k < chunks) {
            uint8_t up[1000];
            memset(up, 'a' + k % 26, sizeof up);
            fh_guest_data(&r->h, &r->a, up, sizeof up);
        }
        fh_readable(&r->h, r->a.tok);
        r->got += guest_take(&r->h, &r->a, r->down, r->got, XFER);
        r->h.now += VNAT_NS_PER_MS;
    }
}

static void start_run(struct run *r, const uint8_t *src)
{
    memset(r, 0, sizeof *r);
    fh_init(&r->h, NULL);
    populate(&r->h, &r->a, &r->b);
    fh_host_data(r->a.sock, src, XFER);
}

/* The rest of the run: the transfer completes, then b's unacknowledged
 * data is retransmitted by its timer, acknowledged, and a is closed. */
static void finish_run(struct run *r)
{
    transfer(r, XFER, 40);
    fh_drain(&r->h);
    fh_advance(&r->h, 2 * VNAT_NS_PER_S); /* b's RTO fires */
    struct fh_seg s = fh_next(&r->h);
    assert_true(s.ok);
    assert_int_equal(s.len, 9);
    assert_memory_equal(s.payload, "in flight", 9);
    r->b.gack += 9;
    fh_guest_ack(&r->h, &r->b);
    assert_int_equal(fh_send_seg(&r->h, r->a.dst, r->a.sport, r->a.dport, r->a.gseq, r->a.gack,
                                 VW_TCP_FIN | VW_TCP_ACK, r->a.win, 0, NULL, 0),
                     VNAT_OK);
}

static struct run plain, restored;

PIN(snapshot_kept_mode_transfer_continues_byte_exact_and_identically)
{
    static uint8_t src[XFER];
    for (size_t i = 0; i < XFER; i++)
        src[i] = (uint8_t)(i * 2654435761u >> 13);
    start_run(&plain, src);
    start_run(&restored, src);
    transfer(&plain, XFER / 2, 20);
    transfer(&restored, XFER / 2, 20);
    size_t len;
    uint8_t *img = take_snapshot(&restored.h, &len);
    restore_into_h(&restored.h, img, len, VNAT_RESTORE_SAME_CLOCK);
    free(img);
    finish_run(&plain);
    finish_run(&restored);
    /* Byte-exact both ways. */
    assert_int_equal(restored.got, XFER);
    assert_memory_equal(restored.down, src, XFER);
    assert_int_equal(restored.a.sock->tx_len, plain.a.sock->tx_len);
    assert_int_equal(restored.a.sock->tx_len, 6 + 60 * 1000);
    assert_memory_equal(restored.a.sock->tx, plain.a.sock->tx, plain.a.sock->tx_len);
    /* And frame for frame what the run that never restored did. */
    assert_int_equal(restored.h.out.n, plain.h.out.n);
    for (size_t i = 0; i < plain.h.out.n; i++) {
        const struct tk_frame *x = tk_capture_at(&plain.h.out, i);
        const struct tk_frame *y = tk_capture_at(&restored.h.out, i);
        assert_int_equal(x->len, y->len);
        assert_memory_equal(x->data, y->data, x->len);
    }
    assert_memory_equal(plain.h.ops_count, restored.h.ops_count, sizeof plain.h.ops_count);
    struct vnat_stats s1, s2;
    vnat_get_stats(plain.h.nat, &s1, sizeof s1);
    vnat_get_stats(restored.h.nat, &s2, sizeof s2);
    assert_memory_equal(&s1, &s2, sizeof s1);
    fh_free(&plain.h);
    fh_free(&restored.h);
}

/* ------------------------------------------------------------------ */
/* Rejections                                                          */
/* ------------------------------------------------------------------ */

/* Restore img (len bytes) and return the code; on an error, *out stays
 * NULL, no host operation was called and the memory is either untouched
 * (refused before it was used) or all zero again: no partial state. */
static vnat_err try_restore(struct fh *h, const uint8_t *img, size_t len)
{
    size_t need = vnat_memory_size(&h->cfg);
    uint8_t *mem = aligned_alloc(16, (need + 15) & ~(size_t)15);
    assert_non_null(mem);
    memset(mem, 0x5A, need);
    uint64_t before[VNAT_OP__COUNT];
    memcpy(before, h->ops_count, sizeof before);
    vnat *nat = (vnat *)(uintptr_t)1;
    vnat_err e = vnat_restore(mem, need, fh_ops_table(), h, img, len, VNAT_RESTORE_SOCKETS_KEPT,
                              h->now, &nat);
    assert_memory_equal(before, h->ops_count, sizeof before);
    if (e != VNAT_OK) {
        assert_null(nat);
        for (size_t i = 1; i < need; i++)
            if (mem[i] != mem[0])
                fail_msg("restore left partial state at byte %zu", i);
        assert_true(mem[0] == 0 || mem[0] == 0x5A);
    } else {
        assert_int_equal(vnat_check_invariants(nat, NULL, 0), 0);
    }
    free(mem);
    return e;
}

/* The base image of the rejection pins: populate()'s state. Records 0 and
 * 1 of FLOWS are the two TCP flows, record 2 the UDP flow. */
static uint8_t *base_image(struct fh *h, size_t *len)
{
    fh_init(h, NULL);
    struct fh_conn a, b;
    populate(h, &a, &b);
    uint8_t *img = take_snapshot(h, len);
    assert_int_equal(try_restore(h, img, *len), VNAT_OK);
    return img;
}

PIN(snapshot_restore_rejects_bad_frame_each_with_its_code)
{
    struct fh h;
    size_t len;
    uint8_t *img = base_image(&h, &len);
    uint8_t *big = calloc(1, len + 8);
    memcpy(big, img, len);
    assert_int_equal(try_restore(&h, img, 5), VNAT_E_SNAP_TRUNCATED);
    assert_int_equal(try_restore(&h, img, HDR - 1), VNAT_E_SNAP_TRUNCATED);
    assert_int_equal(try_restore(&h, img, len - 1), VNAT_E_SNAP_TRUNCATED);
    assert_int_equal(try_restore(&h, big, len + 1), VNAT_E_SNAP_LENGTH);
    big[0] ^= 0x20; /* "vNATSNAP" */
    assert_int_equal(try_restore(&h, big, len), VNAT_E_SNAP_MAGIC);
    memcpy(big, img, len);
    big[8] = VNAT_SNAPSHOT_MAJOR + 1;
    resum(big, len);
    assert_int_equal(try_restore(&h, big, len), VNAT_E_VERSION);
    memcpy(big, img, len);
    big[10] = VNAT_SNAPSHOT_MINOR + 3; /* a later minor of this major is read */
    resum(big, len);
    assert_int_equal(try_restore(&h, big, len), VNAT_OK);
    memcpy(big, img, len);
    big[len / 2] ^= 1;
    assert_int_equal(try_restore(&h, big, len), VNAT_E_SNAP_CHECKSUM);
    size_t need = 0;
    assert_int_equal(vnat_restore_memory_size(big, len, &need), VNAT_E_SNAP_CHECKSUM);
    assert_int_equal(need, 0);
    free(big);
    free(img);
    fh_free(&h);
}

/* Change the image with edit(img, len), repair the checksum, restore. */
static vnat_err edited(struct fh *h, const uint8_t *img, size_t len,
                       void (*edit)(uint8_t *img, size_t len))
{
    uint8_t *c = malloc(len);
    memcpy(c, img, len);
    edit(c, len);
    resum(c, len);
    vnat_err e = try_restore(h, c, len);
    free(c);
    return e;
}

static void grow_flows_section(uint8_t *img, size_t len)
{
    size_t at = section_at(img, len, T_FLOWS);
    put32(img + at + 4, get32(img + at + 4) + 100000);
}
static void hide_policy_section(uint8_t *img, size_t len)
{
    img[section_at(img, len, T_POLICY)] = 200; /* a tag this version skips */
}
static void swap_two_sections(uint8_t *img, size_t len)
{
    img[section_at(img, len, T_DHCP)] = T_TIMERS; /* TIMERS twice */
}
static void shorten_flow_record(uint8_t *img, size_t len)
{
    size_t r = flow_rec(img, len, 0);
    img[r] = 20; /* the record ends inside its key; the rest misparses */
}

PIN(snapshot_restore_rejects_bad_sections)
{
    struct fh h;
    size_t len;
    uint8_t *img = base_image(&h, &len);
    assert_int_equal(edited(&h, img, len, grow_flows_section), VNAT_E_SNAP_TRUNCATED);
    assert_int_equal(edited(&h, img, len, hide_policy_section), VNAT_E_SNAP_FORMAT);
    assert_int_equal(edited(&h, img, len, swap_two_sections), VNAT_E_SNAP_FORMAT);
    assert_int_equal(edited(&h, img, len, shorten_flow_record), VNAT_E_SNAP_TRUNCATED);
    free(img);
    fh_free(&h);
}

static void same_key_twice(uint8_t *img, size_t len)
{
    memcpy(img + flow_rec(img, len, 1) + REC_KEY, img + flow_rec(img, len, 0) + REC_KEY, KEY_BYTES);
}
static void same_slot_twice(uint8_t *img, size_t len)
{
    memcpy(img + flow_rec(img, len, 1) + REC_SLOT, img + flow_rec(img, len, 0) + REC_SLOT, 4);
}
static void tcp_state_out_of_range(uint8_t *img, size_t len)
{
    img[flow_rec(img, len, 0) + REC_TCP] = VNAT_TCP__STATE_COUNT;
}
static void snd_una_beyond_snd_nxt(uint8_t *img, size_t len)
{
    uint8_t *r = img + flow_rec(img, len, 0);
    put32(r + TCP_SND_UNA, get32(r + TCP_SND_NXT) + 1000);
}
/* A TCP or UDP key with port 0: the guest path drops such frames, so no
 * flow has one (fuzz_restore found a restored one reset toward the guest
 * from port 0). */
static void guest_port_zero(uint8_t *img, size_t len)
{
    memset(img + flow_rec(img, len, 0) + REC_KEY + 34, 0, 2);
}
static void dst_port_zero(uint8_t *img, size_t len)
{
    memset(img + flow_rec(img, len, 0) + REC_KEY + 36, 0, 2);
}
static void slot_out_of_range(uint8_t *img, size_t len)
{
    put32(img + flow_rec(img, len, 0) + REC_SLOT, 32);
}
static void more_flows_than_capacity(uint8_t *img, size_t len)
{
    put32(img + section_at(img, len, T_FLOWS) + 8, 33); /* max_flows is 32 */
}
static void generation_zero(uint8_t *img, size_t len)
{
    put32(img + section_at(img, len, T_SLOTS) + 8 + 4 + 4 * 5, 0);
}
static void tcp_flow_on_udp_list(uint8_t *img, size_t len)
{
    img[flow_rec(img, len, 0) + REC_LIST_CLASS] = 4; /* TCLASS_UDP */
}
static void free_slot_listed_twice(uint8_t *img, size_t len)
{
    size_t at = section_at(img, len, T_FREE) + 8 + 4;
    memcpy(img + at + 4, img + at, 4);
}

PIN(snapshot_restore_rejects_inconsistent_contents)
{
    struct fh h;
    size_t len;
    uint8_t *img = base_image(&h, &len);
    assert_int_equal(edited(&h, img, len, same_key_twice), VNAT_E_SNAP_DUPLICATE);
    assert_int_equal(edited(&h, img, len, same_slot_twice), VNAT_E_SNAP_DUPLICATE);
    assert_int_equal(edited(&h, img, len, free_slot_listed_twice), VNAT_E_SNAP_DUPLICATE);
    assert_int_equal(edited(&h, img, len, tcp_state_out_of_range), VNAT_E_SNAP_RANGE);
    assert_int_equal(edited(&h, img, len, snd_una_beyond_snd_nxt), VNAT_E_SNAP_RANGE);
    assert_int_equal(edited(&h, img, len, slot_out_of_range), VNAT_E_SNAP_RANGE);
    assert_int_equal(edited(&h, img, len, guest_port_zero), VNAT_E_SNAP_RANGE);
    assert_int_equal(edited(&h, img, len, dst_port_zero), VNAT_E_SNAP_RANGE);
    assert_int_equal(edited(&h, img, len, more_flows_than_capacity), VNAT_E_SNAP_CAPACITY);
    assert_int_equal(edited(&h, img, len, generation_zero), VNAT_E_SNAP_TOKEN);
    assert_int_equal(edited(&h, img, len, tcp_flow_on_udp_list), VNAT_E_SNAP_INVARIANT);
    free(img);
    fh_free(&h);
}

/* The guest's MAC state (format 1.2: CORE's held u8 and MAC after now,
 * ip_id and link_full). The base image holds the configured MAC. */
#define CORE_HELD (8 + 8 + 2 + 1)
static void mac_held_2(uint8_t *img, size_t len)
{
    img[section_at(img, len, T_CORE) + CORE_HELD] = 2;
}
static void mac_learning(uint8_t *img, size_t len)
{
    img[section_at(img, len, T_CORE) + CORE_HELD] = 0;
}
static void mac_other(uint8_t *img, size_t len)
{
    img[section_at(img, len, T_CORE) + CORE_HELD + 1 + 5] ^= 0x40;
}
static void mac_learning_other(uint8_t *img, size_t len)
{
    mac_learning(img, len);
    mac_other(img, len);
}
static void mac_multicast(uint8_t *img, size_t len)
{
    img[section_at(img, len, T_CORE) + CORE_HELD + 1] |= 1;
}
static void mac_zero(uint8_t *img, size_t len)
{
    memset(img + section_at(img, len, T_CORE) + CORE_HELD + 1, 0, 6);
}

/* Restore takes a learned MAC or a learning state, and refuses a state no
 * core can be in: held above 1, learning at a MAC not the configured one,
 * a learned MAC that is multicast or all zero. */
PIN(snapshot_restore_checks_the_guest_mac_state)
{
    struct fh h;
    size_t len;
    uint8_t *img = base_image(&h, &len);
    assert_int_equal(img[section_at(img, len, T_CORE) + CORE_HELD], 1);
    assert_int_equal(edited(&h, img, len, mac_learning), VNAT_OK);
    assert_int_equal(edited(&h, img, len, mac_other), VNAT_OK); /* a learned one */
    assert_int_equal(edited(&h, img, len, mac_held_2), VNAT_E_SNAP_RANGE);
    assert_int_equal(edited(&h, img, len, mac_learning_other), VNAT_E_SNAP_RANGE);
    assert_int_equal(edited(&h, img, len, mac_multicast), VNAT_E_SNAP_RANGE);
    assert_int_equal(edited(&h, img, len, mac_zero), VNAT_E_SNAP_RANGE);
    free(img);
    fh_free(&h);
}

/* A host that takes everything and names nothing: for events after a
 * restore of a mutated image, whose tokens the fake host would not know. */
static int n_send(void *c, const uint8_t *f, size_t n)
{
    (void)c, (void)f, (void)n;
    return 0;
}
static int n_sock(void *c, vnat_token t, const struct vnat_sockaddr *a)
{
    (void)c, (void)t, (void)a;
    return 0;
}
static int n_accept(void *c, vnat_token l, vnat_token t, struct vnat_sockaddr *p)
{
    (void)c, (void)l, (void)t, (void)p;
    return -11;
}
static long n_write(void *c, vnat_token t, const uint8_t *b, size_t n)
{
    (void)c, (void)t, (void)b;
    return (long)n;
}
static long n_space(void *c, vnat_token t)
{
    (void)c, (void)t;
    return 65536;
}
static long n_peek(void *c, vnat_token t, size_t o, uint8_t *b, size_t n)
{
    (void)c, (void)t, (void)o, (void)b, (void)n;
    return -11;
}
static int n_discard(void *c, vnat_token t, size_t n)
{
    (void)c, (void)t, (void)n;
    return 0;
}
static int n_shut(void *c, vnat_token t)
{
    (void)c, (void)t;
    return 0;
}
static void n_close(void *c, vnat_token t, int r)
{
    (void)c, (void)t, (void)r;
}
static void n_interest(void *c, vnat_token t, unsigned m)
{
    (void)c, (void)t, (void)m;
}
static int n_dgram(void *c, vnat_token t, enum vnat_dgram_kind k, const struct vnat_sockaddr *a)
{
    (void)c, (void)t, (void)k, (void)a;
    return 0;
}
static long n_dsend(void *c, vnat_token t, const uint8_t *b, size_t n,
                    const struct vnat_sockaddr *to)
{
    (void)c, (void)t, (void)b, (void)to;
    return (long)n;
}
static long n_drecv(void *c, vnat_token t, uint8_t *b, size_t cap, struct vnat_sockaddr *from)
{
    (void)c, (void)t, (void)b, (void)cap, (void)from;
    return -11;
}
static void n_panic(void *c, const char *msg)
{
    (void)c;
    fail_msg("vnat panic after a restore: %s", msg);
}
static const struct vnat_host_ops null_ops = {
    .struct_size = sizeof(struct vnat_host_ops),
    .guest_send = n_send,
    .tcp_connect = n_sock,
    .tcp_listen = n_sock,
    .tcp_accept = n_accept,
    .send = n_write,
    .send_space = n_space,
    .peek = n_peek,
    .discard = n_discard,
    .shutdown_write = n_shut,
    .close = n_close,
    .set_interest = n_interest,
    .dgram_open = n_dgram,
    .dgram_bind = n_dgram,
    .dgram_send = n_dsend,
    .dgram_recv = n_drecv,
    .panic = n_panic,
};

/* Restore c in either mode on the null host; if accepted, run a short event
 * sequence with the invariants checked after each. */
static vnat_err restore_and_run(struct fh *h, const uint8_t *c, size_t len, int mode, void *mem,
                                size_t need, const uint8_t *syn, size_t syn_len)
{
    vnat *nat = NULL;
    vnat_err e = vnat_restore(mem, need, &null_ops, NULL, c, len, mode, h->now, &nat);
    if (e != VNAT_OK)
        return e;
    char why[200];
    if (vnat_check_invariants(nat, why, sizeof why) != 0)
        fail_msg("restored core breaks an invariant: %s", why);
    uint64_t t = h->now;
    vnat_on_guest_frame(nat, t + 1, syn, syn_len);
    vnat_on_tick(nat, t + 2 * VNAT_NS_PER_S);
    vnat_on_link_writable(nat, t + 3 * VNAT_NS_PER_S);
    vnat_on_tick(nat, t + 7200 * VNAT_NS_PER_S);
    if (vnat_check_invariants(nat, why, sizeof why) != 0)
        fail_msg("invariant broken after events: %s", why);
    vnat_shutdown(nat, t + 7201 * VNAT_NS_PER_S);
    return VNAT_OK;
}

/* Every byte of a valid image changed (three ways), the checksum repaired
 * so the change reaches the parser: each restore is refused with a snapshot
 * error and no partial state, or accepted with the invariants holding and
 * a short event sequence running clean. Never a crash, a panic or a read
 * outside the image (ASan). */
PIN(snapshot_restore_survives_every_single_byte_change)
{
    static struct fh h;
    size_t len;
    uint8_t *img = base_image(&h, &len);
    uint8_t *c = malloc(len);
    size_t need = vnat_memory_size(&h.cfg);
    void *mem = aligned_alloc(16, (need + 15) & ~(size_t)15);
    uint8_t syn[128];
    size_t syn_len =
        fh_build(&h, syn, sizeof syn, DST, 45000, 80, 1, 0, VW_TCP_SYN, 65535, FH_OPT_MSS, NULL, 0);
    static const uint8_t flips[3] = {0x01, 0x80, 0xff};
    unsigned accepted = 0, refused = 0;
    for (size_t i = 0; i + SUM < len; i++)
        for (int k = 0; k < 3; k++) {
            memcpy(c, img, len);
            c[i] ^= flips[k];
            resum(c, len);
            int mode = (i + (size_t)k) % 2 ? VNAT_RESTORE_SOCKETS_LOST : VNAT_RESTORE_SOCKETS_KEPT;
            vnat_err e = restore_and_run(&h, c, len, mode, mem, need, syn, syn_len);
            if (e == VNAT_OK) {
                accepted++;
                continue;
            }
            refused++;
            if (!(e == VNAT_E_VERSION || e == VNAT_E_NOMEM || e == VNAT_E_HOST ||
                  (e <= VNAT_E_SNAP_MAGIC && e >= VNAT_E_SNAP_INVARIANT)))
                fail_msg("byte %zu ^ %#x: unexpected %s", i, flips[k], vnat_strerror(e));
        }
    printf("single-byte changes: %u accepted, %u refused\n", accepted, refused);
    assert_true(refused > 0 && accepted > 0);
    free(mem);
    free(c);
    free(img);
    fh_free(&h);
}

/* The same with 1 to 4 random bytes set to random values (a fixed
 * xorshift seed, so the run is the same every time), 20000 images. */
PIN(snapshot_restore_survives_random_byte_changes)
{
    static struct fh h;
    size_t len;
    uint8_t *img = base_image(&h, &len);
    uint8_t *c = malloc(len);
    size_t need = vnat_memory_size(&h.cfg);
    void *mem = aligned_alloc(16, (need + 15) & ~(size_t)15);
    uint8_t syn[128];
    size_t syn_len =
        fh_build(&h, syn, sizeof syn, DST, 45000, 80, 1, 0, VW_TCP_SYN, 65535, FH_OPT_MSS, NULL, 0);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    unsigned accepted = 0;
    for (int n = 0; n < 20000; n++) {
        memcpy(c, img, len);
        for (int k = 0; k <= n % 4; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            c[HDR + x % (len - HDR - SUM)] = (uint8_t)(x >> 40);
        }
        resum(c, len);
        int mode = n % 2 ? VNAT_RESTORE_SOCKETS_LOST : VNAT_RESTORE_SOCKETS_KEPT;
        vnat_err e = restore_and_run(&h, c, len, mode, mem, need, syn, syn_len);
        accepted += e == VNAT_OK;
        if (e != VNAT_OK && !(e == VNAT_E_NOMEM || e == VNAT_E_HOST ||
                              (e <= VNAT_E_SNAP_MAGIC && e >= VNAT_E_SNAP_INVARIANT)))
            fail_msg("image %d: unexpected %s", n, vnat_strerror(e));
    }
    printf("random changes: %u of 20000 accepted\n", accepted);
    free(mem);
    free(c);
    free(img);
    fh_free(&h);
}

PIN(snapshot_api_refuses_bad_arguments)
{
    struct fh h;
    size_t len;
    uint8_t *img = base_image(&h, &len);
    size_t need = vnat_memory_size(&h.cfg);
    uint8_t *mem = aligned_alloc(16, need + 16);
    vnat *nat = NULL;
    const int kept = VNAT_RESTORE_SOCKETS_KEPT;
    assert_int_equal(vnat_restore(mem, need - 1, fh_ops_table(), &h, img, len, kept, h.now, &nat),
                     VNAT_E_NOMEM);
    assert_int_equal(vnat_restore(mem + 8, need, fh_ops_table(), &h, img, len, kept, h.now, &nat),
                     VNAT_E_INVAL);
    assert_int_equal(vnat_restore(mem, need, fh_ops_table(), &h, img, len, 7, h.now, &nat),
                     VNAT_E_INVAL);
    assert_int_equal(vnat_restore(mem, need, NULL, &h, img, len, kept, h.now, &nat), VNAT_E_INVAL);
    assert_int_equal(vnat_restore(mem, need, fh_ops_table(), &h, NULL, len, kept, h.now, &nat),
                     VNAT_E_INVAL);
    assert_int_equal(vnat_snapshot(NULL, img, len, NULL), VNAT_E_INVAL);
    assert_int_equal(vnat_snapshot_size(NULL), 0);
    vnat_shutdown(h.nat, h.now);
    assert_int_equal(vnat_snapshot_size(h.nat), 0);
    assert_int_equal(vnat_snapshot(h.nat, img, len, NULL), VNAT_E_STATE);
    free(mem);
    free(img);
    fh_free(&h);
}

/* ------------------------------------------------------------------ */
/* The golden image of the current format version                      */
/* ------------------------------------------------------------------ */

/* pins/data/snapshot-v1.3.bin is populate()'s image (fh_init's config: seed
 * 42, max_flows 32, now 1000 s) in the current format, 1.2. Regenerate it,
 * only together with a format version bump (docs/snapshot.md), with
 *   VNAT_WRITE_GOLDEN=pins/data/snapshot-v1.3.bin build/dev/pins/pin_snapshot \
 *       snapshot_golden_v1_restores
 * pins/data/snapshot-v1.0.bin is the same image written by format 1.0 (no
 * ICMP budget, no datagram rate bucket, no DNS queries, 3 counters fewer),
 * pins/data/snapshot-v1.1.bin by format 1.1 (no guest MAC state, 3 counters
 * fewer): the current release must keep reading both (the versioning rule). */
#define GOLDEN VNAT_PIN_DATA "/snapshot-v1.3.bin"
#define GOLDEN_1_2 VNAT_PIN_DATA "/snapshot-v1.2.bin"
#define GOLDEN_1_1 VNAT_PIN_DATA "/snapshot-v1.1.bin"
#define GOLDEN_1_0 VNAT_PIN_DATA "/snapshot-v1.0.bin"

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    static uint8_t buf[1 << 16];
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    uint8_t *out = malloc(*len);
    memcpy(out, buf, *len);
    return out;
}

PIN(snapshot_golden_v1_restores)
{
    struct fh h;
    const char *out = getenv("VNAT_WRITE_GOLDEN");
    if (out != NULL) {
        fh_init(&h, NULL);
        struct fh_conn a, b;
        populate(&h, &a, &b);
        size_t n;
        uint8_t *img = take_snapshot(&h, &n);
        FILE *f = fopen(out, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(img, 1, n, f), n);
        fclose(f);
        free(img);
        fh_free(&h);
    }
    size_t len;
    uint8_t *gold = read_file(GOLDEN, &len);
    assert_int_equal(gold[8], 1); /* major 1 */
    fh_init(&h, NULL);
    h.now = 1000 * VNAT_NS_PER_S + 10 * VNAT_NS_PER_MS; /* the image's own clock */
    restore_into_h(&h, gold, len, VNAT_RESTORE_SAME_CLOCK);
    assert_int_equal(FH_STAT(&h, tcp_flows_by_state[VNAT_TCP_ESTABLISHED]), 2);
    assert_int_equal(FH_STAT(&h, udp_flows), 1);
    assert_int_equal(vnat_seed(h.nat), 42);
    size_t n;
    uint8_t *again = take_snapshot(&h, &n);
    assert_int_equal(n, len);
    assert_memory_equal(again, gold, len); /* read and written back unchanged */
    free(again);
    free(gold);
    fh_free(&h);
}

/* An image of format 1.0 restores into this release (additive changes keep
 * reading older minors): the same flows and seed, the 1.1 additions at their
 * defaults, and what it writes back restores again. */
PIN(snapshot_golden_v1_0_still_restores)
{
    struct fh h;
    size_t len;
    uint8_t *gold = read_file(GOLDEN_1_0, &len);
    assert_int_equal(gold[8], 1);  /* major 1 */
    assert_int_equal(gold[10], 0); /* minor 0 */
    fh_init(&h, NULL);
    h.now = 1000 * VNAT_NS_PER_S + 10 * VNAT_NS_PER_MS;
    restore_into_h(&h, gold, len, VNAT_RESTORE_SAME_CLOCK);
    assert_int_equal(FH_STAT(&h, tcp_flows_by_state[VNAT_TCP_ESTABLISHED]), 2);
    assert_int_equal(FH_STAT(&h, udp_flows), 1);
    assert_int_equal(FH_STAT(&h, flows_reclaimed), 0);
    assert_int_equal(vnat_seed(h.nat), 42);
    size_t n;
    uint8_t *again = take_snapshot(&h, &n);
    assert_true(n > len);
    assert_int_equal(again[10], VNAT_SNAPSHOT_MINOR);
    restore_into_h(&h, again, n, VNAT_RESTORE_SAME_CLOCK);
    assert_int_equal(FH_STAT(&h, tcp_flows_by_state[VNAT_TCP_ESTABLISHED]), 2);
    free(again);
    free(gold);
    fh_free(&h);
}

/* An image of format 1.1 (no guest MAC state) restores into this release:
 * those releases held the configured MAC from the start, and so does the
 * restored core, and so does its own image (1.2) restored again. */
PIN(snapshot_golden_v1_1_still_restores)
{
    struct fh h;
    size_t len;
    uint8_t *gold = read_file(GOLDEN_1_1, &len);
    assert_int_equal(gold[8], 1);  /* major 1 */
    assert_int_equal(gold[10], 1); /* minor 1 */
    fh_init(&h, NULL);
    h.now = 1000 * VNAT_NS_PER_S + 10 * VNAT_NS_PER_MS;
    restore_into_h(&h, gold, len, VNAT_RESTORE_SAME_CLOCK);
    assert_int_equal(FH_STAT(&h, tcp_flows_by_state[VNAT_TCP_ESTABLISHED]), 2);
    assert_int_equal(FH_STAT(&h, udp_flows), 1);
    assert_int_equal(FH_STAT(&h, flows_reclaimed), 0);
    assert_int_equal(FH_STAT(&h, tcp_connects_timed_out), 0); /* absent in 1.1: zero */
    assert_int_equal(vnat_seed(h.nat), 42);
    assert_int_equal(FH_STAT(&h, guest_macs_learned), 0);
    uint8_t mac[6];
    static const uint8_t dflt[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    assert_int_equal(vnat_guest_mac(h.nat, mac), 1);
    assert_memory_equal(mac, dflt, 6);
    size_t n;
    uint8_t *again = take_snapshot(&h, &n);
    assert_true(n > len);
    assert_int_equal(again[10], VNAT_SNAPSHOT_MINOR);
    restore_into_h(&h, again, n, VNAT_RESTORE_SAME_CLOCK);
    assert_int_equal(FH_STAT(&h, tcp_flows_by_state[VNAT_TCP_ESTABLISHED]), 2);
    assert_int_equal(vnat_guest_mac(h.nat, mac), 1);
    free(again);
    free(gold);
    fh_free(&h);
}

/* An image of format 1.2 restores into this release: the 1.3 additions
 * (the counters udp_fragmented and dns_truncated) are zero, and its own
 * image (1.3) restores again. */
PIN(snapshot_golden_v1_2_still_restores)
{
    struct fh h;
    size_t len;
    uint8_t *gold = read_file(GOLDEN_1_2, &len);
    assert_int_equal(gold[8], 1);  /* major 1 */
    assert_int_equal(gold[10], 2); /* minor 2 */
    fh_init(&h, NULL);
    h.now = 1000 * VNAT_NS_PER_S + 10 * VNAT_NS_PER_MS;
    restore_into_h(&h, gold, len, VNAT_RESTORE_SAME_CLOCK);
    assert_int_equal(FH_STAT(&h, tcp_flows_by_state[VNAT_TCP_ESTABLISHED]), 2);
    assert_int_equal(FH_STAT(&h, udp_flows), 1);
    assert_int_equal(vnat_seed(h.nat), 42);
    assert_int_equal(FH_STAT(&h, udp_fragmented), 0); /* absent in 1.2: zero */
    assert_int_equal(FH_STAT(&h, dns_truncated), 0);
    size_t n;
    uint8_t *again = take_snapshot(&h, &n);
    assert_int_equal(n, len + 16); /* two more counters */
    assert_int_equal(again[10], VNAT_SNAPSHOT_MINOR);
    restore_into_h(&h, again, n, VNAT_RESTORE_SAME_CLOCK);
    assert_int_equal(FH_STAT(&h, tcp_flows_by_state[VNAT_TCP_ESTABLISHED]), 2);
    free(again);
    free(gold);
    fh_free(&h);
}

/* ------------------------------------------------------------------ */
/* Clock                                                               */
/* ------------------------------------------------------------------ */

/* A restore at a later now keeps each timer's remaining time: b's
 * retransmission is due as long after the restore as it was after the
 * snapshot. */
PIN(snapshot_restore_at_later_now_keeps_remaining_timer_time)
{
    struct fh h;
    fh_init(&h, NULL);
    struct fh_conn a, b;
    populate(&h, &a, &b);
    fh_tick(&h); /* the core's now is h.now */
    uint64_t left = vnat_next_deadline(h.nat) - h.now;
    assert_true(left > 0 && left < 2 * VNAT_NS_PER_S); /* b's retransmission */
    size_t len;
    uint8_t *img = take_snapshot(&h, &len);
    h.now += 3600 * VNAT_NS_PER_S;
    restore_into_h(&h, img, len, 0);
    assert_int_equal(vnat_next_deadline(h.nat) - h.now, left);
    h.now -= 3000 * VNAT_NS_PER_S; /* and earlier than the snapshot */
    free(img);
    img = take_snapshot(&h, &len);
    restore_into_h(&h, img, len, 0);
    assert_int_equal(vnat_next_deadline(h.nat) - h.now, left);
    free(img);
    fh_free(&h);
}

/* ------------------------------------------------------------------ */
/* Sockets lost                                                        */
/* ------------------------------------------------------------------ */

static void with_forward(struct vnat_config *c)
{
    static struct vnat_forward fwd;
    fwd = (struct vnat_forward){.proto = VNAT_PROTO_TCP, .guest_port = 22};
    fwd.host.ip = vnat_ip4(127, 0, 0, 1);
    fwd.host.port = 2222;
    c->forwards = &fwd;
    c->n_forwards = 1;
}

/* The guest's side of an RST: what it accepts (RFC 5961 3.2: exactly its
 * rcv_nxt) and what only makes it send a challenge ACK (inside its
 * window). */
static struct fh_seg next_rst(struct fh *h, uint16_t guest_port)
{
    while (fh_pending(h) > 0) {
        struct fh_seg s = fh_next(h);
        if (s.ok && s.dport == guest_port && (s.flags & VW_TCP_RST))
            return s;
    }
    fail_msg("no RST for guest port %u", guest_port);
    return (struct fh_seg){0};
}

PIN(snapshot_sockets_lost_resets_tcp_toward_the_guest)
{
    struct fh h;
    fh_init(&h, with_forward);
    vnat_token listener = h.last_tok;
    struct fh_conn a, b;
    populate(&h, &a, &b); /* a: all acknowledged; b: 9 bytes unacknowledged */
    size_t len;
    uint8_t *img = take_snapshot(&h, &len);
    size_t need = vnat_memory_size(&h.cfg);
    void *mem = aligned_alloc(16, (need + 15) & ~(size_t)15);
    uint64_t before[VNAT_OP__COUNT];
    memcpy(before, h.ops_count, sizeof before);
    h.now += 5 * VNAT_NS_PER_S; /* a new process, a new clock */
    for (int i = 0; i < FH_MAX_SOCKS; i++)
        h.socks[i].closed = h.socks[i].used; /* every socket went with the old process */
    vnat *nat = NULL;
    assert_int_equal(vnat_restore(mem, need, fh_ops_table(), &h, img, len,
                                  VNAT_RESTORE_SOCKETS_LOST, h.now, &nat),
                     VNAT_OK);
    free(img);
    free(h.mem);
    h.mem = mem;
    h.nat = nat;
    fh_check(&h);
    /* The listener was asked for again under its old token; nothing of the
     * old sockets was touched. */
    assert_int_equal(h.ops_count[VNAT_OP_TCP_LISTEN], before[VNAT_OP_TCP_LISTEN] + 1);
    assert_int_equal(h.last_tok, listener);
    assert_int_equal(h.ops_count[VNAT_OP_CLOSE], before[VNAT_OP_CLOSE]);
    assert_int_equal(h.ops_count[VNAT_OP_TCP_CONNECT], before[VNAT_OP_TCP_CONNECT]);
    assert_int_equal(FH_STAT(&h, flows_live), 0);
    /* a: one RST at exactly the guest's rcv_nxt. */
    struct fh_seg r = next_rst(&h, a.sport);
    assert_int_equal(r.seq, a.gack);
    /* b: the guest never received the 9 bytes, so its rcv_nxt is b.gack:
     * the first RST (b.gack + 8) is inside its window, not exact; the guest
     * answers with a challenge ACK, and that ACK gets the RST it accepts. */
    r = next_rst(&h, b.sport);
    assert_int_equal(r.seq, b.gack + 8);
    r = next_rst(&h, b.sport);
    assert_int_equal(r.seq, b.gack + 9);
    assert_int_equal(fh_guest_ack(&h, &b), VNAT_OK);
    r = next_rst(&h, b.sport);
    assert_int_equal(r.seq, b.gack);
    assert_int_equal(FH_STAT(&h, tcp_flows_by_state[VNAT_TCP_ESTABLISHED]), 0);
    /* UDP: re-created on its next datagram, under a new socket. */
    uint8_t f[200];
    size_t n = tk_udp(&(struct tk_udp_spec){.guest = &h.cfg,
                                            .dst = DST,
                                            .ip_id = 8,
                                            .sport = 5000,
                                            .dport = 9999,
                                            .payload = (const uint8_t *)"again",
                                            .len = 5},
                      f, sizeof f);
    fh_frame_in(&h, f, n);
    assert_int_equal(FH_STAT(&h, udp_flows), 1);
    assert_int_equal(h.ops_count[VNAT_OP_DGRAM_OPEN], before[VNAT_OP_DGRAM_OPEN] + 1);
    fh_free(&h);
}

/* The host refuses the listener: the restore fails as a whole. */
static int refuse_listen(void *ctx, vnat_token tok, const struct vnat_sockaddr *a)
{
    (void)ctx, (void)tok, (void)a;
    return -98; /* EADDRINUSE */
}

PIN(snapshot_sockets_lost_refused_listener_fails_whole)
{
    struct fh h;
    fh_init(&h, with_forward);
    struct fh_conn a, b;
    populate(&h, &a, &b);
    size_t len;
    uint8_t *img = take_snapshot(&h, &len);
    struct vnat_host_ops ops = *fh_ops_table();
    ops.tcp_listen = refuse_listen;
    size_t need = vnat_memory_size(&h.cfg);
    uint8_t *mem = aligned_alloc(16, (need + 15) & ~(size_t)15);
    size_t frames = h.out.n;
    vnat *nat = NULL;
    assert_int_equal(
        vnat_restore(mem, need, &ops, &h, img, len, VNAT_RESTORE_SOCKETS_LOST, h.now, &nat),
        VNAT_E_HOST);
    assert_null(nat);
    assert_int_equal(h.out.n, frames); /* nothing sent to the guest */
    for (size_t i = 0; i < need; i++)
        if (mem[i] != 0)
            fail_msg("partial state at byte %zu", i);
    free(mem);
    free(img);
    fh_free(&h);
}

/* ------------------------------------------------------------------ */
/* Replay across a restore                                             */
/* ------------------------------------------------------------------ */

struct recording {
    FILE *f;
    uint64_t n, restores;
    struct vnat_log_record last;
    bool tamper_snapshot; /* write snapshot records with their checksum changed */
    uint64_t tampered_at; /* the index of the record written changed */
};

static void record(void *ctx, const struct vnat_log_record *rec)
{
    struct recording *r = ctx;
    struct vnat_log_record w = *rec;
    if (r->tamper_snapshot && rec->kind == VNAT_LOG_SNAPSHOT) {
        w.b ^= 1;
        r->tampered_at = r->n;
    }
    assert_int_equal(vnat_trace_write(r->f, &w), 0);
    r->n++;
    r->restores += rec->kind == VNAT_LOG_RESTORE;
    r->last = *rec;
}

/* One log across the old core and the restored one (the embedder's one
 * recording): CREATE ... RESTORE ... replays bit-exact. mode: the restore's
 * mode. */
static void replay_across(int mode)
{
    static struct fh h;
    char *buf = NULL;
    size_t buflen = 0;
    struct recording rec = {open_memstream(&buf, &buflen), 0, 0};
    assert_non_null(rec.f);
    assert_int_equal(vnat_trace_write_header(rec.f), 0);
    fh_init_log(&h, with_forward, record, &rec);
    struct fh_conn a, b;
    populate(&h, &a, &b);
    size_t len;
    uint8_t *img = take_snapshot(&h, &len);
    if (mode & VNAT_RESTORE_SOCKETS_LOST)
        for (int i = 0; i < FH_MAX_SOCKS; i++)
            h.socks[i].closed = h.socks[i].used;
    size_t need = vnat_memory_size(&h.cfg);
    void *mem = aligned_alloc(16, (need + 15) & ~(size_t)15);
    vnat *nat = NULL;
    h.now += VNAT_NS_PER_S;
    assert_int_equal(vnat_restore(mem, need, fh_ops_table(), &h, img, len, mode, h.now, &nat),
                     VNAT_OK);
    free(img);
    free(h.mem);
    h.mem = mem;
    h.nat = nat;
    assert_int_equal(rec.restores, 1);
    /* Life goes on: guest data, host data, the guest's ACKs, time. */
    fh_guest_data(&h, &a, "after", 5);
    fh_guest_ack(&h, &b);
    fh_advance(&h, 3 * VNAT_NS_PER_S);
    fflush(rec.f);
    uint64_t written = rec.n;
    fh_free(&h);
    fclose(rec.f);
    FILE *f = fmemopen(buf, buflen, "rb");
    struct vnat_replay_result rr;
    int rc = vnat_replay_file(f, &rr);
    fclose(f);
    if (rc != 0)
        fail_msg("replay: rc %d at record %lld: %s", rc, (long long)rr.index, rr.why);
    assert_int_equal(rr.records, written);
    assert_int_equal(rr.index, -1);
    free(buf);
}

PIN(snapshot_replay_file_replays_across_a_kept_restore)
{
    replay_across(VNAT_RESTORE_SOCKETS_KEPT | VNAT_RESTORE_SAME_CLOCK);
}

PIN(snapshot_replay_file_replays_across_a_lost_restore)
{
    replay_across(VNAT_RESTORE_SOCKETS_LOST);
}

/* A snapshot taken is a record of the boundary log (issue 12 item 4): its
 * length and its checksum (the image's last 8 bytes), logged once per
 * image written (a too-small buffer logs nothing); a replay takes a
 * snapshot of its own core at that record and reports the first one that
 * differs. */
static int replay_buf(char *buf, size_t len, struct vnat_replay_result *rr)
{
    FILE *f = fmemopen(buf, len, "rb");
    int rc = vnat_replay_file(f, rr);
    fclose(f);
    return rc;
}

PIN(snapshot_taken_is_a_log_record_a_replay_checks)
{
    for (int tamper = 0; tamper < 2; tamper++) {
        static struct fh h;
        char *buf = NULL;
        size_t buflen = 0;
        struct recording rec = {open_memstream(&buf, &buflen), 0, 0, {0}, tamper == 1, 0};
        assert_non_null(rec.f);
        assert_int_equal(vnat_trace_write_header(rec.f), 0);
        fh_init_log(&h, with_forward, record, &rec);
        struct fh_conn a, b;
        populate(&h, &a, &b);
        uint64_t before = rec.n;
        size_t len;
        uint8_t *img = take_snapshot(&h, &len);
        assert_int_equal(rec.n, before + 1); /* one record: the image written */
        assert_int_equal(rec.last.kind, VNAT_LOG_SNAPSHOT);
        assert_int_equal((uint64_t)rec.last.a, len);
        uint64_t sum = 0;
        for (int i = 7; i >= 0; i--)
            sum = sum << 8 | img[len - 8 + (size_t)i];
        assert_int_equal((uint64_t)rec.last.b, sum);
        assert_int_equal(rec.last.len, 0);
        free(img);
        fh_guest_data(&h, &a, "after", 5);
        fh_advance(&h, 2 * VNAT_NS_PER_S);
        fflush(rec.f);
        uint64_t written = rec.n;
        fh_free(&h);
        fclose(rec.f);
        struct vnat_replay_result rr;
        int rc = replay_buf(buf, buflen, &rr);
        if (tamper == 0) {
            if (rc != 0)
                fail_msg("replay: rc %d at record %lld: %s", rc, (long long)rr.index, rr.why);
            assert_int_equal(rr.records, written);
        } else {
            assert_int_not_equal(rc, 0);
            assert_int_equal(rr.index, (long long)rec.tampered_at);
        }
        free(buf);
    }
}

PIN_MAIN(cmocka_unit_test(snapshot_round_trip_gives_the_same_bytes),
         cmocka_unit_test(snapshot_taken_is_a_log_record_a_replay_checks),
         cmocka_unit_test(snapshot_kept_mode_transfer_continues_byte_exact_and_identically),
         cmocka_unit_test(snapshot_restore_rejects_bad_frame_each_with_its_code),
         cmocka_unit_test(snapshot_restore_rejects_bad_sections),
         cmocka_unit_test(snapshot_restore_rejects_inconsistent_contents),
         cmocka_unit_test(snapshot_restore_survives_every_single_byte_change),
         cmocka_unit_test(snapshot_restore_survives_random_byte_changes),
         cmocka_unit_test(snapshot_api_refuses_bad_arguments),
         cmocka_unit_test(snapshot_golden_v1_restores),
         cmocka_unit_test(snapshot_golden_v1_0_still_restores),
         cmocka_unit_test(snapshot_golden_v1_1_still_restores),
         cmocka_unit_test(snapshot_golden_v1_2_still_restores),
         cmocka_unit_test(snapshot_restore_checks_the_guest_mac_state),
         cmocka_unit_test(snapshot_restore_at_later_now_keeps_remaining_timer_time),
         cmocka_unit_test(snapshot_sockets_lost_resets_tcp_toward_the_guest),
         cmocka_unit_test(snapshot_sockets_lost_refused_listener_fails_whole),
         cmocka_unit_test(snapshot_replay_file_replays_across_a_kept_restore),
         cmocka_unit_test(snapshot_replay_file_replays_across_a_lost_restore))
