"""``varprop train``: the paper's SGD training with per-layer monitors, from a TOML config and
flags; ``--report`` prints the trained-vs-theory table of a run."""
from __future__ import annotations

import sys
from pathlib import Path

# The flags that set a config value carry the key's own name (None: not given).
FLAGS = ("dataset", "activation", "init", "law", "cost", "hidden", "batch_size", "lr", "updates",
         "monitor_every", "eval_every", "checkpoint_every", "seed", "data_seed", "dtype",
         "threads", "data_dir", "lr_grid", "tune_updates")


def _config_path(text: str) -> Path:
    """A path, or the NAME of a config the package ships (``configs.path``)."""
    from .. import configs

    p = Path(text)
    if p.is_file() or p.suffix == ".toml":
        return p
    return configs.path(text)


def _config(args, base: dict | None = None):
    """defaults < ``base`` (a resumed run's stored config) < CONFIG < flags < --set."""
    from .config import merge, parse_set, read_toml

    layers = [base or {}]
    if args.config:
        layers.append(read_toml(_config_path(args.config)))
    layers.append({key: getattr(args, key) for key in FLAGS if getattr(args, key) is not None})
    layers.append(parse_set(args.set))
    return merge(*layers)


def _default_out(c) -> Path:
    return Path("runs") / f"{c.dataset}-{c.activation}-{c.init}-seed{c.seed}"


def _report(format_report, meta, arrays) -> str:
    return format_report(arrays, arrays["monitor_updates"], meta["widths"],
                         meta["config"]["activation"])


def _cmd_train(args) -> int:
    from ..files import read_json
    from ..resources import writable_folder
    from .report import format_report
    from .run import (PROVENANCE, RESULTS_JSON, Diverged, preflight, read_results,
                      stored_config, train)
    from .tuning import successive_halving, trial_folder

    out = Path(args.out) if args.out else None
    stored = out is not None and (out / RESULTS_JSON).is_file()
    if args.report and stored and not args.resume:
        meta, arrays = read_results(out)     # print an existing run's report, train nothing
        print(_report(format_report, meta, arrays))
        return 0
    # resuming: the run's own config, with what is given on top (e.g. more --updates)
    config = _config(args, stored_config(out).to_dict() if args.resume and stored else None)
    out = writable_folder(out or _default_out(config), "--out")
    preflight(config)                      # memory and data, before any trial is logged
    log = (lambda msg: print(msg, file=sys.stderr))
    try:
        if config.lr_grid:
            # successive halving: the chosen rate's trial is the run (OUT/lr=RATE/)
            table = successive_halving(config, out, quiet=args.quiet, log=log)
            out = trial_folder(out, table["chosen_lr"])
            meta, arrays = read_results(out)
        else:
            meta, arrays = train(config, out, resume=args.resume, quiet=args.quiet, log=log)
    except Diverged as exc:
        print(f"varprop train: {exc} (in {out})", file=sys.stderr)
        return 3
    if args.report:
        print(_report(format_report, meta, arrays))
    last = -1
    wall = read_json(out / PROVENANCE, "").get("wall_seconds", float("nan"))
    print(f"{out}: {meta['updates_done']:,} updates ({meta['examples_seen']:,} examples) in "
          f"{wall:.1f} s ({meta['status']}); test error {arrays['test_error'][last]:.2%}, "
          f"valid error {arrays['valid_error'][last]:.2%}", file=sys.stderr)
    return 0


