"""What the paper recorded during training (Section 4, Figures 2-4, 6-9), measured on a fixed
set of monitor examples, and the theories' predictions for the network's current weights.

Indexing as in ``network``: for widths n_0 .. n_L, weight layer k = 0 .. L-1 maps z^k (z^0 = x)
to s^k = z^k W^k + b^k; the hidden layers' activations are z^1 .. z^{L-1}.

Every gradient here is *per example*: delta^k = dC/ds^k of the one example's cost (the paper's
eqs. (2)-(3) for a single input), never divided by the number of monitor examples. The
per-example weight gradient is dC/dW^k_lj = z^k_l delta^k_j (eq. (3)); its variance over the
examples and all n_k n_{k+1} entries is the quantity of eq. (14) and Figures 8-9, defined as
the Monte-Carlo measurement of ``varprop.montecarlo`` defines it, so ``varprop.check`` and
this module measure the same thing.

Every statistic is computed in float64 from the values themselves (300 examples x 1000 units
fit in memory): exact percentiles, histograms on fixed edges chosen once per run
(``monitor_edges``), so monitor points can be stacked into arrays of shape (points, ...).
"""
from __future__ import annotations

import numpy as np

from ..kernels.costs import check_cost, top_cost_and_gradient
from ..quantities import EDGE_SDS, PERCENTILES
from ..symbolic.activations import get_activation
from ..theory import has_linear_regime, propagate, propagate_over_inputs
from .network import Network
from .numpy_step import backpropagate, forward

THEORIES = ("linear", "meanfield")
PREDICTED = ("activation_variance", "preactivation_variance", "backprop_variance",
             "weight_gradient_variance")

# (key, shape, meaning): L weight layers, H = L - 1 hidden layers, B histogram bins.
EDGE_KEYS = (
    ("activation_edges", "(H, B+1)", ("histogram edges of the hidden activations z^1..z^{L-1}: "
     "the activation's range where bounded (tanh, softsign [-1, 1]; sigmoid [0, 1]; ReLU's "
     f"lower side 0), else the initial layer's mean +- {EDGE_SDS:g} std")),
    ("backprop_edges", "(L, B+1)", ("histogram edges of the per-example dC/ds^k, k=0..L-1: "
     f"+- {EDGE_SDS:g} std of the initial layer's values, around 0")),
)
MONITOR_KEYS = (
    ("activation_mean", "(H,)", "mean of z^k over monitor examples and units, k=1..L-1"),
    ("activation_std", "(H,)", "standard deviation of z^k (about its mean), k=1..L-1"),
    ("activation_p2", "(H,)", "2nd percentile of the values of z^k (exact), k=1..L-1"),
    ("activation_p98", "(H,)", "98th percentile of the values of z^k (exact), k=1..L-1"),
    ("activation_histogram", "(H, B)", ("density of z^k on activation_edges; integrates to "
     "1 - activation_out_of_range")),
    ("activation_out_of_range", "(H,)", ("fraction of z^k outside activation_edges "
     "(non-finite values included)")),
    ("backprop_std", "(L,)", "standard deviation of the per-example dC/ds^k, eq. (2)"),
    ("backprop_histogram", "(L, B)", "density of the per-example dC/ds^k on backprop_edges"),
    ("backprop_out_of_range", "(L,)", "fraction of dC/ds^k outside backprop_edges"),
    ("weight_gradient_std", "(L,)", ("standard deviation of the per-example weight gradients "
     "dC/dW^k_lj = z^k_l dC/ds^k_j (eqs. (3), (14)) over examples and all entries")),
    ("weight_variance", "(L,)", "Var[W^k] over the layer's entries (about their mean)"),
    ("bias_variance", "(L,)", "E[(b^k)^2] over the layer's units (about 0)"),
    ("activation_variance", "(L,)", "measured Var[z^k], k=0..L-1 (z^0 = x), about the mean"),
    ("input_second_moment", "()", "E[x^2]: the theories' Var[x] (they take x centred)"),
    ("backprop_variance", "(L,)", "measured Var[dC/ds^k] of the per-example gradients"),
    ("weight_gradient_variance", "(L,)", "measured Var[dC/dW^k] = weight_gradient_std^2"),
    ("cost", "()", "mean cost on the monitor examples"),
    ("error", "()", "error rate (argmax of the top pre-activation) on the monitor examples"),
)
THEORY_KEYS = tuple(
    (f"{t}_{q}", "(L,)", f"{t} theory's {q} for the current Var[W^k] (theory.propagate)")
    for t in THEORIES for q in PREDICTED) + (
    ("theory_var_x", "()", "the Var[x] the theories were given (default: input_second_moment)"),
    ("theory_var_top", "()", "the Var[dC/ds^{L-1}] they were given (default: measured)"),
    ("theory_bias_variance", "()", "their sigma_b^2: the mean over layers of bias_variance"),
)


