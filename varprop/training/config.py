"""A training run's configuration: one flat record, read from TOML (``varprop/configs/NAME.toml``)
and ``--set key=value`` overrides, validated with one-line errors naming the valid choices.

Defaults are the paper's setting (Section 3): Shapeset-3×2, 5 hidden layers of 1000 units,
SGD on minibatches of 10, monitors every 20,000 updates (the paper's "epoch") on 300 fixed
test examples.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import tomllib

from ..datasets.names import NAMES
from ..kernels.costs import COSTS
from ..symbolic.activations import get_activation, register_activation
from ..symbolic.laws import LAW_NAMES
from ..symbolic.schemes import INIT_NAMES, unknown_init
from .network import DTYPES

DATASETS = NAMES   # the data sets varprop.datasets reads


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a run's results. ``data_dir`` does not; ``threads`` does not
    change the training trajectory (the Numba step gives the same bits for any count), though
    the monitors' BLAS products may round differently with another thread count."""

    dataset: str = "shapeset"
    hidden: tuple[int, ...] = (1000,) * 5      # hidden widths; input and output from the data
    activation: str = "tanh"
    init: str = "normalized"
    law: str | None = None                     # weight law (default: the scheme's own)
    cost: str = "nll"
    batch_size: int = 10
    lr: float = 0.01
    updates: int = 1_000_000
    monitor_every: int = 20_000                # per-layer monitors (the paper's "epoch")
    eval_every: int = 100_000                  # validation and test error and cost
    checkpoint_every: int = 20_000
    monitor_examples: int = 300                # first examples of the test set
    eval_examples: int | None = None           # None: whole validation and test sets
    bins: int = 100                            # histogram bins of the monitors
    seed: int = 0                              # initial weights
    data_seed: int = 0                         # training stream / shuffling, Shapeset's sets
    dtype: str = "float32"
    lr_grid: tuple[float, ...] = ()            # learning-rate selection (``tuning``)
    tune_updates: int | None = None            # first budget of the halving (``tuning``; None:
                                               # updates / 2^ceil(log2 len(lr_grid)))
    threads: int | None = None                 # threads of the step and of the monitors' BLAS
                                               # products (None: all cores)
    data_dir: str | None = None                # MNIST / Fashion-MNIST / CIFAR-10 folder

    def __post_init__(self):
        check(self)

    def to_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    def replace(self, **changes) -> TrainConfig:
        return from_dict({**self.to_dict(), **changes})

    def results_key(self) -> dict:
        """The part of the config the results depend on (threads and data_dir do not)."""
        d = self.to_dict()
        for k in ("threads", "data_dir", "lr_grid", "tune_updates"):
            d.pop(k)
        return d


KEYS = tuple(f.name for f in fields(TrainConfig))


def _plain(v):
    return list(v) if isinstance(v, tuple) else v


def _int(name, v, lo=1):
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")


def _choice(name, v, choices):
    if v not in choices:
        raise ValueError(f"unknown {name} {v!r}; choose one of: {', '.join(choices)}")


def check(c: TrainConfig) -> None:
    """Raise ValueError (one line, naming valid choices) for the first bad value."""
    _choice("dataset", c.dataset, DATASETS)
    if not isinstance(c.activation, str):
        raise ValueError(f"activation must be a name or an expression in x, got {c.activation!r}")
    get_activation(c.activation)       # a name, leaky_relu(a) or an expression in x
    if c.init not in INIT_NAMES:
        raise ValueError(unknown_init(c.init))
    if c.law is not None:
        _choice("law", c.law, tuple(LAW_NAMES))
    _choice("cost", c.cost, COSTS)
    _choice("dtype", c.dtype, tuple(DTYPES))
    if not c.hidden:
        raise ValueError("hidden must list at least one hidden width, e.g. 1000,1000")
    for h in c.hidden:
        _int("each hidden width", h)
    for name in ("batch_size", "updates", "monitor_every", "eval_every", "checkpoint_every",
                 "monitor_examples", "bins"):
        _int(name, getattr(c, name))
    if c.tune_updates is not None:
        _int("tune_updates", c.tune_updates)
    for name in ("seed", "data_seed"):
        _int(name, getattr(c, name), lo=0)
    if c.eval_examples is not None:
        _int("eval_examples", c.eval_examples)
    if c.threads is not None:
        _int("threads", c.threads)
    for name, lr in [("lr", c.lr)] + [("each lr of lr_grid", v) for v in c.lr_grid]:
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0 or lr == float("inf"):
            raise ValueError(f"{name} must be a positive number, got {lr!r}")


def _coerce(key: str, value):
    """TOML / --set values to the field's type: lists to tuples, ints to floats for rates,
    comma-separated text for the tuple fields."""
    if key in ("hidden", "lr_grid"):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
            try:
                value = [int(v) if key == "hidden" else float(v) for v in value]
            except ValueError:
                raise ValueError(f"{key} must be a comma-separated list of numbers, got "
                                 f"{','.join(map(str, value))!r}") from None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{key} must be a list, got {value!r}")
        return tuple(float(v) if key == "lr_grid" and isinstance(v, int) else v for v in value)
    if key == "lr" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def from_dict(d: dict) -> TrainConfig:
    """A config from a flat mapping; unknown keys are an error listing the valid ones."""
    unknown = sorted(set(d) - set(KEYS))
    if unknown:
        raise ValueError(f"unknown config key{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(map(repr, unknown))}; valid keys: {', '.join(KEYS)}")
    if "dataset" in d:
        from ..datasets.interface import canonical_name
        d = {**d, "dataset": canonical_name(d["dataset"])}
    return TrainConfig(**{k: _coerce(k, v) for k, v in d.items()})


def read_toml(path) -> dict:
    """The flat mapping of a config file (its [train] table if it has one).

    An ``[activations]`` table defines activations by expression, ``swish2 = "x*sigmoid(2*x)"``;
    each is registered (``register_activation``), and a config whose ``activation`` names one
    gets its expression instead, so that the run records what it trained, not a name that
    another file could define differently."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such config file")
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    defined = raw.pop("activations", {})
    if not isinstance(defined, dict):
        raise ValueError(f"{path}: [activations] must be a table of name = \"expression in x\"")
    for name, expr in defined.items():
        try:
            register_activation(name, expr)
        except ValueError as exc:
            raise ValueError(f"{path}: [activations] {exc}") from None
    d = dict(raw.get("train", raw))
    if d.get("activation") in defined:
        d["activation"] = str(defined[d["activation"]]).strip()
    return d


def parse_set(items) -> dict:
    """['lr=0.1', 'hidden=[500,500]', 'dataset=mnist'] -> values (TOML syntax, else text)."""
    out = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ValueError(f"--set needs key=value, got {item!r}; valid keys: {', '.join(KEYS)}")
        try:
            value = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = text.strip()
        out[key] = None if value in ("none", "None") else value
    return out


def merge(*layers: dict) -> TrainConfig:
    """A config from mappings, later ones overriding earlier ones."""
    d: dict = {}
    for layer in layers:
        d.update(layer)
    return from_dict(d)


__all__ = ["DATASETS", "KEYS", "TrainConfig", "from_dict", "merge", "parse_set", "read_toml"]
