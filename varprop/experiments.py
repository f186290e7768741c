"""Experiments at initialisation: an entry's parameters (from ``varprop/configs/*.toml``) → a
result, a dict of NumPy arrays plus a JSON-able ``meta`` dict.

Kinds (``KINDS``): ``init_statistics`` (Figures 6-8, J, V: Monte-Carlo networks at
initialisation, with both theories), ``cost_surface`` (Fig. 5), ``shapeset_examples``
(Fig. 1). ``entries(kind, params)`` splits a config into its results (one per model of
``init_statistics``); ``tasks`` and ``finish`` say how one entry is computed: the Monte-Carlo
networks in batches (``montecarlo.sample_networks``, one task each), then one step that
combines them in network order and adds the theories; the other kinds in one step. Where the
steps run and where the results are stored is ``varprop.engine``'s and ``varprop.store``'s
business: nothing here writes a file.

Every number a figure draws, measured or predicted, is computed here; figure modules only plot.
Theory curves come from ``varprop.theory`` / ``varprop.check`` (the one source of truth).
"""
from __future__ import annotations

import numpy as np

from .quantities import QUANTITIES, STAT_FIELDS

KINDS = ("init_statistics", "cost_surface", "shapeset_examples")
NETWORKS_PER_TASK = 1      # Monte-Carlo networks per task (results do not depend on it)


# ----------------------------------------------------------------------------- theory helpers

def predicted_activation_density(activation: str, q, z, weights=None):
    """Density of z = f(s), s ~ N(0, q), at the points z (inside f's range), by change of
    variables: p(z) = φ_q(s) / |f'(s)| with s = f^{-1}(z), f^{-1} found by bisection on the
    monotone NumPy f of the activation registry. With an array of variances q and their
    weights, the mixture Σ_g w_g p_{q_g}(z) (inputs that differ in norm)."""
    f, fp = _numpy(activation)
    z = np.asarray(z, dtype=np.float64)
    lo, hi = np.full(z.shape, -60.0), np.full(z.shape, 60.0)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        below = f(mid) < z
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    s = 0.5 * (lo + hi)
    qs = np.atleast_1d(np.asarray(q, dtype=np.float64))
    w = np.ones(1) if weights is None else np.asarray(weights, dtype=np.float64)
    if qs.shape != w.shape:
        raise ValueError(f"need one weight per variance, got {qs.shape} and {w.shape}")
    with np.errstate(divide="ignore", invalid="ignore"):
        dens = sum(wg * gaussian_density(qg, s) for qg, wg in zip(qs, w)) / np.abs(fp(s))
    return np.where(np.isfinite(dens), dens, np.nan)


def gaussian_density(variance: float, x):
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-x * x / (2 * variance)) / np.sqrt(2 * np.pi * variance)


def fraction_within(histogram, edges, a: float) -> np.ndarray:
    """Per layer, the fraction of values with |v| < a from a density histogram (bins partly
    inside count in proportion)."""
    hist = np.atleast_2d(histogram)
    edges = np.atleast_2d(edges)
    lo, hi = edges[:, :-1], edges[:, 1:]
    overlap = np.clip(np.minimum(hi, a) - np.maximum(lo, -a), 0.0, None)
    return (hist * overlap).sum(axis=1)


def _numpy(activation):
    from .kernels import numpy_functions
    return numpy_functions(activation)


# ----------------------------------------------------------------------------- experiment kinds

def _inputs(params):
    if params.get("inputs", "normal") == "shapeset":
        from .datasets import load
        return load("shapeset", "valid", seed=int(params.get("data_seed", 0))).x
    return None


def _shared_ranges(widths, activation, inits, var_x, top):
    """Histogram bins shared by several inits: the union of each one's default ranges."""
    from .initialization import resolve_scheme
    from .montecarlo import _default_ranges

    rs = [_default_ranges(widths, activation, resolve_scheme(i, None), var_x, top, 0.0)
          for i in inits]
    return {q: np.stack([np.min([r[q][:, 0] for r in rs], axis=0),
                         np.max([r[q][:, 1] for r in rs], axis=0)], axis=1) for q in rs[0]}


THEORY_FIELDS = ("activation_mean", "activation_variance", "preactivation_variance",
                 "backprop_variance", "weight_gradient_variance", "jacobian_mean_sq_singular")


