"""The activations' numeric forms, all generated from the SymPy registry
(``varprop.symbolic.activations``, the one place an activation is defined):

- Numba scalar kernels by code — ``CODES``, ``activation``, ``derivative``,
  ``derivative_from_output`` — written to ``kernels/generated.py`` by ``kernels/codegen.py``
  (real source, so that ``njit(cache=True)`` caches it; a test checks the file is current);
- NumPy array functions — ``numpy_functions`` (f, f') by ``lambdify`` and ``numpy_ufunc``
  (f as NumPy's own ufunc, to run in place).

An activation that is not built in (registered, or an expression given in place of a name)
has no code: ``derivative_code`` is None for it, and its Numba kernels are generated at run
time (``kernels/compiled.py``): scalar f, f', their ufuncs (its ``numpy_functions``, as for a
built-in whose expression uses a function NumPy lacks, erf) and ``times_derivative``.

The passes through a network that use them are ``kernels/passes.py``.
"""
from __future__ import annotations

from functools import cache

import numpy as np
import sympy as sp

from ..symbolic.activations import ACTIVATIONS, get_activation, x
from .generated import CODES, activation, derivative, derivative_from_output

_NOT_IN_NUMPY = (sp.erf, sp.erfc)


def derivative_code(name: str) -> int | None:
    """The code of a built-in activation in ``kernels.generated``; None for any other."""
    return CODES.get(get_activation(name).name)


@cache
def numpy_functions(name: str):
    """(f, f') as NumPy functions of an array, keeping its dtype."""
    act = get_activation(name)
    if derivative_code(name) is None or act.expr.atoms(*_NOT_IN_NUMPY):
        from .compiled import kernels
        f, fp = kernels(act.name).f_array, kernels(act.name).fprime_array
    else:
        from .codegen import derivative_expr, numeric_form
        f = sp.lambdify(x, numeric_form(act.expr), modules="numpy")
        fp = sp.lambdify(x, numeric_form(derivative_expr(act)), modules="numpy")

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
    if derivative_code(name) is None or get_activation(name).expr.atoms(*_NOT_IN_NUMPY):
        from .compiled import kernels
        return kernels(get_activation(name).name).f_array     # the generated ufunc
    expr = get_activation(name).expr
    if expr.args != (x,):
        return None
    ufunc = getattr(np, expr.func.__name__, None)
    return ufunc if isinstance(ufunc, np.ufunc) else None


__all__ = ["ACTIVATIONS", "CODES", "activation", "derivative", "derivative_code",
           "derivative_from_output", "get_activation", "numpy_functions", "numpy_ufunc"]
