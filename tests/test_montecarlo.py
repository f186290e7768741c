"""Monte-Carlo at initialisation against the theories: property tests, calibration of the
standard errors, reproducibility, overflow reporting and bad input."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from varprop import check as check_module
from varprop import cli
from varprop.check import ALPHA, compare, t_critical
from varprop.montecarlo import measure
from varprop.theory import linear_theory

ACTIVATIONS = ["linear", "tanh", "sigmoid", "softsign", "relu"]
INITS = ["standard", "normalized", "lecun", "he", "orthogonal"]
QUANTITIES = [("activation", "activation_variance"), ("backprop", "backprop_variance"),
              ("weight_gradient", "weight_gradient_variance")]

configs = st.integers(1, 6).flatmap(lambda L: st.tuples(
    st.lists(st.integers(32, 512), min_size=L + 1, max_size=L + 1),
    st.sampled_from(ACTIVATIONS), st.sampled_from(INITS), st.floats(0.25, 4.0),
    st.sampled_from(["softmax", "injected"]), st.integers(0, 2**16)))


@settings(max_examples=14)
@given(configs)
def test_monte_carlo_agrees_with_mean_field(cfg):
    """Within the critical t standard errors plus the finite-width allowance of
    ``varprop.check``; linear units agree with the linear theory exactly (standard errors only)."""
    widths, act, init, var_x, top, seed = cfg
    rep = compare(measure(widths, act, init, networks=24, samples=32, seed=seed, var_x=var_x,
                          top=top, bins=20))
    assert rep.ok, [(r["layer"], {k: v for k, v in r.items() if k != "layer"}) for r in rep.rows]
    if act == "linear" and top == "injected":   # softmax's p - y depends on the top weights
        for row in rep.rows:
            for key in ("activation_variance", "backprop_variance", "weight_gradient_variance"):
                c = row[key]
                assert abs(c["mc"] - c["linear"]) <= rep.z * c["se"] + 1e-12 * c["linear"]


@pytest.mark.parametrize("width,depth", [(64, 4), (200, 3)])
def test_weight_gradient_variance_is_layer_independent_eq14(width, depth):
    """Equal widths, linear units (where (14) is exact): every layer's Var[dC/dW] agrees."""
    m = measure([width] * (depth + 1), "linear", "lecun", networks=24, samples=64, seed=7,
                top="injected", bins=20)
    st_ = m.stats["weight_gradient"]
    pairs = depth * (depth - 1) // 2
    t = t_critical(m.networks - 1, ALPHA / pairs)
    for a in range(depth):
        for b in range(a + 1, depth):
            diff = abs(st_.variance[a] - st_.variance[b])
            assert diff <= t * np.hypot(st_.variance_se[a], st_.variance_se[b])
    # and with the standard init the back-propagated gradients do shrink towards the input
    m = measure([width] * (depth + 1), "linear", "standard", networks=24, samples=64, seed=7,
                top="injected", bins=20)
    g = m.stats["backprop"].variance
    assert np.all(g[:-1] < g[1:])


def test_standard_errors_are_calibrated_on_linear_networks():
    """Linear networks, where (5)-(7) are exact: |estimate - truth| < 2 SE should hold with
    the t-distribution's probability for 16 networks, P(|t_15| < 2) = 0.936."""
    widths, hits = [64, 64, 64], []
    for seed in range(160):
        m = measure(widths, "linear", "lecun", networks=16, samples=32, seed=seed,
                    top="injected", bins=10)
        truth = linear_theory(widths, "linear", "lecun", m.var_x, 1.0)
        for q, field in QUANTITIES:
            layers = [0] if q == "backprop" else [1] if q == "activation" else [0, 1]
            for k in layers:
                est, se = m.stats[q].variance[k], m.stats[q].variance_se[k]
                hits.append(abs(est - getattr(truth, field)[k]) < 2 * se)
    coverage = np.mean(hits)
    # 640 indicators (correlated within a run): 0.936 +- 3 sd of 160 independent runs
    assert 0.89 <= coverage <= 0.98, coverage


