"""Depth scales and the order/chaos phase diagram, in theory and by Monte-Carlo.

Poole et al. 2016 ("Exponential expressivity in deep neural networks through transient
chaos") and Schoenholz et al. 2017 ("Deep information propagation"): two inputs of equal length
q* whose pre-activations have correlation c leave a layer with correlation c-map(c) (V17); the
slope of the c-map at c = 1 is chi_c (V18), equal to chi of (V16); chi_c < 1 is the ordered
phase (inputs' correlations go to c* = 1), chi_c > 1 the chaotic one (they go to a c* < 1), and
chi_c = 1 the boundary between them, where the depth scale xi_c (V24) diverges; xi_q (V23) is
the depth over which lengths settle to q*.

Every number comes from a function that SymPy generates (``lambdify``) from
``symbolic.correlation`` and ``symbolic.meanfield``; nothing here restates a formula. The
expectations are bound to quadrature:

- one-input ones (``GaussSecond``, ``GaussSlope``; ``GaussE`` with an explicit integrand in xi)
  to the 1-D rule of ``varprop.gaussian``;
- two-input ones (``GaussJoint``, ``GaussJointSlope``) to a tensor-product rule built on the same
  panels: u_a = sqrt(q) xi1, u_b = sqrt(q) (c xi1 + sqrt(1 - c^2) xi2). The outer rule in xi1
  has the 1-D edges (graded towards 0) plus, for a kink k != 0 of f, edges at k / sqrt(q) and,
  graded, at k / (c sqrt(q)) (where the inner expectation turns); for each outer node the inner
  rule in xi2 is the panel set graded towards each point where f(u_b) has a kink (0 included),
  xi2 = (k / sqrt(q) - c xi1) / sqrt(1 - c^2). Gauss-Legendre of order 20 per panel; it agrees
  with ReLU's arc-cosine and erf's arcsine closed forms to 3e-15 for q in [1e-4, 1e3] and c in
  [-1, 1], and with order 48 to 4e-12 for hard tanh, SELU, softsign, tanh and sigmoid.

Where q* = 0 (f(0) = 0, no bias, the ordered side) the maps are taken in the limit q -> 0+,
evaluated at q = ``Q_ZERO``; where q* = inf (lengths grow without bound) there is no
correlation map at a fixed length and the functions that need one say so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache, partial

import numpy as np
import sympy as sp

from . import gaussian
from .check import ALPHA, t_critical
from .criticality import critical_point
from .kernels import numpy_functions
from .symbolic import correlation as cr
from .symbolic import meanfield as mf
from .symbolic.activations import get_activation
from .theory import _quadrature, fixed_point
from .validation import check_positive

Q_ZERO = 1e-100           # q standing for the limit q -> 0+ where q* = 0
FINITE_WIDTH = 1.0        # the O(depth / width) term of the Monte-Carlo tolerance (calibrated)

# ---------------------------------------------------------------- two-input quadrature
_ORDER = 20
_T, _W = np.polynomial.legendre.leggauss(_ORDER)
_HALF = gaussian._EDGES                                   # 0 .. 14, graded towards 0
_ABOUT = np.concatenate([-np.r_[_HALF, 20.0, 28.0][:0:-1], np.r_[_HALF, 20.0, 28.0]])  # +-28
_GRADE = np.array([1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.03, 0.1, 0.3])
_LIMIT = float(_HALF[-1])                                  # beyond |xi| = 14 the measure < 1e-44


def _panels(edges):
    """Gauss-Legendre nodes of order ``_ORDER`` on the panels between sorted ``edges``
    (..., m) and their weights for the standard normal measure: both (..., (m - 1) _ORDER)."""
    a, b = edges[..., :-1, None], edges[..., 1:, None]
    nodes = (b - a) / 2 * _T + (a + b) / 2
    weights = (b - a) / 2 * _W * np.exp(-nodes**2 / 2) / math.sqrt(2 * math.pi)
    shape = edges.shape[:-1] + (-1,)
    return nodes.reshape(shape), weights.reshape(shape)


def _outer_rule(breaks):
    """The rule in xi1: the 1-D edges and, graded towards each, the points ``breaks``."""
    inside = [b for b in breaks if 0 < abs(b) < _LIMIT]
    edges = np.concatenate([-_HALF, _HALF, inside, *[b + s * _GRADE for b in inside for s in (-1, 1)]])
    return _panels(np.unique(np.clip(edges, -_LIMIT, _LIMIT)))


def _pair_expectation(g_a, g_b, kinks, qv: float, cv: float) -> float:
    """E[g_a(u_a) g_b(u_b)], (u_a, u_b) ~ N(0, q [[1, c], [c, 1]]), for q > 0, c in [-1, 1];
    ``kinks``: the points where g_a, g_b are not smooth (0 is always treated as one)."""
    rq, s = math.sqrt(qv), math.sqrt(max(0.0, 1.0 - cv * cv))
    moving = [k for k in kinks if k != 0]
    breaks = [k / rq for k in moving] + ([k / (cv * rq) for k in moving] if cv != 0 else [])
    x1, w1 = _outer_rule(breaks)                                   # (N1,), (N1,)
    with np.errstate(over="ignore", invalid="ignore"):
        a = g_a(rq * x1)
        if s == 0.0:                                               # u_b = c u_a, c = +-1
            return float(np.dot(w1 * a, g_b(cv * rq * x1)))
        centres = [np.clip((k / rq - cv * x1) / s, -_LIMIT, _LIMIT) for k in (0.0, *moving)]
        edges = np.sort(np.concatenate([t[:, None] + _ABOUT for t in centres], axis=1), axis=1)
        x2, w2 = _panels(edges)                                    # (N1, N2), (N1, N2)
        inner = np.einsum("jm,jm->j", g_b(rq * (cv * x1[:, None] + s * x2)), w2)   # (N1,)
        return float(np.dot(w1 * a, inner))


def _pairs(g_a, g_b, kinks, qv, cv):
    """``_pair_expectation`` over broadcast arrays q, c (what lambdify passes)."""
    qv, cv = np.broadcast_arrays(np.asarray(qv, dtype=float), np.asarray(cv, dtype=float))
    out = np.array([_pair_expectation(g_a, g_b, kinks, float(a), float(b))
                    for a, b in zip(qv.ravel(), cv.ravel())]).reshape(qv.shape)
    return out if out.ndim else out[()]


def _expect_xi(g, kinks, qv):
    """E_xi[g(xi, q)], xi ~ N(0, 1), by the 1-D rule with f's kinks at xi = k / sqrt(q)."""
    qv = np.asarray(qv, dtype=float)
    out = np.empty(qv.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        for idx, qk in np.ndenumerate(qv):
            nodes, weights = gaussian._rule(tuple(float(k / math.sqrt(qk)) for k in kinks if k != 0))
            out[idx] = np.sum(g(nodes, qk) * weights)
    return out if out.ndim else out[()]


@cache
def _modules(name: str) -> dict:
    """Every unevaluated expectation's name -> its quadrature, for activation ``name``."""
    f, fp = numpy_functions(name)
    kinks = get_activation(name).kinks
    mods = dict(_quadrature(name))
    mods[cr.GaussJoint.__name__] = partial(_pairs, f, f, kinks)
    mods[cr.GaussJointSlope.__name__] = partial(_pairs, fp, fp, kinks)
    return mods


def _lambdify(name: str, args, expr):
    """``sp.lambdify(args, expr)`` with the expectations bound to quadrature; each
    ``GaussE(integrand)`` becomes the 1-D quadrature of its integrand, itself lambdified with
    f and f' the activation's NumPy functions."""
    f, fp = numpy_functions(name)
    kinks = get_activation(name).kinks
    mods, reps = dict(_modules(name)), {}
    for k, atom in enumerate(sorted(expr.atoms(cr.GaussE), key=sp.default_sort_key)):
        integrand = atom.args[0]
        if not integrand.free_symbols <= {cr.xi, mf.q} or integrand.atoms(cr.FSecond):
            raise ValueError(f"cannot evaluate E[{integrand}]: need an integrand in xi and q "
                             "with f and f' only")
        g = sp.lambdify((cr.xi, mf.q), integrand,
                        modules=[{cr.f.__name__: f, cr.FPrime.__name__: fp}, "numpy"])
        mods[f"GaussE{k}"] = partial(_expect_xi, g, kinks)
        reps[atom] = sp.Function(f"GaussE{k}")(mf.q)
    return sp.lambdify(args, expr.xreplace(reps), modules=[mods, "numpy"])


# ---------------------------------------------------------------- the compiled maps
_VAR = (mf.sigma_w2, mf.sigma_b2)


@cache
def _compiled(name: str) -> dict:
    """The numeric forms of V16-V18, V23, V24 for one activation, each a function of
    (sigma_w^2, sigma_b^2, q[, c])."""
    length = cr.length_depth_scale().steps
    scale_c = cr.correlation_depth_scale().steps
    return {
        "q_map": _lambdify(name, (*_VAR, mf.q), mf.fixed_point().result),             # V16
        "c_map": _lambdify(name, (*_VAR, mf.q, cr.c), cr.correlation_map().result),    # V17
        "c_slope": _lambdify(name, (*_VAR, mf.q, cr.c), cr.correlation_map_slope()),
        "chi_c": _lambdify(name, (*_VAR, mf.q), cr.correlation_slope().result),        # V18
        # V23's line with f and f' only (f'' can hold Dirac deltas at kinks)
        "xi_q": _lambdify(name, (*_VAR, mf.q), next(
            s.expr for s in reversed(length) if not s.expr.atoms(cr.FSecond, sp.Derivative))),
        # V24's line at a general c* (the chaotic phase's), and its result (c* = 1, ordered)
        "xi_c": _lambdify(name, (*_VAR, mf.q, cr.c_star), next(
            s.expr for s in scale_c if cr.c_star in s.expr.free_symbols)),
        "xi_c_ordered": _lambdify(name, (*_VAR, mf.q), cr.correlation_depth_scale().result),
    }


def _check(activation, weight_variance, bias_variance) -> tuple[str, float, float]:
    name = get_activation(activation).name
    sw2 = check_positive("weight_variance", weight_variance)
    try:
        sb2 = float(bias_variance)
    except (TypeError, ValueError):
        sb2 = math.nan
    if not math.isfinite(sb2) or sb2 < 0:
        raise ValueError(f"bias_variance must be a non-negative number, got {bias_variance!r}")
    return name, sw2, sb2


def _check_c(c) -> np.ndarray:
    try:
        arr = np.asarray(c, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"c must be a number in [-1, 1], got {c!r}") from None
    bad = ~(np.abs(arr) <= 1)                 # NaN too
    if np.any(bad):
        raise ValueError(f"c must be in [-1, 1], got {float(arr[bad].ravel()[0])!r}")
    return arr


def _fixed_length(name: str, sw2: float, sb2: float) -> float:
    """q* of V16 (``theory.fixed_point``: 0 where the map contracts to 0, inf where it grows
    without bound); 1 where every q is a fixed point (f positively homogeneous, sigma_b^2 = 0,
    sigma_w^2 on the boundary: ReLU at 2), whose maps do not depend on q."""
    q_map = _compiled(name)["q_map"]
    if all(abs(float(q_map(sw2, sb2, v)) - v) <= 1e-9 * v for v in (1e-2, 1.0, 1e2)):
        return 1.0
    return float(fixed_point(name, sw2, sb2)[0])


def _length(name, sw2, sb2, q, zero_ok=True) -> float:
    """The inputs' length: ``q`` if given, else q* of V16 (``Q_ZERO`` for q* = 0)."""
    if q is not None:
        return check_positive("q", q)
    qs = _fixed_length(name, sw2, sb2)
    if math.isinf(qs):
        raise ValueError(f"no finite fixed point q* for {name} at sigma_w^2 = {sw2:g}, "
                         f"sigma_b^2 = {sb2:g} (lengths grow without bound); give q")
    if qs == 0 and not zero_ok:
        raise ValueError(f"the fixed point is q* = 0 for {name} at sigma_w^2 = {sw2:g}, "
                         f"sigma_b^2 = {sb2:g}; give q, the inputs' squared length per unit")
    return qs if qs > 0 else Q_ZERO


def _scale(xi: float) -> float:
    """A depth scale -1/log(slope): inf where the slope is >= 1 (the boundary, to rounding)."""
    xi = float(xi)
    return math.inf if xi < 0 else xi


# ---------------------------------------------------------------- theory
def correlation_map(activation: str, weight_variance: float, bias_variance: float, c,
                    q: float | None = None):
    """c^{i+1} of V17 for c^i = ``c`` (scalar, or an array of any shape: the same shape back):
    the correlation after one layer of two inputs of squared length q per unit (default the
    fixed point q* of V16, or the limit q -> 0+ where q* = 0)."""
    name, sw2, sb2 = _check(activation, weight_variance, bias_variance)
    cv = _check_c(c)
    qv = _length(name, sw2, sb2, q)
    out = np.asarray(_compiled(name)["c_map"](sw2, sb2, qv, cv), dtype=float)
    return float(out) if out.ndim == 0 else out


def correlation_map_slope(activation: str, weight_variance: float, bias_variance: float, c,
                          q: float | None = None):
    """d c^{i+1} / d c of V17 at ``c`` (Price's theorem; at c = 1 and q = q*, chi_c of V18)."""
    name, sw2, sb2 = _check(activation, weight_variance, bias_variance)
    cv = _check_c(c)
    qv = _length(name, sw2, sb2, q)
    out = np.asarray(_compiled(name)["c_slope"](sw2, sb2, qv, cv), dtype=float)
    return float(out) if out.ndim == 0 else out


def chi_c(activation: str, weight_variance: float, bias_variance: float) -> float:
    """chi_c of V18 at the fixed point q* (inf where q* = inf, as ``theory.fixed_point``)."""
    name, sw2, sb2 = _check(activation, weight_variance, bias_variance)
    qs = _fixed_length(name, sw2, sb2)
    if math.isinf(qs):
        return math.inf
    return float(_compiled(name)["chi_c"](sw2, sb2, qs if qs > 0 else Q_ZERO))


def fixed_point_correlation(activation: str, weight_variance: float, bias_variance: float,
                            q: float | None = None, tol: float = 1e-14) -> float:
    """c*: the stable fixed point of the c-map (V17) in [0, 1] at length q (default q*).

    On [0, 1] the c-map is increasing and convex (Mehler: E[f(u_a) f(u_b)] = sum_n a_n^2 c^n),
    and 1 is a fixed point: if its slope there is <= 1 (ordered), c* = 1; else h(c) = c-map(c)
    - c is >= 0 at 0 and < 0 just below 1 and has one root c* there, found by bracketed false
    position (Illinois) to ``tol`` in c or |h| at rounding. With sigma_b^2 = 0 and an odd f the
    map is odd and -c* attracts c < 0.
    """
    name, sw2, sb2 = _check(activation, weight_variance, bias_variance)
    qv = _length(name, sw2, sb2, q)
    fns = _compiled(name)
    # the slope at c = 1: chi_c (V18) at q*, the c-map's own at a given q
    if float(fns["chi_c"](sw2, sb2, qv) if q is None else fns["c_slope"](sw2, sb2, qv, 1.0)) <= 1:
        return 1.0

    def h(cv):
        return float(fns["c_map"](sw2, sb2, qv, cv)) - cv

    a, fa = 0.0, h(0.0)
    if fa <= 0:
        return 0.0
    for delta in 10.0 ** -np.arange(2, 13):
        b, fb = 1.0 - delta, h(1.0 - delta)
        if fb < 0:
            break
    else:
        return 1.0           # no root separable from 1: the boundary, to rounding
    side = 0
    for _ in range(200):     # Illinois: false position that halves a stale end's value
        m = (a * fb - b * fa) / (fb - fa)
        if not a < m < b:
            m = (a + b) / 2
        fm = h(m)
        if abs(fm) <= 4e-16:  # at the quadrature's rounding
            return m
        if fm < 0:
            b, fb = m, fm
            if side == -1:
                fa /= 2
            side = -1
        else:
            a, fa = m, fm
            if side == 1:
                fb /= 2
            side = 1
        if b - a <= tol:
            break
    return (a + b) / 2


def depth_scales(activation: str, weight_variance: float,
                 bias_variance: float = 0.0) -> tuple[float, float]:
    """(xi_q, xi_c): the depth scales of V23 and V24 at the fixed point q* (Schoenholz et al.
    2017). xi_c = -1/log(slope of the c-map at c*): -1/log(chi_c) in the ordered
    phase (chi_c <= 1, c* = 1; V24's result), the slope at c* < 1 (``fixed_point_correlation``)
    in the chaotic one; inf where the slope is 1 (the order/chaos boundary, chi_c = 1). Where
    q* = 0, q -> 0+ (``Q_ZERO``); where q* = inf (no fixed point) both are nan.

    At q* = 0 (f(0) = 0, sigma_b^2 = 0) the ratio of V17 tends to c itself for smooth f (a
    linear network keeps cosines) while chi_c = sigma_w^2 f'(0)^2 < 1: xi_c here is the
    paper's -1/log(chi_c), the rate for inputs of length q* > 0 as sigma_b^2 -> 0."""
    name, sw2, sb2 = _check(activation, weight_variance, bias_variance)
    qs = _fixed_length(name, sw2, sb2)
    if math.isinf(qs):
        return math.nan, math.nan
    qv = qs if qs > 0 else Q_ZERO
    fns = _compiled(name)
    with np.errstate(divide="ignore"):
        xi_q = _scale(fns["xi_q"](sw2, sb2, qv))
        if float(fns["chi_c"](sw2, sb2, qv)) <= 1:       # ordered: c* = 1
            return xi_q, _scale(fns["xi_c_ordered"](sw2, sb2, qv))
        cs = fixed_point_correlation(name, sw2, sb2, q=qv)
        return xi_q, _scale(fns["xi_c"](sw2, sb2, qv, cs))


def boundary(activation: str, bias_variances) -> np.ndarray:
    """sigma_w^2 on the order/chaos boundary (chi_c = 1 at q*, ``criticality.critical_point``)
    for each sigma_b^2 in ``bias_variances`` (same shape; nan where there is none)."""
    name = get_activation(activation).name
    b = np.asarray(bias_variances, dtype=float)
    out = np.empty(b.shape)
    for idx, bv in np.ndenumerate(b):
        _, _, bv = _check(name, 1.0, bv)
        w = critical_point(name, bv).weight_variance
        out[idx] = math.nan if w is None else w
    return out


@dataclass(frozen=True)
class PhaseGrid:
    """chi_c (V18) at q* on a grid: arrays (len(weight_variances), len(bias_variances))."""

    activation: str
    weight_variances: np.ndarray     # (n_w,)
    bias_variances: np.ndarray       # (n_b,)
    chi_c: np.ndarray                # (n_w, n_b); inf where q* = inf
    fixed_point: np.ndarray          # (n_w, n_b): q* (1 where every q is one)
    side: np.ndarray                 # (n_w, n_b): "ordered" (chi_c < 1), "critical", "chaotic"


def phase_grid(activation: str, weight_variances, bias_variances,
               critical_tol: float = 1e-12) -> PhaseGrid:
    """chi_c at the fixed point for every (sigma_w^2, sigma_b^2) of the grid, and the side of
    the order/chaos boundary: "ordered" where chi_c < 1 - critical_tol, "chaotic" where
    chi_c > 1 + critical_tol, "critical" between."""
    name = get_activation(activation).name
    w = np.atleast_1d(np.asarray(weight_variances, dtype=float))
    b = np.atleast_1d(np.asarray(bias_variances, dtype=float))
    if w.ndim != 1 or b.ndim != 1:
        raise ValueError("weight_variances and bias_variances must be 1-D sequences of numbers")
    chi = np.empty((w.size, b.size))
    qs = np.empty_like(chi)
    for (k, j), _ in np.ndenumerate(chi):
        _, sw2, sb2 = _check(name, w[k], b[j])
        q = _fixed_length(name, sw2, sb2)
        qs[k, j] = q
        chi[k, j] = math.inf if math.isinf(q) else float(
            _compiled(name)["chi_c"](sw2, sb2, q if q > 0 else Q_ZERO))
    side = np.where(chi < 1 - critical_tol, "ordered",
                    np.where(chi > 1 + critical_tol, "chaotic", "critical"))
    return PhaseGrid(name, w, b, chi, qs, side)


def iterate_correlation(activation: str, weight_variance: float, bias_variance: float, c0,
                        depth: int, q: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The infinite-width recursion of two inputs: q^{l+1} by V16 and c^{l+1} by V17 at
    q^l, from (q^0, c^0) = (q or q*, c0); returns (q^1..q^depth (depth,), c^1..c^depth
    (depth,) + shape of c0). At q^0 = q* this is the c-map iterated."""
    name, sw2, sb2 = _check(activation, weight_variance, bias_variance)
    cv = _check_c(c0)
    depth = _count("depth", depth)
    qv = _length(name, sw2, sb2, q)
    fns = _compiled(name)
    qs, cs = [], []
    for _ in range(depth):
        cv = np.asarray(fns["c_map"](sw2, sb2, qv, cv), dtype=float)
        qv = float(fns["q_map"](sw2, sb2, qv))
        qs.append(qv)
        cs.append(cv)
    return np.array(qs), np.array(cs)


# ---------------------------------------------------------------- Monte-Carlo
def _count(label: str, v, least: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < least:
        raise ValueError(f"{label} must be an integer >= {least}, got {v!r}")
    return int(v)


@dataclass(frozen=True)
class CorrelationMeasurement:
    """Measured correlations of a pair of inputs through random networks, beside the theory.

    ``correlation``, ``se``, ``theory``: (depth, k) for k input correlations ``c_in``, row l
    the correlation of the pre-activations after l + 1 layers; ``per_network``:
    (networks, depth, k).
    """

    activation: str
    weight_variance: float
    bias_variance: float
    c_in: np.ndarray          # (k,)
    q: float                  # the inputs' squared length per unit
    width: int
    depth: int
    networks: int
    seed: int
    correlation: np.ndarray   # (depth, k): mean over networks
    se: np.ndarray            # (depth, k): standard error across networks
    theory: np.ndarray        # (depth, k): V16/V17 iterated from (q, c_in)
    per_network: np.ndarray   # (networks, depth, k)

    def tolerance(self, alpha: float = ALPHA, finite_width: float = FINITE_WIDTH) -> np.ndarray:
        """|mc - theory| allowed, (depth, k): t SE + finite_width (l + 1) / width, with t the
        two-sided Student-t value for R - 1 degrees of freedom and a false alarm of ``alpha``
        over all depth * k comparisons (Bonferroni), as ``varprop.check``."""
        t = t_critical(self.networks - 1, alpha / self.correlation.size)
        layers = np.arange(1, self.depth + 1)[:, None]
        return t * self.se + finite_width * layers / self.width

    def agrees(self, alpha: float = ALPHA, finite_width: float = FINITE_WIDTH) -> np.ndarray:
        """(depth, k) booleans: |mc - theory| <= ``tolerance``."""
        return np.abs(self.correlation - self.theory) <= self.tolerance(alpha, finite_width)


def measure_correlation_map(activation: str, weight_variance: float, bias_variance: float,
                            c_in, width: int, depth: int, networks: int, seed: int,
                            q: float | None = None) -> CorrelationMeasurement:
    """Monte-Carlo of the c-map: ``networks`` random networks of ``depth`` layers of ``width``
    units (W^l ~ N(0, sigma_w^2 / width), b^l ~ N(0, sigma_b^2), shared by the two inputs),
    each fed a pair of pre-activation vectors h_a, h_b with |h|^2 / width = q (default q*) and
    cosine exactly ``c_in`` (scalar or 1-D: one pair per value, through the same networks);
    h^{l+1} = f(h^l) W^l + b^l, and the correlation after each layer is the cosine
    h_a . h_b / (|h_a| |h_b|). The networks are the replicates (SE across them). Randomness:
    numpy.random.Generator streams spawned from ``seed`` (one per network), so one seed gives
    the same bits. The theory is V16/V17 iterated from (q, c_in) (``iterate_correlation``)."""
    name, sw2, sb2 = _check(activation, weight_variance, bias_variance)
    c = _check_c(c_in)
    if c.ndim > 1:
        raise ValueError("c_in must be a number or a 1-D sequence of numbers in [-1, 1]")
    c = np.atleast_1d(c)
    width, depth = _count("width", width, 2), _count("depth", depth)
    networks = _count("networks", networks, 2)
    seed = _count("seed", seed, 0)
    qv = _length(name, sw2, sb2, q, zero_ok=False)
    f, _ = numpy_functions(name)
    k = c.size
    out = np.empty((networks, depth, k))
    scale_w, scale_b = math.sqrt(sw2 / width), math.sqrt(sb2)
    for r, stream in enumerate(np.random.SeedSequence(seed).spawn(networks)):
        rng = np.random.default_rng(stream)
        z = rng.standard_normal((2, width))
        e1 = z[0] / np.linalg.norm(z[0])
        e2 = z[1] - (z[1] @ e1) * e1
        e2 /= np.linalg.norm(e2)
        length = math.sqrt(width * qv)
        h = np.empty((2 * k, width))                      # rows a0, b0, a1, b1, ...
        h[0::2] = length * e1
        h[1::2] = length * (c[:, None] * e1 + np.sqrt(1 - c[:, None] ** 2) * e2)
        for layer in range(depth):
            weights = rng.standard_normal((width, width)) * scale_w
            bias = rng.standard_normal(width) * scale_b
            with np.errstate(over="ignore", invalid="ignore"):
                h = f(h) @ weights + bias                 # (2k, width)
            ha, hb = h[0::2], h[1::2]
            out[r, layer] = np.einsum("kn,kn->k", ha, hb) / (
                np.linalg.norm(ha, axis=1) * np.linalg.norm(hb, axis=1))
    _, theory = iterate_correlation(name, sw2, sb2, c, depth, q=qv)
    return CorrelationMeasurement(name, sw2, sb2, c, qv, width, depth, networks, seed,
                                  out.mean(axis=0), out.std(axis=0, ddof=1) / math.sqrt(networks),
                                  theory.reshape(depth, k), out)


__all__ = ["CorrelationMeasurement", "PhaseGrid", "boundary", "chi_c", "correlation_map",
           "correlation_map_slope", "depth_scales", "fixed_point_correlation", "iterate_correlation",
           "measure_correlation_map", "phase_grid"]
