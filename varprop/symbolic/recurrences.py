"""The forward (5), backward (6) and weight-gradient (7) variance recurrences, and (13), (14).

Each closed form is obtained from a one-step recurrence by telescoping,
``X^i = X^0 * prod_{i'} X^{i'+1} / X^{i'}``, with every ratio computed from the one-step
result; the equal-width forms are those products evaluated by SymPy.

Conventions: see ``notation`` (top pre-activation ``s^d``, weights ``W^0 .. W^d``).
"""
from __future__ import annotations

from functools import cache

import sympy as sp

from .derivation import Derivation
from .moments import Var, mu_z, preactivation_variance, product_variance, v_z
from .notation import (EZ2, VarG, VarS, VarW, VarWG, VarZ, alpha, d, i, ip, latex, mu, n, n_eq,
                       v_eq, var_x)

s = sp.Symbol("s", real=True)
_f = sp.Function("f")


def _one_unit(width, weight_variance, incoming_variance):
    """V1 applied to a concrete layer: n Var[W] Var[incoming] (zero-mean incoming values)."""
    return preactivation_variance().result.subs(
        {n_eq: width, v_eq: weight_variance, v_z: incoming_variance})


@cache
def linear_regime() -> Derivation:
    """Var[f(s)] ~ f'(0)^2 Var[s] and E[f(s)] ~ f(0): the paper's linear regime (4), generalised.

    The paper assumes f'(0) = 1; we keep alpha = f'(0) and mu = f(0) (sigmoid: 1/4 and 1/2).
    """
    dv = Derivation(key="linear_regime", tag="V2", title="The linear regime",
                    lhs=Var(_f(s)),
                    intro=r"Near the origin (assumption (4)) an activation is its first-order Taylor polynomial.")
    taylor = _f(s).series(s, 0, 2).removeO()
    dv.step(Var(taylor), "first-order Taylor series at $0$", relation="~")
    affine = taylor.subs(_f(0), mu).replace(lambda e: isinstance(e, sp.Subs), lambda e: alpha)
    dv.step(Var(affine), r"$\mu = f(0)$, $\alpha = f'(0)$")
    slope = sp.Poly(affine, s).coeff_monomial(s)
    dv.step(slope**2 * Var(s), "a shift leaves the variance, a scale enters squared")
    dv.note = (rf"Likewise $\operatorname{{E}}[f(s)] \approx {latex(affine.subs(s, 0))}$ for zero-mean $s$, and "
               r"$f'(s) \approx \alpha$. The paper's symmetric activations have $\mu = 0$, $\alpha = 1$.")
    return dv


def activation_gain_squared():
    """alpha^2: the linear regime's factor from Var[s] to Var[f(s)] (and from f'(s)^2)."""
    return linear_regime().result / Var(s)


@cache
def forward_step() -> Derivation:
    """Var[z^{i+1}] = alpha^2 n_i Var[W^i] Var[z^i]: one layer of the forward pass."""
    dv = Derivation(key="forward_step", tag="V3", title="One layer forward",
                    lhs=VarZ(i + 1))
    dv.step(Var(_f(sp.Symbol("s^{i}"))), r"$z^{i+1} = f(s^i)$")
    dv.step(activation_gain_squared() * VarS(i), "linear regime (V2)", relation="~")
    general = preactivation_variance().steps[-2].expr.subs(
        {n_eq: n[i], v_eq: VarW(i)})
    dv.step(activation_gain_squared() * general.subs(mu_z**2 + v_z, EZ2(i)),
            r"(V1) before centring: $n_i\operatorname{Var}[W^i]\operatorname{E}[(z^i)^2]$")
    dv.step(activation_gain_squared() * _one_unit(n[i], VarW(i), VarZ(i)),
            r"$\operatorname{E}[z^i]=0$: paper's symmetric $f$ ($\mu=0$), centred input")
    return dv


def forward_factor(layer=i):
    """alpha^2 n_layer Var[W^layer]: the ratio Var[z^{layer+1}] / Var[z^layer] (from V3)."""
    return sp.simplify(forward_step().result.subs(i, layer) / VarZ(layer))


