"""The SGD step: gradients against finite differences, both paths of the step (the fused
Numba rows and the BLAS blocks) against the NumPy step (``numpy_step``) and each other, and the
same bits for any thread count."""
import os
import subprocess
import sys

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from llvmlite import binding as llvm

from varprop.kernels.costs import top_cost_and_gradient
from varprop.training import numpy_step
from varprop.training.network import Network, init_network
from varprop.threads import blas_controller
from varprop.training import sgd
from varprop.training.sgd import (BLAS_FROM_BATCH, NARROW, PATHS, ROWS, BlasStep,
                                  FusedStep, blas_from_batch, step_for)
from varprop.training.tiles import TILE_ROWS, VECTOR_BYTES

ACTS = ["tanh", "sigmoid", "softsign", "relu", "linear"]


def batch(rng, B, widths):
    return rng.standard_normal((B, widths[0])), rng.integers(0, widths[-1], B)


@pytest.mark.parametrize("cost", ["nll", "quadratic"])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "softsign", "linear"])
def test_gradients_match_finite_differences(activation, cost):
    """Every dC/dW and dC/db of the NumPy step (eqs. 2-3) against central differences, float64."""
    widths = (5, 4, 3, 3)
    net = init_network(widths, activation, "normalized", dtype="float64", seed=2)
    for b in net.biases:                       # non-zero biases, so their gradients are tested
        b[:] = np.random.default_rng(3).normal(0, 0.3, b.shape)
    x, y = batch(np.random.default_rng(4), 6, widths)
    _, gw, gb, _ = numpy_step.gradients(net, x, y, cost)
    h = 1e-6
    for params, grads in ((net.weights, gw), (net.biases, gb)):
        for p, g in zip(params, grads):
            num = np.empty_like(p)
            for idx in np.ndindex(p.shape):
                old = p[idx]
                p[idx] = old + h
                up = top_cost_and_gradient(numpy_step.forward(net, x)[0][-1], y, cost)[0]
                p[idx] = old - h
                down = top_cost_and_gradient(numpy_step.forward(net, x)[0][-1], y, cost)[0]
                p[idx] = old
                num[idx] = (up - down) / (2 * h)
            np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)


def _run_both(widths, activation, cost, B, steps, lr, path, seed=0):
    net = init_network(widths, activation, "normalized", dtype="float64", seed=seed)
    ref = net.copy()
    step = step_for(net, B, cost, path=path)
    rng = np.random.default_rng(seed + 1)
    for _ in range(steps):
        x, y = batch(rng, B, widths)
        c1 = step(x, y, lr)
        c2 = numpy_step.sgd_step(ref, x, y, lr, cost)
        assert c1 == pytest.approx(c2, rel=1e-12)
    return net, ref


@given(widths=st.lists(st.integers(1, 40), min_size=3, max_size=5),
       activation=st.sampled_from(ACTS), cost=st.sampled_from(["nll", "quadratic"]),
       B=st.integers(1, 11), path=st.sampled_from(PATHS))
def test_step_equals_numpy_reference(widths, activation, cost, B, path):
    """Several updates of either path equal the NumPy step (float64, rtol 1e-10), for widths
    that are and are not multiples of the kernels' blocks of 4 rows, and layers narrower and
    wider than ``NARROW`` outputs (the fused path's transposed and row kernels)."""
    widths = [widths[0], *widths[1:-1], max(2, widths[-1])]
    net, ref = _run_both(widths, activation, cost, B, steps=4, lr=0.3, path=path)
    for a, b in zip(net.weights + net.biases, ref.weights + ref.biases):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("B", range(1, 10))
def test_fused_step_equals_reference_for_every_minibatch_tail(B):
    """The fused backward pass plans its passes by B (quads of minibatch rows, a pair or an odd
    row left, the last pair's dot products and update in one pass): every tail from B = 1 to 9,
    with a width below NARROW and widths that leave rows past the blocks of four."""
    net, ref = _run_both((23, 30, 19, 5), "tanh", "nll", B, steps=3, lr=0.3, path="fused")
    for a, b in zip(net.weights + net.biases, ref.weights + ref.biases):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("path, B", [("fused", 10), ("blas", 10), ("blas", 100)])
def test_step_equals_reference_on_paper_shapes(path, B):
    """1024-1000-1000-9: the shapes (and register tiles, and BLAS blocks) of the paper's network."""
    net, ref = _run_both((1024, 1000, 1000, 9), "tanh", "nll", B, steps=3, lr=0.1, path=path)
    for a, b in zip(net.weights + net.biases, ref.weights + ref.biases):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _gamma(n: int, dtype) -> float:
    """Higham's gamma_n = n u / (1 − n u): the relative bound on n roundings of a sum of
    products (Accuracy and Stability of Numerical Algorithms, eq. 3.4), u the unit roundoff."""
    nu = n * np.finfo(dtype).eps / 2
    return nu / (1 - nu)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("B", [1, 7, TILE_ROWS, TILE_ROWS + 1, 3 * TILE_ROWS + 2])
