/*
 * names.c — text for the public enums (errors, drop and RST reasons, TCP
 * states, log kinds, host operations), generated from the X-macro lists in
 * vnat.h so a name can never drift from its enum.
 */
#include <vnat/vnat.h>

const char *vnat_strerror(int err)
{
    switch (err) {
#define VNAT_X_CASE(name, value, text)                                                             \
    case value:                                                                                    \
        return text;
        VNAT_ERRORS(VNAT_X_CASE)
#undef VNAT_X_CASE
    default:
        return "unknown error";
    }
}

#define VNAT_X_TEXT(name, text) text,
static const char *const drop_names[] = {VNAT_DROP_REASONS(VNAT_X_TEXT)};
static const char *const rst_names[] = {VNAT_RST_REASONS(VNAT_X_TEXT)};
static const char *const tcp_state_names[] = {VNAT_TCP_STATES(VNAT_X_TEXT)};
static const char *const log_kind_names[] = {VNAT_LOG_KINDS(VNAT_X_TEXT)};
static const char *const op_names[] = {VNAT_OPS(VNAT_X_TEXT)};
#undef VNAT_X_TEXT

static const char *name_of(const char *const *names, int count, int i)
{
    return (i >= 0 && i < count) ? names[i] : "unknown";
}

const char *vnat_drop_reason_name(int reason)
{
    return name_of(drop_names, VNAT_DROP__COUNT, reason);
}
const char *vnat_rst_reason_name(int reason)
{
    return name_of(rst_names, VNAT_RST__COUNT, reason);
}
const char *vnat_tcp_state_name(int state)
{
    return name_of(tcp_state_names, VNAT_TCP__STATE_COUNT, state);
}
const char *vnat_log_kind_name(int kind)
{
    return name_of(log_kind_names, VNAT_LOG__COUNT, kind);
}
const char *vnat_op_name(int op)
{
    return name_of(op_names, VNAT_OP__COUNT, op);
}

struct vnat_ip vnat_ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct vnat_ip ip = {0};
    ip.family = VNAT_AF_INET;
    ip.addr[0] = a;
    ip.addr[1] = b;
    ip.addr[2] = c;
    ip.addr[3] = d;
    return ip;
}
