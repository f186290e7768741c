"""The figure pipeline at smoke scale: files, metadata, cache, and the numbers behind each
figure (so a wrong figure fails a test, not only a look)."""
from __future__ import annotations

import os

import numpy as np
import pytest

from varprop import experiments as E
from varprop import figures
from varprop.activations import numpy_functions
from varprop.cli import main


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """Every figure at smoke scale into a fresh cache; then a second run from the cache."""
    cache = tmp_path_factory.mktemp("cache")
    out = tmp_path_factory.mktemp("figures")
    old = os.environ.get(E.CACHE_ENV)
    os.environ[E.CACHE_ENV] = str(cache)
    try:
        before = len(E.COMPUTED)
        first = figures.make(None, scale="smoke", out=out)
        computed_first = len(E.COMPUTED) - before
        second = figures.make(None, scale="smoke", out=out)
        computed_second = len(E.COMPUTED) - before - computed_first
        results = {name: E.run(name, "smoke")[0]
                   for name in ("init_tanh", "init_models", "cost_surface")}
        yield {"out": out, "cache": cache, "first": first, "second": second,
               "computed_first": computed_first, "computed_second": computed_second,
               "results": results}
    finally:
        if old is None:
            os.environ.pop(E.CACHE_ENV, None)
        else:
            os.environ[E.CACHE_ENV] = old


def test_every_figure_written_with_digest_and_version(smoke):
    assert [r["id"] for r in smoke["first"]] == list(figures.FIGURES)
    for rec in smoke["first"]:
        for path in rec["paths"]:
            data = open(path, "rb").read()
            assert len(data) > 5000
            assert b"varprop 0." in data             # the version in the metadata
            for d in rec["digests"]:
                assert d.encode() in data            # every result drawn, by its digest
        assert {p.rsplit(".", 1)[1] for p in rec["paths"]} == {"png", "pdf"}
    assert not list(smoke["out"].glob(".*part"))     # no temporary left behind


def test_second_run_recomputes_nothing(smoke):
    assert smoke["computed_first"] == 10             # 2 + 6 models, cost surface, examples
    assert smoke["computed_second"] == 0
    assert [r["digests"] for r in smoke["second"]] == [r["digests"] for r in smoke["first"]]


def test_config_change_recomputes_only_what_changed(smoke, tmp_path, monkeypatch):
    monkeypatch.setenv(E.CACHE_ENV, str(tmp_path))
    base = E.load_config("cost_surface", "smoke")
    base.pop("kind")
    n = len(E.COMPUTED)
    a = E.cost_surface(dict(base))
    b = E.cost_surface({**base, "grid": 5})
    again = E.cost_surface(dict(base))
    assert len(E.COMPUTED) == n + 2
    assert a["meta"]["digest"] == again["meta"]["digest"] != b["meta"]["digest"]
    np.testing.assert_array_equal(a["quadratic"], again["quadratic"])


def test_fig6_activation_peak_at_zero(smoke):
    """Standard init: the fraction of |z| < 0.1 grows with the layer, towards 1 at the top;
    normalized: it stays well below; both agree with the mean-field distribution."""
    res = smoke["results"]["init_tanh"]
    frac = {}
    for label in ("tanh", "tanh N"):
        r = res[label]
        measured = E.fraction_within(r["activation.histogram"], r["activation.edges"], 0.1)[1:]
        predicted = E.fraction_within(np.nan_to_num(r["activation.predicted_density"]),
                                      r["activation.edges"], 0.1)[1:]
        frac[label] = measured
        np.testing.assert_allclose(measured, predicted, atol=0.06)
    std, nrm = frac["tanh"], frac["tanh N"]
    assert np.all(np.diff(std) > 0.05)            # margin: 5 points per layer
    assert std[-1] > 0.9 and std[0] < 0.4
    assert nrm.max() < 0.35 and nrm.max() - nrm.min() < 0.2
    assert np.all(nrm < std)


def _agrees(r, quantity, field, layers, rel=0.15, z=5.0):
    mc, se = r[f"{quantity}.variance"][layers], r[f"{quantity}.variance_se"][layers]
    th = r[f"meanfield.{field}"][layers]
    return np.abs(mc - th) <= z * se + rel * th


def test_fig7_backprop_vanishes_towards_input_for_standard_only(smoke):
    res = smoke["results"]["init_tanh"]
    L = len(res["tanh"]["meta"]["widths"]) - 1
    hidden = np.arange(L - 1)
    for label in ("tanh", "tanh N"):
        assert _agrees(res[label], "backprop", "backprop_variance", hidden, rel=0.3).all()
    std = res["tanh"]["backprop.variance"][hidden]
    nrm = res["tanh N"]["backprop.variance"][hidden]
    assert np.all(np.diff(std) > 0) and std[-1] / std[0] > 30
    assert nrm[-1] / nrm[0] < std[-1] / std[0] / 10


