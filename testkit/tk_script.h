/*
 * tk_script.h — scripted host results: what the fake host's next call of an
 * operation returns, instead of what its model would. An entry names an
 * operation (enum vnat_op) and a token (VNAT_TOKEN_NONE: any) and is
 *   once    returned by the next matching call, then gone (queued in order),
 *   always  returned by every matching call until cleared,
 *   add     added to what the model returns (a host that over-reports).
 * Where in an operation a result applies is the fake's own choice (the TCP
 * fake's peek returns a scripted error only once its data is exhausted).
 * Fixed-size and pointer-free.
 */
#ifndef VNAT_TESTKIT_TK_SCRIPT_H
#define VNAT_TESTKIT_TK_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vnat/vnat.h>

#define TK_SCRIPT_MAX 32

enum tk_how { TK_ONCE = 1, TK_ALWAYS, TK_ADD };

struct tk_result {
    uint8_t op, how;
    vnat_token tok;
    long rc;
};

struct tk_script {
    struct tk_result e[TK_SCRIPT_MAX];
    size_t n;
};

void tk_script_once(struct tk_script *s, enum vnat_op op, vnat_token tok, long rc);
void tk_script_always(struct tk_script *s, enum vnat_op op, vnat_token tok, long rc);
void tk_script_add(struct tk_script *s, enum vnat_op op, vnat_token tok, long delta);
/* Drop every entry for op and tok (VNAT_TOKEN_NONE: for op on any token). */
void tk_script_clear(struct tk_script *s, enum vnat_op op, vnat_token tok);
/* A once or always entry for this call: true and *rc (a once entry is used
 * up), or false (the model answers). */
bool tk_script_take(struct tk_script *s, enum vnat_op op, vnat_token tok, long *rc);
/* rc plus every add entry for this call. */
long tk_script_adjust(const struct tk_script *s, enum vnat_op op, vnat_token tok, long rc);

#endif
