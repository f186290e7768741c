"""Numba kernels for the element-wise parts of the forward and backward passes, fused with the
streaming statistics of what they touch.

The matrix products stay in NumPy's BLAS (one BLAS, threads set by the caller); each kernel
makes one pass over a (rows, units) block, writes what the next product needs, and folds every
value into *accumulators*, never keeping values for later:

- ``mom``: float64 (N_BLOCKS, 4): count, sum, sum of squares, non-finite count;
- ``hist``: int64 (N_BLOCKS, B + 2): B fixed bins on [lo, hi), then underflow, overflow.

Rows are split into N_BLOCKS fixed blocks, each summed by one thread into its own row of the
accumulators; the caller adds the rows in order, so results do not depend on thread timing.
Kernels do no I/O and hold no random state.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .costs import NLL, add_top_row
from .generated import derivative_from_output

N_BLOCKS = 8
COUNT, SUM, SUMSQ, NONFINITE = range(4)


def new_accumulator(bins: int):
    """Fresh (mom, hist) accumulators for one quantity of one layer."""
    return np.zeros((N_BLOCKS, 4)), np.zeros((N_BLOCKS, bins + 2), dtype=np.int64)


@njit(cache=True, inline="always")
def _add(v, mom, hist, blk, lo, inv_width, bins):
    """Fold one value into block ``blk`` of the accumulators."""
    if not math.isfinite(v):
        mom[blk, NONFINITE] += 1.0
        return
    mom[blk, COUNT] += 1.0
    mom[blk, SUM] += v
    mom[blk, SUMSQ] += v * v
    pos = (v - lo) * inv_width
    if pos < 0.0:
        hist[blk, bins] += 1
    elif pos >= bins:
        hist[blk, bins + 1] += 1
    else:
        hist[blk, int(pos)] += 1


@njit(cache=True)
def _block(rows, blk):
    """Row range [start, stop) of block ``blk``."""
    size = (rows + N_BLOCKS - 1) // N_BLOCKS
    start = min(rows, blk * size)
    return start, min(rows, start + size)


@njit(cache=True, parallel=True)
def accumulate(a, mom, hist, lo, hi):
    """Fold every entry of ``a`` (rows, units) into the accumulators."""
    bins = hist.shape[1] - 2
    inv = bins / (hi - lo)
    rows, cols = a.shape
    for blk in prange(N_BLOCKS):
        r0, r1 = _block(rows, blk)
        for r in range(r0, r1):
            for c in range(cols):
                _add(float(a[r, c]), mom, hist, blk, lo, inv, bins)


@njit(cache=True, parallel=True)
def forward_layer(s, z, code, fprime, mom_s, hist_s, lo_s, hi_s, mom_z, hist_z, lo_z, hi_z,
                  col_sq_norm, jac):
    """f'(s) for the backward pass, statistics of s and z = f(s), and per input the mean
    squared singular value of the layer Jacobian diag(f'(s)) W^T (Section 4.2.2).

    s, z (already f(s): NumPy's vectorised f is several times faster than a scalar libm call
    per element), fprime: (rows, n_out), written here; code < 0: an activation without a code,
    whose f'(s) the caller has written into fprime already; col_sq_norm: (n_out,) squared column norms of W;
    jac: (N_BLOCKS, 2) sum over inputs of tr(J J^T), and their count; the caller divides by
    min(n_in, n_out), the number of singular values.
    """
    bins_s, bins_z = hist_s.shape[1] - 2, hist_z.shape[1] - 2
    inv_s, inv_z = bins_s / (hi_s - lo_s), bins_z / (hi_z - lo_z)
    rows, cols = s.shape
    for blk in prange(N_BLOCKS):
        r0, r1 = _block(rows, blk)
        for r in range(r0, r1):
            trace = 0.0
            for c in range(cols):
                v = s[r, c]
                zv = z[r, c]
                dv = derivative_from_output(code, v, zv) if code >= 0 else fprime[r, c]
                fprime[r, c] = dv
                _add(float(v), mom_s, hist_s, blk, lo_s, inv_s, bins_s)
                _add(float(zv), mom_z, hist_z, blk, lo_z, inv_z, bins_z)
                trace += float(dv) * float(dv) * col_sq_norm[c]
            jac[blk, 0] += trace
            jac[blk, 1] += 1.0


@njit(cache=True, parallel=True)
def backward_layer(g, fprime, mom, hist, lo, hi):
    """delta = g * f'(s) in place of g (g = delta^{i+1} W^{i+1 T}, eq. 2), with its statistics."""
    bins = hist.shape[1] - 2
    inv = bins / (hi - lo)
    rows, cols = g.shape
    for blk in prange(N_BLOCKS):
        r0, r1 = _block(rows, blk)
        for r in range(r0, r1):
            for c in range(cols):
                v = g[r, c] * fprime[r, c]
                g[r, c] = v
                _add(float(v), mom, hist, blk, lo, inv, bins)


@njit(cache=True, parallel=True)
def softmax_nll_gradient(s, labels, delta):
    """delta = softmax(s) - onehot(labels): dC/ds at the top for C = -log P(y|x), per example
    (``costs.add_top_row``). Returns the summed cost per block (N_BLOCKS,)."""
    rows, cols = s.shape
    cost = np.zeros(N_BLOCKS)
    for blk in prange(N_BLOCKS):
        r0, r1 = _block(rows, blk)
        p = np.empty(cols)
        for r in range(r0, r1):
            cost[blk] = add_top_row(s, r, labels[r], NLL, 1.0, p, delta, cost[blk])
    return cost


@njit(cache=True, parallel=True)
def weight_gradient(z, delta, l_idx, k_idx, mom, hist, lo, hi):
    """Statistics of the per-example weight gradients dC/dW_lk = z_l delta_k (eq. 3).

    Moments over all n_in * n_out entries come from row sums — sum_lk z_l d_k = (sum z)(sum d),
    sum_lk (z_l d_k)^2 = (sum z^2)(sum d^2) — so the (n_in, n_out) gradient is never formed; the
    histogram uses the fixed sample of pairs (l_idx x k_idx).
    z: (rows, n_in); delta: (rows, n_out).
    """
    bins = hist.shape[1] - 2
    inv = bins / (hi - lo)
    rows, n_in = z.shape
    n_out = delta.shape[1]
    for blk in prange(N_BLOCKS):
        r0, r1 = _block(rows, blk)
        for r in range(r0, r1):
            a1 = 0.0
            a2 = 0.0
            for l in range(n_in):
                v = float(z[r, l])
                a1 += v
                a2 += v * v
            b1 = 0.0
            b2 = 0.0
            for k in range(n_out):
                v = float(delta[r, k])
                b1 += v
                b2 += v * v
            if math.isfinite(a1 * b1) and math.isfinite(a2 * b2):
                mom[blk, COUNT] += n_in * n_out
                mom[blk, SUM] += a1 * b1
                mom[blk, SUMSQ] += a2 * b2
            else:
                mom[blk, NONFINITE] += n_in * n_out
            for a in range(l_idx.shape[0]):
                zl = float(z[r, l_idx[a]])
                for b in range(k_idx.shape[0]):
                    v = zl * float(delta[r, k_idx[b]])
                    pos = (v - lo) * inv
                    if not math.isfinite(v):
                        continue
                    if pos < 0.0:
                        hist[blk, bins] += 1
                    elif pos >= bins:
                        hist[blk, bins + 1] += 1
                    else:
                        hist[blk, int(pos)] += 1
