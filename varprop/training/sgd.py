"""The Numba SGD step: forward, top gradient, and a backward pass fused with the update.

At batch 10 an update is bound by weight traffic and by how the two cores share it (5 M weights
of the paper's network are read by the forward pass and read and written by the update; the
minibatch's activations are a few kB). So each weight matrix is streamed twice per update, not
four times, and each core streams the same rows in both passes:

- **Blocks of rows.** A layer's W^k is cut into fixed blocks of ``ROWS`` rows. The forward and
  the backward pass share the blocks among the threads the same way (Numba's static schedule),
  so the rows a core updates are the rows it reads in the next forward pass, still in its own
  caches. (Measured on this 2-core machine, docs/train.md: the forward pass in column strips,
  the backward in rows, ran 300-515 updates/s on 2 threads; with one partition 490-585.)
1. forward (``forward_layer``): each block computes its rows' share of s^k = z^k W^k + b^k
   into a partial sum of its own, by register tiles of up to ``TILE_ROWS`` minibatch rows × two
   vectors of columns (``tiles``: LLVM IR, since Numba's loops cannot keep such a tile in
   registers), the rows of W streamed past each tile; then s^k = b^k + the partial sums, in
   block order. z^{k+1} = f(s^k) by NumPy's vectorised f (in place where f is one NumPy ufunc);
2. top (``top_gradient``): the minibatch's mean cost and dC/ds^{L−1} of it (softmax + NLL or
   quadratic, ``kernels.costs``);
3. backward (``backward_update``), four rows of W^k at a time within each block: with the rows
   still in L1, first dC/ds^{k−1}_{r,i} = f'(s^{k−1}_{r,i}) Σ_j W_ij dC/ds^k_{r,j} (eq. 2, old
   weights, four minibatch rows per pass), then W_ij ← W_ij − lr Σ_r z^k_{r,i} dC/ds^k_{r,j}
   (eq. 3, four minibatch rows per pass); the last pass of dot products (two minibatch rows)
   also applies those two rows' update, one pass fewer. The input layer, with no dot products
   to take, is updated by register tiles of dC/ds (``tiles``). No gradient matrix is formed.

A layer with fewer than ``NARROW`` outputs (the paper's top layer: 9) is too narrow for rows of
vectors; it is transposed once per update and computed along its inputs (``narrow_forward``,
``narrow_backward``) on one thread. The weights live in one block of transparent huge pages
(``move_to_huge_pages``): with 4 kB pages, 20 MB of weights need 5,000 TLB entries per pass.
Their rows are padded with zeros to whole 64-byte vectors (``FusedStep``).

Every output element is computed in a fixed order by one thread, and the blocks do not depend
on the thread count, so the result is the same bits for any thread count. Reductions may be
reassociated (``fastmath={'reassoc', 'contract'}`` lets LLVM vectorise them) but NaN and inf keep
their meaning: divergence stays visible.

From a minibatch of ``blas_from_batch()`` examples (where there is one) BLAS products beat
the fused path (``BlasStep``): s = zW, dC/dz = dC/ds W^T and the
weight gradient z^T dC/ds are single-threaded BLAS calls on fixed blocks of ``BLOCK`` columns
(forward) or rows (backward) of W, the blocks shared among the step's own threads; the
element-wise parts (f, f') are NumPy ufuncs and a Numba kernel. A block's bits do not depend on
which thread computes it, so this path too gives the same bits for any thread count (OpenBLAS's
own threads do not: measured here, its threaded sgemm changes the last bits). ``step_for`` picks
the path from the batch size; the two agree to float rounding (tests/test_training_step.py).
Whether and where the BLAS path wins depends on OpenBLAS's kernels: on this machine's Zen 5 its
AVX-512 ones (SkylakeX, its own choice here) run sgemm at twice the rate of its AVX2 ones
(Haswell, which the machine's environment pins with ``OPENBLAS_CORETYPE``); the BLAS path wins
from 128 examples with the first and at no batch measured (up to 2048) with the second
(docs/train.md).
"""
from __future__ import annotations

import math
import mmap
import os
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit, prange

from ..kernels import CODES, derivative_code, numpy_functions, numpy_ufunc
from ..kernels.generated import derivative_from_output
from ..kernels.costs import COSTS, add_top_row, check_cost
from ..threads import blas_controller
from .network import Network
from .tiles import (TILE_ROWS, VECTOR_BYTES, one_vector, two_vectors, update_one_vector,
                    update_two_vectors)

