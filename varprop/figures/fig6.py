"""Figure 6: tanh activation histograms per hidden layer at initialisation, standard vs
normalized, with the mean-field distribution of tanh(s), s ~ N(0, q_k(x)), averaged over the
inputs x (Shapeset images differ in norm, so each has its own q_k(x); experiments.py)."""
from __future__ import annotations

from . import histograms

CONFIG = "init_tanh"


def hidden_layers(results):
    L = len(results["tanh"]["meta"]["widths"]) - 1
    return list(range(1, L))          # activation[k] = z^k, hidden layer k


def build(results):
    return histograms.build(results, "activation", hidden_layers(results),
                            lambda k: f"layer {k}", "activation value $z$",
                            "mean field: tanh(s), s ~ N(0, $q_k(x)$), averaged over inputs",
                            "Activation values at initialisation")


digests = histograms.digests