def _spec(params):
    """(MeasureSpec, inputs) of one init_statistics entry: activations on bins shared by the
    inits of ``shared_inits`` (the activation's range when bounded); gradients on each model's
    own bins (their spreads differ by orders of magnitude)."""
    from .montecarlo import measure_spec

    widths = tuple(params["widths"])
    inputs = _inputs(params)
    var_x = float(inputs[:int(params["samples"])].var()) if inputs is not None else 1.0
    top = params.get("top", "softmax")
    ranges = {"activation": _shared_ranges(widths, params["activation"], params["shared_inits"],
                                           var_x, top)["activation"]}
    spec = measure_spec(widths, params["activation"], params["init"],
                        networks=int(params["networks"]), samples=int(params["samples"]),
                        seed=int(params.get("seed", 0)), inputs=inputs, top=top,
                        bins=int(params.get("bins", 100)), ranges=ranges,
                        jacobian_inputs=int(params.get("jacobian_inputs", 0)))
    return spec, inputs


def sample_batch(params: dict, first: int, stop: int) -> dict:
    """A task: Monte-Carlo networks first..stop-1 of an init_statistics entry (one thread)."""
    from .montecarlo import sample_networks

    spec, inputs = _spec(params)
    return sample_networks(spec, first, stop, inputs, blas_threads=1, numba_threads=1)


def _measure_one(params, partials):
    """An init_statistics entry's arrays and meta from its networks' batches: the measurement,
    the linear and mean-field theories, and the theories' densities over the histogram bins."""
    from .montecarlo import combine

    spec, inputs = _spec(params)
    m = combine(spec, partials)
    from .check import compare
    from .theory import input_second_moments, propagate_over_inputs, weight_variances

    widths, activation, init = tuple(params["widths"]), params["activation"], params["init"]
    rep = compare(m)
    out = {}
    for q in QUANTITIES:
        st = m.stats[q]
        for fld in STAT_FIELDS:
            out[f"{q}.{fld}"] = np.asarray(getattr(st, fld))
        out[f"{q}.per_network_variance"] = np.asarray(st.per_network_variance)   # (R, L)
    for name in ("jacobian_mean", "jacobian_mean_se", "jacobian_mean_sq", "jacobian_mean_sq_se"):
        v = getattr(m, name)
        out[name] = np.asarray(v if v is not None else [], dtype=np.float64)
    # Theories: "linear" (the paper's) and "meanfield_pooled" (mean field for the pooled
    # Var[x], as ``varprop check`` reports it) for the pooled input variance; "meanfield" for
    # each input's own second moment, averaged over the inputs (what the figures draw).
    # With Gaussian inputs the two mean fields coincide; Shapeset images differ in norm.
    for theory, pred in (("linear", rep.linear), ("meanfield_pooled", rep.meanfield)):
        for fld in THEORY_FIELDS:      # no linear regime (SELU): NaN of the mean field's shape
            v = (getattr(pred, fld) if pred is not None
                 else np.full(np.shape(getattr(rep.meanfield, fld)), np.nan))
            out[f"{theory}.{fld}"] = np.asarray(v, dtype=np.float64)
    moments = (input_second_moments(inputs[:m.samples]) if inputs is not None
               else np.full(1, m.var_x))
    top = m.top_gradient_variance if np.isfinite(m.top_gradient_variance) and \
        m.top_gradient_variance > 0 else 1.0
    avg, preds, weights = propagate_over_inputs(
        widths, weight_variances(widths, m.scheme), activation, moments, top, m.scheme.name,
        m.bias_variance)
    for fld in THEORY_FIELDS:
        out[f"meanfield.{fld}"] = np.asarray(getattr(avg, fld), dtype=np.float64)
    # Predicted curves over each histogram's bin centres: for activations the mean-field
    # distribution of z^k = f(s), s ~ N(0, q_k(x)), averaged over the inputs; for the
    # gradients a Gaussian of the predicted variance (a reference for the spread: the
    # measured gradients are products, f'(s) times a sum, so they are more peaked).
    L = len(widths) - 1
    for q in ("activation", "backprop", "weight_gradient"):
        edges = out[f"{q}.edges"]
        centres = 0.5 * (edges[:, 1:] + edges[:, :-1])
        dens = np.full(centres.shape, np.nan)
        for k in range(L):
            if q == "activation":
                if k == 0:
                    continue
                qk = np.array([p.preactivation_variance[k - 1] for p in preds])
                dens[k] = predicted_activation_density(activation, qk, centres[k], weights)
            else:
                dens[k] = gaussian_density(float(getattr(avg, f"{q}_variance")[k]), centres[k])
        out[f"{q}.predicted_density"] = dens
    out["input_second_moments"] = np.asarray(moments, dtype=np.float64)
    out["meanfield.group_weights"] = weights                                    # (G,)
    out["meanfield.group_preactivation_variance"] = np.array(
        [p.preactivation_variance for p in preds])                              # (G, L)
    meta = {"widths": list(widths), "activation": activation, "init": str(init),
            "var_x": m.var_x, "top_gradient_variance": m.top_gradient_variance,
            "networks": m.networks, "samples": m.samples,
            "finite_width_rel": rep.finite_width_rel}
    return out, meta