def test_fig8_weight_gradients_layer_independent(smoke):
    """Eq. (14): weight-gradient variances of the hidden-to-hidden layers agree (within 4
    combined SE); and each agrees with the mean-field prediction."""
    res = smoke["results"]["init_tanh"]
    L = len(res["tanh"]["meta"]["widths"]) - 1
    for label in ("tanh", "tanh N"):
        r = res[label]
        assert _agrees(r, "weight_gradient", "weight_gradient_variance", np.arange(L - 1)).all()
        v, se = r["weight_gradient.variance"][1:L - 1], r["weight_gradient.variance_se"][1:L - 1]
        diff = np.abs(v[:, None] - v[None, :])
        assert np.all(diff <= 4 * np.hypot(se[:, None], se[None, :]))
    # while the back-propagated gradients of standard init differ by orders of magnitude
    b = res["tanh"]["backprop.variance"][:L - 1]
    w = res["tanh"]["weight_gradient.variance"][:L - 1]
    assert b.max() / b.min() > 30 * (w.max() / w.min())


def test_figJ_normalized_jacobians_nearer_one(smoke):
    res = smoke["results"]["init_models"]
    for act in ("tanh", "softsign", "sigmoid"):
        for label in (act, f"{act} N"):
            r = res[label]
            np.testing.assert_allclose(r["jacobian_mean_sq"], r["meanfield.jacobian_mean_sq_singular"],
                                       rtol=0.15)
            rms = np.sqrt(r["jacobian_mean_sq"])
            assert np.all(r["jacobian_mean"] <= rms * (1 + 1e-9))    # mean <= RMS
        std, nrm = (np.sqrt(res[lb]["jacobian_mean_sq"]) for lb in (act, f"{act} N"))
        assert np.all(np.abs(1 - nrm) < np.abs(1 - std))


def test_figV_measurements_agree_with_mean_field(smoke):
    res = smoke["results"]["init_models"]
    for label in ("sigmoid", "tanh", "softsign", "tanh N", "softsign N"):
        r = res[label]
        L = len(r["meta"]["widths"]) - 1
        assert _agrees(r, "activation", "activation_variance", np.arange(1, L)).all(), label
        assert _agrees(r, "backprop", "backprop_variance", np.arange(L), rel=0.3).all(), label
        assert _agrees(r, "weight_gradient", "weight_gradient_variance", np.arange(L),
                       rel=0.3).all(), label
        for fld in ("activation_variance", "backprop_variance", "weight_gradient_variance"):
            assert np.all(np.isfinite(r[f"linear.{fld}"]))


def test_fig5_quadratic_cost_flatter(smoke):
    r = smoke["results"]["cost_surface"]
    ce, quad = r["cross_entropy"], r["quadratic"]
    assert ce.shape == quad.shape == (r["w1"].size, r["w2"].size)
    assert ce.min() > 0 and 0 <= quad.min() and quad.max() <= 2
    g = {k: np.hypot(*np.gradient(r[k], r["w1"], r["w2"])) for k in ("cross_entropy", "quadratic")}
    assert np.median(g["quadratic"]) < np.median(g["cross_entropy"]) / 2
    assert np.ptp(quad) < np.ptp(ce)


def test_predicted_activation_density_is_tanh_of_gaussian():
    f, _ = numpy_functions("tanh")
    q = 0.7
    rng = np.random.default_rng(1)
    z = f(rng.normal(0, np.sqrt(q), 400_000))
    edges = np.linspace(-1, 1, 41)
    hist, _ = np.histogram(z, edges, density=True)
    centres = 0.5 * (edges[1:] + edges[:-1])
    fine = np.linspace(-1 + 1e-9, 1 - 1e-9, 200_001)
    dens = E.predicted_activation_density("tanh", q, fine)
    assert abs(np.sum(0.5 * (dens[1:] + dens[:-1]) * np.diff(fine)) - 1) < 1e-3
    bin_of = np.clip(np.searchsorted(edges, fine) - 1, 0, 39)
    per_bin = np.bincount(bin_of, dens) / np.bincount(bin_of)        # bin averages
    np.testing.assert_allclose(per_bin, hist, rtol=0.03)
    inner = np.abs(centres) < 0.8                                     # flat enough there
    np.testing.assert_allclose(E.predicted_activation_density("tanh", q, centres[inner]),
                               hist[inner], rtol=0.03)


def test_parse_only_and_bad_input():
    assert figures.parse_only("6, j,6") == ["6", "J"]
    with pytest.raises(ValueError, match="choose from: 1, 5, 6, 7, 8, J, V"):
        figures.parse_only("9")
    with pytest.raises(ValueError, match="smoke, gallery, paper"):
        E.load_config("init_tanh", "huge")


@pytest.mark.parametrize("argv", [["figures", "--only", "2"], ["figures", "--scale", "big"],
                                  ["figures", "--bogus"]])
def test_cli_errors_one_line(argv, capsys, tmp_path):
    assert main(argv + ["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "varprop" in err
    assert not list(tmp_path.iterdir())


def test_cli_figures_from_cache(smoke, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(E.CACHE_ENV, str(smoke["cache"]))
    n = len(E.COMPUTED)
    assert main(["figures", "--scale", "smoke", "--only", "6,v", "--out", str(tmp_path)]) == 0
    assert len(E.COMPUTED) == n
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "figure6.pdf", "figure6.png", "figureV.pdf", "figureV.png"]
    assert "0 experiment run(s) computed" in capsys.readouterr().err
