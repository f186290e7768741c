"""``varprop figures``: regenerate the paper's figures from cached experiments."""
from __future__ import annotations

import sys

from . import DEFAULT_OUT, FIGURES


def _cmd_figures(args) -> int:
    from ..experiments import COMPUTED
    from . import make

    before = len(COMPUTED)
    done = make(args.only, scale=args.scale, out=args.out, log=print, jobs=args.jobs,
                recompute=args.recompute)
    total = sum(r["seconds"] for r in done)
    print(f"{len(done)} figure(s) at scale {args.scale} in {total:.1f} s; "
          f"{len(COMPUTED) - before} experiment run(s) computed, the rest from the cache",
          file=sys.stderr)
    return 0


def register(sub) -> None:
    from ..experiments import SCALES

    f = sub.add_parser("figures", help="regenerate the paper's figures and Table 1",
                       description=(
                           "Run each figure's experiment config (simulations/*.toml) at a scale, "
                           "reusing cached results (keyed by a hash of config and code), and "
                           "write figureID.png and .pdf with the results' digests and the "
                           "package version in their metadata; TABLE1 writes table1.md and "
                           "table1.tex, CLAIMS claims.md (each claim of the paper, measured). "
                           "The training-time figures (2-4, 9-12, T) and Table 1 first train "
                           "their models (a learning-rate grid, then the chosen rate) into "
                           "simulations/runs/SCALE/ ($VARPROP_RUNS overrides); stored runs are "
                           "re-read, resumed when interrupted, recomputed when stale. Scales: "
                           "smoke (minutes, CI), gallery (the committed results: about an hour "
                           "and a half of two cores to recompute), paper (the paper's settings: "
                           "weeks here)."),
                       epilog=("examples: varprop figures --scale smoke --only 6,7,8; "
                               "varprop figures --scale gallery --jobs 2"))
    f.add_argument("--scale", default="smoke", metavar="SCALE",
                   help=f"one of: {', '.join(SCALES)} (default: %(default)s)")
    f.add_argument("--only", default=None, metavar="IDS",
                   help=f"comma-separated figure ids from: {','.join(FIGURES)} (default: all)")
    f.add_argument("--out", default=str(DEFAULT_OUT), metavar="DIR",
                   help="output folder (default: %(default)s)")
    f.add_argument("--jobs", type=int, default=1, metavar="N",
                   help=("train the training-time figures' models in N processes of one thread "
                         "each (default: %(default)s, one process using every core)"))
    f.add_argument("--recompute", action="store_true",
                   help=("compute every result anew (the training runs too: hours at the "
                         "gallery scale) instead of reusing the cached and committed ones"))
    f.set_defaults(func=_cmd_figures)