@cache
def forward_variance() -> Derivation:
    """(5): Var[z^i] = Var[x] prod_{i'=0}^{i-1} n_{i'} Var[W^{i'}] (times alpha^2 per layer)."""
    dv = Derivation(key="forward_variance", tag="5", title="Forward propagation of variance",
                    lhs=VarZ(i))
    dv.step(VarZ(0) * sp.Product(VarZ(ip + 1) / VarZ(ip), (ip, 0, i - 1)), "telescoping product")
    dv.step(var_x * sp.Product(forward_factor(ip), (ip, 0, i - 1)),
            r"each ratio from (V3); $z^0 = x$")
    dv.step(dv.result.subs(alpha, 1), r"paper: $f'(0) = 1$")
    return dv


@cache
def backward_step() -> Derivation:
    """Var[dC/ds^i] = alpha^2 n_{i+2} Var[W^{i+1}] Var[dC/ds^{i+1}], from the chain rule (2)."""
    dv = Derivation(key="backward_step", tag="V4", title="One layer backward",
                    lhs=VarG(i),
                    intro=(r"By (2), $\partial C/\partial s^i_k = f'(s^i_k)\sum_{l=1}^{n_{i+2}} "
                           r"W^{i+1}_{kl}\,\partial C/\partial s^{i+1}_l$: the sum runs over the "
                           r"$n_{i+2}$ units that $W^{i+1}$ feeds."))
    dv.step(activation_gain_squared() * sp.Symbol(r"\operatorname{Var}\left[\sum_{l} W^{i+1}_{kl}"
                                                  r"\,\partial C/\partial s^{i+1}_l\right]"),
            r"linear regime (V2): $f'(s) \approx \alpha$", relation="~")
    dv.step(activation_gain_squared() * _one_unit(n[i + 2], VarW(i + 1), VarG(i + 1)),
            "(V1) with the gradients (zero-mean) in place of activations")
    return dv


def backward_factor(layer=i):
    """alpha^2 n_{layer+2} Var[W^{layer+1}]: the ratio Var[dC/ds^layer] / Var[dC/ds^{layer+1}]."""
    return sp.simplify(backward_step().result.subs(i, layer) / VarG(layer + 1))


@cache
def backward_variance() -> Derivation:
    """(6), corrected: Var[dC/ds^i] = Var[dC/ds^d] prod_{i'=i+1}^{d} n_{i'+1} Var[W^{i'}]."""
    dv = Derivation(key="backward_variance", tag="6", title="Back-propagation of gradient variance",
                    lhs=VarG(i))
    dv.step(VarG(d) * sp.Product(VarG(ip) / VarG(ip + 1), (ip, i, d - 1)),
            "telescoping product from the top")
    dv.step(VarG(d) * sp.Product(backward_factor(ip), (ip, i, d - 1)), "each ratio from (V4)")
    shifted = dv.result.replace(lambda e: isinstance(e, sp.Product),
                                lambda p: p.change_index(ip, ip + 1, ip))
    dv.step(shifted, r"shift $i' \to i'+1$: the product covers $W^{i+1}, \dots, W^{d}$")
    dv.step(dv.result.subs(alpha, 1), r"paper: $f'(0) = 1$")
    printed_product = sp.Product(n[ip + 1] * VarW(ip), (ip, i, d))
    printed, extra = VarG(d) * printed_product, printed_product.function.subs(ip, i)
    dv.note = (
        rf"\emph{{Where the print differs.}} The printed (6) reads ${latex(printed)}$: its product starts "
        rf"at $i' = i$ and so carries the extra factor ${latex(extra)}$ (the fan-out of $W^i$, a "
        r"weight matrix that $\partial C/\partial s^i$ does not pass through). It has $d - i + 1$ factors, "
        r"whereas the printed (13) --- the same quantity at equal widths --- has the exponent $d - i$, "
        r"which is what the derived range $i' = i+1, \dots, d$ gives.")
    return dv


