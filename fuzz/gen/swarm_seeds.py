#!/usr/bin/env python3
"""Writes candidate seeds for fuzz_swarm: deterministic byte strings (a fixed
Python PRNG, nothing downloaded) of the lengths the swarm consumes in byte
mode (sim/rng.h: 4 bytes per draw). Each names one swarm run. Replay them
with build/dev/fuzz/fuzz_replay_swarm before checking them in: a seed whose
run fails is a finding (fuzz/findings/swarm/), not a seed.
    python3 fuzz/gen/swarm_seeds.py [OUTDIR]"""
import os
import random
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "corpus", "swarm")
os.makedirs(out, exist_ok=True)
r = random.Random(42)
for i in range(16):
    n = r.choice([16, 32, 64, 128, 256])
    with open(os.path.join(out, "swarm-%02d" % i), "wb") as f:
        f.write(bytes(r.randrange(256) for _ in range(n)))
