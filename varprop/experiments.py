"""Experiments: a config (a plain dict, from ``simulations/*.toml``) → a result, cached.

A result is a dict of NumPy arrays plus a JSON-able ``meta`` dict. It is stored under the cache
folder as ``KEY.npz`` + ``KEY.json`` (each written to a temporary name, then renamed), where KEY
is the SHA-256 of the experiment's kind, its parameters, the package version and the source of
the package behind the results (so a code change invalidates every result, a config change
only the runs whose parameters changed; the drawing code, the command line and the training
package are left out). A cache hit reads the files and recomputes nothing.

Every number a figure draws, measured or predicted, is computed here; figure modules only plot.
Theory curves come from ``varprop.theory`` / ``varprop.check`` (the one source of truth).

Cache folder: ``$VARPROP_CACHE`` if set, else ``.varprop-cache/`` in the current folder.
"""
from __future__ import annotations

import hashlib
import json
import os
import tomllib
from functools import cache
from pathlib import Path

import numpy as np

from . import __version__
from .datasets.cache import atomic_path
from .quantities import QUANTITIES, STAT_FIELDS

CACHE_ENV = "VARPROP_CACHE"
SCALES = ("smoke", "gallery", "paper")
SIMULATIONS = Path(__file__).resolve().parent.parent / "simulations"

# Counts of runs actually computed in this process (a cache hit adds nothing): tests read it.
COMPUTED: list[str] = []
# Keys recomputed in this process despite a cached result (``recompute=True``): each result is
# recomputed once per process, then reused.
_RECOMPUTED: set[str] = set()


# ----------------------------------------------------------------------------- configs and cache

def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or ".varprop-cache")


def load_config(name: str, scale: str, folder=None) -> dict:
    """``simulations/NAME.toml``: top-level keys shared by every scale, overridden by the keys
    of the [SCALE] table."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of: {', '.join(SCALES)}")
    path = Path(folder or SIMULATIONS) / f"{name}.toml"
    if not path.is_file():
        raise ValueError(f"{path}: no such experiment config")
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    base = {k: v for k, v in raw.items() if k not in SCALES}
    if scale not in raw:
        raise ValueError(f"{path}: no [{scale}] table")
    return {**base, **raw[scale]}


@cache
def code_digest() -> str:
    """SHA-256 over the package's Python source (sorted by path)."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for p in sorted(root.rglob("*.py")):
        if _not_behind_results(p.relative_to(root)):
            continue
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _not_behind_results(rel: Path) -> bool:
    """Source that no init-time result depends on: the drawing code (figures/), the command
    line and its text tables, and the training package (an edit there must not invalidate
    these results)."""
    top_level = len(rel.parts) == 1
    return rel.parts[0] in ("figures", "training") or (
        top_level and rel.name in ("cli.py", "__main__.py", "text.py"))


