#!/usr/bin/env bash
# Build the libFuzzer targets with clang (ASan + UBSan, in build-fuzz/) and run each for
# SECONDS (default 20; CI uses the default, a soak passes more: tests/fuzz/run.sh 3600).
# Each target starts from its committed seeds (tests/fuzz/corpus/<target>/) plus what
# earlier runs found (build-fuzz/fuzz-corpus/<target>/, kept between runs). A crash, leak
# or UB report fails the run and keeps the reproducer as build-fuzz/fuzz-crashes/<target>-*;
# rerun one with: build-fuzz/tests/fuzz/fuzz_<target> build-fuzz/fuzz-crashes/<file>.
# Prints one line per target and a closing "fuzz: ..." summary, and records each target's
# result as build-fuzz/testlog.json (meson's format) for scripts/test_summary.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-20}
targets=(rows filter jsonb wal segment sindex)

if ! command -v clang >/dev/null 2>&1; then
  echo "fuzz: clang is not installed (scripts/deps.sh test installs it)"
  exit 1
fi
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang CXX=clang++ meson setup build-fuzz --wrap-mode=nodownload \
    -Dintegration_tests=false >build-fuzz-setup.log 2>&1 || {
    cat build-fuzz-setup.log; echo "fuzz: meson setup failed"; exit 1; }
  rm -f build-fuzz-setup.log
fi
ninja -C build-fuzz "${targets[@]/#/tests/fuzz/fuzz_}" >/dev/null || {
  echo "fuzz: building the targets failed"; exit 1; }

mkdir -p build-fuzz/fuzz-crashes
: >build-fuzz/testlog.json
status=0 total=0 crashes=0
for t in "${targets[@]}"; do
  work=build-fuzz/fuzz-corpus/$t
  log=build-fuzz/fuzz-$t.log
  mkdir -p "$work"
  extra=()
  case $t in
    filter) extra=(-dict=tests/fuzz/filter.dict -max_len=4096) ;;
    jsonb) extra=(-max_len=4096) ;;
    rows) extra=(-max_len=8192) ;;
    wal | segment) extra=(-max_len=65536) ;;
  esac
  build-fuzz/tests/fuzz/fuzz_$t "$work" "tests/fuzz/corpus/$t" "${extra[@]}" \
    -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/fuzz-crashes/$t-" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  units=$(find "$work" -type f | wc -l)
  total=$((total + ${execs:-0}))
  if [ $rc -ne 0 ]; then
    status=1 crashes=$((crashes + 1))
    echo "fuzz_$t: FAILED after ${execs:-?} executions (exit $rc); reproducer:"
    ls -t build-fuzz/fuzz-crashes/"$t"-* 2>/dev/null | head -3
    grep -m1 -A12 -E "ERROR|runtime error" "$log"
    echo "{\"name\": \"fuzz_$t\", \"result\": \"FAIL\"}" >>build-fuzz/testlog.json
  else
    echo "fuzz_$t: ${execs:-0} executions in ${secs}s, corpus $units inputs, no crash"
    echo "{\"name\": \"fuzz_$t\", \"result\": \"OK\"}" >>build-fuzz/testlog.json
  fi
done
echo "fuzz: ${#targets[@]} targets, $total executions, $crashes failed"
exit $status
