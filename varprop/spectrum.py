"""Predicted and measured spectra of J J^T for the input-output Jacobian of a deep network.

J = dz^L/dz^0 = D^L W^{L T} ... D^1 W^{1 T} for a network of equal widths n (varprop's layout:
s^l = z^l W^l + b^l with W^l of shape (n, n), D^l = diag f'(s^l)). The prediction is the
free-probability theory of ``symbolic.spectrum`` (V19-V22), evaluated with each layer's
mean-field pre-activation variance q^l (``theory.propagate``) and Gaussian quadrature for the
moments of f'(sqrt(q^l) xi)^2; the weights enter as Marchenko-Pastur (any i.i.d. law: uniform,
normal, truncated normal) or as a point mass (orthogonal):

- ``predict_spectrum``: mean, variance and third moment of the eigenvalues (the S-series of the
  layers multiplied, V20, and turned into moments by V19, generated code), and the largest
  eigenvalue, the edge of the support: the minimum over the real branch m > 0 of
  x(m) = (1 + m) / (m S(m)), where the real solution of M(1/x) = m ceases to exist;
- ``density``: rho(x) = -Im G(x (1 + i eta)) / pi with G(z) = (1 + m)/z, m solving
  z^{-1} = m S(m) / (1 + m) with S(m) = prod_l S_W(m) S_D^l(m) and S_D^l(m) = (1+m)/m u_l,
  M_D^l(u_l) = m — Newton on (m, u_1..u_L) continued down from the upper half plane, each
  layer's law of f'^2 binned (``BinnedLaw``) so that M_D is smooth in u;
- ``measure_spectrum``: R sampled networks, one input each, J formed by BLAS products and its
  squared singular values; mean, variance and maximum per network, SE across networks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cache

import numpy as np
import sympy as sp

from . import gaussian
from .check import ALPHA, FINITE_WIDTH, t_critical, tolerance
from .initialization import resolve_scheme, sample_weights
from .kernels import numpy_functions
from .symbolic import spectrum as sym
from .symbolic.activations import get_activation
from .symbolic.schemes import Scheme
from .theory import propagate, weight_variances
from .threads import thread_limits
from .validation import check_positive, check_widths


def weight_kind(scheme: Scheme) -> str:
    """"orthogonal" for the orthogonal law, "gaussian" for the i.i.d. laws (universality)."""
    return "orthogonal" if scheme.law == "orthogonal" else "gaussian"


@cache
def _to_moments():
    """(s0, s1, s2) -> (m1, m2, m3): V19 inverted, as code."""
    return sp.lambdify(sym.s, sym.moments_from_s(), modules="numpy")


@cache
def _to_s():
    """(m1, m2, m3) -> (s0, s1, s2): V19, as code."""
    return sp.lambdify(sym.m, sym.s_coefficients(), modules="numpy")


@cache
def _weight_s(kind: str):
    """sigma_w^2 -> (s0, s1, s2) of W W^T (V21), as code."""
    return sp.lambdify(sym.sigma_w2, sym.weight_s_coefficients(kind), modules="numpy")


@cache
def _weight_s_function(kind: str):
    """(sigma_w^2, z) -> S_{WW^T}(z) (V21), as code (complex z)."""
    expr = {"gaussian": sym.gaussian_s, "orthogonal": sym.orthogonal_s}[kind]()
    return sp.lambdify((sym.sigma_w2, sym.z), expr, modules="numpy")


def slope_law(activation: str, q: float):
    """Quadrature nodes d_j = f'(sqrt(q) xi_j)^2 and their weights: the law of D^2's entries."""
    act = get_activation(activation)
    fp = numpy_functions(act.name)[1]
    nodes, weights = gaussian._rule(tuple(float(c / math.sqrt(q)) for c in act.kinks if c != 0)
                                    if q > 0 else ())
    with np.errstate(over="ignore"):
        d = np.asarray(fp(math.sqrt(q) * nodes), dtype=float) ** 2
    return d, weights


BINS = 1000            # bins of a D^2 law's continuous part, for the density
XI_GRID = 400_001      # points of xi in [-12, 12] that sample it


@dataclass(frozen=True)
class BinnedLaw:
    """A layer's D^2 law for the density: atoms (values, masses) and a piecewise-constant
    density on bins (edges, masses), so that M_D(u) is an exact, smooth function of complex u
    (quadrature nodes would show through as spikes at small eta)."""

    atoms: np.ndarray
    atom_mass: np.ndarray
    edges: np.ndarray
    bin_mass: np.ndarray

    def m_d(self, u):
        """M_D(u) = E[u d / (1 - u d)] and M_D'(u) = E[d / (1 - u d)^2]."""
        den = 1 - u * self.atoms
        val = np.sum(self.atom_mass * u * self.atoms / den)
        slope = np.sum(self.atom_mass * self.atoms / den ** 2)
        if self.bin_mass.size:
            lo, hi = self.edges[:-1], self.edges[1:]
            dens = self.bin_mass / (hi - lo)
            log = np.log(1 - u * hi) - np.log(1 - u * lo)
            val += np.sum(dens * (-(hi - lo) - log / u))
            slope += np.sum(dens * (log + 1 / (1 - u * hi) - 1 / (1 - u * lo))) / u ** 2
        return val, slope


