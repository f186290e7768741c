"""The one interface: ``load(name, split)``, ``stream(name, ...)`` and ``Dataset`` (see the
package docstring for the table of data sets, sources and scaling)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import cifar, mnist, shapeset
from .names import NAMES, SPLITS
from .shapeset import ShapesetConfig, ShapesetStream

SHAPESET_SET_SIZE = 10_000
_ALIASES = {"shapeset-3x2": "shapeset", "shapeset3x2": "shapeset", "fashion": "fashion-mnist",
            "fashionmnist": "fashion-mnist", "cifar10": "cifar-10", "cifar": "cifar-10"}


@dataclass(frozen=True)
class Dataset:
    """One split of a data set."""
    name: str
    split: str
    x: np.ndarray            # (N, features) float32
    y: np.ndarray            # (N,) int64 in 0 .. len(classes) − 1
    image_shape: tuple       # how one row of x reshapes into an image
    classes: tuple           # class names, by label
    scaling: str             # the preprocessing applied

    def __len__(self):
        return self.x.shape[0]

    def images(self) -> np.ndarray:
        """x reshaped to images: (N, H, W) grey or (N, H, W, 3) colour."""
        if len(self.image_shape) == 3:   # CIFAR rows are channel-major (3, 32, 32)
            c, h, w = self.image_shape
            return self.x.reshape(-1, c, h, w).transpose(0, 2, 3, 1)
        return self.x.reshape(-1, *self.image_shape)


def canonical_name(name) -> str:
    """'MNIST', 'fashion_mnist', 'cifar10' ... -> the canonical name; ValueError otherwise."""
    key = str(name).strip().lower().replace("_", "-")
    key = _ALIASES.get(key.replace("-", ""), _ALIASES.get(key, key))
    if key not in NAMES:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(NAMES)}")
    return key


def _check_split(split) -> str:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    return split


def describe(name) -> dict:
    """Static facts: title, image shape, classes, scaling, split sizes."""
    name = canonical_name(name)
    if name == "shapeset":
        return dict(title="Shapeset-3×2 (generated)", image_shape=(32, 32),
                    classes=shapeset.CLASS_NAMES, scaling="grey level v -> 2v - 1, in [-1, 1]",
                    sizes={"train": "endless stream", "valid": SHAPESET_SET_SIZE,
                           "test": SHAPESET_SET_SIZE})
    if name == "cifar-10":
        return dict(title="CIFAR-10", image_shape=(3, 32, 32), classes=cifar.CLASSES,
                    scaling="value / 255, in [0, 1]; rows channel-major (R, G, B planes)",
                    sizes={"train": 40_000, "valid": 10_000, "test": 10_000})
    src = mnist.SOURCES[name]
    return dict(title=src.title, image_shape=(28, 28), classes=src.classes,
                scaling="pixel / 255, in [0, 1]",
                sizes={"train": 50_000, "valid": 10_000, "test": 10_000})


def require_data(name, data_dir=None) -> None:
    """Raise DataMissing (naming what provides them) unless the files of ``name`` are in
    place; Shapeset, generated, always is. Cheap: looks for the files, reads none."""
    name = canonical_name(name)
    if name == "cifar-10":
        cifar.locate(data_dir)
    elif name != "shapeset":
        mnist.locate(mnist.SOURCES[name], data_dir)


def load(name, split, *, data_dir=None, seed=0, n=None, config=None) -> Dataset:
    """One split of a data set as float32 (N, features) and int64 labels.

    data_dir: the data folder (default: $VARPROP_DATA or ~/.cache/varprop).
    Shapeset only: seed, config (ShapesetConfig) and n (default 10,000; for 'train', the first
    n examples of the stream).
    """
    name = canonical_name(name)
    split = _check_split(split)
    facts = describe(name)
    if name == "shapeset":
        config = ShapesetConfig() if config is None else config
        n = SHAPESET_SET_SIZE if n is None else shapeset.check_int("n", n)
        x, y = shapeset.generate(n, seed=seed, part=split, config=config)
        return Dataset(name, split, x, y, (config.size, config.size), facts["classes"],
                       facts["scaling"])
    if n is not None or config is not None:
        raise ValueError(f"n and config apply to shapeset only, not {name}")
    if name == "cifar-10":
        x, y = cifar.load_split(split, data_dir)
    else:
        x, y = mnist.split_arrays(mnist.read_arrays(mnist.SOURCES[name], data_dir), split)
    return Dataset(name, split, x, y, facts["image_shape"], facts["classes"], facts["scaling"])


class EpochStream:
    """Minibatches from a finite split, reshuffled every epoch, resumable from ``position``.

    The examples are the concatenation of epoch permutations, epoch e's permutation drawn from
    numpy's Generator seeded with (seed, e); batch k holds positions k·batch_size … (k+1)·
    batch_size − 1, crossing epoch boundaries so every minibatch is full.
    """

    def __init__(self, data: Dataset, batch_size=10, seed=0, start=0):
        self.data = data
        self.batch_size = shapeset.check_int("batch_size", batch_size, lo=1)
        self.seed = shapeset.check_int("seed", seed, 0, 1 << 63)
        self.position = shapeset.check_int("start", start)
        self._epoch, self._perm = -1, None

    def _order(self, epoch):
        if epoch != self._epoch:
            rng = np.random.default_rng([self.seed, epoch])
            self._epoch, self._perm = epoch, rng.permutation(len(self.data))
        return self._perm

    def __iter__(self):
        return self

    def __next__(self):
        n = len(self.data)
        idx = np.empty(self.batch_size, dtype=np.int64)
        for k in range(self.batch_size):
            epoch, offset = divmod(self.position + k, n)
            idx[k] = self._order(epoch)[offset]
        self.position += self.batch_size
        return self.data.x[idx], self.data.y[idx]


def stream(name, batch_size=10, seed=0, *, data_dir=None, start=0, config=None):
    """Training minibatches (x (batch, features) float32, y (batch,) int64), forever.

    Shapeset: fresh examples from the online stream (``ShapesetStream``). Finite sets: the
    train split, reshuffled each epoch (``EpochStream``).
    """
    name = canonical_name(name)
    if name == "shapeset":
        return ShapesetStream(batch_size, seed, start, config)
    if config is not None:
        raise ValueError(f"config applies to shapeset only, not {name}")
    return EpochStream(load(name, "train", data_dir=data_dir), batch_size, seed, start)
