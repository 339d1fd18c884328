#!/usr/bin/env bash
# Build and start one node on the embedded default: 127.0.0.1:19530, data in ./data,
# no peers, no S3. Extra arguments go to quiverd (e.g. --log.level debug).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
[ -f build/build.ninja ] || meson setup build --wrap-mode=nodownload
ninja -C build quiverd
exec build/quiverd --listen 127.0.0.1:19530 --data-dir ./data "$@"
