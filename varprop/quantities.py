"""The names that the measurements at initialisation (``montecarlo``, ``experiments``) and
the training monitors (``training.monitors``) share: which quantities are measured per layer,
which percentiles, how wide an unbounded histogram is. Neither side owns them, so an edit to
one side's code leaves the other side's stored results valid (``store.code_digest`` follows
imports)."""
from __future__ import annotations

# Per layer (paper, Section 4): pre-activations s^i, activations z^i, back-propagated gradients
# dC/ds^i (eq. (2)) and weight gradients dC/dW^i (eq. (3)).
QUANTITIES = ("preactivation", "activation", "backprop", "weight_gradient")
# Per quantity and layer, the statistics an experiment at initialisation stores.
STAT_FIELDS = ("mean", "mean_se", "variance", "variance_se", "p2", "p98", "histogram", "edges",
               "out_of_range", "nonfinite")
# The percentiles Figures 2-4 draw (the paper's 98th and, below, 2nd).
PERCENTILES = (2.0, 98.0)
# An unbounded histogram side of the training monitors: the initial mean ± EDGE_SDS std.
EDGE_SDS = 6.0
