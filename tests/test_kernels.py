"""The Numba kernels against plain NumPy: same weights, float64, rtol 1e-10; gradients against
finite differences; streaming statistics against NumPy on the same values."""
import math

import numpy as np
import pytest

from varprop.kernels import passes
from varprop.kernels.generated import CODES, activation, derivative
from varprop.montecarlo import forward_backward

_L, _A = 1.0507009873554805, 1.6732632423543772       # SELU's lambda, alpha (PyTorch's)
_erf = np.vectorize(math.erf, otypes=[float])


def _sig(s):
    return 1 / (1 + np.exp(-s))


NUMPY_F = {  # an independent reference, typed here: f and f'
    "linear": (lambda s: s, lambda s: np.ones_like(s)),
    "tanh": (np.tanh, lambda s: 1 / np.cosh(s) ** 2),
    "sigmoid": (lambda s: 1 / (1 + np.exp(-s)), lambda s: np.exp(-s) / (1 + np.exp(-s)) ** 2),
    "softsign": (lambda s: s / (1 + np.abs(s)), lambda s: 1 / (1 + np.abs(s)) ** 2),
    "relu": (lambda s: np.maximum(s, 0), lambda s: (s > 0).astype(float)),
    "selu": (lambda s: _L * np.where(s > 0, s, _A * np.expm1(s)),
             lambda s: _L * np.where(s > 0, 1.0, _A * np.exp(s))),
    "elu": (lambda s: np.where(s > 0, s, np.expm1(s)), lambda s: np.where(s > 0, 1.0, np.exp(s))),
    "gelu": (lambda s: s * (1 + _erf(s / np.sqrt(2))) / 2,
             lambda s: (1 + _erf(s / np.sqrt(2))) / 2 + s * np.exp(-s ** 2 / 2) / np.sqrt(2 * np.pi)),
    "silu": (lambda s: s * _sig(s), lambda s: _sig(s) * (1 + s * (1 - _sig(s)))),
    "softplus": (lambda s: np.logaddexp(0, s), _sig),
    "mish": (lambda s: s * np.tanh(np.logaddexp(0, s)),
             lambda s: np.tanh(np.logaddexp(0, s)) + s * _sig(s) / np.cosh(np.logaddexp(0, s)) ** 2),
    "erf": (_erf, lambda s: 2 / np.sqrt(np.pi) * np.exp(-s ** 2)),
    "hard_tanh": (lambda s: np.clip(s, -1, 1), lambda s: (np.abs(s) < 1).astype(float)),
    "leaky_relu": (lambda s: np.where(s > 0, s, 0.01 * s), lambda s: np.where(s > 0, 1.0, 0.01)),
}


def reference(x, W, name, labels):
    """Plain NumPy forward and backward pass with softmax + NLL."""
    f, fp = NUMPY_F[name]
    zs, ss = [x], []
    for k, w in enumerate(W):
        s = zs[-1] @ w
        ss.append(s)
        if k < len(W) - 1:
            zs.append(f(s))
    p = np.exp(ss[-1] - ss[-1].max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    cost = -np.log(p[np.arange(len(x)), labels]).sum()
    delta = p.copy()
    delta[np.arange(len(x)), labels] -= 1
    deltas = [delta]
    for k in range(len(W) - 1, 0, -1):
        deltas.insert(0, (deltas[0] @ W[k].T) * fp(ss[k - 1]))
    return ss, zs, deltas, cost


def network(rng, widths):
    return [rng.normal(0, 1 / np.sqrt(a), (a, b)) for a, b in zip(widths[:-1], widths[1:])]


@pytest.mark.parametrize("name", sorted(CODES))
def test_kernels_equal_numpy_reference(name):
    rng = np.random.default_rng(1)
    widths = [13, 21, 17, 11, 5]
    W = network(rng, widths)
    x = rng.normal(0, 1.5, (37, widths[0]))
    labels = rng.integers(0, widths[-1], len(x))
    got = forward_backward(x, W, name, labels=labels)
    ss, zs, deltas, cost = reference(x, W, name, labels)
    for a, b in zip(got["z"], zs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)
    for a, b in zip(got["delta"], deltas):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)
    assert got["cost"] == pytest.approx(cost, rel=1e-12)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "softsign", "linear"])
