"""The exact infinite-width ("mean-field") recursion, beside the paper's linear regime.

At infinite width each pre-activation is Gaussian (a sum of n_i independent terms), so the
linear-regime approximations V2/V3/V4 are replaced by Gaussian expectations of f and f'
that are exact for any activation (Poole et al. 2016, Schoenholz et al. 2017):

- V13  q^{i+1} = n_{i+1} Var[W^{i+1}] E[f(sqrt(q^i) xi)^2] + sigma_b^2   (forward)
- V14  Var[dC/ds^i] = E[f'(sqrt(q^i) xi)^2] n_{i+2} Var[W^{i+1}] Var[dC/ds^{i+1}]  (backward)
- V15  mean squared singular value of J^i = n_i n_{i+1} Var[W^i] E[f'^2] / min(n_i, n_{i+1})
- V16  fixed point q* and chi for sigma_w^2 = n Var[W].

``GaussMean``, ``GaussSecond`` and ``GaussSlope`` are the unevaluated expectations; numeric
code binds them to quadrature (``varprop.gaussian``) for the chosen activation.
"""
from __future__ import annotations

from functools import cache

import sympy as sp

from .derivation import Derivation
from .moments import mu_z, preactivation_variance, v_z
from .notation import EZ2, VarG, VarS, VarW, i, latex, n, n_eq, symbol, v_eq

sigma_b2 = symbol("s_b2", r"\sigma_b^2", nonnegative=True)
sigma_w2 = symbol("s_w2", r"\sigma_w^2", positive=True)
q = symbol("q", "q", positive=True)


class _Gauss(sp.Function):
    """An unevaluated Gaussian expectation E_xi[...] of the activation at std sqrt(q)."""

    nargs = 1
    template = "?"

    def _latex(self, printer):
        return rf"\operatorname{{E}}_\xi\left[{self.template.format(printer._print(sp.sqrt(self.args[0])))}\right]"


class GaussMean(_Gauss):
    """E[f(sqrt(q) xi)], xi ~ N(0, 1)."""
    template = r"f({}\,\xi)"


class GaussSecond(_Gauss):
    """E[f(sqrt(q) xi)^2]."""
    template = r"f({}\,\xi)^2"


class GaussSlope(_Gauss):
    """E[f'(sqrt(q) xi)^2]."""
    template = r"f'({}\,\xi)^2"


def _with_bias(expr):
    return expr + sigma_b2


@cache
def meanfield_forward() -> Derivation:
    """V13: the forward recursion of the pre-activation variance q^i = Var[s^i]."""
    dv = Derivation(key="meanfield_forward", tag="V13", title="Mean field: forward", lhs=VarS(i + 1),
                    intro=(r"Biases $b \sim N(0, \sigma_b^2)$ independent of everything else add "
                           r"their variance. No linear regime is assumed."))
    second = preactivation_variance().steps[-2].expr.subs(mu_z**2 + v_z, EZ2(i + 1))
    dv.step(_with_bias(second.subs({n_eq: n[i + 1], v_eq: VarW(i + 1)})),
            r"(V1) before centring: $\operatorname{E}[z^2]$, not $\operatorname{Var}[z]$, feeds the layer")
    dv.step(dv.result.subs(EZ2(i + 1), GaussSecond(VarS(i))),
            r"$z^{i+1} = f(s^i)$, $s^i \sim N(0, q^i)$ at infinite width (central limit)")
    return dv


@cache
def meanfield_backward() -> Derivation:
    """V14: the backward factor with E[f'^2] in place of f'(0)^2."""
    dv = Derivation(key="meanfield_backward", tag="V14", title="Mean field: backward", lhs=VarG(i),
                    intro=r"As (V4), with $f'(s^i)$ independent of $W^{i+1}\partial C/\partial s^{i+1}$.")
    one_unit = preactivation_variance().result.subs({n_eq: n[i + 2], v_eq: VarW(i + 1), v_z: VarG(i + 1)})
    dv.step(GaussSlope(VarS(i)) * one_unit, r"$\operatorname{E}[f'(s^i)^2]$ over $s^i \sim N(0, q^i)$")
    return dv


@cache
def jacobian_mean_square() -> Derivation:
    """V15: the mean squared singular value of J^i = diag(f'(s^i)) W^{i T} (Section 4.2.2)."""
    k = sp.Symbol("k", integer=True, positive=True)
    l = sp.Symbol("l", integer=True, positive=True)
    W = sp.IndexedBase("W")
    fp = sp.Function("f'")
    count = sp.Min(n[i], n[i + 1])
    dv = Derivation(key="jacobian_mean_square", tag="V15", title="Layer Jacobians",
                    lhs=sp.Symbol(r"\overline{\sigma^2}(J^i)"),
                    intro=(r"$J^i = \partial z^{i+1}/\partial z^i = \operatorname{diag}(f'(s^i))\,W^{i\top}$ "
                           r"has $\min(n_i, n_{i+1})$ singular values; the mean of their squares is "
                           r"$\operatorname{tr}(J J^\top)/\min(n_i, n_{i+1})$."))
    trace = sp.Sum(fp(sp.Indexed("s", k)) ** 2 * sp.Sum(W[l, k] ** 2, (l, 1, n[i])), (k, 1, n[i + 1]))
    dv.step(trace / count, r"$(JJ^\top)_{kk} = f'(s_k)^2 \sum_l W_{lk}^2$")
    dv.step(n[i] * n[i + 1] * VarW(i) * GaussSlope(VarS(i)) / count,
            r"expectation: $f'(s_k)$ independent of $W_{\cdot k}$")
    dv.note = (r"With equal widths this is $n\operatorname{Var}[W^i]\operatorname{E}[f'^2]$: "
               r"$1/3$ for the standard and $1$ for the normalized initialisation in the linear regime.")
    return dv


@cache
def fixed_point() -> Derivation:
    """V16: the fixed point q* of V13 for a constant sigma_w^2 = n Var[W], and chi at q*."""
    dv = Derivation(key="fixed_point", tag="V16", title="Fixed point and its gradient factor",
                    lhs=q,
                    intro=(r"With every layer alike, $\sigma_w^2 = n_i\operatorname{Var}[W^i]$, (V13) "
                           r"becomes a map $q \mapsto \sigma_w^2\operatorname{E}[f(\sqrt q\xi)^2]+\sigma_b^2$; "
                           r"its fixed point $q^*$ solves"))
    # n Var[W] -> sigma_w^2 (n = 1, Var[W] = sigma_w^2), q^{i+1} = q^i = q
    dv.step(meanfield_forward().result.subs({n[i + 1]: 1, VarW(i + 1): sigma_w2, VarS(i): q}),
            r"(V13) at a fixed point")
    dv.note = (rf"and back-propagated variances change by $\chi = {latex(chi())}$ per layer there "
               r"(V14); $\chi = 1$ marks the edge of chaos.")
    return dv


def chi():
    """chi(q) = sigma_w^2 E[f'(sqrt(q) xi)^2]: the per-layer factor of V14 at constant sigma_w^2."""
    return meanfield_backward().result.subs({n[i + 2]: 1, VarW(i + 1): sigma_w2, VarS(i): q}) / VarG(i + 1)