def test_forward_layer_register_tiles_equal_numpy(B, dtype):
    """The forward pass's register tiles (``tiles``) against NumPy's product: minibatches of
    one tile of rows, of several and a partial one; outputs ending in a tile of two vectors, of
    one, and in columns past the last vector (an unpadded layer); rows past the blocks of
    ROWS; an input that is not C-contiguous (the caller's x)."""
    rng = np.random.default_rng(B)
    lanes = VECTOR_BYTES // np.dtype(dtype).itemsize
    for n_in, n_out in ((ROWS + 37, 4 * lanes), (9, 5 * lanes), (ROWS, 3 * lanes + 3), (5, 2)):
        z = np.asfortranarray(rng.standard_normal((B, n_in)).astype(dtype))
        W = rng.standard_normal((n_in, n_out)).astype(dtype)
        b = rng.standard_normal(n_out).astype(dtype)
        s = np.full((B, n_out), np.nan, dtype=dtype)
        sgd.forward_layer(z, W, b, s, sgd.partial_sums(n_in, n_out, B, dtype))
        expected = z.astype(np.float64) @ W.astype(np.float64) + b
        # deterministic, not statistical: each element is b plus n_in products summed in at
        # most n_in + blocks + 1 roundings, so its error is within gamma_n (|z||W| + |b|); the
        # float64 reference's own, n_in + 1 roundings, adds its gamma
        n = n_in + sgd.n_blocks(n_in) + 1
        bound = (_gamma(n, dtype) + _gamma(n_in + 1, np.float64)) * (
            np.abs(z).astype(np.float64) @ np.abs(W) + np.abs(b))
        assert (np.abs(s - expected) <= bound).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("B", [1, 7, TILE_ROWS, TILE_ROWS + 1, 3 * TILE_ROWS + 2])
def test_update_register_tiles_equal_numpy(B, dtype):
    """The update's register tiles (``tiles.update_tile``, the input layer's update) against
    NumPy: W[i0:i1] += coefᵀ d for the same minibatches and column edges as above, rows i0 > 0,
    and the rows outside [i0, i1) untouched."""
    rng = np.random.default_rng(B + 100)
    lanes = VECTOR_BYTES // np.dtype(dtype).itemsize
    for n_in, n_out in ((ROWS + 37, 4 * lanes), (9, 5 * lanes), (40, 3 * lanes + 3), (5, 2)):
        W = rng.standard_normal((n_in, n_out)).astype(dtype)
        coef = sgd.aligned_zeros((B, n_in), dtype)
        coef[:] = rng.standard_normal((B, n_in))
        d = rng.standard_normal((B, n_out)).astype(dtype)
        i0, i1 = min(3, n_in - 1), n_in - 1
        expected = W.astype(np.float64)
        expected[i0:i1] += coef[:, i0:i1].T.astype(np.float64) @ d
        bound = np.zeros_like(expected)           # rows outside [i0, i1): exactly unchanged
        bound[i0:i1] = (_gamma(B, dtype) + _gamma(B + 1, np.float64)) * (
            np.abs(W[i0:i1]).astype(np.float64) + np.abs(coef[:, i0:i1]).T.astype(np.float64)
            @ np.abs(d))
        sgd._update_rows(W, coef, d, i0, i1)
        # deterministic: W plus B products in B roundings (FMAs), within gamma_B (|W| + |c|ᵀ|d|);
        # the float64 reference's own B + 1 roundings add theirs
        assert (np.abs(W - expected) <= bound).all()


AVX2 = ("+64bit,+avx,+avx2,+bmi,+bmi2,+cmov,+cx16,+f16c,+fma,+fxsr,+lzcnt,+mmx,+movbe,+popcnt,"
        "+sse,+sse2,+sse3,+sse4.1,+sse4.2,+ssse3,+xsave")


@pytest.mark.skipif(VECTOR_BYTES != 64 or not {"+avx2", "+fma"} <= set(
    llvm.get_host_cpu_features().flatten().split(",")), reason="tests the other width on AVX-512")
def test_register_tiles_of_an_avx2_machine(tmp_path):
    """The tiles this machine does not take: compiled for an AVX2 CPU (32-byte vectors, tiles
    of 5 rows) in a fresh process with its own Numba cache, the register-tile test and the
    fused step's reference test pass."""
    env = {**os.environ, "NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": AVX2,
           "NUMBA_CACHE_DIR": str(tmp_path)}
    code = ("from varprop.training import tiles; "
            "assert (tiles.VECTOR_BYTES, tiles.TILE_ROWS) == (32, 5)")
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__,
                          "-k", "register_tiles_equal or every_minibatch_tail or paper_shapes"],
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