def register(sub) -> None:
    from ..symbolic.activations import ACTIVATIONS
    from ..symbolic.schemes import ALIASES, SCHEME_NAMES
    from .config import DATASETS, KEYS

    t = sub.add_parser(
        "train", help="train an MLP with SGD and the paper's per-layer monitors",
        description=(
            "Train an MLP as in the paper (Section 3): plain SGD on minibatches, softmax output "
            "with the negative log-likelihood, monitors of every layer at a fixed update "
            "interval on 300 test examples, validation and test error at a coarser interval, "
            "and at each monitor point the per-layer variances both theories predict for the "
            "network's current weights. Results go to OUT/results.json and OUT/results.npz; "
            "checkpoints to OUT/checkpoint.npz, so a killed run continues with --resume and "
            "ends with the same bits. Settings: defaults < CONFIG (TOML) < flags < --set. "
            "Exit status: 0 done, 2 bad input, 3 diverged (NaN/inf)."),
        epilog=("examples: varprop train --dataset shapeset --activation tanh --init normalized "
                "--hidden 1000,1000,1000,1000,1000 --updates 100000 --out runs/tanhN;  "
                "varprop train train_paper_tanhN --updates 20000 --set lr=0.05;  "
                "varprop train --out runs/tanhN --report"))
    t.add_argument("config", nargs="?", default=None, metavar="CONFIG",
                   help="a TOML config: a path, or the NAME of one that ships with varprop "
                        "(varprop/configs/NAME.toml, e.g. train_paper_tanhN, train_mnist_1layer)")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help=f"override a config key (TOML syntax); keys: {', '.join(KEYS)}")
    t.add_argument("--dataset", default=None, help=f"one of: {', '.join(DATASETS)} (default: shapeset)")
    t.add_argument("--activation", default=None,
                   help=f"one of: {', '.join(ACTIVATIONS)}, leaky_relu(a); or an expression "
                        "in x, e.g. 'x*sigmoid(x)' (default: tanh)")
    t.add_argument("--init", default=None,
                   help=f"one of: {', '.join(SCHEME_NAMES)}; or an alias: "
                        f"{', '.join(ALIASES)} (default: normalized)")
    t.add_argument("--law", default=None, help="weight law (default: the scheme's own)")
    t.add_argument("--cost", default=None, help="nll (softmax + NLL, default) or quadratic")
    t.add_argument("--hidden", default=None, metavar="N1,N2,...",
                   help="hidden widths (default: 1000,1000,1000,1000,1000)")
    t.add_argument("--batch-size", type=int, default=None, help="minibatch size (default: 10)")
    t.add_argument("--lr", type=float, default=None, help="learning rate (default: 0.01)")
    t.add_argument("--updates", type=int, default=None, help="SGD updates (default: 1,000,000)")
    t.add_argument("--monitor-every", type=int, default=None,
                   help="updates between per-layer monitors (default: 20,000, the paper's epoch)")
    t.add_argument("--eval-every", type=int, default=None,
                   help="updates between validation/test evaluations (default: 100,000)")
    t.add_argument("--checkpoint-every", type=int, default=None,
                   help="updates between checkpoints (default: 20,000)")
    t.add_argument("--seed", type=int, default=None, help="seed of the initial weights (default: 0)")
    t.add_argument("--data-seed", type=int, default=None,
                   help="seed of the data stream and Shapeset's sets (default: 0)")
    t.add_argument("--dtype", default=None, help="float32 (default) or float64")
    t.add_argument("--threads", type=int, default=None,
                   help="threads of the SGD step (Numba's on the fused path of small "
                        "minibatches, the BLAS path's own on large ones: docs/train.md) and of "
                        "the monitors' BLAS (default: all cores; results do not depend on it)")
    t.add_argument("--data-dir", default=None, help="folder of MNIST / Fashion-MNIST / CIFAR-10")
    t.add_argument("--lr-grid", default=None, metavar="R1,R2,...",
                   help="choose the learning rate by successive halving: every rate trains "
                        "--tune-updates updates, the better half by validation error continues "
                        "to twice that, and so on; the last rate left trains the full length "
                        "in OUT/lr=RATE/ (the record: OUT/tuning.json)")
    t.add_argument("--tune-updates", type=int, default=None,
                   help="first budget of the halving (default: UPDATES / 2^ceil(log2 of the "
                        "grid's size): 2 full runs' cost for 4 rates; UPDATES trains every rate "
                        "the full length")
    t.add_argument("--out", default=None, metavar="DIR",
                   help="run folder (default: runs/DATASET-ACTIVATION-INIT-seedSEED)")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint")
    t.add_argument("--quiet", action="store_true",
                   help="no progress bar; one log line per evaluation (for logs)")
    t.add_argument("--report", action="store_true",
                   help="print the per-layer measured-vs-theory table at each monitor point "
                        "(of the run in --out if it exists, else after training)")
    t.set_defaults(func=_cmd_train)
