"""Monte-Carlo speed on the paper's network (1024 inputs, 5 x 1000 tanh units, 9 outputs; Glorot
& Bengio 2010), side by side in one run, against the BLAS matrix products alone.

Default table: the throughput of ``varprop.montecarlo`` (networks x inputs per second; each
network is sampled, then its inputs flow forward, gradients flow back with softmax + NLL on
random labels, and s, z, dC/ds, dC/dW are folded into moments and 200-bin histograms) for

  (a) 1 process, 1 BLAS thread;          (b) 1 process, 2 BLAS threads;
  (c) W Dask worker processes (``distributed.LocalCluster``, one thread and one BLAS thread
      each), every task ``sample_networks`` on its own batch of networks, then ``combine``;

and the "GEMM" rows: only the products a pass needs (z W forward, delta W^T backward) at the
same shapes, 1 and 2 BLAS threads. ``x GEMM1`` is a row's throughput over the single-thread
GEMM throughput (the ceiling of one core), ``x 2 GEMM1`` over twice it (the ceiling of two).
The Dask run excludes cluster start-up and the JIT compile (a small task warms every worker
first); rounds are interleaved, each row reports its best round and the median. On a shared
machine ``CPU use`` (CPU seconds of the row's processes / wall seconds: ideally 1, or 2 for (b)
and (c)) shows whether a row had its cores, and ``per CPU-s`` compares inputs per CPU second
with GEMM1's, the fraction a row would reach on cores of its own. (c)'s Measurement is checked
bit for bit against (a)'s (both run one BLAS thread per network).

    python benchmarks/montecarlo_speed.py [--networks 16] [--samples 1000] [--repeat 3]
        [--workers 2] [--batch 2] [--dtype float64] [--dask-defaults]
    python benchmarks/montecarlo_speed.py --passes [--samples 10000]   # kernels vs NumPy

Measured here (2-core AMD EPYC VM, OpenBLAS 0.3.31, float64, the defaults, quiet rounds):
GEMM1 ~61 GFLOP/s; (a) 79-81 % of GEMM1; (b) 60-65 % of 2 x GEMM1; (c) 74-77 % of 2 x GEMM1
(68-71 % with --dask-defaults; 79 % with 5000 inputs per network). What (a) spends beyond the
products, per network of 1000 inputs (~380 ms): the Numba statistics kernels ~45 ms, weight
sampling ~13 ms, input sampling and bookkeeping ~11 ms; two processes side by side do not slow
each other, so (c) loses only Dask's share on top of (a).

``--passes`` prints the older table instead: one pass of varprop's Numba kernels against a
plain NumPy version of the same work, per dtype and thread setting, with ``efficiency`` = GEMM
time / pass time.
"""
from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import time

import numba
import numpy as np
from threadpoolctl import threadpool_info

from varprop.engine import WORKER_CONFIG, WORKER_ENV
from varprop.kernels import passes
from varprop.montecarlo import _pass, batches, combine, measure_spec, sample_networks
from varprop.quantities import QUANTITIES
from varprop.threads import thread_limits

WIDTHS = [1024, 1000, 1000, 1000, 1000, 1000, 9]
# The engine's Dask settings for CPU-bound workers (varprop.engine.WORKER_CONFIG; each worth a
# few per cent of (c) here, --dask-defaults drops them): no statistical profiler sampling the
# task's stack every 10 ms; no MALLOC_TRIM_THRESHOLD_=65536 (it turns off glibc's adaptive mmap
# threshold, so every weight matrix and input chunk is mapped and faulted in afresh); and slower
# housekeeping (event-loop tick, system and memory monitors), which on 2 cores otherwise takes
# ~3 % of a core from the workers.
BINS = 200


