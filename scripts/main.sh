#!/usr/bin/env bash
# The main job: set up .venv, regenerate derivations/ from the symbolic source, and print the
# per-layer predictions for the paper's network (1024 inputs, 5 x 1000 tanh units, 9 classes)
# under the standard and the normalized initialisation.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
source scripts/setup-env.sh
varprop derive --out derivations
for init in standard normalized; do
  echo
  varprop predict --widths 1024,1000,1000,1000,1000,1000,9 --activation tanh --init "$init"
done

# The figures at initialisation (Figures 1, 5, 6, 7, 8, J, V) at the quick "smoke" scale, into
# build/figures/ (about a minute the first time, seconds once cached in .varprop-cache/); the
# committed gallery in paper_figures/ is `varprop figures --scale gallery`.
echo
varprop figures --scale smoke --out build/figures
