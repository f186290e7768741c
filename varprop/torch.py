"""PyTorch models through varprop's theory: ``audit`` measures, predicts and names each layer's
initialisation; ``init_`` applies a registry scheme with the gain derived for each activation.

A model is read as the chain the paper analyses (eq. 1-3): weight layers ``nn.Linear`` with an
element-wise activation between them,

    x = z^0 -> s^0 = z^0 W^0 + b^0 -> z^1 = f(s^0) -> ... -> s^{L-1}  [-> LogSoftmax/Softmax],

in any nesting of ``nn.Sequential`` or of modules whose ``forward`` calls their children one
after another. The chain is found by running the model once with hooks on its leaf modules and
checking that each one's input is the previous one's output: a convolution, attention, a
branch, a functional call between modules (``torch.tanh(h)`` in ``forward``) or a module used
twice is a one-line ``ValueError`` naming the first place the chain breaks.

Indexing follows ``varprop.montecarlo``: for the weight layers k = 0 .. L-1, z^k is the input
of W^k (z^0 = x), dC/ds^k the gradient at its output, dC/dW^k = z^k (dC/ds^k)^T the
*per-example* weight gradient (eq. 3): the cost is summed over the batch, so that each
example's gradient is the paper's. Variances are over every unit (entry) and example of a layer.

PyTorch is optional (``pip install 'varprop[torch]'``); importing this module without it is an
ImportError that says so, and nothing else in varprop imports it.
"""
from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field

import numpy as np

try:
    import torch
    from torch import nn
except ImportError as exc:   # pragma: no cover - the test extra installs torch
    raise ImportError("varprop.torch needs PyTorch: pip install 'varprop[torch]'") from exc

from .check import ALPHA, FINITE_WIDTH, t_critical, tolerance
from .criticality import fixed_point_gain, linear_gain
from .initialization import resolve_scheme, sample_weights, weight_parameter
from .symbolic.activations import get_activation
from .symbolic.schemes import SCHEME_NAMES, Scheme, fan_function, schemes
from .theory import has_linear_regime, propagate

QUANTITIES = (  # (key in the report, its title in the figure, Prediction field)
    ("activation_variance", r"Var[$z^k$], the input of $W^k$", "activation_variance"),
    ("backprop_variance", r"Var[$\partial C/\partial s^k$]", "backprop_variance"),
    ("weight_gradient_variance", r"Var[$\partial C/\partial W^k$], per example",
     "weight_gradient_variance"),
)
GAINS = ("derived", "linear", "fixed_point", "none")   # init_'s gain choices (or a number)
# The activation whose gain a scheme's variance already holds: he's 2/fan_in is lecun's
# 1/fan_in times ReLU's gain^2 (V10; tests/test_torch.py checks it from the registry).
SCHEME_ACTIVATION = {"he": "relu"}
MATCH_Z = 5.0          # a layer's weights match a scheme within this many standard errors
KURTOSIS = {"uniform": 1.8, "normal": 3.0}   # E[w^4] / Var[w]^2 of the laws
PASSTHROUGH = (nn.Identity, nn.Flatten, nn.Dropout)   # skipped: no change at initialisation


def _elu(m):
    a = float(m.alpha)
    return "elu" if a == 1.0 else f"Piecewise((x, x > 0), ({a!r}*(exp(x) - 1), True))"


def _gelu(m):
    if m.approximate == "none":
        return "gelu"
    return "x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x**3)))/2"    # approximate="tanh"


def _hardtanh(m):
    lo, hi = float(m.min_val), float(m.max_val)
    if (lo, hi) == (-1.0, 1.0):
        return "hard_tanh"
    return f"Piecewise(({lo!r}, x < {lo!r}), (x, x <= {hi!r}), ({hi!r}, True))"


def _softplus(m):
    if float(m.beta) != 1.0:
        raise ValueError(f"Softplus with beta={m.beta}: map it with activations={{...}}")
    return "softplus"


# PyTorch's element-wise activation modules -> varprop activations (names or expressions)
MODULES = {
    nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.Softsign: "softsign", nn.ReLU: "relu",
    nn.LeakyReLU: lambda m: f"leaky_relu({float(m.negative_slope)!r})", nn.ELU: _elu,
    nn.SELU: "selu", nn.GELU: _gelu, nn.SiLU: "silu", nn.Mish: "mish",
    nn.Hardtanh: _hardtanh, nn.Softplus: _softplus,
}
TOPS = (nn.LogSoftmax, nn.Softmax)   # allowed after the last Linear: the NLL reads them


