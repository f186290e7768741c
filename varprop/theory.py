"""Numeric predictions for a concrete network, generated from the symbolic source.

``linear_theory`` evaluates the paper's linear-regime analysis (5)-(7), generalised by
f(0) and f'(0) (and ReLU's exact rule), for given widths, activation and init scheme. Every
number comes from a function that SymPy generates (``lambdify``) from the derived expressions
of ``varprop.symbolic.propagation`` and ``varprop.symbolic.schemes``; nothing here restates a
formula.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

from .symbolic.activations import get_activation
from .symbolic.notation import i, n
from .symbolic.propagation import unroll
from .symbolic.schemes import Scheme, get_scheme
from .validation import check_positive, check_widths

OUTPUTS = ("activation_mean", "activation_variance", "preactivation_variance",
           "backprop_variance", "weight_gradient_variance")


@cache
def _compiled(n_layers: int, activation: str):
    """A numpy function (widths..., weight variances..., Var[x], Var[top]) -> per-layer outputs."""
    u = unroll(n_layers, activation)
    return sp.lambdify(u.inputs, [list(o) for o in u.outputs], modules="numpy", cse=True)


@cache
def _compiled_scheme_variance(scheme: Scheme):
    """A numpy function (fan_in, fan_out) -> Var[W^i] for ``scheme`` (from the rule V12)."""
    fan_in, fan_out = sp.symbols("fan_in fan_out", positive=True)
    expr = scheme.variance.xreplace({n[i]: fan_in, n[i + 1]: fan_out})
    return sp.lambdify((fan_in, fan_out), expr, modules="numpy")


def weight_variances(widths, init: str | Scheme) -> np.ndarray:
    """Var[W^i] of each weight layer for a named scheme (or a ``Scheme``)."""
    widths = check_widths(widths)
    scheme = init if isinstance(init, Scheme) else get_scheme(init)
    f = _compiled_scheme_variance(scheme)
    return np.array([float(f(a, b)) for a, b in zip(widths[:-1], widths[1:])])


@dataclass(frozen=True)
class Prediction:
    """Per-layer predictions; arrays indexed by the weight layer i = 0 .. L-1.

    ``activation_*`` describe z^i, the input of W^i (z^0 = x); ``preactivation_variance``
    is Var[s^i]; ``backprop_variance`` is Var[dC/ds^i]; ``weight_gradient_variance`` is
    Var[dC/dW^i].
    """

    widths: tuple[int, ...]
    activation: str
    init: str
    var_x: float
    var_top: float
    weight_variance: np.ndarray
    activation_mean: np.ndarray
    activation_variance: np.ndarray
    preactivation_variance: np.ndarray
    backprop_variance: np.ndarray
    weight_gradient_variance: np.ndarray
    theory: str = "linear-regime"

    def layers(self) -> list[dict]:
        rows = []
        for k in range(len(self.widths) - 1):
            row = {"layer": k, "fan_in": self.widths[k], "fan_out": self.widths[k + 1],
                   "weight_variance": float(self.weight_variance[k])}
            row.update({name: float(getattr(self, name)[k]) for name in OUTPUTS})
            rows.append(row)
        return rows

    def to_dict(self) -> dict:
        return {"theory": self.theory, "widths": list(self.widths), "activation": self.activation,
                "init": self.init, "var_x": self.var_x, "var_top": self.var_top,
                "layers": self.layers()}


def linear_theory(widths, activation: str = "tanh", init: str | Scheme = "standard",
                  var_x: float = 1.0, var_top: float = 1.0) -> Prediction:
    """Linear-regime predictions (5)-(7) per layer of a concrete network.

    widths: n_0 .. n_L (input, hidden layers, output); activation: a name from the registry;
    init: a named scheme or a ``Scheme``; var_x: Var[x]; var_top: Var[dC/ds] at the top
    pre-activation s^{L-1} (the paper's Var[dC/ds^d]).
    """
    scheme = init if isinstance(init, Scheme) else get_scheme(init)
    return propagate(widths, weight_variances(widths, scheme), activation, var_x, var_top,
                     init=scheme.name)


def propagate(widths, weight_variance, activation: str = "tanh", var_x: float = 1.0,
              var_top: float = 1.0, init: str = "given") -> Prediction:
    """Linear-regime predictions for explicit per-layer weight variances Var[W^0..W^{L-1}]
    (e.g. those of a network during training)."""
    widths = check_widths(widths)
    get_activation(activation)
    wv = np.array([check_positive(f"Var[W^{k}]", v) for k, v in enumerate(weight_variance)])
    if len(wv) != len(widths) - 1:
        raise ValueError(f"need {len(widths) - 1} weight variances for {len(widths)} widths, "
                         f"got {len(wv)}")
    var_x = check_positive("var_x", var_x)
    var_top = check_positive("var_top", var_top)
    out = _compiled(len(widths) - 1, activation)(*widths, *wv, var_x, var_top)
    arrays = {name: np.asarray(vals, dtype=float) for name, vals in zip(OUTPUTS, out)}
    return Prediction(widths, activation, init, var_x, var_top, wv, **arrays)