def binned_law(activation: str, q: float) -> BinnedLaw:
    """The law of d = f'(sqrt(q) xi)^2 on a fine grid of xi: values held on a set of xi of
    mass > 1e-3 (ReLU's 0 and 1) are atoms, the rest is binned."""
    act = get_activation(activation)
    fp = numpy_functions(act.name)[1]
    xi = np.linspace(-12, 12, XI_GRID)
    w = np.exp(-xi ** 2 / 2)
    w /= w.sum()
    with np.errstate(over="ignore"):
        d = np.asarray(fp(math.sqrt(q) * xi), dtype=float) ** 2
    values, inverse = np.unique(d, return_inverse=True)
    mass = np.bincount(inverse, weights=w)
    atom = mass > 1e-3
    rest = ~atom[inverse]
    if not rest.any() or np.ptp(d[rest]) <= 1e-12 * max(float(d.max()), 1e-300):
        return BinnedLaw(values[atom | (mass > 0)] if not rest.any() else values,
                         mass[atom | (mass > 0)] if not rest.any() else mass,
                         np.zeros(1), np.zeros(0))
    lo, hi = d[rest].min(), d[rest].max()
    near = lo + (hi - lo) * np.geomspace(1e-9, 1.0 / BINS, 200)     # resolve small d too
    edges = np.unique(np.concatenate([np.linspace(lo, hi, BINS + 1), near]))
    bin_mass = np.histogram(d[rest], bins=edges, weights=w[rest])[0]
    return BinnedLaw(values[atom], mass[atom], edges, bin_mass)


@dataclass(frozen=True)
class SpectrumPrediction:
    widths: tuple[int, ...]
    activation: str
    init: str
    law: str
    weights: str                     # "gaussian" or "orthogonal"
    q: np.ndarray                    # (L,) mean-field pre-activation variances q^l
    sigma_w2: np.ndarray             # (L,) n Var[W^l]
    chi: np.ndarray                  # (L,) sigma_w^2 E[f'^2] per layer
    mean: float
    variance: float
    third: float                     # E[lambda^3]
    max: float                       # the support's right edge
    laws: list = field(repr=False, default=None)    # per layer (d_j, w_j)

    def to_dict(self) -> dict:
        return {"mean": self.mean, "variance": self.variance, "max": self.max,
                "third_moment": self.third}


def _layer_s(d, w, sw2, kind):
    """(s0, s1, s2) of one layer's W W^T D^2: the two S-series multiplied (V20)."""
    mu = [float(np.sum(w * d ** k)) for k in (1, 2, 3)]
    sd = np.array(_to_s()(*mu), dtype=float)
    sw = np.array([float(c) for c in _weight_s(kind)(sw2)], dtype=float)
    return np.convolve(sw, sd)[:sym.ORDER]