def _activation_of(module, user) -> str | None:
    """The varprop activation of an element-wise module (``user`` first), None if unknown."""
    for table in (user, MODULES):
        for key, act in table.items():
            if module is key or (isinstance(key, type) and isinstance(module, key)):
                name = act(module) if callable(act) else act
                get_activation(name)      # a bad mapping is a one-line error here
                return name
    return None


def _describe(name, module) -> str:
    return f"'{name}' ({type(module).__name__})" if name else type(module).__name__


@dataclass
class Chain:
    """A model read as the paper's network: its Linear layers and what follows each."""

    linears: list            # nn.Linear, the weight layers W^0 .. W^{L-1}
    names: list[str]         # their qualified names in the model
    activations: list[str]   # varprop activation after W^0 .. W^{L-2}
    top: object              # None, an activation name after W^{L-1}, or a TOPS module
    steps: list              # the modules in call order (pass-throughs removed)

    @property
    def widths(self) -> tuple[int, ...]:
        return (self.linears[0].in_features, *(m.out_features for m in self.linears))


def check_modules(model, user) -> None:
    """Statically, before running anything: the first module that cannot be part of a chain
    (not a Linear, an element-wise activation, a pass-through or a final softmax; or a
    container with parameters of its own, like attention)."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"expected a torch.nn.Module, got {type(model).__name__}")
    names = {m: n for n, m in model.named_modules()}
    for m in model.modules():
        own = any(p is not None for p in m._parameters.values())
        leaf = not list(m.children())
        if (own or leaf) and not (isinstance(m, (nn.Linear, *PASSTHROUGH, *TOPS))
                                  or (leaf and _activation_of(m, user) is not None)):
            raise ValueError(
                f"varprop audit reads Linear layers and element-wise activations; "
                f"{_describe(names[m], m)} is not one (map a custom activation module with "
                "activations={Module: 'expression in x'})")


def read_chain(model, x, activations=None) -> Chain:
    """Trace ``model(x)`` once (no gradients) and read it as a chain; ValueError otherwise."""
    user = dict(activations or {})
    check_modules(model, user)
    leaves = [m for m in model.modules() if not list(m.children())]
    names = {m: n for n, m in model.named_modules()}
    calls = []

    def record(module, inputs, output):
        calls.append((module, inputs[0] if inputs else None, output))

    handles = [m.register_forward_hook(record) for m in leaves]
    try:
        with torch.no_grad():
            out = model(x)
    except Exception as exc:    # the model's own error, in one line
        msg = " ".join(str(exc).split())
        raise ValueError(f"the model failed on the input: {type(exc).__name__}: {msg}") from None
    finally:
        for h in handles:
            h.remove()
    if not calls:
        raise ValueError("the model called none of its modules")
    previous = x
    for k, (m, inp, o) in enumerate(calls):
        if inp is not previous:
            where = "its input" if k == 0 else _describe(names[calls[k - 1][0]], calls[k - 1][0])
            raise ValueError(f"the model is not a chain of modules: {_describe(names[m], m)} "
                             f"does not take the output of {where} (a branch, a reshape or a "
                             "functional call in forward?)")
        previous = o
    if out is not previous:
        raise ValueError("the model's output is not its last module's output (a functional "
                         "call or a branch after it?)")
    seen = set()
    for m, _, _ in calls:
        if id(m) in seen:
            raise ValueError(f"{_describe(names[m], m)} is called twice (shared weights)")
        seen.add(id(m))
    steps = [m for m, _, _ in calls if not isinstance(m, PASSTHROUGH)]
    if not steps or not isinstance(steps[0], nn.Linear):
        raise ValueError("the chain must start with an nn.Linear layer")
    linears, acts, top = [], [], None
    for k, m in enumerate(steps):
        if isinstance(m, nn.Linear):
            if linears and len(acts) < len(linears):
                acts.append("linear")          # two Linear layers in a row: f(x) = x
            linears.append(m)
        elif isinstance(m, TOPS):
            if k != len(steps) - 1 or not isinstance(steps[k - 1], nn.Linear):
                raise ValueError(f"{_describe(names[m], m)} is allowed only right after the "
                                 "last Linear layer")
            top = m
        else:
            if not isinstance(steps[k - 1], nn.Linear):
                raise ValueError(f"two activations in a row at {_describe(names[m], m)}")
            acts.append(_activation_of(m, user))
    if len(acts) == len(linears):      # an activation after the last Linear
        top = acts.pop()
    return Chain(linears, [names[m] for m in linears], acts, top, steps)


# ---------------------------------------------------------------------------------------------
# init_


def _gain(gain, activation: str | None, scheme: Scheme) -> float:
    """The factor on the scheme's std for the layer followed by ``activation`` (None: the
    top layer)."""
    if not isinstance(gain, str):
        try:
            g = float(gain)
        except (TypeError, ValueError):
            g = math.nan
        if not (math.isfinite(g) and g > 0):
            raise ValueError(f"gain must be a positive number or one of: {', '.join(GAINS)}; "
                             f"got {gain!r}")
        return 1.0 if activation is None else g
    if gain not in GAINS:
        raise ValueError(f"unknown gain {gain!r}; choose one of: {', '.join(GAINS)}, or a number")
    if gain == "none":
        return 1.0

    def of(act):
        g = linear_gain(act) if gain in ("derived", "linear") else None
        if g is None and gain != "linear":
            g = fixed_point_gain(act)
        if g is None:
            raise ValueError(f"activation {act!r} has no linear-regime gain (its one-sided "
                             "slopes at 0 differ); use gain='fixed_point' or 'derived'")
        return g

    base = scheme.name.split("/")[0]
    return of(activation or "linear") / of(SCHEME_ACTIVATION.get(base, "linear"))


def init_(model, scheme: str | Scheme, law: str | None = None, gain="derived", seed: int = 0,
          activations=None, x=None):
    """Initialise every Linear layer of ``model`` with a registry scheme (or an alias users
    know: ``glorot_uniform``, ``kaiming_normal``, ...), drawn from ``law`` (the scheme's own
    by default), weights scaled by the gain of the activation that follows the layer; biases 0
    (the paper's setup). Returns the model.

    gain: "derived" (default) the linear-regime gain (1/f'(0), V8; sqrt(2/(a_-^2 + a_+^2)) for
    a positively homogeneous f, V10) and the fixed-point gain (V16, q* = 1) where f has no
    slope at 0 (SELU); "linear" or "fixed_point" that one only; "none" the scheme as it is; or
    a number (for the hidden layers). The last Linear layer (whatever follows it) gets the
    gain of f(x) = x, 1. For "he",
    whose variance already holds ReLU's gain, the factor is gain(f) / gain(ReLU), as PyTorch's
    ``kaiming_*_(nonlinearity=f)`` does.

    Weights come from ``numpy.random.default_rng(seed)``, layer after layer as
    ``varprop.training.network.init_network`` draws them: with gain 1 the model's weights
    equal that network's (transposed: PyTorch stores W as (fan_out, fan_in)).
    x: an example input, needed to read the chain only when the model is not a Sequential
    (default: a batch of 2 zeros).
    """
    s = resolve_scheme(scheme, law)
    first = _first_linear(model)
    if x is None:
        x = torch.zeros(2, first.in_features, dtype=first.weight.dtype)
    chain = read_chain(model, x, activations)
    rng = np.random.default_rng(seed)
    follows = chain.activations + [None]
    with torch.no_grad():
        for lin, act in zip(chain.linears, follows):
            w = sample_weights(rng, lin.in_features, lin.out_features, s) * _gain(gain, act, s)
            lin.weight.copy_(torch.from_numpy(w.T.copy()))
            if lin.bias is not None:
                lin.bias.zero_()
    return model


def _first_linear(model):
    for m in model.modules():
        if isinstance(m, nn.Linear):
            return m
    raise ValueError("the model has no nn.Linear layer")


# ---------------------------------------------------------------------------------------------
# audit


def identify_init(w: np.ndarray) -> tuple[str | None, str, float]:
    """(scheme, law, z): the registry scheme whose Var[W] the weights (fan_in, fan_out) match
    within MATCH_Z standard errors of their sample variance (SE from their own fourth moment),
    and the law read from the kurtosis (uniform 1.8, normal 3) or from orthogonal columns.
    A scheme whose own law is the one read is preferred; otherwise ``scheme/law``."""
    fan_in, fan_out = w.shape
    v = float(np.mean(w * w) - np.mean(w) ** 2)
    m4 = float(np.mean((w - w.mean()) ** 4))
    se = math.sqrt(max(m4 - v * v, 0.0) / w.size)
    law = _law(w, v, m4)
    matches = []
    for name in SCHEME_NAMES:
        target = float(fan_function(schemes()[name].variance)(fan_in, fan_out))
        z = abs(v - target) / se if se > 0 else (0.0 if v == target else math.inf)
        if z <= MATCH_Z:
            matches.append((schemes()[name].law != law, z, name))
    if not matches:
        return None, law, math.inf
    _, z, name = min(matches)
    return (name if schemes()[name].law == law else f"{name}/{law}"), law, z


def _law(w, v, m4) -> str:
    small = min(w.shape)
    if small >= 2 and v > 0:
        a = w if w.shape[0] >= w.shape[1] else w.T      # (big, small): orthonormal columns?
        gram = a.T @ a / (v * max(w.shape))
        if np.max(np.abs(gram - np.eye(small))) < 1e-4:
            return "orthogonal"
    k = m4 / (v * v) if v > 0 else 0.0
    return min(KURTOSIS, key=lambda law: abs(KURTOSIS[law] - k)) if abs(k - 2.4) > 0.3 \
        else "truncated_normal"     # +-2 sigma truncated normal: kurtosis 2.37


@dataclass
class Audit:
    """A model's per-layer variances, measured on one batch and predicted by both theories."""

    widths: tuple[int, ...]
    names: list[str]
    activations: list[str]
    rows: list[dict]
    var_x: float
    var_top: float
    bias_variance: float
    batch: int
    top: str
    ok: bool | None
    finite_width_rel: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"widths": list(self.widths), "activations": self.activations,
                "batch": self.batch, "var_x": self.var_x, "top": self.top,
                "top_gradient_variance": self.var_top, "bias_variance": self.bias_variance,
                "tolerance": {"alpha": ALPHA, "finite_width_rel": self.finite_width_rel},
                "ok": self.ok, "notes": self.notes, "layers": self.rows}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def table(self) -> str:
        def num(v):
            return f"{'—':>11}" if v is None else f"{v:>11.4e}"

        lines = [f"varprop audit: widths {','.join(map(str, self.widths))}, "
                 f"activations {', '.join(self.activations) or 'none'}, {self.batch} inputs "
                 f"(E[x^2] = {self.var_x:.4g}), top: {self.top} "
                 f"(Var[dC/ds] = {self.var_top:.4g})",
                 f"verdict: |measured - mean field| <= t SE + {self.finite_width_rel:.3g} "
                 f"|mean field|, SE across a layer's units, t for a false alarm of {ALPHA:g} "
                 "per report",
                 f"{'layer':>5}  {'name':<12} {'init':<14} {'Var[W]':>10}  {'quantity':<10} "
                 f"{'linear':>11} {'mean field':>11} {'measured':>11} {'SE':>10}  verdict"]
        short = {"activation_variance": "Var[z]", "backprop_variance": "Var[dC/ds]",
                 "weight_gradient_variance": "Var[dC/dW]"}
        for r in self.rows:
            for j, (key, label) in enumerate(short.items()):
                c = r[key]
                head = (f"{r['layer']:>5}  {r['name'][:12]:<12} {str(r['init'])[:14]:<14} "
                        f"{r['weight_variance']:>10.3e}" if j == 0 else " " * 45)
                lines.append(f"{head}  {label:<10} {num(c['linear'])} {num(c['meanfield'])} "
                             f"{c['measured']:>11.4e} {c['se']:>10.2e}  {c['verdict'] or ''}")
        lines += self.notes
        if self.ok is not None:
            lines.append("all agree" if self.ok else "DISAGREEMENT beyond the tolerance")
        return "\n".join(lines)

    __str__ = table

    def figure(self):
        """Fig. V for this model: measured (± 2 SE) against both theories, per layer."""
        from .figures import style

        fig = style.figure(8.0, 2.8)
        axes = fig.subplots(1, len(QUANTITIES), squeeze=False)[0]
        layers = [r["layer"] for r in self.rows]
        for ax, (key, title, _) in zip(axes, QUANTITIES):
            col = [r[key] for r in self.rows]
            for theory, style_kw in (("linear", dict(color="0.5", linestyle=":", marker="s",
                                                      markersize=3, label="linear theory")),
                                     ("meanfield", dict(color="black", linestyle="--",
                                                        label="mean-field theory"))):
                if all(c[theory] is not None for c in col):
                    ax.plot(layers, [c[theory] for c in col], **style_kw)
            ax.errorbar(layers, [c["measured"] for c in col],
                        yerr=[2 * c["se"] for c in col], color="black", marker="o",
                        markersize=3.5, linestyle="none", capsize=2, label="measured ± 2 SE")
            style.log_scale(ax)
            ax.set_xticks(layers)
            ax.set_xlabel("layer k")
            ax.set_title(title, fontsize=8)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False)
        inits = sorted({str(r["init"]) for r in self.rows})
        fig.suptitle(f"varprop audit: widths {'-'.join(map(str, self.widths))}, "
                     f"{', '.join(sorted(set(self.activations))) or 'linear'}, "
                     f"init {', '.join(inits)}, {self.batch} inputs", fontsize=9)
        return fig

    def plot(self, path) -> None:
        """Save ``figure()`` to ``path`` (its suffix picks the format), written atomically."""
        from .files import atomic_path

        fig = self.figure()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=str(path).rsplit(".", 1)[-1] if "." in str(path) else "png")


