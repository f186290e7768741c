#!/usr/bin/env bash
# The main job: set up .venv, regenerate derivations/ from the symbolic source, print the
# per-layer predictions for the paper's network (1024 inputs, 5 x 1000 tanh units, 9 classes)
# under the standard and the normalized initialisation, and regenerate every figure of the paper
# and Table 1 at the gallery scale into paper_figures/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
source scripts/setup-env.sh
varprop derive --out derivations
for init in standard normalized; do
  echo
  varprop predict --widths 1024,1000,1000,1000,1000,1000,9 --activation tanh --init "$init"
done

# Every figure, Table 1 and the claims' numbers (paper_figures/claims.md) at the gallery scale.
# The results behind them are committed (simulations/runs/gallery/: the training runs and the
# results at initialisation): they are re-read, and recomputed only when missing or stale
# (their config or the code behind them changed: about an hour; a local Dask cluster of two
# workers of one thread each). `varprop figures --recompute` recomputes everything;
# `--scale smoke` is the quick check, `--scale paper --plan` the paper scale's cost.
echo
varprop figures --scale gallery --jobs 2
