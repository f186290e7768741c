"""Numeric predictions: generated from the symbolic source, equal to the closed forms (5)-(7)."""
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from varprop.symbolic import recurrences as r
from varprop.symbolic.notation import VarG, VarW, d, i, n, var_x
from varprop.symbolic.propagation import unroll
from varprop.theory import OUTPUTS, linear_theory, propagate

SYMMETRIC = ["linear", "tanh", "softsign"]   # f(0) = 0, f'(0) = 1: the paper's assumptions


def closed_form(expr, widths, wv, vx, vg, layer):
    top = len(widths) - 2
    e = expr.subs({d: top, i: layer}).doit()
    e = e.xreplace({n[k]: w for k, w in enumerate(widths)})
    e = e.xreplace({VarW(k): v for k, v in enumerate(wv)})
    return float(e.xreplace({var_x: vx, VarG(top): vg}))


@given(st.lists(st.integers(1, 2000), min_size=2, max_size=7), st.sampled_from(SYMMETRIC),
       st.sampled_from(["standard", "normalized", "lecun", "he"]),
       st.floats(0.1, 10), st.floats(0.1, 10))
def test_predictions_equal_closed_forms_5_6_7(widths, activation, init, vx, vg):
    p = linear_theory(widths, activation, init, vx, vg)
    for layer in range(len(widths) - 1):
        args = (widths, p.weight_variance, vx, vg, layer)
        assert p.activation_variance[layer] == pytest.approx(
            closed_form(r.forward_variance().result, *args), rel=1e-12)
        assert p.backprop_variance[layer] == pytest.approx(
            closed_form(r.backward_variance().result, *args), rel=1e-12)
        assert p.weight_gradient_variance[layer] == pytest.approx(
            closed_form(r.weight_gradient_variance().result, *args), rel=1e-12)


@pytest.mark.parametrize("activation", ["linear", "tanh", "sigmoid", "softsign", "relu"])
def test_generated_code_equals_symbolic_evaluation(activation):
    widths, wv, vx, vg, vb = [7, 5, 3, 4, 2], [0.3, 0.1, 0.7, 0.2], 1.7, 0.4, 0.05
    p = propagate(widths, wv, activation, vx, vg, bias_variance=vb)
    u = unroll(len(widths) - 1, activation)
    at = dict(zip(u.inputs, [*widths, *wv, vx, vg, vb]))
    for name, exprs in zip(OUTPUTS, u.outputs):
        want = [float(sp.N(e.xreplace(at), 30)) for e in exprs]
        np.testing.assert_allclose(getattr(p, name), want, rtol=1e-13, atol=0)


def test_standard_init_equal_widths_decays_by_one_third():
    p = linear_theory([1000] * 6, "tanh", "standard")
    np.testing.assert_allclose(p.activation_variance[1:] / p.activation_variance[:-1], 1 / 3)
    np.testing.assert_allclose(p.backprop_variance[:-1] / p.backprop_variance[1:], 1 / 3)
    np.testing.assert_allclose(p.weight_gradient_variance, p.weight_gradient_variance[0])
    assert p.weight_gradient_variance[0] == pytest.approx(3.0**-4)


def test_normalized_init_equal_widths_keeps_everything_constant():
    p = linear_theory([1000] * 6, "tanh", "normalized")
    for name in ("activation_variance", "backprop_variance", "weight_gradient_variance"):
        np.testing.assert_allclose(getattr(p, name), 1.0, rtol=1e-14)


def test_sigmoid_against_hand_written_linear_regime():
    """Independent oracle: E[z^2] = 1/4 + Var[s]/16 layer by layer (f(0)=1/2, f'(0)=1/4)."""
    widths, wv = [20, 30, 10, 5], [0.05, 0.02, 0.1]
    p = propagate(widths, wv, "sigmoid", 2.0, 1.0)
    q, var = 2.0, [2.0]
    for k in range(2):
        pre = widths[k] * wv[k] * q
        var.append(pre / 16)
        q = 0.25 + pre / 16
    np.testing.assert_allclose(p.activation_variance, var, rtol=1e-14)
    np.testing.assert_allclose(p.activation_mean, [0, 0.5, 0.5])
    np.testing.assert_allclose(p.backprop_variance,
                               [widths[2] * wv[1] * widths[3] * wv[2] / 256, widths[3] * wv[2] / 16, 1])


