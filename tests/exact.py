"""An independent oracle: exact variances of small concrete linear networks.

Every weight, input and top gradient is its own sympy.stats random variable; a network output
is a polynomial in them. Its exact variance is E[P^2] - E[P]^2, where the expectation of each
monomial is the product of the variables' raw moments (independence), each moment computed by
sympy.stats from the variable's law. Nothing here uses varprop's derivations.

Also the Gaussian expectations of the mean field by mpmath at 30 digits (``gaussian_expect``),
independent of varprop's quadrature rule.
"""
from __future__ import annotations

from functools import lru_cache

import mpmath
import sympy as sp
from sympy.stats import E, Normal, Uniform


@lru_cache(maxsize=None)
def raw_moment(law: str, variance: sp.Rational, power: int) -> sp.Expr:
    """E[X^power] for a zero-mean X of the given law and variance (sympy.stats)."""
    if law == "normal":
        X = Normal("X", 0, sp.sqrt(variance))
    elif law == "uniform":
        a = sp.sqrt(3 * variance)
        X = Uniform("X", -a, a)
    else:
        raise ValueError(law)
    return sp.simplify(E(X**power))


class Network:
    """A linear network x -> s^0 = x W^0 -> ... -> s^{L-1} with f(s) = slope * s; the top
    gradient g is independent of x (random labels)."""

    def __init__(self, widths, variances, law, var_x, var_top, slope=1):
        self.law = {}
        self.var = {}
        L = len(widths) - 1

        def rv(name, law_, var):
            s = sp.Symbol(name)
            self.law[s], self.var[s] = law_, sp.nsimplify(var)
            return s

        self.x = [rv(f"x{j}", "normal", var_x) for j in range(widths[0])]
        self.W = [[[rv(f"W{l}_{j}_{k}", law, variances[l]) for k in range(widths[l + 1])]
                   for j in range(widths[l])] for l in range(L)]
        self.g = [rv(f"g{k}", "normal", var_top) for k in range(widths[-1])]
        # forward: z[l] is the input of W^l (linear activation: z^{l+1} = s^l)
        self.z = [self.x]
        for l in range(L - 1):
            zl = self.z[-1]
            self.z.append([slope * sum(zl[j] * self.W[l][j][k] for j in range(widths[l]))
                           for k in range(widths[l + 1])])
        # backward from the top pre-activation s^{L-1}: dC/ds^l = f' W^{l+1} dC/ds^{l+1}
        self.grad = [None] * L
        self.grad[L - 1] = self.g
        for l in range(L - 2, -1, -1):
            self.grad[l] = [slope * sum(self.W[l + 1][k][m] * self.grad[l + 1][m]
                                for m in range(widths[l + 2])) for k in range(widths[l + 1])]

    def expect(self, poly) -> sp.Expr:
        poly = sp.Poly(sp.expand(poly), *self.law.keys())
        total = sp.Integer(0)
        for powers, coeff in poly.terms():
            term = coeff
            for sym, p in zip(self.law.keys(), powers):
                if p:
                    term *= raw_moment(self.law[sym], self.var[sym], p)
            total += term
        return sp.simplify(total)

    def variance(self, expr) -> sp.Expr:
        return sp.simplify(self.expect(expr**2) - self.expect(expr) ** 2)


def gaussian_expect(f, q, breaks=()) -> float:
    """E[f(sqrt(q) xi)], xi ~ N(0, 1), by mpmath at 30 digits (restored afterwards), the
    interval split at 0 and at ``breaks`` (points of f's argument where f has kinks)."""
    with mpmath.workdps(30):
        sq = mpmath.sqrt(q)
        pts = sorted({-mpmath.inf, mpmath.inf, 0, *(mpmath.mpf(b) / sq for b in breaks)})
        return float(mpmath.quad(lambda t: f(sq * t) * mpmath.npdf(t), pts))
