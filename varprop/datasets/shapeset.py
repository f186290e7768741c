"""Shapeset-3×2 (paper, Section 2.1): an infinite stream of generated 1- or 2-object images.

Each object is a regular polygon with 3, 4 or 20 vertices (the 20-gon stands for the ellipse)
on a circle of radius 0.5, given

1. a random pre-rotation u0 ~ U[0, 1) turns,
2. an anisotropic scale with both factors uniform in ``scale`` × size (default [0.2, 0.8]),
   the larger on the horizontal axis — a regular polygon becomes a general triangle,
   parallelogram or ellipse,
3. a re-alignment that turns the base (the edge from vertex 0 to vertex 1) horizontal,
4. a uniformly random rotation ur ~ U[0, 1) turns,
5. a uniform translation with the whole object inside the image.

Grey levels: each object in ``object_grey`` (default [0.55, 1]), the background in
``background_grey`` (default [0, 0.45]); with probability ``p_swap`` (0.5) the two ranges trade
places. Pixels v are stored as 2v − 1 ∈ [−1, 1].

Label: the unordered configuration, 3 singles + 6 pairs = 9 classes (``CLASS_NAMES``). With
probability ``p_two`` (default 2/3, which makes the 9 classes equally likely) the image holds
two objects, whose unordered pair of kinds is uniform over the 6 pairs, drawn in random order.
The second object is drawn over the first and may cover at most ``max_overlap`` (0.5) of the
first object's area, both counted exactly on the pixel grid; a second object that covers more
is drawn again.

Rasterisation: pixel (row r, column c) has its centre at (x, y) = (c + ½, r + ½) and belongs to
an object when the centre lies inside the convex polygon, i.e. on the left of (or on) every edge:
(x1 − x0)(y − y0) − (y1 − y0)(x − x0) ≥ 0.

Reproducibility: every example is a pure function of (seed, part, index). Its random numbers
come from SplitMix64 started at mix(key(seed) ⊕ part·2^56 ⊕ index); the parts are train (the
stream), valid and test, so a fixed set never shares a starting state with the stream, and the
stream never repeats an index. Sines and cosines are computed here from a fixed polynomial in
IEEE arithmetic, not from the platform's libm, so the same seed gives the same bytes on any
machine.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..resources import require_memory

CLASS_NAMES = ("triangle", "parallelogram", "ellipse",
               "2 triangles", "triangle + parallelogram", "triangle + ellipse",
               "2 parallelograms", "parallelogram + ellipse", "2 ellipses")
KIND_NAMES = ("triangle", "parallelogram", "ellipse")
N_VERTICES = (3, 4, 20)          # regular 3-, 4- and 20-gon for the three kinds
PAIRS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))   # class 3 + p -> kinds
PARTS = {"train": 0, "valid": 1, "test": 2}
MAX_INDEX = 1 << 56              # indices of one part: 0 .. 2^56 - 1
MAX_VERTICES = 20
# Columns of the per-object geometry record (``Scenes.geometry``).
GEOMETRY_COLUMNS = ("kind", "prerotation", "scale_x", "scale_y", "rotation",
                    "shift_x", "shift_y", "grey")

# --------------------------------------------------------------------------------------------
# Random numbers: SplitMix64 (Steele, Lea & Flood 2014), state passed explicitly.
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_U53 = 1.0 / 9007199254740992.0  # 2^-53


@njit(cache=True)
def _mix64(z):
    """SplitMix64's finaliser: a bijection of 64-bit words."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _uniform(state):
    """U[0, 1) with 53 random bits; advances ``state`` (a length-1 uint64 array)."""
    state[0] += _GAMMA
    return np.float64(_mix64(state[0]) >> np.uint64(11)) * _U53


@njit(cache=True)
def _seed_key(seed):
    return _mix64(np.uint64(seed) + _GAMMA)


# --------------------------------------------------------------------------------------------
# sin and cos of a fraction of a turn, from IEEE +, * only (bit-identical on every machine).
_INV_FACT = np.array([1.0 / math.factorial(k) for k in range(20)])
_HALF_PI = math.pi / 2


