"""Training monitors: against an independent NumPy oracle, against the mean-field theory at
initialisation (calibrated as ``varprop.check`` calibrates), the theory comparison against
``theory.propagate``, histogram normalisation, evaluation, the report, and bad input."""
import itertools

import numpy as np
import pytest

from varprop.check import ALPHA, FINITE_WIDTH, t_critical, tolerance
from varprop.kernels.costs import top_cost_and_gradient
from varprop.theory import propagate
from varprop.training import numpy_step
from varprop.training.monitors import (
    EDGE_KEYS,
    MONITOR_KEYS,
    THEORY_KEYS,
    evaluate,
    monitor,
    monitor_edges,
    theory_comparison,
)
from varprop.training.network import init_network
from varprop.training.report import format_report

SMALL = (7, 6, 5, 4)


def _data(widths, n, seed):
    rng = np.random.default_rng(seed)
    return rng.random((n, widths[0])), rng.integers(0, widths[-1], n)


def _small_net(activation, dtype="float64", seed=1):
    """A small network with non-zero biases (so every term of the passes is exercised)."""
    net = init_network(SMALL, activation, "normalized", dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed + 100)
    for b in net.biases:
        b[:] = rng.normal(0, 0.3, b.shape)
    return net


def _oracle(net, x, y, cost):
    """Every statistic from plain NumPy: per-example gradients from ``numpy_step.gradients``
    (of the mean cost, times N) and the per-example weight gradients formed in full."""
    net64 = net.astype("float64")
    n = x.shape[0]
    c, _, _, deltas = numpy_step.gradients(net64, x, y, cost)
    _, zs = numpy_step.forward(net64, x)
    deltas = [d * n for d in deltas]
    dws = [np.einsum("nl,nj->nlj", z, d) for z, d in zip(zs, deltas)]   # (N, n_k, n_{k+1})
    top = numpy_step.forward(net64, x)[0][-1]
    return {
        "activation_mean": [z.mean() for z in zs[1:]],
        "activation_std": [z.std() for z in zs[1:]],
        "activation_p2": [np.percentile(z, 2) for z in zs[1:]],
        "activation_p98": [np.percentile(z, 98) for z in zs[1:]],
        "activation_variance": [z.var() for z in zs],
        "input_second_moment": np.mean(x * x),
        "backprop_variance": [d.var() for d in deltas],
        "backprop_std": [d.std() for d in deltas],
        "weight_gradient_variance": [g.var() for g in dws],
        "weight_gradient_std": [g.std() for g in dws],
        "weight_variance": [w.var() for w in net64.weights],
        "bias_variance": [np.mean(b * b) for b in net64.biases],
        "cost": c,
        "error": np.mean(top.argmax(1) != y),
    }, zs, deltas


def _counted_density(values, edges):
    """Density by counting each bin's half-open interval (the last one closed)."""
    v = values.ravel()
    counts = [np.sum((v >= lo) & ((v < hi) if j < len(edges) - 2 else (v <= hi)))
              for j, (lo, hi) in enumerate(itertools.pairwise(edges))]
    return np.array(counts) / (v.size * np.diff(edges))


@pytest.mark.parametrize("activation,cost,dtype", [
    ("tanh", "nll", "float64"), ("sigmoid", "quadratic", "float64"), ("relu", "nll", "float32"),
    ("softsign", "quadratic", "float32"), ("linear", "nll", "float64")])
def test_monitor_matches_numpy_oracle(activation, cost, dtype):
    net = _small_net(activation, dtype)
    x, y = _data(SMALL, 13, 2)
    edges = monitor_edges(net, x, y, cost, bins=9)
    m = monitor(net, x, y, edges, cost)
    assert list(m) == [k for k, _, _ in MONITOR_KEYS]
    want, zs, deltas = _oracle(net, x, y, cost)
    for key, value in want.items():
        np.testing.assert_allclose(m[key], value, rtol=1e-11, atol=1e-15, err_msg=key)
    for h, z in enumerate(zs[1:]):
        np.testing.assert_allclose(m["activation_histogram"][h],
                                   _counted_density(z, edges["activation_edges"][h]), rtol=1e-12)
    for k, d in enumerate(deltas):
        np.testing.assert_allclose(m["backprop_histogram"][k],
                                   _counted_density(d, edges["backprop_edges"][k]), rtol=1e-12)
    for v in m.values():
        assert v.dtype == np.float64


