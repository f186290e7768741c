"""The paper's claims, measured: for every finding of ../shared/PAPER.md (each figure's, Table
1's ordering, the Jacobian finding) the numbers our results give and, where the claim is a
direction, whether that direction holds. ``write`` puts them in OUT/claims.md, which
REPRODUCTION.md discusses claim by claim.

Every number comes from ``varprop.summaries`` — the same functions, computed once, that Table 1
and the figures read (Table 1's final errors, Fig. 9's gradient spread, Fig. T's theory ratios,
Fig. J's singular values); this module states each claim's criterion beside its verdict, so a
reader can check them, and formats. Verdicts: "holds", "holds partly" (the direction holds, not
its full extent), "does not hold", or "—" where the claim is a picture with no direction to test.
"""
from __future__ import annotations

import math
from pathlib import Path

from .. import summaries as S
from ..files import atomic_path
from . import style, table1
from .training_time import EPOCH

CONFIG = ("init_tanh", "init_models", "cost_surface", "train_shapeset", "train_mnist",
          "train_fashion")
# the pairs of models whose final test errors the paper compares (Figs. 11, 12 and Table 1)
ERROR_PAIRS = (("Tanh N", "Tanh", "normalized init helps tanh"),
               ("Softsign", "Tanh", "softsign beats tanh (standard init)"),
               ("Tanh N", "Sigmoid", "tanh N beats sigmoid"))
CONTROL_PAIR = ("Tanh N", "Tanh at 0.01", "normalized init helps tanh at the same rate (control)")


def _verdict(ok, partly: bool = False) -> str:
    """'holds', 'holds partly' (ok false, partly true), 'does not hold', '—' (ok None)."""
    if ok is None:
        return "—"
    return "holds" if ok else ("holds partly" if partly else "does not hold")


def _epoch(update) -> str:
    return f"epoch {update / EPOCH:.1f}"


def _fmt(values, f="{:.3g}") -> str:
    return ", ".join(f.format(v) for v in values)


def _saturation_text(epochs) -> str:
    return ", ".join(f"layer {k + 1}: " + ("never" if e is None else _epoch(e)[6:])
                     for k, e in enumerate(epochs))


