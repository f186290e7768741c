"""The figure pipeline at smoke scale: files, metadata, the results store, and the numbers
behind each figure (so a wrong figure fails a test, not only a look)."""
from __future__ import annotations

import numpy as np
import pytest

from varprop import engine
from varprop import experiments as E
from varprop import figures
from varprop.kernels import numpy_functions
from varprop.check import ALPHA, FINITE_WIDTH, t_critical, tolerance
from varprop.cli import main


def test_every_figure_written_with_digest_and_version(smoke):
    assert [r["id"] for r in smoke["first"]] == list(figures.FIGURES)
    for rec in smoke["first"]:
        for path in rec["paths"]:
            with open(path, "rb") as f:
                data = f.read()
            assert len(data) > (5000 if rec["id"] not in figures.TEXTS else 1000)
            assert b"varprop 0." in data             # the version in the metadata
            for d in rec["digests"]:
                assert d.encode() in data            # every result drawn, by its digest
        assert {p.rsplit(".", 1)[1] for p in rec["paths"]} == (
            {"png", "pdf"} if rec["id"] not in figures.TEXTS else
            {"md", "tex"} if rec["id"] == "TABLE1" else {"md"})
    assert not list(smoke["out"].glob(".*part"))     # no temporary left behind


def test_second_run_recomputes_nothing(smoke):
    assert smoke["tasks_first"] > 0
    assert smoke["tasks_second"] == 0
    assert [r["digests"] for r in smoke["second"]] == [r["digests"] for r in smoke["first"]]


TINY = """kind = "init_statistics"
inputs = "normal"
top = "softmax"
bins = 20
models = [["tanh", "tanh", "standard"], ["tanh N", "tanh", "normalized"], {last}]
[smoke]
widths = [16, 16, 16, 3]
networks = 2
samples = {samples}
"""


def test_config_change_recomputes_only_the_results_it_changes(tmp_path):
    """From the TOML: a rerun computes nothing; changing one model computes that model only;
    a change every model shares computes every model (tasks: 2 network batches and the store
    step per model)."""
    root = tmp_path / "store"

    def run(last, samples=10):
        (tmp_path / "tiny.toml").write_text(TINY.format(last=last, samples=samples))
        n = engine.run(["tiny"], "smoke", root, jobs=1, log=lambda m: None, configs=tmp_path)
        return engine.load("tiny", "smoke", root, tmp_path), n

    first, n = run('["softsign", "softsign", "standard"]')
    assert n == 3 * 3
    again, n = run('["softsign", "softsign", "standard"]')
    assert n == 0
    assert {k: v["meta"]["digest"] for k, v in again.items()} == {
        k: v["meta"]["digest"] for k, v in first.items()}
    changed, n = run('["softsign N", "softsign", "normalized"]')
    assert n == 3 and (root / "smoke" / "tiny" / "softsign-n").is_dir()
    for label in ("tanh", "tanh N"):
        assert changed[label]["meta"]["digest"] == first[label]["meta"]["digest"]
        np.testing.assert_array_equal(changed[label]["activation.variance"],
                                      first[label]["activation.variance"])
    _, n = run('["softsign N", "softsign", "normalized"]', samples=12)
    assert n == 3 * 3


def test_results_equal_a_single_measurement(smoke):
    """The network batches combined by the engine give what one ``measure`` call gives."""
    from varprop.montecarlo import measure

    r = smoke["results"]["init_tanh"]["tanh N"]
    p = r["meta"]["params"]
    inputs = E._inputs(p)
    m = measure(tuple(p["widths"]), "tanh", "normalized", networks=p["networks"],
                samples=p["samples"], seed=p["seed"], inputs=inputs, top=p["top"],
                bins=p["bins"], ranges={"activation": r["activation.edges"][:, [0, -1]]},
                blas_threads=1)
    np.testing.assert_array_equal(m.stats["activation"].variance, r["activation.variance"])
    np.testing.assert_array_equal(m.stats["backprop"].histogram, r["backprop.histogram"])


# ----------------------------------------------------------------------------- calibrated checks
# Every agreement below is varprop check's verdict (varprop.check): |MC - theory| <= t SE +
# fw |theory|, SE the spread across networks, t the Student-t critical value (networks - 1
# degrees of freedom) for a false alarm of check.ALPHA over the comparisons of one test
# (Bonferroni), fw = (L + C) / n_min the finite-width allowance that check.compare derived for
# the network (stored in each result's meta). The results are seeded: nothing can flake; each
# test also shows that a wrong number fails the same check.

