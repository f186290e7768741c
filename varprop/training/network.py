"""The trained object: an MLP's weights and biases (paper, Section 3: biases start at 0).

Indexing as everywhere in varprop, for widths n_0 .. n_L: W^k has shape (n_k, n_{k+1}) and
maps z^k (z^0 = x) to the pre-activation s^k = z^k W^k + b^k; z^{k+1} = f(s^k) for the hidden
layers; the top pre-activation s^{L-1} feeds the softmax.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..initialization import resolve_scheme, sample_weights
from ..symbolic.activations import get_activation
from ..symbolic.schemes import Scheme
from ..validation import check_widths

DTYPES = {"float32": np.float32, "float64": np.float64}


def check_dtype(dtype) -> np.dtype:
    """'float32' / 'float64' (or the numpy types) -> np.dtype; ValueError otherwise."""
    key = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if key not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; choose one of: {', '.join(DTYPES)}")
    return np.dtype(DTYPES[key])


@dataclass
class Network:
    """Weights W^k (n_k, n_{k+1}) and biases b^k (n_{k+1},), C-contiguous, of one dtype."""

    widths: tuple[int, ...]
    activation: str
    weights: list[np.ndarray]
    biases: list[np.ndarray]

    @property
    def dtype(self) -> np.dtype:
        return self.weights[0].dtype

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    def copy(self) -> Network:
        return Network(self.widths, self.activation, [w.copy() for w in self.weights],
                       [b.copy() for b in self.biases])

    def astype(self, dtype) -> Network:
        dt = check_dtype(dtype)
        return Network(self.widths, self.activation,
                       [np.ascontiguousarray(w, dtype=dt) for w in self.weights],
                       [np.ascontiguousarray(b, dtype=dt) for b in self.biases])

    def arrays(self) -> dict:
        """{'W0': ..., 'b0': ...}: for np.savez."""
        out = {f"W{k}": w for k, w in enumerate(self.weights)}
        out.update({f"b{k}": b for k, b in enumerate(self.biases)})
        return out

    @classmethod
    def from_arrays(cls, widths, activation, arrays) -> Network:
        widths = check_widths(widths)
        L = len(widths) - 1
        net = cls(widths, activation, [np.ascontiguousarray(arrays[f"W{k}"]) for k in range(L)],
                  [np.ascontiguousarray(arrays[f"b{k}"]) for k in range(L)])
        for k, (w, b) in enumerate(zip(net.weights, net.biases)):
            if w.shape != (widths[k], widths[k + 1]) or b.shape != (widths[k + 1],):
                raise ValueError(f"layer {k}: weights {w.shape} / biases {b.shape} do not match "
                                 f"widths {widths[k]} -> {widths[k + 1]}")
        return net

    def weight_variances(self) -> np.ndarray:
        """Var[W^k] per layer (about the layer's mean), in float64: the theory's input."""
        return np.array([np.var(w, dtype=np.float64) for w in self.weights])

    def bias_variances(self) -> np.ndarray:
        """Var[b^k] per layer, taken about 0 (the paper's biases start at 0)."""
        return np.array([np.mean(np.square(b, dtype=np.float64)) for b in self.biases])


def init_network(widths, activation: str = "tanh", init: str | Scheme = "normalized",
                 law: str | None = None, dtype="float32", seed: int = 0) -> Network:
    """A network at initialisation: W^k from the scheme (drawn in float64 by numpy's
    Generator seeded with ``seed``, then rounded to ``dtype``, so the float32 and float64
    networks of one seed agree to rounding), biases 0."""
    widths = check_widths(widths)
    get_activation(activation)
    dt = check_dtype(dtype)
    scheme = resolve_scheme(init, law)
    rng = np.random.default_rng(seed)
    weights = [sample_weights(rng, a, b, scheme).astype(dt) for a, b in itertools.pairwise(widths)]
    biases = [np.zeros(b, dtype=dt) for b in widths[1:]]
    return Network(widths, activation, weights, biases)
