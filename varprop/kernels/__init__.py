"""The activations' numeric forms, all generated from the SymPy registry
(``varprop.symbolic.activations``, the one place an activation is defined):

- Numba scalar kernels by code — ``CODES``, ``activation``, ``derivative``,
  ``derivative_from_output`` — written to ``kernels/generated.py`` by ``kernels/codegen.py``
  (real source, so that ``njit(cache=True)`` caches it; a test checks the file is current);
- NumPy array functions — ``numpy_functions`` (f, f') by ``lambdify`` and ``numpy_ufunc``
  (f as NumPy's own ufunc, to run in place).

The passes through a network that use them are ``kernels/passes.py``.
"""
from __future__ import annotations

from functools import cache

import numpy as np
import sympy as sp

from ..symbolic.activations import ACTIVATIONS, get_activation, x
from .generated import CODES, activation, derivative, derivative_from_output


@cache
def numpy_functions(name: str):
    """(f, f') as NumPy functions of an array, keeping its dtype."""
    act = get_activation(name)
    f = sp.lambdify(x, act.expr, modules="numpy")
    fp = sp.lambdify(x, sp.simplify(act.derivative), modules="numpy")

    def keep(fn):
        def apply(a):
            a = np.asarray(a)
            return np.asarray(np.broadcast_to(fn(a), a.shape), dtype=a.dtype if a.dtype.kind == "f"
                              else np.float64)
        return apply

    return keep(f), keep(fp)


@cache
def numpy_ufunc(name: str):
    """The NumPy ufunc that *is* f, where the registry writes f as one elementary function of
    x that NumPy has as a ufunc (tanh: ``np.tanh``), so it can run in place (``out=``); else
    None."""
    expr = get_activation(name).expr
    if expr.args != (x,):
        return None
    ufunc = getattr(np, expr.func.__name__, None)
    return ufunc if isinstance(ufunc, np.ufunc) else None


__all__ = ["ACTIVATIONS", "CODES", "activation", "derivative", "derivative_from_output",
           "get_activation", "numpy_functions", "numpy_ufunc"]
