"""Trained networks against the theories, as text: ``varprop train --report``.

At each monitor point, per layer, the measured Var[z^k], Var[dC/ds^k] and Var[dC/dW^k]
(``monitors.monitor``) beside the linear-regime and mean-field predictions for the network's
weight variances at that point (``monitors.theory_comparison``), and the ratio measured /
predicted; then one summary line: the largest |log10 ratio| of each theory, and where.
"""
from __future__ import annotations

import numpy as np

from ..text import format_table
from .monitors import THEORIES

QUANTITIES = (  # (measured key, label)
    ("activation_variance", "Var[z]"),
    ("backprop_variance", "Var[dC/ds]"),
    ("weight_gradient_variance", "Var[dC/dW]"),
)
THEORY_LABELS = {"linear": "linear", "meanfield": "mean field"}
COLUMNS = ("layer", "quantity", "measured", "linear", "meas/lin", "mean field", "meas/mf", "")


def _required() -> list[str]:
    return [k for k, _ in QUANTITIES] + [f"{t}_{k}" for t in THEORIES for k, _ in QUANTITIES]


def _check_points(points: dict, updates, widths) -> tuple[np.ndarray, int, int]:
    """(updates (P,), P, L), or a ValueError naming what is missing or misshapen."""
    L = len(widths) - 1
    if L < 1:
        raise ValueError(f"widths must name at least an input and an output, got {widths!r}")
    updates = np.asarray(updates).reshape(-1)
    missing = [k for k in _required() if k not in points]
    if missing:
        raise ValueError(f"points lack {', '.join(missing)}")
    P = len(updates)
    for k in _required():
        if np.shape(points[k]) != (P, L):
            raise ValueError(f"points[{k!r}] has shape {np.shape(points[k])}, want ({P}, {L}) "
                             f"for {P} monitor points of {L} weight layers")
    return updates, P, L


def _is_input(key: str, k: int, L: int) -> bool:
    """The theories start from these measured values: Var[x] (k = 0) and the top gradient."""
    return (key == "activation_variance" and k == 0) or (key == "backprop_variance"
                                                         and k == L - 1)


def _ratio(measured: float, predicted: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(measured) / np.float64(predicted))


def _point_rows(points: dict, p: int, L: int) -> tuple[list[list[str]], dict]:
    """Table rows of point p, and per theory the worst (|log10 ratio|, where) among compared."""
    rows, worst = [], {t: (-1.0, "") for t in THEORIES}
    for k in range(L):
        for key, label in QUANTITIES:
            mc = float(points[key][p, k])
            pred = {t: float(points[f"{t}_{key}"][p, k]) for t in THEORIES}
            ratio = {t: _ratio(mc, pred[t]) for t in THEORIES}
            note = "input" if _is_input(key, k, L) else ""
            for t in THEORIES:
                r = ratio[t]
                dev = abs(np.log10(r)) if np.isfinite(r) and r > 0 else np.inf
                if not note and dev > worst[t][0]:
                    worst[t] = (dev, f"{label} layer {k}")
            rows.append([str(k), label, f"{mc:.4e}", f"{pred['linear']:.4e}",
                         f"{ratio['linear']:.3g}", f"{pred['meanfield']:.4e}",
                         f"{ratio['meanfield']:.3g}", note])
    return rows, worst


def _summary(worst: dict) -> str:
    parts = []
    for t in THEORIES:
        dev, where = worst[t]
        parts.append(f"{THEORY_LABELS[t]} {dev:.3f} ({where})" if where else
                     f"{THEORY_LABELS[t]} -")
    return "largest |log10(measured/predicted)|: " + "; ".join(parts)


def _point_header(points: dict, p: int, update) -> str:
    head = f"monitor point {p}: update {int(update):,}"
    extra = [f"{name} {float(np.asarray(points[key])[p]):.4g}"
             for key, name in (("cost", "monitor cost"), ("error", "monitor error"))
             if key in points and np.ndim(points[key]) == 1]
    if "weight_variance" in points and np.ndim(points["weight_variance"]) == 2:
        wv = np.asarray(points["weight_variance"])[p]
        extra.append("Var[W] " + ", ".join(f"{v:.3g}" for v in wv))
    if "theory_bias_variance" in points and np.ndim(points["theory_bias_variance"]) == 1:
        extra.append(f"sigma_b^2 {float(points['theory_bias_variance'][p]):.3g}")
    return head + (" (" + "; ".join(extra) + ")" if extra else "")


def format_report(points: dict, updates, widths, activation: str) -> str:
    """Per monitor point, a per-layer table of the measured variances beside both theories'
    predictions for that point's weight variances, and the largest |log10 ratio| per theory.

    points: stacked arrays (P, L) under the measured keys of ``monitors.MONITOR_KEYS``
    (activation_variance, backprop_variance, weight_gradient_variance) and the predicted
    ``linear_*`` / ``meanfield_*`` keys of ``monitors.THEORY_KEYS``; cost, error,
    weight_variance and theory_bias_variance are shown when present. updates: (P,) the
    update count of each point. Rows marked "input" are where a theory starts from the
    measurement (Var[x], the top gradient) and are left out of the summary.
    """
    updates, P, L = _check_points(points, updates, widths)
    lines = [(f"trained vs theory: widths {','.join(map(str, widths))}, {activation}, "
             f"{P} monitor point{'s' if P != 1 else ''}"),
             ("ratio = measured / predicted; predictions for each point's own Var[W^k]; "
             "Var[z] is the input of layer k (z^0 = x, given to the theories as E[x^2])")]
    for p in range(P):
        rows, worst = _point_rows(points, p, L)
        lines += ["", _point_header(points, p, updates[p]),
                  *format_table(COLUMNS, rows, left=(1, 7)), _summary(worst)]
    return "\n".join(lines)