def test_monitor_shapes_are_fixed_and_documented():
    widths = (5, 4, 4, 3)
    net = init_network(widths, "tanh", "standard", seed=0)
    x, y = _data(widths, 11, 0)
    edges = monitor_edges(net, x, y, bins=6)
    assert {k: v.shape for k, v in edges.items()} == {"activation_edges": (2, 7),
                                                      "backprop_edges": (3, 7)}
    assert [k for k, _, _ in EDGE_KEYS] == list(edges)
    L, H, B = 3, 2, 6
    sizes = {"L": L, "H": H, "B": B, "B+1": B + 1}
    m = monitor(net, x, y, edges)
    th = theory_comparison(net, m)
    for key, shape, _ in MONITOR_KEYS + THEORY_KEYS:
        want = tuple(sizes[s.strip()] for s in shape.strip("()").split(",") if s.strip())
        assert {**m, **th}[key].shape == want, key
    # no hidden layer: empty activation arrays, not an error
    one = init_network((5, 3), "tanh", "standard", seed=0)
    e1 = monitor_edges(one, x, y, bins=6)
    m1 = monitor(one, x, y, e1)
    assert e1["activation_edges"].shape == (0, 7) and m1["activation_histogram"].shape == (0, 6)
    assert m1["backprop_variance"].shape == (1,)


def test_edges_follow_the_activation_range_and_the_initial_spread():
    x, y = _data(SMALL, 50, 3)
    for act, lo, hi in [("tanh", -1, 1), ("softsign", -1, 1), ("sigmoid", 0, 1)]:
        e = monitor_edges(init_network(SMALL, act, "normalized", seed=0), x, y, bins=10)
        assert np.all(e["activation_edges"][:, 0] == lo) and np.all(e["activation_edges"][:, -1] == hi)
    net = init_network(SMALL, "relu", "he", seed=0)
    e = monitor_edges(net, x, y, bins=10)
    _, zs, deltas = _oracle(net, x, y, "nll")
    for h, z in enumerate(zs[1:]):
        assert e["activation_edges"][h, 0] == 0
        np.testing.assert_allclose(e["activation_edges"][h, -1], z.mean() + 6 * z.std())
    for k, d in enumerate(deltas):
        np.testing.assert_allclose(e["backprop_edges"][k, [0, -1]], [-6 * d.std(), 6 * d.std()])


def test_histograms_integrate_to_the_in_range_fraction():
    net = _small_net("tanh")
    x, y = _data(SMALL, 40, 4)
    edges = monitor_edges(net, x, y, bins=12)
    net.weights[-1] *= 30          # the top gradients, then every layer's, outgrow the edges
    net.weights[0] *= 30           # and saturated units put mass on tanh's edges +-1
    m = monitor(net, x, y, edges)
    _, zs, deltas = _oracle(net, x, y, "nll")
    for name, values in (("activation", zs[1:]), ("backprop", deltas)):
        area = (m[f"{name}_histogram"] * np.diff(edges[f"{name}_edges"], axis=1)).sum(1)
        np.testing.assert_allclose(area, 1 - m[f"{name}_out_of_range"], rtol=1e-12)
        lo, hi = edges[f"{name}_edges"][:, :1], edges[f"{name}_edges"][:, -1:]
        outside = [np.mean((v < lo[i]) | (v > hi[i])) for i, v in enumerate(values)]
        np.testing.assert_allclose(m[f"{name}_out_of_range"], outside)
    assert m["backprop_out_of_range"].max() > 0.1
    assert np.all(m["activation_out_of_range"] == 0)     # tanh never leaves [-1, 1]


