"""SGD training speed, side by side in one run: varprop's step (the path ``step_for`` picks for
the batch size: the fused Numba path below ``blas_from_batch()`` examples, BLAS blocks from
there), an equivalent PyTorch CPU loop, and the plain NumPy step (``varprop.training.numpy_step``).

The paper's network (1024 inputs, 5 x 1000 tanh units, 9 outputs, softmax + NLL), float32,
normalized init, random inputs and labels (the data stream is left out: it is timed by
``benchmarks/shapeset_speed.py``). Each peer runs the same number of updates at each batch size
and thread count, the three interleaved ``--repeat`` times (this shared machine's speed drifts
by 10-20 % between runs); the table gives the median updates/s and the ratios of the medians,
varprop / PyTorch and varprop / NumPy.

Each timing runs in a fresh Python process (``--peer``), as a user's training run would: in one
process the three libraries' thread pools (PyTorch's OpenMP team, OpenBLAS's, Numba's) all stay
alive after their calls and share the cores. ``--in-process`` times all three in this process
instead, for comparison.

A roofline, both ceilings measured here with as many threads as the cell:
- memory: the copy bandwidth of a 400 MB parallel copy (read + write);
- arithmetic: the float32 FMA throughput of a 2048 x 2048 GEMM (NumPy's BLAS, sgemm), with the
  kernels OpenBLAS itself picks for this CPU. Some machines pin OpenBLAS's kernels for older
  builds (``OPENBLAS_CORETYPE``, ``OPENBLAS_L2_SIZE``): this one to its AVX2 kernels ("Haswell",
  125 GFLOP/s on 1 thread), where a current OpenBLAS left to itself takes its AVX-512 ones
  ("SkylakeX", 240). ``--blas-kernels auto`` (the default) therefore times the GEMM in fresh
  processes with the environment as it is and with both pins unset, takes the faster as the
  ceiling, and runs every peer in that environment (PyTorch's own BLAS reads neither).
  ``--blas-kernels as-set`` keeps the environment as it is.
An update's work, written out: bytes = 12 per parameter (every weight and bias read once forward,
read and written once backward fused with the update) + the activations, 4 arrays of B x sum of
widths float32 (s, f(s), dC/ds written and read); FLOPs = 2 per weight and example forward, 2
for the weight gradient, 2 for dC/dz below (none below the input layer). The roofline time is the
larger of bytes / bandwidth and FLOPs / GEMM rate; ``roofline`` = roofline time / measured time
(1.0: at the machine's limit), ``bound`` names the ceiling that sets it.

    python benchmarks/training_speed.py [--updates 2000] [--batches 10,100,1000] [--threads 1,2]
                                        [--repeat 3] [--in-process] [--blas-kernels auto|as-set]
    python benchmarks/training_speed.py --crossover [--batches 32,48,64,96,128,192,256]

``--crossover`` times varprop's two paths against each other instead, in this process with its
BLAS kernels (the measurement behind ``BLAS_FROM_BATCH``; run it with the pins unset, ``env -u
OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE``, to time OpenBLAS's own choice).

PyTorch is optional (``pip install torch==2.13.0``: a CPU build); without it its column is empty.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import time

import numba
import numpy as np
from threadpoolctl import threadpool_limits

from varprop.threads import thread_limits
from varprop.training import numpy_step
from varprop.training.network import init_network
from varprop.training.sgd import PATHS, blas_kernels, step_for

WIDTHS = (1024, 1000, 1000, 1000, 1000, 1000, 9)
PARAMS = sum(a * b + b for a, b in itertools.pairwise(WIDTHS))   # weights and biases
LR = 0.01


def data(batch, n, seed=0):
    rng = np.random.default_rng(seed)
    xs = rng.uniform(-1, 1, (n, batch, WIDTHS[0])).astype(np.float32)
    ys = rng.integers(0, WIDTHS[-1], (n, batch))
    return xs, ys


def time_loop(step, xs, ys, warm=20):
    for k in range(warm):
        step(xs[k % len(xs)], ys[k % len(ys)])
    t = time.perf_counter()
    for x, y in zip(xs, ys):
        step(x, y)
    return len(xs) / (time.perf_counter() - t)


def varprop_rate(xs, ys, threads, path="auto"):
    """Threads set as ``varprop train`` sets them (Numba, OpenBLAS and the step's own)."""
    net = init_network(WIDTHS, "tanh", "normalized", dtype="float32", seed=0)
    step = step_for(net, xs.shape[1], path=path, threads=threads)
    with thread_limits(blas_threads=threads, numba_threads=threads):
        return time_loop(lambda x, y: step(x, y, LR), xs, ys)


def crossover(args, threads_list):
    """Both paths of varprop's step at each batch size and thread count, interleaved."""
    print(f"# OpenBLAS kernels: {blas_kernels() or 'none reported'}")
    print("| batch | threads | " + " | ".join(f"{p} upd/s" for p in PATHS) + " | faster |")
    print("|---|---|" + "---|" * (len(PATHS) + 1))
    for batch in map(int, args.batches.split(",")):
        xs, ys = data(batch, updates_at(batch, args.updates))
        for threads in threads_list:
            runs = [[varprop_rate(xs, ys, threads, p) for p in PATHS] for _ in range(args.repeat)]
            med = np.median(runs, axis=0)
            print(f"| {batch} | {threads} | " + " | ".join(f"{v:.1f}" for v in med)
                  + f" | {PATHS[int(np.argmax(med))]} |", flush=True)


def numpy_rate(xs, ys, threads):
    net = init_network(WIDTHS, "tanh", "normalized", dtype="float32", seed=0)
    with threadpool_limits(threads):
        return time_loop(lambda x, y: numpy_step.sgd_step(net, x, y, LR), xs, ys)


def torch_rate(xs, ys, threads):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    net = init_network(WIDTHS, "tanh", "normalized", dtype="float32", seed=0)
    layers = []
    for k, (w, b) in enumerate(zip(net.weights, net.biases)):
        lin = torch.nn.Linear(*w.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        layers += [lin] + ([torch.nn.Tanh()] if k < net.n_layers - 1 else [])
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss = torch.nn.CrossEntropyLoss()          # softmax + NLL, mean over the minibatch
    tx, ty = torch.from_numpy(xs), torch.from_numpy(ys)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss(model(x), y).backward()
        opt.step()

    return time_loop(step, tx, ty)


PEERS = {"varprop": varprop_rate, "pytorch": torch_rate, "numpy": numpy_rate}


def updates_at(batch, updates):
    """Timed updates at ``batch``: ``updates`` at batch 10, the same examples above it."""
    return max(20, updates * 10 // batch)


def isolated(peer, batch, threads, updates, env=None):
    """One timing of ``peer`` in a fresh Python process (this script with ``--peer``), in the
    environment ``env`` (default: this one's): its {"rate": ..., "kernels": ...} (rate None
    when the peer is not installed)."""
    cmd = [sys.executable, __file__, "--peer", peer, "--batches", str(batch),
           "--threads", str(threads), "--updates", str(updates)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.splitlines()[-1])


def one_peer(args):
    """--peer: time one peer (or the GEMM ceiling) at one batch and thread count here, print
    {"rate": ..., "kernels": OpenBLAS's kernel set}."""
    batch, threads = int(args.batches), int(args.threads)
    if args.peer == "gemm":
        rate = gemm_flops(threads)
    else:
        xs, ys = data(batch, updates_at(batch, args.updates))
        rate = PEERS[args.peer](xs, ys, threads)
    print(json.dumps({"rate": rate, "kernels": blas_kernels()}))


def per_thread(rates, unit, digits=0):
    """"242 GFLOP/s (1 thread), 481 GFLOP/s (2 threads)" from {threads: rate per second}."""
    return ", ".join(f"{v / 1e9:.{digits}f} {unit} ({t} thread{'s' * (t > 1)})"
                     for t, v in rates.items())


PINS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")   # set on some machines for old OpenBLAS builds


def fma_ceiling(threads_list, choice):
    """(the environment for the peers, {threads: GEMM FLOP/s}, the lines that say what was
    measured): the GEMM in fresh processes in this environment and, with ``choice`` "auto"
    where it pins OpenBLAS's kernels (``PINS``), with both pins unset: OpenBLAS's own choice."""
    candidates = {"as set here": dict(os.environ)}
    if choice == "auto" and any(name in os.environ for name in PINS):
        candidates[f"{' and '.join(PINS)} unset: OpenBLAS's own choice"] = {
            k: v for k, v in os.environ.items() if k not in PINS}
    measured = {}
    for label, env in candidates.items():
        runs = {t: isolated("gemm", 0, t, 0, env) for t in threads_list}
        measured[label] = ({t: r["rate"] for t, r in runs.items()},
                           runs[threads_list[0]]["kernels"])
    best = max(measured, key=lambda c: measured[c][0][max(threads_list)])
    pins = ", ".join(f"{k}={os.environ[k]}" for k in PINS if k in os.environ)
    lines = []
    for label, (rates, kernels) in measured.items():
        how = f"{label}: {pins}" if label == "as set here" and pins else label
        lines.append(f"# float32 GEMM with OpenBLAS's {kernels or '?'} kernels ({how}): "
                     + per_thread(rates, "GFLOP/s")
                     + (" <- the FMA ceiling" if label == best else ""))
    if len(measured) > 1:
        lines.append(f"# every peer runs in the environment of the ceiling ({best})")
    return candidates[best], measured[best][0], lines


@numba.njit(parallel=True, cache=True)
def _copy(dst, src):
    for i in numba.prange(src.shape[0]):
        dst[i] = src[i]


def copy_bandwidth(threads, nbytes=400_000_000, repeat=5):
    """Bytes read + written per second by a parallel copy of a 400 MB array (far beyond the
    caches) on ``threads`` Numba threads: the memory bandwidth the step can hope for."""
    a = np.ones(nbytes // 8, dtype=np.float32)
    b = np.empty_like(a)
    numba.set_num_threads(threads)
    _copy(b, a)
    best = min(_timed(lambda: _copy(b, a)) for _ in range(repeat))
    return 2 * a.nbytes / best


def gemm_flops(threads, n=2048, repeat=5):
    """float32 FLOP/s of an n x n x n GEMM (NumPy's BLAS) on ``threads`` BLAS threads."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    c = np.empty_like(a)
    with threadpool_limits(threads):
        np.matmul(a, b, out=c)
        best = min(_timed(lambda: np.matmul(a, b, out=c)) for _ in range(repeat))
    return 2 * n ** 3 / best


def work(batch):
    """(bytes, FLOPs) of one update at ``batch`` (the module docstring's count)."""
    pairs = list(itertools.pairwise(WIDTHS))
    traffic = 12 * PARAMS + 4 * 4 * batch * sum(WIDTHS)
    flops = sum(2 * batch * a * b * (3 if k > 0 else 2) for k, (a, b) in enumerate(pairs))
    return traffic, flops


def roofline(batch, bandwidth, flop_rate):
    """(updates/s at the roofline, the ceiling that sets it)."""
    traffic, flops = work(batch)
    t_mem, t_fma = traffic / bandwidth, flops / flop_rate
    return 1 / max(t_mem, t_fma), ("memory" if t_mem >= t_fma else "FMA")


def _timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--updates", type=int, default=2000,
                   help="timed updates per cell at batch 10 (fewer at larger batches)")
    p.add_argument("--batches", default="10,100,1000")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--repeat", type=int, default=3,
                   help="timings per cell, the peers interleaved; the table gives medians")
    p.add_argument("--crossover", action="store_true",
                   help="time varprop's fused and BLAS paths against each other")
    p.add_argument("--in-process", action="store_true",
                   help="time every peer in this process instead of one fresh process each "
                        "(with this process's BLAS kernels)")
    p.add_argument("--blas-kernels", choices=("auto", "as-set"), default="auto",
                   help="auto: the faster of this environment and OpenBLAS's own choice of "
                        "kernels (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset), for the "
                        "ceiling and every peer; as-set: this environment as it is")
    p.add_argument("--peer", choices=[*PEERS, "gemm"], help=argparse.SUPPRESS)   # one timing
    args = p.parse_args(argv)
    if args.peer:
        return one_peer(args)
    threads_list = list(map(int, args.threads.split(",")))
    if args.crossover:
        return crossover(args, threads_list)
    bw = {t: copy_bandwidth(t) for t in threads_list}
    if args.in_process:
        env, fma = None, {t: gemm_flops(t) for t in threads_list}
        gemm_lines = [f"# float32 GEMM with this process's {blas_kernels() or '?'} kernels: "
                      + per_thread(fma, "GFLOP/s")]
    else:
        env, fma, gemm_lines = fma_ceiling(threads_list, args.blas_kernels)
    print(f"# {platform.processor() or platform.machine()}, {numba.config.NUMBA_NUM_THREADS} "
          f"cores, numba {numba.__version__}, numpy {np.__version__}")
    print(f"# {PARAMS:,} parameters; copy bandwidth {per_thread(bw, 'GB/s', 1)}")
    print("\n".join(gemm_lines))
    for batch in map(int, args.batches.split(",")):
        traffic, flops = work(batch)
        print(f"# batch {batch}: {traffic / 1e6:.1f} MB and {flops / 1e9:.3f} GFLOP per update")
    print("| batch | threads | varprop upd/s | PyTorch upd/s | NumPy upd/s | vs PyTorch | "
          "vs NumPy | roofline upd/s (bound) | varprop roofline | PyTorch roofline |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for batch in map(int, args.batches.split(",")):
        if args.in_process:
            xs, ys = data(batch, updates_at(batch, args.updates))

            def rate(peer, threads):
                return PEERS[peer](xs, ys, threads)
        else:
            def rate(peer, threads):      # None: PyTorch is not installed
                return isolated(peer, batch, threads, args.updates, env)["rate"]
        for threads in threads_list:
            runs = [tuple(rate(peer, threads) for peer in PEERS) for _ in range(args.repeat)]
            v, nu = (float(np.median([r[k] for r in runs])) for k in (0, 2))
            t = float(np.median([r[1] for r in runs])) if runs[0][1] else None
            limit, bound = roofline(batch, bw[threads], fma[threads])
            ts = f"{t:.1f}" if t else "—"
            vs_t = f"{v / t:.2f}×" if t else "—"
            t_roof = f"{t / limit:.2f}" if t else "—"
            print(f"| {batch} | {threads} | {v:.1f} | {ts} | {nu:.1f} | {vs_t} | {nu and v / nu:.2f}× "
                  f"| {limit:.1f} ({bound}) | {v / limit:.2f} | {t_roof} |", flush=True)
            if batch == 10:
                print(f"|   |   | 1M updates: {1e6 / v / 3600:.2f} h | "
                      f"{(1e6 / t / 3600) if t else float('nan'):.2f} h | {1e6 / nu / 3600:.2f} h |"
                      "  |  |  |  |  |", flush=True)


if __name__ == "__main__":
    main()
