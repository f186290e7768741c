"""Figure 10: tanh with the normalized initialisation (eq. 16) on Shapeset — 98th percentile
(markers alone) and standard deviation (lines) of each hidden layer's activations during
training. The paper: it behaves like softsign (Figure 3, bottom), no layer-by-layer
saturation."""
from __future__ import annotations

from . import percentiles

CONFIG = "train_shapeset"
MODELS = (("Tanh N", "tanh, normalized initialisation"),)


def build(results):
    return percentiles.build(results, MODELS, "Activations during training (Figure 10)")


def digests(results):
    return percentiles.digests(results, MODELS)
