"""Gains derived for any activation from the mean field (V16): the weight scale that makes
q = 1 the fixed point, and the order/chaos boundary, beside the linear regime's gain (V8,
V10) and PyTorch's ``calculate_gain``.

With Var[W] = g^2 / fan_in, sigma_w^2 = n Var[W] = g^2 and the forward map of V13 is
q -> sigma_w^2 E[f(sqrt(q) xi)^2] + sigma_b^2; chi = sigma_w^2 E[f'(sqrt(q) xi)^2] at its
fixed point q* is the per-layer factor of the back-propagated variance (V14):

- ``fixed_point_gain``: V16 with q* = 1 solved for sigma_w^2: g^2 = (1 - sigma_b^2) /
  E[f(xi)^2];
- ``critical_point``: chi = 1 solved for sigma_w^2 = 1 / E[f'^2](q*) and put into V16, which
  leaves one equation in q*, q = E[f^2](q) / E[f'^2](q) + sigma_b^2, solved by bisection.

Every formula is solved here by SymPy from ``symbolic.meanfield``; the Gaussian expectations
are bound to quadrature (``varprop.gaussian``) as in ``theory``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

from .symbolic import meanfield as mf
from .symbolic.activations import display_form, get_activation, x
from .symbolic.conditions import gain_squared
from .theory import _quadrature, fixed_point

# torch.nn.init.calculate_gain (PyTorch 2.x), the values users copy: a hand-kept table, data
# about another library (tests compare it with torch itself when it is installed).
# leaky_relu: sqrt(2 / (1 + a^2)) for its negative slope a (default 0.01).
PYTORCH_GAINS = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0),
                 "selu": 0.75}
Q_RANGE = (1e-10, 1e8)      # where q* is looked for


def pytorch_gain(activation: str) -> float | None:
    """PyTorch's ``calculate_gain`` for this activation, where it has one."""
    act = get_activation(activation)
    if act.name in PYTORCH_GAINS:
        return PYTORCH_GAINS[act.name]
    if act.name.startswith("leaky_relu") and act.homogeneous:
        a = float(act.homogeneous_slopes[0])
        return math.sqrt(2.0 / (1.0 + a * a))
    return None


def _bias(bias_variance) -> float:
    b = float(bias_variance)
    if not math.isfinite(b) or b < 0:
        raise ValueError(f"bias variance must be a non-negative number, got {bias_variance!r}")
    return b


@cache
def _fixed_point_gain_squared() -> sp.Expr:
    """V16 with q* = 1, solved for sigma_w^2."""
    (sw2,) = sp.solve(sp.Eq(mf.q, mf.fixed_point().result).subs(mf.q, 1), mf.sigma_w2)
    return sw2


@cache
def _critical_equations() -> tuple[sp.Expr, sp.Expr]:
    """(sigma_w^2 at chi = 1, as a function of q; h(q) = V16's right side - q there)."""
    (sw2,) = sp.solve(sp.Eq(mf.chi(), 1), mf.sigma_w2)
    return sw2, mf.fixed_point().result.subs(mf.sigma_w2, sw2) - mf.q


def fixed_point_gain(activation: str, bias_variance: float = 0.0) -> float:
    """g such that Var[W] = g^2 / fan_in makes q = 1 the fixed point of the forward map."""
    b = _bias(bias_variance)
    if b >= 1:
        raise ValueError(f"bias variance {b} >= 1: q = 1 cannot be a fixed point")
    f = sp.lambdify(mf.sigma_b2, _fixed_point_gain_squared(),
                    modules=[_quadrature(get_activation(activation).name), "numpy"])
    return math.sqrt(float(f(b)))


@dataclass(frozen=True)
class Critical:
    """The order/chaos boundary at one sigma_b^2: chi = 1 at the fixed point."""

    weight_variance: float | None   # sigma_w^2 on the boundary (None: there is none)
    fixed_point: float | None       # q* there (None: any q, or none)
    note: str                       # what kind of solution this is