def _loss_for(chain, out, y, loss, generator):
    """(the summed cost C, its description, labels used)."""
    n_out = chain.widths[-1]
    if loss is not None:
        if hasattr(loss, "reduction"):        # per-example gradients: sum over the batch
            loss = copy.copy(loss)
            loss.reduction = "sum"
        if y is None:
            raise ValueError("give y with a loss")
        return loss(out, y), f"given loss ({type(loss).__name__})"
    if chain.top is None or isinstance(chain.top, TOPS):
        if y is None:
            y = torch.randint(0, n_out, (out.shape[0],), generator=generator)
        if chain.top is None:
            return nn.functional.cross_entropy(out, y, reduction="sum"), "softmax + NLL"
        logp = out if isinstance(chain.top, nn.LogSoftmax) else torch.log(out)
        return nn.functional.nll_loss(logp, y, reduction="sum"), "NLL"
    g = torch.randn(out.shape, generator=generator, dtype=out.dtype)
    return (out * g).sum(), "N(0, 1) gradient at the output"


def _per_unit(values: np.ndarray):
    """(variance over all entries, its SE across units): values (examples, units)."""
    grand = values.mean()
    per_unit = ((values - grand) ** 2).mean(0)          # (units,)
    n = per_unit.size
    se = per_unit.std(ddof=1) / math.sqrt(n) if n > 1 else math.nan
    return float(per_unit.mean()), float(se)


