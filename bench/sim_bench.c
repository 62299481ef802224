/*
 * sim_bench.c — the simulator's speed benchmark as its own executable
 * (`vnat-sim-bench [--quick]`): simulated events per second and a 1 GiB
 * transfer each way at MTU 65520, with the core's invariant check after
 * every event. Prints one JSON object. Same as `vnat sim bench`.
 */
int sim_bench_main(int argc, char **argv);

int main(int argc, char **argv)
{
    static char arg0[] = "sim", arg1[] = "bench";
    char *args[3] = {arg0, arg1, argc > 1 ? argv[1] : (char *)0};
    return sim_bench_main(argc > 1 ? 3 : 2, args);
}
