"""Monte-Carlo split into independent network batches: ``measure_spec`` validates,
``sample_networks`` measures networks first..stop-1 (one worker's task), ``combine`` merges in
network order. Any batching gives the same Measurement bit for bit as ``measure``."""
import pickle

import numpy as np
import pytest

from varprop.datasets.shapeset import ShapesetConfig, generate
from varprop.montecarlo import (MeasureSpec, Measurement, batches, combine, measure,
                                measure_spec, sample_networks)

SPLITS = [[(0, 7)], [(0, 3), (3, 5), (5, 7)], [(r, r + 1) for r in range(7)]]


def _assert_same_bits(a: Measurement, b: Measurement):
    """Every field and every array of two Measurements, bit for bit (NaN equal to NaN)."""
    assert vars(a).keys() == vars(b).keys()
    for key, va in vars(a).items():
        vb = getattr(b, key)
        if key == "stats":
            assert va.keys() == vb.keys()
            for q in va:
                for f, x in vars(va[q]).items():
                    y = getattr(vb[q], f)
                    assert x.dtype == y.dtype and x.shape == y.shape, (q, f)
                    assert np.array_equal(x, y, equal_nan=True), (q, f)
        elif isinstance(va, np.ndarray):
            assert va.dtype == vb.dtype and np.array_equal(va, vb, equal_nan=True), key
        elif isinstance(va, float) and np.isnan(va):
            assert np.isnan(vb), key
        else:
            assert va == vb, key


def _batched(spec, split, inputs=None):
    parts = [sample_networks(spec, a, b, inputs) for a, b in split]
    return combine(spec, parts)


@pytest.mark.parametrize("kw", [
    dict(widths=[24, 20, 16, 5], activation="tanh", init="normalized", seed=4, chunk=16,
         jacobian_inputs=3),
    dict(widths=[24, 30, 6], activation="relu", init="he", seed=9, chunk=25, top="injected",
         bias_variance=0.1, input_law="uniform", dtype="float32"),
])
def test_any_batching_gives_the_same_bits_as_measure(kw):
    """Histogram counts, moments, per-network variances, Jacobian statistics and the cost:
    equal bit for bit for one batch, three uneven ones, or one network per batch."""
    common = dict(networks=7, samples=40, bins=12)
    whole = measure(**kw, **common, blas_threads=1)
    spec = measure_spec(**kw, **common)
    for split in SPLITS:
        _assert_same_bits(whole, _batched(spec, split))
    assert whole.top == "injected" or np.isfinite(whole.cost)
    assert np.all(np.isfinite(whole.jacobian_mean)) == (kw.get("jacobian_inputs", 0) > 0)


def test_shapeset_inputs_batched_equal_unbatched():
    """Given inputs (8x8 Shapeset images, n_0 = 64), softmax top over the 9 classes."""
    x, _ = generate(60, seed=0, part="valid", config=ShapesetConfig(size=8))   # (60, 64)
    kw = dict(networks=7, samples=50, chunk=20, bins=10, seed=1, jacobian_inputs=2)
    whole = measure([64, 32, 32, 9], "tanh", "standard", inputs=x, blas_threads=1, **kw)
    assert whole.input_law == "data" and whole.var_x == pytest.approx(float(x[:50].var()))
    spec = measure_spec([64, 32, 32, 9], "tanh", "standard", inputs=x, **kw)
    for split in SPLITS:
        _assert_same_bits(whole, _batched(spec, split, x))


def test_spec_and_partials_travel_by_pickle():
    """What a process worker sees: a pickled spec in, a pickled dict of arrays out."""
    spec = measure_spec([1024, 1000, 1000, 1000, 1000, 1000, 9], "tanh", networks=16)
    assert isinstance(spec, MeasureSpec) and len(pickle.dumps(spec)) < 4096
    small = measure_spec([12, 10, 3], "sigmoid", networks=4, samples=20, bins=8, seed=2)
    here = _batched(small, batches(4, 3))
    parts = [pickle.loads(pickle.dumps(sample_networks(pickle.loads(pickle.dumps(small)), a, b)))
             for a, b in batches(4, 3)]
    _assert_same_bits(here, combine(small, parts))
    p = parts[0]
    assert p["networks"].tolist() == [0, 1, 2] and p["histograms"].dtype == np.int64
    assert p["moments"].shape == (3, 4, 2, 4) and p["cost"].shape == (3,)
    with pytest.raises(Exception):
        spec.networks = 3            # frozen


def test_batches_split_in_network_order():
    assert batches(7, 3) == [(0, 3), (3, 6), (6, 7)]
    assert batches(4, 10) == [(0, 4)]
    assert batches(2, 1) == [(0, 1), (1, 2)]
    for bad in [(0, 2), (3, 0), (3, 1.5)]:
        with pytest.raises(ValueError):
            batches(*bad)