def test_weight_gradients_pass_finite_differences(name):
    """dC/dW^k = z^k^T delta^k (eq. 3) against central differences of the kernels' own cost."""
    rng = np.random.default_rng(2)
    widths = [6, 8, 7, 4]
    W = network(rng, widths)
    x = rng.normal(0, 1, (9, widths[0]))
    labels = rng.integers(0, widths[-1], len(x))
    out = forward_backward(x, W, name, labels=labels)
    h = 1e-6
    for k in range(len(W)):
        grad = out["z"][k].T @ out["delta"][k]
        for (i, j) in [(0, 0), (widths[k] - 1, widths[k + 1] - 1), (2, 3)]:
            Wp = [w.copy() for w in W]
            Wm = [w.copy() for w in W]
            Wp[k][i, j] += h
            Wm[k][i, j] -= h
            fd = (forward_backward(x, Wp, name, labels=labels)["cost"]
                  - forward_backward(x, Wm, name, labels=labels)["cost"]) / (2 * h)
            assert grad[i, j] == pytest.approx(fd, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("name", sorted(CODES))
def test_scalar_activations_match_reference(name):
    f, fp = NUMPY_F[name]
    # The paper's five to the last tail digit; the others to 1e-15 absolute: a printed f' may
    # cancel in its tail (GELU's 1/2 + erf(x/sqrt 2)/2 is 0.0 at x = -30, where f' is -4e-195).
    tail = 1e-300 if CODES[name] < 5 else 1e-15
    for v in [-30.0, -2.5, -0.3, 0.7, 4.0, 40.0]:
        assert activation(CODES[name], v) == pytest.approx(f(np.array(v)), rel=1e-14, abs=tail)
        assert derivative(CODES[name], v) == pytest.approx(fp(np.array(v)), rel=1e-12, abs=tail)
    # no overflow to NaN in the tails
    assert np.isfinite(derivative(CODES[name], -1000.0)) and np.isfinite(activation(CODES[name], -1000.0))


def test_accumulate_matches_numpy_moments_and_histogram():
    rng = np.random.default_rng(3)
    a = rng.normal(0.3, 2.0, (101, 37))
    a[5, 5] = np.inf
    a[7, 1] = np.nan
    mom, hist = passes.new_accumulator(50)
    passes.accumulate(a, mom, hist, -3.0, 4.0)
    m, h = mom.sum(0), hist.sum(0)
    fin = a[np.isfinite(a)]
    assert m[passes.COUNT] == fin.size and m[passes.NONFINITE] == 2
    assert m[passes.SUM] == pytest.approx(fin.sum(), rel=1e-12)
    assert m[passes.SUMSQ] == pytest.approx((fin**2).sum(), rel=1e-12)
    counts, _ = np.histogram(fin, bins=50, range=(-3.0, 4.0))
    np.testing.assert_array_equal(h[:50], counts)
    assert h[50] == (fin < -3).sum() and h[51] == (fin >= 4).sum()


def test_weight_gradient_statistics_without_forming_the_gradient():
    rng = np.random.default_rng(4)
    z, d = rng.normal(size=(12, 9)), rng.normal(size=(12, 5))
    mom, hist = passes.new_accumulator(40)
    l_idx, k_idx = np.array([1, 4, 8]), np.array([0, 3])
    passes.weight_gradient(z, d, l_idx, k_idx, mom, hist, -2.0, 2.0)
    full = z[:, :, None] * d[:, None, :]                     # (rows, n_in, n_out)
    m = mom.sum(0)
    assert m[passes.COUNT] == full.size
    assert m[passes.SUM] == pytest.approx(full.sum(), rel=1e-12)
    assert m[passes.SUMSQ] == pytest.approx((full**2).sum(), rel=1e-12)
    counts, _ = np.histogram(full[:, l_idx][:, :, k_idx], bins=40, range=(-2.0, 2.0))
    np.testing.assert_array_equal(hist.sum(0)[:40], counts)


def test_forward_layer_jacobian_trace_equals_svd():
    """Mean squared singular value of diag(f'(s)) W^T from the trace = from the SVD."""
    rng = np.random.default_rng(5)
    W = rng.normal(0, 0.2, (30, 20))
    s = rng.normal(0, 1.2, (3, 20))
    fp = np.empty_like(s)
    acc = [passes.new_accumulator(10) for _ in range(2)]
    jac = np.zeros((passes.N_BLOCKS, 2))
    passes.forward_layer(s, np.tanh(s), CODES["tanh"], fp, *acc[0], -5.0, 5.0, *acc[1], -1.0, 1.0,
                         np.einsum("ij,ij->j", W, W), jac)
    tr, cnt = jac.sum(0)
    svd = np.mean([np.mean(np.linalg.svd(fp[r][:, None] * W.T, compute_uv=False) ** 2)
                   for r in range(3)])
    assert cnt == 3 and tr / cnt / 20 == pytest.approx(svd, rel=1e-12)


@pytest.mark.parametrize("name", sorted(CODES))
def test_derivative_of_output_equals_derivative(name):
    """The registry's f' written in y = f(x) is f'(x) (symbolically, and in the kernels)."""
    import sympy as sp

    from varprop.kernels.generated import derivative_from_output
    from varprop.symbolic.activations import get_activation, y
    act = get_activation(name)
    if act.derivative_of_output is not None:
        assert sp.simplify(act.derivative_of_output.subs(y, act.expr) - act.derivative) == 0
    for v in [-3.0, -0.5, 0.25, 2.0]:
        assert derivative_from_output(CODES[name], v, activation(CODES[name], v)) == pytest.approx(
            derivative(CODES[name], v), rel=1e-12)


def test_generated_activation_kernels_are_up_to_date():
    from varprop.kernels import codegen
    assert codegen.main(["--check"]) == 0
