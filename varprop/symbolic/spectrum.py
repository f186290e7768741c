"""The spectrum of J J^T for the input-output Jacobian J = D^L W^L ... D^1 W^1 of a deep network,
from free probability (Pennington, Schoenholz & Ganguli 2017, 2018).

With square layers of width n -> infinity, W^l and D^l = diag(f'(s^l)) are asymptotically free,
so the S-transform of J J^T is the product of the layers' (V20): that of W^l W^{lT} and that of
(D^l)^2, whose eigenvalues are distributed as f'(sqrt(q^l) xi)^2 with q^l the mean-field
pre-activation variance (V13). Each S-transform is turned into moments and back through the
moment generating function M(z) = sum_k m_k z^k and S(z) = (1 + z)/z M^{-1}(z) (V19), both ways
by series reversion here in SymPy:

- V19  S(z) = s_0 + s_1 z + s_2 z^2 + O(z^3) from the first three moments, and its inverse;
- V20  S_{JJ^T} = prod_l S_{W^l W^{lT}} S_{(D^l)^2} (freeness);
- V21  Gaussian weights of variance sigma_w^2 / n: the Marchenko-Pastur law, moments
       sigma_w^{2k} C_k (Catalan numbers), whose S-transform is derived from them;
       orthogonal weights: every eigenvalue sigma_w^2, S = 1 / sigma_w^2;
- V22  the mean and variance of the spectrum of J J^T layer by layer: mean prod_l chi_l,
       variance / mean^2 = sum_l (s_W + E[f'^4] / E[f'^2]^2 - 1), s_W = 1 (Gaussian), 0
       (orthogonal).

``GaussSlopeMoment(q, k)`` is the unevaluated E[f'(sqrt(q) xi)^{2k}], bound to quadrature by
``varprop.spectrum`` as ``meanfield``'s expectations are by ``varprop.theory``.
"""
from __future__ import annotations

from functools import cache

import sympy as sp

from .derivation import Derivation
from .meanfield import q, sigma_w2
from .notation import latex

ORDER = 3           # moments m_1 .. m_3 and S-coefficients s_0 .. s_2
z = sp.Symbol("z")
m = sp.symbols("m1:4", positive=True)             # moments of a spectral law
s = sp.symbols("s0:3")                            # its S-transform's Taylor coefficients
L = sp.Symbol("L", integer=True, positive=True)   # depth
ell = sp.Symbol("l", integer=True, positive=True)


class GaussSlopeMoment(sp.Function):
    """E[f'(sqrt(q) xi)^(2k)], xi ~ N(0, 1): the k-th moment of the spectrum of D^2."""

    nargs = 2

    def _latex(self, printer):
        qq, k = self.args
        return (rf"\operatorname{{E}}_\xi\left[f'({printer._print(sp.sqrt(qq))}\,\xi)^{{"
                rf"{printer._print(2 * k)}}}\right]")


def _series_s(moments) -> list[sp.Expr]:
    """s_0 .. s_{ORDER-1} of S(z) = (1+z)/z M^{-1}(z) for M(z) = sum_k moments[k-1] z^k."""
    a = sp.symbols(f"a1:{ORDER + 1}")
    inverse = sum(a[k] * z ** (k + 1) for k in range(ORDER))            # M^{-1}(z), unknown
    composed = sp.expand(sum(moments[k] * inverse ** (k + 1) for k in range(ORDER)))
    eqs = [sp.Eq(composed.coeff(z, k + 1), 1 if k == 0 else 0) for k in range(ORDER)]
    sol = sp.solve(eqs, a, dict=True)[0]                                # M(M^{-1}(z)) = z
    S = sp.expand((1 + z) / z * inverse.subs(sol))
    return [sp.simplify(S.coeff(z, k)) for k in range(ORDER)]


@cache
def s_transform() -> Derivation:
    """V19: the S-transform's coefficients from a law's first three moments, by series
    reversion of the moment generating function."""
    dv = Derivation(key="s_transform", tag="V19", title="The S-transform from moments",
                    lhs=sp.Symbol("S(z)"),
                    intro=(r"For a spectral law with moments $m_k$, $M(z) = \sum_k m_k z^k$ and "
                           r"$S(z) = \frac{1+z}{z} M^{-1}(z)$; reverting the series of $M$ gives"))
    coeffs = _series_s(m)
    dv.step(sum(c * z ** k for k, c in enumerate(coeffs)) + sp.O(z ** ORDER),
            r"$M(M^{-1}(z)) = z$, order by order")
    return dv


def s_coefficients() -> list[sp.Expr]:
    """[s_0, s_1, s_2] in the moments m1, m2, m3 (V19)."""
    series = s_transform().result.removeO()
    return [series.coeff(z, k) for k in range(ORDER)]


@cache
def moments_from_s() -> list[sp.Expr]:
    """[m_1, m_2, m_3] in s0, s1, s2: V19 solved for the moments (it is triangular)."""
    sol = sp.solve([sp.Eq(si, ci) for si, ci in zip(s, s_coefficients())], m, dict=True)
    (only,) = sol
    return [sp.simplify(only[mk]) for mk in m]


def catalan_moments(sigma2=sigma_w2) -> list[sp.Expr]:
    """Marchenko-Pastur (ratio 1) moments sigma^{2k} C_k, C_k the Catalan numbers."""
    return [sigma2 ** k * sp.catalan(k) for k in range(1, ORDER + 1)]