@pytest.mark.parametrize("path", PATHS)
def test_float32_step_tracks_float64(path):
    widths = (64, 50, 50, 9)
    n32 = init_network(widths, "tanh", "normalized", dtype="float32", seed=5)
    n64 = n32.astype("float64")
    s32, s64 = step_for(n32, 10, path=path), step_for(n64, 10, path=path)
    rng = np.random.default_rng(6)
    for _ in range(20):
        x, y = batch(rng, 10, widths)
        s32(x.astype(np.float32), y, 0.1)
        s64(x, y, 0.1)
    # Deterministic, not statistical: float32 rounding (unit roundoff 6e-8 of weights up to
    # 0.33) compounded over 20 updates; measured 2.9e-7, bound 1e-5. A wrong float32 path
    # (e.g. a lost bias update) moves weights by ~1e-2.
    for a, b in zip(n32.weights, n64.weights):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


def test_paths_agree_in_float32():
    """The fused and the BLAS path on the same float32 updates: equal to float32 rounding
    (they sum in different orders), far below what a wrong update moves (~1e-2).
    Deterministic, not statistical: measured 3.4e-7 on the weights (|W| <= 0.21, unit roundoff
    6e-8, sums of up to 300 terms over 10 updates) and 5.6e-8 on the cost; bounds 1e-5."""
    widths = (300, 257, 130, 9)
    nets = [init_network(widths, "tanh", "normalized", dtype="float32", seed=3) for _ in PATHS]
    steps = [step_for(net, 64, path=path) for net, path in zip(nets, PATHS)]
    rng = np.random.default_rng(4)
    for _ in range(10):
        x, y = batch(rng, 64, widths)
        costs = [step(x.astype(np.float32), y, 0.1) for step in steps]
        assert costs[0] == pytest.approx(costs[1], rel=1e-5)
    for a, b in zip(nets[0].weights + nets[0].biases, nets[1].weights + nets[1].biases):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


def test_path_chosen_by_batch_size(monkeypatch):
    monkeypatch.setattr(sgd, "blas_kernels", lambda: "SkylakeX")
    net = init_network((6, 5, 3), "tanh", "standard", seed=1)
    assert isinstance(step_for(net, blas_from_batch() - 1), FusedStep)
    assert isinstance(step_for(net, blas_from_batch()), BlasStep)
    assert isinstance(step_for(net, 1000, path="fused"), FusedStep)
    with pytest.raises(ValueError, match="auto, fused, blas"):
        step_for(net, 10, path="gpu")


@pytest.mark.parametrize("kernels, crossover", [("SkylakeX", BLAS_FROM_BATCH["avx512"]),
                                                  ("Cooperlake", BLAS_FROM_BATCH["avx512"]),
                                                  ("Haswell", BLAS_FROM_BATCH["other"]),
                                                  ("", BLAS_FROM_BATCH["other"])])
def test_crossover_follows_openblas_kernels(monkeypatch, kernels, crossover):
    """OpenBLAS's AVX-512 kernels take the BLAS path from a crossover; with any other kernels
    the fused path was faster at every batch measured (docs/train.md), so it is taken at all."""
    monkeypatch.setattr(sgd, "blas_kernels", lambda: kernels)
    assert blas_from_batch() == crossover
    net = init_network((6, 5, 3), "tanh", "standard", seed=1)
    if crossover is None:
        assert isinstance(step_for(net, 4096), FusedStep)
    else:
        assert isinstance(step_for(net, crossover - 1), FusedStep)
        assert isinstance(step_for(net, crossover), BlasStep)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 Numba threads")
@pytest.mark.parametrize("path, B", [("fused", 10), ("blas", 70)])
def test_same_bits_for_any_thread_count(path, B):
    """1 and 2 threads, set as ``varprop train`` sets them: Numba's and OpenBLAS's pools and
    the BLAS path's own threads alike. (OpenBLAS's threaded sgemm changes the last bits at
    these shapes: the BLAS path must hold it to 1 thread.) The widths give the fused path
    several blocks of ``ROWS`` rows, register tiles of two vectors and of one (1030 outputs,
    padded to 1040) and a narrow top layer."""
    assert 1030 > 4 * ROWS and 9 < NARROW
    widths = (300, 1030, 257, 9)
    nets = []
    for threads in (1, 2):
        net = init_network(widths, "softsign", "standard", dtype="float32", seed=7)
        step = step_for(net, B, path=path, threads=threads)
        rng = np.random.default_rng(8)
        previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            with blas_controller().limit(limits=threads, user_api="blas"):
                for _ in range(10):
                    x, y = batch(rng, B, widths)
                    step(x.astype(np.float32), y, 0.05)
        finally:
            numba.set_num_threads(previous)
        nets.append(net)
    for a, b in zip(nets[0].weights + nets[0].biases, nets[1].weights + nets[1].biases):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("path", PATHS)
