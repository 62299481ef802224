/*
 * seedgen.c — seeds for fuzz_frame and fuzz_events made from a simulator
 * trace (the binary boundary log of `vnat-sim record SEED FILE`), so the
 * corpora start from traffic the project's own simulated guest produced.
 *
 *   vnat-fuzz-seedgen TRACE FRAME_DIR EVENTS_DIR NAME
 *
 * FRAME_DIR gets up to 8 of the trace's guest frames, each as a fuzz_frame
 * input in two forms: raw (selector 0) and aimed at one of the prelude's
 * flows (selector 0x08 | flow). EVENTS_DIR gets one fuzz_events input that
 * replays the trace's first events in that target's encoding: guest frames
 * as raw-frame events, readiness as writable/readable/listener events on
 * the socket with the same position among the open sockets (the fuzz host
 * opens sockets in the same first-free order), time as tick events. The
 * results tail is left empty, so the fuzz host answers from its model.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzhost.h"
#include "trace.h"

#define MAX_OPEN 160
#define MAX_EVENTS 240
#define MAX_BYTES 12000 /* keep inputs small: libFuzzer mutates faster */
#define MAX_FRAMES 8

struct slot {
    vnat_token tok;
    int kind; /* enum fz_kind, FZK_FREE when unused */
};
static struct slot slots[MAX_OPEN];

static void slot_open(vnat_token tok, int kind)
{
    for (int i = 0; i < MAX_OPEN; i++)
        if (slots[i].kind == FZK_FREE) {
            slots[i].tok = tok;
            slots[i].kind = kind;
            return;
        }
}

static void slot_close(vnat_token tok)
{
    for (int i = 0; i < MAX_OPEN; i++)
        if (slots[i].kind != FZK_FREE && slots[i].tok == tok)
            slots[i].kind = FZK_FREE;
}

/* Position of tok among the open sockets of its kind (what fz_sock_pick
 * takes), or -1. */
static int slot_index(vnat_token tok, int *kind)
{
    int k = -1;
    for (int i = 0; i < MAX_OPEN; i++)
        if (slots[i].kind != FZK_FREE && slots[i].tok == tok)
            k = slots[i].kind;
    if (k < 0)
        return -1;
    int n = 0;
    for (int i = 0; i < MAX_OPEN; i++) {
        if (slots[i].kind == k && slots[i].tok == tok) {
            *kind = k;
            return n;
        }
        if (slots[i].kind == k)
            n++;
    }
    return -1;
}

static uint8_t out[1 << 20];
static size_t out_len;

static void put(uint8_t b)
{
    if (out_len < sizeof out)
        out[out_len++] = b;
}

/* Tick events that move the fuzz target's clock by about delta ns. */
static void put_time(uint64_t delta)
{
    for (int guard = 0; guard < 8 && delta >= 1000000ull; guard++) {
        if (delta >= 60000000000ull) {
            uint64_t m = delta / 60000000000ull;
            m = m > 255 ? 255 : m;
            put(10), put(3), put((uint8_t)m);
            delta -= m * 60000000000ull;
        } else if (delta >= 100000000ull) {
            uint64_t t = delta / 100000000ull;
            t = t > 255 ? 255 : t;
            put(10), put(2), put((uint8_t)t);
            delta -= t * 100000000ull;
        } else {
            uint64_t ms = delta / 1000000ull;
            ms = ms > 255 ? 255 : ms;
            put(10), put(0), put((uint8_t)ms);
            delta -= ms * 1000000ull;
        }
    }
}

