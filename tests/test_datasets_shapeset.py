"""Shapeset-3×2: the generator against an independent NumPy reading of the paper's spec,
exact pixel-grid checks, statistics with standard-error bounds, determinism, disjoint sets."""
import hashlib
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from varprop.datasets import load, stream
from varprop.datasets.shapeset import (CLASS_NAMES, PAIRS, ShapesetConfig, ShapesetStream,
                                       generate, generate_scenes)

N_STAT = 20_000


@pytest.fixture(scope="module")
def scenes():
    return generate_scenes(N_STAT, seed=7)


# ---- an independent implementation of the spec (NumPy trig, arctan2), from the parameters

def oracle_vertices(geom, size):
    """Polygon of one object from its recorded parameters, following PAPER.md step by step."""
    kind, u0, sx, sy, ur, tx, ty = geom[:7]
    nv = (3, 4, 20)[int(kind)]
    ang = 2 * np.pi * (u0 + np.arange(nv) / nv)              # regular polygon, pre-rotated
    p = 0.5 * np.stack([np.cos(ang) * sx, np.sin(ang) * sy], axis=1)  # radius 0.5, scaled
    phi = np.arctan2(p[1, 1] - p[0, 1], p[1, 0] - p[0, 0])   # base edge 0 -> 1
    theta = 2 * np.pi * ur - phi                              # re-align, then rotate
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return p @ rot.T + np.array([tx, ty])


def oracle_mask(verts, size):
    """Pixel centres on the left of (or on) every edge, with the module's edge formula."""
    px, py = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5)
    inside = np.ones((size, size), dtype=bool)
    for j in range(len(verts)):
        x0, y0 = verts[j]
        x1, y1 = verts[(j + 1) % len(verts)]
        inside &= (x1 - x0) * (py - y0) - (y1 - y0) * (px - x0) >= 0.0
    return inside.astype(np.uint8)


def kinds_of_label(label):
    return (label,) if label < 3 else PAIRS[label - 3]


# ---- geometry follows the spec

def test_vertices_follow_the_spec(scenes):
    size = 32
    for i in range(0, 3000):
        for o in range(int(scenes.scene[i, 2])):
            g = scenes.geometry[i, o]
            nv = (3, 4, 20)[int(g[0])]
            got = scenes.vertices[i, o, :nv]
            np.testing.assert_allclose(got, oracle_vertices(g, size), rtol=0, atol=1e-9)
            assert np.isnan(scenes.vertices[i, o, nv:]).all()


def test_scale_factors_larger_horizontal_and_object_inside(scenes):
    g = scenes.geometry.reshape(-1, 8)
    g = g[~np.isnan(g[:, 0])]
    assert np.all(g[:, 2] >= g[:, 3])                               # sx >= sy
    assert g[:, 3].min() >= 0.2 * 32 and g[:, 2].max() <= 0.8 * 32
    # both factors uniform on [0.2, 0.8]·size: the max and min of two uniforms. Only objects of
    # one-object images: the overlap rule rejects large second objects more often (selection).
    g = scenes.geometry[scenes.scene[:, 2] == 1, 0]
    lo, hi = 0.2 * 32, 0.8 * 32
    n = len(g)
    # E[max] = lo + 2/3 (hi − lo), E[min] = lo + 1/3 (hi − lo); sd of each (hi − lo)·√(1/18)
    se = (hi - lo) * math.sqrt(1 / 18) / math.sqrt(n)
    assert abs(g[:, 2].mean() - (lo + 2 / 3 * (hi - lo))) < 5 * se
    assert abs(g[:, 3].mean() - (lo + 1 / 3 * (hi - lo))) < 5 * se
    v = scenes.vertices
    ok = ~np.isnan(v)
    assert v[ok].min() >= 0.0 and v[ok].max() <= 32.0                # whole object inside