def critical_point(activation: str, bias_variance: float = 0.0) -> Critical:
    """sigma_w^2 and q* where chi = 1 at the fixed point, for sigma_b^2 = ``bias_variance``."""
    name = get_activation(activation).name
    b = _bias(bias_variance)
    sw2_of_q, h_expr = _critical_equations()
    mods = [_quadrature(name), "numpy"]
    sw2 = sp.lambdify(mf.q, sw2_of_q, modules=mods)
    h = sp.lambdify(mf.q, h_expr.subs(mf.sigma_b2, b), modules=mods)
    grid = np.geomspace(*Q_RANGE, 241)
    with np.errstate(all="ignore"):
        hs = np.array([float(h(v)) for v in grid])
    if np.all(np.abs(hs) <= 1e-9 * (grid + b)):
        return Critical(float(sw2(1.0)), None,
                        "chi = 1 at every q: f is positively homogeneous and sigma_b^2 = 0")
    act = get_activation(name)
    if b == 0 and float(act.value_at_zero) == 0:
        at_zero = (1 / float(act.slope_at_zero) ** 2 if act.has_slope   # the limit, exactly
                   else float(sw2(Q_RANGE[0])))
        return Critical(at_zero, 0.0,
                        "the fixed point is q* = 0 (f(0) = 0, no bias): sigma_w^2 = "
                        "1/E[f'(sqrt(q) xi)^2] as q -> 0, 1/f'(0)^2 where f'(0) exists")
    change = np.nonzero(np.sign(hs[:-1]) * np.sign(hs[1:]) < 0)[0]
    if len(change):
        lo, hi = grid[change[0]], grid[change[0] + 1]
        sign_lo = np.sign(hs[change[0]])
        for _ in range(200):
            mid = math.sqrt(lo * hi)
            if np.sign(float(h(mid))) == sign_lo:
                lo = mid
            else:
                hi = mid
            if hi - lo <= 1e-15 * hi:
                break
        qs = math.sqrt(lo * hi)
        return Critical(float(sw2(qs)), qs, "chi = 1 at the fixed point q*")
    return Critical(None, None, f"no sigma_w^2 gives chi = 1 at a finite fixed point for "
                                f"q in [{Q_RANGE[0]:g}, {Q_RANGE[1]:g}]")


def _linear_gain_expr(act) -> sp.Expr:
    """sqrt of ``conditions.gain_squared``: the factor on the weights' std of (10)."""
    return sp.sqrt(gain_squared(act))


def linear_gain(activation: str) -> float | None:
    """The linear regime's gain: 1/f'(0) (V8), or sqrt(2/(a_-^2 + a_+^2)) for a positively
    homogeneous f (V10); None where f'(0) is undefined and f is not homogeneous."""
    act = get_activation(activation)
    if not (act.homogeneous or act.has_slope):
        return None
    return float(_linear_gain_expr(act))


def explain(activation: str, bias_variance: float = 0.0) -> str:
    """Why PyTorch's gain differs from the derived ones, from the fixed point at its gain."""
    g = pytorch_gain(activation)
    if g is None:
        return "PyTorch's calculate_gain has no entry for this activation."
    name, b = get_activation(activation).name, _bias(bias_variance)
    forward = sp.lambdify(mf.q, mf.fixed_point().result.subs({mf.sigma_w2: g * g,
                                                               mf.sigma_b2: b}),
                          modules=[_quadrature(name), "numpy"])
    if all(abs(float(forward(v)) - v) <= 1e-9 * v for v in (0.1, 1.0, 10.0)):
        return (f"At PyTorch's gain {g:.4g} every q is a fixed point and chi = 1: it is the "
                "critical gain of this positively homogeneous f without bias.")
    qs, chi = fixed_point(name, g * g, b)
    where = ("variance grows without bound" if math.isinf(qs) else
             f"the fixed point is q* = {qs:.4g}, not 1, and chi = {chi:.4g} there "
             f"({'ordered: gradients shrink' if chi < 1 - 1e-9 else 'chaotic: gradients grow' if chi > 1 + 1e-9 else 'critical'})")
    return f"At PyTorch's gain {g:.4g}, {where}."


def gains(activation: str, bias_variance: float = 0.0) -> dict:
    """Every derived number for one activation, as ``varprop gain --json`` prints them."""
    act = get_activation(activation)
    b = _bias(bias_variance)
    slope = float(act.slope_at_zero) if act.has_slope else None
    crit = critical_point(act.name, b)
    try:
        fp_gain = fixed_point_gain(act.name, b)
    except ValueError:
        fp_gain = None
    return {"activation": act.name, "expression": str(display_form(act.expr)), "bias_variance": b,
            "value_at_zero": float(act.value_at_zero), "slope": slope,
            "linear_gain": linear_gain(act.name), "fixed_point_gain": fp_gain,
            "critical_weight_variance": crit.weight_variance,
            "critical_fixed_point": crit.fixed_point, "critical_note": crit.note,
            "pytorch_gain": pytorch_gain(act.name), "pytorch_note": explain(act.name, b),
            "kinks": list(act.kinks)}


