/*
 * base.c — layer 0: the panic hook and the drop counter (base.h).
 */
#include "base.h"

void vnat_panic_(const struct vnat *nat, const char *msg)
{
    if (nat != NULL && nat->ops.panic != NULL)
        nat->ops.panic(nat->ctx, msg);
    __builtin_trap();
}

void stats_drop(struct vnat *nat, enum vnat_drop_reason r)
{
    VNAT_ASSERT(nat, (unsigned)r < VNAT_DROP__COUNT);
    nat->stats.drops[r]++;
    nat->drop_events++;
}
