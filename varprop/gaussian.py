"""Gaussian expectations E[g(sqrt(q) xi)], xi ~ N(0, 1), to about 1e-12, for the mean-field theory.

Plain Gauss-Hermite converges slowly where g has a kink at 0 (ReLU, softsign's f') or turns
steeply there (tanh at large q), so the standard normal measure is integrated with composite
Gauss-Legendre rules on panels that meet at 0 and are graded towards it; beyond |xi| = 14 the
measure is below 1e-44. An activation's other kinks (hard tanh's at +-1; found from its
expression, ``Activation.kinks``) become panel edges too, at xi = kink / sqrt(q), so each
panel's integrand is smooth. The activations' numpy functions are generated from the SymPy
registry.
"""
from __future__ import annotations

from functools import cache, lru_cache

import numpy as np

from .kernels import numpy_functions
from .symbolic.activations import get_activation

_EDGES = np.array([0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.03, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0,
                   1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 14.0])
_ORDER = 40


@lru_cache(maxsize=4096)
def _rule(breaks: tuple[float, ...] = ()):
    """Nodes and weights of the standard normal measure on [-14, 14] (sum of weights = 1),
    with extra panel edges at ``breaks`` (points of xi)."""
    t, w = np.polynomial.legendre.leggauss(_ORDER)

    def panels(edges):
        a, b = edges[:-1, None], edges[1:, None]
        nodes = ((b - a) / 2 * t + (a + b) / 2).ravel()
        return nodes, ((b - a) / 2 * w).ravel() * np.exp(-nodes**2 / 2) / np.sqrt(2 * np.pi)

    extra = [c for c in breaks if 0 < abs(c) < _EDGES[-1]]
    if extra:
        return panels(np.unique(np.concatenate([-_EDGES, _EDGES, extra])))
    half, wh = panels(_EDGES)                     # symmetric: the negative half mirrored
    return np.concatenate([-half[::-1], half]), np.concatenate([wh[::-1], wh])


def expect(g, q, kinks: tuple[float, ...] = ()):
    """E[g(sqrt(q) xi)] for a vectorised g and q >= 0 (scalar or array); ``kinks``: the points
    of g's argument where g is not smooth (0 is always a panel edge)."""
    q = np.asarray(q, dtype=float)
    moving = tuple(c for c in kinks if c != 0)
    with np.errstate(over="ignore"):   # e.g. sigmoid's exp(-x) -> inf far out: f = 0, exactly
        if not moving:
            nodes, weights = _rule()
            return np.sum(g(np.sqrt(q)[..., None] * nodes) * weights, axis=-1)
        out = np.empty(q.shape)
        for idx, qk in np.ndenumerate(q):
            breaks = tuple(float(c / np.sqrt(qk)) for c in moving) if qk > 0 else ()
            nodes, weights = _rule(breaks)
            out[idx] = np.sum(g(np.sqrt(qk) * nodes) * weights)
        return out if out.ndim else out[()]


@cache
def moments(name: str):
    """(E[f], E[f^2], E[f'^2]) as functions of q, for the activation ``name``."""
    f, fp = numpy_functions(name)
    kinks = get_activation(name).kinks
    return (lambda q: expect(f, q, kinks),
            lambda q: expect(lambda a: f(a) ** 2, q, kinks),
            lambda q: expect(lambda a: fp(a) ** 2, q, kinks))
