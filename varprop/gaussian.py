"""Gaussian expectations E[g(sqrt(q) xi)], xi ~ N(0, 1), to about 1e-12, for the mean-field theory.

Plain Gauss-Hermite converges slowly where g has a kink at 0 (ReLU, softsign's f') or turns
steeply there (tanh at large q), so the standard normal measure is integrated with composite
Gauss-Legendre rules on panels that meet at 0 and are graded towards it; beyond |xi| = 14 the
measure is below 1e-44. Each panel's integrand is smooth for every registered activation.
The activations' numpy functions are generated from the SymPy registry.
"""
from __future__ import annotations

from functools import cache

import numpy as np

from .kernels import numpy_functions

_EDGES = np.array([0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.03, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0,
                   1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 14.0])
_ORDER = 40


@cache
def _rule():
    """Nodes and weights of the standard normal measure on [-14, 14] (sum of weights = 1)."""
    t, w = np.polynomial.legendre.leggauss(_ORDER)
    a, b = _EDGES[:-1, None], _EDGES[1:, None]
    half = ((b - a) / 2 * t + (a + b) / 2).ravel()
    wh = ((b - a) / 2 * w).ravel() * np.exp(-half**2 / 2) / np.sqrt(2 * np.pi)
    nodes = np.concatenate([-half[::-1], half])
    weights = np.concatenate([wh[::-1], wh])
    return nodes, weights


def expect(g, q):
    """E[g(sqrt(q) xi)] for a vectorised g and q >= 0 (scalar or array)."""
    nodes, weights = _rule()
    q = np.asarray(q, dtype=float)
    with np.errstate(over="ignore"):   # e.g. sigmoid's exp(-x) -> inf far out: f = 0, exactly
        vals = g(np.sqrt(q)[..., None] * nodes)
    return np.sum(vals * weights, axis=-1)


@cache
def moments(name: str):
    """(E[f], E[f^2], E[f'^2]) as functions of q, for the activation ``name``."""
    f, fp = numpy_functions(name)
    return (lambda q: expect(f, q),
            lambda q: expect(lambda a: f(a) ** 2, q),
            lambda q: expect(lambda a: fp(a) ** 2, q))
