"""Weight laws — uniform, normal, truncated normal — and the variance each parameter gives.

A scheme fixes Var[W]; the law turns it into the parameter a sampler needs (a uniform bound, a
normal std, a truncated normal's pre-truncation std). Each law's variance is integrated here
from its density, so the truncated normal's correction constant (JAX's 0.87962566...) is
derived, not typed.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from .derivation import Derivation
from .moments import Var
from .notation import i, n

a = sp.Symbol("a", positive=True)          # uniform bound
g = sp.Symbol("g", positive=True)          # orthogonal gain
sigma = sp.Symbol(r"\sigma", positive=True)  # normal std (pre-truncation for the truncated law)
w = sp.Symbol("w", real=True)
xi = sp.Symbol(r"\xi", real=True)
TRUNCATION = 2                               # the truncated normal keeps |xi| <= 2 (+-2 sigma)


@cache
def uniform_variance() -> Derivation:
    """Var[U(-a, a)] = a^2/3, by integrating the density 1/(2a) (used by (15) and (16))."""
    dv = Derivation(key="uniform_variance", tag="V5", title="Variance of the uniform law",
                    lhs=Var(sp.Symbol("U(-a,a)")))
    dv.step(sp.Integral(w**2 / (2 * a), (w, -a, a)),
            r"zero mean; density $1/(2a)$ on $[-a, a]$")
    dv.step(dv.result.doit(), "integrate")
    return dv


def _std_normal_density(t):
    return sp.exp(-t**2 / 2) / sp.sqrt(2 * sp.pi)


@cache
def truncated_normal_constant() -> Derivation:
    """c = Var[xi | |xi| <= 2] for xi ~ N(0,1): a truncated normal of std sigma has variance c sigma^2."""
    dv = Derivation(key="truncated_normal_constant", tag="V11",
                    title=r"The truncated normal's variance constant",
                    lhs=sp.Symbol("c"),
                    intro=(r"A truncated normal draws $\sigma\xi$ with $\xi\sim N(0,1)$ "
                           r"conditioned on $|\xi|\le 2$; its variance is $c\,\sigma^2$."))
    t = TRUNCATION
    dv.step(sp.Integral(xi**2 * _std_normal_density(xi), (xi, -t, t))
            / sp.Integral(_std_normal_density(xi), (xi, -t, t)),
            r"second moment of the conditioned law (its mean is 0 by symmetry)")
    dv.step(sp.simplify(dv.result.doit()), "integrate")
    exact = dv.result
    dv.note = (rf"Numerically $c = {float(exact):.10f}$ and $\sqrt c = {float(sp.sqrt(exact)):.10f}$: "
               r"to reach a target variance $v$ the pre-truncation std is $\sigma = \sqrt{v/c}$.")
    return dv


@dataclass(frozen=True)
class Law:
    """A zero-mean weight law with one scale parameter; ``variance`` is Var[W] in that parameter."""

    name: str
    parameter: sp.Symbol
    parameter_name: str
    variance: sp.Expr

    def parameter_for_variance(self, v) -> sp.Expr:
        """The parameter value giving Var[W] = v (the positive root of variance == v)."""
        roots = [r for r in sp.solve(sp.Eq(self.variance, v), self.parameter)
                 if r.is_positive is not False]
        if len(roots) != 1:
            raise ValueError(f"{self.name}: no unique positive parameter for variance {v}")
        return sp.simplify(roots[0])


LAW_NAMES = ("uniform", "normal", "truncated_normal", "orthogonal")   # listings, no integrals


@cache
def laws() -> dict[str, Law]:
    """The registry of weight laws, each variance derived above."""
    return {
        "uniform": Law("uniform", a, "bound a (W ~ U(-a, a))", uniform_variance().result),
        "normal": Law("normal", sigma, "std sigma (W ~ N(0, sigma^2))", sigma**2),
        "truncated_normal": Law("truncated_normal", sigma,
                                "pre-truncation std sigma (W ~ N(0, sigma^2) kept within +-2 sigma)",
                                truncated_normal_constant().result * sigma**2),
        # W = g Q with Q Haar-distributed with orthonormal rows or columns: the n_i x n_{i+1}
        # entries share the squared norm min(n_i, n_{i+1}) of those unit vectors equally.
        "orthogonal": Law("orthogonal", g, "gain g (W = g Q, Q a random semi-orthogonal matrix)",
                          g**2 * sp.Min(n[i], n[i + 1]) / (n[i] * n[i + 1])),
    }


def get_law(name: str) -> Law:
    if name not in LAW_NAMES:
        raise ValueError(f"unknown law {name!r}; choose one of: {', '.join(LAW_NAMES)}")
    try:
        return laws()[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown law {name!r}; choose one of: {', '.join(laws())}") from None
