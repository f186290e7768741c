"""Depth scales and the order/chaos phase diagram (V17, V18, V23, V24, ``varprop.phase``): the derivations,
the two-input quadrature against closed forms, chi_c against the mean field's chi, the depth
scales, and the Monte-Carlo correlation map against the theory."""
import math
import subprocess

import numpy as np
import pytest
import sympy as sp

from conftest import pdflatex_path
from varprop import gaussian, phase
from varprop.symbolic import correlation as cr
from varprop.symbolic import meanfield as mf
from varprop.symbolic.activations import get_activation, x
from varprop.theory import fixed_point

CS = np.array([-1.0, -0.999999, -0.9, -0.5, 0.0, 0.3, 0.7, 0.99, 0.999999, 1.0])


def arccos_kernel(c):
    """Cho & Saul (2009), degree 1: E[relu(u_a) relu(u_b)] = q J(theta) / (2 pi)."""
    t = np.arccos(c)
    return (np.sin(t) + (np.pi - t) * np.cos(t)) / (2 * np.pi)


def arcsin_kernel(q, c):
    """Williams (1997): E[erf(u_a) erf(u_b)] = (2 / pi) arcsin(2 q c / (1 + 2 q))."""
    return 2 / np.pi * np.arcsin(2 * q * c / (1 + 2 * q))


# ---------------------------------------------------------------- the derivations
def test_derivations_v17_to_v20():
    cmap = cr.correlation_map().result
    assert sp.simplify(cmap.subs(cr.c, 1)) == 1                      # c = 1 is a fixed point
    assert cmap.subs(cr.c, 1) == 1 or cmap.subs(cr.c, 1).equals(1)
    # V18 ends in chi of V16 by substitution, not by typing
    assert cr.correlation_slope().result == mf.chi()
    assert cr.correlation_slope().steps[0].expr.has(cr.GaussJointSlope)
    # V23: the chain rule, then Stein: f'^2 + f f''
    u = sp.sqrt(mf.q) * cr.xi
    chain, stein = (s.expr.atoms(cr.GaussE).pop().args[0] for s in cr.length_depth_scale().steps[2:])
    assert sp.simplify(chain - cr.xi * cr.f(u) * cr.FPrime(u) / sp.sqrt(mf.q)) == 0
    assert sp.expand(stein - cr.FPrime(u) ** 2 - cr.f(u) * cr.FSecond(u)) == 0
    assert cr.correlation_depth_scale().result == -1 / sp.log(mf.chi())
    assert [d.tag for d in cr.derivations()] == ["V17", "V18", "V23", "V24"]
    for d in cr.derivations():
        tex = d.to_latex()
        assert rf"\tag{{{d.tag}}}" in tex and "Subs" not in tex and "_xi_" not in tex


def test_derivations_compile(tmp_path):
    exe = pdflatex_path()
    body = "\n".join(d.to_latex() for d in cr.derivations())
    (tmp_path / "c.tex").write_text("\\documentclass{article}\\usepackage{amsmath,amssymb}"
                                    "\\begin{document}\n" + body + "\\end{document}\n")
    run = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", "c.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]


# ---------------------------------------------------------------- the boundary
def test_boundary_acceptance_points():
    assert phase.boundary("relu", [0.0])[0] == pytest.approx(2.0, abs=1e-12)   # issue 18
    assert phase.boundary("tanh", 0.0) == pytest.approx(1.0, abs=1e-12)
    b = phase.boundary("tanh", [0.05, 0.5])
    assert np.all(b > 1) and b[1] > b[0]
    assert phase.chi_c("tanh", b[0], 0.05) == pytest.approx(1.0, abs=1e-9)
    assert np.isnan(phase.boundary("relu", [0.1])[0])      # ReLU with bias: q* = inf first
    grid = phase.phase_grid("tanh", [0.5, 1.5, 3.0], [0.05, 0.5])
    assert grid.chi_c.shape == grid.side.shape == (3, 2)
    for j, bv in enumerate((0.05, 0.5)):
        for k, w in enumerate((0.5, 1.5, 3.0)):
            assert grid.side[k, j] == ("ordered" if w < phase.boundary("tanh", bv) else "chaotic")
            assert grid.chi_c[k, j] == pytest.approx(fixed_point("tanh", w, bv)[1], rel=1e-12)
    assert phase.phase_grid("relu", [2.0], [0.0]).side[0, 0] == "critical"