@njit(cache=True)
def _sincos_turns(u):
    """(sin 2πu, cos 2πu) for u in [0, 1): quadrant reduction + Taylor series to degree 19
    on [−π/4, π/4] (truncation error < 1e-19)."""
    t = u * 4.0
    k = int(t)
    f = t - k
    if f > 0.5:
        f -= 1.0
        k += 1
    x = f * _HALF_PI
    x2 = x * x
    s = _INV_FACT[19]
    for n in range(17, 0, -2):
        s = _INV_FACT[n] - x2 * s
    s = s * x
    c = _INV_FACT[18]
    for n in range(16, -1, -2):
        c = _INV_FACT[n] - x2 * c
    k = k % 4
    if k == 0:
        return s, c
    if k == 1:
        return c, -s
    if k == 2:
        return -s, -c
    return -c, s


# --------------------------------------------------------------------------------------------
# One object: geometry (steps 1-5 of the module docstring) and its pixels.

@njit(cache=True)
def _place_object(state, kind, size, scale_lo, scale_hi, verts, geom):
    """Draw one object of ``kind``; write its vertices to verts (n_vertices, 2) in pixel units
    (x = column, y = row) and its parameters to geom (8,). Returns the number of vertices."""
    nv = 3 if kind == 0 else (4 if kind == 1 else 20)
    u0 = _uniform(state)                                   # 1. pre-rotation (turns)
    a = (scale_lo + (scale_hi - scale_lo) * _uniform(state)) * size
    b = (scale_lo + (scale_hi - scale_lo) * _uniform(state)) * size
    sx = max(a, b)                                         # 2. larger factor horizontal
    sy = min(a, b)
    for j in range(nv):
        w = u0 + j / nv
        if w >= 1.0:
            w -= 1.0
        sn, cs = _sincos_turns(w)
        verts[j, 0] = 0.5 * cs * sx
        verts[j, 1] = 0.5 * sn * sy
    dx = verts[1, 0] - verts[0, 0]                         # 3. base (edge 0 -> 1) horizontal
    dy = verts[1, 1] - verts[0, 1]
    length = math.sqrt(dx * dx + dy * dy)
    cb = dx / length
    sb = dy / length
    ur = _uniform(state)                                   # 4. random rotation
    sr, cr = _sincos_turns(ur)
    xmin = 1e300
    xmax = -1e300
    ymin = 1e300
    ymax = -1e300
    for j in range(nv):
        x = cb * verts[j, 0] + sb * verts[j, 1]
        y = cb * verts[j, 1] - sb * verts[j, 0]
        xr = cr * x - sr * y
        yr = sr * x + cr * y
        verts[j, 0] = xr
        verts[j, 1] = yr
        xmin = min(xmin, xr)
        xmax = max(xmax, xr)
        ymin = min(ymin, yr)
        ymax = max(ymax, yr)
    tx = -xmin + (size - (xmax - xmin)) * _uniform(state)  # 5. whole object inside
    ty = -ymin + (size - (ymax - ymin)) * _uniform(state)
    for j in range(nv):
        verts[j, 0] += tx
        verts[j, 1] += ty
    geom[0] = kind
    geom[1] = u0
    geom[2] = sx
    geom[3] = sy
    geom[4] = ur
    geom[5] = tx
    geom[6] = ty
    return nv


@njit(cache=True)
def _inside(verts, nv, px, py):
    """Is (px, py) on the left of, or on, every edge of the polygon?"""
    for j in range(nv):
        k = j + 1 if j + 1 < nv else 0
        x0 = verts[j, 0]
        y0 = verts[j, 1]
        if (verts[k, 0] - x0) * (py - y0) - (verts[k, 1] - y0) * (px - x0) < 0.0:
            return False
    return True


