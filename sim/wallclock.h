/*
 * wallclock.h — the only wall-clock reading in sim/: progress lines and
 * benchmark figures. Its value is printed, never fed into a run, so it
 * cannot affect any outcome or trace.
 */
#ifndef VNAT_SIM_WALLCLOCK_H
#define VNAT_SIM_WALLCLOCK_H

#include <time.h>

static inline double sim_wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of this process: benchmark figures that a loaded machine does
 * not inflate. */
static inline double sim_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