def t_value(r, comparisons):
    return t_critical(r["meta"]["networks"] - 1, ALPHA / comparisons)


def agrees(r, quantity, field, layers, comparisons, theory="meanfield"):
    """Per layer: does the measured variance agree with the theory's, by varprop check's rule?"""
    mc, se = r[f"{quantity}.variance"][layers], r[f"{quantity}.variance_se"][layers]
    th = r[f"{theory}.{field}"][layers]
    return np.abs(mc - th) <= tolerance(se, th, r["meta"]["finite_width_rel"],
                                        t_value(r, comparisons))


def layers_agree(per_network, predicted, fw, t):
    """Pairs (a, b) of layers: |(v_a - v_b) - (p_a - p_b)| <= t SE(v_a - v_b) + fw (|p_a| + |p_b|),
    the SE of the difference from the per-network differences (the layers share networks and
    inputs), the finite-width terms of the two layers added."""
    v = np.asarray(per_network)                                  # (networks, layers)
    d = v[:, :, None] - v[:, None, :]
    se = d.std(axis=0, ddof=1) / np.sqrt(v.shape[0])
    p = np.asarray(predicted, dtype=float)
    mc = v.mean(axis=0)
    gap = np.abs((mc[:, None] - mc[None, :]) - (p[:, None] - p[None, :]))
    return gap <= t * se + fw * (np.abs(p)[:, None] + np.abs(p)[None, :])


def _fraction_predicted(r, k, a, scale=1.0):
    """Fraction of |z^k| < a under the per-input mean field, all its variances times scale."""
    edges = r["activation.edges"][k]
    centres = 0.5 * (edges[1:] + edges[:-1])
    q = r["meanfield.group_preactivation_variance"][:, k - 1] * scale
    dens = E.predicted_activation_density("tanh", q, centres, r["meanfield.group_weights"])
    return float(E.fraction_within(np.nan_to_num(dens), edges, a)[0])


def test_fig6_activation_peak_at_zero(smoke):
    """Standard init: the fraction of |z| < 0.1 grows with the layer, towards 1 at the top;
    normalized: it stays low and flat. Measured fractions and variances agree with the
    per-input mean field; the fraction's tolerance is check's tolerance on the pre-activation
    variance q carried through dF/d ln q. The pooled-Var[x] mean field misses layer 1."""
    res = smoke["results"]["init_tanh"]
    a, m = 0.1, 20                 # 2 models x 5 hidden layers x (fraction, variance)
    frac = {}
    for label in ("tanh", "tanh N"):
        r = res[label]
        L = len(r["meta"]["widths"]) - 1
        hidden = np.arange(1, L)
        assert agrees(r, "activation", "activation_variance", hidden, m).all(), label
        t, fw = t_value(r, m), r["meta"]["finite_width_rel"]
        measured = E.fraction_within(r["activation.histogram"], r["activation.edges"], a)[1:]
        for k in hidden:
            pred = _fraction_predicted(r, k, a)
            slope = (_fraction_predicted(r, k, a, 1.01) - _fraction_predicted(r, k, a, 0.99)) / 0.02
            rel_se = r["preactivation.variance_se"][k - 1] / r["preactivation.variance"][k - 1]
            tol = abs(slope) * (t * rel_se + fw)
            assert abs(measured[k - 1] - pred) <= tol, (label, k, measured[k - 1], pred, tol)
            # power: a prediction from variances 50 % too large fails the same tolerance
            assert abs(measured[k - 1] - _fraction_predicted(r, k, a, 1.5)) > tol, (label, k)
        frac[label] = measured
    std, nrm = frac["tanh"], frac["tanh N"]
    assert np.all(np.diff(std) > 0.05)            # the paper's effect, with a margin
    assert std[-1] > 0.9 and std[0] < 0.4
    assert nrm.max() < 0.35 and nrm.max() - nrm.min() < 0.2
    assert np.all(nrm < std)
    # a wrong prediction fails the same check: Shapeset images differ in norm, so layer 1 is a
    # scale mixture, and the mean field for the pooled Var[x] sits ~9 % above it
    r = res["tanh N"]
    assert not agrees(r, "activation", "activation_variance", [1], m, "meanfield_pooled").all()


