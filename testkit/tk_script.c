/*
 * tk_script.c — scripted host results (see tk_script.h).
 */
#include "tk_script.h"
#include "tk_socks.h"

#include <string.h>

static void put(struct tk_script *s, enum vnat_op op, uint8_t how, vnat_token tok, long rc)
{
    if (s->n >= TK_SCRIPT_MAX)
        tk_fail("fake host: more than %d scripted results", TK_SCRIPT_MAX);
    s->e[s->n++] = (struct tk_result){.op = (uint8_t)op, .how = how, .tok = tok, .rc = rc};
}

void tk_script_once(struct tk_script *s, enum vnat_op op, vnat_token tok, long rc)
{
    put(s, op, TK_ONCE, tok, rc);
}

void tk_script_always(struct tk_script *s, enum vnat_op op, vnat_token tok, long rc)
{
    put(s, op, TK_ALWAYS, tok, rc);
}

void tk_script_add(struct tk_script *s, enum vnat_op op, vnat_token tok, long delta)
{
    put(s, op, TK_ADD, tok, delta);
}

static bool matches(const struct tk_result *r, enum vnat_op op, vnat_token tok)
{
    return r->op == (uint8_t)op && (r->tok == VNAT_TOKEN_NONE || r->tok == tok);
}

static void drop(struct tk_script *s, size_t i)
{
    memmove(&s->e[i], &s->e[i + 1], (s->n - i - 1) * sizeof s->e[0]);
    s->n--;
}

void tk_script_clear(struct tk_script *s, enum vnat_op op, vnat_token tok)
{
    for (size_t i = s->n; i-- > 0;)
        if (s->e[i].op == (uint8_t)op && (tok == VNAT_TOKEN_NONE || s->e[i].tok == tok))
            drop(s, i);
}

bool tk_script_take(struct tk_script *s, enum vnat_op op, vnat_token tok, long *rc)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct tk_result *r = &s->e[i];
        if (r->how == TK_ADD || !matches(r, op, tok))
            continue;
        *rc = r->rc;
        if (r->how == TK_ONCE)
            drop(s, i);
        return true;
    }
    return false;
}

long tk_script_adjust(const struct tk_script *s, enum vnat_op op, vnat_token tok, long rc)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->e[i].how == TK_ADD && matches(&s->e[i], op, tok))
            rc += s->e[i].rc;
    return rc;
}
