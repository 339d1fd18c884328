#!/usr/bin/env bash
# Build and run every test suite: unit (Check) and integration (real quiverd
# processes, pytest) in the normal build, then the unit suites again under
# ASan+UBSan (allocator routed to libc so ASan sees every heap).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test

[ -f build/build.ninja ] || meson setup build --wrap-mode=nodownload
ninja -C build
status=0
scripts/lint.sh || status=1
meson test -C build --print-errorlogs --num-processes 2 || status=1

[ -f build-asan/build.ninja ] || meson setup build-asan --wrap-mode=nodownload \
  -Db_sanitize=address,undefined -Db_lundef=false -Dlibc_alloc=true -Dintegration_tests=false
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --suite unit --print-errorlogs --num-processes 2 || status=1

# Fuzzing (reliability suite, docs/reliability.md): each libFuzzer target for 20 s.
tests/fuzz/run.sh 20 || status=1

# One closing line over every run: "N passed, N failed".
scripts/test_summary.sh build/meson-logs/testlog.json build-asan/meson-logs/testlog.json \
  build-fuzz/testlog.json
exit $status
