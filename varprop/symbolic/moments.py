"""Moment algebra of independent random variables, and the single-unit results built on it.

Two rules, both exact:
- independence: ``E[A^p B^q] = E[A^p] E[B^q]``, with ``E[X^2] = Var[X] + E[X]^2``;
- Bienaymé: the variance of a sum of uncorrelated terms is the sum of their variances.
Everything the recurrences need about one unit (its pre-activation variance, a product's
variance) is derived here from these rules, not typed in.
"""
from __future__ import annotations

import sympy as sp

from .derivation import Derivation
from .notation import latex, n_eq, symbol, v_eq


class Var(sp.Function):
    """Unevaluated ``Var[expr]`` (prints with square brackets)."""

    nargs = 1

    def _latex(self, printer):
        return rf"\operatorname{{Var}}\left[{printer._print(self.args[0])}\right]"


class E(sp.Function):
    """Unevaluated ``E[expr]``."""

    nargs = 1

    def _latex(self, printer):
        return rf"\operatorname{{E}}\left[{printer._print(self.args[0])}\right]"


def raw_moment(mean, variance, power: int):
    """E[X^power] for power 1 or 2 from the mean and variance of X."""
    if power == 1:
        return mean
    if power == 2:
        return variance + mean**2
    raise ValueError(f"power must be 1 or 2, got {power!r}")


def product_variance(mean_a, var_a, mean_b, var_b):
    """Var[AB] of independent A and B: E[A^2]E[B^2] - E[A]^2 E[B]^2 (exact)."""
    return (raw_moment(mean_a, var_a, 2) * raw_moment(mean_b, var_b, 2)
            - (raw_moment(mean_a, var_a, 1) * raw_moment(mean_b, var_b, 1)) ** 2)


def product_covariance(mean_w, second_zz, mean_z):
    """Cov[W_j z_j, W_l z_l] for j != l with W_j, W_l independent of each other and of z.

    ``E[W_j W_l z_j z_l] - E[W_j z_j] E[W_l z_l] = E[W]^2 (E[z_j z_l] - E[z]^2)``.
    """
    return mean_w**2 * second_zz - (mean_w * mean_z) ** 2


# One weight W and one incoming activation z; the sum runs over n terms.
mu_w = symbol("m_W", r"\operatorname{E}[W]", real=True)
mu_z = symbol("m_z", r"\operatorname{E}[z]", real=True)
v_z = symbol("v_z", r"\operatorname{Var}[z]", positive=True)
_zz = symbol("m_zz", r"\operatorname{E}[z_j z_l]", real=True)
_jj, _ll, _kk = sp.symbols("j l k", integer=True, positive=True)
_W, _z = sp.IndexedBase("W"), sp.IndexedBase("z")


def preactivation_variance() -> Derivation:
    """Var[s_k] = n Var[W] Var[z]: the variance of one unit's pre-activation.

    Assumptions: zero biases, weights independent of each other and of the activations,
    zero-mean weights; the last step uses zero-mean activations (symmetric f, centred input).
    This is the single step behind the paper's (5) and (6).
    """
    dv = Derivation(
        key="preactivation_variance", tag="V1",
        title="Variance of one pre-activation",
        lhs=Var(sp.Symbol("s_k")),
        intro=(r"One unit sums $n$ products of a weight and an incoming activation, "
               r"$s_k = \sum_{j=1}^{n} W_{jk} z_j$ (zero biases)."))
    term = _W[_jj, _kk] * _z[_jj]
    dv.step(Var(sp.Sum(term, (_jj, 1, n_eq))), "definition of $s_k$")
    cov = product_covariance(mu_w, _zz, mu_z)
    dv.step(sp.Sum(Var(term), (_jj, 1, n_eq)),
            rf"Bienaym\'e: $\operatorname{{Cov}}[W_{{jk}}z_j, W_{{lk}}z_l] = {latex(sp.factor(cov))}"
            rf" = {latex(cov.subs(mu_w, 0))}$ as $\operatorname{{E}}[W]=0$")
    general = product_variance(mu_w, v_eq, mu_z, v_z)
    dv.step(sp.Sum(general, (_jj, 1, n_eq)),
            r"$W \perp z$: $\operatorname{E}[W^2]\operatorname{E}[z^2] - \operatorname{E}[W]^2\operatorname{E}[z]^2$")
    zero_mean_w = sp.factor(general.subs(mu_w, 0))
    dv.step(sp.Sum(zero_mean_w, (_jj, 1, n_eq)), r"zero-mean weights: $\operatorname{Var}[W]\,\operatorname{E}[z^2]$")
    summed = dv.step(sp.Sum(zero_mean_w, (_jj, 1, n_eq)).doit(), "$n$ identically distributed terms")
    dv.step(summed.subs(mu_z, 0), r"zero-mean activations ($f$ odd, centred input)")
    return dv


def second_moment_form():
    """The general result before the zero-mean-activation step: n Var[W] E[z^2] (in mu_z, v_z)."""
    return preactivation_variance().steps[-2].expr
