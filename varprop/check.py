"""Theory against measurement: the linear regime, the mean field and Monte-Carlo, layer by layer.

The verdict compares the mean-field prediction (exact at infinite width) with the measurement:
they agree when

    |mc - meanfield| <= t * SE + FINITE_WIDTH * (L + C) / n_min * |meanfield|

where SE is the honest standard error across R networks and t is the Student-t critical value
with R - 1 degrees of freedom for a false alarm of ALPHA over the whole report (Bonferroni over
its m comparisons: P(|t_{R-1}| > t) = ALPHA / m). The paper's network (17 comparisons) from
16 networks gets t = 6.8; the second term allows for the
O(1/n) corrections of finite width: L / n_min for the L weight layers a quantity crosses, plus
C / n_min with a softmax top of C classes, whose gradient p - y depends on the top weights
that carry it back (the theory takes them as independent; measured: +6 % at C = 10,
n_{L-1} = 32 with logit variance 4, +0.5 % at n_{L-1} = 300).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import numpy as np

from .montecarlo import Measurement, measure
from .theory import has_linear_regime, linear_theory, meanfield_theory

ALPHA = 1e-4          # false-alarm probability of one whole report
FINITE_WIDTH = 1.0
COMPARED = (  # (key in the report, measurement quantity, prediction field)
    ("activation_variance", "activation", "activation_variance"),
    ("backprop_variance", "backprop", "backprop_variance"),
    ("weight_gradient_variance", "weight_gradient", "weight_gradient_variance"),
)


@dataclass
class CheckReport:
    measurement: Measurement
    linear: object
    meanfield: object
    rows: list[dict]
    ok: bool
    finite_width_rel: float
    z: float

    def to_dict(self) -> dict:
        m = self.measurement
        return {"widths": list(m.widths), "activation": m.activation, "init": m.init,
                "law": m.law, "networks": m.networks, "samples": m.samples, "seed": m.seed,
                "var_x": m.var_x, "top": m.top, "top_gradient_variance": m.top_gradient_variance,
                "tolerance": {"t": self.z, "alpha": ALPHA,
                              "finite_width_rel": self.finite_width_rel},
                "ok": self.ok, "layers": self.rows}


def t_critical(df: int, tail: float) -> float:
    """t with P(|T| > t) = tail for Student's T with ``df`` degrees of freedom (mpmath)."""
    if df < 1:
        return math.inf

    def two_sided(t):   # P(|T| > t) = I_{df / (df + t^2)}(df / 2, 1 / 2)
        return float(mpmath.betainc(df / 2, 0.5, 0, df / (df + t * t), regularized=True))

    lo, hi = 0.0, 1.0
    while two_sided(hi) > tail:
        hi *= 2
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if two_sided(mid) > tail else (lo, mid)
    return hi


def tolerance(se, theory, finite_width_rel, z):
    return z * np.nan_to_num(se, nan=np.inf) + finite_width_rel * np.abs(theory)


def compare(m: Measurement) -> CheckReport:
    """Set a measurement beside both theories, evaluated for its own inputs and top gradient."""
    top = m.top_gradient_variance
    if not (np.isfinite(top) and top > 0):   # overflow: reported below; theory from 1
        top = 1.0
    args = (m.widths, m.activation, m.scheme, m.var_x, top, m.bias_variance)
    lin = linear_theory(*args) if has_linear_regime(m.activation) else None   # SELU: none
    mf = meanfield_theory(*args)
    L = len(m.widths) - 1
    classes = m.widths[-1] if m.top == "softmax" else 0
    fw = FINITE_WIDTH * (L + classes) / min(m.widths[:-1]) if L > 1 else 0.0
    comparisons = len(COMPARED) * L - 1
    z = t_critical(m.networks - 1, ALPHA / comparisons)
    rows, ok = [], True
    for k in range(L):
        row = {"layer": k}
        for key, q, field in COMPARED:
            st = m.stats[q]
            mc, se = float(st.variance[k]), float(st.variance_se[k])
            th = float(getattr(mf, field)[k])
            bad = int(st.nonfinite[k])
            if bad:
                verdict = f"overflow ({bad} non-finite values)"
            elif k == L - 1 and key == "backprop_variance":
                verdict = "input"   # the theory starts from this measured value
            else:
                verdict = "ok" if abs(mc - th) <= tolerance(se, th, fw, z) else "differs"
            ok &= verdict in ("ok", "input")
            row[key] = {"linear": _value(lin, field, k), "meanfield": th, "mc": mc,
                        "se": se, "verdict": verdict}
        if k < L - 1:
            th = float(mf.jacobian_mean_sq_singular[k])
            row["jacobian_mean_sq_singular"] = {
                "linear": _value(lin, "jacobian_mean_sq_singular", k), "meanfield": th,
                "mc": float(m.jacobian_mean_sq[k]), "se": float(m.jacobian_mean_sq_se[k])}
            if m.jacobian_inputs:
                row["jacobian_mean_singular"] = {"mc": float(m.jacobian_mean[k]),
                                                 "se": float(m.jacobian_mean_se[k])}
        rows.append(row)
    return CheckReport(m, lin, mf, rows, bool(ok), fw, z)


def _value(pred, field: str, k: int) -> float | None:
    return None if pred is None else float(getattr(pred, field)[k])


def _column(v) -> str:
    return f"{'—':>11}" if v is None else f"{v:>11.4e}"


def check(widths, activation="tanh", init="standard", **kwargs) -> CheckReport:
    """Measure (``montecarlo.measure``'s arguments) and compare with both theories."""
    return compare(measure(widths, activation, init, **kwargs))


def format_report(rep: CheckReport) -> str:
    m = rep.measurement
    lines = [f"varprop check: widths {','.join(map(str, m.widths))}, {m.activation}, {m.init} "
             f"init ({m.law}), {m.networks} networks x {m.samples} inputs, seed {m.seed}, "
             f"top gradient: {m.top} (Var = {m.top_gradient_variance:.4g})",
             f"verdict: |MC - mean field| <= {rep.z:.2f} SE + {rep.finite_width_rel:.3g} |mean field| "
             f"(false alarm {ALPHA:g} per report)"]
    head = f"{'layer':>5}  {'quantity':<10} {'linear':>11} {'mean field':>11} {'Monte-Carlo':>11} {'SE':>10}  verdict"
    lines.append(head)
    short = {"activation_variance": "Var[z]", "backprop_variance": "Var[dC/ds]",
             "weight_gradient_variance": "Var[dC/dW]", "jacobian_mean_sq_singular": "mean s^2(J)"}
    for row in rep.rows:
        for key, label in short.items():
            if key not in row:
                continue
            c = row[key]
            lines.append(f"{row['layer']:>5}  {label:<10} {_column(c['linear'])} {c['meanfield']:>11.4e} "
                         f"{c['mc']:>11.4e} {c['se']:>10.2e}  {c.get('verdict', '')}")
        if "jacobian_mean_singular" in row:
            c = row["jacobian_mean_singular"]
            lines.append(f"{row['layer']:>5}  {'mean s(J)':<10} {'':>11} {'':>11} {c['mc']:>11.4e} "
                         f"{c['se']:>10.2e}")
    lines.append("all agree" if rep.ok else "DISAGREEMENT beyond the tolerance")
    return "\n".join(lines)
