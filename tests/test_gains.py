"""Derived gains for any activation (``varprop.criticality``), the registry's derived facts
(kinks, homogeneity, one-sided slopes) and the mean field at kinks away from 0, each against
an independent computation: closed forms, mpmath quadrature, SymPy's exact Gaussian integrals
and the defining equations themselves."""
import json
import math

import mpmath
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from exact import gaussian_expect
from varprop import criticality as cr
from varprop import gaussian
from varprop.cli import main
from varprop.symbolic.activations import BUILTINS, get_activation, register_activation, x
from varprop.theory import fixed_point


def test_relu_and_tanh_critical_points_are_the_known_ones():
    relu = cr.critical_point("relu", 0.0)
    assert relu.weight_variance == pytest.approx(2.0, rel=1e-12) and relu.fixed_point is None
    assert cr.critical_point("relu", 0.05).weight_variance is None     # chi = 1 only as q -> oo
    tanh = cr.critical_point("tanh", 0.0)
    assert (tanh.weight_variance, tanh.fixed_point) == (1.0, 0.0)


@pytest.mark.parametrize("name", ["tanh", "erf", "hard_tanh", "gelu", "selu"])
def test_critical_point_solves_its_two_equations(name):
    """At sigma_b^2 = 0.05: q* = sigma_w^2 E[f^2](q*) + sigma_b^2 and sigma_w^2 E[f'^2](q*) = 1,
    with the expectations by mpmath (independent of the quadrature rule)."""
    act = get_activation(name)
    f = sp.lambdify(x, act.expr, "mpmath")
    fp = sp.lambdify(x, act.derivative, "mpmath")
    c = cr.critical_point(name, 0.05)
    q, s2 = c.fixed_point, c.weight_variance
    assert float(s2 * gaussian_expect(lambda v: f(v) ** 2, q, act.kinks) + 0.05) == pytest.approx(q, rel=1e-9)
    assert float(s2 * gaussian_expect(lambda v: fp(v) ** 2, q, act.kinks)) == pytest.approx(1, rel=1e-9)


@pytest.mark.parametrize("name", BUILTINS)
def test_fixed_point_gain_makes_q_one_the_fixed_point(name):
    """V13's map sends q = 1 to itself; for a bounded f, whose map has one fixed point, that
    is the one ``theory.fixed_point`` finds (an unbounded f may have another above it)."""
    g = cr.fixed_point_gain(name, 0.05)
    m = gaussian.moments(name)[1]
    assert g * g * float(m(1.0)) + 0.05 == pytest.approx(1.0, rel=1e-12)
    if all(v.is_finite for v in get_activation(name).limits):
        assert fixed_point(name, g * g, 0.05)[0] == pytest.approx(1.0, rel=1e-6)


def test_selu_is_self_normalising():
    """SELU's constants were chosen so that q = 1 is a fixed point at sigma_w^2 = 1."""
    assert cr.fixed_point_gain("selu") == pytest.approx(1.0, abs=1e-6)


def test_linear_gains_and_pytorch():
    assert cr.linear_gain("tanh") == 1.0
    assert cr.linear_gain("sigmoid") == 4.0
    assert cr.linear_gain("relu") == pytest.approx(math.sqrt(2), rel=1e-15)
    assert cr.linear_gain("leaky_relu(0.2)") == pytest.approx(math.sqrt(2 / 1.04), rel=1e-15)
    assert cr.linear_gain("selu") is None            # slopes lambda*alpha and lambda at 0
    assert cr.pytorch_gain("leaky_relu(0.2)") == pytest.approx(math.sqrt(2 / 1.04))
    assert cr.pytorch_gain("gelu") is None


def test_pytorch_table_is_pytorchs():
    torch = pytest.importorskip("torch")
    for name, g in cr.PYTORCH_GAINS.items():
        assert torch.nn.init.calculate_gain(name) == pytest.approx(g, rel=1e-12)
    assert torch.nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(
        cr.pytorch_gain("leaky_relu(0.2)"), rel=1e-12)


@pytest.mark.parametrize("name, kinks, homogeneous, slopes", [
    ("relu", (0.0,), True, (0, 1)), ("leaky_relu", (0.0,), True, (sp.Rational(1, 100), 1)),
    ("hard_tanh", (-1.0, 1.0), False, None), ("tanh", (), False, None),
    ("selu", (0.0,), False, None), ("linear", (), False, None)])
def test_registry_derives_kinks_and_homogeneity(name, kinks, homogeneous, slopes):
    act = get_activation(name)
    assert act.kinks == kinks and act.homogeneous == homogeneous
    if slopes:
        assert act.homogeneous_slopes == slopes


