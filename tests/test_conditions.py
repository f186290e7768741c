"""(10), (11), (12), (15), (16) and the generalisations (V8-V11), each against the paper's printed
formula or an independent computation (sympy.stats, mpmath quadrature)."""
import re

import mpmath
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from sympy.stats import E, Normal, Uniform, variance

from varprop.symbolic import conditions as c
from varprop.symbolic.activations import ACTIVATIONS, BUILTINS, get_activation
from varprop.symbolic.laws import a, get_law, truncated_normal_constant, uniform_variance
from varprop.symbolic.notation import alpha, i, n

n_i, n_o = n[i], n[i + 1]


def test_forward_and_backward_conditions_10_11():
    assert c.forward_condition().result == 1 / n_i
    assert c.backward_condition().result == 1 / n_o


def test_compromise_12_is_harmonic_mean_of_10_and_11():
    v12 = c.compromise().result
    assert sp.simplify(v12 - 2 / (n_i + n_o)) == 0
    assert sp.simplify(1 / v12 - (1 / c.forward_condition().result
                                  + 1 / c.backward_condition().result) / 2) == 0


@given(st.integers(1, 10_000), st.integers(1, 10_000))
def test_compromise_lies_between_the_two_conditions(fan_in, fan_out):
    at = {n_i: fan_in, n_o: fan_out}
    v10, v11 = c.forward_condition().result.subs(at), c.backward_condition().result.subs(at)
    v12 = c.compromise().result.subs(at)
    assert min(v10, v11) <= v12 <= max(v10, v11)
    assert (v12 == v10) == (fan_in == fan_out)


def test_uniform_variance_matches_sympy_stats():
    assert uniform_variance().result == a**2 / 3 == variance(Uniform("U", -a, a))


def test_normalized_bound_16_is_the_papers():
    assert sp.simplify(c.normalized_bound().result - sp.sqrt(6) / sp.sqrt(n_i + n_o)) == 0
    # and the uniform law with that bound has exactly the compromise variance (12)
    assert sp.simplify(variance(Uniform("W", -c.normalized_bound().result, c.normalized_bound().result))
                       - c.compromise().result) == 0


def test_standard_init_15_has_n_var_one_third():
    assert c.standard_variance().result == sp.Rational(1, 3)
    width = sp.Symbol("m", positive=True)
    assert sp.simplify(width * variance(Uniform("W", -1 / sp.sqrt(width), 1 / sp.sqrt(width)))) \
        == sp.Rational(1, 3)


def test_slope_gain_v8():
    assert c.slope_gain().result == 1 / (alpha**2 * n_i)
    assert c.gain_squared(get_activation("sigmoid")) == 16
    assert c.gain_squared(get_activation("tanh")) == 1
    assert c.gain_squared(get_activation("relu")) == 2


@pytest.mark.parametrize("name,f0,slope", [("linear", 0, 1), ("tanh", 0, 1), ("softsign", 0, 1),
                                          ("sigmoid", sp.Rational(1, 2), sp.Rational(1, 4))])
def test_activation_constants_are_derived(name, f0, slope):
    act = get_activation(name)
    assert act.value_at_zero == f0 and act.slope_at_zero == slope
    # against a numeric central difference of the expression itself
    f = sp.lambdify(sp.Symbol("x", real=True), act.expr, "mpmath")
    assert abs(mpmath.diff(f, 0.0) - float(slope)) < 1e-12


def test_relu_has_no_slope_and_unknown_activation_names_choices():
    with pytest.raises(ValueError, match="undefined"):
        get_activation("relu").slope_at_zero
    with pytest.raises(ValueError, match=re.escape("choose one of: " + ", ".join(BUILTINS))):
        get_activation("swishy")


@pytest.mark.parametrize("dist", [Normal("s", 0, sp.Rational(3, 2)), Uniform("s", -2, 2)])
def test_relu_second_moment_v9_for_symmetric_laws(dist):
    assert c.relu_second_moment().result == c.VAR_S / 2
    relu2 = sp.simplify(E(sp.Piecewise((dist**2, dist > 0), (0, True))))
    assert sp.simplify(relu2 - variance(dist) / 2) == 0


def test_relu_gaussian_mean_and_backward_gain():
    mean1, second, slope2, sd = c.relu_gaussian_moments()
    assert abs(float(mean1.subs(sd, 2)) - float(mpmath.quad(
        lambda t: t * mpmath.npdf(t, 0, 2), [0, mpmath.inf]))) < 1e-12
    assert second == sd**2 / 2 and slope2 == sp.Rational(1, 2)


def test_he_condition_v10():
    assert c.he_condition().result == 2 / n_i


def test_truncated_normal_constant_v11():
    """Against mpmath quadrature and JAX's published constant 0.87962566103423978."""
    const = truncated_normal_constant().result
    quad = mpmath.quad(lambda t: t**2 * mpmath.npdf(t), [-2, 2]) / mpmath.quad(mpmath.npdf, [-2, 2])
    assert abs(float(const) - float(quad)) < 1e-14
    assert abs(float(sp.sqrt(const)) - 0.87962566103423978) < 1e-15


@pytest.mark.parametrize("law", ["uniform", "normal", "truncated_normal"])
def test_law_parameter_gives_back_the_variance(law):
    v = sp.Rational(2, 7)
    p = get_law(law).parameter_for_variance(v)
    if law == "uniform":
        assert variance(Uniform("W", -p, p)) == v
    elif law == "normal":
        assert variance(Normal("W", 0, p)) == v
    else:
        sd = float(p)
        var = mpmath.quad(lambda t: t**2 * mpmath.npdf(t, 0, sd), [-2 * sd, 2 * sd]) \
            / mpmath.quad(lambda t: mpmath.npdf(t, 0, sd), [-2 * sd, 2 * sd])
        assert abs(float(var) - float(v)) < 1e-14


def test_unknown_law_names_choices():
    with pytest.raises(ValueError, match="uniform, normal, truncated_normal"):
        get_law("cauchy")
