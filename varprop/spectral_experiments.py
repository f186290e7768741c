"""Experiments beyond the mean (Fig. S, Fig. P): the spectrum of J J^T at several depths for
several initialisations, and the order/chaos phase diagram with measured correlation maps.

Kinds, with ``experiments``' interface (``entries``, ``tasks``, ``finish``, ``memory_needed``)
so that ``varprop.engine`` plans, runs and stores them like every other result:

- ``jacobian_spectrum``: one entry per init; one task per network (``spectrum.network_spectra``
  with the network's own generator, so the bits do not depend on how networks are split), then
  ``finish`` stacks the eigenvalues and adds the predictions (``spectrum.predict_spectrum``,
  ``spectrum.density``) and the calibrated verdict (``spectrum.compare``) at each depth.
- ``phase_diagram``: one entry; chi_c over a (sigma_w^2, sigma_b^2) grid, the boundary, and
  Monte-Carlo correlation maps at a few grid points (``varprop.phase``).

Nothing here writes a file; every number a figure draws is computed here.
"""
from __future__ import annotations

import numpy as np

KINDS = ("jacobian_spectrum", "phase_diagram")
DENSITY_POINTS = 200
DENSITY_ETA = 1e-4   # relative smoothing of the drawn density (invisible on a log axis)
DECADES = 7          # the density is drawn over the top DECADES decades of the support
HISTOGRAM_BINS = 50


def entries(kind: str, params: dict) -> dict:
    _check(kind)
    if kind == "phase_diagram":
        return {"result": dict(params)}
    return {init: {**{k: v for k, v in params.items() if k != "inits"}, "init": init}
            for init in params["inits"]}


def _check(kind):
    if kind not in KINDS:
        raise ValueError(f"unknown experiment kind {kind!r}; choose one of: {', '.join(KINDS)}")


def memory_needed(kind: str, params: dict) -> int:
    _check(kind)
    n = int(params["width"])
    if kind == "phase_diagram":
        return 8 * n * n * 3            # one layer's weights and two batches of pre-activations
    return 8 * n * n * 6                # J, W, W^T J and the SVD's work arrays, float64


def network_task(params: dict, r: int) -> dict:
    """Network r of an init's spectrum: {depth: eigenvalues of J J^T}."""
    from .initialization import resolve_scheme
    from .spectrum import network_rng, network_spectra

    depths = tuple(int(d) for d in params["depths"])
    seed = int(params.get("seed", 0))
    out = network_spectra(int(params["width"]), depths, params["activation"],
                          resolve_scheme(params["init"]), float(params.get("var_x", 1.0)),
                          float(params.get("bias_variance", 0.0)), network_rng(seed, r))
    return {d: out[d] for d in depths}


def tasks(kind: str, params: dict) -> list[tuple]:
    _check(kind)
    if kind == "phase_diagram":
        return [(correlation_task, (params, k)) for k in range(len(params["measured_weights"]))]
    return [(network_task, (params, r)) for r in range(int(params["networks"]))]


def finish(kind: str, params: dict, partials=()) -> tuple[dict, dict]:
    _check(kind)
    return (_spectrum if kind == "jacobian_spectrum" else _phase)(params, list(partials))


def correlation_task(params: dict, k: int) -> dict:
    """The Monte-Carlo correlation map at the k-th measured sigma_w^2 (``phase``): per layer
    the measured correlation of a pair of inputs (mean, SE across networks) and the theory."""
    from .phase import measure_correlation_map

    m = measure_correlation_map(params["activation"], float(params["measured_weights"][k]),
                                float(params["measured_bias"]), [float(params["c_in"])],
                                int(params["width"]), int(params["depth"]),
                                int(params["networks"]), int(params.get("seed", 0)) + k)
    return {"correlation": m.correlation[:, 0], "se": m.se[:, 0], "theory": m.theory[:, 0],
            "tolerance": m.tolerance()[:, 0], "q": m.q}