def test_fig7_backprop_vanishes_towards_input_for_standard_only(smoke):
    res = smoke["results"]["init_tanh"]
    L = len(res["tanh"]["meta"]["widths"]) - 1
    hidden = np.arange(L - 1)      # dC/ds^k into hidden layer k + 1 (the top one is the input)
    m = 2 * len(hidden)
    for label in ("tanh", "tanh N"):
        assert agrees(res[label], "backprop", "backprop_variance", hidden, m).all(), label
    std = res["tanh"]["backprop.variance"][hidden]
    nrm = res["tanh N"]["backprop.variance"][hidden]
    assert np.all(np.diff(std) > 0) and std[-1] / std[0] > 30
    assert nrm[-1] / nrm[0] < std[-1] / std[0] / 10
    # a wrong prediction fails: the pooled mean field overestimates layer 1 of normalized init
    assert not agrees(res["tanh N"], "backprop", "backprop_variance", [0], m,
                      "meanfield_pooled").all()


def test_fig8_weight_gradients_layer_independent(smoke):
    """Eq. (14): the weight-gradient variances of the layers agree with each other within SE
    (paired across networks) plus the finite-width allowance — all layers as the mean field
    predicts their differences (W^0's input is the image, not a hidden layer), the hidden-to-
    hidden layers literally (eq. 14: no difference); each agrees with the mean field. The
    same check rejects the back-propagated gradients and a layer off by 30 %."""
    res = smoke["results"]["init_tanh"]
    L = len(res["tanh"]["meta"]["widths"]) - 1
    layers = np.arange(L - 1)      # dC/dW^k into hidden layer k + 1
    pairs = len(layers) * (len(layers) - 1) // 2
    m = 2 * (len(layers) + 2 * pairs)
    for label in ("tanh", "tanh N"):
        r = res[label]
        assert agrees(r, "weight_gradient", "weight_gradient_variance", layers, m).all(), label
        t, fw = t_value(r, m), r["meta"]["finite_width_rel"]
        v = r["weight_gradient.per_network_variance"][:, layers]
        th = r["meanfield.weight_gradient_variance"][layers]
        assert layers_agree(v, th, fw, t).all(), label
        # eq. (14) literally (equal widths, so the hidden-to-hidden layers W^1..): no difference
        flat = np.full(len(layers) - 1, th[1:].mean())
        assert layers_agree(v[:, 1:], flat, fw, t).all(), label
        wrong = v[:, 1:].copy()
        wrong[:, 1] *= 1.3
        assert not layers_agree(wrong, flat, fw, t).all(), label
    r = res["tanh"]
    b = r["backprop.per_network_variance"][:, layers]
    assert not layers_agree(b, np.full(len(layers), b.mean()), r["meta"]["finite_width_rel"],
                            t_value(r, m)).all()
    bv, wv = r["backprop.variance"][layers], r["weight_gradient.variance"][layers]
    assert bv.max() / bv.min() > 30 * (wv.max() / wv.min())


def test_figJ_normalized_jacobians_nearer_one(smoke):
    """The Jacobians' mean squared singular value agrees with the mean field by check's rule,
    with the forward part of its finite-width allowance, L / n_min (a Jacobian involves no
    softmax gradient, so no C / n_min term); normalized init keeps them nearer 1."""
    res = smoke["results"]["init_models"]
    widths = res["tanh"]["meta"]["widths"]
    m = 6 * (len(widths) - 2)                     # 6 models x the hidden Jacobians
    fw = FINITE_WIDTH * (len(widths) - 1) / min(widths[:-1])
    for act in ("tanh", "softsign", "sigmoid"):
        for label in (act, f"{act} N"):
            r = res[label]
            mc, se = r["jacobian_mean_sq"], r["jacobian_mean_sq_se"]
            th = r["meanfield.jacobian_mean_sq_singular"]
            tol = tolerance(se, th, fw, t_value(r, m))
            assert not np.all(np.abs(1.1 * mc - th) <= tol), label    # 10 % off fails
            assert np.all(np.abs(mc - th) <= tol), label
            other = res[act if label.endswith(" N") else f"{act} N"]   # the other init's theory
            assert not np.all(np.abs(mc - other["meanfield.jacobian_mean_sq_singular"]) <= tol)
            rms = np.sqrt(mc)
            assert np.all(r["jacobian_mean"] <= rms * (1 + 1e-9))    # mean <= RMS
        std, nrm = (np.sqrt(res[lb]["jacobian_mean_sq"]) for lb in (act, f"{act} N"))
        assert np.all(np.abs(1 - nrm) < np.abs(1 - std))


