"""Two inputs at once: the correlation map, its slope chi_c and the depth scales xi_q, xi_c.

The mean field of ``meanfield`` (V13-V16) follows the length q of one input. Two inputs a, b
of the same length q whose pre-activations have correlation c stay jointly Gaussian at infinite
width, and the covariance obeys the same sum as (V13) with one factor from each input (Poole
et al. 2016, "Exponential expressivity in deep neural networks through transient chaos";
Schoenholz et al. 2017, "Deep information propagation"):

- V17  the correlation map c^{i+1} = (sigma_w^2 E[f(u_a) f(u_b)] + sigma_b^2) / q^{i+1},
       (u_a, u_b) ~ N(0, q [[1, c], [c, 1]]), q^{i+1} the (V16) map; c = 1 is a fixed point;
- V18  chi_c, its slope at c = 1 and q = q*: Price's theorem, then c = 1, then the fixed
       point, which leaves chi of (V16) (``meanfield.chi``); chi_c = 1 is the order/chaos
       boundary;
- V23  xi_q = -1/log(chi_q), the depth over which q approaches q*, with chi_q the slope of the
       (V16) map at q*: d/dq E[f(sqrt(q) xi)^2] by the chain rule under E, then Gaussian
       integration by parts (Stein), sigma_w^2 E[f'^2 + f f''];
- V24  xi_c = -1/log of the slope of (V17) at its stable fixed point c*; in the ordered phase
       c* = 1 and xi_c = -1/log(chi_c), which diverges at chi_c = 1.

``GaussJoint`` and ``GaussJointSlope`` are the unevaluated two-input expectations (like
``meanfield.GaussSecond``); ``GaussE`` is an expectation over xi ~ N(0, 1) of an explicit
integrand in xi and q, written with an undefined f (``f``, ``FPrime``, ``FSecond``). Numeric
code (``varprop.phase``) binds all three to quadrature for the chosen activation.
"""
from __future__ import annotations

from functools import cache

import sympy as sp

from .derivation import Derivation
from .meanfield import GaussSecond, GaussSlope, fixed_point, q, sigma_b2, sigma_w2
from .notation import LayerStatistic, VarS, i, symbol

c = symbol("c", "c", real=True)                       # the correlation of the two inputs' s^i
c_star = symbol("c_star", "c^*", real=True)           # a fixed point of the c-map (V17)
xi = symbol("xi", r"\xi", real=True)                  # the standard normal variable of E_xi
depth = symbol("l", "l", positive=True)               # a number of layers
chi_q = symbol("chi_q", r"\chi_q", positive=True)     # slope of the q-map (V16) at q*
chi_c = symbol("chi_c", r"\chi_c", positive=True)     # slope of the c-map (V17) at c = 1
chi_cstar = symbol("chi_cstar", r"\chi_{c^*}", positive=True)   # slope of (V17) at c*
xi_q = symbol("xi_q", r"\xi_q", positive=True)
xi_c = symbol("xi_c", r"\xi_c", positive=True)


class _Undefined(sp.Function):
    """An undefined function of one argument, printed in LaTeX as ``template`` with the
    argument at {}."""

    nargs = 1
    template = "{}"

    def _latex(self, printer, exp=None):
        tex = self.template.format(printer._print(self.args[0]))
        return tex if exp is None else rf"{tex}^{{{exp}}}"


class f(_Undefined):   # noqa: N801 -- prints, and is bound by lambdify, as f
    """The activation f, undefined: SymPy differentiates f(g(x)) to Subs(Derivative(f))."""

    template = "f({})"


class FPrime(_Undefined):
    """f'(x) of the undefined activation ``f``; its derivative is ``FSecond``."""

    template = "f'({})"

    def fdiff(self, argindex=1):
        return FSecond(self.args[0])


class FSecond(_Undefined):
    """f''(x) of the undefined activation ``f``."""

    template = "f''({})"


class GaussE(sp.Function):
    """E_xi[integrand], xi ~ N(0, 1): the integrand an explicit expression in ``xi`` and ``q``
    (with ``f``, ``FPrime``, ``FSecond``), left unevaluated."""

    nargs = 1

    def _latex(self, printer, exp=None):
        tex = rf"\operatorname{{E}}_\xi\left[{printer._print(self.args[0])}\right]"
        return tex if exp is None else rf"\left({tex}\right)^{{{exp}}}"


class _GaussPair(sp.Function):
    """An unevaluated expectation over (u_a, u_b) ~ N(0, q [[1, c], [c, 1]]); args (q, c)."""

    nargs = 2
    template = "?"
    at_one = None     # the one-input expectation it becomes at c = 1 (u_b = u_a)

    @classmethod
    def eval(cls, qv, cv):
        if cv == 1:
            return cls.at_one(qv)
        return None

    def _latex(self, printer, exp=None):
        qv, cv = self.args
        ua = printer._print(sp.sqrt(qv)) + r"\,\xi_1"
        ub = (printer._print(sp.sqrt(qv)) + rf"\,({printer._print(cv)}\,\xi_1 + "
              + printer._print(sp.sqrt(1 - cv**2)) + r"\,\xi_2)")
        tex = (r"\operatorname{E}_{\xi_1, \xi_2}\left["
               + self.template.format(ua=ua, ub=ub) + r"\right]")
        return tex if exp is None else rf"\left({tex}\right)^{{{exp}}}"


