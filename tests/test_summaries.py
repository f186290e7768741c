"""varprop.summaries: the measures that the figures, Table 1 and the claims show, checked by
hand on small synthetic results (exact values), their memo (one computation per result and
measure, shared by the outputs), and that the module draws nothing (no matplotlib)."""
from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_table1 import fake_results, fake_run

from varprop import summaries as S


@pytest.fixture(autouse=True)
def fresh_memo():
    S.forget()
    yield
    S.forget()


# ------------------------------------------------------------------------------------------
# Final test errors and their significance

def test_binomial_se_hand_values():
    assert S.binomial_se(0.1, 10_000) == pytest.approx(0.003, rel=1e-12)  # sqrt(.09/1e4)
    assert S.binomial_se(0.5, 100) == pytest.approx(0.05, rel=1e-12)
    assert S.binomial_se(0.0, 10) == 0.0
    with pytest.raises(ValueError):
        S.binomial_se(0.1, 0)


def test_z_test():
    se = S.binomial_se(0.1, 10_000)
    z, p = S.z_test(0.1, se, 0.1, se)
    assert z == 0.0 and p == pytest.approx(1.0) and not p < S.ALPHA
    # 20 % vs 10 % on 10,000 examples each: z = 0.1 / sqrt(0.004² + 0.003²) = 20
    z, p = S.z_test(0.2, S.binomial_se(0.2, 10_000), 0.1, se)
    assert z == pytest.approx(20.0) and p < 1e-50 < S.ALPHA
    # the two-sided normal p-value: z = 1.959964 gives 0.05, z = 2.807034 gives 0.005
    assert S.z_test(1.959964, 1.0, 0.0, 0.0)[1] == pytest.approx(0.05, abs=1e-6)
    assert S.z_test(0.0, 0.6, 2.807034, 0.8)[1] == pytest.approx(0.005, abs=1e-6)
    # 11 % vs 10 %: z ≈ 2.31, p ≈ 0.021, not significant at the paper's 0.005
    z, p = S.z_test(0.11, S.binomial_se(0.11, 10_000), 0.1, se)
    assert z == pytest.approx(2.3066, abs=1e-3) and 0.02 < p < 0.022
    # no spread at all: equal is p = 1, different is infinitely significant
    assert S.z_test(0.2, 0.0, 0.1, 0.0) == (math.inf, 0.0)


def test_test_examples():
    assert S.test_examples({"dataset": "mnist", "eval_examples": None}) == 10_000
    assert S.test_examples({"dataset": "fashion-mnist", "eval_examples": None}) == 10_000
    assert S.test_examples({"dataset": "shapeset", "eval_examples": 1000}) == 1000
    assert S.test_examples({"dataset": "mnist", "eval_examples": 50_000}) == 10_000


def cells(errors, n=10_000, diverged=()):
    return {m: {"error": e, "se": S.binomial_se(e, n), "diverged": m in diverged}
            for m, e in errors.items()}


def test_bold_set():
    bold, tests = S.bold_models(cells({"a": 0.10, "b": 0.10, "c": 0.105, "d": 0.20}))
    assert bold == {"a", "b", "c"}                # the best, one tied, one at z ≈ 1.17
    assert tests["d"][1] < S.ALPHA and tests["a"] == (0.0, 1.0)
    assert tests["c"][0] == pytest.approx(0.005 / math.hypot(S.binomial_se(0.105, 10_000),
                                                             S.binomial_se(0.10, 10_000)))
    # a diverged model takes no part even with the lowest error
    bold, tests = S.bold_models(cells({"a": 0.10, "b": 0.02, "c": 0.2}, diverged={"b"}))
    assert bold == {"a"} and "b" not in tests
    assert S.bold_models(cells({"a": 0.1}, diverged={"a"})) == (set(), {})


def test_final_error():
    f = S.final_error(fake_run([0.9, 0.5, 0.12, 0.1], digest="sum-final"))
    assert f["error"] == 0.1 and f["n"] == 10_000 and f["update"] == 750
    assert f["se"] == pytest.approx(0.003, rel=1e-12) and not f["diverged"] and f["lr"] == 0.1
    assert f["error_pct"] == pytest.approx(10.0) and f["se_pct"] == pytest.approx(0.3)
    d = S.final_error(fake_run([0.9, 0.5, 0.05, np.nan], status="diverged",
                               digest="sum-diverged"))
    assert d["diverged"] and d["error"] == 0.05 and d["update"] == 500   # its last finite one
    none = S.final_error(fake_run([np.nan, np.nan], digest="sum-none"))
    assert math.isnan(none["error"]) and math.isnan(none["se"]) and none["update"] is None


