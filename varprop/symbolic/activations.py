"""The activation functions as SymPy expressions: the one registry every other part reads.

Each entry is an expression in ``x``; f(0), the slope f'(0) and the gain 1/f'(0) are *derived*
from it. Smooth activations are analysed in the paper's linear regime (4); ReLU, whose slope
at 0 is undefined, is positively homogeneous and gets the exact rule of ``relu_second_moment``.
Adding an activation is one entry in ``ACTIVATIONS``.

Everything else about an activation is generated from its entry here: the numeric forms in
``varprop.kernels`` (Numba scalar f, f' by code, written to ``kernels/generated.py`` by
``kernels/codegen.py``; NumPy array f, f'), its Gaussian expectations for the mean field
(``varprop.gaussian``) and its one-layer rule in either theory (``symbolic/propagation.py``).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sympy as sp

x = sp.Symbol("x", real=True)
y = sp.Symbol("y", real=True)   # an activation's output, y = f(x)


@dataclass(frozen=True)
class Activation:
    """One activation f, given as a SymPy expression in ``x``."""

    name: str
    expr: sp.Expr
    label: str                      # how the paper / the tables name it
    homogeneous: bool = False       # f(c x) = c f(x) for c > 0 (ReLU): exact rule, no slope
    # f'(x) written in y = f(x), so a backward pass reuses the forward output (tanh: 1 - y^2);
    # tests check f'(x) == derivative_of_output(f(x)). None: use f'(x).
    derivative_of_output: sp.Expr | None = None

    @cached_property
    def derivative(self) -> sp.Expr:
        return sp.diff(self.expr, x)

    @cached_property
    def value_at_zero(self) -> sp.Expr:
        """f(0): the activations' mean in the linear regime (sigmoid: 1/2)."""
        return sp.simplify(self.expr.subs(x, 0))

    @cached_property
    def limits(self) -> tuple[sp.Expr, sp.Expr]:
        """(f(-oo), f(+oo)): the range of a bounded activation (tanh: -1, 1), else infinite."""
        return sp.limit(self.expr, x, -sp.oo), sp.limit(self.expr, x, sp.oo)

    @cached_property
    def slope_at_zero(self) -> sp.Expr:
        """alpha = f'(0) (tanh, softsign: 1; sigmoid: 1/4); undefined for homogeneous f."""
        if self.homogeneous:
            raise ValueError(f"{self.name}: f'(0) is undefined; use the homogeneous rule")
        return sp.simplify(self.derivative.subs(x, 0))


ACTIVATIONS: dict[str, Activation] = {a.name: a for a in (
    Activation("linear", x, "linear", derivative_of_output=sp.Integer(1)),
    Activation("tanh", sp.tanh(x), "tanh", derivative_of_output=1 - y**2),
    Activation("sigmoid", 1 / (1 + sp.exp(-x)), "sigmoid", derivative_of_output=y * (1 - y)),
    Activation("softsign", x / (1 + sp.Abs(x)), "softsign", derivative_of_output=(1 - sp.Abs(y))**2),
    Activation("relu", sp.Max(0, x), "ReLU", homogeneous=True),
)}


def get_activation(name: str) -> Activation:
    """The registry entry for ``name``; ValueError naming the valid choices otherwise."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown activation {name!r}; choose one of: "
                         f"{', '.join(ACTIVATIONS)}") from None
