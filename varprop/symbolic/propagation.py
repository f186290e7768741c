"""The derived one-layer rules, unrolled symbolically over a concrete network.

For a network with widths n_0..n_L (L weight layers) this builds, per layer, SymPy expressions
of Var[z^i], Var[s^i], Var[dC/ds^i], Var[dC/dw^i] and the Jacobian's mean squared singular
value, in the symbols n_k, Var[W^k], Var[x], Var[dC/ds^{L-1}] and sigma_b^2, by applying the
derived steps layer after layer:

- Var[s^i] = n_i Var[W^i] E[(z^i)^2] + sigma_b^2      (V1 before centring; V13's first step)
- z^{i+1} = f(s^i): E[z], E[z^2] and the backward gain E[f'^2] from the layer rule of the
  chosen theory:
    * ``linear``: the paper's linear regime (V2: mean f(0), variance f'(0)^2 Var[s], gain
      f'(0)^2), exact for ReLU by (V9) and its Gaussian moments;
    * ``meanfield``: the Gaussian expectations of V13/V14, left unevaluated here and bound to
      quadrature by the numeric code;
- Var[dC/ds^i] = gain_i n_{i+2} Var[W^{i+1}] Var[dC/ds^{i+1}]  (V4 / V14)
- Var[dC/dw^i] = E[(z^i)^2] Var[dC/ds^i]               (7, first step)
- mean squared singular value of J^i                    (V15)

With f(0) = 0 and f'(0) = 1 the linear theory is exactly (5), (6) and (7) (tested).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from .activations import get_activation
from .conditions import VAR_S, relu_gaussian_moments, relu_second_moment
from .meanfield import (GaussMean, GaussSecond, GaussSlope, jacobian_mean_square,
                        meanfield_backward, meanfield_forward, sigma_b2)
from .notation import EZ2, VarG, VarS, VarW, alpha, i, n, var_x
from .recurrences import activation_gain_squared, weight_gradient_variance

THEORIES = ("linear", "meanfield")


@dataclass(frozen=True)
class LayerRule:
    """One layer of an activation, as expressions in the pre-activation variance ``VAR_S``."""

    mean: sp.Expr            # E[f(s)]
    second_moment: sp.Expr   # E[f(s)^2]
    backward_gain: sp.Expr   # E[f'(s)^2]


def check_theory(theory: str) -> str:
    if theory not in THEORIES:
        raise ValueError(f"unknown theory {theory!r}; choose one of: {', '.join(THEORIES)}")
    return theory


@cache
def layer_rule(activation: str, theory: str = "linear") -> LayerRule:
    """The derived rule for ``activation`` under ``theory``."""
    act = get_activation(activation)
    if check_theory(theory) == "meanfield":
        return LayerRule(GaussMean(VAR_S), GaussSecond(VAR_S), GaussSlope(VAR_S))
    if act.homogeneous:   # a_- x below 0, a_+ x above: ReLU's moments (V9) on either side
        lo, hi = act.homogeneous_slopes
        mean1, _, slope2, sigma_s = relu_gaussian_moments()
        both = lo**2 + hi**2
        return LayerRule((hi - lo) * mean1.subs(sigma_s, sp.sqrt(VAR_S)),
                         both * relu_second_moment().result, both * slope2)
    try:
        slope = act.slope_at_zero
    except ValueError as exc:
        raise ValueError(f"{exc}: the linear regime does not apply; use the mean-field "
                         "theory") from None
    gain = activation_gain_squared().subs(alpha, slope)
    m = act.value_at_zero
    return LayerRule(m, gain * VAR_S + m**2, gain)


def width(k: int) -> sp.Symbol:
    return sp.Symbol(f"n_{k}", positive=True)


@dataclass(frozen=True)
class Unrolled:
    """Per-layer expressions of a concrete network (layers 0..L-1) and their input symbols."""

    widths: tuple[sp.Symbol, ...]            # n_0 .. n_L
    weight_variances: tuple[sp.Symbol, ...]  # Var[W^0] .. Var[W^{L-1}]
    var_x: sp.Symbol
    var_top: sp.Symbol
    bias_variance: sp.Symbol
    activation_mean: tuple[sp.Expr, ...]
    activation_variance: tuple[sp.Expr, ...]
    preactivation_variance: tuple[sp.Expr, ...]
    backprop_variance: tuple[sp.Expr, ...]
    weight_gradient_variance: tuple[sp.Expr, ...]
    jacobian_mean_sq_singular: tuple[sp.Expr, ...]   # J^0 .. J^{L-2} (hidden layers)

    @property
    def inputs(self) -> tuple[sp.Symbol, ...]:
        return (*self.widths, *self.weight_variances, self.var_x, self.var_top, self.bias_variance)

    @property
    def outputs(self) -> tuple[tuple[sp.Expr, ...], ...]:
        return (self.activation_mean, self.activation_variance, self.preactivation_variance,
                self.backprop_variance, self.weight_gradient_variance,
                self.jacobian_mean_sq_singular)


@cache
def unroll(n_layers: int, activation: str, theory: str = "linear") -> Unrolled:
    """Apply the derived one-layer rules of ``theory`` through ``n_layers`` weight layers."""
    if not isinstance(n_layers, int) or n_layers < 1:
        raise ValueError(f"need at least one weight layer, got {n_layers!r}")
    rule = layer_rule(activation, theory)
    ns = tuple(width(k) for k in range(n_layers + 1))
    vs = tuple(VarW.symbol(k) for k in range(n_layers))
    top = VarG.symbol(n_layers - 1)

    def at(expr, k, extra=None):
        """A rule stated for layer i, evaluated at layer k of this network."""
        expr = expr.subs(i, k)
        subs = {n[m]: ns[m] for m in range(n_layers + 1)}
        subs.update({VarW(m): vs[m] for m in range(n_layers)})
        subs.update(extra or {})
        return expr.xreplace(subs)

    forward = meanfield_forward().steps[0].expr        # n Var[W] E[z^2] + sigma_b^2, at i+1
    backward = meanfield_backward().result / GaussSlope(VarS(i))   # n_{i+2} Var[W^{i+1}] Var[dC/ds^{i+1}]
    mean, var, second = [sp.Integer(0)], [var_x], [var_x]   # z^0 = x: centred, Var[x]
    pre, gain = [], []
    for k in range(n_layers):
        pre.append(at(forward, k - 1, {EZ2(k): second[k]}))
        gain.append(rule.backward_gain.subs(VAR_S, pre[k]))
        if k + 1 < n_layers:  # the top pre-activation feeds the softmax, not f
            m = rule.mean.subs(VAR_S, pre[k])
            s2 = rule.second_moment.subs(VAR_S, pre[k])
            mean.append(m)
            second.append(s2)
            var.append(sp.expand(s2 - m**2))
    grad = [top]
    for k in range(n_layers - 2, -1, -1):
        grad.insert(0, gain[k] * at(backward, k, {VarG(k + 1): grad[0]}))
    wg_rule = weight_gradient_variance().steps[0].expr     # E[(z^i)^2] Var[dC/ds^i]
    wgrad = [wg_rule.subs(i, k).xreplace({EZ2(k): second[k], VarG(k): grad[k]})
             for k in range(n_layers)]
    jac_rule = jacobian_mean_square().result / GaussSlope(VarS(i))
    jac = [gain[k] * at(jac_rule, k) for k in range(n_layers - 1)]
    return Unrolled(ns, vs, var_x, top, sigma_b2, tuple(mean), tuple(var), tuple(pre),
                    tuple(grad), tuple(wgrad), tuple(jac))