def _phase(p: dict, partials: list) -> tuple[dict, dict]:
    """chi_c over the grid, the boundary, xi_c along the measured line, and the measured
    correlation maps beside the theory."""
    from .phase import boundary, depth_scales, phase_grid

    act = p["activation"]
    w = np.linspace(*(float(v) for v in p["weight_range"]), int(p["grid"]))
    b = np.linspace(*(float(v) for v in p["bias_range"]), int(p["grid"]))
    grid = phase_grid(act, w, b)
    fine_b = np.linspace(*(float(v) for v in p["bias_range"]), 4 * int(p["grid"]))
    line = np.array([float(v) for v in p["measured_weights"]])
    xi_c = np.array([depth_scales(act, wv, float(p["measured_bias"]))[1] for wv in line])
    arrays = {"weight_variances": w, "bias_variances": b, "chi_c": grid.chi_c,
              "boundary_bias": fine_b, "boundary_weight": boundary(act, fine_b),
              "measured_weights": line, "xi_c": xi_c,
              "correlation": np.stack([t["correlation"] for t in partials]),     # (k, depth)
              "correlation_se": np.stack([t["se"] for t in partials]),
              "correlation_theory": np.stack([t["theory"] for t in partials]),
              "correlation_tolerance": np.stack([t["tolerance"] for t in partials])}
    agree = np.abs(arrays["correlation"] - arrays["correlation_theory"]) \
        <= arrays["correlation_tolerance"]
    return arrays, {"activation": act, "measured_bias": float(p["measured_bias"]),
                    "c_in": float(p["c_in"]), "width": int(p["width"]),
                    "depth": int(p["depth"]), "networks": int(p["networks"]),
                    "agree": bool(agree.all()), "points_agreeing": int(agree.sum()),
                    "points": int(agree.size)}


def _spectrum(p: dict, partials: list) -> tuple[dict, dict]:
    from .initialization import resolve_scheme
    from .spectrum import SpectrumMeasurement, compare, density, predict_spectrum

    n, R = int(p["width"]), int(p["networks"])
    scheme = resolve_scheme(p["init"])
    arrays, per_depth = {}, {}
    for d in (int(v) for v in p["depths"]):
        widths = [n] * (d + 1)
        eig = np.stack([part[d] for part in partials])                     # (R, n)
        pred = predict_spectrum(widths, p["activation"], scheme,
                                var_x=float(p.get("var_x", 1.0)),
                                bias_variance=float(p.get("bias_variance", 0.0)))
        meas = SpectrumMeasurement(tuple(widths), pred.activation, scheme.name, scheme.law, R,
                                   int(p.get("seed", 0)), eig.mean(1), eig.var(1), eig.max(1))
        top = max(pred.max, float(eig.max()))
        x = np.geomspace(top * 10.0 ** -DECADES, top * 1.2, DENSITY_POINTS)
        arrays[f"eigenvalues_{d}"] = eig
        arrays[f"x_{d}"] = x
        # the measured density of log10 lambda over all eigenvalues (those below x[0] counted,
        # not binned), on HISTOGRAM_BINS bins spanning x
        edges = np.linspace(np.log10(x[0]), np.log10(x[-1]), HISTOGRAM_BINS + 1)
        with np.errstate(divide="ignore"):
            logs = np.log10(eig.ravel())
        counts, _ = np.histogram(logs, bins=edges)
        arrays[f"histogram_edges_{d}"] = edges
        arrays[f"histogram_{d}"] = counts / (logs.size * np.diff(edges))
        arrays[f"below_{d}"] = np.array(np.mean(logs < edges[0]))
        arrays[f"density_{d}"] = (density(pred, x, DENSITY_ETA) if pred.variance > 0
                                  else np.zeros_like(x))
        per_depth[str(d)] = compare(pred, meas)
    return arrays, {"width": n, "networks": R, "activation": p["activation"],
                    "init": scheme.name, "law": scheme.law, "depths": per_depth}
