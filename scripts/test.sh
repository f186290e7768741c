#!/usr/bin/env bash
# The test job: install what the tests need (LaTeX from Debian for the compile test, the package
# with its [test] extra into .venv) and run the whole suite. Extra arguments go to pytest.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
if ! command -v pdflatex >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo_cmd="sudo"
  if command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's texlive-latex-base (pdflatex) for the LaTeX compile test..."
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
      texlive-latex-base >/dev/null
  fi
fi
source scripts/setup-env.sh test
export VARPROP_REQUIRE_PDFLATEX=${VARPROP_REQUIRE_PDFLATEX:-1}
python -m pytest -q "$@"
