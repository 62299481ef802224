/*
 * fmt.h — layer 0: tiny text formatters for the dump and the invariant
 * messages (the core may not call the printf family).
 */
#ifndef VNAT_FMT_H
#define VNAT_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <vnat/vnat.h>

struct fmt_buf {
    char *buf;
    size_t cap;
    size_t len; /* length the full text needs */
};
void fmt_str(struct fmt_buf *b, const char *s);
void fmt_u64(struct fmt_buf *b, uint64_t v);
void fmt_hex(struct fmt_buf *b, uint64_t v);
void fmt_ip(struct fmt_buf *b, const struct vnat_ip *ip);
void fmt_finish(struct fmt_buf *b);
/* Write msg to why (why_len bytes, NUL-terminated) if why is given; returns 1,
 * so an invariant check can `return fmt_fail(why, why_len, "...")`. */
int fmt_fail(char *why, size_t why_len, const char *msg);
/* The same, naming a flow slot: "msg (flow #slot)". */
int fmt_fail_flow(char *why, size_t why_len, const char *msg, uint64_t slot);

#endif