def test_error_table_comparison_and_order():
    res = fake_results()
    models = ("Softsign", "Softsign N", "Tanh", "Tanh N", "Sigmoid")
    t = S.error_table(res, ["train_mnist", "train_fashion"], models)
    mnist, fashion = t["train_mnist"], t["train_fashion"]
    assert mnist["best"] == "Softsign"           # tied with Tanh N: the first in order
    assert {m for m, c in mnist["cells"].items() if c["bold"]} == {
        "Softsign", "Softsign N", "Tanh", "Tanh N"}
    assert fashion["best"] == "Tanh N"           # Tanh's lower error diverged
    tanh = fashion["cells"]["Tanh"]
    assert not tanh["bold"] and math.isnan(tanh["z"]) and math.isnan(tanh["p"])
    runs = res["train_mnist"]
    assert S.error_order(runs, models) == ["Softsign", "Tanh N", "Softsign N", "Tanh",
                                           "Sigmoid"]
    c = S.error_comparison(runs, "Tanh N", "Sigmoid")
    z = (0.10 - 0.0164) / math.hypot(S.binomial_se(0.10, 10_000), S.binomial_se(0.0164, 10_000))
    assert c["errors"] == (0.0164, 0.10) and c["z"] == pytest.approx(z, rel=1e-12)
    assert c["holds"] and c["p"] < S.ALPHA
    c = S.error_comparison(runs, "Tanh N", "Tanh")   # 1.64 % vs 1.76 %: z ≈ 0.66
    assert c["z"] == pytest.approx(0.656, abs=1e-3) and not c["holds"]
    assert not S.error_comparison(runs, "Sigmoid", "Tanh N")["holds"]   # the wrong direction


def test_scale_facts_and_curve():
    runs = fake_results()["train_shapeset"]
    f = S.scale_facts(runs, ["Tanh", "Sigmoid depth 4"])
    assert f["hidden"] == {"Tanh": (32,) * 5, "Sigmoid depth 4": (32,) * 4}
    assert (f["updates"], f["batch_size"], f["examples"], f["n_test"]) == (750, 10, 7500, 1000)
    assert f["grid"] == [0.01, 0.1] and f["budgets"] == [250, 500] and f["done"] == {}
    x, err = S.test_error_curve(runs["Tanh"])
    assert x.tolist() == [0, 2500, 5000, 7500] and err == pytest.approx([90, 50, 29, 27])
    assert S.test_error_curve(runs["Tanh"], "updates")[0].tolist() == [0, 250, 500, 750]
    with pytest.raises(ValueError, match="examples or updates"):
        S.test_error_curve(runs["Tanh"], "epochs")


# ------------------------------------------------------------------------------------------
# During training

UPDATES = np.array([0, 100, 200, 300, 400])


def training_run(digest, **arrays):
    return {"digest": digest, "meta": {"status": "finished", "updates_done": 400},
            "arrays": {"monitor_updates": UPDATES, **arrays}}


def test_saturation_epochs():
    p98 = np.array([[0.5, 0.5, 0.5], [0.995, 0.6, 0.5], [0.999, 0.7, 0.5], [1.0, 0.8, 0.6],
                    [1.0, 0.9, 0.98]])
    p2 = -p98.copy()
    p2[2:, 1] = -0.99                           # layer 2 passes through its 2nd percentile
    run = training_run("sum-sat", activation_p98=p98, activation_p2=p2)
    assert S.saturation_epochs(run) == [100, 200, None]
    assert S.saturation_epochs(run, 0.5) == [0, 0, 0]
    assert S.abs_p98(run["arrays"])[2].tolist() == [0.999, 0.99, 0.5]