@cache
def wishart() -> Derivation:
    """V21: the S-transform of W W^T for Gaussian weights of variance sigma_w^2 / n, from the
    Marchenko-Pastur moments; and of orthogonal weights (every eigenvalue sigma_w^2)."""
    dv = Derivation(key="wishart", tag="V21", title="S-transforms of the weights",
                    lhs=sp.Symbol(r"S_{WW^\top}(z)"),
                    intro=(r"Gaussian $W$ with $\operatorname{Var}[W] = \sigma_w^2/n$, square: "
                           r"$W W^\top$ has the Marchenko--Pastur law, moments $\sigma_w^{2k} C_k$ "
                           r"(Catalan numbers $1, 2, 5$). By (V19):"))
    coeffs = [sp.simplify(c.subs(dict(zip(m, catalan_moments())))) for c in s_coefficients()]
    dv.step(sum(c * z ** k for k, c in enumerate(coeffs)) + sp.O(z ** ORDER), "(V19)")
    dv.step(1 / (sigma_w2 * (1 + z)),
            r"the series of $1/(\sigma_w^2(1+z))$, to every order (Marchenko--Pastur)")
    dv.note = (r"Orthogonal $W$ scaled by $\sigma_w$: every eigenvalue of $WW^\top$ is "
               r"$\sigma_w^2$, so $M(z) = \sigma_w^2 z/(1 - \sigma_w^2 z)$ and "
               rf"$S_{{WW^\top}}(z) = {latex(orthogonal_s())}$.")
    return dv


def orthogonal_s() -> sp.Expr:
    """S of a point mass at sigma_w^2: M(z) = sigma_w^2 z / (1 - sigma_w^2 z) inverted."""
    y = sp.Symbol("y")
    (inverse,) = sp.solve(sp.Eq(sigma_w2 * y / (1 - sigma_w2 * y), z), y)
    return sp.simplify((1 + z) / z * inverse)


def gaussian_s() -> sp.Expr:
    return wishart().result


@cache
def jacobian_spectrum() -> Derivation:
    """V20 and V22: the product rule of S-transforms for J J^T, and its mean and relative
    variance layer by layer."""
    s0l, s1l = sp.Function("s_0"), sp.Function("s_1")
    dv = Derivation(key="jacobian_spectrum", tag="V22", title="The spectrum of the input-output Jacobian",
                    lhs=sp.Symbol(r"\frac{\operatorname{Var}[\lambda(JJ^\top)]}{\operatorname{E}[\lambda(JJ^\top)]^2}"),
                    intro=(r"$J = D^L W^L \cdots D^1 W^1$ with $D^l = \operatorname{diag}(f'(s^l))$. "
                           r"At infinite width the factors are asymptotically free, so "
                           r"$S_{JJ^\top} = \prod_l S_{W^lW^{l\top}} S_{(D^l)^2}$ (V20); with "
                           r"$S_l(z) = s_0(l) + s_1(l) z + \dots$ for one layer's product, "
                           r"(V19) solved for the moments gives the mean "
                           r"$\operatorname{E}[\lambda] = 1/\prod_l s_0(l) = \prod_l \chi_l$ and"))
    product = sp.Product(s0l(ell) * (1 + s1l(ell) / s0l(ell) * z), (ell, 1, L))
    log_series = sp.Sum(s1l(ell) / s0l(ell), (ell, 1, L))       # d/dz log S at 0
    mean, second = moments_from_s()[:2]
    total = {s[0]: sp.Product(s0l(ell), (ell, 1, L)),
             s[1]: sp.Product(s0l(ell), (ell, 1, L)) * log_series}
    ratio = sp.simplify(second / mean ** 2 - 1)                  # in s0, s1
    dv.step(ratio.subs(total), r"(V19), $S_{JJ^\top}$ to first order in $z$: "
                               r"$\prod_l s_0(l)\,(1 + z\sum_l s_1(l)/s_0(l))$")
    per_layer = sp.simplify((s[1] / s[0]).subs(dict(zip(s, s_coefficients()))))  # -(m2/m1^2 - 1)
    dv.step(sp.Sum(-per_layer.subs({m[0]: sp.Function("m_1")(ell), m[1]: sp.Function("m_2")(ell)}),
                   (ell, 1, L)),
            r"each layer's $s_1/s_0 = 1 - m_2/m_1^2$ by (V19)")
    dv.note = (r"For one layer, $m_2/m_1^2 - 1$ of $W W^\top (D)^2$ adds that of the weights, "
               r"$s_W = 1$ (Gaussian, V21) or $0$ (orthogonal), and that of $(D^l)^2$: "
               r"$\operatorname{E}[f'^4]/\operatorname{E}[f'^2]^2 - 1$ at $q^l$.")
    return dv


def layer_relative_variance(weights: str) -> sp.Expr:
    """m2/m1^2 - 1 of one layer's W W^T D^2 (V20, V21): s_W + E[f'^4]/E[f'^2]^2 - 1, derived
    by multiplying the two S-series and converting back with V19."""
    mu = [GaussSlopeMoment(q, k) for k in (1, 2, 3)]
    s_d = [c.subs(dict(zip(m, mu))) for c in s_coefficients()]
    s_w = weight_s_coefficients(weights)
    prod = sp.expand((s_w[0] + s_w[1] * z) * (s_d[0] + s_d[1] * z))
    m1, m2 = (e.subs({s[0]: prod.coeff(z, 0), s[1]: prod.coeff(z, 1)}) for e in moments_from_s()[:2])
    return sp.simplify(m2 / m1 ** 2 - 1)


def weight_s_coefficients(weights: str) -> list[sp.Expr]:
    """s_0 .. s_2 of W W^T for "gaussian" or "orthogonal" weights (V21)."""
    expr = {"gaussian": gaussian_s, "orthogonal": orthogonal_s}[weights]()
    series = sp.series(expr, z, 0, ORDER).removeO()
    return [series.coeff(z, k) for k in range(ORDER)]


WEIGHT_KINDS = ("gaussian", "orthogonal")
