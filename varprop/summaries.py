"""Summary numbers of the results: every measure that a figure, Table 1 or the claims show,
computed here once and read by the drawing and formatting code (``varprop.figures``), which
computes nothing itself. No matplotlib, nothing from ``varprop.figures``.

Once per pipeline: each measure of one result (one trained model, or one Monte-Carlo result at
initialisation) is memoised on that result's key (``result_key``: a training run's ``digest``
with its status and updates done, which name its content; an init result's ``meta["digest"]``).
When Table 1 and the claims, or Fig. 9 and the claims, ask for the same measure of the same run,
the second gets the first's numbers, not a second computation of them. Results without a digest
(hand-made ones) are measured afresh at each call. The memoised values are shared: read them,
do not change them. ``forget()`` empties the memo.

Measure (function)                      Outputs that show it
--------------------------------------  ------------------------------------------------------
final_error (test_examples,             Table 1's cells; Figs. 11-12's legends, their order
  binomial_se)                          and diverged marks; the claims' Figs. 11-12 / Table 1
                                        rows
error_table (bold_models, z_test)       Table 1 (bold: not significantly worse than the best)
error_comparison, error_order (z_test)  the claims' Figs. 11-12 / Table 1 rows
scale_facts                             Table 1's scale notes; Figs. 11-12's captions
test_error_curve                        Figs. 11-12's lines
top_layer_mean                          the claims' Fig. 2 rows
saturation_epochs (abs_p98)             the claims' Fig. 3 (top) and Fig. 10 rows
end_activations (abs_p98)               the claims' Fig. 3 (bottom) and Fig. 10 rows
end_histograms (fraction_within)        the claims' Fig. 4 row
gradient_spread                         Fig. 9's "at the end" text; the claims' Fig. 9 row
theory_ratios                           Fig. T's lines; the claims' Sec. 4.3 / Fig. T rows
  (and theory_ratio, its medians)
init_spreads                            the claims' Figs. 6, 7, 8 rows
jacobian_singular_values                Fig. J; the claims' Sec. 4.2.2 / Fig. J row
variance_profile                        Fig. V
plateau_fractions (plateau_fraction)    the claims' Fig. 5 row
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .experiments import fraction_within

ALPHA = 0.005         # the paper's significance level (Table 1's bold, the error claims)
SATURATED = 0.99      # a tanh layer counts as saturated once its 98th percentile of |z| passes this
SIGMOID_FLOOR = 0.1   # a sigmoid layer counts as saturated at 0 while its mean is below this


# --------------------------------------------------------------------------------------------
# Memo: one computation per result and measure

_MEMO: dict = {}


def result_key(result):
    """What names one result's content: a training run's (digest, status, updates done) — the
    digest names its config and code, not how far it got — or an init result's
    ``meta["digest"]``; None for a result without a digest (then nothing is memoised)."""
    meta = result.get("meta", {})
    if "digest" in result:
        return (result["digest"], meta.get("status"), meta.get("updates_done"))
    return meta.get("digest")


def per_result(measure):
    """Memoise ``measure(result, *args)`` on (measure, ``result_key(result)``, args)."""
    @functools.wraps(measure)
    def memoised(result, *args):
        key = result_key(result)
        if key is None:
            return measure(result, *args)
        memo_key = (measure.__name__, key, args)
        if memo_key not in _MEMO:
            _MEMO[memo_key] = measure(result, *args)
        return _MEMO[memo_key]
    return memoised


def forget() -> None:
    """Empty the memo (every measure is computed anew at its next call)."""
    _MEMO.clear()


# --------------------------------------------------------------------------------------------
# Final test errors and their significance (Table 1, Figs. 11-12, the error claims)

def binomial_se(p: float, n: int) -> float:
    """Standard error sqrt(p(1 − p)/n) of an error rate p measured on n examples."""
    if n <= 0:
        raise ValueError(f"need at least one example, got n = {n}")
    return math.sqrt(p * (1.0 - p) / n)


def z_test(p1: float, se1: float, p2: float, se2: float) -> tuple[float, float]:
    """(z, two-sided p-value) of the difference of two binomial proportions,
    z = (p1 − p2)/sqrt(se1² + se2²), under the normal approximation."""
    s = math.hypot(se1, se2)
    if s == 0.0:
        return (0.0, 1.0) if p1 == p2 else (math.copysign(math.inf, p1 - p2), 0.0)
    z = (p1 - p2) / s
    return z, math.erfc(abs(z) / math.sqrt(2.0))


def test_examples(config: dict) -> int:
    """How many test examples a run's test error is measured on: ``eval_examples`` when set
    (the first ones of the test set), else the data set's whole test set."""
    from .datasets.interface import describe
    size = describe(config["dataset"])["sizes"]["test"]
    n = config.get("eval_examples")
    return size if n is None else min(int(n), size)


