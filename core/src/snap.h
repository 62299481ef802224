/*
 * snap.h — layer 4: the snapshot image of an instance (docs/snapshot.md):
 * its header, sections and checksum, and the save/load of every layer's
 * state (the DNS cache through dns.h's own hooks). vnat.c (layer 5) owns
 * the API, the configuration checks and the memory; this module only turns
 * state into bytes and back, validating every field it reads.
 */
#ifndef VNAT_SNAP_H
#define VNAT_SNAP_H

#include "base.h"
#include "sbuf.h"

/* Write the image of nat into buf (cap bytes; NULL to count). Returns its
 * length; the image is complete (length and checksum filled in) only when
 * that is at most cap. */
size_t snap_write(const struct vnat *nat, uint8_t *buf, size_t cap);

/* An image being read: its sections, and the next section tag expected. */
struct snap_in {
    struct sbuf_r r;
    uint16_t next;
};

/* Check the header (magic, major version, length) and the checksum.
 * VNAT_OK and *in positioned on the first section, or the error. */
vnat_err snap_open(const void *snap, size_t len, struct snap_in *in);

/* The CONFIG section: its scalars into *c (rules and forwards NULL, their
 * counts set, struct_size = sizeof *c), *rules and *fwds over the records
 * snap_read_rules / snap_read_forwards decode. */
vnat_err snap_read_config(struct snap_in *in, struct vnat_config *c, struct sbuf_r *rules,
                          struct sbuf_r *fwds);
void snap_read_rules(struct sbuf_r *r, struct vnat_rule *out, uint32_t n);
void snap_read_forwards(struct sbuf_r *r, struct vnat_forward *out, uint32_t n);

/* Every section after the config, into an instance freshly initialised
 * from that config; `now` is the restore's clock (same_clock: the
 * snapshot's own, times kept). VNAT_OK or the error. */
vnat_err snap_read_state(struct vnat *nat, struct snap_in *in, uint64_t now, bool same_clock);

/* Sockets-lost mode, after a restore read clean: the listeners are asked
 * for again (VNAT_E_HOST if the host refuses one: nothing else was done),
 * then every TCP flow is reset toward the guest (tcp_restore_lost) and
 * every datagram flow forgotten without a host call (its next datagram
 * opens a new one). */
vnat_err snap_lose_sockets(struct vnat *nat);

#endif