# ---------------------------------------------------------------- the c-map by quadrature
def test_linear_cmap_is_the_identity():
    np.testing.assert_allclose(phase.correlation_map("linear", 0.7, 0.0, CS, q=1.3), CS,
                               rtol=0, atol=1e-14)
    np.testing.assert_allclose(phase.correlation_map("linear", 0.7, 0.0, CS), CS,   # q* = 0
                               rtol=0, atol=1e-14)


@pytest.mark.parametrize("sw2,sb2", [(1.0, 0.0), (1.5, 0.1), (1.9, 0.7)])
def test_relu_cmap_is_the_arccos_kernel(sw2, sb2):
    q, _ = fixed_point("relu", sw2, sb2)
    qv = q if q > 0 else 2.3                       # sigma_b^2 = 0: any q, the map is the same
    exact = (sw2 * qv * arccos_kernel(CS) + sb2) / (sw2 * qv / 2 + sb2)
    np.testing.assert_allclose(phase.correlation_map("relu", sw2, sb2, CS, q=qv), exact,
                               rtol=0, atol=1e-10)
    if sb2:
        np.testing.assert_allclose(phase.correlation_map("relu", sw2, sb2, CS), exact, atol=1e-10)


@pytest.mark.parametrize("sw2,sb2", [(0.9, 0.05), (2.5, 0.2), (6.0, 0.0)])
def test_erf_cmap_is_the_arcsin_kernel(sw2, sb2):
    q, _ = fixed_point("erf", sw2, sb2)
    exact = (sw2 * arcsin_kernel(q, CS) + sb2) / (sw2 * arcsin_kernel(q, 1.0) + sb2)
    np.testing.assert_allclose(phase.correlation_map("erf", sw2, sb2, CS), exact,
                               rtol=0, atol=1e-10)


@pytest.mark.parametrize("act", ["tanh", "relu", "hard_tanh"])
def test_price_theorem(act):
    """dE[f(u_a) f(u_b)]/dc = q E[f'(u_a) f'(u_b)] (GaussJoint.fdiff), against a central
    difference of the quadrature."""
    mods = phase._modules(act)
    joint, slope = mods["GaussJoint"], mods["GaussJointSlope"]
    for q in (0.4, 2.5):
        for c in (-0.6, 0.3, 0.8):
            h = 1e-4
            fd = (joint(q, c + h) - joint(q, c - h)) / (2 * h)
            assert fd == pytest.approx(q * slope(q, c), rel=1e-7, abs=1e-9)


# ---------------------------------------------------------------- chi_c
CASES = [("tanh", 2.0, 0.05), ("tanh", 1.2, 0.3), ("erf", 3.0, 0.1), ("sigmoid", 4.0, 0.1),
         ("gelu", 1.5, 0.2), ("hard_tanh", 2.0, 0.1)]


@pytest.mark.parametrize("act,sw2,sb2", CASES + [("relu", 1.5, 0.1)])
def test_chi_c_is_chi(act, sw2, sb2):
    assert phase.chi_c(act, sw2, sb2) == pytest.approx(fixed_point(act, sw2, sb2)[1], rel=1e-12)


def test_chi_c_at_q_star_zero():
    """q* = 0: chi_c is taken at q -> 0+ (sigma_w^2 f'(0)^2); theory.fixed_point at q = 1e-12."""
    assert phase.chi_c("tanh", 0.8, 0.0) == pytest.approx(0.8, rel=1e-15)
    assert phase.chi_c("tanh", 0.8, 0.0) == pytest.approx(fixed_point("tanh", 0.8, 0.0)[1],
                                                          rel=1e-11)