def digest(kind: str, params: dict) -> str:
    blob = json.dumps({"kind": kind, "params": params, "version": __version__,
                       "code": code_digest()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def cached(kind: str, params: dict, compute, recompute: bool = False) -> dict:
    """The result of ``compute(params)`` for this kind, from the cache when present (with
    ``recompute``: computed anew, once per process, and the cache overwritten)."""
    key = digest(kind, params)
    folder = cache_dir()
    npz, meta_path = folder / f"{key}.npz", folder / f"{key}.json"
    fresh = recompute and key not in _RECOMPUTED
    if npz.is_file() and meta_path.is_file() and not fresh:
        with np.load(npz, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        meta = json.loads(meta_path.read_text())
        return {"meta": meta, **arrays}
    arrays, meta = compute(params)
    meta = {**meta, "kind": kind, "params": params, "digest": key, "version": __version__}
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(npz) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    with atomic_path(meta_path) as tmp:
        tmp.write_text(json.dumps(meta, indent=1, sort_keys=True))
    COMPUTED.append(f"{kind}:{key[:12]}")
    _RECOMPUTED.add(key)
    return {"meta": meta, **arrays}


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
    from .activations import numpy_functions
    return numpy_functions(activation)


# ----------------------------------------------------------------------------- experiment kinds

def _inputs(params):
    if params.get("inputs", "normal") == "shapeset":
        from .datasets import load
        return load("shapeset", "valid", seed=int(params.get("data_seed", 0))).x
    return None


def _shared_ranges(widths, activation, inits, var_x, top):
    """Histogram bins shared by several inits: the union of each one's default ranges."""
    from .init import resolve_scheme
    from .montecarlo import _default_ranges

    rs = [_default_ranges(widths, activation, resolve_scheme(i, None), var_x, top, 0.0)
          for i in inits]
    return {q: np.stack([np.min([r[q][:, 0] for r in rs], axis=0),
                         np.max([r[q][:, 1] for r in rs], axis=0)], axis=1) for q in rs[0]}


THEORY_FIELDS = ("activation_mean", "activation_variance", "preactivation_variance",
                 "backprop_variance", "weight_gradient_variance", "jacobian_mean_sq_singular")


def _measure_one(params, init, activation, ranges, inputs):
    from .check import compare
    from .montecarlo import measure
    from .theory import input_second_moments, propagate_over_inputs, weight_variances

    widths = tuple(params["widths"])
    m = measure(widths, activation, init, networks=int(params["networks"]),
                samples=int(params["samples"]), seed=int(params.get("seed", 0)),
                inputs=inputs, top=params.get("top", "softmax"), bins=int(params.get("bins", 100)),
                ranges=ranges, jacobian_inputs=int(params.get("jacobian_inputs", 0)),
                blas_threads=params.get("blas_threads"))
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
        for fld in THEORY_FIELDS:
            out[f"{theory}.{fld}"] = np.asarray(getattr(pred, fld), dtype=np.float64)
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


def init_statistics(params: dict, recompute: bool = False) -> dict:
    """Per model (activation, init) in params["models"]: Monte-Carlo statistics at
    initialisation with both theories, histograms on bins shared across each activation's inits.
    Returns {"model label": result}."""
    inputs_arr = [None]

    def get_inputs():
        if inputs_arr[0] is None and params.get("inputs", "normal") == "shapeset":
            inputs_arr[0] = _inputs(params)
        return inputs_arr[0]

    results = {}
    widths = tuple(params["widths"])
    for label, activation, init in params["models"]:
        same_act = [i for (_, a, i) in params["models"] if a == activation]
        sub = {k: v for k, v in params.items() if k != "models"}
        sub.update(activation=activation, init=init, shared_inits=sorted(set(same_act)))

        def compute(p, activation=activation, init=init, same_act=same_act):
            inputs = get_inputs()
            var_x = float(inputs[:int(p["samples"])].var()) if inputs is not None else 1.0
            top = p.get("top", "softmax")
            # activations: bins shared across inits (the activation's range when bounded);
            # gradients: each model's own bins (their spreads differ by orders of magnitude)
            ranges = {"activation": _shared_ranges(widths, activation, sorted(set(same_act)),
                                                   var_x, top)["activation"]}
            return _measure_one(p, init, activation, ranges, inputs)

        results[label] = cached("init_statistics", sub, compute, recompute)
    return results


def cost_surface(params: dict, recompute: bool = False) -> dict:
    """Fig. 5: cross-entropy and quadratic cost of a 2-layer tanh network (softmax output) on
    random inputs and random targets, over a grid of one weight in each layer."""
    def compute(p):
        f, _ = _numpy(p.get("activation", "tanh"))
        n0, n1, n2 = p["widths"]
        rng = np.random.default_rng(int(p.get("seed", 0)))
        x = rng.standard_normal((int(p["samples"]), n0))
        y = rng.integers(0, n2, int(p["samples"]))
        W1 = rng.uniform(-1, 1, (n0, n1)) / np.sqrt(n0)
        W2 = rng.uniform(-1, 1, (n1, n2)) / np.sqrt(n1)
        grid = np.linspace(-float(p["extent"]), float(p["extent"]), int(p["grid"]))
        ce = np.empty((grid.size, grid.size))
        quad = np.empty_like(ce)
        onehot = np.eye(n2)[y]
        for a, w1 in enumerate(grid):
            W1[0, 0] = w1
            h = f(x @ W1)
            for b, w2 in enumerate(grid):
                W2[0, 0] = w2
                s = h @ W2
                s = s - s.max(axis=1, keepdims=True)
                logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
                ce[a, b] = -logp[np.arange(y.size), y].mean()
                quad[a, b] = ((np.exp(logp) - onehot) ** 2).sum(axis=1).mean()
        return {"w1": grid, "w2": grid, "cross_entropy": ce, "quadratic": quad}, {
            "widths": [n0, n1, n2]}

    return cached("cost_surface", dict(params), compute, recompute)


def shapeset_examples(params: dict, recompute: bool = False) -> dict:
    """Fig. 1: the first examples of Shapeset-3×2 at each image size, with labels."""
    def compute(p):
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

    return cached("shapeset_examples", dict(params), compute, recompute)


RUNNERS = {"init_statistics": init_statistics, "cost_surface": cost_surface,
           "shapeset_examples": shapeset_examples}
TRAINING = "training"   # kind of the training experiments (varprop.training.sweep)


def run(name: str, scale: str, folder=None, jobs: int = 1, log=print, recompute: bool = False):
    """Load ``simulations/NAME.toml`` at a scale and run its experiment (cached; with
    ``recompute``, computed anew once per process). Training experiments keep their runs in
    their own folders (``varprop.training.sweep``) and train in ``jobs`` processes."""
    cfg = load_config(name, scale, folder)
    kind = cfg.pop("kind")
    if kind == TRAINING:
        from .training import sweep
        return sweep.training(cfg, name, scale, jobs, log, recompute), cfg
    if kind not in RUNNERS:
        raise ValueError(f"{name}: unknown experiment kind {kind!r}; choose one of: "
                         f"{', '.join([*RUNNERS, TRAINING])}")
    return RUNNERS[kind](cfg, recompute=recompute), cfg
