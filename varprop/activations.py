"""Numeric views of the activation registry (``varprop.symbolic.activations``, the one place
activations are defined): Numba scalar kernels by code, and NumPy array functions, all
generated from the SymPy expressions."""
from __future__ import annotations

from functools import cache

import numpy as np
import sympy as sp

from .kernels.activation_functions import CODES, activation, derivative, derivative_from_output
from .symbolic.activations import ACTIVATIONS, get_activation, x


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
