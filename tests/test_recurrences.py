"""(5), (6), (7), (13), (14): unit checks against the paper's printed forms, and property checks
against exact variances of small concrete linear networks (tests/exact.py, sympy.stats)."""
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.stats import Normal, Uniform, variance

from exact import Network
from varprop.symbolic import recurrences as r
from varprop.symbolic.moments import mu_w, mu_z, preactivation_variance, product_variance, v_z
from varprop.symbolic.notation import VarG, VarW, alpha, d, i, ip, n, n_eq, v_eq, var_x


def concrete(expr, widths, variances, vx, vg, top, layer):
    """Evaluate a derived closed form for a concrete network (top index d, layer i)."""
    e = expr.subs({d: top, i: layer}).doit()
    e = e.xreplace({n[k]: sp.Integer(w) for k, w in enumerate(widths)})
    e = e.xreplace({VarW(k): sp.nsimplify(v) for k, v in enumerate(variances)})
    return sp.simplify(e.xreplace({var_x: sp.nsimplify(vx), VarG(top): sp.nsimplify(vg)}))


def test_preactivation_variance_is_n_var_w_var_z():
    assert sp.simplify(preactivation_variance().result - n_eq * v_eq * v_z) == 0
    # before centring the activations: n Var[W] E[z^2]
    assert sp.simplify(preactivation_variance().steps[-2].expr - n_eq * v_eq * (v_z + mu_z**2)) == 0


def test_product_variance_matches_sympy_stats():
    A, B = Uniform("A", 1, 3), Uniform("B", -2, 0)   # means 2, -1; variances 1/3
    third = sp.Rational(1, 3)
    assert product_variance(2, third, -1, third) == variance(A * B) == sp.Rational(16, 9)
    # zero-mean weights kill the mean term of the activation only through E[z^2]
    assert sp.expand(product_variance(0, v_eq, mu_z, v_z)) == sp.expand(v_eq * (v_z + mu_z**2))
    assert product_variance(mu_w, v_eq, 0, v_z).subs(mu_w, 0) == v_eq * v_z


def test_linear_regime_slope():
    assert r.linear_regime().result == alpha**2 * r.Var(r.s)
    assert r.forward_factor(i) == alpha**2 * n[i] * VarW(i)
    assert r.backward_factor(i) == alpha**2 * n[i + 2] * VarW(i + 1)


def test_forward_variance_is_paper_eq5():
    printed = var_x * sp.Product(n[ip] * VarW(ip), (ip, 0, i - 1))
    assert r.forward_variance().result == printed


def test_backward_variance_corrects_paper_eq6():
    derived = r.backward_variance().result
    assert derived == VarG(d) * sp.Product(n[ip + 1] * VarW(ip), (ip, i + 1, d))
    printed = VarG(d) * sp.Product(n[ip + 1] * VarW(ip), (ip, i, d))
    # the printed range has one factor more: that of W^i, for every concrete depth
    for top in range(1, 4):
        for layer in range(top + 1):
            ratio = sp.simplify(printed.subs({d: top, i: layer}).doit()
                                / derived.subs({d: top, i: layer}).doit())
            assert ratio == n[layer + 1] * VarW(layer)


def test_weight_gradient_is_forward_times_backward():
    wg = r.weight_gradient_variance().result
    assert sp.simplify(wg - r.forward_variance().result * r.backward_variance().result) == 0


def test_equal_width_forms_13_and_14():
    assert r.equal_width_forward().result == var_x * (n_eq * v_eq) ** i
    assert r.equal_width_backward().result == (n_eq * v_eq) ** (d - i) * VarG(d)
    w14 = r.equal_width_weight_gradient().result
    assert w14 == (n_eq * v_eq) ** d * var_x * VarG(d)
    assert sp.diff(w14, i) == 0


def test_equal_width_forms_agree_with_products_at_concrete_depths():
    for top in range(0, 4):
        for layer in range(0, top + 1):
            bwd = r.backward_variance().result.subs({d: top, i: layer}).doit()
            bwd = bwd.replace(lambda e: isinstance(e, sp.Indexed), lambda e: n_eq)
            bwd = bwd.replace(lambda e: isinstance(e, VarW), lambda e: v_eq)
            assert sp.simplify(bwd - r.equal_width_backward().result.subs({d: top, i: layer})) == 0


networks = st.integers(1, 2).flatmap(lambda L: st.tuples(
    st.lists(st.integers(1, 3), min_size=L + 1, max_size=L + 1),
    st.lists(st.fractions(min_value=sp.Rational(1, 4), max_value=3, max_denominator=4)
             .filter(lambda f: f > 0), min_size=L, max_size=L),
    st.sampled_from(["normal", "uniform"]),
    st.fractions(min_value=sp.Rational(1, 2), max_value=2, max_denominator=2),
    st.fractions(min_value=sp.Rational(1, 2), max_value=2, max_denominator=2),
    st.sampled_from([1, sp.Rational(1, 4), 2])))


@settings(max_examples=12)
@given(networks)
def test_closed_forms_equal_exact_variances_of_linear_networks(net):
    """(5), (6), (7) — and their slope-alpha forms — are exact for networks with f(s) = alpha s:
    compare with exact variances from sympy.stats, as rationals."""
    widths, variances, law, vx, vg, slope = net
    exact = Network(widths, variances, law, vx, vg, slope)
    L = len(widths) - 1
    with_alpha = {  # the step before the paper's alpha = 1
        "z": r.forward_variance().steps[-2].expr.subs(alpha, slope),
        "g": r.backward_variance().steps[-2].expr.subs(alpha, slope),
    }
    for layer in range(L):
        unit_z, unit_g = exact.z[layer][0], exact.grad[layer][0]
        args = (widths, variances, vx, vg, L - 1, layer)
        assert exact.variance(unit_z) == concrete(with_alpha["z"], *args)
        assert exact.variance(unit_g) == concrete(with_alpha["g"], *args)
        if slope == 1:
            assert exact.variance(unit_z) == concrete(r.forward_variance().result, *args)
            assert exact.variance(unit_g) == concrete(r.backward_variance().result, *args)
            assert exact.variance(unit_z * unit_g) == concrete(
                r.weight_gradient_variance().result, *args)


def test_oracle_agrees_with_sympy_stats_variance_directly():
    """The oracle's moment expansion against sympy.stats' own joint variance on a tiny net."""
    exact = Network([2, 1], [sp.Rational(1, 3)], "uniform", 1, 1)
    x0, x1 = Normal("x0", 0, 1), Normal("x1", 0, 1)
    w0, w1 = Uniform("w0", -1, 1), Uniform("w1", -1, 1)
    assert exact.variance(exact.grad[0][0] * exact.z[0][0]) == 1
    assert variance(x0 * w0 + x1 * w1) == sp.Rational(2, 3) == exact.variance(
        exact.x[0] * exact.W[0][0][0] + exact.x[1] * exact.W[0][1][0])
