"""The activation functions as SymPy expressions: the one registry every other part reads.

Each entry is an expression in ``x``; f(0), the slope f'(0), the gain 1/f'(0), the kinks and
whether f is positively homogeneous are *derived* from it. Smooth activations are analysed in
the paper's linear regime (4); a positively homogeneous f with a kink at 0 (ReLU, leaky ReLU),
whose slope at 0 is undefined, gets the exact rule of ``relu_second_moment`` scaled by its two
one-sided slopes.

The built-ins are written as text in the grammar of ``expressions.parse_activation``, the
same as a user's: ``register_activation(name, text)`` adds one, and ``get_activation`` also
accepts an expression in ``x`` in place of a name (``"x*sigmoid(x)"``) and ``leaky_relu(a)``
for any negative-side slope a.

Everything else about an activation is generated from its entry here: the numeric forms in
``varprop.kernels`` (Numba scalar f, f' by code, written to ``kernels/generated.py`` by
``kernels/codegen.py``; NumPy array f, f'), its Gaussian expectations for the mean field
(``varprop.gaussian``, with the kinks as quadrature panel edges) and its one-layer rule in
either theory (``symbolic/propagation.py``).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property

import sympy as sp

from .expressions import check_activation, kinks, parse_activation, x

y = sp.Symbol("y", real=True)   # an activation's output, y = f(x)
_p = sp.Symbol("p", positive=True)


@dataclass(frozen=True)
class Activation:
    """One activation f, given as a SymPy expression in ``x``."""

    name: str
    expr: sp.Expr
    label: str                      # how the paper / the tables name it
    # f'(x) written in y = f(x), so a backward pass reuses the forward output (tanh: 1 - y^2);
    # tests check f'(x) == derivative_of_output(f(x)). None: use f'(x).
    derivative_of_output: sp.Expr | None = None
    source: str | None = None       # the text it was parsed from

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
        # at x = -(K + p) and K + p for a positive p beyond every kink, so that Piecewise
        # conditions resolve before the limit is taken
        K = 1 + math.ceil(max((abs(k) for k in self.kinks), default=0))
        return tuple(sp.limit(self.expr.subs(x, sign * (K + _p)), _p, sp.oo) for sign in (-1, 1))

    @cached_property
    def kinks(self) -> tuple[float, ...]:
        """The points where f is not smooth, found from the expression (hard tanh: -1, 1)."""
        return kinks(self.expr)

    @cached_property
    def one_sided_slopes(self) -> tuple[sp.Expr, sp.Expr]:
        """(f'(0-), f'(0+)), the limits of f' from either side of 0 (f' at x = -p and +p for
        a positive p, so that Piecewise conditions resolve, then p -> 0+)."""
        return tuple(sp.simplify(sp.limit(self.derivative.subs(x, sign * _p), _p, 0, "+"))
                     for sign in (-1, 1))

    @cached_property
    def homogeneous(self) -> bool:
        """f(c x) = c f(x) for every c > 0, with a kink at 0 (ReLU, leaky ReLU): then f is
        a_- x below 0 and a_+ x above, and the exact rule replaces the slope at 0."""
        if 0.0 not in self.kinks:
            return False
        return all(sp.simplify(self.expr.subs(x, sign * _p) - _p * self.expr.subs(x, sign)) == 0
                   for sign in (-1, 1))

    @cached_property
    def homogeneous_slopes(self) -> tuple[sp.Expr, sp.Expr]:
        """(a_-, a_+) of a homogeneous f: f(x) = a_- x for x < 0, a_+ x for x > 0."""
        if not self.homogeneous:
            raise ValueError(f"{self.name} is not positively homogeneous")
        return sp.simplify(-self.expr.subs(x, -1)), sp.simplify(self.expr.subs(x, 1))

    @cached_property
    def slope_at_zero(self) -> sp.Expr:
        """alpha = f'(0) (tanh, softsign: 1; sigmoid: 1/4); undefined where the one-sided
        slopes differ (ReLU, SELU)."""
        if 0.0 in self.kinks:
            left, right = self.one_sided_slopes
            if sp.simplify(left - right) != 0:
                raise ValueError(f"{self.name}: f'(0) is undefined (slope {left} below 0, "
                                 f"{right} above)"
                                 + ("; use the homogeneous rule" if self.homogeneous else ""))
            return right
        return sp.simplify(self.derivative.subs(x, 0))

    @property
    def has_slope(self) -> bool:
        try:
            self.slope_at_zero
        except ValueError:
            return False
        return True


def display_form(expr):
    """``expr`` for people: rationals with long denominators (SELU's constants, parsed exactly
    from their decimals) shown as 17-digit decimals again."""
    return expr.xreplace({r: sp.Float(r, 17) for r in expr.atoms(sp.Rational)
                          if r.q > 10**6})


def _builtin(name, text, label, derivative_of_output=None) -> Activation:
    return Activation(name, parse_activation(text), label, derivative_of_output, text)


# name, text, label, f' in y. The first five are the paper's (and the order of their codes).
_BUILTINS = (
    ("linear", "x", "linear", sp.Integer(1)),
    ("tanh", "tanh(x)", "tanh", 1 - y**2),
    ("sigmoid", "1/(1 + exp(-x))", "sigmoid", y * (1 - y)),
    ("softsign", "x/(1 + abs(x))", "softsign", (1 - sp.Abs(y))**2),
    ("relu", "max(0, x)", "ReLU", None),
    # Klambauer et al. (2017): lambda, alpha to the digits of PyTorch's torch.nn.SELU
    ("selu", "1.0507009873554804934193349852946*Piecewise((x, x > 0), "
             "(1.6732632423543772848170429916717*(exp(x) - 1), True))", "SELU", None),
    ("elu", "Piecewise((x, x > 0), (exp(x) - 1, True))", "ELU", None),
    ("gelu", "x*(1 + erf(x/sqrt(2)))/2", "GELU", None),
    ("silu", "x*sigmoid(x)", "SiLU", None),
    # softplus log(1 + exp(x)), written so that no exp overflows (f and f' finite for any x)
    ("softplus", "max(x, 0) + log(1 + exp(-abs(x)))", "softplus", None),
    ("mish", "x*tanh(max(x, 0) + log(1 + exp(-abs(x))))", "Mish", None),
    ("erf", "erf(x)", "erf", None),
    ("hard_tanh", "Piecewise((-1, x < -1), (x, x <= 1), (1, True))", "hard tanh", None),
    ("leaky_relu", "Piecewise((x, x > 0), (0.01*x, True))", "leaky ReLU", None),
)
ACTIVATIONS: dict[str, Activation] = {a[0]: _builtin(*a) for a in _BUILTINS}
BUILTINS = tuple(ACTIVATIONS)     # those with kernels in kernels/generated.py (by code)
ALIASES = {"swish": "silu", "hardtanh": "hard_tanh"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_LEAKY = re.compile(r"leaky_relu\(\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*\)\Z")


def register_activation(name: str, expr, label: str | None = None) -> Activation:
    """Add an activation under ``name``: ``expr`` is text (``parse_activation``'s grammar) or
    a SymPy expression in ``x``; checked the same way. Registering a name again with the same
    expression is a no-op; with another, a ValueError."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"an activation's name must be non-empty text, got {name!r}")
    name = name.strip()
    if isinstance(expr, str):
        act = Activation(name, parse_activation(expr), label or name, source=expr.strip())
    elif isinstance(expr, sp.Expr):
        act = Activation(name, check_activation(expr, str(expr)), label or name, source=str(expr))
    else:
        raise ValueError(f"activation {name!r}: give text or a SymPy expression in x, "
                         f"got {type(expr).__name__}")
    old = ACTIVATIONS.get(ALIASES.get(name, name))
    if old is not None:
        if sp.simplify(old.expr - act.expr) != 0:
            raise ValueError(f"activation {name!r} is already registered as {old.expr}; "
                             "choose another name")
        return old
    ACTIVATIONS[name] = act
    return act


def get_activation(name: str) -> Activation:
    """The registry entry for ``name``, an alias (swish), ``leaky_relu(a)`` or an expression
    in ``x`` (registered under its text); ValueError naming the valid choices otherwise."""
    if isinstance(name, str):
        key = ALIASES.get(name.strip(), name.strip())
        if key in ACTIVATIONS:
            return ACTIVATIONS[key]
        leaky = _LEAKY.match(key)
        if leaky:
            slope = leaky.group(1)
            return register_activation(key, f"Piecewise((x, x > 0), ({slope}*x, True))",
                                       f"leaky ReLU ({slope})")
        if key and not _NAME.match(key):
            return register_activation(key, key)
    names = [k for k in ACTIVATIONS if _NAME.match(k)]      # not the expressions used so far
    raise ValueError(f"unknown activation {name!r}; choose one of: {', '.join(names)}, "
                     "leaky_relu(a), or an expression in x such as 'x*sigmoid(x)'")
