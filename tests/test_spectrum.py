"""The Jacobian spectrum: the symbolic S-transform algebra (V19-V22) against exact results,
linear networks against their exact spectra (Fuss-Catalan, point masses), ReLU and tanh against
Monte-Carlo with the calibrated verdict, reproducibility, bad input and the CLI."""
import json
import math

import numpy as np
import pytest
import sympy as sp

from varprop import cli
from varprop import spectrum as spec
from varprop.symbolic import spectrum as sym
from varprop.symbolic.meanfield import sigma_w2


def fuss_catalan(L, k):
    """E[lambda^k] of J J^T for a product of L square Gaussian matrices, Var = 1/n."""
    return sp.binomial((L + 1) * k, k) / (L * k + 1)


# --- the symbolic source ---------------------------------------------------------------------

def test_s_transform_and_its_inverse_are_inverse():
    forward = sym.s_coefficients()
    back = [e.subs(dict(zip(sym.s, forward))) for e in sym.moments_from_s()]
    assert [sp.simplify(b - mk) for b, mk in zip(back, sym.m)] == [0, 0, 0]


def test_point_mass_gives_the_orthogonal_s_transform():
    a = sp.Symbol("a", positive=True)
    coeffs = [c.subs(dict(zip(sym.m, [a, a ** 2, a ** 3]))) for c in sym.s_coefficients()]
    assert [sp.simplify(c) for c in coeffs] == [1 / a, 0, 0]
    assert sym.orthogonal_s() == 1 / sigma_w2


def test_marchenko_pastur_closed_form_is_the_series_derived_from_catalan_moments():
    derived = sym.wishart().steps[0].expr.removeO()
    closed = sp.series(sym.wishart().result, sym.z, 0, sym.ORDER).removeO()
    assert sp.simplify(derived - closed) == 0


def test_layer_relative_variance_matches_v22():
    mu1, mu2 = (sym.GaussSlopeMoment(sym.q, k) for k in (1, 2))
    for kind, s_w in (("gaussian", 1), ("orthogonal", 0)):
        assert sp.simplify(sym.layer_relative_variance(kind) - (s_w + mu2 / mu1 ** 2 - 1)) == 0


def test_latex_of_the_derivations_renders():
    for dv in (sym.s_transform(), sym.wishart(), sym.jacobian_spectrum()):
        text = dv.to_latex()
        assert dv.tag in text and "\\begin{align}" in text


# --- linear networks: exact ----------------------------------------------------------------

@pytest.mark.parametrize("L", [1, 2, 3, 6])
def test_gaussian_linear_network_has_fuss_catalan_moments_and_edge(L):
    p = spec.predict_spectrum([100] * (L + 1), "linear", "lecun")
    m1, m2, m3 = (float(fuss_catalan(L, k)) for k in (1, 2, 3))
    assert p.mean == pytest.approx(m1, rel=1e-12)
    assert p.variance == pytest.approx(m2 - m1 ** 2, rel=1e-12)
    assert p.third == pytest.approx(m3, rel=1e-12)
    assert p.max == pytest.approx((L + 1) ** (L + 1) / L ** L, rel=1e-10)


def test_orthogonal_linear_network_is_a_point_mass():
    p = spec.predict_spectrum([100] * 4, "linear", "orthogonal")
    assert (p.mean, p.variance, p.max) == (pytest.approx(1.0), pytest.approx(0.0, abs=1e-14),
                                           pytest.approx(1.0))


def test_marchenko_pastur_density():
    p = spec.predict_spectrum([100, 100], "linear", "lecun")
    x = np.linspace(0.05, 3.95, 40)
    exact = np.sqrt(x * (4 - x)) / (2 * np.pi * x)
    np.testing.assert_allclose(spec.density(p, x), exact, rtol=1e-5)
    assert np.all(spec.density(p, np.array([4.2, 6.0])) < 1e-4)


def test_density_integrates_to_the_moments():
    """Two layers of tanh: the density's first and second moments by quadrature on a log grid
    over the support (the mass near 0, where rho ~ x^(-2/3), carries almost no moment)."""
    p = spec.predict_spectrum([200] * 3, "tanh", "normalized")
    lx = np.linspace(math.log(p.max) - 18, math.log(p.max), 4001)
    x = np.exp(lx)
    w = spec.density(p, x) * x                      # rho(x) dx = rho(x) x dlog x
    mass, first, second = (np.trapezoid(w * x ** k, lx) for k in (0, 1, 2))
    assert 0.95 < mass <= 1.0
    assert first == pytest.approx(p.mean, rel=1e-3)
    assert second == pytest.approx(p.variance + p.mean ** 2, rel=1e-3)


@pytest.mark.parametrize("init", ["lecun", "orthogonal"])
def test_linear_networks_measured_against_exact(init):
    p = spec.predict_spectrum([200] * 4, "linear", init)
    m = spec.measure_spectrum([200] * 4, "linear", init, networks=6, seed=1)
    c = spec.compare(p, m)
    assert c["ok"], spec.format_comparison(c)
    if init == "orthogonal":
        np.testing.assert_allclose(m.eigenvalues, 1.0, rtol=1e-10)


# --- nonlinear networks against Monte-Carlo --------------------------------------------------

@pytest.mark.parametrize("activation, init", [("relu", "he"), ("tanh", "normalized"),
                                              ("tanh", "standard"), ("tanh", "orthogonal")])
def test_predicted_moments_agree_with_monte_carlo(activation, init):
    widths = [300] * 5
    p = spec.predict_spectrum(widths, activation, init)
    m = spec.measure_spectrum(widths, activation, init, networks=10, seed=2)
    c = spec.compare(p, m)
    assert c["ok"], spec.format_comparison(c)


