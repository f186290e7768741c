"""Initialisation schemes as one general rule: Var[W^i] = scale / fan(mode).

The fan modes are ``fan_in`` (n_i), ``fan_out`` (n_{i+1}) and ``fan_avg`` ((n_i + n_{i+1})/2)
— the vocabulary of JAX's ``variance_scaling``. Each named scheme's *variance* comes from the
derivation that defines it ((15), (12), (10), V10); its *scale* is then solved from the rule,
so "the standard init is variance scaling with scale 1/3 on the fan-in" is a computed fact.
The names other libraries use (``glorot_uniform``, ``xavier_normal``, ``kaiming_*``,
``lecun_*``, ...) are aliases: a named scheme and a law (``ALIASES``).
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

    def with_law(self, law: str | None) -> Scheme:
        """The same variance drawn from another law (named ``scheme/law``); None: unchanged."""
        if law is None or law == self.law:
            return self
        return Scheme(f"{self.name}/{law}", self.scale, self.mode, law, self.source)


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

# The names other libraries give these schemes: alias -> (scheme, law). Each alias has its
# library's Var[W] (checked in tests/test_schemes.py); W is (fan_in, fan_out) in all of them
# for a dense layer. PyTorch's torch.nn.init, with its defaults (gain 1; kaiming: a=0,
# mode="fan_in", nonlinearity="leaky_relu", so gain sqrt(2/(1+a^2)) = sqrt 2):
#   xavier_uniform_  U(+-sqrt(6/(fan_in+fan_out)))   xavier_normal_  N(0, 2/(fan_in+fan_out))
#   kaiming_uniform_ U(+-sqrt(6/fan_in))             kaiming_normal_ N(0, 2/fan_in)
# Keras (keras.initializers; JAX's jax.nn.initializers alike), all VarianceScaling, whose
# normal is a truncated normal (re-drawn beyond 2 std) whose std *after* truncation is
# sqrt(scale/fan) — the "truncated_normal" law here (Keras before 2.2.3 / TF 1.x left out
# that correction, giving 0.774 x the variance):
#   glorot_uniform U(+-sqrt(6/(fan_in+fan_out)))   glorot_normal  trunc. std sqrt(2/(fan_in+fan_out))
#   he_uniform     U(+-sqrt(6/fan_in))             he_normal      trunc. std sqrt(2/fan_in)
#   lecun_uniform  U(+-sqrt(3/fan_in))             lecun_normal   trunc. std sqrt(1/fan_in)
# (PyTorch's nn.Linear default, kaiming_uniform_(a=sqrt 5) = U(+-1/sqrt(fan_in)), is the
# paper's "standard" scheme; it is no alias, as it is not that function's default.)
ALIASES: dict[str, tuple[str, str]] = {
    "glorot_uniform": ("normalized", "uniform"),
    "xavier_uniform": ("normalized", "uniform"),
    "glorot_normal": ("normalized", "truncated_normal"),
    "xavier_normal": ("normalized", "normal"),
    "he_uniform": ("he", "uniform"),
    "kaiming_uniform": ("he", "uniform"),
    "he_normal": ("he", "truncated_normal"),
    "kaiming_normal": ("he", "normal"),
    "lecun_uniform": ("lecun", "uniform"),
    "lecun_normal": ("lecun", "truncated_normal"),
}
INIT_NAMES = SCHEME_NAMES + tuple(ALIASES)   # every name ``get_scheme`` takes


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


def unknown_init(name) -> str:
    """The one-line error for an unknown init name: the schemes, then the aliases."""
    return (f"unknown init scheme {name!r}; choose one of: {', '.join(SCHEME_NAMES)}; "
            f"or an alias: {', '.join(ALIASES)}")


def get_scheme(name: str, law: str | None = None) -> Scheme:
    """A named scheme, or an alias (``ALIASES``: its scheme with its library's law); drawn
    from ``law`` instead where one is given."""
    if isinstance(name, str) and name in ALIASES:
        name, own_law = ALIASES[name]
        law = law or own_law
    try:
        scheme = schemes()[name]
    except (KeyError, TypeError):
        raise ValueError(unknown_init(name)) from None
    return scheme.with_law(law)


def custom_scheme(scale_value, mode: str, law: str = "uniform") -> Scheme:
    """A scheme from the general rule: Var[W^i] = scale_value / fan(mode)."""
    from ..validation import check_positive

    value = sp.nsimplify(check_positive("scale", scale_value))
    return Scheme("custom", value, mode, law, "(V12)")
