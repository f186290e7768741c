"""Generate the Numba activation kernels from the SymPy registry (one source of truth).

``python -m varprop.kernels.codegen`` rewrites ``varprop/kernels/generated.py``;
``--check`` exits 1 when the committed file differs (a test runs the check). Real source, not
``lambdify``, so that ``numba.njit(cache=True)`` can cache it.
"""
from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import log1p
from sympy.codegen.rewriting import expm1_opt, optimize

from ..symbolic.activations import ACTIVATIONS, BUILTINS, get_activation, x
from ..symbolic.expressions import NUMPY_MODULES

TARGET = Path(__file__).with_name("generated.py")


def numeric_form(expr) -> sp.Expr:
    """The same function, printed to lose no digits to cancellation: log(1 + u) as log1p(u),
    exp(u) - 1 as expm1(u) (Mish at x = -30 is -2.8073e-12, not -2.8044e-12)."""
    expr = optimize(expr, [expm1_opt])
    return expr.replace(lambda e: isinstance(e, sp.log) and e.args[0].is_Add
                        and sp.S.One in e.args[0].args, lambda e: log1p(e.args[0] - 1))


def _code(expr) -> str:
    return sp.pycode(numeric_form(expr), fully_qualified_modules=True)


_PROBES = np.array([-1000.0, -50.0, -1.5, -0.5, 0.0, 0.5, 1.5, 50.0, 1000.0])


def _finite_everywhere(expr) -> bool:
    f = sp.lambdify(x, numeric_form(expr), modules=NUMPY_MODULES)
    with np.errstate(all="ignore"):
        v = np.asarray(f(_PROBES), dtype=float)
    return bool(np.all(np.isfinite(np.broadcast_to(v, _PROBES.shape))))


@cache
def _derivative_expr(name: str) -> sp.Expr:
    act = get_activation(name)
    simple = sp.simplify(act.derivative)
    if _finite_everywhere(simple) or not _finite_everywhere(act.derivative):
        return simple
    return act.derivative


def derivative_expr(act) -> sp.Expr:
    """f'(x) as SymPy simplifies it (e.g. sigmoid: 1/(4 cosh(x/2)^2), finite for any x), unless
    the simplified form overflows where the derivative as differentiated does not (softplus:
    simplify brings exp(|x|) back, inf/inf at x = 1000)."""
    return _derivative_expr(act.name)


def _dispatch(name: str, doc: str, exprs: dict[str, sp.Expr], args: str = "x") -> str:
    lines = ["", "", "", "@njit(cache=True)", f"def {name}(code, {args}):", f'    """{doc}"""']
    for k, (act, expr) in enumerate(exprs.items()):
        kw = "if" if k == 0 else "elif"
        lines += [f"    {kw} code == {CODES[act]}:  # {act}", f"        return {_code(expr)}"]
    lines.append("    return math.nan")
    return "\n".join(lines)


CODES = {name: k for k, name in enumerate(BUILTINS)}
_BUILT = [ACTIVATIONS[name] for name in BUILTINS]


def render() -> str:
    head = [
        '"""Numba scalar activations f and derivatives f\', generated from',
        "varprop/symbolic/activations.py by varprop.kernels.codegen; do not edit.",
        '"""',
        "import math",
        "",
        "from numba import njit",
        "",
        "# Kernels take an activation's code, not its name (numba freezes no registry at compile time).",
        "CODES = {" + ", ".join(f"{name!r}: {k}" for name, k in CODES.items()) + "}",
    ]
    body = _dispatch("activation", "f(x) of the activation with this code.",
                     {a.name: a.expr for a in _BUILT})
    body += _dispatch("derivative", "f'(x) of the activation with this code.",
                      {a.name: derivative_expr(a) for a in _BUILT})
    body += _dispatch("derivative_from_output", "f'(x) given x and y = f(x) (cheaper where the "
                      "registry writes f' in y).",
                      {a.name: (a.derivative_of_output if a.derivative_of_output is not None
                                else derivative_expr(a)) for a in _BUILT},
                      args="x, y")
    return "\n".join(head) + body + "\n"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in argv:
        if not TARGET.is_file() or TARGET.read_text() != text:
            print(f"stale: {TARGET}; run 'python -m varprop.kernels.codegen'", file=sys.stderr)
            return 1
        return 0
    tmp = TARGET.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(TARGET)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