def cost_surface(p: dict):
    """Fig. 5: cross-entropy and quadratic cost of a 2-layer tanh network (softmax output) on
    random inputs and random targets, over a grid of one weight in each layer."""
    from .initialization import resolve_scheme, sample_weights
    from .kernels.costs import top_costs

    f, _ = _numpy(p.get("activation", "tanh"))
    n0, n1, n2 = p["widths"]
    rng = np.random.default_rng(int(p.get("seed", 0)))
    x = rng.standard_normal((int(p["samples"]), n0))
    y = rng.integers(0, n2, int(p["samples"]))
    standard = resolve_scheme("standard")          # U[-1/sqrt(n_in), 1/sqrt(n_in)], eq. (1)
    W1 = sample_weights(rng, n0, n1, standard)
    W2 = sample_weights(rng, n1, n2, standard)
    grid = np.linspace(-float(p["extent"]), float(p["extent"]), int(p["grid"]))
    ce = np.empty((grid.size, grid.size))
    quad = np.empty_like(ce)
    for a, w1 in enumerate(grid):
        W1[0, 0] = w1
        h = f(x @ W1)
        for b, w2 in enumerate(grid):
            W2[0, 0] = w2
            s = h @ W2
            ce[a, b] = top_costs(s, y, "nll").mean()
            quad[a, b] = top_costs(s, y, "quadratic").mean()
    return {"w1": grid, "w2": grid, "cross_entropy": ce, "quadratic": quad}, {
        "widths": [n0, n1, n2]}


def shapeset_examples(p: dict):
    """Fig. 1: the first examples of Shapeset-3×2 at each image size, with labels."""
    from .datasets import ShapesetConfig, load

    out, meta = {}, {}
    n = int(p["rows"]) * int(p["cols"])
    for size in p["sizes"]:
        d = load("shapeset", "valid", seed=int(p.get("seed", 0)), n=n,
                 config=ShapesetConfig(size=int(size)))
        out[f"images{size}"] = d.images()[:n]
        out[f"labels{size}"] = d.y[:n]
        meta["classes"] = list(d.classes)
    return out, meta


# ----------------------------------------------------------------------------- entries and steps

def entries(kind: str, params: dict) -> dict:
    """{entry name: entry parameters} of a config (params: its keys less ``kind``): one per
    model of ``init_statistics`` (named by its label), else one named "result"."""
    if kind not in KINDS:
        raise ValueError(f"unknown experiment kind {kind!r}; choose one of: "
                         f"{', '.join(KINDS)}, training")
    if kind != "init_statistics":
        return {"result": dict(params)}
    out = {}
    for label, activation, init in params["models"]:
        same_act = sorted({i for (_, a, i) in params["models"] if a == activation})
        sub = {k: v for k, v in params.items() if k not in ("models", "blas_threads")}
        sub.update(activation=activation, init=init, shared_inits=same_act)
        out[label] = sub
    return out


def memory_needed(kind: str, params: dict) -> int:
    """Bytes one task of this entry holds at its peak, roughly (the Monte-Carlo batches')."""
    if kind != "init_statistics":
        return 0
    from .montecarlo import memory_needed as batch_memory
    return batch_memory(tuple(params["widths"]), samples=int(params["samples"]),
                        bins=int(params.get("bins", 100)),
                        jacobian_inputs=int(params.get("jacobian_inputs", 0)))


def tasks(kind: str, params: dict) -> list[tuple]:
    """The independent steps of one entry before ``finish``: [(function, args)]."""
    if kind != "init_statistics":
        return []
    from .montecarlo import batches
    return [(sample_batch, (params, a, b))
            for a, b in batches(int(params["networks"]), NETWORKS_PER_TASK)]


def finish(kind: str, params: dict, partials=()) -> tuple[dict, dict]:
    """(arrays, meta) of one entry, from its tasks' results in order."""
    if kind == "init_statistics":
        return _measure_one(params, list(partials))
    return {"cost_surface": cost_surface, "shapeset_examples": shapeset_examples}[kind](params)
