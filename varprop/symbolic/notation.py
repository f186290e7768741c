"""The paper's notation as SymPy objects (Section 4.2.1 of Glorot & Bengio, 2010).

Conventions (the reading under which the paper's (5), (13) and (14) are consistent):
``z^0 = x``; ``s^i = z^i W^i`` (biases 0); ``z^{i+1} = f(s^i)``; ``W^i`` is ``n_i x n_{i+1}``;
the top pre-activation (the softmax input) is ``s^d``, so the network has the ``d + 1`` weight
layers ``W^0 .. W^d`` and the widths ``n_0 .. n_{d+1}``.

Per-layer statistics are unevaluated SymPy functions of the layer index so that products over
layers, index shifts and substitutions of concrete widths all stay symbolic; each prints as the
paper writes it (``\\operatorname{Var}[W^{i}]``, ...).
"""
from __future__ import annotations

import sympy as sp

# Layer indices: i (a layer), d (the top pre-activation), i' / j (running product indices).
i = sp.Symbol("i", integer=True, nonnegative=True)
d = sp.Symbol("d", integer=True, nonnegative=True)
ip = sp.Symbol("i'", integer=True, nonnegative=True)
j = sp.Symbol("j", integer=True, nonnegative=True)

# Plain ASCII names keep SymPy's canonical term order readable (n before Var[W]); the LaTeX
# each symbol prints as is registered here and applied by ``latex`` below.
LATEX_NAMES: dict[sp.Symbol, str] = {}


def symbol(name: str, tex: str, **assumptions) -> sp.Symbol:
    """A SymPy symbol that prints as ``tex`` in every generated LaTeX file."""
    s = sp.Symbol(name, **assumptions)
    LATEX_NAMES[s] = tex
    return s


n = sp.IndexedBase("n", positive=True)   # n[i]: width of layer i (units of z^i)
n_eq = sp.Symbol("n", positive=True)       # the common width of the equal-width forms (13), (14)
v_eq = symbol("v_W", r"\operatorname{Var}[W]", positive=True)  # the shared weight variance
var_x = symbol("v_x", r"\operatorname{Var}[x]", positive=True)

alpha = symbol("alpha", r"\alpha", positive=True)  # f'(0), the activation's slope at the origin
mu = symbol("mu", r"\mu", real=True)              # f(0), the activation's value at the origin


class LayerStatistic(sp.Function):
    """An unevaluated per-layer statistic, e.g. ``Var[z^i]``; one integer argument (the layer)."""

    nargs = 1
    operator = r"\operatorname{Var}"
    quantity = "?"
    is_positive = True
    is_real = True

    def _latex(self, printer):
        layer = printer._print(self.args[0])
        return rf"{self.operator}\left[{self.quantity.format(layer=layer)}\right]"

    @classmethod
    def symbol(cls, layer: int) -> sp.Symbol:
        """A plain symbol standing for ``cls(layer)``, for lambdify/code generation."""
        return sp.Symbol(f"{cls.__name__}_{layer}", positive=True)


def _statistic(name: str, quantity: str, operator: str = r"\operatorname{Var}", doc: str = ""):
    return type(name, (LayerStatistic,), {"quantity": quantity, "operator": operator,
                                          "__doc__": doc, "__module__": __name__})


VarW = _statistic("VarW", "W^{{{layer}}}", doc="Var[W^i]: the common variance of layer i's weights.")
VarZ = _statistic("VarZ", "z^{{{layer}}}", doc="Var[z^i]: variance of one unit of layer i.")
VarS = _statistic("VarS", "s^{{{layer}}}", doc="Var[s^i]: variance of one pre-activation.")
VarG = _statistic("VarG", r"\frac{{\partial C}}{{\partial s^{{{layer}}}}}",
                  doc="Var[dC/ds^i]: variance of one back-propagated gradient (eq. 2).")
VarWG = _statistic("VarWG", r"\frac{{\partial C}}{{\partial w^{{{layer}}}}}",
                   doc="Var[dC/dw^i]: variance of one weight gradient (eq. 3).")
EZ2 = _statistic("EZ2", "(z^{{{layer}}})^2", operator=r"\operatorname{E}",
                 doc="E[(z^i)^2]: second moment of one unit of layer i.")


def latex(expr) -> str:
    """The one LaTeX printer used for every generated file (fixed settings, deterministic)."""
    return sp.latex(expr, mul_symbol=None, fold_short_frac=False, symbol_names=LATEX_NAMES)


def fan_in(layer=i):
    """Fan-in of W^layer: the width of the layer below (n_layer)."""
    return n[layer]


def fan_out(layer=i):
    """Fan-out of W^layer: the width of the layer above (n_{layer+1})."""
    return n[layer + 1]
