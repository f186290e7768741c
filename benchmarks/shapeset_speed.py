"""Shapeset-3×2 generation speed in images per second, on one core (the generator is a
single-threaded Numba kernel). Target: >= 50,000 images/s for 32×32, so that generation is
never what training waits for.

    .venv/bin/python benchmarks/shapeset_speed.py [--n 200000] [--repeats 3]

Reports the best of ``repeats`` runs for large batches (32×32 and 64×64), and for the
training stream's minibatches of 10 (which adds one Python call per minibatch).
"""
from __future__ import annotations

import argparse
import os
import platform
import time

from varprop.datasets.shapeset import ShapesetConfig, ShapesetStream, generate


def best_rate(fn, n, repeats):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="images per timed run")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):          # one core, as the target says
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print(f"Shapeset-3×2 generation, one core ({platform.processor() or platform.machine()}), "
          f"best of {args.repeats}")
    generate(10, seed=0)                          # compile (or load the Numba cache)
    generate(10, seed=0, config=ShapesetConfig(size=64))
    for size in (32, 64):
        cfg = ShapesetConfig(size=size)
        n = args.n if size == 32 else args.n // 4
        chunk = 10_000

        def run():
            for start in range(0, n, chunk):
                generate(chunk, seed=1, start=start, config=cfg)
        rate = best_rate(run, n, args.repeats)
        print(f"  {size}x{size}, batches of {chunk:,}: {rate:12,.0f} images/s")
    n = args.n // 4

    def run_stream():
        s = ShapesetStream(batch_size=10, seed=2)
        for _ in range(n // 10):
            next(s)
    rate = best_rate(run_stream, n, args.repeats)
    print(f"  32x32, stream minibatches of 10: {rate:12,.0f} images/s")
    one = ShapesetConfig(p_two=0.0)
    rate = best_rate(lambda: generate(args.n // 2, seed=3, config=one), args.n // 2, args.repeats)
    print(f"  32x32, one object only (no overlap redraws): {rate:12,.0f} images/s")


if __name__ == "__main__":
    main()