def test_end_activations():
    p98 = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6], [0.7, 0.8], [0.9, 0.5]])
    std = np.array([[0.1, 0.1]] * 4 + [[0.2, 0.4]])
    run = training_run("sum-end", activation_p98=p98, activation_p2=-p98 / 2,
                       activation_std=std)
    e = S.end_activations(run)
    assert e["abs_p98"].tolist() == [0.9, 0.5]
    assert e["abs_p98_mean"] == pytest.approx(0.7) and e["std_mean"] == pytest.approx(0.3)


def test_top_layer_mean():
    mean = np.array([[0.5, 0.5], [0.5, 0.05], [0.5, 0.02], [0.5, 0.1], [0.5, 0.3]])
    r = S.top_layer_mean(training_run("sum-top", activation_mean=mean))
    assert r == {"start": 0.5, "lowest": 0.02, "lowest_at": 200, "end": 0.3,
                 "saturated": True, "recovered": True}
    mean[-1, -1] = 0.05                         # stays under the floor: no recovery
    r = S.top_layer_mean(training_run("sum-top-stuck", activation_mean=mean))
    assert r["saturated"] and not r["recovered"]
    mean[:, -1] = 0.5                           # never under the floor
    assert not S.top_layer_mean(training_run("sum-top-fine", activation_mean=mean))["saturated"]


def test_end_histograms():
    edges = np.tile(np.linspace(-1.0, 1.0, 21), (2, 1))          # bins of 0.1
    hist = np.zeros((5, 2, 20))
    hist[-1, 0] = 0.5                           # layer 1: uniform on [-1, 1]
    hist[-1, 1, [3, 16]] = 5.0                  # layer 2: all in [-0.7, -0.6] and [0.6, 0.7]
    run = training_run("sum-hist", activation_edges=edges, activation_histogram=hist,
                       activation_out_of_range=np.zeros((5, 2)))
    h = S.end_histograms(run)
    assert h["tail"] == pytest.approx([0.1, 0.0], abs=1e-12)
    assert h["peak"] == pytest.approx([0.15, 0.65])   # uniform: the first bin above 0.05
    skewed = training_run("sum-hist-skewed", activation_edges=edges + 0.5,
                          activation_histogram=hist, activation_out_of_range=np.zeros((5, 2)))
    with pytest.raises(ValueError, match="symmetric"):
        S.end_histograms(skewed)


def test_gradient_spread():
    sd = np.array([[1, 2, 4, 100], [1, 1, 1, 100], [2, 1, 1, 100], [2, 1, 1, 100],
                   [2, 1, 1, 100]], dtype=float)   # the last column (softmax) is left out
    g = S.gradient_spread(training_run("sum-grad", weight_gradient_std=sd))
    assert g == {"start": 4.0, "end": 2.0, "median": 2.0, "top_over_bottom_median": 0.5}


def test_theory_ratio():
    mf = np.ones((5, 4))
    measured = mf.copy()
    measured[0, 1:] = [1.0, 1.1, 1.2]
    measured[-1, 1:] = [0.5, 1.0, 4.0]
    measured[:, 0] = 99.0                       # the input layer takes no part
    run = training_run("sum-theory", activation_variance=measured,
                       meanfield_activation_variance=mf,
                       linear_activation_variance=measured / 3)
    mfr, lin = S.theory_ratios(run, "activation_variance", "activation_variance", 1)
    assert mfr.shape == (5, 3) and lin == pytest.approx(np.full((5, 3), 3.0))
    t = S.theory_ratio(run)
    assert t["meanfield"] == pytest.approx((1.1, 1.0)) and t["linear"] == pytest.approx((3, 3))
    assert t["meanfield_range_end"] == (0.5, 4.0)


# ------------------------------------------------------------------------------------------
# At initialisation

def test_init_spreads():
    res = {"meta": {"digest": "sum-init"},
           "activation.variance": np.array([1.0, 0.64, 0.36, 0.16]),
           "backprop.variance": np.array([4.0, 2.0, 1.0, 9.0]),
           "weight_gradient.variance": np.array([1.0, 2.0, 1.5, 100.0])}
    s = S.init_spreads(res)
    assert s["act_std"] == pytest.approx([0.8, 0.6, 0.4]) and s["act_std_falls"]
    assert s["act_top_over_first"] == pytest.approx(0.25)
    assert s["back_first_over_last_hidden"] == 4.0 and s["wg_spread"] == 2.0


