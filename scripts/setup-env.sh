#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment .venv and install varprop into it.
# Usage: source scripts/setup-env.sh [EXTRAS]    e.g. EXTRAS=test
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
extras=${1:-}
py=${PYTHON:-python3}
if [ ! -x "$root/.venv/bin/python" ]; then
  "$py" -m venv "$root/.venv"
fi
spec="$root"
[ -n "$extras" ] && spec="$root[$extras]"
"$root/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec"
export PATH="$root/.venv/bin:$PATH"