def square_widths(widths) -> tuple[int, ...]:
    """``check_widths``, and all equal: the theory and the measurement take square layers."""
    widths = check_widths(widths)
    if len(set(widths)) != 1:
        raise ValueError(f"spectra need equal widths n_0 = ... = n_L (square layers), got "
                         f"{','.join(map(str, widths))}")
    return widths


def predict_spectrum(widths, activation: str = "tanh", init: str | Scheme = "normalized",
                     law: str | None = None, var_x: float = 1.0,
                     bias_variance: float = 0.0) -> SpectrumPrediction:
    """The theory's spectrum of J J^T for equal ``widths`` (n_0 = ... = n_L); see the module."""
    widths = square_widths(widths)
    scheme = resolve_scheme(init, law)
    kind = weight_kind(scheme)
    wv = weight_variances(widths, scheme)
    mf = propagate(widths, wv, activation, check_positive("var_x", var_x), 1.0,
                   init=scheme.name, bias_variance=bias_variance, theory="meanfield")
    qs = np.asarray(mf.preactivation_variance, dtype=float)
    sw2 = wv * widths[0]
    laws = [slope_law(activation, qv) for qv in qs]
    series = np.array([1.0, 0.0, 0.0])
    for (d, w), s2 in zip(laws, sw2):
        series = np.convolve(series, _layer_s(d, w, s2, kind))[:sym.ORDER]
    m1, m2, m3 = (float(v) for v in _to_moments()(*series))
    chi = np.array([s2 * float(np.sum(w * d)) for (d, w), s2 in zip(laws, sw2)])
    pred = SpectrumPrediction(widths, get_activation(activation).name, scheme.name, scheme.law,
                              kind, qs, sw2, chi, m1, m2 - m1 * m1, m3, math.nan, laws)
    return _with_edge(pred)


# ---------------------------------------------------------------------------------------------
# the support's edge and the density


def _s_total(pred, mv, us):
    """S_{JJ^T}(m) given each layer's u_l (M_D^l(u_l) = m)."""
    sw = _weight_s_function(pred.weights)
    out = 1.0 + 0j
    for s2, u in zip(pred.sigma_w2, us):
        out = out * sw(s2, mv) * (1 + mv) / mv * u
    return out


def _m_d(d, w, u):
    """M_D(u) = E[u d / (1 - u d)] and its derivative E[d / (1 - u d)^2]."""
    den = 1 - u * d
    return np.sum(w * u * d / den), np.sum(w * d / den ** 2)


def _solve_u(d, w, mv, u0, steps=60):
    """u with M_D(u) = m by Newton from u0."""
    u = u0
    for _ in range(steps):
        f, df = _m_d(d, w, u)
        du = (f - mv) / df
        u = u - du
        if abs(du) <= 1e-14 * max(abs(u), 1e-300):
            break
    return u


def _with_edge(pred):
    """The right edge of the support: min over the real branch of x(m) = (1+m)/(m S(m))."""
    if pred.weights == "orthogonal" and all(np.ptp(d) == 0 for d, _ in pred.laws):
        return replace(pred, max=pred.mean)         # a point mass: every eigenvalue the mean
    dmax = [float(np.max(d)) for d, _ in pred.laws]

    def x_of(mv, us):
        return float(((1 + mv) / (mv * _s_total(pred, mv, us))).real)

    def branch(mv, us):
        """Each u_l on the real branch at m (None where it has ended), from the guesses us."""
        new = []
        for (d, w), u, top in zip(pred.laws, us, dmax):
            u = _solve_u(d, w, mv, u)
            if not (np.isfinite(u) and 0 < u < 1 / top):
                return None
            new.append(u)
        return new

    ms = np.geomspace(1e-8, 1e8, 1601)                  # m along the real branch
    us = [ms[0] / max(float(np.sum(w * d)), 1e-300) for d, w in pred.laws]
    xs, states = [], []
    for mv in ms:
        new = branch(mv, us)
        if new is None:
            break                    # the real branch ends: the edge is where it stopped
        us = new
        xs.append(x_of(mv, us))
        states.append(us)
        if len(xs) > 2 and xs[-1] > xs[-2]:
            break                    # past the minimum
    k = int(np.argmin(xs))
    lo, hi = math.log(ms[max(k - 1, 0)]), math.log(ms[min(k + 1, len(xs) - 1)])
    start = states[max(k - 1, 0)]
    golden = (math.sqrt(5) - 1) / 2
    for _ in range(80):              # golden section on log m around the grid's minimum
        a, b = hi - golden * (hi - lo), lo + golden * (hi - lo)
        ua, ub = branch(math.exp(a), start), branch(math.exp(b), start)
        xa = x_of(math.exp(a), ua) if ua else math.inf
        xb = x_of(math.exp(b), ub) if ub else math.inf
        if xa <= xb:
            hi = b
        else:
            lo = a
    best = min(xs[k], x_of(math.exp((lo + hi) / 2), branch(math.exp((lo + hi) / 2), start) or start))
    return replace(pred, max=best)