def test_jacobian_singular_values_and_variance_profile():
    res = {"meta": {"digest": "sum-jac", "widths": [10, 8, 8, 8, 3]},
           "jacobian_mean": np.array([0.5, 0.7]), "jacobian_mean_se": np.array([0.01, 0.02]),
           "jacobian_mean_sq": np.array([0.36, 0.64]),
           "meanfield.jacobian_mean_sq_singular": np.array([0.25, 1.0])}
    for q in ("activation", "backprop"):
        res[f"{q}.variance"] = np.array([1.0, 2.0, 3.0, 4.0])
        res[f"{q}.variance_se"] = np.array([0.1, 0.2, 0.3, 0.4])
        for theory in ("linear", "meanfield"):
            res[f"{theory}.{q}_variance"] = np.array([5.0, 6.0, 7.0, 8.0])
    j = S.jacobian_singular_values(res)
    assert j["index"].tolist() == [0, 1] and j["rms"] == pytest.approx([0.6, 0.8])
    assert j["rms_meanfield"] == pytest.approx([0.5, 1.0])
    assert j["mean_over_layers"] == pytest.approx(0.6)
    layer, mc, se, lin, mf = S.variance_profile(res, "activation", "activation_variance", 1)
    assert layer.tolist() == [1, 2, 3] and mc.tolist() == [2, 3, 4] and se.tolist() == [.2, .3, .4]
    layer, mc, *_ = S.variance_profile(res, "backprop", "backprop_variance", 0)
    assert layer.tolist() == [1, 2, 3, 4] and mc.tolist() == [1, 2, 3, 4]


def test_plateau_fraction():
    grid = np.linspace(-1.0, 1.0, 21)
    w1, w2 = np.meshgrid(grid, grid, indexing="ij")
    ramp = 10 * np.maximum(w1, 0.0)             # flat for w1 < 0: 10 of 21 rows
    assert S.plateau_fraction(ramp, grid) == pytest.approx(10 / 21)
    res = {"meta": {"digest": "sum-cost"}, "w1": grid, "cross_entropy": ramp,
           "quadratic": w2}                  # a plane: the same slope everywhere, no plateau
    assert S.plateau_fractions(res) == {"cross_entropy": pytest.approx(10 / 21),
                                        "quadratic": 0.0}


# ------------------------------------------------------------------------------------------
# Memo: each measure once per result, shared by the outputs

def test_memo_one_computation_per_result():
    run = fake_run([0.9, 0.1], digest="sum-memo")
    first = S.final_error(run)
    run["arrays"]["test_error"] = np.array([0.9, 0.2])   # same key: the memo answers
    assert S.final_error(run) is first and first["error"] == 0.1
    run["meta"]["updates_done"] += 1                      # progress is part of the key
    assert S.final_error(run)["error"] == 0.2
    S.forget()
    assert S.final_error(run) is not first
    bare = {k: v for k, v in run.items() if k != "digest"}   # no digest: measured each time
    assert S.result_key(bare) is None
    assert S.final_error(bare) == S.final_error(bare) and S.final_error(bare) is not \
        S.final_error(bare)
    assert S.result_key({"meta": {"digest": "abc"}}) == "abc"


def test_outputs_share_one_computation():
    """Table 1, Figure 11 and the claims' comparisons ask for the same final errors: each run's
    is computed once (fresh result dicts with the same digests, as experiments.run re-reads)."""
    from varprop.figures import fig11, table1

    def computed():
        return sorted(k[1][0] for k in S._MEMO if k[0] == "final_error")

    table1.table(fake_results())
    assert len(computed()) == 15                  # 3 columns × 5 models
    fig11.build(fake_results()["train_shapeset"])
    assert len(computed()) == 16                  # only Sigmoid depth 4 is new
    cell = table1.table(fake_results())["columns"][1]["cells"]["Tanh N"]
    c = S.error_comparison(fake_results()["train_mnist"], "Tanh N", "Sigmoid")
    assert len(computed()) == 16 and c["errors"][0] == cell["error"]


def test_imports_no_matplotlib():
    code = ("import sys, varprop.summaries; "
            "bad = [m for m in sys.modules if m.startswith(('matplotlib', 'varprop.figures'))]; "
            "assert not bad, bad")
    root = Path(S.__file__).resolve().parents[1]   # this checkout's package, not another
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root,
                   env={**os.environ, "PYTHONPATH": str(root)})
