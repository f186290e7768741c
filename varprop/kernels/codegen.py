"""Generate the Numba activation kernels from the SymPy registry (one source of truth).

``python -m varprop.kernels.codegen`` rewrites ``varprop/kernels/generated.py``;
``--check`` exits 1 when the committed file differs (a test runs the check). Real source, not
``lambdify``, so that ``numba.njit(cache=True)`` can cache it.
"""
from __future__ import annotations

import sys
from pathlib import Path

import sympy as sp

from ..symbolic.activations import ACTIVATIONS

TARGET = Path(__file__).with_name("generated.py")


def _code(expr) -> str:
    return sp.pycode(expr, fully_qualified_modules=True)


def derivative_expr(act) -> sp.Expr:
    """f'(x) as SymPy simplifies it (e.g. sigmoid: 1/(4 cosh(x/2)^2), finite for any x)."""
    return sp.simplify(act.derivative)


def _dispatch(name: str, doc: str, exprs: dict[str, sp.Expr], args: str = "x") -> str:
    lines = ["", "", "", "@njit(cache=True)", f"def {name}(code, {args}):", f'    """{doc}"""']
    for k, (act, expr) in enumerate(exprs.items()):
        kw = "if" if k == 0 else "elif"
        lines += [f"    {kw} code == {CODES[act]}:  # {act}", f"        return {_code(expr)}"]
    lines.append("    return math.nan")
    return "\n".join(lines)


CODES = {name: k for k, name in enumerate(ACTIVATIONS)}


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
                     {a.name: a.expr for a in ACTIVATIONS.values()})
    body += _dispatch("derivative", "f'(x) of the activation with this code.",
                      {a.name: derivative_expr(a) for a in ACTIVATIONS.values()})
    body += _dispatch("derivative_from_output", "f'(x) given x and y = f(x) (cheaper where the "
                      "registry writes f' in y).",
                      {a.name: (a.derivative_of_output if a.derivative_of_output is not None
                                else derivative_expr(a)) for a in ACTIVATIONS.values()},
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
