"""The top of every network: softmax output and its cost, defined once per backend.

For the top pre-activation s (one row per example, one column per class) and the label y:
- ``nll``: C = −log softmax(s)_y (the paper's cost), dC/ds = p − onehot(y);
- ``quadratic``: C = Σ_j (p_j − onehot(y)_j)² (Figure 5's alternative), dC/ds_j =
  2 p_j [(p_j − y_j) − Σ_k p_k (p_k − y_k)];
with p = softmax(s), computed from s − max(s) so that no exp overflows.

- Numba, one row at a time (``softmax_row``, ``add_top_row``): the SGD step's top
  (``training.sgd.top_gradient``) and the Monte-Carlo passes' softmax + NLL
  (``kernels.passes.softmax_nll_gradient``);
- NumPy, whole arrays (``softmax``, ``top_costs``, ``top_cost_and_gradient``): the NumPy SGD
  step and the monitors (``training.numpy_step``) and Figure 5's cost surface
  (``experiments.cost_surface``).

The two backends agree to rounding, not bit for bit (sums in another order); each one's own
operation order is fixed, and the committed results depend on it.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

COSTS = ("nll", "quadratic")
NLL, QUADRATIC = range(2)          # the Numba kernels' cost codes: the index in COSTS


def check_cost(cost: str) -> str:
    if cost not in COSTS:
        raise ValueError(f"unknown cost {cost!r}; choose one of: {', '.join(COSTS)} "
                         "(nll: softmax + negative log-likelihood; quadratic: softmax + "
                         "squared error)")
    return cost


# -- Numba: one row ----------------------------------------------------------------------------

@njit(cache=True)
def softmax_row(s, r, p):
    """p (float64, (C,)) = softmax(s[r]); returns (m, norm): log softmax(s[r])_j =
    s[r, j] − m − log(norm)."""
    C = s.shape[1]
    m = -np.inf
    for j in range(C):
        m = max(m, float(s[r, j]))
    norm = 0.0
    for j in range(C):
        p[j] = math.exp(float(s[r, j]) - m)
        norm += p[j]
    for j in range(C):
        p[j] /= norm
    return m, norm


@njit(cache=True)
def add_top_row(s, r, label, code, divisor, p, delta, total):
    """Row r of the top: delta[r] = (dC/ds of the row's cost) / divisor; returns ``total`` plus
    the row's cost C. code: ``NLL`` or ``QUADRATIC``; p: float64 (C,) workspace (left holding
    softmax(s[r])). The quadratic cost's terms are added to ``total`` one by one."""
    m, norm = softmax_row(s, r, p)
    C = s.shape[1]
    if code == NLL:
        total += m + math.log(norm) - float(s[r, label])
        for j in range(C):
            delta[r, j] = (p[j] - (1.0 if j == label else 0.0)) / divisor
        return total
    dot = 0.0
    for j in range(C):
        e = p[j] - (1.0 if j == label else 0.0)
        total += e * e
        dot += p[j] * e
    for j in range(C):
        e = p[j] - (1.0 if j == label else 0.0)
        delta[r, j] = 2.0 * p[j] * (e - dot) / divisor
    return total


# -- NumPy: whole arrays -----------------------------------------------------------------------

def softmax(s: np.ndarray) -> np.ndarray:
    """softmax of each row of s (B, C)."""
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _onehot(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    onehot = np.zeros_like(p)
    onehot[np.arange(p.shape[0]), y] = 1
    return onehot


def _nll(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    m = s.max(axis=1, keepdims=True)
    logp = s - m - np.log(np.exp(s - m).sum(axis=1, keepdims=True))
    return -logp[np.arange(s.shape[0]), y]


def top_costs(s: np.ndarray, y: np.ndarray, cost: str) -> np.ndarray:
    """Each row's cost C (B,) for the top pre-activation s (B, C) and labels y (B,)."""
    if check_cost(cost) == "nll":
        return _nll(s, y)
    p = softmax(s)
    r = p - _onehot(p, y)
    return (r * r).sum(axis=1)


def top_cost_and_gradient(s: np.ndarray, y: np.ndarray, cost: str):
    """(mean cost over the rows, dC/ds of the mean cost) for the top pre-activation s (B, C)."""
    check_cost(cost)
    B = s.shape[0]
    p = softmax(s)
    r = p - _onehot(p, y)
    if cost == "nll":
        return float(_nll(s, y).mean()), r / B
    c = (r * r).sum(axis=1)
    g = 2 * p * (r - (p * r).sum(axis=1, keepdims=True))
    return float(c.mean()), g / B


__all__ = ["COSTS", "NLL", "QUADRATIC", "add_top_row", "check_cost", "softmax", "softmax_row",
           "top_cost_and_gradient", "top_costs"]