def _calibrated(init, networks=6, widths=(1024, 400, 400, 400, 9), samples=300):
    """Per network r (own weights, own uniform [0, 1] inputs and random labels): measured
    minus mean-field prediction for that network's E[x^2] and top gradient; the mean over
    networks must lie within check's tolerance: t SE (Bonferroni over the compared values)
    + FINITE_WIDTH (L + C) / n_min |prediction|."""
    diffs, preds, ms = [], [], []
    keys = ("activation_variance", "backprop_variance", "weight_gradient_variance")
    edges = None
    for r in range(networks):
        net = init_network(widths, "tanh", init, dtype="float32", seed=r)
        x, y = _data(widths, samples, 1000 + r)
        edges = edges or monitor_edges(net, x[:50], y[:50], bins=10)   # histograms: unused
        m = monitor(net, x, y, edges)
        th = theory_comparison(net, m)
        diffs.append([m[k] - th[f"meanfield_{k}"] for k in keys])      # (3, L)
        preds.append([th[f"meanfield_{k}"] for k in keys])
        ms.append(m)
    diffs, preds = np.array(diffs), np.array(preds)                     # (R, 3, L)
    L = len(widths) - 1
    compared = np.ones((3, L), bool)
    compared[0, 0] = compared[1, L - 1] = False                         # the theories' inputs
    z = t_critical(networks - 1, ALPHA / compared.sum())
    fw = FINITE_WIDTH * (L + widths[-1]) / min(widths[:-1])
    mean, se = diffs.mean(0), diffs.std(0, ddof=1) / np.sqrt(networks)
    tol = tolerance(se, preds.mean(0), fw, z)
    return mean, tol, compared, ms


@pytest.mark.parametrize("init", ["standard", "normalized"])
def test_measured_variances_agree_with_mean_field_at_initialisation(init):
    mean, tol, compared, ms = _calibrated(init)
    bad = np.argwhere(compared & (np.abs(mean) > tol))
    assert bad.size == 0, (bad, mean, tol)
    # the paper's directions (Section 4.2.1, eq. (14), Figs. 7-8), robust at this width (the
    # means of 6 networks; mean field: 11.4 and 2.3 for g[2] / g[0], hidden Var[dC/dW] within
    # 1.3x): the standard init's back-propagated gradients shrink towards the input much
    # faster than the normalized init's; Var[dC/dW] of the hidden layers is nearly constant.
    g = np.mean([m["backprop_variance"] for m in ms], axis=0)
    wg = np.mean([m["weight_gradient_variance"] for m in ms], axis=0)
    if init == "standard":
        assert np.all(np.diff(g) > 0) and g[-2] / g[0] > 6
    else:
        assert 1 < g[-2] / g[0] < 3
    assert wg[:-1].max() / wg[:-1].min() < 1.5


def test_input_mean_matters_for_the_theory():
    """The theories take x centred: given Var[x] instead of E[x^2] for inputs in [0, 1],
    the mean field misses layer 1's variance by far more than the tolerance."""
    widths = (1024, 400, 400, 9)
    net = init_network(widths, "tanh", "normalized", seed=0)
    x, y = _data(widths, 300, 5)
    m = monitor(net, x, y, monitor_edges(net, x, y, bins=10))
    good = theory_comparison(net, m)["meanfield_activation_variance"][1]
    bad = theory_comparison(net, m, var_x=float(m["activation_variance"][0]))
    # one network's own spread at width 400 is ~5 % (seeds 0-3: ratios 0.94 to 1.01)
    assert abs(m["activation_variance"][1] / good - 1) < 0.1
    assert m["activation_variance"][1] / bad["meanfield_activation_variance"][1] > 2


def test_theory_comparison_is_propagate_for_the_current_weights():
    net = _small_net("tanh")
    x, y = _data(SMALL, 30, 6)
    m = monitor(net, x, y, monitor_edges(net, x, y, bins=5))
    th = theory_comparison(net, m)
    sb2 = np.mean([np.mean(b * b) for b in net.biases])
    var_x, var_top = np.mean(x * x), m["backprop_variance"][-1]
    for t in ("linear", "meanfield"):
        p = propagate(SMALL, [w.var() for w in net.weights], "tanh", var_x, var_top,
                      bias_variance=sb2, theory=t)
        for q in ("activation_variance", "preactivation_variance", "backprop_variance",
                  "weight_gradient_variance"):
            np.testing.assert_allclose(th[f"{t}_{q}"], getattr(p, q), rtol=1e-12)
    assert th["theory_bias_variance"] == pytest.approx(sb2) and sb2 > 0

    # scale W^1 by 2 (Var x 4): in the linear regime of tanh (f'(0) = 1, zero biases) Var[s^1]
    # and every Var[z] above it grow 4x, and Var[dC/ds^0] (back through W^1) grows 4x
    for b in net.biases:
        b[:] = 0
    before = theory_comparison(net, m, var_x=1.0, var_top=0.5)
    net.weights[1] *= 2
    after = theory_comparison(net, m, var_x=1.0, var_top=0.5)
    np.testing.assert_allclose(after["linear_activation_variance"][:2],
                               before["linear_activation_variance"][:2], rtol=1e-12)
    np.testing.assert_allclose(after["linear_activation_variance"][2:],
                               4 * before["linear_activation_variance"][2:], rtol=1e-12)
    np.testing.assert_allclose(after["linear_backprop_variance"],
                               [4, 1, 1] * before["linear_backprop_variance"], rtol=1e-12)
    assert after["meanfield_activation_variance"][2] > 1.5 * before["meanfield_activation_variance"][2]