ETA_PATH = 1e-2        # the density's x-continuation runs at this relative imaginary part


def density(pred: SpectrumPrediction, x, eta: float = 1e-6) -> np.ndarray:
    """rho(x) of J J^T's eigenvalues at the points ``x`` (> 0): -Im G(z) / pi at
    z = x (1 + i eta), G = (1 + m)/z, m from Newton on (m, u_1..u_L). The physical solution is
    the one connected to the upper half plane, where it is unique and near the moment series:
    the first point is reached from z = x (1 + i) down through the imaginary part; the others
    are continued in x at z = x (1 + i ETA_PATH), where the branches stay apart, and taken down
    to ``eta`` from there. ``eta`` smooths over a relative width eta; 1e-6 resolves the
    Marchenko-Pastur law to 1e-5."""
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    mu1 = [float(np.sum(w * d)) for d, w in pred.laws]
    binned = [binned_law(pred.activation, qv) for qv in pred.q]
    down = np.geomspace(ETA_PATH, eta, max(2, int(round(math.log10(ETA_PATH / eta))) + 1)) \
        if eta < ETA_PATH else np.array([eta])
    path = None                     # (m, us) at ETA_PATH for the previous x
    for flat in np.argsort(-x, axis=None):     # from the top down: the series start is best there
        idx = np.unravel_index(flat, x.shape)
        xv = float(x[idx])
        if path is None:
            zc = xv * (1 + 1j)      # M(1/z) from the first three moments; u_l ~ m / mu_1
            m2 = pred.variance + pred.mean ** 2
            mv = pred.mean / zc + m2 / zc ** 2 + pred.third / zc ** 3
            us = [mv / m for m in mu1]
            for e in np.geomspace(1.0, ETA_PATH, 9):
                mv, us = _newton(pred, binned, xv * (1 + 1j * e), mv, us)
        else:
            mv, us = _newton(pred, binned, xv * (1 + 1j * ETA_PATH), *path)
        path = (mv, us)
        for e in down:
            mv, us = _newton(pred, binned, xv * (1 + 1j * e), mv, us)
        out[idx] = -((1 + mv) / (xv * (1 + 1j * down[-1]))).imag / math.pi
    return np.maximum(out, 0.0)


