/*
 * main.c — the standalone `vnat-sim` executable: `vnat-sim run FILE` is
 * `vnat sim run FILE`. ctest and the README demo use it.
 */
#include "sim.h"

int main(int argc, char **argv)
{
    if (argc > 0)
        argv[0] = "sim";
    return vnat_sim_main(argc, argv);
}