def _check_data(net: Network, x, y) -> tuple[np.ndarray, np.ndarray]:
    """Checked inputs x (N, n_0) and integer labels y (N,) in [0, n_L) (as int64)."""
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim != 2 or x.shape[1] != net.widths[0] or x.shape[0] < 1:
        raise ValueError(f"inputs must have shape (N >= 1, {net.widths[0]}), got {x.shape}")
    if y.shape != (x.shape[0],) or y.dtype.kind not in "iu":
        raise ValueError(f"labels must be {x.shape[0]} integers, got shape {y.shape} "
                         f"of {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= net.widths[-1]):
        raise ValueError(f"labels must lie in [0, {net.widths[-1]}), got "
                         f"[{y.min()}, {y.max()}]")
    return x, y.astype(np.int64)


def _passes(net: Network, x: np.ndarray, y: np.ndarray, cost: str):
    """Forward and backward in float64: (zs, deltas, mean cost, top pre-activation).

    zs: [z^0 (N, n_0), ..., z^{L-1}]; deltas: per-example dC/ds^k (N, n_{k+1}), by eq. (2)
    delta^{k-1} = f'(s^{k-1}) * (delta^k W^{kT}).
    """
    net64 = net.astype("float64")
    ss, zs = forward(net64, np.asarray(x, dtype=np.float64))
    c, delta = top_cost_and_gradient(ss[-1], y, cost)
    deltas = backpropagate(net64, ss, delta * x.shape[0])   # per example: undo the mean
    return zs, deltas, c, ss[-1]


def _weight_gradient_moments(z: np.ndarray, delta: np.ndarray) -> tuple[float, float]:
    """(mean, variance) of the per-example dC/dW_lj = z_l delta_j over examples and all (l, j).

    From row sums, as ``kernels.passes.weight_gradient`` does, never forming the (n_in, n_out)
    gradients: sum_lj z_l d_j = (sum_l z_l)(sum_j d_j), sum_lj (z_l d_j)^2 = (sum z^2)(sum d^2).
    """
    count = z.shape[0] * z.shape[1] * delta.shape[1]
    s1 = np.dot(z.sum(axis=1), delta.sum(axis=1))                    # (N,) . (N,)
    s2 = np.dot(np.einsum("ij,ij->i", z, z), np.einsum("ij,ij->i", delta, delta))
    mean = s1 / count
    return mean, s2 / count - mean * mean


def _density(values: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, float]:
    """(density on ``edges`` normalised by *all* values, fraction outside the edges)."""
    counts, _ = np.histogram(values, edges)        # the last bin holds its right edge (tanh = 1)
    total = values.size
    return counts / (total * np.diff(edges)), 1.0 - counts.sum() / total


def _edges(lo: float, hi: float, bins: int) -> np.ndarray:
    return np.linspace(lo, hi, bins + 1)


def _spread(values: np.ndarray) -> float:
    """EDGE_SDS standard deviations of ``values``; 1 when that is 0 or not finite."""
    sd = EDGE_SDS * float(np.std(values))
    return sd if np.isfinite(sd) and sd > 0 else 1.0


def monitor_edges(net: Network, x, y, cost: str = "nll", bins: int = 100) -> dict:
    """Fixed histogram edges per layer, chosen once at the start of a run.

    Activations z^1..z^{L-1}: each side is the activation's limit where finite (tanh and
    softsign [-1, 1], sigmoid [0, 1], ReLU [0, ...)), else the initial layer's mean +-
    EDGE_SDS std on (x, y). Back-propagated gradients dC/ds^k: symmetric around 0, +- EDGE_SDS
    std of the initial per-example values. A zero or non-finite spread becomes 1. Values that
    later fall outside are counted in ``*_out_of_range``, never dropped silently.

    Returns {"activation_edges": (L-1, bins+1), "backprop_edges": (L, bins+1)}, float64.
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be an integer >= 1, got {bins!r}")
    check_cost(cost)
    x, y = _check_data(net, x, y)
    zs, deltas, _, _ = _passes(net, x, y, cost)
    lo_f, hi_f = get_activation(net.activation).limits
    act = []
    for z in zs[1:]:
        m, half = float(np.mean(z)), _spread(z)
        lo = float(lo_f) if lo_f.is_finite else m - half
        hi = float(hi_f) if hi_f.is_finite else m + half
        act.append(_edges(lo, hi, bins))
    back = [_edges(-_spread(d), _spread(d), bins) for d in deltas]
    return {"activation_edges": np.array(act).reshape(len(zs) - 1, bins + 1),
            "backprop_edges": np.array(back)}


def _check_edges(net: Network, edges: dict) -> tuple[np.ndarray, np.ndarray]:
    try:
        act, back = (np.asarray(edges[k], dtype=np.float64)
                     for k in ("activation_edges", "backprop_edges"))
    except (KeyError, TypeError):
        raise ValueError("edges must be monitor_edges' dict with 'activation_edges' and "
                         "'backprop_edges'") from None
    L = net.n_layers
    if act.ndim != 2 or back.ndim != 2 or act.shape[0] != L - 1 or back.shape[0] != L \
            or act.shape[1] < 2 or back.shape[1] < 2:
        raise ValueError(f"edges do not fit {L} weight layers: activation_edges {act.shape}, "
                         f"backprop_edges {back.shape} (want ({L - 1}, B+1), ({L}, B+1))")
    return act, back


def monitor(net: Network, x, y, edges: dict, cost: str = "nll") -> dict[str, np.ndarray]:
    """The per-layer statistics of MONITOR_KEYS on the monitor examples (x (N, n_0), y (N,)).

    Activations: z^k = f(s^{k-1}) of the hidden layers; back-propagated gradients: the
    per-example delta^k = dC/ds^k of eq. (2); weight gradients: the per-example
    dC/dW^k_lj = z^k_l delta^k_j of eq. (3), whose variance is eq. (14)'s Var[dC/dW^k].
    Every value is a float64 ndarray of a shape fixed by the widths and the edges.
    """
    check_cost(cost)
    x, y = _check_data(net, x, y)
    act_edges, back_edges = _check_edges(net, edges)
    with np.errstate(over="ignore", invalid="ignore"):   # a diverged net: NaN statistics
        zs, deltas, c, top = _passes(net, x, y, cost)
        out = _activation_stats(zs[1:], act_edges)
        out.update(_gradient_stats(zs, deltas, back_edges))
        out["weight_variance"] = net.weight_variances()
        out["bias_variance"] = net.bias_variances()
        out["activation_variance"] = np.array([np.var(z) for z in zs])
        out["input_second_moment"] = np.asarray(np.mean(np.square(zs[0])))
        out["cost"] = np.asarray(c, dtype=np.float64)
        out["error"] = np.asarray(np.mean(np.argmax(top, axis=1) != y), dtype=np.float64)
    return {key: out[key] for key, _, _ in MONITOR_KEYS}


def _activation_stats(zs: list, edges: np.ndarray) -> dict:
    """Mean, std, exact 2nd/98th percentiles and density of each hidden layer's z."""
    H, B = len(zs), edges.shape[1] - 1
    out = {k: np.full(H, np.nan) for k in ("activation_mean", "activation_std", "activation_p2",
                                           "activation_p98", "activation_out_of_range")}
    out["activation_histogram"] = np.zeros((H, B))
    for h, z in enumerate(zs):
        out["activation_mean"][h] = np.mean(z)
        out["activation_std"][h] = np.std(z)
        out["activation_p2"][h], out["activation_p98"][h] = np.percentile(z, PERCENTILES)
        out["activation_histogram"][h], out["activation_out_of_range"][h] = _density(z, edges[h])
    return out


def _gradient_stats(zs: list, deltas: list, edges: np.ndarray) -> dict:
    """Var, std and density of each layer's per-example dC/ds, and Var of dC/dW (eq. (14))."""
    L, B = len(deltas), edges.shape[1] - 1
    out = {"backprop_variance": np.array([np.var(d) for d in deltas]),
           "backprop_histogram": np.zeros((L, B)), "backprop_out_of_range": np.zeros(L),
           "weight_gradient_variance": np.zeros(L)}
    for k, d in enumerate(deltas):
        out["backprop_histogram"][k], out["backprop_out_of_range"][k] = _density(d, edges[k])
        out["weight_gradient_variance"][k] = _weight_gradient_moments(zs[k], d)[1]
    out["backprop_std"] = np.sqrt(out["backprop_variance"])
    out["weight_gradient_std"] = np.sqrt(out["weight_gradient_variance"])
    return out


def _positive(v) -> bool:
    return bool(np.isfinite(v) and v > 0)


def theory_comparison(net: Network, measured: dict, var_x: float | None = None,
                      var_top: float | None = None,
                      input_moments: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Both theories' per-layer predictions (``theory.propagate``) for the network's current
    weight variances Var[W^k] (``Network.weight_variances``), for set against ``measured``
    (a ``monitor`` dict): the keys of THEORY_KEYS, each (L,) or ().

    var_x: the theories' Var[x]; default the measured E[x^2] (``input_second_moment``): the
    theories take x centred, and what enters the forward rule and eq. (14) is E[(z^0)^2]; for
    inputs in [0, 1] (MNIST, CIFAR, Shapeset) Var[x] alone would miss the mean's share.
    var_top: Var[dC/ds^{L-1}], default the measured one (``backprop_variance[-1]``).
    input_moments: (N,) each monitor example's own mean x^2 (``theory.input_second_moments``):
    then each theory is evaluated per input and averaged (``theory.propagate_over_inputs``;
    images of different brightness give the first layer a scale mixture that one pooled
    E[x^2] misses by up to ~15 % on Shapeset); var_x is then their mean.
    Biases: ``propagate`` takes one sigma_b^2 for every layer; it is the mean over layers of
    the current E[(b^k)^2] (0 at initialisation, where the theories are exact).
    Inputs that are not finite and positive (a diverged network) give NaN predictions of the
    same shapes, so a monitor point never stops a run.
    """
    L = net.n_layers
    for key in ("input_second_moment", "backprop_variance"):
        if key not in measured:
            raise ValueError(f"measured must be a monitor() dict; it lacks {key!r}")
    if input_moments is not None:
        var_x = float(np.mean(input_moments))
    var_x = float(measured["input_second_moment"]) if var_x is None else float(var_x)
    var_top = float(np.asarray(measured["backprop_variance"])[-1]) if var_top is None \
        else float(var_top)
    wv = net.weight_variances()
    sb2 = float(np.mean(net.bias_variances()))
    out = {"theory_var_x": np.asarray(var_x), "theory_var_top": np.asarray(var_top),
           "theory_bias_variance": np.asarray(sb2)}
    usable = all(_positive(v) for v in (var_x, var_top, *wv)) and np.isfinite(sb2)
    for t in THEORIES:
        if not usable or (t == "linear" and not has_linear_regime(net.activation)):
            pred = None                 # NaN: no numbers, or no linear regime (SELU)
        elif input_moments is not None:
            pred = propagate_over_inputs(net.widths, wv, net.activation, input_moments, var_top,
                                         bias_variance=sb2, theory=t)[0]
        else:
            pred = propagate(net.widths, wv, net.activation, var_x, var_top, bias_variance=sb2,
                             theory=t)
        for q in PREDICTED:
            out[f"{t}_{q}"] = np.asarray(getattr(pred, q), dtype=np.float64) \
                if pred is not None else np.full(L, np.nan)
    return {key: out[key] for key, _, _ in THEORY_KEYS}


def evaluate(net: Network, x, y, cost: str = "nll", chunk: int = 1000) -> tuple[float, float]:
    """(error rate, mean cost) over a whole set (x (N, n_0), y (N,)), ``chunk`` rows at a
    time, in the network's dtype (NumPy BLAS forward, ``numpy_step.forward``); the error is
    the fraction whose top pre-activation's argmax is not the label."""
    check_cost(cost)
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk must be an integer >= 1, got {chunk!r}")
    x, y = _check_data(net, x, y)
    wrong, total_cost = 0, 0.0
    for a in range(0, x.shape[0], chunk):
        xb, yb = np.asarray(x[a:a + chunk], dtype=net.dtype), y[a:a + chunk]
        top = forward(net, xb)[0][-1]                                # (rows, n_L)
        c, _ = top_cost_and_gradient(top, yb, cost)
        wrong += int(np.count_nonzero(np.argmax(top, axis=1) != yb))
        total_cost += c * len(yb)
    return wrong / x.shape[0], total_cost / x.shape[0]
