#!/usr/bin/env bash
# tests/soak/soak.sh - a bounded soak run: tern-service built with ASan + UBSan (LSan on)
# against a private Redis and MariaDB, mixed wrk traffic over every example route and
# bad requests (mixed.lua) for DURATION seconds, then SIGTERM. Checks: the service
# answered throughout, no 500, exit 0, no sanitizer report, no leak, and RSS flat over
# the second half of the run (a leak grows it steadily; ASan's quarantine is capped).
#   tests/soak/soak.sh [DURATION_S] [BUILD_DIR]     (default 120 s, build-asan)
# Env: SOAK_CONNECTIONS (64), SOAK_WORKERS (2), SOAK_RSS_SLACK_MB (32).
# Prints the numbers and "N passed, M failed". Only loopback; stops only its own pids.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
duration=${1:-120}
dir=${2:-build-asan}
conns=${SOAK_CONNECTIONS:-64}
workers=${SOAK_WORKERS:-2}
slack_mb=${SOAK_RSS_SLACK_MB:-32}
cd "$root"

passed=0 failed=0
check() { # description, then a command that succeeds when the check passes
  local what=$1; shift
  if "$@"; then echo "ok   $what"; passed=$((passed + 1)); else echo "FAIL $what"; failed=$((failed + 1)); fi
}
finish() { echo "${passed} passed, ${failed} failed"; [ "$failed" -eq 0 ]; exit $?; }

if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbench=false >/dev/null || { echo "soak: meson setup failed"; failed=1; finish; }
fi
ninja -C "$dir" routes/tern-service >/dev/null || { echo "soak: build failed"; failed=1; finish; }

scratch=$(mktemp -d /tmp/tern-soak.XXXXXX)
svc_pid="" sampler_pid=""
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  return 1
}
cleanup() {
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
  [ -n "$svc_pid" ] && kill -KILL "$svc_pid" 2>/dev/null
  "$root/scripts/services.sh" stop "$scratch/backends" >/dev/null 2>&1
  rm -rf "$scratch"
}
trap cleanup EXIT

REDIS_PORT=$(free_port) MYSQL_PORT=$(free_port) \
  "$root/scripts/services.sh" start "$scratch/backends" >"$scratch/urls" 2>"$scratch/services.log" ||
  { cat "$scratch/services.log"; tail -n 20 "$scratch"/backends/*.log; echo "soak: Redis/MariaDB did not start"
    failed=1; finish; }
set -a; . "$scratch/urls"; set +a

port=$(free_port)
base="http://127.0.0.1:$port"
log="$scratch/service.log"
# The access log (stdout) keeps only 5xx lines, to name the route of any 500.
# ASan's quarantine holds freed memory back (256 MiB by default): capped so RSS says
# something about leaks. LSan checks at exit; UBSan reports and carries on.
ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=16:malloc_context_size=20 \
LSAN_OPTIONS=suppressions=$root/tests/lsan.supp \
UBSAN_OPTIONS=print_stacktrace=1 \
  "$dir/routes/tern-service" --host 127.0.0.1 --port "$port" --workers "$workers" \
  --access_log plain --mysql.pool_max 16 \
  > >(awk '$4 >= 500 {print; fflush()}' >"$scratch/5xx.txt") 2>"$log" &
svc_pid=$!
for _ in $(seq 300); do curl -fs "$base/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
check "service ready with both pools" curl -fs "$base/readyz" -o /dev/null || finish

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$svc_pid/status" 2>/dev/null; }
# Warm-up: pools, caches, coroutine stacks and ASan's quarantine reach their size.
warm=$((duration / 10 < 15 ? 15 : duration / 10))
wrk -t2 -c"$conns" -d"${warm}s" -s tests/soak/mixed.lua "$base" >"$scratch/warm.txt" 2>&1
rss_start=$(rss_kb)
( while kill -0 "$svc_pid" 2>/dev/null; do echo "$(date +%s) $(rss_kb)"; sleep 5; done ) \
  >"$scratch/rss.txt" &
sampler_pid=$!

echo "soak: ${duration}s of mixed traffic, ${conns} connections, ${workers} workers, $base"
timeout $((duration + 60)) wrk -t2 -c"$conns" -d"${duration}s" --timeout 10s \
  -s tests/soak/mixed.lua "$base" >"$scratch/wrk.txt" 2>&1
cat "$scratch/wrk.txt"
rss_end=$(rss_kb)
kill "$sampler_pid" 2>/dev/null; wait "$sampler_pid" 2>/dev/null; sampler_pid=""
# RSS halfway through the run, from the 5-second samples.
rss_mid=$(awk -v n="$(wc -l <"$scratch/rss.txt")" 'NR == int(n / 2) + 1 {print $2}' "$scratch/rss.txt")
rss_max=$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$scratch/rss.txt")

statuses=$(sed -n 's/^statuses: //p' "$scratch/wrk.txt")
reqs=$(sed -nE 's/^requests: ([0-9]+).*/\1/p' "$scratch/wrk.txt")
echo "rss_kb: after_warmup=$rss_start mid=$rss_mid end=$rss_end max=$rss_max"
check "traffic served (${reqs:-0} requests)" test "${reqs:-0}" -gt 0
check "no connect/read/timeout errors" grep -qE 'errors: connect=0 read=0 write=0 timeout=0' "$scratch/wrk.txt"
check "no 500 answers" bash -c "! grep -qE '(^| )500=' <<<'$statuses'"
check "service alive after the load" curl -fs "$base/healthz" -o /dev/null
check "RSS flat over the second half (+$(( (${rss_end:-0} - ${rss_mid:-0}) / 1024 )) MiB, slack ${slack_mb} MiB)" \
  test $(( ${rss_end:-0} - ${rss_mid:-0} )) -le $((slack_mb * 1024))

kill -TERM "$svc_pid"
( sleep 60; kill -KILL "$svc_pid" 2>/dev/null ) &   # the drain is bounded too
dog=$!
wait "$svc_pid"; code=$?
kill "$dog" 2>/dev/null; wait "$dog" 2>/dev/null
svc_pid=""
check "exit 0 after SIGTERM (got $code)" test "$code" -eq 0
reports=$(grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log")
check "no sanitizer report ($reports)" test "$reports" -eq 0
check "no leak reported by LSan" bash -c "! grep -q 'detected memory leaks' '$log'"
sleep 0.5 # the access log filter reads what the service wrote last
if [ -s "$scratch/5xx.txt" ]; then echo "--- 5xx answers (access log)"; head -20 "$scratch/5xx.txt"; fi
if [ "$failed" -gt 0 ]; then echo "--- service log (tail)"; tail -60 "$log"; fi
finish