static void write_file(const char *dir, const char *name, const char *suffix, const uint8_t *p,
                       size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, suffix);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s TRACE FRAME_DIR EVENTS_DIR NAME\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 1;
    }
    struct vnat_trace_reader r;
    vnat_trace_reader_init(&r, f);
    struct vnat_log_record rec;
    int rc;
    unsigned frames = 0, events = 0;
    uint64_t last = 0;
    bool started = false;
    put(0x01); /* fuzz_events configuration byte: 16 flows, MTU 1500 */
    while ((rc = vnat_trace_read(&r, &rec)) == 1 && events < MAX_EVENTS && out_len < MAX_BYTES) {
        if (rec.kind == VNAT_LOG_OP) {
            switch (rec.op) {
            case VNAT_OP_TCP_CONNECT:
            case VNAT_OP_TCP_ACCEPT:
                if (rec.b >= 0)
                    slot_open(rec.token, FZK_TCP);
                break;
            case VNAT_OP_TCP_LISTEN:
                if (rec.b >= 0)
                    slot_open(rec.token, FZK_LISTEN);
                break;
            case VNAT_OP_DGRAM_OPEN:
            case VNAT_OP_DGRAM_BIND:
                if (rec.b >= 0)
                    slot_open(rec.token, FZK_DGRAM);
                break;
            case VNAT_OP_CLOSE:
                slot_close(rec.token);
                break;
            default:
                break;
            }
            continue;
        }
        if (rec.kind < VNAT_LOG_EV_FRAME || rec.kind > VNAT_LOG_EV_TICK)
            continue;
        if (started && rec.now > last)
            put_time(rec.now - last);
        if (!started || rec.now > last)
            last = rec.now;
        started = true;
        int kind = 0, idx;
        switch (rec.kind) {
        case VNAT_LOG_EV_FRAME:
            if (rec.len > 1599)
                break;
            put(5);
            put((uint8_t)rec.len);
            put((uint8_t)(rec.len >> 8));
            put(0);
            for (size_t i = 0; i < rec.len; i++)
                put(rec.data[i]);
            if (frames < MAX_FRAMES) {
                static uint8_t seed[1 + 65536];
                char suffix[32];
                memcpy(seed + 1, rec.data, rec.len);
                seed[0] = 0;
                snprintf(suffix, sizeof suffix, "-f%02u-raw", frames);
                write_file(argv[2], argv[4], suffix, seed, rec.len + 1);
                seed[0] = (uint8_t)(0x08 | (frames & 7));
                snprintf(suffix, sizeof suffix, "-f%02u-aimed", frames);
                write_file(argv[2], argv[4], suffix, seed, rec.len + 1);
                frames++;
            }
            break;
        case VNAT_LOG_EV_WRITABLE:
            idx = slot_index(rec.token, &kind);
            put(6);
            put(idx < 0 ? 255 : (uint8_t)idx);
            if (idx < 0)
                for (int i = 0; i < 8; i++)
                    put((uint8_t)(rec.token >> (8 * i)));
            if (rec.a == 0) {
                put(0);
            } else {
                put(255);
                for (int i = 0; i < 4; i++)
                    put((uint8_t)((uint32_t)rec.a >> (8 * i)));
            }
            break;
        case VNAT_LOG_EV_READABLE:
            idx = slot_index(rec.token, &kind);
            put(7);
            put(idx < 0 ? 255 : (uint8_t)idx);
            if (idx < 0)
                for (int i = 0; i < 8; i++)
                    put((uint8_t)(rec.token >> (8 * i)));
            put(16); /* 1 KiB more for the core to peek */
            break;
        case VNAT_LOG_EV_LISTENER:
            idx = slot_index(rec.token, &kind);
            put(8);
            put(idx < 0 ? 0 : (uint8_t)idx);
            put(0);
            break;
        case VNAT_LOG_EV_LINK:
            put(9);
            break;
        default: /* ticks: time already moved */
            break;
        }
        events++;
    }
    put(0xff); /* end of events */
    for (int i = 0; i < 256; i++)
        put(0); /* results tail: no faults */
    vnat_trace_reader_free(&r);
    fclose(f);
    if (rc < 0 && events == 0) {
        fprintf(stderr, "%s: malformed trace\n", argv[1]);
        return 1;
    }
    write_file(argv[3], argv[4], "", out, out_len);
    printf("%s: %u events, %u frames\n", argv[4], events, frames);
    return 0;
}