def test_relu_with_he_init_keeps_preactivation_variance():
    p = linear_theory([500] * 6, "relu", "he")
    np.testing.assert_allclose(p.preactivation_variance, 2.0, rtol=1e-14)
    np.testing.assert_allclose(p.backprop_variance[:-1] / p.backprop_variance[1:], 1.0)
    # Var[relu(s)] = Var[s] (1/2 - 1/(2 pi)) for Gaussian s
    np.testing.assert_allclose(p.activation_variance[1:], 2.0 * (0.5 - 1 / (2 * np.pi)))


@pytest.mark.parametrize("kwargs,match", [
    (dict(widths=[10]), "at least two widths"),
    (dict(widths=[10, 0]), "positive integers"),
    (dict(widths=[10, 2.5]), "positive integers"),
    (dict(widths="10,10"), "sequence"),
    (dict(widths=[10, 10], activation="swishy"), "linear, tanh, sigmoid, softsign, relu"),
    (dict(widths=[10, 10], init="glorot"), "standard, normalized, lecun, he, orthogonal"),
    (dict(widths=[10, 10], var_x=0), "var_x must be a positive number"),
    (dict(widths=[10, 10], var_top=-1), "var_top must be a positive number"),
])
def test_bad_input_raises_value_error_naming_choices(kwargs, match):
    with pytest.raises(ValueError, match=match):
        linear_theory(**kwargs)


def test_propagate_checks_the_weight_variances():
    with pytest.raises(ValueError, match="need 2 weight variances"):
        propagate([3, 3, 3], [0.1])
    with pytest.raises(ValueError, match=r"Var\[W\^1\] must be a positive number"):
        propagate([3, 3, 3], [0.1, 0.0])


def test_propagate_over_inputs_averages_the_per_input_theory():
    """Equal moments reproduce ``propagate``; the linear theory is linear in Var[x], so its
    average equals the pooled prediction; the mean field of tanh is concave in q, so a spread of
    input scales lowers the first activation variance below the pooled one (Jensen)."""
    from varprop.theory import input_second_moments, propagate, propagate_over_inputs

    widths, wv = (100, 100, 100, 10), [0.02, 0.01, 0.01]
    same = propagate_over_inputs(widths, wv, "tanh", np.full(7, 0.5), 2.0)[0]
    ref = propagate(widths, wv, "tanh", 0.5, 2.0, theory="meanfield")
    for f in ("activation_variance", "backprop_variance", "weight_gradient_variance"):
        np.testing.assert_allclose(getattr(same, f), getattr(ref, f), rtol=1e-12)
    moments = input_second_moments(np.random.default_rng(0).uniform(-1, 1, (64, 100))
                                   * np.linspace(0.1, 2, 64)[:, None])
    lin = propagate_over_inputs(widths, wv, "tanh", moments, theory="linear")[0]
    pooled = propagate(widths, wv, "tanh", float(moments.mean()))
    np.testing.assert_allclose(lin.activation_variance, pooled.activation_variance, rtol=1e-12)
    mix, groups, weights = propagate_over_inputs(widths, wv, "tanh", moments)
    mf = propagate(widths, wv, "tanh", float(moments.mean()), theory="meanfield")
    assert mix.activation_variance[1] < mf.activation_variance[1] * 0.99
    assert len(groups) == len(weights) == 32 and weights.sum() == pytest.approx(1)
    with pytest.raises(ValueError, match="finite positive"):
        propagate_over_inputs(widths, wv, "tanh", [0.0, 1.0])


def test_predict_chooses_the_theory_and_each_theory_has_its_function():
    """``predict(..., theory=NAME)`` is ``linear_theory`` or ``meanfield_theory``; each of
    those computes its own theory only."""
    import inspect

    from varprop.symbolic.propagation import THEORIES as SYMBOLIC
    from varprop.theory import THEORIES, meanfield_theory, predict

    assert tuple(THEORIES) == SYMBOLIC
    args = ([50, 40, 30], "tanh", "lecun_normal", 0.8, 1.2, 0.01)
    for name, fn in THEORIES.items():
        p, q = predict(*args, theory=name), fn(*args)
        assert p.theory == q.theory == name
        for field in OUTPUTS:
            np.testing.assert_array_equal(getattr(p, field), getattr(q, field))
    assert linear_theory(*args).theory == "linear"
    assert meanfield_theory(*args).theory == "meanfield"
    assert "theory" not in inspect.signature(linear_theory).parameters
    with pytest.raises(ValueError, match="choose one of: linear, meanfield"):
        predict(*args, theory="exact")