def test_parallelograms_and_triangles():
    sc = generate_scenes(2000, seed=3)
    par = sc.geometry[:, :, 0] == 1
    v = sc.vertices[par][:, :4]                                     # (m, 4, 2)
    np.testing.assert_allclose(v[:, 0] + v[:, 2], v[:, 1] + v[:, 3], atol=1e-9)
    ell = sc.geometry[:, :, 0] == 2
    assert np.all(~np.isnan(sc.vertices[ell][:, :20]))


def test_rotation_and_prerotation_are_uniform(scenes):
    g = scenes.geometry.reshape(-1, 8)
    g = g[~np.isnan(g[:, 0])]
    for col in (1, 4):
        u = g[:, col]
        assert u.min() >= 0 and u.max() < 1
        se = math.sqrt(1 / 12 / len(u))
        assert abs(u.mean() - 0.5) < 5 * se


# ---- exact pixel grid: masks, composition, overlap

def test_masks_equal_an_independent_rasterisation(scenes):
    for i in range(2000):
        for o in range(int(scenes.scene[i, 2])):
            nv = (3, 4, 20)[int(scenes.geometry[i, o, 0])]
            want = oracle_mask(scenes.vertices[i, o, :nv], 32)
            np.testing.assert_array_equal(scenes.masks[i, o], want)


def test_image_is_background_then_object_1_then_object_2(scenes):
    img = np.full((N_STAT, 32, 32), 0, dtype=np.float32)
    img[:] = (2.0 * scenes.scene[:, 0] - 1.0).astype(np.float32)[:, None, None]
    for o in range(2):
        level = (2.0 * scenes.geometry[:, o, 7] - 1.0).astype(np.float32)
        m = scenes.masks[:, o].astype(bool)
        img = np.where(m, level[:, None, None], img)
    np.testing.assert_array_equal(scenes.x.reshape(-1, 32, 32), img)


def test_every_object_visible_and_overlap_at_most_half_of_first(scenes):
    area1 = scenes.masks[:, 0].sum(axis=(1, 2), dtype=np.int64)
    area2 = scenes.masks[:, 1].sum(axis=(1, 2), dtype=np.int64)
    two = scenes.scene[:, 2] == 2
    assert np.all(area1 > 0) and np.all(area2[two] > 0) and np.all(area2[~two] == 0)
    overlap = (scenes.masks[:, 0] & scenes.masks[:, 1]).sum(axis=(1, 2), dtype=np.int64)
    assert np.all(2 * overlap[two] <= area1[two])                 # exact integer check
    assert (overlap[two] / area1[two]).max() > 0.45               # ... up to the limit


def test_zero_overlap_allowed():
    sc = generate_scenes(2000, seed=1, config=ShapesetConfig(max_overlap=0.0))
    assert (sc.masks[:, 0] & sc.masks[:, 1]).sum() == 0


# ---- labels, balance, grey levels

def test_labels_match_the_objects_drawn(scenes):
    for i in range(N_STAT):
        kinds = tuple(sorted(int(k) for k in scenes.geometry[i, :int(scenes.scene[i, 2]), 0]))
        assert kinds == tuple(sorted(kinds_of_label(int(scenes.y[i]))))


def test_nine_classes_balanced_within_standard_errors(scenes):
    counts = np.bincount(scenes.y, minlength=9)
    assert len(counts) == 9 and counts.min() > 0                  # every class reachable
    p = 1 / 9
    sd = math.sqrt(N_STAT * p * (1 - p))
    assert np.all(np.abs(counts - N_STAT * p) < 5 * sd), counts
    # both drawing orders of a mixed pair occur about equally often
    mixed = np.isin(scenes.y, [4, 5, 7])
    first_lower = scenes.geometry[mixed, 0, 0] < scenes.geometry[mixed, 1, 0]
    m = mixed.sum()
    assert abs(first_lower.mean() - 0.5) < 5 * math.sqrt(0.25 / m)


