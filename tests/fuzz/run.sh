#!/usr/bin/env bash
# tests/fuzz/run.sh - builds the libFuzzer targets with clang (ASan + UBSan) and runs
# each fuzz-* for a bounded time over its seed corpus; prints "N passed, M failed".
#   tests/fuzz/run.sh [SECONDS_PER_TARGET] [BUILD_DIR]    (default 20 s, build-fuzz)
# A target fails when libFuzzer stops on a crash, leak, sanitizer report or timeout;
# the input that did it is kept as BUILD_DIR/fuzz-artifacts/NAME/crash-* and the last
# lines of its log are printed. Corpus growth goes to a scratch copy, not the tree.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-20}
dir=${2:-build-fuzz}
cd "$root"

if [ ! -f "$dir/build.ninja" ]; then
  CC=clang meson setup "$dir" -Dfuzzing=true -Dtests=false -Dbench=false \
    -Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false >/dev/null ||
    { echo "fuzz: meson setup failed"; echo "0 passed, 1 failed"; exit 1; }
fi
if ! ninja -C "$dir" >"$dir/ninja.log" 2>&1; then
  tail -30 "$dir/ninja.log"; echo "fuzz: build failed"; echo "0 passed, 1 failed"; exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
passed=0 failed=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for exe in "$dir"/tests/fuzz/fuzz-*; do
  [ -f "$exe" ] && [ -x "$exe" ] || continue
  name=$(basename "$exe"); corpus_name=${name#fuzz-}; corpus_name=${corpus_name//-/_}
  seeds="tests/fuzz/corpus/$corpus_name"
  work="$scratch/$corpus_name"; art="$dir/fuzz-artifacts/$corpus_name"
  mkdir -p "$work" "$art"
  log="$dir/fuzz-artifacts/$corpus_name.log"
  # -timeout: one input that runs over 10 s is a hang; -rss_limit_mb keeps it bounded.
  if "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$art/" "$work" "$seeds" >"$log" 2>&1; then
    runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")
    echo "ok   $name (${secs}s, ${runs:-?} runs)"
    passed=$((passed + 1))
  else
    echo "FAIL $name (log: $log)"; tail -25 "$log"
    failed=$((failed + 1))
  fi
done
[ $((passed + failed)) -gt 0 ] || { echo "fuzz: no fuzz-* target built"; failed=1; }
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