@per_result
def final_error(run) -> dict:
    """One model's final test error: {"error" (rate; the last finite one), "n", "se",
    "error_pct", "se_pct" (the same in per cent), "update" (of that evaluation), "diverged",
    "lr"}. NaN error when there is none."""
    meta = run["meta"]
    err = np.asarray(run["arrays"]["test_error"], dtype=float)
    upd = np.asarray(run["arrays"]["eval_updates"])
    ok = np.flatnonzero(np.isfinite(err))
    n = test_examples(meta["config"])
    if len(ok):
        p, at = float(err[ok[-1]]), int(upd[ok[-1]])
        se = binomial_se(p, n)
    else:
        p = se = math.nan
        at = None
    return {"error": p, "se": se, "n": n, "update": at,
            "diverged": meta["status"] == "diverged", "lr": run["tuning"]["chosen_lr"],
            "error_pct": 100 * p, "se_pct": 100 * se}


def bold_models(cells: dict, alpha: float = ALPHA) -> tuple[set, dict]:
    """(bold set, {model: (z, p) against the best}) of one column of final errors (``cells``:
    {model: {"error", "se", "diverged"}}): the best model (the lowest error of the models that
    did not diverge) and every model whose error is not significantly higher than the best's
    (two-sided z-test, p ≥ alpha). Diverged models and models without an error take no part
    (never bold)."""
    eligible = {m: c for m, c in cells.items()
                if not c["diverged"] and math.isfinite(c["error"])}
    if not eligible:
        return set(), {}
    best = min(eligible, key=lambda m: eligible[m]["error"])
    b = eligible[best]
    tests = {m: z_test(c["error"], c["se"], b["error"], b["se"]) for m, c in eligible.items()}
    bold = {m for m, (_, p) in tests.items() if m == best or p >= alpha}
    return bold, tests


def error_table(results: dict, configs, models, alpha: float = ALPHA) -> dict:
    """Table 1's numbers: {config: {"best", "cells": {model: final_error + "bold", "z", "p"
    (against the best; NaN when the model takes no part)}}} for the given configs (results:
    {config: {model: run}}) and models."""
    out = {}
    for config in configs:
        finals = {m: final_error(results[config][m]) for m in models}
        bold, tests = bold_models(finals, alpha)
        cells = {}
        for m, f in finals.items():
            z, p = tests.get(m, (math.nan, math.nan))
            cells[m] = {**f, "bold": m in bold, "z": z, "p": p}
        eligible = [m for m in models if m in tests]
        best = min(eligible, key=lambda m: cells[m]["error"]) if eligible else None
        out[config] = {"best": best, "cells": cells}
    return out


def error_order(runs: dict, models) -> list[str]:
    """The models from the lowest final test error to the highest (ties: in the given order)."""
    return sorted(models, key=lambda m: final_error(runs[m])["error"])


def error_comparison(runs: dict, better: str, worse: str, alpha: float = ALPHA) -> dict:
    """Whether ``better``'s final test error is significantly lower than ``worse``'s:
    {"errors" (better's, worse's), "z", "p" (two-sided z-test of worse − better), "holds"
    (z > 0 and p < alpha)}."""
    a, b = final_error(runs[better]), final_error(runs[worse])
    z, p = z_test(b["error"], b["se"], a["error"], a["se"])
    return {"errors": (a["error"], b["error"]), "z": z, "p": p,
            "holds": bool(z > 0 and p < alpha)}


def scale_facts(runs: dict, models=None) -> dict:
    """Facts of one config's runs: {"dataset", "hidden" (per model, the hidden layers' widths),
    "updates" (planned), "batch_size", "examples" (planned), "n_test", "grid" and "budgets"
    (the successive halving's, of the model with the largest grid), "done" ({model: (updates
    done, examples seen)} for runs that stopped short)}."""
    models = list(runs) if models is None else list(models)
    first = runs[models[0]]
    c = first["meta"]["config"]
    widest = max((runs[m]["tuning"] for m in models), key=lambda t: len(t["grid"]))
    done = {}
    for m in models:
        meta = runs[m]["meta"]
        if meta["updates_done"] != meta["config"]["updates"]:
            done[m] = (meta["updates_done"], meta["examples_seen"])
    return {"dataset": c["dataset"],
            "hidden": {m: tuple(runs[m]["meta"]["widths"])[1:-1] for m in models},
            "updates": c["updates"], "batch_size": c["batch_size"],
            "examples": c["updates"] * c["batch_size"], "n_test": test_examples(c),
            "grid": list(widest["grid"]), "budgets": list(widest["budgets"]), "done": done}


