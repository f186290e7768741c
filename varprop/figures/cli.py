"""``varprop figures``: compute what the results store lacks (Dask tasks), then draw the paper's
figures, Table 1 and the claims from the stored results."""
from __future__ import annotations

import sys

from . import DEFAULT_OUT, FIGURES


def _cmd_figures(args) -> int:
    from .. import engine
    from ..resources import writable_folder
    from . import configs_of, make, parse_only

    if args.plan:
        ids = parse_only(args.only)
        rows = engine.plan(configs_of(ids, args.scale), args.scale, args.store,
                           log=lambda m: print(m, file=sys.stderr))
        print(engine.format_plan(rows, args.scale, args.jobs))
        return 0
    writable_folder(args.out, "--out")
    done = make(args.only, scale=args.scale, out=args.out, log=print, jobs=args.jobs,
                scheduler=args.scheduler, store_root=args.store, recompute=args.recompute)
    total = sum(r["seconds"] for r in done)
    print(f"{len(done)} output(s) at scale {args.scale} drawn in {total:.1f} s", file=sys.stderr)
    return 0


def _positive(text: str) -> int:
    import argparse
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return n


def register(sub) -> None:
    from ..engine import SCALES, SCHEDULER_ENV
    from ..store import STORE_ENV

    f = sub.add_parser("figures", help="regenerate the paper's figures and Table 1",
                       description=(
                           "Compute what the results store lacks of each figure's experiment "
                           "configs (varprop/configs/*.toml) at a scale, then draw figureID.png and "
                           ".pdf from the stored results (their digests and the package version "
                           "in the files' metadata); TABLE1 writes table1.md and table1.tex, "
                           "CLAIMS claims.md (each claim of the paper, measured). Every unit of "
                           "work is a Dask task: a training trial, a batch of Monte-Carlo "
                           "networks. The training-time figures (2-4, 9-12, T) and Table 1 "
                           "train their models first: each model's learning rate is chosen by "
                           "successive halving, whose last rate trains the full length. Stored "
                           "results are keyed by their config and the code behind them: "
                           "re-read, resumed when interrupted, recomputed when stale. Scales: "
                           "smoke (minutes, CI), gallery (the committed results: about an hour "
                           "of two cores to recompute), paper (the paper's settings: "
                           "see --plan). A cluster: start `dask scheduler` and `dask worker "
                           "ADDRESS` processes on machines of one CPU model that share the "
                           "--store folder and have this same varprop installed, then pass "
                           "--scheduler ADDRESS."),
                       epilog=("examples: varprop figures --scale smoke --only 6,7,8; "
                               "varprop figures --scale gallery --jobs 2; "
                               "varprop figures --scale paper --plan; "
                               "varprop figures --scale paper --scheduler tcp://HOST:8786 "
                               "--store /shared/varprop-store"))
    f.add_argument("--scale", default="smoke", choices=SCALES, metavar="SCALE",
                   help=f"one of: {', '.join(SCALES)} (default: %(default)s)")
    f.add_argument("--only", default=None, metavar="IDS",
                   help=f"comma-separated figure ids from: {','.join(FIGURES)} (default: all)")
    f.add_argument("--out", default=str(DEFAULT_OUT), metavar="DIR",
                   help="output folder (default: %(default)s)")
    f.add_argument("--jobs", type=_positive, default=None, metavar="N",
                   help=("worker processes of the local Dask cluster, one thread each "
                         "(default: the cores)"))
    f.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help=("use the Dask cluster at ADDRESS (e.g. tcp://host:8786) instead of a "
                         f"local one (default: ${SCHEDULER_ENV} if set); its workers must reach "
                         "--store and run this varprop"))
    f.add_argument("--store", default=None, metavar="DIR",
                   help=(f"the results store: results and checkpoints (default: ${STORE_ENV} if "
                         "set, else simulations/runs of the source checkout varprop runs from, "
                         "where the gallery's results are committed, else varprop-runs in the "
                         "working directory)"))
    f.add_argument("--plan", action="store_true",
                   help=("print, without computing, the tasks and SGD updates the store lacks "
                         "for these figures at this scale, and the core-hours they would take "
                         "at rates timed here for a few seconds"))
    f.add_argument("--recompute", action="store_true",
                   help=("remove these figures' stored results at this scale and compute them "
                         "anew (the training runs too: about an hour at the gallery scale)"))
    f.set_defaults(func=_cmd_figures)
