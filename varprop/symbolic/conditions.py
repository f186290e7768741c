"""The initialisation conditions (10), (11), their compromise (12), the bound (16), the standard
initialisation's (15), and their generalisations: slope alpha = f'(0) and ReLU (He et al., 2015).

Every condition is *solved* by SymPy from the one-layer ratios of ``recurrences``.
"""
from __future__ import annotations

from functools import cache

import sympy as sp

from .derivation import Derivation
from .laws import a, get_law, uniform_variance
from .moments import E
from .notation import VarW, alpha, i, latex, n, symbol
from .recurrences import backward_factor, forward_factor

_v = sp.Symbol("v", positive=True)
s = sp.Symbol("s", real=True)
_p = sp.Function("p")
_sigma_s = sp.Symbol(r"\sigma_s", positive=True)
VAR_S = symbol("v_s", r"\operatorname{Var}[s]", positive=True)


def _solve_for_weight_variance(condition: sp.Eq, layer=i):
    """The unique positive solution of ``condition`` for Var[W^layer]."""
    (root,) = sp.solve(condition.subs(VarW(layer), _v), _v)
    return sp.simplify(root)


@cache
def forward_condition() -> Derivation:
    """(10): (8) Var[z^{i+1}] = Var[z^i] holds when n_i Var[W^i] = 1, i.e. Var[W^i] = 1/n_i."""
    ratio = forward_factor(i).subs(alpha, 1)
    cond = sp.Eq(ratio, 1)
    dv = Derivation(key="forward_condition", tag="10", title="The forward condition", lhs=VarW(i),
                    intro=(rf"Goal (8) holds when every ratio $\operatorname{{Var}}[z^{{i+1}}]/\operatorname{{Var}}[z^i]"
                           rf" = {latex(ratio)}$ of (V3) is 1: the condition ${latex(cond)}$."))
    dv.step(_solve_for_weight_variance(cond), "solve the condition")
    return dv


@cache
def backward_condition() -> Derivation:
    """(11): (9) holds when n_{i+1} Var[W^i] = 1, i.e. Var[W^i] = 1/n_{i+1}."""
    ratio = backward_factor(i - 1).subs(alpha, 1)
    cond = sp.Eq(ratio, 1)
    dv = Derivation(key="backward_condition", tag="11", title="The backward condition", lhs=VarW(i),
                    intro=(r"Goal (9) holds when every ratio $\operatorname{Var}[\partial C/\partial s^{i-1}]/"
                           rf"\operatorname{{Var}}[\partial C/\partial s^{{i}}] = {latex(ratio)}$ of (V4) is 1: "
                           rf"the condition ${latex(cond)}$."))
    dv.step(_solve_for_weight_variance(cond), "solve the condition")
    return dv


@cache
def compromise() -> Derivation:
    """(12): the Var[W^i] whose reciprocal is the mean of the reciprocals of (10) and (11)."""
    fwd, bwd = forward_condition().result, backward_condition().result
    dv = Derivation(key="compromise", tag="12", title="The compromise between (10) and (11)",
                    lhs=VarW(i),
                    intro=(r"(10) and (11) cannot both hold unless $n_i = n_{i+1}$; the compromise takes "
                           r"the variance whose reciprocal is the mean of theirs (their harmonic mean)."))
    dv.step(_solve_for_weight_variance(sp.Eq(1 / VarW(i), (1 / fwd + 1 / bwd) / 2)),
            rf"solve $1/\operatorname{{Var}}[W^i] = \frac{{1}}{{2}}\left({latex(1 / fwd)} + {latex(1 / bwd)}\right)$")
    return dv


@cache
def normalized_bound() -> Derivation:
    """(16): the uniform bound a with Var[U(-a, a)] = a^2/3 equal to the compromise (12)."""
    law = get_law("uniform")
    target = compromise().result
    dv = Derivation(key="normalized_bound", tag="16", title="The normalized initialisation", lhs=a,
                    intro=r"The uniform law $U(-a, a)$ whose variance (V5) equals (12).")
    dv.step(law.parameter_for_variance(target),
            rf"solve ${latex(uniform_variance().result)} = {latex(target)}$ for $a > 0$")
    return dv


@cache
def standard_variance() -> Derivation:
    """(15): the standard initialisation U[-1/sqrt(n), 1/sqrt(n)] (1) has n Var[W] = 1/3."""
    dv = Derivation(key="standard_variance", tag="15", title="The standard initialisation",
                    lhs=n[i] * VarW(i),
                    intro=r"The heuristic (1) draws $W^i \sim U\!\left[-1/\sqrt{n_i},\, 1/\sqrt{n_i}\right]$.")
    dv.step(n[i] * uniform_variance().result.subs(a, 1 / sp.sqrt(n[i])),
            r"(V5) with $a = 1/\sqrt{n_i}$")
    return dv


