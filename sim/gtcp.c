/*
 * gtcp.c — the simulated guest's TCP/IP endpoint (see gtcp.h for what it
 * does and does not do). Sequence arithmetic is modulo 2^32 throughout;
 * stream offsets are 64-bit so a connection may carry more than 4 GiB.
 */
#include "gtcp.h"

#include "rng.h"
#include "tk_frame.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) SEQ_LT(b, a)
#define SEQ_GEQ(a, b) SEQ_LEQ(b, a)

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

const char *gtcp_outcome_name(int outcome)
{
    static const char *const names[GO__COUNT] = {"pending", "complete", "reset",      "refused",
                                                 "timeout", "aborted",  "unreachable"};
    return outcome >= 0 && outcome < GO__COUNT ? names[outcome] : "unknown";
}

const char *gtcp_state_name(int state)
{
    static const char *const names[] = {"free",       "syn_sent",   "syn_rcvd", "established",
                                        "fin_wait_1", "fin_wait_2", "closing",  "time_wait",
                                        "close_wait", "last_ack",   "done"};
    return state >= 0 && state <= GT_DONE ? names[state] : "unknown";
}

void gtcp_cfg_default(struct gtcp_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    static const uint8_t gw[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x01};
    memcpy(cfg->mac, mac, 6);
    memcpy(cfg->peer_mac, gw, 6);
    cfg->ip[0] = 10;
    cfg->ip[1] = 0;
    cfg->ip[2] = 2;
    cfg->ip[3] = 15;
    cfg->mtu = 1500;
    cfg->wscale = 7;
    cfg->offer_ts = true;
    cfg->offer_sack = true;
    cfg->rcvbuf = 256 * 1024;
    cfg->max_conns = 1024;
    cfg->syn_retries = 6;
    cfg->data_retries = 12;
    cfg->time_wait_ns = 2000000000ull;
    cfg->fin_wait_2_ns = 60000000000ull;
    cfg->rto_min_ns = 200000000ull;
    cfg->rto_init_ns = 1000000000ull;
    cfg->rto_max_ns = 60000000000ull;
    cfg->port_lo = 32768;
    cfg->port_hi = 60999;
    cfg->isn_seed = 1;
}

int gtcp_init(struct gtcp_stack *s, const struct gtcp_cfg *cfg, const struct gtcp_ops *ops,
              void *ctx)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->ops = *ops;
    s->ctx = ctx;
    if (cfg->max_conns == 0 || cfg->port_hi < cfg->port_lo)
        return -1;
    s->conns = calloc(cfg->max_conns, sizeof *s->conns);
    if (s->conns == NULL || sim_map_init(&s->by_key, cfg->max_conns) != 0)
        return -1;
    for (uint32_t i = 0; i < cfg->max_conns; i++)
        s->conns[i].index = i;
    s->next_port = cfg->port_lo;
    return 0;
}

void gtcp_free(struct gtcp_stack *s)
{
    free(s->conns);
    s->conns = NULL;
    sim_map_free(&s->by_key);
}

static uint64_t conn_key(const uint8_t rip[4], uint16_t rport, uint16_t lport)
{
    return ((uint64_t)vw_get32(rip) << 32) | ((uint64_t)rport << 16) | lport;
}

static uint16_t opt_hdr_len(const struct gtcp_conn *c)
{
    return c->ts_ok ? 12 : 0;
}

/* ---- timers ---------------------------------------------------------- */

static void timer_update(struct gtcp_stack *s, struct gtcp_conn *c)
{
    uint64_t at = 0;
    const uint64_t cand[3] = {c->rto_at, c->persist_at, c->tw_at};
    for (int i = 0; i < 3; i++)
        if (cand[i] != 0 && (at == 0 || cand[i] < at))
            at = cand[i];
    if (at == 0)
        return;
    if (c->timer_at == 0 || at < c->timer_at) {
        c->timer_at = at;
        s->ops.set_timer(s->ctx, c, at);
    }
}

static void rto_arm(struct gtcp_stack *s, struct gtcp_conn *c)
{
    c->rto_at = s->now + c->rto;
    if (c->rto_at == 0)
        c->rto_at = 1;
}

/* ---- output ---------------------------------------------------------- */

static uint32_t rcv_window(const struct gtcp_conn *c)
{
    return c->rcv_cap > c->rcv_used ? c->rcv_cap - c->rcv_used : 0;
}

static uint16_t adv_window(struct gtcp_conn *c, bool syn)
{
    uint32_t w = rcv_window(c);
    if (syn || !c->ws_ok) {
        if (w > 65535)
            w = 65535;
        c->rcv_adv = w;
        return (uint16_t)w;
    }
    uint32_t raw = w >> c->rcv_shift;
    if (raw > 65535)
        raw = 65535;
    c->rcv_adv = raw << c->rcv_shift;
    return (uint16_t)raw;
}

/* A frame of the TCP fields in t to rip, with len payload bytes of the
 * pattern (salt) from stream offset off. */
static void tx_frame(struct gtcp_stack *s, const uint8_t rip[4], struct tk_tcp_spec *t,
                     uint64_t salt, uint64_t off, size_t len)
{
    t->eth_dst = s->cfg.peer_mac;
    t->eth_src = s->cfg.mac;
    t->src = s->cfg.ip;
    t->dst = rip;
    t->ttl = 64;
    t->payload = NULL; /* filled in place below */
    t->len = len;
    size_t hdr = tk_tcp_payload_off(t);
    uint8_t *buf = s->ops.frame_alloc(s->ctx, hdr + len);
    if (buf == NULL) {
        s->st.frames_no_buffer++;
        return;
    }
    if (len)
        sim_pattern_fill(salt, off, buf + hdr, len);
    t->ip_id = s->ip_id++;
    size_t n = tk_tcp(t, buf, hdr + len);
    if (n == 0) {
        s->st.frames_no_buffer++;
        return;
    }
    s->st.frames_out++;
    s->ops.frame_send(s->ctx, buf, n);
}

