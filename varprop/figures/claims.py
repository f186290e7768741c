"""The paper's claims, measured: for every finding of ../shared/PAPER.md (each figure's, Table
1's ordering, the Jacobian finding) the numbers our results give and, where the claim is a
direction, whether that direction holds. ``write`` puts them in OUT/claims.md, which
REPRODUCTION.md discusses claim by claim.

Every number comes from a pure function of the results (``measure``); the criteria are stated
in the code beside each verdict, so a reader can check them. Verdicts: "holds", "holds partly"
(the direction holds, not its full extent), "does not hold", or "—" where the claim is a picture
with no direction to test.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..datasets.cache import atomic_path
from ..experiments import fraction_within
from . import style, table1
from .training import EPOCH

CONFIG = ("init_tanh", "init_models", "cost_surface", "train_shapeset", "train_mnist",
          "train_fashion")
SATURATED = 0.99      # a tanh layer counts as saturated once its 98th percentile passes this
SIGMOID_FLOOR = 0.1   # a sigmoid layer counts as saturated at 0 while its mean is below this


def _verdict(ok, partly: bool = False) -> str:
    """'holds', 'holds partly' (ok false, partly true), 'does not hold', '—' (ok None)."""
    if ok is None:
        return "—"
    return "holds" if ok else ("holds partly" if partly else "does not hold")


def _epoch(update) -> str:
    return f"epoch {update / EPOCH:.1f}"


def _fmt(values, f="{:.3g}") -> str:
    return ", ".join(f.format(v) for v in values)


def sigmoid_top_layer(runs) -> list[dict]:
    """Figure 2: the top hidden layer's mean activation at the start, its lowest value (when)
    and at the end, for the depth-4 and depth-5 sigmoid networks."""
    rows = []
    for label, depth in (("Sigmoid depth 4", 4), ("Sigmoid", 5)):
        a = runs[label]["arrays"]
        m = a["activation_mean"][:, -1]
        low = int(np.argmin(m))
        saturated = bool(m[low] < SIGMOID_FLOOR)
        recovered = bool(saturated and m[-1] > 3 * m[low] and m[-1] > SIGMOID_FLOOR)
        rows.append({"depth": depth, "start": float(m[0]), "lowest": float(m[low]),
                     "lowest_at": int(a["monitor_updates"][low]), "end": float(m[-1]),
                     "saturated": saturated, "recovered": recovered})
    return rows


def abs_p98(a) -> np.ndarray:
    """(P, H) the 98th percentile of |z| per monitor point and hidden layer: the larger of the
    98th percentile and minus the 2nd (the activations here are symmetric or positive)."""
    return np.maximum(np.abs(a["activation_p98"]), np.abs(a["activation_p2"]))


def saturation_epochs(run, level=SATURATED) -> list:
    """Per hidden layer, the first monitor update at which the 98th percentile of |z| passes
    ``level`` (None: never)."""
    a = run["arrays"]
    p98 = abs_p98(a)
    out = []
    for k in range(p98.shape[1]):
        hit = np.flatnonzero(p98[:, k] >= level)
        out.append(int(a["monitor_updates"][hit[0]]) if hit.size else None)
    return out


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


def gradient_spread(run) -> dict:
    """Figure 9: the ratio of the largest to the smallest hidden layer's weight-gradient std
    (the weights into hidden layers, as drawn), at the start, at the end and its median over
    the monitor points; and the top / first hidden layer ratio."""
    sd = run["arrays"]["weight_gradient_std"][:, :-1]  # (P, L-1): W^0 .. W^{L-2}
    spread = sd.max(axis=1) / sd.min(axis=1)
    return {"start": float(spread[0]), "end": float(spread[-1]),
            "median": float(np.median(spread)),
            "top_over_bottom_median": float(np.median(sd[:, -1] / sd[:, 0]))}


def theory_ratio(run) -> dict:
    """Figure T: median over hidden layers of measured / mean-field Var[z^k], at update 0 and at
    the end; the same against the linear theory."""
    a = run["arrays"]
    out = {}
    for theory in ("meanfield", "linear"):
        r = a["activation_variance"][:, 1:] / a[f"{theory}_activation_variance"][:, 1:]
        out[theory] = (float(np.median(r[0])), float(np.median(r[-1])))
        out[f"{theory}_range_end"] = (float(r[-1].min()), float(r[-1].max()))
    return out


def error_claims(results) -> list[dict]:
    """Figures 11, 12 and Table 1: per data set, the final errors' order and the paper's
    pairwise findings, each tested at p = 0.005 (table1.z_test)."""
    pairs = (("Tanh N", "Tanh", "normalized init helps tanh"),
             ("Softsign", "Tanh", "softsign beats tanh (standard init)"),
             ("Tanh N", "Sigmoid", "tanh N beats sigmoid"))
    control = ("Tanh N", "Tanh at 0.03", "normalized init helps tanh at the same rate (control)")
    rows = []
    for name, ours, _paper in table1.COLUMNS:
        tab = {m: table1.cell(results[name][m]) for m in table1.MODELS}
        order = sorted(tab, key=lambda m: tab[m]["error"])
        extra = ()
        if control[1] in results[name]:
            tab[control[1]] = table1.cell(results[name][control[1]])
            extra = (control,)
        for better, worse, what in pairs + extra:
            a, b = tab[better], tab[worse]
            z, p = table1.z_test(b["error"], b["se"], a["error"], a["se"])
            rows.append({"data": ours, "claim": what, "better": better, "worse": worse,
                         "errors": (a["error"], b["error"]), "z": z, "p": p,
                         "holds": bool(z > 0 and p < table1.ALPHA), "order": order})
    return rows


def init_claims(init_tanh, init_models) -> dict:
    """Figures 6, 7, 8 and J at initialisation (Monte-Carlo): per-layer spreads, standard vs
    normalized."""
    out = {}
    for label in ("tanh", "tanh N"):
        r = init_tanh[label]
        act = r["activation.variance"][1:]             # hidden layers 1..L-1
        back = r["backprop.variance"]                  # s^0..s^{L-1}
        wg = r["weight_gradient.variance"]
        out[label] = {"act_std": np.sqrt(act).tolist(),
                      "act_top_over_first": float(act[-1] / act[0]),
                      "back_first_over_last_hidden": float(back[0] / back[-2]),
                      "wg_spread": float(wg[:-1].max() / wg[:-1].min())}
    out["jacobian"] = {lb: init_models[lb]["jacobian_mean"].tolist()
                       for lb in ("tanh", "tanh N", "softsign", "softsign N")}
    return out


def plateau_fraction(cost, grid, rel=0.1) -> float:
    """Figure 5: fraction of the grid where the cost's gradient norm is below ``rel`` of its
    largest value (flat regions, 'plateaus')."""
    g1, g2 = np.gradient(cost, grid, grid)
    norm = np.hypot(g1, g2)
    return float((norm < rel * norm.max()).mean())


def measure(results) -> list[tuple[str, str, str, str]]:
    """[(claim, what we measure, numbers, verdict)] for every claim."""
    shp = results["train_shapeset"]
    rows = []
    it, im, cs = results["init_tanh"], results["init_models"], results["cost_surface"]
    ic = init_claims(it, im)
    rows.append(("Fig. 1: Shapeset-3×2 examples", "the generator (1 or 2 of triangle, "
                 "parallelogram, ellipse; 9 classes)", "see figure1.png", "—"))
    ce = plateau_fraction(cs["cross_entropy"], cs["w1"])
    qu = plateau_fraction(cs["quadratic"], cs["w1"])
    rows.append(("Fig. 5: the quadratic cost has more plateaus than cross-entropy",
                 "fraction of the grid with |∇cost| < 10 % of its largest value",
                 f"quadratic {qu:.2f}, cross-entropy {ce:.2f}", _verdict(qu > ce)))
    s, n = ic["tanh"], ic["tanh N"]
    rows.append(("Fig. 6: with standard init the activations' peak at 0 grows with layer "
                 "height; normalized keeps the layers alike",
                 "std of z^k, hidden layers 1..5 (Monte-Carlo at init)",
                 f"standard {_fmt(s['act_std'])}; normalized {_fmt(n['act_std'])}",
                 # holds: standard falls layer after layer to under half, normalized keeps over
                 # half of the first layer's variance; partly: normalized falls 5x less
                 _verdict(bool(np.all(np.diff(s["act_std"]) < 0)) and
                          s["act_top_over_first"] < 0.5 < n["act_top_over_first"],
                          partly=n["act_top_over_first"] > 5 * s["act_top_over_first"])))
    rows.append(("Fig. 7: with standard init back-propagated gradients shrink toward the "
                 "input; normalized keeps them alike",
                 "Var[∂C/∂s] of layer 1 / of the top hidden layer",
                 f"standard {s['back_first_over_last_hidden']:.3g}, "
                 f"normalized {n['back_first_over_last_hidden']:.3g}",
                 _verdict(s["back_first_over_last_hidden"] < 0.5 <
                          n["back_first_over_last_hidden"],
                          partly=n["back_first_over_last_hidden"] >
                          5 * s["back_first_over_last_hidden"])))
    rows.append(("Fig. 8: weight gradients do not shrink with depth (eq. 14), either init",
                 "largest / smallest hidden layer's Var[∂C/∂W]",
                 f"standard {s['wg_spread']:.3g}, normalized {n['wg_spread']:.3g}",
                 _verdict(s["wg_spread"] < 2 and n["wg_spread"] < 2)))
    j = ic["jacobian"]
    rows.append(("Sec. 4.2.2 / Fig. J: normalized init keeps the Jacobians' mean singular "
                 "value near 1 (paper: ≈ 0.8 vs ≈ 0.5 for standard)",
                 "mean singular value of J^k per layer (tanh)",
                 f"standard {_fmt(j['tanh'], '{:.2f}')}; normalized {_fmt(j['tanh N'], '{:.2f}')}",
                 _verdict(np.mean(j["tanh N"]) > np.mean(j["tanh"]))))
    for r in sigmoid_top_layer(shp):
        claim = ("Fig. 2: sigmoid depth 4: the top hidden layer saturates at 0, then recovers"
                 if r["depth"] == 4 else "Fig. 2: sigmoid depth 5: the top layer saturates "
                 "and never escapes")
        ok = r["saturated"] and (r["recovered"] if r["depth"] == 4 else not r["recovered"])
        rows.append((claim, f"mean of the top hidden layer (saturated: < {SIGMOID_FLOOR})",
                     f"start {r['start']:.3f}, lowest {r['lowest']:.3f} at "
                     f"{_epoch(r['lowest_at'])}, end {r['end']:.3f}",
                     _verdict(ok, partly=r["saturated"])))   # partly: saturates, no recovery
    # standard-init tanh: the control at Tanh N's rate where the config has it (Figs. 3, 4, 9
    # draw it), else the grid's choice
    std = "Tanh at 0.03" if "Tanh at 0.03" in shp else "Tanh"
    ep = saturation_epochs(shp[std])
    hit = [e for e in ep if e is not None]
    rows.append((f"Fig. 3 (top): tanh layers saturate one after another, from layer 1 up ({std})",
                 f"first epoch where a layer's 98th percentile of |z| passes {SATURATED}",
                 ", ".join(f"layer {k + 1}: " + ("never" if e is None else _epoch(e)[6:])
                           for k, e in enumerate(ep)),
                 _verdict(bool(hit) and ep[0] is not None and hit == sorted(hit))))
    def p98(label):
        return abs_p98(shp[label]["arrays"])[-1]

    rows.append(("Fig. 3 (bottom): softsign layers saturate less than tanh's, and together",
                 "98th percentile of |z| per layer at the end",
                 f"softsign {_fmt(p98('Softsign'), '{:.2f}')}; {std} {_fmt(p98(std), '{:.2f}')}",
                 _verdict(bool(p98("Softsign").mean() < p98(std).mean()))))
    ht, hs = end_histograms(shp[std]), end_histograms(shp["Softsign"])
    rows.append((f"Fig. 4: at the end tanh's lower layers saturate (mass at ±1; {std}); "
                 "softsign peaks around ±0.6–0.8",
                 "fraction with |z| > 0.9 (tanh); |z| of the density's peak (softsign)",
                 f"tanh tail {_fmt(ht['tail'], '{:.2f}')}; softsign peak at "
                 f"{_fmt(hs['peak'], '{:.2f}')}",
                 # holds: tanh's first layer saturates more than its top one, softsign's peaks
                 # all in [0.5, 0.9]; partly: tanh's first layer mostly saturated, half of
                 # softsign's peaks in [0.5, 0.95]
                 _verdict(ht["tail"][0] > ht["tail"][-1] + 0.05 and
                          all(0.5 <= p <= 0.9 for p in hs["peak"]),
                          partly=ht["tail"][0] > 0.5 and
                          2 * sum(0.5 <= p <= 0.95 for p in hs["peak"]) >= len(hs["peak"]))))
    gs, gn = gradient_spread(shp[std]), gradient_spread(shp["Tanh N"])
    rows.append((f"Fig. 9: normalized init keeps the layers' weight-gradient spread alike during "
                 f"training; standard ({std}) gives smaller values for higher layers",
                 "largest / smallest layer's std of ∂C/∂W (median over training); "
                 "top / first hidden layer",
                 f"standard {gs['median']:.2f} (top/first {gs['top_over_bottom_median']:.2f}); "
                 f"normalized {gn['median']:.2f} (top/first {gn['top_over_bottom_median']:.2f})",
                 _verdict(gn["median"] < gs["median"] and gs["top_over_bottom_median"] < 1,
                          partly=gn["median"] < gs["median"])))
    en = saturation_epochs(shp["Tanh N"])
    rows.append(("Fig. 10: tanh with normalized init does not saturate layer by layer "
                 "(behaves like softsign)",
                 f"first epoch where a layer's 98th percentile of |z| passes {SATURATED}",
                 ", ".join(f"layer {k + 1}: " + ("never" if e is None else _epoch(e)[6:])
                           for k, e in enumerate(en)),
                 # holds: fewer tanh N layers saturate than tanh's; partly: its layers' end
                 # std stays below tanh's (less saturated) though as many saturate
                 _verdict(sum(e is not None for e in en) < max(1, len(hit)),
                          partly=bool(shp["Tanh N"]["arrays"]["activation_std"][-1].mean() <
                                      shp[std]["arrays"]["activation_std"][-1].mean()))))
    for r in error_claims(results):
        rows.append((f"Figs. 11–12 / Table 1 ({r['data']}): {r['claim']}",
                     f"final test error, {r['better']} vs {r['worse']}; z-test at p = "
                     f"{table1.ALPHA}",
                     f"{100 * r['errors'][0]:.2f} % vs {100 * r['errors'][1]:.2f} % "
                     f"(z = {r['z']:.1f}, p = {r['p']:.2g}); order: {' < '.join(r['order'])}",
                     _verdict(r["holds"])))
    for label in ("Tanh", "Tanh N", "Softsign N", "Sigmoid"):
        t = theory_ratio(shp[label])
        rows.append((f"Sec. 4.3 / Fig. T ({label}): the analysis holds at initialisation "
                     "(during training it need not)",
                     "median over layers of measured / mean-field Var[z^k] (linear in brackets)",
                     f"start {t['meanfield'][0]:.2f} ({t['linear'][0]:.2g}), end "
                     f"{t['meanfield'][1]:.2f} ({t['linear'][1]:.2g}); end range "
                     f"{_fmt(t['meanfield_range_end'], '{:.2g}')}",
                     # holds: the mean field within 25 % at the start (one network, 300 examples)
                     _verdict(abs(np.log(t["meanfield"][0])) < np.log(1.25))))
    return rows


def markdown(rows, digests=()) -> str:
    head = ["# The paper's claims, measured", "",
            "Written by `varprop figures` from the results it draws (varprop/figures/claims.py; "
            "the figures' captions give each run's scale); REPRODUCTION.md discusses each line.",
            ""]
    lines = ["| claim | measured | numbers | verdict |", "|---|---|---|---|"]
    cell = lambda text: text.replace("|", r"\|")   # noqa: E731  (|z| inside a cell)
    lines += ["| " + " | ".join(cell(t) for t in row) + " |" for row in rows]
    return "\n".join(head + lines + ["", f"<!-- {style.note(digests)} -->"]) + "\n"


def write(results, out, digests):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "claims.md"
    with atomic_path(path) as tmp:
        tmp.write_text(markdown(measure(results), digests))
    return [path]


def digests(results):
    out = []
    for res in results.values():
        for r in ([res] if "meta" in res else res.values()):   # one result, or {label: result}
            out.append(r["digest"] if "digest" in r else r["meta"]["digest"])
    return out