def test_relu_at_the_critical_point():
    """He init: chi = 1 in every layer, mean 1, variance L (s_W + E[f'^4]/E[f'^2]^2 - 1) = 2L."""
    p = spec.predict_spectrum([100] * 6, "relu", "he")
    assert p.mean == pytest.approx(1, rel=1e-12)
    assert p.variance == pytest.approx(10, rel=1e-12)


# --- reproducibility and input ---------------------------------------------------------------

def test_same_seed_same_bits_whatever_the_number_of_networks():
    a = spec.measure_spectrum([40] * 3, "tanh", "normalized", networks=3, seed=5)
    b = spec.measure_spectrum([40] * 3, "tanh", "normalized", networks=5, seed=5)
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues[:3])


@pytest.mark.parametrize("call, message", [
    (lambda: spec.predict_spectrum([10, 20]), "spectra need equal widths"),
    (lambda: spec.measure_spectrum([10, 10], networks=0), "networks must be a positive integer"),
    (lambda: spec.predict_spectrum([10, 10], init="glorot"), "unknown init scheme"),
    (lambda: spec.predict_spectrum([10, 10], "nope"), "unknown activation"),
])
def test_bad_input_is_one_line(call, message):
    with pytest.raises(ValueError) as err:
        call()
    assert message in str(err.value) and "\n" not in str(err.value)


def test_cli_json(capsys):
    rc = cli.main(["spectrum", "--widths", "60,60,60", "--init", "orthogonal", "--networks", "4",
                   "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["ok"]
    for side in ("predicted", "measured"):
        assert set(doc[side]) >= {"mean", "variance", "max"}
        assert all(math.isfinite(v) for v in doc[side].values())


def test_cli_bad_input(capsys):
    assert cli.main(["spectrum", "--widths", "60,50"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "equal widths" in err
    assert cli.main(["spectrum", "--widths", "60,60", "--networks", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "at least 2" in err


def test_orthogonal_depth_one_density_is_the_law_of_f_prime_squared():
    """One orthogonal layer: J J^T's eigenvalues are sigma_w^2 f'(s)^2 exactly, whose density
    follows by a change of variables (here tanh, q = 1: lambda = sech(xi)^4)."""
    p = spec.predict_spectrum([100, 100], "tanh", "orthogonal")
    assert p.q[0] == pytest.approx(1.0) and p.sigma_w2[0] == pytest.approx(1.0)
    lam = np.geomspace(1e-4, 0.9, 15)
    u = np.arccosh(lam ** -0.25)
    exact = 2 * np.exp(-u ** 2 / 2) / math.sqrt(2 * math.pi) / (
        4 * np.cosh(u) ** -4 * np.tanh(u))
    np.testing.assert_allclose(spec.density(p, lam), exact, rtol=0.15)


# --- the phase diagram from the command line; the experiments behind Fig. S and Fig. P --------

def test_phase_cli(capsys):
    rc = cli.main(["phase", "--activation", "tanh", "--grid", "4", "--measure", "0.5,3",
                   "--width", "64", "--depth", "5", "--networks", "4", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["ok"]
    assert doc["boundary"][0] == {"bias_variance": 0.0, "weight_variance": pytest.approx(1.0)}
    sides = np.array(doc["side"])
    assert sides[0, 0] == "ordered" and sides[-1, 0] == "chaotic"
    assert [len(p["measured"]) for p in doc["measured"]["points"]] == [5, 5]
    assert cli.main(["phase", "--weight-range", "2,1"]) == 2
    assert "increasing" in capsys.readouterr().err


def test_spectrum_and_phase_experiments_through_the_engine(tmp_path):
    """Both kinds computed by the engine into a store, read back, and drawn; a rerun computes
    nothing; the stored verdicts agree."""
    from varprop import engine, figures

    out = figures.make(["S", "P"], scale="smoke", out=tmp_path / "out", store_root=tmp_path,
                       jobs=1, log=lambda m: None)
    assert [r["id"] for r in out] == ["S", "P"]
    spectra = engine.load("jacobian_spectrum", "smoke", tmp_path)
    for init in ("standard", "normalized", "orthogonal"):
        meta = spectra[init]["meta"]
        assert set(meta["depths"]) == {"1", "3", "5"}
        assert all(c["ok"] for c in meta["depths"].values())
        assert spectra[init]["eigenvalues_5"].shape == (2, 100)
    phase = engine.load("phase_diagram", "smoke", tmp_path)      # one entry: the result itself
    assert phase["meta"]["agree"]
    assert phase["chi_c"].shape == (8, 8)
    assert engine.run(["jacobian_spectrum", "phase_diagram"], "smoke", tmp_path, jobs=1,
                      log=lambda m: None) == 0


def test_phase_cli_measures_where_there_is_no_finite_fixed_point(capsys):
    """ReLU with a bias at sigma_w^2 >= 2 (lengths grow) and tanh without one at sigma_w^2 <= 1
    (q* = 0): measured from q = 1, the theory iterating q with c; still within tolerance."""
    for act, bias, weights in (("relu", "0.05", "1,3"), ("tanh", "0", "0.5,3")):
        rc = cli.main(["phase", "--activation", act, "--grid", "3", "--measure", weights,
                       "--measure-bias", bias, "--width", "64", "--depth", "4", "--networks",
                       "4", "--json"])
        doc = json.loads(capsys.readouterr().out)
        assert rc == 0 and doc["ok"]
        starts = [p["q_start"] for p in doc["measured"]["points"]]
        assert 1.0 in starts and any(s != 1.0 for s in starts)