@njit(cache=True)
def _rasterise(verts, nv, size, runs):
    """The object's pixels, one run per row: pixel (r, c) is inside the convex polygon exactly
    when runs[r, 0] <= c < runs[r, 1] (runs (size, 2) int64). Returns the pixel count.

    Each edge test, as computed in floating point, is monotone in x along a row, so a row's
    inside pixels form one run: it is found by testing from both ends, and every pixel of
    the run passes the full test (the result equals testing every pixel)."""
    runs[:, :] = 0
    xmin = verts[0, 0]
    xmax = verts[0, 0]
    ymin = verts[0, 1]
    ymax = verts[0, 1]
    for j in range(1, nv):
        xmin = min(xmin, verts[j, 0])
        xmax = max(xmax, verts[j, 0])
        ymin = min(ymin, verts[j, 1])
        ymax = max(ymax, verts[j, 1])
    c0 = max(int(math.floor(xmin - 0.5)), 0)
    c1 = min(int(math.ceil(xmax - 0.5)) + 1, size)
    r0 = max(int(math.floor(ymin - 0.5)), 0)
    r1 = min(int(math.ceil(ymax - 0.5)) + 1, size)
    count = 0
    for r in range(r0, r1):
        py = r + 0.5
        left = c0
        while left < c1 and not _inside(verts, nv, left + 0.5, py):
            left += 1
        if left == c1:
            continue
        right = c1 - 1
        while right > left and not _inside(verts, nv, right + 0.5, py):
            right -= 1
        runs[r, 0] = left
        runs[r, 1] = right + 1
        count += right + 1 - left
    return count


@njit(cache=True)
def _overlap(runs1, runs2):
    """Pixels in both objects: the row runs' intersections, summed."""
    n = 0
    for r in range(runs1.shape[0]):
        w = min(runs1[r, 1], runs2[r, 1]) - max(runs1[r, 0], runs2[r, 0])
        if w > 0:
            n += w
    return n


# --------------------------------------------------------------------------------------------
# A batch of examples.

_MAX_ATTEMPTS = 100_000


@njit(cache=True)
def _generate(key, part, start, size, p_two, max_overlap, scale_lo, scale_hi,
              obj_lo, obj_hi, bg_lo, bg_hi, p_swap, record,
              x, y, geometry, vertices, scene, masks):
    """Examples start .. start + n − 1 of ``part`` into x (n, size*size) float32 and y (n,)
    int64. With ``record``, also geometry (n, 2, 8), vertices (n, 2, 20, 2), scene (n, 3)
    = (background grey, swapped, number of objects) and masks (n, 2, size, size)."""
    n = x.shape[0]
    state = np.zeros(1, dtype=np.uint64)
    vert = np.zeros((2, MAX_VERTICES, 2))
    geom = np.zeros((2, 8))
    runs = np.zeros((2, size, 2), dtype=np.int64)
    nvs = np.zeros(2, dtype=np.int64)
    part_bits = np.uint64(part) << np.uint64(56)
    for i in range(n):
        state[0] = _mix64(key ^ part_bits ^ np.uint64(start + i))
        # the configuration (label) and the order the two objects are drawn in
        if _uniform(state) < p_two:
            pair = min(int(_uniform(state) * 6.0), 5)
            label = 3 + pair
            ka = 0 if pair <= 2 else (1 if pair <= 4 else 2)
            kb = (0, 1, 2, 1, 2, 2)[pair]
            if _uniform(state) < 0.5:
                ka, kb = kb, ka
            n_obj = 2
        else:
            ka = min(int(_uniform(state) * 3.0), 2)
            kb = ka
            label = ka
            n_obj = 1
        # grey levels, with the two ranges swapped half of the time
        swapped = _uniform(state) < p_swap
        if swapped:
            o_lo, o_hi, b_lo, b_hi = bg_lo, bg_hi, obj_lo, obj_hi
        else:
            o_lo, o_hi, b_lo, b_hi = obj_lo, obj_hi, bg_lo, bg_hi
        background = b_lo + (b_hi - b_lo) * _uniform(state)
        geom[0, 7] = o_lo + (o_hi - o_lo) * _uniform(state)
        geom[1, 7] = o_lo + (o_hi - o_lo) * _uniform(state)
        # geometry: redraw an empty object; redraw a second object that covers too much
        done = False
        attempts = 0
        while not done:
            attempts += 1
            if attempts > _MAX_ATTEMPTS:
                raise ValueError("shapeset: could not place the objects; widen the scale range")
            nvs[0] = _place_object(state, ka, size, scale_lo, scale_hi, vert[0], geom[0])
            area1 = _rasterise(vert[0], nvs[0], size, runs[0])
            if area1 == 0:
                continue
            if n_obj == 1:
                done = True
                break
            for _ in range(100):   # then start again from a new first object
                nvs[1] = _place_object(state, kb, size, scale_lo, scale_hi, vert[1], geom[1])
                area2 = _rasterise(vert[1], nvs[1], size, runs[1])
                if area2 == 0:
                    continue
                if _overlap(runs[0], runs[1]) <= max_overlap * area1:
                    done = True
                    break
        # compose: background, then object 1, then object 2 on top; v -> 2v - 1
        img = x[i]
        bgv = np.float32(2.0 * background - 1.0)
        for p in range(size * size):
            img[p] = bgv
        for o in range(n_obj):
            v = np.float32(2.0 * geom[o, 7] - 1.0)
            for r in range(size):
                for c in range(runs[o, r, 0], runs[o, r, 1]):
                    img[r * size + c] = v
        y[i] = label
        if record:
            scene[i, 0] = background
            scene[i, 1] = 1.0 if swapped else 0.0
            scene[i, 2] = n_obj
            for o in range(2):
                for q in range(8):
                    geometry[i, o, q] = geom[o, q] if o < n_obj else np.nan
                for j in range(MAX_VERTICES):
                    for d in range(2):
                        vertices[i, o, j, d] = vert[o, j, d] if (o < n_obj and j < nvs[o]) \
                            else np.nan
                masks[i, o] = 0
                if o < n_obj:
                    for r in range(size):
                        for c in range(runs[o, r, 0], runs[o, r, 1]):
                            masks[i, o, r, c] = 1


