"""Numeric predictions for a concrete network, generated from the symbolic source.

Two theories, side by side, one function each, and ``predict(..., theory=NAME)`` choosing
between them (``varprop predict --theory``):

- ``linear_theory``: the paper's linear-regime analysis (5)-(7), generalised by f(0) and
  f'(0) (and ReLU's exact rule);
- ``meanfield_theory``: the exact infinite-width recursion (V13-V15), whose Gaussian
  expectations are evaluated by quadrature (``varprop.gaussian``).

``propagate`` does the same for explicit per-layer weight variances (a network in training).

Every number comes from a function that SymPy generates (``lambdify``) from the derived
expressions of ``varprop.symbolic.propagation`` and ``varprop.symbolic.schemes``; nothing
here restates a formula.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from functools import cache

import numpy as np
import sympy as sp

from . import gaussian
from .symbolic import meanfield as mf
from .symbolic.activations import get_activation
from .symbolic.propagation import check_theory, unroll
from .symbolic.schemes import Scheme, fan_function, get_scheme
from .validation import check_positive, check_widths

OUTPUTS = ("activation_mean", "activation_variance", "preactivation_variance",
           "backprop_variance", "weight_gradient_variance", "jacobian_mean_sq_singular")


def _quadrature(activation: str) -> dict:
    """The unevaluated Gaussian expectations of ``symbolic.meanfield``, bound to quadrature."""
    mean, second, slope = gaussian.moments(activation)
    return {mf.GaussMean.__name__: mean, mf.GaussSecond.__name__: second,
            mf.GaussSlope.__name__: slope}


@cache
def _compiled(n_layers: int, activation: str, theory: str):
    """numpy function (widths..., weight variances..., Var[x], Var[top], sigma_b^2) -> outputs."""
    u = unroll(n_layers, activation, theory)
    return sp.lambdify(u.inputs, [list(o) for o in u.outputs],
                       modules=[_quadrature(activation), "numpy"], cse=True)


def weight_variances(widths, init: str | Scheme) -> np.ndarray:
    """Var[W^i] of each weight layer for a named scheme (or a ``Scheme``)."""
    widths = check_widths(widths)
    scheme = init if isinstance(init, Scheme) else get_scheme(init)
    f = fan_function(scheme.variance)   # the rule (V12) for this scheme, as code
    return np.array([float(f(a, b)) for a, b in itertools.pairwise(widths)])


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
    jacobian_mean_sq_singular: np.ndarray   # J^0 .. J^{L-2}
    theory: str = "linear"
    bias_variance: float = 0.0

    def layers(self) -> list[dict]:
        rows = []
        for k in range(len(self.widths) - 1):
            row = {"layer": k, "fan_in": self.widths[k], "fan_out": self.widths[k + 1],
                   "weight_variance": float(self.weight_variance[k])}
            row.update({name: float(getattr(self, name)[k]) for name in OUTPUTS
                        if k < len(getattr(self, name))})
            rows.append(row)
        return rows

    def to_dict(self) -> dict:
        return {"theory": self.theory, "widths": list(self.widths), "activation": self.activation,
                "init": self.init, "var_x": self.var_x, "var_top": self.var_top,
                "bias_variance": self.bias_variance, "layers": self.layers()}


def has_linear_regime(activation: str) -> bool:
    """Whether the paper's linear regime applies to ``activation``: it has a slope f'(0), or
    is positively homogeneous (the exact rule). Not SELU, whose one-sided slopes at 0 differ:
    only the mean field predicts it."""
    act = get_activation(activation)
    return act.homogeneous or act.has_slope


def _for_scheme(widths, activation, init, var_x, var_top, bias_variance, theory) -> Prediction:
    scheme = init if isinstance(init, Scheme) else get_scheme(init)
    return propagate(widths, weight_variances(widths, scheme), activation, var_x, var_top,
                     init=scheme.name, bias_variance=bias_variance, theory=theory)


def linear_theory(widths, activation: str = "tanh", init: str | Scheme = "standard",
                  var_x: float = 1.0, var_top: float = 1.0,
                  bias_variance: float = 0.0) -> Prediction:
    """The paper's linear-regime predictions (5)-(7) for a concrete network, generalised by
    f(0) and f'(0) (and ReLU's exact rule).

    widths: n_0 .. n_L (input, hidden layers, output); activation: a name from the registry;
    init: a named scheme or alias (``get_scheme``) or a ``Scheme``; var_x: Var[x]; var_top:
    Var[dC/ds] at the top pre-activation s^{L-1} (the paper's Var[dC/ds^d]); bias_variance:
    sigma_b^2.
    """
    return _for_scheme(widths, activation, init, var_x, var_top, bias_variance, "linear")


def meanfield_theory(widths, activation: str = "tanh", init: str | Scheme = "standard",
                     var_x: float = 1.0, var_top: float = 1.0,
                     bias_variance: float = 0.0) -> Prediction:
    """The exact infinite-width predictions (V13-V15) for a concrete network: the mean-field
    recursion, its Gaussian expectations by quadrature. Arguments as ``linear_theory``."""
    return _for_scheme(widths, activation, init, var_x, var_top, bias_variance, "meanfield")


THEORIES = {"linear": linear_theory, "meanfield": meanfield_theory}   # == propagation.THEORIES


def predict(widths, activation: str = "tanh", init: str | Scheme = "standard",
            var_x: float = 1.0, var_top: float = 1.0, bias_variance: float = 0.0,
            theory: str = "linear") -> Prediction:
    """The predictions of the named theory ("linear" or "meanfield"; ``varprop predict
    --theory``): ``linear_theory`` or ``meanfield_theory``."""
    return THEORIES[check_theory(theory)](widths, activation, init, var_x, var_top,
                                          bias_variance)


def propagate(widths, weight_variance, activation: str = "tanh", var_x: float = 1.0,
              var_top: float = 1.0, init: str = "given", bias_variance: float = 0.0,
              theory: str = "linear") -> Prediction:
    """Predictions for explicit per-layer weight variances Var[W^0..W^{L-1}] (e.g. those of a
    network during training), under ``theory`` ("linear" or "meanfield")."""
    widths = check_widths(widths)
    get_activation(activation)
    check_theory(theory)
    bias_variance = float(bias_variance)
    if not np.isfinite(bias_variance) or bias_variance < 0:
        raise ValueError(f"bias_variance must be a non-negative number, got {bias_variance!r}")
    wv = np.array([check_positive(f"Var[W^{k}]", v) for k, v in enumerate(weight_variance)])
    if len(wv) != len(widths) - 1:
        raise ValueError(f"need {len(widths) - 1} weight variances for {len(widths)} widths, "
                         f"got {len(wv)}")
    var_x = check_positive("var_x", var_x)
    var_top = check_positive("var_top", var_top)
    out = _compiled(len(widths) - 1, activation, theory)(*widths, *wv, var_x, var_top,
                                                         bias_variance)
    arrays = {name: np.asarray(vals, dtype=float).reshape(-1) for name, vals in zip(OUTPUTS, out)}
    return Prediction(widths, activation, init, var_x, var_top, wv, **arrays, theory=theory,
                      bias_variance=bias_variance)


MIXTURE_GROUPS = 32   # equal-count groups standing in for the inputs (propagate_over_inputs)


def input_second_moments(x) -> np.ndarray:
    """Per input row x_j: m_j = mean_i x_ji^2, so that s^0 = x_j W^0 has variance
    n_0 Var[W^0] m_j given x_j (V1)."""
    x = np.asarray(x, dtype=np.float64)
    return np.einsum("ij,ij->i", x, x) / x.shape[1]


def propagate_over_inputs(widths, weight_variance, activation: str, second_moments,
                          var_top: float = 1.0, init: str = "given", bias_variance: float = 0.0,
                          theory: str = "meanfield", groups: int = MIXTURE_GROUPS):
    """Predictions for a set of inputs whose second moments differ (images of different
    brightness): ``propagate`` for each input's own E[x^2] — at infinite width the exact
    answer given x — averaged over the inputs.

    The inputs are sorted by second moment and split into ``groups`` equal-count groups, each
    represented by its mean (for 1000 Shapeset images, within 0.1 % of using every input).
    Activation variances combine by the law of total variance (the per-input means differ for
    sigmoid); the gradients have mean zero, so their variances average.
    Returns (the averaged Prediction, whose var_x is the mean second moment; the per-group
    Predictions; the group weights).
    """
    m = np.asarray(second_moments, dtype=np.float64).reshape(-1)
    if m.size == 0 or not np.all(np.isfinite(m)) or np.any(m <= 0):
        raise ValueError("second_moments must be finite positive numbers, one per input")
    parts = [g for g in np.array_split(np.sort(m), groups) if g.size]
    reps = np.array([g.mean() for g in parts])
    weights = np.array([g.size for g in parts], dtype=float) / m.size
    preds = [propagate(widths, weight_variance, activation, float(v), var_top, init,
                       bias_variance, theory) for v in reps]

    def average(f):
        return np.einsum("g,gk->k", weights, np.array([f(p) for p in preds]))

    fields = {name: average(lambda p, name=name: getattr(p, name)) for name in OUTPUTS}
    second = average(lambda p: p.activation_variance + p.activation_mean ** 2)
    fields["activation_variance"] = second - fields["activation_mean"] ** 2
    return replace(preds[0], var_x=float(m.mean()), **fields), preds, weights


def fixed_point(activation: str, weight_scale: float, bias_variance: float = 0.0,
                q_max: float = 1e8) -> tuple[float, float]:
    """(q*, chi): the fixed point of V16 for sigma_w^2 = n Var[W] = ``weight_scale`` and
    sigma_b^2 = ``bias_variance``, and chi = sigma_w^2 E[f'(sqrt(q*) xi)^2] there.

    q* is the largest root of h(q) = sigma_w^2 E[f(sqrt(q) xi)^2] + sigma_b^2 - q found by
    bisection on (0, q_max]; q* = 0 when h < 0 just above 0 (the map contracts to 0), and
    q* = inf when h(q_max) > 0 (variance grows without bound).
    """
    get_activation(activation)
    sw2 = check_positive("weight_scale", weight_scale)
    sb2 = float(bias_variance)
    if not np.isfinite(sb2) or sb2 < 0:
        raise ValueError(f"bias_variance must be a non-negative number, got {bias_variance!r}")
    subs = {mf.sigma_w2: sw2, mf.sigma_b2: sb2}
    mapping = sp.lambdify(mf.q, mf.fixed_point().result.xreplace(subs),
                          modules=[_quadrature(activation), "numpy"])
    chi_fn = sp.lambdify(mf.q, mf.chi().xreplace(subs), modules=[_quadrature(activation), "numpy"])

    def h(qv):
        return float(mapping(qv)) - qv

    lo, hi = 1e-12, q_max
    if h(hi) > 0:
        return float("inf"), float("inf")
    if h(lo) <= 0:
        return (0.0 if sb2 == 0 else lo), float(chi_fn(lo))
    for _ in range(200):
        mid = np.sqrt(lo * hi) if hi / lo > 4 else (lo + hi) / 2
        if h(mid) > 0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-14 * hi:
            break
    qs = (lo + hi) / 2
    return qs, float(chi_fn(qs))