def setup(dtype, samples, chunk, seed=0):
    rng = np.random.default_rng(seed)
    W = [rng.uniform(-1, 1, (a, b)).astype(dtype) / np.sqrt(a).astype(dtype)
         for a, b in zip(WIDTHS[:-1], WIDTHS[1:])]
    xs = [rng.normal(size=(chunk, WIDTHS[0])).astype(dtype) for _ in range(samples // chunk)]
    labels = [rng.integers(0, WIDTHS[-1], chunk) for _ in xs]
    return W, xs, labels


def varprop_pass(W, xs, labels):
    L = len(W)
    acc = {q: [passes.new_accumulator(BINS) for _ in range(L)] for q in QUANTITIES}
    ranges = {q: np.tile([-4.0, 4.0], (L, 1)) for q in QUANTITIES}
    col_sq = [np.einsum("ij,ij->j", w, w, dtype=np.float64) for w in W]
    jac = [np.zeros((passes.N_BLOCKS, 2)) for _ in range(L - 1)]
    pairs = [(np.arange(32), np.arange(min(32, w.shape[1]))) for w in W]
    work = {}                          # reused buffers, as sample_networks runs the pass
    for x, y in zip(xs, labels):
        _pass(x, W, [None] * L, "tanh", y, None, acc, ranges, col_sq, jac, pairs, work)


def _stats(a):
    fin = a[np.isfinite(a)]
    return fin.size, fin.sum(dtype=np.float64), np.square(fin, dtype=np.float64).sum(), \
        np.histogram(fin, BINS, (-4.0, 4.0))[0]


def numpy_pass(W, xs, labels):
    """The same work in plain NumPy (no Numba)."""
    for x, y in zip(xs, labels):
        zs, fps = [x], []
        _stats(x)
        for k, w in enumerate(W):
            s = zs[-1] @ w
            _stats(s)
            if k < len(W) - 1:
                z = np.tanh(s)
                fps.append(1 - z * z)
                zs.append(z)
                _stats(z)
                _ = np.einsum("rc,c->r", fps[-1] ** 2, np.einsum("ij,ij->j", w, w))
        p = np.exp(s - s.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        delta = p
        delta[np.arange(len(y)), y] -= 1
        for k in range(len(W) - 1, -1, -1):
            _stats(delta)
            z = zs[k]
            _ = (z.sum(1) * delta.sum(1)).sum(), ((z * z).sum(1) * (delta * delta).sum(1)).sum()
            np.histogram((z[:, :32, None] * delta[:, None, :32]).ravel(), BINS, (-4.0, 4.0))
            if k > 0:
                delta = (delta @ W[k].T) * fps[k - 1]


def gemm_only(W, xs, labels):
    for x in xs:
        zs = [x]
        for w in W:
            zs.append(zs[-1] @ w)
        d = zs[-1]
        for k in range(len(W) - 1, 0, -1):
            d = d @ W[k].T


def flops(samples):
    fwd = sum(2 * a * b for a, b in zip(WIDTHS[:-1], WIDTHS[1:]))
    bwd = sum(2 * a * b for a, b in zip(WIDTHS[1:-1], WIDTHS[2:]))
    return samples * (fwd + bwd)


def best(fn, args, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return min(times)


def _same_bits(a, b) -> bool:
    """Two Measurements equal in every statistic array, the Jacobian statistics and the cost."""
    arrays = [(getattr(a.stats[q], f), getattr(b.stats[q], f)) for q in a.stats
              for f in vars(a.stats[q])]
    arrays += [(getattr(a, k), getattr(b, k)) for k in ("jacobian_mean_sq", "jacobian_mean_sq_se",
                                                        "jacobian_mean", "cost")]
    return all(np.array_equal(x, y, equal_nan=True) for x, y in arrays)


def _blas_threads_here():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def workers_table(args):
    """(a), (b), (c) and the GEMM rows on the paper's network; see the module docstring."""
    import dask
    from distributed import Client, LocalCluster

    dtype, R, S = np.dtype(args.dtype), args.networks, args.samples
    spec = measure_spec(WIDTHS, "tanh", "standard", networks=R, samples=S, dtype=args.dtype,
                        chunk=args.chunk, seed=0)
    tiny = measure_spec([16, 12, 12, 9], "tanh", "standard", networks=1, samples=8,
                        dtype=args.dtype, chunk=args.chunk)
    gemm_nets = min(R, 4)        # the products of 4 networks' inputs: the ceiling, re-timed
    W, xs, labels = setup(dtype, gemm_nets * S, args.chunk)
    gemm_rows = len(xs) * args.chunk
    env = WORKER_ENV
    t = time.perf_counter()
    with dask.config.set(WORKER_CONFIG if not args.dask_defaults else {}):
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=logging.ERROR, env=env)
    client = Client(cluster)
    # warm-up outside the timing: the Numba kernels (from their cache) and BLAS on every worker
    client.run(sample_networks, tiny, 0, 1)
    blas_on_workers = client.run(_blas_threads_here)
    started = time.perf_counter() - t
    sample_networks(tiny, 0, 1)

    def local(blas):
        return combine(spec, [sample_networks(spec, 0, R, blas_threads=blas, numba_threads=1)])

    def dask():
        futures = [client.submit(sample_networks, spec, a, b, blas_threads=1, numba_threads=1,
                                 pure=False) for a, b in batches(R, args.batch)]
        return combine(spec, client.gather(futures))

    def gemm(blas):
        with thread_limits(blas, 1):
            gemm_only(W, xs, labels)

    def worker_cpu():
        return sum(client.run(time.process_time).values())

    # rows: label, function, inputs (networks x samples) it covers, CPU seconds of its processes
    rows = [("GEMM, 1 BLAS thread", lambda: gemm(1), gemm_rows, time.process_time),
            ("(a) 1 process, 1 BLAS thread", lambda: local(1), R * S, time.process_time),
            ("(b) 1 process, 2 BLAS threads", lambda: local(2), R * S, time.process_time),
            (f"(c) {args.workers} Dask workers x 1 BLAS", dask, R * S, worker_cpu),
            ("GEMM, 2 BLAS threads", lambda: gemm(2), gemm_rows, time.process_time)]
    times = {label: [] for label, *_ in rows}
    cpus = {label: [] for label, *_ in rows}
    results = {}
    try:
        for _ in range(args.repeat):                    # interleaved: shared-machine drift
            for label, fn, _, cpu in rows:
                c = cpu()
                t = time.perf_counter()
                results[label] = fn()
                times[label].append(time.perf_counter() - t)
                cpus[label].append(cpu() - c)
    finally:
        client.close()
        cluster.close()

    blas = [f"{i['internal_api']} {i['version']}" for i in threadpool_info()
            if i["user_api"] == "blas"]
    print(f"# {platform.machine()}, {os.cpu_count()} cores, numba {numba.__version__}, "
          f"numpy {np.__version__}, BLAS {blas}; worker BLAS threads {blas_on_workers}")
    print(f"# network {WIDTHS} tanh, standard init, {args.dtype}; {R} networks x {S} inputs "
          f"(chunks of {args.chunk}); Dask batches of {args.batch} networks"
          f"{' (Dask default settings)' if args.dask_defaults else ''}; cluster start + "
          f"warm-up {started:.1f} s (not timed); best of {args.repeat} interleaved rounds")
    print("# CPU use: CPU seconds of the working processes / wall seconds in the best round "
          "(below 1 or 2: the machine was shared); per CPU-s: inputs per CPU second over GEMM1's")
    g1 = gemm_rows / min(times["GEMM, 1 BLAS thread"])
    g1_cpu = gemm_rows / min(cpus["GEMM, 1 BLAS thread"])
    print(f"{'':38} {'best s':>7} {'median s':>8} {'inputs/s':>9} {'GFLOP/s':>8} "
          f"{'x GEMM1':>8} {'x 2 GEMM1':>9} {'CPU use':>7} {'per CPU-s':>9}")
    for label, _, n, _ in rows:
        k = int(np.argmin(times[label]))
        best_t, med_t = times[label][k], statistics.median(times[label])
        rate = n / best_t
        print(f"{label:38} {best_t:7.2f} {med_t:8.2f} {rate:9.0f} {flops(n) / best_t / 1e9:8.1f} "
              f"{rate / g1:8.0%} {rate / (2 * g1):9.0%} {cpus[label][k] / best_t:7.2f} "
              f"{n / min(cpus[label]) / g1_cpu:9.0%}")
    c = f"(c) {args.workers} Dask workers x 1 BLAS"
    print(f"# (c) reaches {R * S / min(times[c]) / (args.workers * g1):.0%} of {args.workers} x "
          f"the single-thread GEMM throughput (target: 75 %)")
    same = _same_bits(results["(a) 1 process, 1 BLAS thread"],
                      results[c])
    print(f"# (c) Measurement identical to (a) bit for bit: {'yes' if same else 'NO'}")


def passes_table(args):
    blas = [f"{i['internal_api']} {i['version']} ({i['prefix']})" for i in threadpool_info()
            if i["user_api"] == "blas"]
    print(f"# {platform.machine()}, numba {numba.__version__}, numpy {np.__version__}, BLAS: {blas}")
    print(f"# network {WIDTHS}, {args.samples} inputs in chunks of {args.chunk}, best of {args.repeat}")
    print(f"{'dtype':8} {'BLAS':>4} {'numba':>5} {'GEMM s':>8} {'GFLOP/s':>8} {'numpy s':>8} "
          f"{'varprop s':>9} {'efficiency':>10} {'vs numpy':>8}")
    for dtype in (np.float32, np.float64):
        W, xs, labels = setup(dtype, args.samples, args.chunk)
        varprop_pass(W, xs[:1], labels[:1])           # compile outside the timing
        for blas_t, nb_t in [(1, 1), (2, 1), (2, 2)]:
            with thread_limits(blas_t, nb_t):
                g = best(gemm_only, (W, xs, labels), args.repeat)
                npt = best(numpy_pass, (W, xs, labels), args.repeat)
                vp = best(varprop_pass, (W, xs, labels), args.repeat)
            print(f"{np.dtype(dtype).name:8} {blas_t:>4} {nb_t:>5} {g:8.3f} "
                  f"{flops(args.samples) / g / 1e9:8.1f} {npt:8.3f} {vp:9.3f} {g / vp:10.2f} "
                  f"{npt / vp:8.2f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--passes", action="store_true",
                    help="kernels vs NumPy per dtype and thread setting instead")
    ap.add_argument("--networks", type=int, default=16)
    ap.add_argument("--samples", type=int, default=None,
                    help="inputs per network (default 1000; 10000 with --passes)")
    ap.add_argument("--chunk", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=2, help="networks per Dask task")
    ap.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    ap.add_argument("--dask-defaults", action="store_true",
                    help="workers with Dask's default profiler and malloc settings")
    args = ap.parse_args(argv)
    if args.passes:
        args.samples = args.samples or 10_000
        passes_table(args)
    else:
        args.samples = args.samples or 1000
        workers_table(args)


if __name__ == "__main__":
    main()
