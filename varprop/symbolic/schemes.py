"""Initialisation schemes as one general rule: Var[W^i] = scale / fan(mode).

The fan modes are ``fan_in`` (n_i), ``fan_out`` (n_{i+1}) and ``fan_avg`` ((n_i + n_{i+1})/2)
— the vocabulary of JAX's ``variance_scaling``. Each named scheme's *variance* comes from the
derivation that defines it ((15), (12), (10), V10); its *scale* is then solved from the rule,
so "the standard init is variance scaling with scale 1/3 on the fan-in" is a computed fact.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property

import sympy as sp

from . import conditions
from .derivation import Derivation
from .laws import get_law
from .notation import VarW, i, latex, n, symbol

FAN_MODES: dict[str, sp.Expr] = {
    "fan_in": n[i],
    "fan_out": n[i + 1],
    "fan_avg": (n[i] + n[i + 1]) / 2,
}
scale = symbol("gamma", r"\gamma", positive=True)
fan = symbol("fan", r"\mathrm{fan}", positive=True)


def get_fan(mode: str) -> sp.Expr:
    try:
        return FAN_MODES[mode]
    except (KeyError, TypeError):
        raise ValueError(f"unknown fan mode {mode!r}; choose one of: {', '.join(FAN_MODES)}") from None


def _tex_name(name: str) -> str:
    return name.replace("_", r"\_")


@cache
def variance_scaling() -> Derivation:
    """V12: the general rule Var[W^i] = gamma / fan, with fan one of the three modes."""
    dv = Derivation(key="variance_scaling", tag="V12", title="One rule for every scheme",
                    lhs=VarW(i),
                    intro=(r"Every scheme below sets the weight variance to a scale $\gamma$ over a fan: "
                           + ", ".join(rf"$\mathrm{{{_tex_name(m)}}} = {latex(f)}$"
                                       for m, f in FAN_MODES.items()) + "."))
    dv.step(scale / fan, "variance scaling")
    return dv


@dataclass(frozen=True)
class Scheme:
    """A named initialisation: the rule's scale and fan mode, and the law that samples it."""

    name: str
    scale: sp.Expr
    mode: str
    law: str
    source: str   # the equation the scheme comes from

    def __post_init__(self):
        get_fan(self.mode)
        get_law(self.law)
        if not (sp.sympify(self.scale).is_positive and not sp.sympify(self.scale).free_symbols):
            raise ValueError(f"scheme {self.name!r}: scale must be a positive number, got {self.scale}")

    @cached_property
    def variance(self) -> sp.Expr:
        """Var[W^i] in n_i, n_{i+1}: the rule (V12) evaluated for this scheme."""
        return sp.simplify(variance_scaling().result.subs(fan, get_fan(self.mode))
                           .subs(scale, self.scale))

    @cached_property
    def parameter(self) -> sp.Expr:
        """The law's parameter (uniform bound / normal std) that realises ``variance``."""
        return get_law(self.law).parameter_for_variance(self.variance)


def _named(name: str, defining_variance: sp.Expr, mode: str, law: str, source: str) -> Scheme:
    """Solve the rule for the scale that reproduces a scheme's derived variance."""
    solved = sp.simplify(defining_variance * get_fan(mode))
    return Scheme(name, solved, mode, law, source)


# name, the equation defining its variance (built on demand), fan mode, law, source
_DEFINITIONS = (
    ("standard", lambda: conditions.standard_variance().result / n[i], "fan_in", "uniform",
     "(1), (15)"),
    ("normalized", lambda: conditions.compromise().result, "fan_avg", "uniform", "(12), (16)"),
    ("lecun", lambda: conditions.forward_condition().result, "fan_in", "normal", "(10)"),
    ("he", lambda: conditions.he_condition().result, "fan_in", "normal", "(V10)"),
    ("orthogonal", lambda: conditions.forward_condition().result, "fan_in", "orthogonal", "(10)"),
)
SCHEME_NAMES = tuple(d[0] for d in _DEFINITIONS)   # for listings, without deriving anything


@cache
def schemes() -> dict[str, Scheme]:
    """The named schemes, each from the derivation that defines it."""
    return {name: _named(name, variance(), mode, law, source)
            for name, variance, mode, law, source in _DEFINITIONS}


@cache
def fan_function(expr: sp.Expr):
    """A numpy function (fan_in, fan_out) of an expression in n_i, n_{i+1} (generated code)."""
    fan_in, fan_out = sp.symbols("fan_in fan_out", positive=True)
    return sp.lambdify((fan_in, fan_out), expr.xreplace({n[i]: fan_in, n[i + 1]: fan_out}),
                       modules="numpy")


def get_scheme(name: str) -> Scheme:
    try:
        return schemes()[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown init scheme {name!r}; choose one of: {', '.join(schemes())}") from None


def custom_scheme(scale_value, mode: str, law: str = "uniform") -> Scheme:
    """A scheme from the general rule: Var[W^i] = scale_value / fan(mode)."""
    from ..validation import check_positive

    value = sp.nsimplify(check_positive("scale", scale_value))
    return Scheme("custom", value, mode, law, "(V12)")
