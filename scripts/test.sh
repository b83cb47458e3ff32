#!/usr/bin/env bash
# scripts/test.sh - set everything up and run every test on a fresh Debian 12 machine:
#   1. install the Debian packages tern needs (scripts/deps.sh --cross)
#   2. gcc debug build: the whole suite (unit + integration)
#   3. gcc build with AddressSanitizer + UndefinedBehaviorSanitizer: the whole suite
#   4. clang build (-Werror) and a gcc release build: the unit suite
#   5. the coroutine core cross-built for aarch64 and run under qemu-user
#   6. `meson install` + an app built with pkg-config against it
#   7. two replicas behind haproxy under wrk, each SIGKILLed (tests/deploy/scaleout.sh)
#   8. the libFuzzer targets (clang, ASan+UBSan), 20 s each over their seed corpora
# Ends with one line "N passed, M failed" (Criterion tests counted one by one).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/deps.sh" --cross || { echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0
log() { printf '\n==== %s ====\n' "$*"; }

# Adds one Criterion run's numbers from a meson testlog to the totals.
count_meson() { # build dir
  local tl="$1/meson-logs/testlog.txt" t p f c
  [ -f "$tl" ] || { failed=$((failed + 1)); return; }
  read -r t p f c < <(awk -F'[:|]' '/Synthesis: Tested/ {
      t += $3; p += $5; f += $7; c += $9 } END { print t+0, p+0, f+0, c+0 }' "$tl")
  passed=$((passed + p)); failed=$((failed + f + c))
  # a test binary that died before Criterion's synthesis still counts as a failure
  local bad; bad=$(grep -cE '^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT)' "$tl" 2>/dev/null || true)
  [ "$bad" -gt "$((f + c))" ] && failed=$((failed + bad - f - c))
  # Criterion runs each test in a child process that has reported its result before
  # the sanitizers' exit-time checks run, so a leak or UB report alone would not fail
  # the test: count every report as a failure.
  local reports
  reports=$(grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$tl" || true)
  if [ "$reports" -gt 0 ]; then
    grep -E -A12 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$tl" | head -60
    echo "sanitizer reports in $1: $reports"
    failed=$((failed + reports))
  fi
  return 0
}

run_suite() { # name build-dir meson-setup-args... -- test-args...
  local name=$1 dir=$2; shift 2
  local setup=() targs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do setup+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  targs=("$@")
  log "$name"
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "${setup[@]}" >/dev/null || { echo "$name: meson setup failed"; failed=$((failed + 1)); return; }
  else
    meson setup --reconfigure "$dir" "${setup[@]}" >/dev/null || true
  fi
  if ! ninja -C "$dir" >"$dir/ninja.log" 2>&1; then
    tail -40 "$dir/ninja.log"; echo "$name: build failed"; failed=$((failed + 1)); return
  fi
  meson test -C "$dir" --print-errorlogs "${targs[@]}" | grep -vE '^\s*$' | tail -25
  count_meson "$dir"
}

run_suite "gcc debug: unit + integration" build-ci-gcc -Dbuildtype=debug -Dbench=true
run_suite "gcc ASan+UBSan: unit + integration" build-ci-asan -Dbuildtype=debug \
  -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false
CC=clang run_suite "clang -Werror: unit" build-ci-clang -Dbuildtype=debugoptimized -Dbench=true -- --suite unit
run_suite "gcc release: unit" build-ci-release -Dbuildtype=release -Dbench=true -- --suite unit

log "aarch64 coroutine core under qemu-user"
out=$(tests/cross/run_aarch64.sh 2>&1); echo "$out" | tail -15
while read -r p f; do passed=$((passed + p)); failed=$((failed + f)); done < <(
  echo "$out" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed.*/\1 \2/p')
echo "$out" | grep -qE '^[0-9]+ passed, [0-9]+ failed' || failed=$((failed + 1))

log "install + pkg-config"
out=$(tests/install/check.sh build-ci-gcc 2>&1); echo "$out"
read -r p f < <(echo "$out" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed.*/\1 \2/p' | tail -1)
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))

log "scale-out: two replicas behind haproxy, each SIGKILLed under wrk"
out=$(tests/deploy/scaleout.sh build-ci-gcc 2>&1); echo "$out" | tail -15
read -r p f < <(echo "$out" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed.*/\1 \2/p' | tail -1)
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))

log "libFuzzer targets"
out=$(tests/fuzz/run.sh 20 build-ci-fuzz 2>&1); echo "$out"
read -r p f < <(echo "$out" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed.*/\1 \2/p' | tail -1)
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))

echo
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