__all__ = ["Critical", "critical_point", "explain", "fixed_point_gain", "gains", "linear_gain",
           "pytorch_gain"]


def derivations(activation: str) -> list:
    """The derivations of this module's results for one activation, as ``Derivation``s whose
    steps are SymPy's operations on the registry's expression and on V16 (``document``)."""
    from .symbolic.derivation import Derivation
    from .symbolic.notation import latex

    act = get_activation(activation)
    f = sp.Function("f")
    out = []
    slope = Derivation(key="slope", tag="A1", title="The slope at 0", lhs=sp.Derivative(f(x), x),
                       intro=rf"$f(x) = {latex(display_form(act.expr))}$.")
    slope.step(act.derivative, "differentiate the expression")
    if act.has_slope:
        slope.step(act.slope_at_zero, "at $x = 0$")
        slope.note = (r"The linear regime's gain is $1/f'(0) = "
                      rf"{latex(display_form(_linear_gain_expr(act)))}$ (V8).")
    else:
        left, right = act.one_sided_slopes
        slope.note = (rf"At $x = 0$ the slope is ${latex(display_form(left))}$ from below and "
                      rf"${latex(display_form(right))}$ from above: $f'(0)$ is undefined"
                      + (r"; $f$ is positively homogeneous, so (V10) gives the gain "
                         rf"${latex(display_form(_linear_gain_expr(act)))}$." if act.homogeneous
                         else r" and the linear regime does not apply; only the mean field does."))
    out.append(slope)
    fp = Derivation(key="fixed_point_gain", tag="A2", title="The fixed-point gain",
                    lhs=mf.sigma_w2, intro=r"(V16) with $q^* = 1$, solved for $\sigma_w^2 = g^2$:")
    fp.step(_fixed_point_gain_squared(), "solve")
    out.append(fp)
    sw2, h = _critical_equations()
    crit = Derivation(key="critical_point", tag="A3", title="The order/chaos boundary",
                      lhs=mf.sigma_w2, intro=r"$\chi = 1$ solved for $\sigma_w^2$:")
    crit.step(sw2, r"solve $\chi = 1$")
    crit.note = (r"Put into (V16), $q^*$ solves ${}" + latex(sp.Eq(h, 0)) + r"$, found by "
                 r"bisection on the Gaussian expectations (quadrature).")
    out.append(crit)
    return out


def document(activation: str) -> str:
    """A LaTeX document (pdflatex compiles it) of the derivations and numbers for one
    activation: ``varprop derive --activation A``."""
    from .symbolic.notation import latex

    act = get_activation(activation)
    rows = []
    for b in (0.0, 0.05):
        g = gains(act.name, b)

        def num(v):
            return "undefined" if v is None else f"{v:.6g}"
        rows.append(f"{b:g} & {num(g['fixed_point_gain'])} & {num(g['critical_weight_variance'])}"
                    f" & {num(g['critical_fixed_point'])} \\\\")
    body = "\n".join(d.to_latex() for d in derivations(act.name))
    label = act.label.replace("_", r"\_").replace("%", r"\%").replace("&", r"\&").replace("#", r"\#")
    return "\n".join([
        r"\documentclass[10pt]{article}", r"\usepackage[margin=1.8cm]{geometry}",
        r"\usepackage{amsmath,amssymb}", r"\setlength{\parindent}{0pt}",
        rf"\title{{varprop: the gains of {label}}}",
        r"\author{Generated by \texttt{varprop derive --activation} from the SymPy source.}",
        r"\date{}", r"\begin{document}", r"\maketitle",
        rf"$f(x) = {latex(display_form(act.expr))}$; $f(0) = {latex(act.value_at_zero)}$; kinks: "
        + (", ".join(f"${k:g}$" for k in act.kinks) or "none") + ".",
        body,
        r"\paragraph{Numbers} (quadrature of the Gaussian expectations; $\sigma_b^2$ the bias variance)",
        r"\begin{center}\begin{tabular}{llll}\hline",
        r"$\sigma_b^2$ & fixed-point gain & critical $\sigma_w^2$ & its $q^*$ \\ \hline",
        *rows, r"\hline\end{tabular}\end{center}", r"\end{document}", ""])
