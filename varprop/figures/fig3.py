"""Figure 3: tanh (top) and softsign (bottom), standard initialisation, on Shapeset — 98th
percentile (markers alone) and standard deviation (lines) of each hidden layer's activations
during training. The paper: tanh layers saturate one after another from the first layer up;
softsign layers saturate less, and together."""
from __future__ import annotations

from . import percentiles

CONFIG = "train_shapeset"
# standard-init tanh at Tanh N's rate (the control of train_shapeset.toml): the two panels
# compare activations, not learning rates (each panel's title gives the run's rate)
MODELS = (("Tanh at 0.01", "tanh, standard initialisation"),
          ("Softsign", "softsign, standard initialisation"))


def build(results):
    return percentiles.build(results, MODELS, "Activations during training (Figure 3)")


def digests(results):
    return percentiles.digests(results, MODELS)