@per_result
def test_error_curve(run, per: str = "examples") -> tuple[np.ndarray, np.ndarray]:
    """(x, test error %) of one run; x is examples seen (``per="examples"``) or updates."""
    if per not in ("examples", "updates"):
        raise ValueError(f"unknown per {per!r}; choose examples or updates")
    upd = np.asarray(run["arrays"]["eval_updates"], dtype=float)
    x = upd * run["meta"]["config"]["batch_size"] if per == "examples" else upd
    return x, 100 * np.asarray(run["arrays"]["test_error"], dtype=float)


# --------------------------------------------------------------------------------------------
# Activations during training (Figs. 2, 3, 4, 10)

@per_result
def top_layer_mean(run) -> dict:
    """Figure 2: the top hidden layer's mean activation at the start, its lowest value (and the
    monitor update of it), at the end; "saturated": the lowest is under SIGMOID_FLOOR;
    "recovered": saturated, and the end is above the floor and over 3 times the lowest."""
    a = run["arrays"]
    m = a["activation_mean"][:, -1]
    low = int(np.argmin(m))
    saturated = bool(m[low] < SIGMOID_FLOOR)
    recovered = bool(saturated and m[-1] > 3 * m[low] and m[-1] > SIGMOID_FLOOR)
    return {"start": float(m[0]), "lowest": float(m[low]),
            "lowest_at": int(a["monitor_updates"][low]), "end": float(m[-1]),
            "saturated": saturated, "recovered": recovered}


def abs_p98(arrays) -> np.ndarray:
    """(P, H) the 98th percentile of |z| per monitor point and hidden layer: the larger of the
    98th percentile and minus the 2nd (the activations here are symmetric or positive)."""
    return np.maximum(np.abs(arrays["activation_p98"]), np.abs(arrays["activation_p2"]))


@per_result
def saturation_epochs(run, level: float = SATURATED) -> list:
    """Per hidden layer, the first monitor update at which the 98th percentile of |z| passes
    ``level`` (None: never)."""
    a = run["arrays"]
    p98 = abs_p98(a)
    out = []
    for k in range(p98.shape[1]):
        hit = np.flatnonzero(p98[:, k] >= level)
        out.append(int(a["monitor_updates"][hit[0]]) if hit.size else None)
    return out


@per_result
def end_activations(run) -> dict:
    """At the last monitor point: {"abs_p98" (per hidden layer, the 98th percentile of |z|),
    "abs_p98_mean" (its mean over layers), "std_mean" (the layers' mean activation std)}."""
    a = run["arrays"]
    p98 = abs_p98(a)[-1]
    return {"abs_p98": p98, "abs_p98_mean": p98.mean(),
            "std_mean": a["activation_std"][-1].mean()}


@per_result
def end_histograms(run) -> dict:
    """Figure 4: per hidden layer at the end of training, the fraction of activations with
    |z| > 0.9 and the |z| where the density (folded onto |z|, bins above 0.05) peaks. The bins are
    the bounded activation's range, symmetric about 0."""
    a = run["arrays"]
    edges = a["activation_edges"]                          # (H, B+1)
    hist = a["activation_histogram"][-1]                   # (H, B)
    if not np.allclose(edges, -edges[:, ::-1]):
        raise ValueError("end_histograms needs bins symmetric about 0 (tanh, softsign)")
    inside = 1.0 - a["activation_out_of_range"][-1]        # the histogram's mass
    tail = inside - fraction_within(hist, edges, 0.9)
    c = 0.5 * (edges[:, 1:] + edges[:, :-1])
    above = edges[:, :-1] > 0.05                           # bins wholly above |z| = 0.05
    folded = np.where(above, hist + hist[:, ::-1], -np.inf)   # density of |z| (twice)
    peak = c[np.arange(c.shape[0]), np.argmax(folded, axis=1)]
    return {"tail": tail.tolist(), "peak": peak.tolist()}


# --------------------------------------------------------------------------------------------
# Gradients and theory during training (Figs. 9, T)

@per_result
def gradient_spread(run) -> dict:
    """Figure 9: the ratio of the largest to the smallest hidden layer's weight-gradient std
    (the weights into hidden layers, as drawn) over every monitor point: at the start, at the
    end and its median; and the median of the top / first hidden layer ratio."""
    sd = run["arrays"]["weight_gradient_std"][:, :-1]  # (P, L-1): W^0 .. W^{L-2}
    spread = sd.max(axis=1) / sd.min(axis=1)
    return {"start": float(spread[0]), "end": float(spread[-1]),
            "median": float(np.median(spread)),
            "top_over_bottom_median": float(np.median(sd[:, -1] / sd[:, 0]))}