def claim_rows(results) -> list[tuple[str, str, str, str]]:
    """[(claim, what we measure, numbers, verdict)] for every claim."""
    shp = results["train_shapeset"]
    rows = []
    it, im, cs = results["init_tanh"], results["init_models"], results["cost_surface"]
    rows.append(("Fig. 1: Shapeset-3×2 examples", "the generator (1 or 2 of triangle, "
                 "parallelogram, ellipse; 9 classes)", "see figure1.png", "—"))
    plateaus = S.plateau_fractions(cs)
    ce, qu = plateaus["cross_entropy"], plateaus["quadratic"]
    rows.append(("Fig. 5: the quadratic cost has more plateaus than cross-entropy",
                 "fraction of the grid with |∇cost| < 10 % of its largest value",
                 f"quadratic {qu:.2f}, cross-entropy {ce:.2f}", _verdict(qu > ce)))
    s, n = S.init_spreads(it["tanh"]), S.init_spreads(it["tanh N"])
    rows.append(("Fig. 6: with standard init the activations' peak at 0 grows with layer "
                 "height; normalized keeps the layers alike",
                 "std of z^k, hidden layers 1..5 (Monte-Carlo at init)",
                 f"standard {_fmt(s['act_std'])}; normalized {_fmt(n['act_std'])}",
                 # holds: standard falls layer after layer to under half, normalized keeps over
                 # half of the first layer's variance; partly: normalized falls 5x less
                 _verdict(s["act_std_falls"] and
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
    js, jn = S.jacobian_singular_values(im["tanh"]), S.jacobian_singular_values(im["tanh N"])
    rows.append(("Sec. 4.2.2 / Fig. J: normalized init keeps the Jacobians' mean singular "
                 "value near 1 (paper: ≈ 0.8 vs ≈ 0.5 for standard)",
                 "mean singular value of J^k per layer (tanh)",
                 f"standard {_fmt(js['mean'], '{:.2f}')}; "
                 f"normalized {_fmt(jn['mean'], '{:.2f}')}",
                 _verdict(jn["mean_over_layers"] > js["mean_over_layers"])))
    for label, depth in (("Sigmoid depth 4", 4), ("Sigmoid", 5)):
        r = S.top_layer_mean(shp[label])
        claim = ("Fig. 2: sigmoid depth 4: the top hidden layer saturates at 0, then recovers"
                 if depth == 4 else "Fig. 2: sigmoid depth 5: the top layer saturates "
                 "and never escapes")
        ok = r["saturated"] and (r["recovered"] if depth == 4 else not r["recovered"])
        rows.append((claim, f"mean of the top hidden layer (saturated: < {S.SIGMOID_FLOOR})",
                     f"start {r['start']:.3f}, lowest {r['lowest']:.3f} at "
                     f"{_epoch(r['lowest_at'])}, end {r['end']:.3f}",
                     _verdict(ok, partly=r["saturated"])))   # partly: saturates, no recovery
    # standard-init tanh: the control at Tanh N's rate where the config has it (Figs. 3, 4, 9
    # draw it), else the grid's choice
    std = "Tanh at 0.01" if "Tanh at 0.01" in shp else "Tanh"
    ep = S.saturation_epochs(shp[std])
    hit = [e for e in ep if e is not None]
    rows.append((f"Fig. 3 (top): tanh layers saturate one after another, from layer 1 up ({std})",
                 f"first epoch where a layer's 98th percentile of |z| passes {S.SATURATED}",
                 _saturation_text(ep),
                 _verdict(bool(hit) and ep[0] is not None and hit == sorted(hit))))
    es, et = S.end_activations(shp["Softsign"]), S.end_activations(shp[std])
    rows.append(("Fig. 3 (bottom): softsign layers saturate less than tanh's, and together",
                 "98th percentile of |z| per layer at the end",
                 f"softsign {_fmt(es['abs_p98'], '{:.2f}')}; {std} {_fmt(et['abs_p98'], '{:.2f}')}",
                 _verdict(bool(es["abs_p98_mean"] < et["abs_p98_mean"]))))
    ht, hs = S.end_histograms(shp[std]), S.end_histograms(shp["Softsign"])
    rows.append((f"Fig. 4: at the end tanh's lower layers saturate (mass at ±1; {std}); "
                 "softsign peaks around ±0.6–0.8",
                 "fraction with |z| > 0.9 (tanh); |z| of the density's peak (softsign)",
                 f"tanh tail {_fmt(ht['tail'], '{:.2f}')}; softsign peak at "
                 f"{_fmt(hs['peak'], '{:.2f}')}",
                 # holds: tanh's first layer saturates more than its top one, and softsign's
                 # peaks all lie in [0.5, 0.9]; partly: one of the two halves holds, or half
                 # of softsign's peaks lie in [0.5, 0.95]
                 _verdict(ht["tail"][0] > ht["tail"][-1] + 0.05 and
                          all(0.5 <= p <= 0.9 for p in hs["peak"]),
                          partly=ht["tail"][0] > ht["tail"][-1] + 0.05 or
                          2 * sum(0.5 <= p <= 0.95 for p in hs["peak"]) >= len(hs["peak"]))))
    gs, gn = S.gradient_spread(shp[std]), S.gradient_spread(shp["Tanh N"])
    rows.append((f"Fig. 9: normalized init keeps the layers' weight-gradient spread alike during "
                 f"training; standard ({std}) gives smaller values for higher layers",
                 "largest / smallest layer's std of ∂C/∂W (median over training); "
                 "top / first hidden layer",
                 f"standard {gs['median']:.2f} (top/first {gs['top_over_bottom_median']:.2f}); "
                 f"normalized {gn['median']:.2f} (top/first {gn['top_over_bottom_median']:.2f})",
                 _verdict(gn["median"] < gs["median"] and gs["top_over_bottom_median"] < 1,
                          partly=gn["median"] < gs["median"])))
    en = S.saturation_epochs(shp["Tanh N"])
    rows.append(("Fig. 10: tanh with normalized init does not saturate layer by layer "
                 "(behaves like softsign)",
                 f"first epoch where a layer's 98th percentile of |z| passes {S.SATURATED}",
                 _saturation_text(en),
                 # holds: fewer tanh N layers saturate than tanh's; partly: its layers' end
                 # std stays below tanh's (less saturated) though as many saturate
                 _verdict(sum(e is not None for e in en) < max(1, len(hit)),
                          partly=bool(S.end_activations(shp["Tanh N"])["std_mean"] <
                                      et["std_mean"]))))
    for name, ours, _paper in table1.COLUMNS:
        runs = results[name]
        order = S.error_order(runs, table1.MODELS)
        pairs = ERROR_PAIRS + ((CONTROL_PAIR,) if CONTROL_PAIR[1] in runs else ())
        for better, worse, what in pairs:
            r = S.error_comparison(runs, better, worse, table1.ALPHA)
            rows.append((f"Figs. 11–12 / Table 1 ({ours}): {what}",
                         f"final test error, {better} vs {worse}; z-test at p = "
                         f"{table1.ALPHA}",
                         f"{100 * r['errors'][0]:.2f} % vs {100 * r['errors'][1]:.2f} % "
                         f"(z = {r['z']:.1f}, p = {r['p']:.2g}); order: {' < '.join(order)}",
                         _verdict(r["holds"])))
    for label in ("Tanh", "Tanh N", "Softsign N", "Sigmoid"):
        t = S.theory_ratio(shp[label])
        rows.append((f"Sec. 4.3 / Fig. T ({label}): the analysis holds at initialisation "
                     "(during training it need not)",
                     "median over layers of measured / mean-field Var[z^k] (linear in brackets)",
                     f"start {t['meanfield'][0]:.2f} ({t['linear'][0]:.2g}), end "
                     f"{t['meanfield'][1]:.2f} ({t['linear'][1]:.2g}); end range "
                     f"{_fmt(t['meanfield_range_end'], '{:.2g}')}",
                     # holds: the mean field within 25 % at the start (one network, 300 examples)
                     _verdict(abs(math.log(t["meanfield"][0])) < math.log(1.25))))
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
        tmp.write_text(markdown(claim_rows(results), digests))
    return [path]


def digests(results):
    out = []
    for res in results.values():
        for r in ([res] if "meta" in res else res.values()):   # one result, or {label: result}
            out.append(r["digest"] if "digest" in r else r["meta"]["digest"])
    return out
