/*
 * parse.h — the one grammar of the simulator's text inputs: the scenario
 * files (docs/scenarios.md) and the directives the swarm draws. scenario.c,
 * gsvc.c and inbound.c all read their words through it:
 *
 *   words      blanks (space, tab, CR) separate words; '#' starts a comment
 *   key=value  split at the first '='
 *   numbers    decimal, an optional fraction, an optional unit; exact (no
 *              floating point). Each value is of one kind, which decides
 *              the units it takes:
 *                time    ns us ms s m h        (no unit: nanoseconds)
 *                number  K M G KiB MiB GiB     (powers of 1024)
 *                rate    % ppm                 (kept as parts per million)
 *                any     every unit above      (expect's VALUE)
 *   addresses  a.b.c.d, a.b.c.d:port, a.b.c.d/N: each field decimal, 1 to
 *              5 digits, at most 255 (octet), 65535 (port) or 32 (prefix),
 *              nothing after the last
 *   errors     "FILE:LINE: WHAT: WORD", the first error only
 */
#ifndef VNAT_SIM_PARSE_H
#define VNAT_SIM_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vnat/vnat.h>

/* Where the words come from, and the first error found in them. */
struct sim_parser {
    const char *name; /* the file; NULL: errors carry no "FILE:LINE: " */
    int line;
    char *err;
    size_t err_len;
    bool bad; /* an error is in err */
};

enum sim_num_kind { SIM_NUM_TIME, SIM_NUM_NUMBER, SIM_NUM_RATE, SIM_NUM_ANY };
enum sim_port_rule { SIM_PORT_NONE, SIM_PORT_REQUIRED, SIM_PORT_OPTIONAL };

/* Record "FILE:LINE: what[: word]" unless an error is already there.
 * Returns false, so a failing check can `return sim_parse_fail(...)`. */
bool sim_parse_fail(struct sim_parser *p, const char *what, const char *word);

/* Cut line in place into at most max words (the comment dropped). Returns
 * the count, or -1 ("too many words") when there are more. */
int sim_parse_words(struct sim_parser *p, char *line, char **words, int max);

/* Whether word is key=value. */
bool sim_parse_is_kv(const char *word);
/* Split key=value in place at the first '='; false when there is none. */
bool sim_parse_split(char *word, char **key, char **val);
/* The same, failing with "expected key=value". */
bool sim_parse_kv(struct sim_parser *p, char *word, char **key, char **val);

/* A number of the given kind, nothing else around it. */
bool sim_parse_value(const char *s, enum sim_num_kind kind, uint64_t *out);
/* A number of the kind within [min, max]; fails with "bad duration", "bad
 * number", "bad rate" or "bad value" (with the units the kind takes), or
 * "out of range MIN..MAX". */
bool sim_parse_num(struct sim_parser *p, const char *s, enum sim_num_kind kind, uint64_t min,
                   uint64_t max, uint64_t *out);
/* Shorthands: a duration, a number (both 0..UINT64_MAX). */
bool sim_parse_time(struct sim_parser *p, const char *s, uint64_t *out);
bool sim_parse_u64(struct sim_parser *p, const char *s, uint64_t *out);
/* sim_parse_num into 32 bits (0..UINT32_MAX). */
bool sim_parse_u32(struct sim_parser *p, const char *s, enum sim_num_kind kind, uint32_t *out);
/* A rate up to 100%, in parts per million ("a rate above 100%"). */
bool sim_parse_rate(struct sim_parser *p, const char *s, uint32_t *ppm);
/* A key whose value goes straight into a field of the caller's struct: a
 * uint32_t or a uint64_t (a rate is a uint32_t, at most 100%). */
struct sim_key {
    const char *name;
    size_t offset;
    enum sim_num_kind kind;
    uint8_t size;
};
/* The size of a field that must be 4 or 8 bytes: another size gives an
 * array of negative length, which does not compile. */
#define SIM_KEY_SIZE(type, field)                                                                  \
    sizeof(char[sizeof(((type *)0)->field) == 4 || sizeof(((type *)0)->field) == 8                 \
                    ? (long)sizeof(((type *)0)->field)                                             \
                    : -1])
#define SIM_KEY(name, kind, type, field)                                                           \
    {                                                                                              \
        name, offsetof(type, field), kind, (uint8_t)SIM_KEY_SIZE(type, field)                      \
    }
/* If k names one of the n keys, parse v into that field of base: 1 done,
 * -1 a bad value (the error is in p), 0 not one of them. */
int sim_parse_key(struct sim_parser *p, const struct sim_key *keys, size_t n, void *base,
                  const char *k, const char *v);

/* One of n words: *out is its index in names; fails with "what: s". */
bool sim_parse_choice(struct sim_parser *p, const char *s, const char *const *names, int n,
                      const char *what, int *out);
/* on / off ("expected on or off"). */
bool sim_parse_on_off(struct sim_parser *p, const char *s, bool *out);

/* sim_parse_value of a duration (*ok false when s is not one). */
uint64_t sim_parse_duration(const char *s, bool *ok);

/* a.b.c.d into out[4]. */
bool sim_parse_ip4(const char *s, uint8_t out[4]);
/* a.b.c.d[:port] as the rule says (port 0 when there is none). */
bool sim_parse_addr(const char *s, enum sim_port_rule rule, struct vnat_sockaddr *a);
/* sim_parse_addr failing with "bad address (want ...)". */
bool sim_parse_sockaddr(struct sim_parser *p, const char *s, enum sim_port_rule rule,
                        struct vnat_sockaddr *a);
/* a.b.c.d or a.b.c.d/N (a bare address is /32); fails with "bad CIDR". */
bool sim_parse_cidr(struct sim_parser *p, const char *s, struct vnat_ip *net, uint8_t *prefix);

#endif