# --------------------------------------------------------------------------------------------
# Python interface.

def _check_unit(name, value):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}") from None
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return v


def _check_range(name, value, positive=False):
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high) in [0, 1], got {value!r}") from None
    if not (0.0 <= lo <= 1.0 and 0.0 <= hi <= 1.0):
        raise ValueError(f"{name} must lie in [0, 1], got ({lo:g}, {hi:g})")
    if lo > hi:
        raise ValueError(f"{name} is reversed: low {lo:g} > high {hi:g}")
    if positive and lo <= 0.0:
        raise ValueError(f"{name} must be > 0, got low {lo:g}")
    return lo, hi


def check_int(name, value, lo=0, hi=None):
    """An integer lo <= value (< hi); bools and fractional numbers are rejected."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < lo or (hi is not None and value >= hi):
        bound = f">= {lo}" if hi is None else f"in [{lo}, {hi})"
        raise ValueError(f"{name} must be an integer {bound}, got {value}")
    return value


@dataclass(frozen=True)
class ShapesetConfig:
    """Parameters of Shapeset-3×2; the defaults are the paper's (9 balanced classes)."""
    size: int = 32                                # image side in pixels (Figure 1: 64)
    p_two: float = 2.0 / 3.0                      # P(2 objects); 2/3 balances the 9 classes
    max_overlap: float = 0.5                      # 2nd object covers <= this of the 1st's area
    scale: tuple = (0.2, 0.8)                     # scale factors, fraction of the size
    object_grey: tuple = (0.55, 1.0)              # object grey range (before the swap)
    background_grey: tuple = (0.0, 0.45)          # background grey range
    p_swap: float = 0.5                           # P(object and background ranges swap)

    def __post_init__(self):
        object.__setattr__(self, "size", check_int("size", self.size, lo=8, hi=4097))
        object.__setattr__(self, "p_two", _check_unit("p_two", self.p_two))
        object.__setattr__(self, "max_overlap", _check_unit("max_overlap", self.max_overlap))
        object.__setattr__(self, "scale", _check_range("scale", self.scale, positive=True))
        object.__setattr__(self, "object_grey", _check_range("object_grey", self.object_grey))
        object.__setattr__(self, "background_grey",
                           _check_range("background_grey", self.background_grey))
        object.__setattr__(self, "p_swap", _check_unit("p_swap", self.p_swap))

    @property
    def features(self) -> int:
        return self.size * self.size

    def class_probabilities(self) -> np.ndarray:
        """P(label) for the 9 classes: singles (1 − p_two)/3, pairs p_two/6."""
        p = np.empty(9)
        p[:3] = (1.0 - self.p_two) / 3.0
        p[3:] = self.p_two / 6.0
        return p


