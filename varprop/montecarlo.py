"""Sample networks at initialisation and measure per-layer statistics with standard errors.

For each of R independently sampled networks, N inputs flow forward and gradients flow back,
in chunks; the Numba kernels of ``kernels.passes`` fold every pre-activation s^i, activation
z^i, back-propagated gradient dC/ds^i and per-example weight gradient dC/dW^i into streaming
accumulators. Units of one network share its weights, so the standard error of a statistic is
the spread of its per-network values across the R networks, never N * n as if independent.

Indexing, for widths n_0..n_L: s^i, dC/ds^i, dC/dW^i for the weight layers i = 0..L-1; z^i is
the input of W^i (z^0 = x); J^i = dz^{i+1}/dz^i for the hidden layers i = 0..L-2.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .initialization import resolve_scheme, sample_weights
from .kernels import passes
from .kernels import derivative_code, numpy_functions, numpy_ufunc
from .choices import INPUT_LAWS, TOP_GRADIENTS
from .symbolic.activations import get_activation
from .symbolic.schemes import Scheme
from .theory import meanfield_theory
from .threads import thread_limits
from .quantities import PERCENTILES, QUANTITIES
from .resources import require_memory
from .validation import check_positive, check_widths



@dataclass
class LayerStatistics:
    """One quantity in every layer: arrays over layers (and bins)."""

    mean: np.ndarray
    mean_se: np.ndarray
    variance: np.ndarray
    variance_se: np.ndarray
    p2: np.ndarray
    p98: np.ndarray
    histogram: np.ndarray     # (layers, bins): a density (integrates to the in-range fraction)
    edges: np.ndarray         # (layers, bins + 1)
    out_of_range: np.ndarray  # fraction of finite values outside the bins
    nonfinite: np.ndarray     # count of NaN/inf values (excluded from every statistic)
    per_network_variance: np.ndarray   # (networks, layers)


@dataclass
class Measurement:
    widths: tuple[int, ...]
    activation: str
    init: str
    law: str
    networks: int
    samples: int
    seed: int
    var_x: float
    input_law: str
    top: str
    bias_variance: float
    dtype: str
    stats: dict[str, LayerStatistics] = field(repr=False)
    top_gradient_variance: float = 1.0   # measured Var[dC/ds^{L-1}]
    jacobian_mean_sq: np.ndarray = None  # (L-1,) mean squared singular value, all inputs
    jacobian_mean_sq_se: np.ndarray = None
    jacobian_mean: np.ndarray = None     # (L-1,) mean singular value, from SVDs of a sample
    jacobian_mean_se: np.ndarray = None
    jacobian_inputs: int = 0
    cost: float = float("nan")           # mean NLL when top == "softmax"
    scheme: Scheme = field(default=None, repr=False)

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("activation", "init", "law", "networks", "samples",
                                             "seed", "var_x", "input_law", "top",
                                             "bias_variance", "dtype", "top_gradient_variance",
                                             "jacobian_inputs", "cost")}
        out["widths"] = list(self.widths)
        out["stats"] = {q: {k: np.asarray(v).tolist() for k, v in vars(s).items()
                            if k not in ("histogram", "edges", "per_network_variance")}
                        for q, s in self.stats.items()}
        for k in ("jacobian_mean_sq", "jacobian_mean_sq_se", "jacobian_mean", "jacobian_mean_se"):
            out[k] = np.asarray(getattr(self, k)).tolist()
        return out


@dataclass(frozen=True, eq=False)
class MeasureSpec:
    """The validated arguments of one Monte-Carlo measurement (``measure_spec``), everything
    a worker needs to sample any of its networks: small and picklable (no inputs, no weights).

    scheme: the resolved initialisation (``init.resolve_scheme``); input_law: "normal",
    "uniform" or "data" (inputs given to ``sample_networks``); var_x: Var[x], of the given
    inputs' first ``samples`` rows when there are inputs; ranges: per quantity the final
    histogram ranges, (L, 2) read-only float64 [lo, hi) per layer.
    """

    widths: tuple[int, ...]
    activation: str
    scheme: Scheme
    networks: int
    samples: int
    seed: int
    var_x: float
    input_law: str
    top: str
    bias_variance: float
    dtype: str
    bins: int
    ranges: dict = field(repr=False)
    chunk: int = 500
    jacobian_inputs: int = 0
    weight_pairs: int = 32


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _default_ranges(widths, activation, scheme, var_x, top, bias_variance, bins_sd=8.0):
    """Histogram ranges per quantity and layer: the activation's range when bounded, else
    +-bins_sd predicted standard deviations (mean-field theory) around the predicted mean.

    Only the bins depend on this guess, never a statistic's value. For the softmax top the
    gradient's scale is taken as that of uniform predictions, E[(p - y)^2] = (1/C)(1 - 1/C).
    """
    classes = widths[-1]
    var_top = 1.0 if top == "injected" else (1 - 1 / classes) / classes if classes > 1 else 1.0
    p = meanfield_theory(widths, activation, scheme, var_x, var_top, bias_variance)
    L = len(widths) - 1
    lo_f, hi_f = get_activation(activation).limits
    bounded = lo_f.is_finite and hi_f.is_finite

    def around(mean, var):
        sd = np.sqrt(np.maximum(var, 1e-300)) * bins_sd
        return np.stack([mean - sd, mean + sd], axis=1)

    ranges = {
        "preactivation": around(np.zeros(L), p.preactivation_variance),
        "backprop": around(np.zeros(L), p.backprop_variance),
        "weight_gradient": around(np.zeros(L), p.weight_gradient_variance),
    }
    act = around(p.activation_mean, p.activation_variance)
    if bounded:
        act[1:] = [float(lo_f), float(hi_f)]
    act[0] = around(np.zeros(1), np.array([var_x]))[0]
    ranges["activation"] = act
    return ranges


def _percentile(hist_row, edges, pct):
    """Percentile from a histogram with under/overflow counts at [B], [B+1]; NaN if it falls
    outside the bins."""
    bins = len(edges) - 1
    counts = hist_row[:bins].astype(float)
    total = counts.sum() + hist_row[bins] + hist_row[bins + 1]
    if total == 0:
        return float("nan")
    target = pct / 100.0 * total - hist_row[bins]
    if target < 0 or target > counts.sum():
        return float("nan")
    cum = np.cumsum(counts)
    k = int(np.searchsorted(cum, target))
    k = min(k, bins - 1)
    before = cum[k - 1] if k > 0 else 0.0
    frac = (target - before) / counts[k] if counts[k] > 0 else 0.0
    return float(edges[k] + frac * (edges[k + 1] - edges[k]))


def _summarise(mom, hist, ranges):
    """mom: (R, L, 4) per-network sums; hist: (L, B+2). Honest SEs across networks."""
    R, L = mom.shape[:2]
    n, s1, s2 = mom[..., passes.COUNT], mom[..., passes.SUM], mom[..., passes.SUMSQ]
    with np.errstate(invalid="ignore", divide="ignore"):
        grand = s1.sum(0) / n.sum(0)                               # (L,)
        m_r = s1 / n
        v_r = s2 / n - 2 * grand * m_r + grand**2                  # E_r[(v - grand mean)^2]
        se = (lambda a: a.std(0, ddof=1) / np.sqrt(R)) if R > 1 else (lambda a: np.full(L, np.nan))
        bins = hist.shape[1] - 2
        edges = np.stack([np.linspace(lo, hi, bins + 1) for lo, hi in ranges])
        total = hist.sum(1)
        width = np.diff(edges, axis=1)
        density = hist[:, :bins] / (np.maximum(total, 1)[:, None] * width)
        out = (hist[:, bins] + hist[:, bins + 1]) / np.maximum(total, 1)
    return LayerStatistics(
        mean=grand, mean_se=se(m_r), variance=v_r.mean(0), variance_se=se(v_r),
        p2=np.array([_percentile(hist[k], edges[k], PERCENTILES[0]) for k in range(L)]),
        p98=np.array([_percentile(hist[k], edges[k], PERCENTILES[1]) for k in range(L)]),
        histogram=density, edges=edges, out_of_range=out,
        nonfinite=mom[..., passes.NONFINITE].sum(0), per_network_variance=v_r)


def _buffer(work, key, rows, cols, dtype):
    """A (rows, cols) array: fresh when ``work`` is None, else rows of a buffer in ``work`` kept
    across chunks and networks (allocating the big temporaries afresh maps and zeroes new pages
    each time: about 15 % of a pass on the paper's network)."""
    if work is None:
        return np.empty((rows, cols), dtype)
    a = work.get(key)
    if a is None or a.shape[0] < rows or a.shape[1] != cols or a.dtype != dtype:
        a = work[key] = np.empty((rows, cols), dtype)
    return a[:rows]


def _pass(x, W, b, activation, labels, top_delta, acc, ranges, col_sq, jac, pairs, work=None):
    """One chunk forward and back through one network, folding everything into ``acc``.

    x: (rows, n_0); W[k]: (n_k, n_{k+1}); labels: (rows,) for softmax + NLL at the top, or
    ``top_delta(shape)`` giving the injected top gradient. Returns (s, z, f'(s), delta, cost):
    lists over layers of the pre-activations, activations (z[0] = x), derivatives and
    back-propagated gradients dC/ds, and the summed NLL. work: None, or a dict whose buffers
    the big arrays reuse (same bits; the returned arrays are then overwritten by the next call).
    """
    L = len(W)
    code, (f, fprime) = derivative_code(activation), numpy_functions(activation)
    ufunc = numpy_ufunc(activation) if work is not None else None
    ss, zs, fps, deltas = [], [x], [], [None] * L
    cost = 0.0
    rows = x.shape[0]
    passes.accumulate(x, *acc["activation"][0], *ranges["activation"][0])
    for k in range(L):
        if work is None:
            s = zs[k] @ W[k]                                       # (rows, n_{k+1})
        else:
            s = np.matmul(zs[k], W[k], out=_buffer(work, ("s", k), rows, W[k].shape[1],
                                                   np.result_type(zs[k], W[k])))
        if b[k] is not None:
            s += b[k]
        ss.append(s)
        if k < L - 1:
            if ufunc is not None:                                  # tanh: np.tanh in place
                z = ufunc(s, out=_buffer(work, ("z", k), rows, s.shape[1], s.dtype))
            else:
                z = f(s)
            fp = _buffer(work, ("fp", k), rows, s.shape[1], s.dtype)
            if code is None:                  # not built in: f'(s) from its generated ufunc
                fp[...] = fprime(s)
            passes.forward_layer(s, z, -1 if code is None else code, fp, *acc["preactivation"][k],
                                 *ranges["preactivation"][k], *acc["activation"][k + 1],
                                 *ranges["activation"][k + 1], col_sq[k], jac[k])
            zs.append(z)
            fps.append(fp)
        else:
            passes.accumulate(s, *acc["preactivation"][k], *ranges["preactivation"][k])
            if top_delta is None:
                delta = np.empty_like(s)
                cost += passes.softmax_nll_gradient(s, labels, delta).sum()
            else:
                delta = top_delta(s.shape)
    passes.accumulate(delta, *acc["backprop"][L - 1], *ranges["backprop"][L - 1])
    for k in range(L - 1, -1, -1):
        deltas[k] = delta
        passes.weight_gradient(zs[k], delta, *pairs[k], *acc["weight_gradient"][k],
                               *ranges["weight_gradient"][k])
        if k > 0:
            if work is None:
                g = delta @ W[k].T                                 # (rows, n_k), eq. (2)
            else:
                g = np.matmul(delta, W[k].T, out=_buffer(work, ("g", k), rows, W[k].shape[0],
                                                         np.result_type(delta, W[k])))
            passes.backward_layer(g, fps[k - 1], *acc["backprop"][k - 1], *ranges["backprop"][k - 1])
            delta = g
    return ss, zs, fps, deltas, cost


def forward_backward(x, W, activation: str, *, labels=None, top_gradient=None, biases=None):
    """The kernels' forward and backward pass for given weights and inputs (no statistics kept).

    x: (rows, n_0); W: list of (n_k, n_{k+1}); labels: (rows,) class indices for softmax + NLL,
    or top_gradient: (rows, n_L) dC/ds at the top. Returns dict with lists ``s``, ``z``,
    ``delta`` (dC/ds per layer) and ``cost`` (summed NLL, NaN with top_gradient).
    """
    get_activation(activation)
    if (labels is None) == (top_gradient is None):
        raise ValueError("give exactly one of labels (softmax + NLL) or top_gradient")
    L = len(W)
    b = list(biases) if biases is not None else [None] * L
    acc = {q: [passes.new_accumulator(2) for _ in range(L)] for q in QUANTITIES}
    ranges = {q: np.tile([-1.0, 1.0], (L, 1)) for q in QUANTITIES}
    col_sq = [np.einsum("ij,ij->j", w, w, dtype=np.float64) for w in W]
    jac = [np.zeros((passes.N_BLOCKS, 2)) for _ in range(L - 1)]
    pairs = [(np.arange(1), np.arange(1))] * L
    top = None if top_gradient is None else (lambda shape: np.array(top_gradient, dtype=x.dtype))
    lab = None if labels is None else np.asarray(labels, dtype=np.int64)
    ss, zs, _, deltas, cost = _pass(x, W, b, activation, lab, top, acc, ranges, col_sq,
                                    jac, pairs)
    return {"s": ss, "z": zs, "delta": deltas, "cost": cost if labels is not None else float("nan")}


def measure_spec(widths, activation: str = "tanh", init: str | Scheme = "standard", *,
                 law: str | None = None, networks: int = 16, samples: int = 1000, seed: int = 0,
                 var_x: float = 1.0, input_law: str = "normal", inputs=None,
                 top: str = "softmax", bias_variance: float = 0.0, dtype: str = "float64",
                 bins: int = 200, ranges: dict | None = None, chunk: int = 500,
                 jacobian_inputs: int = 0, weight_pairs: int = 32) -> MeasureSpec:
    """Validate ``measure``'s arguments (same meaning, same ValueErrors) into a MeasureSpec.

    inputs: the optional (N, n_0) array is only checked here and read for Var[x] (the input
    variance that sets the mean-field ranges); it is not stored, so pass the same array to
    ``sample_networks``.
    """
    widths = check_widths(widths)
    get_activation(activation)
    scheme = resolve_scheme(init, law)
    networks = _check_int("networks", networks, 1)
    samples = _check_int("samples", samples, 1)
    seed = _check_int("seed", seed, 0)
    bins = _check_int("bins", bins, 2)
    chunk = _check_int("chunk", chunk, 1)
    jacobian_inputs = _check_int("jacobian_inputs", jacobian_inputs, 0)
    weight_pairs = _check_int("weight_pairs", weight_pairs, 1)
    var_x = check_positive("var_x", var_x)
    if input_law not in INPUT_LAWS:
        raise ValueError(f"unknown input law {input_law!r}; choose one of: {', '.join(INPUT_LAWS)}")
    if top not in TOP_GRADIENTS:
        raise ValueError(f"unknown top gradient {top!r}; choose one of: {', '.join(TOP_GRADIENTS)}")
    if dtype not in ("float32", "float64"):
        raise ValueError(f"unknown dtype {dtype!r}; choose one of: float32, float64")
    bias_variance = float(bias_variance)
    if not np.isfinite(bias_variance) or bias_variance < 0:
        raise ValueError(f"bias_variance must be a non-negative number, got {bias_variance!r}")
    if inputs is not None:
        inputs = _check_inputs(inputs, samples, widths[0])
        var_x = float(inputs[:samples].var())
        input_law = "data"
    L = len(widths) - 1
    given = dict(ranges or {})
    unknown = sorted(set(given) - set(QUANTITIES))
    if unknown:
        raise ValueError(f"unknown quantity {unknown[0]!r} in ranges; choose from: "
                         f"{', '.join(QUANTITIES)}")
    resolved = {}
    for q, r in {**_default_ranges(widths, activation, scheme, var_x, top, bias_variance),
                 **given}.items():
        r = np.array(r, dtype=np.float64)                              # (L, 2): [lo, hi)
        if r.shape != (L, 2):
            raise ValueError(f"ranges[{q!r}] must have shape ({L}, 2), got {r.shape}")
        r.setflags(write=False)
        resolved[q] = r
    spec = MeasureSpec(widths, activation, scheme, networks, samples, seed, var_x, input_law,
                       top, bias_variance, dtype, bins, resolved, chunk, jacobian_inputs,
                       weight_pairs)
    require_memory(memory_needed(widths, dtype=dtype, samples=samples, chunk=chunk, bins=bins,
                                 jacobian_inputs=jacobian_inputs),
                   f"measuring {'-'.join(map(str, widths))} networks",
                   "use smaller widths, fewer samples per chunk or fewer bins")
    return spec


def memory_needed(widths, *, dtype: str = "float64", samples: int = 1000, chunk: int = 500,
                  bins: int = 200, jacobian_inputs: int = 0) -> int:
    """Bytes ``sample_networks`` holds at its peak for these ``measure_spec`` arguments,
    roughly: one network's weights (and the float64 draw of the largest layer), a chunk's
    forward and backward arrays (s, z, f'(s), dC/ds per layer), the histogram accumulators,
    and one Jacobian with its SVD copy."""
    item = np.dtype(dtype).itemsize
    layers = [a * b for a, b in zip(widths[:-1], widths[1:])]
    rows = min(chunk, samples)
    weights = sum(layers) * item + max(layers) * 8
    passes_ = rows * (widths[0] * 8 + sum(widths) * item * 4)
    histograms = len(QUANTITIES) * len(layers) * passes.N_BLOCKS * (bins + 2) * 8
    jacobian = 2 * max(layers) * 8 if jacobian_inputs else 0
    return weights + passes_ + histograms + jacobian


def _check_inputs(inputs, samples, n0):
    inputs = np.asarray(inputs)
    if inputs.ndim != 2 or inputs.shape[1] != n0 or inputs.shape[0] < samples:
        raise ValueError(f"inputs must have shape (>= {samples}, {n0}), got {inputs.shape}")
    return inputs


def _check_spec(spec):
    if not isinstance(spec, MeasureSpec):
        raise ValueError(f"spec must be a MeasureSpec (see measure_spec), "
                         f"got {type(spec).__name__}")


def batches(networks: int, size: int) -> list[tuple[int, int]]:
    """Split networks 0..networks-1 into consecutive ranges [first, stop) of at most ``size``
    networks each, in network order: the batches ``sample_networks`` takes."""
    networks = _check_int("networks", networks, 1)
    size = _check_int("size", size, 1)
    return [(a, min(a + size, networks)) for a in range(0, networks, size)]


def sample_networks(spec: MeasureSpec, first: int, stop: int, inputs=None, *,
                    blas_threads: int | None = 1, numba_threads: int | None = 1) -> dict:
    """Sample networks r = first..stop-1 of ``spec`` and measure each: one pure task.

    Network r draws everything (weights, biases, weight pairs, inputs, labels, top gradients)
    from its own stream ``np.random.default_rng([seed, r])``, so a batch's result does not
    depend on which other networks share its task. Runs under ``thread_limits(blas_threads,
    numba_threads)`` (default one of each: one task per core). inputs: the (N, n_0) array given
    to ``measure_spec``, or None for random inputs. Returns plain NumPy arrays, n = stop - first:

    - ``networks`` (n,) int64: the network indices r;
    - ``moments`` (n, Q, L, 4): per network, quantity (``QUANTITIES`` order: s^i, z^i,
      dC/ds^i of eq. (2), dC/dW^i of eq. (3)) and layer, the count, sum, sum of squares and
      non-finite count (``kernels.passes``);
    - ``histograms`` (Q, L, bins + 2) int64: bin counts summed over the batch (then under- and
      overflow);
    - ``jacobian_mean_sq`` (n, L-1): mean squared singular value of J^i = dz^{i+1}/dz^i
      (Section 4.2.2);
    - ``jacobian_mean`` (n, L-1): mean singular value over the SVD'd inputs (NaN without any);
    - ``cost`` (n,): summed NLL over the network's inputs (0 with the injected top).
    """
    _check_spec(spec)
    first = _check_int("first", first, 0)
    stop = _check_int("stop", stop, first + 1)
    if stop > spec.networks:
        raise ValueError(f"stop must be <= networks = {spec.networks}, got {stop}")
    if spec.input_law == "data":
        if inputs is None:
            raise ValueError("this spec was built from inputs: pass the same inputs array")
        inputs = _check_inputs(inputs, spec.samples, spec.widths[0])
    elif inputs is not None:
        raise ValueError(f"this spec draws {spec.input_law} inputs: build it with inputs= to "
                         "use given inputs")
    # overflow is counted per layer by the kernels (``nonfinite``), not warned about
    with thread_limits(blas_threads, numba_threads), np.errstate(over="ignore", invalid="ignore"):
        work = {}                      # the pass's big arrays, reused by every network here
        rows = [_one_network(spec, r, inputs, work) for r in range(first, stop)]
    hist = rows[0][1]
    for row in rows[1:]:
        hist = hist + row[1]                               # integer counts: any order, same sum
    return {
        "networks": np.arange(first, stop, dtype=np.int64),
        "moments": np.stack([row[0] for row in rows]),
        "histograms": hist,
        "jacobian_mean_sq": np.stack([row[2] for row in rows]),
        "jacobian_mean": np.stack([row[3] for row in rows]),
        "cost": np.array([row[4] for row in rows], dtype=np.float64),
    }


def _one_network(spec, r, inputs, work=None):
    """Network r: returns moments (Q, L, 4), histogram counts (Q, L, bins + 2), the Jacobian
    rows (L-1,) x 2 and the summed cost."""
    widths, L, dt, chunk = spec.widths, len(spec.widths) - 1, np.dtype(spec.dtype), spec.chunk
    rng = np.random.default_rng([spec.seed, r])   # network r's own stream: explicit, reproducible
    W, col_sq = [], []
    for k in range(L):
        W.append(sample_weights(rng, widths[k], widths[k + 1], spec.scheme, dt))  # (n_k, n_{k+1})
        # squared column norms while W^k is still in cache (no draw: the stream is unchanged)
        col_sq.append(np.einsum("ij,ij->j", W[k], W[k], dtype=np.float64))     # (n_{k+1},)
    b = [(rng.normal(0.0, np.sqrt(spec.bias_variance), widths[k + 1]).astype(dt)
          if spec.bias_variance > 0 else None) for k in range(L)]
    pairs = [(np.sort(rng.choice(widths[k], min(spec.weight_pairs, widths[k]), replace=False)),
              np.sort(rng.choice(widths[k + 1], min(spec.weight_pairs, widths[k + 1]),
                                 replace=False)))
             for k in range(L)]
    acc = {q: [passes.new_accumulator(spec.bins) for _ in range(L)] for q in QUANTITIES}
    jac = [np.zeros((passes.N_BLOCKS, 2)) for _ in range(L - 1)]
    svd_done = 0
    svd_sum = np.zeros(max(L - 1, 0))
    cost = 0.0
    sd_x = np.sqrt(spec.var_x)
    for start in range(0, spec.samples, chunk):
        rows = min(chunk, spec.samples - start)
        if inputs is not None:
            x = np.ascontiguousarray(inputs[start:start + rows], dtype=dt)
        elif spec.input_law == "normal":
            x = rng.normal(0.0, sd_x, (rows, widths[0])).astype(dt, copy=False)  # (rows, n_0)
        else:
            a = np.sqrt(3 * spec.var_x)
            x = rng.uniform(-a, a, (rows, widths[0])).astype(dt, copy=False)
        labels = rng.integers(0, widths[-1], rows)
        top_delta = None if spec.top == "softmax" else (
            lambda shape: rng.standard_normal(shape).astype(dt, copy=False))
        _, zs, fps, _, c = _pass(x, W, b, spec.activation, labels, top_delta, acc, spec.ranges,
                                 col_sq, jac, pairs, work)
        cost += c
        while svd_done < spec.jacobian_inputs and svd_done < rows:
            for k in range(L - 1):
                J = fps[k][svd_done][:, None] * W[k].T           # (n_{k+1}, n_k)
                svd_sum[k] += np.linalg.svd(J.astype(np.float64), compute_uv=False).mean()
            svd_done += 1
    mom = np.array([[m.sum(0) for m, _ in acc[q]] for q in QUANTITIES])     # (Q, L, 4)
    hist = np.array([[h.sum(0) for _, h in acc[q]] for q in QUANTITIES])    # (Q, L, bins + 2)
    jac_sq = np.array([jac[k].sum(0)[0] / jac[k].sum(0)[1] / min(widths[k], widths[k + 1])
                       for k in range(L - 1)], dtype=np.float64)           # (L-1,)
    jac_sv = svd_sum / svd_done if svd_done else np.full(max(L - 1, 0), np.nan)
    return mom, hist, jac_sq, jac_sv, float(cost)


def combine(spec: MeasureSpec, partials) -> Measurement:
    """The Measurement of ``spec`` from ``sample_networks`` results given in network order that
    together cover networks 0..R-1 exactly once.

    Per-network rows are stacked, histogram counts (integers) added and the per-network costs
    summed exactly (``math.fsum``), so the result is bit for bit the same however the networks
    were batched. Standard errors are the spread across the R networks (units of one network
    share its weights: see the module docstring).
    """
    _check_spec(spec)
    partials = list(partials)
    if not partials:
        raise ValueError("combine needs at least one partial result")
    order = np.concatenate([np.asarray(p["networks"]) for p in partials])
    if not np.array_equal(order, np.arange(spec.networks)):
        raise ValueError(f"partials must cover networks 0..{spec.networks - 1} once each, in "
                         f"order; got {order.tolist()}")
    L, R = len(spec.widths) - 1, spec.networks
    moments = np.concatenate([p["moments"] for p in partials])            # (R, Q, L, 4)
    hist = partials[0]["histograms"].copy()                               # (Q, L, bins + 2)
    for p in partials[1:]:
        hist += p["histograms"]
    jac_sq = np.concatenate([p["jacobian_mean_sq"] for p in partials])    # (R, L-1)
    jac_sv = np.concatenate([p["jacobian_mean"] for p in partials])       # (R, L-1)
    cost = math.fsum(np.concatenate([p["cost"] for p in partials]).tolist())

    # overflowed networks give inf/NaN statistics, reported through ``nonfinite``, not warned
    with np.errstate(over="ignore", invalid="ignore"):
        stats = {q: _summarise(moments[:, i], hist[i], spec.ranges[q])
                 for i, q in enumerate(QUANTITIES)}
        se = (lambda a: a.std(0, ddof=1) / np.sqrt(len(a))) if R > 1 else (
            lambda a: np.full(a.shape[1], np.nan))
        sv_rows = jac_sv[~np.isnan(jac_sv).any(axis=1)] if L > 1 else jac_sv
        jacobian = dict(
            jacobian_mean_sq=jac_sq.mean(0), jacobian_mean_sq_se=se(jac_sq),
            jacobian_mean=sv_rows.mean(0) if len(sv_rows) else np.full(max(L - 1, 0), np.nan),
            jacobian_mean_se=se(sv_rows) if len(sv_rows) > 1 else np.full(max(L - 1, 0), np.nan))
    scheme = spec.scheme
    return Measurement(
        spec.widths, spec.activation, scheme.name, scheme.law, R, spec.samples, spec.seed,
        spec.var_x, spec.input_law, spec.top, spec.bias_variance, spec.dtype, stats,
        top_gradient_variance=float(stats["backprop"].variance[-1]), **jacobian,
        jacobian_inputs=spec.jacobian_inputs,
        cost=cost / (R * spec.samples) if spec.top == "softmax" else float("nan"), scheme=scheme)


def measure(widths, activation: str = "tanh", init: str | Scheme = "standard", *,
            law: str | None = None, networks: int = 16, samples: int = 1000, seed: int = 0,
            var_x: float = 1.0, input_law: str = "normal", inputs=None, top: str = "softmax",
            bias_variance: float = 0.0, dtype: str = "float64", bins: int = 200,
            ranges: dict | None = None, chunk: int = 500, jacobian_inputs: int = 0,
            weight_pairs: int = 32, blas_threads: int | None = None,
            numba_threads: int | None = 1) -> Measurement:
    """Monte-Carlo statistics of ``networks`` sampled networks on ``samples`` inputs each.

    init/law: the scheme and (optionally) another law to draw it from; inputs: an optional
    array (N, n_0) used instead of random inputs (each network sees ``samples`` rows of it);
    top: "softmax" (softmax + NLL with uniformly random labels) or "injected" (i.i.d. N(0, 1)
    gradients at the top pre-activation); jacobian_inputs: inputs per network whose layer
    Jacobians are decomposed (SVD) for the mean singular value; weight_pairs: per layer,
    a fixed random sample of weight_pairs x weight_pairs weights whose per-example gradients
    fill the weight-gradient histogram (its moments use every weight).
    blas_threads/numba_threads: thread counts (``varprop.threads``; None = all cores).
    Same seed, same arguments, same BLAS threads: the same bits, however the networks are
    split: this is ``combine(spec, [sample_networks(spec, 0, networks, inputs)])``, and any
    batching of ``sample_networks`` over workers gives the same Measurement.
    """
    spec = measure_spec(widths, activation, init, law=law, networks=networks, samples=samples,
                        seed=seed, var_x=var_x, input_law=input_law, inputs=inputs, top=top,
                        bias_variance=bias_variance, dtype=dtype, bins=bins, ranges=ranges,
                        chunk=chunk, jacobian_inputs=jacobian_inputs, weight_pairs=weight_pairs)
    part = sample_networks(spec, 0, spec.networks, inputs, blas_threads=blas_threads,
                           numba_threads=numba_threads)
    return combine(spec, [part])