@per_result
def theory_ratios(run, measured: str, theory: str, first: int) -> tuple[np.ndarray, np.ndarray]:
    """(P, K) measured / mean-field and measured / linear prediction of one quantity per monitor
    point, layers ``first``.. of the run's arrays (``measured``: e.g. "activation_variance";
    ``theory``: the prediction's key after its "meanfield_" / "linear_" prefix)."""
    a = run["arrays"]
    m = a[measured][:, first:]
    with np.errstate(divide="ignore", invalid="ignore"):
        return m / a[f"meanfield_{theory}"][:, first:], m / a[f"linear_{theory}"][:, first:]


@per_result
def theory_ratio(run) -> dict:
    """Section 4.3: median over hidden layers of measured / predicted Var[z^k] (``theory_ratios``
    of the activations), at update 0 and at the end: {"meanfield": (start, end), "linear":
    (start, end), "meanfield_range_end" / "linear_range_end": (lowest, highest) at the end}."""
    out = {}
    ratios = theory_ratios(run, "activation_variance", "activation_variance", 1)
    for theory, r in zip(("meanfield", "linear"), ratios):
        out[theory] = (float(np.median(r[0])), float(np.median(r[-1])))
        out[f"{theory}_range_end"] = (float(r[-1].min()), float(r[-1].max()))
    return out


# --------------------------------------------------------------------------------------------
# At initialisation (Monte-Carlo: Figs. 5, 6, 7, 8, J, V)

@per_result
def init_spreads(res) -> dict:
    """Figures 6, 7, 8 at initialisation, one Monte-Carlo result: "act_std" (std of z^k, hidden
    layers 1..L-1), "act_std_falls" (each layer's below the one beneath), "act_top_over_first"
    (Var[z] of the top / first hidden layer), "back_first_over_last_hidden" (Var[∂C/∂s] of
    layer 1 / of the top hidden layer), "wg_spread" (largest / smallest hidden layer's
    Var[∂C/∂W])."""
    act = res["activation.variance"][1:]             # hidden layers 1..L-1
    back = res["backprop.variance"]                  # s^0..s^{L-1}
    wg = res["weight_gradient.variance"]
    std = np.sqrt(act)
    return {"act_std": std.tolist(), "act_std_falls": bool(np.all(np.diff(std) < 0)),
            "act_top_over_first": float(act[-1] / act[0]),
            "back_first_over_last_hidden": float(back[0] / back[-2]),
            "wg_spread": float(wg[:-1].max() / wg[:-1].min())}


@per_result
def jacobian_singular_values(res) -> dict:
    """Figure J, one Monte-Carlo result: per Jacobian J^k = ∂z^{k+1}/∂z^k ("index": k = 0 ..
    L-2) the measured mean singular value ("mean", with its standard error "mean_se"), the
    measured root-mean-square one ("rms") and the mean field's ("rms_meanfield"); and
    "mean_over_layers", the mean singular value's average over the Jacobians."""
    mean = res["jacobian_mean"]
    return {"index": np.arange(mean.size), "mean": mean, "mean_se": res["jacobian_mean_se"],
            "rms": np.sqrt(res["jacobian_mean_sq"]),
            "rms_meanfield": np.sqrt(res["meanfield.jacobian_mean_sq_singular"]),
            "mean_over_layers": float(np.mean(mean))}


@per_result
def variance_profile(res, quantity: str, field: str, first: int) -> tuple:
    """Figure V, one panel: (layer numbers, measured variance, its standard error, linear
    prediction, mean-field prediction) of ``quantity`` ("activation", "backprop",
    "weight_gradient"; ``field`` its theories' key) from index ``first`` (1: the hidden
    activations z^1..; 0: layers numbered from 1)."""
    L = len(res["meta"]["widths"]) - 1
    idx = np.arange(first, L)
    layer = idx if first == 1 else idx + 1
    return (layer, res[f"{quantity}.variance"][idx], res[f"{quantity}.variance_se"][idx],
            res[f"linear.{field}"][idx], res[f"meanfield.{field}"][idx])


def plateau_fraction(cost, grid, rel: float = 0.1) -> float:
    """Fraction of the grid where the cost's gradient norm is below ``rel`` of its largest value
    (flat regions, 'plateaus')."""
    g1, g2 = np.gradient(cost, grid, grid)
    norm = np.hypot(g1, g2)
    return float((norm < rel * norm.max()).mean())


@per_result
def plateau_fractions(res) -> dict:
    """Figure 5: ``plateau_fraction`` of the cross-entropy and of the quadratic cost surface."""
    return {key: plateau_fraction(res[key], res["w1"]) for key in ("cross_entropy", "quadratic")}