def _newton(pred, binned, zc, mv, us, steps=100):
    """Solve, jointly for v = (m, u_1..u_L), F_0 = z ((1+m)/m)^(L-1) prod_l S_W(m) u_l - 1 = 0
    (z m S(m) = 1 + m with S = prod_l S_W(m) (1+m)/m u_l, its spurious root m = -1 divided
    out) and F_l = M_D^l(u_l) - m = 0 (no inner inversions, which are ill-conditioned near the
    real axis); damped Newton with the analytic Jacobian but dF_0/dm (a finite difference)."""
    sw = _weight_s_function(pred.weights)
    L = len(us)
    v = np.array([mv, *us], dtype=complex)

    def f0(m_, u_):     # z m S(m) / (1 + m) - 1: the root m = -1 of z m S(m) - (1+m) divided out
        prod = ((1 + m_) / m_) ** (L - 1) + 0j
        for s2, u in zip(pred.sigma_w2, u_):
            prod = prod * sw(s2, m_) * u
        return zc * prod - 1, prod

    for _ in range(steps):
        m_, u_ = v[0], v[1:]
        F = np.empty(L + 1, dtype=complex)
        Jm = np.zeros((L + 1, L + 1), dtype=complex)
        F[0], prod = f0(m_, u_)
        h = 1e-7 * abs(m_)
        Jm[0, 0] = (f0(m_ + h, u_)[0] - F[0]) / h
        Jm[0, 1:] = zc * prod / u_
        for l, (law, u) in enumerate(zip(binned, u_)):
            val, slope = law.m_d(u)
            F[l + 1] = val - m_
            Jm[l + 1, 0] = -1
            Jm[l + 1, l + 1] = slope
        step = np.linalg.solve(Jm, F)
        scale = np.max(np.abs(step) / (0.5 * np.abs(v)))
        if scale > 1:
            step = step / scale                  # damped: no component moves by half itself
        v = v - step
        if not np.all(np.isfinite(v)):
            raise ArithmeticError(f"the spectral density's Newton iteration diverged at z = {zc}")
        if np.max(np.abs(step) / np.abs(v)) <= 1e-12:
            break
    return v[0], list(v[1:])


# ---------------------------------------------------------------------------------------------
# measurement


@dataclass(frozen=True)
class SpectrumMeasurement:
    widths: tuple[int, ...]
    activation: str
    init: str
    law: str
    networks: int
    seed: int
    mean: np.ndarray          # (R,) per network
    variance: np.ndarray
    max: np.ndarray
    eigenvalues: np.ndarray = field(repr=False, default=None)   # (R, n)

    def summary(self) -> dict:
        R = self.networks

        def stat(v):
            se = float(np.std(v, ddof=1) / math.sqrt(R)) if R > 1 else math.nan
            return {"value": float(np.mean(v)), "se": se}

        return {"mean": stat(self.mean), "variance": stat(self.variance), "max": stat(self.max)}


def network_spectra(n: int, depths, activation: str, scheme: Scheme, var_x: float,
                    bias_variance: float, rng: np.random.Generator) -> dict[int, np.ndarray]:
    """One sampled network of width ``n`` and max(depths) layers, one input x ~ N(0, var_x):
    {depth d: the eigenvalues of J J^T for J = dz^d/dz^0} (squared singular values, float64)."""
    act = get_activation(activation).name
    f, fp = numpy_functions(act)
    sb = math.sqrt(float(bias_variance))
    z = rng.standard_normal(n) * math.sqrt(var_x)
    J = np.eye(n)
    out = {}
    for d in range(1, max(depths) + 1):
        W = sample_weights(rng, n, n, scheme)                        # (n_in, n_out)
        bias = rng.standard_normal(n) * sb if sb > 0 else np.zeros(n)
        s = z @ W + bias                                             # (n,)
        J = fp(s)[:, None] * (W.T @ J)                               # D W^T J: (n, n)
        z = f(s)
        if d in depths:
            out[d] = np.linalg.svd(J, compute_uv=False) ** 2          # (n,)
    return out


def network_rng(seed: int, r: int) -> np.random.Generator:
    """Network r's own generator: the same bits however the networks are split into tasks."""
    return np.random.default_rng([int(seed), int(r)])


def measure_spectrum(widths, activation: str = "tanh", init: str | Scheme = "normalized",
                     law: str | None = None, var_x: float = 1.0, bias_variance: float = 0.0,
                     networks: int = 8, seed: int = 0, threads: int | None = None,
                     keep_eigenvalues: bool = True) -> SpectrumMeasurement:
    """Sample ``networks`` networks (weights from the scheme, biases N(0, sigma_b^2), one input
    x ~ N(0, var_x) each; network r from ``network_rng(seed, r)``: same seed, same bits), form
    J = dz^L/dz^0 and the eigenvalues of J J^T."""
    widths = square_widths(widths)
    if isinstance(networks, bool) or not isinstance(networks, int) or networks < 1:
        raise ValueError(f"networks must be a positive integer, got {networks!r}")
    scheme = resolve_scheme(init, law)
    L = len(widths) - 1
    with thread_limits(blas_threads=threads):          # BLAS only: no Numba code here
        eigs = [network_spectra(widths[0], (L,), activation, scheme, check_positive("var_x", var_x),
                                bias_variance, network_rng(seed, r))[L] for r in range(networks)]
    eigs = np.array(eigs)                                              # (R, n)
    return SpectrumMeasurement(widths, get_activation(activation).name, scheme.name, scheme.law,
                               networks, seed, eigs.mean(1), eigs.var(1), eigs.max(1),
                               eigs if keep_eigenvalues else None)