@pytest.mark.parametrize("act,sw2,sb2", CASES[:5])
def test_finite_difference_slope_at_one_is_chi_c(act, sw2, sb2):
    h = 1e-4
    v = phase.correlation_map(act, sw2, sb2, [1.0, 1 - h, 1 - 2 * h])
    fd = (3 * v[0] - 4 * v[1] + v[2]) / (2 * h)          # one-sided, O(h^2)
    assert fd == pytest.approx(phase.chi_c(act, sw2, sb2), rel=1e-6)


def test_finite_difference_slope_relu():
    """ReLU's c-map has a (1 - c)^{3/2} term at c = 1: the one-sided difference converges as
    sqrt(h)."""
    h = 1e-6
    v = phase.correlation_map("relu", 1.5, 0.1, [1.0, 1 - h])
    assert (v[0] - v[1]) / h == pytest.approx(phase.chi_c("relu", 1.5, 0.1), rel=1e-3)


# ---------------------------------------------------------------- depth scales
@pytest.mark.parametrize("act,sw2,sb2", [("tanh", 2.0, 0.05), ("hard_tanh", 2.0, 0.1),
                                         ("selu", 1.0, 0.1)])
def test_xi_q_is_the_slope_of_the_q_map(act, sw2, sb2):
    """V23's evaluated line against a central difference of the 1-D quadrature's q-map: hard
    tanh's f'' has deltas at +-1 that a quadrature of f'^2 + f f'' would miss."""
    q, _ = fixed_point(act, sw2, sb2)
    _, second, _ = gaussian.moments(act)
    h = 1e-5 * q
    slope = sw2 * (float(second(q + h)) - float(second(q - h))) / (2 * h)
    assert phase.depth_scales(act, sw2, sb2)[0] == pytest.approx(-1 / math.log(slope), rel=1e-7)


def test_xi_q_stein_line_for_smooth_f():
    """For tanh, V23's last line (f'^2 + f f'', f'' by SymPy) is the same number."""
    q, _ = fixed_point("tanh", 2.0, 0.05)
    expr = cr.length_depth_scale().result.xreplace({mf.sigma_w2: 2.0, mf.q: q})
    integrand = expr.atoms(cr.GaussE).pop().args[0]
    g = sp.lambdify(cr.xi, integrand.subs(mf.q, q), modules=[{
        "f": np.tanh, "FPrime": sp.lambdify(x, get_activation("tanh").derivative),
        "FSecond": sp.lambdify(x, sp.diff(get_activation("tanh").expr, x, 2))}, "numpy"])
    nodes, weights = gaussian._rule()
    xi = -1 / math.log(2.0 * float(np.sum(g(nodes) * weights)))
    assert xi == pytest.approx(phase.depth_scales("tanh", 2.0, 0.05)[0], rel=1e-10)


def test_relu_depth_scales_are_equal():
    xi_q, xi_c = phase.depth_scales("relu", 1.5, 0.1)     # f f'' = 0: chi_q = chi_c = sw2 / 2
    assert xi_q == pytest.approx(-1 / math.log(0.75), rel=1e-10)
    assert xi_c == pytest.approx(-1 / math.log(0.75), rel=1e-10)


def test_xi_c_diverges_at_the_boundary():
    assert phase.depth_scales("tanh", 0.9, 0.0)[1] == pytest.approx(-1 / math.log(0.9), rel=1e-9)
    w = float(phase.boundary("tanh", 0.05))
    assert phase.depth_scales("tanh", w, 0.05)[1] > 1e8
    for side in (-1, 1):                                  # ordered, then chaotic
        coarse, fine = (phase.depth_scales("tanh", w * (1 + side * e), 0.05)[1]
                        for e in (1e-2, 1e-3))
        assert 0 < coarse < fine < math.inf
        assert fine / coarse == pytest.approx(10, rel=0.2)   # xi_c ~ 1 / |sigma_w^2 - boundary|