def test_figV_measurements_agree_with_mean_field(smoke):
    res = smoke["results"]["init_models"]
    models = ("sigmoid", "tanh", "softsign", "tanh N", "softsign N")
    L = len(res["tanh"]["meta"]["widths"]) - 1
    m = len(models) * ((L - 1) + (L - 1) + L)
    for label in models:
        r = res[label]
        assert agrees(r, "activation", "activation_variance", np.arange(1, L), m).all(), label
        assert agrees(r, "backprop", "backprop_variance", np.arange(L - 1), m).all(), label
        assert agrees(r, "weight_gradient", "weight_gradient_variance", np.arange(L), m).all(), label
        for fld in ("activation_variance", "backprop_variance", "weight_gradient_variance"):
            assert np.all(np.isfinite(r[f"linear.{fld}"]))
    # the same check rejects the paper's linear-regime theory where tanh saturates
    assert not agrees(res["tanh"], "activation", "activation_variance", np.arange(1, L), m,
                      "linear").all()


def test_fig5_quadratic_cost_flatter(smoke):
    r = smoke["results"]["cost_surface"]
    ce, quad = r["cross_entropy"], r["quadratic"]
    assert ce.shape == quad.shape == (r["w1"].size, r["w2"].size)
    assert ce.min() > 0 and 0 <= quad.min() and quad.max() <= 2
    g = {k: np.hypot(*np.gradient(r[k], r["w1"], r["w2"])) for k in ("cross_entropy", "quadratic")}
    assert np.median(g["quadratic"]) < np.median(g["cross_entropy"]) / 2
    assert np.ptp(quad) < np.ptp(ce)


def test_predicted_activation_density_is_tanh_of_gaussian():
    """The change-of-variables density integrates to 1 and matches a histogram of tanh(s),
    s ~ N(0, q), per bin within z binomial SEs (z for a false alarm of check.ALPHA over the
    bins); a mixture over variances is the weighted sum of the single densities."""
    f, _ = numpy_functions("tanh")
    q, n, bins = 0.7, 400_000, 40
    rng = np.random.default_rng(1)
    z = f(rng.normal(0, np.sqrt(q), n))
    edges = np.linspace(-1, 1, bins + 1)
    counts, _ = np.histogram(z, edges)
    fine = np.linspace(-1 + 1e-9, 1 - 1e-9, 200_001)
    dens = E.predicted_activation_density("tanh", q, fine)
    assert abs(np.sum(0.5 * (dens[1:] + dens[:-1]) * np.diff(fine)) - 1) < 1e-3
    bin_of = np.clip(np.searchsorted(edges, fine) - 1, 0, bins - 1)
    p = np.bincount(bin_of, dens) / np.bincount(bin_of) * np.diff(edges)    # bin probabilities
    zc = t_critical(10**9, ALPHA / bins)                       # ~ normal quantile
    se = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(counts / n - p) <= zc * se + 1e-4 * p)              # + quadrature error
    assert not np.all(np.abs(counts / n - 1.05 * p) <= zc * se + 1e-4 * p)   # 5 % off fails
    mix = E.predicted_activation_density("tanh", [0.2, 1.5], fine[::1000], [0.25, 0.75])
    np.testing.assert_allclose(
        mix, 0.25 * E.predicted_activation_density("tanh", 0.2, fine[::1000])
        + 0.75 * E.predicted_activation_density("tanh", 1.5, fine[::1000]), rtol=1e-12)
    with pytest.raises(ValueError, match="one weight per variance"):
        E.predicted_activation_density("tanh", [0.2, 1.5], fine[:3], [1.0])


def test_parse_only_and_bad_input():
    assert figures.parse_only("6, j,6") == ["6", "J"]
    assert figures.parse_only("table1,t") == ["TABLE1", "T"]
    with pytest.raises(ValueError, match="choose from: 1, 2, 3, .*, T, S, P, TABLE1, CLAIMS"):
        figures.parse_only("13")
    with pytest.raises(ValueError, match="smoke, gallery, paper"):
        engine.load_config("init_tanh", "huge")


@pytest.mark.parametrize("argv", [["figures", "--only", "13"], ["figures", "--scale", "big"],
                                  ["figures", "--bogus"], ["figures", "--jobs", "0"]])
def test_cli_errors_one_line(argv, capsys, tmp_path):
    assert main(argv + ["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "varprop" in err
    assert not list(tmp_path.iterdir())


def test_cli_figures_from_the_store(smoke, tmp_path, capsys):
    n = len(engine.TASKS_RUN)
    assert main(["figures", "--scale", "smoke", "--only", "5", "--out", str(tmp_path),
                 "--store", str(smoke["runs"])]) == 0
    assert engine.TASKS_RUN[n:] == [0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figure5.pdf", "figure5.png"]
    assert "1 output(s) at scale smoke drawn" in capsys.readouterr().err