/* One segment of connection c: seq, flags, and len payload bytes taken from
 * stream offset off. */
static void tx_segment(struct gtcp_stack *s, struct gtcp_conn *c, uint32_t seq, uint8_t flags,
                       uint64_t off, size_t len)
{
    bool syn = (flags & VW_TCP_SYN) != 0;
    struct tk_tcp_spec t = {.sport = c->lport,
                            .dport = c->rport,
                            .seq = seq,
                            .ack = (flags & VW_TCP_ACK) ? c->rcv_nxt : 0,
                            .flags = flags,
                            .window = adv_window(c, syn)};
    if (syn) {
        t.opt_mss = true;
        t.mss = (uint16_t)(s->cfg.mtu - 40);
        bool answer = (flags & VW_TCP_ACK) != 0; /* SYN-ACK: only what the peer offered */
        if (s->cfg.wscale >= 0 && (!answer || c->ws_ok)) {
            t.opt_wscale = true;
            t.wscale = (uint8_t)s->cfg.wscale;
        }
        if (s->cfg.offer_sack && !answer)
            t.opt_sack_perm = true;
        if (s->cfg.offer_ts && (!answer || c->ts_ok)) {
            t.opt_ts = true;
            t.ts_val = (uint32_t)(s->now / 1000000u);
            t.ts_ecr = c->ts_recent;
        }
    } else if (c->ts_ok) {
        t.opt_ts = true;
        t.ts_val = (uint32_t)(s->now / 1000000u);
        t.ts_ecr = c->ts_recent;
    }
    c->segs_out++;
    if (flags & VW_TCP_ACK)
        c->ack_pending = false;
    tx_frame(s, c->rip, &t, c->snd_salt, off, len);
}

static void tx_rst(struct gtcp_stack *s, const uint8_t rip[4], uint16_t rport, uint16_t lport,
                   uint32_t seq, uint32_t ack, bool with_ack)
{
    struct tk_tcp_spec t = {.sport = lport,
                            .dport = rport,
                            .seq = seq,
                            .ack = with_ack ? ack : 0,
                            .flags = VW_TCP_RST | (with_ack ? VW_TCP_ACK : 0)};
    s->st.rst_out++;
    tx_frame(s, rip, &t, 0, 0, 0);
}

static bool can_send_data(const struct gtcp_conn *c)
{
    return c->state == GT_ESTABLISHED || c->state == GT_CLOSE_WAIT || c->state == GT_FIN_WAIT_1 ||
           c->state == GT_CLOSING || c->state == GT_LAST_ACK;
}

