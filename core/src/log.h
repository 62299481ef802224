/*
 * log.h — layer 1: the one boundary log (design.md, contract point 6) and
 * the wrappers through which the core calls every host operation, so no
 * call can escape the log. No state of its own: it uses the instance's
 * ops, ctx and counters (base.h).
 */
#ifndef VNAT_LOG_H
#define VNAT_LOG_H

#include "base.h"

void log_create(struct vnat *nat, const void *image, size_t image_len);
void log_event(struct vnat *nat, enum vnat_log_kind kind, uint64_t raw_now, vnat_token tok,
               int64_t a, const uint8_t *data, size_t len);
void log_api(struct vnat *nat, int64_t which, const void *data, size_t len);
/* vnat_restore: the RESTORE record (image, mode, the now passed). */
void log_restore(struct vnat *nat, const void *image, size_t len, int mode, uint64_t raw_now);
/* An image vnat_snapshot wrote (len bytes): its length and checksum. */
void log_snapshot(const struct vnat *nat, const uint8_t *image, size_t len);

/* The guest link: counts frames_out / frames_refused and sets link_full
 * when the sink refuses. */
int host_guest_send(struct vnat *nat, const uint8_t *frame, size_t len);

/* Stream sockets. */
int host_tcp_connect(struct vnat *nat, vnat_token tok, const struct vnat_sockaddr *dst);
int host_tcp_listen(struct vnat *nat, vnat_token tok, const struct vnat_sockaddr *local);
int host_tcp_accept(struct vnat *nat, vnat_token listener, vnat_token tok,
                    struct vnat_sockaddr *peer);
long host_send(struct vnat *nat, vnat_token tok, const uint8_t *buf, size_t len);
long host_send_space(struct vnat *nat, vnat_token tok);
long host_peek(struct vnat *nat, vnat_token tok, size_t off, uint8_t *buf, size_t len);
int host_discard(struct vnat *nat, vnat_token tok, size_t len);
int host_shutdown_write(struct vnat *nat, vnat_token tok);

/* Datagram sockets. */
int host_dgram_open(struct vnat *nat, vnat_token tok, enum vnat_dgram_kind kind,
                    const struct vnat_sockaddr *dst);
int host_dgram_bind(struct vnat *nat, vnat_token tok, enum vnat_dgram_kind kind,
                    const struct vnat_sockaddr *local);
long host_dgram_send(struct vnat *nat, vnat_token tok, const uint8_t *buf, size_t len,
                     const struct vnat_sockaddr *to);
long host_dgram_recv(struct vnat *nat, vnat_token tok, uint8_t *buf, size_t cap,
                     struct vnat_sockaddr *from);

/* Every socket. */
void host_close(struct vnat *nat, vnat_token tok, int reset);
void host_set_interest(struct vnat *nat, vnat_token tok, unsigned mask);

#endif