def test_fixed_point_correlation():
    assert phase.fixed_point_correlation("tanh", 1.2, 0.3) == 1.0              # ordered
    assert phase.fixed_point_correlation("tanh", 0.8, 0.0) == 1.0              # q* = 0
    assert phase.fixed_point_correlation("erf", 3.0, 0.0) == 0.0               # odd, no bias
    cs = phase.fixed_point_correlation("tanh", 2.0, 0.05)                      # chaotic
    assert 0 < cs < 1
    assert phase.correlation_map("tanh", 2.0, 0.05, cs) == pytest.approx(cs, abs=1e-13)
    assert phase.correlation_map_slope("tanh", 2.0, 0.05, cs) < 1                  # stable


# ---------------------------------------------------------------- Monte-Carlo
MC = [("tanh", 2.0, 0.05, 11), ("tanh", 1.2, 0.3, 12), ("relu", 1.5, 0.1, 13),
      ("erf", 3.0, 0.0, 14)]
C_IN = [-0.5, 0.2, 0.6, 0.95]


@pytest.mark.parametrize("act,sw2,sb2,seed", MC)
def test_monte_carlo_correlation_map(act, sw2, sb2, seed):
    """|mc - theory| <= t SE + (l + 1) / width, t for a false alarm of 1e-4 over the 32
    comparisons (99 degrees of freedom); seeds 0-14 of each case agreed offline, the worst at
    0.43 of the tolerance. The tolerance is small enough that the theory of a sigma_w^2 25 %
    off fails."""
    m = phase.measure_correlation_map(act, sw2, sb2, C_IN, width=256, depth=8, networks=100,
                                      seed=seed)
    assert m.correlation.shape == m.se.shape == m.theory.shape == (8, 4)
    tol = m.tolerance()
    assert np.all(m.agrees()), np.abs(m.correlation - m.theory) / tol
    assert tol.max() < 0.12
    for wrong in (0.75 * sw2, 1.25 * sw2):
        _, other = phase.iterate_correlation(act, wrong, sb2, C_IN, 8, q=m.q)
        assert np.any(np.abs(m.correlation - other) > tol)


def test_monte_carlo_same_seed_same_bits():
    a = phase.measure_correlation_map("tanh", 2.0, 0.05, 0.5, 32, 3, 4, seed=7)
    b = phase.measure_correlation_map("tanh", 2.0, 0.05, 0.5, 32, 3, 4, seed=7)
    c = phase.measure_correlation_map("tanh", 2.0, 0.05, 0.5, 32, 3, 4, seed=8)
    assert np.array_equal(a.per_network, b.per_network)
    assert not np.array_equal(a.per_network, c.per_network)
    assert a.theory.shape == (3, 1)


# ---------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("call,message", [
    (lambda: phase.correlation_map("tanh", 2.0, 0.1, 1.5), r"c must be in \[-1, 1\], got 1.5"),
    (lambda: phase.correlation_map("tanh", 2.0, 0.1, [0.2, np.nan]), r"c must be in \[-1, 1\]"),
    (lambda: phase.correlation_map("tanh", -2.0, 0.1, 0.5), "weight_variance must be a positive"),
    (lambda: phase.depth_scales("tanh", 2.0, -0.1), "bias_variance must be a non-negative"),
    (lambda: phase.boundary("tanh", [0.1, -1.0]), "bias_variance must be a non-negative"),
    (lambda: phase.phase_grid("nope", [1.0], [0.0]), "unknown activation 'nope'; choose one of"),
    (lambda: phase.measure_correlation_map("tanh", 2.0, 0.1, -1.1, 8, 2, 2, 0),
     r"c must be in \[-1, 1\]"),
    (lambda: phase.measure_correlation_map("tanh", 2.0, 0.1, 0.5, 8, 2, 1, 0),
     "networks must be an integer >= 2"),
    (lambda: phase.measure_correlation_map("tanh", 0.5, 0.0, 0.5, 8, 2, 2, 0),
     "q\\* = 0 .* give q"),
    (lambda: phase.correlation_map("relu", 3.0, 0.1, 0.5), "no finite fixed point"),
])
def test_bad_inputs_one_line(call, message):
    with pytest.raises(ValueError, match=message) as err:
        call()
    assert "\n" not in str(err.value)
