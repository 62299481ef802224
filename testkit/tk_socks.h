/*
 * tk_socks.h — the fake host's socket table, indexed by the token the core
 * names each host socket with, and the byte streams of stream sockets.
 *
 * A fake keeps its own record type and starts it with TK_SOCK (the fields
 * the table manages: tok, used, closed, close_reset, interest, addr), so
 * tests read s->closed or s->addr directly while the table functions see the
 * same bytes as a struct tk_sock. Functions take the record array through
 * TK_TABLE(array), never store it, so a fake whose state must stay
 * pointer-free (the fuzz host copies itself to snapshot a state) can use them.
 *
 * The table is strict the way the fakes are: a new socket named by a token
 * that is still open, or (with a struct tk_closed history) by a token closed
 * before, calls the failure hook — an embedder's event still queued for the
 * closed socket would reach the new one.
 */
#ifndef VNAT_TESTKIT_TK_SOCKS_H
#define VNAT_TESTKIT_TK_SOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vnat/vnat.h>

/* ---- failure hook ------------------------------------------------------ */

/* Called when the kit finds a broken expectation; must not return (pins
 * raise a cmocka failure, the fuzz host traps). NULL: print and abort. */
extern void (*tk_fail_hook)(const char *msg);
void tk_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- the table ----------------------------------------------------------- */

#define TK_SOCK_FIELDS                                                                             \
    vnat_token tok;                                                                                \
    bool used;   /* the record holds a socket, open or closed */                                   \
    bool closed; /* the core closed it */                                                          \
    int close_reset;                                                                               \
    unsigned interest;                                                                             \
    struct vnat_sockaddr addr /* connect/open destination, or bound/listening address */
struct tk_sock {
    TK_SOCK_FIELDS;
};
/* The first member of a fake's socket record. */
#define TK_SOCK                                                                                    \
    union {                                                                                        \
        struct tk_sock sock;                                                                       \
        struct {                                                                                   \
            TK_SOCK_FIELDS;                                                                        \
        };                                                                                         \
    }

static inline bool tk_sock_open(const struct tk_sock *s)
{
    return s->used && !s->closed;
}

/* Tokens closed so far (the first TK_MAX_CLOSED). */
#define TK_MAX_CLOSED 1024
struct tk_closed {
    vnat_token tok[TK_MAX_CLOSED];
    size_t n;
};

/* A view of a record array: made on the spot, never stored. by_index: a
 * token's record is at index (uint32_t)token (a reconnect of the same token
 * finds its record) instead of the first record free or closed. */
struct tk_table {
    struct tk_sock *base;
    size_t n, stride;
    struct tk_closed *closed; /* NULL: no history kept, no reissue check */
    bool by_index;
};
#define TK_TABLE(array) &(array)[0].sock, sizeof(array) / sizeof((array)[0]), sizeof((array)[0])

static inline struct tk_sock *tk_at(const struct tk_table *t, size_t i)
{
    return (struct tk_sock *)((char *)t->base + i * t->stride);
}
/* The index of the record of tok (open only, or also closed), or -1. */
long tk_find(const struct tk_table *t, vnat_token tok, bool open_only);
/* The open record of tok; the failure hook if there is none ("what": the
 * operation, for the message). */
long tk_live(const struct tk_table *t, vnat_token tok, const char *what);
/* The record a new socket tok goes to, after the checks: tok is not NONE,
 * not open, not in the history. Returns -1 when there is no room (by_index:
 * the token's index is past the array; otherwise the table is full). The
 * caller resets its record, then calls tk_sock_set. */
long tk_claim(const struct tk_table *t, vnat_token tok);
void tk_sock_set(struct tk_sock *s, vnat_token tok); /* used, open, tok; other fields kept */
/* Mark closed (the failure hook if it was not open) and record the token. */
void tk_close(const struct tk_table *t, struct tk_sock *s, int reset);
/* Records open (open_only) or used. */
size_t tk_count(const struct tk_table *t, bool open_only);

/* ---- byte streams ------------------------------------------------------- */

/* A stream socket's bytes: what the core sent (tx, at most `space` more
 * accepted) and a scripted receive stream (rx) it peeks and discards.
 * Buffers of TK_STREAM_BUF bytes are allocated on first use. */
#define TK_STREAM_BUF (2u << 20)
#define TK_STREAM_FIELDS                                                                           \
    uint8_t *tx, *rx;                                                                              \
    size_t tx_len;  /* guest bytes the host took */                                                \
    size_t rx_len;  /* total bytes ever received from the peer */                                  \
    size_t rx_disc; /* bytes discarded */                                                          \
    bool rx_eof;                                                                                   \
    bool shut_wr;                                                                                  \
    long space /* free send space: send takes at most this */
struct tk_stream {
    TK_STREAM_FIELDS;
};
#define TK_STREAM                                                                                  \
    union {                                                                                        \
        struct tk_stream stream;                                                                   \
        struct {                                                                                   \
            TK_STREAM_FIELDS;                                                                      \
        };                                                                                         \
    }

/* send: copy min(len, space) bytes; -EAGAIN (-11) if that is none. */
long tk_stream_send(struct tk_stream *s, const uint8_t *buf, size_t len);
/* peek at off: bytes copied, or 0 if none and *none set (the caller decides
 * between end of stream, an error and EAGAIN). */
size_t tk_stream_peek(const struct tk_stream *s, size_t off, uint8_t *buf, size_t len, bool *none);
/* discard: the failure hook if len is more than is held. */
void tk_stream_discard(struct tk_stream *s, size_t len);
/* Script the remote peer: append to the receive stream. */
void tk_stream_feed(struct tk_stream *s, const void *data, size_t len);
void tk_stream_free(struct tk_stream *s);

#endif