class GaussJointSlope(_GaussPair):
    """E[f'(u_a) f'(u_b)] over (u_a, u_b) ~ N(0, q [[1, c], [c, 1]])."""

    template = r"f'({ua})\,f'({ub})"
    at_one = GaussSlope


class GaussJoint(_GaussPair):
    """E[f(u_a) f(u_b)] over (u_a, u_b) ~ N(0, q [[1, c], [c, 1]]).

    Its derivative in c is Price's theorem (R. Price 1958, used so by Poole et al. 2016): with
    Cov[u_a, u_b] = q c, d/dCov E[f(u_a) f(u_b)] = E[f'(u_a) f'(u_b)], so
    d/dc = q E[f'(u_a) f'(u_b)] (``GaussJointSlope``); ``varprop.phase`` checks it against a
    finite difference of the quadrature.
    """

    template = r"f({ua})\,f({ub})"
    at_one = GaussSecond

    def fdiff(self, argindex=1):
        if argindex == 2:
            qv, cv = self.args
            return qv * GaussJointSlope(qv, cv)
        return sp.Derivative(self, self.args[0])


class Corr(LayerStatistic):
    """c^i: the correlation of one unit's pre-activations s_a^i, s_b^i for two inputs."""

    operator = r"\operatorname{Corr}"
    quantity = "s_a^{{{layer}}}, s_b^{{{layer}}}"


class Cov(LayerStatistic):
    """Cov[s_a^i, s_b^i] for two inputs."""

    operator = r"\operatorname{Cov}"
    quantity = "s_a^{{{layer}}}, s_b^{{{layer}}}"


def _primes(expr):
    """SymPy's Subs(Derivative(f(t), t, k), t, a) written as f'(a), f''(a)."""
    def rewrite(sub):
        deriv, (var,), (point,) = sub.args
        order = deriv.derivative_count
        return {1: FPrime, 2: FSecond}[order](point) if deriv.expr == f(var) else sub
    return expr.replace(lambda e: isinstance(e, sp.Subs), rewrite)


def _depth_scale(slope, depth_scale):
    """Solve slope^l = exp(-l / xi) for xi: a perturbation multiplied by ``slope`` per layer
    decays over xi layers."""
    (sol,) = sp.solve(sp.Eq(slope**depth, sp.exp(-depth / depth_scale)), depth_scale)
    return sol


@cache
def correlation_map() -> Derivation:
    """V17: the c-map, c^{i+1} as a function of c^i = c and q^i = q (Poole et al. 2016;
    Schoenholz et al. 2017)."""
    dv = Derivation(key="correlation_map", tag="V17", title="Correlation map", lhs=Corr(i + 1),
                    intro=(r"Two inputs $a$, $b$ whose pre-activations $s_a^i$, $s_b^i$ have the "
                           r"same variance $q$ and correlation $c$; at infinite width "
                           r"$(u_a, u_b) = (s_a^i, s_b^i)$ is jointly Gaussian with "
                           r"covariance $q\begin{pmatrix}1 & c\\ c & 1\end{pmatrix}$."))
    dv.step(Cov(i + 1) / VarS(i + 1),
            r"$\operatorname{Var}[s_a^{i+1}] = \operatorname{Var}[s_b^{i+1}]$")
    length = fixed_point().result                                     # the (V16) map of q
    covariance = length.subs(GaussSecond(q), GaussJoint(q, c))
    dv.step(dv.result.subs({Cov(i + 1): covariance, VarS(i + 1): length}),
            r"(V16) with one factor $f$ from each input, $\operatorname{E}[f(u_a)f(u_b)]$ for "
            r"$\operatorname{E}[f(u)^2]$; the bias is shared")
    dv.note = (r"At $c = 1$, $u_b = u_a$ and the map gives $1$: $c = 1$ is always a fixed point. "
               r"At the fixed point $q^*$ of (V16) the denominator is $q^*$.")
    return dv


def correlation_map_slope() -> sp.Expr:
    """d c^{i+1} / d c of V17 (Price's theorem through ``GaussJoint.fdiff``), a function of
    (q, c)."""
    return sp.diff(correlation_map().result, c)