FAST = {"reassoc", "contract"}
ROWS = 256           # rows of W per block of the fused path, in both passes
NARROW = 16          # layers with fewer outputs take the transposed, one-thread kernels
LANES = 16           # floats per 64-byte vector: the fused path pads its rows to a multiple
BLOCK = 256          # columns (forward) or rows (backward) of W per BLAS task
# measured crossovers (docs/train.md): fused below, BLAS from here (None: never), by OpenBLAS's
# kernels
BLAS_FROM_BATCH = {"avx512": 128, "other": None}
AVX512_CORES = ("skylakex", "cooperlake", "sapphirerapids")   # OpenBLAS's AVX-512 kernel sets
PATHS = ("fused", "blas")


@njit(cache=True)
def n_blocks(n, size=ROWS):
    """Blocks of ``size`` (the last one shorter) that cover n rows or columns."""
    return (n + size - 1) // size


HUGE_PAGE = 1 << 21  # bytes: a transparent huge page on x86-64 Linux


def huge_page_memory(nbytes: int) -> np.ndarray:
    """``nbytes`` of zeroed memory (uint8) starting on a HUGE_PAGE boundary and advised for
    transparent huge pages where the OS offers them (Linux's MADV_HUGEPAGE; elsewhere plain
    pages). One TLB entry then maps 2 MB of weights instead of 4 kB."""
    if not hasattr(mmap, "MAP_PRIVATE"):                     # Windows: no mmap flags
        return np.zeros(nbytes, dtype=np.uint8)
    # private, not shared, anonymous memory: shared memory takes huge pages only if shmem does
    region = mmap.mmap(-1, nbytes + HUGE_PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if hasattr(mmap, "MADV_HUGEPAGE"):
        region.madvise(mmap.MADV_HUGEPAGE)
    buf = np.frombuffer(region, dtype=np.uint8)
    start = (-buf.ctypes.data) % HUGE_PAGE
    return buf[start:start + nbytes]


def aligned_zeros(shape, dtype) -> np.ndarray:
    """A zeroed C-contiguous array starting on a 64-byte cache line (NumPy's own start on 16 or
    32 bytes: then every 64-byte vector load of a row of whole vectors spans two lines)."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape))
    buf = np.zeros(n * dtype.itemsize + 64, dtype=np.uint8)
    start = (-buf.ctypes.data) % 64
    return buf[start:start + n * dtype.itemsize].view(dtype).reshape(shape)


def move_to_huge_pages(weights: list[np.ndarray], widths: list[int]) -> list[np.ndarray]:
    """Copy each matrix in ``weights`` into one block of ``huge_page_memory``, each matrix
    starting on a 64-byte cache line and its rows padded with zeros to ``widths[k]`` elements.
    Returns the padded matrices, (n_in, widths[k]); ``weights`` then holds, in place in the
    list, their views of the first n_out columns (equal to the matrices given)."""
    homes, offsets, end = [], [], 0
    for w, width in zip(weights, widths):
        offsets.append(end)
        end += n_blocks(w.shape[0] * width * w.itemsize, 64) * 64
    block = huge_page_memory(end)
    for k, (w, at) in enumerate(zip(weights, offsets)):
        n_in, n_out = w.shape
        shape = (n_in, widths[k])
        home = block[at:at + shape[0] * shape[1] * w.itemsize].view(w.dtype).reshape(shape)
        home[:, :n_out] = w
        homes.append(home)
        weights[k] = home[:, :n_out]
    return homes


def partial_sums(n_in: int, n_out: int, batch_size: int, dtype) -> np.ndarray:
    """The forward pass's workspace for one layer: each block's share of z W, (blocks, B, n_out)."""
    return aligned_zeros((n_blocks(n_in), batch_size, n_out), dtype)


@njit(cache=True, fastmath=FAST)
def _forward_tail(z, W, acc, i0, i1, j0):
    """acc[:, j0:] = z[:, i0:i1] W[i0:i1, j0:], the columns past the last whole vector (a
    layer whose rows are not padded, ``_Step.width``).  acc: (B, n_out)."""
    for r in range(z.shape[0]):
        for j in range(j0, W.shape[1]):
            acc[r, j] = 0
            for i in range(i0, i1):
                acc[r, j] += z[r, i] * W[i, j]


@njit(cache=True, parallel=True, fastmath=FAST)
def forward_layer(z, W, b, s, partial):
    """s = z W + b (eq. 1's pre-activation).  z: (B, n_in); W: (n_in, n_out); b: (n_out,);
    s: (B, n_out) output; partial: ``partial_sums(n_in, n_out, B)``, the blocks' shares.
    Blocks of ROWS rows in parallel, each its share of z W by register tiles (``tiles``) of
    up to TILE_ROWS minibatch rows × two vectors of columns; then s = b + Σ_blocks, in block
    order."""
    n_in, n_out = W.shape
    B = z.shape[0]
    lanes = VECTOR_BYTES // W.itemsize
    for k in prange(partial.shape[0]):
        i0, i1 = k * ROWS, min(n_in, (k + 1) * ROWS)
        acc = partial[k]                                         # (B, n_out)
        j = 0
        while j + 2 * lanes <= n_out:
            for r0 in range(0, B, TILE_ROWS):
                two_vectors(z, W, acc, r0, min(TILE_ROWS, B - r0), i0, i1, j)
            j += 2 * lanes
        if j + lanes <= n_out:
            for r0 in range(0, B, TILE_ROWS):
                one_vector(z, W, acc, r0, min(TILE_ROWS, B - r0), i0, i1, j)
            j += lanes
        if j < n_out:
            _forward_tail(z, W, acc, i0, i1, j)
    for r in range(B):
        sr = s[r]
        for j in range(n_out):
            sr[j] = b[j]
        for k in range(partial.shape[0]):
            p = partial[k, r]
            for j in range(n_out):
                sr[j] += p[j]


@njit(cache=True)
def top_gradient(s, y, cost_code, delta):
    """Mean cost of the minibatch and delta = dC/ds of it.  s, delta: (B, C); y: (B,) int.
    cost_code: ``costs.NLL`` (softmax + NLL) or ``costs.QUADRATIC`` (softmax + quadratic), the
    costs of ``kernels.costs``."""
    B, C = s.shape
    total = 0.0
    p = np.empty(C)
    for r in range(B):
        total = add_top_row(s, r, y[r], cost_code, float(B), p, delta, total)
    return total / B


@njit(cache=True, fastmath=FAST)
def _backward_row(w, i, z, d, lr, code, s_in, delta_in):
    """Row i of W^k alone (w: (n_out,), a view; the rows of a block past its last four):
    dC/ds^{k−1}_{r,i} from the old row, then the row's update, four minibatch rows per pass."""
    B = d.shape[0]
    n_out = w.shape[0]
    zero = lr - lr
    for r in range(B):
        acc = zero
        dr = d[r]
        for j in range(n_out):
            acc += w[j] * dr[j]
        delta_in[r, i] = acc * derivative_from_output(code, s_in[r, i], z[r, i])
    r = 0
    while r + 4 <= B:
        c0, c1, c2, c3 = -lr * z[r, i], -lr * z[r + 1, i], -lr * z[r + 2, i], -lr * z[r + 3, i]
        d0, d1, d2, d3 = d[r], d[r + 1], d[r + 2], d[r + 3]
        for j in range(n_out):
            w[j] += (c0 * d0[j] + c1 * d1[j]) + (c2 * d2[j] + c3 * d3[j])
        r += 4
    while r < B:
        c0 = -lr * z[r, i]
        d0 = d[r]
        for j in range(n_out):
            w[j] += c0 * d0[j]
        r += 1


@njit(cache=True, fastmath=FAST)
def _backward_rows4(w0, w1, w2, w3, i, z, d, lr, code, s_in, delta_in):
    """Rows i .. i + 3 of W^k together (w0 .. w3: (n_out,) views): dC/ds^{k−1} of these units
    from the old rows (eq. 2), then the rows' update (eq. 3), with each load of d serving four
    rows of W and each load of W two or four minibatch rows (register blocking).

    Passes over the four rows, for B = 10: dot products for minibatch rows 0-3 and 4-7; one
    pass that both takes the dot products of rows 8-9 and applies their update, since it is
    the last pass that reads the old weights; then the updates of rows 0-3 and 4-7."""
    B = d.shape[0]
    n_out = w0.shape[0]
    zero = lr - lr
    end = B                                    # minibatch rows [0, end) still to apply
    fused = B >= 2                     # the last pair's dots and update in one pass
    stop = B - 2 if fused else B       # minibatch rows [0, stop): dot products alone
    r = 0
    while r + 4 <= stop:
        x0, x1, x2, x3 = d[r], d[r + 1], d[r + 2], d[r + 3]
        a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = zero
        c0 = c1 = c2 = c3 = e0 = e1 = e2 = e3 = zero
        for j in range(n_out):
            u0, u1, u2, u3 = w0[j], w1[j], w2[j], w3[j]
            v = x0[j]
            a0 += u0 * v
            a1 += u1 * v
            a2 += u2 * v
            a3 += u3 * v
            v = x1[j]
            b0 += u0 * v
            b1 += u1 * v
            b2 += u2 * v
            b3 += u3 * v
            v = x2[j]
            c0 += u0 * v
            c1 += u1 * v
            c2 += u2 * v
            c3 += u3 * v
            v = x3[j]
            e0 += u0 * v
            e1 += u1 * v
            e2 += u2 * v
            e3 += u3 * v
        _store_delta(delta_in, r, i, a0, a1, a2, a3, code, s_in, z)
        _store_delta(delta_in, r + 1, i, b0, b1, b2, b3, code, s_in, z)
        _store_delta(delta_in, r + 2, i, c0, c1, c2, c3, code, s_in, z)
        _store_delta(delta_in, r + 3, i, e0, e1, e2, e3, code, s_in, z)
        r += 4
    while r < stop:
        r1 = min(r + 1, stop - 1)          # an odd last row is computed twice, stored once
        x0, x1 = d[r], d[r1]
        a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = zero
        for j in range(n_out):
            u, v = x0[j], x1[j]
            a0 += w0[j] * u
            a1 += w1[j] * u
            a2 += w2[j] * u
            a3 += w3[j] * u
            b0 += w0[j] * v
            b1 += w1[j] * v
            b2 += w2[j] * v
            b3 += w3[j] * v
        _store_delta(delta_in, r, i, a0, a1, a2, a3, code, s_in, z)
        _store_delta(delta_in, r1, i, b0, b1, b2, b3, code, s_in, z)
        r += 2
    if fused:
        r, r1 = B - 2, B - 1
        x0, x1 = d[r], d[r1]
        a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = zero
        f0, f1 = -lr * z[r, i], -lr * z[r1, i]
        g0, g1 = -lr * z[r, i + 1], -lr * z[r1, i + 1]
        h0, h1 = -lr * z[r, i + 2], -lr * z[r1, i + 2]
        k0, k1 = -lr * z[r, i + 3], -lr * z[r1, i + 3]
        for j in range(n_out):
            u, v = x0[j], x1[j]
            u0, u1, u2, u3 = w0[j], w1[j], w2[j], w3[j]      # old weights: read first
            a0 += u0 * u
            a1 += u1 * u
            a2 += u2 * u
            a3 += u3 * u
            b0 += u0 * v
            b1 += u1 * v
            b2 += u2 * v
            b3 += u3 * v
            w0[j] = u0 + (f0 * u + f1 * v)
            w1[j] = u1 + (g0 * u + g1 * v)
            w2[j] = u2 + (h0 * u + h1 * v)
            w3[j] = u3 + (k0 * u + k1 * v)
        _store_delta(delta_in, r, i, a0, a1, a2, a3, code, s_in, z)
        _store_delta(delta_in, r1, i, b0, b1, b2, b3, code, s_in, z)
        end = r
    r = 0
    while r + 4 <= end:
        d0, d1, d2, d3 = d[r], d[r + 1], d[r + 2], d[r + 3]
        a0, a1, a2, a3 = -lr * z[r, i], -lr * z[r + 1, i], -lr * z[r + 2, i], -lr * z[r + 3, i]
        b0, b1 = -lr * z[r, i + 1], -lr * z[r + 1, i + 1]
        b2, b3 = -lr * z[r + 2, i + 1], -lr * z[r + 3, i + 1]
        c0, c1 = -lr * z[r, i + 2], -lr * z[r + 1, i + 2]
        c2, c3 = -lr * z[r + 2, i + 2], -lr * z[r + 3, i + 2]
        e0, e1 = -lr * z[r, i + 3], -lr * z[r + 1, i + 3]
        e2, e3 = -lr * z[r + 2, i + 3], -lr * z[r + 3, i + 3]
        for j in range(n_out):
            x0, x1, x2, x3 = d0[j], d1[j], d2[j], d3[j]
            w0[j] += (a0 * x0 + a1 * x1) + (a2 * x2 + a3 * x3)
            w1[j] += (b0 * x0 + b1 * x1) + (b2 * x2 + b3 * x3)
            w2[j] += (c0 * x0 + c1 * x1) + (c2 * x2 + c3 * x3)
            w3[j] += (e0 * x0 + e1 * x1) + (e2 * x2 + e3 * x3)
        r += 4
    if r + 2 <= end:
        d0, d1 = d[r], d[r + 1]
        a0, a1, b0, b1 = -lr * z[r, i], -lr * z[r + 1, i], -lr * z[r, i + 1], -lr * z[r + 1, i + 1]
        c0, c1 = -lr * z[r, i + 2], -lr * z[r + 1, i + 2]
        e0, e1 = -lr * z[r, i + 3], -lr * z[r + 1, i + 3]
        for j in range(n_out):
            x0, x1 = d0[j], d1[j]
            w0[j] += a0 * x0 + a1 * x1
            w1[j] += b0 * x0 + b1 * x1
            w2[j] += c0 * x0 + c1 * x1
            w3[j] += e0 * x0 + e1 * x1
        r += 2
    if r < end:
        d0 = d[r]
        a0, b0, c0, e0 = -lr * z[r, i], -lr * z[r, i + 1], -lr * z[r, i + 2], -lr * z[r, i + 3]
        for j in range(n_out):
            x0 = d0[j]
            w0[j] += a0 * x0
            w1[j] += b0 * x0
            w2[j] += c0 * x0
            w3[j] += e0 * x0


@njit(cache=True, fastmath=FAST)
def _update_rows(W, coef, d, i0, i1):
    """W[i0:i1] += coef[:, i0:i1]ᵀ d (eq. 3; coef = −lr z) by register tiles of up to
    TILE_ROWS minibatch rows × two vectors of columns of d (``tiles.update_tile``), the columns
    past the last whole vector (a layer whose rows are not padded) by a scalar loop; each
    weight's sum from its old value over the minibatch rows in order."""
    B, n_out = d.shape
    lanes = VECTOR_BYTES // W.itemsize
    j = 0
    while j + 2 * lanes <= n_out:
        for r0 in range(0, B, TILE_ROWS):
            update_two_vectors(coef, d, W, r0, min(TILE_ROWS, B - r0), i0, i1, j)
        j += 2 * lanes
    if j + lanes <= n_out:
        for r0 in range(0, B, TILE_ROWS):
            update_one_vector(coef, d, W, r0, min(TILE_ROWS, B - r0), i0, i1, j)
        j += lanes
    for i in range(i0, i1):
        for r in range(B):
            c = coef[r, i]
            for q in range(j, n_out):
                W[i, q] += c * d[r, q]


@njit(cache=True, fastmath=FAST)
def _store_delta(delta_in, r, i, a0, a1, a2, a3, code, s_in, z):
    """delta_in[r, i + q] = a_q f'(s_in[r, i + q]), q = 0 .. 3: eq. (2)'s element-wise factor
    (f' from z = f(s_in) where that is cheaper, ``derivative_from_output``)."""
    delta_in[r, i] = a0 * derivative_from_output(code, s_in[r, i], z[r, i])
    delta_in[r, i + 1] = a1 * derivative_from_output(code, s_in[r, i + 1], z[r, i + 1])
    delta_in[r, i + 2] = a2 * derivative_from_output(code, s_in[r, i + 2], z[r, i + 2])
    delta_in[r, i + 3] = a3 * derivative_from_output(code, s_in[r, i + 3], z[r, i + 3])


@njit(cache=True, parallel=True, fastmath=FAST)
def backward_update(W, b, z, d, lr, code, s_in, delta_in, need_delta, coef):
    """One layer's back-propagation fused with its SGD update, in place.

    W: (n_in, n_out), b: (n_out,) updated; z: (B, n_in) the layer's input; d: (B, n_out)
    dC/ds of this layer; lr: scalar of W's dtype; coef: (B, n_in) workspace.  If
    ``need_delta``: delta_in (B, n_in) gets dC/ds of the layer below, f'(s_in) ⊙ (d Wᵀ), with
    the weights before the update (s_in: (B, n_in) that layer's pre-activation, z = f(s_in)),
    four rows of W at a time (``_backward_rows4``).  Without (the input layer) the update
    alone, by register tiles of dC/ds (``_update_rows``; coef = −lr z).  The blocks of ROWS
    rows of ``forward_layer``, in parallel.
    """
    n_in = W.shape[0]
    B = d.shape[0]
    for k in prange(n_blocks(n_in)):
        i, i1 = k * ROWS, min(n_in, (k + 1) * ROWS)
        if need_delta:
            while i + 4 <= i1:
                _backward_rows4(W[i], W[i + 1], W[i + 2], W[i + 3], i, z, d, lr, code, s_in,
                                delta_in)
                i += 4
            for q in range(i, i1):
                _backward_row(W[q], q, z, d, lr, code, s_in, delta_in)
        else:
            for r in range(B):
                for q in range(i, i1):
                    coef[r, q] = -lr * z[r, q]
            _update_rows(W, coef, d, i, i1)
    _update_bias(b, d, lr)


@njit(cache=True, fastmath=FAST)
def _update_bias(b, d, lr):
    """b ← b − lr Σ_r d_r (eq. 3's bias term).  b: (n_out,); d: (B, n_out)."""
    B, n_out = d.shape
    for j in range(n_out):
        acc = lr - lr
        for r in range(B):
            acc += d[r, j]
        b[j] -= lr * acc


@njit(cache=True, fastmath=FAST)
def narrow_forward(z, W, b, s, WT):
    """s = z W + b for a layer of few outputs, as dot products along its inputs.
    z: (B, n_in); W: (n_in, n_out); s: (B, n_out); WT: (n_out, n_in) gets W^T, the old
    weights that ``narrow_backward`` then reads."""
    n_in, n_out = W.shape
    for i in range(n_in):
        for j in range(n_out):
            WT[j, i] = W[i, j]
    for r in range(z.shape[0]):
        zr = z[r]
        for j in range(n_out):
            w = WT[j]
            acc = b[j] - b[j]
            for i in range(n_in):
                acc += zr[i] * w[i]
            s[r, j] = b[j] + acc


@njit(cache=True, fastmath=FAST)
def narrow_backward(W, WT, b, z, d, lr, code, s_in, delta_in, need_delta):
    """``backward_update`` for a layer of few outputs, along its inputs: WT (n_out, n_in) holds
    the old weights (from ``narrow_forward``); it is updated and copied back into W."""
    n_in, n_out = W.shape
    B = z.shape[0]
    if need_delta:
        for r in range(B):
            g = delta_in[r, :n_in]                              # (n_in,)
            g[:] = 0
            for j in range(n_out):
                x = d[r, j]
                w = WT[j]
                for i in range(n_in):
                    g[i] += x * w[i]
        times_derivative(delta_in[:, :n_in], code, s_in[:, :n_in], z[:, :n_in])
    for j in range(n_out):
        w = WT[j]
        for r in range(B):
            c = -lr * d[r, j]
            zr = z[r]
            for i in range(n_in):
                w[i] += c * zr[i]
    for i in range(n_in):
        for j in range(n_out):
            W[i, j] = WT[j, i]
    _update_bias(b, d, lr)


@njit(cache=True, fastmath=FAST, nogil=True)
def times_derivative(g, code, s, z):
    """g ← g ⊙ f'(s) in place, eq. (2)'s element-wise factor; g, s, z: (B, m), z = f(s)."""
    B, m = g.shape
    for r in range(B):
        for i in range(m):
            g[r, i] *= derivative_from_output(code, s[r, i], z[r, i])


class _Step:
    """What both paths hold: the network, its cost and activation forms, and the per-layer
    workspaces for minibatches of B: s^k, z^k (z^0 is the caller's x) and dC/ds^k.

    A step moves the weights to huge pages (``move_to_huge_pages``) and the biases to arrays of
    its own, its *home*, each row padded with zeros to ``width[k]`` elements (``LANES``: none
    here; see ``FusedStep``); ``net.weights`` and ``net.biases`` then hold views of the home's
    first n_{k+1} columns, equal to the arrays they held. Read the weights through ``net``, not
    through arrays taken from it before. An array put in their place is moved home at the next
    update. (Measured here, docs/train.md: 4 kB pages cost 5–18 % of the rate.)"""

    LANES = 1

    def __init__(self, net: Network, batch_size: int, cost: str = "nll"):
        self.net = net
        self.cost_code = COSTS.index(check_cost(cost))
        self.code, self.times = _derivative(net.activation)
        self.f = numpy_functions(net.activation)[0]
        self.ufunc = numpy_ufunc(net.activation)      # tanh: np.tanh, applied in place
        dt, B = net.dtype, int(batch_size)
        self.n = list(net.widths[1:])
        self.narrow = [n < NARROW for n in self.n]
        # padded widths; not the top layer's, whose columns the cost reads, nor a narrow one's
        self.width = [n if narrow or k == len(self.n) - 1 else n_blocks(n, self.LANES) * self.LANES
                      for k, (n, narrow) in enumerate(zip(self.n, self.narrow))]
        self._move_home()
        self.s = [aligned_zeros((B, w), dt) for w in self.width]
        self.z = [None] + [aligned_zeros((B, w), dt) for w in self.width[:-1]]
        self.delta = [aligned_zeros((B, w), dt) for w in self.width]     # padding stays 0

    def _move_home(self):
        """The home: ``self.W[k]`` (n_k, width[k]) and ``self.b[k]`` (width[k],), their padding
        0; ``net``'s lists hold views of their first n_{k+1} columns."""
        net = self.net
        self.W = move_to_huge_pages(net.weights, self.width)
        self.b = []
        for k, n in enumerate(self.n):
            home = aligned_zeros(self.width[k], net.biases[k].dtype)
            home[:n] = net.biases[k]
            self.b.append(home)
            net.biases[k] = home[:n]
        self._views = [*net.weights, *net.biases]

    def _check_home(self):
        """Move home any array put in the place of a view of the home since the last update."""
        if any(a is not b for a, b in zip(self._views, (*self.net.weights, *self.net.biases))):
            self._move_home()

    @property
    def preactivations(self) -> list[np.ndarray]:
        """s^k of the last minibatch, per layer: (B, n_{k+1})."""
        return [s[:, :n] for s, n in zip(self.s, self.n)]


class FusedStep(_Step):
    """``step(x, y, lr) -> cost``: one update of ``net`` in place (workspaces for batch B).

    The returned cost is the minibatch's mean cost *before* the update. If it is not finite,
    nothing is updated (the caller reports divergence; ``preactivations`` tells the layer).

    Each row of a layer's W^k, b^k, s^k and dC/ds^k is padded with zeros to a multiple of
    ``LANES`` (16 floats, 64 bytes; not the top layer's), so every loop along a row runs in
    whole vectors: a row of 1000 ended each pass in 8 scalar iterations (padded to 1008 the step
    ran 8 % faster on 1 thread and 18 % on 2, docs/train.md). The padding of W and b stays 0
    (its gradient is z^T 0 = 0) and adds only zeros to the sums: the real columns are those of
    the unpadded step, up to the order of summation."""

    LANES = LANES

    def __init__(self, net: Network, batch_size: int, cost: str = "nll"):
        super().__init__(net, batch_size, cost)
        self.dummy = np.empty((1, 1), dtype=net.dtype)
        dt, B = net.dtype, int(batch_size)
        # per layer: W^T (n_out, n_in) for a narrow layer, else the forward's partial sums
        self.work = [np.empty((n_out, n_in), dtype=dt) if narrow
                     else partial_sums(n_in, width, B, dt)
                     for n_in, n_out, width, narrow
                     in zip(net.widths[:-1], self.n, self.width, self.narrow)]
        self.coef = aligned_zeros((B, net.widths[0]), dt)   # −lr z^0: the input layer's update

    def __call__(self, x: np.ndarray, y: np.ndarray, lr: float) -> float:
        self._check_home()
        L = self.net.n_layers
        self.z[0] = x
        for k in range(L):
            forward = narrow_forward if self.narrow[k] else forward_layer
            forward(self.z[k], self.W[k], self.b[k], self.s[k], self.work[k])
            if k < L - 1:
                n = self.n[k]
                if self.ufunc is not None:
                    self.ufunc(self.s[k][:, :n], out=self.z[k + 1][:, :n])
                else:
                    self.z[k + 1][:, :n] = self.f(self.s[k][:, :n])
        cost = top_gradient(self.s[L - 1], y, self.cost_code, self.delta[L - 1])
        if not math.isfinite(cost):
            return cost
        lr_t = self.net.dtype.type(lr)
        for k in range(L - 1, -1, -1):
            below = k > 0
            args = (self.b[k], self.z[k], self.delta[k], lr_t, self.code,
                    self.s[k - 1] if below else self.dummy,
                    self.delta[k - 1] if below else self.dummy, below)
            if self.narrow[k]:
                narrow_backward(self.W[k], self.work[k], *args)
            else:
                backward_update(self.W[k], *args, self.dummy if below else self.coef)
            if below and self.times is not None:
                n = self.n[k - 1]
                self.times(self.delta[k - 1][:, :n], self.s[k - 1][:, :n])
        return cost


def _derivative(activation: str):
    """(code, times): a built-in's code for the kernels' f'; for any other activation the
    code of the identity, f' = 1, and ``times(g, s)``, its generated kernel g <- g f'(s),
    applied after them."""
    code = derivative_code(activation)
    if code is not None:
        return code, None
    from ..kernels.compiled import kernels
    return CODES["linear"], kernels(activation).times_derivative


def _blocks(n: int) -> list[tuple[int, int]]:
    return [(i, min(n, i + BLOCK)) for i in range(0, n, BLOCK)]


class BlasStep(_Step):
    """The same update as ``FusedStep`` by BLAS products, for large minibatches (see the module
    docstring); ``threads`` (default: all cores) share each layer's blocks."""

    def __init__(self, net: Network, batch_size: int, cost: str = "nll",
                 threads: int | None = None):
        super().__init__(net, batch_size, cost)
        dt, B = net.dtype, int(batch_size)
        self.scaled = [np.empty((B, n), dtype=dt) for n in net.widths[1:]]   # −lr dC/ds
        self.threads = max(1, int(threads or os.cpu_count() or 1))
        # one gradient block per thread: (BLOCK, n_out) of z^T (−lr dC/ds), in L2
        self.grad = [np.empty((BLOCK, max(net.widths[1:])), dtype=dt)
                     for _ in range(self.threads)]
        self.pool = None
        if self.threads > 1:
            self.pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="varprop-step")
            weakref.finalize(self, self.pool.shutdown, wait=False)

    def _share(self, task, blocks):
        """task(worker, lo, hi) for every block, worker w taking blocks w, w + T, ...; the
        caller's thread is worker 0."""
        T = min(self.threads, len(blocks))

        def run(w):
            for lo, hi in blocks[w::T]:
                task(w, lo, hi)

        futures = [self.pool.submit(run, w) for w in range(1, T)]
        run(0)
        for f in futures:
            f.result()

    def __call__(self, x: np.ndarray, y: np.ndarray, lr: float) -> float:
        net = self.net
        L = net.n_layers
        self.z[0] = x
        with blas_controller().limit(limits=1, user_api="blas"):
            for k in range(L):
                self._share(lambda w, lo, hi, k=k: self._forward_block(k, lo, hi),
                            _blocks(net.widths[k + 1]))
            cost = top_gradient(self.s[L - 1], y, self.cost_code, self.delta[L - 1])
            if not math.isfinite(cost):
                return cost
            lr_t = net.dtype.type(lr)
            for k in range(L - 1, -1, -1):
                np.multiply(self.delta[k], -lr_t, out=self.scaled[k])
                self._share(lambda w, lo, hi, k=k: self._backward_block(k, w, lo, hi),
                            _blocks(net.widths[k]))
                net.biases[k] += self.scaled[k].sum(axis=0)
        return cost

    def _forward_block(self, k, lo, hi):
        """Columns lo .. hi − 1 of s^k = z^k W^k + b^k and of z^{k+1} = f(s^k)."""
        s = self.s[k][:, lo:hi]                                       # (B, hi − lo)
        np.matmul(self.z[k], self.net.weights[k][:, lo:hi], out=s)
        s += self.net.biases[k][lo:hi]
        if k < self.net.n_layers - 1:
            if self.ufunc is not None:
                self.ufunc(s, out=self.z[k + 1][:, lo:hi])
            else:
                self.z[k + 1][:, lo:hi] = self.f(s)

    def _backward_block(self, k, w, lo, hi):
        """Rows lo .. hi − 1 of W^k: dC/ds^{k−1} of those units from the old rows (eq. 2),
        then the rows' update W ← W − lr z^T dC/ds (eq. 3)."""
        W = self.net.weights[k][lo:hi]                                # (hi − lo, n_out)
        if k > 0:
            below = self.delta[k - 1][:, lo:hi]                       # (B, hi − lo)
            np.matmul(self.delta[k], W.T, out=below)
            if self.times is None:
                times_derivative(below, self.code, self.s[k - 1][:, lo:hi], self.z[k][:, lo:hi])
            else:
                self.times(below, self.s[k - 1][:, lo:hi])
        g = self.grad[w][:hi - lo, :W.shape[1]]
        np.matmul(self.z[k][:, lo:hi].T, self.scaled[k], out=g)
        np.add(W, g, out=W)


def blas_kernels() -> str:
    """The kernel set of this process's BLAS as threadpoolctl reports it (OpenBLAS: "Haswell",
    "SkylakeX", ...; "" where it reports none)."""
    for info in blas_controller().info():
        if info.get("user_api") == "blas":
            return str(info.get("architecture") or "")
    return ""


def blas_from_batch() -> int | None:
    """The minibatch size from which ``step_for`` takes the BLAS path (None: at none):
    ``BLAS_FROM_BATCH`` for OpenBLAS's AVX-512 kernels or for any other BLAS."""
    return BLAS_FROM_BATCH["avx512" if blas_kernels().lower() in AVX512_CORES else "other"]


def step_for(net: Network, batch_size: int, cost: str = "nll", path: str = "auto",
             threads: int | None = None) -> FusedStep | BlasStep:
    """The SGD step for minibatches of ``batch_size``: ``path`` "fused" (Numba, threads set
    by Numba), "blas" (``threads``) or "auto" ("blas" from ``blas_from_batch()`` examples)."""
    if path == "auto":
        crossover = blas_from_batch()
        path = "blas" if crossover is not None and batch_size >= crossover else "fused"
    if path == "fused":
        return FusedStep(net, batch_size, cost)
    if path == "blas":
        return BlasStep(net, batch_size, cost, threads)
    raise ValueError(f"unknown step path {path!r}; choose auto, {', '.join(PATHS)}")