@pytest.mark.parametrize("kwargs,match", [
    (dict(networks=0), "networks must be an integer >= 1"),
    (dict(samples=-3), "samples must be an integer >= 1"),
    (dict(input_law="cauchy"), "normal, uniform"),
    (dict(top="hinge"), "softmax, injected"),
    (dict(dtype="float16"), "float32, float64"),
    (dict(law="cauchy"), "uniform, normal, truncated_normal, orthogonal"),
    (dict(var_x=0), "var_x must be a positive number"),
    (dict(bias_variance=-1), "bias_variance"),
    (dict(inputs=np.zeros((3, 8))), r"inputs must have shape \(>= 1000, 8\)"),
    (dict(ranges={"gradient": np.zeros((2, 2))}), "preactivation, activation"),
    (dict(ranges={"activation": np.zeros((3, 2))}), r"must have shape \(2, 2\)"),
])
def test_spec_validates_like_measure(kwargs, match):
    """Bad input: the same one-line ValueError from measure_spec and measure."""
    with pytest.raises(ValueError, match=match):
        measure_spec([8, 8, 2], "tanh", "standard", **kwargs)
    with pytest.raises(ValueError, match=match):
        measure([8, 8, 2], "tanh", "standard", **kwargs)


def test_sample_networks_and_combine_reject_bad_use():
    spec = measure_spec([8, 8, 2], "tanh", networks=4, samples=10, bins=4)
    for first, stop, match in [(-1, 2, "first"), (2, 2, "stop"),
                               (0, 5, "stop must be <= networks = 4")]:
        with pytest.raises(ValueError, match=match):
            sample_networks(spec, first, stop)
    with pytest.raises(ValueError, match="build it with inputs="):
        sample_networks(spec, 0, 1, np.zeros((10, 8)))
    with pytest.raises(ValueError, match="blas_threads"):
        sample_networks(spec, 0, 1, blas_threads=0)
    data = measure_spec([8, 8, 2], "tanh", networks=2, samples=10, bins=4,
                        inputs=np.ones((10, 8)) + np.arange(8))
    with pytest.raises(ValueError, match="pass the same inputs"):
        sample_networks(data, 0, 1)
    a, b = sample_networks(spec, 0, 2), sample_networks(spec, 2, 4)
    for parts in ([b, a], [a], [a, a, b], []):
        with pytest.raises(ValueError, match="partials|at least one"):
            combine(spec, parts)
    with pytest.raises(ValueError, match="MeasureSpec"):
        combine({"networks": 4}, [a, b])


@pytest.mark.parametrize("activation,dtype", [("tanh", "float32"), ("tanh", "float64"),
                                              ("sigmoid", "float64")])
def test_reused_buffers_give_the_same_bits(activation, dtype):
    """The pass's workspace (buffers kept across chunks and networks, np.tanh in place) changes
    no bit: each chunk, including a shorter last one, equals a pass on fresh arrays."""
    from varprop.kernels import passes
    from varprop.montecarlo import _pass
    from varprop.quantities import QUANTITIES

    rng = np.random.default_rng(5)
    widths = [20, 16, 12, 4]
    W = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype)
         for a, b in zip(widths[:-1], widths[1:])]
    L = len(W)
    ranges = {q: np.tile([-3.0, 3.0], (L, 1)) for q in QUANTITIES}
    col_sq = [np.einsum("ij,ij->j", w, w, dtype=np.float64) for w in W]
    pairs = [(np.arange(4), np.arange(3))] * L

    def run(x, labels, work):
        acc = {q: [passes.new_accumulator(6) for _ in range(L)] for q in QUANTITIES}
        jac = [np.zeros((passes.N_BLOCKS, 2)) for _ in range(L - 1)]
        out = _pass(x, W, [None] * L, activation, labels, None, acc, ranges, col_sq, jac,
                    pairs, work)
        arrays = [a.copy() for part in out[:4] for a in part]     # before the next call
        return arrays, out[4], acc, jac

    work = {}
    for rows in (30, 30, 11):
        x = rng.standard_normal((rows, widths[0])).astype(dtype)
        labels = rng.integers(0, widths[-1], rows)
        fresh, reused = run(x, labels, None), run(x, labels, work)
        for a, b in zip(fresh[0], reused[0]):
            assert a.dtype == b.dtype and np.array_equal(a, b)
        assert fresh[1] == reused[1]
        for q in QUANTITIES:
            for (m1, h1), (m2, h2) in zip(fresh[2][q], reused[2][q]):
                assert np.array_equal(m1, m2) and np.array_equal(h1, h2)
        assert all(np.array_equal(a, b) for a, b in zip(fresh[3], reused[3]))
    assert work and all(a.shape[0] == 30 for a in work.values())