def test_same_seed_same_bits_and_seeds_differ():
    kw = dict(networks=3, samples=70, chunk=32, bins=16)
    a = measure([40, 30, 20, 5], "tanh", "normalized", seed=11, **kw)
    b = measure([40, 30, 20, 5], "tanh", "normalized", seed=11, **kw)
    c = measure([40, 30, 20, 5], "tanh", "normalized", seed=12, **kw)
    for q in a.stats:
        np.testing.assert_array_equal(a.stats[q].variance, b.stats[q].variance)
        np.testing.assert_array_equal(a.stats[q].histogram, b.stats[q].histogram)
        assert not np.array_equal(a.stats[q].variance, c.stats[q].variance)


def test_overflow_is_reported_per_layer_not_averaged():
    from varprop.symbolic.schemes import custom_scheme
    huge = custom_scheme(1e12, "fan_in", "normal")
    m = measure([16] * 9, "linear", huge, networks=2, samples=8, dtype="float32", bins=8)
    bad = m.stats["activation"].nonfinite
    assert bad[0] == 0 and bad[-1] > 0
    rep = compare(m)
    assert not rep.ok
    assert any(r["activation_variance"]["verdict"].startswith("overflow") for r in rep.rows)


def test_percentiles_from_streaming_histograms():
    m = measure([50, 400, 10], "linear", "lecun", networks=4, samples=500, seed=1, bins=400,
                top="injected")
    sd = np.sqrt(m.stats["preactivation"].variance[0])
    # Gaussian pre-activations: 2nd and 98th percentiles at -+2.0537 sd, to within a bin or so
    assert m.stats["preactivation"].p98[0] / sd == pytest.approx(2.0537, abs=0.03)
    assert m.stats["preactivation"].p2[0] / sd == pytest.approx(-2.0537, abs=0.03)
    dens, edges = m.stats["activation"].histogram[0], m.stats["activation"].edges[0]
    assert np.sum(dens * np.diff(edges)) == pytest.approx(1 - m.stats["activation"].out_of_range[0])


def test_jacobian_mean_singular_values_standard_vs_normalized():
    """Section 4.2.2: normalized init keeps the Jacobians' singular values nearer 1."""
    kw = dict(networks=2, samples=8, seed=0, jacobian_inputs=2, bins=8)
    std = measure([200] * 4 + [10], "tanh", "standard", **kw)
    nrm = measure([200] * 4 + [10], "tanh", "normalized", **kw)
    assert np.all(nrm.jacobian_mean > std.jacobian_mean)
    assert np.all((std.jacobian_mean > 0.3) & (std.jacobian_mean < 0.6))


def test_check_cli_json_and_exit_codes(capsys, monkeypatch):
    argv = ["check", "--widths", "64,64,64,5", "--activation", "tanh", "--init", "normalized",
            "--networks", "6", "--samples", "40", "--json"]
    assert cli.main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] and len(doc["layers"]) == 3
    cell = doc["layers"][1]["activation_variance"]
    assert set(cell) == {"linear", "meanfield", "mc", "se", "verdict"}
    # a wrong theory must be caught: exit status 1
    real = check_module.meanfield_theory

    def wrong(*args, **kw):
        p = real(*args, **kw)
        p.activation_variance[1:] *= 1.5
        return p

    monkeypatch.setattr(check_module, "meanfield_theory", wrong)
    assert cli.main(argv[:-1]) == 1
    assert "DISAGREEMENT" in capsys.readouterr().out


@pytest.mark.parametrize("argv,needle", [
    (["check", "--widths", "8,8", "--networks", "0"], "networks"),
    (["check", "--widths", "8,8", "--input-law", "x"], "normal, uniform"),
    (["check", "--widths", "8,8", "--networks", "two"], "invalid int value"),
])
def test_check_cli_bad_input(capsys, argv, needle):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and needle in err