STATISTICS = ("mean", "variance", "max")
ROUNDING = 1e-12        # relative: what float64 products and SVDs leave of an exact zero


def finite_width(stat: str, n: int, depth: int) -> float:
    """The relative allowance for width n: O((L+1)/n) for the moments (each layer's q and D
    fluctuate at O(1/n)); O((L+1) n^{-2/3}) for the largest eigenvalue (the edge's
    Tracy-Widom scale)."""
    return FINITE_WIDTH * (depth + 1) * (n ** (-2 / 3) if stat == "max" else 1 / n)


def compare(pred: SpectrumPrediction, meas: SpectrumMeasurement) -> dict:
    """Predicted and measured mean, variance and largest eigenvalue of J J^T with
    ``check``'s calibrated verdict: |measured - predicted| <= t SE + allowance |predicted|,
    t the Student-t value with R - 1 degrees of freedom for a false alarm of ALPHA over the
    three comparisons."""
    n, depth = pred.widths[0], len(pred.widths) - 1
    t = t_critical(meas.networks - 1, ALPHA / len(STATISTICS))
    measured = meas.summary()
    predicted = pred.to_dict()
    verdicts, ok = {}, True
    for stat in STATISTICS:
        fw = finite_width(stat, n, depth)
        rounding = ROUNDING * (predicted["mean"] ** 2 if stat == "variance" else
                               abs(predicted[stat]))     # float64 SVDs of exact point masses
        good = bool(abs(measured[stat]["value"] - predicted[stat])
                    <= tolerance(measured[stat]["se"], predicted[stat], fw, t) + rounding)
        verdicts[stat] = "ok" if good else "differs"
        ok &= good
    return {"widths": list(pred.widths), "activation": pred.activation, "init": pred.init,
            "law": pred.law, "weights": pred.weights, "networks": meas.networks,
            "seed": meas.seed, "q": pred.q.tolist(), "chi": pred.chi.tolist(),
            "predicted": predicted,
            "measured": {k: measured[k]["value"] for k in STATISTICS},
            "se": {k: measured[k]["se"] for k in STATISTICS},
            "tolerance": {"t": t, "alpha": ALPHA,
                          "finite_width_rel": {k: finite_width(k, n, depth) for k in STATISTICS}},
            "verdict": verdicts, "ok": ok}


def format_comparison(c: dict) -> str:
    lines = [f"varprop spectrum: J J^T of J = dz^L/dz^0, widths {','.join(map(str, c['widths']))}, "
             f"{c['activation']}, {c['init']} init ({c['law']}: {c['weights']} theory), "
             f"{c['networks']} networks, seed {c['seed']}",
             f"verdict: |measured - predicted| <= {c['tolerance']['t']:.2f} SE + allowance x "
             f"|predicted| (false alarm {ALPHA:g})",
             f"{'':<10} {'predicted':>12} {'measured':>12} {'SE':>10} {'allowance':>10}  verdict"]
    for k in STATISTICS:
        lines.append(f"{k:<10} {c['predicted'][k]:>12.5g} {c['measured'][k]:>12.5g} "
                     f"{c['se'][k]:>10.3g} {c['tolerance']['finite_width_rel'][k]:>10.3g}  "
                     f"{c['verdict'][k]}")
    lines.append("all agree" if c["ok"] else "DISAGREEMENT beyond the tolerance")
    return "\n".join(lines)
