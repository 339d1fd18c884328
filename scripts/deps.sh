#!/usr/bin/env bash
# Install the Debian 12 packages Quiver needs, only those missing (idempotent).
#   scripts/deps.sh build   packages to build and run quiverd
#   scripts/deps.sh test    plus what the test suites use
set -euo pipefail

build_pkgs=(build-essential meson ninja-build pkg-config cmake libmicrohttpd-dev libjansson-dev
  libcurl4-openssl-dev liburing-dev libmimalloc-dev libfaiss-dev libopenblas-dev liblapack-dev
  libyaml-dev zlib1g-dev libssl-dev check libsubunit-dev)
test_pkgs=(prometheus openssl python3-pytest python3-requests python3-yaml python3-jsonschema python3-numpy
  chromium chromium-driver python3-selenium  # these three: tests/integration/test_ui.py
  clang)  # tests/fuzz/run.sh (libFuzzer)

want=("${build_pkgs[@]}")
if [ "${1:-build}" = test ]; then
  want+=("${test_pkgs[@]}")
  # npm (OpenAPI lint) may come from elsewhere than Debian; install Debian's only if absent
  command -v npm >/dev/null 2>&1 || want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -ne 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm tools pinned by their lockfiles, installed as scripts/lint.sh installs tools/lint:
# the S3-compatible server of tests/integration/test_s3.py (tools/s3rver).
if [ "${1:-build}" = test ]; then
  cd "$(dirname "$0")/.."
  [ -d tools/s3rver/node_modules ] ||
    npm ci --prefix tools/s3rver --no-audit --no-fund --loglevel=error
fi