def _products(expr):
    return [p for p in sp.preorder_traversal(expr) if isinstance(p, sp.Product)]


@cache
def weight_gradient_variance() -> Derivation:
    """(7), corrected: Var[dC/dw^i] = Var[z^i] Var[dC/ds^i], i.e. the forward times the backward product."""
    dv = Derivation(key="weight_gradient_variance", tag="7", title="Variance of the weight gradients",
                    lhs=VarWG(i),
                    intro=r"By (3), $\partial C/\partial w^i_{lk} = z^i_l\,\partial C/\partial s^i_k$.")
    general = product_variance(mu_z, v_z, 0, VarG(i)).subs(mu_z**2 + v_z, EZ2(i))
    dv.step(general, r"$z^i \perp \partial C/\partial s^i$, zero-mean gradient")
    dv.step(general.subs(EZ2(i), VarZ(i)), r"$\operatorname{E}[z^i]=0$")
    dv.step(dv.result.subs({VarZ(i): forward_variance().result, VarG(i): backward_variance().result}),
            "by (5) and (6)")
    fwd, bwd = _products(forward_variance().result)[0], _products(backward_variance().result)[0]
    printed_bwd = sp.Product(n[ip + 1] * VarW(ip), (ip, i, d - 1))
    dv.note = (
        rf"\emph{{Where the print differs.}} The printed (7) has ${latex(printed_bwd)}$ where the derivation "
        rf"has ${latex(bwd)}$: the fan-outs of $W^i, \dots, W^{{d-1}}$ in place of those of "
        r"$W^{i+1}, \dots, W^{d}$. The two agree whenever every layer has the same "
        r"$n_{i'+1}\operatorname{Var}[W^{i'}]$ (e.g. equal widths), which is the case the paper goes on to use. "
        rf"The forward factor ${latex(fwd)}$ is as printed.")
    return dv


def _equal_widths(expr):
    """Set every width to n and every weight variance to Var[W], then evaluate the products."""
    expr = expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base == n, lambda e: n_eq)
    expr = expr.replace(lambda e: isinstance(e, VarW), lambda e: v_eq)
    return sp.powsimp(expr.doit(), force=True)


@cache
def equal_width_forward() -> Derivation:
    """Var[z^i] = [n Var[W]]^i Var[x]: (5) with equal widths."""
    dv = Derivation(key="equal_width_forward", tag="V6", title="Forward, equal widths", lhs=VarZ(i))
    dv.step(_equal_widths(forward_variance().result),
            r"(5) with $n_{i'} = n$, $\operatorname{Var}[W^{i'}] = \operatorname{Var}[W]$")
    return dv


@cache
def equal_width_backward() -> Derivation:
    """(13): Var[dC/ds^i] = [n Var[W]]^{d-i} Var[dC/ds^d]."""
    dv = Derivation(key="equal_width_backward", tag="13", title="Back-propagated gradients, equal widths",
                    lhs=VarG(i))
    dv.step(_equal_widths(backward_variance().result), "(6) with equal widths and weight variances")
    dv.note = (r"\emph{Where the print differs.} The printed (13) multiplies by $\operatorname{Var}[x]$; "
               r"the factor is the top gradient's variance $\operatorname{Var}[\partial C/\partial s^d]$.")
    return dv


@cache
def equal_width_weight_gradient() -> Derivation:
    """(14): Var[dC/dw^i] = [n Var[W]]^d Var[x] Var[dC/ds^d], the same for every layer i."""
    dv = Derivation(key="equal_width_weight_gradient", tag="14",
                    title="Weight gradients, equal widths", lhs=VarWG(i))
    result = dv.step(_equal_widths(weight_gradient_variance().result),
                     "(7) with equal widths and weight variances")
    dv.note = (rf"Its derivative in the layer index is $\partial/\partial i = {latex(sp.diff(result, i))}$: "
               r"the weight-gradient variance is the same in every layer, although the back-propagated "
               r"gradients (13) shrink or grow with depth.")
    return dv