@pytest.mark.parametrize("p_two", [0.0, 0.25, 1.0])
def test_probability_of_two_objects_is_a_parameter(p_two):
    n = 10_000
    _, y = generate(n, seed=11, config=ShapesetConfig(p_two=p_two))
    frac = (y >= 3).mean()
    assert abs(frac - p_two) <= 5 * math.sqrt(p_two * (1 - p_two) / n)
    expected = ShapesetConfig(p_two=p_two).class_probabilities()
    counts = np.bincount(y, minlength=9)
    sd = np.sqrt(n * expected * (1 - expected))
    assert np.all(np.abs(counts - n * expected) <= 5 * sd + 1e-9)


def test_grey_levels_ranges_and_swap(scenes):
    x = scenes.x
    assert x.dtype == np.float32 and x.min() >= -1.0 and x.max() <= 1.0
    bg = scenes.scene[:, 0]
    swapped = scenes.scene[:, 1] == 1
    levels = scenes.geometry[:, :, 7]
    two = scenes.scene[:, 2] == 2
    assert np.all((bg[~swapped] >= 0) & (bg[~swapped] <= 0.45))
    assert np.all((bg[swapped] >= 0.55) & (bg[swapped] <= 1.0))
    assert np.all((levels[~swapped, 0] >= 0.55) & (levels[~swapped, 0] <= 1.0))
    assert np.all((levels[swapped, 0] >= 0) & (levels[swapped, 0] <= 0.45))
    assert np.all(levels[~swapped & two, 1] >= 0.55) and np.all(levels[swapped & two, 1] <= 0.45)
    assert np.all(np.isnan(levels[~two, 1]))
    assert abs(swapped.mean() - 0.5) < 5 * math.sqrt(0.25 / N_STAT)
    # the background value v is stored as 2v - 1 and shows around the objects
    bgv = (2 * bg - 1).astype(np.float32)
    frac_bg = (x == bgv[:, None]).mean(axis=1)
    assert np.all(frac_bg > 0.0)      # objects never fill the image (largest: 0.8 × size)


def test_images_at_64_pixels_show_the_same_scenes():
    sc32 = generate_scenes(50, seed=5, config=ShapesetConfig(size=32))
    sc64 = generate_scenes(50, seed=5, config=ShapesetConfig(size=64))
    assert sc64.x.shape == (50, 4096)
    np.testing.assert_array_equal(sc32.y, sc64.y)
    np.testing.assert_allclose(sc64.vertices, 2 * sc32.vertices, atol=1e-9)


# ---- reproducibility and the stream

def test_same_seed_same_bytes_and_seeds_differ():
    a = generate(500, seed=123)
    b = generate(500, seed=123)
    c = generate(500, seed=124)
    assert a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()
    assert not np.array_equal(a[0], c[0])


GOLDEN = "2045d64fbb19980e27962a56d0463cfb5468109272ceaa37275d13c6beff4b1e"


def test_golden_digest():
    """The same bytes on any machine: no libm, no global RNG (digest of this code's output)."""
    x, y = generate(64, seed=2010)
    digest = hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()
    assert digest == GOLDEN, digest


def test_stream_is_batch_size_independent_and_resumable():
    ref_x, ref_y = generate(70, seed=9)
    s7 = ShapesetStream(batch_size=7, seed=9)
    got = [next(s7) for _ in range(10)]
    np.testing.assert_array_equal(np.concatenate([g[0] for g in got]), ref_x)
    np.testing.assert_array_equal(np.concatenate([g[1] for g in got]), ref_y)
    assert s7.position == 70
    resumed = ShapesetStream(batch_size=10, seed=9, start=60)
    np.testing.assert_array_equal(next(resumed)[0], ref_x[60:])
    s = stream("shapeset", batch_size=10, seed=9)
    np.testing.assert_array_equal(next(s)[0], ref_x[:10])


