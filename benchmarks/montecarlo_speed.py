"""Monte-Carlo pass speed, side by side in one run: varprop's kernels, a plain NumPy version of
the same work, and the BLAS matrix products alone.

The paper's network (1024 inputs, 5 x 1000 tanh units, 9 outputs), 10,000 inputs: forward,
backward (softmax + NLL with random labels) and the per-layer statistics of s, z, dC/ds and
dC/dW (moments and 200-bin histograms). The "GEMM" row times only the products the pass needs
(z W forward, delta W^T backward) at the same shapes; its FLOP rate is the ceiling, and
``efficiency`` = GEMM time / pass time is the fraction of that ceiling a pass reaches.

    python benchmarks/montecarlo_speed.py [--samples 10000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import platform
import time

import numba
import numpy as np
from threadpoolctl import threadpool_info

from varprop.kernels import passes
from varprop.montecarlo import _pass
from varprop.quantities import QUANTITIES
from varprop.threads import thread_limits

WIDTHS = [1024, 1000, 1000, 1000, 1000, 1000, 9]
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
    for x, y in zip(xs, labels):
        _pass(x, W, [None] * L, "tanh", y, None, acc, ranges, col_sq, jac, pairs)


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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--chunk", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
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


if __name__ == "__main__":
    main()
