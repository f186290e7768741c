"""The plain NumPy SGD step, and the NumPy forward and backward passes it is made of.

Used by the monitors (``monitors``: the per-example gradients, the evaluation cost), as the
oracle the Numba step (``sgd``) is tested against, and as the "NumPy loop" peer of the speed
benchmark.

Cost of a minibatch of B examples: the mean over the minibatch of the top's cost, softmax +
``nll`` or ``quadratic`` (``kernels.costs``, whose NumPy form this uses).
Back-propagation is eqs. (2)-(3): dC/ds^{k−1} = f'(s^{k−1}) ⊙ (dC/ds^k W^{kT}), dC/dW^k =
z^{kT} dC/ds^k.
"""
from __future__ import annotations

import numpy as np

from ..kernels import numpy_functions
from ..kernels.costs import top_cost_and_gradient
from .network import Network


def forward(net: Network, x: np.ndarray):
    """(s, z): lists of the pre-activations s^k (B, n_{k+1}) and the layer inputs z^k (z^0 = x)."""
    f = numpy_functions(net.activation)[0]
    zs, ss = [x], []
    for k, (w, b) in enumerate(zip(net.weights, net.biases)):
        s = zs[-1] @ w + b
        ss.append(s)
        if k < net.n_layers - 1:
            zs.append(f(s))
    return ss, zs


def backpropagate(net: Network, ss: list, delta_top: np.ndarray) -> list[np.ndarray]:
    """[dC/ds^k] for k = 0 .. L−1 from the top's dC/ds^{L−1} (B, n_L), by eq. (2):
    dC/ds^{k−1} = f'(s^{k−1}) ⊙ (dC/ds^k W^{kT}); ss: the pre-activations of ``forward``."""
    fprime = numpy_functions(net.activation)[1]
    deltas = [delta_top]
    for k in range(net.n_layers - 1, 0, -1):
        deltas.insert(0, (deltas[0] @ net.weights[k].T) * fprime(ss[k - 1]))   # (B, n_k)
    return deltas


def gradients(net: Network, x: np.ndarray, y: np.ndarray, cost: str = "nll"):
    """(mean cost, [dC/dW^k], [dC/db^k], [dC/ds^k]) of the minibatch (x (B, n_0), y (B,))."""
    ss, zs = forward(net, x)
    c, delta = top_cost_and_gradient(ss[-1], y, cost)
    deltas = backpropagate(net, ss, delta)
    gw = [z.T @ d for z, d in zip(zs, deltas)]                     # (n_k, n_{k+1}), eq. (3)
    gb = [d.sum(axis=0) for d in deltas]
    return c, gw, gb, deltas


def sgd_step(net: Network, x: np.ndarray, y: np.ndarray, lr: float, cost: str = "nll") -> float:
    """One SGD update of ``net`` in place; returns the minibatch's mean cost before it."""
    c, gw, gb, _ = gradients(net, x, y, cost)
    for w, b, dw, db in zip(net.weights, net.biases, gw, gb):
        w -= np.asarray(lr * dw, dtype=w.dtype)
        b -= np.asarray(lr * db, dtype=b.dtype)
    return c