def test_validation_and_test_sets_never_overlap_the_stream():
    valid = load("shapeset", "valid", seed=0)
    test = load("shapeset", "test", seed=0)
    assert len(valid) == len(test) == 10_000 and valid.x.shape == (10_000, 1024)
    train_x, _ = generate(30_000, seed=0, part="train")
    rows = lambda x: {r.tobytes() for r in x}          # noqa: E731
    v, t, s = rows(valid.x), rows(test.x), rows(train_x)
    assert len(v) == 10_000 and len(t) == 10_000 and len(s) == 30_000   # no repeats either
    assert not (v & t) and not (v & s) and not (t & s)


# ---- bad parameters

@pytest.mark.parametrize("kwargs, words", [
    (dict(size=7), "size"), (dict(size=32.5), "size"), (dict(size=True), "size"),
    (dict(max_overlap=1.5), "max_overlap"), (dict(max_overlap=-0.1), "max_overlap"),
    (dict(p_two=2), "p_two"), (dict(p_swap=-1), "p_swap"),
    (dict(scale=(0.8, 0.2)), "reversed"), (dict(scale=(0.0, 0.5)), "scale"),
    (dict(object_grey=(1.0, 0.55)), "reversed"), (dict(background_grey=(0.0, 1.5)), "[0, 1]"),
    (dict(scale="big"), "scale"),
])
def test_invalid_parameters_raise(kwargs, words):
    with pytest.raises(ValueError) as exc:
        ShapesetConfig(**kwargs)
    assert words in str(exc.value)


@pytest.mark.parametrize("kwargs, words", [
    (dict(n=-1), "n must"), (dict(n=5, seed=-1), "seed"), (dict(n=5, part="train2"), "part"),
    (dict(n=5, start=2 ** 56), "start"),
])
def test_invalid_calls_raise(kwargs, words):
    with pytest.raises(ValueError) as exc:
        generate(**kwargs)
    assert words in str(exc.value)


def test_load_rejects_unknown_names_and_splits():
    with pytest.raises(ValueError, match="shapeset, mnist, fashion-mnist, cifar-10"):
        load("imagenet", "train")
    with pytest.raises(ValueError, match="train, valid, test"):
        load("shapeset", "validation")


def test_class_names():
    assert len(CLASS_NAMES) == 9 and CLASS_NAMES[0] == "triangle" and CLASS_NAMES[8] == "2 ellipses"


@given(seed=st.integers(0, 2 ** 63 - 1), start=st.integers(0, 2 ** 40),
       size=st.integers(8, 48), max_overlap=st.floats(0.0, 1.0))
def test_property_constraints_hold_for_any_seed_size_and_overlap(seed, start, size, max_overlap):
    cfg = ShapesetConfig(size=size, max_overlap=max_overlap)
    sc = generate_scenes(20, seed=seed, start=start, config=cfg)
    a1 = sc.masks[:, 0].sum(axis=(1, 2), dtype=np.int64)
    ov = (sc.masks[:, 0] & sc.masks[:, 1]).sum(axis=(1, 2), dtype=np.int64)
    assert np.all(a1 > 0)
    assert np.all(ov <= max_overlap * a1)
    v = sc.vertices[~np.isnan(sc.vertices)]
    assert v.min() >= 0 and v.max() <= size
    assert sc.x.min() >= -1 and sc.x.max() <= 1 and np.all(sc.y >= 0) and np.all(sc.y < 9)


def test_machine_independent_sine_and_cosine_are_accurate():
    from varprop.datasets.shapeset import _sincos_turns

    u = np.concatenate([np.linspace(0, 1, 4001, endpoint=False), [0.125, 0.375, 1 - 2 ** -53]])
    got = np.array([_sincos_turns(v) for v in u])
    np.testing.assert_allclose(got[:, 0], np.sin(2 * np.pi * u), rtol=0, atol=1e-15)
    np.testing.assert_allclose(got[:, 1], np.cos(2 * np.pi * u), rtol=0, atol=1e-15)