@cache
def slope_gain() -> Derivation:
    """V8: with slope alpha = f'(0) the forward condition is alpha^2 n_i Var[W^i] = 1: a std gain 1/alpha."""
    cond = sp.Eq(forward_factor(i), 1)
    dv = Derivation(key="slope_gain", tag="V8", title=r"Activation slope $\alpha = f'(0)$ and its gain",
                    lhs=VarW(i),
                    intro=(r"With $f'(0) = \alpha$ each layer multiplies the variance by "
                           rf"${latex(forward_factor(i))}$ (V3); it is preserved when ${latex(cond)}$."))
    v = dv.step(_solve_for_weight_variance(cond), "solve the condition")
    gain = sp.sqrt(sp.simplify(v / forward_condition().result))
    dv.note = (rf"That is (10) with the weights' standard deviation multiplied by the gain ${latex(gain)}$; "
               r"the table of activations below gives $\alpha$ and the gain of each.")
    return dv


def gain_squared(activation) -> sp.Expr:
    """The variance gain of ``activation`` (an ``Activation``): 1/alpha^2 where f'(0) = alpha
    (V8); for a positively homogeneous f, a_- x below 0 and a_+ x above, E[f(s)^2] =
    (a_-^2 + a_+^2) E[max(0, s)^2] by (V9) and symmetry, so 2/(a_-^2 + a_+^2) by (V10)
    (ReLU: 2). ValueError where neither applies (SELU: one-sided slopes differ at 0)."""
    if activation.homogeneous:
        lo, hi = activation.homogeneous_slopes
        return sp.simplify(he_condition().result * n[i] / (lo**2 + hi**2))
    return sp.simplify(slope_gain().result.subs(alpha, activation.slope_at_zero) * n[i])


def _gaussian(sd):
    return sp.exp(-s**2 / (2 * sd**2)) / (sp.sqrt(2 * sp.pi) * sd)


@cache
def relu_second_moment() -> Derivation:
    """V9: E[relu(s)^2] = Var[s]/2 for any zero-mean s with a symmetric density p."""
    dv = Derivation(key="relu_second_moment", tag="V9", title="ReLU: the half second moment",
                    lhs=E(sp.Max(0, s) ** 2),
                    intro=r"Let $s$ have a symmetric density $p(s) = p(-s)$ (so $\operatorname{E}[s] = 0$).")
    positive = dv.step(sp.Integral(s**2 * _p(s), (s, 0, sp.oo)), r"$\max(0, s) = 0$ for $s < 0$")
    u = sp.Symbol("u", real=True)
    negative = sp.Integral(s**2 * _p(s), (s, -sp.oo, 0))
    mirrored = sp.Integral((s**2 * _p(s)).subs(s, -u), (u, 0, sp.oo))
    same = mirrored.xreplace({_p(-u): _p(u)}).xreplace({u: s}) == positive
    if not same:  # pragma: no cover - a guard on the symmetry argument itself
        raise AssertionError("mirrored half-line integral differs")
    whole = sp.Integral(s**2 * _p(s), (s, -sp.oo, sp.oo))
    dv.step(whole / 2, rf"${latex(negative)} = {latex(mirrored)}$ and $p(-u) = p(u)$")
    dv.step(VAR_S / 2, r"zero-mean $s$")
    gauss1, gauss2, slope2, _ = relu_gaussian_moments()
    dv.note = (rf"For Gaussian $s \sim N(0, \sigma_s^2)$ integration gives "
               rf"$\operatorname{{E}}[\max(0,s)^2] = {latex(gauss2)}$, as it must, and the mean "
               rf"$\operatorname{{E}}[\max(0,s)] = {latex(gauss1)}$. Backwards, "
               rf"$\operatorname{{E}}[\max(0,s)'^2] = P(s > 0) = {latex(slope2)}$ for any symmetric $s$.")
    return dv


@cache
def relu_gaussian_moments():
    """(E[relu(s)], E[relu(s)^2], E[relu'(s)^2]) for s ~ N(0, sigma_s^2), integrated; and sigma_s."""
    return (sp.integrate(s * _gaussian(_sigma_s), (s, 0, sp.oo)),
            sp.integrate(s**2 * _gaussian(_sigma_s), (s, 0, sp.oo)),
            sp.integrate(_gaussian(_sigma_s), (s, 0, sp.oo)), _sigma_s)


@cache
def he_condition() -> Derivation:
    """V10: ReLU keeps Var[s] when n_i Var[W^i] / 2 = 1, i.e. Var[W^i] = 2/n_i (He et al., 2015)."""
    half = relu_second_moment().result / VAR_S
    ratio = n[i] * VarW(i) * half
    cond = sp.Eq(ratio, 1)
    dv = Derivation(key="he_condition", tag="V10", title="ReLU: the He condition", lhs=VarW(i),
                    intro=(r"With ReLU, $\operatorname{Var}[s^{i}] = n_i\operatorname{Var}[W^i]"
                           r"\operatorname{E}[\max(0,s^{i-1})^2]$ (V1 before centring) and (V9) give the ratio "
                           rf"$\operatorname{{Var}}[s^{{i}}]/\operatorname{{Var}}[s^{{i-1}}] = {latex(ratio)}$; "
                           rf"it is 1 when ${latex(cond)}$."))
    dv.step(_solve_for_weight_variance(cond), "solve the condition")
    dv.note = (r"Backwards the factor is $n_{i+1}\operatorname{Var}[W^i]\,P(s>0)$, so the fan-out "
               r"version is $\operatorname{Var}[W^i] = 2/n_{i+1}$.")
    return dv