@cache
def correlation_slope() -> Derivation:
    """V18: chi_c, the slope of the c-map at c = 1 and q = q*, which is chi of V16
    (Schoenholz et al. 2017's chi_1)."""
    dv = Derivation(key="correlation_slope", tag="V18", title="The slope of the correlation map",
                    lhs=sp.Derivative(Corr(i + 1), c, evaluate=False),
                    intro=(r"Its value $\chi_c$ at $c = 1$, $q = q^*$ is the slope of (V17) at the "
                           r"fixed point $c = 1$. Price's theorem: with "
                           r"$\operatorname{Cov}[u_a, u_b] = qc$, "
                           r"$\partial\operatorname{E}[f(u_a)f(u_b)]/\partial\operatorname{Cov} "
                           r"= \operatorname{E}[f'(u_a)f'(u_b)]$."))
    dv.step(correlation_map_slope(), r"differentiate (V17) in $c$")
    dv.step(dv.result.subs(c, 1), r"at $c = 1$: $u_b = u_a$")
    dv.step(dv.result.subs(fixed_point().result, q), r"at the fixed point $q^*$ of (V16)")
    dv.note = (r"This is $\chi_c$, and it is $\chi$ of (V16): the factor by which "
               r"back-propagated variances change per layer is also the rate at which nearby "
               r"inputs separate. $\chi_c < 1$: ordered (correlations go to $c^* = 1$); $\chi_c > 1$: chaotic (they go to a "
               r"$c^* < 1$); $\chi_c = 1$ is the order/chaos boundary.")
    return dv


@cache
def length_depth_scale() -> Derivation:
    """V23: xi_q = -1/log(chi_q), chi_q = sigma_w^2 E[f'^2 + f f''] the slope of the q-map at q*
    (Schoenholz et al. 2017)."""
    dv = Derivation(key="length_depth_scale", tag="V23", title="Depth scale of the length",
                    lhs=xi_q,
                    intro=(r"Near $q^*$, (V16) multiplies $q^l - q^*$ by its slope $\chi_q$ per "
                           r"layer: $q^l - q^* \propto \chi_q^l = e^{-l/\xi_q}$."))
    dv.step(_depth_scale(chi_q, xi_q), r"solve $\chi_q^l = e^{-l/\xi_q}$")
    rate = sp.diff(fixed_point().result, q)                  # sigma_w^2 d/dq E[f^2]
    dv.step(dv.result.subs(chi_q, rate), r"$\chi_q$: differentiate (V16) in $q$ at $q^*$")
    chain = _primes(sp.diff(f(sp.sqrt(q) * xi) ** 2, q))     # xi f f' / sqrt(q)
    dv.step(dv.result.subs(sp.Derivative(GaussSecond(q), q), GaussE(chain)),
            r"differentiate under $\operatorname{E}_\xi$ (chain rule)")
    h = sp.cancel(chain / xi)                                 # chain = xi h(xi)
    stein = sp.expand(_primes(sp.diff(h, xi)))                # f'^2 + f f
    dv.step(dv.result.subs(GaussE(chain), GaussE(stein)),
            r"$\operatorname{E}[\xi h(\xi)] = \operatorname{E}[h'(\xi)]$ (integration by parts)")
    dv.note = (r"Where $f'$ jumps (hard tanh at $\pm 1$) $f''$ holds Dirac deltas; the line "
               r"before the integration by parts needs $f'$ only, and is what is evaluated.")
    return dv


@cache
def correlation_depth_scale() -> Derivation:
    """V24: xi_c = -1/log(slope of V17 at its stable fixed point c*); -1/log(chi_c) in the
    ordered phase (Schoenholz et al. 2017)."""
    dv = Derivation(key="correlation_depth_scale", tag="V24", title="Depth scale of the correlation",
                    lhs=xi_c,
                    intro=(r"Near a stable fixed point $c^*$ of (V17) at $q = q^*$, $c^l - c^*$ is "
                           r"multiplied by the map's slope $\chi_{c^*}$ there per layer."))
    dv.step(_depth_scale(chi_cstar, xi_c), r"solve $\chi_{c^*}^l = e^{-l/\xi_c}$")
    dv.step(dv.result.subs(chi_cstar, correlation_map_slope().subs(c, c_star)),
            r"the slope of (V17) at $c^*$")
    ordered = dv.result.subs(c_star, 1).subs(fixed_point().result, q)
    dv.step(ordered, r"ordered phase: $c^* = 1$, at $q^*$ (V18)")
    dv.note = (r"That is $\xi_c = -1/\log\chi_c$, infinite at $\chi_c = 1$: at the order/chaos "
               r"boundary correlations propagate to any depth. In the chaotic phase $c^* < 1$ "
               r"solves $c^* = $ (V17), found numerically, and the second line applies.")
    return dv


__all__ = ["Corr", "Cov", "FPrime", "FSecond", "GaussE", "GaussJoint", "GaussJointSlope", "c",
           "c_star", "chi_c", "correlation_depth_scale", "correlation_map",
           "correlation_map_slope", "correlation_slope", "derivations", "f",
           "length_depth_scale", "q", "sigma_b2", "sigma_w2", "xi", "xi_c", "xi_q"]


def derivations() -> list[Derivation]:
    """V17, V18, V23, V24, in order (for ``symbolic.document``)."""
    return [correlation_map(), correlation_slope(), length_depth_scale(),
            correlation_depth_scale()]