static uint32_t min32(uint64_t a, uint64_t b)
{
    uint64_t m = a < b ? a : b;
    return m > UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

static void tcp_output(struct gtcp_stack *s, struct gtcp_conn *c)
{
    if (can_send_data(c)) {
        for (int guard = 0; guard < 4096; guard++) {
            uint32_t flight = c->snd_nxt - c->snd_una;
            if (c->fin_sent)
                break;
            uint64_t off_nxt = c->snd_una_off + flight;
            uint64_t avail = c->snd_limit > off_nxt ? c->snd_limit - off_nxt : 0;
            uint32_t wnd = c->snd_wnd < c->cwnd ? c->snd_wnd : c->cwnd;
            if (avail > 0) {
                if (flight >= wnd)
                    break;
                uint32_t len =
                    min32(avail, (uint64_t)c->mss < wnd - flight ? c->mss : wnd - flight);
                uint8_t flags = VW_TCP_ACK | (len == avail ? VW_TCP_PSH : 0);
                if (!c->rtt_timing) {
                    c->rtt_timing = true;
                    c->rtt_seq = c->snd_nxt;
                    c->rtt_start = s->now;
                }
                tx_segment(s, c, c->snd_nxt, flags, off_nxt, len);
                if (SEQ_LT(c->snd_nxt, c->snd_max))
                    c->rexmits++;
                c->snd_nxt += len;
                if (SEQ_GT(c->snd_nxt, c->snd_max))
                    c->snd_max = c->snd_nxt;
                if (c->rto_at == 0)
                    rto_arm(s, c);
                continue;
            }
            if (c->fin_wanted) {
                tx_segment(s, c, c->snd_nxt, VW_TCP_FIN | VW_TCP_ACK, 0, 0);
                c->snd_nxt += 1;
                c->fin_sent = true;
                if (SEQ_GT(c->snd_nxt, c->snd_max))
                    c->snd_max = c->snd_nxt;
                if (c->state == GT_ESTABLISHED)
                    c->state = GT_FIN_WAIT_1;
                else if (c->state == GT_CLOSE_WAIT)
                    c->state = GT_LAST_ACK;
                if (c->rto_at == 0)
                    rto_arm(s, c);
            }
            break;
        }
        uint32_t flight = c->snd_nxt - c->snd_una;
        uint64_t off_nxt = c->snd_una_off + flight;
        bool unsent = !c->fin_sent && c->snd_limit > off_nxt;
        if (unsent && c->snd_wnd == 0 && flight == 0 && c->persist_at == 0) {
            if (c->persist_backoff == 0)
                c->persist_backoff = c->rto;
            c->persist_at = s->now + c->persist_backoff;
        }
    }
    if (c->ack_pending && c->state != GT_SYN_SENT && c->state != GT_SYN_RCVD && c->state != GT_DONE)
        tx_segment(s, c, c->snd_nxt, VW_TCP_ACK, 0, 0);
    timer_update(s, c);
}

/* ---- connection lifecycle --------------------------------------------- */

static void conn_free(struct gtcp_stack *s, struct gtcp_conn *c)
{
    sim_map_del(&s->by_key, conn_key(c->rip, c->rport, c->lport));
    uint32_t gen = c->gen + 1;
    uint32_t index = c->index;
    memset(c, 0, sizeof *c);
    c->gen = gen;
    c->index = index;
    s->n_used--;
}

/* Set the outcome, stop sending, report it. TIME_WAIT keeps the slot. */
static void conn_finish(struct gtcp_stack *s, struct gtcp_conn *c, enum gtcp_outcome outcome)
{
    if (c->outcome == GO_NONE) {
        c->outcome = (uint8_t)outcome;
        c->t_done = s->now;
    }
    c->rto_at = 0;
    c->persist_at = 0;
    if (outcome == GO_COMPLETE && c->state == GT_TIME_WAIT) {
        c->tw_at = s->now + s->cfg.time_wait_ns;
        timer_update(s, c);
    } else {
        c->state = GT_DONE;
    }
    if (!c->done_reported) {
        c->done_reported = true;
        s->ops.on_event(s->ctx, c, GTE_DONE);
    }
    if (c->state == GT_DONE)
        conn_free(s, c);
}

static struct gtcp_conn *conn_alloc(struct gtcp_stack *s, const uint8_t rip[4], uint16_t rport,
                                    uint16_t lport)
{
    if (s->n_used >= s->cfg.max_conns)
        return NULL;
    struct gtcp_conn *c = NULL;
    for (uint32_t n = 0; n < s->cfg.max_conns; n++) {
        uint32_t i = (s->free_hint + n) % s->cfg.max_conns;
        if (s->conns[i].state == GT_FREE) {
            c = &s->conns[i];
            s->free_hint = (i + 1) % s->cfg.max_conns;
            break;
        }
    }
    if (c == NULL || sim_map_put(&s->by_key, conn_key(rip, rport, lport), c->index) != 0)
        return NULL;
    s->n_used++;
    memcpy(c->rip, rip, 4);
    c->rport = rport;
    c->lport = lport;
    c->rto = s->cfg.rto_init_ns;
    c->rcv_cap = s->cfg.rcvbuf;
    c->mss = 536;
    c->t_open = s->now;
    uint64_t h = sim_mix64(s->cfg.isn_seed ^ ((uint64_t)s->isn_counter++ << 32) ^
                           conn_key(rip, rport, lport));
    c->iss = (uint32_t)h;
    c->snd_una = c->iss;
    c->snd_nxt = c->iss;
    c->snd_max = c->iss;
    if (s->cfg.wscale >= 0) {
        c->rcv_shift = (uint8_t)s->cfg.wscale;
    }
    return c;
}

/* Apply the peer's SYN options. */
static void syn_options(struct gtcp_stack *s, struct gtcp_conn *c, const struct vw_tcp *t)
{
    uint32_t our_max = s->cfg.mtu - 40;
    uint32_t peer = t->has_mss ? t->mss : 536;
    if (peer < 64)
        peer = 64;
    c->mss = (uint16_t)(peer < our_max ? peer : our_max);
    c->ws_ok = t->has_wscale && s->cfg.wscale >= 0;
    c->snd_shift = c->ws_ok ? (t->wscale > 14 ? 14 : t->wscale) : 0;
    if (!c->ws_ok)
        c->rcv_shift = 0;
    c->ts_ok = t->has_ts && s->cfg.offer_ts;
    if (c->ts_ok)
        c->ts_recent = t->ts_val;
    c->mss = (uint16_t)(c->mss - opt_hdr_len(c));
    c->cwnd = 10u * c->mss;
    c->ssthresh = UINT32_MAX;
}

struct gtcp_conn *gtcp_connect(struct gtcp_stack *s, uint64_t now, const uint8_t rip[4],
                               uint16_t rport, uint64_t salt, uint64_t user)
{
    s->now = now;
    uint32_t span = (uint32_t)(s->cfg.port_hi - s->cfg.port_lo) + 1;
    struct gtcp_conn *c = NULL;
    for (uint32_t n = 0; n < span && c == NULL; n++) {
        uint16_t port = s->next_port;
        s->next_port = port >= s->cfg.port_hi ? s->cfg.port_lo : (uint16_t)(port + 1);
        uint32_t dummy;
        if (sim_map_get(&s->by_key, conn_key(rip, rport, port), &dummy))
            continue;
        c = conn_alloc(s, rip, rport, port);
        if (c == NULL)
            return NULL;
    }
    if (c == NULL)
        return NULL;
    c->state = GT_SYN_SENT;
    c->user = user;
    c->snd_salt = salt;
    sim_verifier_init(&c->ver, 0);
    tx_segment(s, c, c->iss, VW_TCP_SYN, 0, 0);
    c->snd_nxt = c->iss + 1;
    c->snd_max = c->snd_nxt;
    c->rtt_timing = true;
    c->rtt_seq = c->iss;
    c->rtt_start = now;
    rto_arm(s, c);
    timer_update(s, c);
    return c;
}

int gtcp_listen(struct gtcp_stack *s, uint16_t port)
{
    if (s->n_listen >= sizeof s->listen_ports / sizeof s->listen_ports[0])
        return -1;
    s->listen_ports[s->n_listen++] = port;
    return 0;
}

void gtcp_write(struct gtcp_stack *s, uint64_t now, struct gtcp_conn *c, uint64_t n)
{
    s->now = now;
    if (c->fin_wanted || c->state == GT_DONE)
        return;
    c->snd_limit += n;
    tcp_output(s, c);
}

void gtcp_close(struct gtcp_stack *s, uint64_t now, struct gtcp_conn *c)
{
    s->now = now;
    if (c->fin_wanted || c->state == GT_DONE)
        return;
    c->fin_wanted = true;
    tcp_output(s, c);
}

void gtcp_abort(struct gtcp_stack *s, uint64_t now, struct gtcp_conn *c)
{
    s->now = now;
    if (c->state == GT_DONE || c->outcome != GO_NONE)
        return;
    if (c->state != GT_SYN_SENT)
        tx_rst(s, c->rip, c->rport, c->lport, c->snd_nxt, c->rcv_nxt, true);
    conn_finish(s, c, GO_ABORTED);
}

void gtcp_consume(struct gtcp_stack *s, uint64_t now, struct gtcp_conn *c, uint32_t n)
{
    s->now = now;
    if (n > c->rcv_used)
        n = c->rcv_used;
    uint32_t before = c->rcv_adv;
    c->rcv_used -= n;
    uint32_t w = rcv_window(c);
    /* A window update when it opened by at least an MSS or from zero. */
    if (c->state != GT_DONE && c->state != GT_SYN_SENT && c->state != GT_SYN_RCVD && !c->fin_rcvd &&
        (w >= before + c->mss || (before == 0 && w > 0))) {
        c->ack_pending = true;
        tcp_output(s, c);
    }
}

/* ---- input ------------------------------------------------------------- */

static void rtt_sample(struct gtcp_stack *s, struct gtcp_conn *c, uint64_t r)
{
    if (c->srtt == 0) {
        c->srtt = r;
        c->rttvar = r / 2;
    } else {
        uint64_t d = c->srtt > r ? c->srtt - r : r - c->srtt;
        c->rttvar = (3 * c->rttvar + d) / 4;
        c->srtt = (7 * c->srtt + r) / 8;
    }
    uint64_t rto = c->srtt + (4 * c->rttvar > 1000000 ? 4 * c->rttvar : 1000000);
    if (rto < s->cfg.rto_min_ns)
        rto = s->cfg.rto_min_ns;
    if (rto > s->cfg.rto_max_ns)
        rto = s->cfg.rto_max_ns;
    c->rto = rto;
}

/* Retransmit the first unacknowledged segment (fast retransmit). */
static void tx_head(struct gtcp_stack *s, struct gtcp_conn *c)
{
    /* Only what was sent before: never new data past snd_max. */
    uint32_t sent = c->snd_max - c->snd_una - (c->fin_sent ? 1u : 0u);
    if (c->snd_una_off < c->snd_limit && sent > 0) {
        uint32_t len = min32(c->snd_limit - c->snd_una_off, c->mss < sent ? c->mss : sent);
        tx_segment(s, c, c->snd_una, VW_TCP_ACK, c->snd_una_off, len);
        c->rexmits++;
    } else if (c->fin_sent) {
        tx_segment(s, c, c->snd_una, VW_TCP_FIN | VW_TCP_ACK, 0, 0);
        c->rexmits++;
    }
}

/* ACK processing; returns false if the connection finished. */
static bool tcp_ack(struct gtcp_stack *s, struct gtcp_conn *c, const struct vw_tcp *t)
{
    uint32_t ack = t->ack;
    if (SEQ_GT(ack, c->snd_max)) {
        c->ack_pending = true;
        return true;
    }
    uint32_t old_wnd = c->snd_wnd;
    if (SEQ_GT(ack, c->snd_una)) {
        uint32_t acked = ack - c->snd_una;
        uint32_t fin_seq = c->iss + 1 + (uint32_t)c->snd_limit;
        bool fin_acked_now = c->fin_sent && SEQ_GT(ack, fin_seq) && SEQ_LEQ(c->snd_una, fin_seq);
        c->snd_una_off += acked - (fin_acked_now ? 1 : 0);
        c->snd_una = ack;
        if (SEQ_LT(c->snd_nxt, c->snd_una))
            c->snd_nxt = c->snd_una;
        c->retries = 0;
        c->dupacks = 0;
        c->persist_backoff = 0;
        if (c->rtt_timing && SEQ_GT(ack, c->rtt_seq)) {
            rtt_sample(s, c, s->now - c->rtt_start);
            c->rtt_timing = false;
        }
        if (c->cwnd < c->ssthresh)
            c->cwnd += acked < c->mss ? acked : c->mss;
        else
            c->cwnd += (uint32_t)((uint64_t)c->mss * c->mss / (c->cwnd ? c->cwnd : 1)) + 1;
        if (c->cwnd > (1u << 30))
            c->cwnd = 1u << 30;
        c->rto_at = c->snd_una == c->snd_max ? 0 : s->now + c->rto;
        if (fin_acked_now) {
            if (c->state == GT_FIN_WAIT_1) {
                c->state = GT_FIN_WAIT_2;
                c->tw_at = s->now + s->cfg.fin_wait_2_ns;
            } else if (c->state == GT_CLOSING) {
                c->state = GT_TIME_WAIT;
                conn_finish(s, c, GO_COMPLETE);
                return false;
            } else if (c->state == GT_LAST_ACK) {
                conn_finish(s, c, GO_COMPLETE);
                return false;
            }
        }
        if (gtcp_all_acked(c) && !c->fin_wanted)
            s->ops.on_event(s->ctx, c, GTE_ACKED);
        if (c->state == GT_FREE || c->outcome != GO_NONE)
            return false;
    } else if (ack == c->snd_una && t->payload_len == 0 &&
               !(t->flags & (VW_TCP_FIN | VW_TCP_SYN)) && c->snd_max != c->snd_una &&
               ((uint32_t)t->window << c->snd_shift) == old_wnd) {
        c->dup_acks_in++;
        if (++c->dupacks == 3) {
            uint32_t flight = c->snd_max - c->snd_una;
            c->ssthresh = flight / 2 > 2u * c->mss ? flight / 2 : 2u * c->mss;
            c->cwnd = c->ssthresh;
            tx_head(s, c);
        }
    }
    /* Window update (RFC 793 SND.WL1/WL2 rule). */
    if (SEQ_LT(c->snd_wl1, t->seq) || (c->snd_wl1 == t->seq && SEQ_LEQ(c->snd_wl2, ack))) {
        c->snd_wnd = (uint32_t)t->window << c->snd_shift;
        c->snd_wl1 = t->seq;
        c->snd_wl2 = ack;
        if (c->snd_wnd > 0)
            c->persist_at = 0;
    }
    return true;
}

static void tcp_established(struct gtcp_stack *s, struct gtcp_conn *c, const struct vw_tcp *t)
{
    c->snd_una = c->iss + 1;
    c->snd_una_off = 0;
    if (SEQ_LT(c->snd_nxt, c->snd_una))
        c->snd_nxt = c->snd_una;
    c->snd_wnd = t->window; /* a SYN's window is never scaled */
    if (!(t->flags & VW_TCP_SYN))
        c->snd_wnd = (uint32_t)t->window << c->snd_shift;
    c->snd_wl1 = t->seq;
    c->snd_wl2 = t->ack;
    c->state = GT_ESTABLISHED;
    c->t_established = s->now;
    if (c->rtt_timing && c->retries == 0)
        rtt_sample(s, c, s->now - c->rtt_start);
    c->retries = 0;
    c->rto_at = 0;
    c->rtt_timing = false;
}

static void tcp_passive_open(struct gtcp_stack *s, const struct vw_ipv4 *ip, const struct vw_tcp *t)
{
    struct gtcp_conn *c = conn_alloc(s, ip->src, t->sport, t->dport);
    if (c == NULL)
        return;
    c->state = GT_SYN_RCVD;
    c->passive = true;
    c->irs = t->seq;
    c->rcv_nxt = t->seq + 1;
    syn_options(s, c, t);
    c->snd_salt = sim_mix64(c->iss ^ 0x5e7ull);
    sim_verifier_init(&c->ver, 0);
    tx_segment(s, c, c->iss, VW_TCP_SYN | VW_TCP_ACK, 0, 0);
    c->snd_nxt = c->iss + 1;
    c->snd_max = c->snd_nxt;
    rto_arm(s, c);
    timer_update(s, c);
}

/* Keep an out-of-order range [start, end) of stream offsets (checked). */
static void ooo_insert(struct gtcp_conn *c, uint64_t start, uint64_t end)
{
    /* merge with every overlapping or touching range */
    for (int pass = 0; pass < GTCP_MAX_OOO + 1; pass++) {
        bool merged = false;
        for (uint8_t i = 0; i < c->n_ooo; i++) {
            if (start <= c->ooo_end[i] && end >= c->ooo_start[i]) {
                start = start < c->ooo_start[i] ? start : c->ooo_start[i];
                end = end > c->ooo_end[i] ? end : c->ooo_end[i];
                c->ooo_start[i] = c->ooo_start[c->n_ooo - 1];
                c->ooo_end[i] = c->ooo_end[c->n_ooo - 1];
                c->n_ooo--;
                merged = true;
                break;
            }
        }
        if (!merged)
            break;
    }
    if (c->n_ooo < GTCP_MAX_OOO) {
        c->ooo_start[c->n_ooo] = start;
        c->ooo_end[c->n_ooo] = end;
        c->n_ooo++;
    }
}

/* After in-order progress: absorb kept ranges that now touch rcv_total. */
static void ooo_absorb(struct gtcp_conn *c)
{
    for (int guard = 0; guard < GTCP_MAX_OOO + 1; guard++) {
        bool moved = false;
        for (uint8_t i = 0; i < c->n_ooo; i++) {
            if (c->ooo_start[i] > c->rcv_total)
                continue;
            if (c->ooo_end[i] > c->rcv_total) {
                uint64_t n = c->ooo_end[i] - c->rcv_total;
                sim_verifier_skip(&c->ver, n);
                c->rcv_nxt += (uint32_t)n;
                c->rcv_total += n;
                c->rcv_used += (uint32_t)n;
            }
            c->ooo_start[i] = c->ooo_start[c->n_ooo - 1];
            c->ooo_end[i] = c->ooo_end[c->n_ooo - 1];
            c->n_ooo--;
            moved = true;
            break;
        }
        if (!moved)
            break;
    }
}

static void tcp_peer_fin(struct gtcp_stack *s, struct gtcp_conn *c)
{
    c->rcv_nxt += 1;
    c->fin_rcvd = true;
    c->n_ooo = 0;
    uint32_t fin_seq = c->iss + 1 + (uint32_t)c->snd_limit;
    bool our_fin_acked = c->fin_sent && SEQ_GT(c->snd_una, fin_seq);
    if (c->state == GT_ESTABLISHED)
        c->state = GT_CLOSE_WAIT;
    else if (c->state == GT_FIN_WAIT_1)
        c->state = our_fin_acked ? GT_TIME_WAIT : GT_CLOSING;
    else if (c->state == GT_FIN_WAIT_2)
        c->state = GT_TIME_WAIT;
    s->ops.on_event(s->ctx, c, GTE_PEER_FIN);
    if (c->state == GT_FREE || (c->outcome != GO_NONE && c->state != GT_TIME_WAIT))
        return;
    if (c->state == GT_TIME_WAIT) {
        c->tw_at = 0;
        tx_segment(s, c, c->snd_nxt, VW_TCP_ACK, 0, 0);
        conn_finish(s, c, GO_COMPLETE);
    }
}

static void tcp_receive_data(struct gtcp_stack *s, struct gtcp_conn *c, const struct vw_tcp *t)
{
    bool fin = (t->flags & VW_TCP_FIN) != 0;
    size_t plen = t->payload_len;
    if (plen == 0 && !fin)
        return;
    c->ack_pending = true;
    bool open_rx =
        c->state == GT_ESTABLISHED || c->state == GT_FIN_WAIT_1 || c->state == GT_FIN_WAIT_2;
    if (!open_rx || c->fin_rcvd)
        return; /* the peer already closed: just acknowledge */
    int32_t offset = (int32_t)(t->seq - c->rcv_nxt);
    uint32_t wnd = rcv_window(c);
    if (offset > 0) {
        /* Out of order: keep what fits the window once the salt is known. */
        uint64_t start = c->rcv_total + (uint64_t)offset;
        size_t take = plen;
        if ((uint64_t)offset >= wnd)
            take = 0;
        else if (take > wnd - (uint32_t)offset)
            take = wnd - (uint32_t)offset;
        if (take > 0 && sim_verifier_has_salt(&c->ver) && start >= SIM_PATTERN_HDR) {
            if (!sim_verifier_check_at(&c->ver, start, t->payload, take))
                s->st.verify_failures++;
            ooo_insert(c, start, start + take);
        }
        if (fin && take == plen && take > 0) {
            c->ooo_fin = true;
            c->ooo_fin_off = start + take;
        }
        return;
    }
    size_t skip = (size_t)(-(int64_t)offset);
    if (skip > plen)
        return; /* wholly old (even its FIN) */
    size_t fresh = plen - skip;
    size_t take = fresh < wnd ? fresh : wnd;
    if (take > 0) {
        if (!sim_verifier_feed(&c->ver, t->payload + skip, take))
            s->st.verify_failures++;
        c->rcv_nxt += (uint32_t)take;
        c->rcv_total += take;
        c->rcv_used += (uint32_t)take;
        /* The FIN_WAIT_2 give-up is for a peer that went away; one still
         * sending is alive (no real stack drops a half-closed connection
         * that is receiving data), so its silence is what is timed. */
        if (c->state == GT_FIN_WAIT_2)
            c->tw_at = s->now + s->cfg.fin_wait_2_ns;
        if (c->ts_ok && t->has_ts)
            c->ts_recent = t->ts_val;
        ooo_absorb(c);
        s->ops.on_event(s->ctx, c, GTE_DATA);
        if (c->state == GT_FREE || c->outcome != GO_NONE)
            return;
    }
    /* The FIN counts only if every byte before it was taken (cppcheck
     * wrongly assumes the window always cuts the segment short). */
    // cppcheck-suppress knownConditionTrueFalse
    if (fin && take == fresh && (uint32_t)(t->seq + plen) == c->rcv_nxt) {
        tcp_peer_fin(s, c);
        return;
    }
    if (c->ooo_fin && c->rcv_total == c->ooo_fin_off)
        tcp_peer_fin(s, c);
}

static void tcp_input(struct gtcp_stack *s, const struct vw_ipv4 *ip, const struct vw_tcp *t)
{
    uint32_t idx;
    struct gtcp_conn *c = NULL;
    if (sim_map_get(&s->by_key, conn_key(ip->src, t->sport, t->dport), &idx))
        c = &s->conns[idx];
    bool rst = (t->flags & VW_TCP_RST) != 0, syn = (t->flags & VW_TCP_SYN) != 0,
         ack = (t->flags & VW_TCP_ACK) != 0;
    if (c == NULL) {
        if (rst) {
            s->st.rst_in++;
            return;
        }
        if (syn && !ack) {
            for (uint32_t i = 0; i < s->n_listen; i++)
                if (s->listen_ports[i] == t->dport) {
                    tcp_passive_open(s, ip, t);
                    return;
                }
        }
        uint32_t seg_len =
            (uint32_t)t->payload_len + (syn ? 1 : 0) + ((t->flags & VW_TCP_FIN) ? 1 : 0);
        if (ack)
            tx_rst(s, ip->src, t->sport, t->dport, t->ack, 0, false);
        else
            tx_rst(s, ip->src, t->sport, t->dport, 0, t->seq + seg_len, true);
        return;
    }
    c->segs_in++;
    if (rst)
        s->st.rst_in++;
    switch (c->state) {
    case GT_SYN_SENT:
        if (ack && t->ack != c->iss + 1) {
            c->bad_segs++;
            if (!rst)
                tx_rst(s, ip->src, t->sport, t->dport, t->ack, 0, false);
            return;
        }
        if (rst) {
            if (ack)
                conn_finish(s, c, GO_REFUSED);
            return;
        }
        if (!syn || !ack) {
            c->bad_segs++;
            return; /* simultaneous open is not supported */
        }
        c->irs = t->seq;
        c->rcv_nxt = t->seq + 1;
        syn_options(s, c, t);
        tcp_established(s, c, t);
        c->ack_pending = true;
        s->ops.on_event(s->ctx, c, GTE_ESTABLISHED);
        if (c->outcome == GO_NONE)
            tcp_output(s, c);
        return;
    case GT_SYN_RCVD:
        if (rst) {
            if (t->seq == c->rcv_nxt)
                conn_finish(s, c, GO_RESET);
            return;
        }
        if (syn) {
            if (t->seq == c->irs)
                tx_segment(s, c, c->iss, VW_TCP_SYN | VW_TCP_ACK, 0, 0);
            return;
        }
        if (!ack)
            return;
        if (t->ack != c->iss + 1) {
            tx_rst(s, ip->src, t->sport, t->dport, t->ack, 0, false);
            return;
        }
        tcp_established(s, c, t);
        s->ops.on_event(s->ctx, c, GTE_ACCEPTED);
        if (c->outcome != GO_NONE)
            return;
        break;
    case GT_DONE:
    case GT_FREE:
        return;
    default:
        break;
    }
    /* Synchronized states. */
    uint32_t wnd = rcv_window(c);
    if (rst) {
        uint32_t span = wnd ? wnd : 1;
        if ((uint32_t)(t->seq - c->rcv_nxt) >= span)
            c->bad_segs++;
        else if (c->state == GT_TIME_WAIT)
            conn_free(s, c);
        else
            conn_finish(s, c, GO_RESET);
        return;
    }
    if (syn) {
        /* A retransmitted SYN-ACK (our ACK was lost) or a stray SYN. */
        c->ack_pending = true;
        tcp_output(s, c);
        return;
    }
    if (!ack) {
        c->bad_segs++;
        return;
    }
    if (c->state == GT_TIME_WAIT) {
        if ((t->flags & VW_TCP_FIN) || t->payload_len)
            tx_segment(s, c, c->snd_nxt, VW_TCP_ACK, 0, 0);
        return;
    }
    if (!tcp_ack(s, c, t))
        return;
    /* A zero-length segment that is not at rcv_nxt (a window probe, an old
     * duplicate) is not acceptable: answer with an ACK (RFC 793, 3.9). */
    if (t->payload_len == 0 && !(t->flags & VW_TCP_FIN) && t->seq != c->rcv_nxt)
        c->ack_pending = true;
    tcp_receive_data(s, c, t);
    if (c->state == GT_FREE || c->outcome != GO_NONE)
        return;
    tcp_output(s, c);
}

static void arp_input(struct gtcp_stack *s, const struct vw_eth *eth)
{
    struct vw_arp a;
    if (vw_arp_parse(eth->payload, eth->payload_len, &a) != VW_OK) {
        s->st.bad_eth++;
        return;
    }
    s->st.arp_in++;
    if (a.op == VW_ARP_REPLY) {
        s->st.arp_replies++;
        return;
    }
    if (a.op != VW_ARP_REQUEST || memcmp(a.tpa, s->cfg.ip, 4) != 0)
        return;
    uint8_t *buf = s->ops.frame_alloc(s->ctx, 64);
    if (buf == NULL)
        return;
    uint8_t sha[6], spa[4];
    memcpy(sha, a.sha, 6);
    memcpy(spa, a.spa, 4);
    size_t n = tk_arp(&(struct tk_arp_spec){.eth_dst = sha,
                                            .op = VW_ARP_REPLY,
                                            .sha = s->cfg.mac,
                                            .spa = s->cfg.ip,
                                            .tha = sha,
                                            .tpa = spa},
                      buf, 64);
    if (n) {
        s->st.frames_out++;
        s->ops.frame_send(s->ctx, buf, n);
    }
}

/* ICMP destination unreachable quoting a segment of ours. As Linux does
 * (tcp_v4_err), a connection in SYN_SENT whose SYN it quotes (the ports and
 * our ISN) ends with the error: host (1) or net (0) unreachable, and also
 * port (3) and the prohibited codes; elsewhere it is a soft error,
 * ignored. */
static void icmp_input(struct gtcp_stack *s, const struct vw_ipv4 *ip)
{
    struct vw_icmp m;
    if (vw_icmp4_parse(ip->payload, ip->payload_len, &m) != VW_OK) {
        s->st.bad_l4++;
        return;
    }
    const uint8_t *q = m.payload;
    size_t ihl = m.payload_len >= VW_IPV4_HLEN ? (size_t)(q[0] & 0x0F) * 4 : 0;
    if (m.type != VW_ICMP_DEST_UNREACH || ihl < VW_IPV4_HLEN || m.payload_len < ihl + 8 ||
        (q[0] >> 4) != 4 || q[9] != VW_IPPROTO_TCP || memcmp(q + 12, s->cfg.ip, 4) != 0) {
        s->st.other_in++;
        return;
    }
    const uint8_t *l4 = q + ihl;
    uint32_t idx;
    if (!sim_map_get(&s->by_key, conn_key(q + 16, vw_get16(l4 + 2), vw_get16(l4)), &idx)) {
        s->st.other_in++;
        return;
    }
    struct gtcp_conn *c = &s->conns[idx];
    s->st.icmp_unreach_in++;
    if (c->state == GT_SYN_SENT && vw_get32(l4 + 4) == c->iss)
        conn_finish(s, c, GO_UNREACHABLE);
}

void gtcp_on_frame(struct gtcp_stack *s, uint64_t now, const uint8_t *frame, size_t len)
{
    s->now = now;
    s->st.frames_in++;
    struct vw_eth eth;
    if (vw_eth_parse(frame, len, &eth) != VW_OK || eth.vlan) {
        s->st.bad_eth++;
        return;
    }
    if (memcmp(eth.dst, s->cfg.mac, 6) != 0 && memcmp(eth.dst, bcast_mac, 6) != 0) {
        s->st.not_for_us++;
        return;
    }
    if (eth.ethertype == VW_ETH_P_ARP) {
        arp_input(s, &eth);
        return;
    }
    if (eth.ethertype != VW_ETH_P_IPV4) {
        s->st.other_in++;
        return;
    }
    struct vw_ipv4 ip;
    if (vw_ipv4_parse(eth.payload, eth.payload_len, &ip) != VW_OK || ip.is_fragment) {
        s->st.bad_ip++;
        return;
    }
    if (ip.total_len > s->cfg.mtu) {
        s->st.too_big++;
        return;
    }
    if (memcmp(ip.dst, s->cfg.ip, 4) != 0) {
        s->st.not_for_us++;
        return;
    }
    if (ip.proto == VW_IPPROTO_TCP) {
        struct vw_tcp t;
        if (vw_tcp_parse(ip.payload, ip.payload_len, &t) != VW_OK) {
            s->st.bad_l4++;
            return;
        }
        if (!s->cfg.trust_l4_csum &&
            !vw_l4_csum_ok4(ip.src, ip.dst, VW_IPPROTO_TCP, ip.payload, ip.payload_len)) {
            s->st.bad_csum++;
            return;
        }
        tcp_input(s, &ip, &t);
    } else if (ip.proto == VW_IPPROTO_UDP) {
        struct vw_udp u;
        if (vw_udp_parse(ip.payload, ip.payload_len, &u) != VW_OK) {
            s->st.bad_l4++;
            return;
        }
        if (!vw_l4_csum_ok4(ip.src, ip.dst, VW_IPPROTO_UDP, ip.payload, ip.payload_len)) {
            s->st.bad_csum++;
            return;
        }
        s->st.udp_in++;
        if (s->ops.on_udp)
            s->ops.on_udp(s->ctx, ip.src, u.sport, u.dport, u.payload, u.payload_len);
    } else if (ip.proto == VW_IPPROTO_ICMP) {
        icmp_input(s, &ip);
    } else {
        s->st.other_in++;
    }
}

void gtcp_on_timer(struct gtcp_stack *s, uint64_t now, uint32_t index, uint32_t gen)
{
    s->now = now;
    if (index >= s->cfg.max_conns)
        return;
    struct gtcp_conn *c = &s->conns[index];
    if (c->gen != gen || c->state == GT_FREE)
        return;
    /* A connection has one timer due at a time (timer_at). An event for an
     * earlier or later time was superseded when timer_update armed another:
     * handling it would arm one more and keep both, so the events of a
     * connection whose deadline keeps moving earlier would multiply (swarm
     * seed 3000027712: 20 000 events pending, each refiring its copy). */
    if (c->timer_at != now)
        return;
    c->timer_at = 0;
    if (c->tw_at != 0 && now >= c->tw_at) {
        c->tw_at = 0;
        if (c->state == GT_FIN_WAIT_2) {
            conn_finish(s, c, GO_TIMEOUT);
            return;
        }
        if (c->state == GT_TIME_WAIT) {
            conn_free(s, c);
            return;
        }
    }
    if (c->rto_at != 0 && now >= c->rto_at) {
        c->rto_at = 0;
        c->rtt_timing = false;
        bool handshake = c->state == GT_SYN_SENT || c->state == GT_SYN_RCVD;
        uint8_t limit = handshake ? s->cfg.syn_retries : s->cfg.data_retries;
        if (++c->retries > limit) {
            conn_finish(s, c, GO_TIMEOUT);
            return;
        }
        c->rto = c->rto * 2 > s->cfg.rto_max_ns ? s->cfg.rto_max_ns : c->rto * 2;
        if (c->state == GT_SYN_SENT) {
            tx_segment(s, c, c->iss, VW_TCP_SYN, 0, 0);
            c->rexmits++;
            rto_arm(s, c);
        } else if (c->state == GT_SYN_RCVD) {
            tx_segment(s, c, c->iss, VW_TCP_SYN | VW_TCP_ACK, 0, 0);
            c->rexmits++;
            rto_arm(s, c);
        } else if (c->snd_una != c->snd_max) {
            uint32_t flight = c->snd_max - c->snd_una;
            c->ssthresh = flight / 2 > 2u * c->mss ? flight / 2 : 2u * c->mss;
            c->cwnd = c->mss;
            c->snd_nxt = c->snd_una;
            uint32_t fin_seq = c->iss + 1 + (uint32_t)c->snd_limit;
            if (c->fin_sent && SEQ_LEQ(c->snd_una, fin_seq))
                c->fin_sent = false;
            c->dupacks = 0;
            tcp_output(s, c);
            if (c->rto_at == 0)
                rto_arm(s, c);
        }
    }
    if (c->persist_at != 0 && now >= c->persist_at) {
        c->persist_at = 0;
        if (c->snd_wnd == 0 && c->snd_una == c->snd_nxt && can_send_data(c)) {
            /* Zero-window probe: an old sequence number elicits an ACK
             * carrying the current window. */
            tx_segment(s, c, c->snd_una - 1, VW_TCP_ACK, 0, 0);
            c->persist_backoff = c->persist_backoff * 2 > s->cfg.rto_max_ns
                                     ? s->cfg.rto_max_ns
                                     : c->persist_backoff * 2;
            c->persist_at = now + c->persist_backoff;
        }
    }
    timer_update(s, c);
}

int gtcp_udp_send(struct gtcp_stack *s, uint64_t now, const uint8_t dip[4], uint16_t sport,
                  uint16_t dport, const uint8_t *payload, size_t len)
{
    s->now = now;
    uint8_t *buf = s->ops.frame_alloc(s->ctx, VW_UDP4_PAYLOAD_OFF + len);
    if (buf == NULL) {
        s->st.frames_no_buffer++;
        return -1;
    }
    size_t n = tk_udp(&(struct tk_udp_spec){.eth_dst = s->cfg.peer_mac,
                                            .eth_src = s->cfg.mac,
                                            .src = s->cfg.ip,
                                            .dst = dip,
                                            .ip_id = s->ip_id++,
                                            .ttl = 64,
                                            .sport = sport,
                                            .dport = dport,
                                            .payload = payload,
                                            .len = len},
                      buf, VW_UDP4_PAYLOAD_OFF + len);
    if (n == 0)
        return -1;
    s->st.frames_out++;
    s->ops.frame_send(s->ctx, buf, n);
    return 0;
}

void gtcp_arp_request(struct gtcp_stack *s, uint64_t now, const uint8_t ip[4])
{
    s->now = now;
    uint8_t *buf = s->ops.frame_alloc(s->ctx, 64);
    if (buf == NULL)
        return;
    size_t n = tk_arp(
        &(struct tk_arp_spec){.op = VW_ARP_REQUEST, .sha = s->cfg.mac, .spa = s->cfg.ip, .tpa = ip},
        buf, 64);
    if (n) {
        s->st.frames_out++;
        s->ops.frame_send(s->ctx, buf, n);
    }
}