def test_theory_comparison_of_a_diverged_network_is_nan_not_an_error():
    net = _small_net("tanh")
    x, y = _data(SMALL, 10, 7)
    m = monitor(net, x, y, monitor_edges(net, x, y, bins=5))
    th = theory_comparison(net, m, var_top=float("nan"))
    assert th["meanfield_backprop_variance"].shape == (3,)
    assert np.all(np.isnan(th["meanfield_backprop_variance"]))
    with pytest.raises(ValueError, match="monitor"):
        theory_comparison(net, {"backprop_variance": m["backprop_variance"]})


@pytest.mark.parametrize("dtype,cost", [("float64", "nll"), ("float32", "quadratic")])
def test_evaluate_counts_argmax_errors(dtype, cost):
    widths = (10, 8, 4)
    net = init_network(widths, "tanh", "normalized", dtype=dtype, seed=3)
    net.weights[-1] *= 5
    x, y = _data(widths, 257, 8)
    err, c = evaluate(net, x, y, cost, chunk=50)
    top = numpy_step.forward(net.astype("float64"), x)[0][-1]
    assert err == np.count_nonzero(top.argmax(1) != y) / 257 and 0.05 < err < 0.95
    want = top_cost_and_gradient(top, y, cost)[0]
    np.testing.assert_allclose(c, want, rtol=1e-12 if dtype == "float64" else 1e-5)
    assert evaluate(net, x, y, cost, chunk=1000) == pytest.approx((err, c), rel=1e-6)


def test_report_tables_ratios_and_summary():
    net = _small_net("tanh")
    x, y = _data(SMALL, 30, 9)
    edges = monitor_edges(net, x, y, bins=5)
    pts = []
    for _ in range(2):
        m = monitor(net, x, y, edges)
        pts.append({**m, **theory_comparison(net, m)})
        net.weights[1] *= 3
    stacked = {k: np.stack([p[k] for p in pts]) for k in pts[0]}
    text = format_report(stacked, [0, 20000], SMALL, "tanh")
    assert "update 20,000" in text and text.count("largest |log10") == 2
    row = next(line for line in text.splitlines() if line.split()[:2] == ["1", "Var[dC/dW]"])
    ratio = stacked["weight_gradient_variance"][0, 1] / stacked["meanfield_weight_gradient_variance"][0, 1]
    assert row.split()[6] == f"{ratio:.3g}"
    assert sum(line.endswith("input") for line in text.splitlines()) == 4   # 2 per point
    with pytest.raises(ValueError, match="lack"):
        format_report({"activation_variance": stacked["activation_variance"]}, [0, 1], SMALL, "tanh")
    with pytest.raises(ValueError, match="shape"):
        format_report(stacked, [0, 1, 2], SMALL, "tanh")


def test_bad_input_is_one_clear_error():
    net = _small_net("tanh")
    x, y = _data(SMALL, 10, 0)
    edges = monitor_edges(net, x, y, bins=5)
    with pytest.raises(ValueError, match="inputs must have shape"):
        monitor(net, x[:, :3], y, edges)
    with pytest.raises(ValueError, match="labels must"):
        monitor(net, x, y[:5], edges)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\)"):
        monitor(net, x, y + 4, edges)
    with pytest.raises(ValueError, match="unknown cost"):
        monitor(net, x, y, edges, cost="hinge")
    with pytest.raises(ValueError, match="do not fit"):
        monitor(net, x, y, {"activation_edges": edges["activation_edges"][:1],
                            "backprop_edges": edges["backprop_edges"]})
    with pytest.raises(ValueError, match="edges must be"):
        monitor(net, x, y, {})
    with pytest.raises(ValueError, match="bins"):
        monitor_edges(net, x, y, bins=0)
    with pytest.raises(ValueError, match="chunk"):
        evaluate(net, x, y, chunk=0)
