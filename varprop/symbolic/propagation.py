"""The derived one-layer rules, unrolled symbolically over a concrete network.

For a network with widths n_0..n_L (L weight layers) this builds, per layer, SymPy expressions
of Var[z^i], Var[s^i], Var[dC/ds^i] and Var[dC/dw^i] in the symbols n_k, Var[W^k], Var[x] and
Var[dC/ds^{L-1}] by applying the derived steps layer after layer:

- Var[s^i] = n_i Var[W^i] E[(z^i)^2]                 (V1 before centring)
- smooth f:  Var[z^{i+1}] ~ alpha^2 Var[s^i], E[z^{i+1}] ~ f(0)     (V2)
- ReLU:      E[(z^{i+1})^2] = Var[s^i]/2 (V9), E[z^{i+1}] from Gaussian s^i
- backward:  Var[dC/ds^i] = gain * n_{i+2} Var[W^{i+1}] Var[dC/ds^{i+1}]  (V4; ReLU: P(s>0))
- Var[dC/dw^i] = E[(z^i)^2] Var[dC/ds^i]             (7, first step)

With the paper's assumptions (f(0) = 0, f'(0) = 1) these are exactly (5), (6) and (7); the
tests check that. Numeric code is generated from these expressions (``varprop.theory``).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from .activations import get_activation
from .conditions import VAR_S, relu_gaussian_moments, relu_second_moment
from .moments import mu_z, preactivation_variance, v_z
from .notation import EZ2, VarG, VarW, alpha, i, n, n_eq, v_eq, var_x
from .recurrences import activation_gain_squared, backward_step, weight_gradient_variance


@dataclass(frozen=True)
class LayerRule:
    """One layer of an activation, as expressions in the pre-activation variance ``VAR_S``."""

    mean: sp.Expr            # E[f(s)]
    second_moment: sp.Expr   # E[f(s)^2]
    backward_gain: sp.Expr   # E[f'(s)^2]


@cache
def layer_rule(activation: str) -> LayerRule:
    """The derived rule for ``activation`` (linear regime for smooth f, exact for ReLU)."""
    act = get_activation(activation)
    if act.homogeneous:
        mean1, _, slope2, sigma_s = relu_gaussian_moments()
        second = relu_second_moment().result
        return LayerRule(mean1.subs(sigma_s, sp.sqrt(VAR_S)), second, slope2)
    gain = activation_gain_squared().subs(alpha, act.slope_at_zero)
    m = act.value_at_zero
    var = gain * VAR_S
    return LayerRule(m, var + m**2, gain)


def width(k: int) -> sp.Symbol:
    return sp.Symbol(f"n_{k}", positive=True)


@dataclass(frozen=True)
class Unrolled:
    """Per-layer expressions of a concrete network (layers 0..L-1) and their input symbols."""

    widths: tuple[sp.Symbol, ...]            # n_0 .. n_L
    weight_variances: tuple[sp.Symbol, ...]  # Var[W^0] .. Var[W^{L-1}]
    var_x: sp.Symbol
    var_top: sp.Symbol
    activation_mean: tuple[sp.Expr, ...]
    activation_variance: tuple[sp.Expr, ...]
    preactivation_variance: tuple[sp.Expr, ...]
    backprop_variance: tuple[sp.Expr, ...]
    weight_gradient_variance: tuple[sp.Expr, ...]

    @property
    def inputs(self) -> tuple[sp.Symbol, ...]:
        return (*self.widths, *self.weight_variances, self.var_x, self.var_top)

    @property
    def outputs(self) -> tuple[tuple[sp.Expr, ...], ...]:
        return (self.activation_mean, self.activation_variance, self.preactivation_variance,
                self.backprop_variance, self.weight_gradient_variance)


@cache
def unroll(n_layers: int, activation: str) -> Unrolled:
    """Apply the derived one-layer rules through ``n_layers`` weight layers."""
    if not isinstance(n_layers, int) or n_layers < 1:
        raise ValueError(f"need at least one weight layer, got {n_layers!r}")
    rule = layer_rule(activation)
    ns = tuple(width(k) for k in range(n_layers + 1))
    vs = tuple(VarW.symbol(k) for k in range(n_layers))
    top = VarG.symbol(n_layers - 1)
    # V1 before centring, n Var[W] (Var[z] + E[z]^2), written in the second moment E[z^2].
    pre_rule = preactivation_variance().steps[-2].expr.subs(mu_z**2 + v_z, EZ2(i))
    mean, var = [sp.Integer(0)], [var_x]          # z^0 = x: centred, Var[x]
    second = [var_x]
    pre = []
    for k in range(n_layers):
        pre.append(pre_rule.subs({n_eq: ns[k], v_eq: vs[k], EZ2(i): second[k]}))
        if k + 1 < n_layers:  # the top pre-activation feeds the softmax, not f
            m = rule.mean.subs(VAR_S, pre[k])
            q = rule.second_moment.subs(VAR_S, pre[k])
            mean.append(m)
            second.append(q)
            var.append(sp.expand(q - m**2))
    # V4 with the activation's backward gain in place of alpha^2.
    back_rule = backward_step().result.subs(alpha**2, sp.Symbol("g"))
    grad = [top]
    for k in range(n_layers - 2, -1, -1):
        grad.insert(0, back_rule.subs(i, k).subs({sp.Symbol("g"): rule.backward_gain})
                    .xreplace({n[k + 2]: ns[k + 2], VarW(k + 1): vs[k + 1],
                               VarG(k + 1): grad[0]}))
    wg_rule = weight_gradient_variance().steps[0].expr
    wgrad = [wg_rule.subs(i, k).xreplace({EZ2(k): second[k], VarG(k): grad[k]})
             for k in range(n_layers)]
    return Unrolled(ns, vs, var_x, top, tuple(mean), tuple(var), tuple(pre), tuple(grad),
                    tuple(wgrad))
