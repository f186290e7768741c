"""The mean-field theory: quadrature against closed forms, the recursion against the linear
theory where both are exact, and the fixed point."""
import math

import numpy as np
import pytest

from varprop import gaussian
from varprop.symbolic import meanfield as mf
from varprop.symbolic.notation import VarS, VarW, i, n
from varprop.theory import fixed_point, linear_theory, meanfield_theory

erf = np.vectorize(math.erf)
QS = [1e-4, 1e-2, 0.3, 1.0, 3.0, 30.0, 1e3, 1e4]


@pytest.mark.parametrize("q", QS)
def test_quadrature_against_closed_forms(q):
    # E[erf(sqrt(q) xi)^2] = (2/pi) arcsin(2q / (1 + 2q))
    assert gaussian.expect(lambda a: erf(a) ** 2, q) == pytest.approx(
        2 / np.pi * np.arcsin(2 * q / (1 + 2 * q)), abs=1e-10)
    mean, second, slope = gaussian.moments("relu")
    assert float(mean(q)) == pytest.approx(math.sqrt(q / (2 * math.pi)), rel=1e-10)
    assert float(second(q)) == pytest.approx(q / 2, rel=1e-10)
    assert float(slope(q)) == pytest.approx(0.5, abs=1e-10)
    _, second, slope = gaussian.moments("linear")
    assert float(second(q)) == pytest.approx(q, rel=1e-10) and float(slope(q)) == pytest.approx(1)
    mean, _, _ = gaussian.moments("sigmoid")
    assert float(mean(q)) == pytest.approx(0.5, abs=1e-12)


def test_derivations_v13_v14():
    assert mf.meanfield_forward().result == mf.sigma_b2 + n[i + 1] * VarW(i + 1) * mf.GaussSecond(VarS(i))
    assert mf.chi() == mf.sigma_w2 * mf.GaussSlope(mf.q)
    assert mf.fixed_point().result == mf.sigma_b2 + mf.sigma_w2 * mf.GaussSecond(mf.q)


@pytest.mark.parametrize("act", ["linear", "relu"])
def test_meanfield_equals_linear_theory_where_both_are_exact(act):
    w = [30, 40, 20, 10, 3]
    a, b = linear_theory(w, act, "he", 1.3, 0.7), meanfield_theory(w, act, "he", 1.3, 0.7)
    for field in ("activation_variance", "backprop_variance", "weight_gradient_variance",
                  "jacobian_mean_sq_singular"):
        np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-10)


def test_meanfield_reduces_to_linear_regime_at_small_variance():
    w = [100] * 4
    a = linear_theory(w, "tanh", "normalized", 1e-6, 1.0)
    b = meanfield_theory(w, "tanh", "normalized", 1e-6, 1.0)
    np.testing.assert_allclose(a.activation_variance, b.activation_variance, rtol=1e-5)


def test_fixed_point_and_chi():
    q, chi = fixed_point("linear", 0.5, 1.0)
    assert q == pytest.approx(2.0, rel=1e-10) and chi == pytest.approx(0.5)
    assert fixed_point("tanh", 0.8)[0] == 0.0             # sigma_w^2 < 1: contracts to 0
    q, chi = fixed_point("tanh", 2.0, 0.05)
    _, second, slope = gaussian.moments("tanh")
    assert 2.0 * float(second(q)) + 0.05 == pytest.approx(q, rel=1e-10)
    assert chi == pytest.approx(2.0 * float(slope(q)), rel=1e-12)
    assert fixed_point("linear", 1.5)[0] == math.inf
    with pytest.raises(ValueError, match="weight_scale"):
        fixed_point("tanh", 0.0)