def _weight_gradient(z: np.ndarray, d: np.ndarray):
    """Variance of the per-example weight gradients z_l d_k over examples and entries (l, k),
    and its SE across output units k, from row sums (the (n_in, n_out) gradients are never
    formed, as in ``kernels.passes.weight_gradient``). z: (B, n_in); d: (B, n_out)."""
    n_in = z.shape[1]
    s1 = z.sum(1)                  # (B,)
    s2 = (z * z).sum(1)            # (B,)
    m1 = (s1 @ d) / (len(z) * n_in)               # (n_out,) mean of z_l d_k per k
    m2 = (s2 @ (d * d)) / (len(z) * n_in)         # (n_out,) mean of (z_l d_k)^2 per k
    grand = m1.mean()
    per_unit = m2 - 2 * grand * m1 + grand ** 2
    se = per_unit.std(ddof=1) / math.sqrt(per_unit.size) if per_unit.size > 1 else math.nan
    return float(per_unit.mean()), float(se)


def audit(model, x, y=None, loss=None, *, activations=None, seed: int = 0) -> Audit:
    """Measure, predict and name, layer by layer (see the module docstring).

    x: (batch, n_0) inputs; y: labels for the NLL (random, seeded, when None); loss: a cost
    ``loss(output, y)`` instead (a module with ``reduction`` is summed over the batch);
    activations: {module class or instance: varprop activation name or expression} for
    element-wise modules varprop does not know. Without a loss and with an activation after
    the last Linear layer, an N(0, 1) gradient is injected there (``varprop check --top
    gaussian``).

    Predictions take each layer's measured weight variance, E[x^2] of the inputs, the measured
    Var[dC/ds^{L-1}] at the top and sigma_b^2 = the mean over layers of E[b^2]; they need one
    activation throughout (a model that mixes activations is measured, not predicted).
    """
    if not torch.is_tensor(x) or x.ndim != 2:
        raise ValueError("x must be a 2-D tensor (batch, input features)")
    check_modules(model, dict(activations or {}))
    first = _first_linear(model).in_features
    if x.shape[1] != first:
        raise ValueError(f"x has {x.shape[1]} features; the first Linear takes {first}")
    chain = read_chain(model, x, activations)
    generator = torch.Generator().manual_seed(seed)
    with torch.enable_grad():
        zs, ss = [], []
        h = x.detach()
        for m in chain.steps:
            if isinstance(m, nn.Linear):
                zs.append(h)
                h = m(h)
                h.retain_grad()
                ss.append(h)
                h = h.clone()          # an in-place activation must not change s^k
            else:
                h = m(h)
        cost, top = _loss_for(chain, h, y, loss, generator)
        for lin in chain.linears:
            lin.zero_grad(set_to_none=True)
        cost.backward()
    for lin in chain.linears:          # the audit leaves no gradients behind
        lin.zero_grad(set_to_none=True)
    z = [t.detach().double().numpy() for t in zs]
    d = [t.grad.detach().double().numpy() for t in ss]
    w = [lin.weight.detach().double().numpy().T for lin in chain.linears]    # (fan_in, fan_out)
    b = [lin.bias.detach().double().numpy() if lin.bias is not None else np.zeros(lin.out_features)
         for lin in chain.linears]
    L = len(chain.linears)
    measured = {"activation_variance": [_per_unit(v) for v in z],
                "backprop_variance": [_per_unit(v) for v in d],
                "weight_gradient_variance": [_weight_gradient(zk, dk) for zk, dk in zip(z, d)]}
    weight_variance = [float(np.var(wk)) for wk in w]
    var_x = float(np.mean(z[0] ** 2))
    var_top = measured["backprop_variance"][-1][0]
    bias_variance = float(np.mean([np.mean(bk ** 2) for bk in b]))
    notes, preds = [], {"linear": None, "meanfield": None}
    kinds = set(chain.activations)
    if len(kinds) > 1:
        notes.append(f"mixed activations ({', '.join(sorted(kinds))}): no prediction, the "
                     "theory takes one activation throughout")
    elif not (math.isfinite(var_top) and var_top > 0):
        notes.append("the top gradient is zero or not finite: no prediction")
    else:
        act = kinds.pop() if kinds else "linear"
        for theory in preds:
            if theory == "linear" and not has_linear_regime(act):
                continue
            preds[theory] = propagate(chain.widths, weight_variance, act, var_x, var_top,
                                      bias_variance=bias_variance, theory=theory)
    classes = chain.widths[-1] if top in ("softmax + NLL", "NLL") else 0
    fw = FINITE_WIDTH * (L + classes) / min(chain.widths[:-1]) if L > 1 else 0.0
    comparisons = max(len(QUANTITIES) * L - 1, 1)

    def t_for(units):    # Student-t for the SE across ``units`` units, Bonferroni over the report
        return t_critical(units - 1, ALPHA / comparisons)

    rows, ok = [], (None if preds["meanfield"] is None else True)
    for k in range(L):
        scheme, law, _ = identify_init(w[k])
        row = {"layer": k, "name": chain.names[k], "fan_in": chain.widths[k],
               "fan_out": chain.widths[k + 1], "init": scheme, "law": law,
               "weight_variance": weight_variance[k], "bias_variance": float(np.mean(b[k] ** 2)),
               "activation": chain.activations[k] if k < L - 1 else _top_name(chain.top)}
        for key, _, fld in QUANTITIES:
            value, se = measured[key][k]
            t = t_for(chain.widths[k] if key == "activation_variance" else chain.widths[k + 1])
            cell = {"measured": value, "se": se, "t": t,
                    **{t: (None if p is None else float(getattr(p, fld)[k]))
                       for t, p in preds.items()}, "verdict": None}
            if cell["meanfield"] is not None:
                if k == L - 1 and key == "backprop_variance":
                    cell["verdict"] = "input"      # the theory starts from this value
                else:
                    good = abs(value - cell["meanfield"]) <= tolerance(se, cell["meanfield"], fw, t)
                    cell["verdict"] = "ok" if good else "differs"
                    ok = ok and bool(good)
            row[key] = cell
        rows.append(row)
    return Audit(chain.widths, chain.names, chain.activations, rows, var_x, var_top,
                 bias_variance, int(x.shape[0]), top, ok, fw, notes)


def _top_name(top) -> str | None:
    if top is None or isinstance(top, str):
        return top
    return type(top).__name__


__all__ = ["Audit", "Chain", "GAINS", "MODULES", "audit", "identify_init", "init_", "read_chain"]