def test_hard_tanh_mean_field_at_its_kinks():
    """Kinks at +-1 are panel edges at xi = +-1/sqrt(q): 1e-12 against mpmath."""
    f = lambda v: mpmath.mpf(-1) if v < -1 else mpmath.mpf(1) if v > 1 else v  # noqa: E731
    second = gaussian.moments("hard_tanh")[1]
    for q in (0.3, 1.0, 7.0):
        exact = gaussian_expect(lambda v: f(v) ** 2, q, (-1, 1))
        assert float(second(q)) == pytest.approx(float(exact), rel=1e-12)


@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=2, max_size=4).filter(any),
       st.sampled_from([0.25, 1.0, 3.0]))
def test_polynomial_quadrature_equals_exact_gaussian_integrals(coefficients, q):
    """E[f(sqrt(q) xi)^2] and E[f'^2] of a polynomial f by quadrature equal SymPy's exact
    integrals against the Gaussian density."""
    f = sum(c * x ** k for k, c in enumerate(coefficients))
    if not f.has(x):
        return
    name = register_activation(f"poly_{'_'.join(map(str, coefficients)).replace('-', 'm')}", f).name
    xi = sp.Symbol("xi", real=True)
    dens = sp.exp(-xi ** 2 / 2) / sp.sqrt(2 * sp.pi)
    at = {x: sp.sqrt(sp.nsimplify(q)) * xi}
    for k, g in ((1, f ** 2), (2, sp.diff(f, x) ** 2)):
        exact = sp.integrate(sp.expand(g.subs(at)) * dens, (xi, -sp.oo, sp.oo))
        assert float(gaussian.moments(name)[k](q)) == pytest.approx(float(exact), rel=1e-12)


def test_gain_command_json_and_errors(capsys):
    assert main(["gain", "--activation", "tanh", "--bias-variance", "0.05", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("slope", "linear_gain", "fixed_point_gain", "critical_weight_variance",
                "critical_fixed_point", "pytorch_gain"):
        assert key in out
    assert out["critical_weight_variance"] == pytest.approx(1.76, abs=0.01)
    assert main(["gain", "--activation", "x*sigmoid(x)"]) == 0
    assert "fixed-point gain" in capsys.readouterr().out
    for bad in (["--activation", "x*y"], ["--bias-variance", "nan"],
                ["--activation", "__import__('os')"], ["--bias-variance", "-1"]):
        assert main(["gain", *bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err


def test_check_without_a_linear_regime_judges_by_the_mean_field(capsys):
    """SELU has no slope at 0 and is not homogeneous: ``check`` shows no linear column and
    still passes on the mean field (at its fixed-point gain, 1: Var[z] stays 1)."""
    rc = main(["check", "--widths", "200,200,200,9", "--activation", "selu", "--scale", "1",
               "--mode", "fan_in", "--law", "normal", "--networks", "6", "--samples", "300",
               "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    rows = out["layers"]
    assert all(r["activation_variance"]["linear"] is None for r in rows)
    assert rows[-1]["activation_variance"]["meanfield"] == pytest.approx(1.0, rel=1e-6)


def test_activations_defined_in_a_toml_config(tmp_path):
    """An [activations] table registers each entry; the run records the expression."""
    from varprop.training.config import merge, read_toml
    cfg = tmp_path / "c.toml"
    cfg.write_text('[activations]\nswish2 = "x*sigmoid(2*x)"\n\n[train]\nactivation = "swish2"\n'
                   'hidden = [8]\nupdates = 10\n')
    d = read_toml(cfg)
    assert d["activation"] == "x*sigmoid(2*x)"
    assert get_activation("swish2").expr == get_activation("x*sigmoid(2*x)").expr
    assert merge(d).activation == "x*sigmoid(2*x)"
    cfg.write_text('[activations]\nbad = "x*y"\n')
    with pytest.raises(ValueError, match=r"\[activations\] activation 'x\*y': unknown name 'y'"):
        read_toml(cfg)
    cfg.write_text('[activations]\ntanh = "x"\n')          # a built-in name, redefined
    with pytest.raises(ValueError, match="already registered"):
        read_toml(cfg)


@pytest.mark.parametrize("init", ["normalized", "fixed-point"])
@pytest.mark.parametrize("name", BUILTINS)
def test_monte_carlo_check_passes_for_every_built_in(name, init):
    """``varprop check``'s calibrated verdict at the paper's widths (1024, 5 x 1000, 9), 8
    networks x 500 inputs, seed 0, for the normalized initialisation and for the activation's
    fixed-point gain (Var[W] = g^2 / fan_in, normal)."""
    from varprop.check import check
    from varprop.symbolic.schemes import custom_scheme
    scheme = (init if init == "normalized" else
              custom_scheme(repr(cr.fixed_point_gain(name) ** 2), "fan_in", "normal"))
    rep = check((1024, 1000, 1000, 1000, 1000, 1000, 9), name, scheme, networks=8,
                samples=500, seed=0)
    assert rep.ok
