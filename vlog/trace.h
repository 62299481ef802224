/*
 * trace.h — the boundary log on disk, its hash, its text form and its replay.
 *
 * The core reports every record that crosses its boundary through
 * vnat_host_ops.log (vnat.h). This library turns those records into the
 * compact binary trace format of docs/trace.md, reads it back, hashes it
 * (the simulator's trace hash is the hash of exactly these bytes), renders
 * one line of text per record, and replays a recorded log against a fresh
 * core, reporting the first output that differs. The real adapter links it
 * for `vnat run --record FILE`; the simulator for its trace hash and
 * `vnat sim replay-file FILE`.
 */
#ifndef VNAT_VLOG_TRACE_H
#define VNAT_VLOG_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <vnat/vnat.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The 8 bytes a trace file may start with (optional; see docs/trace.md). */
#define VNAT_TRACE_MAGIC "VNATTRC1"
#define VNAT_TRACE_MAGIC_LEN 8
/* Largest encoded record header (everything but the data bytes). */
#define VNAT_TRACE_HDR_MAX 80

/* Write the optional file header. 0 or -1. */
int vnat_trace_write_header(FILE *f);
/* Append one record. 0 or -1. */
int vnat_trace_write(FILE *f, const struct vnat_log_record *rec);

/* Encode a record's header (all but its data bytes, which follow it
 * verbatim) into out[VNAT_TRACE_HDR_MAX]; returns the header length. */
size_t vnat_trace_encode_header(const struct vnat_log_record *rec, uint8_t *out);

/* The trace hash: a 64-bit hash over the encoded bytes of every record, in
 * order (docs/trace.md defines it byte for byte). */
struct vnat_trace_hash {
    uint64_t lane[4];  /* four independent lanes over 32-byte blocks */
    uint64_t total;    /* bytes hashed */
    uint8_t block[32]; /* pending bytes of a partial block */
    unsigned block_len;
};
void vnat_trace_hash_init(struct vnat_trace_hash *th);
void vnat_trace_hash_bytes(struct vnat_trace_hash *th, const void *data, size_t len);
void vnat_trace_hash_record(struct vnat_trace_hash *th, const struct vnat_log_record *rec);
uint64_t vnat_trace_hash_final(const struct vnat_trace_hash *th);

/* Reading a trace file. Records returned by vnat_trace_read point into the
 * reader's buffers and stay valid until the next read. */
struct vnat_trace_reader {
    FILE *f;
    uint8_t *buf;
    size_t cap;
    struct vnat_sockaddr addr;
    uint64_t records;
    bool started;
};
void vnat_trace_reader_init(struct vnat_trace_reader *r, FILE *f);
/* 1: a record in *rec; 0: clean end of file; -1: malformed or truncated. */
int vnat_trace_read(struct vnat_trace_reader *r, struct vnat_log_record *rec);
void vnat_trace_reader_free(struct vnat_trace_reader *r);

/* One line of text (no newline) for a record: time, kind, op, fields, and
 * for frames a one-line decode (ARP / IPv4 TCP / UDP / ICMP). Returns the
 * length written (truncated to cap - 1). */
size_t vnat_trace_format(const struct vnat_log_record *rec, char *buf, size_t cap);

/* Compare two records field by field; 0 if equal, else writes what differs
 * into why. */
int vnat_trace_compare(const struct vnat_log_record *want, const struct vnat_log_record *got,
                       char *why, size_t why_len);

/* Replay a recorded log against a fresh core: inputs (create, events, API
 * calls, host-operation results) are fed from the file, outputs (frames,
 * host-operation requests) are compared with it.
 *   returns 0  every record matched (res->records records)
 *           1  a difference: res->index is the first differing record and
 *              res->why says what differs
 *          -1  the file is unreadable or the core could not be created */
struct vnat_replay_result {
    uint64_t records; /* records consumed */
    int64_t index;    /* first differing record, -1 if none */
    uint64_t hash;    /* trace hash of the records the fresh core produced */
    char why[512];
};
int vnat_replay_file(FILE *f, struct vnat_replay_result *res);

#ifdef __cplusplus
}
#endif

#endif