def test_nonfinite_cost_updates_nothing(path):
    widths = (8, 6, 3)
    net = init_network(widths, "linear", "normalized", dtype="float64", seed=0)
    net.weights[0][0, 0] = np.inf
    before = net.copy()
    step = step_for(net, 2, path=path)
    x = np.ones((2, 8))
    cost = step(x, np.array([0, 1]), 0.1)
    assert not np.isfinite(cost)
    assert not np.isfinite(step.preactivations[0]).all()
    for a, b in zip(net.weights, before.weights):
        assert np.array_equal(a, b)


def test_network_round_trip_and_bad_shapes():
    net = init_network((6, 5, 3), "tanh", "standard", seed=1)
    back = Network.from_arrays(net.widths, "tanh", net.arrays())
    assert all(np.array_equal(a, b) for a, b in zip(net.weights, back.weights))
    with pytest.raises(ValueError, match="do not match"):
        Network.from_arrays((6, 4, 3), "tanh", net.arrays())
    with pytest.raises(ValueError, match="float32, float64"):
        init_network((6, 5, 3), dtype="float16")


def _vm_flags(address: int) -> list[str]:
    """The VmFlags of the mapping of this process that holds ``address`` (/proc/self/smaps)."""
    inside = False
    for line in open("/proc/self/smaps"):
        head = line.split()[0]
        if "-" in head and ":" not in head:
            lo, hi = (int(a, 16) for a in head.split("-"))
            inside = lo <= address < hi
        elif inside and head == "VmFlags:":
            return line.split()[1:]
    raise AssertionError(f"no mapping holds {address:#x}")


@pytest.mark.parametrize("path", PATHS)
def test_step_moves_weights_to_one_block_of_huge_pages(path):
    """Same values, one block from a 2 MB boundary, each matrix and workspace on a cache line,
    its rows padded with zeros to a multiple of LANES on the fused path (not the top layer's,
    nor a narrow one's); on Linux the block is private memory advised for huge pages ("hg",
    not "sh": shared memory would take huge pages only if shmem does; a first version was
    shared and got none)."""
    from varprop.training.sgd import HUGE_PAGE, LANES
    net = init_network((300, 257, 130, 9), "tanh", "normalized", dtype="float32", seed=1)
    before = net.copy()
    step = step_for(net, 10, path=path)
    assert LANES == 16
    assert step.width == ([272, 144, 9] if path == "fused" else [257, 130, 9])
    starts = [w.ctypes.data for w in step.W]
    assert starts[0] % HUGE_PAGE == 0
    for a, w, b in zip(starts, step.W, starts[1:]):
        assert b - a == -(-w.nbytes // 64) * 64
    for k, (home, bias, w) in enumerate(zip(step.W, step.b, net.weights)):
        n = step.n[k]
        assert home.flags.c_contiguous and home.shape == (net.widths[k], step.width[k])
        assert w.flags.writeable and np.shares_memory(w, home)
        assert np.array_equal(w, before.weights[k]) and np.array_equal(bias[:n], before.biases[k])
        assert not home[:, n:].any() and not bias[n:].any()
    # the workspaces the kernels read in vectors start on cache lines too
    assert all(a.ctypes.data % 64 == 0 for a in [*step.s, *step.z[1:], *step.delta, *step.b])
    if sys.platform == "linux":
        flags = _vm_flags(starts[0])
        assert "hg" in flags and "sh" not in flags


def test_padding_stays_zero_and_replaced_arrays_are_moved_home():
    """The fused path's padding of W and b stays 0 over updates; an array put in the place of
    a view of the step's home is what the next update reads (and updates), like the NumPy step."""
    widths = (12, 20, 33, 17)          # 20 and 33 padded to 32 and 48; the top layer not
    net = init_network(widths, "tanh", "normalized", dtype="float64", seed=5)
    ref = net.copy()
    step = step_for(net, 3, path="fused")
    assert step.width == [32, 48, 17]
    rng = np.random.default_rng(6)
    for t in range(6):
        if t == 3:                      # replace a weight matrix and a bias vector
            for a in (net, ref):
                a.weights[1] = np.full((20, 33), 0.05)
                a.biases[0] = np.full(20, 0.1)
        x, y = batch(rng, 3, widths)
        assert step(x, y, 0.1) == pytest.approx(numpy_step.sgd_step(ref, x, y, 0.1), rel=1e-12)
        for W, b, n in zip(step.W, step.b, step.n):
            assert not W[:, n:].any() and not b[n:].any()
        assert [s.shape for s in step.preactivations] == [(3, 20), (3, 33), (3, 17)]
    for a, b in zip(net.weights + net.biases, ref.weights + ref.biases):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