@dataclass(frozen=True)
class Scenes:
    """Generated examples with everything that made them (for tests and inspection)."""
    x: np.ndarray          # (n, size*size) float32 in [−1, 1]
    y: np.ndarray          # (n,) int64, class in 0..8 (CLASS_NAMES)
    geometry: np.ndarray   # (n, 2, 8) float64, GEOMETRY_COLUMNS per object (NaN: no object)
    vertices: np.ndarray   # (n, 2, 20, 2) float64, (x=column, y=row) in pixels (NaN padded)
    scene: np.ndarray      # (n, 3) float64: background grey, swapped (0/1), objects (1/2)
    masks: np.ndarray      # (n, 2, size, size) uint8, pixels of object 1 and object 2


def _call(n, seed, part, start, config, record):
    config = ShapesetConfig() if config is None else config
    if not isinstance(config, ShapesetConfig):
        raise ValueError(f"config must be a ShapesetConfig, got {type(config).__name__}")
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, got {part!r}")
    n = check_int("n", n)
    seed = check_int("seed", seed, 0, 1 << 63)
    start = check_int("start", start, 0, MAX_INDEX)
    if start + n > MAX_INDEX:
        raise ValueError(f"start + n must be <= 2^56, got {start + n}")
    s = config.size
    require_memory(n * s * s * (4 + (2 if record else 0)),
                   f"generating {n:,} Shapeset examples of {s}x{s} pixels",
                   "use fewer examples or a smaller size")
    x = np.empty((n, s * s), dtype=np.float32)
    y = np.empty(n, dtype=np.int64)
    m = n if record else 0
    geometry = np.empty((m, 2, 8))
    vertices = np.empty((m, 2, MAX_VERTICES, 2))
    scene = np.empty((m, 3))
    masks = np.empty((m, 2, s, s), dtype=np.uint8)
    key = np.uint64(_seed_key(np.uint64(seed)))   # Numba returns it as a Python int
    _generate(key, PARTS[part], start, s, config.p_two,
              config.max_overlap, config.scale[0], config.scale[1],
              config.object_grey[0], config.object_grey[1],
              config.background_grey[0], config.background_grey[1], config.p_swap,
              record, x, y, geometry, vertices, scene, masks)
    return x, y, geometry, vertices, scene, masks


def generate(n, seed=0, part="train", start=0, config=None):
    """Examples start .. start+n−1 of a part ('train' = the stream, 'valid', 'test').

    Returns x (n, size*size) float32 in [−1, 1] (row-major images) and y (n,) int64 labels.
    """
    x, y, *_ = _call(n, seed, part, start, config, False)
    return x, y


def generate_scenes(n, seed=0, part="train", start=0, config=None) -> Scenes:
    """As ``generate``, plus each example's geometry, vertices, grey levels and object masks."""
    return Scenes(*_call(n, seed, part, start, config, True))


class ShapesetStream:
    """The online training stream: fresh minibatches forever, never repeating an example.

    Minibatch k holds stream examples start + k·batch_size … (the 'train' part), so a stream
    can resume from ``position`` and the same seed gives the same minibatches whatever the
    batch size. Iterating yields (x (batch_size, size*size) float32, y (batch_size,) int64).
    """

    def __init__(self, batch_size=10, seed=0, start=0, config=None):
        self.batch_size = check_int("batch_size", batch_size, lo=1)
        self.seed = check_int("seed", seed, 0, 1 << 63)
        self.position = check_int("start", start, 0, MAX_INDEX)
        self.config = ShapesetConfig() if config is None else config
        if not isinstance(self.config, ShapesetConfig):
            raise ValueError(f"config must be a ShapesetConfig, got {type(config).__name__}")

    def __iter__(self):
        return self

    def __next__(self):
        x, y = generate(self.batch_size, self.seed, "train", self.position, self.config)
        self.position += self.batch_size
        return x, y
